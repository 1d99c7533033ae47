// The tape: accumulation, noGrad, retainGraph, freeing of intermediates, seeds, and a composite
// graph (a residual MLP block with layer norm and cross-entropy) checked end to end in float64.
import * as eg from '../../lib';
import * as R from '../reference/support';
import { expectClose, expectThrows, f32, gradCheck } from './gradcheck';

const { ops } = eg;
const vec = (a: number[], shape = [a.length]): eg.Tensor => eg.tensor(a, shape);

describe('tape', () => {
  test('gradients accumulate over backward passes until zeroGrad', () => {
    const x = ops.param(vec([1, -2, 3]));
    ops.sum(ops.mul(x, x)).backward();
    expect(Array.from(x.grad!.toArray())).toEqual([2, -4, 6]);
    ops.backward(ops.sum(ops.scale(x, 3)));
    expect(Array.from(x.grad!.toArray())).toEqual([5, -1, 9]);
    ops.zeroGrad([x]);
    expect(x.grad).toBeNull();
  });

  test('a diamond graph sums the contributions of every path', () => {
    // z = sum(y + y*y) with y = 2x: dz/dx = 2 (1 + 2y) = 2 + 8x
    const x = ops.param(vec([0.5, -1.5]));
    const y = ops.scale(x, 2);
    ops.sum(ops.add(y, ops.mul(y, y))).backward();
    expect(Array.from(x.grad!.toArray())).toEqual([6, -10]);
  });

  test('noGrad records nothing and restores the mode, even on a throw', () => {
    const x = ops.param(vec([1, 2]));
    const y = ops.noGrad(() => {
      expect(ops.isGradEnabled()).toBe(false);
      return ops.exp(x);
    });
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => ops.noGrad(() => { throw new Error('inside'); })).toThrow('inside');
    expect(ops.isGradEnabled()).toBe(true);
    expectThrows(() => ops.backward(y), 'Error', /^backward: loss does not require grad/);
  });

  test('inputs that do not require grad record nothing', () => {
    const y = ops.exp(vec([1, 2]));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
  });

  test('detach stops the gradient', () => {
    const x = ops.param(vec([1, 2]));
    const loss = ops.sum(ops.mul(x, ops.detach(ops.scale(x, 3))));
    loss.backward();
    expect(Array.from(x.grad!.toArray())).toEqual([3, 6]);
  });

  test('the seed: default 1 for one element, required and checked otherwise; the caller\'s seed is left alone', () => {
    const x = ops.param(vec([1, 2, 3]));
    const y = ops.scale(x, 2);
    expectThrows(() => y.backward(), 'RangeError', /^backward: grad must be given for a tensor of 3 elements/);
    expectThrows(() => y.backward(vec([1, 2])), 'RangeError', /^backward: grad must have the loss's shape \[3\]/);
    const seed = vec([1, 10, 100]);
    const v = ops.reshape(x, [3]);
    v.backward(seed, { retainGraph: true });
    v.backward(seed);
    expect(Array.from(x.grad!.toArray())).toEqual([2, 20, 200]);
    expect(Array.from(seed.toArray())).toEqual([1, 10, 100]);
  });

  test('backward frees intermediates and saved buffers; a second pass needs retainGraph', () => {
    const x = ops.param(vec([0.1, 0.2, 0.3, 0.4], [2, 2]));
    const g = ops.param(vec([1, 1]));
    const b = ops.param(vec([0, 0]));
    const before = eg.memory().tensors;
    const h = ops.layerNorm(x, g, b);
    const loss = ops.sum(ops.tanh(h));
    loss.backward();
    expect(h.disposed).toBe(true);
    expect(loss.disposed).toBe(false);
    // only the loss and the three new .grad tensors remain
    expect(eg.memory().tensors - before).toBe(4);
    expectThrows(() => loss.backward(), 'Error', /already freed by an earlier backward\(\); pass \{ retainGraph: true \}/);

    const h2 = ops.layerNorm(x, g, b);
    const loss2 = ops.sum(ops.tanh(h2));
    ops.zeroGrad([x, g, b]);
    loss2.backward(undefined, { retainGraph: true });
    const once = Array.from(x.grad!.toArray());
    loss2.backward();
    Array.from(x.grad!.toArray()).forEach((v, i) => expect(v).toBeCloseTo(2 * once[i], 6));
  });

  test('backward inside tidy keeps the leaves\' grads and frees everything else', () => {
    const w = ops.param(vec([1, 2, 3]));
    const before = eg.memory().tensors;
    eg.tidy(() => {
      ops.sum(ops.gelu(ops.mul(w, vec([0.5, 0.5, 0.5])))).backward();
    });
    expect(w.grad).not.toBeNull();
    expect(w.grad!.disposed).toBe(false);
    expect(eg.memory().tensors - before).toBe(1);
  });
});

// A residual block: h = x + W2 gelu(W1 layerNorm(x) + b1) + b2; loss = crossEntropy(h Wo^T, t).
describe('a composite graph', () => {
  test('gradients of every parameter of a residual MLP block with cross-entropy', () => {
    const [n, d, hid, v] = [5, 6, 9, 7];
    const targets = R.randomInts(n, 0, v);
    targets[1] = -100;
    const ref = ([x, gamma, beta, w1, b1, w2, b2, wo]: R.F64[]): R.F64 => {
      const ln = R.layerNorm(x, d, gamma, beta, 1e-5);
      const a = R.map(R.linear(ln, n, d, w1, hid, b1), R.gelu);
      const h = R.binary(x, R.linear(a, n, hid, w2, d, b2), (p, q) => p + q);
      return R.crossEntropy(R.linear(h, n, d, wo, v), v, targets, -100, 'mean');
    };
    const shapes = [[n, d], [d], [d], [hid, d], [hid], [d, hid], [d], [v, d]];
    const r = gradCheck('cpu', shapes.map((shape) => ({ shape, data: f32(R.uniform(shape.reduce((p, q) => p * q, 1))) })),
      ([x, gamma, beta, w1, b1, w2, b2, wo]) => {
        const ln = ops.layerNorm(x, gamma, beta);
        const a = ops.gelu(ops.linear(ln, w1, b1));
        const h = ops.add(x, ops.linear(a, w2, b2));
        return ops.crossEntropy(ops.linear(h, wo), eg.tensor(targets, [n]));
      }, ref);
    expect(r.grads.length).toBe(8);
    expectClose(r, 1e-5, 2e-4);
  });
});
