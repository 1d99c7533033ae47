// Bad input on the command line (issue 11): every case prints one line in the convention
// `echogen <verb>: [<file>:<line>: ]<reason>`, exits 1 (bad input) or 2 (usage), and leaves
// nothing half-written on disk. Also: --help/--version, caption and expression normalisation.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { main } from '../../lib/cli/main';
import { estimateTrainBytes, MEMORY_SHARE } from '../../lib/cli/train';
import { defaultConfig } from '../../lib/train/trainer';
import { EchoGen, PatchVq } from '../../lib/model';
import { VOCAB, generateScenes, writePng, readPng, renderLayout, formatLayout, readLayouts } from '../../lib/data';
import { rgbToTensor } from '../../lib/cli/images';
import { tidy } from '../../lib/tensor';
import { compositionalAccuracy } from '../../lib/eval';
import { detect } from '../../lib/eval/detector';
import { fitTokenizer } from '../../lib/train/data';

const SHAPE = { dim: 32, layers: 1, heads: 2, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: 32 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-input-'));
const ckpt = path.join(dir, 'model');
const scene = path.join(dir, 'scene.png');
const layout = generateScenes(1, 'test', 5)[0].layout;

beforeAll(() => {
  const vq: PatchVq = fitTokenizer(SHAPE, 32, 1, 3);
  const m = EchoGen.create(SHAPE, { words: VOCAB, vq, seed: 1 });
  m.save(ckpt);
  m.dispose();
  writePng(scene, renderLayout(layout));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  try {
    return { code: await main(args), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** Runs the command and expects exactly one stderr line and the exit code. */
async function fails(args: string[], code: number, message: string): Promise<void> {
  const r = await cli(args);
  expect(r.err).toEqual([message]);
  expect(r.code).toBe(code);
}

const listing = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

describe('train: limits checked before any work', () => {
  const out = path.join(dir, 'run');

  test('--batch -4, 0, 100000, 2.5 and --steps 99999999999999999999 are usage errors naming the value', async () => {
    await fails(['train', '--out', out, '--batch', '-4'], 2, 'echogen train: --batch must be an integer from 1 to 4096, got "-4"');
    await fails(['train', '--out', out, '--batch', '0'], 2, 'echogen train: --batch must be an integer from 1 to 4096, got "0"');
    await fails(['train', '--out', out, '--batch', '100000'], 2, 'echogen train: --batch must be an integer from 1 to 4096, got "100000"');
    await fails(['train', '--out', out, '--batch', '2.5'], 2, 'echogen train: --batch must be an integer from 1 to 4096, got "2.5"');
    await fails(['train', '--out', out, '--steps', '99999999999999999999'], 2, 'echogen train: --steps must be an integer from 1 to 10000000, got "99999999999999999999"');
    await fails(['train', '--out', out, '--steps', 'pmtp=-3'], 2, 'echogen train: --steps pmtp must be an integer from 1 to 10000000, got "-3"');
    await fails(['train', '--out', out, '--group', '1'], 2, 'echogen train: --group must be an integer from 2 to 64, got "1"');
    await fails(['train', '--out', out, '--group', '1e3'], 2, 'echogen train: --group must be an integer from 2 to 64, got "1e3"');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a batch whose estimated memory exceeds the machine is refused with the estimate', async () => {
    const cfg = defaultConfig('small');
    cfg.batch = 4096;
    const need = estimateTrainBytes(cfg);
    expect(need).toBeGreaterThan(MEMORY_SHARE * os.totalmem());
    await fails(['train', '--out', out, '--preset', 'small', '--batch', '4096'], 2,
      `echogen train: --batch 4096: the small preset needs about ${(need / 1e9).toFixed(1)} GB at this batch, more than 80% of this machine's ${(os.totalmem() / 1e9).toFixed(1)} GB; use a smaller --batch`);
    expect(fs.existsSync(out)).toBe(false);
    // The estimate grows with the batch, and the default batch is accepted by any machine with 2 GB.
    const small = defaultConfig('tiny');
    expect(estimateTrainBytes(small)).toBeLessThan(2e9);
    expect(estimateTrainBytes({ ...small, batch: 64 })).toBeGreaterThan(estimateTrainBytes(small));
  });

  test('an --out that holds a run needs --resume or --force; --resume needs a checkpoint and the same configuration', async () => {
    const run = path.join(dir, 'existing');
    const ck = path.join(run, 'ckpt-00000005');
    fs.mkdirSync(ck, { recursive: true });
    fs.writeFileSync(path.join(run, 'LATEST'), 'ckpt-00000005\n');
    fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify(defaultConfig('tiny')));
    fs.writeFileSync(path.join(ck, 'state.json'), JSON.stringify({ config: defaultConfig('tiny'), state: { stage: 0, step: 5, rng: 1, elapsedSec: 1 } }));
    const before = listing(run);
    await fails(['train', '--out', run], 2, `echogen train: --out ${run} already holds a training run (LATEST, ckpt-00000005, config.json); pass --resume to continue it or --force to start over`);
    await fails(['train', '--out', run, '--resume', '--preset', 'small'], 2,
      `echogen train: --resume: --preset asks for preset "small" but the run in ${run} has "tiny"; drop the option to resume that run, or train into another --out`);
    await fails(['train', '--out', run, '--resume', '--batch', '12'], 2,
      `echogen train: --resume: --batch asks for batch 12 but the run in ${run} has 8; drop the option to resume that run, or train into another --out`);
    await fails(['train', '--out', run, '--resume', '--steps', 'djo=7'], 2,
      `echogen train: --resume: --steps asks for steps {"pmtp":300,"djo":7,"cycle-rl":20} but the run in ${run} has {"pmtp":300,"djo":100,"cycle-rl":20}; drop the option to resume that run, or train into another --out`);
    await fails(['train', '--out', run, '--resume', '--stages', 'pmtp'], 2,
      `echogen train: --resume: --stages asks for stages ["pmtp"] but the run in ${run} has ["pmtp","djo","cycle-rl"]; drop the option to resume that run, or train into another --out`);
    await fails(['train', '--out', run, '--resume', '--force'], 2, 'echogen train: --resume continues the run in --out and --force starts it over: pass one of them');
    expect(listing(run)).toEqual(before);
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    await fails(['train', '--out', empty, '--resume'], 1, `echogen train: ${empty}: no checkpoint to resume from (no LATEST file); run without --resume to start a new run`);
  });
});

describe('world: limits and all-or-nothing output', () => {
  test('--n 1e9, 0, 2000000 and --seed -1 are usage errors; nothing is created', async () => {
    const out = path.join(dir, 'w-none');
    await fails(['world', '--n', '1e9', '--seed', '1', '--out', out], 2, 'echogen world: --n must be an integer from 1 to 1000000, got "1e9"');
    await fails(['world', '--n', '0', '--seed', '1', '--out', out], 2, 'echogen world: --n must be an integer from 1 to 1000000, got "0"');
    await fails(['world', '--n', '2000000', '--seed', '1', '--out', out], 2, 'echogen world: --n must be an integer from 1 to 1000000, got "2000000"');
    await fails(['world', '--n', '5', '--seed', '-1', '--out', out], 2, 'echogen world: --seed must be an integer from 0 to 4294967295, got "-1"');
    await fails(['world', '--n', '5', '--out', out], 2, 'echogen world: --seed is required');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('an existing non-empty --out needs --force, which replaces it only with a complete output', async () => {
    const out = path.join(dir, 'w-force');
    expect((await cli(['world', '--n', '3', '--seed', '1', '--out', out])).code).toBe(0);
    const first = fs.readFileSync(path.join(out, 'layouts.jsonl'), 'utf8');
    await fails(['world', '--n', '4', '--seed', '2', '--out', out], 2, `echogen world: --out ${out}: exists and is not empty; choose another --out or pass --force to replace it`);
    expect(fs.readFileSync(path.join(out, 'layouts.jsonl'), 'utf8')).toBe(first);
    expect((await cli(['world', '--n', '4', '--seed', '2', '--out', out, '--force'])).code).toBe(0);
    expect(readLayouts(path.join(out, 'layouts.jsonl'))).toHaveLength(4);
    expect(listing(path.join(out, 'images'))).toEqual(['00000.png', '00001.png', '00002.png', '00003.png']);
    expect(listing(dir).filter((f) => f.includes('echogen-tmp'))).toEqual([]);
  });

  const bin = path.resolve(__dirname, '../../bin/echogen.js');
  async function startAndKill(out: string, signal: NodeJS.Signals): Promise<number | null> {
    const child = spawn(process.execPath, [bin, 'world', '--n', '1000000', '--seed', '1', '--out', out], { stdio: 'ignore' });
    const tmp = path.join(path.dirname(out), `.${path.basename(out)}.echogen-tmp-${child.pid}`);
    // Wait until images are being written, then stop the run.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (listing(path.join(tmp, 'images')).length > 200) { clearInterval(poll); resolve(); }
      }, 20);
    });
    child.kill(signal);
    return new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  }

  test('SIGTERM: exit 130, no output and no temporary directory; SIGKILL: no output, and the next run removes the leftovers', async () => {
    const parent = path.join(dir, 'killed');
    fs.mkdirSync(parent);
    const out = path.join(parent, 'world');
    expect(await startAndKill(out, 'SIGTERM')).toBe(130);
    expect(listing(parent)).toEqual([]);
    expect(await startAndKill(out, 'SIGKILL')).toBe(null);
    expect(fs.existsSync(out)).toBe(false);
    expect(listing(parent)).toHaveLength(1);            // the hidden temporary directory of the killed run
    expect(listing(parent)[0]).toMatch(/^\.world\.echogen-tmp-\d+$/);
    expect((await cli(['world', '--n', '2', '--seed', '1', '--out', out])).code).toBe(0);
    expect(listing(parent)).toEqual(['world']);
    expect(listing(out)).toEqual(['images', 'layouts.jsonl']);
  }, 60000);
});

describe('captions and expressions: case and punctuation normalised; unknown words named with file:line', () => {
  const file = path.join(dir, 'people.jsonl');
  const box1 = [0.1, 0.1, 0.4, 0.4], box2 = [0.5, 0.5, 0.9, 0.9], box3 = [0.5, 0.1, 0.9, 0.4];

  test('"a red circle, a blue square." and a list of three clauses generate; "The red circle." is a layout expression', async () => {
    fs.writeFileSync(file, [
      JSON.stringify({ caption: 'A red circle, a blue square.', objects: [{ expr: 'The red circle.', box: box1 }, { expr: 'blue square', box: box2 }] }),
      JSON.stringify({ caption: 'a red circle, a blue square and a green triangle', objects: [{ expr: 'red circle', box: box1 }, { expr: 'blue square', box: box2 }, { expr: 'green triangle', box: box3 }] }),
    ].join('\n') + '\n');
    const layouts = readLayouts(file);
    expect(layouts[0].caption).toBe('a red circle a blue square');
    expect(layouts[0].objects[0].expr).toBe('red circle');
    const out = path.join(dir, 'gen');
    const r = await cli(['generate', '--checkpoint', ckpt, '--layouts', file, '--out', out, '--json']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[r.out.length - 1]).images).toBe(2);
  });

  test('--expr "the red circle." grounds; --expr "the purple circle." is exit 1 naming the word', async () => {
    const r = await cli(['ground', '--checkpoint', ckpt, '--image', scene, '--expr', 'the red circle.', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out[r.out.length - 1]).expr).toBe('red circle');
    await fails(['ground', '--checkpoint', ckpt, '--image', scene, '--expr', 'the purple circle.'], 1,
      `echogen ground: --expr: unknown word "purple" (word 1 of "purple circle"); the vocabulary is: ${VOCAB.join(' ')}`);
  });

  test('--samples N grounds with the search (the box the library\'s ground({ samples }) gives); a bad N is exit 2 naming it', async () => {
    const r = await cli(['ground', '--checkpoint', ckpt, '--image', scene, '--expr', 'the red circle.', '--samples', '3', '--json']);
    expect(r.code).toBe(0);
    const model = EchoGen.load(ckpt);
    const png = readPng(scene);
    const want = tidy(() => model.ground(rgbToTensor(png.rgb, model.config.imageSize), 'red circle', { samples: 3 }));
    model.dispose();
    expect(JSON.parse(r.out[r.out.length - 1]).box).toEqual(want.map((v) => Math.round(v * 1e4) / 1e4));
    await fails(['ground', '--checkpoint', ckpt, '--image', scene, '--expr', 'red circle', '--samples', '-1'], 2, 'echogen ground: --samples must be an integer from 0 to 256, got "-1"');
    await fails(['eval', 'l2i', '--checkpoint', ckpt, '--layouts', scene, '--samples', '2'], 2, 'echogen eval: --samples only applies to eval ground');
  });

  test('an unknown word in a caption is FILE:LINE, exit 1, and nothing is generated', async () => {
    const bad = path.join(dir, 'mauve.jsonl');
    fs.writeFileSync(bad, `${formatLayout(layout)}\n${JSON.stringify({ caption: 'a red circle, a mauve square.', objects: [{ expr: 'red circle', box: box1 }] })}\n`);
    const out = path.join(dir, 'gen-mauve');
    await fails(['generate', '--checkpoint', ckpt, '--layouts', bad, '--out', out], 1,
      `echogen generate: ${bad}:2: caption: unknown word "mauve" (word 5 of "a red circle a mauve square"); the vocabulary is: ${VOCAB.join(' ')}`);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a caption too long for the model is FILE:LINE, exit 1, and nothing is generated', async () => {
    const long = path.join(dir, 'long.jsonl');
    const caption = Array.from({ length: 70 }, () => 'a red circle').join(' and ');
    fs.writeFileSync(long, `${formatLayout(layout)}\n\n${JSON.stringify({ caption, objects: [{ expr: 'red circle', box: box1 }] })}\n`);
    const out = path.join(dir, 'gen-long');
    const r = await cli(['generate', '--checkpoint', ckpt, '--layouts', long, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^echogen generate: ${long.replace(/[.\\/]/g, '\\$&')}:3: the layout \\(caption, expressions and boxes\\) reaches position \\d+, beyond maxPositions 256$`));
    expect(fs.existsSync(out)).toBe(false);
  });

  test('compositional accuracy counts a caption the grammar cannot read as unparsed instead of failing', () => {
    const result = detect(renderLayout(layout));
    const r = compositionalAccuracy([{ caption: layout.caption, result }, { caption: 'red circle blue', result }]);
    expect(r).toEqual({ accuracy: 1, satisfied: 1, n: 2, unparsed: 1 });
  });
});

describe('usage: --help, --version, unknown options, one error convention', () => {
  test('--version prints the package version; --help of every verb lists its options with defaults and the exit codes', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect((await cli(['--version'])).out).toEqual([pkg.version]);
    const h = await cli(['train', '--help']);
    expect(h.code).toBe(0);
    const text = h.out.join('\n');
    expect(text).toMatch(/^usage: echogen train --out DIR \[options\]/);
    expect(text).toMatch(/--batch B +scenes per PMTP\/DJO step, 1 to 4096;.*\(default: 8\)/);
    expect(text).toMatch(/--resume +continue the run/);
    expect(text).toContain('Exit codes: 0 success, 1 bad input');
    const g = await cli(['--help']);
    for (const v of ['demo', 'train', 'generate', 'ground', 'eval', 'world', 'render', 'selfcheck']) expect(g.out.join('\n')).toMatch(new RegExp(`^  ${v} `, 'm'));
  });

  test('an unknown option or command is one line and exit 2; a missing file is exit 1 naming it', async () => {
    const u = await cli(['world', '--n', '2', '--seed', '1', '--out', path.join(dir, 'x'), '--colour']);
    expect(u.code).toBe(2);
    expect(u.err).toHaveLength(1);
    expect(u.err[0]).toMatch(/^echogen world: Unknown option '--colour'.* \(echogen world --help lists the options\)$/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
    await fails(['paint'], 2, 'echogen: unknown command \'paint\' (known: demo, train, generate, ground, eval, world, render, selfcheck; echogen --help)');
    await fails(['render', '--layouts', path.join(dir, 'nope.jsonl'), '--out', path.join(dir, 'r')], 1,
      `echogen render: ${path.join(dir, 'nope.jsonl')}: cannot read the file: ENOENT: no such file or directory, open '${path.join(dir, 'nope.jsonl')}'`);
    await fails(['ground', '--checkpoint', ckpt, '--image', path.join(dir, 'nope.png'), '--expr', 'red circle'], 1, `echogen ground: ${path.join(dir, 'nope.png')}: no such file`);
    await fails(['generate', '--checkpoint', ckpt, '--out', dir], 2, 'echogen generate: --layouts is required');
  });
});
