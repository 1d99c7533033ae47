// vqNearest / vqGather / vqStats against float64 references on fresh random inputs at odd
// sizes, exact ties, a property test, and every bad input of the contract.
import fc from 'fast-check';

import * as eg from '../../lib';
import { gatherRef, nearestRef, randomArray, relErr, statsRef, sum, thrown } from '../reference/vq';

const { vqNearest, vqGather, vqStats } = eg.kernels;
const err = (name: string, message: RegExp) => ({ name, message: expect.stringMatching(message) });
const randomIndices = (n: number, K: number): Int32Array => Int32Array.from({ length: n }, () => Math.floor(Math.random() * K));

/** Checks indices against the float64 argmin (a near-tie within f32 rounding may pick the other) and distances. */
function expectNearest(x: Float32Array, cb: Float32Array, N: number, D: number, K: number, r: eg.kernels.VqNearestResult): void {
  const ref = nearestRef(x, cb, N, D, K);
  const idx = r.indices.toArray(), dist = r.distances.toArray();
  const chosen = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    expect(idx[n]).toBeGreaterThanOrEqual(0);
    expect(idx[n]).toBeLessThan(K);
    chosen[n] = ref.dist[n * K + idx[n]];
    if (idx[n] !== ref.best[n]) expect(chosen[n] - ref.dist[n * K + ref.best[n]]).toBeLessThanOrEqual(1e-5 * ref.scale);
  }
  expect(relErr(dist, chosen)).toBeLessThanOrEqual(1e-4);
}

describe('vqNearest', () => {
  for (const N of [1, 7, 33, 130])
    for (const D of [8, 24, 48, 80])
      for (const K of [1, 5, 67, 513]) {
        test(`matches the float64 brute force N=${N} D=${D} K=${K}`, () => {
          const x = randomArray(N * D), cb = randomArray(K * D);
          const r = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D]));
          expect(r.indices.shape).toEqual([N]);
          expect(r.indices.dtype).toBe('i32');
          expect(r.distances.shape).toEqual([N]);
          expectNearest(x, cb, N, D, K, r);
        });
      }

  test('model shape N=4096 D=48 K=512 (spot rows against the reference)', () => {
    const N = 4096, D = 48, K = 512;
    const x = randomArray(N * D), cb = randomArray(K * D);
    const r = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D]));
    const rows = [0, 1, 777, 2048, 4095];
    const sub = new Float32Array(rows.length * D);
    rows.forEach((n, i) => sub.set(x.subarray(n * D, (n + 1) * D), i * D));
    const idx = r.indices.toArray(), dist = r.distances.toArray();
    const subResult = {
      indices: eg.tensor(Int32Array.from(rows.map((n) => idx[n])), [rows.length]),
      distances: eg.tensor(Float32Array.from(rows.map((n) => dist[n])), [rows.length]),
    };
    expectNearest(sub, cb, rows.length, D, K, subResult);
  });

  test('exact ties go to the lowest index (duplicate codebook rows)', () => {
    const D = 24, K = 67, N = 40;
    const cb = randomArray(K * D);
    cb.copyWithin(60 * D, 9 * D, 10 * D);   // code 60 = code 9
    cb.copyWithin(30 * D, 20 * D, 21 * D);  // codes 30 and 50 = code 20
    cb.copyWithin(50 * D, 20 * D, 21 * D);
    const targets = [9, 60, 20, 30, 50];
    const x = new Float32Array(N * D);
    for (let n = 0; n < N; n++) {
      const t = targets[n % 5];
      for (let d = 0; d < D; d++) x[n * D + d] = cb[t * D + d] + (n >= 20 ? 0.01 * Math.sin(n + d) : 0);  // on or near the duplicates
    }
    const idx = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D])).indices.toArray();
    for (let n = 0; n < N; n++) expect(idx[n]).toBe([9, 60].includes(targets[n % 5]) ? 9 : 20);
  });

  test('property: the reported code is at least as near as every other code', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 90 }), (N, D, K) => {
      const x = randomArray(N * D, -3, 3), cb = randomArray(K * D, -3, 3);
      const r = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D]));
      const ref = nearestRef(x, cb, N, D, K);
      const idx = r.indices.toArray();
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) if (ref.dist[n * K + idx[n]] > ref.dist[n * K + k] + 1e-5 * ref.scale) return false;
      return true;
    }), { numRuns: 60 });
  });

  test('bad input names the argument', () => {
    const x = eg.tensor(randomArray(12), [3, 4]), cb = eg.tensor(randomArray(20), [5, 4]);
    expect(thrown(() => vqNearest(x, eg.tensor(randomArray(15), [5, 3])))).toMatchObject(err('RangeError', /vqNearest: codebook must have shape \[5,4\] .*got \[5,3\]/));
    expect(thrown(() => vqNearest(eg.tensor(new Int32Array(12), [3, 4]), cb))).toMatchObject(err('TypeError', /vqNearest: x must be f32, got i32/));
    expect(thrown(() => vqNearest(x, eg.tensor(new Int32Array(20), [5, 4])))).toMatchObject(err('TypeError', /codebook must be f32/));
    expect(thrown(() => vqNearest(eg.tensor(randomArray(12), [12]), cb))).toMatchObject(err('RangeError', /x must have 2 dimensions, got shape \[12\]/));
    expect(thrown(() => vqNearest(x, eg.tensor(randomArray(20), [5, 4, 1])))).toMatchObject(err('RangeError', /codebook must have 2 dimensions/));
    expect(thrown(() => vqNearest(x, eg.tensor(new Float32Array(0), [0, 4])))).toMatchObject(err('RangeError', /codebook must have at least one row/));
    expect(thrown(() => vqNearest(undefined as unknown as eg.Tensor, cb))).toMatchObject(err('TypeError', /vqNearest: x must be a Tensor/));
  });
});

describe('vqGather', () => {
  for (const [S, D, K] of [[[], 8, 5], [[7], 24, 67], [[2, 3, 5], 80, 513], [[0, 4], 8, 3]] as [number[], number, number][]) {
    test(`indices [${S}] from codebook [${K},${D}] give [${[...S, D]}]`, () => {
      const cb = randomArray(K * D), count = S.reduce((a, b) => a * b, 1);
      const idx = randomIndices(count, K);
      const out = vqGather(eg.tensor(cb, [K, D]), eg.tensor(idx, S));
      expect(out.shape).toEqual([...S, D]);
      expect(Array.from(out.toArray())).toEqual(Array.from(gatherRef(cb, idx, D)));
    });
  }

  test('an index outside [0,K) is a RangeError naming the value and its position', () => {
    const cb = eg.tensor(randomArray(5 * 3), [5, 3]);
    const idx = Int32Array.from([0, 1, 2, 3, 4, 0]);
    idx[4] = 5;
    expect(thrown(() => vqGather(cb, eg.tensor(idx, [2, 3])))).toMatchObject(err('RangeError', /vqGather: indices\[1,1\] = 5 is out of range: the codebook has 5 rows/));
    idx[4] = 0;
    idx[2] = -1;
    expect(thrown(() => vqGather(cb, eg.tensor(idx, [6])))).toMatchObject(err('RangeError', /indices\[2\] = -1/));
  });

  test('bad input names the argument', () => {
    const cb = eg.tensor(randomArray(15), [5, 3]);
    expect(thrown(() => vqGather(cb, eg.tensor(new Float32Array([1, 2]), [2])))).toMatchObject(err('TypeError', /vqGather: indices must be i32, got f32/));
    expect(thrown(() => vqGather(eg.tensor(randomArray(15), [15]), eg.tensor(new Int32Array(2), [2])))).toMatchObject(err('RangeError', /codebook must have 2 dimensions/));
    expect(thrown(() => vqGather(cb, [1, 2] as unknown as eg.Tensor))).toMatchObject(err('TypeError', /indices must be a Tensor/));
  });
});

describe('vqStats', () => {
  for (const [N, D, K] of [[1, 8, 1], [33, 24, 5], [130, 48, 67], [901, 80, 513]]) {
    test(`sums and counts match the float64 reference N=${N} D=${D} K=${K}`, () => {
      const x = randomArray(N * D), idx = randomIndices(N, K);
      const r = vqStats(eg.tensor(x, [N, D]), eg.tensor(idx, [N]), K);
      const ref = statsRef(x, idx, D, K);
      expect(r.sums.shape).toEqual([K, D]);
      expect(r.counts.shape).toEqual([K]);
      expect(relErr(r.sums.toArray(), ref.sums)).toBeLessThanOrEqual(1e-4);
      expect(Array.from(r.counts.toArray())).toEqual(Array.from(ref.counts));
    });
  }

  test('one k-means step: assignment by vqNearest, stats, means are nearer on average', () => {
    const N = 600, D = 8, K = 13;
    const x = randomArray(N * D, -2, 2), cb = randomArray(K * D, -2, 2);
    const { indices, distances } = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D]));
    const { sums, counts } = vqStats(eg.tensor(x, [N, D]), indices, K);
    const s = sums.toArray(), c = counts.toArray(), means = new Float32Array(cb);
    for (let k = 0; k < K; k++) if (c[k] > 0) for (let d = 0; d < D; d++) means[k * D + d] = s[k * D + d] / c[k];
    const before = sum(distances.toArray());
    const after = sum(vqNearest(eg.tensor(x, [N, D]), eg.tensor(means, [K, D])).distances.toArray());
    expect(after).toBeLessThanOrEqual(before);
  });

  test('bad input names the argument', () => {
    const x = eg.tensor(randomArray(12), [3, 4]);
    expect(thrown(() => vqStats(x, eg.tensor(Int32Array.from([0, 7, 1]), [3]), 4))).toMatchObject(err('RangeError', /vqStats: indices\[1\] = 7 is out of range/));
    expect(thrown(() => vqStats(x, eg.tensor(Int32Array.from([0, 1]), [2]), 4))).toMatchObject(err('RangeError', /vqStats: indices must have shape \[3\]/));
    expect(thrown(() => vqStats(x, eg.tensor(new Float32Array(3), [3]), 4))).toMatchObject(err('TypeError', /indices must be i32/));
    expect(thrown(() => vqStats(x, eg.tensor(new Int32Array(3), [3]), 0))).toMatchObject(err('RangeError', /vqStats: K must be an integer in \[1, /));
    expect(thrown(() => vqStats(x, eg.tensor(new Int32Array(3), [3]), 2.5))).toMatchObject(err('RangeError', /K must be an integer/));
    expect(thrown(() => vqStats(x, eg.tensor(new Int32Array(3), [3]), '4' as unknown as number))).toMatchObject(err('TypeError', /K must be a number/));
    expect(thrown(() => vqStats(eg.tensor(randomArray(12), [12]), eg.tensor(new Int32Array(12), [12]), 4))).toMatchObject(err('RangeError', /x must have 2 dimensions/));
  });
});

const cuda = eg.backends().includes('cuda');
(cuda ? describe : describe.skip)('CUDA matches CPU', () => {
  test('nearest, gather, stats; bad index reported from the device', () => {
    for (const [N, D, K] of [[7, 24, 5], [130, 80, 513], [4096, 48, 512], [1000, 192, 1031]]) {
      const x = randomArray(N * D), cb = randomArray(K * D);
      const cpu = vqNearest(eg.tensor(x, [N, D]), eg.tensor(cb, [K, D]));
      const gx = eg.tensor(x, [N, D], { device: 'cuda' }), gcb = eg.tensor(cb, [K, D], { device: 'cuda' });
      const gpu = vqNearest(gx, gcb);
      // the same FMA chains on both backends: identical argmins, except possibly at a near-tie
      const gi = gpu.indices.toArray(), ci = cpu.indices.toArray();
      const diff = Array.from(gi.keys()).filter((n) => gi[n] !== ci[n]);
      if (diff.length) {
        const ref = nearestRef(x, cb, N, D, K);
        for (const n of diff) expect(Math.abs(ref.dist[n * K + gi[n]] - ref.dist[n * K + ci[n]])).toBeLessThanOrEqual(1e-5 * ref.scale);
      }
      expect(relErr(gpu.distances.toArray(), cpu.distances.toArray())).toBeLessThanOrEqual(1e-5);
      const idx = randomIndices(N, K);
      const gidx = eg.tensor(idx, [N], { device: 'cuda' });
      expect(Array.from(vqGather(gcb, gidx).toArray())).toEqual(Array.from(gatherRef(cb, idx, D)));
      const s = vqStats(gx, gidx, K), ref = statsRef(x, idx, D, K);
      expect(relErr(s.sums.toArray(), ref.sums)).toBeLessThanOrEqual(1e-4);
      expect(Array.from(s.counts.toArray())).toEqual(Array.from(ref.counts));
      idx[N - 1] = K;
      expect(thrown(() => vqGather(gcb, eg.tensor(idx, [N], { device: 'cuda' })))).toMatchObject(err('RangeError', new RegExp(`indices\\[${N - 1}\\] = ${K}`)));
    }
  });
});
