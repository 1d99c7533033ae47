#!/usr/bin/env node
// The EchoGen ablation on the scene world at an equal budget (docs/design.md section 6, issue 6):
// per seed, one shared PMTP trunk, then the same number of further optimiser steps spent as
//   A  PMTP only                 (--stages pmtp)
//   B  +DJO                      (--stages djo)
//   C  +DJO +Cycle RL            (--stages djo,cycle-rl, half the steps each), with real, random
//                                 and template RL layouts
// Every variant is measured on the same held-out layouts: L2I AP/AP50/AP75 (detector on the
// generated images), cycle IoU, grounding Acc@0.5/Acc@0.75/mAcc on the world's renders.
// Writes bench/results/ablation-<date>.md (mean +- std over seeds) and a JSON of every run.
//
//   node scripts/ablation.js [--seeds 0,1,2] [--trunk 200] [--budget 80] [--eval 100] [--preset tiny] [--out runs/ablation]
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');

const root = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    trunk: { type: 'string', default: '200' },
    budget: { type: 'string', default: '80' },
    eval: { type: 'string', default: '100' },
    preset: { type: 'string', default: 'tiny' },
    out: { type: 'string', default: 'runs/ablation' },
    only: { type: 'string' },
  },
});
const seeds = values.seeds.split(',').map(Number);
const trunk = Number(values.trunk), budget = Number(values.budget), nEval = Number(values.eval);
const out = path.resolve(root, values.out);
fs.mkdirSync(out, { recursive: true });
const cli = path.join(root, 'bin', 'echogen.js');
const eg = require(path.join(root, 'index.js'));

function run(args) {
  const t0 = Date.now();
  const text = execFileSync(process.execPath, [cli, ...args, '--json'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const lines = text.trim().split('\n');
  return { ...JSON.parse(lines[lines.length - 1]), wall: (Date.now() - t0) / 1000 };
}

const heldout = path.join(out, 'heldout.jsonl');
if (!fs.existsSync(heldout)) eg.data.writeLayouts(heldout, eg.data.generateScenes(nEval, 'test', 777).map((s) => s.layout));

const variants = [
  { name: 'A: PMTP', stages: 'pmtp', steps: `pmtp=${budget}` },
  { name: 'B: +DJO', stages: 'djo', steps: `djo=${budget}` },
  { name: 'C: +DJO +Cycle RL (real)', stages: 'djo,cycle-rl', steps: `djo=${budget / 2},cycle-rl=${budget / 4}`, rl: 'real' },
  { name: 'C: +DJO +Cycle RL (random)', stages: 'djo,cycle-rl', steps: `djo=${budget / 2},cycle-rl=${budget / 4}`, rl: 'random' },
  { name: 'C: +DJO +Cycle RL (template)', stages: 'djo,cycle-rl', steps: `djo=${budget / 2},cycle-rl=${budget / 4}`, rl: 'template' },
].filter((v) => !values.only || values.only.split(',').some((o) => v.name.includes(o)));

const resultsFile = path.join(out, 'results.json');
const results = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : {};
const save = () => fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2));

function measure(dir) {
  const l2i = run(['eval', 'l2i', '--layouts', heldout, '--checkpoint', dir, '--seed', '1']);
  const gr = run(['eval', 'ground', '--layouts', heldout, '--checkpoint', dir]);
  return { AP: l2i.AP, AP50: l2i.AP50, AP75: l2i.AP75, cycleIou: l2i.cycleIou, acc50: gr.acc50, acc75: gr.acc75, mAcc: gr.mAcc };
}

for (const seed of seeds) {
  const trunkDir = path.join(out, `seed${seed}`, 'trunk');
  if (!fs.existsSync(path.join(trunkDir, 'model', 'config.json'))) {
    console.error(`seed ${seed}: PMTP trunk, ${trunk} steps`);
    run(['train', '--stages', 'pmtp', '--preset', values.preset, '--steps', String(trunk), '--seed', String(seed), '--out', trunkDir]);
  }
  for (const v of variants) {
    const key = `${v.name}#${seed}`;
    if (results[key]) continue;
    const dir = path.join(out, `seed${seed}`, v.name.replace(/[^a-zA-Z]+/g, '-'));
    console.error(`seed ${seed}: ${v.name}`);
    // (C's steps: Cycle RL takes 2 policy updates per rollout, so budget/4 rollouts = budget/2 updates.)
    const t = run(['train', '--stages', v.stages, '--preset', values.preset, '--steps', v.steps, '--seed', String(seed), '--init', path.join(trunkDir, 'model'), '--out', dir, ...(v.rl ? ['--rl-layouts', v.rl] : [])]);
    results[key] = { variant: v.name, seed, trainSeconds: t.seconds, ...measure(path.join(dir, 'model')) };
    save();
  }
}

// Real-render upper bound on the same layouts.
const real = run(['eval', 'l2i', '--real', '--layouts', heldout]);

const keys = ['AP', 'AP50', 'AP75', 'cycleIou', 'acc50', 'acc75', 'mAcc'];
const stat = (xs) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${(100 * m).toFixed(2)} ± ${(100 * sd).toFixed(2)}`;
};
const date = new Date().toISOString().slice(0, 10);
const lines = [
  `# EchoGen ablation on the scene world (${date})`,
  '',
  `Preset \`${values.preset}\`, seeds ${seeds.join(', ')}; a shared PMTP trunk of ${trunk} steps per seed, then ${budget} further optimiser steps per variant`,
  `(C: ${budget / 2} DJO steps + ${budget / 4} Cycle RL rollouts x 2 policy updates, G = 8). ${nEval} held-out (test split) layouts.`,
  'Numbers are percentages, mean ± sample std over seeds. AP: COCO AP of the world\'s detector on the generated images;',
  'cycle IoU: grounding each expression in the model\'s own image; Acc: grounding on the world\'s renders (Ref-L4, IoU > t).',
  `Real-render upper bound (detector on the world's own renders of the same layouts): AP ${(100 * real.AP).toFixed(2)}, AP50 ${(100 * real.AP50).toFixed(2)}, AP75 ${(100 * real.AP75).toFixed(2)}.`,
  '',
  `| variant | ${keys.join(' | ')} | train s |`,
  `|---|${keys.map(() => '---').join('|')}|---|`,
];
for (const v of variants) {
  const rs = seeds.map((s) => results[`${v.name}#${s}`]).filter(Boolean);
  if (!rs.length) continue;
  lines.push(`| ${v.name} | ${keys.map((k) => stat(rs.map((r) => r[k]))).join(' | ')} | ${(rs.reduce((s, r) => s + r.trainSeconds, 0) / rs.length).toFixed(0)} |`);
}
const file = path.join(root, 'bench', 'results', `ablation-${date}.md`);
fs.writeFileSync(file, lines.join('\n') + '\n');
console.log(lines.join('\n'));
console.error(`wrote ${file}`);
