#!/usr/bin/env node
// Can the referring readout tell the named object apart, given a model's frozen states? Trains a
// fresh readout (lib/model/ref_readout.ts) alone on its attention loss over 2-3 object training
// scenes and prints the loss on 32 held-out scenes (-log of the attention mass inside the named box;
// ~0.7-1.1 = every object alike, 0 = only the named one). docs/training.md section 5.
//   node scripts/readout-probe.js MODEL_DIR [--keys both|states|codes] [--lr 3e-3] [--steps 150] [--gain 8]
'use strict';
require('./script-errors')('readout-probe');
const { parseArgs } = require('util');
const eg = require('..');
const { RefReadout, QUERY_GAIN, refIndex } = require('../dist/model/ref_readout');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { keys: { type: 'string', default: 'both' }, lr: { type: 'string', default: '3e-3' }, steps: { type: 'string', default: '150' }, gain: { type: 'string', default: String(QUERY_GAIN) } },
});
if (!positionals[0] || !['both', 'states', 'codes'].includes(values.keys)) { console.error('usage: readout-probe.js MODEL_DIR [--keys both|states|codes] [--lr 3e-3] [--steps 150] [--gain 8]'); process.exit(2); }
const { ops } = eg, M = eg.model;
const model = M.EchoGen.load(positionals[0]);
const n = model.vq.tokensPerImage, D = model.config.dim;
const ro = new RefReadout(D, model.config.heads, new eg.nn.InitRng(3));
// A key map left out is zeroed and kept out of the optimizer.
const zero = (lin) => lin.loadStateDict({ weight: eg.tensor(new Float32Array(D * D), [D, D]) });
if (values.keys === 'codes') zero(ro.key);
if (values.keys === 'states') zero(ro.keyEmbed);
// Another query gain than the built-in one: rescale the output (and the init, so first scores match).
const gain = Number(values.gain);
if (gain !== QUERY_GAIN) {
  const w = ro.query.weight.toArray().map((v) => (v * QUERY_GAIN) / gain);
  ro.query.loadStateDict({ weight: eg.tensor(w, [D, D]) });
  const forward = ro.query.forward.bind(ro.query);
  ro.query.forward = (x) => ops.scale(forward(x), gain / QUERY_GAIN);
}
const trained = ro.parameters().filter((p) => !(values.keys === 'codes' && p === ro.key.weight) && !(values.keys === 'states' && p === ro.keyEmbed.weight));
const opt = new eg.optim.AdamW(trained, { lr: Number(values.lr), weightDecay: 0 });
const patchGeo = eg.keep(eg.tensor(M.geoTable(Math.sqrt(n)).data.subarray(M.geoPatch(0) * M.GEO_FEATURES, (M.geoPatch(0) + n) * M.GEO_FEATURES), [n, M.GEO_FEATURES]));

function scenes(seed, count) {
  const layouts = eg.data.generateScenes(count, 'train', seed, { minObjects: 2, maxObjects: 3 }).map((s) => s.layout);
  const codes = eg.tidy(() => model.vq.encode(eg.train.renderBatch(layouts)).toArray());
  const seqs = layouts.map((l, i) => eg.train.i2lPart(M.pmtpSequence(model.vocab, l, codes.subarray(i * n, (i + 1) * n))));
  const batch = model.collate(seqs);
  const states = eg.keep(eg.tidy(() => ops.noGrad(() => ops.reshape(model.forward(batch), [batch.batch * batch.length, D]))));
  return { batch, states, index: refIndex(seqs, batch.length, n) };
}
const loss = (d) => ro.read(d.states, ops.noGrad(() => model.tokenTable()), patchGeo, d.index).attentionLoss;
const heldOut = scenes(99, 32);
const steps = Number(values.steps);
for (let step = 0; step <= steps; step++) {
  const d = scenes(1000 + step, 8);
  eg.tidy(() => {
    opt.zeroGrad();
    const l = loss(d);
    ops.backward(l);
    opt.step();
    if (step % 25 === 0 || step === steps) console.log(`step ${step}: train ${l.item().toFixed(3)}, held-out ${eg.tidy(() => ops.noGrad(() => loss(heldOut).item())).toFixed(3)}`);
  });
  d.states.dispose();
  eg.model.disposeBatch(d.batch);
}
