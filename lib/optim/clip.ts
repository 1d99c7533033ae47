// Gradient clipping by the global L2 norm (as torch.nn.utils.clip_grad_norm_).
import { Tensor, keep } from '../tensor';
import * as k from '../kernels/support';

/**
 * Scales every gradient by maxNorm / (norm + 1e-6) when the global norm of all gradients exceeds
 * maxNorm; returns the norm before clipping. A non-finite norm is returned and nothing is scaled.
 */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  if (!Array.isArray(params)) throw new TypeError('clipGradNorm: params must be an array of Tensors');
  if (typeof maxNorm !== 'number' || !(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be a number > 0, got ${String(maxNorm)}`);
  const grads = params.filter((p, i) => {
    if (!(p instanceof Tensor)) throw new TypeError(`clipGradNorm: params[${i}] must be a Tensor`);
    return p.grad !== null;
  });
  if (!grads.length) return 0;
  // sum the squares on the device, read back once
  const byDevice = new Map<string, Tensor>();
  for (const p of grads) {
    const s = k.sumSquares(p.grad as Tensor);
    const acc = byDevice.get(p.device);
    if (acc) {
      k.axpyInPlace(acc, s, 1);
      s.dispose();
    } else {
      byDevice.set(p.device, s);
    }
  }
  let sq = 0;
  for (const t of byDevice.values()) {
    sq += t.item();
    t.dispose();
  }
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm) || norm <= maxNorm) return norm;
  const c = maxNorm / (norm + 1e-6);
  for (const p of grads) {
    const g = p.grad as Tensor;
    p.grad = keep(k.affine(g, c, 0));
    g.dispose();
  }
  return norm;
}
