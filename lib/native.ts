// Loads the compiled addon (build/Release/echogen.node) and describes the part of it that every
// op family shares. Op families look their own functions up with nativeFunction().
import bindings from 'bindings';

export type DType = 'f32' | 'i32';
export type Device = 'cpu' | 'cuda';

/** The native tensor handle; the public Tensor class wraps one. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly device: Device;
  readonly disposed: boolean;
  readonly size: number;
  toArray(): Float32Array | Int32Array;
  to(device: Device): NativeTensor;
  reshape(shape: number[]): NativeTensor;
  clone(): NativeTensor;
  dispose(): void;
}

export interface MemoryInfo {
  tensors: number;
  bytes: { cpu: number; cuda: number };
}

interface NativeMemoryInfo extends MemoryInfo {
  cached: { cpu: number; cuda: number };
}

export interface BuildInfo {
  threads: number;
  cudaCompiled: boolean;
  cudaAvailable: boolean;
  cudaDevice?: string;
  cudaError?: string;
  avx2: boolean;
}

interface NativeCore {
  NativeTensor: new (...args: never[]) => NativeTensor;
  fromArray(data: Float32Array | Int32Array, shape: number[], dtype: DType, device: Device): NativeTensor;
  zeros(shape: number[], dtype: DType, device: Device): NativeTensor;
  backends(): Device[];
  memory(): NativeMemoryInfo;
  emptyCache(): void;
  info(): BuildInfo;
  synchronize(): void;
}

// ECHOGEN_ADDON names another build of the addon (the sanitizer build of scripts/fuzz.js, say).
const raw = (process.env.ECHOGEN_ADDON ? require(process.env.ECHOGEN_ADDON) : bindings('echogen')) as NativeCore & Record<string, unknown>;

/**
 * Native errors are created in the addon's realm; inside a vm context (jest, for one) they would fail
 * `instanceof TypeError`. Re-create them in this realm with the same class name and message.
 */
export function inThisRealm(e: unknown): unknown {
  if (e instanceof Error || e === null || typeof e !== 'object' || !('message' in e)) return e;
  const { name, message } = e as { name?: string; message: string };
  const Ctor = name === 'TypeError' ? TypeError : name === 'RangeError' ? RangeError : Error;
  return new Ctor(message);
}

function guarded<F extends (...args: never[]) => unknown>(fn: F, self: unknown = undefined): F {
  return ((...args: never[]) => {
    try {
      return fn.apply(self, args);
    } catch (e) {
      throw inThisRealm(e);
    }
  }) as F;
}

export const addon: NativeCore & Record<string, unknown> = {
  ...raw,
  NativeTensor: raw.NativeTensor,
  fromArray: guarded(raw.fromArray),
  zeros: guarded(raw.zeros),
  backends: guarded(raw.backends, raw),
  memory: guarded(raw.memory, raw),
  info: guarded(raw.info, raw),
  synchronize: guarded(raw.synchronize, raw),
  emptyCache: guarded(raw.emptyCache, raw),
};

/** A native function by name, typed by the caller; a missing one is a build/version mismatch. */
export function nativeFunction<F extends (...args: never[]) => unknown>(name: string): F {
  const fn = raw[name];
  if (typeof fn !== 'function') throw new Error(`echogen: the native addon has no function '${name}'; rebuild with \`npm run build\``);
  return guarded(fn as F);
}

/** Calls a method of a native handle, translating its errors into this realm. */
export function callNative<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw inThisRealm(e);
  }
}

export function isNativeTensor(x: unknown): x is NativeTensor {
  return x instanceof addon.NativeTensor;
}
