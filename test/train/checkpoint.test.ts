import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { latestCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'eg-ckpt-'));

describe('saveCheckpoint / latestCheckpoint', () => {
  test('LATEST follows the newest save; only the newest `keep` survive', () => {
    const out = tmpDir();
    expect(latestCheckpoint(out)).toBeNull();
    for (let s = 1; s <= 4; s++) saveCheckpoint(out, s * 10, (d) => fs.writeFileSync(path.join(d, 'x.txt'), String(s)), 2);
    const last = latestCheckpoint(out) as string;
    expect(path.basename(last)).toBe('ckpt-00000040');
    expect(fs.readFileSync(path.join(last, 'x.txt'), 'utf8')).toBe('4');
    expect(fs.readdirSync(out).filter((f) => f.startsWith('ckpt-')).sort()).toEqual(['ckpt-00000030', 'ckpt-00000040']);
  });

  test('a failing writer leaves the previous checkpoint as LATEST', () => {
    const out = tmpDir();
    saveCheckpoint(out, 1, (d) => fs.writeFileSync(path.join(d, 'x.txt'), 'one'));
    expect(() => saveCheckpoint(out, 2, () => { throw new Error('disk full'); })).toThrow('disk full');
    expect(fs.readFileSync(path.join(latestCheckpoint(out) as string, 'x.txt'), 'utf8')).toBe('one');
  });

  test('a LATEST that points nowhere is an error naming the file', () => {
    const out = tmpDir();
    fs.writeFileSync(path.join(out, 'LATEST'), 'ckpt-00000099\n');
    expect(() => latestCheckpoint(out)).toThrow(/LATEST: points at ckpt-00000099/);
  });

  test('kill -9 at a random moment never leaves LATEST pointing at an incomplete checkpoint', async () => {
    const out = tmpDir();
    // A child that saves checkpoints of 8 files (1 MB each) as fast as it can; each file starts with
    // its step. It loads the TypeScript module by transpiling it (no build needed).
    const lib = path.resolve(__dirname, '../../lib/train/checkpoint.ts');
    const child = spawn(process.execPath, ['-e', `
      const ts = require('typescript');
      const fs = require('fs'), path = require('path'), Module = require('module');
      const src = ts.transpileModule(fs.readFileSync(${JSON.stringify(lib)}, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
      const m = new Module(${JSON.stringify(lib)}); m.paths = Module._nodeModulePaths(${JSON.stringify(path.dirname(lib))}); m._compile(src, ${JSON.stringify(lib)});
      const { saveCheckpoint } = m.exports;
      const blob = Buffer.alloc(1 << 20, 7);
      for (let s = 0; ; s++) saveCheckpoint(${JSON.stringify(out)}, s, (d) => { for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(d, 'f' + i), Buffer.concat([Buffer.from(String(s).padStart(12, '0')), blob])); });
    `], { stdio: 'ignore', cwd: path.resolve(__dirname, '../..') });
    // Once it has written one, let it go on for a random while, then kill it without warning.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => { if (fs.existsSync(path.join(out, 'LATEST'))) { clearInterval(poll); resolve(); } }, 20);
    });
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1500));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const last = latestCheckpoint(out);
    expect(last).not.toBeNull();
    const step = Number(path.basename(last as string).slice(5));
    for (let i = 0; i < 8; i++) {
      const f = fs.readFileSync(path.join(last as string, 'f' + i));
      expect(f.length).toBe(12 + (1 << 20));
      expect(Number(f.subarray(0, 12).toString())).toBe(step);
    }
  });
});
