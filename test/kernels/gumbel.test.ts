// gumbelSoftmax / gumbelSoftmaxBackward against float64 references that draw the same Philox
// noise, a finite-difference gradient check, a chi-square test of the sampling distribution,
// the properties of the contract and every bad input.
import * as eg from '../../lib';
import { chiSquare, gammaQ, gumbelNoise, gumbelSoftmaxBackwardRef, gumbelSoftmaxRef, philox4x32_10, softmax } from '../reference/gumbel';
import { randomArray, relErr, sum, thrown } from '../reference/vq';

const { gumbelSoftmax, gumbelSoftmaxBackward } = eg.kernels;
const randomSeed = (): number => Math.floor(Math.random() * 2 ** 53);

function logitsWithHoles(N: number, V: number): Float32Array {
  const l = randomArray(N * V, -3, 3);
  if (V > 4) for (let i = 0; i < l.length; i += 3) l[i] = -Infinity;
  return l;
}

describe('reference Philox', () => {
  test('matches the Random123 known answers for philox4x32-10', () => {
    expect(philox4x32_10([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))
      .toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))
      .toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  test('chi-square p-value agrees with closed forms', () => {
    // dof 2: Q(1, x/2) = exp(-x/2); dof 1 at the 5% critical value 3.841459
    for (const x of [0.1, 1, 5, 30]) expect(gammaQ(1, x / 2)).toBeCloseTo(Math.exp(-x / 2), 12);
    expect(gammaQ(0.5, 3.841459 / 2)).toBeCloseTo(0.05, 6);
    expect(gammaQ(2.5, 11.0705 / 2)).toBeCloseTo(0.05, 5);  // dof 5
  });
});

describe('gumbelSoftmax forward', () => {
  const sizes: [number, number][] = [[1, 1], [7, 5], [33, 37], [5, 130], [3, 1031]];
  for (const [N, V] of sizes) {
    for (const tau of [0.25, 1, 3]) {
      test(`matches the float64 reference N=${N} V=${V} tau=${tau}`, () => {
        const seed = randomSeed(), offset = Math.floor(Math.random() * 1e6);
        const logits = logitsWithHoles(N, V);
        const r = gumbelSoftmax(eg.tensor(logits, [N, V]), { tau, seed, offset, hard: true });
        const ref = gumbelSoftmaxRef(logits, N, V, tau, seed, offset);
        expect(r.soft.shape).toEqual([N, V]);
        expect(r.indices.shape).toEqual([N]);
        expect(r.indices.dtype).toBe('i32');
        expect(relErr(r.soft.toArray(), ref.soft)).toBeLessThanOrEqual(1e-4);
        const idx = r.indices.toArray(), hard = r.hard!.toArray(), soft = r.soft.toArray();
        for (let n = 0; n < N; n++) {
          if (idx[n] !== ref.indices[n]) expect(ref.gap[n]).toBeLessThan(1e-5);  // only a float32 near-tie may differ
          let sum = 0;
          for (let v = 0; v < V; v++) {
            sum += soft[n * V + v];
            expect(hard[n * V + v]).toBe(v === idx[n] ? 1 : 0);
          }
          expect(sum).toBeCloseTo(1, 5);
          expect(logits[n * V + idx[n]]).not.toBe(-Infinity);
        }
      });
    }
  }

  test('noise of the reference is the kernel\'s noise: zero logits, tau 1, soft = softmax(g)', () => {
    const N = 3, V = 70, seed = 2 ** 40 + 12345, offset = 2 ** 33 + 7;
    const r = gumbelSoftmax(eg.tensor(new Float32Array(N * V), [N, V]), { tau: 1, seed, offset });
    const g = Array.from({ length: N * V }, (_, e) => gumbelNoise(seed, offset, e));
    const ref = new Float64Array(N * V);
    for (let n = 0; n < N; n++) ref.set(softmax(g.slice(n * V, (n + 1) * V)), n * V);
    expect(relErr(r.soft.toArray(), ref)).toBeLessThanOrEqual(1e-5);
  });

  test('a row of all -Infinity gets index -1 and zero soft and hard rows; other rows are unaffected', () => {
    const V = 6, logits = randomArray(3 * V);
    logits.fill(-Infinity, V, 2 * V);
    const r = gumbelSoftmax(eg.tensor(logits, [3, V]), { tau: 0.5, seed: 9, hard: true });
    const idx = r.indices.toArray(), soft = r.soft.toArray(), hard = r.hard!.toArray();
    expect(idx[1]).toBe(-1);
    expect(Array.from(soft.slice(V, 2 * V))).toEqual(new Array(V).fill(0));
    expect(Array.from(hard.slice(V, 2 * V))).toEqual(new Array(V).fill(0));
    for (const n of [0, 2]) {
      expect(idx[n]).toBeGreaterThanOrEqual(0);
      expect(sum(soft.slice(n * V, (n + 1) * V))).toBeCloseTo(1, 5);
    }
  });

  test('-Infinity logits are never sampled over 20000 draws', () => {
    const N = 20000, V = 9, holes = [0, 4, 8];
    const row = randomArray(V, -1, 1);
    for (const h of holes) row[h] = -Infinity;
    const logits = new Float32Array(N * V);
    for (let n = 0; n < N; n++) logits.set(row, n * V);
    const idx = gumbelSoftmax(eg.tensor(logits, [N, V]), { tau: 1, seed: randomSeed() }).indices.toArray();
    for (let n = 0; n < N; n++) expect(holes.includes(idx[n])).toBe(false);
  });

  // The seed is fresh every run, so the threshold is a false-alarm rate per run: 1e-6, not 1e-3 (one CI run in a
  // thousand). A category of probability >= 0.1 drawn a tenth too often or too rarely alone gives chi2 >= 100 on 1e5
  // draws (p < 1e-18 at 6 degrees of freedom).
  test('sample frequencies over 1e5 draws follow softmax(logits) (chi-square, p > 1e-6)', () => {
    const N = 100000, V = 8;
    const row = randomArray(V, -2, 2);
    row[5] = -Infinity;  // never drawn; left out of the test's categories
    const logits = new Float32Array(N * V);
    for (let n = 0; n < N; n++) logits.set(row, n * V);
    const idx = gumbelSoftmax(eg.tensor(logits, [N, V]), { tau: 1, seed: randomSeed(), offset: 3 }).indices.toArray();
    const counts = new Array(V).fill(0);
    for (let n = 0; n < N; n++) counts[idx[n]]++;
    expect(counts[5]).toBe(0);
    const keep = [0, 1, 2, 3, 4, 6, 7];
    const probs = softmax(keep.map((v) => row[v]));
    const { stat, dof, p } = chiSquare(keep.map((v) => counts[v]), probs, N);
    expect(dof).toBe(6);
    expect(Number.isFinite(stat)).toBe(true);
    expect(p).toBeGreaterThan(1e-6);
  });

  test('same seed and offset give the same draw; another offset or seed does not', () => {
    const N = 500, V = 40, seed = randomSeed();
    const x = eg.tensor(randomArray(N * V), [N, V]);
    const a = gumbelSoftmax(x, { tau: 0.7, seed, offset: 5 });
    const b = gumbelSoftmax(x, { tau: 0.7, seed, offset: 5 });
    const c = gumbelSoftmax(x, { tau: 0.7, seed, offset: 6 });
    const d = gumbelSoftmax(x, { tau: 0.7, seed: (seed + 2 ** 32) % 2 ** 53, offset: 5 });  // only the key's high word differs
    expect(Array.from(b.indices.toArray())).toEqual(Array.from(a.indices.toArray()));
    expect(Array.from(b.soft.toArray())).toEqual(Array.from(a.soft.toArray()));
    const differ = (p: eg.Tensor, q: eg.Tensor): number => {
      const u = p.toArray(), w = q.toArray();
      let k = 0;
      for (let i = 0; i < u.length; i++) k += u[i] !== w[i] ? 1 : 0;
      return k;
    };
    // with 40 categories two independent draws agree on a row with probability < 0.5
    expect(differ(a.indices, c.indices)).toBeGreaterThan(N / 4);
    expect(differ(a.indices, d.indices)).toBeGreaterThan(N / 4);
  });

  test('seed and offset accept every integer up to 2^53', () => {
    const x = eg.tensor(randomArray(4 * 3), [4, 3]);
    for (const seed of [0, 2 ** 32 - 1, 2 ** 32, 2 ** 53]) {
      const r = gumbelSoftmax(x, { tau: 1, seed, offset: 2 ** 53 });
      const ref = gumbelSoftmaxRef(x.toArray(), 4, 3, 1, seed, 2 ** 53);
      expect(relErr(r.soft.toArray(), ref.soft)).toBeLessThanOrEqual(1e-4);
    }
  });

  test('hard is absent unless asked for', () => {
    const r = gumbelSoftmax(eg.tensor(randomArray(6), [2, 3]), { tau: 1, seed: 1 });
    expect(r.hard).toBeUndefined();
  });
});

describe('gumbelSoftmaxBackward', () => {
  for (const [N, V] of [[1, 1], [7, 5], [33, 37], [3, 1031]] as [number, number][]) {
    test(`matches the float64 closed form N=${N} V=${V}`, () => {
      const tau = 0.4 + Math.random();
      const { soft } = gumbelSoftmax(eg.tensor(randomArray(N * V, -2, 2), [N, V]), { tau, seed: randomSeed() });
      const dy = randomArray(N * V);
      const got = gumbelSoftmaxBackward(eg.tensor(dy, [N, V]), soft, tau);
      expect(got.shape).toEqual([N, V]);
      expect(relErr(got.toArray(), gumbelSoftmaxBackwardRef(dy, soft.toArray(), N, V, tau))).toBeLessThanOrEqual(1e-3);
    });
  }

  test('agrees with finite differences of the forward (fixed noise: same seed and offset)', () => {
    const N = 3, V = 7, tau = 0.6, seed = randomSeed(), offset = 11;
    const logits = randomArray(N * V, -1, 1);
    const w = randomArray(N * V);
    const loss = (l: Float32Array): number => {
      const s = gumbelSoftmax(eg.tensor(l, [N, V]), { tau, seed, offset }).soft.toArray();
      let acc = 0;
      for (let i = 0; i < s.length; i++) acc += w[i] * s[i];
      return acc;
    };
    const { soft } = gumbelSoftmax(eg.tensor(logits, [N, V]), { tau, seed, offset });
    const grad = gumbelSoftmaxBackward(eg.tensor(w, [N, V]), soft, tau).toArray();
    const h = 1e-2, fd = new Float64Array(N * V);
    for (let i = 0; i < N * V; i++) {
      const up = logits.slice(), down = logits.slice();
      up[i] += h;
      down[i] -= h;
      fd[i] = (loss(up) - loss(down)) / (2 * h);
    }
    expect(relErr(grad, fd)).toBeLessThanOrEqual(1e-2);
  });
});

describe('bad input', () => {
  const x = eg.tensor(randomArray(12), [3, 4]);
  const err = (name: string, message: RegExp) => ({ name, message: expect.stringMatching(message) });
  const opts = (o: Record<string, unknown>): eg.kernels.GumbelSoftmaxOptions => o as unknown as eg.kernels.GumbelSoftmaxOptions;

  test('logits: not a tensor, wrong dtype, wrong rank', () => {
    expect(thrown(() => gumbelSoftmax(null as unknown as eg.Tensor, { tau: 1, seed: 1 }))).toMatchObject(err('TypeError', /gumbelSoftmax: logits must be a Tensor/));
    expect(thrown(() => gumbelSoftmax(eg.tensor(new Int32Array(12), [3, 4]), { tau: 1, seed: 1 }))).toMatchObject(err('TypeError', /gumbelSoftmax: logits must be f32, got i32/));
    expect(thrown(() => gumbelSoftmax(eg.tensor(randomArray(12), [12]), { tau: 1, seed: 1 }))).toMatchObject(err('RangeError', /logits must have 2 dimensions, got shape \[12\]/));
    expect(thrown(() => gumbelSoftmax(eg.tensor(randomArray(12), [2, 2, 3]), { tau: 1, seed: 1 }))).toMatchObject(err('RangeError', /logits must have 2 dimensions/));
  });
  test('tau <= 0 or not finite is a RangeError naming tau', () => {
    for (const tau of [0, -1, NaN, Infinity, -Infinity, 1e-60])
      expect(thrown(() => gumbelSoftmax(x, { tau, seed: 1 }))).toMatchObject(err('RangeError', /gumbelSoftmax: options\.tau must be a finite number > 0/));
    expect(thrown(() => gumbelSoftmax(x, opts({ tau: '1', seed: 1 })))).toMatchObject(err('TypeError', /options\.tau must be a number/));
    expect(thrown(() => gumbelSoftmax(x, opts({ seed: 1 })))).toMatchObject(err('TypeError', /options\.tau/));
  });
  test('seed and offset must be integers in [0, 2^53]; options are required', () => {
    expect(thrown(() => gumbelSoftmax(x, opts({ tau: 1 })))).toMatchObject(err('TypeError', /options\.seed must be an integer/));
    for (const seed of [1.5, -1, 2 ** 53 + 2, Infinity])
      expect(thrown(() => gumbelSoftmax(x, { tau: 1, seed }))).toMatchObject(err('RangeError', /options\.seed must be an integer in \[0, 2\^53\]/));
    for (const offset of [-3, 0.25])
      expect(thrown(() => gumbelSoftmax(x, { tau: 1, seed: 1, offset }))).toMatchObject(err('RangeError', /options\.offset/));
    expect(thrown(() => gumbelSoftmax(x, opts({ tau: 1, seed: 1, hard: 'yes' })))).toMatchObject(err('TypeError', /options\.hard must be a boolean/));
    expect(thrown(() => gumbelSoftmax(x, undefined as unknown as eg.kernels.GumbelSoftmaxOptions))).toMatchObject(err('TypeError', /options \{ tau, seed \} are required/));
  });
  test('backward: shapes, dtypes, tau', () => {
    const s = gumbelSoftmax(x, { tau: 1, seed: 1 }).soft;
    expect(thrown(() => gumbelSoftmaxBackward(eg.tensor(randomArray(15), [3, 5]), s, 1))).toMatchObject(err('RangeError', /gumbelSoftmaxBackward: soft must have shape \[3,5\] \(the shape of dy\), got \[3,4\]/));
    expect(thrown(() => gumbelSoftmaxBackward(eg.tensor(new Int32Array(12), [3, 4]), s, 1))).toMatchObject(err('TypeError', /dy must be f32/));
    expect(thrown(() => gumbelSoftmaxBackward(x, eg.tensor(new Int32Array(12), [3, 4]), 1))).toMatchObject(err('TypeError', /soft must be f32/));
    expect(thrown(() => gumbelSoftmaxBackward(eg.tensor(randomArray(12), [12]), s, 1))).toMatchObject(err('RangeError', /dy must have 2 dimensions/));
    for (const tau of [0, -2, NaN, Infinity])
      expect(thrown(() => gumbelSoftmaxBackward(x, s, tau))).toMatchObject(err('RangeError', /gumbelSoftmaxBackward: tau must be a finite number > 0/));
    expect(thrown(() => gumbelSoftmaxBackward(x, 'soft' as unknown as eg.Tensor, 1))).toMatchObject(err('TypeError', /soft must be a Tensor/));
  });
});

const cuda = eg.backends().includes('cuda');
(cuda ? describe : describe.skip)('CUDA matches CPU', () => {
  test('indices bit-identical, soft within 1e-5, backward within 1e-5', () => {
    for (const [N, V] of [[7, 5], [64, 1000], [4096, 1024], [5, 9000]] as [number, number][]) {
      const seed = randomSeed(), logits = logitsWithHoles(N, V);
      const cpu = gumbelSoftmax(eg.tensor(logits, [N, V]), { tau: 0.5, seed, offset: 1, hard: true });
      const gpu = gumbelSoftmax(eg.tensor(logits, [N, V], { device: 'cuda' }), { tau: 0.5, seed, offset: 1, hard: true });
      expect(Array.from(gpu.indices.toArray())).toEqual(Array.from(cpu.indices.toArray()));
      expect(relErr(gpu.soft.toArray(), cpu.soft.toArray())).toBeLessThanOrEqual(1e-5);
      expect(Array.from(gpu.hard!.toArray())).toEqual(Array.from(cpu.hard!.toArray()));
      const dy = randomArray(N * V);
      const gb = gumbelSoftmaxBackward(eg.tensor(dy, [N, V], { device: 'cuda' }), gpu.soft, 0.5);
      const cb = gumbelSoftmaxBackward(eg.tensor(dy, [N, V]), cpu.soft, 0.5);
      expect(relErr(gb.toArray(), cb.toArray())).toBeLessThanOrEqual(1e-5);
    }
  });
});
