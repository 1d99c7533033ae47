// Cycle RL with GRPO. For each layout the current policy draws G images (KV-cache decoding at
// temperature 1); the same model grounds every expression of the layout in every image (greedy);
// cycleReward scores the boxes against the layout (IoU - lambda * L1) and normalises the rewards
// within each group into advantages. The policy is then updated on the log-probabilities of its own
// image codes with the clipped-ratio objective and a k3 KL to the frozen DJO model. No image from
// the world is used: the layouts are the only supervision.
import { Tensor, tensor, tidy } from '../tensor';
import * as ops from '../autograd';
import { cycleReward } from '../kernels';
import { EchoGen, Layout } from '../model';
import { sampleLayouts } from '../data';
import type { LayoutSourceKind } from '../data';
import { GrpoOptions, grpoLoss } from './grpo';
import { StepResult } from './pmtp';
import { TrainRng } from './rng';

export interface CycleRlOptions extends GrpoOptions {
  /** Samples per layout (default 8). */
  group?: number;
  /** Weight of the L1 term of the reward (lambda, default 1). */
  l1Weight?: number;
  /** Sampling temperature (default 1: the policy's own distribution, which the ratio assumes). */
  temperature?: number;
}

export interface Rollout {
  layouts: Layout[];
  group: number;
  /** [B*G][L] sampled codes, row b*G + g. */
  codes: Int32Array[];
  /** [B*G*L] log-probabilities of the codes under the sampling policy, the reference, and the advantages. */
  oldLogp: Float32Array;
  refLogp: Float32Array;
  advantage: Float32Array;
  stats: { reward: number; cycleIou: number; rewardStd: number };
}

export function rlLayouts(kind: LayoutSourceKind, count: number, seed: number): Layout[] {
  return sampleLayouts(kind, count, { seed, split: kind === 'real' ? 'train' : undefined }) as Layout[];
}

/** Log-probabilities [B*G*L] of each row's codes under `model` (row r drew layouts[r / group]), with grad when enabled. */
export function codeLogProbs(model: EchoGen, layouts: readonly Layout[], group: number, codes: readonly Int32Array[]): Tensor {
  return model.codeLogProbs(codes.map((_, r) => layouts[Math.floor(r / group)]), codes);
}

/** Greedy boxes [Q][4] for every (sample, object) of the rollout, from the sampled images. */
function groundSamples(model: EchoGen, layouts: readonly Layout[], group: number, images: Tensor): number[][] {
  const rows: number[] = [], exprs: string[] = [];
  layouts.forEach((l, b) => {
    for (let g = 0; g < group; g++) for (const o of l.objects) { rows.push(b * group + g); exprs.push(o.expr); }
  });
  return tidy(() => {
    const [N, S] = images.shape;
    const flat = ops.reshape(images, [N, S * S * 3]);
    const picked = ops.reshape(ops.gatherRows(flat, tensor(Int32Array.from(rows), [rows.length], { dtype: 'i32', device: images.device })), [rows.length, S, S, 3]);
    return model.ground(picked, exprs).map((b) => [...b]);
  });
}

/** Samples, grounds and scores one group of images per layout; everything here is without grad. */
export function rollout(model: EchoGen, ref: EchoGen, layouts: Layout[], rng: TrainRng, opts: CycleRlOptions = {}): Rollout {
  const G = opts.group ?? 8;
  if (!Number.isInteger(G) || G < 2) throw new RangeError(`cycleRl: opts.group must be an integer >= 2 (advantages compare samples), got ${G}`);
  const B = layouts.length, L = model.vq.tokensPerImage;
  const rep = layouts.flatMap((l) => Array.from({ length: G }, () => l));
  return ops.noGrad(() => tidy(() => {
    const { codes, images } = model.generate(rep, { temperature: opts.temperature ?? 1, seed: rng.seed() });
    const flatCodes = codes.toArray() as Int32Array;
    const codeRows = rep.map((_, r) => flatCodes.slice(r * L, (r + 1) * L));
    const boxes = groundSamples(model, layouts, G, images);

    // Pad objects to the largest layout; the mask keeps padding out of the reward.
    const Nmax = Math.max(...layouts.map((l) => l.objects.length));
    const pred = new Float32Array(B * G * Nmax * 4), target = new Float32Array(B * Nmax * 4), mask = new Float32Array(B * Nmax);
    let q = 0;
    layouts.forEach((l, b) => {
      l.objects.forEach((o, n) => { target.set(o.box, (b * Nmax + n) * 4); mask[b * Nmax + n] = 1; });
      for (let g = 0; g < G; g++) l.objects.forEach((_, n) => { pred.set(boxes[q++], ((b * G + g) * Nmax + n) * 4); });
    });
    // Padding slots get a valid dummy box (the kernel rejects x2 < x1); the mask zeroes them.
    for (let b = 0; b < B; b++) for (let n = layouts[b].objects.length; n < Nmax; n++) {
      target.set([0, 0, 1, 1], (b * Nmax + n) * 4);
      for (let g = 0; g < G; g++) pred.set([0, 0, 1, 1], ((b * G + g) * Nmax + n) * 4);
    }
    const device = model.device;
    const r = cycleReward(tensor(pred, [B, G, Nmax, 4], { device }), tensor(target, [B, Nmax, 4], { device }), {
      mask: tensor(mask, [B, Nmax], { device }), l1Weight: opts.l1Weight ?? 1,
    });
    const reward = Array.from(r.reward.toArray()), adv = r.advantage.toArray(), iou = r.iou.toArray();
    let iouSum = 0, objs = 0;
    for (let b = 0; b < B; b++) for (let g = 0; g < G; g++) for (let n = 0; n < layouts[b].objects.length; n++) { iouSum += iou[(b * G + g) * Nmax + n]; objs++; }
    const meanR = reward.reduce((s, v) => s + v, 0) / reward.length;
    const stdR = Math.sqrt(reward.reduce((s, v) => s + (v - meanR) ** 2, 0) / reward.length);

    const advantage = new Float32Array(B * G * L);
    for (let row = 0; row < B * G; row++) advantage.fill(adv[row], row * L, (row + 1) * L);
    const oldLogp = codeLogProbs(model, layouts, G, codeRows).toArray() as Float32Array;
    const refLogp = codeLogProbs(ref, layouts, G, codeRows).toArray() as Float32Array;
    return { layouts, group: G, codes: codeRows, oldLogp, refLogp, advantage, stats: { reward: meanR, cycleIou: iouSum / objs, rewardStd: stdR } };
  }));
}

/** The GRPO loss of the current policy on a rollout (call once per update; the first has ratio 1). */
export function cycleRlStep(model: EchoGen, ro: Rollout, opts: CycleRlOptions = {}): StepResult {
  const logp = codeLogProbs(model, ro.layouts, ro.group, ro.codes);
  const { loss, stats } = grpoLoss({ logp, oldLogp: ro.oldLogp, refLogp: ro.refLogp, advantage: ro.advantage }, opts);
  return {
    loss,
    stats: { reward: ro.stats.reward, cycleIou: ro.stats.cycleIou, kl: stats.kl, clip: stats.clipFraction },
    tokens: ro.codes.length * ro.codes[0].length,
  };
}
