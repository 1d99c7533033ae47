// A corrupt config.json or non-finite weights fail EchoGen.load fast, before anything is allocated
// from the config: the config is checked for sane bounds and against the weights' header.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eg from '../../lib';
import { tinyModel } from './helpers';

const M = eg.model;
const root = path.join(__dirname, '..', '..');

describe('corrupt checkpoints', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-corrupt-'));
  const model = tinyModel(32, 3);
  model.save(dir);
  model.dispose();
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));

  function variant(name: string, cfg: Record<string, unknown>, w: Buffer = weights): string {
    const d = path.join(dir, name);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...config, ...cfg }));
    fs.writeFileSync(path.join(d, 'model.safetensors'), w);
    return d;
  }

  // In a child process, so its time and peak RSS are the load's own.
  function loadInChild(d: string): { ms: number; rssMb: number; error: string } {
    const r = spawnSync(process.execPath, ['-e', `
      const eg = require('./dist');
      const t0 = Date.now();
      let error = '';
      try { eg.model.EchoGen.load(${JSON.stringify(d)}); } catch (e) { error = e.name + ': ' + e.message; }
      const rss = Number(/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
      console.log(JSON.stringify({ ms: Date.now() - t0, rssMb: rss, error }));
    `], { cwd: root, encoding: 'utf8', timeout: 60000 });
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop() as string);
  }

  test.each([
    ['dim 8192', { dim: 8192 }, /config.json implies dim 8192.*'tokens.weight'/],
    ['10^5 layers', { layers: 100000 }, /config.layers must be at most 1024, got 100000/],
    ['1000 layers', { layers: 1000 }, /config.json says layers 1000, but the file holds 2 blocks/],
    ['mlpRatio 60', { mlpRatio: 60 }, /mlpRatio 60: 'blocks.0.mlp.fc.weight' must have shape \[1920,32\], the file holds \[64,32\]/],
    ['maxPositions 2^20', { maxPositions: 1 << 20 }, /maxPositions 1048576/],
    ['codebook 2^20', { codebookSize: 1 << 20 }, /vocabulary of/],
    ['heads > dim', { heads: 64 }, /config.heads \(64\) must be at most config.dim/],
    ['patch 16', { patchSize: 16 }, /codebook/],
  ])('%s fails in under a second using under 100 MB, with a clear error', (_, cfg, message) => {
    const r = loadInChild(variant(String(_).replace(/\W/g, '_'), cfg));
    expect(r.error).toMatch(/^CheckpointError: /);
    expect(r.error).toMatch(message);
    expect(r.error).not.toMatch(/\n/);
    expect(r.ms).toBeLessThan(1000);
    expect(r.rssMb).toBeLessThan(100 + 60);  // node itself is ~50-60 MB
  });

  test('a NaN or an Infinity in the weights is refused, naming the tensor and the element', () => {
    const header = Number(weights.readBigUInt64LE(0));
    for (const [bad, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity']] as const) {
      const w = Buffer.from(weights);
      w.writeFloatLE(bad, 8 + header + 4 * 5);  // the sixth float of the first tensor (sorted by name)
      const d = variant(`nonfinite_${shown}`, {}, w);
      const first = Object.keys(JSON.parse(weights.subarray(8, 8 + header).toString())).filter((k) => k !== '__metadata__').sort()[0];
      const before = eg.memory().tensors;
      expect(() => M.EchoGen.load(d)).toThrow(new RegExp(`tensor '${first.replace(/\./g, '\\.')}' holds ${shown} at element 5 of \\[.*\\]; weights must be finite`));
      expect(eg.memory().tensors).toBe(before);
    }
  });

  test('an intact checkpoint still loads', () => {
    const m = M.EchoGen.load(variant('intact', {}));
    expect(m.config.dim).toBe(32);
    m.dispose();
  });

  test('a directory in place of the weights file is one clear line', () => {
    const d = variant('dir', {});
    fs.rmSync(path.join(d, 'model.safetensors'));
    fs.mkdirSync(path.join(d, 'model.safetensors'));
    expect(() => M.EchoGen.load(d)).toThrow(/model\.safetensors: cannot read \(EISDIR/);
  });
});
