// Layout ops and row gathers: forward against float64 references, gradients against central
// differences, and the errors bad arguments give.
import * as eg from '../../lib';
import * as R from '../reference/support';
import { devices, expectClose, expectThrows, gradCheck } from './gradcheck';

const { ops } = eg;

describe.each(devices())('layout ops on %s', (device) => {
  test('reshape (with -1) is a view whose gradient has the input shape', () => {
    expectClose(gradCheck(device, [{ shape: [3, 10] }], ([x]) => ops.reshape(x, [5, -1, 2]), ([x]) => x));
  });

  test('permute and transpose', () => {
    const shape = [2, 3, 5, 4];
    for (const dims of [[0, 2, 1, 3], [3, 2, 1, 0], [1, 3, 0, 2], [0, 1, 2, 3]])
      expectClose(gradCheck(device, [{ shape }], ([x]) => ops.permute(x, dims), ([x]) => R.permute(x, shape, dims)));
    expectClose(gradCheck(device, [{ shape }], ([x]) => ops.transpose(x, -1, 1), ([x]) => R.permute(x, shape, [0, 3, 2, 1])));
  });

  test('concat and slice along every axis', () => {
    const a = [2, 3, 4], b = [2, 3, 4];
    for (let axis = 0; axis < 3; axis++) {
      const bs = [...b];
      bs[axis] = 5;
      expectClose(gradCheck(device, [{ shape: a }, { shape: bs }, { shape: a }],
        (xs) => ops.concat(xs, axis), (xs) => R.concat(xs, [a, bs, a], axis)));
      const end = a[axis], start = 1;
      expectClose(gradCheck(device, [{ shape: a }], ([x]) => ops.slice(x, axis, start, end), ([x]) => R.slice(x, a, axis, start, end)));
    }
    // a negative axis counts from the end
    expectClose(gradCheck(device, [{ shape: a }], ([x]) => ops.slice(x, -1, 0, 2), ([x]) => R.slice(x, a, 2, 0, 2)));
  });

  test('concat of inputs where only some require grad', () => {
    const r = gradCheck(device, [{ shape: [2, 3] }, { shape: [2, 2], grad: false }], (xs) => ops.concat(xs, 1), (xs) => R.concat(xs, [[2, 3], [2, 2]], 1));
    expectClose(r);
    expect(r.grads.length).toBe(1);
  });

  test('embedding with repeated ids (scatter-add) and gatherRows', () => {
    const [v, d] = [7, 5];
    const ids = Int32Array.from([3, 0, 3, 6, 3, 1, 0]);
    expectClose(gradCheck(device, [{ shape: [v, d] }], ([t]) => ops.embedding(t, eg.tensor(ids, [7], { device })), ([t]) => R.gatherRows(t, d, ids)));
    const ids2 = R.randomInts(12, 0, v);
    expectClose(gradCheck(device, [{ shape: [v, d] }], ([t]) => ops.embedding(t, eg.tensor(ids2, [3, 4], { device })), ([t]) => R.gatherRows(t, d, ids2)));
    expectClose(gradCheck(device, [{ shape: [v, d] }], ([t]) => ops.gatherRows(t, eg.tensor(ids, [7], { device })), ([t]) => R.gatherRows(t, d, ids)));
  });

  test('embedding output shape is ids shape plus D', () => {
    const t = eg.tensor(new Float32Array(12), [4, 3], { device });
    expect(ops.embedding(t, eg.tensor([0, 1, 2, 3, 0, 1], [2, 1, 3], { dtype: 'i32', device })).shape).toEqual([2, 1, 3, 3]);
  });
});

describe('layout op errors', () => {
  const x = eg.tensor(new Float32Array(24), [2, 3, 4]);
  const ids = (a: number[]): eg.Tensor => eg.tensor(a, [a.length], { dtype: 'i32' });
  test('reshape', () => {
    expectThrows(() => ops.reshape(x, [5, -1]), 'RangeError', /^reshape: cannot view x \[2,3,4\]/);
    expectThrows(() => ops.reshape(x, [5, 5]), 'RangeError', /cannot view/);
  });
  test('permute', () => {
    expectThrows(() => ops.permute(x, [0, 0, 1]), 'RangeError', /^permute: dims must be a permutation of 0..2/);
    expectThrows(() => ops.permute(x, [0, 1]), 'RangeError', /^permute: dims must list each of the 3 dims/);
  });
  test('concat and slice', () => {
    expectThrows(() => ops.concat([x, eg.tensor(new Float32Array(6), [2, 3])], 0), 'RangeError', /^concat: xs\[1\] has shape \[2,3\]/);
    expectThrows(() => ops.concat([], 0), 'RangeError', /^concat: xs must hold at least one Tensor/);
    expectThrows(() => ops.slice(x, 3, 0, 1), 'RangeError', /^slice: axis must be an integer in \[-3, 2\]/);
    expectThrows(() => ops.slice(x, 1, 2, 1), 'RangeError', /^slice: end must be an integer in \[2, 3\]/);
  });
  test('embedding and gatherRows ids out of range', () => {
    const table = eg.tensor(new Float32Array(12), [4, 3]);
    expectThrows(() => ops.embedding(table, ids([0, 4])), 'RangeError', /^embedding: ids holds 4 at flat index 1, outside \[0, 4\)/);
    expectThrows(() => ops.embedding(table, ids([-1])), 'RangeError', /^embedding: ids holds -1/);
    expectThrows(() => ops.gatherRows(table, ids([9])), 'RangeError', /^gatherRows: idx holds 9 at flat index 0, outside \[0, 4\)/);
    expectThrows(() => ops.embedding(table, eg.tensor([0], [1])), 'TypeError', /^embedding: ids must be i32/);
    expectThrows(() => ops.gatherRows(x, ids([0])), 'RangeError', /^gatherRows: x must have 2 dimensions/);
  });
});
