#!/usr/bin/env node
// Square GEMM timed two ways (docs/profile.md, "A peak probe that read half the peak"): a hot loop (5 warm-up calls,
// then 60 timed) over sizes 384-768, twice; then 512³ as bench/suites/torch_kernels.js used to time it (a 300 ms
// pause, 1 warm-up call, 8 timed calls) for 6 rounds, every call printed, to show the call-to-call spread of this VM.
//
//   node bench/profile/gemm_hot_vs_paused.js        (needs `npm run build`)
'use strict';
const path = require('path');
const eg = require(path.join(__dirname, '..', '..', 'dist'));

const square = (n) => eg.tensor(new Float32Array(n * n).map(() => Math.random() - 0.5), [n, n]);
const callMs = (fn) => { const t = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t) / 1e6; };

function hot(n, reps) {
  const a = square(n), b = square(n);
  const product = () => eg.ops.matmul(a, b).dispose();
  for (let i = 0; i < 5; i++) product();
  const ms = Array.from({ length: reps }, () => callMs(product)).sort((x, y) => x - y);
  const gflops = (t) => (2 * n ** 3 / t / 1e6).toFixed(1);
  console.log(`${n}³ hot: min ${ms[0].toFixed(3)} ms = ${gflops(ms[0])} GFLOP/s; median ${gflops(ms[reps >> 1])} GFLOP/s`);
  a.dispose(); b.dispose();
}

async function paused(n, rounds, reps) {
  const a = square(n), b = square(n);
  const product = () => eg.ops.matmul(a, b).dispose();
  for (let r = 0; r < rounds; r++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    product();
    console.log(`${n}³ after a 300 ms pause, round ${r}: ${Array.from({ length: reps }, () => callMs(product).toFixed(2)).join(' ')} ms`);
  }
  a.dispose(); b.dispose();
}

(async () => {
  for (let round = 0; round < 2; round++) for (const n of [384, 448, 480, 504, 512, 520, 576, 640, 768]) hot(n, 60);
  await paused(512, 6, 8);
})();
