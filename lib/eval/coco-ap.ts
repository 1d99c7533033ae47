// COCO box AP as pycocotools' COCOeval computes it (iouType 'bbox', areaRng 'all', no crowd or
// ignored boxes): IoU thresholds 0.50:0.05:0.95 and recall points 0:0.01:1 made as numpy's linspace
// makes them; per image and category the detections sorted by score (stable) and cut to maxDets;
// greedy matching in that order, each detection taking the unmatched ground truth of highest IoU
// >= the threshold; per category the detections of all images merged by score (stable, images in
// order), precision made monotone from the right (the envelope), read at the first rank whose
// recall reaches each recall point (0 past the last detection); AP the mean over thresholds,
// recall points and the categories that have ground truth.
import { boxIou } from '../data/geometry';
import type { Box } from '../data/geometry';

export interface GroundTruthBox {
  box: Box;
  category: string;
}

export interface ScoredBox {
  box: Box;
  category: string;
  score: number;
}

export interface ApImage {
  gts: readonly GroundTruthBox[];
  dts: readonly ScoredBox[];
}

export interface CocoApOptions {
  /** Detections kept per image and category, highest scores first (default 100). */
  maxDets?: number;
}

export interface CategoryAp {
  category: string;
  AP: number;
  AP50: number;
  AP75: number;
  gts: number;
  dts: number;
}

export interface CocoApResult {
  /** Mean precision over IoU 0.50:0.05:0.95, 101 recall points and categories with ground truth. */
  AP: number;
  AP50: number;
  AP75: number;
  /** Categories with ground truth, sorted by name. */
  perCategory: CategoryAp[];
  /** Detections whose category has no ground truth anywhere (they do not count, as in pycocotools). */
  unmatchedCategoryDets: number;
}

const IOU_STEP = (0.95 - 0.5) / 9;
export const IOU_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * IOU_STEP + 0.5)));
export const RECALL_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01)));
const T50 = IOU_THRESHOLDS.indexOf(0.5);
const T75 = IOU_THRESHOLDS.indexOf(0.75);
const SPACING_1 = Number.EPSILON; // numpy.spacing(1)

function checkBox(b: unknown, what: string): void {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new TypeError(`cocoAp: ${what} must be 4 finite numbers [x1, y1, x2, y2]`);
  }
  if (b[2] < b[0] || b[3] < b[1]) throw new RangeError(`cocoAp: ${what} has x2 < x1 or y2 < y1: [${b.join(', ')}]`);
}

function checkImages(images: readonly ApImage[]): void {
  if (!Array.isArray(images)) throw new TypeError('cocoAp: images must be an array of { gts, dts }');
  images.forEach((im, i) => {
    if (!im || !Array.isArray(im.gts) || !Array.isArray(im.dts)) throw new TypeError(`cocoAp: images[${i}] must have arrays gts and dts`);
    (im.gts as readonly GroundTruthBox[]).forEach((g, k) => {
      checkBox(g.box, `images[${i}].gts[${k}].box`);
      if (typeof g.category !== 'string') throw new TypeError(`cocoAp: images[${i}].gts[${k}].category must be a string`);
    });
    (im.dts as readonly ScoredBox[]).forEach((d, k) => {
      checkBox(d.box, `images[${i}].dts[${k}].box`);
      if (typeof d.category !== 'string') throw new TypeError(`cocoAp: images[${i}].dts[${k}].category must be a string`);
      if (typeof d.score !== 'number' || !Number.isFinite(d.score)) throw new TypeError(`cocoAp: images[${i}].dts[${k}].score must be a finite number`);
    });
  });
}

/** Stable sort of indices by descending score (numpy argsort(-s, kind='mergesort')). */
function byScore(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
}

/** One image and category: matched flags per threshold for the kept detections (evaluateImg). */
function matchImage(gts: readonly Box[], dts: readonly ScoredBox[], maxDets: number): { scores: number[]; matched: Uint8Array[] } {
  const order = byScore(dts.map((d) => d.score)).slice(0, maxDets);
  const kept = order.map((i) => dts[i]);
  const ious = kept.map((d) => gts.map((g) => boxIou(d.box, g)));
  const matched = IOU_THRESHOLDS.map((t) => {
    const dtm = new Uint8Array(kept.length);
    const gtm = new Uint8Array(gts.length);
    for (let d = 0; d < kept.length; d++) {
      let best = Math.min(t, 1 - 1e-10);
      let m = -1;
      for (let g = 0; g < gts.length; g++) {
        if (gtm[g]) continue;
        if (ious[d][g] < best) continue;
        best = ious[d][g];
        m = g;
      }
      if (m >= 0) { dtm[d] = 1; gtm[m] = 1; }
    }
    return dtm;
  });
  return { scores: kept.map((d) => d.score), matched };
}

/** Precision at the 101 recall points for one threshold (the body of accumulate). */
function precisionAtRecalls(tp: Uint8Array, npig: number): Float64Array {
  const nd = tp.length;
  const rc = new Float64Array(nd), pr = new Float64Array(nd);
  let tps = 0, fps = 0;
  for (let i = 0; i < nd; i++) {
    if (tp[i]) tps++; else fps++;
    rc[i] = tps / npig;
    pr[i] = tps / (fps + tps + SPACING_1);
  }
  for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  const q = new Float64Array(RECALL_THRESHOLDS.length);
  let pi = 0;
  for (let r = 0; r < RECALL_THRESHOLDS.length; r++) {
    // searchsorted(rc, thr, side='left'): first index with rc >= thr.
    while (pi < nd && rc[pi] < RECALL_THRESHOLDS[r]) pi++;
    if (pi >= nd) break;
    q[r] = pr[pi];
  }
  return q;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
};

export function cocoAp(images: readonly ApImage[], opts: CocoApOptions = {}): CocoApResult {
  checkImages(images);
  const maxDets = opts.maxDets ?? 100;
  if (!Number.isInteger(maxDets) || maxDets < 1) throw new RangeError(`cocoAp: maxDets must be a positive integer, got ${maxDets}`);
  const withGt = new Set<string>();
  for (const im of images) for (const g of im.gts) withGt.add(g.category);
  if (withGt.size === 0) throw new RangeError('cocoAp: no ground-truth boxes, so AP is undefined');
  let unmatchedCategoryDets = 0;
  for (const im of images) for (const d of im.dts) if (!withGt.has(d.category)) unmatchedCategoryDets++;

  const perCategory: CategoryAp[] = [];
  const all: number[][] = IOU_THRESHOLDS.map(() => []); // per threshold, per category: mean over recall points
  for (const category of [...withGt].sort()) {
    let npig = 0, ndt = 0;
    const scores: number[] = [];
    const matched: number[][] = IOU_THRESHOLDS.map(() => []);
    for (const im of images) {
      const gts = im.gts.filter((g) => g.category === category).map((g) => g.box);
      const dts = im.dts.filter((d) => d.category === category);
      if (gts.length === 0 && dts.length === 0) continue;
      npig += gts.length;
      ndt += dts.length;
      const r = matchImage(gts, dts, maxDets);
      scores.push(...r.scores);
      r.matched.forEach((m, t) => { for (const v of m) matched[t].push(v); });
    }
    const order = byScore(scores);
    const perT = matched.map((m) => mean(precisionAtRecalls(Uint8Array.from(order, (i) => m[i]), npig)));
    perT.forEach((v, t) => all[t].push(v));
    perCategory.push({ category, AP: mean(perT), AP50: perT[T50], AP75: perT[T75], gts: npig, dts: ndt });
  }
  return {
    AP: mean(all.map(mean)),
    AP50: mean(all[T50]),
    AP75: mean(all[T75]),
    perCategory,
    unmatchedCategoryDets,
  };
}
