// Conversions between the world's images (Uint8Array, 64x64 RGB, row-major, 3 bytes a pixel) and
// the f32 [N, S, S, 3] tensors in [0, 1] that the VQ tokenizer reads and writes.
import { Device, Tensor, tensor } from '../tensor';

// A module-level copy: per-pixel global lookups of `Math` are slow inside vm contexts (jest).
const { round, min, max, log10 } = Math;

export function imagesToTensor(images: readonly Uint8Array[], size = 64, device: Device = 'cpu'): Tensor {
  const n = size * size * 3;
  const out = new Float32Array(images.length * n);
  images.forEach((img, i) => {
    if (!(img instanceof Uint8Array) || img.length !== n) throw new RangeError(`imagesToTensor: images[${i}] must be a Uint8Array of ${n} bytes (${size}x${size} RGB)`);
    for (let k = 0; k < n; k++) out[i * n + k] = img[k] / 255;
  });
  return tensor(out, [images.length, size, size, 3], { device });
}

/** f32 [N, S, S, 3] (or [S, S, 3]) in [0, 1] -> N byte images (rounded, clamped). */
export function tensorToImages(t: Tensor): Uint8Array[] {
  const shape = t.rank === 3 ? [1, ...t.shape] : t.shape;
  if (t.dtype !== 'f32' || shape.length !== 4 || shape[3] !== 3) throw new RangeError(`tensorToImages: expected f32 [N, S, S, 3], got ${t.dtype} [${t.shape}]`);
  const data = t.toArray();
  const n = shape[1] * shape[2] * 3;
  return Array.from({ length: shape[0] }, (_, i) => {
    const img = new Uint8Array(n);
    for (let k = 0; k < n; k++) img[k] = round(min(1, max(0, data[i * n + k])) * 255);
    return img;
  });
}

/** Peak signal-to-noise ratio in dB of two byte images (or sets of them), peak 255. */
export function psnr(a: readonly Uint8Array[], b: readonly Uint8Array[]): number {
  if (a.length !== b.length) throw new RangeError(`psnr: ${a.length} vs ${b.length} images`);
  let se = 0, n = 0;
  a.forEach((x, i) => {
    if (x.length !== b[i].length) throw new RangeError(`psnr: image ${i} sizes differ (${x.length} vs ${b[i].length})`);
    for (let k = 0; k < x.length; k++) se += (x[k] - b[i][k]) ** 2;
    n += x.length;
  });
  return se === 0 ? Infinity : 10 * log10((255 * 255 * n) / se);
}
