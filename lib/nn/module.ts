// Module: a tree of named parameters. Parameters live in a map (not in fields) so that loading a
// checkpoint or moving to another device can swap the tensors without the module noticing.
import { Device, Tensor, keep } from '../tensor';
import * as ops from '../autograd';

export type StateDict = Record<string, Tensor>;

export interface LoadOptions {
  /** Require every parameter to be present and no extra names (default true). */
  strict?: boolean;
}

export abstract class Module {
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a trainable parameter (kept out of tidy scopes, requiresGrad on). */
  protected addParam(name: string, value: Tensor): Tensor {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`Module: duplicate name '${name}'`);
    const p = keep(ops.param(value));
    this.params.set(name, p);
    return p;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    if (this.params.has(name) || this.children.has(name)) throw new Error(`Module: duplicate name '${name}'`);
    this.children.set(name, m);
    return m;
  }

  /** The current tensor of a parameter of this module (not of a child). */
  protected p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`Module: no parameter '${name}'`);
    return t;
  }

  /** Every parameter with its dotted path, children after own parameters, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.params) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }

  numParameters(): number { return this.parameters().reduce((s, t) => s + t.size, 0); }

  stateDict(): StateDict { return Object.fromEntries(this.namedParameters()); }

  /**
   * Replaces parameters by copies of the given tensors (same shapes, f32), on this module's device.
   * The old tensors are disposed. Optimisers built before a load hold stale references: build them after.
   */
  loadStateDict(state: StateDict, opts: LoadOptions = {}): void {
    const strict = opts.strict ?? true;
    const names = new Set(this.namedParameters().map(([n]) => n));
    if (strict) {
      const missing = [...names].filter((n) => !(n in state));
      const extra = Object.keys(state).filter((n) => !names.has(n));
      if (missing.length || extra.length) {
        throw new RangeError(`loadStateDict: state does not match the module` +
          (missing.length ? `; missing: ${missing.slice(0, 8).join(', ')}` : '') +
          (extra.length ? `; unexpected: ${extra.slice(0, 8).join(', ')}` : ''));
      }
    }
    for (const [name, cur] of this.namedParameters()) {
      const t = state[name];
      if (!t) continue;
      if (t.dtype !== 'f32') throw new TypeError(`loadStateDict: '${name}' must be f32, got ${t.dtype}`);
      if (t.shape.length !== cur.shape.length || t.shape.some((d, i) => d !== cur.shape[i])) {
        throw new RangeError(`loadStateDict: '${name}' must have shape [${cur.shape}], got [${t.shape}]`);
      }
    }
    this.mapParameters((name, cur) => (state[name] ? state[name].to(cur.device) : null));
  }

  /** Moves every parameter to `device` (copies; the old tensors are disposed). */
  to(device: Device): this {
    this.mapParameters((_, cur) => (cur.device === device ? null : cur.to(device)));
    return this;
  }

  get device(): Device {
    const first = this.parameters()[0];
    return first ? first.device : 'cpu';
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }

  private mapParameters(fn: (name: string, cur: Tensor) => Tensor | null, prefix = ''): void {
    for (const [n, cur] of this.params) {
      const next = fn(prefix + n, cur);
      if (!next) continue;
      this.params.set(n, keep(ops.param(next)));
      cur.dispose();
    }
    for (const [n, m] of this.children) m.mapParameters(fn, `${prefix}${n}.`);
  }
}
