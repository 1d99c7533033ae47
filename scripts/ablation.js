#!/usr/bin/env node
// The EchoGen ablations on the scene world (docs/design.md section 6, issue 15), several seeds,
// mean +- std, every variant measured greedily (T = 0) on the same held-out layouts of the world's
// test split: L2I AP/AP50/AP75 (the detector on the generated images), cycle IoU, grounding
// Acc@0.5/Acc@0.75/mAcc and the named-object rate on the world's renders.
//
// --study stages (default): per seed, one shared trunk (trained here for --trunk PMTP steps, or the
// model in --trunk-model), then an equal budget spent as
//   A  PMTP only              (--stages pmtp, at DJO's peak learning rate: PMTP's own 2e-3 would be
//                              a warm restart of a trained trunk, which no other variant gets)
//   B  +DJO                   (--stages djo)
//   C  +DJO +Cycle RL         (--stages djo,cycle-rl, half the budget each), with real, random
//                              and template RL layouts
// --study mix: from scratch, PMTP only, the same budget as joint sequences (L2I and I2L of a scene in
// one sequence), as L2I only and as I2L only (the synergy claim), and as joint sequences with the box
// loss weighted 0.5 instead of the preset's weight.
//
// The budget is --budget optimiser steps per variant, or with --seconds S the same wall-clock time
// for every variant: each stage's seconds a step is first measured on a short run from the trunk
// (the median over its steps of log.jsonl's `seconds`), and the steps are S / that.
// Writes bench/results/ablation-<study>-<date>.md and OUT/results.json (resumable: done runs are kept).
//
//   node scripts/ablation.js [--study stages|mix] [--seeds 0,1,2] [--preset tiny|small]
//     [--trunk 200 | --trunk-model DIR] [--budget 80 | --seconds S] [--eval 100] [--only A,B] [--out runs/ablation]
'use strict';
require('./script-errors')('ablation');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const root = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    study: { type: 'string', default: 'stages' },
    seeds: { type: 'string', default: '0,1,2' },
    trunk: { type: 'string', default: '200' },
    'trunk-model': { type: 'string' },
    budget: { type: 'string', default: '80' },
    seconds: { type: 'string' },
    eval: { type: 'string', default: '100' },
    preset: { type: 'string', default: 'tiny' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
});
if (!['stages', 'mix'].includes(values.study)) throw new RangeError(`--study must be stages or mix, got ${values.study}`);
const seeds = values.seeds.split(',').map(Number);
const trunk = Number(values.trunk), budget = Number(values.budget), nEval = Number(values.eval);
const seconds = values.seconds === undefined ? null : Number(values.seconds);
if (seconds !== null && !(seconds > 0)) throw new RangeError(`--seconds must be a positive number, got ${values.seconds}`);
if (values['trunk-model'] && values.study !== 'stages') throw new RangeError('--trunk-model belongs to --study stages');
const out = path.resolve(root, values.out ?? `runs/ablation-${values.study}`);
fs.mkdirSync(out, { recursive: true });
const cli = path.join(root, 'bin', 'echogen.js');
const eg = require(path.join(root, 'index.js'));

function train(args) {
  const t0 = Date.now();
  const text = execFileSync(process.execPath, [cli, 'train', ...args, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const lines = text.trim().split('\n');
  return { ...JSON.parse(lines[lines.length - 1]), wall: (Date.now() - t0) / 1000 };
}

/** Median wall-clock seconds a step of each stage in a finished run directory (log.jsonl). */
function stepSeconds(dir) {
  const by = {};
  for (const line of fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n')) {
    const l = JSON.parse(line);
    if (typeof l.seconds === 'number') (by[l.stage] ??= []).push(l.seconds);
  }
  const med = (xs) => xs.slice(1).sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? xs[0];
  return Object.fromEntries(Object.entries(by).map(([k, xs]) => [k, med(xs)]));
}

const heldout = eg.data.generateScenes(nEval, 'test', 777).map((s) => s.layout);
function measure(dir) {
  const model = eg.model.EchoGen.load(dir);
  try {
    const l2i = eg.train.evalL2i(model, heldout, { seed: 1, temperature: 0 });
    const g = eg.train.evalGround(model, heldout);
    return { AP: l2i.AP, AP50: l2i.AP50, AP75: l2i.AP75, cycleIou: l2i.cycleIou, acc50: g.acc50, acc75: g.acc75, mAcc: g.mAcc, named: g.referent };
  } finally {
    model.dispose();
  }
}

const STAGE_VARIANTS = [
  { name: 'A: PMTP', stages: ['pmtp'], lr: eg.train.defaultConfig(values.preset).lr.djo },
  { name: 'B: +DJO', stages: ['djo'] },
  { name: 'C: +DJO +Cycle RL (real)', stages: ['djo', 'cycle-rl'], rl: 'real' },
  { name: 'C: +DJO +Cycle RL (random)', stages: ['djo', 'cycle-rl'], rl: 'random' },
  { name: 'C: +DJO +Cycle RL (template)', stages: ['djo', 'cycle-rl'], rl: 'template' },
];
const MIX_VARIANTS = [
  { name: 'joint PMTP', stages: ['pmtp'], mix: 'joint=1,l2i=0,i2l=0' },
  { name: 'L2I only', stages: ['pmtp'], mix: 'joint=0,l2i=1,i2l=0' },
  { name: 'I2L only', stages: ['pmtp'], mix: 'joint=0,l2i=0,i2l=1' },
  // The box loss at a quarter of the small preset's weight (2): in joint PMTP its gradient is most of the clipped norm.
  { name: 'joint PMTP, text weight 0.5', stages: ['pmtp'], mix: 'joint=1,l2i=0,i2l=0', textWeight: 0.5 },
];
const variants = (values.study === 'mix' ? MIX_VARIANTS : STAGE_VARIANTS)
  .filter((v) => !values.only || values.only.split(',').some((o) => v.name.includes(o)));

/** Steps per stage of a variant: the budget in steps (C: half DJO, and a quarter as Cycle RL rollouts of 2 updates each), or in seconds. */
function stepsOf(v, perStep) {
  if (seconds === null) {
    if (v.stages.length === 1) return { [v.stages[0]]: budget };
    return { djo: budget / 2, 'cycle-rl': budget / 4 };
  }
  const share = seconds / v.stages.length;
  return Object.fromEntries(v.stages.map((s) => [s, Math.max(1, Math.round(share / perStep[s]))]));
}

const resultsFile = path.join(out, 'results.json');
const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : {};
const save = () => fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));
const common = (seed) => ['--preset', values.preset, '--seed', String(seed)];

for (const seed of seeds) {
  let init = null;
  if (values.study === 'stages') {
    init = values['trunk-model'] ? path.resolve(values['trunk-model']) : path.join(out, `seed${seed}`, 'trunk', 'model');
    if (!fs.existsSync(path.join(init, 'config.json'))) {
      console.error(`seed ${seed}: PMTP trunk, ${trunk} steps`);
      train(['--stages', 'pmtp', '--steps', String(trunk), ...common(seed), '--out', path.dirname(init), '--force']);
    }
  }
  // Seconds a step per stage, measured once per seed (6 steps of PMTP and DJO, 2 Cycle RL rollouts).
  let perStep = null;
  if (seconds !== null) {
    const calib = path.join(out, `seed${seed}`, 'calibration');
    const stages = [...new Set(variants.flatMap((v) => v.stages))];
    train(['--stages', stages.join(','), '--steps', stages.map((s) => `${s}=${s === 'cycle-rl' ? 3 : 7}`).join(','), ...common(seed),
      ...(init ? ['--init', init] : []), '--out', calib, '--force']);
    perStep = stepSeconds(calib);
    console.error(`seed ${seed}: seconds a step ${JSON.stringify(perStep)}`);
  }
  for (const v of variants) {
    const key = `${v.name}#${seed}`;
    if (results[key]) continue;
    const dir = path.join(out, `seed${seed}`, v.name.replace(/[^a-zA-Z0-9]+/g, '-'));
    const steps = stepsOf(v, perStep);
    console.error(`seed ${seed}: ${v.name} ${JSON.stringify(steps)}`);
    const t = train(['--stages', v.stages.join(','), '--steps', Object.entries(steps).map(([s, n]) => `${s}=${n}`).join(','), ...common(seed),
      ...(init ? ['--init', init] : []), ...(v.rl ? ['--rl-layouts', v.rl] : []), ...(v.mix ? ['--mix', v.mix] : []),
      ...(v.lr ? ['--lr', String(v.lr)] : []), ...(v.textWeight ? ['--text-weight', String(v.textWeight)] : []), '--out', dir, '--force']);
    const trainSeconds = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').reduce((s, l) => s + (JSON.parse(l).seconds ?? 0), 0);
    results[key] = { variant: v.name, seed, steps, trainSeconds, wall: t.wall, ...measure(path.join(dir, 'model')) };
    save();
  }
}

const real = eg.train.evalRealL2i(heldout);
const keys = ['AP', 'AP50', 'AP75', 'cycleIou', 'acc50', 'acc75', 'mAcc', 'named'];
const stat = (xs) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
const date = new Date().toISOString().slice(0, 10);
const base = values.study === 'mix' ? 'from scratch' : values['trunk-model'] ? `from the trunk \`${values['trunk-model']}\`` : `from a shared PMTP trunk of ${trunk} steps per seed`;
const lines = [
  `# EchoGen ablation (${values.study}) on the scene world (${date})`,
  '',
  `Machine: ${require('os').cpus()[0]?.model ?? 'unknown CPU'}, ${require('os').cpus().length} cores. Command: \`node scripts/ablation.js ${process.argv.slice(2).join(' ')}\``,
  '',
  `Preset \`${values.preset}\`, seeds ${seeds.join(', ')}; every variant ${base}, then ${seconds !== null ? `${seconds} s of training (steps from each stage's measured seconds a step)` : `${budget} optimiser steps`}.`,
  ...(values.study === 'stages' ? [`A continues PMTP at DJO's peak learning rate (${eg.train.defaultConfig(values.preset).lr.djo}), not PMTP's own, which would be a warm restart of the trained trunk.`] : []),
  `${nEval} held-out layouts (world test split, seed 777), greedy generation. Percentages, mean ± sample std over seeds.`,
  `Real-render upper bound on the same layouts: AP ${(100 * real.AP).toFixed(2)}. named = the predicted box is closest to the named object (2+ object scenes).`,
  '',
  `| variant | ${keys.join(' | ')} | steps | train s |`,
  `|---|${keys.map(() => '---').join('|')}|---|---|`,
];
for (const v of variants) {
  const rs = seeds.map((s) => results[`${v.name}#${s}`]).filter(Boolean);
  if (!rs.length) continue;
  lines.push(`| ${v.name} | ${keys.map((k) => stat(rs.map((r) => r[k]))).join(' | ')} | ${JSON.stringify(rs[0].steps).replace(/[{}"]/g, '')} | ${(rs.reduce((s, r) => s + r.trainSeconds, 0) / rs.length).toFixed(0)} |`);
}
const file = path.join(root, 'bench', 'results', `ablation-${values.study}-${date}.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
console.log(lines.join('\n'));
console.error(`wrote ${file}`);
