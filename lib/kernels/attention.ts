// Typed wrappers of the fused attention kernels (FlashAttention-2 style, CPU and CUDA).
import { nativeFunction, NativeTensor } from '../native';
import { Tensor } from '../tensor';

export interface AttentionOptions {
  /** Query i sees key j iff j <= i + (Tk - Tq) (bottom-right aligned). Default false. */
  causal?: boolean;
  /** Multiplies q.k before the softmax; a finite number > 0. Default 1/sqrt(D). */
  scale?: number;
  /** i32 [Tq,Tk] or [B,Tq,Tk] on q's device; nonzero = may attend. ANDed with causal. */
  mask?: Tensor;
}

export interface AttentionResult {
  /** [B,H,Tq,D]; 0 on a row that sees no key. */
  out: Tensor;
  /** [B,H,Tq], natural-log sum of exp of the scaled scores; -Infinity on a row that sees no key. */
  lse: Tensor;
}

export interface AttentionGradients {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

interface NativeOptions {
  causal?: boolean;
  scale?: number;
  mask?: NativeTensor;
}

type ForwardFn = (q: NativeTensor, k: NativeTensor, v: NativeTensor, opts: NativeOptions) =>
  { out: NativeTensor; lse: NativeTensor };
type BackwardFn = (q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, lse: NativeTensor,
  dOut: NativeTensor, opts: NativeOptions) => { dq: NativeTensor; dk: NativeTensor; dv: NativeTensor };

const forwardNative = nativeFunction<ForwardFn>('attentionForward');
const backwardNative = nativeFunction<BackwardFn>('attentionBackward');

// A Tensor becomes its native handle; anything else goes through unchanged so the native side
// reports it ("attention: q must be a Tensor, got ...").
function handle(fn: string, name: string, t: unknown): NativeTensor {
  if (t instanceof Tensor) return t.handle;
  if (t === undefined || t === null || typeof t !== 'object')
    throw new TypeError(`${fn}: ${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  return t as NativeTensor;
}

function nativeOptions(fn: string, opts: AttentionOptions | undefined): NativeOptions {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts))
    throw new TypeError(`${fn}: options must be an object, got ${Array.isArray(opts) ? 'an array' : typeof opts}`);
  const out: NativeOptions & Record<string, unknown> = { ...(opts as Record<string, unknown>) };
  if (opts.mask !== undefined && opts.mask !== null) out.mask = handle(fn, 'options.mask', opts.mask);
  return out;
}

/**
 * Softmax attention softmax(scale * q k^T [masked]) v without storing the Tq x Tk score matrix.
 * q [B,H,Tq,D], k and v [B,H,Tk,D], D in [8,128], f32, all on one device.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): AttentionResult {
  const fn = 'attention';
  const r = forwardNative(handle(fn, 'q', q), handle(fn, 'k', k), handle(fn, 'v', v), nativeOptions(fn, opts));
  return { out: new Tensor(r.out), lse: new Tensor(r.lse) };
}

/**
 * Gradients of attention with respect to q, k and v given dOut = dL/dout, recomputed from the
 * forward's out and lse (pass the same options as the forward).
 */
export function attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor,
  opts?: AttentionOptions): AttentionGradients {
  const fn = 'attentionBackward';
  const r = backwardNative(handle(fn, 'q', q), handle(fn, 'k', k), handle(fn, 'v', v), handle(fn, 'out', out),
    handle(fn, 'lse', lse), handle(fn, 'dOut', dOut), nativeOptions(fn, opts));
  return { dq: new Tensor(r.dq), dk: new Tensor(r.dk), dv: new Tensor(r.dv) };
}
