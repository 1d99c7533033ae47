// The referring readout (config.refReadout): which rows a batch's queries read (hand-checked), the
// readout against a float64 reference, a no-op at the start, and ground() (KV cache, left padding)
// against the full forward pass with the readout on.
import * as eg from '../../lib';
import { withShape } from '../../lib/train/trainer';
import { NEIGHBOUR_DIM, QUERY_GAIN, RefIndex, RefReadout, distinctPrefixes, neighbourRows, refIndex } from '../../lib/model/ref_readout';
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

function relationModel(seed: number): eg.model.EchoGen {
  return M.EchoGen.create({ dim: 32, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true, refReadout: true, refRelations: true }, { words: WORDS, vq: randomVq(K), seed });
}

/** Gives the readout's relation maps U_rel random weights (they start at zero). */
function wakeRelations(m: eg.model.EchoGen, seed: number): void {
  const w = m.refReadout!.relation!.weight, r = new eg.nn.InitRng(seed);
  m.refReadout!.relation!.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: w.size }, () => (r.uniform() - 0.5) * 0.5), w.shape) });
}

/** Two queries over 6 patches of 20 random hidden rows (dim 32), with boxes. */
function readoutCase(seed: number): { hidden: Float32Array; geo: Float32Array; index: RefIndex } {
  const r = new eg.nn.InitRng(seed);
  return {
    hidden: Float32Array.from({ length: 20 * 32 }, () => r.uniform() * 2 - 1),
    geo: Float32Array.from({ length: 6 * GEO_FEATURES }, () => r.uniform() * 2 - 1),
    index: {
      count: 2, wordIds: Int32Array.from([20, 21, 22]), wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1]), relation: Int32Array.from([-1, -1]), anchorMean: null,
      patchRows: Int32Array.from([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]), patchIds: Int32Array.from([3, 40, 41, 7, 50, 3, 60, 61, 62, 3, 40, 9]), rowQuery: new Int32Array(20).fill(-1),
      inBox: Float32Array.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    },
  };
}

/**
 * The readout's r and attention loss in float64 (dim 32, 4 heads): per head, scores
 * q.k / sqrt(8) with q = gain Wq mean(words), k = Wk h + We e(code); with a relation, q and k gain
 * the parts (U_rel a) and Wp geo, where a = Wv-space read of hop 1 with the anchor's words.
 */
function checkAgainstReference(m: eg.model.EchoGen, hidden: Float32Array, geo: Float32Array, index: RefIndex, sharpen = 1): void {
  checkReadout(m.refReadout!, m.tokens.weight, hidden, geo, index, sharpen);
}

/** checkAgainstReference for a readout and token table of its own (dim 32, 4 heads). */
function checkReadout(ro: RefReadout, tableT: eg.Tensor, hidden: Float32Array, geo: Float32Array, index: RefIndex, sharpen = 1): void {
  const D = 32, H = 4, d = 8, Q = index.count, N = index.patchRows.length / Q, rows = hidden.length / D, W = index.wordIds.length;
  const [got, gotLoss] = eg.tidy(() => ops.noGrad(() => {
    const out = ro.read(eg.tensor(hidden, [rows, D]), tableT, eg.tensor(geo, [N, GEO_FEATURES]), index);
    return [out.r.toArray(), out.attentionLoss!.item()] as const;
  }));
  const table = tableT.toArray(), Wq = ro.query.weight.toArray(), Wk = ro.key.weight.toArray(), We = ro.keyEmbed.weight.toArray(), Wv = ro.value.weight.toArray(), Wo = ro.out.weight.toArray();
  const Ur = ro.relation?.weight.toArray(), Wp = ro.keyPos?.weight.toArray();
  const Wn1 = ro.neighbourIn?.weight.toArray(), Wn2 = ro.neighbourOut?.weight.toArray();
  const lin = (M: ArrayLike<number>, x: ArrayLike<number>, out: number, inn: number, row0 = 0): number[] =>
    Array.from({ length: out }, (_, o) => { let s = 0; for (let i = 0; i < inn; i++) s += M[(row0 + o) * inn + i] * x[i]; return s; });
  const ask = (mean: ArrayLike<number>, q: number): number[] => {
    const e = new Array<number>(D).fill(0);
    index.wordIds.forEach((id, w) => { for (let c = 0; c < D; c++) e[c] += mean[q * W + w] * table[id * D + c]; });
    return lin(Wq, e, D, D).map((x) => x * QUERY_GAIN);
  };
  /** Per-head softmax weights [H][N] of query parts against key parts, the scores times `gain`. */
  const weights = (parts: [number[], number[][]][], gain = 1): number[][] => Array.from({ length: H }, (_, h) => {
    const sc = Array.from({ length: N }, (_, p) => gain * parts.reduce((s, [qv, keys]) => { for (let c = 0; c < d; c++) s += qv[h * d + c] * keys[p][h * d + c]; return s; }, 0) / Math.sqrt(d));
    const mx = Math.max(...sc), ex = sc.map((x) => Math.exp(x - mx)), z = ex.reduce((a, b) => a + b, 0);
    return ex.map((x) => x / z);
  });
  const vals = Array.from({ length: N }, (_, p) => lin(Wv, geo.subarray(p * GEO_FEATURES), D, GEO_FEATURES));
  const readOut = (w: number[][]): number[] => Array.from({ length: D }, (_, c) => w[Math.floor(c / d)].reduce((s, x, p) => s + x * vals[p][c], 0));
  let wantLoss = 0, supervised = 0;
  for (let q = 0; q < Q; q++) {
    const keys = Array.from({ length: N }, (_, p) => {
      const a = lin(Wk, hidden.subarray(index.patchRows[q * N + p] * D), D, D), b = lin(We, table.subarray(index.patchIds[q * N + p] * D), D, D);
      const key = a.map((x, c) => x + b[c]);
      if (Wn1 && Wn2) {
        // The neighbours' codes at NEIGHBOUR_DIM, offsets in raster order, zero off the grid.
        const side = Math.round(Math.sqrt(N)), r = Math.floor(p / side), c0 = p % side, around: number[] = [];
        for (let dr = -ro.radius; dr <= ro.radius; dr++) {
          for (let dc = -ro.radius; dc <= ro.radius; dc++) {
            if (dr === 0 && dc === 0) continue;
            const rr = r + dr, cc = c0 + dc, inside = rr >= 0 && rr < side && cc >= 0 && cc < side;
            around.push(...(inside ? lin(Wn1, table.subarray(index.patchIds[q * N + rr * side + cc] * D), NEIGHBOUR_DIM, D) : new Array<number>(NEIGHBOUR_DIM).fill(0)));
          }
        }
        lin(Wn2, around, D, around.length).forEach((x, c) => { key[c] += x; });
      }
      return key;
    });
    const parts: [number[], number[][]][] = [[ask(index.wordMean, q), keys]];
    const rel = index.relation[q];
    if (rel >= 0 && index.anchorMean && Ur && Wp) {
      const a = readOut(weights([[ask(index.anchorMean, q), keys]]));
      parts.push([lin(Ur, a, D, D, rel * D), Array.from({ length: N }, (_, p) => lin(Wp, geo.subarray(p * GEO_FEATURES), D, GEO_FEATURES))]);
    }
    // RefReadout.sharpen scales the read's scores, not hop 1's and not the attention loss's.
    const want = lin(Wo, readOut(weights(parts, sharpen)), D, D);
    const w = weights(parts);
    for (let c = 0; c < D; c++) expect(Math.abs(got[q * D + c] - want[c])).toBeLessThan(1e-4);
    let mass = 0;
    for (let h = 0; h < H; h++) for (let p = 0; p < N; p++) mass += (index.inBox![q * N + p] * w[h][p]) / H;
    if (index.inBox!.subarray(q * N, (q + 1) * N).some((x) => x > 0)) { wantLoss -= Math.log(mass + 1e-4); supervised++; }
  }
  expect(Math.abs(gotLoss - wantLoss / supervised)).toBeLessThan(1e-4);
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
      const { hidden, geo, index } = readoutCase(5);
      checkAgainstReference(m, hidden, geo, index);
    } finally {
      m.dispose();
    }
  });

  test('sharpen multiplies the read\'s scores (float64 reference), leaves the attention loss and hop 1 as trained, and refuses non-positive values', () => {
    for (const make of [readoutModel, relationModel]) {
      const m = make(3);
      try {
        wake(m, 4);
        if (m.refReadout!.relation) wakeRelations(m, 6);
        const { hidden, geo, index } = readoutCase(7);
        const withRelation = m.refReadout!.relation ? { ...index, wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1]), anchorMean: Float32Array.from([0, 0, 1, 0, 0, 0]), relation: Int32Array.from([2, -1]) } : index;
        m.refReadout!.sharpen = 3;
        checkAgainstReference(m, hidden, geo, withRelation, 3);
        for (const bad of [0, -1, NaN, Infinity]) expect(() => { m.refReadout!.sharpen = bad; }).toThrow(/RefReadout.sharpen must be a positive finite number/);
        expect(m.refReadout!.sharpen).toBe(3);
      } finally {
        m.dispose();
      }
    }
  });

  test('neighbourRows: each patch\'s 24 neighbours in raster order of the offsets, the zero row off the grid (hand-checked on a 3x3 grid)', () => {
    const rows = neighbourRows(2, 3);
    expect(rows.length).toBe(2 * 9 * 24);
    const zero = 18;
    // Patch 0 (row 0, col 0) of query 0: offsets (-2..2, -2..2) without (0, 0); only (0,1), (0,2), (1,0..2), (2,0..2) are on the grid.
    const want0 = [
      zero, zero, zero, zero, zero,
      zero, zero, zero, zero, zero,
      zero, zero, /* self */ 1, 2,
      zero, zero, 3, 4, 5,
      zero, zero, 6, 7, 8,
    ];
    expect(Array.from(rows.subarray(0, 24))).toEqual(want0);
    // Patch 4 (the centre) of query 1: every patch of the 3x3 grid but itself, offset by 9; the outer ring is off the grid.
    const centre = Array.from(rows.subarray((9 + 4) * 24, (9 + 5) * 24));
    expect(centre.filter((r) => r !== zero).sort((a, b) => a - b)).toEqual([9, 10, 11, 12, 14, 15, 16, 17]);
    expect(centre.slice(6, 9)).toEqual([9, 10, 11]);
  });

  test('neighbours: the keys\' 5x5 neighbourhood part equals a float64 reference; it starts at zero; it needs refReadout and a square grid', () => {
    const r = new eg.nn.InitRng(11), D = 32, N = 9, rows = 12;
    const ro = new RefReadout(D, 4, new eg.nn.InitRng(12), { neighbours: 3 });
    const table = eg.tensor(Float32Array.from({ length: 70 * D }, () => r.uniform() * 2 - 1), [70, D]);
    try {
      expect(Array.from(ro.neighbourOut!.weight.toArray()).every((x) => x === 0)).toBe(true);
      for (const lin of [ro.out, ro.neighbourOut!]) lin.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: lin.weight.size }, () => (r.uniform() - 0.5) * 2), lin.weight.shape) });
      const index: RefIndex = {
        count: 2, wordIds: Int32Array.from([20, 21, 22]), wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1]), relation: Int32Array.from([-1, -1]), anchorMean: null,
        patchRows: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        patchIds: Int32Array.from([3, 40, 41, 7, 50, 3, 60, 61, 62, 3, 40, 9, 9, 9, 41, 41, 50, 3]), rowQuery: new Int32Array(rows).fill(-1),
        inBox: Float32Array.from([0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1]),
      };
      const hidden = Float32Array.from({ length: rows * D }, () => r.uniform() * 2 - 1);
      const geo = Float32Array.from({ length: N * GEO_FEATURES }, () => r.uniform() * 2 - 1);
      checkReadout(ro, table, hidden, geo, index);
      // radius 1 (3x3): 8 neighbours; the reference reads the readout's radius
      const ro1 = new RefReadout(D, 4, new eg.nn.InitRng(13), { neighbours: 3, radius: 1 });
      try {
        expect(ro1.neighbourOut!.weight.shape).toEqual([D, 8 * NEIGHBOUR_DIM]);
        for (const lin of [ro1.out, ro1.neighbourOut!]) lin.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: lin.weight.size }, () => (r.uniform() - 0.5) * 2), lin.weight.shape) });
        checkReadout(ro1, table, hidden, geo, index);
      } finally {
        ro1.dispose();
      }
      expect(() => new RefReadout(D, 4, new eg.nn.InitRng(13), { neighbours: 3, radius: 0 })).toThrow(/radius must be a positive integer, got 0/);
      const wrongGrid = { ...index, patchRows: index.patchRows.subarray(0, 8), patchIds: index.patchIds.subarray(0, 8), count: 2 };
      expect(() => eg.tidy(() => ro.read(eg.tensor(hidden, [rows, D]), table, eg.tensor(geo.subarray(0, 4 * GEO_FEATURES), [4, GEO_FEATURES]), wrongGrid))).toThrow(/4 patches a query, expected 3x3/);
    } finally {
      ro.dispose();
      table.dispose();
    }
    expect(() => M.EchoGen.create({ dim: 32, layers: 1, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true, refNeighbours: true }, { words: WORDS, vq: randomVq(K), seed: 1 })).toThrow(/refNeighbours needs config.refReadout/);
    const base = { dim: 32, layers: 1, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true, refReadout: true };
    expect(() => M.EchoGen.create({ ...base, refNeighbourRadius: 3 }, { words: WORDS, vq: randomVq(K), seed: 1 })).toThrow(/config.refNeighbourRadius needs config.refNeighbours/);
    for (const bad of [0, 8, 1.5]) expect(() => M.EchoGen.create({ ...base, refNeighbours: true, refNeighbourRadius: bad }, { words: WORDS, vq: randomVq(K), seed: 1 })).toThrow(/config.refNeighbourRadius must be an integer from 1 to 7, got /);
    const wide = M.EchoGen.create({ ...base, refNeighbours: true, refNeighbourRadius: 3 }, { words: WORDS, vq: randomVq(K), seed: 1 });
    expect(wide.refReadout!.radius).toBe(3);
    expect(wide.refReadout!.neighbourOut!.weight.shape).toEqual([32, 48 * NEIGHBOUR_DIM]);
    expect(wide.config.refNeighbourRadius).toBe(3);
    wide.dispose();
  });

  test('distinctPrefixes: queries reading the same rows and codes share one prefix, in order of first use (hand-checked)', () => {
    // 4 queries of 2 patches: 0 and 2 read rows (5, 6), 1 and 3 read (8, 9); query 3's codes differ from 1's.
    const rows = Int32Array.from([5, 6, 8, 9, 5, 6, 8, 9]), ids = Int32Array.from([40, 41, 42, 43, 40, 41, 42, 44]);
    const d = distinctPrefixes(rows, ids, 4, 2);
    expect(d.prefixes).toBe(3);
    expect(Array.from(d.rows)).toEqual([5, 6, 8, 9, 8, 9]);
    expect(Array.from(d.ids)).toEqual([40, 41, 42, 43, 42, 44]);
    expect(Array.from(d.expand!)).toEqual([0, 1, 2, 3, 0, 1, 4, 5]);
    // every query its own prefix: the arrays as given, nothing to expand
    const own = distinctPrefixes(rows.subarray(0, 4), ids.subarray(0, 4), 2, 2);
    expect(own).toEqual({ prefixes: 2, rows: rows.subarray(0, 4), ids: ids.subarray(0, 4), expand: null });
  });

  test('queries sharing a prefix: the read equals a float64 reference, and r and every gradient equal those of the same rows read from two copies', () => {
    const r = new eg.nn.InitRng(21), D = 32, N = 9, rows = 27;
    const ro = new RefReadout(D, 4, new eg.nn.InitRng(22), { neighbours: 3 });
    const table = eg.tensor(Float32Array.from({ length: 70 * D }, () => r.uniform() * 2 - 1), [70, D]);
    try {
      for (const lin of [ro.out, ro.neighbourOut!]) lin.loadStateDict({ weight: eg.tensor(Float32Array.from({ length: lin.weight.size }, () => (r.uniform() - 0.5) * 2), lin.weight.shape) });
      // Rows 18-26 are a copy of rows 0-8: queries 0 and 2 share rows 0-8 (one prefix), or query 2 reads the copy.
      const hidden = Float32Array.from({ length: rows * D }, () => r.uniform() * 2 - 1);
      hidden.copyWithin(18 * D, 0, 9 * D);
      const geo = Float32Array.from({ length: N * GEO_FEATURES }, () => r.uniform() * 2 - 1);
      const ids = [3, 40, 41, 7, 50, 3, 60, 61, 62];
      const span = (from: number): number[] => Array.from({ length: N }, (_, p) => from + p);
      const index = (third: number): RefIndex => ({
        count: 3, wordIds: Int32Array.from([20, 21, 22]), wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1, 0, 1, 0]), relation: Int32Array.from([-1, -1, -1]), anchorMean: null,
        patchRows: Int32Array.from([...span(0), ...span(9), ...span(third)]),
        patchIds: Int32Array.from([...ids, 9, 9, 41, 41, 50, 3, 3, 40, 9, ...ids]), rowQuery: new Int32Array(rows).fill(-1),
        inBox: Float32Array.from([0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0]),
      });
      const shared = index(0), copies = index(18);
      expect(distinctPrefixes(shared.patchRows, shared.patchIds, 3, N).prefixes).toBe(2);
      expect(distinctPrefixes(copies.patchRows, copies.patchIds, 3, N).prefixes).toBe(3);
      checkReadout(ro, table, hidden, geo, shared);
      const run = (ix: RefIndex): Float32Array[] => eg.tidy(() => {
        const params = ro.parameters();
        ops.zeroGrad(params);
        const h = eg.tensor(hidden, [rows, D]);
        h.requiresGrad = true;
        const out = ro.read(h, table, eg.tensor(geo, [N, GEO_FEATURES]), ix);
        const r = out.r.toArray() as Float32Array;
        ops.backward(ops.add(ops.sum(ops.mul(out.r, out.r)), out.attentionLoss!));
        const hGrad = h.grad!.toArray() as Float32Array;
        // the copy's rows' gradient belongs to the rows it copies
        for (let i = 0; i < 9 * D; i++) hGrad[i] += hGrad[18 * D + i], hGrad[18 * D + i] = 0;
        return [r, hGrad, ...params.map((w) => w.grad!.toArray() as Float32Array)];
      });
      const a = run(shared), b = run(copies);
      expect(a.length).toBe(b.length);
      const relErr = a.map((x, i) => {
        let err = 0, scale = 1e-6;
        x.forEach((v, j) => { err = Math.max(err, Math.abs(v - b[i][j])); scale = Math.max(scale, Math.abs(b[i][j])); });
        return err / scale;
      });
      expect(Math.max(...relErr)).toBeLessThan(1e-5);
      expect(a[1].some((v) => v !== 0)).toBe(true);
    } finally {
      ro.dispose();
      table.dispose();
    }
  });

  test('refIndex with relation phrases: the target\'s words before the phrase, the anchor\'s after it, the relation\'s index', () => {
    const v = new M.Vocabulary(WORDS, K);
    const phrases = eg.data.RELATIONS.map((r) => v.words(r));
    const codes = randomCodes(64, K, 3);
    const exprs = ['red circle left of the blue square', 'blue square', 'small red circle in front of a green triangle'];
    const idx = refIndex(exprs.map((e) => M.i2lPrompt(v, codes, e)), 90, 64, undefined, phrases);
    expect(idx.count).toBe(3);
    // The phrase's own words are left out of both means.
    const kept = ['red circle the blue square', 'blue square', 'small red circle a green triangle'].flatMap((e) => v.words(e));
    expect(Array.from(idx.wordIds)).toEqual(kept);
    expect(Array.from(idx.relation)).toEqual([0, -1, 4]);
    const W = kept.length;
    const row = (a: Float32Array, q: number): number[] => Array.from(a.subarray(q * W, (q + 1) * W));
    const z = (n: number): number[] => new Array<number>(n).fill(0);
    expect(row(idx.wordMean, 0)).toEqual([0.5, 0.5, ...z(W - 2)]);
    expect(row(idx.anchorMean!, 0)).toEqual([0, 0, 1 / 3, 1 / 3, 1 / 3, ...z(W - 5)].map(Math.fround));
    expect(row(idx.wordMean, 1)).toEqual([...z(5), 0.5, 0.5, ...z(W - 7)]);
    expect(row(idx.anchorMean!, 1)).toEqual(z(W));
    expect(row(idx.wordMean, 2)).toEqual([...z(7), 1 / 3, 1 / 3, 1 / 3, 0, 0, 0].map(Math.fround));
    expect(row(idx.anchorMean!, 2)).toEqual([...z(10), 1 / 3, 1 / 3, 1 / 3].map(Math.fround));
    // Without phrases the whole expression is one bag, as before.
    const plain = refIndex([M.i2lPrompt(v, codes, exprs[0])], 90, 64);
    expect(Array.from(plain.relation)).toEqual([-1]);
    expect(plain.anchorMean).toBeNull();
    expect(Array.from(plain.wordMean)).toEqual(new Array<number>(7).fill(1 / 7).map(Math.fround));
  });

  test('relations: the two-hop read and its attention loss equal a float64 reference; with U_rel at zero it is the target words\' plain read', () => {
    const m = relationModel(1);
    try {
      wake(m, 2);
      const { hidden, geo, index } = readoutCase(6);
      // Query 0: target words 20, 21; anchor 22 (relation 2, "above"). Query 1: no relation.
      const rel = { ...index, wordMean: Float32Array.from([0.5, 0.5, 0, 0, 0, 1]), anchorMean: Float32Array.from([0, 0, 1, 0, 0, 0]), relation: Int32Array.from([2, -1]) };
      const plain = { ...rel, anchorMean: null, relation: Int32Array.from([-1, -1]) };
      const read = (ix: typeof index): number[] => eg.tidy(() => ops.noGrad(() => Array.from(m.refReadout!.read(eg.tensor(hidden, [20, 32]), m.tokens.weight, eg.tensor(geo, [6, GEO_FEATURES]), ix).r.toArray())));
      const atZero = read(rel), bag = read(plain);
      atZero.forEach((x, i) => expect(Math.abs(x - bag[i])).toBeLessThan(1e-6));
      wakeRelations(m, 3);
      const woken = read(rel);
      expect(Math.max(...woken.slice(0, 32).map((x, i) => Math.abs(x - bag[i])))).toBeGreaterThan(1e-3);
      woken.slice(32).forEach((x, i) => expect(Math.abs(x - bag[32 + i])).toBeLessThan(1e-6));
      checkAgainstReference(m, hidden, geo, rel);
    } finally {
      m.dispose();
    }
    expect(() => M.EchoGen.create({ dim: 32, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry: true, refRelations: true }, { words: WORDS, vq: randomVq(K) }))
      .toThrow(/config.refRelations needs config.refReadout/);
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
