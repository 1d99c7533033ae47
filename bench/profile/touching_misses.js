#!/usr/bin/env node
// How a model misses the expressions whose target touches an object of its own colour (issue 15): for
// each such expression of a layout file, whether the grounded box hits (IoU >= 0.5), lands on the
// look-alike, spans target and look-alike together (the merged blob's box), or lands elsewhere; split by
// what tells the two apart (shape, texture, both, neither). Greedy grounding on the real renders.
//
//   node bench/profile/touching_misses.js [MODEL_DIR] [--layouts FILE] [--show N]
'use strict';
require('../../scripts/script-errors')('touching_misses');

const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../../dist');
const { renderBatch } = require('../../dist/train/data');

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
    const mates = drawn.map((_, k) => k).filter((k) => k !== i && drawn[k].color === drawn[i].color && !eg.data.sameColorApart([drawn[i], drawn[k]]));
    if (mates.length) queries.push({ l, o, i, mates, drawn });
  });
}

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
model.dispose();
