// Typed wrappers of the Gumbel-Softmax kernels (forward sample + relaxation, and its backward).
import { nativeFunction, NativeTensor } from '../native';
import { Tensor } from '../tensor';

export interface GumbelSoftmaxOptions {
  /** Temperature, a finite number > 0. */
  tau: number;
  /** Also return the one-hot of the sampled indices. */
  hard?: boolean;
  /**
   * Integer in [0, 2^53]: the Philox key is (seed mod 2^32, floor(seed / 2^32)). Same seed and
   * offset give the same noise on CPU and CUDA.
   */
  seed: number;
  /** Integer in [0, 2^53] (default 0), Philox counter words 2-3: each offset is an independent draw. */
  offset?: number;
}

export interface GumbelSoftmaxResult {
  /** f32 [N,V]: softmax((logits + g) / tau). */
  soft: Tensor;
  /** f32 [N,V]: one-hot of indices, when opts.hard. */
  hard?: Tensor;
  /** i32 [N]: argmax(logits + g), a sample from softmax(logits); -1 for a row of all -Infinity. */
  indices: Tensor;
}

type ForwardFn = (logits: NativeTensor, opts: GumbelSoftmaxOptions) => { soft: NativeTensor; hard?: NativeTensor; indices: NativeTensor };
type BackwardFn = (dy: NativeTensor, soft: NativeTensor, tau: number) => NativeTensor;

/** The native handle of a Tensor argument, or a TypeError naming it. */
function tensorHandle(t: unknown, fn: string, name: string): NativeTensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: ${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  return t.handle;
}

/**
 * Gumbel-Softmax over the rows of logits [N,V] with Philox-4x32-10 noise g fixed by
 * (seed, offset, element index). -Infinity logits are never sampled; a row whose logits are all
 * -Infinity gets index -1 and all-zero soft and hard rows.
 */
export function gumbelSoftmax(logits: Tensor, opts: GumbelSoftmaxOptions): GumbelSoftmaxResult {
  const fn = nativeFunction<ForwardFn>('gumbelSoftmax');
  const r = fn(tensorHandle(logits, 'gumbelSoftmax', 'logits'), opts);
  const out: GumbelSoftmaxResult = { soft: new Tensor(r.soft), indices: new Tensor(r.indices) };
  if (r.hard) out.hard = new Tensor(r.hard);
  return out;
}

/**
 * The gradient with respect to logits: soft * (dy - sum(dy * soft)) / tau per row. With the
 * straight-through estimator pass the gradient of `hard` as dy.
 */
export function gumbelSoftmaxBackward(dy: Tensor, soft: Tensor, tau: number): Tensor {
  const fn = nativeFunction<BackwardFn>('gumbelSoftmaxBackward');
  return new Tensor(fn(tensorHandle(dy, 'gumbelSoftmaxBackward', 'dy'), tensorHandle(soft, 'gumbelSoftmaxBackward', 'soft'), tau));
}
