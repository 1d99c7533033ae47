import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eg from '../../lib';
import { LAYOUT_MAP_FEATURES } from '../../lib/model/layout_map';
import { LAYOUT, WORDS } from './fixtures';
import { randomCodes, randomVq, tinyModel } from './helpers';

const { ops } = eg;
const M = eg.model;

function logits(model: eg.model.EchoGen, batch: eg.model.Batch): number[] {
  return eg.tidy(() => ops.noGrad(() => {
    const h = model.forward(batch);
    return [...model.imageLogits(h).toArray(), ...model.textLogits(h).toArray()];
  }));
}

describe('EchoGen checkpoints', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-ckpt-'));
  const model = tinyModel(32, 7);
  const codes = randomCodes(64, 32, 1);
  const batch = M.collate([M.pmtpSequence(model.vocab, LAYOUT, codes), M.l2iSequence(model.vocab, LAYOUT, codes)]);
  afterAll(() => { model.dispose(); M.disposeBatch(batch); });

  test('save, reload and run again: identical logits, identical generations', () => {
    model.save(dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ format: 'echogen', dim: 32, layers: 2, codebookSize: 32, words: WORDS });
    const back = M.EchoGen.load(dir);
    expect(back.namedParameters().map(([n]) => n)).toEqual(model.namedParameters().map(([n]) => n));
    expect(logits(back, batch)).toEqual(logits(model, batch));
    expect(Array.from(back.vq.codebook.toArray())).toEqual(Array.from(model.vq.codebook.toArray()));
    const g1 = model.generate(LAYOUT, { seed: 5 }).codes.toArray();
    const g2 = back.generate(LAYOUT, { seed: 5 }).codes.toArray();
    expect(Array.from(g2)).toEqual(Array.from(g1));
    back.dispose();
  });

  test('a different seed gives different weights, so the check above has teeth', () => {
    const other = tinyModel(32, 8);
    expect(logits(other, batch)).not.toEqual(logits(model, batch));
    other.dispose();
  });

  test('a truncated weights file, a corrupt config and a mismatched shape name the file and the reason', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-bad-'));
    model.save(bad);
    const w = path.join(bad, 'model.safetensors');
    const bytes = fs.readFileSync(w);
    fs.writeFileSync(w, bytes.subarray(0, bytes.length - 100));
    expect(() => M.EchoGen.load(bad)).toThrow(new RegExp(`${w.replace(/[.]/g, '\\.')}: truncated`));
    fs.writeFileSync(w, bytes);
    const c = path.join(bad, 'config.json');
    const cfg = fs.readFileSync(c, 'utf8');
    fs.writeFileSync(c, cfg.slice(0, 40));
    expect(() => M.EchoGen.load(bad)).toThrow(/config\.json: corrupt: not valid JSON/);
    fs.writeFileSync(c, cfg.replace('"dim": 32', '"dim": 36'));
    expect(() => M.EchoGen.load(bad)).toThrow(/model\.safetensors: .*must have shape \[\d+,36\]/);
    fs.writeFileSync(c, cfg.replace('"heads": 4', '"heads": "4"'));
    expect(() => M.EchoGen.load(bad)).toThrow(/config\.json: config\.heads must be a positive integer/);
    // A field this version does not know (a newer checkpoint's flag, a typo) is refused, not read as its default.
    fs.writeFileSync(c, cfg.replace('"dim": 32', '"dim": 32, "bidirectionalImages": true'));
    expect(() => M.EchoGen.load(bad)).toThrow(/config\.json: config\.bidirectionalImages is not a field this version of echogen knows/);
    fs.writeFileSync(c, cfg.replace('"bidirectionalImage": false', '"bidirectionalImage": true'));
    const bi = M.EchoGen.load(bad);
    expect(bi.config.bidirectionalImage).toBe(true);
    bi.dispose();
    expect(() => M.EchoGen.load(path.join(bad, 'missing'))).toThrow(/config\.json: cannot read/);
  });
});

describe('presets', () => {
  test('small fits in 20 MB of f32 weights (codebook included); tiny is smaller', () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
    for (const name of ['tiny', 'small'] as const) {
      const p = M.presets[name];
      const m = M.EchoGen.create(name, { words, vq: randomVq(p.codebookSize, 1, p.patchSize) });
      const bytes = 4 * (m.numParameters() + m.vq.codebook.size);
      if (name === 'small') expect(bytes).toBeLessThanOrEqual(20e6);
      else expect(bytes).toBeLessThan(2e6);
      // Closed form of the parameter count.
      const D = p.dim, Hd = D * p.mlpRatio, V = m.vocab.size;
      const block = 4 * D + 3 * D * D + 3 * D + D * D + D + 2 * D * Hd + Hd + D;
      // geometry: two projections of the Fourier table and the coordinate pointer; layout map: one projection.
      const geo = p.geometry ? 2 * M.GEO_FEATURES * D + D * D : 0;
      const map = p.layoutMap ? LAYOUT_MAP_FEATURES * D : 0;
      const pixels = p.patchPixels ? 3 * p.patchSize * p.patchSize * D : 0;
      // query, key, keyEmbed and out maps (D x D) and the value map of the patch centres' features.
      const readout = p.refReadout ? 4 * D * D + M.GEO_FEATURES * D : 0;
      // With relations: U_rel for each relation (D x D) and the position map of the keys.
      const relations = p.refRelations ? eg.data.RELATIONS.length * D * D + M.GEO_FEATURES * D : 0;
      // The patch-box task (training only): a patch's map to its coordinate query (D x D, no bias) and its shape logits.
      const patch = (p.patchBoxes ? D * D : 0) + (p.patchShapes ? eg.data.SHAPES.length * (D + 1) : 0);
      // With neighbours: each of the (2r+1)^2 - 1 neighbours' codes at 32 wide (D x 32), then that many * 32 -> D
      // (both without bias); r = 2 when absent, small's is 3 (48 neighbours).
      const r = p.refNeighbourRadius ?? 2;
      const neighbours = p.refNeighbours ? D * 32 + ((2 * r + 1) ** 2 - 1) * 32 * D : 0;
      expect(m.numParameters()).toBe(V * D + p.maxPositions * D + p.layers * block + 2 * D + p.codebookSize * D + m.vocab.textSize * D + geo + map + pixels + readout + relations + patch + neighbours);
      m.dispose();
    }
    expect(() => M.EchoGen.create('huge' as 'tiny', { words, vq: randomVq(8) })).toThrow(/unknown preset "huge"/);
  });
});
