#!/usr/bin/env node
// The yardstick (issue 15): the detector on the world's own renders ("real-render upper bound",
// evaluateL2iReal) of (1) the world generator's test split, the 1,000 scenes of docs/world.md
// (seed 2024), and (2) the layouts written outside the generator, bench/layouts/external-bare.jsonl
// (scripts/external-layouts.js). Prints one JSON line per set; --misses lists the external
// objects the detector reads wrong (no detection of the right class at IoU >= 0.95).
// --speed times detection alone (best of 5) on both sets; --noise adds the world rows with Gaussian pixel noise (sigma 10..40) of docs/world.md.
// Usage (after `npx tsc -p tsconfig.json`): node bench/layouts/yardstick.js [--n 1000] [--speed] [--noise] [--misses]
'use strict';
const path = require('node:path');
const data = require('../../dist/data');
const ev = require('../../dist/eval');

const argv = process.argv.slice(2);
const n = Number(argv.includes('--n') ? argv[argv.indexOf('--n') + 1] : 1000);
const row = (name, layouts) => {
  const t0 = process.hrtime.bigint();
  const r = ev.evaluateL2iReal(layouts);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ set: name, layouts: r.n, objects: r.objects, AP: +r.AP.toFixed(4), AP50: +r.AP50.toFixed(4), AP75: +r.AP75.toFixed(4), compositional: +r.compositional.toFixed(4), ms: Math.round(ms) }));
};
const world = data.generateScenes(n, 'test', 2024).map((s) => s.layout);
row(`world test split, seed 2024, first ${n}`, world);
const external = data.readLayouts(path.join(__dirname, 'external-bare.jsonl'));
row('external (bench/layouts/external-bare.jsonl)', external);
if (argv.includes('--speed')) {
  // Detection alone, best of 5 passes (the first pass also pays for V8's compilation).
  const worldImages = data.generateScenes(n, 'test', 2024).map((s) => data.renderScene(s.scene));
  const externalImages = external.map((l) => data.renderLayout(l));
  const best = (images) => {
    let b = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      for (const im of images) ev.detect(im);
      b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return b;
  };
  const w = best(worldImages), e = best(externalImages);
  console.log(JSON.stringify({ speed: 'detect, best of 5', worldMs: +w.toFixed(1), worldScenesPerS: Math.round((worldImages.length * 1e3) / w), externalMs: +e.toFixed(1), externalScenesPerS: Math.round((externalImages.length * 1e3) / e) }));
}
if (argv.includes('--noise')) {
  // The rows of docs/world.md: the world test split with Gaussian pixel noise (data.Rng seed 8 per sigma).
  const scenes = data.generateScenes(n, 'test', 2024);
  for (const sigma of [10, 20, 30, 40]) {
    const rng = new data.Rng(8);
    const images = scenes.map((s) => {
      const img = data.renderScene(s.scene), out = new Uint8Array(img.length);
      for (let i = 0; i < img.length; i++) {
        const g = Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
        out[i] = Math.max(0, Math.min(255, Math.round(img[i] + sigma * g)));
      }
      return out;
    });
    const t0 = Date.now();
    const r = ev.evaluateL2i(world, (i) => images[i]);
    console.log(JSON.stringify({ set: `world test split + noise sigma ${sigma}`, layouts: r.n, objects: r.objects, AP: +r.AP.toFixed(4), AP50: +r.AP50.toFixed(4), AP75: +r.AP75.toFixed(4), compositional: +r.compositional.toFixed(4), ms: Date.now() - t0 }));
  }
}
if (argv.includes('--misses')) {
  external.forEach((l, li) => {
    const scene = data.sceneFromLayout(l);
    const det = ev.detect(data.renderScene(scene)).detections;
    scene.objects.forEach((o, oi) => {
      const cat = data.categoryOf(o);
      const best = Math.max(0, ...det.filter((d) => d.category === cat).map((d) => data.boxIou(d.box, o.box)));
      if (best < 0.95) console.log(`line ${li + 1} obj ${oi} ${cat} ${o.texture} px ${data.toPixelBox(o.box).join(',')} bestIoU ${best.toFixed(3)} | dets: ${det.map((d) => `${d.category}@${data.toPixelBox(d.box).join(',')}`).join('; ')}`);
    });
  });
}
