// Differentiable layout ops (reshape, permute, concat, slice) and row gathers (embedding).
import { Tensor } from '../tensor';
import * as k from '../kernels/support';
import { integerArg, tensorArg } from './check';
import { record } from './tape';

/** A view of x with another shape (one entry may be -1: inferred). */
export function reshape(x: Tensor, shape: number[]): Tensor {
  tensorArg(x, 'reshape', 'x');
  if (!Array.isArray(shape)) throw new TypeError('reshape: shape must be an array of integers');
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const holes = shape.filter((d) => d === -1).length;
  let resolved = shape;
  if (holes > 1) throw new RangeError(`reshape: at most one dim may be -1, got [${shape}]`);
  if (holes === 1) {
    if (known === 0 || x.size % known !== 0)
      throw new RangeError(`reshape: cannot view x [${x.shape}] (${x.size} elements) as [${shape}]`);
    resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  const out = x.reshape(resolved);
  return record(out, 'reshape', [x], (g) => [g.reshape(x.shape)]);
}

/** y.shape[i] = x.shape[dims[i]] (a copy). */
export function permute(x: Tensor, dims: number[]): Tensor {
  const out = k.permute(tensorArg(x, 'permute', 'x'), dims);
  const rank = x.rank;
  const inverse = new Array<number>(rank);
  dims.forEach((d, i) => { inverse[d < 0 ? d + rank : d] = i; });
  return record(out, 'permute', [x], (g) => [k.permute(g, inverse)]);
}

/** Swaps two dims (a copy). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const rank = tensorArg(x, 'transpose', 'x').rank;
  const norm = (d: number, name: string): number => {
    integerArg(d, 'transpose', name);
    if (d < -rank || d >= rank) throw new RangeError(`transpose: ${name} must lie in [${-rank}, ${rank}), got ${d}`);
    return d < 0 ? d + rank : d;
  };
  const a = norm(dim0, 'dim0'), b = norm(dim1, 'dim1');
  const dims = Array.from({ length: rank }, (_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, dims);
}

/** The tensors of xs joined along axis (every other dim equal). */
export function concat(xs: Tensor[], axis: number): Tensor {
  const out = k.concat(xs, axis);
  const ax = axis < 0 ? axis + out.rank : axis;
  const starts: number[] = [];
  let off = 0;
  for (const x of xs) { starts.push(off); off += x.shape[ax]; }
  return record(out, 'concat', xs, (g) => xs.map((x, i) => (x.requiresGrad ? k.slice(g, ax, starts[i], starts[i] + x.shape[ax]) : null)));
}

/** The elements start <= i < end along axis (a copy). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const out = k.slice(tensorArg(x, 'slice', 'x'), axis, start, end);
  const ax = axis < 0 ? axis + x.rank : axis;
  const size = x.shape[ax];
  return record(out, 'slice', [x], (g) => [k.sliceBackward(g, ax, start, size)]);
}

/** table [V, D] at ids i32 [...S] -> [...S, D]; an id outside [0, V) is a RangeError. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const out = k.embedding(tensorArg(table, 'embedding', 'table'), tensorArg(ids, 'embedding', 'ids'));
  const rows = table.shape[0];
  return record(out, 'embedding', [table], (g) => [k.embeddingBackward(g, ids, rows)]);
}

/** x [N, D] rows at idx i32 [M] -> [M, D] (an embedding lookup with a 1-D index). */
export function gatherRows(x: Tensor, idx: Tensor): Tensor {
  tensorArg(x, 'gatherRows', 'x');
  tensorArg(idx, 'gatherRows', 'idx');
  if (x.rank !== 2) throw new RangeError(`gatherRows: x must have 2 dimensions [N, D], got [${x.shape}]`);
  if (idx.rank !== 1) throw new RangeError(`gatherRows: idx must have 1 dimension [M], got [${idx.shape}]`);
  if (idx.dtype !== 'i32') throw new TypeError(`gatherRows: idx must be i32, got ${idx.dtype}`);
  const out = k.embedding(x, idx, 'gatherRows', ['x', 'idx']);
  const rows = x.shape[0];
  return record(out, 'gatherRows', [x], (g) => [k.embeddingBackward(g, idx, rows)]);
}
