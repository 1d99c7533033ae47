// Plain JavaScript peers of the Gumbel-Softmax kernels (Float32Array loops, one thread, noise
// from Math.random): what a user would write without echogen.
'use strict';

function gumbelSoftmax(logits, N, V, tau, hard) {
  const soft = new Float32Array(N * V), indices = new Int32Array(N);
  const oneHot = hard ? new Float32Array(N * V) : null;
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let m = -Infinity, arg = -1;
    for (let v = 0; v < V; v++) {
      const u = Math.random() || Number.MIN_VALUE;  // Math.random() may return 0
      const y = logits[o + v] - Math.log(-Math.log(u));
      soft[o + v] = y;
      if (y > m) { m = y; arg = v; }
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += (soft[o + v] = Math.exp((soft[o + v] - m) / tau));
    for (let v = 0; v < V; v++) soft[o + v] /= sum;
    indices[n] = arg;
    if (oneHot && arg >= 0) oneHot[o + arg] = 1;
  }
  return { soft, hard: oneHot, indices };
}

function gumbelSoftmaxBackward(dy, soft, N, V, tau) {
  const out = new Float32Array(N * V);
  for (let n = 0; n < N; n++) {
    const o = n * V;
    let d = 0;
    for (let v = 0; v < V; v++) d += dy[o + v] * soft[o + v];
    for (let v = 0; v < V; v++) out[o + v] = (soft[o + v] * (dy[o + v] - d)) / tau;
  }
  return out;
}

module.exports = { gumbelSoftmax, gumbelSoftmaxBackward };
