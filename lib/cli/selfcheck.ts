// `echogen selfcheck`: every kernel family (attention, vqNearest/vqGather, gumbelSoftmax,
// boxIou/cycleReward, GEMM) run on every available backend against a small float64 JS reference,
// one line per family and backend. Without a usable GPU it says exactly why: the addon was built
// without CUDA, there is no NVIDIA driver, or the driver sees no device.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as eg from '../index';
import type { Tensor } from '../tensor';
import { Verb } from './verb';
import { attentionRef, boxIouRef, cycleRewardRef, gumbelSoftmaxRef, matmulRef, relErr, vqNearestRef } from './selfcheck-reference';

export interface CheckResult {
  family: string;
  device: eg.Device;
  ok: boolean;
  /** The largest relative error against the float64 reference (or the number of mismatches). */
  detail: string;
}

/** Tolerance on max|got - ref| / max|ref| for f32 kernels on these small shapes. */
const TOL = 1e-4;

/** A small deterministic pseudo-random stream (the same inputs on every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function fill(n: number, rnd: () => number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rnd());
}

function randomBoxes(n: number, rnd: () => number): Float32Array {
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x = rnd() * 0.6, y = rnd() * 0.6;
    out.set([x, y, x + 0.1 + rnd() * 0.3, y + 0.1 + rnd() * 0.3], i * 4);
  }
  return out;
}

function errLine(errs: Record<string, number>): { ok: boolean; detail: string } {
  const ok = Object.values(errs).every((e) => e <= TOL);
  return { ok, detail: Object.entries(errs).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ') + ` (max rel. error; tolerance ${TOL})` };
}

type Check = (device: eg.Device, t: (data: Float32Array | Int32Array, shape: number[]) => Tensor) => { ok: boolean; detail: string };

const CHECKS: { family: string; run: Check }[] = [
  {
    family: 'attention (causal, i32 mask)',
    run: (_d, t) => {
      const rnd = lcg(1);
      const BH = 2, Tq = 9, Tk = 13, D = 16;
      const q = fill(BH * Tq * D, rnd), k = fill(BH * Tk * D, rnd), v = fill(BH * Tk * D, rnd);
      const mask = Int32Array.from({ length: Tq * Tk }, (_, i) => (i % 5 === 3 ? 0 : 1));
      const causal = eg.kernels.attention(t(q, [1, BH, Tq, D]), t(k, [1, BH, Tk, D]), t(v, [1, BH, Tk, D]), { causal: true }).out.toArray();
      const masked = eg.kernels.attention(t(q, [1, BH, Tq, D]), t(k, [1, BH, Tk, D]), t(v, [1, BH, Tk, D]), { mask: t(mask, [Tq, Tk]) }).out.toArray();
      return errLine({
        causal: relErr(causal, attentionRef(q, k, v, BH, Tq, Tk, D, true, null)),
        mask: relErr(masked, attentionRef(q, k, v, BH, Tq, Tk, D, false, mask)),
      });
    },
  },
  {
    family: 'vqNearest / vqGather',
    run: (_d, t) => {
      const rnd = lcg(2);
      const N = 37, K = 24, D = 8;
      const x = fill(N * D, rnd), cb = fill(K * D, rnd);
      const r = eg.kernels.vqNearest(t(x, [N, D]), t(cb, [K, D]));
      const got = r.indices.toArray();
      const want = vqNearestRef(x, cb, N, K, D);
      let wrong = 0;
      for (let i = 0; i < N; i++) if (got[i] !== want[i]) wrong++;
      const gathered = eg.kernels.vqGather(t(cb, [K, D]), t(want, [N])).toArray();
      const ref = new Float64Array(N * D);
      for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) ref[i * D + d] = cb[want[i] * D + d];
      const g = relErr(gathered, ref);
      return { ok: wrong === 0 && g === 0, detail: `nearest: ${N - wrong}/${N} indices equal; gather: max error ${g}` };
    },
  },
  {
    family: 'gumbelSoftmax',
    run: (_d, t) => {
      const rnd = lcg(3);
      const N = 6, V = 40, tau = 0.7, seed = 12345;
      const logits = fill(N * V, rnd, -2, 2);
      const r = eg.kernels.gumbelSoftmax(t(logits, [N, V]), { tau, seed });
      const ref = gumbelSoftmaxRef(logits, N, V, tau, seed);
      const idx = r.indices.toArray();
      let wrong = 0;
      for (let i = 0; i < N; i++) if (idx[i] !== ref.indices[i]) wrong++;
      const e = errLine({ soft: relErr(r.soft.toArray(), ref.soft) });
      return { ok: e.ok && wrong === 0, detail: `${e.detail}; samples ${N - wrong}/${N} equal` };
    },
  },
  {
    family: 'boxIou / cycleReward',
    run: (_d, t) => {
      const rnd = lcg(4);
      const a = randomBoxes(7, rnd), b = randomBoxes(5, rnd);
      const B = 2, G = 4, N = 3;
      const pred = randomBoxes(B * G * N, rnd), target = randomBoxes(B * N, rnd);
      const iou = eg.kernels.boxIou(t(a, [7, 4]), t(b, [5, 4])).toArray();
      const r = eg.kernels.cycleReward(t(pred, [B, G, N, 4]), t(target, [B, N, 4]));
      const ref = cycleRewardRef(pred, target, B, G, N);
      return errLine({ iou: relErr(iou, boxIouRef(a, b)), reward: relErr(r.reward.toArray(), ref.reward), advantage: relErr(r.advantage.toArray(), ref.advantage) });
    },
  },
  {
    family: 'GEMM (matmul)',
    run: (_d, t) => {
      const rnd = lcg(5);
      const M = 33, K = 47, N = 29;
      const a = fill(M * K, rnd), b = fill(K * N, rnd);
      return errLine({ matmul: relErr(eg.kernels.support.matmul(t(a, [M, K]), t(b, [K, N])).toArray(), matmulRef(a, b, M, K, N)) });
    },
  },
];

/** Runs every family on `device`; an exception is a failed line with its message. */
export function checkDevice(device: eg.Device): CheckResult[] {
  return CHECKS.map((c) => {
    try {
      const r = eg.tidy(() => c.run(device, (data, shape) => eg.tensor(data, shape, { dtype: data instanceof Int32Array ? 'i32' : 'f32', device })));
      return { family: c.family, device, ...r };
    } catch (e) {
      return { family: c.family, device, ok: false, detail: `threw: ${(e as Error).message.split('\n')[0]}` };
    }
  });
}

export function runSelfcheck(): CheckResult[] {
  return eg.backends().flatMap((d) => checkDevice(d));
}

/** Where a library is, searching the dynamic loader's usual directories; null when absent. */
function findLibrary(name: string): string | null {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/nvidia/lib64', '/usr/local/cuda/lib64/stubs',
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  for (const d of dirs) if (fs.existsSync(path.join(d, name))) return path.join(d, name);
  return null;
}

/** Why there is no CUDA backend here, in one sentence (null when there is one). */
export function noGpuReason(info: ReturnType<typeof eg.buildInfo> = eg.buildInfo()): string | null {
  if (info.cudaAvailable) return null;
  if (!info.cudaCompiled) return 'the addon was built without CUDA (no nvcc at build time, or ECHOGEN_WITH_CUDA=OFF)';
  const libcuda = findLibrary('libcuda.so.1');
  const driver = fs.existsSync('/proc/driver/nvidia');
  if (!driver && !libcuda) return 'no NVIDIA driver: /proc/driver/nvidia does not exist and libcuda.so.1 is not installed';
  if (!driver) return `no NVIDIA kernel driver loaded (/proc/driver/nvidia does not exist; ${libcuda} is only its user-space library)`;
  const gpus = fs.existsSync('/proc/driver/nvidia/gpus') ? fs.readdirSync('/proc/driver/nvidia/gpus') : [];
  if (gpus.length === 0) return 'the NVIDIA driver is loaded but sees no GPU (/proc/driver/nvidia/gpus is empty)';
  return `the CUDA runtime refused the device: ${info.cudaError ?? 'unknown error'}`;
}

export const selfcheckVerb: Verb = {
  name: 'selfcheck',
  summary: 'run every kernel family on every available backend against a float64 reference',
  options: { json: { type: 'boolean', description: 'print one JSON object as the last line of stdout' } },
  async run(args) {
    const info = eg.buildInfo();
    const results = runSelfcheck();
    const ok = results.every((r) => r.ok);
    const reason = noGpuReason(info);
    if (args.values.json) {
      console.log(JSON.stringify({ ok, backends: eg.backends(), info, noGpu: reason, results }));
    } else {
      console.log(`backends: ${eg.backends().join(', ')} | ${info.threads} CPU threads | AVX2 ${info.avx2 ? 'on' : 'off'} | CUDA ${reason === null ? `on (${info.cudaDevice})` : `off: ${reason}`}`);
      for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.device.padEnd(4)} ${r.family.padEnd(28)} ${r.detail}`);
      console.log(ok ? `all ${results.length} checks passed` : `${results.filter((r) => !r.ok).length} of ${results.length} checks failed`);
    }
    return ok ? 0 : 1;
  },
};
