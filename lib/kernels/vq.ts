// Typed wrappers of the VQ codebook kernels: nearest code, gather, per-code statistics.
import { Tensor } from '../tensor';
import { kernelOp } from './op';

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

/**
 * For each row of x [N,D], the nearest row of codebook [K,D] in squared Euclidean distance,
 * found by a fused kernel (||c||^2 - 2 x.c over codebook tiles with a running argmin; the N x K
 * distance matrix is never stored). The reported distance is recomputed as ||x - c||^2.
 */
export const { sync: vqNearest, async: vqNearestAsync } =
  kernelOp<[x: Tensor, codebook: Tensor], VqNearestResult>('vqNearest');

/**
 * codebook [K,D] rows picked by i32 indices of any shape S: the result is [...S, D]. An index
 * outside [0,K) is a RangeError naming its value and position (checked on the device for CUDA).
 */
export const { sync: vqGather, async: vqGatherAsync } =
  kernelOp<[codebook: Tensor, indices: Tensor], Tensor>('vqGather');

/** Per-code sums and counts of x [N,D] under the assignment indices [N] (for k-means / EMA updates). */
export const { sync: vqStats, async: vqStatsAsync } =
  kernelOp<[x: Tensor, indices: Tensor, K: number], VqStatsResult>('vqStats');
