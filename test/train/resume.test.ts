// `echogen train` killed with SIGKILL mid-run and restarted with --resume ends with exactly the
// weights of an uninterrupted run (same data, noise, schedule and optimiser state). Runs the built
// CLI (bin/echogen.js, which uses dist/), as a user would.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { bin, env, weights } from './cli-run';

const ARGS = ['train', '--stages', 'pmtp,djo,cycle-rl', '--preset', 'tiny', '--steps', 'pmtp=40,djo=12,cycle-rl=3', '--seed', '4', '--checkpoint-every', '1'];


test('kill -9 then --resume reproduces the uninterrupted run bit for bit', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-resume-'));
  const straight = path.join(tmp, 'straight'), killed = path.join(tmp, 'killed');
  const a = spawnSync(process.execPath, [bin, ...ARGS, '--out', straight], { env, encoding: 'utf8' });
  expect(a.status).toBe(0);

  const child = spawn(process.execPath, [bin, ...ARGS, '--out', killed], { env, stdio: 'ignore' });
  // Kill once a checkpoint past the first stage's start exists (mid-PMTP or later), without warning.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (fs.existsSync(path.join(killed, 'LATEST'))) { clearInterval(poll); resolve(); }
    }, 50);
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  expect(fs.existsSync(path.join(killed, 'DONE'))).toBe(false);
  const b = spawnSync(process.execPath, [bin, ...ARGS, '--out', killed, '--resume'], { env, encoding: 'utf8' });
  expect(b.stderr).toMatch(/resuming from .*ckpt-/);
  expect(b.status).toBe(0);

  const wa = weights(straight), wb = weights(killed);
  expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
  for (const k of Object.keys(wa)) expect(Buffer.from(wb[k].buffer).equals(Buffer.from(wa[k].buffer))).toBe(true);
  // And the log shows every step of every stage exactly once after the resume point.
  const steps = fs.readFileSync(path.join(killed, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; step: number });
  const last = steps.filter((s) => s.stage === 'cycle-rl').map((s) => s.step);
  expect(last[last.length - 1]).toBe(2);
}, 600000);
