// Nothing from JS takes the process down or computes for minutes: the reproducers of issue 14 (each
// in a child process, asserting its exit code and output), results held to the size limit before
// any work, values kept in their documented ranges, and tidy refusing async functions.
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as eg from '../../lib';

const root = path.join(__dirname, '..', '..');
const K = eg.kernels;

function child(args: string[], timeout = 60000) {
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout });
}
const f32 = (shape: number[], f: (i: number) => number) => eg.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), shape);

describe('issue 14 reproducers, in a child process', () => {
  test('embeddingBackward of empty inputs returns an empty table instead of SIGFPE', () => {
    const r = child(['-e', `
      const eg = require('./dist');
      const t = eg.kernels.support.embeddingBackward(eg.zeros([0, 8]), eg.zeros([0], { dtype: 'i32' }), 0);
      const u = eg.kernels.support.embeddingBackward(eg.zeros([0, 8]), eg.zeros([0], { dtype: 'i32' }), 3);
      console.log(JSON.stringify({ shape: t.shape, u: u.shape, zeros: Array.from(u.toArray()).every((x) => x === 0) }));
    `]);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ shape: [0, 8], u: [3, 8], zeros: true });
  });

  test('a worker terminated mid-attention does not abort the process', () => {
    const r = child(['-e', `
      const { Worker } = require('worker_threads');
      const body = "const eg = require(" + JSON.stringify(process.cwd() + '/dist') + ");" +
        "const q = eg.tensor(new Float32Array(1 * 8 * 2048 * 64).fill(0.01), [1, 8, 2048, 64]);" +
        "require('worker_threads').parentPort.postMessage('ready');" +
        "for (;;) eg.kernels.attention(q, q, q).out.dispose();";
      (async () => {
        for (let i = 0; i < 6; i++) {
          const w = new Worker(body, { eval: true });
          await new Promise((r) => w.once('message', r));
          await new Promise((r) => setTimeout(r, 30 + 40 * i));
          await w.terminate();
        }
        console.log('alive');
      })();
    `]);
    expect(r.stderr).not.toMatch(/terminate called|Napi::Error|FATAL/);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('alive');
  });

  test('4 workers hammering kernels, terminated at random moments, 8 rounds: the process lives', () => {
    // the 200-round run is recorded in bench/results/reliability-2026-11-30.md
    const r = child([path.join(__dirname, 'workers.js'), '8', '4', '7'], 120000);
    expect(r.stderr).not.toMatch(/terminate called|FATAL|a worker failed/);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toMatchObject({ rounds: 8, terminated: 32, alive: true });
  });
});

describe('results are held to 2^31 - 1 elements before anything is allocated or computed', () => {
  const big = 46341;  // 46341^2 = 2,147,488,281
  test.each([
    ['boxIou', () => { const b = f32([big, 4], (i) => (i % 4 < 2 ? 0 : 1)); return K.boxIou(b, b); }, /boxIou: the result would have shape \[46341,46341\] \(2147488281 elements\), over the limit of 2\^31 - 1 elements/],
    ['matmul', () => K.support.matmul(f32([big, 1], () => 1), f32([1, big], () => 1)), /matmul: the result would have shape \[46341,46341\]/],
    ['linear', () => K.support.linear(f32([big, 1], () => 1), f32([big, 1], () => 1)), /linear: the result would have shape \[46341,46341\]/],
    ['embedding', () => K.support.embedding(f32([1, big], () => 1), eg.zeros([big], { dtype: 'i32' })), /embedding: the result would have shape \[46341,46341\]/],
    ['vqStats', () => K.vqStats(f32([4, 1], () => 1), eg.zeros([4], { dtype: 'i32' }), 2 ** 31 - 1), /vqStats: sums \[2147483647,1\] and counts \[2147483647\] would exceed 2\^31 - 1 elements together/],
    ['embeddingBackward', () => K.support.embeddingBackward(f32([1, 2], () => 1), eg.zeros([1], { dtype: 'i32' }), 2 ** 31 - 1), /embeddingBackward/],
    ['sliceBackward', () => K.support.sliceBackward(f32([2, 3], () => 1), 1, 0, 2 ** 31 - 1), /sliceBackward: the result/],
  ])('%s: a RangeError at once', (_, call, message) => {
    const before = eg.memory();
    const t0 = Date.now();
    eg.tidy(() => expect(call).toThrow(message));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(eg.memory()).toEqual(before);
  });
});

describe('values stay in their documented ranges', () => {
  test('boxIou: coordinates beyond 2^62 are refused by name; up to it IoU and GIoU stay in range', () => {
    const huge = eg.tensor([0, 0, 1e19, 1e19], [1, 4]);
    expect(() => K.boxIou(huge, huge)).toThrow(/boxIou: a\[0\] = \[0, 0, 1e\+19, 1e\+19\] has a coordinate beyond \+-2\^62/);
    const a = eg.tensor([-4e18, -4e18, 4e18, 4e18, 0, 0, 1e18, 3e18], [2, 4]);
    const b = eg.tensor([-4e18, 0, 4e18, 4.5e18, 4e18, 4e18, 4.6e18, 4.6e18], [2, 4]);
    for (const kind of ['iou', 'giou'] as const) {
      const v = Array.from(K.boxIou(a, b, { kind }).toArray());
      for (const x of v) expect(x).toBeGreaterThanOrEqual(kind === 'iou' ? 0 : -1);
      for (const x of v) expect(x).toBeLessThanOrEqual(1);
      // a[0] vs b[0]: intersection 8e18 x 4e18, union 64e36 + 36e36 - 32e36 = 68e36
      expect(v[0]).toBeCloseTo(32 / 68, 5);
    }
  });

  test('cycleReward: weights are checked as f32, and huge ones give finite advantages', () => {
    const pred = f32([1, 3, 2, 4], (i) => [0.1, 0.1, 0.5, 0.5][i % 4] + 0.01 * Math.floor(i / 8));
    const target = f32([1, 2, 4], (i) => [0.1, 0.1, 0.5, 0.5][i % 4]);
    expect(() => K.cycleReward(pred, target, { iouWeight: 1e39 })).toThrow(/cycleReward: options.iouWeight must be a finite number >= 0 that f32 can hold/);
    expect(() => K.cycleReward(pred, target, { l1Weight: Infinity })).toThrow(RangeError);
    const r = K.cycleReward(pred, target, { iouWeight: 3e38, l1Weight: 3e38 });
    for (const x of r.advantage.toArray()) expect(Number.isFinite(x)).toBe(true);
    for (const x of r.reward.toArray()) expect(Number.isFinite(x)).toBe(true);
    const adv = Array.from(r.advantage.toArray());
    expect(adv[0]).toBeGreaterThan(adv[2]);  // sample 0 is the closest
  });

  test('adamw: hyper-parameters are checked as the f32 values the kernel uses', () => {
    const p = [f32([3], () => 1)], g = [f32([3], () => 1)], m = [eg.zeros([3])], v = [eg.zeros([3])];
    expect(() => K.support.adamwStep(p, g, m, v, { lr: Infinity, step: 1 } as never)).toThrow(/adamw: lr and weightDecay must be finite f32 values/);
    expect(() => K.support.adamwStep(p, g, m, v, { lr: 1e39, step: 1 } as never)).toThrow(RangeError);
    expect(() => K.support.adamwStep(p, g, m, v, { lr: 1e-3, eps: 1e-50, step: 1 } as never)).toThrow(RangeError);  // 0 as f32
    expect(Array.from(p[0].toArray())).toEqual([1, 1, 1]);
  });

  test('attention: a row whose scores overflow gives lse +Infinity and out NaN, not "no visible key"', () => {
    const q = f32([1, 1, 2, 8], () => 1e20);
    const r = K.attention(q, q, q);
    expect(Array.from(r.lse.toArray())).toEqual([Infinity, Infinity]);
    for (const x of r.out.toArray()) expect(Number.isNaN(x)).toBe(true);
    const none = K.attention(q, q, q, { mask: eg.zeros([2, 2], { dtype: 'i32' }) });
    expect(Array.from(none.lse.toArray())).toEqual([-Infinity, -Infinity]);
    for (const x of none.out.toArray()) expect(x).toBe(0);
  });
});

test('tidy refuses a function that returns a Promise and frees what it made before', async () => {
  let made: eg.Tensor | null = null;
  expect(() => eg.tidy(() => { made = eg.zeros([4]); return Promise.resolve(1); })).toThrow(/tidy: fn returned a Promise; tidy needs a synchronous fn/);
  expect((made as unknown as eg.Tensor).disposed).toBe(true);
  expect(() => eg.tidy((async () => { eg.zeros([4]); throw new Error('late'); }) as never)).toThrow(TypeError);
  await new Promise((r) => setImmediate(r));  // the rejected promise above is handled, not fatal
});
