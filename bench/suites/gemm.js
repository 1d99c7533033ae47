// CPU GEMM: eg.ops.matmul (the blocked AVX2/FMA kernel) against onnxruntime-node MatMul on the same
// inputs in the same run, square sizes 128..1024, plus the fused linear (x W^T + b) against ORT Gemm.
// GFLOP/s and the fraction of this CPU's measured fp32 FMA peak come from the flops column.
'use strict';

function random(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

module.exports = {
  name: 'gemm',
  async run(ctx) {
    const { eg } = ctx;
    ctx.fmaPeakGflops(); // probed now and after the suite; the header gives the best
    const sizes = ctx.quick ? [128, 512] : [128, 256, 512, 1024];
    for (const n of sizes) {
      const label = `matmul ${n}x${n}x${n}`;
      const flops = 2 * n ** 3;
      const ad = random(n * n), bd = random(n * n);
      const a = eg.tensor(ad, [n, n]), b = eg.tensor(bd, [n, n]);
      const mine = await ctx.time(`echogen ${label}`, () => eg.ops.matmul(a, b).dispose());
      ctx.record({ case: label, impl: 'echogen', ms: mine.ms, flops, rme: mine.rme, samples: mine.samples });
      const session = await ctx.ort.session(ctx.onnx.model({
        inputs: [{ name: 'a', type: 'float', shape: [n, n] }, { name: 'b', type: 'float', shape: [n, n] }],
        outputs: [{ name: 'c', type: 'float', shape: [n, n] }],
        nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
      }));
      const feeds = { a: new ctx.ort.Tensor('float32', ad, [n, n]), b: new ctx.ort.Tensor('float32', bd, [n, n]) };
      const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
      ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, flops, rme: peer.rme, samples: peer.samples });
      a.dispose();
      b.dispose();
    }

    // The model's shape: 1024 tokens through a 256 -> 1024 projection with bias.
    const [rows, inF, outF] = [1024, 256, 1024];
    const label = `linear ${rows}x${inF} -> ${outF} (+bias)`;
    const flops = 2 * rows * inF * outF;
    const xd = random(rows * inF), wd = random(outF * inF), bd = random(outF);
    const x = eg.tensor(xd, [rows, inF]), w = eg.tensor(wd, [outF, inF]), bias = eg.tensor(bd, [outF]);
    const mine = await ctx.time(`echogen ${label}`, () => eg.ops.linear(x, w, bias).dispose());
    ctx.record({ case: label, impl: 'echogen', ms: mine.ms, flops, rme: mine.rme, samples: mine.samples });
    const session = await ctx.ort.session(ctx.onnx.model({
      inputs: [{ name: 'x', type: 'float', shape: [rows, inF] }, { name: 'w', type: 'float', shape: [outF, inF] }, { name: 'b', type: 'float', shape: [outF] }],
      outputs: [{ name: 'y', type: 'float', shape: [rows, outF] }],
      nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } }],
    }));
    const feeds = {
      x: new ctx.ort.Tensor('float32', xd, [rows, inF]),
      w: new ctx.ort.Tensor('float32', wd, [outF, inF]),
      b: new ctx.ort.Tensor('float32', bd, [outF]),
    };
    const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
    ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, flops, rme: peer.rme, samples: peer.samples });
    x.dispose();
    w.dispose();
    bias.dispose();

    ctx.note(`echogen: packed 6x16 AVX2/FMA micro-kernel, blocks of 144x256 (A) and 256x512 (B), ${eg.buildInfo().threads} threads; ` +
      `onnxruntime-node: MLAS SGEMM with one intra-op thread per core. The FMA peak (in the header) is this run's own measurement.`);
    ctx.note('onnxruntime-node times include its session.run() overhead (a promise per call); echogen times include creating and disposing the output tensor.');
  },
};
