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

/** op(a) op(b), batched over leading dims (equal, or one operand 2-D and shared). */
export const { sync: matmul, async: matmulAsync } =
  kernelOp<[a: Tensor, b: Tensor, opts?: MatmulOptions], Tensor>('matmul');

/** x [..., in] W^T + b with w [out, in], b [out]: one GEMM with a bias epilogue. */
export const { sync: linear, async: linearAsync } =
  kernelOp<[x: Tensor, w: Tensor, b?: Tensor | null], Tensor>('linear');

export const { sync: unary, async: unaryAsync } = kernelOp<[x: Tensor, op: UnaryOpName], Tensor>('unary');

/** dx from dy and the saved tensor: the forward's output for exp/tanh/sigmoid, its input otherwise. */
export const { sync: unaryBackward, async: unaryBackwardAsync } =
  kernelOp<[saved: Tensor, dy: Tensor, op: UnaryOpName], Tensor>('unaryBackward');

/** alpha * x + beta. */
export const { sync: affine, async: affineAsync } =
  kernelOp<[x: Tensor, alpha: number, beta?: number], Tensor>('affine', (x, alpha, beta = 0) => [x, alpha, beta]);

/** a op b, b's shape equal to a's or a suffix of it. */
export const { sync: binary, async: binaryAsync } =
  kernelOp<[a: Tensor, b: Tensor, op: BinaryOpName], Tensor>('binary');

/** dst += alpha * src, in place. */
export const { sync: axpyInPlace, async: axpyInPlaceAsync } =
  kernelOp<[dst: Tensor, src: Tensor, alpha?: number], void>('axpy', (dst, src, alpha = 1) => [dst, src, alpha]);

/** Every element of x set to value, in place. */
export const { sync: fillInPlace, async: fillInPlaceAsync } = kernelOp<[x: Tensor, value: number], void>('fill');

/** alpha * the sum of x over its leading dims, down to `shape` (a suffix of x's shape). */
export const { sync: sumToShape, async: sumToShapeAsync } =
  kernelOp<[x: Tensor, shape: number[], alpha?: number], Tensor>('sumToShape', (x, shape, alpha = 1) => [x, shape, alpha]);

/** alpha * the sum over the last dim. */
export const { sync: sumLastDim, async: sumLastDimAsync } =
  kernelOp<[x: Tensor, alpha?: number], Tensor>('sumLast', (x, alpha = 1) => [x, alpha]);

/** [...x.shape, cols] with every new column alpha * x. */
export const { sync: expandLastDim, async: expandLastDimAsync } =
  kernelOp<[x: Tensor, cols: number, alpha?: number], Tensor>('expandLast', (x, cols, alpha = 1) => [x, cols, alpha]);

/** A 0-d tensor holding sum(x^2). */
export const { sync: sumSquares, async: sumSquaresAsync } = kernelOp<[x: Tensor], Tensor>('sumSquares');

export const { sync: permute, async: permuteAsync } = kernelOp<[x: Tensor, dims: number[]], Tensor>('permute');

/** The elements start <= i < end along axis (a copy). */
export const { sync: slice, async: sliceAsync } =
  kernelOp<[x: Tensor, axis: number, start: number, end: number], Tensor>('slice');

/** Zeros of `size` along axis with dy placed at start (the gradient of slice). */
export const { sync: sliceBackward, async: sliceBackwardAsync } =
  kernelOp<[dy: Tensor, axis: number, start: number, size: number], Tensor>('sliceBackward');

export const { sync: concat, async: concatAsync } = kernelOp<[xs: Tensor[], axis: number], Tensor>('concat');

/** gelu(x + b) (tanh GELU) with b [C] broadcast over x [..., C]: an MLP's bias + activation in one pass. */
export const { sync: biasGelu, async: biasGeluAsync } = kernelOp<[x: Tensor, b: Tensor], Tensor>('biasGelu');

export interface BiasGeluGrads { dx: Tensor; db: Tensor }
/** dx = dy * gelu'(x + b) and db = dx summed over x's leading dims. */
export const { sync: biasGeluBackward, async: biasGeluBackwardAsync } =
  kernelOp<[x: Tensor, b: Tensor, dy: Tensor], BiasGeluGrads>('biasGeluBackward');

export interface LayerNormResult { y: Tensor; mean: Tensor; rstd: Tensor }
export const { sync: layerNorm, async: layerNormAsync } =
  kernelOp<[x: Tensor, gamma: Tensor, beta: Tensor, eps?: number], LayerNormResult>('layerNorm',
  (x, gamma, beta, eps = 1e-5) => [x, gamma, beta, eps]);

export interface LayerNormGrads { dx: Tensor; dgamma: Tensor; dbeta: Tensor }
export const { sync: layerNormBackward, async: layerNormBackwardAsync } =
  kernelOp<[dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor], LayerNormGrads>('layerNormBackward');

/** softmax (or log-softmax when log) over the last dim. */
export const { sync: softmax, async: softmaxAsync } =
  kernelOp<[x: Tensor, log?: boolean], Tensor>('softmax', (x, log = false) => [x, log]);

export const { sync: softmaxBackward, async: softmaxBackwardAsync } =
  kernelOp<[y: Tensor, dy: Tensor, log?: boolean], Tensor>('softmaxBackward', (y, dy, log = false) => [y, dy, log]);

export interface CrossEntropyResult { loss: Tensor; lse: Tensor }
/** Per-row loss lse - logits[target] (0 on ignored rows) and the row log-sum-exp. */
export const { sync: crossEntropy, async: crossEntropyAsync } =
  kernelOp<[logits: Tensor, targets: Tensor, ignoreIndex?: number], CrossEntropyResult>('crossEntropy',
  (logits, targets, ignoreIndex = -100) => [logits, targets, ignoreIndex]);

export const { sync: crossEntropyBackward, async: crossEntropyBackwardAsync } =
  kernelOp<[logits: Tensor, targets: Tensor, lse: Tensor, dloss: Tensor, ignoreIndex?: number], Tensor>(
  'crossEntropyBackward', (logits, targets, lse, dloss, ignoreIndex = -100) => [logits, targets, lse, dloss, ignoreIndex]);

/**
 * table [V, D] rows at ids [...S] -> [...S, D]; an id outside [0, V) is a RangeError. Errors use fn
 * and the argument names given (gatherRows shares this kernel).
 */
export const { sync: embedding, async: embeddingAsync } =
  kernelOp<[table: Tensor, ids: Tensor, fn?: string, names?: [string, string]], Tensor>('embedding',
  (table, ids, fn = 'embedding', names = ['table', 'ids']) => [table, ids, fn, names[0], names[1]]);

/** The scatter-add of dout [...S, D] into a zero [rows, D] table at ids. */
export const { sync: embeddingBackward, async: embeddingBackwardAsync } =
  kernelOp<[dout: Tensor, ids: Tensor, rows: number], Tensor>('embeddingBackward');

export interface AdamWStepOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1 for the first update (bias correction). */
  step: number;
}

/** One fused AdamW update of every params[i] (and its moments m[i], v[i]) in place. */
export const { sync: adamwStep, async: adamwStepAsync } =
  kernelOp<[params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], opts: AdamWStepOptions], void>('adamw');
