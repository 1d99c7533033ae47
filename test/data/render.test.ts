import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as data from '../../lib/data';
import type { Scene } from '../../lib/data';

const { renderScene, BACKGROUND, COLOR_RGB, IMAGE_BYTES } = data;

const px = (img: Uint8Array, x: number, y: number) => Array.from(img.subarray(3 * (y * 64 + x), 3 * (y * 64 + x) + 3));
const isBg = (img: Uint8Array, x: number, y: number) => px(img, x, y).join() === BACKGROUND.join();

/** Bounding box and count of non-background pixels. */
function footprint(img: Uint8Array): { box: number[]; count: number } {
  let x1 = 64, y1 = 64, x2 = -1, y2 = -1, count = 0;
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
    if (isBg(img, x, y)) continue;
    count++; x1 = Math.min(x1, x); x2 = Math.max(x2, x); y1 = Math.min(y1, y); y2 = Math.max(y2, y);
  }
  return { box: [x1, y1, x2 + 1, y2 + 1], count };
}

const obj = (shape: data.Shape, p: number[], color: data.Color = 'red', texture: data.Texture = 'plain') =>
  ({ shape, color, texture, box: p.map((v) => v / 64) as data.Box });

describe('renderer', () => {
  test('an empty scene is all background; out is reused and checked', () => {
    const out = new Uint8Array(IMAGE_BYTES).fill(7);
    const img = renderScene({ objects: [] }, out);
    expect(img).toBe(out);
    for (let p = 0; p < 64 * 64; p++) expect(px(img, p % 64, Math.floor(p / 64))).toEqual([...BACKGROUND]);
    expect(() => renderScene({ objects: [] }, new Uint8Array(10))).toThrow(/out must be a Uint8Array of 12288/);
  });

  test('a square fills exactly its pixel box with its colour', () => {
    const img = renderScene({ objects: [obj('square', [5, 7, 17, 20], 'blue')] });
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const inside = x >= 5 && x < 17 && y >= 7 && y < 20;
      expect(px(img, x, y)).toEqual(inside ? [...COLOR_RGB.blue] : [...BACKGROUND]);
    }
  });

  test.each([[8, 8], [9, 13], [14, 11], [21, 30], [30, 30]])('circle and triangle %ix%i reach all four sides of their box, with the expected area', (w, h) => {
    for (const shape of ['circle', 'triangle'] as const) {
      const img = renderScene({ objects: [obj(shape, [3, 4, 3 + w, 4 + h])] });
      const f = footprint(img);
      expect(f.box).toEqual([3, 4, 3 + w, 4 + h]);
      const ideal = shape === 'circle' ? Math.PI / 4 * w * h : w * h / 2;
      // Pixel rounding at this size: within 12% of the continuous area (the triangle keeps an apex row).
      expect(Math.abs(f.count - ideal) / ideal).toBeLessThan(0.12);
      // Left-right symmetric.
      for (let y = 4; y < 4 + h; y++) for (let x = 3; x < 3 + w; x++) expect(isBg(img, x, y)).toBe(isBg(img, 3 + w - 1 - (x - 3), y));
    }
  });

  test('later objects are drawn in front', () => {
    const img = renderScene({ objects: [obj('square', [10, 10, 30, 30], 'red'), obj('square', [20, 20, 40, 40], 'green')] });
    expect(px(img, 25, 25)).toEqual([...COLOR_RGB.green]);
    expect(px(img, 15, 15)).toEqual([...COLOR_RGB.red]);
  });

  test('stripes are 2-row bands of the dark shade; dots are 2x2 every 4 pixels', () => {
    const dark = data.darkShade(COLOR_RGB.yellow);
    const s = renderScene({ objects: [obj('square', [10, 10, 30, 30], 'yellow', 'striped')] });
    for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) expect(px(s, x, y)).toEqual([...((y - 10) % 4 >= 2 ? dark : COLOR_RGB.yellow)]);
    const d = renderScene({ objects: [obj('square', [10, 10, 30, 30], 'yellow', 'dotted')] });
    for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) {
      expect(px(d, x, y)).toEqual([...((y - 10) % 4 < 2 && (x - 10) % 4 < 2 ? dark : COLOR_RGB.yellow)]);
    }
  });

  test('boxes off the pixel grid are rounded to it', () => {
    const img = data.renderLayout({ caption: 'a red square', objects: [{ expr: 'red square', box: [0.1, 0.2, 0.31, 0.52] }] });
    expect(footprint(img).box).toEqual([Math.round(6.4), Math.round(12.8), Math.round(19.84), Math.round(33.28)]);
    expect(() => data.renderLayout({ caption: 'a square', objects: [{ expr: 'square', box: [0, 0, 1, 1] }] })).toThrow(/names no colour/);
  });
});

describe('PNG', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-png-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('write then read gives the same pixels, and leaves no temporary file', () => {
    const scene: Scene = data.generateScenes(1, 'test', 5)[0].scene;
    const img = renderScene(scene);
    const file = path.join(dir, 'a.png');
    data.writePng(file, img);
    const back = data.readPng(file);
    expect([back.width, back.height]).toEqual([64, 64]);
    expect(Buffer.compare(Buffer.from(back.rgb), Buffer.from(img))).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['a.png']);
  });

  test('overlay draws box outlines on the upscaled picture', () => {
    const img = renderScene({ objects: [] });
    const file = path.join(dir, 'b.png');
    data.writePng(file, img, { scale: 4, boxes: [[0.25, 0.25, 0.5, 0.5]] });
    const back = data.readPng(file);
    expect(back.width).toBe(256);
    const at = (x: number, y: number) => Array.from(back.rgb.subarray(3 * (y * 256 + x), 3 * (y * 256 + x) + 3));
    expect(at(64, 64)).toEqual([0, 0, 0]);
    expect(at(127, 100)).toEqual([0, 0, 0]);
    expect(at(100, 100)).toEqual([...BACKGROUND]);
    expect(() => data.encodePng(img, { scale: 0 })).toThrow(/scale/);
    expect(() => data.encodePng(new Uint8Array(5))).toThrow(/rgb must be/);
  });
});
