// Deterministic parameter initialisation: a seeded PRNG so that the same config and seed give the
// same weights on every machine (one-time work, so plain JS loops are fine here).
import { Tensor, tensor } from '../tensor';

// Module-level copies: inside a vm context (jest) every global lookup such as `Math` goes through
// an interceptor, which makes per-element Math calls ~20x slower there.
const { imul, sqrt, log, cos, PI } = Math;

/** mulberry32: a small, fast 32-bit PRNG; good enough for weight init, not for sampling. */
export class InitRng {
  private state: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`InitRng: seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal by Box-Muller (1 - u keeps log away from 0). */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }
  /** A child generator, so that modules built in sequence do not share a stream. */
  fork(): InitRng { return new InitRng(Math.floor(this.uniform() * 4294967296)); }
}

export function normalTensor(shape: number[], std: number, rng: InitRng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tensor(data, shape);
}

export function constantTensor(shape: number[], value: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(new Float32Array(n).fill(value), shape);
}
