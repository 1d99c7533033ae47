#!/usr/bin/env node
// Measures a model on held-out layouts as docs/design.md section 6 says and writes DIR/eval.json
// (which `echogen demo` prints) and a markdown table to stdout:
//   - the world's test split (the first --world scenes of seed 20241130), and
//   - bench/layouts/external.jsonl (layouts written outside the generator: overlaps, commas).
// For each: the detector on the real renders (the upper bound), L2I AP/AP50/AP75 and compositional
// accuracy on generated images, cycle IoU, grounding Acc@0.5/Acc@0.75/mAcc on the real renders, and
// the tokenizer's ceiling (AP on VQ reconstructions / AP on the renders); on scenes of 2+ objects,
// Acc@0.5 and how often the box lands on the named object rather than another.
//
// With --ground-samples N, grounding is measured a second time with the search of EchoGen.ground({ samples: N }).
//
//   node scripts/evaluate-model.js models/small [--world 500] [--external FILE] [--temperature 0.5] [--ground-samples N] [--note TEXT]
'use strict';
require('./script-errors')('evaluate-model');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const eg = require('..');

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  world: { type: 'string', default: '500' }, external: { type: 'string', default: path.join(__dirname, '..', 'bench', 'layouts', 'external.jsonl') },
  temperature: { type: 'string', default: '0.5' }, 'ground-samples': { type: 'string', default: '0' }, note: { type: 'string' }, write: { type: 'boolean', default: true },
} });
const dir = positionals[0];
if (!dir) { console.error('usage: evaluate-model.js MODEL_DIR [--world N] [--external FILE] [--temperature T]'); process.exit(2); }
const model = eg.model.EchoGen.load(dir);
const temperature = Number(values.temperature);
const samples = Number(values['ground-samples']);
if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`--ground-samples must be a non-negative integer, got ${values['ground-samples']}`);
const sets = [
  { name: 'world test split', layouts: eg.data.generateScenes(Number(values.world), 'test', 20241130).map((s) => s.layout) },
  { name: 'external (bench/layouts/external.jsonl)', layouts: eg.data.readLayouts(values.external) },
];
const t0 = Date.now();
const results = sets.map(({ name, layouts }) => {
  const progress = (what) => (done, total) => { if (done === total || done % 64 === 0) process.stderr.write(`\r${name}: ${what} ${done}/${total}   `); };
  const real = eg.train.evalRealL2i(layouts);
  const l2i = eg.train.evalL2i(model, layouts, { seed: 1, temperature, onProgress: progress('generate') });
  const g = eg.train.evalGround(model, layouts, { onProgress: progress('ground') });
  const s = samples ? eg.train.evalGround(model, layouts, { ground: { samples }, onProgress: progress(`ground, search ${samples}`) }) : null;
  const ceiling = eg.train.tokenizerCeiling(model, layouts);
  process.stderr.write('\n');
  return {
    name, layouts: layouts.length, objects: layouts.reduce((s, l) => s + l.objects.length, 0),
    realAP: real.AP, AP: l2i.AP, AP50: l2i.AP50, AP75: l2i.AP75, compositional: l2i.compositional,
    cycleIou: l2i.cycleIou, acc50: g.acc50, acc75: g.acc75, mAcc: g.mAcc, acc50Multi: g.acc50Multi, referent: g.referent, tokenizerCeiling: ceiling,
    ...(s ? { search: { samples, acc50: s.acc50, acc75: s.acc75, mAcc: s.mAcc, acc50Multi: s.acc50Multi, referent: s.referent } } : {}),
  };
});
const out = {
  date: new Date().toISOString().slice(0, 10), machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
  temperature, note: values.note, seconds: (Date.now() - t0) / 1000, sets: results,
};
if (values.write) fs.writeFileSync(path.join(dir, 'eval.json'), JSON.stringify(out, null, 2) + '\n');
const pct = (v) => (100 * v).toFixed(2);
console.log(`| set | layouts (objects) | real-render AP | L2I AP | AP50 | AP75 | AP / real | compositional | cycle IoU | Acc@0.5 | Acc@0.75 | mAcc | Acc@0.5, 2+ objects | named object chosen | tokenizer ceiling |`);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.layouts} (${r.objects}) | ${pct(r.realAP)} | ${pct(r.AP)} | ${pct(r.AP50)} | ${pct(r.AP75)} | ${(r.AP / r.realAP).toFixed(3)} | ${pct(r.compositional)} | ${pct(r.cycleIou)} | ${pct(r.acc50)} | ${pct(r.acc75)} | ${pct(r.mAcc)} | ${pct(r.acc50Multi)} | ${pct(r.referent)} | ${r.tokenizerCeiling.toFixed(3)} |`);
}
if (samples) {
  console.log(`\nGrounding with the search (EchoGen.ground({ samples: ${samples} })), the greedy box's figure in brackets:\n`);
  console.log('| set | Acc@0.5 | Acc@0.75 | mAcc | Acc@0.5, 2+ objects | named object chosen |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${pct(r.search.acc50)} (${pct(r.acc50)}) | ${pct(r.search.acc75)} (${pct(r.acc75)}) | ${pct(r.search.mAcc)} (${pct(r.mAcc)}) | ${pct(r.search.acc50Multi)} (${pct(r.acc50Multi)}) | ${pct(r.search.referent)} (${pct(r.referent)}) |`);
}
console.log(`(temperature ${temperature}; ${out.seconds.toFixed(0)} s on ${out.machine})`);
model.dispose();
