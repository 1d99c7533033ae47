// `echogen train`: the three stages with progress bars, atomic checkpoints and --resume.
import * as fs from 'fs';
import * as path from 'path';
import { Verb, UsageError, intOption, requireString } from './verb';
import { progress, Progress } from './progress';
import { STAGES, StageName, TrainConfig, defaultConfig, train } from '../train/trainer';
import { parseSchedule, parseTaskMix } from '../train/schedule';
import type { LayoutSourceKind } from '../data';
import type { PresetName } from '../model';

function parseStages(text: string): StageName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!STAGES.includes(n as StageName)) throw new UsageError(`--stages: unknown stage '${n}' (known: ${STAGES.join(', ')})`);
  if (names.length === 0) throw new UsageError('--stages: name at least one stage');
  return names as StageName[];
}

/** "--steps 300" (every stage) or "--steps pmtp=300,djo=100,cycle-rl=20". */
function parseSteps(text: string, into: Record<StageName, number>): void {
  const all = Number(text);
  if (Number.isInteger(all) && all >= 1) { for (const s of STAGES) into[s] = all; return; }
  for (const part of text.split(',')) {
    const [name, v] = part.split('=');
    const n = Number(v);
    if (!STAGES.includes(name as StageName) || !Number.isInteger(n) || n < 1) throw new UsageError(`--steps: expected N or stage=N,... with N >= 1, got '${text}'`);
    into[name as StageName] = n;
  }
}

function numberOption(v: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min}, got ${String(v)}`);
  return n;
}

export function configFromArgs(values: Record<string, string | boolean | undefined>): TrainConfig {
  const preset = (values.preset as string | undefined) ?? 'tiny';
  if (preset !== 'tiny' && preset !== 'small') throw new UsageError(`--preset must be tiny or small, got '${preset}'`);
  const cfg = defaultConfig(preset as PresetName);
  if (typeof values.stages === 'string') cfg.stages = parseStages(values.stages);
  if (typeof values.steps === 'string') parseSteps(values.steps, cfg.steps);
  const src = (values['rl-layouts'] as string | undefined) ?? 'real';
  if (!['real', 'random', 'template'].includes(src)) throw new UsageError(`--rl-layouts must be real, random or template, got '${src}'`);
  cfg.rlLayouts = src as LayoutSourceKind;
  cfg.seed = numberOption(values.seed, 'seed', 0);
  if (!Number.isInteger(cfg.seed)) throw new UsageError(`--seed must be an integer, got ${String(values.seed)}`);
  cfg.batch = Math.round(numberOption(values.batch, 'batch', cfg.batch, 1));
  cfg.group = Math.round(numberOption(values.group, 'group', cfg.group, 2));
  cfg.beta = numberOption(values.beta, 'beta', cfg.beta);
  if (typeof values.lr === 'string') {
    const scale = numberOption(values.lr, 'lr', 1) / cfg.lr.pmtp;
    for (const s of STAGES) cfg.lr[s] *= scale;
  }
  try {
    if (typeof values.tau === 'string') cfg.tau = parseSchedule(values.tau, '--tau');
    if (typeof values.mix === 'string') cfg.mix = parseTaskMix(values.mix);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.hard) cfg.hard = true;
  return cfg;
}

export const trainVerb: Verb = {
  name: 'train',
  summary: 'train EchoGen: PMTP, then DJO, then Cycle RL (checkpoints atomically; --resume continues)',
  usage: 'echogen train --stages pmtp,djo,cycle-rl --preset tiny|small --out DIR [--steps N|stage=N,...] [--rl-layouts real|random|template] [--resume] [--seed S] [--batch B] [--lr LR] [--tau exp:1:0.3] [--hard] [--mix joint=1,l2i=0,i2l=0] [--group G] [--beta B] [--checkpoint-every SEC] [--init DIR] [--json]',
  options: {
    stages: { type: 'string' },
    preset: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    'rl-layouts': { type: 'string' },
    resume: { type: 'boolean' },
    seed: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    tau: { type: 'string' },
    hard: { type: 'boolean' },
    mix: { type: 'string' },
    group: { type: 'string' },
    beta: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    init: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args) {
    const out = requireString(args, 'out');
    const cfg = configFromArgs(args.values);
    const every = intOption(args, 'checkpoint-every', 180, 1);
    let bar: Progress | null = null;
    const t0 = Date.now();
    const last: Record<string, number> = {};
    const model = await train(cfg, {
      out,
      resume: Boolean(args.values.resume),
      init: args.values.init as string | undefined,
      checkpointEverySec: every,
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
      },
    });
    model.dispose();
    const seconds = (Date.now() - t0) / 1000;
    // A resumed run trains what its checkpoint says, not what these options say.
    const used = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as TrainConfig;
    if (args.values.json) console.log(JSON.stringify({ out, stages: used.stages, steps: used.steps, preset: used.preset, finalLoss: last, seconds }));
    else console.log(`trained ${used.stages.join(' -> ')} (${used.preset}) in ${seconds.toFixed(0)} s; model in ${path.join(out, 'model')}`);
    return 0;
  },
};
