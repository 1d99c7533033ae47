#!/usr/bin/env node
// The grounding search of EchoGen.ground({ samples }) taken apart (issue 15): for each expression, the
// greedy box and K drawn boxes, each with its own I2L log-probability and the model's L2I log-likelihood
// of the image's codes given the one-object layout "a <expr>" in that box. Reports Acc@0.5 of the greedy
// box, of the best candidate (the oracle: what any scoring of these candidates could reach) and of the
// score  i2l + lambda * l2i  for a grid of lambda; --out keeps every candidate as JSON.
//
//   node bench/profile/rerank_grounding.js [MODEL_DIR] [--layouts FILE | --world N [--split val|test]]
//        [--samples K] [--temperature T] [--limit N] [--out FILE]
'use strict';
require('../../scripts/script-errors')('rerank_grounding');

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../../dist');
const { renderBatch } = require('../../dist/train/data');

const root = path.join(__dirname, '..', '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  layouts: { type: 'string' },
  world: { type: 'string' },
  split: { type: 'string', default: 'test' },
  samples: { type: 'string', default: '8' },
  temperature: { type: 'string', default: '1' },
  limit: { type: 'string' },
  out: { type: 'string' },
} });
const K = Number(values.samples), T = Number(values.temperature);
if (!Number.isInteger(K) || K < 1) throw new RangeError(`--samples must be a positive integer, got ${values.samples}`);
const model = eg.model.EchoGen.load(positionals[0] ?? path.join(root, 'models', 'small'));
const layouts = values.world
  ? eg.data.sampleLayouts('real', Number(values.world), { seed: 777, split: values.split })
  : eg.data.readLayouts(values.layouts ?? path.join(root, 'bench', 'layouts', 'external.jsonl'));
const L = model.vq.tokensPerImage;

const queries = [];
for (const l of layouts) l.objects.forEach((o) => queries.push({ l, o }));
if (values.limit) queries.length = Math.min(queries.length, Number(values.limit));
const rows = [];
const started = Date.now();
for (const [qi, q] of queries.entries()) {
  eg.tidy(() => {
    const image = renderBatch([q.l]);
    const codes = Int32Array.from(model.vq.encode(image).toArray());
    const cands = [...model.sampleBoxes(image, [q.o.expr], { temperature: 0 }),
      ...model.sampleBoxes(renderBatch(Array.from({ length: K }, () => q.l)), Array.from({ length: K }, () => q.o.expr), { temperature: T, seed: qi })];
    const uniq = [...new Map(cands.map((c) => [c.bins.join(), c])).values()];
    const layoutsOf = uniq.map((c) => ({ caption: `a ${q.o.expr}`, objects: [{ expr: q.o.expr, box: c.box }] }));
    const lp = eg.ops.noGrad(() => model.codeLogProbs(layoutsOf, uniq.map(() => codes)).toArray());
    rows.push({ expr: q.o.expr, cands: uniq.map((c, i) => {
      let l2i = 0;
      for (let k = 0; k < L; k++) l2i += lp[i * L + k];
      return { bins: c.bins, i2l: c.logProb, l2i, iou: eg.data.boxIou(c.box, q.o.box) };
    }) });
  });
  if (qi % 100 === 99) process.stderr.write(`${qi + 1}/${queries.length} expressions, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}
if (values.out) fs.writeFileSync(values.out, JSON.stringify(rows));

const hit = (r, i) => r.cands[i].iou >= 0.5;
const acc = (choose) => rows.filter((r) => hit(r, choose(r))).length / rows.length;
const scored = (lambda) => (r) => r.cands.reduce((best, c, i) => (c.i2l + lambda * c.l2i > r.cands[best].i2l + lambda * r.cands[best].l2i ? i : best), 0);
console.log(`${rows.length} expressions, ${K} draws at temperature ${T}; distinct candidates ${(rows.reduce((a, r) => a + r.cands.length, 0) / rows.length).toFixed(2)} a query`);
console.log(`| score | Acc@0.5 |\n|---|---|\n| greedy box | ${acc(() => 0).toFixed(4)} |\n| oracle (best candidate) | ${(rows.filter((r) => r.cands.some((_, i) => hit(r, i))).length / rows.length).toFixed(4)} |`);
for (const lambda of [0, 0.03, 0.1, 0.3, 1, 3]) console.log(`| i2l + ${lambda} l2i | ${acc(scored(lambda)).toFixed(4)} |`);
console.log(`| l2i alone | ${acc(scored(1e9)).toFixed(4)} |`);
