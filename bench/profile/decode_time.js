#!/usr/bin/env node
// Decoding with the shipped model, timed: generate (256 image codes over the KV cache) for 1 and 8 layouts, and
// grounding 8 expressions greedy and with the search (samples 8). For comparing two builds of the addon alternately
// (ECHOGEN_ADDON=<build>/Release/echogen.node node bench/profile/decode_time.js); ms, min over 3 calls after a warm-up.
'use strict';
const eg = require('../../dist');
const model = eg.model.EchoGen.load(require('path').join(__dirname, '../../models/small'));
const layout = { caption: 'a red circle and a blue square', objects: [{ expr: 'red circle', box: [0.1, 0.1, 0.4, 0.4] }, { expr: 'blue square', box: [0.5, 0.5, 0.9, 0.9] }] };
const image = eg.data.renderLayout(layout);
function time(label, fn) {
  fn();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(`${label} ${best.toFixed(1)} ms`);
}
time('generate B=1', () => model.generate([layout], { temperature: 0 }));
time('generate B=8', () => model.generate(Array(8).fill(layout), { temperature: 0 }));
const exprs = ['red circle', 'blue square', 'the red circle', 'the blue square', 'red circle', 'blue square', 'red circle', 'blue square'];
time('ground 8 greedy', () => model.ground(Array(8).fill(image), exprs));
time('ground 8 search', () => model.ground(Array(8).fill(image), exprs, { samples: 8 }));
