// AdamW against a float64 reference over several steps (several tensors of odd sizes in one fused
// call), checkpoint round trips, gradient clipping and the schedules' closed forms.
import * as eg from '../../lib';
import * as optim from '../../lib/optim';
import * as kern from '../../lib/kernels/support';
import * as R from '../reference/support';
import { devices, expectThrows } from '../autograd/gradcheck';

const { ops } = eg;

describe.each(devices())('AdamW on %s', (device) => {
  const sizes = [[7], [3, 5], [1], [33, 17], [40000]];
  const h = { lr: 0.01, b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.1 };

  test('matches a float64 AdamW over 6 steps with fresh gradients each step', () => {
    const p64 = sizes.map((s) => R.uniform(R.numel(s)));
    const params = sizes.map((s, i) => ops.param(eg.tensor(Float32Array.from(p64[i]), s, { device })));
    const m64 = sizes.map((s) => new Float64Array(R.numel(s))), v64 = sizes.map((s) => new Float64Array(R.numel(s)));
    const opt = new optim.AdamW(params, { lr: h.lr, betas: [h.b1, h.b2], eps: h.eps, weightDecay: h.wd });
    for (let t = 1; t <= 6; t++) {
      opt.zeroGrad();
      const g32 = sizes.map((s) => Float32Array.from(R.uniform(R.numel(s), -2, 2)));
      params.forEach((p, i) => { p.grad = eg.keep(eg.tensor(g32[i], sizes[i], { device })); });
      opt.step();
      p64.forEach((p, i) => R.adamwStep(p, Float64Array.from(g32[i]), m64[i], v64[i], t, h));
    }
    params.forEach((p, i) => expect(R.relErr(p.toArray(), p64[i])).toBeLessThan(2e-6));
  });

  test('a parameter without a gradient is left alone and keeps its own step count', () => {
    const a = ops.param(eg.tensor([1, 2], [2], { device })), b = ops.param(eg.tensor([3], [1], { device }));
    const opt = new optim.AdamW([a, b], { lr: 0.1, weightDecay: 0 });
    a.grad = eg.keep(eg.tensor([1, -1], [2], { device }));
    opt.step();
    expect(Array.from(b.toArray())).toEqual([3]);
    // the first Adam step moves each coordinate by lr * sign(g) (up to eps)
    const got = Array.from(a.toArray());
    expect(got[0]).toBeCloseTo(0.9, 6);
    expect(got[1]).toBeCloseTo(2.1, 6);
    b.grad = eg.keep(eg.tensor([2], [1], { device }));
    opt.step();
    expect(b.toArray()[0]).toBeCloseTo(2.9, 6);
    expect(opt.stateDict().steps).toEqual([2, 1]);
  });

  test('stateDict / loadStateDict: a restored optimiser continues exactly like the original', () => {
    const init = Float32Array.from(R.uniform(50));
    const grads = [0, 1, 2, 3, 4].map(() => Float32Array.from(R.uniform(50)));
    const run = (p: eg.Tensor, opt: optim.AdamW, from: number, to: number): void => {
      for (let t = from; t < to; t++) {
        p.grad?.dispose();
        p.grad = eg.keep(eg.tensor(grads[t], [50], { device }));
        opt.step();
      }
    };
    const p1 = ops.param(eg.tensor(init, [50], { device }));
    const o1 = new optim.AdamW([p1], { lr: 0.05 });
    run(p1, o1, 0, 3);
    const state = o1.stateDict();
    const p2 = ops.param(p1.clone());
    const o2 = new optim.AdamW([p2], { lr: 1 });
    o2.loadStateDict(state);
    Object.values(state.tensors).forEach((t) => t.dispose());
    expect(o2.lr).toBe(0.05);
    run(p1, o1, 3, 5);
    run(p2, o2, 3, 5);
    expect(Array.from(p2.toArray())).toEqual(Array.from(p1.toArray()));
  });

  test('clipGradNorm scales by maxNorm / norm and returns the norm before clipping', () => {
    const a = ops.param(eg.tensor([3, 0], [2], { device })), b = ops.param(eg.tensor([4], [1], { device }));
    a.grad = eg.keep(eg.tensor([3, 0], [2], { device }));
    b.grad = eg.keep(eg.tensor([4], [1], { device }));
    expect(optim.clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    expect(a.grad.toArray()[0]).toBeCloseTo(0.6, 5);
    expect(b.grad!.toArray()[0]).toBeCloseTo(0.8, 5);
    // under the limit: untouched
    expect(optim.clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(b.grad!.toArray()[0]).toBeCloseTo(0.8, 5);
    const big = R.uniform(5000);
    const c = ops.param(eg.tensor(new Float32Array(5000), [5000], { device }));
    c.grad = eg.keep(eg.tensor(Float32Array.from(big), [5000], { device }));
    expect(optim.clipGradNorm([c], 1e-3)).toBeCloseTo(Math.sqrt(R.dot(R.f32Of(big), R.f32Of(big))), 3);
  });
});

describe('schedules', () => {
  test('cosineWithWarmup: linear warm-up, half cosine, then min', () => {
    const o = { warmup: 4, total: 14, base: 1e-3, min: 1e-5 };
    expect(optim.cosineWithWarmup(0, o)).toBeCloseTo(2.5e-4, 12);
    expect(optim.cosineWithWarmup(3, o)).toBeCloseTo(1e-3, 12);
    expect(optim.cosineWithWarmup(4, o)).toBeCloseTo(1e-3, 12);
    expect(optim.cosineWithWarmup(9, o)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) * 0.5, 12);
    expect(optim.cosineWithWarmup(14, o)).toBeCloseTo(1e-5, 12);
    expect(optim.cosineWithWarmup(100, o)).toBeCloseTo(1e-5, 12);
  });
  test('exponential decay after warm-up, floored at min', () => {
    expect(optim.exponential(0, { base: 1, gamma: 0.5 })).toBe(1);
    expect(optim.exponential(3, { base: 1, gamma: 0.5 })).toBe(0.125);
    expect(optim.exponential(1, { base: 2, gamma: 0.5, warmup: 4 })).toBe(1);
    expect(optim.exponential(10, { base: 1, gamma: 0.5, min: 0.01 })).toBe(0.01);
  });
});

describe('optim errors', () => {
  const p = ops.param(eg.tensor([1], [1]));
  test('bad hyper-parameters and arguments', () => {
    expectThrows(() => new optim.AdamW([p], { lr: -1 }), 'RangeError', /^AdamW: lr must be >= 0/);
    expectThrows(() => new optim.AdamW([p], { lr: 1, betas: [0.9, 1] }), 'RangeError', /^AdamW: betas must lie in \[0, 1\)/);
    expectThrows(() => new optim.AdamW([p, p], { lr: 1 }), 'RangeError', /^AdamW: params lists a tensor twice/);
    expectThrows(() => new optim.AdamW([p], { lr: 'x' as unknown as number }), 'TypeError', /^AdamW: lr must be a finite number/);
    expectThrows(() => optim.clipGradNorm([p], 0), 'RangeError', /^clipGradNorm: maxNorm must be a number > 0/);
    expectThrows(() => optim.cosineWithWarmup(-1, { warmup: 1, total: 2, base: 1 }), 'RangeError', /^cosineWithWarmup: step must be an integer >= 0/);
    expectThrows(() => optim.cosineWithWarmup(0, { warmup: 5, total: 2, base: 1 }), 'RangeError', /^cosineWithWarmup: total must be an integer >= warmup/);
    const opt = new optim.AdamW([p], { lr: 1 });
    expectThrows(() => opt.loadStateDict({ hyper: opt.stateDict().hyper, steps: [1, 2], tensors: {} }), 'RangeError', /^AdamW.loadStateDict: the state covers 2 parameters/);
  });
  test('the native kernel checks shapes of the moments', () => {
    const a = eg.tensor([1, 2], [2]);
    expectThrows(() => kern.adamwStep([a], [eg.tensor([1], [1])], [eg.tensor([0, 0], [2])], [eg.tensor([0, 0], [2])], { lr: 1, step: 1 }),
      'RangeError', /^adamw: grads\[0\] must have shape \[2\] \(the shape of params\[0\]\)/);
    expectThrows(() => kern.adamwStep([a], [a], [a], [a], { lr: 1, step: 0 }), 'RangeError', /^adamw: options.step must be an integer >= 1/);
  });
});
