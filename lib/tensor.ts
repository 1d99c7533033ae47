// The public Tensor: a thin wrapper over a native handle, plus tidy() scopes and memory().
import { addon, callNative, Device, DType, MemoryInfo, NativeTensor } from './native';

export type { Device, DType, MemoryInfo } from './native';
export type TypedData = Float32Array | Int32Array;

/** How autograd reaches a tensor's inputs (set by the ops of lib/autograd). */
export interface GradFn {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Gradients with respect to each input (null where an input needs none). */
  backward(gradOutput: Tensor): (Tensor | null)[];
}

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

const scopes: Set<Tensor>[] = [];

export class Tensor {
  readonly handle: NativeTensor;
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradFn | null = null;

  constructor(handle: NativeTensor) {
    this.handle = handle;
    if (scopes.length) scopes[scopes.length - 1].add(this);
  }

  get shape(): number[] { return this.handle.shape; }
  get dtype(): DType { return this.handle.dtype; }
  get device(): Device { return callNative(() => this.handle.device); }
  get size(): number { return this.handle.size; }
  get rank(): number { return this.handle.shape.length; }
  get disposed(): boolean { return this.handle.disposed; }

  /** A copy of the data (waits for pending GPU work). */
  toArray(): TypedData { return callNative(() => this.handle.toArray()); }
  /** A copy on `device` (a new tensor even when it is already there). */
  to(device: Device): Tensor { return new Tensor(callNative(() => this.handle.to(device))); }
  /** A view with another shape over the same storage. */
  reshape(shape: number[]): Tensor { return new Tensor(callNative(() => this.handle.reshape(shape))); }
  clone(): Tensor { return new Tensor(callNative(() => this.handle.clone())); }
  /** Frees the storage once no view shares it; later use throws. Disposing twice is harmless. */
  dispose(): void {
    this.handle.dispose();
    if (this.grad) { this.grad.dispose(); this.grad = null; }
    this.gradFn = null;
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`Tensor.item: the tensor has ${this.size} elements, not 1 (shape [${this.shape}])`);
    return this.toArray()[0];
  }
  toString(): string { return `Tensor(${this.dtype}[${this.shape}] on ${this.disposed ? 'disposed' : this.device})`; }

  /** Set by lib/autograd, which owns the tape (importing it here would be a cycle). */
  static backwardHook: ((t: Tensor, grad?: Tensor, opts?: { retainGraph?: boolean }) => void) | null = null;
  /** Backpropagates from this tensor (see eg.ops.backward): grads accumulate into the leaves' .grad. */
  backward(grad?: Tensor, opts?: { retainGraph?: boolean }): void {
    if (!Tensor.backwardHook) throw new Error('Tensor.backward: autograd is not loaded (import echogen, not lib/tensor alone)');
    Tensor.backwardHook(this, grad, opts);
  }
}

// Tag checks, not instanceof: typed arrays may come from another realm (the addon's, or a vm/jest context).
const tagOf = (x: unknown): string => Object.prototype.toString.call(x);
export function isFloat32Array(x: unknown): x is Float32Array { return tagOf(x) === '[object Float32Array]'; }
export function isInt32Array(x: unknown): x is Int32Array { return tagOf(x) === '[object Int32Array]'; }

function toTyped(data: TypedData | number[], dtype: DType): TypedData {
  if (isFloat32Array(data) || isInt32Array(data)) return data;
  if (!Array.isArray(data)) throw new TypeError(`tensor: data must be a Float32Array, Int32Array or number[], got ${typeof data}`);
  if (dtype === 'i32') {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new TypeError(`tensor: data[${i}] = ${v} is not a 32-bit integer (dtype i32)`);
      out[i] = v;
    }
    return out;
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== 'number') throw new TypeError(`tensor: data[${i}] must be a number, got ${typeof data[i]}`);
    out[i] = data[i];
  }
  return out;
}

/** A tensor holding a copy of `data` with the given shape (row-major). */
export function tensor(data: TypedData | number[], shape: number[], opts: TensorOptions = {}): Tensor {
  const dtype: DType = opts.dtype ?? (isInt32Array(data) ? 'i32' : 'f32');
  return new Tensor(addon.fromArray(toTyped(data, dtype), shape, dtype, opts.device ?? 'cpu'));
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return new Tensor(addon.zeros(shape, opts.dtype ?? 'f32', opts.device ?? 'cpu'));
}

function collect(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) { into.add(value); return; }
  const items = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  for (const v of items) collect(v, into, depth + 1);
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (found in the
 * result, its arrays and its object values) and those passed to keep(). fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (isThenable(result)) {
    // Tensors made after its first await would escape the scope and leak: refuse, and free what
    // the synchronous part made (the promise's eventual value cannot be kept, so nothing is).
    for (const t of scope) t.dispose();
    (result as PromiseLike<unknown>).then(undefined, () => undefined);  // its rejection has no one left to handle it
    throw new TypeError('tidy: fn returned a Promise; tidy needs a synchronous fn (call tidy inside the async code, around each synchronous step)');
  }
  const keepSet = new Set<Tensor>();
  collect(result, keepSet);
  for (const t of scope) if (!keepSet.has(t)) t.dispose();
  if (scopes.length) for (const t of keepSet) if (scope.has(t)) scopes[scopes.length - 1].add(t);
  return result;
}

function isThenable(x: unknown): boolean {
  return x instanceof Promise || (x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function');
}

/** Exempts a tensor from the enclosing tidy() scopes. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Live tensors and the bytes they hold, per device (freed blocks kept for reuse are not counted). */
export function memory(): MemoryInfo {
  const { tensors, bytes } = addon.memory();
  return { tensors, bytes };
}
/** Bytes of freed blocks kept for reuse, per device (ECHOGEN_CACHE_MB caps each; 0 disables). */
export function cachedBytes(): { cpu: number; cuda: number } { return addon.memory().cached; }
/** Returns every cached block to the system (or the CUDA driver). */
export function emptyCache(): void { addon.emptyCache(); }
export function backends(): Device[] { return addon.backends(); }
export function buildInfo(): ReturnType<typeof addon.info> { return addon.info(); }
