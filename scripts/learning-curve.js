#!/usr/bin/env node
// A learning-curve run: trains with a configuration (the preset's defaults plus JSON overrides) and
// probes held-out L2I AP and grounding accuracy every --every seconds of training (eval.jsonl in
// --out). Plot one or more runs with scripts/plot-curves.js.
//
//   node scripts/learning-curve.js --out runs/curve-geo --preset small --every 120 \
//     --set '{"stages":["pmtp"],"steps":{"pmtp":600},"batch":8,"model":{"dim":128}}' [--scenes 24] [--objects 1]
//     [--temperature 1] [--resume]
'use strict';
require('./script-errors')('learning-curve');
const { parseArgs } = require('util');
const eg = require('..');

const { values } = parseArgs({
  options: {
    out: { type: 'string' }, preset: { type: 'string', default: 'small' }, every: { type: 'string', default: '120' },
    set: { type: 'string', default: '{}' }, model: { type: 'string', default: '{}' }, scenes: { type: 'string', default: '24' },
    temperature: { type: 'string', default: '1' }, resume: { type: 'boolean', default: false }, objects: { type: 'string', default: '4' },
    init: { type: 'string' },
  },
});
if (!values.out) { console.error('learning-curve: --out DIR is required'); process.exit(2); }
const cfg = { ...eg.train.defaultConfig(values.preset), ...JSON.parse(values.set) };
const t0 = Date.now();
eg.train.train(cfg, {
  out: values.out,
  resume: values.resume,
  init: values.init,
  checkpointEverySec: 300,
  curve: { everySec: Number(values.every), scenes: Number(values.scenes), temperature: Number(values.temperature), maxObjects: Number(values.objects) },
  hooks: {
    onMessage: (m) => console.log(`[${((Date.now() - t0) / 60000).toFixed(1)} min] ${m}`),
    onStep: (l) => { if (l.step % 20 === 0) console.log(`${l.stage} ${l.step}/${l.total} loss ${l.loss.toFixed(3)} ${JSON.stringify(l.stats)} ${Math.round(l.tokensPerSec)} tok/s`); },
  },
}).then((m) => { m.dispose(); console.log(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`); });
