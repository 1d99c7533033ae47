// The external layout set (bench/layouts, written by scripts/external-layouts.js outside the world
// generator): every line is a valid layout, every expression picks out exactly its object, every
// caption holds, the styled captions are the bare ones with commas, a final period and capitals,
// and the set has the overlaps it was written for.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as data from '../../lib/data';

const dir = path.join(__dirname, '..', '..', 'bench', 'layouts');
const bare = data.readLayouts(path.join(dir, 'external-bare.jsonl'));
const styled = fs.readFileSync(path.join(dir, 'external.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as data.Layout);

describe('bench/layouts external set', () => {
  test('200 layouts of 1-4 objects; styled and bare files hold the same objects', () => {
    expect(bare).toHaveLength(200);
    expect(styled).toHaveLength(200);
    const counts = [0, 0, 0, 0, 0];
    bare.forEach((l, i) => {
      expect(l.objects.length).toBeGreaterThanOrEqual(1);
      expect(l.objects.length).toBeLessThanOrEqual(4);
      counts[l.objects.length]++;
      expect(styled[i].objects).toEqual(l.objects);
    });
    for (let n = 1; n <= 4; n++) expect(counts[n]).toBeGreaterThan(20);
  });

  test('every expression resolves to exactly its object and every caption holds on the drawn scene', () => {
    for (const l of bare) {
      const scene = data.sceneFromLayout(l);
      const view = data.drawnView(scene.objects);
      l.objects.forEach((o, i) => expect(data.resolveExpression(data.parseExpression(o.expr), scene.objects, view)).toEqual([i]));
      expect(data.captionHolds(data.parseCaption(l.caption), scene.objects, view)).toBe(true);
    }
  });

  test('styled captions are the bare ones written as people write them (commas, final period, some capitals)', () => {
    let commas = 0, capitals = 0;
    styled.forEach((l, i) => {
      expect(l.caption.endsWith('.')).toBe(true);
      if (l.caption.includes(',')) commas++;
      if (/^[A-Z]/.test(l.caption)) capitals++;
      const normalised = l.caption.toLowerCase().replace(/\.$/, '').replace(/,? and /g, ' and ').replace(/, /g, ' and ');
      expect(normalised).toBe(bare[i].caption);
    });
    expect(commas).toBeGreaterThan(50);
    expect(capitals).toBeGreaterThan(30);
    // The reader normalises case and punctuation, so the styled file reads as the same scenes.
    const parsed = data.parseLayouts(fs.readFileSync(path.join(dir, 'external.jsonl'), 'utf8'), 'external.jsonl');
    expect(parsed.length).toBe(bare.length);
    parsed.forEach((l, i) => expect(l.objects).toEqual(bare[i].objects));
  });

  test('overlaps the world generator avoids: same-colour objects touching, objects partly covered, box sides hidden', () => {
    let sameColourTouching = 0, covered = 0, sideHidden = 0, objects = 0;
    for (const l of bare) {
      const scene = data.sceneFromLayout(l);
      const vis = data.visibility(scene.objects);
      objects += vis.length;
      vis.forEach((v) => { if (v.visible < v.area) covered++; if (!v.reachesBox) sideHidden++; });
      if (!data.sameColorApart(scene.objects)) sameColourTouching++;
    }
    expect(objects).toBe(523);
    expect(covered).toBeGreaterThan(100);
    expect(sideHidden).toBeGreaterThan(30);
    expect(sameColourTouching).toBeGreaterThan(50);
  });
});
