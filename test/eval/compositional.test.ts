import * as data from '../../lib/data';
import * as ev from '../../lib/eval';

const { renderScene } = data;
const { detect, captionSatisfied, compositionalAccuracy } = ev;

const obj = (shape: data.Shape, p: number[], color: data.Color, texture: data.Texture = 'plain') =>
  ({ shape, color, texture, box: p.map((v) => v / 64) as data.Box });
const sees = (caption: string, objects: ReturnType<typeof obj>[]) => captionSatisfied(caption, detect(renderScene({ objects })));

describe('compositional accuracy', () => {
  test('hand-made scenes: objects, attributes, spatial and depth relations', () => {
    const left = obj('circle', [5, 20, 17, 32], 'red');
    const right = obj('square', [40, 20, 62, 42], 'blue');
    expect(sees('a small red circle left of a large blue square', [left, right])).toBe(true);
    expect(sees('a red circle right of a blue square', [left, right])).toBe(false);
    expect(sees('a green circle left of a blue square', [left, right])).toBe(false);
    expect(sees('a large red circle', [left, right])).toBe(false);
    expect(sees('a red striped circle', [left, right])).toBe(false);
    expect(sees('a red circle and a blue square and a yellow triangle', [left, right])).toBe(false);
    expect(sees('a red circle', [left, right])).toBe(true); // extra detections are allowed
    const back = obj('square', [10, 10, 40, 40], 'blue');
    const front = obj('square', [30, 30, 44, 44], 'red');
    expect(sees('a red square in front of a blue square', [back, front])).toBe(true);
    expect(sees('a blue square behind a red square', [back, front])).toBe(true);
    expect(sees('a red square in front of a blue square', [front, back])).toBe(false);
  });

  test('two look-alikes need distinct detections', () => {
    const a = obj('circle', [5, 5, 15, 15], 'red');
    expect(sees('a red circle and a red circle', [a])).toBe(false);
    expect(sees('a red circle and a red circle', [a, obj('circle', [40, 40, 50, 50], 'red')])).toBe(true);
  });

  test('on the world\'s own renders every caption holds', () => {
    const scenes = data.generateScenes(300, 'val', 6);
    const r = compositionalAccuracy(scenes.map((s) => ({ caption: s.layout.caption, result: detect(renderScene(s.scene)) })));
    expect(r.n).toBe(300);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.99);
  });

  test('contrastive negatives fail their caption, positives pass, read by the detector', () => {
    for (const stage of [1, 2, 3] as const) {
      const pairs = data.contrastivePairs(stage, 60, 40 + stage);
      let pos = 0, neg = 0;
      for (const p of pairs) {
        if (captionSatisfied(p.caption, detect(data.renderLayout(p.positive)))) pos++;
        if (captionSatisfied(p.caption, detect(data.renderLayout(p.negative)))) neg++;
      }
      expect(pos).toBeGreaterThanOrEqual(59);
      expect(neg).toBeLessThanOrEqual(1);
    }
  });

  test('errors name the item', () => {
    expect(() => compositionalAccuracy([])).toThrow(/non-empty/);
    const r = detect(renderScene({ objects: [] }));
    expect(() => compositionalAccuracy([{ caption: 'a pink circle', result: r }])).toThrow(/items\[0\]\.caption: unknown word "pink"/);
  });
});
