#!/usr/bin/env node
// Profile of one training step of the `small` preset (as `echogen train --preset small` sets it up:
// EchoGen dim 128, 4 layers, geometry + layout map, B=8 PMTP scenes, AdamW betas 0.9/0.95 wd 0.01,
// clip 1). Every exported kernel wrapper (lib/kernels/*) is wrapped with process.hrtime
// accumulation, so each op family gets its wall time and call count (N-API entry + native work);
// the rest of the step is JS (tape, module code, tensor wrappers, GC). process.resourceUsage() gives
// user/sys CPU time, page faults and context switches over the measured steps.
//   node bench/profile/step_profile.js [--steps N] [--warmup N] [--batch B] [--no-wrap] [--json out.json]
//     [--real]  (the step `echogen train` runs: the preset with every flag, pmtpStep on B fresh world scenes of 1-4
//                objects rendered and VQ-encoded each step, the readout and patch-box losses; codebook random)
//     [--model-flags FLAG=true|false,...]  (the small preset with these model flags changed)
//     [--dist DIR]  (another build's dist/, e.g. a worktree's, for an A/B of a change)
//     [--shapes]  (GEMM calls timed per operand shapes, with a GFLOP/s column)
//     [--fused-mlp]  (the MLP through ops.biasGelu: fc's product without bias, then the fused bias+GELU;
//                     measured no faster than Linear + ops.gelu, docs/profile.md, so lib/nn/mlp.ts keeps the latter)
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const flag = (name) => args.includes(name);
const STEPS = opt('--steps', 5), WARMUP = opt('--warmup', 2), B = opt('--batch', 8);
const DIST = args.includes('--dist') ? path.resolve(args[args.indexOf('--dist') + 1]) : path.join(__dirname, '..', '..', 'dist');
// --model-flags refNeighbours=true,...: the small preset with these flags changed (as `echogen train --model-flags`)
const FLAGS = {};
if (args.includes('--model-flags')) {
  for (const kv of args[args.indexOf('--model-flags') + 1].split(',')) {
    const [k, v] = kv.split('=');
    if (v !== 'true' && v !== 'false') throw new RangeError(`--model-flags: ${kv} must be FLAG=true or FLAG=false`);
    FLAGS[k] = v === 'true';
  }
}

const FAMILY = [
  [/^(matmul|linear|bmm|gemm)/i, 'GEMM (linear, matmul)'],
  [/^(packedAttention|attention)/i, 'attention (fused fwd/bwd)'],
  [/^layerNorm/i, 'layer norm'],
  [/gelu|^unary/i, 'GELU (unary / biasGelu, fwd+bwd)'],
  [/^(slice|permute|concat)/i, 'layout copies (qkv slice, head permute)'],
  [/^(binary|affine|axpy|sumToShape|sumLastDim|expandLastDim|fill|zeros)/i, 'elementwise, bias grads, grad accumulation'],
  [/^(embedding|gatherRows|scatter|indexAdd)/i, 'embedding / gather'],
  [/^(crossEntropy|logSoftmax|softmax)/i, 'cross-entropy / softmax'],
  [/^adamw/i, 'AdamW'],
  [/^(sumSquares|norm|gradNorm|clip)/i, 'clip (grad norm)'],
];
const familyOf = (name) => (FAMILY.find(([re]) => re.test(name)) || [null, 'other (handles, misc.)'])[1];

const acc = new Map();  // op name (with --shapes, a GEMM's name and operand shapes) -> { ms, calls }
const SHAPES = flag('--shapes');
// 'matmul [8,626,32]x[8,32,626] {"transB":true}': the name, each tensor operand's shape, the options
// one call's FLOPs, as train_step counts them
const { gemmFlops, linearFlops } = require('../lib/flop_count');
const callFlops = (name, a) => (name === 'linear' ? linearFlops(a[0], a[1]) : gemmFlops(a[0], a[1], a[2] || {}));
const flopsOf = new Map();  // shape key -> FLOPs of one call
function shapeKey(name, a) {
  const key = shapeKeyOf(name, a);
  if (!flopsOf.has(key)) flopsOf.set(key, callFlops(name, a));
  return key;
}
function shapeKeyOf(name, a) {
  return [name, a.filter((x) => x && x.shape).map((x) => `[${x.shape}]`).join('x'),
    ...a.filter((x) => x && !x.shape && typeof x === 'object').map((x) => JSON.stringify(x))].join(' ');
}
function wrapModule(mod) {
  for (const [name, fn] of Object.entries(mod)) {
    if (typeof fn !== 'function' || /Async$/.test(name) || /^[A-Z]/.test(name)) continue;
    const desc = Object.getOwnPropertyDescriptor(mod, name);
    if (!desc || !desc.writable) continue;
    mod[name] = function wrapped(...a) {
      const t0 = process.hrtime.bigint();
      try { return fn.apply(this, a); } finally {
        const key = SHAPES && /^(matmul|linear)$/.test(name) ? shapeKey(name, a) : name;
        const e = acc.get(key) || { ms: 0, calls: 0 };
        e.ms += Number(process.hrtime.bigint() - t0) / 1e6;
        e.calls++;
        acc.set(key, e);
      }
    };
  }
}
if (!flag('--no-wrap')) {
  for (const f of fs.readdirSync(path.join(DIST, 'kernels'))) {
    if (!f.endsWith('.js') || f === 'index.js' || f === 'op.js') continue;
    wrapModule(require(path.join(DIST, 'kernels', f)));
  }
}
const eg = require(DIST);
if (flag('--fused-mlp')) {
  eg.nn.Mlp.prototype.forward = function forward(x) { return this.proj.forward(eg.ops.biasGelu(eg.ops.linear(x, this.fc.weight), this.fc.bias)); };
}
const step = require('../suites/train_step.js').__test;

function main() {
  const model = step.buildModel(eg, eg.model.withFlags(eg.model.presets.small, FLAGS));
  const { batch } = step.buildBatch(eg, model, B);
  const o = new eg.optim.AdamW(model.parameters(), { lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.01 });
  let i = 0;
  const rng = new eg.train.TrainRng(5);
  const run = flag('--real')
    ? () => eg.tidy(() => {
      o.zeroGrad();
      const r = eg.train.pmtp(model, eg.train.trainExamples(model.vq, B, 0, 3000 + i++, { maxObjects: 4 }), rng);
      eg.ops.backward(r.loss);
      eg.optim.clipGradNorm(model.parameters(), 1);
      o.step();
    })
    : step.echogenStep(eg, model, o, batch);
  for (let i = 0; i < WARMUP; i++) run();
  acc.clear();
  const ru0 = process.resourceUsage(), t0 = process.hrtime.bigint();
  const per = [], cpu = [];
  for (let i = 0; i < STEPS; i++) {
    const s = process.hrtime.bigint(), c = process.cpuUsage();
    run();
    per.push(Number(process.hrtime.bigint() - s) / 1e6);
    const dc = process.cpuUsage(c);
    cpu.push((dc.user + dc.system) / 1e3);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const ru1 = process.resourceUsage();
  const d = (k) => ru1[k] - ru0[k];
  const fam = new Map();
  for (const [name, e] of acc) {
    const f = familyOf(name);
    const x = fam.get(f) || { ms: 0, calls: 0, ops: [] };
    x.ms += e.ms; x.calls += e.calls; x.ops.push(`${name} ${e.calls / STEPS}`);
    fam.set(f, x);
  }
  const kernelMs = [...fam.values()].reduce((s, x) => s + x.ms, 0);
  const out = {
    date: new Date().toISOString(), load: os.loadavg()[0], steps: STEPS, batch: B, T: batch.length,
    stepMs: { min: Math.min(...per), median: per.sort((a, b) => a - b)[per.length >> 1], mean: wall / STEPS },
    // CPU time (user + sys, all threads) of each step: the load on the machine stretches the wall time far more than this
    stepCpuMs: { min: Math.min(...cpu), median: cpu.sort((a, b) => a - b)[cpu.length >> 1] },
    perStep: {
      userMs: d('userCPUTime') / 1e3 / STEPS, sysMs: d('systemCPUTime') / 1e3 / STEPS,
      minorFaults: d('minorPageFault') / STEPS, majorFaults: d('majorPageFault') / STEPS,
      voluntaryCtx: d('voluntaryContextSwitches') / STEPS, involuntaryCtx: d('involuntaryContextSwitches') / STEPS,
    },
    families: [...fam.entries()].map(([f, x]) => ({ family: f, msPerStep: x.ms / STEPS, callsPerStep: x.calls / STEPS, share: x.ms / wall, ops: x.ops }))
      .sort((a, b) => b.msPerStep - a.msPerStep),
    jsMsPerStep: (wall - kernelMs) / STEPS,
    memory: eg.memoryStats ? eg.memoryStats() : undefined,
  };
  const j = args.indexOf('--json');
  if (j >= 0) fs.writeFileSync(args[j + 1], JSON.stringify(out, null, 1));
  console.log(`small B=${B} T=${batch.length}: step min ${out.stepMs.min.toFixed(1)} ms, median ${out.stepMs.median.toFixed(1)} ms, mean ${out.stepMs.mean.toFixed(1)} ms (load ${out.load.toFixed(1)}); CPU time a step min ${out.stepCpuMs.min.toFixed(0)} ms, median ${out.stepCpuMs.median.toFixed(0)} ms`);
  console.log(`per step: user ${out.perStep.userMs.toFixed(0)} ms, sys ${out.perStep.sysMs.toFixed(0)} ms, minor faults ${out.perStep.minorFaults.toFixed(0)}, ctx switches vol ${out.perStep.voluntaryCtx.toFixed(0)} / invol ${out.perStep.involuntaryCtx.toFixed(0)}`);
  for (const f of out.families) console.log(`  ${f.family.padEnd(30)} ${f.msPerStep.toFixed(1).padStart(8)} ms ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.callsPerStep} calls  [${f.ops.join(', ')}]`);
  if (SHAPES) {
    const rows = [...acc.entries()].filter(([k]) => flopsOf.has(k)).sort((x, y) => y[1].ms - x[1].ms);
    const gf = rows.reduce((t, [k, e]) => t + flopsOf.get(k) * e.calls / STEPS, 0) / 1e9;
    console.log(`    GEMM work a step: ${gf.toFixed(2)} GFLOP in ${(rows.reduce((t, [, e]) => t + e.ms, 0) / STEPS).toFixed(1)} ms`);
    for (const [k, e] of rows) console.log(`    ${k.padEnd(60)} ${(e.ms / STEPS).toFixed(2).padStart(7)} ms ${String(e.calls / STEPS).padStart(3)} calls ${(flopsOf.get(k) * e.calls / e.ms / 1e6).toFixed(0).padStart(4)} GFLOP/s`);
  }
  console.log(`  ${'JS (tape, modules, wrappers, GC)'.padEnd(30)} ${out.jsMsPerStep.toFixed(1).padStart(8)} ms`);
  o.dispose();
  eg.model.disposeBatch(batch);
  model.dispose();
}
main();
