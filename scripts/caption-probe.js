#!/usr/bin/env node
// How much a model leans on the caption's size words: L2I on the world's test layouts with their
// captions as written (every object's size named) and with every "small"/"large" taken out of the
// caption (the layout's boxes and expressions unchanged). Issue 15, docs/training.md section 7.
//
//   node scripts/caption-probe.js MODEL_DIR [--world 200] [--temperature 0]
'use strict';
require('./script-errors')('caption-probe');

const { parseArgs } = require('node:util');
const eg = require('../dist');

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  world: { type: 'string', default: '200' }, temperature: { type: 'string', default: '0' },
} });
if (!positionals[0]) { console.error('usage: caption-probe.js MODEL_DIR [--world N] [--temperature T]'); process.exit(2); }
const model = eg.model.EchoGen.load(positionals[0]);
const layouts = eg.data.generateScenes(Number(values.world), 'test', 20241130).map((s) => s.layout);
const variants = [
  ['captions as written', layouts],
  ['size words taken out', layouts.map((l) => ({ ...l, caption: l.caption.replace(/\b(small|large) /g, '') }))],
];
console.log(`| ${positionals[0]}: captions (${layouts.length} world test layouts) | L2I AP | AP50 | cycle IoU |`);
console.log('|---|---|---|---|');
for (const [name, set] of variants) {
  const r = eg.train.evalL2i(model, set, { seed: 1, temperature: Number(values.temperature) });
  console.log(`| ${name} | ${(100 * r.AP).toFixed(2)} | ${(100 * r.AP50).toFixed(2)} | ${(100 * r.cycleIou).toFixed(2)} |`);
}
model.dispose();
