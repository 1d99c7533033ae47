// Learning-rate schedules: pure functions of the step (0-based), so a resumed run needs only the step.

export interface CosineWithWarmupOptions {
  warmup: number;
  total: number;
  base: number;
  min?: number;
}

function checkStep(fn: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`${fn}: step must be an integer >= 0, got ${String(step)}`);
}

/**
 * Linear warm-up to `base` over `warmup` steps (base * (step + 1) / warmup), then a half cosine from
 * base down to `min` (default 0) at step `total`, and `min` after that.
 */
export function cosineWithWarmup(step: number, opts: CosineWithWarmupOptions): number {
  const fn = 'cosineWithWarmup';
  checkStep(fn, step);
  const { warmup, total, base } = opts;
  const min = opts.min ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`${fn}: warmup must be an integer >= 0, got ${String(warmup)}`);
  if (!Number.isInteger(total) || total < warmup) throw new RangeError(`${fn}: total must be an integer >= warmup (${warmup}), got ${String(total)}`);
  if (!Number.isFinite(base) || !Number.isFinite(min)) throw new TypeError(`${fn}: base and min must be finite numbers`);
  if (step < warmup) return (base * (step + 1)) / warmup;
  const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return min + (base - min) * 0.5 * (1 + Math.cos(Math.PI * p));
}

export interface ExponentialOptions {
  base: number;
  /** Multiplied in once per step after the warm-up. */
  gamma: number;
  warmup?: number;
  min?: number;
}

/** Linear warm-up (as cosineWithWarmup), then base * gamma^(step - warmup), never below min. */
export function exponential(step: number, opts: ExponentialOptions): number {
  const fn = 'exponential';
  checkStep(fn, step);
  const warmup = opts.warmup ?? 0;
  const min = opts.min ?? 0;
  if (!Number.isFinite(opts.base)) throw new TypeError(`${fn}: base must be a finite number`);
  if (!(opts.gamma > 0 && opts.gamma <= 1)) throw new RangeError(`${fn}: gamma must lie in (0, 1], got ${String(opts.gamma)}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`${fn}: warmup must be an integer >= 0, got ${String(warmup)}`);
  if (step < warmup) return (opts.base * (step + 1)) / warmup;
  return Math.max(min, opts.base * Math.pow(opts.gamma, step - warmup));
}
