// Gumbel-Softmax on the CPU against onnxruntime-node and plain JS in the same run, at the model's
// shape (N = 4096 image-token positions, V = 1024 codes) and larger. GB/s count the bytes a
// single pass must move: logits in, soft (and hard) out, indices out.
// Two ONNX peers: 'onnxruntime-node' draws its own noise in the graph (RandomUniformLike -> Log
// -> Neg -> Log -> Neg -> Add -> Div -> Softmax, ArgMax [, OneHot]), the same work as echogen;
// 'onnxruntime-node (noise fed)' is given precomputed noise as an input, a lower bound for it.
'use strict';
const plain = require('../peers/plain_gumbel');

function rand(n, scale = 2) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * scale;
  return a;
}

function forwardModel(ctx, N, V, tau, hard, noiseFed) {
  const nodes = noiseFed ? [] : [
    { op: 'RandomUniformLike', inputs: ['logits'], outputs: ['u'], attrs: { low: { type: 'float', value: 1e-7 }, high: { type: 'float', value: 1 } } },
    { op: 'Log', inputs: ['u'], outputs: ['lu'] },
    { op: 'Neg', inputs: ['lu'], outputs: ['nlu'] },
    { op: 'Log', inputs: ['nlu'], outputs: ['llu'] },
    { op: 'Neg', inputs: ['llu'], outputs: ['g'] },
  ];
  nodes.push(
    { op: 'Add', inputs: ['logits', 'g'], outputs: ['y'] },
    { op: 'Div', inputs: ['y', 'tau'], outputs: ['z'] },
    { op: 'Softmax', inputs: ['z'], outputs: ['soft'], attrs: { axis: -1 } },
    { op: 'ArgMax', inputs: ['y'], outputs: ['idx'], attrs: { axis: 1, keepdims: 0 } },
  );
  const outputs = [{ name: 'soft', type: 'float', shape: [N, V] }, { name: 'idx', type: 'int64', shape: [N] }];
  const initializers = [{ name: 'tau', type: 'float', shape: [], data: [tau] }];
  if (hard) {
    nodes.push({ op: 'OneHot', inputs: ['idx', 'depth', 'values'], outputs: ['hard'], attrs: { axis: -1 } });
    outputs.push({ name: 'hard', type: 'float', shape: [N, V] });
    initializers.push({ name: 'depth', type: 'int64', shape: [], data: [V] }, { name: 'values', type: 'float', shape: [2], data: [0, 1] });
  }
  const inputs = [{ name: 'logits', type: 'float', shape: [N, V] }];
  if (noiseFed) inputs.push({ name: 'g', type: 'float', shape: [N, V] });
  return ctx.onnx.model({ inputs, outputs, nodes, initializers });
}

function backwardModel(ctx, N, V, tau) {
  return ctx.onnx.model({
    inputs: [{ name: 'dy', type: 'float', shape: [N, V] }, { name: 'soft', type: 'float', shape: [N, V] }],
    outputs: [{ name: 'dl', type: 'float', shape: [N, V] }],
    initializers: [{ name: 'axes', type: 'int64', shape: [1], data: [1] }, { name: 'tau', type: 'float', shape: [], data: [tau] }],
    nodes: [
      { op: 'Mul', inputs: ['dy', 'soft'], outputs: ['p'] },
      { op: 'ReduceSum', inputs: ['p', 'axes'], outputs: ['s'], attrs: { keepdims: 1 } },
      { op: 'Sub', inputs: ['dy', 's'], outputs: ['d'] },
      { op: 'Mul', inputs: ['soft', 'd'], outputs: ['q'] },
      { op: 'Div', inputs: ['q', 'tau'], outputs: ['dl'] },
    ],
  });
}

async function benchForward(ctx, N, V, hard) {
  const { eg, ort } = ctx;
  const tau = 0.7;
  const label = `gumbelSoftmax N=${N} V=${V}${hard ? ' hard' : ''}`;
  const bytes = 4 * (N * V * (hard ? 3 : 2) + N);
  const ld = rand(N * V);
  const logits = eg.tensor(ld, [N, V]);
  let offset = 0;
  const mine = await ctx.time(`echogen ${label}`, () => {
    const r = eg.kernels.gumbelSoftmax(logits, { tau, hard, seed: 7, offset: offset++ });
    r.soft.dispose();
    r.indices.dispose();
    if (r.hard) r.hard.dispose();
  });
  ctx.record({ case: label, impl: 'echogen', ms: mine.ms, bytes, rme: mine.rme, samples: mine.samples });

  const session = await ort.session(forwardModel(ctx, N, V, tau, hard, false));
  const feeds = { logits: new ort.Tensor('float32', ld, [N, V]) };
  const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, bytes, rme: peer.rme, samples: peer.samples });

  const fed = await ort.session(forwardModel(ctx, N, V, tau, hard, true));
  const g = new Float32Array(N * V);
  for (let i = 0; i < g.length; i++) g[i] = -Math.log(-Math.log(Math.random() || Number.MIN_VALUE));
  const fedFeeds = { logits: feeds.logits, g: new ort.Tensor('float32', g, [N, V]) };
  const peerFed = await ctx.time(`onnxruntime (noise fed) ${label}`, () => fed.run(fedFeeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node (noise fed)', ms: peerFed.ms, bytes, rme: peerFed.rme, samples: peerFed.samples });

  if (N * V <= 1 << 23) {
    const js = await ctx.time(`plain JS ${label}`, () => plain.gumbelSoftmax(ld, N, V, tau, hard), { minSamples: 3 });
    ctx.record({ case: label, impl: 'plain JS', ms: js.ms, bytes, rme: js.rme, samples: js.samples });
  }
  logits.dispose();
}

async function benchBackward(ctx, N, V) {
  const { eg, ort } = ctx;
  const tau = 0.7;
  const label = `gumbelSoftmaxBackward N=${N} V=${V}`;
  const bytes = 4 * 3 * N * V;
  const dyd = rand(N * V, 1);
  const { soft, indices } = eg.kernels.gumbelSoftmax(eg.tensor(rand(N * V), [N, V]), { tau, seed: 1 });
  const sd = soft.toArray();
  const dy = eg.tensor(dyd, [N, V]);
  const mine = await ctx.time(`echogen ${label}`, () => eg.kernels.gumbelSoftmaxBackward(dy, soft, tau).dispose());
  ctx.record({ case: label, impl: 'echogen', ms: mine.ms, bytes, rme: mine.rme, samples: mine.samples });
  const session = await ort.session(backwardModel(ctx, N, V, tau));
  const feeds = { dy: new ort.Tensor('float32', dyd, [N, V]), soft: new ort.Tensor('float32', sd, [N, V]) };
  const peer = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: peer.ms, bytes, rme: peer.rme, samples: peer.samples });
  const js = await ctx.time(`plain JS ${label}`, () => plain.gumbelSoftmaxBackward(dyd, sd, N, V, tau), { minSamples: 3 });
  ctx.record({ case: label, impl: 'plain JS', ms: js.ms, bytes, rme: js.rme, samples: js.samples });
  soft.dispose();
  indices.dispose();
  dy.dispose();
}

module.exports = {
  name: 'gumbel',
  async run(ctx) {
    const shapes = ctx.quick ? [[4096, 1024]] : [[4096, 1024], [16384, 4096]];
    for (const [N, V] of shapes) {
      await benchForward(ctx, N, V, false);
      if (!ctx.quick) await benchForward(ctx, N, V, true);
    }
    await benchBackward(ctx, 4096, 1024);
    ctx.note('GB/s count logits read once, soft (and hard) written once, indices written. echogen draws its noise with ' +
      'Philox-4x32-10 inside the kernel; the first onnxruntime graph draws it with RandomUniformLike, the second is fed ' +
      'precomputed noise (its time excludes drawing it).');
  },
};
