// The `echogen` verbs of issue 6 in-process: outputs, --json as the last stdout line, and one-line
// errors naming the file and the reason for bad input.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../lib/cli/main';
import { EchoGen, PatchVq } from '../../lib/model';
import { VOCAB, generateScenes, writeLayouts, writePng, renderLayout } from '../../lib/data';
import { fitTokenizer } from '../../lib/train/data';

const SHAPE = { dim: 32, layers: 1, heads: 2, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: 32 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-cli-'));
const ckpt = path.join(dir, 'model');
const layoutsFile = path.join(dir, 'layouts.jsonl');
const layouts = generateScenes(3, 'test', 5).map((s) => s.layout);

beforeAll(() => {
  const vq: PatchVq = fitTokenizer(SHAPE, 32, 1, 3);
  const m = EchoGen.create(SHAPE, { words: VOCAB, vq, seed: 1 });
  m.save(ckpt);
  m.dispose();
  writeLayouts(layoutsFile, layouts);
  writePng(path.join(dir, 'scene.png'), renderLayout(layouts[0]));
});

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const lastJson = (out: string[]): Record<string, unknown> => JSON.parse(out[out.length - 1]);

test('generate writes NNNNN.png and a boxes copy per layout line', async () => {
  const outDir = path.join(dir, 'gen');
  const r = await cli(['generate', '--checkpoint', ckpt, '--layouts', layoutsFile, '--out', outDir, '--seed', '3', '--json']);
  expect(r.code).toBe(0);
  expect(lastJson(r.out).images).toBe(3);
  for (let i = 0; i < 3; i++) {
    expect(fs.existsSync(path.join(outDir, `0000${i}.png`))).toBe(true);
    expect(fs.existsSync(path.join(outDir, `0000${i}-boxes.png`))).toBe(true);
  }
  // Same seed, same images.
  const again = path.join(dir, 'gen2');
  await cli(['generate', '--checkpoint', ckpt, '--layouts', layoutsFile, '--out', again, '--seed', '3']);
  expect(fs.readFileSync(path.join(again, '00001.png')).equals(fs.readFileSync(path.join(outDir, '00001.png')))).toBe(true);
});

test('ground prints a box inside the unit square; --json last line', async () => {
  const r = await cli(['ground', '--checkpoint', ckpt, '--image', path.join(dir, 'scene.png'), '--expr', layouts[0].objects[0].expr, '--json']);
  expect(r.code).toBe(0);
  const box = lastJson(r.out).box as number[];
  expect(box).toHaveLength(4);
  expect(box[0]).toBeGreaterThanOrEqual(0);
  expect(box[2]).toBeGreaterThan(box[0]);
  expect(box[3]).toBeLessThanOrEqual(1);
});

test('eval l2i --real on the world renders is near the top; eval ground and eval l2i report their fields', async () => {
  const real = await cli(['eval', 'l2i', '--real', '--layouts', layoutsFile, '--json']);
  expect(real.code).toBe(0);
  expect(lastJson(real.out).AP as number).toBeGreaterThan(0.5);
  const g = await cli(['eval', 'ground', '--checkpoint', ckpt, '--layouts', layoutsFile, '--json']);
  expect(g.code).toBe(0);
  const gj = lastJson(g.out);
  for (const k of ['acc50', 'acc75', 'mAcc']) expect(gj[k]).toBeGreaterThanOrEqual(0);
  expect(gj.queries).toBe(layouts.reduce((s, l) => s + l.objects.length, 0));
  const l = await cli(['eval', 'l2i', '--checkpoint', ckpt, '--layouts', layoutsFile, '--json']);
  expect(l.code).toBe(0);
  const lj = lastJson(l.out);
  for (const k of ['AP', 'AP50', 'AP75', 'cycleIou']) expect(typeof lj[k]).toBe('number');
});

describe('bad input: one line naming the file and the reason, non-zero exit', () => {
  const oneLine = (r: { err: string[] }): string => { expect(r.err).toHaveLength(1); expect(r.err[0].split('\n')).toHaveLength(1); return r.err[0]; };

  test('an unknown word in --expr', async () => {
    const r = await cli(['ground', '--checkpoint', ckpt, '--image', path.join(dir, 'scene.png'), '--expr', 'purple circle']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toMatch(/unknown word "purple"/);
  });

  test('an unknown word and a malformed line in a layout file (file:line)', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, fs.readFileSync(layoutsFile, 'utf8') + '{"caption": "a mauve circle", "objects": []}\n');
    let r = await cli(['generate', '--checkpoint', ckpt, '--layouts', bad, '--out', path.join(dir, 'x')]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(`${bad}:4:`);
    fs.writeFileSync(bad, '{"caption": "a red circle", "objects": [\n');
    r = await cli(['eval', 'ground', '--checkpoint', ckpt, '--layouts', bad]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(`${bad}:1:`);
  });

  test('a missing checkpoint, a truncated weights file, a wrong header', async () => {
    let r = await cli(['eval', 'ground', '--checkpoint', path.join(dir, 'nope'), '--layouts', layoutsFile]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(path.join(dir, 'nope'));
    const broken = path.join(dir, 'broken');
    fs.cpSync(ckpt, broken, { recursive: true });
    const w = path.join(broken, 'model.safetensors');
    const bytes = fs.readFileSync(w);
    fs.writeFileSync(w, bytes.subarray(0, bytes.length - 100));
    r = await cli(['ground', '--checkpoint', broken, '--image', path.join(dir, 'scene.png'), '--expr', 'red circle']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(w);
    const wrong = Buffer.from(bytes);
    wrong.writeUInt32LE(0xffffff, 0);
    fs.writeFileSync(w, wrong);
    r = await cli(['ground', '--checkpoint', broken, '--image', path.join(dir, 'scene.png'), '--expr', 'red circle']);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(w);
  });

  test('usage errors: missing --layouts, unknown eval task', async () => {
    let r = await cli(['generate', '--checkpoint', ckpt, '--out', dir]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--layouts is required/);
    r = await cli(['eval', 'speed', '--layouts', layoutsFile]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/eval l2i' or 'eval ground/);
  });
});

test('train --lr-decay: log.jsonl records each step\'s learning rate: warm-up, the peak held, then the cosine', async () => {
  const run = path.join(dir, 'lr-run');
  // tiny's PMTP: peak 2e-3, warm-up 20 steps; 40 steps with --lr-decay 0.5 hold the peak for 10 and decay over 10.
  const r = await cli(['train', '--init', ckpt, '--stages', 'pmtp', '--steps', 'pmtp=40', '--batch', '2', '--lr-decay', '0.5', '--out', run]);
  expect(r.code).toBe(0);
  const lr = fs.readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; lr: number })
    .sort((a, b) => a.step - b.step).map((l) => l.lr);
  expect(lr.length).toBe(40);
  expect(lr[0]).toBeCloseTo(1e-4, 15);
  expect(lr[19]).toBeCloseTo(2e-3, 15);
  for (let step = 20; step < 30; step++) expect(lr[step]).toBe(2e-3);
  expect(lr[35]).toBeCloseTo(2e-3 * (0.1 + 0.9 * 0.5), 15);
  for (let step = 31; step < 40; step++) expect(lr[step]).toBeLessThan(lr[step - 1]);
});

describe('train --eval-layouts: the learning-curve probe also grounds on a file of layouts', () => {
  test('each probe point carries grounding on the file; the first (before any step) equals eval ground on the model', async () => {
    // From the shipped model, so the grounding is not the zeros of an untrained one.
    const shipped = path.resolve(__dirname, '../../models/small');
    const run = path.join(dir, 'curve-run');
    const r = await cli(['train', '--init', shipped, '--stages', 'pmtp', '--steps', 'pmtp=1', '--batch', '2', '--eval-every', '1', '--eval-scenes', '1',
      '--eval-layouts', layoutsFile, '--out', run]);
    expect(r.code).toBe(0);
    const points = fs.readFileSync(path.join(run, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(points.length).toBeGreaterThanOrEqual(2);
    const g = await cli(['eval', 'ground', '--checkpoint', shipped, '--layouts', layoutsFile, '--json']);
    const ref = lastJson(g.out);
    const first = points[0];
    expect(first.step).toBe(0);
    expect(first.external.layouts).toBe(layouts.length);
    expect(ref.meanIou as number).toBeGreaterThan(0.3);
    expect(first.external.acc50).toBeCloseTo(ref.acc50 as number, 12);
    expect(first.external.mAcc).toBeCloseTo(ref.mAcc as number, 12);
    expect(first.external.meanIou).toBeCloseTo(ref.meanIou as number, 12);
    for (const p of points) expect(p.external.meanIou).toBeGreaterThan(0);
    expect(r.err.some((m) => /3 other layouts: Acc@0\.5 /.test(m))).toBe(true);
  });

  test('bad input: without --eval-every, a missing file, a malformed line (file:line)', async () => {
    const oneLine = (r: { err: string[] }): string => { expect(r.err).toHaveLength(1); return r.err[0]; };
    let r = await cli(['train', '--eval-layouts', layoutsFile, '--out', path.join(dir, 'r1')]);
    expect(r.code).toBe(2);
    expect(oneLine(r)).toMatch(/--eval-layouts .*--eval-every/);
    r = await cli(['train', '--eval-every', '60', '--eval-layouts', path.join(dir, 'none.jsonl'), '--out', path.join(dir, 'r1')]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(path.join(dir, 'none.jsonl'));
    const bad = path.join(dir, 'bad-eval.jsonl');
    fs.writeFileSync(bad, fs.readFileSync(layoutsFile, 'utf8') + '{"caption": "a red circle", "objects": [\n');
    r = await cli(['train', '--eval-every', '60', '--eval-layouts', bad, '--out', path.join(dir, 'r1')]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r)).toContain(`${bad}:4:`);
    expect(fs.existsSync(path.join(dir, 'r1'))).toBe(false);
  });
});
