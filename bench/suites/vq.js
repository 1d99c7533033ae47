// VQ codebook kernels on the CPU against onnxruntime-node and plain JS in the same run.
// vqNearest at the model's shapes (N = 4096 image patches, D = 48..192, K = 512..1024) and larger;
// FLOPs counted as 2*N*K*D (the x.c products). The ONNX peer is the usual unfused graph:
// MatMul(x, codebook^T) -> *(-2) + ReduceSumSquare(codebook) -> ArgMin / ReduceMin (+ ||x||^2),
// which writes the N x K matrix that echogen never stores.
'use strict';
const plain = require('../peers/plain_vq');

function rand(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function nearestModel(ctx, N, D, K) {
  return ctx.onnx.model({
    inputs: [{ name: 'x', type: 'float', shape: [N, D] }, { name: 'c', type: 'float', shape: [K, D] }],
    outputs: [{ name: 'idx', type: 'int64', shape: [N] }, { name: 'dist', type: 'float', shape: [N] }],
    initializers: [{ name: 'minus2', type: 'float', shape: [], data: [-2] }],
    nodes: [
      { op: 'Transpose', inputs: ['c'], outputs: ['ct'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['x', 'ct'], outputs: ['xc'] },
      { op: 'ReduceSumSquare', inputs: ['c'], outputs: ['c2'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'Mul', inputs: ['xc', 'minus2'], outputs: ['xc2'] },
      { op: 'Add', inputs: ['xc2', 'c2'], outputs: ['score'] },
      { op: 'ArgMin', inputs: ['score'], outputs: ['idx'], attrs: { axis: 1, keepdims: 0 } },
      { op: 'ReduceMin', inputs: ['score'], outputs: ['smin'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'ReduceSumSquare', inputs: ['x'], outputs: ['x2'], attrs: { axes: [1], keepdims: 0 } },
      { op: 'Add', inputs: ['smin', 'x2'], outputs: ['dist'] },
    ],
  });
}

function gatherModel(ctx, N, D, K) {
  return ctx.onnx.model({
    inputs: [{ name: 'c', type: 'float', shape: [K, D] }, { name: 'i', type: 'int32', shape: [N] }],
    outputs: [{ name: 'out', type: 'float', shape: [N, D] }],
    nodes: [{ op: 'Gather', inputs: ['c', 'i'], outputs: ['out'], attrs: { axis: 0 } }],
  });
}

// sums = one_hot(indices)^T x, counts = column sums of the one-hot: how a graph without
// scatter-add computes k-means statistics (2*N*K*D FLOPs for an O(N*D) job).
function statsModel(ctx, N, D, K) {
  return ctx.onnx.model({
    inputs: [{ name: 'x', type: 'float', shape: [N, D] }, { name: 'i', type: 'int32', shape: [N] }],
    outputs: [{ name: 'sums', type: 'float', shape: [K, D] }, { name: 'counts', type: 'float', shape: [K] }],
    initializers: [
      { name: 'depth', type: 'int64', shape: [], data: [K] },
      { name: 'values', type: 'float', shape: [2], data: [0, 1] },
      { name: 'axis0', type: 'int64', shape: [1], data: [0] },
    ],
    nodes: [
      { op: 'Cast', inputs: ['i'], outputs: ['i64'], attrs: { to: 7 } },  // OneHot has no int32-index kernel
      { op: 'OneHot', inputs: ['i64', 'depth', 'values'], outputs: ['oh'], attrs: { axis: -1 } },
      { op: 'Transpose', inputs: ['oh'], outputs: ['oht'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['oht', 'x'], outputs: ['sums'] },
      { op: 'ReduceSum', inputs: ['oh', 'axis0'], outputs: ['counts'], attrs: { keepdims: 0 } },
    ],
  });
}

async function benchNearest(ctx, N, D, K) {
  const { eg, ort } = ctx;
  const label = `vqNearest N=${N} D=${D} K=${K}`;
  const flops = 2 * N * K * D;
  const xd = rand(N * D), cd = rand(K * D);
  const x = eg.tensor(xd, [N, D]), cb = eg.tensor(cd, [K, D]);
  const mine = await ctx.time(`echogen ${label}`, () => {
    const r = eg.kernels.vqNearest(x, cb);
    r.indices.dispose();
    r.distances.dispose();
  });
  ctx.record({ case: label, impl: 'echogen', ms: mine.ms, flops, rme: mine.rme, samples: mine.samples });

  const session = await ort.session(nearestModel(ctx, N, D, K));
  const feeds = { x: new ort.Tensor('float32', xd, [N, D]), c: new ort.Tensor('float32', cd, [K, D]) };
  const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, flops, rme: peer.rme, samples: peer.samples });

  // the peers must compute the same thing: argmins agree except at f32 near-ties
  const ours = eg.kernels.vqNearest(x, cb);
  const theirs = await session.run(feeds);
  const a = ours.indices.toArray(), b = theirs.idx.data, da = ours.distances.toArray(), db = theirs.dist.data;
  let same = 0, far = 0;
  for (let n = 0; n < N; n++) {
    if (a[n] === Number(b[n])) same++;
    else if (Math.abs(da[n] - db[n]) > 1e-4 * (1 + Math.abs(db[n]))) far++;
  }
  ctx.note(`${label}: onnxruntime's ArgMin agrees on ${same}/${N} rows; ${far} disagreements beyond a near-tie`);
  if (far) throw new Error(`${label}: onnxruntime and echogen disagree on ${far} rows`);

  if (flops <= 2e9) {
    const js = await ctx.time(`plain JS ${label}`, () => plain.vqNearest(xd, cd, N, D, K), { minSamples: 2, maxTime: 0.5 });
    ctx.record({ case: label, impl: 'plain JS', ms: js.ms, flops, rme: js.rme, samples: js.samples });
  }
  x.dispose();
  cb.dispose();
}

async function benchGatherStats(ctx, N, D, K) {
  const { eg, ort } = ctx;
  const xd = rand(N * D), cd = rand(K * D);
  const id = Int32Array.from({ length: N }, () => Math.floor(Math.random() * K));
  const x = eg.tensor(xd, [N, D]), cb = eg.tensor(cd, [K, D]), idx = eg.tensor(id, [N]);

  const gl = `vqGather N=${N} D=${D} K=${K}`, gbytes = 4 * (2 * N * D + N);
  const g = await ctx.time(`echogen ${gl}`, () => eg.kernels.vqGather(cb, idx).dispose());
  ctx.record({ case: gl, impl: 'echogen', ms: g.ms, bytes: gbytes, rme: g.rme, samples: g.samples });
  const gs = await ort.session(gatherModel(ctx, N, D, K));
  const gfeeds = { c: new ort.Tensor('float32', cd, [K, D]), i: new ort.Tensor('int32', id, [N]) };
  const gp = await ctx.time(`onnxruntime ${gl}`, () => gs.run(gfeeds), { async: true });
  ctx.record({ case: gl, impl: 'onnxruntime-node', ms: gp.ms, bytes: gbytes, rme: gp.rme, samples: gp.samples });
  const gj = await ctx.time(`plain JS ${gl}`, () => plain.vqGather(cd, id, D));
  ctx.record({ case: gl, impl: 'plain JS', ms: gj.ms, bytes: gbytes, rme: gj.rme, samples: gj.samples });

  const sl = `vqStats N=${N} D=${D} K=${K}`, sbytes = 4 * (N * D + N + K * D + K);
  const s = await ctx.time(`echogen ${sl}`, () => {
    const r = eg.kernels.vqStats(x, idx, K);
    r.sums.dispose();
    r.counts.dispose();
  });
  ctx.record({ case: sl, impl: 'echogen', ms: s.ms, bytes: sbytes, rme: s.rme, samples: s.samples });
  const ss = await ort.session(statsModel(ctx, N, D, K));
  const sfeeds = { x: new ort.Tensor('float32', xd, [N, D]), i: new ort.Tensor('int32', id, [N]) };
  const sp = await ctx.time(`onnxruntime (one-hot MatMul) ${sl}`, () => ss.run(sfeeds), { async: true });
  ctx.record({ case: sl, impl: 'onnxruntime-node', ms: sp.ms, bytes: sbytes, rme: sp.rme, samples: sp.samples });
  const sj = await ctx.time(`plain JS ${sl}`, () => plain.vqStats(xd, id, D, K));
  ctx.record({ case: sl, impl: 'plain JS', ms: sj.ms, bytes: sbytes, rme: sj.rme, samples: sj.samples });
  x.dispose();
  cb.dispose();
  idx.dispose();
}

module.exports = {
  name: 'vq',
  async run(ctx) {
    const nearest = ctx.quick
      ? [[4096, 64, 512]]
      : [[4096, 48, 512], [4096, 64, 1024], [4096, 192, 1024], [16384, 256, 2048]];
    for (const [N, D, K] of nearest) await benchNearest(ctx, N, D, K);
    await benchGatherStats(ctx, 4096, 64, 1024);
    ctx.note('GFLOP/s of vqNearest count 2*N*K*D; GB/s of gather/stats count the bytes read and written once. ' +
      'onnxruntime-node runs the unfused graph MatMul(x, c^T)*(-2) + ReduceSumSquare(c) -> ArgMin/ReduceMin; ' +
      'its vqStats is one_hot(indices)^T @ x (no scatter-add in the graph). echogen outputs come from its block ' +
      'cache (freed blocks reused by size class), so vqGather costs about the copy; before the cache each call ' +
      'page-faulted its fresh 1 MB result in and lost to onnxruntime (0.79x).');
  },
};
