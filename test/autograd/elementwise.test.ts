// Elementwise ops and reductions: forward against float64 references at odd sizes and analytic
// gradients against central differences of the references.
import * as eg from '../../lib';
import * as R from '../reference/support';
import { devices, expectClose, expectThrows, gradCheck } from './gradcheck';

const { ops } = eg;

describe.each(devices())('elementwise ops on %s', (device) => {
  const shape = [3, 5, 7];

  test('add, sub and mul with equal shapes and a broadcast suffix', () => {
    for (const bShape of [[3, 5, 7], [5, 7], [7], []]) {
      expectClose(gradCheck(device, [{ shape }, { shape: bShape }], ([a, b]) => ops.add(a, b), ([a, b]) => R.binary(a, b, (u, v) => u + v)));
      expectClose(gradCheck(device, [{ shape }, { shape: bShape }], ([a, b]) => ops.sub(a, b), ([a, b]) => R.binary(a, b, (u, v) => u - v)));
      expectClose(gradCheck(device, [{ shape }, { shape: bShape }], ([a, b]) => ops.mul(a, b), ([a, b]) => R.binary(a, b, (u, v) => u * v)));
    }
  });

  test('an input used twice gets both contributions (x * x)', () => {
    expectClose(gradCheck(device, [{ shape: [13] }], ([x]) => ops.mul(x, x), ([x]) => R.map(x, (v) => v * v)));
  });

  test('scale, addScalar, neg', () => {
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.scale(x, -2.5), ([x]) => R.map(x, (v) => -2.5 * v)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.addScalar(x, 0.75), ([x]) => R.map(x, (v) => v + 0.75)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.neg(x), ([x]) => R.map(x, (v) => -v)));
  });

  test('exp, log, tanh, sigmoid, gelu, relu', () => {
    const pos = R.uniform(105, 0.2, 3);
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.exp(x), ([x]) => R.map(x, Math.exp)));
    expectClose(gradCheck(device, [{ shape, data: pos }], ([x]) => ops.log(x), ([x]) => R.map(x, Math.log)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.tanh(x), ([x]) => R.map(x, Math.tanh)));
    const wide = R.uniform(105, -6, 6);
    expectClose(gradCheck(device, [{ shape, data: wide }], ([x]) => ops.sigmoid(x), ([x]) => R.map(x, R.sigmoid)));
    expectClose(gradCheck(device, [{ shape, data: R.uniform(105, -4, 4) }], ([x]) => ops.gelu(x), ([x]) => R.map(x, R.gelu)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.relu(x), ([x]) => R.map(x, (v) => Math.max(v, 0))));
  });

  test('sigmoid and exp stay finite far from 0', () => {
    const x = eg.tensor([-100, -30, 0, 30, 100], [5], { device });
    const s = ops.sigmoid(x).toArray();
    const want = [-100, -30, 0, 30, 100].map(R.sigmoid);
    s.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-7 * Math.max(want[i], 1e-30)));
    expect(Array.from(ops.exp(x).toArray()).every((v) => v >= 0)).toBe(true);
  });

  test('sum, mean, sumLastDim, meanLastDim', () => {
    const n = 3 * 5 * 7;
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.sum(x), ([x]) => Float64Array.of(x.reduce((a, b) => a + b, 0))));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.mean(x), ([x]) => Float64Array.of(x.reduce((a, b) => a + b, 0) / n)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.sumLastDim(x), ([x]) => R.sumLastDim(x, 7)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.meanLastDim(x), ([x]) => R.sumLastDim(x, 7, 1 / 7)));
  });

  test('a long sum (several reduction chunks) against float64', () => {
    const x = R.uniform(100003);
    const t = eg.tensor(Float32Array.from(x), [100003], { device });
    const want = Float32Array.from(x).reduce((a, b) => a + b, 0);
    expect(Math.abs(ops.sum(t).item() - want)).toBeLessThan(1e-6 * 100003 ** 0.5 * 10);
    const rows = eg.tensor(Float32Array.from(x.subarray(0, 100000)), [40, 2500], { device });
    expect(R.relErr(ops.sumLastDim(rows).toArray(), R.sumLastDim(Float64Array.from(Float32Array.from(x.subarray(0, 100000))), 2500))).toBeLessThan(1e-6);
  });
});

describe('elementwise errors', () => {
  const a = eg.tensor(new Float32Array(6), [2, 3]);
  test('a b that is not a suffix of a is a RangeError naming the op', () => {
    expectThrows(() => ops.add(a, eg.tensor(new Float32Array(2), [2])), 'RangeError', /^add: b \[2\]/);
    expectThrows(() => ops.mul(a, eg.tensor(new Float32Array(6), [3, 2])), 'RangeError', /^mul: b \[3,2\] must have the shape of a \[2,3\]/);
  });
  test('non-tensors and i32 tensors are TypeErrors naming the op', () => {
    expectThrows(() => ops.exp([1, 2] as unknown as eg.Tensor), 'TypeError', /^exp: x must be a Tensor, got an array/);
    expectThrows(() => ops.tanh(eg.tensor([1, 2], [2], { dtype: 'i32' })), 'TypeError', /^tanh: x must be f32, got i32/);
    expectThrows(() => ops.scale(a, 'x' as unknown as number), 'TypeError', /^scale: s must be a number/);
    expectThrows(() => ops.sum(null as unknown as eg.Tensor), 'TypeError', /^sum: x must be a Tensor, got null/);
  });
});
