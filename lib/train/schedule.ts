// Scalar schedules the trainer steps through: the DJO Gumbel temperature (exponential 1.0 -> 0.3
// by default), the learning rate (linear warm-up then cosine), and the PMTP task mix.

export type ScheduleKind = 'exp' | 'linear' | 'cosine' | 'constant';

export interface ScheduleSpec {
  kind: ScheduleKind;
  start: number;
  end: number;
}

function checkStep(where: string, step: number, total: number): void {
  if (!Number.isInteger(total) || total < 1) throw new RangeError(`${where}: total must be a positive integer, got ${total}`);
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`${where}: step must be a non-negative integer, got ${step}`);
}

/**
 * The value at `step` of `total` steps: `start` at step 0 and `end` at step total-1 (and after).
 * `exp` interpolates log-linearly, which is what makes an annealed temperature spend as many steps
 * between 1.0 and 0.55 as between 0.55 and 0.3.
 */
export function scheduleValue(spec: ScheduleSpec, step: number, total: number): number {
  checkStep('scheduleValue', step, total);
  const { kind, start, end } = spec;
  const t = total <= 1 ? 1 : Math.min(1, step / (total - 1));
  switch (kind) {
    case 'constant': return start;
    case 'linear': return start + (end - start) * t;
    case 'cosine': return end + (start - end) * 0.5 * (1 + Math.cos(Math.PI * t));
    case 'exp':
      if (!(start > 0) || !(end > 0)) throw new RangeError(`scheduleValue: an exp schedule needs start > 0 and end > 0, got ${start} -> ${end}`);
      return start * Math.pow(end / start, t);
    default: throw new RangeError(`scheduleValue: unknown kind ${JSON.stringify(kind)}`);
  }
}

/** Parses "exp:1.0:0.3", "linear:1:0.5" or a bare number (constant). */
export function parseSchedule(text: string, where = 'schedule'): ScheduleSpec {
  const bare = Number(text);
  if (text.trim() !== '' && Number.isFinite(bare)) return { kind: 'constant', start: bare, end: bare };
  const [kind, a, b] = text.split(':');
  const start = Number(a), end = Number(b);
  if (!['exp', 'linear', 'cosine', 'constant'].includes(kind) || !Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`${where}: expected kind:start:end with kind exp|linear|cosine|constant, got ${JSON.stringify(text)}`);
  }
  return { kind: kind as ScheduleKind, start, end };
}

/**
 * Learning rate: linear warm-up over `warmup` steps to `peak`, then cosine down to `peak * floor`. With `decay` < 1
 * the rate stays at the peak for the first 1 - decay of the steps after warm-up and the cosine takes the last `decay`
 * of them (warm-up, stable, decay); 1, the default, is the cosine over all of them.
 */
export function learningRate(step: number, total: number, peak: number, warmup: number, floor = 0.1, decay = 1): number {
  checkStep('learningRate', step, total);
  if (!(decay > 0 && decay <= 1)) throw new RangeError(`learningRate: decay must be a share in (0, 1], got ${decay}`);
  if (step < warmup) return peak * (step + 1) / warmup;
  const rest = Math.max(1, total - warmup);
  const stable = rest * (1 - decay);
  const t = Math.min(1, Math.max(0, step - warmup - stable) / (rest - stable));
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** PMTP task mix: the share of each task in the batches (normalised); l2i + i2l together is 'joint'. */
export interface TaskMix {
  joint: number;
  l2i: number;
  i2l: number;
}

export type Task = keyof TaskMix;

export function parseTaskMix(text: string): TaskMix {
  const mix: TaskMix = { joint: 0, l2i: 0, i2l: 0 };
  for (const part of text.split(',')) {
    const [name, w] = part.split('=');
    const v = Number(w);
    if (!(name in mix) || !Number.isFinite(v) || v < 0) throw new RangeError(`task mix: expected joint=W,l2i=W,i2l=W with W >= 0, got ${JSON.stringify(text)}`);
    mix[name as Task] = v;
  }
  if (mix.joint + mix.l2i + mix.i2l <= 0) throw new RangeError(`task mix: weights must not all be 0, got ${JSON.stringify(text)}`);
  return mix;
}

/** Deterministic task for a uniform u in [0, 1). */
export function pickTask(mix: TaskMix, u: number): Task {
  const total = mix.joint + mix.l2i + mix.i2l;
  let acc = 0;
  for (const t of ['joint', 'l2i', 'i2l'] as const) {
    acc += mix[t] / total;
    if (u < acc) return t;
  }
  return mix.i2l > 0 ? 'i2l' : mix.l2i > 0 ? 'l2i' : 'joint';
}
