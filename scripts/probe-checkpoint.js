#!/usr/bin/env node
// Probes a checkpoint or model directory on the learning-curve layouts at several sampling
// temperatures, and writes a few generated images with the layout's boxes drawn over them.
//   node scripts/probe-checkpoint.js DIR [--scenes 24] [--objects 4] [--temperatures 1,0.5,0] [--png out.png]
'use strict';
require('./script-errors')('probe-checkpoint');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const eg = require('..');

const { values, positionals } = parseArgs({ allowPositionals: true, options: {
  scenes: { type: 'string', default: '24' }, objects: { type: 'string', default: '4' },
  temperatures: { type: 'string', default: '1,0.5,0' }, png: { type: 'string' },
} });
let dir = positionals[0];
if (!fs.existsSync(path.join(dir, 'config.json')) || !fs.existsSync(path.join(dir, 'model.safetensors'))) {
  const latest = fs.readFileSync(path.join(dir, 'LATEST'), 'utf8').trim();
  dir = path.join(dir, latest, 'model');
}
const model = eg.model.EchoGen.load(dir);
const layouts = eg.train.curveLayouts({ scenes: Number(values.scenes), maxObjects: Number(values.objects) });
for (const t of values.temperatures.split(',').map(Number)) {
  const p = eg.train.curvePoint(model, layouts, { minutes: 0, stage: 'probe', step: 0 }, { temperature: t });
  console.log(`T=${t}: AP ${p.AP.toFixed(3)} AP50 ${p.AP50.toFixed(3)} Acc@0.5 ${p.acc50.toFixed(3)} mAcc ${p.mAcc.toFixed(3)} cycle IoU ${p.cycleIou.toFixed(3)} (tokenizer ceiling ${p.tokenizerCeiling.toFixed(3)})`);
}
if (values.png) {
  const n = Math.min(8, layouts.length);
  const imgs = eg.tidy(() => eg.train.renderBatch(layouts.slice(0, n)).toArray());
  const gen = eg.tidy(() => model.generate(layouts.slice(0, n), { temperature: 0.5, seed: 1 }).images.toArray());
  // Two rows: the world's renders and the model's images, 8 columns, 2x upscaled with the layout boxes.
  const S = 64, W = n * S, out = new Uint8Array(2 * S * W * 3);
  for (let i = 0; i < n; i++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
    out[((y) * W + i * S + x) * 3 + c] = Math.round(imgs[((i * S + y) * S + x) * 3 + c] * 255);
    out[((S + y) * W + i * S + x) * 3 + c] = Math.round(Math.min(1, Math.max(0, gen[((i * S + y) * S + x) * 3 + c])) * 255);
  }
  const { PNG } = require('pngjs');
  const png = new PNG({ width: W * 2, height: 2 * S * 2 });
  for (let y = 0; y < 2 * S * 2; y++) for (let x = 0; x < W * 2; x++) {
    const s = ((y >> 1) * W + (x >> 1)) * 3, d = (y * W * 2 + x) * 4;
    png.data[d] = out[s]; png.data[d + 1] = out[s + 1]; png.data[d + 2] = out[s + 2]; png.data[d + 3] = 255;
  }
  fs.writeFileSync(values.png, PNG.sync.write(png));
  console.log(`wrote ${values.png}`);
}
model.dispose();
