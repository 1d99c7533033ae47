// `echogen eval l2i --layouts FILE --real [--json]`, called as the dispatcher calls it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as data from '../../lib/data';
import * as ev from '../../lib/eval';
import { evalL2iReal } from '../../lib/cli/eval-l2i';
import { main } from '../../lib/cli/main';

function capture() {
  const out: string[] = [], err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  return { out, err, restore: () => { log.mockRestore(); error.mockRestore(); } };
}

describe('echogen eval l2i --real', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-eval-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('--json prints one object with AP, AP50, AP75 in [0,1] as the last line, equal to the library', async () => {
    const file = path.join(dir, 'test.jsonl');
    const layouts = data.generateScenes(60, 'test', 8).map((s) => s.layout);
    data.writeLayouts(file, layouts);
    const c = capture();
    const code = await evalL2iReal({ values: { layouts: file, real: true, json: true }, positionals: ['l2i'] });
    c.restore();
    expect(code).toBe(0);
    const r = JSON.parse(c.out[c.out.length - 1]);
    const lib = ev.evaluateL2iReal(layouts);
    for (const k of ['AP', 'AP50', 'AP75'] as const) {
      expect(r[k]).toBeGreaterThanOrEqual(0);
      expect(r[k]).toBeLessThanOrEqual(1);
      expect(r[k]).toBe(lib[k]);
    }
    expect(r.n).toBe(60);
  });

  test('template layouts (off the pixel grid) score below 1 at high IoU but high at 0.5', async () => {
    const file = path.join(dir, 'template.jsonl');
    data.writeLayouts(file, data.sampleLayouts('template', 80, { seed: 4 }));
    const c = capture();
    await evalL2iReal({ values: { layouts: file, real: true, json: true }, positionals: [] });
    c.restore();
    const r = JSON.parse(c.out[c.out.length - 1]);
    expect(r.AP50).toBeGreaterThan(0.8);
    expect(r.AP).toBeLessThan(r.AP50);
  });

  test('a bad file exits 1 with FILE:LINE: reason; --real is required', async () => {
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, '{"caption": "a red circle", "objects": [{"expr": "red blob", "box": [0, 0, 1, 1]}]}\n');
    const c = capture();
    expect(await main(['eval', 'l2i', '--real', '--layouts', file])).toBe(1);
    c.restore();
    expect(c.err).toEqual([`echogen eval: ${file}:1: objects[0].expr: unknown word "blob" (word 2 of "red blob"); the vocabulary is: ${data.VOCAB.join(' ')}`]);
    await expect(evalL2iReal({ values: { layouts: file }, positionals: [] })).rejects.toThrow(/--real/);
  });
});
