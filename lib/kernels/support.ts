// Typed wrappers of the support kernels (GEMM, norms, losses, embedding, AdamW, elementwise,
// reductions, layout). Each call checks its arguments natively and returns new tensors on the
// inputs' device; none of them records autograd history (lib/autograd does that on top). Every
// op has an `...Async` twin returning a Promise (see ./op.ts).
import { NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { kernelOp } from './op';

type H = NativeTensor;
export type UnaryOpName = 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'gelu';
export type BinaryOpName = 'add' | 'sub' | 'mul';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** The native handle of a tensor argument, or a TypeError naming the function and the argument. */
export function handleOf(t: unknown, fn: string, name: string): H {
  if (!(t instanceof Tensor)) {
    const seen = t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t;
    throw new TypeError(`${fn}: ${name} must be a Tensor, got ${seen}`);
  }
  return t.handle;
}

const matmulOp = kernelOp<[a: Tensor, b: Tensor, opts?: MatmulOptions], Tensor>('matmul');
/** op(a) op(b), batched over leading dims (equal, or one operand 2-D and shared). */
export const matmul = matmulOp.sync;
export const matmulAsync = matmulOp.async;

const linearOp = kernelOp<[x: Tensor, w: Tensor, b?: Tensor | null], Tensor>('linear');
/** x [..., in] W^T + b with w [out, in], b [out]: one GEMM with a bias epilogue. */
export const linear = linearOp.sync;
export const linearAsync = linearOp.async;

const unaryOp = kernelOp<[x: Tensor, op: UnaryOpName], Tensor>('unary');
export const unary = unaryOp.sync;
export const unaryAsync = unaryOp.async;

const unaryBackwardOp = kernelOp<[saved: Tensor, dy: Tensor, op: UnaryOpName], Tensor>('unaryBackward');
/** dx from dy and the saved tensor: the forward's output for exp/tanh/sigmoid, its input otherwise. */
export const unaryBackward = unaryBackwardOp.sync;
export const unaryBackwardAsync = unaryBackwardOp.async;

const affineOp = kernelOp<[x: Tensor, alpha: number, beta?: number], Tensor>('affine', (x, alpha, beta = 0) => [x, alpha, beta]);
/** alpha * x + beta. */
export const affine = affineOp.sync;
export const affineAsync = affineOp.async;

const binaryOp = kernelOp<[a: Tensor, b: Tensor, op: BinaryOpName], Tensor>('binary');
/** a op b, b's shape equal to a's or a suffix of it. */
export const binary = binaryOp.sync;
export const binaryAsync = binaryOp.async;

const axpyOp = kernelOp<[dst: Tensor, src: Tensor, alpha?: number], void>('axpy', (dst, src, alpha = 1) => [dst, src, alpha]);
/** dst += alpha * src, in place. */
export const axpyInPlace = axpyOp.sync;
export const axpyInPlaceAsync = axpyOp.async;

const fillOp = kernelOp<[x: Tensor, value: number], void>('fill');
/** Every element of x set to value, in place. */
export const fillInPlace = fillOp.sync;
export const fillInPlaceAsync = fillOp.async;

const sumToShapeOp = kernelOp<[x: Tensor, shape: number[], alpha?: number], Tensor>('sumToShape', (x, shape, alpha = 1) => [x, shape, alpha]);
/** alpha * the sum of x over its leading dims, down to `shape` (a suffix of x's shape). */
export const sumToShape = sumToShapeOp.sync;
export const sumToShapeAsync = sumToShapeOp.async;

const sumLastOp = kernelOp<[x: Tensor, alpha?: number], Tensor>('sumLast', (x, alpha = 1) => [x, alpha]);
/** alpha * the sum over the last dim. */
export const sumLastDim = sumLastOp.sync;
export const sumLastDimAsync = sumLastOp.async;

const expandLastOp = kernelOp<[x: Tensor, cols: number, alpha?: number], Tensor>('expandLast', (x, cols, alpha = 1) => [x, cols, alpha]);
/** [...x.shape, cols] with every new column alpha * x. */
export const expandLastDim = expandLastOp.sync;
export const expandLastDimAsync = expandLastOp.async;

const sumSquaresOp = kernelOp<[x: Tensor], Tensor>('sumSquares');
/** A 0-d tensor holding sum(x^2). */
export const sumSquares = sumSquaresOp.sync;
export const sumSquaresAsync = sumSquaresOp.async;

const permuteOp = kernelOp<[x: Tensor, dims: number[]], Tensor>('permute');
export const permute = permuteOp.sync;
export const permuteAsync = permuteOp.async;

const sliceOp = kernelOp<[x: Tensor, axis: number, start: number, end: number], Tensor>('slice');
/** The elements start <= i < end along axis (a copy). */
export const slice = sliceOp.sync;
export const sliceAsync = sliceOp.async;

const sliceBackwardOp = kernelOp<[dy: Tensor, axis: number, start: number, size: number], Tensor>('sliceBackward');
/** Zeros of `size` along axis with dy placed at start (the gradient of slice). */
export const sliceBackward = sliceBackwardOp.sync;
export const sliceBackwardAsync = sliceBackwardOp.async;

const concatOp = kernelOp<[xs: Tensor[], axis: number], Tensor>('concat');
export const concat = concatOp.sync;
export const concatAsync = concatOp.async;

export interface LayerNormResult { y: Tensor; mean: Tensor; rstd: Tensor }
const layerNormOp = kernelOp<[x: Tensor, gamma: Tensor, beta: Tensor, eps?: number], LayerNormResult>('layerNorm',
  (x, gamma, beta, eps = 1e-5) => [x, gamma, beta, eps]);
export const layerNorm = layerNormOp.sync;
export const layerNormAsync = layerNormOp.async;

export interface LayerNormGrads { dx: Tensor; dgamma: Tensor; dbeta: Tensor }
const layerNormBackwardOp = kernelOp<[dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor], LayerNormGrads>('layerNormBackward');
export const layerNormBackward = layerNormBackwardOp.sync;
export const layerNormBackwardAsync = layerNormBackwardOp.async;

const softmaxOp = kernelOp<[x: Tensor, log?: boolean], Tensor>('softmax', (x, log = false) => [x, log]);
/** softmax (or log-softmax when log) over the last dim. */
export const softmax = softmaxOp.sync;
export const softmaxAsync = softmaxOp.async;

const softmaxBackwardOp = kernelOp<[y: Tensor, dy: Tensor, log?: boolean], Tensor>('softmaxBackward', (y, dy, log = false) => [y, dy, log]);
export const softmaxBackward = softmaxBackwardOp.sync;
export const softmaxBackwardAsync = softmaxBackwardOp.async;

export interface CrossEntropyResult { loss: Tensor; lse: Tensor }
const crossEntropyOp = kernelOp<[logits: Tensor, targets: Tensor, ignoreIndex?: number], CrossEntropyResult>('crossEntropy',
  (logits, targets, ignoreIndex = -100) => [logits, targets, ignoreIndex]);
/** Per-row loss lse - logits[target] (0 on ignored rows) and the row log-sum-exp. */
export const crossEntropy = crossEntropyOp.sync;
export const crossEntropyAsync = crossEntropyOp.async;

const crossEntropyBackwardOp = kernelOp<[logits: Tensor, targets: Tensor, lse: Tensor, dloss: Tensor, ignoreIndex?: number], Tensor>(
  'crossEntropyBackward', (logits, targets, lse, dloss, ignoreIndex = -100) => [logits, targets, lse, dloss, ignoreIndex]);
export const crossEntropyBackward = crossEntropyBackwardOp.sync;
export const crossEntropyBackwardAsync = crossEntropyBackwardOp.async;

const embeddingOp = kernelOp<[table: Tensor, ids: Tensor, fn?: string, names?: [string, string]], Tensor>('embedding',
  (table, ids, fn = 'embedding', names = ['table', 'ids']) => [table, ids, fn, names[0], names[1]]);
/**
 * table [V, D] rows at ids [...S] -> [...S, D]; an id outside [0, V) is a RangeError. Errors use fn
 * and the argument names given (gatherRows shares this kernel).
 */
export const embedding = embeddingOp.sync;
export const embeddingAsync = embeddingOp.async;

const embeddingBackwardOp = kernelOp<[dout: Tensor, ids: Tensor, rows: number], Tensor>('embeddingBackward');
/** The scatter-add of dout [...S, D] into a zero [rows, D] table at ids. */
export const embeddingBackward = embeddingBackwardOp.sync;
export const embeddingBackwardAsync = embeddingBackwardOp.async;

export interface AdamWStepOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1 for the first update (bias correction). */
  step: number;
}

const adamwOp = kernelOp<[params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], opts: AdamWStepOptions], void>('adamw');
/** One fused AdamW update of every params[i] (and its moments m[i], v[i]) in place. */
export const adamwStep = adamwOp.sync;
export const adamwStepAsync = adamwOp.async;
