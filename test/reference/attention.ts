// Float64 reference attention: the whole score matrix, a plain softmax, and its gradient by the
// chain rule. Written independently of the kernels (no tiling, no online softmax, natural exp).

export interface RefProblem {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  D: number;
  q: ArrayLike<number>;
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  causal?: boolean;
  scale?: number;
  /** [Tq,Tk] or [B,Tq,Tk] (batched), nonzero = may attend */
  mask?: ArrayLike<number>;
  maskBatched?: boolean;
}

export interface RefForward {
  out: Float64Array;
  lse: Float64Array;
  /** probabilities [B*H, Tq, Tk] (0 where hidden) */
  probs: Float64Array;
}

export interface RefBackward {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

export function refVisible(p: RefProblem, b: number, i: number, j: number): boolean {
  if (p.causal && j > i + (p.Tk - p.Tq)) return false;
  if (p.mask) {
    const base = p.maskBatched ? b * p.Tq * p.Tk : 0;
    if (!p.mask[base + i * p.Tk + j]) return false;
  }
  return true;
}

function scaleOf(p: RefProblem): number {
  return p.scale ?? 1 / Math.sqrt(p.D);
}

export function refAttention(p: RefProblem): RefForward {
  const { B, H, Tq, Tk, D } = p;
  const scale = scaleOf(p);
  const out = new Float64Array(B * H * Tq * D);
  const lse = new Float64Array(B * H * Tq);
  const probs = new Float64Array(B * H * Tq * Tk);
  const s = new Float64Array(Tk);
  for (let bh = 0; bh < B * H; bh++) {
    const b = Math.floor(bh / H);
    for (let i = 0; i < Tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < Tk; j++) {
        if (!refVisible(p, b, i, j)) { s[j] = -Infinity; continue; }
        let dot = 0;
        for (let c = 0; c < D; c++) dot += p.q[(bh * Tq + i) * D + c] * p.k[(bh * Tk + j) * D + c];
        s[j] = dot * scale;
        max = Math.max(max, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) if (s[j] !== -Infinity) sum += Math.exp(s[j] - max);
      lse[bh * Tq + i] = sum > 0 ? max + Math.log(sum) : -Infinity;
      for (let j = 0; j < Tk; j++) {
        const pr = s[j] === -Infinity ? 0 : Math.exp(s[j] - max) / sum;
        probs[(bh * Tq + i) * Tk + j] = pr;
        for (let c = 0; c < D; c++) out[(bh * Tq + i) * D + c] += pr * p.v[(bh * Tk + j) * D + c];
      }
    }
  }
  return { out, lse, probs };
}

/** Gradients of sum(dOut * out) with respect to q, k and v. */
export function refAttentionBackward(p: RefProblem, dOut: ArrayLike<number>): RefBackward {
  const { B, H, Tq, Tk, D } = p;
  const scale = scaleOf(p);
  const { probs } = refAttention(p);
  const dq = new Float64Array(B * H * Tq * D);
  const dk = new Float64Array(B * H * Tk * D);
  const dv = new Float64Array(B * H * Tk * D);
  const dp = new Float64Array(Tk);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < Tq; i++) {
      const row = (bh * Tq + i) * Tk;
      // softmax Jacobian: dz_j = P_j (dP_j - sum_l P_l dP_l)
      let dot = 0;
      for (let j = 0; j < Tk; j++) {
        let x = 0;
        for (let c = 0; c < D; c++) x += dOut[(bh * Tq + i) * D + c] * p.v[(bh * Tk + j) * D + c];
        dp[j] = x;
        dot += probs[row + j] * x;
      }
      for (let j = 0; j < Tk; j++) {
        const pr = probs[row + j];
        const dz = pr * (dp[j] - dot) * scale;
        for (let c = 0; c < D; c++) {
          dq[(bh * Tq + i) * D + c] += dz * p.k[(bh * Tk + j) * D + c];
          dk[(bh * Tk + j) * D + c] += dz * p.q[(bh * Tq + i) * D + c];
          dv[(bh * Tk + j) * D + c] += pr * dOut[(bh * Tq + i) * D + c];
        }
      }
    }
  }
  return { dq, dk, dv };
}

/** The scalar loss sum(dOut * out) in float64, for finite differences. */
export function refLoss(p: RefProblem, dOut: ArrayLike<number>): number {
  const { out } = refAttention(p);
  let loss = 0;
  for (let i = 0; i < out.length; i++) loss += dOut[i] * out[i];
  return loss;
}

/** max|got - ref| / max|ref| over finite entries; matching infinities count as exact, others as Infinity. */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (!Number.isFinite(r) || !Number.isFinite(g)) {
      if (g === r) continue;
      return Infinity;
    }
    maxErr = Math.max(maxErr, Math.abs(g - r));
    maxRef = Math.max(maxRef, Math.abs(r));
  }
  return maxRef > 0 ? maxErr / maxRef : maxErr;
}
