// The one way lib/kernels reaches the addon. Every native op is exported twice, `name` (runs now)
// and `async.name` (a Promise; CPU work runs off the JS thread); wrappers export them as `name`
// and `nameAsync`. The native side checks every
// argument, accepts a Tensor where it wants a tensor (it reads `.handle`), and returns native
// handles, which become Tensors here. So a wrapper is one line and has no checks of its own.
// Async forms: argument errors reject with the sync form's error; the inputs' memory stays alive until
// the promise settles, so dispose() of an input meanwhile is deferred (the tensor reads as disposed at
// once, its memory goes when the op completes); an op writing an input in place owns it until then.
import { addon, inThisRealm, isNativeTensor } from '../native';
import { Tensor } from '../tensor';

/** A native op as the two forms a wrapper exports. */
export interface KernelOp<A extends unknown[], R> {
  sync(...args: A): R;
  async(...args: A): Promise<R>;
}

type NativeFn = (...args: unknown[]) => unknown;

// Native handles (alone, or as the fields of a result object) become Tensors.
function wrap(r: unknown): unknown {
  if (isNativeTensor(r)) return new Tensor(r);
  if (r === null || typeof r !== 'object') return r;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r)) out[key] = wrap(value);
  return out;
}

// Looked up on first use, so importing the package never depends on one function being built.
// The async forms live on the addon's `async` object under the same names.
function lookup(name: string, async: boolean): NativeFn {
  const holder = async ? (addon.async as Record<string, unknown> | undefined) ?? {} : addon;
  const fn = holder[name];
  if (typeof fn !== 'function') throw new Error(`echogen: the native addon has no function '${async ? 'async.' : ''}${name}'; rebuild with \`npm run build\``);
  return fn as NativeFn;
}

/**
 * The sync and async forms of native op `name`, typed by the wrapper's public signature A; `args`
 * maps those arguments to the native ones where they differ (defaults, argument names).
 */
export function kernelOp<A extends unknown[], R>(name: string, args: (...a: A) => unknown[] = (...a) => a): KernelOp<A, R> {
  let syncFn: NativeFn | undefined;
  let asyncFn: NativeFn | undefined;
  return {
    sync(...a: A): R {
      try {
        return wrap((syncFn ??= lookup(name, false))(...args(...a))) as R;
      } catch (e) {
        throw inThisRealm(e);
      }
    },
    async async(...a: A): Promise<R> {
      try {
        return wrap(await (asyncFn ??= lookup(name, true))(...args(...a))) as R;
      } catch (e) {
        throw inThisRealm(e);
      }
    },
  };
}
