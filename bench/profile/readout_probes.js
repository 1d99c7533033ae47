#!/usr/bin/env node
// Two inference-time probes of how a model grounds touching look-alikes (issue 15), no training:
//
// 1. Readout sharpening: the referring readout's attention scores multiplied by s (RefReadout.sharpen) before the
//    greedy box is decoded, for each s of --sharpen; Acc@0.5, the named-object rate and the touching row, and the
//    oracle over every s (a query counts when any s hits). Does a harder choice between look-alikes give better
//    boxes, and could a search over s reach the bar?
// 2. The patch-box head at inference (config.patchBoxes): every prefix patch's argmax box, IoU with the box of the
//    object that owns the patch (patchOwners), split by whether that object touches one of its own colour. Do the
//    patch states know which instance they show?
//
//   node bench/profile/readout_probes.js [MODEL_DIR] [--layouts FILE | --world N | --loose N] [--sharpen 1,2,4,8]
//
// --world N: the world's test split (seed 20241130, as scripts/grounding-breakdown.js); --loose N: N test-split
// scenes drawn under the loose readability rule (seed 7; touching look-alikes, partly hidden objects).
'use strict';
require('../../scripts/script-errors')('readout_probes');

const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../../dist');
const ops = require('../../dist/autograd');
const { renderBatch } = require('../../dist/train/data');
const { withDecoder } = require('../../dist/model/decoder');
const { i2lPrompt, SEG_IMAGE_PREFIX } = require('../../dist/model/sequences');
const { geoPatchIndex } = require('../../dist/model/geometry');
const { patchOwners } = require('../../dist/model/patch_boxes');
const { COORD_BINS, dequantizeBox } = require('../../dist/model/layout_tokens');

const root = path.join(__dirname, '..', '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  layouts: { type: 'string', default: path.join(root, 'bench', 'layouts', 'external.jsonl') },
  sharpen: { type: 'string', default: '1,2,4,8' },
  world: { type: 'string' }, loose: { type: 'string' },
} });
const count = (name) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a whole number of scenes, got ${values[name]}`);
  return n;
};
const model = eg.model.EchoGen.load(positionals[0] ?? path.join(root, 'models', 'small'));
if (!model.refReadout || !model.patchBoxHead) throw new RangeError('readout_probes: the model needs config.refReadout and config.patchBoxes');
const iou = eg.data.boxIou;
const sharpen = values.sharpen.split(',').map(Number);
if (!sharpen.every((s) => s > 0)) throw new RangeError(`--sharpen must be positive numbers, got ${values.sharpen}`);

const layouts = values.world ? eg.data.generateScenes(count('world'), 'test', 20241130).map((s) => s.layout)
  : values.loose ? eg.data.generateScenes(count('loose'), 'test', 7, { readability: 'loose' }).map((s) => s.layout)
    : eg.data.readLayouts(values.layouts);
/** Per layout, per object: does a same-colour object touch it (scripts/grounding-breakdown.js's rule)? */
const touching = layouts.map((l) => {
  const d = l.objects.map((o) => ({ ...eg.data.parseExpression(o.expr).target, box: o.box }));
  return d.map((_, i) => eg.data.touchingLookAlikes(d, i).length > 0);
});
const queries = layouts.flatMap((l, li) => l.objects.map((o, i) => ({ l, o, i, touching: touching[li][i] })));

// 1. Sharpening.
console.log(`### Readout sharpening (${layouts.length} layouts, ${queries.length} expressions, ${queries.filter((q) => q.touching).length} touching a look-alike; greedy)\n`);
console.log('| s | Acc@0.5 | named object chosen | touching a look-alike |');
console.log('|---|---|---|---|');
const anyHit = new Uint8Array(queries.length);
for (const s of sharpen) {
  model.refReadout.sharpen = s;
  let hit = 0, named = 0, th = 0, tn = 0;
  for (let start = 0; start < queries.length; start += 16) {
    const part = queries.slice(start, start + 16);
    const boxes = eg.tidy(() => model.ground(renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr)));
    boxes.forEach((b, j) => {
      const q = part[j], own = iou(b, q.o.box);
      if (own >= 0.5) { hit++; anyHit[start + j] = 1; }
      named += q.l.objects.every((o, k) => k === q.i || iou(b, o.box) < own) ? 1 : 0;
      if (q.touching) { tn++; th += own >= 0.5 ? 1 : 0; }
    });
  }
  const n = queries.length;
  console.log(`| ${s} | ${(hit / n).toFixed(4)} (${hit}) | ${(named / n).toFixed(4)} | ${tn ? `${(th / tn).toFixed(3)} (${th} of ${tn})` : '-'} |`);
}
model.refReadout.sharpen = 1;
const oracle = anyHit.reduce((a, b) => a + b, 0);
console.log(`\nOracle over s = ${sharpen.join(', ')}: ${(oracle / queries.length).toFixed(4)} (${oracle} of ${queries.length})\n`);

// 2. The patch-box head.
const side = model.config.imageSize / model.config.patchSize, n = side * side;
const acc = { 'touching a look-alike': { n: 0, iou: 0, hit: 0 }, 'apart from look-alikes': { n: 0, iou: 0, hit: 0 } };
for (let s = 0; s < layouts.length; s += 16) {
  const part = layouts.slice(s, s + 16);
  const codes = eg.tidy(() => model.vq.encode(renderBatch(part)).toArray());
  eg.tidy(() => {
    // The prefix's states do not depend on the expression (causal, or bidirectional within the prefix).
    const prompts = part.map((l, b) => i2lPrompt(model.vocab, codes.subarray(b * n, (b + 1) * n), l.objects[0].expr));
    withDecoder(model, prompts, (dec) => {
      dec.prefill();
      const H = dec.promptHidden, P = H.shape[1];
      const rows = [], at = [];
      prompts.forEach((p, b) => p.seg.forEach((g, t) => {
        const patch = g === SEG_IMAGE_PREFIX ? geoPatchIndex(p.geo[t]) : -1;
        if (patch >= 0) { rows.push(b * P + dec.pad[b] + t); at.push([b, patch]); }
      }));
      const h = model.patchBoxHead.forward(ops.gatherRows(ops.reshape(H, [part.length * P, model.config.dim]), eg.tensor(Int32Array.from(rows), [rows.length], { dtype: 'i32' })));
      const bins = [0, 1, 2, 3].map((kind) => {
        const L = model.coordLogits(h, kind).toArray();
        return rows.map((_, r) => { let best = 0; for (let j = 1; j < COORD_BINS; j++) if (L[r * COORD_BINS + j] > L[r * COORD_BINS + best]) best = j; return best; });
      });
      const owners = part.map((l) => patchOwners(l, side));
      at.forEach(([b, patch], r) => {
        const o = owners[b][patch];
        if (o < 0) return;
        const v = iou(dequantizeBox(bins.map((k) => k[r])), part[b].objects[o].box);
        const a = acc[touching[s + b][o] ? 'touching a look-alike' : 'apart from look-alikes'];
        a.n++; a.iou += v; a.hit += v >= 0.5 ? 1 : 0;
      });
    });
  });
}
console.log('### The patch-box head: each object patch\'s box against its owner\'s box\n');
console.log('| owner | patches | mean IoU | IoU >= 0.5 |');
console.log('|---|---|---|---|');
for (const [k, a] of Object.entries(acc)) if (a.n) console.log(`| ${k} | ${a.n} | ${(a.iou / a.n).toFixed(3)} | ${(a.hit / a.n).toFixed(3)} |`);
model.dispose();
