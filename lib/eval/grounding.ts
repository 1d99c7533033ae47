// Grounding accuracy as Ref-L4 defines it: a prediction is right at threshold t when its IoU with
// the ground-truth box is strictly greater than t; Acc@0.5, Acc@0.75, and mAcc the mean of Acc@t
// over t = 0.50, 0.55, ..., 0.95 (made as Ref-L4 makes them, i/100).
import { boxIou } from '../data/geometry';
import type { Box } from '../data/geometry';

export const ACC_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 10 }, (_, k) => (50 + 5 * k) / 100));

export interface GroundingAccuracy {
  /** Share with IoU > 0.5. */
  acc50: number;
  /** Share with IoU > 0.75. */
  acc75: number;
  /** Mean over ACC_THRESHOLDS of the share with IoU > t. */
  mAcc: number;
  meanIou: number;
  n: number;
  ious: Float64Array;
}

function isBox(b: unknown): b is Box {
  return Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** preds[i] (null: no box was produced, IoU 0) against gts[i]. */
export function groundingAccuracy(preds: readonly (Box | null)[], gts: readonly Box[]): GroundingAccuracy {
  if (!Array.isArray(preds) || !Array.isArray(gts)) throw new TypeError('groundingAccuracy: preds and gts must be arrays of boxes');
  if (preds.length !== gts.length) throw new RangeError(`groundingAccuracy: preds has ${preds.length} boxes but gts has ${gts.length}`);
  if (gts.length === 0) throw new RangeError('groundingAccuracy: no boxes, so accuracy is undefined');
  const ious = new Float64Array(gts.length);
  for (let i = 0; i < gts.length; i++) {
    const g = gts[i], p = preds[i];
    if (!isBox(g)) throw new TypeError(`groundingAccuracy: gts[${i}] must be 4 finite numbers`);
    if (p !== null && !isBox(p)) throw new TypeError(`groundingAccuracy: preds[${i}] must be 4 finite numbers or null`);
    ious[i] = p === null || p[2] < p[0] || p[3] < p[1] ? 0 : boxIou(p, g);
  }
  const accAt = (t: number): number => {
    let k = 0;
    for (const v of ious) if (v > t) k++;
    return k / ious.length;
  };
  const accs = ACC_THRESHOLDS.map(accAt);
  return {
    acc50: accAt(0.5),
    acc75: accAt(0.75),
    mAcc: accs.reduce((a, b) => a + b, 0) / accs.length,
    meanIou: ious.reduce((a, b) => a + b, 0) / ious.length,
    n: ious.length,
    ious,
  };
}
