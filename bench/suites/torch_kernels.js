// echogen's kernels against their PyTorch CPU counterparts (bench/peers/torch/kernels.py, a
// long-lived child process), in the same run: GEMM 128^3..1024^3 and the model's linear shapes,
// attention softmax(QK^T)V forward and forward+backward (autograd in PyTorch, the fused backward
// kernel in echogen) at T=512 D=64 and at the model's shapes, layer norm forward and
// forward+backward. Each case alternates rounds of echogen calls and PyTorch calls so both see the
// same load; ms = the min per call over all rounds (the median is in the note). Needs PyTorch
// (sh bench/setup-torch.sh); without it the suite records nothing.
'use strict';
const os = require('os');
const torchLib = require('../lib/torch');

function random(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

async function timeCalls(fn, reps) {
  fn();  // warm-up
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await new Promise(setImmediate);
  return ms;
}

module.exports = {
  name: 'torch_kernels',
  async run(ctx) {
    const { eg } = ctx;
    if (ctx.setTiming) ctx.setTiming('min (and median, in the note) per call over alternating rounds of echogen and PyTorch calls, wall clock (hrtime / perf_counter)');
    const { support } = eg.kernels;
    if (!torchLib.python()) { ctx.note('PyTorch is not installed (sh bench/setup-torch.sh): nothing to compare.'); return; }
    // Two peers: torch.set_num_threads(1) alone leaves OpenBLAS (pthread build) on all cores, so the
    // one-thread rows need a process started with OPENBLAS_NUM_THREADS=1 (before 2026-11-30 they ran
    // OpenBLAS's GEMMs on 2 threads: 186 GFLOP/s "on one thread").
    const peer = await torchLib.start('kernels.py', [], { threads: os.cpus().length });
    const peer1 = await torchLib.start('kernels.py', [], { threads: 1 });
    ctx.fmaPeakGflops(); // probed now and after the suite; the report derives % of peak from the best
    const rounds = ctx.quick ? 2 : 3;
    const goals = [];
    try {
      // PyTorch twice: with one intra-op thread per core, and with one thread (on a loaded machine its OpenMP
      // regions can wait a scheduler tick for a descheduled thread; one thread never does). The goal ratio
      // is against the faster of the two.
      const cores = os.cpus().length;
      const compare = async (label, flops, mine, request, reps) => {
        const a = [], b = [], c = [], loads = [];
        for (let r = 0; r < rounds; r++) {
          loads.push(os.loadavg()[0]);
          // OpenBLAS's idle threads spin for ~0.1 s after a call (THREAD_TIMEOUT); let them sleep first
          await new Promise((resolve) => setTimeout(resolve, 300));
          a.push(...await timeCalls(mine, reps));
          for (const [p, threads, into] of [[peer, cores, b], [peer1, 1, c]]) {
            const res = await p.ask(JSON.stringify({ ...request, reps, threads }));
            if (res.error) throw new Error(`torch peer, ${label}: ${res.error}`);
            into.push(...res.ms);
          }
        }
        const sa = torchLib.stats(a), sb = torchLib.stats(b), sc = torchLib.stats(c);
        const load = `load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`;
        const best = Math.min(sb.min, sc.min);
        console.log(`  ${label.padEnd(52)} echogen ${sa.min.toPrecision(4)} ms, pytorch ${sb.min.toPrecision(4)} / 1 thread ${sc.min.toPrecision(4)} ms: ${(best / sa.min).toFixed(2)}x (${load})`);
        ctx.record({ case: label, impl: 'echogen', ms: sa.min, samples: sa.n, flops, note: `min; median ${sa.median.toPrecision(4)}; ${load}` });
        ctx.record({ case: label, impl: `pytorch (${cores} thr)`, ms: sb.min, samples: sb.n, flops, note: `min; median ${sb.median.toPrecision(4)}; ${load}` });
        ctx.record({ case: label, impl: 'pytorch (1 thr)', ms: sc.min, samples: sc.n, flops, note: `min; median ${sc.median.toPrecision(4)}; ${load}` });
        return best / sa.min;
      };

      // GEMM. On this shared VM a 512³ product took 1.8 to 6.8 ms from one call to the next within a second
      // (2026-12-02), so a min over 24 calls a side could miss every quiet window: 72 calls a side, about 0.1 s each.
      const sizes = ctx.quick ? [128, 512] : [128, 256, 512, 1024];
      for (const n of sizes) {
        const A = eg.tensor(random(n * n), [n, n]), B = eg.tensor(random(n * n), [n, n]);
        const x = await compare(`matmul ${n}x${n}x${n}`, 2 * n ** 3, () => eg.ops.matmul(A, B).dispose(), { op: 'matmul', m: n, k: n, n }, n >= 1024 ? 8 : n >= 512 ? 24 : 60);
        goals.push(['GEMM >= 1.0x', `${n}^3`, x, 1.0]);
        A.dispose(); B.dispose();
      }
      // the model's linear layers (small preset, B=8, T=242: 1936 rows): qkv, fc, proj, image head (on the 512 image rows)
      for (const [rows, inF, outF] of [[1936, 128, 384], [1936, 128, 512], [1936, 512, 128], [512, 128, 2048], [1936, 256, 1024]]) {
        const X = eg.tensor(random(rows * inF), [rows, inF]), W = eg.tensor(random(outF * inF), [outF, inF]), Bs = eg.tensor(random(outF), [outF]);
        await compare(`linear ${rows}x${inF} -> ${outF} (+bias)`, 2 * rows * inF * outF, () => eg.ops.linear(X, W, Bs).dispose(), { op: 'linear', rows, in: inF, out: outF }, 10);
        X.dispose(); W.dispose(); Bs.dispose();
      }
      // attention: T=512 D=64 (plain) and the model's shapes (causal)
      const shapes = [
        { b: 1, h: 8, t: 512, d: 64, causal: false, name: 'T=512 D=64 B*H=8' },
        { b: 8, h: 4, t: 242, d: 32, causal: true, name: 'small: B=8 H=4 T=242 D=32 causal' },
        { b: 8, h: 8, t: 242, d: 32, causal: true, name: 'plain-256: B=8 H=8 T=242 D=32 causal' },
      ];
      for (const s of shapes) {
        const shape = [s.b, s.h, s.t, s.d], n = s.b * s.h * s.t * s.d;
        const q = eg.tensor(random(n), shape), k = eg.tensor(random(n), shape), v = eg.tensor(random(n), shape), dy = eg.tensor(random(n), shape);
        const opts = s.causal ? { causal: true } : {};
        const fwdFlops = 4 * s.b * s.h * s.t * s.t * s.d;  // QK^T and PV, dense count
        const reps = s.t >= 512 ? 6 : 8;
        const xf = await compare(`attention fwd ${s.name}`, fwdFlops, () => { const r = eg.kernels.attention(q, k, v, opts); r.out.dispose(); r.lse.dispose(); },
          { op: 'attention', ...s, bwd: false }, reps);
        const xb = await compare(`attention fwd+bwd ${s.name}`, 3 * fwdFlops, () => {
          const r = eg.kernels.attention(q, k, v, opts);
          const g = eg.kernels.attentionBackward(q, k, v, r.out, r.lse, dy, opts);
          for (const t of [r.out, r.lse, g.dq, g.dk, g.dv]) t.dispose();
        }, { op: 'attention', ...s, bwd: true }, reps);
        goals.push(['attention >= 1.5x', `fwd ${s.name}`, xf, 1.5], ['attention >= 1.5x', `fwd+bwd ${s.name}`, xb, 1.5]);
        for (const t of [q, k, v, dy]) t.dispose();
      }
      // layer norm
      for (const [rows, d] of [[1936, 128], [3872, 256]]) {
        const X = eg.tensor(random(rows * d), [rows, d]), G = eg.tensor(random(d), [d]), Bt = eg.tensor(random(d), [d]), DY = eg.tensor(random(rows * d), [rows, d]);
        await compare(`layerNorm fwd [${rows},${d}]`, undefined, () => { const r = support.layerNorm(X, G, Bt, 1e-5); r.y.dispose(); r.mean.dispose(); r.rstd.dispose(); },
          { op: 'layernorm', rows, d, bwd: false }, 30);
        await compare(`layerNorm fwd+bwd [${rows},${d}]`, undefined, () => {
          const r = support.layerNorm(X, G, Bt, 1e-5);
          const g = support.layerNormBackward(DY, X, G, r.mean, r.rstd);
          for (const t of [r.y, r.mean, r.rstd, g.dx, g.dgamma, g.dbeta]) t.dispose();
        }, { op: 'layernorm', rows, d, bwd: true }, 30);
        for (const t of [X, G, Bt, DY]) t.dispose();
      }
      const info = peer.first;
      ctx.note(`PyTorch ${info.torch} with ${info.threads} threads (${(info.blas || []).join('; ').trim()}); echogen's pool ${eg.buildInfo().threads} threads. ` +
        `Each case: ${rounds} rounds of N echogen calls, N PyTorch calls with ${os.cpus().length} threads, N PyTorch calls with 1 thread (after one warm-up call each); ms = min per call, median in the note; ` +
        '"vs echogen" = PyTorch min / echogen min (above 1x: echogen is faster). Timed from JS (hrtime around the sync call, output creation and dispose included) and from Python (perf_counter around the call).');
      ctx.note('Attention: echogen = the fused kernel (never stores the T x T scores) and its fused backward from the saved log-sum-exp; PyTorch 1.13 has no fused ' +
        'scaled_dot_product_attention, so its peer is softmax(q k^T * scale [masked_fill -inf]) v under autograd (torch.autograd.grad of q, k, v). ' +
        'Flops: 4 B H T^2 D (fwd, dense count, causal not halved), 3x that for fwd+bwd.');
      for (const [goal, what, x, min] of goals) ctx.note(`goal ${goal} (vs the faster PyTorch row): ${what}: ${x.toFixed(2)}x (${x >= min ? 'met' : 'NOT met'})`);
    } finally {
      peer.close();
      peer1.close();
    }
  },
};
