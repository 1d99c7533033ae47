// lib/nn: modules over eg.ops (docs/design.md section 1).
export { Module } from './module';
export type { StateDict, LoadOptions } from './module';
export { InitRng, normalTensor, constantTensor } from './init';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { LayerNorm } from './layer_norm';
export { Embedding } from './embedding';
export { Mlp } from './mlp';
export type { MlpOptions } from './mlp';
export { MultiHeadAttention, KvCache } from './attention';
export type { AttentionCall, MultiHeadAttentionOptions } from './attention';
export { TransformerBlock } from './transformer_block';
export type { TransformerBlockOptions } from './transformer_block';
export { GatedSelfAttention } from './gated_self_attention';
