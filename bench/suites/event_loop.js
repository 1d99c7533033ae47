// The event loop during a long CPU kernel (issue 14): a 1 ms setInterval runs while one
// attention call of 100+ ms runs, first with eg.kernels.attention (blocks the JS thread until it
// returns), then with eg.kernels.attentionAsync (runs on the libuv pool). `ms` is the timer's
// worst lateness: the largest gap between two ticks minus the 1 ms period. The note gives the
// kernel's own time. The async form should keep lateness under 5 ms.
'use strict';

function rand(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

// Runs `call` (sync or returning a promise) with a 1 ms interval ticking; returns { lateness, kernelMs, ticks }.
async function measure(call) {
  let last = null, worst = 0, ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (last !== null) worst = Math.max(worst, now - last - 1);
    last = now;
    ticks++;
  }, 1);
  await new Promise((r) => setTimeout(r, 20));  // let the interval settle first
  worst = 0;
  const t0 = performance.now();
  let t1;
  await new Promise((resolve, reject) => {
    setTimeout(async () => {
      try {
        await call();
        t1 = performance.now();
        resolve();
      } catch (e) {
        reject(e);
      }
    }, 0);
  });
  await new Promise((r) => setTimeout(r, 5));  // the first tick after a sync call shows its gap
  clearInterval(timer);
  return { lateness: Math.max(worst, 0.001), kernelMs: t1 - t0, ticks };
}

module.exports = {
  name: 'event_loop',
  async run(ctx) {
    const { eg } = ctx;
    const T = ctx.quick ? 1024 : 2048;
    const shape = [1, 8, T, 64];
    const n = shape.reduce((a, b) => a * b, 1);
    const q = eg.tensor(rand(n), shape), k = eg.tensor(rand(n), shape), v = eg.tensor(rand(n), shape);
    const opts = {};  // full (non-causal) attention: ~2x the causal work, so the call lasts 100+ ms
    const label = `attention [${shape}]`;
    eg.kernels.attention(q, k, v, opts);  // warm-up (pool threads, page faults)
    for (const [impl, call] of [
      ['sync', () => eg.kernels.attention(q, k, v, opts)],
      ['async', () => eg.kernels.attentionAsync(q, k, v, opts)],
    ]) {
      const best = { lateness: Infinity };
      for (let rep = 0; rep < 3; rep++) {
        const r = await measure(async () => { const o = await call(); o.out.dispose(); o.lse.dispose(); });
        if (r.lateness < best.lateness) Object.assign(best, r);
      }
      console.log(`  ${impl.padEnd(6)} worst timer lateness ${best.lateness.toFixed(2)} ms during a ${best.kernelMs.toFixed(0)} ms kernel (${best.ticks} ticks)`);
      ctx.record({ case: label, impl, ms: best.lateness, note: `kernel ${best.kernelMs.toFixed(0)} ms, ${best.ticks} ticks; best of 3` });
    }
    ctx.note('ms = worst lateness of a 1 ms setInterval (largest gap between ticks minus 1 ms) while one attention call runs; best of 3 runs per form.');
  },
};
