// Typed wrappers of the Gumbel-Softmax kernels (forward sample + relaxation, and its backward).
import { Tensor } from '../tensor';
import { kernelOp } from './op';

export interface GumbelSoftmaxOptions {
  /** Temperature, a finite number > 0 (checked natively, as the f32 the kernel uses). */
  tau: number;
  /** Also return the one-hot of the sampled indices. */
  hard?: boolean;
  /**
   * Integer in [0, 2^53]: the Philox key is (seed mod 2^32, floor(seed / 2^32)). Same seed and
   * offset give the same noise on CPU and CUDA.
   */
  seed: number;
  /** Integer in [0, 2^53] (default 0), Philox counter words 2-3: each offset is an independent draw. */
  offset?: number;
}

export interface GumbelSoftmaxResult {
  /** f32 [N,V]: softmax((logits + g) / tau). */
  soft: Tensor;
  /** f32 [N,V]: one-hot of indices, when opts.hard. */
  hard?: Tensor;
  /** i32 [N]: argmax(logits + g), a sample from softmax(logits); -1 for a row of all -Infinity. */
  indices: Tensor;
}

/**
 * Gumbel-Softmax over the rows of logits [N,V] with Philox-4x32-10 noise g fixed by
 * (seed, offset, element index). -Infinity logits are never sampled; a row whose logits are all
 * -Infinity gets index -1 and all-zero soft and hard rows.
 */
export const { sync: gumbelSoftmax, async: gumbelSoftmaxAsync } =
  kernelOp<[logits: Tensor, opts: GumbelSoftmaxOptions], GumbelSoftmaxResult>('gumbelSoftmax');

/**
 * The gradient with respect to logits: soft * (dy - sum(dy * soft)) / tau per row. With the
 * straight-through estimator pass the gradient of `hard` as dy.
 */
export const { sync: gumbelSoftmaxBackward, async: gumbelSoftmaxBackwardAsync } =
  kernelOp<[dy: Tensor, soft: Tensor, tau: number], Tensor>('gumbelSoftmaxBackward');
