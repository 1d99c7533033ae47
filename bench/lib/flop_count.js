// The FLOPs one call of a function makes the GEMM and attention kernels do, counted at the typed kernel wrappers
// (dist/kernels/support.js and attention.js) while it runs: 2 m n k a GEMM (every batch matrix), and for attention the
// two products q k^T and p v, 4 Tq Tk D a head (a causal square over the T (T + 1) / 2 pairs it needs), a backward
// call counted as twice its forward (the convention of train_step's stepFlops). The wrappers are restored afterwards.
// What a model's own formula misses (a part added later) the count still sees; for a model the formula covers, the two
// agree (train_step notes both).
'use strict';
const path = require('path');

const DIST = path.join(__dirname, '..', '..', 'dist');
const prod = (a) => a.reduce((x, y) => x * y, 1);

function gemmFlops(a, b, opts = {}) {
  const sa = a.shape, sb = b.shape;
  const m = opts.transA ? sa[sa.length - 1] : sa[sa.length - 2];
  const k = opts.transA ? sa[sa.length - 2] : sa[sa.length - 1];
  const n = opts.transB ? sb[sb.length - 2] : sb[sb.length - 1];
  const batch = Math.max(prod(sa.slice(0, -2)), prod(sb.slice(0, -2)));
  return 2 * batch * m * n * k;
}
const linearFlops = (x, w) => 2 * prod(x.shape.slice(0, -1)) * x.shape[x.shape.length - 1] * w.shape[0];

/** 4 Tq Tk D summed over batch and heads; the causal square counts its lower triangle. */
function attentionFlops(batchHeads, tq, tk, d, causal) {
  const pairs = causal && tq === tk ? tq * (tq + 1) / 2 : tq * tk;
  return 4 * batchHeads * pairs * d;
}
// q [B,H,Tq,D], k [B,H,Tk,D]
const unpacked = (q, k, opts = {}) => attentionFlops(q.shape[0] * q.shape[1], q.shape[2], k.shape[2], q.shape[3], !!opts.causal);
// qkv [B,T,3 H Dh]: per head Dh, summed over heads H Dh
const packed = (qkv, opts = {}) => attentionFlops(qkv.shape[0], qkv.shape[1], qkv.shape[1], qkv.shape[2] / 3, !!opts.causal);

/** Runs fn() once and returns { result, gemm, attention, total } (FLOPs). */
function countKernelFlops(fn, dist = DIST) {
  const support = require(path.join(dist, 'kernels', 'support.js'));
  const attention = require(path.join(dist, 'kernels', 'attention.js'));
  const counts = { gemm: 0, attention: 0 };
  const plan = [
    [support, 'matmul', 'gemm', (a) => gemmFlops(a[0], a[1], a[2])],
    [support, 'linear', 'gemm', (a) => linearFlops(a[0], a[1])],
    [attention, 'attention', 'attention', (a) => unpacked(a[0], a[1], a[3])],
    [attention, 'attentionBackward', 'attention', (a) => 2 * unpacked(a[0], a[1], a[6])],
    [attention, 'packedAttention', 'attention', (a) => packed(a[0], a[2])],
    [attention, 'packedAttentionBackward', 'attention', (a) => 2 * packed(a[0], a[5])],
  ];
  const saved = plan.map(([mod, name]) => [mod, name, mod[name]]);
  for (const [mod, name, kind, flops] of plan) {
    const fn0 = mod[name];
    if (typeof fn0 !== 'function') throw new Error(`countKernelFlops: ${name} is not a function of ${dist}/kernels`);
    mod[name] = function counted(...a) {
      counts[kind] += flops(a);
      return fn0.apply(this, a);
    };
  }
  try {
    const result = fn();
    return { result, gemm: counts.gemm, attention: counts.attention, total: counts.gemm + counts.attention };
  } finally {
    for (const [mod, name, f] of saved) mod[name] = f;
  }
}

module.exports = { countKernelFlops, gemmFlops, linearFlops, attentionFlops };
