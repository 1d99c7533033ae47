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
  memory(): MemoryInfo;
  info(): BuildInfo;
  synchronize(): void;
}

export const addon = bindings('echogen') as NativeCore & Record<string, unknown>;

/** A native function by name, typed by the caller; a missing one is a build/version mismatch. */
export function nativeFunction<F extends (...args: never[]) => unknown>(name: string): F {
  const fn = addon[name];
  if (typeof fn !== 'function') throw new Error(`echogen: the native addon has no function '${name}'; rebuild with \`npm run build\``);
  return fn as F;
}

export function isNativeTensor(x: unknown): x is NativeTensor {
  return x instanceof addon.NativeTensor;
}
