// Small float64 references for `echogen selfcheck`, written from the kernels' definitions (the
// package does not ship test/): attention, VQ nearest/gather, Gumbel-Softmax (a JS Philox-4x32-10
// with the kernels' counter layout, so it draws the same noise), box IoU, the cycle reward, GEMM.

const TWO32 = 4294967296;

/** max|got - ref| / max|ref| (the absolute error when ref is all 0); a non-finite value is Infinity. */
export function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let err = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i]) && got[i] !== ref[i]) return Infinity;
    if (Number.isFinite(ref[i])) {
      err = Math.max(err, Math.abs(got[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
  }
  return scale > 0 ? err / scale : err;
}

/** softmax(scale q k^T, masked) v for q [BH,Tq,D], k/v [BH,Tk,D], mask [Tq,Tk] (nonzero = visible), causal bottom-right. */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, BH: number, Tq: number, Tk: number, D: number,
  causal: boolean, mask: ArrayLike<number> | null): Float64Array {
  const out = new Float64Array(BH * Tq * D);
  const scale = 1 / Math.sqrt(D);
  const s = new Float64Array(Tk);
  for (let h = 0; h < BH; h++) for (let i = 0; i < Tq; i++) {
    let m = -Infinity;
    for (let j = 0; j < Tk; j++) {
      const visible = (!causal || j <= i + Tk - Tq) && (!mask || mask[i * Tk + j] !== 0);
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[(h * Tq + i) * D + d] * k[(h * Tk + j) * D + d];
      s[j] = visible ? dot * scale : -Infinity;
      m = Math.max(m, s[j]);
    }
    if (m === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < Tk; j++) sum += (s[j] = Math.exp(s[j] - m));
    for (let j = 0; j < Tk; j++) for (let d = 0; d < D; d++) out[(h * Tq + i) * D + d] += (s[j] / sum) * v[(h * Tk + j) * D + d];
  }
  return out;
}

/** Nearest codebook row (lowest index on ties) of each row of x [N,D]. */
export function vqNearestRef(x: ArrayLike<number>, codebook: ArrayLike<number>, N: number, K: number, D: number): Int32Array {
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = Infinity;
    for (let c = 0; c < K; c++) {
      let dist = 0;
      for (let d = 0; d < D; d++) dist += (x[n * D + d] - codebook[c * D + d]) ** 2;
      if (dist < best) { best = dist; out[n] = c; }
    }
  }
  return out;
}

function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const p1 = a * (b >>> 16), p0 = a * (b & 0xffff);
  const hi = Math.floor(p1 / 65536) + Math.floor(((p1 % 65536) * 65536 + p0) / TWO32);
  return [hi >>> 0, lo];
}

function philox4x32_10(ctr: readonly number[], key: readonly number[]): number[] {
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

/** The kernels' Gumbel noise of flat element e under (seed, offset 0), in float64. */
export function gumbelNoise(seed: number, e: number): number {
  const ctr = [Math.floor(e / 32) * 8 + (e % 8), 0, 0, 0];
  const words = philox4x32_10(ctr, [seed % TWO32, Math.floor(seed / TWO32)]);
  const u = ((words[Math.floor(e / 8) % 4] >>> 9) * 2 + 1) * 2 ** -24;
  return -Math.log(-Math.log(u));
}

/** softmax((logits + g) / tau) per row of [N,V] and the argmax of logits + g. */
export function gumbelSoftmaxRef(logits: ArrayLike<number>, N: number, V: number, tau: number, seed: number): { soft: Float64Array; indices: Int32Array } {
  const soft = new Float64Array(N * V), indices = new Int32Array(N);
  const y = new Float64Array(V);
  for (let n = 0; n < N; n++) {
    let best = -Infinity;
    for (let v = 0; v < V; v++) {
      y[v] = logits[n * V + v] + gumbelNoise(seed, n * V + v);
      if (y[v] > best) { best = y[v]; indices[n] = v; }
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp((y[v] - best) / tau);
    for (let v = 0; v < V; v++) soft[n * V + v] = Math.exp((y[v] - best) / tau) / sum;
  }
  return { soft, indices };
}

function pairIou(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number): number {
  const ix = Math.max(0, Math.min(a[ao + 2], b[bo + 2]) - Math.max(a[ao], b[bo]));
  const iy = Math.max(0, Math.min(a[ao + 3], b[bo + 3]) - Math.max(a[ao + 1], b[bo + 1]));
  const inter = ix * iy;
  const union = (a[ao + 2] - a[ao]) * (a[ao + 3] - a[ao + 1]) + (b[bo + 2] - b[bo]) * (b[bo + 3] - b[bo + 1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** a [n,4], b [m,4] -> IoU [n,m]. */
export function boxIouRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const n = a.length / 4, m = b.length / 4;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = pairIou(a, 4 * i, b, 4 * j);
  return out;
}

/** pred [B,G,N,4], target [B,N,4], every object real, weights 1, eps 1e-4: reward and advantage [B,G]. */
export function cycleRewardRef(pred: ArrayLike<number>, target: ArrayLike<number>, B: number, G: number, N: number): { reward: Float64Array; advantage: Float64Array } {
  const reward = new Float64Array(B * G), advantage = new Float64Array(B * G);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < G; g++) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const po = ((b * G + g) * N + n) * 4, to = (b * N + n) * 4;
        let l1 = 0;
        for (let k = 0; k < 4; k++) l1 += Math.abs(pred[po + k] - target[to + k]) / 4;
        s += pairIou(pred, po, target, to) - l1;
      }
      reward[b * G + g] = s / N;
    }
    let mean = 0;
    for (let g = 0; g < G; g++) mean += reward[b * G + g] / G;
    let ss = 0;
    for (let g = 0; g < G; g++) ss += (reward[b * G + g] - mean) ** 2;
    const std = Math.sqrt(ss / (G - 1));
    for (let g = 0; g < G; g++) advantage[b * G + g] = ss > 0 ? (reward[b * G + g] - mean) / (std + 1e-4) : 0;
  }
  return { reward, advantage };
}

/** a [M,K] x b [K,N]. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) {
    const x = a[i * K + k];
    for (let j = 0; j < N; j++) out[i * N + j] += x * b[k * N + j];
  }
  return out;
}
