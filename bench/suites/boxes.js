// Box kernels on CPU: pairwise boxIou (IoU and GIoU) and the fused cycleReward at the model's
// shape (B=64, G=8, N=4) and larger, against onnxruntime-node (elementwise ONNX graphs with
// broadcasting) and plain JS loops. Each peer's output is checked against echogen's first.
'use strict';
const plain = require('../peers/plain_boxes');

function randomBoxes(n) {
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = Math.random(), y = Math.random(), w = 0.3 * Math.random(), h = 0.3 * Math.random();
    out.set([x, y, x + w, y + h], 4 * i);
  }
  return out;
}

function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function expectClose(what, got, ref, tol = 1e-4) {
  const d = maxDiff(got, ref);
  if (!(d <= tol)) throw new Error(`boxes bench: ${what} differs from echogen by ${d} (tol ${tol}); the peer is wrong`);
}

const split4 = (x, axis, names) => ({ op: 'Split', inputs: [x], outputs: names, attrs: { axis } });
const bin = (op, a, b, out) => ({ op, inputs: [a, b], outputs: [out] });

// IoU (and GIoU) of a [N,1] columns against b [1,M] rows, broadcast to [N,M]; zero union -> 0
// by dividing by max(union, tiny) (inter is 0 there).
function iouNodes(p, a, b, giou, out) {
  const [ax1, ay1, ax2, ay2] = a, [bx1, by1, bx2, by2] = b;
  const n = [
    bin('Min', ax2, bx2, `${p}mx2`), bin('Max', ax1, bx1, `${p}mx1`), bin('Sub', `${p}mx2`, `${p}mx1`, `${p}iw0`),
    { op: 'Relu', inputs: [`${p}iw0`], outputs: [`${p}iw`] },
    bin('Min', ay2, by2, `${p}my2`), bin('Max', ay1, by1, `${p}my1`), bin('Sub', `${p}my2`, `${p}my1`, `${p}ih0`),
    { op: 'Relu', inputs: [`${p}ih0`], outputs: [`${p}ih`] },
    bin('Mul', `${p}iw`, `${p}ih`, `${p}inter`),
    bin('Sub', ax2, ax1, `${p}aw`), bin('Sub', ay2, ay1, `${p}ah`), bin('Mul', `${p}aw`, `${p}ah`, `${p}areaA`),
    bin('Sub', bx2, bx1, `${p}bw`), bin('Sub', by2, by1, `${p}bh`), bin('Mul', `${p}bw`, `${p}bh`, `${p}areaB`),
    bin('Add', `${p}areaA`, `${p}areaB`, `${p}sum`), bin('Sub', `${p}sum`, `${p}inter`, `${p}union`),
    bin('Max', `${p}union`, 'tiny', `${p}unionSafe`),
    bin('Div', `${p}inter`, `${p}unionSafe`, giou ? `${p}iou` : out),
  ];
  if (giou) n.push(
    bin('Max', ax2, bx2, `${p}cx2`), bin('Min', ax1, bx1, `${p}cx1`), bin('Sub', `${p}cx2`, `${p}cx1`, `${p}cw`),
    bin('Max', ay2, by2, `${p}cy2`), bin('Min', ay1, by1, `${p}cy1`), bin('Sub', `${p}cy2`, `${p}cy1`, `${p}ch`),
    bin('Mul', `${p}cw`, `${p}ch`, `${p}c`), bin('Sub', `${p}c`, `${p}union`, `${p}gap`),
    bin('Max', `${p}c`, 'tiny', `${p}cSafe`), bin('Div', `${p}gap`, `${p}cSafe`, `${p}pen`),
    bin('Sub', `${p}iou`, `${p}pen`, out));
  return n;
}

const tiny = { name: 'tiny', type: 'float', shape: [], data: [1e-30] };

function boxIouModel(ctx, N, M, giou) {
  const A = ['ax1', 'ay1', 'ax2', 'ay2'], B = ['bx1', 'by1', 'bx2', 'by2'];
  return ctx.onnx.model({
    inputs: [{ name: 'a', type: 'float', shape: [N, 4] }, { name: 'b', type: 'float', shape: [M, 4] }],
    outputs: [{ name: 'iou', type: 'float', shape: [N, M] }],
    initializers: [tiny],
    nodes: [
      split4('a', 1, A),
      { op: 'Transpose', inputs: ['b'], outputs: ['bT'], attrs: { perm: [1, 0] } },
      split4('bT', 0, B),
      ...iouNodes('n_', A, B, giou, 'iou'),
    ],
  });
}

function cycleRewardModel(ctx, B, G, N, w) {
  const P = ['px1', 'py1', 'px2', 'py2'], T = ['tx1', 'ty1', 'tx2', 'ty2'];
  const f = (name, data, shape = []) => ({ name, type: 'float', shape, data });
  return ctx.onnx.model({
    inputs: [{ name: 'pred', type: 'float', shape: [B, G, N, 4] }, { name: 'target', type: 'float', shape: [B, N, 4] },
      { name: 'mask', type: 'float', shape: [B, N] }],
    outputs: [{ name: 'reward', type: 'float', shape: [B, G] }, { name: 'advantage', type: 'float', shape: [B, G] },
      { name: 'iou', type: 'float', shape: [B, G, N] }],
    initializers: [tiny, f('one', [1]), f('wi', [w.iouWeight]), f('wl', [w.l1Weight]), f('eps', [w.eps]), f('gm1', [G - 1]),
      { name: 'ax1', type: 'int64', shape: [1], data: [1] }, { name: 'ax2', type: 'int64', shape: [1], data: [2] },
      { name: 'ax3', type: 'int64', shape: [1], data: [3] }],
    nodes: [
      { op: 'Unsqueeze', inputs: ['target', 'ax1'], outputs: ['t4'] },            // [B,1,N,4]
      { op: 'Unsqueeze', inputs: ['mask', 'ax1'], outputs: ['m3'] },              // [B,1,N]
      split4('pred', 3, P.map((x) => `${x}_`)), split4('t4', 3, T.map((x) => `${x}_`)),
      ...P.map((x) => ({ op: 'Squeeze', inputs: [`${x}_`, 'ax3'], outputs: [x] })),
      ...T.map((x) => ({ op: 'Squeeze', inputs: [`${x}_`, 'ax3'], outputs: [x] })),
      ...iouNodes('n_', P, T, false, 'iouRaw'),                                   // [B,G,N]
      bin('Mul', 'iouRaw', 'm3', 'iou'),
      bin('Sub', 'pred', 't4', 'diff'), { op: 'Abs', inputs: ['diff'], outputs: ['absd'] },
      { op: 'ReduceMean', inputs: ['absd'], outputs: ['l1'], attrs: { axes: [3], keepdims: 0 } },
      bin('Mul', 'l1', 'm3', 'l1m'),
      { op: 'ReduceSum', inputs: ['iou', 'ax2'], outputs: ['si'], attrs: { keepdims: 0 } },   // [B,G]
      { op: 'ReduceSum', inputs: ['l1m', 'ax2'], outputs: ['sl'], attrs: { keepdims: 0 } },
      { op: 'ReduceSum', inputs: ['m3', 'ax2'], outputs: ['count'], attrs: { keepdims: 0 } }, // [B,1]
      bin('Mul', 'si', 'wi', 'wsi'), bin('Mul', 'sl', 'wl', 'wsl'), bin('Sub', 'wsi', 'wsl', 'num'),
      bin('Max', 'count', 'one', 'countSafe'), bin('Div', 'num', 'countSafe', 'reward'),
      { op: 'ReduceMean', inputs: ['reward'], outputs: ['mean'], attrs: { axes: [1], keepdims: 1 } },
      bin('Sub', 'reward', 'mean', 'dev'), bin('Mul', 'dev', 'dev', 'dev2'),
      { op: 'ReduceSum', inputs: ['dev2', 'ax1'], outputs: ['ss'], attrs: { keepdims: 1 } },
      bin('Div', 'ss', 'gm1', 'var'), { op: 'Sqrt', inputs: ['var'], outputs: ['std'] },
      bin('Add', 'std', 'eps', 'den'), bin('Div', 'dev', 'den', 'advantage'),
    ],
  });
}

async function benchBoxIou(ctx, N, M, kind) {
  const { eg } = ctx;
  const label = `boxIou ${kind} N=${N} M=${M}`;
  const a = randomBoxes(N), b = randomBoxes(M);
  const ta = eg.tensor(a, [N, 4]), tb = eg.tensor(b, [M, 4]);
  const flops = N * M * (kind === 'giou' ? 22 : 12), bytes = (N + M) * 16 + N * M * 4;
  const ref = eg.tidy(() => eg.kernels.boxIou(ta, tb, { kind }).toArray());

  const mine = await ctx.time(`echogen ${label}`, () => eg.kernels.boxIou(ta, tb, { kind }).dispose());
  ctx.record({ case: label, impl: 'echogen', ms: mine.ms, flops, bytes, rme: mine.rme, samples: mine.samples });
  if (N * M >= 250000) {
    // how much of echogen's time is the fresh [N,M] output tensor (allocation, first-touch page faults)
    const alloc = await ctx.time(`eg.zeros ${label}`, () => eg.zeros([N, M]).dispose());
    ctx.record({ case: label, impl: 'eg.zeros([N,M]) alone', ms: alloc.ms, rme: alloc.rme, samples: alloc.samples });
  }

  const session = await ctx.ort.session(boxIouModel(ctx, N, M, kind === 'giou'));
  const feeds = { a: new ctx.ort.Tensor('float32', a, [N, 4]), b: new ctx.ort.Tensor('float32', b, [M, 4]) };
  expectClose(`onnxruntime ${label}`, (await session.run(feeds)).iou.data, ref);
  const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, flops, bytes, rme: peer.rme, samples: peer.samples });

  expectClose(`plain JS ${label}`, plain.boxIou(a, b, kind === 'giou'), ref);
  const js = await ctx.time(`plain JS ${label}`, () => plain.boxIou(a, b, kind === 'giou'));
  ctx.record({ case: label, impl: 'plain JS', ms: js.ms, flops, bytes, rme: js.rme, samples: js.samples });
  ta.dispose();
  tb.dispose();
}

async function benchReward(ctx, B, G, N) {
  const { eg } = ctx;
  const label = `cycleReward B=${B} G=${G} N=${N}`;
  const target = randomBoxes(B * N), pred = new Float32Array(B * G * N * 4);
  for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) for (let n = 0; n < N; n++) {
    const t = (b * N + n) * 4, jitter = 0.05 * Math.random();
    pred.set([target[t] + jitter, target[t + 1], target[t + 2] + jitter, target[t + 3] + 0.02 * Math.random()], ((b * G + g) * N + n) * 4);
  }
  const mask = Float32Array.from({ length: B * N }, () => (Math.random() < 0.8 ? 1 : 0));
  const w = { iouWeight: 1, l1Weight: 1, eps: 1e-4 };
  const tp = eg.tensor(pred, [B, G, N, 4]), tt = eg.tensor(target, [B, N, 4]), tm = eg.tensor(mask, [B, N]);
  const bytes = 4 * (pred.length + target.length + mask.length + 2 * B * G + B * G * N);
  const run = () => eg.kernels.cycleReward(tp, tt, { mask: tm, ...w });
  const ref = eg.tidy(() => {
    const r = run();
    return { reward: r.reward.toArray(), advantage: r.advantage.toArray(), iou: r.iou.toArray() };
  });

  const mine = await ctx.time(`echogen ${label}`, () => { const r = run(); r.reward.dispose(); r.advantage.dispose(); r.iou.dispose(); });
  ctx.record({ case: label, impl: 'echogen', ms: mine.ms, bytes, rme: mine.rme, samples: mine.samples });

  const session = await ctx.ort.session(cycleRewardModel(ctx, B, G, N, w));
  const feeds = {
    pred: new ctx.ort.Tensor('float32', pred, [B, G, N, 4]), target: new ctx.ort.Tensor('float32', target, [B, N, 4]),
    mask: new ctx.ort.Tensor('float32', mask, [B, N]),
  };
  const out = await session.run(feeds);
  for (const k of ['reward', 'advantage', 'iou']) expectClose(`onnxruntime ${label} ${k}`, out[k].data, ref[k], 1e-3);
  const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, bytes, rme: peer.rme, samples: peer.samples });

  const js0 = plain.cycleReward(pred, target, mask, B, G, N, w);
  for (const k of ['reward', 'advantage', 'iou']) expectClose(`plain JS ${label} ${k}`, js0[k], ref[k], 1e-3);
  const js = await ctx.time(`plain JS ${label}`, () => plain.cycleReward(pred, target, mask, B, G, N, w));
  ctx.record({ case: label, impl: 'plain JS', ms: js.ms, bytes, rme: js.rme, samples: js.samples });
  tp.dispose();
  tt.dispose();
  tm.dispose();
}

module.exports = {
  name: 'boxes',
  async run(ctx) {
    const iouSizes = ctx.quick ? [[64, 64], [1000, 1000]] : [[4, 4], [64, 64], [257, 1000], [2000, 2000]];
    for (const [N, M] of iouSizes) for (const kind of ['iou', 'giou']) await benchBoxIou(ctx, N, M, kind);
    const rewardSizes = ctx.quick ? [[64, 8, 4]] : [[64, 8, 4], [256, 16, 8], [1024, 16, 16]];
    for (const [B, G, N] of rewardSizes) await benchReward(ctx, B, G, N);
    ctx.note('GFLOP/s counts 12 operations per IoU pair and 22 per GIoU pair (min/max/sub/mul/div as in native/common/box.h); ' +
      'GB/s counts the boxes read once and the outputs written once.');
    ctx.note('Every echogen call includes its input checks (a pass over every box, and the mask) and a fresh output tensor. ' +
      'The "eg.zeros([N,M]) alone" rows time only allocating and zero-filling a tensor of the output\'s size: for large ' +
      'outputs that fresh memory (first-touch page faults) is a large share of an echogen call, and it varies widely on a busy machine.');
    ctx.note('At N=M=4 the plain JS loop (16 pairs) wins: a native call with a new output tensor costs ~10 us, the loop well under 1 us. ' +
      'Call boxIou on batches, not on single pairs.');
  },
};
