// The layout map: what each drawing step is told about its patch, and decoding with it equal to the
// full forward pass.
import * as eg from '../../lib';
import { LAYOUT_MAP_FEATURES, mapObjects, writeLayoutMap } from '../../lib/model/layout_map';
import { argmax, tinyModel } from './helpers';

const { ops } = eg;
const M = eg.model;
const SLOT = LAYOUT_MAP_FEATURES / 2;

describe('layout map', () => {
  const layout: eg.model.Layout = {
    caption: 'a red striped circle and a blue square',
    objects: [
      { expr: 'red striped circle', box: [0.125, 0.125, 0.5, 0.5] },   // pixels 8..32
      { expr: 'blue square', box: [0.375, 0.375, 0.75, 0.75] },       // pixels 24..48, in front
    ],
  };
  const objects = mapObjects(layout);
  const at = (k: number): Float32Array => { const out = new Float32Array(LAYOUT_MAP_FEATURES); writeLayoutMap(out, 0, objects, k, 8); return out; };

  test('attributes: one-hot colour, shape, texture (plain first) and presence, the front-most object first', () => {
    expect(objects.map((o) => [o.color, o.shape, o.texture])).toEqual([[0, 0, 0], [2, 1, -1]]);
    // 8x8-pixel patches, 8 a side. Patch (1, 1) = pixels 8..16: only the circle.
    const a = at(9);
    expect(Array.from(a.subarray(0, 11))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
    expect(Array.from(a.subarray(SLOT)).every((v) => v === 0)).toBe(true);
    // Patch (3, 3) = pixels 24..32: both; the square (drawn later) fills slot 0.
    const b = at(27);
    expect(Array.from(b.subarray(0, 11))).toEqual([0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1]);
    expect(Array.from(b.subarray(SLOT, SLOT + 11))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
    // Patch (7, 7): nothing.
    expect(Array.from(at(63)).every((v) => v === 0)).toBe(true);
  });

  test('place: Fourier features of the signed distances (patch corner to x1, x2 to corner, likewise y), mapped from [-1, 1] to [0, 1]', () => {
    const a = at(9);  // corner (8, 8) px; circle box 8..32
    const d = [8 / 64 - 0.125, 0.5 - 8 / 64, 8 / 64 - 0.125, 0.5 - 8 / 64];
    d.forEach((v, i) => {
      for (let j = 0; j < 7; j++) {
        const ang = Math.PI * 2 ** j * (v + 1) / 2;
        expect(a[11 + i * 14 + 2 * j]).toBeCloseTo(Math.sin(ang), 5);
        expect(a[11 + i * 14 + 2 * j + 1]).toBeCloseTo(Math.cos(ang), 5);
      }
    });
  });

  test('greedy generate() with the map equals the full-forward argmax at every step', () => {
    const model = tinyModel(32, 3, 32, true, true);
    try {
      const layouts = [layout, { caption: 'a green triangle', objects: [{ expr: 'green triangle', box: [0.6, 0.1, 0.9, 0.4] }] }];
      const codes = model.generate(layouts, { temperature: 0 }).codes.toArray();
      layouts.forEach((l, b) => {
        const mine = Array.from(codes.subarray(b * 64, (b + 1) * 64));
        const full = eg.tidy(() => ops.noGrad(() => {
          const batch = model.collate([M.l2iSequence(model.vocab, l, mine)]);
          expect(batch.layoutMap).not.toBeNull();
          const h = ops.reshape(model.forward(batch), [batch.length, model.config.dim]);
          return model.imageLogits(ops.gatherRows(h, batch.imageRows)).toArray();
        }));
        expect(mine.map((_, s) => argmax(full, s * 32, (s + 1) * 32))).toEqual(mine);
      });
      // The map changes what is drawn: the same model without it (zeroed projection) draws otherwise.
      const w = model.layoutMap!.weight;
      const before = Array.from(codes);
      model.layoutMap!.loadStateDict({ weight: eg.tensor(new Float32Array(w.size), w.shape) });
      expect(Array.from(model.generate(layouts, { temperature: 0 }).codes.toArray())).not.toEqual(before);
    } finally {
      model.dispose();
    }
  });
});
