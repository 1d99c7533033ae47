import * as ev from '../../lib/eval';

const { groundingAccuracy, ACC_THRESHOLDS } = ev;

describe('groundingAccuracy (Ref-L4)', () => {
  test('thresholds are 0.50, 0.55, ..., 0.95', () => {
    expect(ACC_THRESHOLDS).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
  });

  test('hand-computed: IoUs 1, 0.72, exactly 0.5, and no box', () => {
    const gt: [number, number, number, number] = [0, 0, 1, 1];
    const r = groundingAccuracy([[0, 0, 1, 1], [0, 0, 0.72, 1], [0, 0, 0.5, 1], null], [gt, gt, gt, gt]);
    expect(Array.from(r.ious)).toEqual([1, 0.72, 0.5, 0]);
    // IoU 0.5 is not > 0.5: Acc@0.5 counts 2 of 4 (with >= it would be 3 of 4).
    expect(r.acc50).toBe(0.5);
    expect(r.acc75).toBe(0.25);
    // 0.72 passes 0.50..0.70 (5 thresholds), 1 passes all 10: (5*2 + 5*1) / 4 / 10.
    expect(r.mAcc).toBeCloseTo(0.375, 12);
    expect(r.meanIou).toBeCloseTo(2.22 / 4, 12);
  });

  test('IoU exactly 0.75 does not count at 0.75', () => {
    const r = groundingAccuracy([[0, 0, 0.75, 1]], [[0, 0, 1, 1]]);
    expect(r.ious[0]).toBe(0.75);
    expect(r.acc50).toBe(1);
    expect(r.acc75).toBe(0);
  });

  test('mismatched lengths and bad boxes are errors', () => {
    expect(() => groundingAccuracy([null], [])).toThrow(RangeError);
    expect(() => groundingAccuracy([], [])).toThrow(/no boxes/);
    expect(() => groundingAccuracy([[0, 0, 1] as unknown as [number, number, number, number]], [[0, 0, 1, 1]])).toThrow(/preds\[0\]/);
  });
});
