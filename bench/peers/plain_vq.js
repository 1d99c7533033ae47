// Plain JavaScript peers of the VQ kernels (Float32Array loops, one thread, no native code):
// what a user would write without echogen.
'use strict';

/** Nearest code by ||c||^2 - 2 x.c (norms precomputed), then the distance of the winner. */
function vqNearest(x, cb, N, D, K) {
  const norms = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += cb[k * D + d] * cb[k * D + d];
    norms[k] = s;
  }
  const indices = new Int32Array(N), distances = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const xo = n * D;
    let best = Infinity, bi = 0;
    for (let k = 0; k < K; k++) {
      const co = k * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += x[xo + d] * cb[co + d];
      const s = norms[k] - 2 * dot;
      if (s < best) { best = s; bi = k; }
    }
    let dist = 0;
    for (let d = 0; d < D; d++) { const t = x[xo + d] - cb[bi * D + d]; dist += t * t; }
    indices[n] = bi;
    distances[n] = dist;
  }
  return { indices, distances };
}

function vqGather(cb, indices, D) {
  const out = new Float32Array(indices.length * D);
  for (let i = 0; i < indices.length; i++) out.set(cb.subarray(indices[i] * D, indices[i] * D + D), i * D);
  return out;
}

function vqStats(x, indices, D, K) {
  const sums = new Float32Array(K * D), counts = new Float32Array(K);
  for (let n = 0; n < indices.length; n++) {
    const k = indices[n];
    counts[k] += 1;
    for (let d = 0; d < D; d++) sums[k * D + d] += x[n * D + d];
  }
  return { sums, counts };
}

module.exports = { vqNearest, vqGather, vqStats };
