// Linear: y = x W^T + b over the last dimension (W is [out, in], as ops.linear takes it).
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { InitRng, constantTensor, normalTensor } from './init';

export interface LinearOptions {
  bias?: boolean;
  /** Standard deviation of the normal init (default 1/sqrt(in)). */
  std?: number;
  rng?: InitRng;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly hasBias: boolean;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkDim('Linear', 'inFeatures', inFeatures);
    checkDim('Linear', 'outFeatures', outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = opts.bias ?? true;
    const rng = opts.rng ?? new InitRng(0);
    this.addParam('weight', normalTensor([outFeatures, inFeatures], opts.std ?? 1 / Math.sqrt(inFeatures), rng));
    if (this.hasBias) this.addParam('bias', constantTensor([outFeatures], 0));
  }

  get weight(): Tensor { return this.p('weight'); }
  get bias(): Tensor | null { return this.hasBias ? this.p('bias') : null; }

  forward(x: Tensor): Tensor {
    const last = x.shape[x.shape.length - 1];
    if (last !== this.inFeatures) throw new RangeError(`Linear.forward: x must end in ${this.inFeatures} features, got shape [${x.shape}]`);
    return this.hasBias ? ops.linear(x, this.weight, this.p('bias')) : ops.linear(x, this.weight);
  }
}

export function checkDim(where: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${where}: ${name} must be a positive integer, got ${v}`);
}
