// Typed wrappers of the support kernels (GEMM, norms, losses, embedding, AdamW, elementwise,
// reductions, layout). Each call checks its arguments natively and returns new tensors on the
// inputs' device; none of them records autograd history (lib/autograd does that on top).
import { nativeFunction, NativeTensor } from '../native';
import { Tensor } from '../tensor';

type H = NativeTensor;
export type UnaryOpName = 'exp' | 'log' | 'tanh' | 'sigmoid' | 'relu' | 'gelu';
export type BinaryOpName = 'add' | 'sub' | 'mul';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

const native = {
  matmul: nativeFunction<(a: H, b: H, opts?: MatmulOptions) => H>('matmul'),
  linear: nativeFunction<(x: H, w: H, b?: H) => H>('linear'),
  unary: nativeFunction<(x: H, op: UnaryOpName) => H>('unary'),
  unaryBackward: nativeFunction<(saved: H, dy: H, op: UnaryOpName) => H>('unaryBackward'),
  affine: nativeFunction<(x: H, alpha: number, beta: number) => H>('affine'),
  binary: nativeFunction<(a: H, b: H, op: BinaryOpName) => H>('binary'),
  axpy: nativeFunction<(dst: H, src: H, alpha: number) => void>('axpy'),
  fill: nativeFunction<(x: H, value: number) => void>('fill'),
  sumToShape: nativeFunction<(x: H, shape: number[], alpha: number) => H>('sumToShape'),
  sumLast: nativeFunction<(x: H, alpha: number) => H>('sumLast'),
  expandLast: nativeFunction<(x: H, cols: number, alpha: number) => H>('expandLast'),
  sumSquares: nativeFunction<(x: H) => H>('sumSquares'),
  permute: nativeFunction<(x: H, dims: number[]) => H>('permute'),
  slice: nativeFunction<(x: H, axis: number, start: number, end: number) => H>('slice'),
  sliceBackward: nativeFunction<(dy: H, axis: number, start: number, size: number) => H>('sliceBackward'),
  concat: nativeFunction<(xs: H[], axis: number) => H>('concat'),
  layerNorm: nativeFunction<(x: H, gamma: H, beta: H, eps: number) => { y: H; mean: H; rstd: H }>('layerNorm'),
  layerNormBackward: nativeFunction<(dy: H, x: H, gamma: H, mean: H, rstd: H) => { dx: H; dgamma: H; dbeta: H }>('layerNormBackward'),
  softmax: nativeFunction<(x: H, log: boolean) => H>('softmax'),
  softmaxBackward: nativeFunction<(y: H, dy: H, log: boolean) => H>('softmaxBackward'),
  crossEntropy: nativeFunction<(logits: H, targets: H, ignoreIndex: number) => { loss: H; lse: H }>('crossEntropy'),
  crossEntropyBackward: nativeFunction<(logits: H, targets: H, lse: H, dloss: H, ignoreIndex: number) => H>('crossEntropyBackward'),
  embedding: nativeFunction<(table: H, ids: H, fn?: string, tableName?: string, idsName?: string) => H>('embedding'),
  embeddingBackward: nativeFunction<(dout: H, ids: H, rows: number) => H>('embeddingBackward'),
  adamw: nativeFunction<(p: H[], g: H[], m: H[], v: H[], opts: AdamWStepOptions) => void>('adamw'),
};

/** The native handle of a tensor argument, or a TypeError naming the function and the argument. */
export function handleOf(t: unknown, fn: string, name: string): H {
  if (!(t instanceof Tensor)) {
    const seen = t === null ? 'null' : Array.isArray(t) ? 'an array' : typeof t;
    throw new TypeError(`${fn}: ${name} must be a Tensor, got ${seen}`);
  }
  return t.handle;
}

const wrap = (h: H): Tensor => new Tensor(h);
const list = (xs: Tensor[], fn: string, name: string): H[] => {
  if (!Array.isArray(xs)) throw new TypeError(`${fn}: ${name} must be an array of Tensors`);
  return xs.map((x, i) => handleOf(x, fn, `${name}[${i}]`));
};

/** op(a) op(b), batched over leading dims (equal, or one operand 2-D and shared). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return wrap(native.matmul(handleOf(a, 'matmul', 'a'), handleOf(b, 'matmul', 'b'), opts));
}

/** x [..., in] W^T + b with w [out, in], b [out]: one GEMM with a bias epilogue. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const bh = b == null ? undefined : handleOf(b, 'linear', 'b');
  return wrap(native.linear(handleOf(x, 'linear', 'x'), handleOf(w, 'linear', 'w'), bh));
}

export function unary(x: Tensor, op: UnaryOpName): Tensor {
  return wrap(native.unary(handleOf(x, op, 'x'), op));
}

/** dx from dy and the saved tensor: the forward's output for exp/tanh/sigmoid, its input otherwise. */
export function unaryBackward(saved: Tensor, dy: Tensor, op: UnaryOpName): Tensor {
  return wrap(native.unaryBackward(handleOf(saved, 'unaryBackward', 'saved'), handleOf(dy, 'unaryBackward', 'dy'), op));
}

/** alpha * x + beta. */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  return wrap(native.affine(handleOf(x, 'affine', 'x'), alpha, beta));
}

/** a op b, b's shape equal to a's or a suffix of it. */
export function binary(a: Tensor, b: Tensor, op: BinaryOpName): Tensor {
  return wrap(native.binary(handleOf(a, op, 'a'), handleOf(b, op, 'b'), op));
}

/** dst += alpha * src, in place. */
export function axpyInPlace(dst: Tensor, src: Tensor, alpha = 1): void {
  native.axpy(handleOf(dst, 'axpy', 'dst'), handleOf(src, 'axpy', 'src'), alpha);
}

/** Every element of x set to value, in place. */
export function fillInPlace(x: Tensor, value: number): void {
  native.fill(handleOf(x, 'fill', 'x'), value);
}

/** alpha * the sum of x over its leading dims, down to `shape` (a suffix of x's shape). */
export function sumToShape(x: Tensor, shape: number[], alpha = 1): Tensor {
  return wrap(native.sumToShape(handleOf(x, 'sumToShape', 'x'), shape, alpha));
}

/** alpha * the sum over the last dim. */
export function sumLastDim(x: Tensor, alpha = 1): Tensor {
  return wrap(native.sumLast(handleOf(x, 'sumLastDim', 'x'), alpha));
}

/** [...x.shape, cols] with every new column alpha * x. */
export function expandLastDim(x: Tensor, cols: number, alpha = 1): Tensor {
  return wrap(native.expandLast(handleOf(x, 'expandLast', 'x'), cols, alpha));
}

/** A 0-d tensor holding sum(x^2). */
export function sumSquares(x: Tensor): Tensor {
  return wrap(native.sumSquares(handleOf(x, 'sumSquares', 'x')));
}

export function permute(x: Tensor, dims: number[]): Tensor {
  return wrap(native.permute(handleOf(x, 'permute', 'x'), dims));
}

/** The elements start <= i < end along axis (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  return wrap(native.slice(handleOf(x, 'slice', 'x'), axis, start, end));
}

/** Zeros of `size` along axis with dy placed at start (the gradient of slice). */
export function sliceBackward(dy: Tensor, axis: number, start: number, size: number): Tensor {
  return wrap(native.sliceBackward(handleOf(dy, 'sliceBackward', 'dy'), axis, start, size));
}

export function concat(xs: Tensor[], axis: number): Tensor {
  return wrap(native.concat(list(xs, 'concat', 'xs'), axis));
}

export interface LayerNormResult { y: Tensor; mean: Tensor; rstd: Tensor }
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): LayerNormResult {
  const r = native.layerNorm(handleOf(x, 'layerNorm', 'x'), handleOf(gamma, 'layerNorm', 'gamma'), handleOf(beta, 'layerNorm', 'beta'), eps);
  return { y: wrap(r.y), mean: wrap(r.mean), rstd: wrap(r.rstd) };
}

export interface LayerNormGrads { dx: Tensor; dgamma: Tensor; dbeta: Tensor }
export function layerNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor): LayerNormGrads {
  const fn = 'layerNormBackward';
  const r = native.layerNormBackward(handleOf(dy, fn, 'dy'), handleOf(x, fn, 'x'), handleOf(gamma, fn, 'gamma'),
    handleOf(mean, fn, 'mean'), handleOf(rstd, fn, 'rstd'));
  return { dx: wrap(r.dx), dgamma: wrap(r.dgamma), dbeta: wrap(r.dbeta) };
}

/** softmax (or log-softmax when log) over the last dim. */
export function softmax(x: Tensor, log = false): Tensor {
  return wrap(native.softmax(handleOf(x, log ? 'logSoftmax' : 'softmax', 'x'), log));
}

export function softmaxBackward(y: Tensor, dy: Tensor, log = false): Tensor {
  return wrap(native.softmaxBackward(handleOf(y, 'softmaxBackward', 'y'), handleOf(dy, 'softmaxBackward', 'dy'), log));
}

export interface CrossEntropyResult { loss: Tensor; lse: Tensor }
/** Per-row loss lse - logits[target] (0 on ignored rows) and the row log-sum-exp. */
export function crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex = -100): CrossEntropyResult {
  const r = native.crossEntropy(handleOf(logits, 'crossEntropy', 'logits'), handleOf(targets, 'crossEntropy', 'targets'), ignoreIndex);
  return { loss: wrap(r.loss), lse: wrap(r.lse) };
}

export function crossEntropyBackward(logits: Tensor, targets: Tensor, lse: Tensor, dloss: Tensor, ignoreIndex = -100): Tensor {
  const fn = 'crossEntropyBackward';
  return wrap(native.crossEntropyBackward(handleOf(logits, fn, 'logits'), handleOf(targets, fn, 'targets'),
    handleOf(lse, fn, 'lse'), handleOf(dloss, fn, 'dloss'), ignoreIndex));
}

/**
 * table [V, D] rows at ids [...S] -> [...S, D]; an id outside [0, V) is a RangeError. Errors use fn
 * and the argument names given (gatherRows shares this kernel).
 */
export function embedding(table: Tensor, ids: Tensor, fn = 'embedding', names: [string, string] = ['table', 'ids']): Tensor {
  return wrap(native.embedding(handleOf(table, fn, names[0]), handleOf(ids, fn, names[1]), fn, names[0], names[1]));
}

/** The scatter-add of dout [...S, D] into a zero [rows, D] table at ids. */
export function embeddingBackward(dout: Tensor, ids: Tensor, rows: number): Tensor {
  return wrap(native.embeddingBackward(handleOf(dout, 'embeddingBackward', 'dout'), handleOf(ids, 'embeddingBackward', 'ids'), rows));
}

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
export function adamwStep(params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], opts: AdamWStepOptions): void {
  native.adamw(list(params, 'adamw', 'params'), list(grads, 'adamw', 'grads'), list(m, 'adamw', 'm'), list(v, 'adamw', 'v'), opts);
}
