// Resident memory of loops that never yield to the event loop (no await, no setImmediate): the
// finalizers of collected wrappers must run from the GC, not wait for the loop to turn. Prints one
// JSON line per scenario: RSS (MB) after a warm-up (start), the highest seen (peak), and at the end.
// Usage: node test/tensor/rss-flat.js [--dispose N] [--gc N] [--tidy N]   (used by memory.test.ts;
// the full counts are recorded in bench/results/reliability-2026-11-30.md)
const path = require('path');
const eg = require(path.join(__dirname, '..', '..', 'dist'));

const mb = () => process.memoryUsage().rss / 2 ** 20;
// The warm-up covers what grows once (malloc arenas, V8's young generation: ~6 MB over the first
// 15,000 create/dispose cycles, then flat), so start-to-end compares steady states.
function measure(name, n, warm, body) {
  for (let i = 0; i < warm; i++) body(i);
  const start = mb();
  let peak = start;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    body(i);
    if (i % 64 === 0) peak = Math.max(peak, mb());
  }
  const end = mb();
  peak = Math.max(peak, end);
  const r = { name, n, startMB: +start.toFixed(1), peakMB: +peak.toFixed(1), endMB: +end.toFixed(1),
    growth: +((peak - start) / start).toFixed(4), tensors: eg.memory().tensors,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  console.log(JSON.stringify(r));
}

const args = process.argv.slice(2);
const count = (flag) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : 0; };

// create/dispose: 1 MB each, as the probe did
if (count('--dispose')) measure('create-dispose', count('--dispose'), 20000, () => eg.zeros([256, 1024]).dispose());
// tensors nobody disposes: only the GC (and the finalizer it now runs) frees them
if (count('--gc')) measure('left-to-gc', count('--gc'), 200, () => { eg.zeros([256, 1024]); });
if (count('--tidy')) {
  const fill = (shape, f) => eg.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), shape);
  const q = fill([1, 4, 128, 32], (i) => Math.sin(i));
  const x = fill([1024, 48], (i) => Math.cos(i));
  const cb = fill([256, 48], (i) => Math.sin(0.3 * i));
  measure('attention+vqNearest-in-tidy', count('--tidy'), 50, () => eg.tidy(() => {
    const a = eg.kernels.attention(q, q, q, { causal: true });
    const v = eg.kernels.vqNearest(x, cb);
    return a.out.size + v.indices.size;
  }));
}
