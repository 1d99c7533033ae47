// `echogen train`: the three stages with progress bars, atomic checkpoints and --resume. Every
// option is checked before any work starts (ranges, the memory a batch needs, a run already in
// --out, a --resume whose options conflict with the run's); SIGINT/SIGTERM finish the step, write
// a checkpoint and exit 130 with the command that resumes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXIT_INTERRUPTED, InputError, MAX_SEED, OptionTable, UsageError, Verb, VerbArgs, intOption, parseIntIn, requireString } from './verb';
import { progress, Progress } from './progress';
import { DEVICE_OPTION, deviceOption } from './shipped';
import { catchInterrupts } from './staging';
import { STAGES, StageName, TrainConfig, TrainStopped, defaultConfig, train } from '../train/trainer';
import { latestCheckpoint } from '../train/checkpoint';
import { parseSchedule, parseTaskMix } from '../train/schedule';
import { LayoutError, readLayoutEntries } from '../data';
import type { LayoutSourceKind } from '../data';
import type { EchoGen, Layout, ModelFlag, PresetName } from '../model';
import { MODEL_FLAGS, checkConfig, presets, withFlags } from '../model';

export const LIMITS = {
  steps: { min: 1, max: 10_000_000 },
  batch: { min: 1, max: 4096 },
  group: { min: 2, max: 64 },
  seed: { min: 0, max: MAX_SEED },
  checkpointEvery: { min: 1, max: 86_400 },
} as const;

/**
 * Resident memory of a training step, measured (peak RSS over PMTP and DJO, 2 threads) and rounded
 * up: tiny 181 MB at batch 8 and 772 MB at batch 64; small 608 MB at batch 2 and 1,517 MB at batch 8.
 */
const MEMORY: Record<PresetName, { base: number; perScene: number }> = {
  tiny: { base: 150e6, perScene: 11e6 },
  small: { base: 350e6, perScene: 155e6 },
};
/** The share of the machine's memory a run may plan to use. */
export const MEMORY_SHARE = 0.8;

/** Estimated peak bytes of a run of `cfg` (the largest of its stages' batches). */
export function estimateTrainBytes(cfg: TrainConfig): number {
  const m = MEMORY[cfg.preset];
  const supervised = cfg.stages.some((s) => s !== 'cycle-rl') ? cfg.batch : 0;
  // Cycle RL holds rlBatch x group sampled sequences (generation plus grounding): about half a scene each.
  const rl = cfg.stages.includes('cycle-rl') ? Math.ceil((cfg.rlBatch * cfg.group) / 2) : 0;
  return m.base + m.perScene * Math.max(supervised, rl);
}

const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;

function parseStages(text: string): StageName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!STAGES.includes(n as StageName)) throw new UsageError(`--stages: unknown stage '${n}' (known: ${STAGES.join(', ')})`);
  if (names.length === 0) throw new UsageError('--stages: name at least one stage');
  return names as StageName[];
}

/** "--steps 300" (every stage) or "--steps pmtp=300,djo=100,cycle-rl=20". */
function parseSteps(text: string, into: Record<StageName, number>): void {
  if (!text.includes('=')) {
    const all = parseIntIn(text, '--steps', LIMITS.steps);
    for (const s of STAGES) into[s] = all;
    return;
  }
  for (const part of text.split(',')) {
    const [name, v] = part.split('=');
    if (!STAGES.includes(name as StageName) || v === undefined) throw new UsageError(`--steps: expected N or stage=N,... (stages: ${STAGES.join(', ')}), got '${text}'`);
    into[name as StageName] = parseIntIn(v, `--steps ${name}`, LIMITS.steps);
  }
}

function numberValue(v: string | boolean | undefined, name: string, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const t = String(v).trim();
  const n = t === '' ? NaN : Number(t);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(String(v))}`);
  return n;
}

/** --model-flags FLAG=true|false,...: overrides of the preset's on/off model components (docs/model.md). */
function parseModelFlags(text: string): Partial<Record<ModelFlag, boolean>> {
  const out: Partial<Record<ModelFlag, boolean>> = {};
  for (const part of text.split(',')) {
    const [name, v, extra] = part.split('=');
    if (!(MODEL_FLAGS as readonly string[]).includes(name) || (v !== 'true' && v !== 'false') || extra !== undefined) {
      throw new UsageError(`--model-flags: expected FLAG=true|false,... (flags: ${MODEL_FLAGS.join(', ')}), got '${part}'`);
    }
    out[name as ModelFlag] = v === 'true';
  }
  return out;
}

/**
 * The training configuration the options describe, on top of `base` (the preset's defaults, or a
 * resumed run's configuration, so that only options given explicitly can differ from it).
 */
export function configFromArgs(values: Record<string, string | boolean | undefined>, base?: TrainConfig): TrainConfig {
  const preset = (values.preset as string | undefined) ?? base?.preset ?? 'tiny';
  if (preset !== 'tiny' && preset !== 'small') throw new UsageError(`--preset must be tiny or small, got '${preset}'`);
  const cfg: TrainConfig = base && base.preset === preset ? JSON.parse(JSON.stringify(base)) as TrainConfig : defaultConfig(preset as PresetName);
  if (typeof values.stages === 'string') cfg.stages = parseStages(values.stages);
  if (typeof values.steps === 'string') parseSteps(values.steps, cfg.steps);
  if (values['rl-layouts'] !== undefined) {
    const src = String(values['rl-layouts']);
    if (!['real', 'random', 'template'].includes(src)) throw new UsageError(`--rl-layouts must be real, random or template, got '${src}'`);
    cfg.rlLayouts = src as LayoutSourceKind;
  }
  const args: VerbArgs = { values, positionals: [] };
  cfg.seed = intOption(args, 'seed', cfg.seed, LIMITS.seed);
  cfg.batch = intOption(args, 'batch', cfg.batch, LIMITS.batch);
  cfg.group = intOption(args, 'group', cfg.group, LIMITS.group);
  cfg.beta = numberValue(values.beta, 'beta', cfg.beta, 0, 100);
  if (values.lr !== undefined) {
    const scale = numberValue(values.lr, 'lr', 1, 1e-9, 1) / cfg.lr.pmtp;
    for (const s of STAGES) cfg.lr[s] *= scale;
  }
  try {
    if (typeof values.tau === 'string') cfg.tau = parseSchedule(values.tau, '--tau');
    if (typeof values.mix === 'string') cfg.mix = parseTaskMix(values.mix);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.hard) cfg.hard = true;
  if (values['loose-scenes'] !== undefined) cfg.looseScenes = numberValue(values['loose-scenes'], 'loose-scenes', 0, 0, 1);
  if (values['text-weight'] !== undefined) cfg.textWeight = numberValue(values['text-weight'], 'text-weight', cfg.textWeight, 0, 100);
  if (values['lr-decay'] !== undefined) cfg.lrDecay = numberValue(values['lr-decay'], 'lr-decay', 1, 0.01, 1);
  if (values['model-flags'] !== undefined) {
    cfg.model = { ...cfg.model, ...parseModelFlags(String(values['model-flags'])) };
    // A combination the model refuses (patchShapes without patchBoxes, say) is a usage error now, not after the tokenizer fit.
    try {
      checkConfig({ ...withFlags(presets[cfg.preset], cfg.model), words: [], seed: 0 }, '');
    } catch (e) {
      throw new UsageError(`--model-flags: ${(e as Error).message}`);
    }
  }
  return cfg;
}

/** The option that sets each configuration field (for naming a --resume conflict). */
const FIELD_OPTION: Partial<Record<keyof TrainConfig, string>> = {
  preset: '--preset', stages: '--stages', steps: '--steps', batch: '--batch', seed: '--seed', lr: '--lr',
  tau: '--tau', mix: '--mix', group: '--group', beta: '--beta', hard: '--hard', rlLayouts: '--rl-layouts', looseScenes: '--loose-scenes',
  textWeight: '--text-weight', model: '--model-flags', lrDecay: '--lr-decay',
};

/** The first field where `asked` differs from the run's `saved` configuration, as a message; null when none. */
export function resumeConflict(saved: TrainConfig, asked: TrainConfig, out: string): string | null {
  for (const key of Object.keys(FIELD_OPTION) as (keyof TrainConfig)[]) {
    const a = JSON.stringify(asked[key]), s = JSON.stringify(saved[key]);
    if (a !== s) return `--resume: ${FIELD_OPTION[key]} asks for ${key} ${a} but the run in ${out} has ${s}; drop the option to resume that run, or train into another --out`;
  }
  return null;
}

/** Files and directories a training run writes into --out (what --force removes). */
function runEntries(out: string): string[] {
  if (!fs.existsSync(out)) return [];
  return fs.readdirSync(out).filter((f) => f === 'config.json' || f === 'LATEST' || f === 'log.jsonl' || f === 'DONE' || f === 'model' ||
    f.startsWith('ckpt-') || f.startsWith('stage-') || f.startsWith('.tmp-') || f.startsWith('model.')).sort();
}

/** The saved configuration of the run in `out` (its newest checkpoint's). */
function savedConfig(ckpt: string): TrainConfig {
  const file = path.join(ckpt, 'state.json');
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { config: TrainConfig }).config;
  } catch (e) {
    throw new InputError(`cannot read the checkpoint's state (${(e as Error).message})`, file);
  }
}

const TRAIN_OPTIONS: OptionTable = {
  out: { type: 'string', value: 'DIR', description: 'run directory: checkpoints, log.jsonl, stage-*/ and the final model/' },
  stages: { type: 'string', value: 'LIST', description: `stages to run, in order (${STAGES.join(', ')})`, default: 'tiny pmtp,djo,cycle-rl; small pmtp' },
  preset: { type: 'string', value: 'NAME', description: 'model size: tiny or small', default: 'tiny' },
  steps: { type: 'string', value: 'N|stage=N,...', description: `optimiser steps, ${LIMITS.steps.min} to ${LIMITS.steps.max} (one number for every stage, or per stage)`, default: 'tiny pmtp=300,djo=100,cycle-rl=20; small pmtp=9000,djo=200,cycle-rl=40' },
  batch: { type: 'string', value: 'B', description: `scenes per PMTP/DJO step, ${LIMITS.batch.min} to ${LIMITS.batch.max}; refused when its estimated memory exceeds ${MEMORY_SHARE * 100}% of this machine's`, default: '8' },
  group: { type: 'string', value: 'G', description: `Cycle RL samples per layout, ${LIMITS.group.min} to ${LIMITS.group.max}`, default: '8' },
  seed: { type: 'string', value: 'S', description: `seed of the data, the initialisation and the noise, 0 to ${MAX_SEED}`, default: '0' },
  lr: { type: 'string', value: 'LR', description: "PMTP's peak learning rate (the other stages' scale with it)", default: '2e-3' },
  tau: { type: 'string', value: 'SCHEDULE', description: 'DJO Gumbel-Softmax temperature schedule, e.g. exp:1:0.3 or 0.5', default: 'exp:1:0.3' },
  hard: { type: 'boolean', description: 'DJO: straight-through (hard) Gumbel-Softmax' },
  mix: { type: 'string', value: 'joint=W,l2i=W,i2l=W', description: 'PMTP task mix', default: 'joint=1,l2i=0,i2l=0' },
  beta: { type: 'string', value: 'B', description: 'Cycle RL KL weight', default: '0.04' },
  'rl-layouts': { type: 'string', value: 'real|random|template', description: 'where Cycle RL layouts come from', default: 'real' },
  'loose-scenes': { type: 'string', value: 'SHARE', description: 'share (0-1) of PMTP/DJO scenes drawn with partly hidden objects, touching look-alikes and box sides out of sight', default: 'tiny 0; small 0.5' },
  'model-flags': { type: 'string', value: 'FLAG=true|false,...', description: `override the preset's model components (${MODEL_FLAGS.join(', ')}; docs/model.md); with --init, added components start from their init` },
  'text-weight': { type: 'string', value: 'W', description: 'PMTP: weight of the box (text) loss against the image loss (the preset\'s: tiny 1, small 2)' },
  'lr-decay': { type: 'string', value: 'SHARE', description: 'share (0.01-1) of each stage\'s steps after warm-up over which the learning rate decays; before it, it stays at the peak', default: 'tiny 1; small 0.3' },
  resume: { type: 'boolean', description: 'continue the run in --out from its newest checkpoint (options that differ from the run are an error)' },
  force: { type: 'boolean', description: 'start over in an --out that already holds a run (its checkpoints, log and models are removed)' },
  'checkpoint-every': { type: 'string', value: 'SEC', description: `seconds between checkpoints, ${LIMITS.checkpointEvery.min} to ${LIMITS.checkpointEvery.max}`, default: '180' },
  init: { type: 'string', value: 'DIR', description: 'start from this model directory (and its tokenizer) instead of a fresh model' },
  device: DEVICE_OPTION,
  'eval-every': { type: 'string', value: 'SEC', description: 'learning-curve probe every SEC seconds of training: held-out L2I AP and grounding Acc@0.5, to eval.jsonl (0 = off)', default: '0' },
  'eval-scenes': { type: 'string', value: 'N', description: 'held-out scenes per probe (the world test split, 1-4 objects)', default: '24' },
  'eval-layouts': { type: 'string', value: 'FILE', description: 'with --eval-every: each probe also measures grounding on the layouts of FILE (JSONL), e.g. bench/layouts/external.jsonl' },
  json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' },
};

/** --eval-layouts: the file's layouts (a LayoutError names FILE:LINE), read before any training. */
function evalLayoutsOption(args: VerbArgs, evalEvery: number): Layout[] | undefined {
  const file = args.values['eval-layouts'] as string | undefined;
  if (file === undefined) return undefined;
  if (evalEvery <= 0) throw new UsageError('--eval-layouts adds to the learning-curve probe: pass --eval-every SEC too');
  if (!fs.existsSync(file)) throw new InputError('no such file', file);
  const entries = readLayoutEntries(file);
  if (entries.length === 0) throw new LayoutError(file, 0, 'the file has no layouts');
  return entries.map((e) => e.layout as Layout);
}

export const trainVerb: Verb = {
  name: 'train',
  summary: 'train EchoGen: PMTP, then DJO, then Cycle RL (checkpoints atomically; Ctrl-C saves; --resume continues)',
  required: ['out'],
  options: TRAIN_OPTIONS,
  notes: [
    'Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a checkpoint and exits 130; run the same',
    'command with --resume to continue: the result is bit for bit that of an uninterrupted run.',
  ],
  async run(args) {
    const device = deviceOption(args);
    const out = requireString(args, 'out');
    const every = intOption(args, 'checkpoint-every', 180, LIMITS.checkpointEvery);
    const evalEvery = intOption(args, 'eval-every', 0, { min: 0, max: 86400 });
    const groundLayouts = evalLayoutsOption(args, evalEvery);
    const resume = Boolean(args.values.resume);
    if (resume && args.values.force) throw new UsageError('--resume continues the run in --out and --force starts it over: pass one of them');
    if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`);
    let cfg: TrainConfig;
    if (resume) {
      const ckpt = latestCheckpoint(out);
      if (!ckpt) throw new InputError('no checkpoint to resume from (no LATEST file); run without --resume to start a new run', out);
      const saved = savedConfig(ckpt);
      cfg = configFromArgs(args.values, saved);
      const conflict = resumeConflict(saved, cfg, out);
      if (conflict) throw new UsageError(conflict);
    } else {
      cfg = configFromArgs(args.values);
      const existing = runEntries(out);
      if (existing.length > 0 && !args.values.force) {
        throw new UsageError(`--out ${out} already holds a training run (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', ...' : ''}); pass --resume to continue it or --force to start over`);
      }
    }
    const need = estimateTrainBytes(cfg);
    const have = os.totalmem();
    if (need > MEMORY_SHARE * have) {
      throw new UsageError(`--batch ${cfg.batch}${cfg.stages.includes('cycle-rl') ? ` (--group ${cfg.group})` : ''}: the ${cfg.preset} preset needs about ${gb(need)} at this batch, more than ${MEMORY_SHARE * 100}% of this machine's ${gb(have)}; use a smaller --batch`);
    }
    if (!resume && args.values.force) for (const f of runEntries(out)) fs.rmSync(path.join(out, f), { recursive: true, force: true });

    let bar: Progress | null = null;
    const t0 = Date.now();
    const last: Record<string, number> = {};
    let stopped: TrainStopped | null = null;
    const interrupts = catchInterrupts();
    let model: EchoGen;
    try {
      model = await train(cfg, {
        out,
        resume,
        init: args.values.init as string | undefined,
        checkpointEverySec: every,
        device,
        curve: evalEvery > 0 ? { everySec: evalEvery, scenes: intOption(args, 'eval-scenes', 24, { min: 1, max: 500 }), groundLayouts } : undefined,
        shouldStop: () => interrupts.signal() !== null,
        hooks: {
          onMessage: (m) => console.error(m),
          onStageStart: (stage, total, start) => {
            bar = progress(stage.padEnd(8), total, ['loss', 'tokens_s']);
            if (start) bar.tick(start, { loss: '-', tokens_s: '-' });
          },
          onStep: (log) => {
            bar?.tick(1, { loss: log.loss.toFixed(4), tokens_s: Math.round(log.tokensPerSec) });
            last[log.stage] = log.loss;
          },
          onStageEnd: () => { bar?.stop(); bar = null; },
          onStopped: (info) => { stopped = info; },
        },
      });
    } finally {
      interrupts.stop();
    }
    model.dispose();
    const seconds = (Date.now() - t0) / 1000;
    const done = stopped as TrainStopped | null;
    if (done) {
      const again = ['echogen', 'train', ...(args.argv ?? []).filter((a) => a !== '--force'), ...(resume ? [] : ['--resume'])];
      console.error(`echogen train: ${interrupts.signal() ?? 'stopped'}: stopped at ${done.stage} step ${done.step}; checkpoint ${done.checkpoint}`);
      console.error(`echogen train: to continue: ${again.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`);
      if (args.values.json) console.log(JSON.stringify({ out, interrupted: true, checkpoint: done.checkpoint, stage: done.stage, step: done.step, seconds }));
      return EXIT_INTERRUPTED;
    }
    if (args.values.json) console.log(JSON.stringify({ out, stages: cfg.stages, steps: cfg.steps, preset: cfg.preset, finalLoss: last, seconds }));
    else console.log(`trained ${cfg.stages.join(' -> ')} (${cfg.preset}) in ${seconds.toFixed(0)} s; model in ${path.join(out, 'model')}`);
    return 0;
  },
};
