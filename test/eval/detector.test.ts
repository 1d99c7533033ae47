import * as data from '../../lib/data';
import * as ev from '../../lib/eval';

const { renderScene } = data;
const { detect } = ev;

const obj = (shape: data.Shape, p: number[], color: data.Color = 'red', texture: data.Texture = 'plain') =>
  ({ shape, color, texture, box: p.map((v) => v / 64) as data.Box });

/** Gaussian noise of standard deviation sigma on every channel, clamped to [0,255]. */
function noisy(img: Uint8Array, sigma: number, rng: data.Rng): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
    out[i] = Math.max(0, Math.min(255, Math.round(img[i] + sigma * g)));
  }
  return out;
}

describe('detector', () => {
  test.each(data.SHAPES.flatMap((s) => [[s, 8, 8], [s, 11, 14], [s, 22, 20], [s, 30, 30]] as [data.Shape, number, number][]))(
    'a lone %s %ix%i: exact box, right class, high score', (shape, w, h) => {
      for (const color of data.COLORS) {
        const r = detect(renderScene({ objects: [obj(shape, [7, 9, 7 + w, 9 + h], color)] }));
        expect(r.detections).toHaveLength(1);
        const d = r.detections[0];
        expect(d.box).toEqual([7 / 64, 9 / 64, (7 + w) / 64, (9 + h) / 64]);
        expect(d.category).toBe(`${color} ${shape}`);
        expect(d.texture).toBe('plain');
        expect(d.size).toBe(Math.sqrt(w * h) < 17 ? 'small' : 'large');
        expect(d.score).toBeGreaterThan(0.9);
      }
    });

  test('textures are read from the dark shade: stripes whole rows, dots mixed rows', () => {
    for (const texture of ['striped', 'dotted'] as const) {
      for (const shape of data.SHAPES) {
        const r = detect(renderScene({ objects: [obj(shape, [20, 20, 44, 46], 'blue', texture)] }));
        expect(r.detections.map((d) => [d.category, d.texture])).toEqual([[`blue ${shape}`, texture]]);
      }
    }
  });

  test('an occluded square keeps its class and full box; the depth order is read from the cover', () => {
    // A large blue square behind a small red circle at its corner, and one with a hole in it.
    const scene = { objects: [obj('square', [10, 10, 40, 40], 'blue'), obj('circle', [30, 30, 44, 44], 'red')] };
    const r = detect(renderScene(scene));
    const byCat = Object.fromEntries(r.detections.map((d, i) => [d.category, i]));
    expect(r.detections[byCat['blue square']].box).toEqual(scene.objects[0].box);
    expect(r.detections[byCat['red circle']].box).toEqual(scene.objects[1].box);
    expect(r.occlusions).toEqual([[byCat['red circle'], byCat['blue square']]]);
    expect(r.view.inFront(byCat['red circle'], byCat['blue square'])).toBe(true);
    expect(r.view.inFront(byCat['blue square'], byCat['red circle'])).toBe(false);
    const hole = detect(renderScene({ objects: [obj('triangle', [5, 5, 35, 35], 'green'), obj('square', [15, 22, 25, 32], 'yellow')] }));
    expect(hole.detections.map((d) => d.category).sort()).toEqual(['green triangle', 'yellow square']);
  });

  test('specks below minArea are ignored', () => {
    const img = renderScene({ objects: [obj('square', [3, 3, 6, 6], 'green')] });
    expect(detect(img).detections).toHaveLength(0);
    // At 3x3 pixels the shapes' templates coincide, so only the colour is asserted.
    expect(detect(img, { minArea: 9 }).detections.map((d) => d.color)).toEqual(['green']);
  });

  test('robust to pixel noise: AP >= 0.95 at sigma 20 on 200 held-out scenes', () => {
    const scenes = data.generateScenes(200, 'test', 77);
    const rng = new data.Rng(8);
    const images = scenes.map((s) => noisy(renderScene(s.scene), 20, rng));
    const r = ev.evaluateL2i(scenes.map((s) => s.layout), (i) => images[i]);
    expect(r.AP).toBeGreaterThanOrEqual(0.95);
  });

  test('bad input is a RangeError naming the argument', () => {
    expect(() => detect(new Uint8Array(100))).toThrow(/rgb must be a Uint8Array of 12288 bytes/);
    expect(() => detect(new Uint8Array(12288), { size: 1 })).toThrow(/size/);
    expect(() => detect(new Uint8Array(12288), { minArea: 0 })).toThrow(/minArea/);
  });
});

describe('the detector on the world\'s own renders of 1,000 held-out scenes', () => {
  test('AP, AP50, AP75 >= 0.85 with occlusion present; every box read back', () => {
    const scenes = data.generateScenes(1000, 'test', 2024);
    const occluded = scenes.reduce((n, s) => n + data.visibility(s.scene.objects).filter((v) => v.visible < v.area).length, 0);
    const objects = scenes.reduce((n, s) => n + s.scene.objects.length, 0);
    expect(occluded / objects).toBeGreaterThan(0.1);
    const r = ev.evaluateL2iReal(scenes.map((s) => s.layout));
    expect(r.objects).toBe(objects);
    expect(r.AP).toBeGreaterThanOrEqual(0.85);
    expect(r.AP50).toBeGreaterThanOrEqual(0.85);
    expect(r.AP75).toBeGreaterThanOrEqual(0.85);
    // Per object: a detection of its class with IoU 1 (the boxes are read back exactly).
    let exact = 0;
    for (const s of scenes) {
      const dets = detect(renderScene(s.scene)).detections;
      for (const o of s.scene.objects) {
        if (dets.some((d) => d.category === data.categoryOf(o) && data.boxIou(d.box, o.box) === 1)) exact++;
      }
    }
    expect(exact / objects).toBeGreaterThanOrEqual(0.99);
  });
});
