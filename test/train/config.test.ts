// `echogen train` options -> TrainConfig, and the per-step data being a function of (seed, step).
import { configFromArgs, resumeConflict } from '../../lib/cli/train';
import type { TrainConfig } from '../../lib/train/trainer';
import { stepSeed } from '../../lib/train/data';
import { presets, withFlags } from '../../lib/model/config';

describe('configFromArgs', () => {
  test('defaults, per-stage steps, lr scaling keeps the stage ratios', () => {
    const c = configFromArgs({ preset: 'tiny', steps: 'pmtp=7,cycle-rl=2', lr: '4e-3', 'rl-layouts': 'template', tau: 'exp:2:0.5', mix: 'joint=1,i2l=1', hard: true });
    expect(c.steps).toEqual({ pmtp: 7, djo: 100, 'cycle-rl': 2 });
    expect(c.lr.pmtp).toBeCloseTo(4e-3, 12);
    expect(c.lr.djo / c.lr.pmtp).toBeCloseTo(0.25, 12);
    expect(c.rlLayouts).toBe('template');
    expect(c.tau).toEqual({ kind: 'exp', start: 2, end: 0.5 });
    expect(c.mix).toEqual({ joint: 1, l2i: 0, i2l: 1 });
    expect(c.hard).toBe(true);
    expect(configFromArgs({ steps: '5' }).steps).toEqual({ pmtp: 5, djo: 5, 'cycle-rl': 5 });
    expect(configFromArgs({ preset: 'small' }).steps).toEqual({ pmtp: 9000, djo: 200, 'cycle-rl': 40 });
    expect(configFromArgs({ preset: 'small' }).looseScenes).toBe(0.5);
    // small trains PMTP alone (DJO lowered every held-out figure of the v16 run; docs/training.md section 19)
    expect(configFromArgs({ preset: 'small' }).stages).toEqual(['pmtp']);
    expect(configFromArgs({ preset: 'tiny' }).stages).toEqual(['pmtp', 'djo', 'cycle-rl']);
    expect(configFromArgs({ preset: 'tiny' }).looseScenes).toBe(0);
    // small's readout keys read their 7x7 neighbourhood (docs/training.md section 18); tiny's has no readout
    expect(presets.small.refNeighbours).toBe(true);
    expect(presets.small.refNeighbourRadius).toBe(3);
    expect(presets.tiny.refNeighbours).toBeUndefined();
    // turning the neighbours off drops the radius with them (a radius alone is a config error)
    expect(withFlags(presets.small, { refNeighbours: false }).refNeighbourRadius).toBeUndefined();
    expect(withFlags(presets.small, { patchBoxes: false }).refNeighbourRadius).toBe(3);
    expect(() => configFromArgs({ preset: 'small', 'model-flags': 'refNeighbours=false' })).not.toThrow();
    expect(configFromArgs({ preset: 'small', 'loose-scenes': '0.25' }).looseScenes).toBe(0.25);
    expect(configFromArgs({ preset: 'small' }).textWeight).toBe(2);
    expect(configFromArgs({ preset: 'tiny' }).textWeight).toBe(1);
    expect(configFromArgs({ preset: 'small', 'text-weight': '0.5' }).textWeight).toBe(0.5);
    expect(configFromArgs({ preset: 'small' }).model).toBeUndefined();
    expect(configFromArgs({ preset: 'small', 'model-flags': 'patchBoxes=true,bidirectionalImage=false' }).model).toEqual({ patchBoxes: true, bidirectionalImage: false });
    // On a resumed run's configuration the flags add to the saved ones, and a differing one is a --resume conflict.
    const saved = configFromArgs({ preset: 'small', 'model-flags': 'patchBoxes=true' });
    expect(configFromArgs({}, saved).model).toEqual({ patchBoxes: true });
    expect(resumeConflict(saved, configFromArgs({}, saved), 'runs/x')).toBeNull();
    expect(resumeConflict(saved, configFromArgs({ 'model-flags': 'patchShapes=true' }, saved), 'runs/x')).toMatch(/--resume: --model-flags asks for model \{"patchBoxes":true,"patchShapes":true\} but the run in runs\/x has \{"patchBoxes":true\}/);
    // --lr-decay: small holds the peak for 70% of a stage (0.3); tiny has none (the cosine over the whole stage).
    expect(configFromArgs({ preset: 'small' }).lrDecay).toBe(0.3);
    expect(configFromArgs({ preset: 'tiny' }).lrDecay).toBeUndefined();
    expect(configFromArgs({ preset: 'small', 'lr-decay': '0.2' }).lrDecay).toBe(0.2);
    expect(resumeConflict(saved, configFromArgs({ 'lr-decay': '0.2' }, saved), 'runs/x')).toMatch(/--resume: --lr-decay asks for lrDecay 0.2 but the run in runs\/x has 0.3/);
    // A small run saved before the field existed resumes with its own schedule (the whole-stage cosine), not the new default.
    const old: TrainConfig = JSON.parse(JSON.stringify(saved));
    delete old.lrDecay;
    expect(configFromArgs({}, old).lrDecay).toBeUndefined();
    expect(resumeConflict(old, configFromArgs({}, old), 'runs/x')).toBeNull();
    expect(resumeConflict(old, configFromArgs({ 'lr-decay': '0.3' }, old), 'runs/x')).toMatch(/--lr-decay asks for lrDecay 0.3 but the run in runs\/x has undefined/);
  });

  test('bad values are usage errors naming the option', () => {
    expect(() => configFromArgs({ preset: 'huge' })).toThrow(/--preset must be tiny or small/);
    expect(() => configFromArgs({ stages: 'pmtp,rlhf' })).toThrow(/unknown stage 'rlhf'/);
    expect(() => configFromArgs({ steps: 'pmtp=0' })).toThrow(/--steps/);
    expect(() => configFromArgs({ 'rl-layouts': 'llm' })).toThrow(/--rl-layouts/);
    for (const bad of ['2', '-0.5', 'half', '']) expect(() => configFromArgs({ 'loose-scenes': bad })).toThrow(/--loose-scenes must be a number from 0 to 1/);
    for (const bad of ['-1', 'heavy', '', '101']) expect(() => configFromArgs({ 'text-weight': bad })).toThrow(/--text-weight must be a number from 0 to 100/);
    for (const bad of ['0', '1.5', 'late', '']) expect(() => configFromArgs({ 'lr-decay': bad })).toThrow(/--lr-decay must be a number from 0.01 to 1/);
    for (const bad of ['patchBoxes', 'patchBoxes=yes', 'wings=true', 'patchBoxes=true=1', '']) expect(() => configFromArgs({ 'model-flags': bad })).toThrow(/--model-flags: expected FLAG=true\|false,\.\.\. \(flags: geometry, layoutMap/);
    expect(() => configFromArgs({ preset: 'small', 'model-flags': 'patchBoxes=false,patchShapes=true' })).toThrow(/--model-flags: config.patchShapes needs config.patchBoxes/);
    expect(() => configFromArgs({ preset: 'tiny', 'model-flags': 'geometry=false,patchBoxes=true' })).toThrow(/--model-flags: config.patchBoxes needs config.geometry/);
    expect(() => configFromArgs({ tau: 'exp:1' })).toThrow(/--tau/);
    expect(() => configFromArgs({ seed: '1.5' })).toThrow(/--seed/);
  });
});

test('stepSeed: distinct for nearby (seed, step) pairs', () => {
  const seen = new Set<number>();
  for (let s = 0; s < 5; s++) for (let t = 0; t < 2000; t++) seen.add(stepSeed(s, t));
  expect(seen.size).toBe(5 * 2000);
});
