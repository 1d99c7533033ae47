#!/usr/bin/env node
// Square matmuls back to back on the pool's threads, min over 9 rounds of the mean per call: the
// GEMM rows of bench/suites/torch_kernels.js without the peer, for comparing two builds of the
// addon alternately on one machine (ECHOGEN_ADDON=<build>/Release/echogen.node node bench/profile/square_gemm.js).
'use strict';
const eg = require('../..');
for (const n of [128, 256, 512, 1024]) {
  const rnd = () => Float32Array.from({ length: n * n }, () => Math.random() * 2 - 1);
  const a = eg.tensor(rnd(), [n, n]), b = eg.tensor(rnd(), [n, n]);
  const reps = Math.max(5, Math.round(1e9 / (2 * n ** 3)));
  let best = Infinity;
  for (let r = 0; r < 9; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) eg.ops.matmul(a, b).dispose();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6 / reps);
  }
  console.log(`${n}^3 ${best.toFixed(4)} ms`);
  a.dispose();
  b.dispose();
}
