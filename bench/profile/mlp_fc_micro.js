// The MLP's fc + GELU, forward and backward, on the small preset's shape (5008 rows, 128 -> 512): Linear with
// bias then ops.gelu ('old', what lib/nn/mlp.ts does) against Linear without bias then ops.biasGelu ('fused'),
// interleaved; CPU time (user + sys) and wall time per call, min and median. node bench/profile/mlp_fc_micro.js
const eg = require('../../dist');
const { ops } = eg;
const rows = 5008, inF = 128, hid = 512;
const r = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const x = eg.tensor(r(rows * inF), [rows, inF]);
const w = ops.param(eg.tensor(r(hid * inF).map((v) => v * 0.1), [hid, inF]));
const b = ops.param(eg.tensor(r(hid), [hid]));
const g = eg.tensor(r(rows * hid), [rows, hid]);
const variants = {
  old: () => ops.gelu(ops.linear(x, w, b)),
  fused: () => ops.biasGelu(ops.linear(x, w), b),
};
const res = { old: [], fused: [] };
for (let round = 0; round < 12; round++) for (const [k, f] of Object.entries(variants)) {
  for (let i = 0; i < 5; i++) {
    const c = process.cpuUsage(), t = process.hrtime.bigint();
    eg.tidy(() => { ops.zeroGrad([w, b]); const y = f(); ops.backward(y, g); });
    const dc = process.cpuUsage(c);
    res[k].push([(dc.user + dc.system) / 1e3, Number(process.hrtime.bigint() - t) / 1e6]);
  }
}
for (const k of Object.keys(res)) {
  const cpu = res[k].map((a) => a[0]).sort((a, b) => a - b), wall = res[k].map((a) => a[1]).sort((a, b) => a - b);
  console.log(k, 'cpu min', cpu[0].toFixed(2), 'median', cpu[cpu.length >> 1].toFixed(2), '| wall min', wall[0].toFixed(2), 'median', wall[wall.length >> 1].toFixed(2));
}
