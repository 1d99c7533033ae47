// Fused attention on CPU, forward and backward, at the model's shape (B*H = 32, T = 130, D = 32)
// and a larger one (B*H = 8, T = 512, D = 64), causal and not, against onnxruntime-node (a
// MatMul -> Mul(scale) -> Softmax -> MatMul graph, the com.microsoft MultiHeadAttention contrib
// op, and for the backward an explicit gradient graph) and plain JS loops. FLOPs are counted as
// FlashAttention counts them: 4*B*H*Tq*Tk*D forward, halved when causal; backward 2.5x forward.
// Every peer's output is checked against echogen's before it is timed.
'use strict';
const plain = require('../peers/plain_attention');

function random(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function relErr(got, ref) {
  let err = 0, max = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    max = Math.max(max, Math.abs(ref[i]));
  }
  return max > 0 ? err / max : err;
}

function expectClose(what, got, ref, tol = 1e-3) {
  const e = relErr(got, ref);
  if (!(e <= tol)) throw new Error(`attention bench: ${what} differs from echogen by ${e.toExponential(2)} (tol ${tol}); the peer is wrong`);
}

// [B,H,T,D] <-> [B,T,H*D], the layout MultiHeadAttention takes.
function toBTHD(x, B, H, T, D) {
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) y[((b * T + t) * H + h) * D + d] = x[((b * H + h) * T + t) * D + d];
  return y;
}
function fromBTHD(y, B, H, T, D) {
  const x = new Float32Array(y.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++)
        for (let d = 0; d < D; d++) x[((b * H + h) * T + t) * D + d] = y[((b * T + t) * H + h) * D + d];
  return x;
}

// 0 where query i may see key j (bottom-right aligned causal), a large negative number elsewhere.
function causalBias(T) {
  const bias = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) bias[i * T + j] = -1e30;
  return bias;
}

const transpose = (x, out) => ({ op: 'Transpose', inputs: [x], outputs: [out], attrs: { perm: [0, 1, 3, 2] } });
const bin = (op, a, b, out) => ({ op, inputs: [a, b], outputs: [out] });

// softmax(scale * q k^T + bias) as nodes ending in P; shared by the forward and backward graphs.
function probabilityNodes(causal) {
  return [
    transpose('k', 'kT'), bin('MatMul', 'q', 'kT', 's'), bin('Mul', 's', 'scale', 'ss'),
    ...(causal ? [bin('Add', 'ss', 'bias', 'sb')] : []),
    { op: 'Softmax', inputs: [causal ? 'sb' : 'ss'], outputs: ['P'], attrs: { axis: -1 } },
  ];
}

function constants(c) {
  const init = [{ name: 'scale', type: 'float', shape: [], data: [1 / Math.sqrt(c.D)] }];
  if (c.causal) init.push({ name: 'bias', type: 'float', shape: [c.T, c.T], data: causalBias(c.T) });
  return init;
}

function forwardModel(ctx, c) {
  const shape = [c.B, c.H, c.T, c.D];
  return ctx.onnx.model({
    inputs: ['q', 'k', 'v'].map((name) => ({ name, type: 'float', shape })),
    outputs: [{ name: 'out', type: 'float', shape }],
    nodes: [...probabilityNodes(c.causal), bin('MatMul', 'P', 'v', 'out')],
    initializers: constants(c),
  });
}

// dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum(dP P)) * scale; dQ = dS K; dK = dS^T Q.
function backwardModel(ctx, c) {
  const shape = [c.B, c.H, c.T, c.D];
  return ctx.onnx.model({
    inputs: ['q', 'k', 'v', 'dO'].map((name) => ({ name, type: 'float', shape })),
    outputs: ['dq', 'dk', 'dv'].map((name) => ({ name, type: 'float', shape })),
    nodes: [
      ...probabilityNodes(c.causal),
      transpose('P', 'PT'), bin('MatMul', 'PT', 'dO', 'dv'),
      transpose('v', 'vT'), bin('MatMul', 'dO', 'vT', 'dP'),
      bin('Mul', 'dP', 'P', 'dPP'),
      { op: 'ReduceSum', inputs: ['dPP', 'axes'], outputs: ['rowsum'], attrs: { keepdims: 1 } },
      bin('Sub', 'dP', 'rowsum', 'dPc'), bin('Mul', 'P', 'dPc', 'dS0'), bin('Mul', 'dS0', 'scale', 'dS'),
      bin('MatMul', 'dS', 'k', 'dq'), transpose('dS', 'dST'), bin('MatMul', 'dST', 'q', 'dk'),
    ],
    initializers: [...constants(c), { name: 'axes', type: 'int64', shape: [1], data: [-1] }],
  });
}

function mhaModel(ctx, c) {
  const shape = [c.B, c.T, c.H * c.D];
  return ctx.onnx.model({
    inputs: ['q', 'k', 'v'].map((name) => ({ name, type: 'float', shape })),
    outputs: [{ name: 'out', type: 'float', shape }],
    nodes: [{
      op: 'MultiHeadAttention', domain: 'com.microsoft', inputs: ['q', 'k', 'v'], outputs: ['out'],
      attrs: { num_heads: c.H, scale: { type: 'float', value: 1 / Math.sqrt(c.D) }, ...(c.causal ? { unidirectional: 1 } : {}) },
    }],
  });
}

function cases(quick) {
  const model = [{ B: 4, H: 8, T: 130, D: 32 }];
  const large = quick ? [] : [{ B: 1, H: 8, T: 512, D: 64 }];
  const out = [];
  for (const s of [...model, ...large])
    for (const causal of [false, true]) out.push({ ...s, causal, large: s.T > 130 });
  return out;
}

async function runCase(ctx, c, slower) {
  const { eg } = ctx;
  const shape = [c.B, c.H, c.T, c.D];
  const n = c.B * c.H * c.T * c.D;
  const data = { q: random(n), k: random(n), v: random(n), dO: random(n) };
  const t = Object.fromEntries(Object.entries(data).map(([name, a]) => [name, eg.tensor(a, shape)]));
  const opts = { causal: c.causal };
  const label = `B*H=${c.B * c.H} T=${c.T} D=${c.D}${c.causal ? ' causal' : ''}`;
  const fwdFlops = (4 * c.B * c.H * c.T * c.T * c.D) / (c.causal ? 2 : 1);
  const bwdFlops = 2.5 * fwdFlops;
  const record = (kind, impl, r) => {
    const row = { case: `${kind} ${label}`, impl, ms: r.ms, rme: r.rme, samples: r.samples, flops: kind === 'fwd' ? fwdFlops : bwdFlops };
    ctx.record(row);
    return row;
  };
  const ortTensors = (names, layout = (x) => x, dims = shape) =>
    Object.fromEntries(names.map((name) => [name, new ctx.ort.Tensor('float32', layout(data[name]), dims)]));

  // echogen
  const ref = eg.kernels.attention(t.q, t.k, t.v, opts);
  const grads = eg.kernels.attentionBackward(t.q, t.k, t.v, ref.out, ref.lse, t.dO, opts);
  const refOut = ref.out.toArray();
  const refGrads = { dq: grads.dq.toArray(), dk: grads.dk.toArray(), dv: grads.dv.toArray() };
  const mineF = record('fwd', 'echogen', await ctx.time(`echogen fwd ${label}`, () => {
    const r = eg.kernels.attention(t.q, t.k, t.v, opts);
    r.out.dispose();
    r.lse.dispose();
  }));
  const mineB = record('bwd', 'echogen', await ctx.time(`echogen bwd ${label}`, () => {
    const g = eg.kernels.attentionBackward(t.q, t.k, t.v, ref.out, ref.lse, t.dO, opts);
    g.dq.dispose();
    g.dk.dispose();
    g.dv.dispose();
  }));
  const peers = [];

  // onnxruntime-node: MatMul -> Mul -> Softmax -> MatMul, and the gradient graph
  const fwd = await ctx.ort.session(forwardModel(ctx, c));
  const feeds = ortTensors(['q', 'k', 'v']);
  expectClose(`onnxruntime forward ${label}`, (await fwd.run(feeds)).out.data, refOut);
  peers.push([mineF, record('fwd', 'onnxruntime-node (MatMul/Softmax/MatMul)',
    await ctx.time(`ort graph fwd ${label}`, () => fwd.run(feeds), { async: true }))]);
  const bwd = await ctx.ort.session(backwardModel(ctx, c));
  const bfeeds = ortTensors(['q', 'k', 'v', 'dO']);
  const bo = await bwd.run(bfeeds);
  for (const g of ['dq', 'dk', 'dv']) expectClose(`onnxruntime backward ${g} ${label}`, bo[g].data, refGrads[g]);
  peers.push([mineB, record('bwd', 'onnxruntime-node (gradient graph)',
    await ctx.time(`ort graph bwd ${label}`, () => bwd.run(bfeeds), { async: true }))]);

  // onnxruntime-node: the fused MultiHeadAttention contrib op (inputs in its [B,T,H*D] layout)
  try {
    const mha = await ctx.ort.session(mhaModel(ctx, c));
    const mfeeds = ortTensors(['q', 'k', 'v'], (x) => toBTHD(x, c.B, c.H, c.T, c.D), [c.B, c.T, c.H * c.D]);
    expectClose(`MultiHeadAttention ${label}`, fromBTHD((await mha.run(mfeeds)).out.data, c.B, c.H, c.T, c.D), refOut);
    peers.push([mineF, record('fwd', 'onnxruntime-node (MultiHeadAttention)',
      await ctx.time(`ort MHA fwd ${label}`, () => mha.run(mfeeds), { async: true }))]);
  } catch (e) {
    ctx.note(`MultiHeadAttention (${label}) could not run: ${e.message.split('\n')[0]}`);
  }

  // plain JS (the large backward would take minutes of samples: forward only there)
  const p = { BH: c.B * c.H, Tq: c.T, Tk: c.T, D: c.D, causal: c.causal };
  const pf = plain.attention(data.q, data.k, data.v, p);
  expectClose(`plain JS forward ${label}`, pf.out, refOut);
  peers.push([mineF, record('fwd', 'plain JS', await ctx.time(`plain JS fwd ${label}`, () => plain.attention(data.q, data.k, data.v, p), { minSamples: 2 }))]);
  if (!c.large) {
    const pb = plain.attentionBackward(data.q, data.k, data.v, pf.out, pf.lse, data.dO, p);
    for (const g of ['dq', 'dk', 'dv']) expectClose(`plain JS backward ${g} ${label}`, pb[g], refGrads[g]);
    peers.push([mineB, record('bwd', 'plain JS', await ctx.time(`plain JS bwd ${label}`,
      () => plain.attentionBackward(data.q, data.k, data.v, pf.out, pf.lse, data.dO, p), { minSamples: 2 }))]);
  }
  for (const [mine, peer] of peers) if (peer.ms < mine.ms) slower.push(`${peer.case}: ${peer.impl} ${(mine.ms / peer.ms).toFixed(2)}x faster`);
  for (const x of [ref.out, ref.lse, grads.dq, grads.dk, grads.dv, ...Object.values(t)]) x.dispose();
}

module.exports = {
  name: 'attention',
  async run(ctx) {
    const peak = ctx.fmaPeakGflops();
    console.log(`  fp32 FMA peak of this CPU (all cores): ${peak.toFixed(1)} GFLOP/s`);
    const slower = [];
    for (const c of cases(ctx.quick)) await runCase(ctx, c, slower);
    ctx.note('FLOPs as FlashAttention counts them: 4*B*H*Tq*Tk*D forward (halved when causal), backward 2.5x the forward; ' +
      'every implementation of a case is credited with the same FLOPs, so GFLOP/s compare like time.');
    ctx.note('The onnxruntime graphs store the full T x T score matrix (and the backward graph recomputes P as echogen does); ' +
      'MultiHeadAttention takes [B,T,H*D] inputs, prepared outside the timed call.');
    ctx.note(slower.length ? `Where a peer is faster: ${slower.join('; ')}.` : 'echogen is the fastest implementation in every case of this run.');
  },
};
