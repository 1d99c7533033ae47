// LayerNorm over the last dimension with a learned scale and shift.
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { Module } from './module';
import { constantTensor } from './init';
import { checkDim } from './linear';

export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;

  constructor(dim: number, eps = 1e-5) {
    super();
    checkDim('LayerNorm', 'dim', dim);
    this.dim = dim;
    this.eps = eps;
    this.addParam('weight', constantTensor([dim], 1));
    this.addParam('bias', constantTensor([dim], 0));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.shape.length - 1] !== this.dim) throw new RangeError(`LayerNorm.forward: x must end in ${this.dim}, got shape [${x.shape}]`);
    return ops.layerNorm(x, this.p('weight'), this.p('bias'), this.eps);
  }
}
