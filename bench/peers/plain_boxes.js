// Plain JS peers of the box kernels: straightforward Float32Array loops, no native code, the same
// definitions as the contract (zero union -> 0; masked means; unbiased std; equal group -> 0).
'use strict';

function pairIou(ax1, ay1, ax2, ay2, bx1, by1, bx2, by2) {
  const iw = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const ih = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = iw * ih, union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** a [n,4], b [m,4] (Float32Array) -> [n,m] Float32Array of IoU, or GIoU when giou. */
function boxIou(a, b, giou = false) {
  const n = a.length / 4, m = b.length / 4, out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
    const areaA = (ax2 - ax1) * (ay2 - ay1);
    for (let j = 0; j < m; j++) {
      const bx1 = b[4 * j], by1 = b[4 * j + 1], bx2 = b[4 * j + 2], by2 = b[4 * j + 3];
      const iw = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
      const ih = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
      const inter = iw * ih, union = areaA + (bx2 - bx1) * (by2 - by1) - inter;
      let v = union > 0 ? inter / union : 0;
      if (giou) {
        const c = (Math.max(ax2, bx2) - Math.min(ax1, bx1)) * (Math.max(ay2, by2) - Math.min(ay1, by1));
        if (c > 0) v -= (c - union) / c;
      }
      out[i * m + j] = v;
    }
  }
  return out;
}

/** pred [B,G,N,4], target [B,N,4], mask [B,N] or null -> { reward, advantage, iou }. */
function cycleReward(pred, target, mask, B, G, N, { iouWeight = 1, l1Weight = 1, eps = 1e-4 } = {}) {
  const reward = new Float32Array(B * G), advantage = new Float32Array(B * G), iou = new Float32Array(B * G * N);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let n = 0; n < N; n++) count += mask ? mask[b * N + n] : 1;
    for (let g = 0; g < G; g++) {
      let si = 0, sl = 0;
      for (let n = 0; n < N; n++) {
        if (mask && mask[b * N + n] === 0) continue;
        const p = ((b * G + g) * N + n) * 4, t = (b * N + n) * 4;
        const v = pairIou(pred[p], pred[p + 1], pred[p + 2], pred[p + 3], target[t], target[t + 1], target[t + 2], target[t + 3]);
        iou[(b * G + g) * N + n] = v;
        si += v;
        sl += (Math.abs(pred[p] - target[t]) + Math.abs(pred[p + 1] - target[t + 1]) +
          Math.abs(pred[p + 2] - target[t + 2]) + Math.abs(pred[p + 3] - target[t + 3])) / 4;
      }
      reward[b * G + g] = count > 0 ? (iouWeight * si - l1Weight * sl) / count : 0;
    }
    let mean = 0, lo = Infinity, hi = -Infinity;
    for (let g = 0; g < G; g++) {
      const r = reward[b * G + g];
      mean += r / G;
      lo = Math.min(lo, r);
      hi = Math.max(hi, r);
    }
    let ss = 0;
    for (let g = 0; g < G; g++) ss += (reward[b * G + g] - mean) ** 2;
    const denom = G > 1 ? Math.sqrt(ss / (G - 1)) + eps : 0;
    for (let g = 0; g < G; g++) advantage[b * G + g] = G < 2 || lo === hi || !(denom > 0) ? 0 : (reward[b * G + g] - mean) / denom;
  }
  return { reward, advantage, iou };
}

module.exports = { boxIou, cycleReward };
