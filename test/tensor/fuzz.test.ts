// No input from JS may crash or hang the process: every native entry point is called with random
// mixes of wrong types, shapes, dtypes, disposed tensors and odd option values in a child process,
// which must exit normally with every call either returning or throwing a JS error.
import { spawnSync } from 'child_process';
import * as path from 'path';

const script = `
const raw = require('bindings')('echogen');
const eg = require('./dist');
let seed = Number(process.env.FUZZ_SEED);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const dims = [0, 1, 2, 3, 4, 5, 7, 8, 16, 33];
function tensorArg() {
  const rank = Math.floor(rnd() * 5);
  const shape = Array.from({ length: rank }, () => pick(dims));
  const n = shape.reduce((a, b) => a * b, 1);
  const dtype = rnd() < 0.3 ? 'i32' : 'f32';
  const data = dtype === 'i32' ? Int32Array.from({ length: n }, () => Math.floor(rnd() * 12) - 2)
                               : Float32Array.from({ length: n }, () => pick([0, 1, -1, 0.5, 2, NaN, Infinity, -Infinity, 1e30]));
  const t = eg.tensor(data, shape, { dtype });
  if (rnd() < 0.05) t.dispose();
  return t.handle;
}
const scalars = [undefined, null, 0, -1, 1, 2, 3, 0.5, NaN, Infinity, -Infinity, 2 ** 40, 'x', 'cpu', 'cuda', 'giou', true, [], [1, 2], {}];
function optionsArg() {
  const o = {};
  for (const k of ['causal', 'scale', 'mask', 'tau', 'hard', 'seed', 'offset', 'kind', 'iouWeight', 'l1Weight', 'eps', 'transA', 'transB', 'ignoreIndex', 'reduction', 'lr'])
    if (rnd() < 0.3) o[k] = rnd() < 0.3 ? tensorArg() : pick(scalars);
  return o;
}
function arg() {
  const r = rnd();
  if (r < 0.55) return tensorArg();
  if (r < 0.75) return pick(scalars);
  if (r < 0.9) return optionsArg();
  return [tensorArg(), tensorArg()];
}
const names = Object.keys(raw).filter((k) => typeof raw[k] === 'function' && k !== 'NativeTensor' && k !== 'fmaPeak');
let calls = 0, threw = 0;
for (let i = 0; i < Number(process.env.FUZZ_CALLS); i++) {
  const fn = pick(names);
  const args = Array.from({ length: Math.floor(rnd() * 9) }, arg);
  try { raw[fn](...args); } catch (e) {
    threw++;
    if (!(e instanceof Error)) { console.log('NON-ERROR THROWN by ' + fn); process.exit(3); }
    if (!e.message || /std::|basic_string|vector::|Unknown/i.test(e.message)) { console.log('UNCLEAR ERROR from ' + fn + ': ' + e.message); process.exit(4); }
  }
  calls++;
}
console.log(JSON.stringify({ calls, threw, functions: names.length }));
`;

test.each([1, 2, 3, 4])('random calls of every native function (seed %i) neither crash nor hang', (seed) => {
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, FUZZ_SEED: String(seed * 7919), FUZZ_CALLS: '3000' },
    encoding: 'utf8',
    timeout: 60000,
  });
  expect(r.signal).toBeNull(); // a segfault or abort shows up here
  expect(r.stdout).not.toMatch(/NON-ERROR|UNCLEAR/);
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  expect(out.calls).toBe(3000);
  expect(out.functions).toBeGreaterThan(30);
});
