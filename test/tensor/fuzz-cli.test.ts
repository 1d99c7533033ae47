// The fuzzer of record (scripts/fuzz.js, `npm run fuzz`) at its CI-sized default: every native entry
// point called with random near-valid and broken arguments in a watched child process; a crash, a
// hang, a memory blow-up, an unclear error or a broken value contract fails it. The 100,000-call
// run is recorded in bench/results/fuzz-2026-11-30.md.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

test('npm run fuzz (3,000 calls): no crash, hang, unclear error or contract violation', () => {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eg-fuzz-')), 'report.json');
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'fuzz.js'), '--seed', '5', '--json', json], {
    cwd: path.join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 110000,
  });
  expect(r.stdout).not.toMatch(/FUZZ FAILED/);
  expect(r.status).toBe(0);
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(report.failure).toBeNull();
  expect(report.calls).toBe(3000);
  const total = Object.values(report.counts as Record<string, number>).reduce((a, b) => a + b, 0);
  expect(total).toBe(3000);
  // a mix: most calls reach the kernels, many are refused with a TypeError or a RangeError
  expect(report.counts.ok).toBeGreaterThan(1000);
  expect(report.counts.TypeError).toBeGreaterThan(200);
  expect(report.counts.RangeError).toBeGreaterThan(200);
  expect(Object.keys(report.perFn).length).toBeGreaterThan(45);
  expect(report.leftTensors).toBe(0);
});
