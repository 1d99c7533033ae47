// One PMTP training step of the EchoGen decoder (forward, backward, global-norm clipping, AdamW) on
// a fixed batch, against the same model in PyTorch on the CPU (bench/peers/torch/train_step.py, a
// long-lived child process; rounds of echogen and PyTorch steps alternate, so both see the same load)
// and, with BENCH_TFJS=1, the same model written with @tensorflow/tfjs (bench/peers/tfjs_echogen.js).
// The batch is B scenes of the world as PMTP sequences with random image codes, padded to the
// longest; tokens/s = B * padded length / step time. Each tfjs backend runs in its own child process (the wasm module starts once per process, and its worker threads
// must not compete with echogen's pool) from echogen's initial weights, so the first steps' losses
// of both implementations can be compared before the timing starts.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const PEER = path.join(__dirname, '..', 'peers', 'tfjs_echogen.js');
// lib/train's defaults: AdamW betas (0.9, 0.95), weight decay 0.01, clip at norm 1
const HYPER = { lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.01, clip: 1 };

/** A model of a preset name or a ModelShape, with a fixed random codebook (the step never runs the VQ tokenizer). */
function buildModel(eg, preset) {
  const p = typeof preset === 'string' ? eg.model.presets[preset] : preset;
  const rng = new eg.data.Rng(11);
  const D = 3 * p.patchSize * p.patchSize;
  const book = eg.tensor(Float32Array.from({ length: p.codebookSize * D }, () => rng.float()), [p.codebookSize, D]);
  const vq = new eg.model.PatchVq({ imageSize: p.imageSize, patchSize: p.patchSize, codebookSize: p.codebookSize }, book);
  return eg.model.EchoGen.create(p, { words: eg.data.VOCAB, vq, seed: 1 });
}

/** B world scenes as PMTP sequences (segment mask and both heads' rows) with random image codes. */
function buildBatch(eg, model, B) {
  const rng = new eg.data.Rng(23);
  const n = model.vq.tokensPerImage;
  const seqs = eg.data.generateScenes(B, 'train', 5).map((s) =>
    eg.model.pmtpSequence(model.vocab, s.layout, Int32Array.from({ length: n }, () => rng.int(0, model.config.codebookSize - 1))));
  // model.collate adds the layout map when the model has one (the small preset)
  return { batch: model.collate(seqs), realTokens: seqs.reduce((s, q) => s + q.ids.length, 0) };
}

/** The training step as lib/train runs it, on the fixed batch; returns [image loss, text loss]. */
function echogenStep(eg, model, opt, batch) {
  const params = model.parameters();
  return () => eg.tidy(() => {
    opt.zeroGrad();
    const { image, text } = model.loss(batch);
    const read = [image.item(), text.item()];
    eg.ops.backward(eg.ops.add(image, text));
    eg.optim.clipGradNorm(params, HYPER.clip);
    opt.step();
    return read;
  });
}

function peerConfig(model) {
  const c = model.config;
  return {
    dim: c.dim, layers: c.layers, heads: c.heads, mlpRatio: c.mlpRatio, maxPositions: c.maxPositions,
    vocabSize: model.vocab.size, textSize: model.vocab.textSize, codebookSize: c.codebookSize, ...HYPER, seed: 1,
  };
}

/** Runs the tfjs peer in a child process; resolves to its result or { error }. */
function runPeer(spec, input, config, timing, timeoutMs) {
  const out = path.join(path.dirname(input), `${spec.impl}.json`);
  const args = [PEER, '--backend', spec.backend, '--threads', String(spec.threads), '--input', input, '--config', JSON.stringify(config),
    '--out', out, '--max-time', String(timing.maxTime), '--min-samples', String(timing.minSamples), '--verify-steps', String(timing.verifySteps)];
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, maxBuffer: 16 << 20 });
    return JSON.parse(fs.readFileSync(out, 'utf8'));
  } catch (e) {
    // the child's own message, without the stack frames or tfjs's banner
    const lines = e.stderr ? String(e.stderr).split('\n').filter((l) => l.trim() && !/^\s+at |^=+$|looks like you are running|tfjs-node/.test(l)) : [];
    const why = e.signal === 'SIGTERM' ? `timed out after ${timeoutMs / 1000} s` : `exit code ${e.status}`;
    return { error: `${why}${lines.length ? `: ${lines[lines.length - 1]}` : ''}` };
  }
}

const fmtLoss = (l) => l.map((x) => x.toFixed(5)).join('/');
const load = () => os.loadavg()[0].toFixed(1);


/**
 * The model FLOPs of one step (2 per multiply-add; backward = 2x forward): the linear layers over
 * all B*T rows, the heads over their marked rows, and the attention products QK^T and PV over the
 * causal half of T x T (the work the model needs; dense = true counts the full T x T, what PyTorch's
 * masked dense attention computes).
 */
function stepFlops(model, batch, dense = false) {
  const c = model.config, B = batch.batch, T = batch.length, D = c.dim, hidden = Math.round(D * c.mlpRatio);
  const rows = B * T;
  const perLayer = 2 * rows * (3 * D * D + D * D + 2 * D * hidden) + 2 * 2 * B * (dense ? T * T : T * (T + 1) / 2) * D;
  const heads = 2 * batch.imageCount * D * c.codebookSize + 2 * batch.textCount * D * model.vocab.textSize;
  // the layout map's linear (its features to D at every row; geometry's are table-sized); the preset's other parts are
  // left to the count at the kernels (bench/lib/flop_count.js)
  const extra = (model.layoutMap ? 2 * rows * model.layoutMap.weight.shape[1] * D : 0);
  return 3 * (c.layers * perLayer + heads + extra);
}

async function timeEchogen(step, n, cpu) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    step();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const dc = process.cpuUsage(c0);
    cpu.push((dc.user + dc.system) / 1e3);
    await new Promise(setImmediate);  // let the event loop breathe (GC of dead wrappers)
  }
  return ms;
}

const f3 = (x) => x.toPrecision(4);

/**
 * echogen against the PyTorch peer on `shape` (geometry and layout map off: the peer's model) at
 * batch B, alternating rounds; with torch === false echogen alone (the preset as the trainer runs it).
 */
async function runCase(ctx, name, shape, B, { torch = true, rounds, perRound, torchThreads = [os.cpus().length, 1] }) {
  const { eg } = ctx;
  const model = buildModel(eg, shape);
  const { batch, realTokens } = buildBatch(eg, model, B);
  const T = batch.length, tokens = B * T;
  const label = `${name} B=${B} T=${T}`;
  const formula = stepFlops(model, batch), denseFlops = stepFlops(model, batch, true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-train-step-'));
  const peers = [];
  try {
    const opt = new eg.optim.AdamW(model.parameters(), { lr: HYPER.lr, betas: HYPER.betas, eps: HYPER.eps, weightDecay: HYPER.weightDecay });
    const checks = [];
    const losses = [];
    if (torch && tPy) {
      // the peer reads the initial weights and the batch before echogen's first step moves them
      const input = path.join(dir, 'input.safetensors');
      const tensors = {};
      for (const [n, t] of Object.entries(model.stateDict())) tensors[`param.${n}`] = t;
      for (const k of ['ids', 'pos', 'mask', 'imageRows', 'imageTargets', 'textRows', 'textTargets']) if (batch[k]) tensors[`batch.${k}`] = batch[k];
      eg.model.writeSafetensors(input, tensors);
      for (const threads of torchThreads) {
        try {
          const p = await torchLib.start('train_step.py', ['--input', input, '--config', JSON.stringify(peerConfig(model)), '--verify-steps', '3'], { threads });
          peers.push(Object.assign(p, { impl: `pytorch (${threads} thr)`, ms: [], cpu: [] }));
        } catch (e) {
          checks.push(`${label}: the PyTorch peer with ${threads} thread(s) did not start: ${e.message}`);
        }
      }
    }
    const step = echogenStep(eg, model, opt, batch);
    for (let s = 0; s < 3; s++) losses.push(step());
    // the model FLOPs of a step, counted at the kernels (a fourth step, after the steps the peers verify): the formula
    // covers the plain decoders, not the preset's readout, patch-box heads and neighbourhood (about 10 % more work)
    const counted = countKernelFlops(step), flops = counted.total;
    const agree = `${(100 * (counted.total / formula - 1)).toFixed(2)} %`;
    checks.push(`${label}: ${model.numParameters()} parameters, ${realTokens} real tokens of ${tokens} (padding ${(100 * (1 - realTokens / tokens)).toFixed(0)}%), ` +
      `${batch.imageCount} image-code rows, ${batch.textCount} box-token rows; ${(flops / 1e9).toFixed(2)} GFLOP a step counted at the kernels ` +
      `(GEMM ${(counted.gemm / 1e9).toFixed(2)}, attention ${(counted.attention / 1e9).toFixed(2)}, causal); the decoder's formula ${(formula / 1e9).toFixed(2)} (count - formula: ${agree}; ` +
      `${(denseFlops / 1e9).toFixed(2)} counting the full T x T); echogen losses (image/text), first 3 steps: ${losses.map(fmtLoss).join(', ')}`);
    for (const peer of peers) {
      const r = peer.first;
      const diff = Math.max(...r.losses.flatMap((l, s) => l.map((x, j) => Math.abs(x - losses[s][j]))));
      const diff0 = Math.max(...r.losses[0].map((x, j) => Math.abs(x - losses[0][j])));
      checks.push(`${peer.impl}, PyTorch ${r.torch} (${r.threads} threads): ${r.params} parameters (${r.params === model.numParameters() ? 'equal' : 'DIFFERENT'}); from echogen's weights: ` +
        `${r.losses.map(fmtLoss).join(', ')}; first step |diff| ${diff0.toExponential(1)} (${diff0 <= 1e-4 ? 'agrees to 1e-4' : 'DISAGREES'}), max over 3 steps ${diff.toExponential(1)}`);
    }
    const mine = [], loads = [], mineCpu = [];
    for (let r = 0; r < rounds; r++) {
      loads.push(os.loadavg()[0]);
      mine.push(...await timeEchogen(step, perRound, mineCpu));
      for (const peer of peers) {
        const res = await peer.ask(`steps ${perRound}`);
        peer.ms.push(...res.ms);
        peer.cpu.push(...res.cpu);
      }
    }
    loads.push(os.loadavg()[0]);
    const loadNote = `load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}`;
    const a = torchLib.stats(mine);
    ctx.fmaPeakGflops(); // the report derives "% FMA peak" (wall) and "% peak, CPU time / threads" from the run's best probe
    const cpuA = torchLib.stats(mineCpu);
    const threads = eg.buildInfo().threads;
    console.log(`  echogen ${label.padEnd(40)} min ${f3(a.min)} ms, median ${f3(a.median)} ms (${a.n} steps)`);
    ctx.record({ case: label, impl: 'echogen', ms: a.min, samples: a.n, flops, cpuMs: cpuA.min / threads,
      note: `min; median ${f3(a.median)} ms; ${(tokens / (a.min / 1e3)).toFixed(0)} tokens/s at the min; CPU time a step min ${f3(cpuA.min)} ms (all ${threads} threads); ${loadNote}` });
    for (const peer of peers) {
      const b = torchLib.stats(peer.ms);
      console.log(`  ${peer.impl} ${label.padEnd(40)} min ${f3(b.min)} ms, median ${f3(b.median)} ms (${b.n} steps)`);
      const cpuB = torchLib.stats(peer.cpu);
      ctx.record({ case: label, impl: peer.impl, ms: b.min, samples: b.n, flops,
        note: `min; median ${f3(b.median)} ms; ${(tokens / (b.min / 1e3)).toFixed(0)} tokens/s at the min; CPU time a step min ${f3(cpuB.min)} ms (all threads); ${loadNote}` });
      checks.push(`${label}: ${peer.impl} / echogen = ${(b.min / a.min).toFixed(2)}x (min wall), ${(b.median / a.median).toFixed(2)}x (median wall), ` +
        `${(cpuB.min / cpuA.min).toFixed(2)}x (min CPU time); ${rounds} alternating rounds of ${perRound} steps each, ${loadNote}`);
    }
    checks.forEach((c) => ctx.note(c));
    opt.dispose();
  } finally {
    for (const peer of peers) peer.close();
    eg.model.disposeBatch(batch);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const torchLib = require('../lib/torch');
const { countKernelFlops } = require('../lib/flop_count');
let tPy = null;

/** The tfjs comparison of 2026-11-22 (BENCH_TFJS=1): benchmark.js means, peers after echogen. */
async function runTfjs(ctx, preset, B, peers) {
  const { eg } = ctx;
  const model = buildModel(eg, preset);
  const { batch } = buildBatch(eg, model, B);
  const label = `tfjs comparison: ${typeof preset === 'string' ? preset : 'shape'} B=${B} T=${batch.length}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-train-step-'));
  try {
    const input = path.join(dir, 'input.safetensors');
    const tensors = {};
    for (const [name, t] of Object.entries(model.stateDict())) tensors[`param.${name}`] = t;
    for (const k of ['ids', 'pos', 'mask', 'imageRows', 'imageTargets', 'textRows', 'textTargets']) if (batch[k]) tensors[`batch.${k}`] = batch[k];
    eg.model.writeSafetensors(input, tensors);
    const timing = { maxTime: 10, minSamples: 3, verifySteps: 2 };
    const opt = new eg.optim.AdamW(model.parameters(), { lr: HYPER.lr, betas: HYPER.betas, eps: HYPER.eps, weightDecay: HYPER.weightDecay });
    const mine = await ctx.time(`echogen ${label}`, echogenStep(eg, model, opt, batch), timing);
    ctx.record({ case: label, impl: 'echogen', ms: mine.ms, rme: mine.rme, samples: mine.samples, note: `mean; load ${load()}` });
    for (const spec of peers) {
      const r = runPeer(spec, input, peerConfig(model), timing, 30 * 60e3);
      if (r.error) { ctx.note(`${spec.impl} did not run: ${r.error}`); continue; }
      ctx.record({ case: label, impl: spec.impl, ms: r.ms, rme: r.rme, samples: r.samples, note: `mean; load ${load()}` });
    }
    opt.dispose();
  } finally {
    eg.model.disposeBatch(batch);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = {
  name: 'train_step',
  async run(ctx) {
    const { eg } = ctx;
    if (ctx.setTiming) ctx.setTiming('min (and median) per step over alternating rounds of echogen and PyTorch steps, wall clock (hrtime / perf_counter), CPU time in the notes');
    const cores = os.cpus().length;
    const py = torchLib.python();
    tPy = py;
    if (!py) ctx.note('PyTorch is not installed here (sh bench/setup-torch.sh installs Debian\'s python3-torch): echogen rows only.');
    const small = eg.model.presets.small;
    // the small preset's decoder without its layout additions and auxiliary tasks (what the PyTorch peer models), and the
    // issue's plain decoder: every on/off component of the preset off (eg.model.MODEL_FLAGS), so a flag added later
    // cannot leave the peers comparing different models
    const off = Object.fromEntries(eg.model.MODEL_FLAGS.map((f) => [f, false]));
    const smallPlain = eg.model.withFlags(small, off);
    const plain256 = eg.model.withFlags({ ...small, dim: 256, heads: 8 }, off);
    const t = ctx.quick ? { rounds: 2, perRound: 2 } : { rounds: Number(process.env.BENCH_TRAIN_ROUNDS || 3), perRound: 2 };
    const only = process.env.BENCH_TRAIN_CASES ? process.env.BENCH_TRAIN_CASES.split(',') : null;
    const cases = [
      ['small-plain', smallPlain, 8, {}], ['small-plain', smallPlain, 16, {}],
      ['plain-256', plain256, 8, {}], ['plain-256', plain256, 16, {}],
      ['small (preset)', 'small', 8, { torch: false }], ['small (preset)', 'small', 16, { torch: false }],
    ].filter(([n, , B]) => !only || only.includes(`${n}:${B}`) || only.includes(n));
    for (const [name, shape, B, o] of ctx.quick ? cases.slice(0, 1) : cases) await runCase(ctx, name, shape, B, { ...t, ...o });
    if (process.env.BENCH_TFJS === '1') await runTfjs(ctx, smallPlain, 8, [{ impl: 'tfjs-wasm-1thread', backend: 'wasm', threads: 1 }]);
    ctx.note(`A step = forward, backward, global-norm clip to 1, AdamW (lr 1e-3, betas 0.9/0.95, eps 1e-8, wd 0.01 on every parameter), reading both losses ` +
      `(and PyTorch its clip norm) back, as lib/train does; the collated batch is built once, outside the timing. Timing: ${t.rounds} rounds, each ${t.perRound} echogen steps ` +
      `then ${t.perRound} steps of each PyTorch peer (long-lived child processes, torch.set_num_threads(${cores}) and (1); echogen's pool has ${eg.buildInfo().threads} threads), ` +
      'min and median per step over all rounds. ms = the min; "vs echogen" = PyTorch min / echogen min. PyTorch with 1 thread is listed because on a loaded ' +
      'machine its OpenMP regions wait for descheduled threads; the goal ratio is against the faster PyTorch row.');
    ctx.note('small-plain = the small preset\'s decoder (dim 128, 4 layers, 4 heads, mlp 4x, K 2048) with geometry, layoutMap, patchPixels and refReadout off, the model both ' +
      'implementations run; plain-256 = the issue\'s plain decoder (dim 256, 8 heads, otherwise the same). small (preset) = the preset as `echogen train` ' +
      'builds it (geometry encoding, coordinate pointer and layout map on), echogen only: the PyTorch peer does not model those parts.');
    ctx.note('PyTorch peer (bench/peers/torch/train_step.py): F.linear, F.layer_norm, matmul + softmax attention with an additive -1e9 causal+segment mask ' +
      '(torch 1.13 has no fused scaled_dot_product_attention), F.gelu(approximate="tanh") as echogen\'s kernel, F.cross_entropy, clip_grad_norm_, ' +
      'torch.optim.AdamW(foreach=True). % of peak: the step\'s model FLOPs with causal attention (every GEMM and attention product of one step, counted at the kernel wrappers by bench/lib/flop_count.js; for the plain decoders the same as the formula stepFlops) / time / the best fmaPeak probe of this run (its CPU-time figure); "% peak, CPU time / threads" divides by the step\'s CPU time / threads instead (what a quiet machine would give with perfect scaling).');
    ctx.note('The load column is the 1-minute load average over the case\'s rounds: the machine has 2 cores shared with other jobs.');
  },
};

// for bench/profile/step_profile.js: the same model, batch and step
module.exports.__test = { buildModel, buildBatch, echogenStep, stepFlops, HYPER };
