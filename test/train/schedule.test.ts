import { learningRate, parseSchedule, parseTaskMix, pickTask, scheduleValue } from '../../lib/train/schedule';
import { TrainRng } from '../../lib/train/rng';

describe('scheduleValue', () => {
  test('exp anneals 1.0 -> 0.3 log-linearly: ends exact, midpoint is the geometric mean', () => {
    const spec = { kind: 'exp' as const, start: 1.0, end: 0.3 };
    expect(scheduleValue(spec, 0, 101)).toBeCloseTo(1.0, 12);
    expect(scheduleValue(spec, 100, 101)).toBeCloseTo(0.3, 12);
    expect(scheduleValue(spec, 50, 101)).toBeCloseTo(Math.sqrt(0.3), 12);
    // Past the end it stays at the end value.
    expect(scheduleValue(spec, 500, 101)).toBeCloseTo(0.3, 12);
    // Equal ratios between equally spaced steps.
    const r1 = scheduleValue(spec, 10, 101) / scheduleValue(spec, 0, 101);
    const r2 = scheduleValue(spec, 70, 101) / scheduleValue(spec, 60, 101);
    expect(r1).toBeCloseTo(r2, 12);
  });

  test('linear, cosine and constant against closed forms', () => {
    for (let s = 0; s < 11; s++) {
      const t = s / 10;
      expect(scheduleValue({ kind: 'linear', start: 2, end: -1 }, s, 11)).toBeCloseTo(2 - 3 * t, 12);
      expect(scheduleValue({ kind: 'cosine', start: 1, end: 0 }, s, 11)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * t)), 12);
      expect(scheduleValue({ kind: 'constant', start: 0.7, end: 9 }, s, 11)).toBe(0.7);
    }
  });

  test('bad input names the argument', () => {
    expect(() => scheduleValue({ kind: 'exp', start: 1, end: 0 }, 0, 10)).toThrow(/end > 0/);
    expect(() => scheduleValue({ kind: 'exp', start: 1, end: 0.3 }, -1, 10)).toThrow(/step/);
    expect(() => scheduleValue({ kind: 'exp', start: 1, end: 0.3 }, 0, 0)).toThrow(/total/);
  });

  test('parseSchedule', () => {
    expect(parseSchedule('exp:1.0:0.3')).toEqual({ kind: 'exp', start: 1, end: 0.3 });
    expect(parseSchedule('0.5')).toEqual({ kind: 'constant', start: 0.5, end: 0.5 });
    expect(() => parseSchedule('fast:1:2', '--tau')).toThrow(/--tau/);
  });
});

describe('learningRate', () => {
  test('warm-up is linear to the peak, then cosine to the floor', () => {
    expect(learningRate(0, 100, 1e-3, 10)).toBeCloseTo(1e-4, 15);
    expect(learningRate(9, 100, 1e-3, 10)).toBeCloseTo(1e-3, 15);
    expect(learningRate(10, 100, 1e-3, 10)).toBeCloseTo(1e-3, 15);
    expect(learningRate(100, 100, 1e-3, 10, 0.1)).toBeCloseTo(1e-4, 15);
    const mid = 10 + 45;
    expect(learningRate(mid, 100, 1e-3, 10, 0)).toBeCloseTo(0.5e-3, 12);
  });

  test('with decay < 1: warm-up, the peak held, then the cosine over the last share of the steps', () => {
    // total 110, warm-up 10: 100 steps after it; decay 0.2 holds the peak for 80 of them, the cosine takes the last 20.
    for (const step of [10, 50, 90]) expect(learningRate(step, 110, 1e-3, 10, 0.1, 0.2)).toBe(1e-3);
    expect(learningRate(5, 110, 1e-3, 10, 0.1, 0.2)).toBeCloseTo(6e-4, 15);
    expect(learningRate(100, 110, 1e-3, 10, 0.1, 0.2)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 15);
    expect(learningRate(95, 110, 1e-3, 10, 0, 0.2)).toBeCloseTo(1e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(learningRate(110, 110, 1e-3, 10, 0.1, 0.2)).toBeCloseTo(1e-4, 15);
    // decay 1 is the cosine over all 100 steps after warm-up, bit for bit (what every run before the option had).
    for (let step = 10; step <= 110; step++) {
      expect(learningRate(step, 110, 1e-3, 10, 0.1, 1)).toBe(1e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, (step - 10) / 100)))));
    }
    for (const bad of [0, -0.5, 1.5, NaN]) expect(() => learningRate(50, 110, 1e-3, 10, 0.1, bad)).toThrow(/learningRate: decay must be a share in \(0, 1\]/);
  });
});

describe('task mix', () => {
  test('pickTask follows the weights (statistical, 20000 draws)', () => {
    const mix = parseTaskMix('joint=2,l2i=1,i2l=1');
    const rng = new TrainRng(3);
    const counts = { joint: 0, l2i: 0, i2l: 0 };
    const n = 20000;
    for (let i = 0; i < n; i++) counts[pickTask(mix, rng.float())]++;
    // Binomial std for p = 0.5 is sqrt(n/4) = 71; 5 sigma bounds.
    expect(Math.abs(counts.joint - n / 2)).toBeLessThan(5 * 71);
    expect(Math.abs(counts.l2i - n / 4)).toBeLessThan(5 * 62);
    expect(Math.abs(counts.i2l - n / 4)).toBeLessThan(5 * 62);
  });

  test('a zero weight is never picked; bad mixes are rejected', () => {
    const mix = parseTaskMix('joint=1,l2i=0,i2l=0');
    for (let u = 0; u < 1; u += 0.01) expect(pickTask(mix, u)).toBe('joint');
    expect(() => parseTaskMix('joint=0')).toThrow(/all be 0/);
    expect(() => parseTaskMix('both=1')).toThrow(/task mix/);
  });
});

describe('TrainRng', () => {
  test('state round-trips: a restored generator continues the same stream', () => {
    const a = new TrainRng(42);
    for (let i = 0; i < 17; i++) a.uint32();
    const b = new TrainRng(0);
    b.state = a.state;
    for (let i = 0; i < 100; i++) expect(b.uint32()).toBe(a.uint32());
  });

  test('uniform floats: mean and variance of U(0,1)', () => {
    const r = new TrainRng(7);
    const n = 50000;
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { const v = r.float(); s += v; s2 += v * v; expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(1); }
    const mean = s / n, varr = s2 / n - mean * mean;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(varr - 1 / 12)).toBeLessThan(0.003);
  });
});
