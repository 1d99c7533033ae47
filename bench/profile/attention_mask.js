// The training step's masked attention alone: packedAttention forward and backward on the small preset's bench batch
// ([8, 626, 384] qkv, 4 heads of 32), with its PMTP segment mask and causal only; min and median of 5 rounds of 10.
//   node bench/profile/attention_mask.js [distDir]   (another build's dist for an A/B; docs/attention.md)
const eg = require(process.argv[2] || require('path').join(__dirname, '..', '..', 'dist'));
const step = require('../suites/train_step.js').__test;
const model = step.buildModel(eg, eg.model.presets.small);
const { batch } = step.buildBatch(eg, model, 8);
const T = batch.length, B = 8, H = 4, D = 32;
const qkv = eg.tensor(Float32Array.from({ length: B * T * 3 * H * D }, () => Math.random() - 0.5), [B, T, 3 * H * D]);
const k = eg.kernels;
const scale = 1 / Math.sqrt(D);
function time(label, fn, reps = 10) {
  const ts = [];
  for (let r = 0; r < 5; r++) { const t0 = process.hrtime.bigint(); for (let i = 0; i < reps; i++) fn(); ts.push(Number(process.hrtime.bigint() - t0) / 1e6 / reps); }
  ts.sort((a, b) => a - b); console.log(label.padEnd(36), ts[0].toFixed(3), 'ms min', ts[2].toFixed(3), 'med');
}
const mask = batch.mask;
for (const optsName of ['mask', 'causal only']) {
  const opts = optsName === 'mask' ? { causal: true, mask, scale } : { causal: true, scale };
  const r = k.packedAttention(qkv, H, opts);
  time(`fwd ${optsName}`, () => { const x = k.packedAttention(qkv, H, opts); x.out.dispose(); x.lse.dispose(); });
  time(`bwd ${optsName}`, () => { k.packedAttentionBackward(qkv, r.out, r.lse, r.out, H, opts).dqkv.dispose(); });
}
