#!/usr/bin/env node
// Where grounding fails: Acc@0.5 and the named-object rate on the world's renders, split by the kind
// of expression (colour [texture] shape / with the size word / with a relation), by the number of
// objects in the scene and by how much of the target the render shows (whole, covered but its box
// still readable off its pixels, box not readable, touching a look-alike). Issue 15.
// Beside the model, the same rows for a grounder that reads the detector (lib/eval/detector.ts)
// instead: the detection the expression resolves to (lib/data/semantics.ts; the highest-scoring one
// when several fit, a miss when none does). It has no learning in it, so its column says how much of
// each row the pixels let a reader get right. The last column is the same reader on the model's VQ
// reconstruction of the render (decode(encode(image))), which is all the model sees: where it falls
// below the real-render column, the tokenizer has lost what tells the objects apart.
//
//   node scripts/grounding-breakdown.js MODEL_DIR [--world 300] [--external FILE]
'use strict';
require('./script-errors')('grounding-breakdown');

const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../dist');
const { renderBatch, toBytes } = require('../dist/train/data');

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  world: { type: 'string', default: '300' },
  external: { type: 'string', default: path.join(__dirname, '..', 'bench', 'layouts', 'external.jsonl') },
} });
if (!positionals[0]) { console.error('usage: grounding-breakdown.js MODEL_DIR [--world N] [--external FILE]'); process.exit(2); }
const model = eg.model.EchoGen.load(positionals[0]);

const { boxIou: iou, CANVAS, toPixelBox, SMALL_SIDES, LARGE_SIDES } = eg.data;
const drawnSide = (s) => (s >= SMALL_SIDES[0] && s <= SMALL_SIDES[1]) || (s >= LARGE_SIDES[0] && s <= LARGE_SIDES[1]);
const sightOf = (l, i) => {
  const drawnAs = l.objects.map((o) => ({ ...eg.data.parseExpression(o.expr).target, box: o.box }));
  const v = eg.data.visibility(drawnAs)[i];
  const rows = [v.visible === v.area ? 'target whole' : v.reachesBox && v.connected ? 'target covered, box readable' : 'target covered, box not readable'];
  const b = l.objects[i].box, side = Math.min(b[2] - b[0], b[3] - b[1]) * CANVAS;
  rows.push(side < 12 ? 'target side < 12 px' : side < 20 ? 'target side 12-20 px' : 'target side >= 20 px');
  const px = toPixelBox(b);
  rows.push(drawnSide(px[2] - px[0]) && drawnSide(px[3] - px[1]) ? 'target sides the world draws' : 'a target side the world never draws');
  if (eg.data.touchingLookAlikes(drawnAs, i).length) rows.push('a same-colour object touches it');
  return rows;
};
const kindOf = (expr) => {
  const p = eg.data.parseExpression(expr);
  return p.relation ? 'with a relation' : p.target.size ? 'with the size word' : 'colour [texture] shape';
};

/** The detector-read grounder's box for each object's expression of a layout (null: nothing fits), on `image` (default: the render). */
function detectorBoxes(l, image = eg.data.renderLayout(l)) {
  const r = eg.eval.detect(image);
  return l.objects.map((o) => {
    const fits = eg.data.resolveExpression(eg.data.parseExpression(o.expr), r.detections, r.view);
    if (!fits.length) return null;
    return r.detections[fits.reduce((best, k) => (r.detections[k].score > r.detections[best].score ? k : best))].box;
  });
}

function breakdown(name, layouts) {
  const oracle = new Map(layouts.map((l) => [l, detectorBoxes(l)]));
  const px = eg.data.CANVAS * eg.data.CANVAS * 3;
  const onCodes = new Map();
  for (let start = 0; start < layouts.length; start += 64) {
    const part = layouts.slice(start, start + 64);
    const bytes = eg.tidy(() => toBytes(model.vq.decode(model.vq.encode(renderBatch(part)))));
    part.forEach((l, j) => onCodes.set(l, detectorBoxes(l, bytes.subarray(j * px, (j + 1) * px))));
  }
  const queries = layouts.flatMap((l) => l.objects.map((o, i) => ({ l, o, i })));
  const groups = new Map();
  for (let start = 0; start < queries.length; start += 16) {
    const part = queries.slice(start, start + 16);
    const boxes = eg.tidy(() => model.ground(renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr)));
    boxes.forEach((b, j) => {
      const q = part[j], own = iou(b, q.o.box);
      const named = q.l.objects.every((o, k) => k === q.i || iou(b, o.box) < own);
      for (const key of ['all', kindOf(q.o.expr), q.l.objects.length === 1 ? 'alone' : '2+ objects', ...sightOf(q.l, q.i)]) {
        const g = groups.get(key) ?? { n: 0, hit: 0, named: 0, read: 0, readCodes: 0 };
        const read = oracle.get(q.l)[q.i], readCodes = onCodes.get(q.l)[q.i];
        g.n++; g.hit += own >= 0.5 ? 1 : 0; g.named += named ? 1 : 0; g.read += read && iou(read, q.o.box) >= 0.5 ? 1 : 0;
        g.readCodes += readCodes && iou(readCodes, q.o.box) >= 0.5 ? 1 : 0;
        groups.set(key, g);
      }
    });
    process.stderr.write(`\r${name}: ${Math.min(queries.length, start + 16)}/${queries.length}  `);
  }
  process.stderr.write('\n');
  console.log(`\n### ${name} (${layouts.length} layouts, ${queries.length} expressions)\n`);
  console.log('| expressions | n | Acc@0.5 | named object chosen | Acc@0.5 of the detector-read grounder | the same on the VQ reconstruction |');
  console.log('|---|---|---|---|---|---|');
  for (const [key, g] of groups) console.log(`| ${key} | ${g.n} | ${(g.hit / g.n).toFixed(3)} | ${(g.named / g.n).toFixed(3)} | ${(g.read / g.n).toFixed(3)} | ${(g.readCodes / g.n).toFixed(3)} |`);
}

breakdown('world test split', eg.data.generateScenes(Number(values.world), 'test', 20241130).map((s) => s.layout));
breakdown('external', eg.data.readLayouts(values.external));
model.dispose();
