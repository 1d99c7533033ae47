// The training loop over the three stages (PMTP -> DJO -> Cycle RL): data, optimiser, schedules,
// progress, atomic checkpoints every few minutes and `resume` from the last one.
import * as fs from 'fs';
import * as path from 'path';
import { Device, tidy } from '../tensor';
import * as ops from '../autograd';
import { EchoGen, ModelShape, PatchVq, PresetName, presets, withFlags } from '../model';
import { VOCAB } from '../data';
import type { LayoutSourceKind } from '../data';
import { fitTokenizer, trainExamples } from './data';
import { DEFAULT_MIX, StepResult, pmtpStep } from './pmtp';
import { djoStep } from './djo';
import { cycleRlStep, rlLayouts, rollout } from './cycle-rl';
import { ScheduleSpec, TaskMix, learningRate, scheduleValue } from './schedule';
import { TrainRng } from './rng';
import { latestCheckpoint, saveCheckpoint, writeFileAtomic } from './checkpoint';
import { Optimizer, createOptimizer } from './optimizer';
import { CurveOptions, curveLayouts, curvePoint } from './curve';

export type StageName = 'pmtp' | 'djo' | 'cycle-rl';
export const STAGES: readonly StageName[] = ['pmtp', 'djo', 'cycle-rl'];

export interface TrainConfig {
  preset: PresetName;
  stages: StageName[];
  /** Optimiser steps per stage. */
  steps: Record<StageName, number>;
  /** Scenes per step (PMTP, DJO) and layouts per step (Cycle RL). */
  batch: number;
  rlBatch: number;
  /** Peak learning rate of each stage. */
  lr: Record<StageName, number>;
  warmup: number;
  seed: number;
  mix: TaskMix;
  textWeight: number;
  tau: ScheduleSpec;
  hard: boolean;
  groundWeight: number;
  rlLayouts: LayoutSourceKind;
  group: number;
  beta: number;
  clipEps: number;
  l1Weight: number;
  /** Policy updates per rollout (the clipped ratio matters from the second on). */
  updates: number;
  tokenizerScenes: number;
  gradClip: number;
  /**
   * PMTP curriculum: scenes have at most `maxObjects` objects until the share `until` of the PMTP
   * steps is done (EvoGen-style: single objects first). Empty: the world's 1..4 throughout.
   */
  curriculum: CurriculumStep[];
  /**
   * Share of training scenes (PMTP, DJO) whose caption is written again with each size word kept at
   * chance 1/2, as people write captions (the world always names sizes). Absent in runs saved
   * before it existed: 0.
   */
  looseCaptions?: number;
  /**
   * Share of training scenes (PMTP, DJO) drawn under the world's loose readability rule: objects
   * partly hidden past their box's sides, objects of one colour touching or overlapping, as in
   * layouts people write (WorldOptions.readability). Absent in runs saved before it existed: 0.
   */
  looseScenes?: number;
  /** Overrides of the preset's model shape (ablations; default none). */
  model?: Partial<ModelShape>;
  /**
   * Share of each stage's steps after warm-up over which the learning rate decays (cosine to a tenth of the peak);
   * before it the rate stays at the peak (learningRate in lib/train/schedule.ts). Absent: 1, the cosine over the
   * whole stage, as every run saved before it existed had (so such a run resumes with it). small's default: 0.3.
   */
  lrDecay?: number;
}

export interface CurriculumStep { until: number; maxObjects: number }

/** The most objects per scene at PMTP step `step` of `total`. */
export function curriculumObjects(curriculum: readonly CurriculumStep[] | undefined, step: number, total: number): number {
  for (const c of curriculum ?? []) if (step < c.until * total) return c.maxObjects;
  return 4;
}

export function defaultConfig(preset: PresetName = 'tiny'): TrainConfig {
  const tiny = preset === 'tiny';
  return {
    preset,
    // small: PMTP alone. Cycle RL lowered L2I AP in both runs that measured it on this model
    // (-5.7 and -2.8 points, grounding unchanged; docs/training.md section 8), and DJO's 200 steps lowered
    // every held-out figure of the v16 run (external Acc@0.5 90.25 -> 88.15, AP 64.47 -> 61.56; section 19)
    // as in the 3-seed stages ablation (AP -1.9): opt in to either with --stages.
    stages: tiny ? [...STAGES] : ['pmtp'],
    // small: sized to finish within 150 minutes on a 2-core CPU whose speed varies by ~20% from day to day
    // (docs/training.md, "Shipping from the defaults" and section 15): 12,000 PMTP steps took 155 minutes
    // on a slow evening, so 9,000 (0.6-0.93 s a step by curriculum phase, ~137 minutes on that machine).
    steps: tiny ? { pmtp: 300, 'djo': 100, 'cycle-rl': 20 } : { pmtp: 9000, 'djo': 200, 'cycle-rl': 40 },
    batch: 8,
    rlBatch: tiny ? 2 : 4,
    lr: tiny ? { pmtp: 2e-3, 'djo': 5e-4, 'cycle-rl': 1e-4 } : { pmtp: 2e-3, 'djo': 3e-4, 'cycle-rl': 5e-5 },
    warmup: tiny ? 20 : 50,
    seed: 0,
    mix: { ...DEFAULT_MIX },
    textWeight: tiny ? 1 : 2,
    tau: { kind: 'exp', start: 1.0, end: 0.3 },
    hard: false,
    groundWeight: 1,
    rlLayouts: 'real',
    group: 8,
    beta: 0.04,
    clipEps: 0.2,
    l1Weight: 1,
    updates: 2,
    tokenizerScenes: tiny ? 192 : 512,
    gradClip: 1,
    curriculum: tiny ? [] : [{ until: 0.1, maxObjects: 1 }, { until: 0.25, maxObjects: 2 }],
    looseCaptions: tiny ? 0 : 0.5,
    // small: half the scenes drawn by the loose rules (touching and covered same-colour objects; section 18's run)
    looseScenes: tiny ? 0 : 0.5,
    // small: the peak rate held for 70% of each stage after warm-up, then the cosine (docs/training.md section 17):
    // at the same 9,000 steps it drew 10.5 (world) and 13.5 (external) AP points better than the cosine over the whole stage (v13 against v11).
    ...(tiny ? {} : { lrDecay: 0.3 }),
  };
}

/** Where the run is; stored in every checkpoint. */
export interface TrainState {
  stage: number;
  step: number;
  rng: number;
  elapsedSec: number;
}

export interface StepLog {
  stage: StageName;
  step: number;
  total: number;
  loss: number;
  tokensPerSec: number;
  /** Wall-clock seconds of this step (a Cycle RL step: the rollout and all its policy updates). */
  seconds?: number;
  /** The learning rate the step ran at (absent in logs written before it was recorded). */
  lr?: number;
  stats: Record<string, number>;
}

export interface TrainHooks {
  onStageStart?(stage: StageName, total: number, startStep: number): void;
  onStep?(log: StepLog): void;
  onStageEnd?(stage: StageName): void;
  onCheckpoint?(dir: string): void;
  onMessage?(text: string): void;
  /** The run stopped early on `shouldStop`; `checkpoint` resumes it (`--resume`). */
  onStopped?(info: TrainStopped): void;
}

/** Where a run that stopped on `shouldStop` left off. */
export interface TrainStopped {
  checkpoint: string;
  stage: StageName;
  /** The next step to run in `stage`. */
  step: number;
}

export interface TrainRunOptions {
  out: string;
  resume?: boolean;
  /** Seconds between checkpoints (default 180). */
  checkpointEverySec?: number;
  /** Start from this model checkpoint instead of a fresh one (its tokenizer too). */
  init?: string;
  hooks?: TrainHooks;
  /** Where the model trains (default cpu): every step's tensors live there; only the printed scalars come back. */
  device?: Device;
  /** Learning-curve probes every `everySec` seconds of training (lib/train/curve.ts), to eval.jsonl. */
  curve?: CurveOptions & { everySec: number };
  /**
   * Polled after every step (the loop yields to the event loop first, so signal handlers run):
   * when it returns true the run writes a checkpoint, calls hooks.onStopped and returns the model.
   */
  shouldStop?: () => boolean;
}

const STATE_FILE = 'state.json';
const OPTIM_DIR = 'optim';
export const FINAL_DIR = 'model';

function writeCheckpoint(out: string, model: EchoGen, ref: EchoGen | null, opt: Optimizer, cfg: TrainConfig, state: TrainState, hooks?: TrainHooks): string {
  const dir = saveCheckpoint(out, state.stage * 1_000_000 + state.step, (tmp) => {
    model.save(path.join(tmp, 'model'));
    if (ref) ref.save(path.join(tmp, 'ref'));
    opt.save(path.join(tmp, OPTIM_DIR));
    fs.writeFileSync(path.join(tmp, STATE_FILE), JSON.stringify({ config: cfg, state }, null, 2) + '\n');
  });
  hooks?.onCheckpoint?.(dir);
  return dir;
}

/** Saves a finished model directory atomically (temp dir + rename over the old one). */
export function saveModelAtomic(model: EchoGen, dir: string): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  model.save(tmp);
  const old = `${dir}.old-${process.pid}`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * The model with `changes` to its config (an --init run that adds a component, e.g. patchPixels):
 * its parameters carry over, the new ones keep their init (zero where a component starts as a no-op).
 */
export function withShape(model: EchoGen, changes: Partial<ModelShape> | undefined): EchoGen {
  const c = model.config as unknown as Record<string, unknown>;
  if (!changes || Object.entries(changes).every(([k, v]) => c[k] === v)) return model;
  const m = new EchoGen(withFlags(model.config, changes), new PatchVq(model.vq.config, model.vq.codebook.clone()));
  try {
    m.loadStateDict(model.stateDict(), { strict: false });
  } catch (e) {
    m.dispose();
    throw e;
  } finally {
    model.dispose();
  }
  return m;
}

/** A frozen copy (own codebook and parameters): the reference policy of Cycle RL. */
export function copyModel(model: EchoGen): EchoGen {
  const m = new EchoGen(model.config, new PatchVq(model.vq.config, model.vq.codebook.clone()));
  m.to(model.device);
  m.loadStateDict(model.stateDict());
  return m;
}

function supervisedStep(name: 'pmtp' | 'djo', model: EchoGen, cfg: TrainConfig, rng: TrainRng, step: number): StepResult {
  if (name === 'pmtp') {
    const objects = curriculumObjects(cfg.curriculum, step, cfg.steps.pmtp);
    return pmtpStep(model, trainExamples(model.vq, cfg.batch, cfg.seed, step, { maxObjects: objects, looseCaptions: cfg.looseCaptions, looseScenes: cfg.looseScenes }), rng, { mix: cfg.mix, textWeight: cfg.textWeight });
  }
  const tau = scheduleValue(cfg.tau, step, cfg.steps.djo);
  return djoStep(model, trainExamples(model.vq, cfg.batch, cfg.seed + 7919, step, { looseCaptions: cfg.looseCaptions, looseScenes: cfg.looseScenes }), rng, { tau, hard: cfg.hard, groundWeight: cfg.groundWeight });
}

export async function train(cfg: TrainConfig, run: TrainRunOptions): Promise<EchoGen> {
  const hooks = run.hooks;
  const everyMs = (run.checkpointEverySec ?? 180) * 1000;
  fs.mkdirSync(run.out, { recursive: true });
  let model: EchoGen;
  let ref: EchoGen | null = null;
  let state: TrainState = { stage: 0, step: 0, rng: new TrainRng(cfg.seed).state, elapsedSec: 0 };
  let optState: string | null = null;
  const last = run.resume ? latestCheckpoint(run.out) : null;
  if (run.resume && !last) hooks?.onMessage?.(`no checkpoint in ${run.out}; starting fresh`);
  if (last) {
    const saved = JSON.parse(fs.readFileSync(path.join(last, STATE_FILE), 'utf8')) as { config: TrainConfig; state: TrainState };
    cfg = saved.config;
    state = saved.state;
    model = EchoGen.load(path.join(last, 'model'));
    if (fs.existsSync(path.join(last, 'ref'))) ref = EchoGen.load(path.join(last, 'ref'));
    optState = path.join(last, OPTIM_DIR);
    hooks?.onMessage?.(`resuming from ${last}: stage ${cfg.stages[state.stage]} step ${state.step}`);
  } else if (run.init) {
    model = withShape(EchoGen.load(run.init), cfg.model);
  } else {
    hooks?.onMessage?.(`fitting the VQ tokenizer on ${cfg.tokenizerScenes} scenes`);
    const shape: ModelShape = withFlags(presets[cfg.preset], cfg.model);
    const vq = fitTokenizer(shape, cfg.tokenizerScenes, cfg.seed);
    model = EchoGen.create(shape, { words: VOCAB, vq, seed: cfg.seed });
  }
  if (run.device) {
    model.to(run.device);
    ref?.to(run.device);
  }
  fs.writeFileSync(path.join(run.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  const logFile = path.join(run.out, 'log.jsonl');
  const rng = new TrainRng(0);
  rng.state = state.rng;
  const probe = run.curve ? curveLayouts(run.curve) : null;
  let lastProbe = -Infinity;
  const measure = (stage: string, step: number): void => {
    if (!probe || !run.curve) return;
    const p = curvePoint(model, probe, { minutes: state.elapsedSec / 60, stage, step }, run.curve);
    fs.appendFileSync(path.join(run.out, 'eval.jsonl'), JSON.stringify(p) + '\n');
    hooks?.onMessage?.(`probe at ${p.minutes.toFixed(1)} min (${stage} ${step}): AP ${p.AP.toFixed(3)} AP50 ${p.AP50.toFixed(3)} Acc@0.5 ${p.acc50.toFixed(3)} (2+ objects ${p.acc50Multi.toFixed(3)}, named object ${p.referent.toFixed(3)}) cycle IoU ${p.cycleIou.toFixed(3)}${p.external ? `; ${p.external.layouts} other layouts: Acc@0.5 ${p.external.acc50.toFixed(3)}, named object ${p.external.referent.toFixed(3)}` : ''} (${p.evalSec.toFixed(0)} s)`);
    lastProbe = state.elapsedSec;
  };
  let stopping = false;

  for (; state.stage < cfg.stages.length; state.stage++, state.step = 0) {
    const name = cfg.stages[state.stage];
    const total = cfg.steps[name];
    if (name === 'cycle-rl' && !ref) ref = copyModel(model);
    const opt = createOptimizer(model, cfg.lr[name]);
    if (optState) { opt.load(optState); optState = null; }
    hooks?.onStageStart?.(name, total, state.step);
    let lastSave = Date.now();
    for (; state.step < total; state.step++) {
      if (run.curve && state.elapsedSec - lastProbe >= run.curve.everySec) measure(name, state.step);
      const t0 = Date.now();
      const lr = learningRate(state.step, total, cfg.lr[name], name === 'pmtp' ? cfg.warmup : Math.min(cfg.warmup, Math.ceil(total / 10)), 0.1, cfg.lrDecay ?? 1);
      opt.setLearningRate(lr);
      const results: StepLog[] = [];
      if (name === 'cycle-rl') {
        const layouts = rlLayouts(cfg.rlLayouts, cfg.rlBatch, (cfg.seed * 7 + state.step * 131 + 17) >>> 0);
        const ro = rollout(model, ref as EchoGen, layouts, rng, { group: cfg.group, l1Weight: cfg.l1Weight, eps: cfg.clipEps, beta: cfg.beta });
        for (let u = 0; u < cfg.updates; u++) {
          results.push(update(opt, model, cfg, () => cycleRlStep(model, ro, { eps: cfg.clipEps, beta: cfg.beta }), name, state.step, total, t0));
        }
      } else {
        const step = state.step;
        results.push(update(opt, model, cfg, () => supervisedStep(name, model, cfg, rng, step), name, step, total, t0));
      }
      const log = results[results.length - 1];
      log.tokensPerSec = results.reduce((s, r) => s + r.tokensPerSec, 0);
      log.seconds = (Date.now() - t0) / 1000;
      log.lr = lr;
      fs.appendFileSync(logFile, JSON.stringify(log) + '\n');
      hooks?.onStep?.(log);
      state.elapsedSec += log.seconds;
      // One turn of the event loop a step: signal handlers run (shouldStop), and so do the finalizers
      // of tensors nobody disposed, which Node runs only from the loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
      stopping = stopping || (run.shouldStop?.() ?? false);
      if (stopping && state.step + 1 < total) {
        state.rng = rng.state;
        const dir = writeCheckpoint(run.out, model, name === 'cycle-rl' ? ref : null, opt, cfg, { ...state, step: state.step + 1 }, hooks);
        opt.dispose();
        hooks?.onStageEnd?.(name);
        ref?.dispose();
        hooks?.onStopped?.({ checkpoint: dir, stage: name, step: state.step + 1 });
        return model;
      }
      if (Date.now() - lastSave >= everyMs && state.step + 1 < total) {
        state.rng = rng.state;
        writeCheckpoint(run.out, model, name === 'cycle-rl' ? ref : null, opt, cfg, { ...state, step: state.step + 1 }, hooks);
        lastSave = Date.now();
      }
    }
    opt.dispose();
    saveModelAtomic(model, path.join(run.out, `stage-${name}`));
    hooks?.onStageEnd?.(name);
    // A probe at every stage's end (the last one is the 'done' probe), so each stage's effect is a point.
    if (run.curve && state.stage + 1 < cfg.stages.length) measure(name, total);
    // The stage's end is a checkpoint too: a resume after it starts the next stage.
    state.rng = rng.state;
    const nextOpt = createOptimizer(model, cfg.lr[name]);
    const dir = writeCheckpoint(run.out, model, name === 'cycle-rl' ? ref : null, nextOpt, cfg, { ...state, stage: state.stage + 1, step: 0 }, hooks);
    nextOpt.dispose();
    if (stopping && state.stage + 1 < cfg.stages.length) {
      ref?.dispose();
      hooks?.onStopped?.({ checkpoint: dir, stage: cfg.stages[state.stage + 1], step: 0 });
      return model;
    }
  }
  if (run.curve) measure('done', 0);
  saveModelAtomic(model, path.join(run.out, FINAL_DIR));
  writeFileAtomic(path.join(run.out, 'DONE'), new Date().toISOString() + '\n');
  ref?.dispose();
  return model;
}

/** One forward, backward and optimiser update inside a tidy scope. */
function update(opt: Optimizer, model: EchoGen, cfg: TrainConfig, step: () => StepResult, stage: StageName, at: number, total: number, t0: number): StepLog {
  return tidy(() => {
    opt.zeroGrad();
    const r = step();
    const loss = r.loss.item();
    if (!Number.isFinite(loss)) throw new Error(`${stage} step ${at}: the loss is ${loss}; stopping (lower the learning rate)`);
    ops.backward(r.loss);
    const gradNorm = opt.clip(cfg.gradClip);
    opt.step();
    const dt = Math.max(1e-3, (Date.now() - t0) / 1000);
    return { stage, step: at, total, loss, tokensPerSec: r.tokens / dt, stats: { ...r.stats, gradNorm } };
  });
}
