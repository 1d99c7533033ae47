// Differentiable elementwise ops: suffix-broadcast add/sub/mul, scalar affine maps and activations.
import { Tensor } from '../tensor';
import * as k from '../kernels/support';
import { numberArg, tensorArg } from './check';
import { record } from './tape';

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);
}

// The gradient of a broadcast operand: g summed over a's leading dims down to b's shape.
function reduceTo(g: Tensor, like: Tensor, alpha = 1): Tensor {
  if (sameShape(g, like)) return alpha === 1 ? g : k.affine(g, alpha, 0);
  return k.sumToShape(g, like.shape, alpha);
}

/** a + b; b has a's shape or a suffix of it (broadcast over a's leading dims). */
export function add(a: Tensor, b: Tensor): Tensor {
  const out = k.binary(a, b, 'add');
  return record(out, 'add', [a, b], (g) => [a.requiresGrad ? g : null, b.requiresGrad ? reduceTo(g, b) : null]);
}

/** a - b; b has a's shape or a suffix of it. */
export function sub(a: Tensor, b: Tensor): Tensor {
  const out = k.binary(a, b, 'sub');
  return record(out, 'sub', [a, b], (g) => [a.requiresGrad ? g : null, b.requiresGrad ? reduceTo(g, b, -1) : null]);
}

/** a * b elementwise; b has a's shape or a suffix of it. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const out = k.binary(a, b, 'mul');
  return record(out, 'mul', [a, b], (g) => {
    const da = a.requiresGrad ? k.binary(g, b, 'mul') : null;
    let db: Tensor | null = null;
    if (b.requiresGrad) {
      const ga = k.binary(g, a, 'mul');
      db = reduceTo(ga, b);
      if (db !== ga) ga.dispose();
    }
    return [da, db];
  });
}

/** x * s. */
export function scale(x: Tensor, s: number): Tensor {
  const out = k.affine(tensorArg(x, 'scale', 'x'), numberArg(s, 'scale', 's'), 0);
  return record(out, 'scale', [x], (g) => [k.affine(g, s, 0)]);
}

/** x + s. */
export function addScalar(x: Tensor, s: number): Tensor {
  const out = k.affine(tensorArg(x, 'addScalar', 'x'), 1, numberArg(s, 'addScalar', 's'));
  return record(out, 'addScalar', [x], (g) => [g]);
}

/** -x. */
export function neg(x: Tensor): Tensor {
  const out = k.affine(tensorArg(x, 'neg', 'x'), -1, 0);
  return record(out, 'neg', [x], (g) => [k.affine(g, -1, 0)]);
}

// exp, tanh and sigmoid differentiate from their output; log, relu and gelu from their input.
function activation(x: Tensor, op: k.UnaryOpName, fromOutput: boolean): Tensor {
  const out = k.unary(x, op);
  return record(out, op, [x], (g) => [k.unaryBackward(fromOutput ? out : x, g, op)]);
}

export const exp = (x: Tensor): Tensor => activation(x, 'exp', true);
export const log = (x: Tensor): Tensor => activation(x, 'log', false);
export const tanh = (x: Tensor): Tensor => activation(x, 'tanh', true);
export const sigmoid = (x: Tensor): Tensor => activation(x, 'sigmoid', true);
export const relu = (x: Tensor): Tensor => activation(x, 'relu', false);
/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export const gelu = (x: Tensor): Tensor => activation(x, 'gelu', false);
