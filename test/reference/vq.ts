// Float64 references for the VQ codebook kernels: brute-force nearest code, gather, per-code stats.

export interface NearestRef {
  /** [N,K] squared distances. */
  dist: Float64Array;
  /** argmin per row, ties to the lowest index. */
  best: Int32Array;
  /** max over pairs of ||x||^2 + ||c||^2: the size of a float32 score's rounding error. */
  scale: number;
}

export function nearestRef(x: ArrayLike<number>, cb: ArrayLike<number>, N: number, D: number, K: number): NearestRef {
  const dist = new Float64Array(N * K), best = new Int32Array(N);
  let scale = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let s = 0, xx = 0, cc = 0;
      for (let d = 0; d < D; d++) {
        const a = x[n * D + d], b = cb[k * D + d];
        s += (a - b) * (a - b);
        xx += a * a;
        cc += b * b;
      }
      dist[n * K + k] = s;
      scale = Math.max(scale, xx + cc);
      if (s < dist[n * K + best[n]]) best[n] = k;
    }
  }
  return { dist, best, scale };
}

export function gatherRef(cb: ArrayLike<number>, indices: ArrayLike<number>, D: number): Float64Array {
  const out = new Float64Array(indices.length * D);
  for (let i = 0; i < indices.length; i++) for (let d = 0; d < D; d++) out[i * D + d] = cb[indices[i] * D + d];
  return out;
}

export function statsRef(x: ArrayLike<number>, indices: ArrayLike<number>, D: number, K: number): { sums: Float64Array; counts: Float64Array } {
  const sums = new Float64Array(K * D), counts = new Float64Array(K);
  for (let n = 0; n < indices.length; n++) {
    const k = indices[n];
    counts[k] += 1;
    for (let d = 0; d < D; d++) sums[k * D + d] += x[n * D + d];
  }
  return { sums, counts };
}

/** max|got - ref| / max|ref| (docs/design.md section 6); 0 when both are all zero. */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0, mag = 0;
  if (got.length !== ref.length) return Infinity;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]);
    err = Math.max(err, Number.isNaN(e) ? Infinity : e);
    mag = Math.max(mag, Math.abs(ref[i]));
  }
  return mag > 0 ? err / mag : err;
}

/** Uniform random float32 values in [lo, hi), drawn afresh each run. */
export function randomArray(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random();
  return a;
}

/**
 * The error fn throws, as { name, message } (or name 'none'). Tests compare the class by name:
 * errors made by the native addon come from Node's realm, not jest's, so instanceof fails.
 */
export function thrown(fn: () => unknown): { name: string; message: string } {
  try {
    fn();
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  return { name: 'none', message: '' };
}

/** Sum of a numeric array in float64. */
export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}
