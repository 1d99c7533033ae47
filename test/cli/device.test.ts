// --device on the verbs that run the model: cpu runs the same code path a GPU run takes (the model,
// its tokenizer and every step's tensors on the named device), an unknown device is a usage error,
// and cuda without a GPU says why instead of falling back silently.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eg from '../../lib';
import { main } from '../../lib/cli/main';
import { train, defaultConfig } from '../../lib/train/trainer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-device-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  try {
    return { code: await main(args), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('--device', () => {
  test('train on an explicit device: the model and its tokenizer end up there and the run completes', async () => {
    const cfg = { ...defaultConfig('tiny'), stages: ['pmtp' as const], steps: { pmtp: 2, djo: 1, 'cycle-rl': 1 }, batch: 2, tokenizerScenes: 16 };
    const model = await train(cfg, { out: path.join(dir, 'run'), device: 'cpu' });
    try {
      expect(model.device).toBe('cpu');
      expect(model.vq.codebook.device).toBe('cpu');
      expect(fs.existsSync(path.join(dir, 'run', 'model', 'model.safetensors'))).toBe(true);
    } finally {
      model.dispose();
    }
  });

  test('an unknown device is a usage error (exit 2) naming the option', async () => {
    const r = await cli(['ground', '--image', 'x.png', '--expr', 'red circle', '--device', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/echogen ground: --device must be cpu or cuda, got 'gpu'/);
  });

  (eg.backends().includes('cuda') ? test.skip : test)('cuda without a usable GPU is an error (exit 1) that says why', async () => {
    const r = await cli(['demo', '--device', 'cuda', '--count', '1', '--out', path.join(dir, 'demo.png')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/echogen demo: --device cuda: .+/);
    expect(fs.existsSync(path.join(dir, 'demo.png'))).toBe(false);
  });
});
