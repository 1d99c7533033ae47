// The tape: grad mode, the GradFn nodes that ops attach to their outputs, and backward().
// Gradients flow in reverse topological order from the loss; a leaf (a tensor with requiresGrad and
// no gradFn) accumulates into t.grad. Without { retainGraph: true } the pass frees what it walked
// through: each node's saved buffers and every intermediate tensor except the loss itself.
import { GradFn, Tensor, keep, tensor } from '../tensor';
import * as k from '../kernels/support';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (nothing it computes joins a graph). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Marks t as a trainable leaf (requiresGrad = true) and returns it. */
export function param(t: Tensor): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError('param: t must be a Tensor');
  if (t.dtype !== 'f32') throw new TypeError(`param: only f32 tensors can require grad, got ${t.dtype}`);
  t.requiresGrad = true;
  return t;
}

/** A tensor sharing x's storage with no history (gradients stop here). */
export function detach(x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('detach: x must be a Tensor');
  return x.reshape(x.shape);
}

export function zeroGrad(params: Tensor[]): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}

type BackwardFn = (g: Tensor) => (Tensor | null)[];

/** A recorded op: its inputs, how to turn its output's gradient into theirs, and buffers it owns. */
export class Node implements GradFn {
  private fn: BackwardFn | null;
  private saved: Tensor[];

  constructor(readonly name: string, readonly inputs: readonly Tensor[], fn: BackwardFn, saved: Tensor[]) {
    this.fn = fn;
    this.saved = saved;
  }

  backward(g: Tensor): (Tensor | null)[] {
    if (!this.fn)
      throw new Error(`backward: the graph through '${this.name}' was already freed by an earlier backward(); ` +
        'pass { retainGraph: true } to that call to run backward through it again');
    return this.fn(g);
  }

  /** Drops the closure (and with it the references to inputs) and disposes owned buffers. */
  release(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.fn = null;
  }
}

/** True when an op on these inputs must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t != null && t.requiresGrad);
}

/**
 * Attaches a node to `out` when grad mode is on and an input requires grad; otherwise disposes
 * `saved` (buffers only the backward would have read). Returns out.
 */
export function record(out: Tensor, name: string, inputs: Tensor[], fn: BackwardFn, saved: Tensor[] = []): Tensor {
  if (needsGrad(...inputs)) {
    out.requiresGrad = true;
    out.gradFn = new Node(name, inputs, fn, saved);
  } else {
    for (const t of saved) t.dispose();
  }
  return out;
}

export interface BackwardOptions {
  /** Keep the graph (nodes, saved buffers, intermediates) so backward can run through it again. */
  retainGraph?: boolean;
}

// Reverse topological order: every tensor comes before the inputs of its node.
function topoOrder(root: Tensor): Tensor[] {
  const post: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      post.push(top.t);
      stack.pop();
    }
  }
  return post.reverse();
}

function checkSeed(loss: Tensor, grad: Tensor | undefined): Tensor {
  if (grad === undefined) {
    if (loss.size !== 1)
      throw new RangeError(`backward: grad must be given for a tensor of ${loss.size} elements (shape [${loss.shape}]); only a one-element loss gets the default grad of 1`);
    return tensor([1], loss.shape, { device: loss.device });
  }
  if (!(grad instanceof Tensor)) throw new TypeError('backward: grad must be a Tensor');
  if (grad.dtype !== 'f32') throw new TypeError(`backward: grad must be f32, got ${grad.dtype}`);
  if (grad.shape.join(',') !== loss.shape.join(','))
    throw new RangeError(`backward: grad must have the loss's shape [${loss.shape}], got [${grad.shape}]`);
  if (grad.device !== loss.device) throw new TypeError(`backward: grad is on ${grad.device} but the loss is on ${loss.device}`);
  // a fresh handle: the pass disposes the gradients it holds, and must not dispose the caller's
  return grad.reshape(grad.shape);
}

/**
 * Accumulates d(loss)/d(leaf) * grad into leaf.grad for every leaf with requiresGrad in loss's
 * graph. grad defaults to 1 for a one-element loss.
 */
export function backward(loss: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!(loss instanceof Tensor)) throw new TypeError('backward: loss must be a Tensor');
  if (loss.disposed) throw new Error('backward: loss was disposed');
  if (!loss.requiresGrad)
    throw new Error('backward: loss does not require grad (no input of its graph has requiresGrad, or it was computed under noGrad())');
  const retain = opts.retainGraph === true;
  const order = topoOrder(loss);
  const grads = new Map<Tensor, Tensor>([[loss, checkSeed(loss, grad)]]);
  const accumulate = (t: Tensor, g: Tensor): void => {
    const prev = grads.get(t);
    if (!prev) {
      grads.set(t, g);
      return;
    }
    grads.set(t, k.binary(prev, g, 'add'));
    prev.dispose();
    g.dispose();
  };
  noGrad(() => {
    for (const t of order) {
      const g = grads.get(t);
      grads.delete(t);
      const node = t.gradFn;
      if (!g) {
        // reached, but every consumer's backward returned null for it: free it all the same
        if (node && !retain) {
          if (node instanceof Node) node.release();
          if (t !== loss) t.dispose();
        }
        continue;
      }
      if (!node) {
        accumulateLeaf(t, g);
        continue;
      }
      let gs: (Tensor | null)[];
      try {
        gs = node.backward(g);
      } catch (e) {
        for (const left of grads.values()) left.dispose();
        g.dispose();
        throw rethrow(e, node.name);
      }
      node.inputs.forEach((input, i) => {
        const gi = gs[i];
        // a new handle per gradient: a backward may hand back g itself or one tensor twice, and
        // each map entry is disposed on its own (storage is shared, never written in place)
        if (gi && input.requiresGrad) accumulate(input, gi.reshape(gi.shape));
      });
      for (const gi of gs) gi?.dispose();
      g.dispose();
      if (!retain) {
        if (node instanceof Node) node.release();
        if (t !== loss) t.dispose();
      }
    }
  });
}

function accumulateLeaf(t: Tensor, g: Tensor): void {
  if (t.grad && !t.grad.disposed) {
    k.axpyInPlace(t.grad, g, 1);
    g.dispose();
    return;
  }
  // the gradient's storage may be shared with other tensors (views); t.grad is written in place later
  t.grad = keep(g.clone());
  g.dispose();
}

function rethrow(e: unknown, name: string): Error {
  if (!(e instanceof Error)) return new Error(`backward through '${name}': ${String(e)}`);
  const Ctor = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  return new Ctor(`backward through '${name}': ${e.message}`);
}
