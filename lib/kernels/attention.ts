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

export interface PackedAttentionResult {
  /** [B,T,H*D]: each token's heads side by side. */
  out: Tensor;
  /** [B,H,T], as attention's. */
  lse: Tensor;
}

/**
 * Self-attention read in place from a fused projection: qkv [B,T,3*H*D] holds each token's q, k
 * and v, each `heads` heads of D (D in [8,128]) side by side. The result is attention(q, k, v)
 * with the heads merged back, out [B,T,H*D]: the same kernels as `attention`, which read and write
 * these layouts directly instead of copying to [B,H,T,D] and back. The mask is [T,T] or [B,T,T].
 */
export const { sync: packedAttention, async: packedAttentionAsync } =
  kernelOp<[qkv: Tensor, heads: number, opts?: AttentionOptions], PackedAttentionResult>('packedAttentionForward');

/** d(loss)/d(qkv) [B,T,3*H*D] of packedAttention given dOut [B,T,H*D], from its out and lse. */
export const { sync: packedAttentionBackward, async: packedAttentionBackwardAsync } =
  kernelOp<[qkv: Tensor, out: Tensor, lse: Tensor, dOut: Tensor, heads: number, opts?: AttentionOptions],
  { dqkv: Tensor }>('packedAttentionBackward');
