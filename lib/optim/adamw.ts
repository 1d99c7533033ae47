// AdamW (decoupled weight decay, as torch.optim.AdamW) over the fused multi-tensor kernel: one
// native call updates every parameter that has a gradient.
import { Tensor, keep, zeros } from '../tensor';
import * as k from '../kernels/support';
import { zeroGrad } from '../autograd/tape';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Decoupled weight decay (default 0.01, as PyTorch). */
  weightDecay?: number;
}

export interface AdamWHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * What a checkpoint needs to resume: the hyper-parameters, each parameter's step count and its
 * moments as tensors named `m.<i>` and `v.<i>` (i = the parameter's index; copies, the caller owns them).
 */
export interface AdamWState {
  hyper: AdamWHyper;
  steps: number[];
  tensors: Record<string, Tensor>;
}

function checkHyper(h: AdamWHyper, fn: string): void {
  const num = (v: unknown, name: string): void => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${fn}: ${name} must be a finite number, got ${String(v)}`);
  };
  num(h.lr, 'lr');
  num(h.eps, 'eps');
  num(h.weightDecay, 'weightDecay');
  if (!Array.isArray(h.betas) || h.betas.length !== 2) throw new TypeError(`${fn}: betas must be a pair [beta1, beta2]`);
  num(h.betas[0], 'betas[0]');
  num(h.betas[1], 'betas[1]');
  if (h.lr < 0) throw new RangeError(`${fn}: lr must be >= 0, got ${h.lr}`);
  if (h.eps <= 0) throw new RangeError(`${fn}: eps must be > 0, got ${h.eps}`);
  if (h.weightDecay < 0) throw new RangeError(`${fn}: weightDecay must be >= 0, got ${h.weightDecay}`);
  for (const b of h.betas) if (b < 0 || b >= 1) throw new RangeError(`${fn}: betas must lie in [0, 1), got [${h.betas}]`);
}

export class AdamW {
  readonly params: Tensor[];
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  private m: (Tensor | null)[];
  private v: (Tensor | null)[];
  private steps: number[];

  constructor(params: Tensor[], opts: AdamWOptions) {
    if (!Array.isArray(params)) throw new TypeError('AdamW: params must be an array of Tensors');
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`AdamW: params[${i}] must be a Tensor`);
      if (p.dtype !== 'f32') throw new TypeError(`AdamW: params[${i}] must be f32, got ${p.dtype}`);
    });
    if (new Set(params).size !== params.length) throw new RangeError('AdamW: params lists a tensor twice');
    if (opts === null || typeof opts !== 'object') throw new TypeError('AdamW: opts must be an object { lr, betas?, eps?, weightDecay? }');
    const h: AdamWHyper = { lr: opts.lr, betas: opts.betas ?? [0.9, 0.999], eps: opts.eps ?? 1e-8, weightDecay: opts.weightDecay ?? 0.01 };
    checkHyper(h, 'AdamW');
    this.params = [...params];
    this.lr = h.lr;
    this.betas = [h.betas[0], h.betas[1]];
    this.eps = h.eps;
    this.weightDecay = h.weightDecay;
    this.m = params.map(() => null);
    this.v = params.map(() => null);
    this.steps = params.map(() => 0);
  }

  /** One update of every parameter that has a gradient (the others keep their step count). */
  step(): void {
    checkHyper({ lr: this.lr, betas: this.betas, eps: this.eps, weightDecay: this.weightDecay }, 'AdamW.step');
    // the kernel takes one step count per call: group parameters by theirs (normally one group)
    const groups = new Map<number, number[]>();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      if (p.disposed) throw new Error(`AdamW.step: params[${i}] was disposed`);
      if (!this.m[i]) {
        this.m[i] = keep(zeros(p.shape, { device: p.device }));
        this.v[i] = keep(zeros(p.shape, { device: p.device }));
      }
      const s = ++this.steps[i];
      const g = groups.get(s);
      if (g) g.push(i); else groups.set(s, [i]);
    });
    for (const [step, idx] of groups) {
      k.adamwStep(idx.map((i) => this.params[i]), idx.map((i) => this.params[i].grad as Tensor),
        idx.map((i) => this.m[i] as Tensor), idx.map((i) => this.v[i] as Tensor),
        { lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay, step });
    }
  }

  zeroGrad(): void {
    zeroGrad(this.params);
  }

  stateDict(): AdamWState {
    const tensors: Record<string, Tensor> = {};
    this.params.forEach((p, i) => {
      const m = this.m[i], v = this.v[i];
      if (m && v) {
        tensors[`m.${i}`] = m.clone();
        tensors[`v.${i}`] = v.clone();
      }
    });
    return {
      hyper: { lr: this.lr, betas: [this.betas[0], this.betas[1]], eps: this.eps, weightDecay: this.weightDecay },
      steps: [...this.steps],
      tensors,
    };
  }

  /** Restores a stateDict() of an optimiser over parameters of the same shapes (copies the tensors). */
  loadStateDict(state: AdamWState): void {
    const fn = 'AdamW.loadStateDict';
    if (state === null || typeof state !== 'object' || !Array.isArray(state.steps) || typeof state.tensors !== 'object')
      throw new TypeError(`${fn}: state must be { hyper, steps, tensors } as stateDict() returns`);
    checkHyper(state.hyper, fn);
    if (state.steps.length !== this.params.length)
      throw new RangeError(`${fn}: the state covers ${state.steps.length} parameters, this optimiser has ${this.params.length}`);
    const m: (Tensor | null)[] = [], v: (Tensor | null)[] = [];
    this.params.forEach((p, i) => {
      const s = state.steps[i];
      if (!Number.isInteger(s) || s < 0) throw new RangeError(`${fn}: steps[${i}] must be an integer >= 0, got ${String(s)}`);
      const sm = state.tensors[`m.${i}`], sv = state.tensors[`v.${i}`];
      if (s === 0 && !sm && !sv) { m.push(null); v.push(null); return; }
      for (const [t, name] of [[sm, `m.${i}`], [sv, `v.${i}`]] as const) {
        if (!(t instanceof Tensor)) throw new TypeError(`${fn}: tensors['${name}'] must be a Tensor (steps[${i}] = ${s})`);
        if (t.shape.join(',') !== p.shape.join(','))
          throw new RangeError(`${fn}: tensors['${name}'] has shape [${t.shape}] but params[${i}] has [${p.shape}]`);
      }
      m.push(keep((sm as Tensor).to(p.device)));
      v.push(keep((sv as Tensor).to(p.device)));
    });
    for (const t of [...this.m, ...this.v]) t?.dispose();
    this.m = m;
    this.v = v;
    this.steps = [...state.steps];
    this.lr = state.hyper.lr;
    this.betas = [state.hyper.betas[0], state.hyper.betas[1]];
    this.eps = state.hyper.eps;
    this.weightDecay = state.hyper.weightDecay;
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) t?.dispose();
    this.m = this.params.map(() => null);
    this.v = this.params.map(() => null);
  }
}
