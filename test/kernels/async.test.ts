// The async forms (eg.kernels.*Async): the same numbers as the sync forms, CPU work off the JS
// thread, errors as rejected promises of the right class, inputs pinned while pending (dispose()
// of an input meanwhile is deferred: the op still reads valid data and the tensor reports disposed).
import * as eg from '../../lib';

const k = eg.kernels;
const s = eg.kernels.support;
const rand = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * Math.random());
const t = (shape: number[], lo = -1, hi = 1): eg.Tensor => eg.tensor(rand(shape.reduce((a, b) => a * b, 1), lo, hi), shape);
const boxes = (n: number): Float32Array => {
  const b = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x = Math.random(), y = Math.random();
    b.set([x, y, x + Math.random(), y + Math.random()], i * 4);
  }
  return b;
};
// Bitwise equality: both forms run the same kernel on the same inputs.
const same = (a: eg.Tensor, b: eg.Tensor): void => {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  expect(Array.from(a.toArray())).toEqual(Array.from(b.toArray()));
};

describe('async kernels equal their sync forms', () => {
  test('attention forward and backward (causal, scaled)', async () => {
    const q = t([2, 3, 17, 16]), kk = t([2, 3, 19, 16]), v = t([2, 3, 19, 16]), d = t([2, 3, 17, 16]);
    const opts = { causal: true, scale: 0.3 };
    const a = k.attention(q, kk, v, opts), b = await k.attentionAsync(q, kk, v, opts);
    same(b.out, a.out);
    same(b.lse, a.lse);
    const ga = k.attentionBackward(q, kk, v, a.out, a.lse, d, opts);
    const gb = await k.attentionBackwardAsync(q, kk, v, a.out, a.lse, d, opts);
    for (const key of ['dq', 'dk', 'dv'] as const) same(gb[key], ga[key]);
  });

  test('vq, gumbel and box families', async () => {
    const x = t([37, 8]), cb = t([67, 8]);
    const n = k.vqNearest(x, cb), na = await k.vqNearestAsync(x, cb);
    same(na.indices, n.indices);
    same(na.distances, n.distances);
    same(await k.vqGatherAsync(cb, n.indices), k.vqGather(cb, n.indices));
    const st = k.vqStats(x, n.indices, 67), sta = await k.vqStatsAsync(x, n.indices, 67);
    same(sta.sums, st.sums);
    same(sta.counts, st.counts);
    const logits = t([13, 29]);
    const opts = { tau: 0.7, seed: 123456789, offset: 5, hard: true };
    const g = k.gumbelSoftmax(logits, opts), ga = await k.gumbelSoftmaxAsync(logits, opts);
    same(ga.soft, g.soft);
    same(ga.indices, g.indices);
    same(ga.hard as eg.Tensor, g.hard as eg.Tensor);
    const dy = t([13, 29]);
    same(await k.gumbelSoftmaxBackwardAsync(dy, g.soft, 0.7), k.gumbelSoftmaxBackward(dy, g.soft, 0.7));
    const A = eg.tensor(boxes(9), [9, 4]), B = eg.tensor(boxes(5), [5, 4]);
    same(await k.boxIouAsync(A, B, { kind: 'giou' }), k.boxIou(A, B, { kind: 'giou' }));
    const pred = eg.tensor(boxes(2 * 3 * 4), [2, 3, 4, 4]), target = eg.tensor(boxes(2 * 4), [2, 4, 4]);
    const r = k.cycleReward(pred, target), ra = await k.cycleRewardAsync(pred, target);
    for (const key of ['reward', 'advantage', 'iou'] as const) same(ra[key], r[key]);
  });

  test('support ops, including the in-place ones', async () => {
    const x = t([5, 7, 12]), w = t([9, 12]), b = t([9]), gamma = t([12]), beta = t([12]);
    same(await s.linearAsync(x, w, b), s.linear(x, w, b));
    same(await s.matmulAsync(x, w, { transB: true }), s.matmul(x, w, { transB: true }));
    const ln = s.layerNorm(x, gamma, beta), lna = await s.layerNormAsync(x, gamma, beta);
    for (const key of ['y', 'mean', 'rstd'] as const) same(lna[key], ln[key]);
    same(await s.softmaxAsync(x, true), s.softmax(x, true));
    same(await s.unaryAsync(x, 'gelu'), s.unary(x, 'gelu'));
    same(await s.concatAsync([x, x], 1), s.concat([x, x], 1));
    same(await s.sliceBackwardAsync(x, 2, 3, 20), s.sliceBackward(x, 2, 3, 20));
    same(await s.permuteAsync(x, [2, 0, 1]), s.permute(x, [2, 0, 1]));
    const logits = t([6, 11]), targets = eg.tensor(Int32Array.from([1, 2, -100, 4, 10, 0]), [6], { dtype: 'i32' });
    const ce = s.crossEntropy(logits, targets), cea = await s.crossEntropyAsync(logits, targets);
    same(cea.loss, ce.loss);
    same(cea.lse, ce.lse);
    const dst1 = eg.tensor(new Float32Array(60).fill(1), [5, 12]), dst2 = eg.tensor(new Float32Array(60).fill(1), [5, 12]);
    const src = t([5, 12]);
    s.axpyInPlace(dst1, src, 0.5);
    await expect(s.axpyInPlaceAsync(dst2, src, 0.5)).resolves.toBeUndefined();
    same(dst2, dst1);
  });
});

describe('biasGelu (the worked example of docs/CONVENTIONS.md)', () => {
  const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  test('forward and backward against float64, sync and async alike', async () => {
    const R = 13, C = 37, h = 1e-6;
    const xs = rand(R * C, -4, 4), bs = rand(C), dys = rand(R * C);
    const x = eg.tensor(xs, [R, C]), b = eg.tensor(bs, [C]), dy = eg.tensor(dys, [R, C]);
    const y = s.biasGelu(x, b).toArray(), g = s.biasGeluBackward(x, b, dy);
    const dx = g.dx.toArray(), db = g.db.toArray();
    const refDb = new Float64Array(C);
    let errY = 0, errDx = 0;
    for (let r = 0; r < R; r++)
      for (let c = 0; c < C; c++) {
        const v = xs[r * C + c] + bs[c];
        const d = dys[r * C + c] * (gelu(v + h) - gelu(v - h)) / (2 * h);
        errY = Math.max(errY, Math.abs(y[r * C + c] - gelu(v)));
        errDx = Math.max(errDx, Math.abs(dx[r * C + c] - d));
        refDb[c] += d;
      }
    expect(errY).toBeLessThan(1e-5);
    expect(errDx).toBeLessThan(1e-4);
    for (let c = 0; c < C; c++) expect(db[c]).toBeCloseTo(refDb[c], 3);
    same(await s.biasGeluAsync(x, b), s.biasGelu(x, b));
    expect(() => s.biasGelu(x, eg.tensor(rand(5), [5]))).toThrow(/biasGelu: b must have shape \[37\] \(the last dim of x\), got \[5\]/);
  });
});

describe('async errors and pinning', () => {
  test('argument errors reject with the sync form\'s class and message', async () => {
    const q = t([1, 1, 4, 8]);
    await expect(k.attentionAsync(q, q, [1] as unknown as eg.Tensor)).rejects.toThrow(TypeError);
    await expect(k.attentionAsync(q, q, [1] as unknown as eg.Tensor)).rejects.toThrow(/attention: v must be a Tensor, got an array/);
    await expect(k.attentionAsync(q, q, q, { scale: -1 })).rejects.toThrow(RangeError);
    await expect(k.gumbelSoftmaxAsync(t([2, 3]), { tau: 0, seed: 1 })).rejects.toThrow(/gumbelSoftmax: options.tau must be a finite number > 0/);
  });

  test('a fault found while the kernel runs rejects and frees the outputs', async () => {
    const cb = t([5, 3]);
    const idx = eg.tensor(Int32Array.from([0, 4, 7, 1]), [2, 2], { dtype: 'i32' });
    const before = eg.memory().tensors;
    await expect(k.vqGatherAsync(cb, idx)).rejects.toThrow(RangeError);
    await expect(k.vqGatherAsync(cb, idx)).rejects.toThrow(/vqGather: indices\[1,0\] = 7 is out of range/);
    expect(eg.memory().tensors).toBeLessThanOrEqual(before);  // (earlier tests' tensors may be collected meanwhile)
  });

  test('disposing an input while the op is pending defers the free: the result is still right', async () => {
    const shape = [1, 4, 256, 32];
    const q = t(shape), kk = t(shape), v = t(shape);
    const ref = k.attention(q, kk, v);
    const pending = k.attentionAsync(q, kk, v);
    q.dispose();
    kk.dispose();
    v.dispose();
    expect(q.disposed).toBe(true);
    expect(() => k.attention(q, kk, v)).toThrow(/attention: q was disposed/);
    const r = await pending;
    same(r.out, ref.out);
    same(r.lse, ref.lse);
    await expect(k.attentionAsync(q, kk, v)).rejects.toThrow(/q was disposed/);
  });

  test('the JS thread stays free while a CPU kernel runs', async () => {
    const shape = [1, 8, 1024, 64];
    const q = t(shape);
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const start = Date.now();
    await k.attentionAsync(q, q, q);
    const ms = Date.now() - start;
    clearInterval(timer);
    // a sync call would let no timer fire until it returns; async lets them run meanwhile
    if (ms >= 20) expect(ticks).toBeGreaterThan(0);
  });
});
