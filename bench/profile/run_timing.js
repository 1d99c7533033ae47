#!/usr/bin/env node
// The timing of an `echogen train` run from its files: wall time per segment (the "Elapsed (wall clock)" lines that
// /usr/bin/time -v wrote to the run's stderr log, one per segment: start, then each --resume), the steps' own
// seconds per stage, the PMTP steps' median and mean by the curriculum's phases, and the last probes.
//
//   node bench/profile/run_timing.js RUN_DIR TIME_LOG [--phases 900,2250]
//
// --phases: the first step of each curriculum phase after the first (the preset's: 10 % single objects, then up to
// 25 % at most two; 900,2250 for 9,000 steps, 1200,3000 for 12,000). Default: 10 % and 25 % of the PMTP total.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { phases: { type: 'string' } } });
const [dir, timeLog] = positionals;
if (!dir || !timeLog) throw new RangeError('usage: node bench/profile/run_timing.js RUN_DIR TIME_LOG [--phases A,B]');
const readJsonl = (file) => fs.existsSync(file)
  ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l, i) => {
    try { return JSON.parse(l); } catch { throw new SyntaxError(`${file}:${i + 1}: not JSON`); }
  })
  : [];

const seconds = (hms) => hms.split(':').map(Number).reduce((s, v) => s * 60 + v, 0);
const segments = [...fs.readFileSync(timeLog, 'utf8').matchAll(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([0-9:.]+)/g)]
  .map((m) => seconds(m[1]) / 60);
const log = readJsonl(path.join(dir, 'log.jsonl'));
// A resumed run may repeat the steps after its last checkpoint: keep each stage's step once (the last record).
const byStep = new Map();
for (const r of log) byStep.set(`${r.stage}:${r.step}`, r);
const steps = [...byStep.values()];
const stageMinutes = {};
for (const r of steps) stageMinutes[r.stage] = (stageMinutes[r.stage] ?? 0) + r.seconds / 60;
const pmtp = steps.filter((r) => r.stage === 'pmtp').sort((a, b) => a.step - b.step);
const total = pmtp.length ? pmtp[0].total : 0;
const cuts = values.phases ? values.phases.split(',').map(Number) : [Math.round(0.1 * total), Math.round(0.25 * total)];
const bounds = [0, ...cuts, total];
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[s.length >> 1] : NaN; };

const fmt = (x) => x.toFixed(2);
console.log(`segments: ${segments.length}, wall ${segments.map(fmt).join(' + ')} = ${fmt(segments.reduce((s, v) => s + v, 0))} min`);
console.log(Object.entries(stageMinutes).map(([k, v]) => `${k} ${steps.filter((r) => r.stage === k).length} steps ${fmt(v)} min`).join('; '));
for (let i = 0; i + 1 < bounds.length; i++) {
  const sec = pmtp.filter((r) => r.step >= bounds[i] && r.step < bounds[i + 1]).map((r) => r.seconds);
  if (!sec.length) continue;
  console.log(`  steps ${bounds[i]}-${bounds[i + 1] - 1}: ${sec.length} steps, median ${median(sec).toFixed(3)} s, mean ${(sec.reduce((s, v) => s + v, 0) / sec.length).toFixed(3)} s`);
}
for (const p of readJsonl(path.join(dir, 'eval.jsonl')).slice(-3)) {
  console.log(`probe at ${fmt(p.minutes)} min (${p.stage} ${p.step}): AP ${p.AP.toFixed(3)} AP50 ${p.AP50.toFixed(3)} Acc@0.5 ${p.acc50.toFixed(3)} cycle IoU ${p.cycleIou.toFixed(3)}`);
}
