// SHA-256 of GEMM outputs (matmul in all four transposes and linear with/without bias, odd shapes, K up to 5,008,
// fixed seed): run before and after a GEMM change; equal digests = bit-identical results. node bench/profile/gemm_bits.js
const eg = require('../../dist');
const crypto = require('crypto');
let s = 7; const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
const r = (n) => Float32Array.from({ length: n }, rnd);
const h = crypto.createHash('sha256');
const shapes = [[5008, 128, 384], [5008, 512, 128], [384, 5008, 128], [130, 300, 70], [1000, 700, 33], [6, 16, 16], [12, 520, 32], [256, 256, 256], [97, 1025, 161]];
for (const [m, k, n] of shapes) {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = eg.tensor(r(m * k), ta ? [k, m] : [m, k]), b = eg.tensor(r(k * n), tb ? [n, k] : [k, n]);
    const c = eg.ops.matmul(a, b, { transA: ta, transB: tb });
    h.update(Buffer.from(c.toArray().buffer));
    c.dispose(); a.dispose(); b.dispose();
  }
  const x = eg.tensor(r(m * k), [m, k]), w = eg.tensor(r(n * k), [n, k]), bias = eg.tensor(r(n), [n]);
  for (const y of [eg.ops.linear(x, w, bias), eg.ops.linear(x, w)]) { h.update(Buffer.from(y.toArray().buffer)); y.dispose(); }
}
console.log(h.digest('hex'));
