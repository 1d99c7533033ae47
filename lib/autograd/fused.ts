// Differentiable attention and Gumbel-Softmax over the fused kernel families (lib/kernels:
// attention.ts and gumbel.ts, DESIGN.md section 3). Their wrappers are looked up by name so this
// file compiles before those families land; a missing one is a clear error at call time.
import { Tensor } from '../tensor';
import * as kernels from '../kernels';
import { numberArg, tensorArg } from './check';
import { record } from './tape';

export interface AttentionOptions {
  causal?: boolean;
  scale?: number;
  mask?: Tensor;
}

export interface GumbelSoftmaxOptions {
  tau: number;
  hard?: boolean;
  seed: number;
  offset?: number;
}

export interface GumbelSoftmaxResult {
  soft: Tensor;
  indices: Tensor;
  hard?: Tensor;
}

// The kernel contract of DESIGN.md section 3, as far as autograd uses it.
interface FusedKernels {
  attention(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionOptions): { out: Tensor; lse: Tensor };
  attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dOut: Tensor, opts?: AttentionOptions): { dq: Tensor; dk: Tensor; dv: Tensor };
  gumbelSoftmax(logits: Tensor, opts: GumbelSoftmaxOptions): GumbelSoftmaxResult;
  gumbelSoftmaxBackward(dy: Tensor, soft: Tensor, tau: number): Tensor;
}

function fusedKernel<K extends keyof FusedKernels>(name: K): FusedKernels[K] {
  const f = (kernels as unknown as Partial<FusedKernels>)[name];
  if (typeof f !== 'function') throw new Error(`echogen: kernels.${name} is missing from this build (the kernel family has not landed)`);
  return f as FusedKernels[K];
}

/**
 * Scaled dot-product attention on the fused kernel: q [B,H,Tq,D], k and v [B,H,Tk,D] -> [B,H,Tq,D].
 * The backward reruns the fused backward kernel from the saved log-sum-exp; mask gets no gradient.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  tensorArg(q, 'attention', 'q');
  tensorArg(k, 'attention', 'k');
  tensorArg(v, 'attention', 'v');
  const { out, lse } = fusedKernel('attention')(q, k, v, opts);
  return record(out, 'attention', [q, k, v], (g) => {
    const r = fusedKernel('attentionBackward')(q, k, v, out, lse, g, opts);
    const pick = (t: Tensor, needed: boolean): Tensor | null => {
      if (needed) return t;
      t.dispose();
      return null;
    };
    return [pick(r.dq, q.requiresGrad), pick(r.dk, k.requiresGrad), pick(r.dv, v.requiresGrad)];
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
  const r = fusedKernel('gumbelSoftmax')(flat, opts);
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
    const d = fusedKernel('gumbelSoftmaxBackward')(g2, s2, tau);
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
