#!/usr/bin/env node
// Where grounding fails: Acc@0.5 on held-out scenes of exactly 1, 2 and 4 objects, and on two-object
// scenes whether the predicted box lies closer to the named object or to the other one (a model that
// reads the expression picks the named one; one that ignores it picks either half the time).
//   node scripts/grounding-probe.js MODEL_DIR [--scenes 40]
'use strict';
require('./script-errors')('grounding-probe');
const { parseArgs } = require('util');
const eg = require('..');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { scenes: { type: 'string', default: '40' } } });
if (!positionals[0]) { console.error('usage: grounding-probe.js MODEL_DIR [--scenes N]'); process.exit(2); }
const model = eg.model.EchoGen.load(positionals[0]);
const n = Number(values.scenes);
const COLORS = new Set(eg.data.COLORS);

function ground(queries) {
  const boxes = [];
  for (let i = 0; i < queries.length; i += 16) {
    const part = queries.slice(i, i + 16);
    eg.tidy(() => model.ground(eg.train.renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr)).forEach((b) => boxes.push(b)));
  }
  return boxes;
}

for (const k of [1, 2, 4]) {
  const layouts = eg.data.generateScenes(n, 'test', 777, { minObjects: k, maxObjects: k }).map((s) => s.layout);
  const queries = layouts.flatMap((l) => l.objects.map((o) => ({ l, o })));
  const r = eg.eval.groundingAccuracy(ground(queries), queries.map((q) => q.o.box));
  console.log(`${k} object(s): Acc@0.5 ${r.acc50.toFixed(3)}, mean IoU ${r.meanIou.toFixed(3)} (${queries.length} queries)`);
}

const pairs = eg.data.generateScenes(3 * n, 'test', 991, { minObjects: 2, maxObjects: 2 }).map((s) => s.layout);
const queries = pairs.flatMap((l) => l.objects.map((o, i) => ({ l, o, i })));
const boxes = ground(queries);
let named = 0, other = 0, neither = 0, diff = 0, diffNamed = 0;
const colour = (expr) => expr.split(' ').find((w) => COLORS.has(w));
queries.forEach((q, j) => {
  const a = eg.data.boxIou(boxes[j], q.l.objects[q.i].box), b = eg.data.boxIou(boxes[j], q.l.objects[1 - q.i].box);
  if (Math.max(a, b) < 0.1) neither++; else if (a >= b) named++; else other++;
  if (colour(q.l.objects[0].expr) !== colour(q.l.objects[1].expr)) { diff++; if (a >= b && a >= 0.1) diffNamed++; }
});
console.log(`two objects, ${queries.length} queries: the box is closer to the named object ${named}, to the other ${other}, to neither ${neither}; objects of different colours: the named one ${diffNamed}/${diff}`);
model.dispose();
