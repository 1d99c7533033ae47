#!/usr/bin/env node
// packedAttention before and after the kernels read qkv in place, at the small preset's shape
// (dim 128, 4 heads of 32, B=8, T=626, causal), forward + backward as a training step runs them:
//   copies: qkv [B,T,3,H,Dh] permuted to [3,B,H,T,Dh] and sliced into q, k, v; attention; out
//           permuted back to [B,T,H*Dh]; backward: dOut permuted, attentionBackward, dq/dk/dv
//           concatenated and permuted back to d(qkv) (lib/autograd/fused.ts before 2026-12-01 evening)
//   packed: packedAttention / packedAttentionBackward, no copies
// The two alternate round by round in one process, so both see the same machine.
//   node bench/profile/packed_attention_ab.js [--rounds N] [--batch B] [--tokens T]
'use strict';
const path = require('path');
const eg = require(path.join(__dirname, '..', '..', 'dist'));

const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const ROUNDS = opt('--rounds', 15), B = opt('--batch', 8), T = opt('--tokens', 626);
const H = 4, Dh = 32, D = H * Dh;
const k = eg.kernels, s = eg.kernels.support;
const opts = { causal: true };

function viaCopies(qkv, g) {
  const v5 = qkv.reshape([B, T, 3, H, Dh]);
  const split = s.permute(v5, [2, 0, 3, 1, 4]);
  const parts = [0, 1, 2].map((i) => { const x = s.slice(split, 0, i, i + 1); const y = x.reshape([B, H, T, Dh]); x.dispose(); return y; });
  const { out, lse } = k.attention(parts[0], parts[1], parts[2], opts);
  const y = s.permute(out, [0, 2, 1, 3]);
  const g4v = g.reshape([B, T, H, Dh]);
  const g4 = s.permute(g4v, [0, 2, 1, 3]);
  const r = k.attentionBackward(parts[0], parts[1], parts[2], out, lse, g4, opts);
  const d5 = s.concat([r.dq, r.dk, r.dv], 0);
  const d5v = d5.reshape([3, B, H, T, Dh]);
  const dqkv = s.permute(d5v, [1, 3, 0, 2, 4]);
  for (const t of [v5, split, ...parts, out, lse, y, g4v, g4, r.dq, r.dk, r.dv, d5, d5v, dqkv]) t.dispose();
}

function packed(qkv, g) {
  const { out, lse } = k.packedAttention(qkv, H, opts);
  const { dqkv } = k.packedAttentionBackward(qkv, out, lse, g, H, opts);
  for (const t of [out, lse, dqkv]) t.dispose();
}

const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const qkv = eg.tensor(rand(B * T * 3 * D), [B, T, 3 * D]);
const g = eg.tensor(rand(B * T * D), [B, T, D]);
const arms = { copies: viaCopies, packed };
const times = { copies: [], packed: [] };
for (const f of Object.values(arms)) for (let i = 0; i < 2; i++) f(qkv, g);  // warm-up
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? ['packed', 'copies'] : ['copies', 'packed'];
  for (const name of order) {
    const t0 = process.hrtime.bigint();
    arms[name](qkv, g);
    times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const min = (a) => Math.min(...a);
console.log(`packedAttention fwd+bwd, B=${B} T=${T} heads ${H} x ${Dh}, causal, ${ROUNDS} alternated rounds`);
for (const name of Object.keys(arms)) console.log(`  ${name.padEnd(7)} min ${min(times[name]).toFixed(2)} ms, median ${med(times[name]).toFixed(2)} ms`);
let faster = 0;
for (let r = 0; r < ROUNDS; r++) if (times.packed[r] < times.copies[r]) faster++;
console.log(`  packed / copies: median ${(med(times.packed) / med(times.copies)).toFixed(3)}, min ${(min(times.packed) / min(times.copies)).toFixed(3)}; packed faster in ${faster} of ${ROUNDS} rounds`);
