// The synthetic world's speed: scene generation, rendering, detection, and the whole
// "real images" evaluation (render + detect + COCO AP), in scenes per second on one core.
// Goals (issue 4): render >= 5,000 scenes/s, detect >= 2,000 scenes/s.
// Peer for rendering: the plain way to draw, testing every pixel of each box against the shape.
// Run alone with `node bench/suites/world.js [--quick]` (a minimal ctx built on benchmark.js);
// `node bench/suites/world.js --accuracy` prints the detector's AP table of docs/world.md instead.
'use strict';

const BATCH = 1000;

/** Plain per-pixel renderer (same shapes as the world's spans), the peer for rendering. */
function perPixelRenderer(data) {
  const bg = data.BACKGROUND;
  return (scene, out) => {
    for (let p = 0; p < 64 * 64; p++) { out[3 * p] = bg[0]; out[3 * p + 1] = bg[1]; out[3 * p + 2] = bg[2]; }
    for (const o of scene.objects) {
      const [x1, y1, x2, y2] = data.toPixelBox(o.box);
      const w = x2 - x1, h = y2 - y1;
      const c = data.COLOR_RGB[o.color], d = data.darkShade(c);
      for (let y = y1; y < y2; y++) {
        for (let x = x1; x < x2; x++) {
          const u = x - x1, v = y - y1;
          let inside;
          if (o.shape === 'square') inside = true;
          else if (o.shape === 'circle') {
            const dx = (u + 0.5 - w / 2) / (w / 2), dy = (v + 0.5 - h / 2) / (h / 2);
            inside = dx * dx + dy * dy <= 1;
          } else {
            const half = (w * (v + 0.5)) / h / 2;
            inside = Math.abs(u + 0.5 - w / 2) <= half + 0.5;
          }
          if (!inside) continue;
          const dark = (o.texture === 'striped' && (v & 2) !== 0) || (o.texture === 'dotted' && (v & 3) < 2 && (u & 3) < 2);
          const col = dark ? d : c;
          out[3 * (y * 64 + x)] = col[0]; out[3 * (y * 64 + x) + 1] = col[1]; out[3 * (y * 64 + x) + 2] = col[2];
        }
      }
    }
    return out;
  };
}

module.exports = {
  name: 'world',
  async run(ctx) {
    const data = ctx.eg.data, ev = ctx.eg.eval;
    const scenes = data.generateScenes(BATCH, 'test', 2024);
    const images = scenes.map((s) => data.renderScene(s.scene));
    const layouts = scenes.map((s) => s.layout);
    const out = new Uint8Array(data.IMAGE_BYTES);
    const plain = perPixelRenderer(data);
    const perScene = (ms) => (BATCH / ms) * 1000;
    const rows = [
      ['render 1000 scenes', 'echogen', () => { for (const s of scenes) data.renderScene(s.scene, out); }],
      ['render 1000 scenes', 'per-pixel', () => { for (const s of scenes) plain(s.scene, out); }],
      ['detect 1000 renders', 'echogen', () => { for (const im of images) ev.detect(im); }],
      ['eval l2i real 1000 layouts (render+detect+AP)', 'echogen', () => { ev.evaluateL2iReal(layouts); }],
      ['generate 1000 test-split scenes', 'echogen', () => { data.generateScenes(BATCH, 'test', 7); }],
    ];
    for (const [name, impl, fn] of ctx.quick ? rows.slice(0, 3) : rows) {
      const t = await ctx.time(`${name} (${impl})`, fn);
      ctx.record({ case: name, impl, ms: t.ms, rme: t.rme, samples: t.samples });
      ctx.note(`${name} (${impl}): ${Math.round(perScene(t.ms))} scenes/s`);
    }
  },
};

/** The detector's AP on 1,000 held-out scenes, under pixel noise, and on the other layout sources. */
function accuracyTable(data, ev) {
  const scenes = data.generateScenes(1000, 'test', 2024);
  const layouts = scenes.map((s) => s.layout);
  let objects = 0, occluded = 0, minVis = 1;
  for (const s of scenes) {
    for (const v of data.visibility(s.scene.objects)) { objects++; if (v.visible < v.area) occluded++; minVis = Math.min(minVis, v.visible / v.area); }
  }
  const rows = [];
  const fmt = (name, r) => rows.push(`| ${name} | ${r.n} | ${r.objects} | ${r.AP.toFixed(4)} | ${r.AP50.toFixed(4)} | ${r.AP75.toFixed(4)} | ${r.compositional.toFixed(4)} |`);
  fmt('world test split, seed 2024 (clean renders)', ev.evaluateL2iReal(layouts));
  const rng = new data.Rng(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  for (const sigma of [10, 20, 30, 40]) {
    const images = scenes.map((s) => {
      const im = data.renderScene(s.scene);
      for (let i = 0; i < im.length; i++) im[i] = Math.max(0, Math.min(255, Math.round(im[i] + sigma * gauss())));
      return im;
    });
    fmt(`same, Gaussian pixel noise sigma ${sigma}`, ev.evaluateL2i(layouts, (i) => images[i]));
  }
  fmt('`template` source, seed 1 (boxes off the pixel grid)', ev.evaluateL2iReal(data.sampleLayouts('template', 1000, { seed: 1 })));
  fmt('`random` source, seed 1 (no visibility rules)', ev.evaluateL2iReal(data.sampleLayouts('random', 1000, { seed: 1 })));
  console.log(`held-out scenes: ${scenes.length}, objects ${objects}, partly occluded ${occluded} (${(100 * occluded / objects).toFixed(1)}%), least visible share ${minVis.toFixed(3)}`);
  console.log('| images | layouts | objects | AP | AP50 | AP75 | compositional |\n| --- | --- | --- | --- | --- | --- | --- |');
  console.log(rows.join('\n'));
}

if (require.main === module && process.argv.includes('--accuracy')) {
  accuracyTable(require('../../dist/data'), require('../../dist/eval'));
} else if (require.main === module) {
  const Benchmark = require('benchmark');
  const os = require('node:os');
  const quick = process.argv.includes('--quick');
  const rows = [];
  const ctx = {
    eg: { data: require('../../dist/data'), eval: require('../../dist/eval') },
    quick,
    time(name, fn) {
      const b = new Benchmark(name, fn, { minSamples: quick ? 5 : 20, maxTime: quick ? 1 : 5 });
      b.run();
      return { ms: b.stats.mean * 1000, rme: b.stats.rme, samples: b.stats.sample.length };
    },
    record(row) { rows.push(row); },
    note(text) { console.log(text); },
  };
  module.exports.run(ctx).then(() => {
    console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, node ${process.version}`);
    for (const r of rows) console.log(`${r.case.padEnd(48)} ${r.impl.padEnd(10)} ${r.ms.toFixed(2).padStart(9)} ms ±${r.rme.toFixed(1)}%  ${Math.round(1e6 / r.ms)} scenes/s`);
  });
}
