// Shared helpers of the nn tests: seeded random data and module state as float64 arrays.
import * as eg from '../../lib';
import type { Params } from './reference';

const { imul } = Math;

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = imul(s ^ (s >>> 15), s | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

export function randomArray(n: number, r: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 * scale);
}

/** Replaces every parameter by random values (so LayerNorm scales, biases and gates are exercised too). */
export function randomizeModule(m: eg.nn.Module, r: () => number, scale = 0.5): void {
  const state: Record<string, eg.Tensor> = {};
  for (const [name, t] of m.namedParameters()) state[name] = eg.tensor(randomArray(t.size, r, scale), t.shape);
  m.loadStateDict(state);
  for (const t of Object.values(state)) t.dispose();
}

export function stateAsF64(m: eg.nn.Module): Params {
  return Object.fromEntries(m.namedParameters().map(([n, t]) => [n, Float64Array.from(t.toArray())]));
}
