// Differentiable reductions: sum and mean of everything (0-d results) or over the last dim.
import { Tensor } from '../tensor';
import * as k from '../kernels/support';
import { tensorArg } from './check';
import { record } from './tape';

// x viewed as one row, summed with weight alpha, as a 0-d tensor.
function total(x: Tensor, alpha: number, name: string): Tensor {
  k.handleOf(x, name, 'x');
  const n = x.size;
  const row = x.reshape([1, n]);
  const s = k.sumLastDim(row, alpha);
  row.dispose();
  const out = s.reshape([]);
  s.dispose();
  return record(out, name, [x], (g) => {
    const g1 = g.reshape([1]);
    const e = k.expandLastDim(g1, n, alpha);
    g1.dispose();
    const dx = e.reshape(x.shape);
    e.dispose();
    return [dx];
  });
}

/** The sum of every element, as a 0-d tensor. */
export const sum = (x: Tensor): Tensor => total(x, 1, 'sum');
/** The mean of every element, as a 0-d tensor (NaN for an empty tensor). */
export const mean = (x: Tensor): Tensor => total(x, 1 / tensorArg(x, 'mean', 'x').size, 'mean');

function lastDim(x: Tensor, mean: boolean): Tensor {
  const name = mean ? 'meanLastDim' : 'sumLastDim';
  k.handleOf(x, name, 'x');
  if (x.rank < 1) throw new RangeError(`${name}: x must have at least 1 dimension, got a 0-d tensor`);
  const d = x.shape[x.rank - 1];
  const alpha = mean ? 1 / d : 1;
  const out = k.sumLastDim(x, alpha);
  return record(out, name, [x], (g) => [k.expandLastDim(g, d, alpha)]);
}

/** [..., D] -> [...]: the sum over the last dim. */
export const sumLastDim = (x: Tensor): Tensor => lastDim(x, false);
/** [..., D] -> [...]: the mean over the last dim. */
export const meanLastDim = (x: Tensor): Tensor => lastDim(x, true);
