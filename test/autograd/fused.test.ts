// ops.attention and ops.gumbelSoftmax over the fused kernel families: gradients against central
// differences of float64 references (the Gumbel noise recovered from the forward itself).
import * as eg from '../../lib';
import * as R from '../reference/support';
import { devices, expectClose, f32, gradCheck } from './gradcheck';

const { ops } = eg;

describe.each(devices())('ops.attention on %s', (device) => {
  const dims = { b: 1, h: 2, tq: 5, tk: 7, d: 8 };
  const qs = [dims.b, dims.h, dims.tq, dims.d], ks = [dims.b, dims.h, dims.tk, dims.d];

  test('gradients of q, k and v, plain and causal with a custom scale', () => {
    for (const opts of [{}, { causal: true, scale: 0.3 }]) {
      const r = gradCheck(device, [{ shape: qs }, { shape: ks }, { shape: ks }],
        ([q, k, v]) => ops.attention(q, k, v, opts), ([q, k, v]) => R.attention(q, k, v, dims, opts));
      expectClose(r, 1e-5, 2e-4);
    }
  });

  test('with a [Tq, Tk] mask (no gradient for the mask)', () => {
    const mask = Int32Array.from({ length: dims.tq * dims.tk }, (_, i) => (i % 3 === 1 ? 0 : 1));
    const r = gradCheck(device, [{ shape: qs }, { shape: ks }, { shape: ks }],
      ([q, k, v]) => ops.attention(q, k, v, { mask: eg.tensor(mask, [dims.tq, dims.tk], { device }) }),
      ([q, k, v]) => R.attention(q, k, v, dims, { mask }));
    expectClose(r, 1e-5, 2e-4);
  });
});

describe.each(devices())('ops.packedAttention on %s', (device) => {
  const [b, t, h, d] = [2, 5, 3, 8];
  const c = 3 * h * d;
  // The float64 reference: qkv [b, t, 3, h, d] split into q, k, v [b, h, t, d] by index arithmetic,
  // R.attention on them, the heads merged back to [b, t, h * d].
  function reference(qkv: R.F64, opts: { causal?: boolean; mask?: Int32Array }): R.F64 {
    const part = (which: number): R.F64 => {
      const out = new Float64Array(b * h * t * d);
      for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) for (let ti = 0; ti < t; ti++) for (let di = 0; di < d; di++) {
        out[((bi * h + hi) * t + ti) * d + di] = qkv[(bi * t + ti) * c + (which * h + hi) * d + di];
      }
      return out;
    };
    const o = R.attention(part(0), part(1), part(2), { b, h, tq: t, tk: t, d }, opts);
    const merged = new Float64Array(b * t * h * d);
    for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) for (let ti = 0; ti < t; ti++) for (let di = 0; di < d; di++) {
      merged[((bi * t + ti) * h + hi) * d + di] = o[((bi * h + hi) * t + ti) * d + di];
    }
    return merged;
  }

  test('forward and the gradient of qkv, plain, causal and masked', () => {
    const mask = Int32Array.from({ length: t * t }, (_, i) => (i % 4 === 2 ? 0 : 1));
    for (const opts of [{}, { causal: true }, { mask }]) {
      const r = gradCheck(device, [{ shape: [b, t, c] }],
        ([qkv]) => ops.packedAttention(qkv, h, { causal: opts.causal, mask: opts.mask && eg.tensor(opts.mask, [t, t], { device }) }),
        ([qkv]) => reference(qkv, opts));
      expectClose(r, 1e-5, 2e-4);
    }
  });

  test('bad input names the argument; kvAppend needs noGrad', () => {
    const x = eg.tensor(new Float32Array(2 * 40), [1, 2, 40], { device });
    expect(() => ops.packedAttention(x, 2)).toThrow(/packedAttention: qkv must have shape \[B, T, 3 \* heads \* headDim\]/);
    expect(() => ops.packedAttention(x, 1.5)).toThrow(/packedAttention.*heads/);
    const y = eg.tensor(new Float32Array(2 * 48), [1, 2, 48], { device });
    expect(() => ops.packedAttention(y, 2, { kvAppend: (k, v) => ({ k, v }) })).toThrow(/noGrad/);
    x.dispose();
    y.dispose();
  });
});

describe.each(devices())('ops.gumbelSoftmax on %s', (device) => {
  const [n, v, tau] = [6, 11, 0.7];
  const opts = { tau, seed: 1234, offset: 5 };

  // The noise g is fixed by (seed, offset); tau * log(soft) - logits recovers it up to a per-row
  // constant, which softmax ignores. The reference is then softmax((logits + g) / tau).
  function noiseOf(logits: Float32Array): R.F64 {
    return eg.tidy(() => {
      const soft = ops.gumbelSoftmax(eg.tensor(logits, [n, v], { device }), opts).soft.toArray();
      return Float64Array.from(soft, (s, i) => tau * Math.log(s) - logits[i]);
    });
  }

  test('soft: the gradient against central differences with the same noise', () => {
    const l0 = f32(R.uniform(n * v, -2, 2));
    const g = noiseOf(Float32Array.from(l0));
    const r = gradCheck(device, [{ shape: [n, v], data: l0 }],
      ([l]) => ops.gumbelSoftmax(l, opts).soft,
      ([l]) => R.softmax(Float64Array.from(l, (x, i) => (x + g[i]) / tau), v));
    expectClose(r, 1e-4, 1e-3);
  });

  test('hard: one-hot of indices, gradient straight through to soft', () => {
    const l0 = Float32Array.from(R.uniform(n * v, -2, 2));
    const w = Float32Array.from(R.uniform(n * v));
    const grad = (which: 'soft' | 'hard'): Float32Array => eg.tidy(() => {
      const l = ops.param(eg.tensor(l0, [n, v], { device }));
      const r = ops.gumbelSoftmax(l, { ...opts, hard: true });
      const idx = r.indices.toArray();
      const hard = r.hard!.toArray();
      for (let i = 0; i < n; i++) for (let j = 0; j < v; j++) expect(hard[i * v + j]).toBe(j === idx[i] ? 1 : 0);
      ops.backward(r[which]!, eg.tensor(w, [n, v], { device }));
      return l.grad!.toArray() as Float32Array;
    });
    expect(R.relErr(grad('hard'), Float64Array.from(grad('soft')))).toBeLessThan(1e-6);
  });
});

describe.each(devices())('ops.biasGelu on %s', (device) => {
  // gelu(x + b) with b broadcast over the rows, odd sizes (a vector body and a scalar tail)
  const [rows, cols] = [5, 19];
  const ref = ([x, b]: R.F64[]): R.F64 => Float64Array.from(x, (v, i) => R.gelu(v + b[i % cols]));

  test('gradients of x and b against central differences of the float64 reference', () => {
    const r = gradCheck(device, [{ shape: [rows, cols] }, { shape: [cols] }], ([x, b]) => ops.biasGelu(x, b), ref);
    expectClose(r, 1e-5, 2e-4);
  });

  test('a 3-d x, and equal to linear-with-bias followed by gelu', () => {
    const r = gradCheck(device, [{ shape: [2, 3, cols] }, { shape: [cols] }], ([x, b]) => ops.biasGelu(x, b), ref);
    expectClose(r, 1e-5, 2e-4);
    eg.tidy(() => {
      const x = eg.tensor(Float32Array.from(f32(R.uniform(rows * cols))), [rows, cols], { device });
      const b = eg.tensor(Float32Array.from(f32(R.uniform(cols))), [cols], { device });
      const fused = ops.biasGelu(x, b).toArray();
      const plain = ops.gelu(ops.add(x, b)).toArray();
      fused.forEach((v, i) => expect(Math.abs(v - plain[i])).toBeLessThan(1e-6));
    });
  });
});
