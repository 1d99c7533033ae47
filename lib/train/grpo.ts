// The GRPO objective on per-token log-probabilities (DeepSeekMath, eq. 3), written with the few ops
// the graph has. For token i with ratio r = exp(logp - logp_old) and its sequence's advantage A:
//   surrogate_i = min(r A, clip(r, 1-eps, 1+eps) A)
// The min picks the unclipped term exactly when (A >= 0 and r <= 1+eps) or (A < 0 and r >= 1-eps);
// otherwise the term is a constant with zero gradient. So the loss is -mean(active * r * A) plus a
// constant, which needs no clamp/min op and has the same gradient. The KL penalty is the k3
// estimator of KL(pi || pi_ref): exp(ref - logp) - (ref - logp) - 1 (unbiased, always >= 0).
import { Tensor, tensor } from '../tensor';
import * as ops from '../autograd';

export interface GrpoOptions {
  /** Clip range of the ratio (default 0.2). */
  eps?: number;
  /** Weight of the k3 KL to the reference policy (default 0.04). */
  beta?: number;
}

export interface GrpoStats {
  /** The full objective's value (surrogate + beta * KL), as minimised. */
  loss: number;
  /** Mean k3 KL per token. */
  kl: number;
  /** Share of tokens whose ratio was clipped. */
  clipFraction: number;
  meanRatio: number;
}

export interface GrpoInputs {
  /** [N] log-probabilities of the sampled tokens under the policy being trained (with grad). */
  logp: Tensor;
  /** [N] the same under the policy that sampled them (constants). */
  oldLogp: Float32Array;
  /** [N] the same under the frozen reference (DJO) model (constants). */
  refLogp: Float32Array;
  /** [N] each token's sequence advantage. */
  advantage: Float32Array;
}

function checkLengths(x: GrpoInputs): number {
  const N = x.logp.size;
  if (x.logp.rank !== 1) throw new RangeError(`grpoLoss: logp must have shape [N], got [${x.logp.shape}]`);
  for (const k of ['oldLogp', 'refLogp', 'advantage'] as const) {
    if (x[k].length !== N) throw new RangeError(`grpoLoss: ${k} must have ${N} entries (one per token of logp), got ${x[k].length}`);
  }
  if (N === 0) throw new RangeError('grpoLoss: no tokens');
  return N;
}

/** The objective in float64 on plain numbers: the reference the tests hold the graph version to. */
export function grpoObjective(logp: ArrayLike<number>, x: Omit<GrpoInputs, 'logp'>, opts: GrpoOptions = {}): GrpoStats {
  const eps = opts.eps ?? 0.2, beta = opts.beta ?? 0.04;
  const N = logp.length;
  let surr = 0, kl = 0, clipped = 0, ratioSum = 0;
  for (let i = 0; i < N; i++) {
    const r = Math.exp(logp[i] - x.oldLogp[i]);
    const a = x.advantage[i];
    const rc = Math.min(1 + eps, Math.max(1 - eps, r));
    surr += Math.min(r * a, rc * a);
    if (rc !== r) clipped++;
    ratioSum += r;
    const d = x.refLogp[i] - logp[i];
    kl += Math.exp(d) - d - 1;
  }
  return { loss: -surr / N + beta * kl / N, kl: kl / N, clipFraction: clipped / N, meanRatio: ratioSum / N };
}

/** The GRPO loss as a graph scalar (gradient = the objective's), with its statistics. */
export function grpoLoss(x: GrpoInputs, opts: GrpoOptions = {}): { loss: Tensor; stats: GrpoStats } {
  const N = checkLengths(x);
  const eps = opts.eps ?? 0.2, beta = opts.beta ?? 0.04;
  const logpNow = x.logp.toArray();
  const stats = grpoObjective(logpNow, x, opts);
  const active = new Float32Array(N);
  // The clipped tokens' terms are constants; adding them (and k3's -1) makes the graph value equal stats.loss.
  let constant = beta > 0 ? -beta : 0;
  for (let i = 0; i < N; i++) {
    const r = Math.exp(logpNow[i] - x.oldLogp[i]);
    const a = x.advantage[i];
    const on = a >= 0 ? r <= 1 + eps : r >= 1 - eps;
    active[i] = on ? a : 0;
    if (!on) constant -= (a >= 0 ? 1 + eps : 1 - eps) * a / N;
  }
  const dev = x.logp.device;
  const old = tensor(x.oldLogp, [N], { device: dev });
  const ref = tensor(x.refLogp, [N], { device: dev });
  const w = tensor(active, [N], { device: dev });
  const ratio = ops.exp(ops.sub(x.logp, old));
  let loss = ops.scale(ops.sum(ops.mul(ratio, w)), -1 / N);
  if (beta > 0) {
    const d = ops.sub(ref, x.logp);
    loss = ops.add(loss, ops.scale(ops.sum(ops.sub(ops.exp(d), d)), beta / N));
  }
  return { loss: ops.addScalar(loss, constant), stats };
}
