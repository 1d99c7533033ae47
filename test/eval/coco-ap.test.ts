// COCO AP on cases worked out by hand. Each case is built so that a common mistake gives a
// different number (stated beside it): no precision envelope, 11-point or all-point (VOC)
// interpolation, recall read with > instead of >=, duplicates not counted as false positives,
// categories without detections skipped, matching by best IoU instead of by score.
import * as ev from '../../lib/eval';
import type * as data from '../../lib/data';

type Box = data.Box;
const { cocoAp, IOU_THRESHOLDS, RECALL_THRESHOLDS } = ev;

// Boxes far apart in a 100-wide strip: IoU 1 with themselves and 0 with each other.
const at = (k: number): Box => [10 * k, 0, 10 * k + 5, 5];
const gt = (k: number, category = 'c') => ({ box: at(k), category });
const dt = (k: number, score: number, category = 'c') => ({ box: at(k), category, score });
const miss = (score: number, category = 'c') => ({ box: [900, 900, 905, 905] as Box, category, score });

describe('cocoAp thresholds', () => {
  test('IoU thresholds and recall points are those of pycocotools', () => {
    expect(IOU_THRESHOLDS).toHaveLength(10);
    expect(IOU_THRESHOLDS[0]).toBe(0.5);
    expect(IOU_THRESHOLDS[5]).toBe(0.75); // summarize() finds AP75 by equality
    expect(IOU_THRESHOLDS[9]).toBe(0.95);
    expect(RECALL_THRESHOLDS).toHaveLength(101);
    expect(RECALL_THRESHOLDS[25]).toBe(0.25);
    expect(RECALL_THRESHOLDS[100]).toBeCloseTo(1, 12);
  });
});

describe('cocoAp on hand-computed cases', () => {
  // Precision is tp / (tp + fp + spacing(1)) as in pycocotools, so a perfect score is 1 - 2e-16.
  test('perfect detections give 1', () => {
    const r = cocoAp([
      { gts: [gt(0), gt(1, 'd')], dts: [dt(0, 0.9), dt(1, 0.4, 'd')] },
      { gts: [gt(2)], dts: [dt(2, 0.1)] },
    ]);
    expect(r.AP).toBeCloseTo(1, 12);
    expect(r.AP50).toBeCloseTo(1, 12);
    expect(r.AP75).toBeCloseTo(1, 12);
  });

  test('a mix of true and false positives, where the envelope matters', () => {
    // 4 ground truths; ranked detections TP FP FP TP TP TP.
    // recall .25 .25 .25 .5 .75 1; precision 1 .5 .333 .5 .6 .667; envelope 1 .667 .667 .667 .667 .667.
    // Recall points 0..0.25 (26 of them) read precision 1, the other 75 read 2/3: AP = (26 + 50)/101.
    // No envelope: (26 + 25*.5 + 25*.6 + 25*2/3)/101 = .6947; 11-point: (3 + 8*2/3)/11 = .7576;
    // all-point (VOC 2010): .25 + .75*2/3 = .75; recall read with >: (25 + 76*2/3)/101 = .7492.
    const r = cocoAp([
      { gts: [gt(0), gt(1)], dts: [dt(0, 0.95), miss(0.9), dt(1, 0.6)] },
      { gts: [gt(2), gt(3)], dts: [miss(0.8), dt(2, 0.5), dt(3, 0.4)] },
    ]);
    expect(r.AP).toBeCloseTo(76 / 101, 12);
    expect(r.AP50).toBeCloseTo(76 / 101, 12);
  });

  test('detections of all images are merged by score before precision is taken', () => {
    // Image 1: one TP at .6. Image 2: an FP at .9 and a TP at .3. Merged: FP TP TP over 2 gts;
    // precision 0 .5 .667, envelope .667 everywhere: AP = 2/3 (no envelope: .5776; per image: different).
    const r = cocoAp([
      { gts: [gt(0)], dts: [dt(0, 0.6)] },
      { gts: [gt(1)], dts: [miss(0.9), dt(1, 0.3)] },
    ]);
    expect(r.AP).toBeCloseTo(2 / 3, 12);
  });

  test('a duplicate detection is a false positive', () => {
    // 2 gts; A .9, A again .8, B .7: TP FP TP, precision 1 .5 .667, envelope 1 .667 .667.
    // Points 0..0.5 (51) read 1, 50 read 2/3: AP = (51 + 100/3)/101 = 253/303.
    // Counting the duplicate as a match, or dropping it, would give 1.
    const r = cocoAp([{ gts: [gt(0), gt(1)], dts: [dt(0, 0.9), dt(0, 0.8), dt(1, 0.7)] }]);
    expect(r.AP).toBeCloseTo(253 / 303, 12);
  });

  test('a category with ground truth and no detections counts as 0; one with detections and no ground truth does not count', () => {
    const r = cocoAp([{ gts: [gt(0, 'x'), gt(1, 'y')], dts: [dt(0, 0.9, 'x'), dt(5, 0.9, 'z')] }]);
    expect(r.AP).toBeCloseTo(0.5, 12);
    expect(r.perCategory.map((c) => c.category)).toEqual(['x', 'y']);
    expect(r.perCategory[0].AP).toBeCloseTo(1, 12);
    expect(r.perCategory[1].AP).toBe(0);
    expect(r.unmatchedCategoryDets).toBeCloseTo(1, 12);
  });

  test('IoU between thresholds: 0.72 matches at 0.50..0.70 only', () => {
    const r = cocoAp([{ gts: [{ box: [0, 0, 1, 1], category: 'c' }], dts: [{ box: [0, 0, 0.72, 1], category: 'c', score: 1 }] }]);
    expect(r.AP50).toBeCloseTo(1, 12);
    expect(r.AP75).toBe(0);
    expect(r.AP).toBeCloseTo(0.5, 12);
  });

  test('IoU exactly at a threshold matches (pycocotools compares with >=)', () => {
    const r = cocoAp([{ gts: [{ box: [0, 0, 2, 1], category: 'c' }], dts: [{ box: [0, 0, 1, 1], category: 'c', score: 1 }] }]);
    expect(r.AP50).toBeCloseTo(1, 12);
    expect(r.AP).toBeCloseTo(0.1, 12);
  });

  test('matching is greedy by score, not by best IoU', () => {
    // One gt; d1 (.9) has IoU .62, d2 (.8) IoU 1. At t <= .6 (3 thresholds): TP FP, AP 1.
    // At t >= .65 (7): FP TP, precision 0 .5, envelope .5: AP .5. Mean (3 + 3.5)/10 = .65.
    const r = cocoAp([{
      gts: [{ box: [0, 0, 1, 1], category: 'c' }],
      dts: [{ box: [0, 0, 0.62, 1], category: 'c', score: 0.9 }, { box: [0, 0, 1, 1], category: 'c', score: 0.8 }],
    }]);
    expect(r.AP50).toBeCloseTo(1, 12);
    expect(r.AP75).toBeCloseTo(0.5, 12);
    expect(r.AP).toBeCloseTo(0.65, 12);
  });

  test('maxDets keeps the highest-scored detections per image and category', () => {
    const images = [{ gts: [gt(0), gt(1)], dts: [dt(1, 0.2), dt(0, 0.9)] }];
    expect(cocoAp(images).AP).toBeCloseTo(1, 12);
    // With one detection kept recall stops at .5: points 0..0.5 (51 of 101) read 1.
    expect(cocoAp(images, { maxDets: 1 }).AP).toBeCloseTo(51 / 101, 12);
  });

  test('equal scores keep their input order (stable sort, as mergesort)', () => {
    // Same scores: FP listed first then TP gives precision 0 .5 (envelope .5): AP .5; the other order gives 1.
    expect(cocoAp([{ gts: [gt(0)], dts: [miss(0.5), dt(0, 0.5)] }]).AP).toBeCloseTo(0.5, 12);
    expect(cocoAp([{ gts: [gt(0)], dts: [dt(0, 0.5), miss(0.5)] }]).AP).toBeCloseTo(1, 12);
  });

  test('bad input is a TypeError or RangeError naming it', () => {
    expect(() => cocoAp([{ gts: [], dts: [] }])).toThrow(/no ground-truth/);
    expect(() => cocoAp([{ gts: [gt(0)], dts: [{ box: [0, 0, 1, 1], category: 'c', score: NaN }] }])).toThrow(/images\[0\]\.dts\[0\]\.score/);
    expect(() => cocoAp([{ gts: [{ box: [2, 0, 1, 1], category: 'c' }], dts: [] }])).toThrow(RangeError);
    expect(() => cocoAp([{ gts: [gt(0)], dts: [] }], { maxDets: 0 })).toThrow(/maxDets/);
  });
});
