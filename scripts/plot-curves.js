#!/usr/bin/env node
// Plots learning curves (eval.jsonl of scripts/learning-curve.js or `echogen train --eval-every`) to a
// PNG: one panel per metric against minutes of training, one colour per run.
//
//   node scripts/plot-curves.js --out docs/curves.png runs/curve-a runs/curve-b [--label a,b] [--title T]
//     [--metrics AP50,AP,acc50,cycleIou]   (also mAcc, referent = named object chosen, acc50Multi,
//     externalAcc50 / externalReferent = grounding on the file of `train --eval-layouts`)
'use strict';
require('./script-errors')('plot-curves');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { PNG } = require('pngjs');

// 5x7 glyphs, one string of 7 rows of 5 bits each (MSB left); lower case is drawn as upper case.
const FONT = {
  ' ': '00000000000000000000000000000000000', '0': '01110100011001110101110011000101110', '1': '00100011000010000100001000010001110',
  '2': '01110100010000100010001000100011111', '3': '11110000010000101110000010000111110', '4': '00010001100101010010111110001000010',
  '5': '11111100001111000001000011000101110', '6': '00110010001000011110100011000101110', '7': '11111000010001000100010000100001000',
  '8': '01110100011000101110100011000101110', '9': '01110100011000101111000010001001100', '.': '00000000000000000000000000110001100',
  '-': '00000000000000011111000000000000000', '@': '01110100011011110101101111000001110', '%': '11000110010001000100010001001100011',
  '(': '00010001000100001000010000010000010', ')': '01000001000001000010000100010001000', '/': '00000000010001000100010001000000000',
  ':': '00000011000110000000011000110000000', '_': '00000000000000000000000000000011111', '=': '00000000001111100000111110000000000',
  '+': '00000001000010011111001000010000000', ',': '00000000000000000000001100010001000',
  A: '01110100011000111111100011000110001', B: '11110100011000111110100011000111110', C: '01110100011000010000100001000101110',
  D: '11100100101000110001100011001011100', E: '11111100001000011110100001000011111', F: '11111100001000011110100001000010000',
  G: '01110100011000010111100011000101111', H: '10001100011000111111100011000110001', I: '01110001000010000100001000010001110',
  J: '00111000100001000010000101001001100', K: '10001100101010011000101001001010001', L: '10000100001000010000100001000011111',
  M: '10001110111010110101100011000110001', N: '10001100011100110101100111000110001', O: '01110100011000110001100011000101110',
  P: '11110100011000111110100001000010000', Q: '01110100011000110001101011001001101', R: '11110100011000111110101001001010001',
  S: '01111100001000001110000010000111110', T: '11111001000010000100001000010000100', U: '10001100011000110001100011000101110',
  V: '10001100011000110001100010101000100', W: '10001100011000110101101011010101010', X: '10001100010101000100010101000110001',
  Y: '10001100010101000100001000010000100', Z: '11111000010001000100010001000011111',
};
const COLORS = [[31, 119, 180], [214, 39, 40], [44, 160, 44], [148, 103, 189], [255, 127, 14], [23, 190, 207], [140, 86, 75]];
const NAMES = {
  AP50: 'L2I AP50', AP: 'L2I AP', acc50: 'GROUNDING ACC@0.5', cycleIou: 'CYCLE IOU', mAcc: 'GROUNDING MACC',
  referent: 'NAMED OBJECT CHOSEN (2+ OBJ)', acc50Multi: 'ACC@0.5 (2+ OBJECTS)',
  externalAcc50: 'OTHER LAYOUTS ACC@0.5', externalReferent: 'OTHER LAYOUTS NAMED OBJECT',
};
const DEFAULT_METRICS = 'AP50,AP,acc50,cycleIou';

function canvas(w, h) {
  const png = new PNG({ width: w, height: h });
  png.data.fill(255);
  const set = (x, y, c) => {
    x = Math.round(x); y = Math.round(y);
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const i = (y * w + x) * 4;
    png.data[i] = c[0]; png.data[i + 1] = c[1]; png.data[i + 2] = c[2]; png.data[i + 3] = 255;
  };
  const text = (s, x, y, c = [0, 0, 0]) => {
    for (const ch of String(s).toUpperCase()) {
      const g = FONT[ch] ?? FONT[' '];
      for (let r = 0; r < 7; r++) for (let k = 0; k < 5; k++) if (g[r * 5 + k] === '1') set(x + k, y + r, c);
      x += 6;
    }
  };
  const line = (x0, y0, x1, y1, c, width = 1) => {
    const n = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let i = 0; i <= n; i++) {
      const x = x0 + (x1 - x0) * i / n, y = y0 + (y1 - y0) * i / n;
      for (let d = 0; d < width; d++) { set(x, y + d, c); set(x + d, y, c); }
    }
  };
  return { png, set, text, line };
}

function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, label: { type: 'string' }, title: { type: 'string' }, metrics: { type: 'string', default: DEFAULT_METRICS } } });
  if (!values.out || positionals.length === 0) { console.error(`usage: plot-curves.js --out FILE.png [--metrics ${DEFAULT_METRICS}] RUN_DIR...`); process.exit(2); }
  const METRICS = values.metrics.split(',').map((k) => {
    if (!NAMES[k]) { console.error(`plot-curves: unknown metric ${JSON.stringify(k)} in --metrics (known: ${Object.keys(NAMES).join(', ')})`); process.exit(2); }
    return [k, NAMES[k]];
  });
  const labels = values.label ? values.label.split(',') : positionals.map((p) => path.basename(p));
  const runs = positionals.map((dir, i) => {
    const file = path.join(dir, 'eval.jsonl');
    const points = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
      .map((p) => ({ ...p, externalAcc50: p.external?.acc50, externalReferent: p.external?.referent }));
    return { label: labels[i] ?? dir, points };
  });
  const maxMin = Math.max(1, ...runs.flatMap((r) => r.points.map((p) => p.minutes)));
  const PW = 300, PH = 200, M = 40, top = values.title ? 24 : 8;
  const W = METRICS.length * (PW + M) + M, H = top + PH + 2 * M + 14 * runs.length;
  const c = canvas(W, H);
  if (values.title) c.text(values.title, M, 8);
  METRICS.forEach(([key, name], m) => {
    const x0 = M + m * (PW + M), y0 = top + 14;
    const ymax = Math.max(0.05, ...runs.flatMap((r) => r.points.map((p) => p[key] ?? 0))) * 1.1;
    c.text(name, x0, y0 - 12);
    c.line(x0, y0 + PH, x0 + PW, y0 + PH, [0, 0, 0]);
    c.line(x0, y0, x0, y0 + PH, [0, 0, 0]);
    for (let t = 0; t <= 4; t++) {
      const yv = ymax * t / 4, y = y0 + PH - PH * t / 4;
      c.line(x0 - 3, y, x0, y, [0, 0, 0]);
      c.text(yv.toFixed(2), x0 - 34, y - 3);
      const xv = maxMin * t / 4, x = x0 + PW * t / 4;
      c.line(x, y0 + PH, x, y0 + PH + 3, [0, 0, 0]);
      c.text(xv.toFixed(maxMin < 10 ? 1 : 0), x - 6, y0 + PH + 6);
    }
    c.text('MINUTES', x0 + PW / 2 - 21, y0 + PH + 16);
    runs.forEach((r, i) => {
      const col = COLORS[i % COLORS.length];
      let prev = null;
      for (const p of r.points) {
        const pt = [x0 + PW * p.minutes / maxMin, y0 + PH - PH * (p[key] ?? 0) / ymax];
        if (prev) c.line(prev[0], prev[1], pt[0], pt[1], col, 2);
        c.line(pt[0] - 2, pt[1], pt[0] + 2, pt[1], col, 2);
        prev = pt;
      }
    });
  });
  runs.forEach((r, i) => {
    const y = top + PH + 2 * M + 14 * i;
    c.line(M, y + 3, M + 20, y + 3, COLORS[i % COLORS.length], 3);
    const last = r.points[r.points.length - 1] ?? {};
    c.text(`${r.label}   LAST: AP ${(last.AP ?? 0).toFixed(3)} AP50 ${(last.AP50 ?? 0).toFixed(3)} ACC@0.5 ${(last.acc50 ?? 0).toFixed(3)}${last.referent !== undefined ? ` NAMED ${last.referent.toFixed(3)}` : ''} AT ${(last.minutes ?? 0).toFixed(1)} MIN`, M + 28, y);
  });
  const tmp = `${values.out}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, PNG.sync.write(c.png));
  fs.renameSync(tmp, values.out);
  console.log(`wrote ${values.out}`);
}

main();
