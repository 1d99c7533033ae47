// The public surface of echogen (docs/design.md section 3).
export { Tensor, tensor, zeros, tidy, keep, memory, cachedBytes, emptyCache, backends, buildInfo } from './tensor';
export type { Device, DType, MemoryInfo, TensorOptions, TypedData, GradFn } from './tensor';
export * as kernels from './kernels';
export * as ops from './autograd';
export * as nn from './nn';
export * as model from './model';
export * as data from './data';
export * as eval from './eval';
export * as train from './train';
export * as optim from './optim';
