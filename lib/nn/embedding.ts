// Embedding: rows of a learned table looked up by i32 ids.
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng, normalTensor } from './init';
import { checkDim } from './linear';

export class Embedding extends Module {
  readonly count: number;
  readonly dim: number;

  constructor(count: number, dim: number, opts: { std?: number; rng?: InitRng } = {}) {
    super();
    checkDim('Embedding', 'count', count);
    checkDim('Embedding', 'dim', dim);
    this.count = count;
    this.dim = dim;
    this.addParam('weight', normalTensor([count, dim], opts.std ?? 0.02, opts.rng ?? new InitRng(0)));
  }

  get weight(): Tensor { return this.p('weight'); }

  /** ids i32 [...S] -> [...S, dim]. */
  forward(ids: Tensor): Tensor {
    if (ids.dtype !== 'i32') throw new TypeError(`Embedding.forward: ids must be i32, got ${ids.dtype}`);
    return ops.embedding(this.weight, ids);
  }
}
