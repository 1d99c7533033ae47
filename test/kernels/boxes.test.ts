// boxIou and cycleReward against float64 references on random odd sizes, hand-computed cases,
// properties (fast-check) and every bad input. Runs on each available backend.
import fc from 'fast-check';
import * as eg from '../../lib';
import { refBoxIou, refCycleReward, relErr } from '../reference/boxes';

const { boxIou, cycleReward } = eg.kernels;
const devices = eg.backends();
const TOL = 1e-4;

/** n random valid boxes in [0,1]^2; every 4th snapped to a 1/8 grid (touching, identical, nested
 * boxes), every 7th of zero width. */
function randomBoxes(n: number): Float32Array {
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    let [x1, y1, x2, y2] = [Math.random(), Math.random(), Math.random(), Math.random()];
    if (i % 4 === 1) [x1, y1, x2, y2] = [x1, y1, x2, y2].map((v) => Math.round(v * 8) / 8);
    if (i % 7 === 3) x2 = x1;
    out.set([Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)], 4 * i);
  }
  return out;
}

/** n random boxes in [0,1]^2 with width and height >= 0.05 (so a perfect match has IoU 1). */
function solidBoxes(n: number): Float32Array {
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = 0.9 * Math.random(), y = 0.9 * Math.random();
    out.set([x, y, x + 0.05 + (0.95 - x) * Math.random(), y + 0.05 + (0.95 - y) * Math.random()], 4 * i);
  }
  return out;
}

/** Predictions near the targets (so rewards differ within a group): pred [B,G,N,4]. */
function nearPredictions(target: Float32Array, B: number, G: number, N: number, spread = 0.2): Float32Array {
  const pred = new Float32Array(B * G * N * 4);
  for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) for (let n = 0; n < N; n++) {
    const t = (b * N + n) * 4, p = ((b * G + g) * N + n) * 4;
    const c = [0, 1, 2, 3].map((k) => target[t + k] + spread * (2 * Math.random() - 1));
    pred.set([Math.min(c[0], c[2]), Math.min(c[1], c[3]), Math.max(c[0], c[2]), Math.max(c[1], c[3])], p);
  }
  return pred;
}

function randomMask(B: number, N: number): Float32Array {
  // ~70% real objects; every 5th layout is all padding
  return Float32Array.from({ length: B * N }, (_, i) => (Math.floor(i / N) % 5 !== 4 && Math.random() < 0.7 ? 1 : 0));
}

describe.each(devices)('boxes on %s', (device) => {
  const t = (data: Float32Array | number[], shape: number[]) => eg.tensor(Float32Array.from(data), shape, { device });

  describe('boxIou', () => {
    test.each([[1, 1], [7, 33], [130, 67], [33, 1000]])('matches the float64 reference, N=%i M=%i', (n, m) => {
      eg.tidy(() => {
        const a = randomBoxes(n), b = randomBoxes(m);
        for (const kind of ['iou', 'giou'] as const) {
          const out = boxIou(t(a, [n, 4]), t(b, [m, 4]), { kind });
          expect(out.shape).toEqual([n, m]);
          expect(relErr(out.toArray(), refBoxIou(a, b, kind === 'giou'))).toBeLessThanOrEqual(TOL);
        }
      });
    });

    test('hand-computed cases', () => {
      eg.tidy(() => {
        const a = t([0, 0, 2, 2], [1, 4]);
        // overlap, disjoint with a gap, nested, identical, touching along an edge, zero area
        const b = t([1, 1, 3, 3, 3, 0, 4, 2, 0.5, 0.5, 1, 1.5, 0, 0, 2, 2, 2, 0, 3, 2, 1, 1, 1, 1], [6, 4]);
        const iou = Array.from(boxIou(a, b).toArray());
        const giou = Array.from(boxIou(a, b, { kind: 'giou' }).toArray());
        const expectIou = [1 / 7, 0, 0.5 / 4, 1, 0, 0];
        // GIoU = IoU - (C - U) / C: C = 9, U = 7; C = 8, U = 6; nested and identical: C = U;
        // touching: C = U = 6; a point inside: C = U = 4
        const expectGiou = [1 / 7 - 2 / 9, -2 / 8, 0.5 / 4, 1, 0, 0];
        iou.forEach((v, j) => expect(v).toBeCloseTo(expectIou[j], 6));
        giou.forEach((v, j) => expect(v).toBeCloseTo(expectGiou[j], 6));
      });
    });

    test('zero union gives 0, never NaN, for IoU and GIoU', () => {
      eg.tidy(() => {
        // identical points, collinear segments (enclosing box of zero area too), separate points
        const a = t([0.5, 0.5, 0.5, 0.5, 0, 0, 1, 0, 0.1, 0.1, 0.1, 0.1], [3, 4]);
        const b = t([0.5, 0.5, 0.5, 0.5, 0.5, 0, 2, 0, 0.9, 0.9, 0.9, 0.9], [3, 4]);
        const iou = boxIou(a, b).toArray(), giou = boxIou(a, b, { kind: 'giou' }).toArray();
        for (const v of [...iou, ...giou]) expect(Number.isFinite(v)).toBe(true);
        expect(Array.from(iou)).toEqual(new Array(9).fill(0));
        // the same point, or collinear segments: the enclosing box has zero area too, GIoU = 0
        expect(giou[0]).toBe(0);
        expect(giou[4]).toBe(0);
        // separate points span an enclosing box with area while the union is 0: GIoU = -1
        expect(giou[2]).toBeCloseTo(-1, 6);
        expect(giou[8]).toBeCloseTo(-1, 6);
      });
    });

    const boxArb = fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }),
      fc.double({ min: 0.01, max: 5, noNaN: true }), fc.double({ min: 0.01, max: 5, noNaN: true }))
      .map(([x, y, w, h]) => [x, y, x + w, y + h]);

    test('properties: symmetric, 1 for identical, 0 for disjoint, GIoU in [-1,1] and <= IoU', () => {
      fc.assert(fc.property(fc.array(boxArb, { minLength: 1, maxLength: 40 }), fc.array(boxArb, { minLength: 1, maxLength: 40 }), (as, bs) => {
        eg.tidy(() => {
          const n = as.length, m = bs.length;
          const a = t(as.flat(), [n, 4]), b = t(bs.flat(), [m, 4]);
          const ab = boxIou(a, b).toArray(), ba = boxIou(b, a).toArray();
          const gab = boxIou(a, b, { kind: 'giou' }).toArray(), gba = boxIou(b, a, { kind: 'giou' }).toArray();
          for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
            expect(ab[i * m + j]).toBe(ba[j * n + i]);
            expect(gab[i * m + j]).toBe(gba[j * n + i]);
            expect(gab[i * m + j]).toBeGreaterThanOrEqual(-1);
            expect(gab[i * m + j]).toBeLessThanOrEqual(ab[i * m + j] + 1e-6);
            expect(ab[i * m + j]).toBeGreaterThanOrEqual(0);
            expect(ab[i * m + j]).toBeLessThanOrEqual(1);
          }
          const self = boxIou(a, a).toArray();
          for (let i = 0; i < n; i++) expect(self[i * n + i]).toBeCloseTo(1, 6);
          // each a box shifted right past its own right edge is disjoint from it
          const shifted = t(as.flatMap(([x1, y1, x2, y2]) => [x2 + 0.5, y1, 2 * x2 - x1 + 0.5, y2]), [n, 4]);
          const apart = boxIou(a, shifted).toArray();
          for (let i = 0; i < n; i++) expect(apart[i * n + i]).toBe(0);
        });
      }), { numRuns: 40 });
    });

    test('empty inputs give empty outputs', () => {
      eg.tidy(() => {
        expect(boxIou(t([], [0, 4]), t(randomBoxes(3), [3, 4])).shape).toEqual([0, 3]);
        expect(boxIou(t(randomBoxes(2), [2, 4]), t([], [0, 4])).shape).toEqual([2, 0]);
      });
    });
  });

  describe('cycleReward', () => {
    test.each([[1, 1, 1], [3, 5, 7], [64, 8, 4], [13, 33, 2], [5, 2, 70], [2, 70, 3]])(
      'matches the float64 reference, B=%i G=%i N=%i', (B, G, N) => {
        eg.tidy(() => {
          const target = randomBoxes(B * N), pred = nearPredictions(target, B, G, N), mask = randomMask(B, N);
          const opts = { iouWeight: 1 + Math.random(), l1Weight: Math.random(), eps: 1e-3 * Math.random() };
          const r = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]), { ...opts, mask: t(mask, [B, N]) });
          const ref = refCycleReward(pred, target, B, G, N, { ...opts, mask });
          expect(r.reward.shape).toEqual([B, G]);
          expect(r.advantage.shape).toEqual([B, G]);
          expect(r.iou.shape).toEqual([B, G, N]);
          expect(relErr(r.reward.toArray(), ref.reward)).toBeLessThanOrEqual(TOL);
          expect(relErr(r.advantage.toArray(), ref.advantage)).toBeLessThanOrEqual(TOL);
          expect(relErr(r.iou.toArray(), ref.iou)).toBeLessThanOrEqual(TOL);
        });
      });

    test('hand-computed group of two', () => {
      eg.tidy(() => {
        // sample 0: [0,0,1,1] vs [0,0,2,2]: IoU 1/4, L1 (0+0+1+1)/4 = 1/2 -> reward -1/4; sample 1 exact -> 1
        const r = cycleReward(t([0, 0, 1, 1, 0, 0, 2, 2], [1, 2, 1, 4]), t([0, 0, 2, 2], [1, 1, 4]));
        const [r0, r1] = r.reward.toArray();
        expect(r0).toBeCloseTo(-0.25, 6);
        expect(r1).toBeCloseTo(1, 6);
        // mean 0.375, unbiased std = |r1 - r0| / sqrt(2)
        const std = 1.25 / Math.SQRT2;
        const adv = r.advantage.toArray();
        expect(adv[0]).toBeCloseTo(-0.625 / (std + 1e-4), 5);
        expect(adv[1]).toBeCloseTo(0.625 / (std + 1e-4), 5);
        expect(Array.from(r.iou.toArray())).toEqual([0.25, 1]);
      });
    });

    test('a group whose rewards are all equal gets advantage exactly 0; so does G = 1', () => {
      eg.tidy(() => {
        const B = 5, G = 6, N = 3, target = randomBoxes(B * N);
        const one = nearPredictions(target, B, 1, N), pred = new Float32Array(B * G * N * 4);
        for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) pred.set(one.subarray(b * N * 4, (b + 1) * N * 4), (b * G + g) * N * 4);
        const r = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]), { eps: 0 });
        expect(Array.from(r.advantage.toArray())).toEqual(new Array(B * G).fill(0));
        const single = cycleReward(t(one, [B, 1, N, 4]), t(target, [B, N, 4]));
        expect(Array.from(single.advantage.toArray())).toEqual(new Array(B).fill(0));
      });
    });

    test('padded objects are ignored; a layout with no real object has reward 0', () => {
      eg.tidy(() => {
        const B = 6, G = 4, N = 5, target = randomBoxes(B * N), pred = nearPredictions(target, B, G, N);
        const mask = randomMask(B, N);
        const before = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]), { mask: t(mask, [B, N]) });
        // move every padded box somewhere else entirely
        const target2 = target.slice(), pred2 = pred.slice();
        const far = randomBoxes(B * G * N).map((v) => v * 7 + 3);
        for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) {
          if (mask[b * N + n]) continue;
          target2.set(far.subarray((b * N + n) * 4, (b * N + n) * 4 + 4), (b * N + n) * 4);
          for (let g = 0; g < G; g++) pred2.set(far.subarray(((b * G + g) * N + n) * 4, ((b * G + g) * N + n) * 4 + 4), ((b * G + g) * N + n) * 4);
        }
        const after = cycleReward(t(pred2, [B, G, N, 4]), t(target2, [B, N, 4]), { mask: t(mask, [B, N]) });
        expect(after.reward.toArray()).toEqual(before.reward.toArray());
        expect(after.advantage.toArray()).toEqual(before.advantage.toArray());
        expect(after.iou.toArray()).toEqual(before.iou.toArray());
        const iou = after.iou.toArray(), reward = after.reward.toArray();
        for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) for (let n = 0; n < N; n++)
          if (!mask[b * N + n]) expect(iou[(b * G + g) * N + n]).toBe(0);
        // layout 4 is all padding (randomMask), and N = 0 has no objects at all
        for (let g = 0; g < G; g++) expect(reward[4 * G + g]).toBe(0);
        const none = cycleReward(t([], [2, 3, 0, 4]), t([], [2, 0, 4]));
        expect(Array.from(none.reward.toArray())).toEqual(new Array(6).fill(0));
        expect(Array.from(none.advantage.toArray())).toEqual(new Array(6).fill(0));
      });
    });

    test('the default mask is all ones', () => {
      eg.tidy(() => {
        const B = 3, G = 4, N = 5, target = randomBoxes(B * N), pred = nearPredictions(target, B, G, N);
        const implicit = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]));
        const explicit = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]), { mask: t(new Float32Array(B * N).fill(1), [B, N]) });
        expect(implicit.reward.toArray()).toEqual(explicit.reward.toArray());
        expect(implicit.advantage.toArray()).toEqual(explicit.advantage.toArray());
      });
    });

    test('the reward rises with IoU: a perfect prediction earns the highest reward', () => {
      eg.tidy(() => {
        const B = 8, G = 7, N = 4, target = solidBoxes(B * N);
        // sample g is the target shrunk towards its centre by g * 5% (lower IoU, higher L1)
        const pred = new Float32Array(B * G * N * 4);
        for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) for (let n = 0; n < N; n++) {
          const [x1, y1, x2, y2] = target.subarray((b * N + n) * 4, (b * N + n) * 4 + 4);
          const s = 0.05 * g, dx = (x2 - x1) * s / 2, dy = (y2 - y1) * s / 2;
          pred.set([x1 + dx, y1 + dy, x2 - dx, y2 - dy], ((b * G + g) * N + n) * 4);
        }
        for (const opts of [{}, { l1Weight: 0 }, { iouWeight: 2, l1Weight: 5 }]) {
          const r = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]), opts);
          const reward = r.reward.toArray(), adv = r.advantage.toArray(), iou = r.iou.toArray();
          for (let b = 0; b < B; b++) {
            for (let g = 1; g < G; g++) {
              expect(reward[b * G + g]).toBeLessThan(reward[b * G + g - 1]);
              expect(adv[b * G + g]).toBeLessThan(adv[b * G + g - 1]);
            }
            for (let n = 0; n < N; n++) expect(iou[b * G * N + n]).toBeCloseTo(1, 6);
          }
        }
      });
    });

    test('perfect prediction beats random ones (property)', () => {
      fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 6 }), (B, G, N) => {
        eg.tidy(() => {
          // zero-area targets too: their perfect match has IoU 0 (zero union) but L1 0, still the best
          for (const solid of [true, false]) {
            const target = solid ? solidBoxes(B * N) : randomBoxes(B * N);
            const pred = nearPredictions(target, B, G, N, 0.3);
            const best = Math.floor(Math.random() * G);
            for (let b = 0; b < B; b++) pred.set(target.subarray(b * N * 4, (b + 1) * N * 4), (b * G + best) * N * 4);
            const reward = cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4])).reward.toArray();
            for (let b = 0; b < B; b++) {
              if (solid) expect(reward[b * G + best]).toBeCloseTo(1, 6);
              for (let g = 0; g < G; g++) expect(reward[b * G + g]).toBeLessThanOrEqual(reward[b * G + best]);
            }
          }
        });
      }), { numRuns: 30 });
    });
  });

  describe('bad inputs', () => {
    const good = (n: number) => t(randomBoxes(n), [n, 4]);
    const bad = (n: number, at: number, coord: 'x' | 'y' | 'nan') => {
      const boxes = randomBoxes(n);
      if (coord === 'x') boxes[4 * at + 2] = boxes[4 * at] - 0.1;
      else if (coord === 'y') boxes[4 * at + 3] = boxes[4 * at + 1] - 0.1;
      else boxes[4 * at + 1] = NaN;
      return boxes;
    };

    test('boxIou: an invalid box is a RangeError naming the tensor and the box index', () => {
      eg.tidy(() => {
        expect(() => boxIou(t(bad(5, 3, 'x'), [5, 4]), good(2))).toThrow(RangeError);
        expect(() => boxIou(t(bad(5, 3, 'x'), [5, 4]), good(2))).toThrow(/^boxIou: a\[3\] = .* has x2 < x1/);
        expect(() => boxIou(good(2), t(bad(9, 8, 'y'), [9, 4]))).toThrow(/^boxIou: b\[8\] = .* has y2 < y1/);
        expect(() => boxIou(good(2), t(bad(4, 0, 'nan'), [4, 4]), { kind: 'giou' })).toThrow(/b\[0\] = .* non-finite/);
        expect(() => boxIou(t(bad(5, 3, 'x'), [5, 4]), t([], [0, 4]))).toThrow(RangeError);
      });
    });

    test('boxIou: shapes, dtypes, non-tensors and options', () => {
      eg.tidy(() => {
        expect(() => boxIou(t(new Float32Array(15), [3, 5]), good(2))).toThrow(RangeError);
        expect(() => boxIou(t(new Float32Array(15), [3, 5]), good(2))).toThrow(/boxIou: a must have shape \[N,4\].*got \[3,5\]/);
        expect(() => boxIou(good(2), t(new Float32Array(8), [8]))).toThrow(/boxIou: b must have shape \[M,4\]/);
        expect(() => boxIou(eg.tensor(new Int32Array(8), [2, 4]), good(2))).toThrow(TypeError);
        expect(() => boxIou(eg.tensor(new Int32Array(8), [2, 4]), good(2))).toThrow(/boxIou: a must be f32, got i32/);
        expect(() => boxIou([0, 0, 1, 1] as unknown as eg.Tensor, good(2))).toThrow(/boxIou: a must be a Tensor, got an array/);
        expect(() => boxIou(good(2), good(2), { kind: 'diou' as 'iou' })).toThrow(RangeError);
        expect(() => boxIou(good(2), good(2), { kind: 'diou' as 'iou' })).toThrow(/options.kind must be 'iou' or 'giou'/);
        expect(() => boxIou(good(2), good(2), { kind: 3 as unknown as 'iou' })).toThrow(TypeError);
        expect(() => boxIou(good(2), good(2), 'giou' as unknown as eg.kernels.BoxIouOptions)).toThrow(TypeError);
      });
    });

    test('cycleReward: invalid boxes, mask values, shapes, dtypes and options', () => {
      eg.tidy(() => {
        const B = 2, G = 3, N = 4;
        const target = randomBoxes(B * N), pred = nearPredictions(target, B, G, N);
        const P = () => t(pred, [B, G, N, 4]), T = () => t(target, [B, N, 4]);
        const p2 = pred.slice();
        p2[((1 * G + 2) * N + 1) * 4 + 2] = p2[((1 * G + 2) * N + 1) * 4] - 1;
        expect(() => cycleReward(t(p2, [B, G, N, 4]), T())).toThrow(RangeError);
        expect(() => cycleReward(t(p2, [B, G, N, 4]), T())).toThrow(/^cycleReward: pred\[1,2,1\] = .* has x2 < x1/);
        const t2 = target.slice();
        t2[(1 * N + 3) * 4 + 3] = -5;
        expect(() => cycleReward(P(), t(t2, [B, N, 4]))).toThrow(/^cycleReward: target\[1,3\] = .* has y2 < y1/);
        const m = new Float32Array(B * N).fill(1);
        m[5] = 0.5;
        expect(() => cycleReward(P(), T(), { mask: t(m, [B, N]) })).toThrow(/options.mask\[1,1\] = 0.5 must be 0 .* or 1/);
        expect(() => cycleReward(P(), T(), { mask: t(new Float32Array(B * (N + 1)), [B, N + 1]) })).toThrow(RangeError);
        expect(() => cycleReward(P(), T(), { mask: t(new Float32Array(B * (N + 1)), [B, N + 1]) })).toThrow(/options.mask must have shape \[2,4\].*got \[2,5\]/);
        expect(() => cycleReward(P(), T(), { mask: eg.tensor(new Int32Array(B * N), [B, N]) })).toThrow(TypeError);
        expect(() => cycleReward(P(), T(), { mask: eg.tensor(new Int32Array(B * N), [B, N]) })).toThrow(/options.mask must be f32/);
        expect(() => cycleReward(P(), T(), { mask: [1, 1] as unknown as eg.Tensor })).toThrow(/options.mask must be a Tensor/);
        expect(() => cycleReward(P(), t(randomBoxes(B * (N + 1)), [B, N + 1, 4]))).toThrow(/cycleReward: target must have shape \[2,4,4\].*got \[2,5,4\]/);
        expect(() => cycleReward(t(pred, [B * G, N, 4]), T())).toThrow(/cycleReward: pred must have shape \[B,G,N,4\]/);
        expect(() => cycleReward(t(pred, [B, G, N * 2, 2]), T())).toThrow(RangeError);
        expect(() => cycleReward(eg.tensor(new Int32Array(B * G * N * 4), [B, G, N, 4]), T())).toThrow(/pred must be f32/);
        expect(() => cycleReward(P(), eg.tensor(new Int32Array(B * N * 4), [B, N, 4]))).toThrow(/target must be f32/);
        expect(() => cycleReward(P(), null as unknown as eg.Tensor)).toThrow(/cycleReward: target must be a Tensor, got null/);
        expect(() => cycleReward(P(), T(), { eps: -1 })).toThrow(/options.eps must be a finite number >= 0/);
        expect(() => cycleReward(P(), T(), { iouWeight: Infinity })).toThrow(RangeError);
        expect(() => cycleReward(P(), T(), { l1Weight: '1' as unknown as number })).toThrow(TypeError);
      });
    });
  });
});

if (devices.includes('cuda')) {
  test('a CPU tensor with a CUDA tensor is a TypeError naming both', () => {
    eg.tidy(() => {
      const a = eg.tensor(randomBoxes(2), [2, 4]), b = eg.tensor(randomBoxes(2), [2, 4], { device: 'cuda' });
      expect(() => boxIou(a, b)).toThrow(/boxIou: a is on cpu but b is on cuda/);
    });
  });
}

// Identical samples must score bit-identical rewards whatever their place in the vectorised loop
// (body or scalar tail): otherwise a "flat" group gets rounding noise / std as its advantage.
test('identical samples get bit-identical rewards at every G and N', () => {
  const box = () => { const a = Math.random() * 0.5, b = Math.random() * 0.5; return [a, b, a + 0.01 + Math.random() * 0.49, b + 0.01 + Math.random() * 0.49]; };
  for (let G = 2; G <= 10; G++) {
    for (let N = 1; N <= 6; N++) {
      eg.tidy(() => {
        const one = Array.from({ length: N }, box).flat(), target = Array.from({ length: N }, box).flat();
        const pred = Array.from({ length: G }, () => one).flat();
        const r = eg.kernels.cycleReward(eg.tensor(pred, [1, G, N, 4]), eg.tensor(target, [1, N, 4]), { eps: 0 });
        expect(new Set(Array.from(r.reward.toArray())).size).toBe(1);
        expect(Array.from(r.advantage.toArray())).toEqual(new Array(G).fill(0));
      });
    }
  }
});
