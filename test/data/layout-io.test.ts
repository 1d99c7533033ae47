import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as data from '../../lib/data';

const { parseLayouts, readLayouts, writeLayouts, LayoutError } = data;

const good = '{"caption": "a red circle left of a blue square", "objects": [{"expr": "red circle", "box": [0.1, 0.1, 0.3, 0.3]}, {"expr": "blue square", "box": [0.6, 0.1, 0.9, 0.4]}]}';

function errorOf(text: string): string {
  try {
    parseLayouts(text, 'f.jsonl');
  } catch (e) {
    expect(e).toBeInstanceOf(LayoutError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('layout files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'echogen-layouts-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a good line parses; blank lines are skipped but counted', () => {
    const ls = parseLayouts(`${good}\n\n${good}\n`);
    expect(ls).toHaveLength(2);
    expect(ls[0].objects[1]).toEqual({ expr: 'blue square', box: [0.6, 0.1, 0.9, 0.4] });
    expect(errorOf(`${good}\n\n{`)).toMatch(/^f\.jsonl:3: malformed JSON/);
  });

  test.each([
    ['{"caption": "a red circle", "objects": [{"expr": "purple circle", "box": [0, 0, 1, 1]}]}', /^f\.jsonl:1: objects\[0\]\.expr: unknown word "purple"/],
    ['{"caption": "a red circle with a hat", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1]}]}', /^f\.jsonl:1: caption: unknown word "with"/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [-0.1, 0, 1, 1]}]}', /^f\.jsonl:1: objects\[0\]\.box: x1=-0\.1 is outside \[0,1\]/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1.5]}]}', /y2=1\.5 is outside \[0,1\]/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0.5, 0, 0.5, 1]}]}', /objects\[0\]\.box: x2 \(0\.5\) <= x1 \(0\.5\)/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0.7, 1, 0.2]}]}', /y2 \(0\.2\) <= y1 \(0\.7\)/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0, 1]}]}', /box must be an array of 4 numbers/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0, "1", 1]}]}', /x2 must be a finite number/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1], "id": 3}]}', /objects\[0\]: unknown key "id"/],
    ['{"caption": "a red circle", "objects": []}', /"objects" must be a non-empty array/],
    ['{"caption": "a red circle"}', /missing key "objects"/],
    ['{"caption": 3, "objects": [{"expr": "red circle", "box": [0, 0, 1, 1]}]}', /"caption" must be a string/],
    ['{"caption": "a red circle", "objects": [{"expr": "circle red", "box": [0, 0, 1, 1]}]}', /objects\[0\]\.expr: expected a relation/],
    ['{"caption": "a red blob", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1]}]}', /caption: unknown word "blob"/],
    ['{"caption": "", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1]}]}', /caption: the caption is empty/],
    ['[1, 2]', /must be a JSON object/],
    ['{"caption": "a red circle", "objects": [{"expr": "red circle", "box": [0, 0, 1, 1]}]', /malformed JSON/],
  ])('rejects %s', (line, reason) => {
    expect(errorOf(`${good}\n${line}`.replace(/^f\.jsonl:1/, ''))).toMatch(new RegExp(reason.source.replace('f\\.jsonl:1', 'f\\.jsonl:2')));
  });

  test('a caption of known words outside the grammar is read (compositional accuracy counts it as unparsed); case and punctuation are normalised', () => {
    const file = path.join(dir, 'people.jsonl');
    fs.writeFileSync(file, '{"caption": "Red circle.", "objects": [{"expr": "The red circle.", "box": [0, 0, 1, 1]}]}\n');
    expect(readLayouts(file)).toEqual([{ caption: 'red circle', objects: [{ expr: 'red circle', box: [0, 0, 1, 1] }] }]);
  });

  test('write then read gives the layouts back, from every source', () => {
    const layouts = [
      ...data.sampleLayouts('real', 20, { seed: 1 }),
      ...data.sampleLayouts('random', 20, { seed: 2 }),
      ...data.sampleLayouts('template', 20, { seed: 3 }),
    ];
    const file = path.join(dir, 'all.jsonl');
    writeLayouts(file, layouts);
    expect(readLayouts(file)).toEqual(layouts);
    expect(fs.readFileSync(file, 'utf8').split('\n')).toHaveLength(61);
  });

  test('a bad layout writes nothing and leaves an existing file alone', () => {
    const file = path.join(dir, 'keep.jsonl');
    fs.writeFileSync(file, 'old\n');
    const layouts = data.sampleLayouts('real', 5, { seed: 1 });
    const bad = [...layouts.slice(0, 3), { caption: 'a red circle', objects: [{ expr: 'red circle', box: [0, 0, 2, 1] as data.Box }] }];
    expect(() => writeLayouts(file, bad)).toThrow(/keep\.jsonl:4: objects\[0\]\.box: x2=2 is outside \[0,1\]/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
    const fresh = path.join(dir, 'fresh.jsonl');
    expect(() => writeLayouts(fresh, bad)).toThrow(LayoutError);
    expect(fs.existsSync(fresh)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  test('a missing file is a LayoutError naming it', () => {
    expect(() => readLayouts(path.join(dir, 'nope.jsonl'))).toThrow(/nope\.jsonl: cannot read the file/);
  });
});
