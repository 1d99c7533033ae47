// Argument checks shared by the ops: errors name the public op and the argument.
import { Tensor } from '../tensor';
import { handleOf } from '../kernels/support';

/** x itself when it is a live Tensor; otherwise a TypeError "fn: name must be a Tensor, got ...". */
export function tensorArg(x: unknown, fn: string, name: string): Tensor {
  handleOf(x, fn, name);
  return x as Tensor;
}

export function numberArg(x: unknown, fn: string, name: string): number {
  if (typeof x !== 'number' || Number.isNaN(x)) throw new TypeError(`${fn}: ${name} must be a number, got ${String(x)}`);
  return x;
}

export function integerArg(x: unknown, fn: string, name: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x)) throw new TypeError(`${fn}: ${name} must be an integer, got ${String(x)}`);
  return x;
}
