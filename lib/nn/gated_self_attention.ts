// GLIGEN's gated self-attention: x + tanh(gamma) * SA(LN([x, g]))[:, :N]. gamma starts at 0, so a
// freshly inserted layer leaves the frozen base model's output unchanged.
import { Tensor, tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng, constantTensor } from './init';
import { LayerNorm } from './layer_norm';
import { MultiHeadAttention } from './attention';

export class GatedSelfAttention extends Module {
  readonly dim: number;
  readonly ln: LayerNorm;
  readonly attn: MultiHeadAttention;

  constructor(dim: number, heads: number, opts: { rng?: InitRng } = {}) {
    super();
    this.dim = dim;
    this.ln = this.addModule('ln', new LayerNorm(dim));
    this.attn = this.addModule('attn', new MultiHeadAttention(dim, heads, { rng: opts.rng }));
    this.addParam('gamma', constantTensor([1], 0));
  }

  get gamma(): Tensor { return this.p('gamma'); }

  /**
   * x [B, N, dim] visual tokens, g [B, M, dim] grounding tokens; mask (optional, i32 [B, N+M, N+M]
   * or [N+M, N+M]) hides padded grounding tokens. Returns [B, N, dim].
   */
  forward(x: Tensor, g: Tensor, mask?: Tensor): Tensor {
    if (x.rank !== 3 || g.rank !== 3 || x.shape[0] !== g.shape[0] || x.shape[2] !== this.dim || g.shape[2] !== this.dim) {
      throw new RangeError(`GatedSelfAttention.forward: x and g must be [B, N, ${this.dim}] and [B, M, ${this.dim}], got [${x.shape}] and [${g.shape}]`);
    }
    const N = x.shape[1];
    const sa = this.attn.forward(this.ln.forward(ops.concat([x, g], 1)), { mask });
    // The scalar gate broadcast to [dim] through a rank-1 linear map (ops broadcast only over prefixes).
    const gate = ops.reshape(ops.linear(ops.reshape(ops.tanh(this.gamma), [1, 1]), onesColumn(this.dim, x)), [this.dim]);
    return ops.add(x, ops.mul(ops.slice(sa, 1, 0, N), gate));
  }
}

function onesColumn(dim: number, like: Tensor): Tensor {
  return tensor(new Float32Array(dim).fill(1), [dim, 1], { device: like.device });
}
