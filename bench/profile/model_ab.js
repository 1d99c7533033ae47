#!/usr/bin/env node
// One arm of an A/B of model flags (config.bidirectionalImage, config.patchBoxes, ...), a call an arm.
//
// As a continuation of the shipped model (the default): the eighth session's readout A/B
// (bench/results/ab-2026-12-01-packed-attention-prefetch-refpix.md), that is
//   echogen train --preset small --init models/small --stages pmtp --steps pmtp=800 --lr 3e-4 --loose-scenes 0.5 --seed 0
// with the model's config overridden by --model (none: that A/B's "box" arm). With --scratch: a fresh model
// (its own VQ fit, seed --seed) at the preset's learning rate instead, with --mix (e.g. joint=0,l2i=0,i2l=1 for
// grounding alone). Evaluate with scripts/grounding-breakdown.js OUT/model --world 300.
//
//   node bench/profile/model_ab.js --out DIR [--model bidirectionalImage=true,patchBoxes=true|dim=192,heads=6] [--steps 800]
//     [--scratch] [--mix M] [--dist DIR] [--lr-decay SHARE (default 1)] [--seed N (default 0: every arm before the eighteenth session)]
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..', '..');
const { values } = parseArgs({ options: {
  out: { type: 'string' }, model: { type: 'string', default: '' }, steps: { type: 'string', default: '800' }, scratch: { type: 'boolean' },
  mix: { type: 'string' }, dist: { type: 'string', default: path.join(root, 'dist') },
  // The arms of sections 11-16 ran on the whole-stage cosine (before small's default became 0.3): 1 keeps them comparable.
  'lr-decay': { type: 'string', default: '1' },
  seed: { type: 'string', default: '0' },
} });
if (!values.out) throw new RangeError('--out DIR is required');
const overrides = {};
for (const kv of values.model.split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  if (v === 'true' || v === 'false') overrides[k] = v === 'true';
  else if (/^[1-9][0-9]*$/.test(v ?? '')) overrides[k] = Number(v); // a size: dim=192, layers=6, heads=6
  else throw new RangeError(`--model: ${kv} must be FLAG=true, FLAG=false or SIZE=N`);
}
const dist = path.resolve(values.dist);
const eg = require(dist);
const { configFromArgs } = require(path.join(dist, 'cli', 'train'));

const cfg = configFromArgs({
  preset: 'small', stages: 'pmtp', steps: `pmtp=${values.steps}`, 'loose-scenes': '0.5', seed: values.seed, 'lr-decay': values['lr-decay'],
  ...(values.scratch ? {} : { lr: '3e-4' }), ...(values.mix ? { mix: values.mix } : {}),
});
cfg.model = overrides;
const t0 = Date.now();
let last = 0;
eg.train.train(cfg, {
  out: path.resolve(values.out), init: values.scratch ? undefined : path.join(root, 'models', 'small'),
  hooks: { onStep: (l) => { if (l.step - last >= 100 || l.step + 1 === l.total) { last = l.step; console.error(`step ${l.step + 1}/${l.total} loss ${l.loss.toFixed(3)} ${JSON.stringify(l.stats)}`); } } },
}).then((model) => {
  console.log(JSON.stringify({ model: overrides, seed: cfg.seed, seconds: (Date.now() - t0) / 1000 }));
  model.dispose();
});
