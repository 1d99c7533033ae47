// KV-cache decoding against the full forward pass, generate() and ground() against full-forward
// argmax decoding, and the sampler's distribution.
import * as eg from '../../lib';
import { LAYOUT } from './fixtures';
import { argmax, randomCodes, randomVq, tinyModel } from './helpers';
import { searchLayout } from '../../lib/model/echogen';

const { ops } = eg;
const M = eg.model;
const K = 32;

const layouts: eg.model.Layout[] = [
  LAYOUT,
  { caption: 'a small green triangle', objects: [{ expr: 'small green triangle', box: [0.1, 0.2, 0.3, 0.4] }] },
  { caption: 'a yellow square above a red circle and a blue triangle', objects: [
    { expr: 'yellow square', box: [0.3, 0.05, 0.6, 0.3] }, { expr: 'red circle', box: [0.3, 0.5, 0.6, 0.8] }, { expr: 'blue triangle', box: [0.7, 0.6, 0.95, 0.9] }] },
];

/** Full-forward logits [n, classes] at the loss rows of one sequence, for the head named. */
function fullLogits(model: eg.model.EchoGen, seq: eg.model.TokenSequence, head: 'image' | 'text'): { data: Float32Array; rows: number } {
  return eg.tidy(() => ops.noGrad(() => {
    const batch = M.collate([seq]);
    const h = ops.reshape(model.forward(batch), [batch.length, model.config.dim]);
    const rows = head === 'image' ? batch.imageRows : batch.textRows;
    const l = (head === 'image' ? model.imageLogits : model.textLogits).call(model, ops.gatherRows(h, rows));
    return { data: l.toArray() as Float32Array, rows: rows.size };
  }));
}

/** The coordinate logits of the full forward of one I2L sequence at the rows that predict x1, y1, x2, y2. */
function fullCoordLogits(m: eg.model.EchoGen, codes: number[], expr: string, box: eg.model.Box): Float32Array[] {
  const seq = M.i2lSequence(m.vocab, codes, { expr, box });
  return eg.tidy(() => ops.noGrad(() => {
    const batch = m.collate([seq]);
    const h = ops.gatherRows(ops.reshape(m.forward(batch), [batch.length, m.config.dim]), batch.textRows);
    return [0, 1, 2, 3].map((k) => m.coordLogits(ops.slice(h, 0, k, k + 1), k).toArray() as Float32Array);
  }));
}

/** log softmax(row)[i] in float64. */
function logSoftmaxAt(row: ArrayLike<number>, i: number): number {
  const a = Array.from(row);
  const mx = Math.max(...a);
  return a[i] - mx - Math.log(a.reduce((s, v) => s + Math.exp(v - mx), 0));
}

/** A box's log-probability from the full forward, in float64 (every bin allowed, as SampledBox.logProb). */
function fullBoxLogProb(m: eg.model.EchoGen, codes: number[], expr: string, box: eg.model.Box): number {
  const bins = M.quantizeBox(box);
  return fullCoordLogits(m, codes, expr, box).reduce((s, row, k) => s + logSoftmaxAt(row, bins[k]), 0);
}

/**
 * ground()'s boxes (KV cache, left-padded batch) against the full forward of each I2L sequence (the model's own
 * collate): at every coordinate row the greedy bin, searched from x1 / y1 for x2 / y2, is the box's bin. Returns the boxes.
 */
function expectGroundIsForwardArgmax(m: eg.model.EchoGen, imgs: eg.Tensor, exprs: string[]): eg.model.Box[] {
  const boxes = m.ground(imgs, exprs);
  const enc = m.vq.encode(imgs).toArray();
  boxes.forEach((box, b) => {
    expect(box[2]).toBeGreaterThan(box[0]);
    expect(box[3]).toBeGreaterThan(box[1]);
    const bins = M.quantizeBox(box);
    const coord = fullCoordLogits(m, Array.from(enc.subarray(b * 64, (b + 1) * 64)), exprs[b], box);
    const pick = (k: number, from: number): number => from + argmax(coord[k], from, 64);
    expect([pick(0, 0), pick(1, 0), pick(2, bins[0]), pick(3, bins[1])]).toEqual(bins);
  });
  return boxes;
}

describe('EchoGen decoding', () => {
  const model = tinyModel(K);
  afterAll(() => model.dispose());
  const codes = layouts.map((_, b) => randomCodes(64, K, 100 + b));

  test('KV-cache logits equal the full forward at every step (left-padded batch of 3 prompts)', () => {
    const full = layouts.map((l, b) => fullLogits(model, M.l2iSequence(model.vocab, l, codes[b]), 'image'));
    const prompts = layouts.map((l) => M.l2iPrompt(model.vocab, l));
    expect(new Set(prompts.map((p) => p.ids.length)).size).toBe(3);
    const worst = M.withDecoder(model, prompts, (dec) => {
      const table = model.imageTokenTable();
      let h = dec.prefill();
      const errs: number[] = [];
      for (let s = 0; s < 64; s++) {
        const got = model.imageLogits(h).toArray();
        let err = 0;
        for (let b = 0; b < 3; b++) for (let k = 0; k < K; k++) err = Math.max(err, Math.abs(got[b * K + k] - full[b].data[s * K + k]));
        errs.push(err);
        h = dec.step(ops.embedding(table, eg.tensor(Int32Array.from(codes.map((c) => c[s])), [3], { dtype: 'i32' })), M.geoPatch(s), s + 1 < 64 ? M.geoPatch(s + 1) : M.GEO_NONE);
      }
      return errs;
    });
    expect(worst.length).toBe(64);
    console.log(`KV cache vs full forward: max |logit diff| over 64 steps x 3 prompts = ${Math.max(...worst).toExponential(2)}`);
    expect(Math.max(...worst)).toBeLessThanOrEqual(1e-4);
  });

  test('greedy generate() picks the full-forward argmax at every step, and decodes the codes to images', () => {
    const { codes: got, images } = model.generate(layouts, { temperature: 0 });
    expect(got.shape).toEqual([3, 64]);
    expect(images.shape).toEqual([3, 64, 64, 3]);
    const c = got.toArray();
    layouts.forEach((l, b) => {
      const mine = Array.from(c.subarray(b * 64, (b + 1) * 64));
      const full = fullLogits(model, M.l2iSequence(model.vocab, l, mine), 'image');
      expect(mine.map((_, s) => argmax(full.data, s * K, (s + 1) * K))).toEqual(mine);
    });
    const ref = model.vq.decode(got);
    expect(Array.from(images.toArray())).toEqual(Array.from(ref.toArray()));
  });

  test('sampling: the same seed repeats, another seed differs, and codes follow softmax(logits / T)', () => {
    const a = model.generate(LAYOUT, { seed: 3, temperature: 1.5 }).codes.toArray();
    const b = model.generate(LAYOUT, { seed: 3, temperature: 1.5 }).codes.toArray();
    const c = model.generate(LAYOUT, { seed: 4, temperature: 1.5 }).codes.toArray();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    // First code of 600 independent rows vs the model's distribution: chi-square over K bins.
    const n = 600, T = 1.5;
    const first = model.generate(Array.from({ length: n }, () => LAYOUT), { seed: 9, temperature: T }).codes.toArray();
    const logits = fullLogits(model, M.l2iSequence(model.vocab, LAYOUT, Array.from(a)), 'image').data.subarray(0, K);
    const mx = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp((v - mx) / T));
    const z = e.reduce((s, v) => s + v, 0);
    const counts = new Array(K).fill(0);
    for (let r = 0; r < n; r++) counts[first[r * 64]]++;
    const chi2 = counts.reduce((s, o, k) => s + (o - (n * e[k]) / z) ** 2 / ((n * e[k]) / z), 0);
    // 31 degrees of freedom: P(chi2 > 61) < 0.001.
    expect(chi2).toBeLessThan(61);
  });

  test('ground() returns the constrained full-forward argmax box for each expression', () => {
    const imgs = model.vq.decode(eg.tensor(Int32Array.from(codes.flat()), [3, 64], { dtype: 'i32' }));
    const exprs = ['red circle', 'small green triangle', 'blue triangle'];
    const boxes = expectGroundIsForwardArgmax(model, imgs, exprs);
    // One image [S, S, 3] with one expression gives the same box as inside the (left-padded) batch.
    expect(model.ground(ops.slice(imgs, 0, 1, 2).reshape([64, 64, 3]), 'small green triangle')).toEqual(boxes[1]);
    // The world's byte images are accepted as they are.
    const bytes = M.tensorToImages(imgs);
    expect(model.ground(bytes, exprs)).toEqual(model.ground(M.imagesToTensor(bytes), exprs));
    expect(() => model.ground(bytes[0].subarray(1), 'red circle')).toThrow(/images\[0\] must be a Uint8Array of 12288 bytes/);
    expect(() => model.ground(imgs, ['red circle'])).toThrow(/expected images \[1, 64, 64, 3\] for 1 expression\(s\), got \[3,64,64,3\]/);
    expect(() => model.ground(imgs, ['red cirle', 'a', 'a'])).toThrow(/unknown word "cirle"/);
  });

  test('bidirectional image prefix: ground() is the full forward\'s argmax, and an early patch reads a later one', () => {
    const bi = M.EchoGen.create({ ...model.config, bidirectionalImage: true }, { words: model.config.words, vq: randomVq(K), seed: 0 });
    try {
      const imgs = bi.vq.decode(eg.tensor(Int32Array.from(codes.flat()), [3, 64], { dtype: 'i32' }));
      const exprs = ['red circle', 'small green triangle', 'blue triangle'];
      expectGroundIsForwardArgmax(bi, imgs, exprs);
      const enc = bi.vq.encode(imgs).toArray();
      const hidden = (seq: eg.model.TokenSequence): Float32Array => eg.tidy(() => ops.noGrad(() => bi.forward(bi.collate([seq])).toArray() as Float32Array));
      // The state of the first code moves when the last code changes (the causal model's cannot).
      const first = Array.from(enc.subarray(0, 64));
      const last = [...first.slice(0, 63), (first[63] + 1) % K];
      const D = bi.config.dim, row = 2;  // <i2l> <img> code_0: the first patch
      const diff = (m: eg.model.EchoGen): number => {
        const h = (c: number[]): Float32Array => eg.tidy(() => ops.noGrad(() => m.forward(m.collate([M.i2lSequence(m.vocab, c, { expr: 'red circle', box: [0.1, 0.1, 0.5, 0.5] })])).toArray() as Float32Array));
        const a = h(first), z = h(last);
        let d = 0;
        for (let i = row * D; i < (row + 1) * D; i++) d = Math.max(d, Math.abs(a[i] - z[i]));
        return d;
      };
      expect(diff(bi)).toBeGreaterThan(1e-3);
      expect(diff(model)).toBe(0);
      expect(hidden(M.l2iSequence(bi.vocab, LAYOUT, codes[0]))).toEqual(eg.tidy(() => ops.noGrad(() => bi.forward(M.collate([M.l2iSequence(bi.vocab, LAYOUT, codes[0])])).toArray())));
    } finally {
      bi.dispose();
    }
  });

  describe('box sampling and the grounding search', () => {
    const imgs = model.vq.decode(eg.tensor(Int32Array.from(codes.flat()), [3, 64], { dtype: 'i32' }));
    const enc = Array.from(model.vq.encode(imgs).toArray());
    const img0 = ops.slice(imgs, 0, 0, 1);
    const codes0 = enc.slice(0, 64);
    const expr = 'red circle';
    const repeat = (n: number): eg.Tensor => ops.concat(Array.from({ length: n }, () => img0), 0);
    afterAll(() => { imgs.dispose(); img0.dispose(); });

    test('sampleBoxes at temperature 0 is ground(), with the full forward\'s log-probability', () => {
      const exprs = ['red circle', 'small green triangle', 'blue triangle'];
      const got = model.sampleBoxes(imgs, exprs, { temperature: 0 });
      expect(got.map((g) => g.box)).toEqual(model.ground(imgs, exprs));
      got.forEach((g, b) => {
        expect(g.bins).toEqual(M.quantizeBox(g.box));
        expect(g.logProb).toBeLessThan(0);
        expect(Math.abs(g.logProb - fullBoxLogProb(model, enc.slice(b * 64, (b + 1) * 64), exprs[b], g.box))).toBeLessThan(1e-4);
      });
    });

    test('drawn boxes: x1 follows softmax(logits / T), x2 >= x1, the same seed repeats, logProb is the full forward\'s', () => {
      // The random model's coordinate logits span ~0.6, where T hardly matters: a copy with its box head x8 spans ~5.
      const sharp = tinyModel(K);
      sharp.loadStateDict(Object.fromEntries(Object.entries(sharp.stateDict()).filter(([name]) => /^(textHead|coordQuery)\./.test(name)).map(([name, t]) => [name, ops.scale(t, 8)])), { strict: false });
      const n = 600, T = 1.5;
      const draws = sharp.sampleBoxes(repeat(n), Array<string>(n).fill(expr), { temperature: T, seed: 11 });
      for (const d of draws) { expect(d.bins[2]).toBeGreaterThanOrEqual(d.bins[0]); expect(d.bins[3]).toBeGreaterThanOrEqual(d.bins[1]); }
      // x1 is drawn from the whole row: chi-square against softmax(row / T), bins with an expected count < 5 pooled.
      const row = fullCoordLogits(sharp, codes0, expr, draws[0].box)[0];
      expect(Math.max(...row) - Math.min(...row)).toBeGreaterThan(3);
      const mx = Math.max(...row);
      const e = Array.from(row, (v) => Math.exp((v - mx) / T));
      const z = e.reduce((s, v) => s + v, 0);
      const counts = new Array(64).fill(0);
      for (const d of draws) counts[d.bins[0]]++;
      let chi2 = 0, dof = -1, poolO = 0, poolE = 0;
      e.forEach((v, k) => {
        const want = (n * v) / z;
        if (want < 5) { poolO += counts[k]; poolE += want; return; }
        chi2 += (counts[k] - want) ** 2 / want; dof++;
      });
      if (poolE > 0) { chi2 += (poolO - poolE) ** 2 / poolE; dof++; }
      expect(dof).toBeGreaterThan(5);
      // chi-square upper 0.001 point (Wilson-Hilferty).
      const bound = dof * (1 - 2 / (9 * dof) + 3.09 * Math.sqrt(2 / (9 * dof))) ** 3;
      expect(chi2).toBeLessThan(bound);
      const again = sharp.sampleBoxes(repeat(4), Array<string>(4).fill(expr), { temperature: T, seed: 11 });
      expect(again.map((d) => d.bins)).toEqual(sharp.sampleBoxes(repeat(4), Array<string>(4).fill(expr), { temperature: T, seed: 11 }).map((d) => d.bins));
      expect(again.map((d) => d.bins)).not.toEqual(sharp.sampleBoxes(repeat(4), Array<string>(4).fill(expr), { temperature: T, seed: 12 }).map((d) => d.bins));
      for (const d of draws.slice(0, 3)) expect(Math.abs(d.logProb - fullBoxLogProb(sharp, codes0, expr, d.box))).toBeLessThan(1e-4);
      sharp.dispose();
    });

    // The I2L side reads "the red circle" as given; the L2I side draws searchLayout's "a red circle" (tested below).
    test.each([['red circle', 6, 5], ['the red circle', 5, 2]])('ground(%j, { samples }) returns the candidate of best logProb + l2iWeight * L2I log-likelihood (float64 reference)', (query, samples, seed) => {
      const temperature = 2, body = 'red circle';
      const cands = [...model.sampleBoxes(img0, [query], { temperature: 0 }),
        ...model.sampleBoxes(repeat(samples), Array<string>(samples).fill(query), { temperature, seed })];
      const l2i = (box: eg.model.Box): number => {
        const full = fullLogits(model, M.l2iSequence(model.vocab, { caption: `a ${body}`, objects: [{ expr: body, box }] }, codes0), 'image');
        return codes0.reduce((s, c, k) => s + logSoftmaxAt(full.data.subarray(k * K, (k + 1) * K), c), 0);
      };
      const scores = cands.map((c) => ({ c, i2l: c.logProb, l2i: l2i(c.box) }));
      expect(new Set(cands.map((c) => c.bins.join())).size).toBeGreaterThan(2);
      const picked = new Set<number>();
      for (const w of [0, 0.3, 5, undefined]) {
        const weight = w ?? M.GROUND_L2I_WEIGHT;
        const best = scores.reduce((x, y) => (y.i2l + weight * y.l2i > x.i2l + weight * x.l2i ? y : x));
        picked.add(scores.indexOf(best));
        expect(model.ground(img0, [query], { samples, seed, temperature, l2iWeight: w })[0]).toEqual(best.c.box);
      }
      expect(picked.size).toBeGreaterThan(1);
    });

    test('the search draws "the red circle" as the one-object layout "a red circle"', () => {
      const box: eg.model.Box = [0.1, 0.2, 0.3, 0.4];
      expect(searchLayout('the red circle', box)).toEqual({ caption: 'a red circle', objects: [{ expr: 'red circle', box }] });
      expect(searchLayout('A  small red circle left of the blue square', box)).toEqual({ caption: 'a small red circle left of the blue square', objects: [{ expr: 'small red circle left of the blue square', box }] });
      expect(searchLayout('red circle', box).caption).toBe('a red circle');
    });

    test('bad grounding options are RangeErrors naming the option', () => {
      expect(() => model.ground(img0, [expr], { samples: -1 })).toThrow(/ground: opts.samples must be a non-negative integer, got -1/);
      expect(() => model.ground(img0, [expr], { samples: 1.5 })).toThrow(/opts.samples/);
      expect(() => model.ground(img0, [expr], { samples: 2, temperature: 0 })).toThrow(/ground: opts.temperature must be a finite number > 0/);
      expect(() => model.ground(img0, [expr], { samples: 2, l2iWeight: Number.NaN })).toThrow(/opts.l2iWeight/);
      expect(() => model.ground(img0, [expr], { seed: -2 })).toThrow(/opts.seed/);
      expect(() => model.sampleBoxes(img0, [expr], { temperature: -1 })).toThrow(/sampleBoxes: opts.temperature/);
    });
  });

  test('bad generate options are RangeErrors', () => {
    expect(() => model.generate(LAYOUT, { temperature: -1 })).toThrow(/temperature/);
    expect(() => model.generate(LAYOUT, { seed: 1.5 })).toThrow(/seed/);
    expect(() => model.generate([], {})).toThrow(/at least one layout/);
  });
});
