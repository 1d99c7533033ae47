// Float64 references of the support ops and the autograd ops built on them: plain loops over
// row-major Float64Arrays, written from the definitions (no shared code with lib/).

export type F64 = Float64Array;

export const numel = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major strides of a shape. */
export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** op(A) op(B) for one matrix pair; a is [m,k] (or [k,m] with ta), b [k,n] (or [n,k] with tb). */
export function matmul2d(a: F64, b: F64, m: number, n: number, k: number, ta: boolean, tb: boolean): F64 {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = s;
    }
  return out;
}

/** Batched matmul with the broadcast rules of ops.matmul. */
export function matmul(a: F64, aShape: number[], b: F64, bShape: number[], ta = false, tb = false): { out: F64; shape: number[] } {
  const ra = aShape.length, rb = bShape.length;
  const m = ta ? aShape[ra - 1] : aShape[ra - 2], k = ta ? aShape[ra - 2] : aShape[ra - 1];
  const n = tb ? bShape[rb - 2] : bShape[rb - 1];
  const batchShape = ra > 2 ? aShape.slice(0, -2) : bShape.slice(0, -2);
  const batch = numel(batchShape);
  const out = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    const as = ra > 2 ? a.subarray(t * m * k, (t + 1) * m * k) : a;
    const bs = rb > 2 ? b.subarray(t * k * n, (t + 1) * k * n) : b;
    out.set(matmul2d(as, bs, m, n, k, ta, tb), t * m * n);
  }
  return { out, shape: [...batchShape, m, n] };
}

/** x [rows, in] W^T + b with w [out, in]. */
export function linear(x: F64, rows: number, inF: number, w: F64, outF: number, b?: F64): F64 {
  const out = matmul2d(x, w, rows, outF, inF, false, true);
  if (b) for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) out[r * outF + j] += b[j];
  return out;
}

export const gelu = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
export const map = (x: F64, f: (v: number) => number): F64 => Float64Array.from(x, f);

/** a op b with b's shape a suffix of a's. */
export function binary(a: F64, b: F64, f: (u: number, v: number) => number): F64 {
  return Float64Array.from(a, (u, i) => f(u, b[i % b.length]));
}

export function layerNorm(x: F64, d: number, gamma: F64, beta: F64, eps: number): F64 {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mu = 0;
    for (let j = 0; j < d; j++) mu += x[r * d + j];
    mu /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[r * d + j] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / d + eps);
    for (let j = 0; j < d; j++) out[r * d + j] = (x[r * d + j] - mu) * rs * gamma[j] + beta[j];
  }
  return out;
}

export function logSoftmax(x: F64, d: number): F64 {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / d; r++) {
    let mx = -Infinity;
    for (let j = 0; j < d; j++) mx = Math.max(mx, x[r * d + j]);
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.exp(x[r * d + j] - mx);
    const lse = mx + Math.log(s);
    for (let j = 0; j < d; j++) out[r * d + j] = x[r * d + j] - lse;
  }
  return out;
}

export const softmax = (x: F64, d: number): F64 => map(logSoftmax(x, d), Math.exp);

/** Per-row cross-entropy (0 at ignored rows) and the reduction of ops.crossEntropy. */
export function crossEntropy(logits: F64, v: number, targets: Int32Array, ignore: number, reduction: 'mean' | 'sum' | 'none'): F64 {
  const lp = logSoftmax(logits, v);
  const per = Float64Array.from(targets, (t, r) => (t === ignore ? 0 : -lp[r * v + t]));
  if (reduction === 'none') return per;
  const total = per.reduce((a, b) => a + b, 0);
  const count = targets.filter((t) => t !== ignore).length;
  return Float64Array.of(reduction === 'sum' ? total : count ? total / count : 0);
}

export function gatherRows(table: F64, d: number, ids: Int32Array): F64 {
  const out = new Float64Array(ids.length * d);
  ids.forEach((id, i) => out.set(table.subarray(id * d, (id + 1) * d), i * d));
  return out;
}

export function permute(x: F64, shape: number[], dims: number[]): F64 {
  const outShape = dims.map((d) => shape[d]);
  const inStr = strides(shape), outStr = strides(outShape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let rem = i, src = 0;
    for (let a = 0; a < outShape.length; a++) {
      const c = Math.floor(rem / outStr[a]);
      rem -= c * outStr[a];
      src += c * inStr[dims[a]];
    }
    out[i] = x[src];
  }
  return out;
}

/** Splits a shape at axis into [outer, dim, inner]. */
export function around(shape: number[], axis: number): [number, number, number] {
  return [numel(shape.slice(0, axis)), shape[axis], numel(shape.slice(axis + 1))];
}

export function slice(x: F64, shape: number[], axis: number, start: number, end: number): F64 {
  const [outer, dim, inner] = around(shape, axis);
  const len = end - start;
  const out = new Float64Array(outer * len * inner);
  for (let o = 0; o < outer; o++)
    out.set(x.subarray((o * dim + start) * inner, (o * dim + end) * inner), o * len * inner);
  return out;
}

export function concat(xs: F64[], shapes: number[][], axis: number): F64 {
  const total = shapes.reduce((s, sh) => s + sh[axis], 0);
  const outShape = [...shapes[0]];
  outShape[axis] = total;
  const [outer, , inner] = around(outShape, axis);
  const out = new Float64Array(numel(outShape));
  let off = 0;
  xs.forEach((x, i) => {
    const len = shapes[i][axis];
    for (let o = 0; o < outer; o++) out.set(x.subarray(o * len * inner, (o + 1) * len * inner), (o * total + off) * inner);
    off += len;
  });
  return out;
}

export function sumLastDim(x: F64, d: number, alpha = 1): F64 {
  const out = new Float64Array(x.length / d);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[r * d + j];
    out[r] = alpha * s;
  }
  return out;
}

/** The central-difference gradient of a scalar f at x (x is restored afterwards). */
export function numericGrad(f: () => number, x: F64, h = 1e-5): F64 {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const up = f();
    x[i] = v - h;
    const down = f();
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export const dot = (a: F64, b: F64): number => a.reduce((s, v, i) => s + v * b[i], 0);

/** AdamW (torch.optim.AdamW semantics) in float64: updates p, m, v in place for step t (1-based). */
export function adamwStep(p: F64, g: F64, m: F64, v: F64, t: number, h: { lr: number; b1: number; b2: number; eps: number; wd: number }): void {
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - h.lr * h.wd;
    m[i] = h.b1 * m[i] + (1 - h.b1) * g[i];
    v[i] = h.b2 * v[i] + (1 - h.b2) * g[i] * g[i];
    const mhat = m[i] / (1 - h.b1 ** t), vhat = v[i] / (1 - h.b2 ** t);
    p[i] -= (h.lr * mhat) / (Math.sqrt(vhat) + h.eps);
  }
}

/** max|got - ref| / max|ref| (the error measure of docs/design.md section 6). */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let e = 0, r = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    e = Math.max(e, Math.abs(got[i] - ref[i]));
    r = Math.max(r, Math.abs(ref[i]));
  }
  return r > 0 ? e / r : e;
}

/** x rounded to float32 values (kept as float64). */
export const f32Of = (x: F64): F64 => Float64Array.from(Float32Array.from(x));

/** Uniform random numbers in [lo, hi), drawn afresh each run. */
export function uniform(n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * Math.random());
}

export function randomInts(n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => lo + Math.floor(Math.random() * (hi - lo)));
}

/**
 * Attention as docs/design.md section 3 defines it: q [B,H,Tq,D], k and v [B,H,Tk,D]; query i sees key
 * j iff (not causal or j <= i + Tk - Tq) and mask (i32 [Tq,Tk] or [B,Tq,Tk]) is nonzero there; a
 * query that sees no key gives 0.
 */
export function attention(q: F64, k: F64, v: F64, dims: { b: number; h: number; tq: number; tk: number; d: number },
  opts: { causal?: boolean; scale?: number; mask?: Int32Array; maskBatched?: boolean } = {}): F64 {
  const { b, h, tq, tk, d } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(d);
  const out = new Float64Array(b * h * tq * d);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < h; hi++) {
      const base = (bi * h + hi);
      for (let i = 0; i < tq; i++) {
        const s = new Float64Array(tk).fill(-Infinity);
        for (let j = 0; j < tk; j++) {
          if (opts.causal && j > i + tk - tq) continue;
          if (opts.mask && opts.mask[(opts.maskBatched ? bi * tq * tk : 0) + i * tk + j] === 0) continue;
          let dotp = 0;
          for (let c = 0; c < d; c++) dotp += q[(base * tq + i) * d + c] * k[(base * tk + j) * d + c];
          s[j] = dotp * scale;
        }
        const mx = Math.max(...s);
        if (mx === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < tk; j++) z += Math.exp(s[j] - mx);
        for (let j = 0; j < tk; j++) {
          const p = Math.exp(s[j] - mx) / z;
          if (p === 0) continue;
          for (let c = 0; c < d; c++) out[(base * tq + i) * d + c] += p * v[(base * tk + j) * d + c];
        }
      }
    }
  return out;
}
