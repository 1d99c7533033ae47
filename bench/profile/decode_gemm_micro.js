#!/usr/bin/env node
// The linear layers of a decoding step (a few rows against a weight: x W^T) timed alone, for comparing two builds
// of the addon (ECHOGEN_ADDON=<build>/Release/echogen.node node bench/profile/decode_gemm_micro.js): us per call,
// min over 9 rounds of the mean of back-to-back calls.
'use strict';
const eg = require('../../dist');
const rnd = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
for (const [m, k, n] of [[1, 128, 384], [1, 128, 2048], [4, 128, 384], [8, 128, 384], [8, 128, 2048], [8, 512, 128], [12, 128, 512], [16, 128, 512], [16, 128, 2048]]) {
  const x = eg.tensor(rnd(m * k), [m, k]), w = eg.tensor(rnd(n * k), [n, k]), b = eg.tensor(rnd(n), [n]);
  const reps = Math.max(20, Math.round(2e8 / (m * n * k + 2e4)));
  let best = Infinity;
  for (let r = 0; r < 9; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) eg.ops.linear(x, w, b).dispose();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / reps);
  }
  console.log(`${m}x${k} -> ${n} ${best.toFixed(2)} us`);
  x.dispose(); w.dispose(); b.dispose();
}
