import {
  Vocabulary, l2iSequence, l2iPrompt, i2lSequence, i2lPrompt, pmtpSequence, collate, disposeBatch, buildMask,
  LossHead, TokenSequence, SEG_L2I, segmentSees,
} from '../../lib/model';
import { LAYOUT, WORDS } from './fixtures';

const K = 16;
const v = new Vocabulary(WORDS, K);
const codes = Array.from({ length: 64 }, (_, i) => (i * 7) % K);
const names = (s: TokenSequence): string => s.ids.map((i) => v.name(i)).join(' ');
const codeNames = codes.map((c) => `<code_${c}>`).join(' ');

describe('sequence formats (docs/design.md section 5)', () => {
  test('L2I: layout prompt then the image codes, loss on every code', () => {
    const s = l2iSequence(v, LAYOUT, codes);
    expect(names(s)).toBe('<l2i> a red circle left of a blue square <grounding> ' +
      '<ref> red circle </ref> <box> <bin_8> <bin_16> <bin_23> <bin_31> </box> ' +
      '<ref> blue square </ref> <box> <bin_32> <bin_32> <bin_55> <bin_51> </box> </grounding> <img> ' + codeNames + ' </img>');
    const start = s.ids.indexOf(v.special('<img>'));
    // The layout counts from 0; <img> restarts at 1 so the codes sit at 2.. as in the I2L prefix.
    expect(s.pos).toEqual(s.ids.map((_, i) => (i < start ? i : i - start + 1)));
    const lossAt = s.head.flatMap((h, t) => (h === LossHead.Image ? [t] : []));
    expect(lossAt).toEqual(codes.map((_, i) => start + i));
    expect(lossAt.map((t) => s.target[t])).toEqual(codes);
    expect(s.head.some((h) => h === LossHead.Text)).toBe(false);
    expect(names(l2iPrompt(v, LAYOUT))).toBe(names(s).slice(0, names(s).indexOf('<img>') + 5));
  });

  test('I2L: image then the query; loss on x1 y1 x2 y2 </box>', () => {
    const s = i2lSequence(v, codes, LAYOUT.objects[1]);
    expect(names(s)).toBe(`<i2l> <img> ${codeNames} </img> <ref> blue square </ref> <box> <bin_32> <bin_32> <bin_55> <bin_51> </box>`);
    const lossAt = s.head.flatMap((h, t) => (h === LossHead.Text ? [t] : []));
    expect(lossAt).toEqual([s.ids.length - 6, s.ids.length - 5, s.ids.length - 4, s.ids.length - 3, s.ids.length - 2]);
    expect(lossAt.map((t) => v.name(s.target[t]))).toEqual(['<bin_32>', '<bin_32>', '<bin_55>', '<bin_51>', '</box>']);
    const p = i2lPrompt(v, codes, 'blue square');
    expect(p.ids).toEqual(s.ids.slice(0, s.ids.length - 5));
  });

  test('PMTP: every query has the exact ids, positions and targets of its standalone I2L sequence', () => {
    const s = pmtpSequence(v, LAYOUT, codes);
    const l2i = l2iSequence(v, LAYOUT, codes);
    const n = l2i.ids.length;
    expect(s.ids.slice(0, n)).toEqual(l2i.ids);
    expect(s.target.slice(0, n)).toEqual(l2i.target);
    LAYOUT.objects.forEach((o, r) => {
      const ref = i2lSequence(v, codes, o);
      const idx = s.seg.flatMap((g, t) => (g === 1 || g === 2 + r ? [t] : []));
      expect(idx.map((t) => s.ids[t])).toEqual(ref.ids);
      expect(idx.map((t) => s.pos[t])).toEqual(ref.pos);
      expect(idx.map((t) => s.target[t])).toEqual(ref.target);
      expect(idx.map((t) => s.head[t])).toEqual(ref.head);
    });
  });

  test('PMTP mask: no grounding output can depend on the layout, through any number of layers', () => {
    const s = pmtpSequence(v, LAYOUT, codes);
    const T = s.ids.length;
    const m = buildMask([s], T);
    // The plain definition, element by element: causal AND segmentSees.
    const ref = new Int32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) ref[i * T + j] = segmentSees(s.seg[i], s.seg[j]) ? 1 : 0;
    expect(m).toEqual(ref);
    // dep[i] = set of input tokens that hidden state i depends on after L layers (transitive closure).
    let dep: Set<number>[] = s.ids.map((_, i) => new Set([i]));
    for (let layer = 0; layer < 6; layer++) {
      dep = dep.map((d, i) => {
        const next = new Set(d);
        for (let j = 0; j < T; j++) if (m[i * T + j]) for (const x of dep[j]) next.add(x);
        return next;
      });
    }
    const layoutTokens = s.ids.flatMap((_, t) => (s.seg[t] === SEG_L2I && t < s.ids.indexOf(v.special('<img>')) ? [t] : []));
    const textLoss = s.head.flatMap((h, t) => (h === LossHead.Text ? [t] : []));
    expect(textLoss.length).toBe(10);
    expect(textLoss.flatMap((t) => layoutTokens.filter((l) => dep[t].has(l)))).toEqual([]);
    // The check has teeth: the image codes of the L2I part do depend on the layout.
    const firstCode = s.head.indexOf(LossHead.Image) + 1;
    expect(layoutTokens.every((l) => dep[firstCode].has(l))).toBe(true);
    // ...and every grounding output still sees every image code of the shared prefix and its own query.
    const prefix = s.seg.flatMap((g, t) => (g === 1 ? [t] : []));
    for (const t of textLoss) {
      for (const p of prefix) expect(m[t * T + p]).toBe(1);
      for (let j = 0; j < T; j++) if (m[t * T + j]) expect(s.seg[j] === 1 || s.seg[j] === s.seg[t]).toBe(true);
    }
    // The L2I part is plain causal attention among its own tokens.
    const n = l2iSequence(v, LAYOUT, codes).ids.length;
    const causal = new Int32Array(n * T);
    for (let i = 0; i < n; i++) causal.fill(1, i * T, i * T + i + 1);
    expect(Int32Array.from(m.subarray(0, n * T))).toEqual(causal);
  });

  test('bidirectional image prefix: the prefix sees itself whole, and no loss row sees its target or (for a box) the layout', () => {
    const s = pmtpSequence(v, LAYOUT, codes);
    const T = s.ids.length;
    const m = buildMask([s], T, true);
    // The definition, element by element: causal AND segmentSees, or both tokens in the prefix (segment 1).
    const ref = new Int32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) ref[i * T + j] = (j <= i && segmentSees(s.seg[i], s.seg[j])) || (s.seg[i] === 1 && s.seg[j] === 1) ? 1 : 0;
    expect(m).toEqual(ref);
    // It differs from the causal mask exactly above the diagonal of the prefix.
    const prefix = s.seg.flatMap((g, t) => (g === 1 ? [t] : []));
    const causal = buildMask([s], T);
    let changed = 0;
    for (let i = 0; i < T * T; i++) if (m[i] !== causal[i]) changed++;
    expect(changed).toBe((prefix.length * (prefix.length - 1)) / 2);
    // Transitive dependencies after 6 layers: a loss row at t predicts token t + 1, which it must not see;
    // a box row sees no layout token.
    let dep: Set<number>[] = s.ids.map((_, i) => new Set([i]));
    for (let layer = 0; layer < 6; layer++) dep = dep.map((d, i) => { const next = new Set(d); for (let j = 0; j < T; j++) if (m[i * T + j]) for (const x of dep[j]) next.add(x); return next; });
    const lossRows = s.head.flatMap((h, t) => (h !== LossHead.None ? [t] : []));
    expect(lossRows.length).toBe(64 + 10);
    expect(lossRows.filter((t) => dep[t].has(t + 1))).toEqual([]);
    const layoutTokens = s.ids.flatMap((_, t) => (s.seg[t] === SEG_L2I && t < s.ids.indexOf(v.special('<img>')) ? [t] : []));
    expect(lossRows.filter((t) => s.head[t] === LossHead.Text && layoutTokens.some((l) => dep[t].has(l)))).toEqual([]);
    // The first patch of the prefix now depends on the last one (it did not before).
    expect(dep[prefix[1]].has(prefix[prefix.length - 1])).toBe(true);
    // collate: an I2L batch needs no mask when causal, and gets the bidirectional one (and causal: false) when asked.
    const i2l = i2lSequence(v, codes, LAYOUT.objects[0]);
    const plain = collate([i2l]);
    expect(plain.mask).toBeNull();
    expect(plain.causal).toBe(true);
    const both = collate([i2l], { bidirectionalImage: true });
    expect(both.causal).toBe(false);
    expect(Array.from(both.mask!.toArray())).toEqual(Array.from(buildMask([i2l], i2l.ids.length, true)));
    disposeBatch(plain);
    disposeBatch(both);
    // A batch without an image prefix (L2I only) stays plain causal.
    const l2i = collate([l2iSequence(v, LAYOUT, codes)], { bidirectionalImage: true });
    expect(l2i.mask).toBeNull();
    expect(l2i.causal).toBe(true);
    disposeBatch(l2i);
  });

  test('collate pads, flattens loss rows and only builds a mask when segments must be hidden', () => {
    const a = i2lSequence(v, codes, LAYOUT.objects[0]);
    const b = l2iSequence(v, LAYOUT, codes);
    const batch = collate([a, b]);
    const T = Math.max(a.ids.length, b.ids.length);
    expect(batch.ids.shape).toEqual([2, T]);
    expect(batch.mask).toBeNull();
    const ids = batch.ids.toArray();
    expect(Array.from(ids.subarray(0, a.ids.length))).toEqual(a.ids);
    expect(Array.from(ids.subarray(a.ids.length, T)).every((x) => x === 0)).toBe(true);
    const rows = Array.from(batch.imageRows.toArray());
    expect(rows).toEqual(codes.map((_, i) => T + b.ids.indexOf(v.special('<img>')) + i));
    expect(Array.from(batch.imageTargets.toArray())).toEqual(codes);
    expect(batch.textCount).toBe(5);
    disposeBatch(batch);
    const joint = collate([pmtpSequence(v, LAYOUT, codes), b]);
    expect(joint.mask?.shape).toEqual([2, joint.length, joint.length]);
    const m = joint.mask!.toArray();
    const L = joint.length;
    const want = new Int32Array(L * L);
    for (let i = 0; i < b.ids.length; i++) want.fill(1, i * L, i * L + i + 1);
    expect(Int32Array.from(m.subarray(L * L))).toEqual(want);
    disposeBatch(joint);
  });

  test('collate\'s mask is each pair\'s causal segmentSees, also when a larger batch was collated before it', () => {
    // collate writes masks into one reused host buffer: a smaller batch after a larger one must not keep its ones.
    const reference = (seqs: TokenSequence[], T: number): Int32Array => {
      const m = new Int32Array(seqs.length * T * T);
      seqs.forEach((s, b) => {
        for (let i = 0; i < s.ids.length; i++) {
          for (let j = 0; j <= i; j++) if (segmentSees(s.seg[i], s.seg[j])) m[(b * T + i) * T + j] = 1;
        }
      });
      return m;
    };
    const other = { caption: 'a blue square', objects: [LAYOUT.objects[1]] };
    for (const seqs of [
      [pmtpSequence(v, LAYOUT, codes), pmtpSequence(v, other, codes), l2iSequence(v, LAYOUT, codes)],
      [pmtpSequence(v, other, codes)],
      [pmtpSequence(v, LAYOUT, codes)],
    ]) {
      const batch = collate(seqs);
      expect(Array.from(batch.mask!.toArray())).toEqual(Array.from(reference(seqs, batch.length)));
      disposeBatch(batch);
    }
  });

  test('bad input names the problem', () => {
    expect(() => l2iSequence(v, { caption: 'a purple circle', objects: [] }, codes)).toThrow(/unknown word "purple"/);
    expect(() => l2iSequence(v, { caption: 'a circle', objects: [{ expr: 'circle', box: [0.5, 0, 0.2, 1] }] }, codes)).toThrow(/x2 > x1/);
    expect(() => l2iSequence(v, LAYOUT, [K])).toThrow(/code must be an integer in \[0, 16\)/);
    expect(() => collate([])).toThrow(RangeError);
  });
});
