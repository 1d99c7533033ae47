// Typed wrappers of the VQ codebook kernels: nearest code, gather, per-code statistics.
import { nativeFunction, NativeTensor } from '../native';
import { Tensor } from '../tensor';

export interface VqNearestResult {
  /** i32 [N]: the nearest code of each row (ties go to the lowest index). */
  indices: Tensor;
  /** f32 [N]: the squared Euclidean distance to that code. */
  distances: Tensor;
}

export interface VqStatsResult {
  /** f32 [K,D]: the sum of the rows of x assigned to each code. */
  sums: Tensor;
  /** f32 [K]: how many rows each code received. */
  counts: Tensor;
}

type NearestFn = (x: NativeTensor, codebook: NativeTensor) => { indices: NativeTensor; distances: NativeTensor };
type GatherFn = (codebook: NativeTensor, indices: NativeTensor) => NativeTensor;
type StatsFn = (x: NativeTensor, indices: NativeTensor, K: number) => { sums: NativeTensor; counts: NativeTensor };

/** The native handle of a Tensor argument, or a TypeError naming it. */
function tensorHandle(t: unknown, fn: string, name: string): NativeTensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  return t.handle;
}

/**
 * For each row of x [N,D], the nearest row of codebook [K,D] in squared Euclidean distance,
 * found by a fused kernel (||c||^2 - 2 x.c over codebook tiles with a running argmin; the N x K
 * distance matrix is never stored). The reported distance is recomputed as ||x - c||^2.
 */
export function vqNearest(x: Tensor, codebook: Tensor): VqNearestResult {
  const fn = nativeFunction<NearestFn>('vqNearest');
  const r = fn(tensorHandle(x, 'vqNearest', 'x'), tensorHandle(codebook, 'vqNearest', 'codebook'));
  return { indices: new Tensor(r.indices), distances: new Tensor(r.distances) };
}

/**
 * codebook [K,D] rows picked by i32 indices of any shape S: the result is [...S, D]. An index
 * outside [0,K) is a RangeError naming its value and position (checked on the device for CUDA).
 */
export function vqGather(codebook: Tensor, indices: Tensor): Tensor {
  const fn = nativeFunction<GatherFn>('vqGather');
  return new Tensor(fn(tensorHandle(codebook, 'vqGather', 'codebook'), tensorHandle(indices, 'vqGather', 'indices')));
}

/** Per-code sums and counts of x [N,D] under the assignment indices [N] (for k-means / EMA updates). */
export function vqStats(x: Tensor, indices: Tensor, K: number): VqStatsResult {
  const fn = nativeFunction<StatsFn>('vqStats');
  const r = fn(tensorHandle(x, 'vqStats', 'x'), tensorHandle(indices, 'vqStats', 'indices'), K);
  return { sums: new Tensor(r.sums), counts: new Tensor(r.counts) };
}
