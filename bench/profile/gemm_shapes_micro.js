// The step's GEMM shapes (small preset, B=8, T=626: 5008 rows), forward and both gradients of each linear, CPU time
// (user + sys) and wall time per call, min and median of N; for A/B runs of a GEMM change (swap the addon between runs).
//   node bench/profile/gemm_shapes_micro.js [reps]
const eg = require('../../dist');
const reps = Number(process.argv[2] || 15);
const r = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const rows = 5008;
const cases = [];
for (const [inF, outF] of [[128, 384], [128, 128], [128, 512], [512, 128]]) {
  const x = eg.tensor(r(rows * inF), [rows, inF]), w = eg.tensor(r(outF * inF), [outF, inF]), b = eg.tensor(r(outF), [outF]), g = eg.tensor(r(rows * outF), [rows, outF]);
  cases.push([`fwd ${inF}->${outF}`, () => eg.ops.linear(x, w, b)]);
  cases.push([`dx ${inF}->${outF}`, () => eg.ops.matmul(g, w)]);
  cases.push([`dW ${inF}->${outF}`, () => eg.ops.matmul(g, x, { transA: true })]);
}
let cpuTotal = 0, wallTotal = 0;
for (const [name, f] of cases) {
  f().dispose();
  const cpu = [], wall = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage(), t = process.hrtime.bigint();
    f().dispose();
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1e3); wall.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  cpu.sort((a, b) => a - b); wall.sort((a, b) => a - b);
  cpuTotal += cpu[0]; wallTotal += wall[0];
  if (process.env.VERBOSE) console.log(`${name.padEnd(16)} cpu min ${cpu[0].toFixed(2)} med ${cpu[reps >> 1].toFixed(2)} | wall min ${wall[0].toFixed(2)}`);
}
console.log(`sum of per-shape minima: CPU ${cpuTotal.toFixed(1)} ms, wall ${wallTotal.toFixed(1)} ms (load ${require('os').loadavg()[0].toFixed(1)})`);
