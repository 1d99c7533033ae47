// The support ops the model's training step runs, each beside onnxruntime-node's equivalent node on
// the same inputs (LayerNormalization, Softmax, FastGelu, SoftmaxCrossEntropyLoss, Add, Gather), and
// the fused AdamW beside a plain Float32Array loop. Backward kernels have no ORT peer (onnxruntime-node
// has no training API) and are recorded alone.
'use strict';
const support = require('../../dist/kernels/support');
const { AdamW } = require('../../dist/optim');

function random(n, lo = -1, hi = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.random() * (hi - lo);
  return a;
}

async function peer(ctx, label, spec, feeds, bytes) {
  const session = await ctx.ort.session(ctx.onnx.model(spec));
  const r = await ctx.time(`onnxruntime ${label}`, () => session.run(feeds), { async: true });
  ctx.record({ case: label, impl: 'onnxruntime-node', ms: r.ms, bytes, rme: r.rme, samples: r.samples });
}

async function mine(ctx, label, fn, bytes) {
  const r = await ctx.time(`echogen ${label}`, fn);
  ctx.record({ case: label, impl: 'echogen', ms: r.ms, bytes, rme: r.rme, samples: r.samples });
}

module.exports = {
  name: 'ops',
  async run(ctx) {
    const { eg } = ctx;
    const { ops } = eg;
    const T = ctx.ort.Tensor;
    const rows = ctx.quick ? 1024 : 4096;
    const f = (name, shape) => ({ name, type: 'float', shape });

    // layer norm [rows, 256]
    {
      const d = 256, label = `layerNorm [${rows},${d}]`, bytes = 8 * rows * d;
      const xd = random(rows * d), gd = random(d), bd = random(d);
      const x = eg.tensor(xd, [rows, d]), g = eg.tensor(gd, [d]), b = eg.tensor(bd, [d]);
      await mine(ctx, label, () => ops.layerNorm(x, g, b).dispose(), bytes);
      await peer(ctx, label, {
        inputs: [f('x', [rows, d]), f('g', [d]), f('b', [d])], outputs: [f('y', [rows, d])],
        nodes: [{ op: 'LayerNormalization', inputs: ['x', 'g', 'b'], outputs: ['y'], attrs: { axis: -1, epsilon: 1e-5 } }],
      }, { x: new T('float32', xd, [rows, d]), g: new T('float32', gd, [d]), b: new T('float32', bd, [d]) }, bytes);
      const fwd = support.layerNorm(x, g, b, 1e-5);
      const dy = eg.tensor(random(rows * d), [rows, d]);
      await mine(ctx, `layerNorm backward [${rows},${d}]`, () => {
        const r = support.layerNormBackward(dy, x, g, fwd.mean, fwd.rstd);
        r.dx.dispose(); r.dgamma.dispose(); r.dbeta.dispose();
      }, 12 * rows * d);
      for (const t of [x, g, b, dy, fwd.y, fwd.mean, fwd.rstd]) t.dispose();
    }

    // softmax and cross-entropy over a vocabulary of 1024
    {
      const v = 1024, n = rows / 4, label = `softmax [${n},${v}]`, bytes = 8 * n * v;
      const xd = random(n * v, -4, 4);
      const x = eg.tensor(xd, [n, v]);
      await mine(ctx, label, () => ops.softmax(x).dispose(), bytes);
      await peer(ctx, label, {
        inputs: [f('x', [n, v])], outputs: [f('y', [n, v])],
        nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: -1 } }],
      }, { x: new T('float32', xd, [n, v]) }, bytes);
      const td = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -100 : (i * 31) % v));
      const t = eg.tensor(td, [n], { dtype: 'i32' });
      const ce = `crossEntropy mean [${n},${v}]`;
      await mine(ctx, ce, () => ops.crossEntropy(x, t).dispose(), 4 * n * v);
      await peer(ctx, ce, {
        inputs: [f('x', [n, v]), { name: 't', type: 'int64', shape: [n] }], outputs: [f('l', [])],
        nodes: [{ op: 'SoftmaxCrossEntropyLoss', inputs: ['x', 't'], outputs: ['l'], attrs: { reduction: 'mean', ignore_index: -100 } }],
      }, { x: new T('float32', xd, [n, v]), t: new T('int64', BigInt64Array.from(td, BigInt), [n]) }, 4 * n * v);
      const xg = eg.ops.param(x.clone());
      await mine(ctx, `crossEntropy fwd+bwd [${n},${v}]`, () => {
        const loss = ops.crossEntropy(xg, t);
        loss.backward();
        loss.dispose();
        ops.zeroGrad([xg]);
      }, 12 * n * v);
      for (const z of [x, t, xg]) z.dispose();
    }

    // GELU (tanh) and a broadcast add over [rows, 1024]
    {
      const d = 1024, label = `gelu [${rows},${d}]`, bytes = 8 * rows * d;
      const xd = random(rows * d, -3, 3), bd = random(d);
      const x = eg.tensor(xd, [rows, d]), b = eg.tensor(bd, [d]);
      await mine(ctx, label, () => ops.gelu(x).dispose(), bytes);
      await peer(ctx, label, {
        inputs: [f('x', [rows, d])], outputs: [f('y', [rows, d])],
        nodes: [{ op: 'FastGelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }],
      }, { x: new T('float32', xd, [rows, d]) }, bytes);
      const add = `add [${rows},${d}] + [${d}]`;
      await mine(ctx, add, () => ops.add(x, b).dispose(), bytes);
      await peer(ctx, add, {
        inputs: [f('x', [rows, d]), f('b', [d])], outputs: [f('y', [rows, d])],
        nodes: [{ op: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
      }, { x: new T('float32', xd, [rows, d]), b: new T('float32', bd, [d]) }, bytes);
      x.dispose();
      b.dispose();
    }

    // embedding lookup: rows ids into a [8192, 256] table
    {
      const [v, d] = [8192, 256], label = `embedding ${rows} ids from [${v},${d}]`, bytes = 8 * rows * d;
      const td = random(v * d);
      const ids = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % v);
      const table = eg.tensor(td, [v, d]), idt = eg.tensor(ids, [rows], { dtype: 'i32' });
      await mine(ctx, label, () => ops.embedding(table, idt).dispose(), bytes);
      await peer(ctx, label, {
        inputs: [f('t', [v, d]), { name: 'i', type: 'int32', shape: [rows] }], outputs: [f('y', [rows, d])],
        nodes: [{ op: 'Gather', inputs: ['t', 'i'], outputs: ['y'], attrs: { axis: 0 } }],
      }, { t: new T('float32', td, [v, d]), i: new T('int32', ids, [rows]) }, bytes);
      table.dispose();
      idt.dispose();
    }

    // fused AdamW over the parameter list of a small transformer (5.0M floats in 50 tensors)
    {
      const shapes = [];
      for (let l = 0; l < 6; l++) shapes.push([768, 256], [768], [256, 256], [256], [1024, 256], [1024], [256, 1024], [256]);
      shapes.push([1024, 256], [1024]);
      const size = (s) => s.reduce((a, b) => a * b, 1);
      const total = shapes.reduce((a, s) => a + size(s), 0);
      const label = `adamw ${shapes.length} tensors, ${(total / 1e6).toFixed(2)}M params`;
      const bytes = 28 * total;  // p, m, v read+written, g read
      const params = shapes.map((s) => eg.ops.param(eg.tensor(random(size(s)), s)));
      params.forEach((p) => { p.grad = eg.keep(eg.tensor(random(p.size), p.shape)); });
      const opt = new AdamW(params, { lr: 1e-4 });
      await mine(ctx, label, () => opt.step(), bytes);
      const js = shapes.map((s) => ({ p: random(size(s)), g: random(size(s)), m: new Float32Array(size(s)), v: new Float32Array(size(s)) }));
      let step = 0;
      const plain = await ctx.time(`plain JS ${label}`, () => {
        step++;
        const b1 = 0.9, b2 = 0.999, lr = 1e-4, eps = 1e-8, wd = 0.01;
        const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
        for (const t of js)
          for (let i = 0; i < t.p.length; i++) {
            const g = t.g[i];
            const m = (t.m[i] = b1 * t.m[i] + (1 - b1) * g);
            const v = (t.v[i] = b2 * t.v[i] + (1 - b2) * g * g);
            t.p[i] = t.p[i] * (1 - lr * wd) - (lr * m) / c1 / (Math.sqrt(v / c2) + eps);
          }
      });
      ctx.record({ case: label, impl: 'plain JS loop', ms: plain.ms, bytes, rme: plain.rme, samples: plain.samples });
      opt.dispose();
      params.forEach((p) => p.dispose());
    }
    ctx.note('bytes = the tensors each call must read and write (GB/s is against that traffic); onnxruntime-node times include session.run() overhead.');
  },
};
