// matmul, linear, layer norm, (log-)softmax and cross-entropy: forward against float64 references at
// odd sizes, gradients against central differences, and the errors bad shapes give.
import * as eg from '../../lib';
import * as R from '../reference/support';
import { devices, expectClose, expectThrows, gradCheck } from './gradcheck';

const { ops } = eg;

describe.each(devices())('nn ops on %s', (device) => {
  test('matmul: every transpose, batched, and either operand 2-D', () => {
    const [m, k, n] = [5, 7, 3];
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const as = ta ? [k, m] : [m, k], bs = tb ? [n, k] : [k, n];
        const cases: [number[], number[]][] = [[as, bs], [[2, 3, ...as], [2, 3, ...bs]], [[4, ...as], bs], [as, [4, ...bs]]];
        for (const [aShape, bShape] of cases) {
          const r = gradCheck(device, [{ shape: aShape }, { shape: bShape }],
            ([a, b]) => ops.matmul(a, b, { transA: ta, transB: tb }),
            ([a, b]) => R.matmul(a, aShape, b, bShape, ta, tb).out);
          expectClose(r);
        }
      }
  });

  test('matmul forward at sizes that are not multiples of any tile (37x53x29, 131x77x301)', () => {
    for (const [m, n, kk] of [[37, 53, 29], [131, 77, 301]]) {
      const a = R.uniform(m * kk), b = R.uniform(kk * n);
      const out = ops.matmul(eg.tensor(Float32Array.from(a), [m, kk], { device }), eg.tensor(Float32Array.from(b), [kk, n], { device }));
      expect(out.shape).toEqual([m, n]);
      const ref = R.matmul2d(Float64Array.from(Float32Array.from(a)), Float64Array.from(Float32Array.from(b)), m, n, kk, false, false);
      expect(R.relErr(out.toArray(), ref)).toBeLessThan(1e-5);
    }
  });

  // The CPU GEMM has three paths: small products with one depth block read in place (no packing, up to 4M
  // multiply-adds and K = 256), up to 8 rows against a transposed B as dot products (K in 8-lane steps plus a masked
  // tail), and the packed one. Sizes on both sides of each bound, partial row strips and column panels, every
  // transpose and a B shared by the batch.
  test('matmul forward on both sides of the CPU GEMM paths\' bounds, every transpose', () => {
    for (const [m, kk, n] of [[127, 256, 127], [131, 256, 131], [40, 257, 48], [7, 19, 5], [6, 16, 16], [13, 3, 33],
      [16, 130, 70], [17, 64, 70], [8, 128, 1000], [1, 300, 9]])
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          const as = ta ? [kk, m] : [m, kk], bs = tb ? [n, kk] : [kk, n];
          for (const [aShape, bShape] of [[as, bs], [[3, ...as], bs], [[2, ...as], [2, ...bs]]]) {
            const a = Float64Array.from(Float32Array.from(R.uniform(aShape.reduce((x, y) => x * y, 1))));
            const b = Float64Array.from(Float32Array.from(R.uniform(bShape.reduce((x, y) => x * y, 1))));
            const out = ops.matmul(eg.tensor(Float32Array.from(a), aShape, { device }), eg.tensor(Float32Array.from(b), bShape, { device }),
              { transA: ta, transB: tb });
            const ref = R.matmul(a, aShape, b, bShape, ta, tb);
            expect(out.shape).toEqual(ref.shape);
            expect(R.relErr(out.toArray(), ref.out)).toBeLessThan(1e-5);
          }
        }
  });

  test('linear with and without bias, 1-D and 3-D inputs', () => {
    const [inF, outF] = [6, 5];
    for (const xShape of [[inF], [3, inF], [2, 3, inF]]) {
      const rows = xShape.length === 1 ? 1 : xShape.slice(0, -1).reduce((a, b) => a * b, 1);
      expectClose(gradCheck(device, [{ shape: xShape }, { shape: [outF, inF] }, { shape: [outF] }],
        ([x, w, b]) => ops.linear(x, w, b), ([x, w, b]) => R.linear(x, rows, inF, w, outF, b)));
      expectClose(gradCheck(device, [{ shape: xShape }, { shape: [outF, inF] }],
        ([x, w]) => ops.linear(x, w), ([x, w]) => R.linear(x, rows, inF, w, outF)));
    }
  });

  test('layerNorm over the last dim (gradients of x, gamma and beta)', () => {
    const d = 13;
    for (const shape of [[d], [3, 5, d]]) {
      const r = gradCheck(device, [{ shape }, { shape: [d] }, { shape: [d] }],
        ([x, g, b]) => ops.layerNorm(x, g, b, 1e-5), ([x, g, b]) => R.layerNorm(x, d, g, b, 1e-5));
      expectClose(r, 1e-5, 2e-4);
    }
  });

  test('softmax and logSoftmax over the last dim', () => {
    const shape = [4, 3, 11];
    const x = R.uniform(132, -4, 4);
    expectClose(gradCheck(device, [{ shape, data: x }], ([t]) => ops.softmax(t), ([t]) => R.softmax(t, 11)));
    expectClose(gradCheck(device, [{ shape, data: x }], ([t]) => ops.logSoftmax(t), ([t]) => R.logSoftmax(t, 11)));
  });

  test('softmax of a row of -Infinity is 0 (log: -Infinity), never NaN', () => {
    const x = eg.tensor([-Infinity, -Infinity, 0, 1], [2, 2], { device });
    const s = ops.softmax(x).toArray();
    expect(Array.from(s.subarray(0, 2))).toEqual([0, 0]);
    expect(s[2] + s[3]).toBeCloseTo(1, 6);
    expect(Array.from(ops.logSoftmax(x).toArray().subarray(0, 2))).toEqual([-Infinity, -Infinity]);
  });

  test('crossEntropy: mean over non-ignored rows, sum and none, with ignored rows', () => {
    const [n, v] = [9, 17];
    const targets = R.randomInts(n, 0, v);
    targets[2] = -100;
    targets[7] = -100;
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const r = gradCheck(device, [{ shape: [n, v], data: R.uniform(n * v, -3, 3) }],
        ([l]) => ops.crossEntropy(l, eg.tensor(targets, [n], { device }), { reduction }),
        ([l]) => R.crossEntropy(l, v, targets, -100, reduction));
      expectClose(r);
    }
    // a custom ignore index and a 3-D logits tensor
    const t3 = R.randomInts(6, 0, v);
    t3[0] = 3;
    const r3 = gradCheck(device, [{ shape: [2, 3, v] }],
      ([l]) => ops.crossEntropy(l, eg.tensor(t3, [2, 3], { device }), { ignoreIndex: 3 }),
      ([l]) => R.crossEntropy(l, v, t3, 3, 'mean'));
    expectClose(r3);
  });

  test('crossEntropy with every row ignored is 0 with zero gradients', () => {
    const l = ops.param(eg.tensor(Float32Array.from(R.uniform(8)), [2, 4], { device }));
    const loss = ops.crossEntropy(l, eg.tensor([-100, -100], [2], { dtype: 'i32', device }));
    expect(loss.item()).toBe(0);
    loss.backward();
    expect(Array.from(l.grad!.toArray())).toEqual(new Array(8).fill(0));
  });
});

describe('nn op errors', () => {
  const t = (shape: number[]): eg.Tensor => eg.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  test('matmul', () => {
    expectThrows(() => ops.matmul(t([2, 3]), t([4, 5])), 'RangeError', /^matmul: the inner dimensions differ: op\(a\) is \[2,3\]/);
    expectThrows(() => ops.matmul(t([2, 2, 3]), t([3, 3, 4])), 'RangeError', /^matmul: the batch dimensions of a \[2,2,3\] and b \[3,3,4\] differ/);
    expectThrows(() => ops.matmul(t([3]), t([3, 4])), 'RangeError', /^matmul: a must have at least 2 dimensions/);
    expectThrows(() => ops.matmul(t([2, 3]), eg.tensor([1, 2, 3], [3, 1], { dtype: 'i32' })), 'TypeError', /^matmul: b must be f32/);
  });
  test('linear', () => {
    expectThrows(() => ops.linear(t([2, 3]), t([4, 5])), 'RangeError', /^linear: w must have shape \[out, 3\]/);
    expectThrows(() => ops.linear(t([2, 3]), t([4, 3]), t([5])), 'RangeError', /^linear: b must have shape \[4\]/);
  });
  test('layerNorm', () => {
    expectThrows(() => ops.layerNorm(t([2, 3]), t([4]), t([3])), 'RangeError', /^layerNorm: gamma must have shape \[3\]/);
    expectThrows(() => ops.layerNorm(t([2, 3]), t([3]), t([3]), -1), 'RangeError', /^layerNorm: eps must be >= 0/);
  });
  test('crossEntropy', () => {
    const ids = (a: number[]): eg.Tensor => eg.tensor(a, [a.length], { dtype: 'i32' });
    expectThrows(() => ops.crossEntropy(t([2, 4]), ids([0, 4])), 'RangeError', /^crossEntropy: targets holds 4 at flat index 1, outside \[0, 4\)/);
    expectThrows(() => ops.crossEntropy(t([2, 4]), ids([0])), 'RangeError', /^crossEntropy: targets must have shape \[2\]/);
    expectThrows(() => ops.crossEntropy(t([2, 4]), t([2])), 'TypeError', /^crossEntropy: targets must be i32/);
    expectThrows(() => ops.crossEntropy(t([2, 4]), ids([0, 1]), { reduction: 'avg' as 'mean' }), 'TypeError', /^crossEntropy: options.reduction/);
  });
});
