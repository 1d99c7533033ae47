#!/usr/bin/env node
// How a model misses the expressions whose target touches an object of its own colour (issue 15): for
// each such expression of a layout file, whether the grounded box hits (IoU >= 0.5), lands on the
// look-alike, spans target and look-alike together (the merged blob's box), or lands elsewhere; split by
// what tells the two apart (shape, texture, both, neither). Greedy grounding on the real renders. With the
// referring readout, also where it looks: its attention mass (mean over heads) on the patches the target owns and on
// those its look-alikes own (patchOwners), averaged by outcome.
//
//   node bench/profile/touching_misses.js [MODEL_DIR] [--layouts FILE] [--show N]
'use strict';
require('../../scripts/script-errors')('touching_misses');

const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../../dist');
const { renderBatch } = require('../../dist/train/data');
const ops = require('../../dist/autograd');
const { withDecoder } = require('../../dist/model/decoder');
const { i2lPrompt } = require('../../dist/model/sequences');
const { refIndex } = require('../../dist/model/ref_readout');
const { patchOwners } = require('../../dist/model/patch_boxes');

const root = path.join(__dirname, '..', '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  layouts: { type: 'string', default: path.join(root, 'bench', 'layouts', 'external.jsonl') },
  show: { type: 'string', default: '0' },
} });
const model = eg.model.EchoGen.load(positionals[0] ?? path.join(root, 'models', 'small'));
const iou = eg.data.boxIou;
const union = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];

const queries = [];
for (const l of eg.data.readLayouts(values.layouts)) {
  const drawn = l.objects.map((o) => ({ ...eg.data.parseExpression(o.expr).target, box: o.box }));
  l.objects.forEach((o, i) => {
    const mates = eg.data.touchingLookAlikes(drawn, i);
    if (mates.length) queries.push({ l, o, i, mates, drawn });
  });
}

const side = model.config.imageSize / model.config.patchSize, patches = side * side;
/** The readout's attention mass on the patches of `mask` for query q (its attention loss is -log(mass + 1e-4)). */
function massOn(q, codes, mask) {
  if (!mask.some((x) => x)) return 0;
  const prompt = i2lPrompt(model.vocab, codes, q.o.expr);
  return eg.tidy(() => withDecoder(model, [prompt], (dec) => {
    dec.prefill();
    const H = dec.promptHidden, P = H.shape[1];
    const index = { ...refIndex([prompt], P, patches, dec.pad, model.relationPhrases), inBox: mask };
    return Math.exp(-model.readRefs(ops.reshape(H, [P, model.config.dim]), index, true).attentionLoss.item()) - 1e-4;
  }));
}
const mass = new Map();

const counts = new Map();
let shown = 0;
for (let start = 0; start < queries.length; start += 16) {
  const part = queries.slice(start, start + 16);
  const boxes = eg.tidy(() => model.ground(renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr)));
  boxes.forEach((b, j) => {
    const q = part[j], own = iou(b, q.o.box);
    const t = q.drawn[q.i], m = q.drawn[q.mates[0]];
    const apart = [t.shape !== m.shape ? 'shape' : null, (t.texture ?? 'plain') !== (m.texture ?? 'plain') ? 'texture' : null]
      .filter(Boolean).join(' and ') || 'neither (same shape and texture)';
    const mate = Math.max(...q.mates.map((k) => iou(b, q.l.objects[k].box)));
    const merged = Math.max(...q.mates.map((k) => iou(b, union(q.o.box, q.l.objects[k].box))));
    const kind = own >= 0.5 ? 'hit' : merged > own && merged > mate && merged >= 0.5 ? 'merged box' : mate > own ? 'on the look-alike' : 'elsewhere';
    if (model.refReadout) {
      const codes = eg.tidy(() => model.vq.encode(renderBatch([q.l])).toArray());
      const owner = patchOwners(q.l, side);
      const m = mass.get(kind) ?? { n: 0, target: 0, mate: 0, ahead: 0 };
      const t = massOn(q, codes, Float32Array.from(owner, (o) => (o === q.i ? 1 : 0)));
      const a = massOn(q, codes, Float32Array.from(owner, (o) => (q.mates.includes(o) ? 1 : 0)));
      m.n++; m.target += t; m.mate += a; m.ahead += t > a ? 1 : 0;
      mass.set(kind, m);
    }
    for (const key of ['all', `told apart by ${apart}`]) {
      const c = counts.get(key) ?? { n: 0, hit: 0, 'on the look-alike': 0, 'merged box': 0, elsewhere: 0 };
      c.n++;
      c[kind]++;
      counts.set(key, c);
    }
    if (kind !== 'hit' && shown < Number(values.show)) {
      shown++;
      console.log(`${kind}: "${q.o.expr}" touching ${q.mates.map((k) => `"${q.l.objects[k].expr}"`).join(', ')}`);
    }
  });
}
console.log(`\n${queries.length} expressions whose target touches a same-colour object (${values.layouts})\n`);
console.log('| expressions | n | hit | on the look-alike | merged box | elsewhere |');
console.log('|---|---|---|---|---|---|');
for (const [key, c] of counts) console.log(`| ${key} | ${c.n} | ${c.hit} | ${c['on the look-alike']} | ${c['merged box']} | ${c.elsewhere} |`);
if (mass.size) {
  console.log('\nThe readout\'s attention mass by outcome (mean over the outcome\'s expressions)\n');
  console.log('| outcome | n | mass on the target | on the look-alike(s) | target ahead |');
  console.log('|---|---|---|---|---|');
  for (const kind of ['hit', 'on the look-alike', 'merged box', 'elsewhere']) {
    const m = mass.get(kind);
    if (m) console.log(`| ${kind} | ${m.n} | ${(m.target / m.n).toFixed(3)} | ${(m.mate / m.n).toFixed(3)} | ${m.ahead} |`);
  }
}
model.dispose();
