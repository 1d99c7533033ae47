// Differentiable attention and Gumbel-Softmax over the fused kernel families (lib/kernels/attention.ts
// and gumbel.ts, docs/design.md section 3): the forward kernels' saved outputs (attention's lse, the
// Gumbel soft sample) are all their backward kernels need.
import { Tensor } from '../tensor';
import * as kernels from '../kernels';
import type { AttentionOptions, GumbelSoftmaxOptions, GumbelSoftmaxResult } from '../kernels';
import { integerArg, numberArg, tensorArg } from './check';
import { isGradEnabled, record } from './tape';

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

/** What packedAttention does to k and v before attending: a KV cache's append (no gradient). */
export type KvAppend = (k: Tensor, v: Tensor) => { k: Tensor; v: Tensor };

/** x viewed as `shape`; x itself is disposed (the view keeps the storage). */
function view(x: Tensor, shape: number[]): Tensor {
  const v = x.reshape(shape);
  x.dispose();
  return v;
}

/** x viewed as `shape`, then permuted by `dims` (a copy); x is left as it was. */
function permuteAs(x: Tensor, shape: number[], dims: number[]): Tensor {
  const v = x.reshape(shape);
  try {
    return kernels.support.permute(v, dims);
  } finally {
    v.dispose();
  }
}

/**
 * Multi-head attention from one packed projection: qkv [B, T, 3*H*Dh] (the q, k and v of every
 * token side by side, each H heads of Dh) -> [B, T, H*Dh], the heads' outputs side by side. The
 * kernels read q, k and v where the projection wrote them and write the heads merged, forward and
 * backward (d(qkv) in one tensor), so nothing is copied. `kvAppend` (decoding, under noGrad)
 * replaces k and v by what it returns, the keys and values of every position so far: that path
 * splits qkv into [B, H, T, Dh] tensors, the cache's layout.
 */
export function packedAttention(qkv: Tensor, heads: number, opts: AttentionOptions & { kvAppend?: KvAppend } = {}): Tensor {
  tensorArg(qkv, 'packedAttention', 'qkv');
  const H = integerArg(heads, 'packedAttention', 'heads');
  if (qkv.rank !== 3 || H < 1 || qkv.shape[2] % (3 * H) !== 0) {
    throw new RangeError(`packedAttention: qkv must have shape [B, T, 3 * heads * headDim] with heads = ${heads} >= 1, got [${qkv.shape}]`);
  }
  const { kvAppend, ...attn } = opts;
  if (kvAppend) return cachedAttention(qkv, H, attn, kvAppend);
  const { out, lse } = kernels.packedAttention(qkv, H, attn);
  return record(out, 'packedAttention', [qkv], (g) => [kernels.packedAttentionBackward(qkv, out, lse, g, H, attn).dqkv], [lse]);
}

/** packedAttention's decoding step: k and v appended to a cache in [B, H, T, Dh]; no gradient. */
function cachedAttention(qkv: Tensor, H: number, attn: AttentionOptions, kvAppend: KvAppend): Tensor {
  if (isGradEnabled()) throw new Error('packedAttention: kvAppend (decoding with a KV cache) must run under ops.noGrad()');
  const [B, T, C] = qkv.shape, D = C / 3, Dh = D / H;
  const split = permuteAs(qkv, [B, T, 3, H, Dh], [2, 0, 3, 1, 4]);
  const part = (i: number): Tensor => view(kernels.support.slice(split, 0, i, i + 1), [B, H, T, Dh]);
  const q = part(0);
  let k = part(1), v = part(2);
  split.dispose();
  const appended = kvAppend(k, v);
  if (appended.k !== k) k.dispose();
  if (appended.v !== v) v.dispose();
  ({ k, v } = appended);
  const { out, lse } = kernels.attention(q, k, v, attn);
  const y = view(kernels.support.permute(out, [0, 2, 1, 3]), [B, T, D]);
  // k and v now belong to the cache.
  for (const t of [q, out, lse]) t.dispose();
  return y;
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
  const back = (t: Tensor, shape: number[]): Tensor => (t.shape.join(',') === shape.join(',') ? t : view(t, shape));
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
