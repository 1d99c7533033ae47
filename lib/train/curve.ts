// The learning-curve probe: a small fixed set of held-out scenes (the world's test split) measured
// during training, so a change to the model or the recipe is judged by held-out L2I AP and grounding
// accuracy against minutes of training, not by a loss going down (docs/training.md).
import { generateScenes } from '../data';
import type { EchoGen, Layout } from '../model';
import { evalGround, evalL2i, evalRealL2i } from './evaluate';
import { evaluateL2i } from '../eval';
import { tidy } from '../tensor';
import { renderBatch, toBytes } from './data';

/** Seed of the probe's scenes: fixed, so every run of every variant is measured on the same layouts. */
export const CURVE_SEED = 424242;

export interface CurveOptions {
  /** Held-out scenes per probe (default 24). */
  scenes?: number;
  /** Objects per probe scene (default 1..4, the world's mix). */
  maxObjects?: number;
  /** Sampling temperature of the generated images (default 1). */
  temperature?: number;
  /**
   * A second held-out set, e.g. layouts written outside the world (`bench/layouts/external.jsonl`),
   * on which each probe also measures grounding (the point's `external` field). Grounding only: it
   * costs about 30 ms a layout, L2I would cost seconds.
   */
  groundLayouts?: readonly Layout[];
}

/** Grounding on CurveOptions.groundLayouts, on their renders. */
export interface ExternalGround {
  layouts: number;
  acc50: number;
  mAcc: number;
  /** Mean IoU of the predicted boxes with the true ones. */
  meanIou: number;
  /** The named object chosen, on layouts of 2+ objects. */
  referent: number;
}

export interface CurvePoint {
  /** Training time so far (evaluation excluded). */
  minutes: number;
  stage: string;
  step: number;
  /** L2I on generated images (detector + COCO AP). */
  AP: number;
  AP50: number;
  /** Grounding on the world's renders. */
  acc50: number;
  mAcc: number;
  /** Grounding on the probe's scenes of 2+ objects: the named object chosen (GroundMetrics.referent), Acc@0.5. */
  referent: number;
  acc50Multi: number;
  /** Grounding in the model's own generated images. */
  cycleIou: number;
  /** Seconds the probe took. */
  evalSec: number;
  /** The tokenizer's ceiling on the probe: detector AP on VQ reconstructions / on the renders. */
  tokenizerCeiling: number;
  /** Present when the probe has CurveOptions.groundLayouts. */
  external?: ExternalGround;
}

export function curveLayouts(opts: CurveOptions = {}): Layout[] {
  return generateScenes(opts.scenes ?? 24, 'test', CURVE_SEED, { maxObjects: opts.maxObjects ?? 4 }).map((s) => s.layout as Layout);
}

type WorldLayout = Parameters<typeof evaluateL2i>[0][number];

/** Detector AP on the VQ reconstructions of the layouts' renders over AP on the renders themselves. */
export function tokenizerCeiling(model: EchoGen, layouts: readonly Layout[]): number {
  const bytes = tidy(() => toBytes(model.vq.decode(model.vq.encode(renderBatch(layouts)))));
  const n = 64 * 64 * 3;
  const rec = evaluateL2i(layouts as readonly WorldLayout[], (i) => bytes.subarray(i * n, (i + 1) * n)).AP;
  const real = evalRealL2i(layouts).AP;
  return real > 0 ? rec / real : 0;
}

/** Measures the model on the probe's layouts. */
export function curvePoint(model: EchoGen, layouts: readonly Layout[], where: { minutes: number; stage: string; step: number }, opts: CurveOptions = {}): CurvePoint {
  const t0 = Date.now();
  const ceiling = tokenizerCeiling(model, layouts);
  const l2i = evalL2i(model, layouts, { seed: 1, temperature: opts.temperature ?? 1 });
  const g = evalGround(model, layouts);
  const ext = opts.groundLayouts?.length ? evalGround(model, opts.groundLayouts) : null;
  return {
    ...where, AP: l2i.AP, AP50: l2i.AP50, acc50: g.acc50, mAcc: g.mAcc, referent: g.referent, acc50Multi: g.acc50Multi, cycleIou: l2i.cycleIou,
    evalSec: (Date.now() - t0) / 1000, tokenizerCeiling: ceiling,
    ...(ext ? { external: { layouts: opts.groundLayouts?.length ?? 0, acc50: ext.acc50, mAcc: ext.mAcc, meanIou: ext.meanIou, referent: ext.referent } } : {}),
  };
}
