// Worker threads hammering the kernels, terminated at random moments (mid-call, mid-allocation,
// between calls); the process must stay alive with every call either returning or throwing.
// Usage: node test/tensor/workers.js [rounds] [workers] [seed]   (used by workers.test.ts; the
// 200-round run is recorded in bench/results/reliability-2026-11-30.md)
const path = require('path');
const { Worker } = require('worker_threads');

const rounds = Number(process.argv[2] || 20);
const workers = Number(process.argv[3] || 4);
let seed = Number(process.argv[4] || 1);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };

const body = `
const eg = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist'))});
const { parentPort, workerData } = require('worker_threads');
const fill = (shape, f) => eg.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), shape);
const q = fill(workerData.big ? [1, 8, 2048, 64] : [1, 4, 256, 64], (i) => Math.sin(i) * 0.1);
const x = fill([512, 48], (i) => Math.cos(i)), cb = fill([256, 48], (i) => Math.sin(0.3 * i));
const boxes = fill([300, 4], (i) => (i % 4 < 2 ? 0.1 : 0.6) + 0.001 * i);
const a = fill([128, 128], (i) => Math.sin(i)), g = fill([128], () => 1), z = fill([128], () => 0);
parentPort.postMessage('ready');
const ops = [
  () => eg.kernels.attention(q, q, q, { causal: true }).out.dispose(),
  () => eg.tidy(() => eg.kernels.vqNearest(x, cb).indices.toArray()),
  () => eg.kernels.boxIou(boxes, boxes).dispose(),
  () => eg.tidy(() => eg.kernels.support.matmul(a, a).toArray()),
  () => eg.tidy(() => eg.kernels.support.layerNorm(a, g, z).y),
  () => eg.tidy(() => eg.kernels.gumbelSoftmax(a, { tau: 0.5, seed: 1, hard: true }).soft),
  () => { const t = eg.zeros([256, 1024]); t.toArray(); t.dispose(); },
  () => { try { eg.kernels.support.embeddingBackward(eg.zeros([0, 8]), eg.zeros([0], { dtype: 'i32' }), 0); } catch (e) {} },
  () => { try { eg.kernels.boxIou(boxes, eg.zeros([3])); } catch (e) {} },  // an error thrown mid-teardown
];
for (let i = workerData.offset; ; i++) ops[i % ops.length]();
`;

(async () => {
  const t0 = Date.now();
  let terminated = 0, exitedEarly = 0;
  for (let r = 0; r < rounds; r++) {
    const ws = Array.from({ length: workers }, (_, k) => new Worker(body, { eval: true, workerData: { offset: k * 2 + r, big: k === 0 && r % 4 === 0 } }));
    const errors = [];
    for (const w of ws) w.on('error', (e) => errors.push(e));
    await Promise.all(ws.map((w) => new Promise((res) => { w.once('message', res); w.once('exit', res); })));
    await new Promise((res) => setTimeout(res, rnd() * 150));
    await Promise.all(ws.map(async (w) => {
      await new Promise((res) => setTimeout(res, rnd() * 20));
      await w.terminate();
      terminated++;
    }));
    if (errors.length) { exitedEarly++; console.error(`round ${r}: a worker failed: ${errors[0] && errors[0].stack}`); }
  }
  console.log(JSON.stringify({ rounds, workers, terminated, exitedEarly, alive: true, seconds: (Date.now() - t0) / 1000 }));
})();
