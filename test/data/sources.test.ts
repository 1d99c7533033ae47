import * as data from '../../lib/data';

const { layoutSource, sampleLayouts, sceneFromLayout, drawnView, parseExpression, parseCaption, resolveExpression, captionHolds } = data;

/** Every expression of the layout refers to its own object alone; the caption is true of the scene. */
function checkMeaning(layout: data.Layout): void {
  data.validateLayout(JSON.parse(data.formatLayout(layout)));
  const scene = sceneFromLayout(layout);
  const view = drawnView(scene.objects);
  layout.objects.forEach((o, i) => expect(resolveExpression(parseExpression(o.expr), scene.objects, view)).toEqual([i]));
  expect(captionHolds(parseCaption(layout.caption), scene.objects, view)).toBe(true);
  expect(parseCaption(layout.caption).mentions).toHaveLength(scene.objects.length);
}

describe('layout sources', () => {
  test.each(data.LAYOUT_SOURCES)('%s: deterministic, valid, expressions unique, caption true', (kind) => {
    const a = sampleLayouts(kind, 150, { seed: 11 });
    expect(sampleLayouts(kind, 150, { seed: 11 })).toEqual(a);
    expect(sampleLayouts(kind, 5, { seed: 12 })).not.toEqual(a.slice(0, 5));
    for (const l of a) {
      checkMeaning(l);
      expect(l.objects.length).toBeGreaterThanOrEqual(1);
      expect(l.objects.length).toBeLessThanOrEqual(4);
    }
  });

  test('real draws from the world (pixel grid, readable); with a split, only that split', () => {
    const next = layoutSource('real', { seed: 3, split: 'val' });
    for (let i = 0; i < 30; i++) {
      const s = next();
      expect(data.splitOf(s.scene)).toBe('val');
      for (const o of s.layout.objects) for (const v of o.box) expect(Number.isInteger(v * 64)).toBe(true);
      expect(data.isReadable(s.scene.objects, 0.6)).toBe(true);
    }
  });

  test('random boxes are off the grid and spread; template boxes have two decimals and relations in every multi-object caption', () => {
    const random = sampleLayouts('random', 200, { seed: 5 });
    const widths = random.flatMap((l) => l.objects.map((o) => o.box[2] - o.box[0]));
    expect(Math.min(...widths)).toBeLessThan(0.12);
    expect(Math.max(...widths)).toBeGreaterThan(0.45);
    expect(random.some((l) => l.objects.some((o) => !Number.isInteger(o.box[0] * 64)))).toBe(true);
    const template = sampleLayouts('template', 200, { seed: 5 });
    for (const l of template) {
      for (const o of l.objects) for (const v of o.box) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-9);
      const c = parseCaption(l.caption);
      expect(c.relations).toHaveLength(Math.floor(l.objects.length / 2));
    }
    const rels = new Set(template.flatMap((l) => parseCaption(l.caption).relations.map((r) => r.relation)));
    expect([...rels].sort()).toEqual([...data.RELATIONS].sort());
  });

  test('bad arguments are errors naming them', () => {
    expect(() => layoutSource('llm' as data.LayoutSourceKind, { seed: 1 })).toThrow(/kind must be one of real, random, template/);
    expect(() => layoutSource('real', { seed: 0.5 })).toThrow(/seed/);
    expect(() => sampleLayouts('real', -2, { seed: 1 })).toThrow(/n must be/);
  });
});
