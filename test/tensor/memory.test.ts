// Memory of loops that never yield to the event loop stays flat: dispose() (and tidy) release the
// whole native side of a tensor at once, leaving no finalizer to wait for the loop to turn. Each scenario runs in its own
// child process so the RSS numbers are its own (test/tensor/rss-flat.js; full counts recorded in
// bench/results/reliability-2026-11-30.md).
import { execFileSync } from 'child_process';
import * as path from 'path';

interface Run { name: string; n: number; startMB: number; peakMB: number; endMB: number; growth: number; tensors: number }

function run(flag: string, n: number): Run {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'rss-flat.js'), flag, String(n)], {
    cwd: path.join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 60000,
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

test('100,000 create/dispose cycles in a sync loop keep RSS within 10%', () => {
  // before the fix each disposed wrapper kept ~270 bytes until the loop turned: +26 MB on ~50 MB
  const r = run('--dispose', 100000);
  expect(r.n).toBe(100000);
  expect(r.tensors).toBe(0);
  expect(r.peakMB).toBeLessThan(r.startMB * 1.1);
  expect(Math.abs(r.endMB - r.startMB)).toBeLessThan(r.startMB * 0.1);
});

test('400 attention + vqNearest calls inside tidy keep RSS within 10%', () => {
  const r = run('--tidy', 400);
  expect(r.tensors).toBe(3); // q, x and the codebook
  expect(r.peakMB).toBeLessThan(r.startMB * 1.1);
});
