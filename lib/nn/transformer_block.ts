// Pre-LN transformer block: x + SA(LN(x)), then + MLP(LN(x)).
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng } from './init';
import { LayerNorm } from './layer_norm';
import { AttentionCall, MultiHeadAttention } from './attention';
import { Mlp } from './mlp';

export interface TransformerBlockOptions {
  mlpRatio?: number;
  rng?: InitRng;
  /** Number of blocks in the stack; output projections are scaled by 1/sqrt(2 * depth) (GPT-2). */
  depth?: number;
}

export class TransformerBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ln2: LayerNorm;
  readonly mlp: Mlp;

  constructor(dim: number, heads: number, opts: TransformerBlockOptions = {}) {
    super();
    const rng = opts.rng ?? new InitRng(0);
    const hidden = Math.round(dim * (opts.mlpRatio ?? 4));
    const outScale = 1 / Math.sqrt(2 * (opts.depth ?? 1));
    this.ln1 = this.addModule('ln1', new LayerNorm(dim));
    this.attn = this.addModule('attn', new MultiHeadAttention(dim, heads, { rng: rng.fork(), outStd: outScale / Math.sqrt(dim) }));
    this.ln2 = this.addModule('ln2', new LayerNorm(dim));
    this.mlp = this.addModule('mlp', new Mlp(dim, hidden, dim, { rng: rng.fork(), outStd: outScale / Math.sqrt(hidden) }));
  }

  forward(x: Tensor, call: AttentionCall = {}): Tensor {
    const h = ops.add(x, this.attn.forward(this.ln1.forward(x), call));
    return ops.add(h, this.mlp.forward(this.ln2.forward(h)));
  }
}
