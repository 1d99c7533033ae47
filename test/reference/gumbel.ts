// Float64 references for gumbelSoftmax: a JS Philox-4x32-10 with the kernel's counter layout
// (so the reference draws the very same noise words), the forward and backward in float64, and
// the chi-square p-value (regularized upper incomplete gamma) for the sampling test.

const TWO32 = 4294967296;

/** High and low 32-bit words of a * b for uint32 a, b (exact: each partial product < 2^48). */
export function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const p1 = a * (b >>> 16), p0 = a * (b & 0xffff);
  const hi = Math.floor(p1 / 65536) + Math.floor(((p1 % 65536) * 65536 + p0) / TWO32);
  return [hi >>> 0, lo];
}

/** Philox-4x32-10 (Random123): counter [4], key [2] -> four uint32 words. */
export function philox4x32_10(ctr: readonly number[], key: readonly number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map((x) => x >>> 0);
  let [k0, k1] = key.map((x) => x >>> 0);
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** The uniform in (0,1) of one word: (2 * (word >> 9) + 1) * 2^-24, exactly as the kernels. */
export function uniformOfWord(word: number): number {
  return ((word >>> 9) * 2 + 1) * 2 ** -24;
}

/**
 * The Gumbel noise of flat element e under (seed, offset), in float64 from the kernel's own
 * Philox word: counter ((e >> 5) * 8 + (e & 7), 0, offset_lo, offset_hi), key (seed_lo, seed_hi),
 * word (e >> 3) & 3.
 */
export function gumbelNoise(seed: number, offset: number, e: number): number {
  const ctr = [Math.floor(e / 32) * 8 + (e % 8), 0, offset % TWO32, Math.floor(offset / TWO32)];
  const words = philox4x32_10(ctr, [seed % TWO32, Math.floor(seed / TWO32)]);
  return -Math.log(-Math.log(uniformOfWord(words[Math.floor(e / 8) % 4])));
}

export interface GumbelRef {
  soft: Float64Array;
  indices: Int32Array;
  /** Top minus runner-up of logits + noise per row: a float32 kernel may pick either when tiny. */
  gap: Float64Array;
}

export function gumbelSoftmaxRef(logits: ArrayLike<number>, N: number, V: number, tau: number, seed: number, offset = 0): GumbelRef {
  const soft = new Float64Array(N * V), indices = new Int32Array(N).fill(-1), gap = new Float64Array(N);
  const y = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    let best = -Infinity, second = -Infinity;
    for (let v = 0; v < V; v++) {
      y[v] = logits[n * V + v] + gumbelNoise(seed, offset, n * V + v);
      if (y[v] > best) { second = best; best = y[v]; indices[n] = v; } else if (y[v] > second) second = y[v];
    }
    gap[n] = best - second;
    if (best === -Infinity) { indices[n] = -1; continue; }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp((y[v] - best) / tau);
    for (let v = 0; v < V; v++) soft[n * V + v] = Math.exp((y[v] - best) / tau) / sum;
  }
  return { soft, indices, gap };
}

/** dlogits = soft * (dy - sum(dy * soft)) / tau, row by row. */
export function gumbelSoftmaxBackwardRef(dy: ArrayLike<number>, soft: ArrayLike<number>, N: number, V: number, tau: number): Float64Array {
  const out = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    let d = 0;
    for (let v = 0; v < V; v++) d += dy[n * V + v] * soft[n * V + v];
    for (let v = 0; v < V; v++) out[n * V + v] = (soft[n * V + v] * (dy[n * V + v] - d)) / tau;
  }
  return out;
}

function logGamma(x: number): number {
  // Lanczos (g = 7, n = 9), |error| < 1e-13 for x > 0.5
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(s, x) (series below s + 1, Lentz continued fraction above). */
export function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const lead = s * Math.log(x) - x - logGamma(s);
  if (x < s + 1) {
    let term = 1 / s, sum = term;
    for (let k = 1; k < 1000 && term > sum * 1e-16; k++) { term *= x / (s + k); sum += term; }
    return 1 - Math.exp(lead) * sum;
  }
  const tiny = 1e-300;
  let b = x + 1 - s, c = 1 / tiny, d = 1 / b, h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b; if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c; if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(lead) * h;
}

/** Pearson's chi-square statistic and p-value of observed counts against expected probabilities. */
export function chiSquare(observed: ArrayLike<number>, probs: ArrayLike<number>, total: number): { stat: number; dof: number; p: number } {
  let stat = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = probs[i] * total;
    stat += ((observed[i] - e) * (observed[i] - e)) / e;
  }
  const dof = observed.length - 1;
  return { stat, dof, p: gammaQ(dof / 2, stat / 2) };
}

/** softmax of a float64 vector. */
export function softmax(x: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  const out = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (out[i] = Math.exp(x[i] - m));
  for (let i = 0; i < x.length; i++) out[i] /= s;
  return out;
}
