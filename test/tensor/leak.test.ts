// Resident memory must not keep growing over 100,000 create/dispose cycles, and the finaliser must
// free tensors nobody disposed. Run in a child process with --expose-gc so the numbers are its own.
import { execFileSync } from 'child_process';
import * as path from 'path';

function child(script: string): Record<string, number> {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

test('rss stays flat over 100,000 create/dispose cycles', () => {
  const r = child(`
    const eg = require('./dist');
    const settle = () => new Promise((r) => setImmediate(r)).then(() => global.gc());
    (async () => {
      const rss = [];
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 10000; i++) { const t = eg.tensor(new Float32Array(1024), [32, 32]); t.toArray(); t.dispose(); }
        await settle(); await settle();
        rss.push(process.memoryUsage().rss);
      }
      console.log(JSON.stringify({ warm: rss[2], end: rss[9], tensors: eg.memory().tensors, bytes: eg.memory().bytes.cpu }));
    })();
  `);
  // after warm-up, 70,000 more cycles: a leak of the 4 KiB storage alone would add ~280 MB
  expect(r.end - r.warm).toBeLessThan(16 * 1024 * 1024);
  expect(r.tensors).toBe(0);
  expect(r.bytes).toBe(0);
});

test('the finaliser frees tensors that were never disposed', () => {
  const r = child(`
    const eg = require('./dist');
    for (let i = 0; i < 5000; i++) eg.tensor(new Float32Array(256), [256]);
    const made = eg.memory().tensors;
    const sleep = () => new Promise((r) => setTimeout(r, 20));
    (async () => {
      for (let i = 0; i < 50 && eg.memory().tensors > 0; i++) { global.gc(); await sleep(); }
      console.log(JSON.stringify({ made, left: eg.memory().tensors, bytes: eg.memory().bytes.cpu }));
    })();
  `);
  expect(r.made).toBe(5000);
  expect(r.left).toBe(0);
  expect(r.bytes).toBe(0);
});
