import * as data from '../../lib/data';

const { contrastivePairs, sceneFromLayout, drawnView, relationHolds, parseCaption, captionHolds, sizeOf } = data;

type Obj = data.SceneObject;
const attrs = (o: Obj) => ({ color: o.color, shape: o.shape, texture: o.texture, size: sizeOf(o.box) });

describe('contrastive pairs', () => {
  test.each([1, 2, 3] as const)('stage %i: the negative differs in exactly one attribute or relation and fails the caption', (stage) => {
    const pairs = contrastivePairs(stage, 80, 100 + stage);
    expect(contrastivePairs(stage, 80, 100 + stage)).toEqual(pairs);
    const kinds = new Set<string>();
    for (const p of pairs) {
      const pos = sceneFromLayout(p.positive).objects;
      const neg = sceneFromLayout(p.negative).objects;
      const n = pos.length;
      expect(neg).toHaveLength(n);
      if (stage === 1) expect(n).toBe(1);
      if (stage === 2) expect(n).toBe(2);
      if (stage === 3) expect(n).toBeGreaterThanOrEqual(3);
      expect(p.caption).toBe(p.positive.caption);
      expect([...p.correspondence].sort()).toEqual(pos.map((_, i) => i));
      const caption = parseCaption(p.caption);
      if (stage > 1) expect(caption.relations.length).toBeGreaterThanOrEqual(1);
      expect(captionHolds(caption, pos, drawnView(pos))).toBe(true);
      expect(captionHolds(caption, neg, drawnView(neg))).toBe(false);
      // Attribute differences, object by object through the correspondence.
      const diffs: string[] = [];
      pos.forEach((o, i) => {
        const a = attrs(o), b = attrs(neg[p.correspondence[i]]);
        for (const k of ['color', 'shape', 'texture', 'size'] as const) if (a[k] !== b[k]) diffs.push(`${i}.${k}`);
      });
      const c = p.change;
      kinds.add(c.kind === 'attribute' ? c.attribute : 'relation');
      if (c.kind === 'attribute') {
        expect(diffs).toEqual([`${c.object}.${c.attribute}`]);
        expect(c.from).not.toBe(c.to);
      } else {
        expect(diffs).toEqual([]);
        const posView = drawnView(pos), negView = drawnView(neg);
        const s = p.correspondence[c.subject], t = p.correspondence[c.object];
        expect(relationHolds(c.from, posView, c.subject, c.object)).toBe(true);
        expect(relationHolds(c.from, negView, s, t)).toBe(false);
        expect(relationHolds(c.to, negView, s, t)).toBe(true);
      }
    }
    expect(kinds.has('color') && kinds.has('shape') && kinds.has('texture') && kinds.has('size')).toBe(true);
    if (stage > 1) expect(kinds.has('relation')).toBe(true);
  });

  test('stage 3 objects carry more attributes (textures) than the world default', () => {
    const objects = contrastivePairs(3, 60, 9).flatMap((p) => sceneFromLayout(p.positive).objects);
    expect(objects.filter((o) => o.texture !== 'plain').length / objects.length).toBeGreaterThan(0.35);
  });

  test('a bad stage is a RangeError', () => {
    expect(() => contrastivePairs(4 as 1, 1, 1)).toThrow(/stage must be 1, 2 or 3/);
  });
});
