// Float64 references for the box kernels, written from the definitions (no shared code with
// native/common/box.h): IoU, GIoU, the masked cycle reward and the GRPO advantage.

export type Box = [number, number, number, number];

export function refArea(b: ArrayLike<number>, o = 0): number {
  return (b[o + 2] - b[o]) * (b[o + 3] - b[o + 1]);
}

/** IoU (or GIoU) of the boxes at a[ao..ao+4) and b[bo..bo+4); zero union gives 0. */
export function refPairIou(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, giou: boolean): number {
  const ix = Math.max(0, Math.min(a[ao + 2], b[bo + 2]) - Math.max(a[ao], b[bo]));
  const iy = Math.max(0, Math.min(a[ao + 3], b[bo + 3]) - Math.max(a[ao + 1], b[bo + 1]));
  const inter = ix * iy;
  const union = refArea(a, ao) + refArea(b, bo) - inter;
  const iou = union > 0 ? inter / union : 0;
  if (!giou) return iou;
  const cw = Math.max(a[ao + 2], b[bo + 2]) - Math.min(a[ao], b[bo]);
  const ch = Math.max(a[ao + 3], b[bo + 3]) - Math.min(a[ao + 1], b[bo + 1]);
  const c = cw * ch;
  return c > 0 ? iou - (c - union) / c : iou;
}

/** a [n,4], b [m,4] flat -> [n,m] flat. */
export function refBoxIou(a: ArrayLike<number>, b: ArrayLike<number>, giou = false): Float64Array {
  const n = a.length / 4, m = b.length / 4;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = refPairIou(a, 4 * i, b, 4 * j, giou);
  return out;
}

export interface RefRewardOptions {
  mask?: ArrayLike<number>;
  iouWeight?: number;
  l1Weight?: number;
  eps?: number;
}

export interface RefReward {
  reward: Float64Array;
  advantage: Float64Array;
  iou: Float64Array;
}

/** pred [B,G,N,4], target [B,N,4], mask [B,N] (flat arrays). */
export function refCycleReward(pred: ArrayLike<number>, target: ArrayLike<number>, B: number, G: number, N: number,
  opts: RefRewardOptions = {}): RefReward {
  const wi = opts.iouWeight ?? 1, wl = opts.l1Weight ?? 1, eps = opts.eps ?? 1e-4;
  const reward = new Float64Array(B * G), advantage = new Float64Array(B * G), iou = new Float64Array(B * G * N);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let n = 0; n < N; n++) count += opts.mask ? opts.mask[b * N + n] : 1;
    for (let g = 0; g < G; g++) {
      let si = 0, sl = 0;
      for (let n = 0; n < N; n++) {
        if (opts.mask && opts.mask[b * N + n] === 0) continue;
        const po = ((b * G + g) * N + n) * 4, to = (b * N + n) * 4;
        const v = refPairIou(pred, po, target, to, false);
        let l1 = 0;
        for (let k = 0; k < 4; k++) l1 += Math.abs(pred[po + k] - target[to + k]) / 4;
        iou[(b * G + g) * N + n] = v;
        si += v;
        sl += l1;
      }
      reward[b * G + g] = count > 0 ? (wi * si - wl * sl) / count : 0;
    }
    let mean = 0;
    for (let g = 0; g < G; g++) mean += reward[b * G + g] / G;
    let ss = 0;
    for (let g = 0; g < G; g++) ss += (reward[b * G + g] - mean) ** 2;
    const std = G > 1 ? Math.sqrt(ss / (G - 1)) : 0;
    for (let g = 0; g < G; g++) advantage[b * G + g] = G > 1 && ss > 0 ? (reward[b * G + g] - mean) / (std + eps) : 0;
  }
  return { reward, advantage, iou };
}

/** docs/design.md section 6: max|got - ref| / max|ref| (the absolute error when ref is all 0); NaN fails. */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let err = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return scale > 0 ? err / scale : err;
}
