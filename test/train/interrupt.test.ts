// `echogen train` interrupted with SIGINT (Ctrl-C) mid-run: it finishes the step, writes a
// checkpoint, says how to resume and exits 130; `--resume` then ends with exactly the weights of
// an uninterrupted run. Runs the built CLI (bin/echogen.js, which uses dist/), as a user would.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { bin, env, weights } from './cli-run';

// --checkpoint-every 1000: no periodic checkpoint, so the one the resume uses is the interrupt's.
const ARGS = ['train', '--stages', 'pmtp,djo,cycle-rl', '--preset', 'tiny', '--steps', 'pmtp=40,djo=12,cycle-rl=3', '--seed', '4', '--checkpoint-every', '1000'];


const logLines = (dir: string): number => {
  const f = path.join(dir, 'log.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
};

test('SIGINT during train: checkpoint, exit 130, the resume command; --resume reaches the uninterrupted weights', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-sigint-'));
  const straight = path.join(tmp, 'straight'), stopped = path.join(tmp, 'stopped');
  const a = spawnSync(process.execPath, [bin, ...ARGS, '--out', straight], { env, encoding: 'utf8' });
  expect(a.status).toBe(0);

  const child = spawn(process.execPath, [bin, ...ARGS, '--out', stopped], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  // Interrupt once a few PMTP steps are logged (well before the end of the stage).
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (logLines(stopped) >= 5) { clearInterval(poll); resolve(); }
    }, 20);
  });
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(130);
  expect(fs.existsSync(path.join(stopped, 'DONE'))).toBe(false);
  expect(fs.existsSync(path.join(stopped, 'model'))).toBe(false);
  const latest = fs.readFileSync(path.join(stopped, 'LATEST'), 'utf8').trim();
  const ckpt = path.join(stopped, latest);
  const state = JSON.parse(fs.readFileSync(path.join(ckpt, 'state.json'), 'utf8')) as { state: { stage: number; step: number } };
  // The checkpoint is at the step after the last logged one: the step in flight was finished.
  const logged = logLines(stopped);
  expect(state.state).toMatchObject({ stage: 0, step: logged });
  expect(logged).toBeLessThan(40);
  expect(stderr).toContain(`echogen train: SIGINT: stopped at pmtp step ${logged}; checkpoint ${ckpt}`);
  expect(stderr).toContain(`echogen train: to continue: echogen ${ARGS.join(' ')} --out ${stopped} --resume`);
  // No temporary checkpoint directory is left behind.
  expect(fs.readdirSync(stopped).filter((f) => f.startsWith('.tmp-'))).toEqual([]);

  const b = spawnSync(process.execPath, [bin, ...ARGS, '--out', stopped, '--resume'], { env, encoding: 'utf8' });
  expect(b.stderr).toMatch(new RegExp(`resuming from .*${latest}`));
  expect(b.status).toBe(0);
  const wa = weights(straight), wb = weights(stopped);
  expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
  for (const k of Object.keys(wa)) expect(Buffer.from(wb[k].buffer).equals(Buffer.from(wa[k].buffer))).toBe(true);
  // Every PMTP step appears exactly once in the log across the interruption.
  const steps = fs.readFileSync(path.join(stopped, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; step: number });
  expect(steps.filter((s) => s.stage === 'pmtp').map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  fs.rmSync(tmp, { recursive: true, force: true });
}, 60000);
