// Differentiable matmul, linear, layer norm, (log-)softmax and cross-entropy on the fused kernels.
import { Tensor } from '../tensor';
import * as k from '../kernels/support';
import { tensorArg } from './check';
import { record } from './tape';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

// The number of rows of x viewed as [rows, last dim].
function leadingSize(x: Tensor): number {
  return x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
}

// The gradient of a 2-D operand shared across a batch: sum the per-batch gradients.
function toShape(g: Tensor, like: Tensor): Tensor {
  if (g.rank === like.rank) return g;
  const r = k.sumToShape(g, like.shape);
  g.dispose();
  return r;
}

/**
 * op(a) op(b) with op(x) = x or its transpose over the last two dims: a [...,M,K], b [...,K,N] with
 * equal batch dims, or either one 2-D (shared across the other's batch).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const ta = opts.transA === true, tb = opts.transB === true;
  const out = k.matmul(a, b, { transA: ta, transB: tb });
  return record(out, 'matmul', [a, b], (g) => {
    let da: Tensor | null = null, db: Tensor | null = null;
    if (a.requiresGrad) {
      // d op(a) = g op(b)^T
      da = ta ? k.matmul(b, g, { transA: tb, transB: true }) : k.matmul(g, b, { transB: !tb });
      da = toShape(da, a);
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank > 2 && !ta) {
        // shared b: fold a's batch into its rows, one GEMM gives the summed gradient
        const kk = a.shape[a.rank - 1], n = g.shape[g.rank - 1], rows = leadingSize(a);
        const a2 = a.reshape([rows, kk]), g2 = g.reshape([rows, n]);
        db = tb ? k.matmul(g2, a2, { transA: true }) : k.matmul(a2, g2, { transA: true });
        a2.dispose();
        g2.dispose();
      } else {
        // d op(b) = op(a)^T g
        db = tb ? k.matmul(g, a, { transA: true, transB: ta }) : k.matmul(a, g, { transA: !ta });
        db = toShape(db, b);
      }
    }
    return [da, db];
  });
}

/** x [..., in] W^T + b with w [out, in] and b [out] -> [..., out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor | null): Tensor {
  const out = k.linear(x, w, b);
  const inputs = b ? [x, w, b] : [x, w];
  return record(out, 'linear', inputs, (g) => {
    const inF = w.shape[1], outF = w.shape[0];
    const rows = leadingSize(x);
    const g2 = g.reshape([rows, outF]);
    let dx: Tensor | null = null, dw: Tensor | null = null;
    if (x.requiresGrad) {
      const dx2 = k.matmul(g2, w);
      dx = dx2.reshape(x.shape);
      dx2.dispose();
    }
    if (w.requiresGrad) {
      const x2 = x.reshape([rows, inF]);
      dw = k.matmul(g2, x2, { transA: true });
      x2.dispose();
    }
    g2.dispose();
    const db = b && b.requiresGrad ? k.sumToShape(g, [outF]) : null;
    return b ? [dx, dw, db] : [dx, dw];
  });
}

/** Layer norm over the last dim: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const { y, mean, rstd } = k.layerNorm(x, gamma, beta, eps);
  return record(y, 'layerNorm', [x, gamma, beta], (g) => {
    const r = k.layerNormBackward(g, x, gamma, mean, rstd);
    const keepOrDrop = (t: Tensor, needed: boolean): Tensor | null => {
      if (needed) return t;
      t.dispose();
      return null;
    };
    return [keepOrDrop(r.dx, x.requiresGrad), keepOrDrop(r.dgamma, gamma.requiresGrad), keepOrDrop(r.dbeta, beta.requiresGrad)];
  }, [mean, rstd]);
}

/** softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const y = k.softmax(x, false);
  return record(y, 'softmax', [x], (g) => [k.softmaxBackward(y, g, false)]);
}

/** log-softmax over the last dim. */
export function logSoftmax(x: Tensor): Tensor {
  const y = k.softmax(x, true);
  return record(y, 'logSoftmax', [x], (g) => [k.softmaxBackward(y, g, true)]);
}

export interface CrossEntropyOptions {
  /** Rows whose target equals this contribute 0 and are left out of the mean (default -100). */
  ignoreIndex?: number;
  /** 'mean' over non-ignored rows (default), 'sum', or 'none' (per row, 0 at ignored rows). */
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * Softmax cross-entropy of logits [N, V] (or [..., V]) against i32 targets [N] (or [...]).
 * With every row ignored the 'mean' is 0 (and so are the gradients), not NaN.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const fn = 'crossEntropy';
  tensorArg(logits, fn, 'logits');
  tensorArg(targets, fn, 'targets');
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
    throw new TypeError(`${fn}: options.reduction must be 'mean', 'sum' or 'none', got ${String(reduction)}`);
  if (!Number.isInteger(ignore)) throw new TypeError(`${fn}: options.ignoreIndex must be an integer, got ${String(ignore)}`);
  if (logits.rank < 1) throw new RangeError(`${fn}: logits must have at least 1 dimension, got a 0-d tensor`);
  const v = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  if (targets.shape.join(',') !== lead.join(','))
    throw new RangeError(`${fn}: targets must have shape [${lead}] (logits [${logits.shape}] without its last dim), got [${targets.shape}]`);
  const n = lead.reduce((a, b) => a * b, 1);
  const l2 = logits.reshape([n, v]), t1 = targets.reshape([n]);
  const { loss, lse } = k.crossEntropy(l2, t1, ignore);
  let out: Tensor;
  let alpha = 1;
  if (reduction === 'none') {
    out = loss.reshape(lead);
  } else {
    if (reduction === 'mean') {
      const ids = t1.toArray();
      let count = 0;
      for (let i = 0; i < ids.length; i++) if (ids[i] !== ignore) count++;
      alpha = count > 0 ? 1 / count : 0;
    }
    const row = loss.reshape([1, n]);
    const s = k.sumLastDim(row, alpha);
    out = s.reshape([]);
    row.dispose();
    s.dispose();
  }
  loss.dispose();
  return record(out, fn, [logits], (g) => {
    let dloss: Tensor;
    if (reduction === 'none') {
      dloss = g.reshape([n]);
    } else {
      const g1 = g.reshape([1]);
      const e = k.expandLastDim(g1, n, alpha);
      dloss = e.reshape([n]);
      g1.dispose();
      e.dispose();
    }
    const d = k.crossEntropyBackward(l2, t1, lse, dloss, ignore);
    dloss.dispose();
    const dl = d.reshape(logits.shape);
    d.dispose();
    return [dl];
  }, [lse, l2, t1]);
}
