// Multi-head self-attention on the fused attention kernel, with an optional KV cache for decoding.
import { Tensor, keep } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng } from './init';
import { Linear, checkDim } from './linear';

/**
 * Keys and values of the positions seen so far, [B, H, T, headDim] per layer. Decoding appends to
 * it under ops.noGrad (the cache replaces its tensors in place, which a backward pass could not follow).
 */
export class KvCache {
  k: Tensor | null = null;
  v: Tensor | null = null;

  get length(): number { return this.k ? this.k.shape[2] : 0; }

  append(k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    if (ops.isGradEnabled()) throw new Error('KvCache.append: decoding with a KV cache must run under ops.noGrad()');
    const nk = this.k ? ops.concat([this.k, k], 2) : k.clone();
    const nv = this.v ? ops.concat([this.v, v], 2) : v.clone();
    this.dispose();
    this.k = keep(nk);
    this.v = keep(nv);
    return { k: nk, v: nv };
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

export interface AttentionCall {
  /** Query i sees key j iff j <= i + (Tk - Tq) (bottom-right aligned, so right for a cache too). */
  causal?: boolean;
  /** i32 [Tq, Tk] or [B, Tq, Tk], nonzero = may attend; ANDed with causal. Tk counts cached keys. */
  mask?: Tensor;
  cache?: KvCache;
}

export interface MultiHeadAttentionOptions {
  rng?: InitRng;
  outStd?: number;
}

export class MultiHeadAttention extends Module {
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly qkv: Linear;
  readonly out: Linear;

  constructor(dim: number, heads: number, opts: MultiHeadAttentionOptions = {}) {
    super();
    checkDim('MultiHeadAttention', 'dim', dim);
    checkDim('MultiHeadAttention', 'heads', heads);
    if (dim % heads !== 0) throw new RangeError(`MultiHeadAttention: dim (${dim}) must be a multiple of heads (${heads})`);
    this.dim = dim;
    this.heads = heads;
    this.headDim = dim / heads;
    const rng = opts.rng ?? new InitRng(0);
    this.qkv = this.addModule('qkv', new Linear(dim, 3 * dim, { rng: rng.fork() }));
    this.out = this.addModule('out', new Linear(dim, dim, { rng: rng.fork(), std: opts.outStd }));
  }

  /** x [B, T, dim] -> [B, T, dim]. */
  forward(x: Tensor, call: AttentionCall = {}): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.dim) throw new RangeError(`MultiHeadAttention.forward: x must have shape [B, T, ${this.dim}], got [${x.shape}]`);
    // One GEMM for q, k and v; the heads are split and merged inside one tape node.
    const cache = call.cache;
    const o = ops.packedAttention(this.qkv.forward(x), this.heads, {
      causal: call.causal ?? false, mask: call.mask, scale: 1 / Math.sqrt(this.headDim),
      kvAppend: cache ? (k, v) => cache.append(k, v) : undefined,
    });
    return this.out.forward(o);
  }
}
