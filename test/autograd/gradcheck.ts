// Gradient checking for the autograd tests: an op's f32 forward against a float64 reference, and its
// analytic gradient (backward with a random seed w) against central differences of the float64
// reference of sum(w * op(x)).
import * as eg from '../../lib';
import { Device, Tensor } from '../../lib';
import { F64, dot, numericGrad, relErr, uniform } from '../reference/support';

export interface CheckInput {
  shape: number[];
  /** Defaults to uniform in [-1, 1). */
  data?: F64;
  /** false: a constant (no gradient checked). */
  grad?: boolean;
}

export interface CheckResult {
  forward: number;
  grads: number[];
}

/** Rounds to float32, so the reference sees exactly the values the kernel sees. */
export const f32 = (x: F64): F64 => Float64Array.from(Float32Array.from(x));

export function gradCheck(device: Device, inputs: CheckInput[], run: (ts: Tensor[]) => Tensor, ref: (xs: F64[]) => F64): CheckResult {
  const xs = inputs.map((inp) => f32(inp.data ?? uniform(inp.shape.reduce((a, b) => a * b, 1))));
  return eg.tidy(() => {
    const ts = inputs.map((inp, i) => {
      const t = eg.tensor(Float32Array.from(xs[i]), inp.shape, { device });
      return inp.grad === false ? t : eg.ops.param(t);
    });
    const out = run(ts);
    const want = ref(xs);
    const forward = relErr(out.toArray(), want);
    const w = f32(uniform(want.length));
    eg.ops.backward(out, eg.tensor(Float32Array.from(w), out.shape, { device }));
    const grads: number[] = [];
    inputs.forEach((inp, i) => {
      if (inp.grad === false) return;
      const numeric = numericGrad(() => dot(w, ref(xs)), xs[i]);
      const g = ts[i].grad;
      grads.push(g ? relErr(g.toArray(), numeric) : Infinity);
    });
    return { forward, grads };
  });
}

/** Expects a forward error below fwdTol and every gradient error below gradTol. */
export function expectClose(r: CheckResult, fwdTol = 1e-5, gradTol = 1e-4): void {
  expect(r.forward).toBeLessThan(fwdTol);
  for (const e of r.grads) expect(e).toBeLessThan(gradTol);
}

/** The devices to test on: cpu, and cuda when this build and machine have it. */
export const devices = (): Device[] => eg.backends();

/**
 * Expects fn to throw an error of the given class name whose message matches msg. By name, not
 * instanceof: errors thrown by the native addon come from Node's realm, not jest's sandbox.
 */
export function expectThrows(fn: () => unknown, name: 'TypeError' | 'RangeError' | 'Error', msg?: RegExp): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).not.toBeNull();
  expect((err as Error).name).toBe(name);
  if (msg) expect((err as Error).message).toMatch(msg);
}
