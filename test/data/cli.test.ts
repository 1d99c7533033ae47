// The `world` and `render` verbs, called as the dispatcher calls them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as data from '../../lib/data';
import { worldVerb } from '../../lib/cli/world';
import { renderVerb } from '../../lib/cli/render';
import { main } from '../../lib/cli/main';

function capture() {
  const out: string[] = [], err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  return { out, err, restore: () => { log.mockRestore(); error.mockRestore(); } };
}

describe('echogen world / render', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-cli-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('world writes layouts.jsonl and one PNG per scene, the render of each line', async () => {
    const out = path.join(dir, 'w');
    const c = capture();
    const code = await worldVerb.run({ values: { n: '12', seed: '3', out, split: 'val', overlay: true, json: true }, positionals: [] });
    c.restore();
    expect(code).toBe(0);
    const summary = JSON.parse(c.out[c.out.length - 1]);
    expect(summary).toMatchObject({ n: 12, seed: 3, split: 'val' });
    const layouts = data.readLayouts(path.join(out, 'layouts.jsonl'));
    expect(layouts).toEqual(data.generateScenes(12, 'val', 3).map((s) => s.layout));
    expect(fs.readdirSync(path.join(out, 'images')).sort()).toEqual(layouts.map((_, i) => `${String(i).padStart(5, '0')}.png`));
    layouts.forEach((l, i) => {
      const png = data.readPng(path.join(out, 'images', `${String(i).padStart(5, '0')}.png`));
      expect(Buffer.compare(Buffer.from(png.rgb), Buffer.from(data.renderLayout(l)))).toBe(0);
    });
    expect(data.readPng(path.join(out, 'overlay', '00000.png')).width).toBe(256);
  });

  test('render draws each line of a layout file in line order', async () => {
    const file = path.join(dir, 'in.jsonl');
    const layouts = data.sampleLayouts('template', 7, { seed: 2 });
    data.writeLayouts(file, layouts);
    const out = path.join(dir, 'r');
    const c = capture();
    expect(await renderVerb.run({ values: { layouts: file, out }, positionals: [] })).toBe(0);
    c.restore();
    layouts.forEach((l, i) => {
      const png = data.readPng(path.join(out, `${String(i).padStart(5, '0')}.png`));
      expect(Buffer.compare(Buffer.from(png.rgb), Buffer.from(data.renderLayout(l)))).toBe(0);
    });
  });

  test('a bad layout file exits 1 with FILE:LINE: reason on stderr and renders nothing', async () => {
    const file = path.join(dir, 'bad.jsonl');
    const good = data.formatLayout(data.sampleLayouts('real', 1, { seed: 1 })[0]);
    fs.writeFileSync(file, `${good}\n${good}\n{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0.5, 0, 0.4, 1]}]}\n`);
    const out = path.join(dir, 'none');
    const c = capture();
    const code = await main(['render', '--layouts', file, '--out', out]);
    c.restore();
    expect(code).toBe(1);
    expect(c.err).toEqual([`echogen render: ${file}:3: objects[0].box: x2 (0.4) <= x1 (0.5)`]);
    expect(fs.existsSync(out)).toBe(false);
    // A line that parses but cannot be drawn (no colour) is reported the same way.
    fs.writeFileSync(file, `${good}\n\n{"caption": "a circle", "objects": [{"expr": "circle", "box": [0, 0, 1, 1]}]}\n`);
    const c2 = capture();
    expect(await main(['render', '--layouts', file, '--out', out])).toBe(1);
    c2.restore();
    expect(c2.err[0]).toMatch(new RegExp(`^echogen render: ${file.replace(/[.\\/]/g, '\\$&')}:3: .*names no colour`));
  });

  test('missing or bad options are usage errors', async () => {
    await expect(worldVerb.run({ values: { seed: '1', out: dir }, positionals: [] })).rejects.toThrow(/--n is required/);
    await expect(worldVerb.run({ values: { n: '2', seed: '1', out: dir, split: 'dev' }, positionals: [] })).rejects.toThrow(/--split/);
    await expect(worldVerb.run({ values: { n: '2', seed: '1', out: dir, 'texture-prob': '3' }, positionals: [] })).rejects.toThrow(/--texture-prob/);
    await expect(renderVerb.run({ values: { out: dir }, positionals: [] })).rejects.toThrow(/--layouts is required/);
  });
});
