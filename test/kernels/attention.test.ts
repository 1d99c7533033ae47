// Fused attention against the float64 reference (forward, backward, finite differences), the
// empty-row contract, closed-form cases and every bad input. Runs on each available backend.
import * as eg from '../../lib';
import { RefProblem, refAttention, refAttentionBackward, refLoss, relErr } from '../reference/attention';

const { attention, attentionBackward } = eg.kernels;
const devices = eg.backends();

function uniform(n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * Math.random());
}

interface Case {
  B: number; H: number; Tq: number; Tk: number; D: number;
  causal?: boolean;
  mask?: 2 | 3;
  emptyRow?: boolean; // one query row of the mask is all zero
}

interface Problem extends RefProblem {
  q: Float32Array; k: Float32Array; v: Float32Array; dOut: Float32Array;
  mask?: Int32Array;
}

function makeProblem(c: Case): Problem {
  const { B, H, Tq, Tk, D } = c;
  const p: Problem = {
    B, H, Tq, Tk, D, causal: c.causal,
    q: uniform(B * H * Tq * D, -2, 2), k: uniform(B * H * Tk * D, -2, 2),
    v: uniform(B * H * Tk * D, -1, 1), dOut: uniform(B * H * Tq * D, -1, 1),
  };
  if (c.mask) {
    const batches = c.mask === 3 ? B : 1;
    const m = Int32Array.from({ length: batches * Tq * Tk }, () => (Math.random() < 0.7 ? 1 : 0));
    if (c.emptyRow) for (let b = 0; b < batches; b++) m.fill(0, (b * Tq + (Tq >> 1)) * Tk, (b * Tq + (Tq >> 1) + 1) * Tk);
    p.mask = m;
    p.maskBatched = c.mask === 3;
  }
  return p;
}

interface Inputs { q: eg.Tensor; k: eg.Tensor; v: eg.Tensor; dOut: eg.Tensor; opts: eg.kernels.AttentionOptions }

function inputs(p: Problem, device: eg.Device): Inputs {
  const opts: eg.kernels.AttentionOptions = { causal: p.causal };
  if (p.scale !== undefined) opts.scale = p.scale;
  if (p.mask) opts.mask = eg.tensor(p.mask, p.maskBatched ? [p.B, p.Tq, p.Tk] : [p.Tq, p.Tk], { device });
  return {
    q: eg.tensor(p.q, [p.B, p.H, p.Tq, p.D], { device }),
    k: eg.tensor(p.k, [p.B, p.H, p.Tk, p.D], { device }),
    v: eg.tensor(p.v, [p.B, p.H, p.Tk, p.D], { device }),
    dOut: eg.tensor(p.dOut, [p.B, p.H, p.Tq, p.D], { device }),
    opts,
  };
}

const describeCase = (c: Case) =>
  `B=${c.B} H=${c.H} Tq=${c.Tq} Tk=${c.Tk} D=${c.D}${c.causal ? ' causal' : ''}${c.mask ? ` mask${c.mask}d` : ''}${c.emptyRow ? ' empty-row' : ''}`;

// Odd sizes (T = 1, 7, 33, 130; D = 8, 24, 64, 80), Tq != Tk, causal, 2-D/3-D masks, both, empty rows.
const cases: Case[] = [
  { B: 2, H: 3, Tq: 7, Tk: 7, D: 8 },
  { B: 1, H: 2, Tq: 1, Tk: 33, D: 24, causal: true },
  { B: 2, H: 2, Tq: 33, Tk: 7, D: 64, causal: true },
  { B: 1, H: 2, Tq: 130, Tk: 130, D: 32, causal: true },
  { B: 2, H: 1, Tq: 130, Tk: 33, D: 80, mask: 2, emptyRow: true },
  { B: 2, H: 2, Tq: 33, Tk: 130, D: 24, mask: 3 },
  { B: 2, H: 1, Tq: 65, Tk: 130, D: 8, causal: true, mask: 3, emptyRow: true },
  { B: 1, H: 1, Tq: 7, Tk: 1, D: 128, mask: 2 },
];

describe.each(devices.map((d) => [d]))('attention on %s', (device) => {
  test.each(cases.map((c) => [describeCase(c), c]))('forward and backward %s', (_name, c: Case) => {
    eg.tidy(() => {
      const p = makeProblem(c);
      const t = inputs(p, device);
      const ref = refAttention(p);
      const { out, lse } = attention(t.q, t.k, t.v, t.opts);
      expect(out.shape).toEqual([c.B, c.H, c.Tq, c.D]);
      expect(lse.shape).toEqual([c.B, c.H, c.Tq]);
      expect(out.device).toBe(device);
      expect(relErr(out.toArray(), ref.out)).toBeLessThanOrEqual(1e-4);
      expect(relErr(lse.toArray(), ref.lse)).toBeLessThanOrEqual(1e-4);
      const g = attentionBackward(t.q, t.k, t.v, out, lse, t.dOut, t.opts);
      const gref = refAttentionBackward(p, p.dOut);
      expect(relErr(g.dq.toArray(), gref.dq)).toBeLessThanOrEqual(1e-3);
      expect(relErr(g.dk.toArray(), gref.dk)).toBeLessThanOrEqual(1e-3);
      expect(relErr(g.dv.toArray(), gref.dv)).toBeLessThanOrEqual(1e-3);
    });
  });

  test('gradients match central differences of the float64 loss sum(dOut * out)', () => {
    const c: Case = { B: 1, H: 2, Tq: 9, Tk: 13, D: 24, causal: true, mask: 2 };
    const p = makeProblem(c);
    const t = inputs(p, device);
    const { out, lse } = attention(t.q, t.k, t.v, t.opts);
    const g = attentionBackward(t.q, t.k, t.v, out, lse, t.dOut, t.opts);
    const grads = { q: g.dq.toArray(), k: g.dk.toArray(), v: g.dv.toArray() };
    const h = 1e-5;
    for (const name of ['q', 'k', 'v'] as const) {
      const x = Float64Array.from(p[name]);
      const grad = grads[name];
      let gmax = 0;
      for (const y of grad) gmax = Math.max(gmax, Math.abs(y));
      expect(gmax).toBeGreaterThan(0);
      for (let trial = 0; trial < 6; trial++) {
        const i = Math.floor(Math.random() * x.length);
        const at = (delta: number) => {
          const y = Float64Array.from(x);
          y[i] += delta;
          return refLoss({ ...p, [name]: y }, p.dOut);
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(grad[i] - fd)).toBeLessThanOrEqual(1e-3 * gmax);
      }
    }
    for (const x of [t.q, t.k, t.v, t.dOut, out, lse, g.dq, g.dk, g.dv, t.opts.mask]) x?.dispose();
  });

  test('a row that sees no key: out 0, lse -Infinity, zero gradients, never NaN', () => {
    eg.tidy(() => {
      // causal with Tq > Tk: query i sees key j iff j <= i - 4, so rows 0..3 see nothing;
      // the mask also hides every key from row 6.
      const p = makeProblem({ B: 1, H: 2, Tq: 9, Tk: 5, D: 16, causal: true, mask: 2 });
      p.mask!.fill(1);
      p.mask!.fill(0, 6 * 5, 7 * 5);
      const t = inputs(p, device);
      const { out, lse } = attention(t.q, t.k, t.v, t.opts);
      const o = out.toArray();
      const l = lse.toArray();
      const g = attentionBackward(t.q, t.k, t.v, out, lse, t.dOut, t.opts);
      const dq = g.dq.toArray();
      for (let bh = 0; bh < 2; bh++) {
        for (let i = 0; i < 9; i++) {
          const empty = i < 4 || i === 6;
          expect(l[bh * 9 + i] === -Infinity).toBe(empty);
          for (let c = 0; c < 16; c++) {
            const at = (bh * 9 + i) * 16 + c;
            if (empty) { expect(o[at]).toBe(0); expect(dq[at]).toBe(0); }
          }
        }
      }
      for (const a of [o, l, dq, g.dk.toArray(), g.dv.toArray()])
        expect(Array.from(a).some((x) => Number.isNaN(x))).toBe(false);
    });
  });

  test('Tk = 0: every row is empty', () => {
    eg.tidy(() => {
      const q = eg.tensor(uniform(2 * 3 * 8, -1, 1), [1, 2, 3, 8], { device });
      const k = eg.zeros([1, 2, 0, 8], { device });
      const { out, lse } = attention(q, k, k);
      expect(Array.from(out.toArray()).every((x) => x === 0)).toBe(true);
      expect(Array.from(lse.toArray()).every((x) => x === -Infinity)).toBe(true);
      const g = attentionBackward(q, k, k, out, lse, q);
      expect(Array.from(g.dq.toArray()).every((x) => x === 0)).toBe(true);
      expect(g.dk.shape).toEqual([1, 2, 0, 8]);
    });
  });

  test('closed form: q = 0 averages the visible values and lse = log(#visible)', () => {
    eg.tidy(() => {
      const Tq = 5, Tk = 70, D = 8;
      const v = uniform(Tk * D, -1, 1);
      const q = eg.zeros([1, 1, Tq, D], { device });
      const k = eg.tensor(uniform(Tk * D, -3, 3), [1, 1, Tk, D], { device });
      const { out, lse } = attention(q, k, eg.tensor(v, [1, 1, Tk, D], { device }), { causal: true });
      const o = out.toArray();
      const l = lse.toArray();
      for (let i = 0; i < Tq; i++) {
        const seen = i + (Tk - Tq) + 1; // bottom-right aligned causal
        expect(l[i]).toBeCloseTo(Math.log(seen), 5);
        for (let c = 0; c < D; c++) {
          let mean = 0;
          for (let j = 0; j < seen; j++) mean += v[j * D + c] / seen;
          expect(o[i * D + c]).toBeCloseTo(mean, 5);
        }
      }
    });
  });

  test('Tq = 1 causal (decoding over a KV cache) sees every key', () => {
    eg.tidy(() => {
      const p = makeProblem({ B: 2, H: 2, Tq: 1, Tk: 45, D: 32 });
      const t = inputs(p, device);
      const full = attention(t.q, t.k, t.v).out.toArray();
      const causal = attention(t.q, t.k, t.v, { causal: true }).out.toArray();
      expect(relErr(causal, full)).toBeLessThanOrEqual(1e-6);
    });
  });

  test('scale: default 1/sqrt(D), explicit values honoured', () => {
    eg.tidy(() => {
      const p = makeProblem({ B: 1, H: 2, Tq: 11, Tk: 19, D: 40 });
      const t = inputs(p, device);
      expect(relErr(attention(t.q, t.k, t.v).out.toArray(), refAttention({ ...p, scale: 1 / Math.sqrt(40) }).out))
        .toBeLessThanOrEqual(1e-4);
      const r = attention(t.q, t.k, t.v, { scale: 0.37 });
      expect(relErr(r.out.toArray(), refAttention({ ...p, scale: 0.37 }).out)).toBeLessThanOrEqual(1e-4);
      expect(relErr(r.lse.toArray(), refAttention({ ...p, scale: 0.37 }).lse)).toBeLessThanOrEqual(1e-4);
    });
  });

  test('blocks of keys masked off entirely (skipped tiles) and a long causal sequence', () => {
    eg.tidy(() => {
      // only keys 140..199 visible, and only to the second half of the queries
      const p = makeProblem({ B: 1, H: 2, Tq: 150, Tk: 200, D: 24, mask: 2 });
      for (let i = 0; i < 150; i++)
        for (let j = 0; j < 200; j++) p.mask![i * 200 + j] = i >= 75 && j >= 140 ? 1 : 0;
      const t = inputs(p, device);
      const r = attention(t.q, t.k, t.v, t.opts);
      const ref = refAttention(p);
      expect(relErr(r.out.toArray(), ref.out)).toBeLessThanOrEqual(1e-4);
      expect(relErr(r.lse.toArray(), ref.lse)).toBeLessThanOrEqual(1e-4);
      const g = attentionBackward(t.q, t.k, t.v, r.out, r.lse, t.dOut, t.opts);
      const gref = refAttentionBackward(p, p.dOut);
      expect(relErr(g.dk.toArray(), gref.dk)).toBeLessThanOrEqual(1e-3);
      expect(relErr(g.dq.toArray(), gref.dq)).toBeLessThanOrEqual(1e-3);
      expect(relErr(g.dv.toArray(), gref.dv)).toBeLessThanOrEqual(1e-3);
    });
  });
});

describe('attention bad inputs', () => {
  const f = (shape: number[], dtype: eg.DType = 'f32') => eg.zeros(shape, { dtype });
  const q = f([2, 3, 5, 8]);
  const k = f([2, 3, 7, 8]);
  const out = f([2, 3, 5, 8]);
  const lse = f([2, 3, 5]);

  const forward: [string, () => unknown, typeof TypeError, RegExp][] = [
    ['q not a tensor', () => attention([1, 2] as unknown as eg.Tensor, k, k), TypeError, /attention: q must be a Tensor/],
    ['k missing', () => attention(q, undefined as unknown as eg.Tensor, k), TypeError, /attention: k must be a Tensor/],
    ['v a plain object', () => attention(q, k, {} as unknown as eg.Tensor), TypeError, /attention: v must be a Tensor/],
    ['q i32', () => attention(f([2, 3, 5, 8], 'i32'), k, k), TypeError, /attention: q must be f32, got i32/],
    ['q rank 3', () => attention(f([3, 5, 8]), k, k), RangeError, /attention: q must have 4 dimensions, got shape \[3,5,8\]/],
    ['k head dim', () => attention(q, f([2, 3, 7, 9]), f([2, 3, 7, 9])), RangeError, /attention: k must have shape \[2,3,7,8\].*got \[2,3,7,9\]/],
    ['k batch', () => attention(q, f([1, 3, 7, 8]), f([1, 3, 7, 8])), RangeError, /attention: k must have shape \[2,3,7,8\].*got \[1,3,7,8\]/],
    ['v length', () => attention(q, k, f([2, 3, 6, 8])), RangeError, /attention: v must have shape \[2,3,7,8\].*got \[2,3,6,8\]/],
    ['D too small', () => attention(f([1, 1, 2, 4]), f([1, 1, 2, 4]), f([1, 1, 2, 4])), RangeError, /attention: the head dim .* \[8, 128\], got 4/],
    ['D too large', () => attention(f([1, 1, 2, 136]), f([1, 1, 2, 136]), f([1, 1, 2, 136])), RangeError, /head dim .*got 136/],
    ['mask f32', () => attention(q, k, k, { mask: f([5, 7]) }), TypeError, /attention: options.mask must be i32, got f32/],
    ['mask shape', () => attention(q, k, k, { mask: f([7, 5], 'i32') }), RangeError, /attention: options.mask must have shape \[5,7\] or \[2,5,7\].*got \[7,5\]/],
    ['mask batch', () => attention(q, k, k, { mask: f([3, 5, 7], 'i32') }), RangeError, /options.mask .*got \[3,5,7\]/],
    ['mask not a tensor', () => attention(q, k, k, { mask: [1] as unknown as eg.Tensor }), TypeError, /attention: options.mask must be a Tensor/],
    ['scale 0', () => attention(q, k, k, { scale: 0 }), RangeError, /attention: options.scale must be a finite number > 0, got 0/],
    ['scale Infinity', () => attention(q, k, k, { scale: Infinity }), RangeError, /options.scale .*Infinity/],
    ['scale NaN', () => attention(q, k, k, { scale: NaN }), TypeError, /attention: options.scale must be a number/],
    ['scale string', () => attention(q, k, k, { scale: '1' as unknown as number }), TypeError, /options.scale must be a number/],
    ['causal number', () => attention(q, k, k, { causal: 1 as unknown as boolean }), TypeError, /attention: options.causal must be a boolean/],
    ['unknown option', () => attention(q, k, k, { casual: true } as unknown as eg.kernels.AttentionOptions), TypeError, /attention: unknown option 'casual'/],
    ['options not an object', () => attention(q, k, k, 3 as unknown as eg.kernels.AttentionOptions), TypeError, /attention: options must be an object/],
  ];
  test.each(forward)('%s', (_name, call, cls, msg) => {
    expect(call).toThrow(cls);
    expect(call).toThrow(msg);
  });

  const backward: [string, () => unknown, typeof TypeError, RegExp][] = [
    ['out shape', () => attentionBackward(q, k, k, f([2, 3, 5, 9]), lse, out), RangeError, /attentionBackward: out must have shape \[2,3,5,8\].*got \[2,3,5,9\]/],
    ['lse shape', () => attentionBackward(q, k, k, out, f([2, 3, 7]), out), RangeError, /attentionBackward: lse must have shape \[2,3,5\].*got \[2,3,7\]/],
    ['lse dtype', () => attentionBackward(q, k, k, out, f([2, 3, 5], 'i32'), out), TypeError, /attentionBackward: lse must be f32/],
    ['dOut shape', () => attentionBackward(q, k, k, out, lse, f([2, 3, 5, 7])), RangeError, /attentionBackward: dOut must have shape \[2,3,5,8\].*got \[2,3,5,7\]/],
    ['dOut missing', () => attentionBackward(q, k, k, out, lse, undefined as unknown as eg.Tensor), TypeError, /attentionBackward: dOut must be a Tensor/],
    ['k shape', () => attentionBackward(q, f([2, 2, 7, 8]), f([2, 2, 7, 8]), out, lse, out), RangeError, /attentionBackward: k must have shape/],
    ['mask shape', () => attentionBackward(q, k, k, out, lse, out, { mask: f([5, 6], 'i32') }), RangeError, /attentionBackward: options.mask must have shape/],
  ];
  test.each(backward)('backward: %s', (_name, call, cls, msg) => {
    expect(call).toThrow(cls);
    expect(call).toThrow(msg);
  });

  test('a disposed input is an error, not a crash', () => {
    const d = f([2, 3, 5, 8]);
    d.dispose();
    expect(() => attention(d, k, k)).toThrow(/attention: q was disposed/);
  });

  if (devices.includes('cuda')) {
    test('inputs on different devices', () => {
      const kc = k.to('cuda');
      expect(() => attention(q, kc, kc)).toThrow(TypeError);
      expect(() => attention(q, kc, kc)).toThrow(/attention: q is on cpu but k is on cuda/);
      expect(() => attention(q, k, k, { mask: f([5, 7], 'i32').to('cuda') })).toThrow(/options.mask is on cuda/);
    });
  }
});
