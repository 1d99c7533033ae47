// Differentiable attention and Gumbel-Softmax over the fused kernel families (lib/kernels/attention.ts
// and gumbel.ts, docs/design.md section 3): the forward kernels' saved outputs (attention's lse, the
// Gumbel soft sample) are all their backward kernels need.
import { Tensor } from '../tensor';
import * as kernels from '../kernels';
import type { AttentionOptions, GumbelSoftmaxOptions, GumbelSoftmaxResult } from '../kernels';
import { numberArg, tensorArg } from './check';
import { record } from './tape';

export type { AttentionOptions, GumbelSoftmaxOptions, GumbelSoftmaxResult } from '../kernels';

function keepIf(t: Tensor, needed: boolean): Tensor | null {
  if (needed) return t;
  t.dispose();
  return null;
}

/**
 * Scaled dot-product attention on the fused kernel: q [B,H,Tq,D], k and v [B,H,Tk,D] -> [B,H,Tq,D].
 * The backward reruns the fused backward kernel from the saved log-sum-exp; mask gets no gradient.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const { out, lse } = kernels.attention(q, k, v, opts);
  return record(out, 'attention', [q, k, v], (g) => {
    const r = kernels.attentionBackward(q, k, v, out, lse, g, opts);
    return [keepIf(r.dq, q.requiresGrad), keepIf(r.dk, k.requiresGrad), keepIf(r.dv, v.requiresGrad)];
  }, [lse]);
}

/**
 * Gumbel-Softmax of logits [N, V] (or [..., V]): soft = softmax((logits + g) / tau) with Gumbel
 * noise g fixed by (seed, offset); indices = argmax(logits + g); with hard, the one-hot of indices,
 * whose gradient passes straight through to soft.
 */
export function gumbelSoftmax(logits: Tensor, opts: GumbelSoftmaxOptions): GumbelSoftmaxResult {
  tensorArg(logits, 'gumbelSoftmax', 'logits');
  if (opts === null || typeof opts !== 'object') throw new TypeError('gumbelSoftmax: opts must be an object { tau, seed, hard?, offset? }');
  const tau = numberArg(opts.tau, 'gumbelSoftmax', 'opts.tau');
  if (logits.rank < 1) throw new RangeError('gumbelSoftmax: logits must have at least 1 dimension, got a 0-d tensor');
  const v = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  const flatShape = [lead.reduce((a, b) => a * b, 1), v];
  const flat = logits.rank === 2 ? logits : logits.reshape(flatShape);
  const r = kernels.gumbelSoftmax(flat, opts);
  if (flat !== logits) flat.dispose();
  const back = (t: Tensor, shape: number[]): Tensor => {
    if (t.shape.join(',') === shape.join(',')) return t;
    const view = t.reshape(shape);
    t.dispose();
    return view;
  };
  const soft = back(r.soft, logits.shape);
  const indices = back(r.indices, lead);
  record(soft, 'gumbelSoftmax', [logits], (g) => {
    const g2 = g.reshape(flatShape), s2 = soft.reshape(flatShape);
    const d = kernels.gumbelSoftmaxBackward(g2, s2, tau);
    g2.dispose();
    s2.dispose();
    const dl = d.reshape(logits.shape);
    d.dispose();
    return [dl];
  });
  const result: GumbelSoftmaxResult = { soft, indices };
  if (r.hard) {
    // straight-through: hard = onehot + soft - stopgrad(soft), so d hard / d soft is the identity
    result.hard = record(back(r.hard, logits.shape), 'gumbelSoftmaxHard', [soft], (g) => [g]);
  }
  return result;
}

/**
 * gelu(x + b) (tanh GELU) with b [C] broadcast over x [..., C], on the fused support kernel: an
 * MLP's bias add and activation in one pass, forward and backward (dx and db from one kernel).
 */
export function biasGelu(x: Tensor, b: Tensor): Tensor {
  const y = kernels.support.biasGelu(x, b);
  return record(y, 'biasGelu', [x, b], (g) => {
    const r = kernels.support.biasGeluBackward(x, b, g);
    return [keepIf(r.dx, x.requiresGrad), keepIf(r.db, b.requiresGrad)];
  });
}
