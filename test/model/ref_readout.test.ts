// The referring readout (config.refReadout): which rows a batch's queries read (hand-checked), the
// readout against a float64 reference, a no-op at the start, and ground() (KV cache, left padding)
// against the full forward pass with the readout on.
import * as eg from '../../lib';
import { withShape } from '../../lib/train/trainer';
import { QUERY_GAIN, refIndex } from '../../lib/model/ref_readout';
import { GEO_FEATURES } from '../../lib/model/geometry';
import { LAYOUT, WORDS } from './fixtures';
import { argmax, randomCodes, randomVq } from './helpers';

const { ops } = eg;
const M = eg.model;
const K = 32;

function readoutModel(seed: number): eg.model.EchoGen {
  return M.EchoGen.create({ dim: 32, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true, refReadout: true }, { words: WORDS, vq: randomVq(K), seed });
}

/** Gives the readout's output map random weights (it starts at zero). */
function wake(m: eg.model.EchoGen, seed: number): void {
  const w = m.refReadout!.out.weight, r = new eg.nn.InitRng(seed);
  m.refReadout!.out.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: w.size }, () => (r.uniform() - 0.5) * 2), w.shape) });
}

describe('referring readout', () => {
  test('refIndex: each query reads its expression words and its own image prefix; its rows map back to it', () => {
    const v = new M.Vocabulary(WORDS, K);
    const codes = randomCodes(64, K, 3);
    const s = M.pmtpSequence(v, LAYOUT, codes);
    const T = s.ids.length + 2;
    const idx = refIndex([s, s], T, 64);
    expect(idx.count).toBe(4);
    const words = (e: string): number[] => v.words(e);
    expect(Array.from(idx.wordIds)).toEqual([...words('red circle'), ...words('blue square'), ...words('red circle'), ...words('blue square')]);
    // Averaging weights: 1/2 over each query's own two words.
    const W = idx.wordIds.length;
    for (let q = 0; q < 4; q++) for (let w = 0; w < W; w++) expect(idx.wordMean[q * W + w]).toBe(Math.floor(w / 2) === q ? 0.5 : 0);
    // The image prefix: <i2l> <img> then the 64 codes, in segment 1.
    const start = s.seg.indexOf(M.SEG_IMAGE_PREFIX) + 2;
    expect(s.ids.slice(start, start + 64)).toEqual(codes.map((c) => v.image(c)));
    for (let q = 0; q < 4; q++) {
      const b = q >> 1;
      expect(Array.from(idx.patchRows.subarray(q * 64, (q + 1) * 64))).toEqual(codes.map((_, k) => b * T + start + k));
      expect(Array.from(idx.patchIds.subarray(q * 64, (q + 1) * 64))).toEqual(codes.map((c) => v.image(c)));
    }
    // Every token of query r's segment (and only those) maps to it.
    s.seg.forEach((g, t) => {
      const want = g >= M.SEG_FIRST_QUERY ? g - M.SEG_FIRST_QUERY : -1;
      expect(idx.rowQuery[t]).toBe(want);
      expect(idx.rowQuery[T + t]).toBe(want < 0 ? -1 : want + 2);
    });
    expect(idx.rowQuery[s.ids.length]).toBe(-1);
    // The patches whose centres lie in each query's box (8 x 8 grid, centres at (c + 0.5) / 8): the
    // red circle [0.125, 0.25, 0.375, 0.5] covers columns 1-2 of rows 2-3, the blue square
    // [0.5, 0.5, 0.875, 0.8125] columns 4-6 of rows 4-6.
    const marked = (q: number): number[] => Array.from(idx.inBox!.subarray(q * 64, (q + 1) * 64)).flatMap((v, p) => (v ? [p] : []));
    expect(marked(0)).toEqual([17, 18, 25, 26]);
    expect(marked(1)).toEqual([36, 37, 38, 44, 45, 46, 52, 53, 54]);
    expect(marked(2)).toEqual(marked(0));
    // A prompt has no box: nothing to supervise.
    expect(refIndex([M.i2lPrompt(v, codes, 'red circle')], T, 64).inBox).toBeNull();
    // Left padding shifts the rows.
    const shifted = refIndex([s], T, 64, [2]);
    expect(Array.from(shifted.patchRows)).toEqual(Array.from(idx.patchRows.subarray(0, 128)).map((r) => r + 2));
    expect(() => refIndex([s], T, 16)).toThrow(/sequence 0 has 64 image patches in its prefix, expected 16/);
  });

  test('forward and the attention loss equal a float64 reference (gained mean of word embeddings; keys from states and code embeddings; per-head softmax)', () => {
    const m = readoutModel(1);
    try {
      wake(m, 2);
      const ro = m.refReadout!, D = 32, H = 4, d = 8, N = 6, rows = 20;
      const r = new eg.nn.InitRng(5);
      const hidden = Float32Array.from({ length: rows * D }, () => r.uniform() * 2 - 1);
      const geo = Float32Array.from({ length: N * GEO_FEATURES }, () => r.uniform() * 2 - 1);
      const index = {
        count: 2, wordIds: Int32Array.from([20, 21, 22]), wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1]),
        patchRows: Int32Array.from([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]), patchIds: Int32Array.from([3, 40, 41, 7, 50, 3, 60, 61, 62, 3, 40, 9]), rowQuery: new Int32Array(rows).fill(-1),
        inBox: Float32Array.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      };
      const [got, gotLoss] = eg.tidy(() => ops.noGrad(() => {
        const out = ro.read(eg.tensor(hidden, [rows, D]), m.tokens.weight, eg.tensor(geo, [N, GEO_FEATURES]), index);
        return [out.r.toArray(), out.attentionLoss!.item()] as const;
      }));
      let wantLoss = 0;
      const table = m.tokens.weight.toArray(), Wq = ro.query.weight.toArray(), Wk = ro.key.weight.toArray(), We = ro.keyEmbed.weight.toArray(), Wv = ro.value.weight.toArray(), Wo = ro.out.weight.toArray();
      const lin = (W: ArrayLike<number>, x: ArrayLike<number>, out: number, inn: number): number[] =>
        Array.from({ length: out }, (_, o) => { let s = 0; for (let i = 0; i < inn; i++) s += W[o * inn + i] * x[i]; return s; });
      for (let q = 0; q < 2; q++) {
        const e = new Array<number>(D).fill(0);
        index.wordIds.forEach((id, w) => { for (let c = 0; c < D; c++) e[c] += index.wordMean[q * 3 + w] * table[id * D + c]; });
        const qv = lin(Wq, e, D, D).map((x) => x * QUERY_GAIN);
        const keys = Array.from({ length: N }, (_, p) => {
          const a = lin(Wk, hidden.subarray(index.patchRows[q * N + p] * D), D, D), b = lin(We, table.subarray(index.patchIds[q * N + p] * D), D, D);
          return a.map((x, c) => x + b[c]);
        });
        const vals = Array.from({ length: N }, (_, p) => lin(Wv, geo.subarray(p * GEO_FEATURES), D, GEO_FEATURES));
        const read = new Array<number>(D).fill(0);
        let mass = 0;
        for (let h = 0; h < H; h++) {
          const sc = keys.map((k) => { let s = 0; for (let c = 0; c < d; c++) s += qv[h * d + c] * k[h * d + c]; return s / Math.sqrt(d); });
          const mx = Math.max(...sc), ex = sc.map((x) => Math.exp(x - mx)), z = ex.reduce((a, b) => a + b, 0);
          for (let p = 0; p < N; p++) for (let c = 0; c < d; c++) read[h * d + c] += (ex[p] / z) * vals[p][h * d + c];
          for (let p = 0; p < N; p++) mass += (index.inBox[q * N + p] * ex[p]) / z / H;
        }
        wantLoss -= Math.log(mass + 1e-4) / 2;
        const want = lin(Wo, read, D, D);
        for (let c = 0; c < D; c++) expect(Math.abs(got[q * D + c] - want[c])).toBeLessThan(1e-4);
      }
      expect(Math.abs(gotLoss - wantLoss)).toBeLessThan(1e-4);
    } finally {
      m.dispose();
    }
  });

  test('withShape adds it as a no-op: the same box loss as the model without it', () => {
    const plain = M.EchoGen.create({ dim: 32, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true }, { words: WORDS, vq: randomVq(K), seed: 4 });
    const loss = (m: eg.model.EchoGen): number => eg.tidy(() => ops.noGrad(() => m.loss(m.collate([M.pmtpSequence(m.vocab, LAYOUT, randomCodes(64, K, 8))])).text!.item()));
    const before = loss(plain);
    const m = withShape(plain, { refReadout: true });
    try {
      expect(m.config.refReadout).toBe(true);
      expect(loss(m)).toBe(before);
      wake(m, 3);
      expect(Math.abs(loss(m) - before)).toBeGreaterThan(1e-3);
    } finally {
      m.dispose();
    }
    expect(() => M.EchoGen.create({ dim: 32, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: false, refReadout: true }, { words: WORDS, vq: randomVq(K) }))
      .toThrow(/config.refReadout needs config.geometry/);
  });

  test('ground() (left-padded, KV cache) returns the full-forward argmax box with the readout on', () => {
    const m = readoutModel(7);
    try {
      wake(m, 11);
      const codes = [randomCodes(64, K, 1), randomCodes(64, K, 2)];
      const imgs = m.vq.decode(eg.tensor(Int32Array.from(codes.flat()), [2, 64], { dtype: 'i32' }));
      const exprs = ['red circle', 'small green striped triangle'];
      const boxes = m.ground(imgs, exprs);
      const enc = m.vq.encode(imgs).toArray();
      boxes.forEach((box, b) => {
        const bins = M.quantizeBox(box);
        const seq = M.i2lSequence(m.vocab, Array.from(enc.subarray(b * 64, (b + 1) * 64)), { expr: exprs[b], box });
        const coord = eg.tidy(() => ops.noGrad(() => {
          const batch = m.collate([seq]);
          const flat = ops.reshape(m.forward(batch), [batch.length, m.config.dim]);
          const refs = m.readRefs(flat, batch.refs)!.r;
          const h = ops.add(ops.gatherRows(flat, batch.textRows), ops.concat([refs, refs, refs, refs, refs], 0));
          return [0, 1, 2, 3].map((s) => m.coordLogits(ops.slice(h, 0, s, s + 1), s).toArray() as Float32Array);
        }));
        const pick = (s: number, from: number): number => from + argmax(coord[s], from, 64);
        expect([pick(0, 0), pick(1, 0), pick(2, bins[0]), pick(3, bins[1])]).toEqual(bins);
      });
    } finally {
      m.dispose();
    }
  });
});
