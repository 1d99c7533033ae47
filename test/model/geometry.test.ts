// The shared coordinate encoding: box edges and patch centres at the same place get the same
// features; sequences carry the right geometry ids; a config without the field has none.
import * as eg from '../../lib';
import { LAYOUT } from './fixtures';
import { randomCodes, tinyModel } from './helpers';

const M = eg.model;
const F = M.GEO_FEATURES, H = F / 2;

describe('geometry encoding', () => {
  const side = 16;
  const { data, rows } = M.geoTable(side);
  const row = (id: number): Float32Array => data.subarray(id * F, (id + 1) * F);

  test('table: sin/cos of pi 2^j v per axis, zeros for none and for the other axis of an edge', () => {
    expect(rows).toBe(131 + side * side);
    expect(Array.from(row(M.GEO_NONE)).every((v) => v === 0)).toBe(true);
    const e = 23, x = e / 64;
    const xe = row(M.geoXEdge(e));
    for (let j = 0; j < M.GEO_FREQUENCIES; j++) {
      expect(xe[2 * j]).toBeCloseTo(Math.sin(Math.PI * 2 ** j * x), 6);
      expect(xe[2 * j + 1]).toBeCloseTo(Math.cos(Math.PI * 2 ** j * x), 6);
    }
    expect(Array.from(xe.subarray(H)).every((v) => v === 0)).toBe(true);
    expect(Array.from(row(M.geoYEdge(e)).subarray(0, H))).toEqual(Array.from(new Float32Array(H)));
    expect(Array.from(row(M.geoYEdge(e)).subarray(H))).toEqual(Array.from(xe.subarray(0, H)));
  });

  test('a patch centre and the edges through it share features: patch (r, c) of 4-pixel patches lies on x = 4c+2, y = 4r+2', () => {
    for (const [r, c] of [[0, 0], [5, 11], [15, 15]]) {
      const p = row(M.geoPatch(r * side + c));
      expect(Array.from(p.subarray(0, H))).toEqual(Array.from(row(M.geoXEdge(4 * c + 2)).subarray(0, H)));
      expect(Array.from(p.subarray(H))).toEqual(Array.from(row(M.geoYEdge(4 * r + 2)).subarray(H)));
    }
  });

  test('sequences: codes carry their patch, the token before each code its geoNext, boxes their edges (x2/y2 one bin later)', () => {
    const model = tinyModel(32);
    try {
      const codes = randomCodes(64, 32, 5);
      const s = M.pmtpSequence(model.vocab, LAYOUT, codes);
      const v = model.vocab;
      const imgAt = s.ids.indexOf(v.special('<img>'));
      for (let k = 0; k < 64; k++) {
        expect(s.geo[imgAt + 1 + k]).toBe(M.geoPatch(k));
        expect(s.geoNext[imgAt + k]).toBe(M.geoPatch(k));
      }
      expect(s.geoNext[imgAt + 64]).toBe(M.GEO_NONE);
      // The first box of the layout, and the query of the same object.
      const bins = M.quantizeBox(LAYOUT.objects[0].box);
      const want = [M.geoXEdge(bins[0]), M.geoYEdge(bins[1]), M.geoXEdge(bins[2] + 1), M.geoYEdge(bins[3] + 1)];
      const firstBox = s.ids.indexOf(v.special('<box>'));
      expect(s.geo.slice(firstBox + 1, firstBox + 5)).toEqual(want);
      const queryBox = s.ids.indexOf(v.special('<box>'), s.ids.indexOf(v.special('<i2l>')));
      expect(s.geo.slice(queryBox + 1, queryBox + 5)).toEqual(want);
      // The image prefix of the I2L part carries the same patch ids.
      const i2lImg = s.ids.indexOf(v.special('<img>'), s.ids.indexOf(v.special('<i2l>')));
      expect(s.geo.slice(i2lImg + 1, i2lImg + 65)).toEqual(Array.from({ length: 64 }, (_, k) => M.geoPatch(k)));
      // The L2I prompt ends with <img>, which draws patch 0.
      const p = M.l2iPrompt(v, LAYOUT);
      expect(p.geoNext[p.geoNext.length - 1]).toBe(M.geoPatch(0));
    } finally {
      model.dispose();
    }
  });

  test('the encoding changes the embedding of a code by its patch only when config.geometry is on', () => {
    const on = tinyModel(32, 0, 32, true), off = tinyModel(32, 0, 32, false);
    try {
      expect(on.namedParameters().map(([n]) => n)).toEqual(expect.arrayContaining(['geoOwn.weight', 'geoNext.weight']));
      expect(off.namedParameters().map(([n]) => n).some((n) => n.startsWith('geo'))).toBe(false);
      expect(M.checkConfig({ ...off.config, geometry: undefined }, '').geometry).toBe(false);
      const embed = (m: eg.model.EchoGen, geo: number): Float32Array => eg.tidy(() => {
        const i32 = (v: number): eg.Tensor => eg.tensor([v], [1, 1], { dtype: 'i32' });
        return m.embed(i32(m.vocab.image(3)), i32(5), i32(geo), i32(M.GEO_NONE)).toArray() as Float32Array;
      });
      const a = embed(on, M.geoPatch(0)), b = embed(on, M.geoPatch(9));
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i])))).toBeGreaterThan(1e-3);
      expect(Array.from(embed(off, M.geoPatch(0)))).toEqual(Array.from(embed(off, M.geoPatch(9))));
    } finally {
      on.dispose();
      off.dispose();
    }
  });
});
