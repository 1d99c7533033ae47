// Sampling image codes for layouts with the KV cache (as EchoGen.generate does, with the same
// noise stream), keeping the codes as JS integers: the trainer needs them on the host anyway (to
// build the GRPO sequences), and graph concat is f32-only.
import { Tensor, tensor, tidy } from '../tensor';
import * as ops from '../autograd';
import { gumbelSoftmax } from '../kernels';
import { EchoGen, Layout, l2iPrompt, withDecoder } from '../model';

export interface Sampled {
  /** [B * tokensPerImage] codes, row-major by layout. */
  codes: Int32Array;
  /** f32 [B, S, S, 3] decoded images. */
  images: Tensor;
}

export function sampleImages(model: EchoGen, layouts: readonly Layout[], opts: { temperature?: number; seed?: number } = {}): Sampled {
  const temperature = opts.temperature ?? 1, seed = opts.seed ?? 0;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`sampleImages: temperature must be a finite number >= 0, got ${temperature}`);
  if (layouts.length === 0) throw new RangeError('sampleImages: need at least one layout');
  const B = layouts.length, K = model.config.codebookSize, n = model.vq.tokensPerImage;
  const codes = new Int32Array(B * n);
  withDecoder(model, layouts.map((l) => l2iPrompt(model.vocab, l)), (dec) => {
    const table = model.imageTokenTable();
    let h = dec.prefill();
    for (let s = 0; s < n; s++) {
      const picked = tidy(() => {
        const logits = model.imageLogits(h);
        if (temperature > 0) return gumbelSoftmax(ops.scale(logits, 1 / temperature), { tau: 1, seed, offset: s * B * K }).indices.toArray();
        const a = logits.toArray(), out = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          let best = 0;
          for (let k = 1; k < K; k++) if (a[b * K + k] > a[b * K + best]) best = k;
          out[b] = best;
        }
        return out;
      });
      for (let b = 0; b < B; b++) codes[b * n + s] = picked[b];
      if (s + 1 < n) h = dec.step(ops.embedding(table, tensor(Int32Array.from(picked), [B], { dtype: 'i32', device: model.device })));
    }
  });
  const images = tidy(() => model.vq.decode(tensor(codes, [B, n], { dtype: 'i32', device: model.device })));
  return { codes, images };
}
