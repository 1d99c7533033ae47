// lib/autograd (eg.ops): differentiable ops over Tensor with a tape. Every op takes and returns
// f32 tensors on its inputs' device and records a node when grad mode is on and an input
// requiresGrad; backward() (or loss.backward()) accumulates into the leaves' .grad.
import { Tensor } from '../tensor';
import { backward } from './tape';

export { noGrad, isGradEnabled, backward, zeroGrad, param, detach } from './tape';
export type { BackwardOptions } from './tape';
export { add, sub, mul, scale, addScalar, neg, exp, log, tanh, sigmoid, gelu, relu } from './elementwise';
export { sum, mean, sumLastDim, meanLastDim } from './reduce';
export { reshape, permute, transpose, concat, slice, embedding, gatherRows } from './shape';
export { matmul, linear, layerNorm, softmax, logSoftmax, crossEntropy } from './nn';
export type { MatmulOptions, CrossEntropyOptions } from './nn';
export { attention, packedAttention, gumbelSoftmax, biasGelu } from './fused';
export type { KvAppend } from './fused';
export type { AttentionOptions, GumbelSoftmaxOptions, GumbelSoftmaxResult } from './fused';

// Tensor.backward() delegates here (lib/tensor.ts cannot import autograd without a cycle).
Tensor.backwardHook = backward;
