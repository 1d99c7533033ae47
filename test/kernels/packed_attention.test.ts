// packedAttention: the attention kernels reading q, k and v in place from a fused projection's
// qkv [B,T,3*H*D] and writing out [B,T,H*D] and dqkv in the same layouts. Checked against the
// float64 reference on the same numbers rearranged to [B,H,T,D], and on the CPU against the
// contiguous kernels bit for bit (the same arithmetic in the same order; only addresses differ).
import * as eg from '../../lib';
import { RefProblem, refAttention, refAttentionBackward, relErr } from '../reference/attention';

const { attention, attentionBackward, packedAttention, packedAttentionBackward } = eg.kernels;
const devices = eg.backends();

interface Case { B: number; H: number; T: number; D: number; causal?: boolean; mask?: 2 | 3 }

// Odd T across the 64-row blocks, one head and several; B*H small with long T (the CPU backward
// then splits each head's keys between threads); 2-D and 3-D masks.
const cases: Case[] = [
  { B: 2, H: 3, T: 7, D: 8 },
  { B: 1, H: 2, T: 130, D: 32, causal: true },
  { B: 1, H: 1, T: 97, D: 64, mask: 2 },
  { B: 3, H: 2, T: 33, D: 24, causal: true, mask: 3 },
  { B: 2, H: 4, T: 65, D: 16 },
];

function uniform(n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * Math.random());
}

/** Element (b, h, t, d) of part `part` of a token-major [B, T, parts, H, D] array. */
function tokenMajorIndex(c: Case, parts: number, part: number, b: number, h: number, t: number, d: number): number {
  return (((b * c.T + t) * parts + part) * c.H + h) * c.D + d;
}

/** Part `part` of a token-major [B,T,parts,H,D] array as [B,H,T,D], or (scatter) the reverse. */
function rearrange(c: Case, src: ArrayLike<number>, parts: number, part: number, toTokenMajor = false, dst?: Float64Array): Float64Array {
  const out = dst ?? new Float64Array(toTokenMajor ? c.B * c.T * parts * c.H * c.D : c.B * c.H * c.T * c.D);
  for (let b = 0; b < c.B; b++) for (let h = 0; h < c.H; h++) for (let t = 0; t < c.T; t++) for (let d = 0; d < c.D; d++) {
    const i = ((b * c.H + h) * c.T + t) * c.D + d, j = tokenMajorIndex(c, parts, part, b, h, t, d);
    if (toTokenMajor) out[j] = src[i];
    else out[i] = src[j];
  }
  return out;
}

function problem(c: Case) {
  const { B, H, T, D } = c;
  const qkv = uniform(B * T * 3 * H * D, -2, 2);
  const dOut = uniform(B * T * H * D, -1, 1);
  let mask: Int32Array | undefined;
  if (c.mask) mask = Int32Array.from({ length: (c.mask === 3 ? B : 1) * T * T }, () => (Math.random() < 0.7 ? 1 : 0));
  const ref: RefProblem & { q: Float64Array; k: Float64Array; v: Float64Array } = {
    B, H, Tq: T, Tk: T, D, causal: c.causal, mask, maskBatched: c.mask === 3,
    q: rearrange(c, qkv, 3, 0), k: rearrange(c, qkv, 3, 1), v: rearrange(c, qkv, 3, 2),
  };
  return { qkv, dOut, mask, ref, dOutBhtd: rearrange(c, dOut, 1, 0) };
}

const name = (c: Case) => `B=${c.B} H=${c.H} T=${c.T} D=${c.D}${c.causal ? ' causal' : ''}${c.mask ? ` mask${c.mask}d` : ''}`;

describe.each(devices.map((d) => [d]))('packedAttention on %s', (device) => {
  test.each(cases.map((c) => [name(c), c]))('against the float64 reference and the contiguous kernels, %s', (_n, c: Case) => {
    eg.tidy(() => {
      const p = problem(c);
      const opts: eg.kernels.AttentionOptions = { causal: c.causal };
      if (p.mask) opts.mask = eg.tensor(p.mask, c.mask === 3 ? [c.B, c.T, c.T] : [c.T, c.T], { device });
      const qkv = eg.tensor(p.qkv, [c.B, c.T, 3 * c.H * c.D], { device });
      const dOut = eg.tensor(p.dOut, [c.B, c.T, c.H * c.D], { device });
      const { out, lse } = packedAttention(qkv, c.H, opts);
      expect(out.shape).toEqual([c.B, c.T, c.H * c.D]);
      expect(lse.shape).toEqual([c.B, c.H, c.T]);
      const { dqkv } = packedAttentionBackward(qkv, out, lse, dOut, c.H, opts);
      expect(dqkv.shape).toEqual(qkv.shape);

      const fwd = refAttention(p.ref);
      const bwd = refAttentionBackward(p.ref, p.dOutBhtd);
      expect(relErr(out.toArray(), rearrange(c, fwd.out, 1, 0, true))).toBeLessThanOrEqual(1e-4);
      expect(relErr(lse.toArray(), fwd.lse)).toBeLessThanOrEqual(1e-4);
      const dref = new Float64Array(qkv.size);
      [bwd.dq, bwd.dk, bwd.dv].forEach((g, part) => rearrange(c, g, 3, part, true, dref));
      expect(relErr(dqkv.toArray(), dref)).toBeLessThanOrEqual(1e-3);

      // The contiguous kernels on the same numbers: equal bit for bit on the CPU.
      if (device !== 'cpu') return;
      const split = (x: Float64Array) => eg.tensor(Float32Array.from(x), [c.B, c.H, c.T, c.D], { device });
      const [q, k, v] = [split(p.ref.q), split(p.ref.k), split(p.ref.v)];
      const plain = attention(q, k, v, opts);
      const g = attentionBackward(q, k, v, plain.out, plain.lse, split(p.dOutBhtd), opts);
      expect(Array.from(out.toArray())).toEqual(Array.from(rearrange(c, plain.out.toArray(), 1, 0, true)));
      expect(Array.from(lse.toArray())).toEqual(Array.from(plain.lse.toArray()));
      const merged = new Float64Array(qkv.size);
      [g.dq, g.dk, g.dv].forEach((t, part) => rearrange(c, t.toArray(), 3, part, true, merged));
      expect(Array.from(dqkv.toArray())).toEqual(Array.from(merged));
    });
  });

  test('T = 0: empty results', () => {
    eg.tidy(() => {
      const qkv = eg.zeros([2, 0, 48], { device });
      const { out, lse } = packedAttention(qkv, 2);
      expect(out.shape).toEqual([2, 0, 16]);
      expect(lse.shape).toEqual([2, 2, 0]);
      expect(packedAttentionBackward(qkv, out, lse, out, 2).dqkv.shape).toEqual([2, 0, 48]);
    });
  });
});

describe('packedAttention bad inputs', () => {
  const f = (shape: number[], dtype: eg.DType = 'f32') => eg.zeros(shape, { dtype });
  const qkv = f([2, 5, 48]); // heads 2, head dim 8
  const out = f([2, 5, 16]);
  const lse = f([2, 2, 5]);
  const cases: [string, () => unknown, typeof TypeError, RegExp][] = [
    ['qkv not a tensor', () => packedAttention([1] as unknown as eg.Tensor, 2), TypeError, /packedAttention: qkv must be a Tensor/],
    ['qkv rank 4', () => packedAttention(f([2, 5, 3, 16]), 2), RangeError, /packedAttention: qkv must have 3 dimensions/],
    ['qkv i32', () => packedAttention(f([2, 5, 48], 'i32'), 2), TypeError, /packedAttention: qkv must be f32, got i32/],
    ['heads not dividing', () => packedAttention(f([2, 5, 50]), 2), RangeError, /packedAttention: qkv's last dimension must be 3 \* heads \* headDim with heads = 2, got qkv \[2,5,50\]/],
    ['heads 0', () => packedAttention(qkv, 0), RangeError, /packedAttention: heads must be an integer in \[1/],
    ['heads 1.5', () => packedAttention(qkv, 1.5), RangeError, /packedAttention: heads must be an integer in \[1, 65536\], got 1.5/],
    ['head dim 4', () => packedAttention(f([1, 3, 24]), 2), RangeError, /packedAttention: the head dim of qkv .* \[8, 128\], got 4/],
    ['mask shape', () => packedAttention(qkv, 2, { mask: f([5, 6], 'i32') }), RangeError, /packedAttention: options.mask must have shape \[5,5\] or \[2,5,5\].*got \[5,6\]/],
    ['unknown option', () => packedAttention(qkv, 2, { casual: true } as unknown as eg.kernels.AttentionOptions), TypeError, /packedAttention: unknown option 'casual'/],
    ['backward out shape', () => packedAttentionBackward(qkv, f([2, 5, 8]), lse, out, 2), RangeError, /packedAttentionBackward: out must have shape \[2,5,16\].*got \[2,5,8\]/],
    ['backward lse shape', () => packedAttentionBackward(qkv, out, f([2, 5, 2]), out, 2), RangeError, /packedAttentionBackward: lse must have shape \[2,2,5\].*got \[2,5,2\]/],
    ['backward dOut shape', () => packedAttentionBackward(qkv, out, lse, f([2, 5, 17]), 2), RangeError, /packedAttentionBackward: dOut must have shape \[2,5,16\].*got \[2,5,17\]/],
    ['backward heads missing', () => (packedAttentionBackward as (...a: unknown[]) => unknown)(qkv, out, lse, out), TypeError, /packedAttentionBackward: heads must be/],
  ];
  test.each(cases)('%s', (_name, call, cls, msg) => {
    expect(call).toThrow(cls);
    expect(call).toThrow(msg);
  });
});
