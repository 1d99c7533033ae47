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

// Near-valid calls of the contract kernels: right ranks and mostly consistent shapes, with one thing
// off at a time (a dim, a dtype, an option value, an index, a box), so the checks past the first are
// reached too. Every call must return or throw a JS error.
const nearValid = `
const eg = require('./dist');
const K = eg.kernels;
let seed = Number(process.env.FUZZ_SEED);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const off = (n) => (rnd() < 0.1 ? pick([0, n + 1, Math.max(0, n - 1)]) : n);
const f32 = (shape, gen = () => rnd() * 2 - 1) => eg.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, gen), shape);
const i32 = (shape, hi) => eg.tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.floor(rnd() * (hi + 2)) - 1), shape);
const odd = [undefined, 0, -1, 1e-30, 1, 2.5, NaN, Infinity, 'x', true];
const boxes = (shape) => f32(shape, (() => { let i = 0; let last = 0; return () => { const c = i++ % 4; const v = c < 2 ? rnd() * 0.5 : last + rnd() * 0.5 - (rnd() < 0.03 ? 0.6 : 0); last = c < 2 ? v : last; return v; }; })());
let ok = 0, threw = 0;
for (let i = 0; i < Number(process.env.FUZZ_CALLS); i++) {
  eg.tidy(() => {
    try {
      const which = Math.floor(rnd() * 6);
      if (which === 0) {
        const B = pick([1, 2]), H = pick([1, 3]), Tq = pick([1, 5, 17]), Tk = pick([0, 1, 6, 17]), D = pick([8, 12, 24]);
        const q = f32([B, H, Tq, off(D)]), k = f32([off(B), H, off(Tk), D]), v = f32([B, H, Tk, D]);
        const opts = { causal: rnd() < 0.5, scale: rnd() < 0.2 ? pick(odd) : undefined,
          mask: rnd() < 0.4 ? (rnd() < 0.8 ? i32(rnd() < 0.5 ? [Tq, off(Tk)] : [B, Tq, Tk], 1) : f32([Tq, Tk])) : undefined };
        const r = K.attention(q, k, v, opts);
        if (rnd() < 0.5) K.attentionBackward(q, k, v, r.out, r.lse, f32([B, H, Tq, off(D)]), opts);
      } else if (which === 1) {
        const N = pick([0, 1, 9]), D = pick([1, 3, 8]), KK = pick([1, 5, 13]);
        const x = f32([N, D]), cb = f32([KK, off(D)]);
        const r = K.vqNearest(x, cb);
        K.vqGather(cb, rnd() < 0.7 ? r.indices : i32([N], KK));
        K.vqStats(x, rnd() < 0.7 ? r.indices : i32([off(N)], KK), rnd() < 0.8 ? KK : pick(odd));
      } else if (which === 2) {
        const N = pick([1, 4]), V = pick([1, 2, 7]);
        const logits = f32([N, V], () => (rnd() < 0.2 ? -Infinity : rnd() * 4 - 2));
        const r = K.gumbelSoftmax(logits, { tau: rnd() < 0.8 ? 0.5 : pick(odd), hard: rnd() < 0.5, seed: rnd() < 0.9 ? 3 : pick(odd), offset: rnd() < 0.9 ? 1 : pick(odd) });
        K.gumbelSoftmaxBackward(f32([N, off(V)]), r.soft, rnd() < 0.9 ? 0.5 : pick(odd));
      } else if (which === 3) {
        K.boxIou(boxes([pick([0, 1, 5]), 4]), boxes([pick([1, 3]), off(4)]), { kind: pick(['iou', 'giou', 'giou', 'x', undefined]) });
      } else {
        const B = pick([1, 2]), G = pick([1, 2, 4]), N = pick([1, 3]);
        K.cycleReward(boxes([B, G, N, 4]), boxes([B, off(N), 4]), { mask: rnd() < 0.5 ? f32([B, N], () => pick([0, 1, 1, 0.5])) : undefined,
          iouWeight: rnd() < 0.9 ? 1 : pick(odd), l1Weight: rnd() < 0.9 ? 1 : pick(odd), eps: rnd() < 0.9 ? undefined : pick(odd) });
      }
      ok++;
    } catch (e) {
      threw++;
      if (!(e instanceof Error) || !e.message) { console.log('UNCLEAR ERROR ' + String(e)); process.exit(4); }
    }
  });
}
console.log(JSON.stringify({ ok, threw, tensors: eg.memory().tensors }));
`;

test.each([5, 6])('near-valid kernel calls (seed %i) return or throw, and leak no tensor', (seed) => {
  const r = spawnSync(process.execPath, ['-e', nearValid], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, FUZZ_SEED: String(seed * 104729), FUZZ_CALLS: '1500' },
    encoding: 'utf8',
    timeout: 60000,
  });
  expect(r.signal).toBeNull();
  expect(r.stdout).not.toMatch(/UNCLEAR/);
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  expect(out.ok + out.threw).toBe(1500);
  expect(out.ok).toBeGreaterThan(100); // the fuzz reaches the kernels, not only the first check
  expect(out.threw).toBeGreaterThan(100);
  expect(out.tensors).toBe(0);
});
