// lib/optim (eg.optim): AdamW on the fused kernel, gradient clipping and learning-rate schedules.
export { AdamW } from './adamw';
export type { AdamWOptions, AdamWHyper, AdamWState } from './adamw';
export { clipGradNorm } from './clip';
export { cosineWithWarmup, exponential } from './schedule';
export type { CosineWithWarmupOptions, ExponentialOptions } from './schedule';
