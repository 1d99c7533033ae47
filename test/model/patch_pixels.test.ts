// The pixel embedding of image codes (config.patchPixels): zero at the start, then a code's
// embedding is its learned row plus W . (its codebook patch), in generation and grounding alike.
import * as eg from '../../lib';
import { withShape } from '../../lib/train/trainer';
import { LAYOUT } from './fixtures';
import { argmax, tinyModel } from './helpers';

const { ops } = eg;
const M = eg.model;
const K = 32;

function setWeight(m: eg.model.EchoGen, seed: number): void {
  const w = m.patchPixels!.weight;
  const r = new eg.nn.InitRng(seed);
  m.patchPixels!.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: w.size }, () => (r.uniform() - 0.5) * 0.1), w.shape) });
}

describe('patch pixel embedding', () => {
  test('starts as a no-op: the same logits as the model without it', () => {
    const plain = tinyModel(K, 4, 32, true, false, false), px = tinyModel(K, 4, 32, true, false, true);
    try {
      px.loadStateDict(plain.stateDict(), { strict: false });
      const logits = (m: eg.model.EchoGen): number[] => eg.tidy(() => ops.noGrad(() => {
        const b = m.collate([M.l2iSequence(m.vocab, LAYOUT, Array.from({ length: 64 }, (_, i) => i % K))]);
        return Array.from(m.imageLogits(ops.reshape(m.forward(b), [b.length, 32])).toArray());
      }));
      expect(logits(px)).toEqual(logits(plain));
    } finally {
      plain.dispose();
      px.dispose();
    }
  });

  test("a code's embedding is its row plus W . codebook[code] (float64 reference)", () => {
    const m = tinyModel(K, 5, 32, true, false, true);
    try {
      setWeight(m, 9);
      const code = 7, D = 32, P = 8 * 8 * 3;
      const got = eg.tidy(() => m.tokenEmbedding(eg.tensor([m.vocab.image(code)], [1], { dtype: 'i32' })).toArray());
      const row = m.tokens.weight.toArray(), W = m.patchPixels!.weight.toArray(), cb = m.vq.codebook.toArray();
      for (let d = 0; d < D; d++) {
        let want = row[m.vocab.image(code) * D + d];
        for (let j = 0; j < P; j++) want += W[d * P + j] * cb[code * P + j];
        expect(Math.abs(got[d] - want)).toBeLessThan(1e-5);
      }
      // A text token is untouched.
      const w = eg.tidy(() => m.tokenEmbedding(eg.tensor([m.vocab.coord(5)], [1], { dtype: 'i32' })).toArray());
      expect(Array.from(w)).toEqual(Array.from(row.subarray(m.vocab.coord(5) * D, (m.vocab.coord(5) + 1) * D)));
    } finally {
      m.dispose();
    }
  });

  test('greedy generate() equals the full-forward argmax with it on; withShape carries a model over', () => {
    const plain = tinyModel(K, 6, 32, true, true, false);
    const m = withShape(plain, { patchPixels: true });
    try {
      expect(m.config.patchPixels).toBe(true);
      expect(Array.from(m.patchPixels!.weight.toArray()).every((v) => v === 0)).toBe(true);
      setWeight(m, 3);
      const codes = Array.from(m.generate(LAYOUT, { temperature: 0 }).codes.toArray());
      const full = eg.tidy(() => ops.noGrad(() => {
        const b = m.collate([M.l2iSequence(m.vocab, LAYOUT, codes)]);
        return m.imageLogits(ops.gatherRows(ops.reshape(m.forward(b), [b.length, 32]), b.imageRows)).toArray();
      }));
      expect(codes.map((_, s) => argmax(full, s * K, (s + 1) * K))).toEqual(codes);
    } finally {
      m.dispose();
    }
  });
});
