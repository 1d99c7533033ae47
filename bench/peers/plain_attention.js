// Plain JS attention (Float32Array loops, no native code): the textbook algorithm, one query row
// at a time: scores, softmax, weighted sum of values; and its backward. Layout [B*H, T, D].
'use strict';

/** out [BH,Tq,D] and lse [BH,Tq] of softmax(scale q k^T) v; causal is bottom-right aligned. */
function attention(q, k, v, { BH, Tq, Tk, D, causal = false, scale = 1 / Math.sqrt(D) }) {
  const out = new Float32Array(BH * Tq * D);
  const lse = new Float32Array(BH * Tq);
  const s = new Float32Array(Tk);
  for (let bh = 0; bh < BH; bh++) {
    const qo = bh * Tq * D, ko = bh * Tk * D;
    for (let i = 0; i < Tq; i++) {
      const seen = causal ? Math.max(0, Math.min(Tk, i + Tk - Tq + 1)) : Tk;
      let max = -Infinity;
      for (let j = 0; j < seen; j++) {
        let dot = 0;
        for (let c = 0; c < D; c++) dot += q[qo + i * D + c] * k[ko + j * D + c];
        s[j] = dot * scale;
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j < seen; j++) sum += (s[j] = Math.exp(s[j] - max));
      lse[bh * Tq + i] = seen ? max + Math.log(sum) : -Infinity;
      const o = qo + i * D;
      for (let j = 0; j < seen; j++) {
        const p = s[j] / sum;
        for (let c = 0; c < D; c++) out[o + c] += p * v[ko + j * D + c];
      }
    }
  }
  return { out, lse };
}

/** dq, dk, dv of attention given dOut, recomputing the probabilities from lse. */
function attentionBackward(q, k, v, out, lse, dOut, { BH, Tq, Tk, D, causal = false, scale = 1 / Math.sqrt(D) }) {
  const dq = new Float32Array(BH * Tq * D);
  const dk = new Float32Array(BH * Tk * D);
  const dv = new Float32Array(BH * Tk * D);
  for (let bh = 0; bh < BH; bh++) {
    const qo = bh * Tq * D, ko = bh * Tk * D;
    for (let i = 0; i < Tq; i++) {
      const seen = causal ? Math.max(0, Math.min(Tk, i + Tk - Tq + 1)) : Tk;
      const o = qo + i * D;
      let delta = 0;
      for (let c = 0; c < D; c++) delta += dOut[o + c] * out[o + c];
      for (let j = 0; j < seen; j++) {
        let dot = 0, dp = 0;
        for (let c = 0; c < D; c++) {
          dot += q[o + c] * k[ko + j * D + c];
          dp += dOut[o + c] * v[ko + j * D + c];
        }
        const p = Math.exp(dot * scale - lse[bh * Tq + i]);
        const ds = p * (dp - delta) * scale;
        for (let c = 0; c < D; c++) {
          dq[o + c] += ds * k[ko + j * D + c];
          dk[ko + j * D + c] += ds * q[o + c];
          dv[ko + j * D + c] += p * dOut[o + c];
        }
      }
    }
  }
  return { dq, dk, dv };
}

module.exports = { attention, attentionBackward };
