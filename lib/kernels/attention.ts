// Typed wrappers of the fused attention kernels (FlashAttention-2 style, CPU and CUDA).
import { Tensor } from '../tensor';
import { kernelOp } from './op';

export interface AttentionOptions {
  /** Query i sees key j iff j <= i + (Tk - Tq) (bottom-right aligned). Default false. */
  causal?: boolean;
  /** Multiplies q.k before the softmax; a finite number > 0. Default 1/sqrt(D). */
  scale?: number;
  /** i32 [Tq,Tk] or [B,Tq,Tk] on q's device; nonzero = may attend. ANDed with causal. */
  mask?: Tensor;
}

export interface AttentionResult {
  /** [B,H,Tq,D]; 0 on a row that sees no key. */
  out: Tensor;
  /** [B,H,Tq], natural-log sum of exp of the scaled scores; -Infinity on a row that sees no key. */
  lse: Tensor;
}

export interface AttentionGradients {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/**
 * Softmax attention softmax(scale * q k^T [masked]) v without storing the Tq x Tk score matrix.
 * q [B,H,Tq,D], k and v [B,H,Tk,D], D in [8,128], f32, all on one device.
 */
export const { sync: attention, async: attentionAsync } =
  kernelOp<[q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions], AttentionResult>('attentionForward');

/**
 * Gradients of attention with respect to q, k and v given dOut = dL/dout, recomputed from the
 * forward's out and lse (pass the same options as the forward).
 */
export const { sync: attentionBackward, async: attentionBackwardAsync } =
  kernelOp<[q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor, opts?: AttentionOptions],
  AttentionGradients>('attentionBackward');
