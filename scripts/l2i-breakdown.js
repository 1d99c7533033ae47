#!/usr/bin/env node
// Where L2I generation loses objects: for every layout object, is there a detection of its class with
// IoU >= 0.5 on the generated image (and on the world's own render, for reference)? Split by the
// number of objects in the scene, by whether the object's box overlaps another box, by size, and by
// class. Diagnostic for issue 15 (why the external layouts score lower than the world's).
//
//   node scripts/l2i-breakdown.js MODEL_DIR [--world 200] [--external FILE] [--temperature 0]
'use strict';
require('./script-errors')('l2i-breakdown');

const path = require('node:path');
const { parseArgs } = require('node:util');
const eg = require('../dist');
const { detect } = require('../dist/eval/detector');
const { renderScene } = require('../dist/data/render');
const { sceneFromLayout, categoryOf } = require('../dist/data/scene');
const { SMALL_SIDES, LARGE_SIDES } = require('../dist/data');

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  world: { type: 'string', default: '200' },
  external: { type: 'string', default: path.join(__dirname, '..', 'bench', 'layouts', 'external.jsonl') },
  temperature: { type: 'string', default: '0' },
} });
if (!positionals[0]) { console.error('usage: l2i-breakdown.js MODEL_DIR [--world N] [--external FILE] [--temperature T]'); process.exit(2); }
const model = eg.model.EchoGen.load(positionals[0]);

const { boxIou: iou } = require('../dist/data/geometry');
const inter = (a, b) => Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));

function found(image, scene) {
  const dets = detect(image).detections;
  return scene.objects.map((o) => {
    const cat = categoryOf(o);
    let best = 0, bestAny = 0;
    for (const d of dets) {
      const v = iou(d.box, o.box);
      bestAny = Math.max(bestAny, v);
      if (d.category === cat) best = Math.max(best, v);
    }
    return { hit: best >= 0.5, place: bestAny >= 0.5 };
  });
}

function breakdown(name, layouts) {
  const images = [];
  eg.train.evalL2i(model, layouts, { seed: 1, temperature: Number(values.temperature), onImage: (i, rgb) => { images[i] = rgb; },
    onProgress: (d, t) => process.stderr.write(`\r${name}: ${d}/${t}  `) });
  process.stderr.write('\n');
  const groups = new Map();
  const add = (key, gen, real) => {
    const g = groups.get(key) ?? { n: 0, gen: 0, place: 0, real: 0 };
    g.n++; g.gen += gen.hit ? 1 : 0; g.place += gen.place ? 1 : 0; g.real += real.hit ? 1 : 0;
    groups.set(key, g);
  };
  const buf = new Uint8Array(64 * 64 * 3);
  layouts.forEach((layout, i) => {
    const scene = sceneFromLayout(layout);
    const gen = found(images[i], scene);
    const real = found(renderScene(scene, buf), scene);
    scene.objects.forEach((o, k) => {
      const over = scene.objects.some((p, j) => j !== k && inter(o.box, p.box) > 0);
      const side = Math.sqrt((o.box[2] - o.box[0]) * (o.box[3] - o.box[1])) * 64;
      const px = o.box.map((v) => Math.round(v * 64));
      const worldSide = (v) => (v >= SMALL_SIDES[0] && v <= SMALL_SIDES[1]) || (v >= LARGE_SIDES[0] && v <= LARGE_SIDES[1]);
      const keys = ['all', worldSide(px[2] - px[0]) && worldSide(px[3] - px[1]) ? 'sides the world draws' : 'a side the world never draws (15-19 px or > 30)',
        px[0] === 0 || px[1] === 0 || px[2] === 64 || px[3] === 64 ? 'box touches the canvas edge' : 'box inside the canvas', `objects=${scene.objects.length}`, over ? 'box overlaps another' : 'box apart',
        side < 12 ? 'side < 12 px' : side < 20 ? 'side 12-20 px' : 'side >= 20 px', `shape=${o.shape}`, `texture=${o.texture ?? 'plain'}`];
      for (const key of keys) add(key, gen[k], real[k]);
    });
  });
  console.log(`\n### ${name} (${layouts.length} layouts)\n`);
  console.log('| objects | n | found on generated (class + IoU>=0.5) | any detection at IoU>=0.5 | found on real render |');
  console.log('|---|---|---|---|---|');
  for (const [key, g] of groups) console.log(`| ${key} | ${g.n} | ${(g.gen / g.n).toFixed(3)} | ${(g.place / g.n).toFixed(3)} | ${(g.real / g.n).toFixed(3)} |`);
}

breakdown('world test split', eg.data.generateScenes(Number(values.world), 'test', 20241130).map((s) => s.layout));
breakdown('external', eg.data.readLayouts(values.external));
model.dispose();
