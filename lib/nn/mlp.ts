// The transformer's feed-forward part: Linear -> GELU -> Linear.
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng } from './init';
import { Linear } from './linear';

export interface MlpOptions {
  rng?: InitRng;
  /** Init std of the output projection (GPT-2 scales it down by depth). */
  outStd?: number;
}

export class Mlp extends Module {
  readonly fc: Linear;
  readonly proj: Linear;

  constructor(dim: number, hidden: number, outDim = dim, opts: MlpOptions = {}) {
    super();
    const rng = opts.rng ?? new InitRng(0);
    this.fc = this.addModule('fc', new Linear(dim, hidden, { rng: rng.fork() }));
    this.proj = this.addModule('proj', new Linear(hidden, outDim, { rng: rng.fork(), std: opts.outStd }));
  }

  forward(x: Tensor): Tensor {
    return this.proj.forward(ops.gelu(this.fc.forward(x)));
  }
}
