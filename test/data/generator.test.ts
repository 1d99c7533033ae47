// Property tests of the world generator: for any seed and split, every box is valid and on the
// pixel grid, every expression refers to its object alone, every relation used is true of the
// boxes (checked here against a reference written from the rendered pixels), every caption is
// true of its scene, and every object is readable (visible enough, reaching its box).
import * as fc from 'fast-check';
import * as data from '../../lib/data';
import type { Box, Scene, WorldScene } from '../../lib/data';

const { generateScenes, parseExpression, parseCaption, renderScene, COLOR_RGB } = data;

/** Pixels (y * 64 + x) an object covers when drawn alone: read off the renderer's image. */
function pixelsOf(o: Scene['objects'][number]): Set<number> {
  const img = renderScene({ objects: [o] });
  const out = new Set<number>();
  for (let p = 0; p < 64 * 64; p++) if (img[3 * p] !== 236 || img[3 * p + 1] !== 236 || img[3 * p + 2] !== 236) out.add(p);
  return out;
}

/** Reference relation: centres from the box numbers; depth from overlapping drawn pixels and draw order. */
function refRelation(rel: string, scene: Scene, i: number, j: number): boolean {
  const a = scene.objects[i].box, b = scene.objects[j].box;
  const cx = (x: Box) => (x[0] + x[2]) / 2, cy = (x: Box) => (x[1] + x[3]) / 2;
  const overlap = () => { const pj = pixelsOf(scene.objects[j]); for (const p of pixelsOf(scene.objects[i])) if (pj.has(p)) return true; return false; };
  switch (rel) {
    case 'left of': return cx(b) - cx(a) >= 1 / 16;
    case 'right of': return cx(a) - cx(b) >= 1 / 16;
    case 'above': return cy(b) - cy(a) >= 1 / 16;
    case 'below': return cy(a) - cy(b) >= 1 / 16;
    case 'in front of': return i > j && overlap();
    case 'behind': return i < j && overlap();
  }
  throw new Error(rel);
}

/** Reference attribute match: written out from the grammar, size by the geometric mean side. */
function refMatches(d: data.Description, o: Scene['objects'][number]): boolean {
  const side = Math.sqrt((o.box[2] - o.box[0]) * (o.box[3] - o.box[1])) * 64;
  return d.shape === o.shape && d.texture === o.texture && (d.color ?? o.color) === o.color
    && (d.size === undefined || d.size === (side < 17 ? 'small' : 'large'));
}

/**
 * Share of each object's pixels told apart on the full render: showing the object's own colour (or
 * its texture's half shade) and covered by no other object of that colour (pixels read per object
 * alone). The writer's rule of scripts/external-layouts.js, measured on the image.
 */
function toldApart(scene: Scene): number[] {
  const img = renderScene(scene);
  const alone = scene.objects.map(pixelsOf);
  return scene.objects.map((o, i) => {
    const rgb = COLOR_RGB[o.color];
    let n = 0;
    for (const p of alone[i]) {
      const r = img[3 * p], g = img[3 * p + 1], b = img[3 * p + 2];
      const shows = (r === rgb[0] && g === rgb[1] && b === rgb[2]) || (r === rgb[0] >> 1 && g === rgb[1] >> 1 && b === rgb[2] >> 1);
      if (shows && !scene.objects.some((q, j) => j !== i && q.color === o.color && alone[j].has(p))) n++;
    }
    return n / alone[i].size;
  });
}

function checkScene(s: WorldScene, readability: 'strict' | 'loose' = 'strict'): void {
  const { scene, layout } = s;
  const n = scene.objects.length;
  expect(n).toBeGreaterThanOrEqual(1);
  expect(n).toBeLessThanOrEqual(4);
  expect(layout.objects).toHaveLength(n);
  scene.objects.forEach((o, i) => {
    const b = o.box;
    expect(layout.objects[i].box).toEqual(b);
    for (const v of b) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); expect(Number.isInteger(v * 64)).toBe(true); }
    expect(b[2]).toBeGreaterThan(b[0]);
    expect(b[3]).toBeGreaterThan(b[1]);
    // The expression refers to object i alone.
    const e = parseExpression(layout.objects[i].expr);
    const fits = scene.objects.map((_, c) => c).filter((c) => refMatches(e.target, scene.objects[c]) && (e.relation === undefined
      || scene.objects.some((a, k) => k !== c && refMatches(e.relation!.anchor, a) && refRelation(e.relation!.relation, scene, c, k))));
    expect(fits).toEqual([i]);
    if (e.relation) {
      const anchors = scene.objects.map((_, k) => k).filter((k) => refMatches(e.relation!.anchor, scene.objects[k]));
      expect(anchors).toHaveLength(1);
      expect(refRelation(e.relation.relation, scene, i, anchors[0])).toBe(true);
    }
  });
  // The caption mentions every object once with its attributes; its relations are true.
  const c = parseCaption(layout.caption);
  expect(c.mentions).toHaveLength(n);
  expect([...s.mentionOf].sort()).toEqual(scene.objects.map((_, i) => i));
  c.mentions.forEach((m, k) => expect(refMatches(m, scene.objects[s.mentionOf[k]])).toBe(true));
  for (const r of c.relations) expect(refRelation(r.relation, scene, s.mentionOf[r.subject], s.mentionOf[r.object])).toBe(true);
  if (readability === 'loose') {
    for (const share of toldApart(scene)) expect(share).toBeGreaterThanOrEqual(0.5);
    return;
  }
  // Readability, measured on the full render: each object keeps >= 60% of its pixels and its
  // visible pixels reach all four sides of its box.
  const img = renderScene(scene);
  scene.objects.forEach((o) => {
    const own = pixelsOf(o);
    const rgb = COLOR_RGB[o.color];
    let visible = 0, x1 = 64, y1 = 64, x2 = -1, y2 = -1;
    for (const p of own) {
      const r = img[3 * p], g = img[3 * p + 1], bl = img[3 * p + 2];
      const isOwn = (r === rgb[0] && g === rgb[1] && bl === rgb[2]) || (r === rgb[0] >> 1 && g === rgb[1] >> 1 && bl === rgb[2] >> 1);
      if (!isOwn) continue;
      visible++;
      const x = p % 64, y = Math.floor(p / 64);
      x1 = Math.min(x1, x); x2 = Math.max(x2, x); y1 = Math.min(y1, y); y2 = Math.max(y2, y);
    }
    expect(visible).toBeGreaterThanOrEqual(0.6 * own.size);
    expect([x1, y1, x2 + 1, y2 + 1].map((v) => v / 64)).toEqual(o.box);
  });
}

describe('world generator', () => {
  test('property: boxes valid, expressions unique, relations true, objects readable', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom<data.Split>('train', 'val', 'test'), (seed, split) => {
      for (const s of generateScenes(6, split, seed)) checkScene(s);
    }), { numRuns: 40 });
  });

  test('same seed, same scenes; splits never share a scene', () => {
    const a = generateScenes(50, 'val', 99).map((s) => data.formatLayout(s.layout));
    const b = generateScenes(50, 'val', 99).map((s) => data.formatLayout(s.layout));
    expect(a).toEqual(b);
    const key = (s: WorldScene) => JSON.stringify(s.scene.objects);
    const train = new Set(generateScenes(400, 'train', 1).map(key));
    const test = generateScenes(100, 'test', 1);
    for (const s of test) { expect(train.has(key(s))).toBe(false); expect(data.splitOf(s.scene)).toBe('test'); }
  });

  test('the world has occlusion, look-alikes that need relations, textures and every count 1-4', () => {
    const scenes = generateScenes(500, 'test', 3);
    const counts = [0, 0, 0, 0, 0];
    let occluded = 0, relational = 0, textured = 0, sized = 0;
    for (const s of scenes) {
      counts[s.scene.objects.length]++;
      occluded += data.visibility(s.scene.objects).filter((v) => v.visible < v.area).length;
      for (const o of s.layout.objects) {
        const e = parseExpression(o.expr);
        if (e.relation) relational++;
        else if (e.target.size) sized++;
      }
      textured += s.scene.objects.filter((o) => o.texture !== 'plain').length;
    }
    for (let k = 1; k <= 4; k++) expect(counts[k]).toBeGreaterThan(80);
    expect(occluded).toBeGreaterThan(100);
    expect(relational).toBeGreaterThan(20);
    expect(sized).toBeGreaterThan(20);
    expect(textured).toBeGreaterThan(100);
  });

  test("readability 'loose': expressions unique, relations true, half of each object told apart on the render", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      for (const s of generateScenes(6, 'train', seed, { readability: 'loose' })) checkScene(s, 'loose');
    }), { numRuns: 25 });
  });

  test("readability 'loose' draws what the strict world never does, and leaves the strict world as it was", () => {
    const loose = generateScenes(300, 'train', 5, { readability: 'loose' });
    let refused = 0, touching = 0;
    for (const s of loose) {
      if (!data.isReadable(s.scene.objects, 0.6)) refused++;
      if (!data.sameColorApart(s.scene.objects)) touching++;
    }
    expect(refused).toBeGreaterThan(30);
    expect(touching).toBeGreaterThan(5);
    // The strict world (the default) passes its own rule, scene for scene.
    for (const s of generateScenes(200, 'test', 5)) expect(data.isReadable(s.scene.objects, 0.6)).toBe(true);
    expect(generateScenes(20, 'test', 8).map((s) => data.formatLayout(s.layout)))
      .toEqual(generateScenes(20, 'test', 8, { readability: 'strict' }).map((s) => data.formatLayout(s.layout)));
  });

  test('touchingLookAlikes by hand: same colour and touching or overlapping; another colour or a gap does not count', () => {
    const px = (x1: number, y1: number, x2: number, y2: number): Box => [x1 / 64, y1 / 64, x2 / 64, y2 / 64];
    const objs = [
      { color: 'red' as const, box: px(0, 0, 10, 10) },
      { color: 'red' as const, box: px(8, 0, 20, 10) },    // overlaps 0
      { color: 'red' as const, box: px(40, 40, 50, 50) },  // far from both
      { color: 'blue' as const, box: px(4, 4, 14, 14) },   // overlaps 0 and 1, another colour
      { color: 'red' as const, box: px(18, 8, 30, 20) },   // overlaps 1 only
    ];
    expect(data.touchingLookAlikes(objs, 0)).toEqual([1]);
    expect(data.touchingLookAlikes(objs, 1)).toEqual([0, 4]);
    expect(data.touchingLookAlikes(objs, 2)).toEqual([]);
    expect(data.touchingLookAlikes(objs, 3)).toEqual([]);
    expect(data.touchingLookAlikes(objs, 4)).toEqual([1]);
    for (const bad of [-1, 5, 1.5]) expect(() => data.touchingLookAlikes(objs, bad)).toThrow(/touchingLookAlikes: i must be an index into the 5 objects/);
  });

  test('isLooselyReadable by hand: a triangle whose apex is hidden passes; a square two-thirds under one of its colour does not', () => {
    const px = (x1: number, y1: number, x2: number, y2: number): Box => [x1 / 64, y1 / 64, x2 / 64, y2 / 64];
    // Red triangle 20x20 at (10,10); a blue square covers its top 8 rows: the apex is hidden, the
    // visible pixels no longer reach the box's top side (strict: refused), most of the area is left.
    const hidden = [
      { shape: 'triangle' as const, color: 'red' as const, texture: 'plain' as const, box: px(10, 10, 30, 30) },
      { shape: 'square' as const, color: 'blue' as const, texture: 'plain' as const, box: px(8, 4, 32, 18) },
    ];
    expect(data.isReadable(hidden, 0.6)).toBe(false);
    expect(data.isLooselyReadable(hidden, 0.5)).toBe(true);
    // Two red 12x12 squares, the second over the first's right 8 columns: the first keeps 4 of 12
    // columns told apart (1/3 < 1/2).
    const merged = [
      { shape: 'square' as const, color: 'red' as const, texture: 'plain' as const, box: px(10, 10, 22, 22) },
      { shape: 'square' as const, color: 'red' as const, texture: 'plain' as const, box: px(14, 10, 26, 22) },
    ];
    expect(data.isLooselyReadable(merged, 0.5)).toBe(false);
    expect(data.isLooselyReadable(merged, 0.3)).toBe(true);
  });

  test('bad options are RangeErrors naming the option', () => {
    expect(() => generateScenes(1, 'test', 1, { readability: 'lax' as 'loose' })).toThrow(/readability/);
    expect(() => generateScenes(1, 'test', 1, { maxObjects: 0 })).toThrow(/maxObjects/);
    expect(() => generateScenes(1, 'test', 1, { textureProb: 2 })).toThrow(/textureProb/);
    expect(() => generateScenes(-1, 'test', 1)).toThrow(/n must be/);
    expect(() => generateScenes(1, 'dev' as data.Split, 1)).toThrow(/split/);
    expect(() => new data.Rng(1.5)).toThrow(/seed/);
  });
});
