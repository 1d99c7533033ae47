// Measuring a model as docs/design.md section 6 says, on the world's evaluators (lib/eval): L2I layout
// fidelity (the detector on the generated images, COCO AP and compositional accuracy against the
// layouts), grounding accuracy on the world's renders (Ref-L4 Acc@0.5, Acc@0.75, mAcc), and the
// cycle IoU (each expression grounded in the model's own image for its layout).
import { tensor, tidy } from '../tensor';
import { evaluateL2i, evaluateL2iReal, groundingAccuracy } from '../eval';
import { boxIou } from '../data';
import type { Box } from '../data';
import { EchoGen, Layout } from '../model';
import type { GroundOptions } from '../model';
import { renderBatch } from './data';

export interface L2iMetrics { AP: number; AP50: number; AP75: number; compositional: number; images: number }
export interface GroundMetrics {
  acc50: number; acc75: number; mAcc: number; meanIou: number; queries: number;
  /**
   * On scenes of two or more objects: the share of queries whose box overlaps the named object more
   * than any other (a model that ignores the expression scores about 1 / objects), and their Acc@0.5.
   */
  referent: number; acc50Multi: number; multiQueries: number;
}
export interface L2iEvalResult extends L2iMetrics { cycleIou: number; cycleAcc50: number }

export interface EvalOptions {
  seed?: number;
  /** Sampling temperature of generation (default 1; 0 = greedy). */
  temperature?: number;
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  /** How evalGround grounds (EchoGen.ground's options; default: the greedy box). */
  ground?: GroundOptions;
  /** Called with every generated image (RGB bytes), e.g. to write it. */
  onImage?: (index: number, rgb: Uint8Array) => void;
}

const asBox = (b: readonly number[]): Box => [b[0], b[1], b[2], b[3]];
type WorldLayout = Parameters<typeof evaluateL2iReal>[0][number];

/** The detector on the world's own renders: the upper bound of L2I AP. */
export function evalRealL2i(layouts: readonly Layout[]): L2iMetrics {
  const r = evaluateL2iReal(layouts as readonly WorldLayout[]);
  return { AP: r.AP, AP50: r.AP50, AP75: r.AP75, compositional: r.compositional, images: r.n };
}

function toRgb(a: ArrayLike<number>, i: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let j = 0; j < n; j++) out[j] = Math.max(0, Math.min(255, Math.round(a[i * n + j] * 255)));
  return out;
}

/** Generates every layout, scores the detector's boxes (AP) and grounds every expression back (cycle IoU). */
export function evalL2i(model: EchoGen, layouts: readonly Layout[], opts: EvalOptions = {}): L2iEvalResult {
  const batch = opts.batch ?? 16, seed = opts.seed ?? 0;
  const S = model.config.imageSize, n = S * S * 3;
  const images: Uint8Array[] = [];
  const preds: Box[] = [], gts: Box[] = [];
  for (let start = 0; start < layouts.length; start += batch) {
    const part = layouts.slice(start, start + batch);
    tidy(() => {
      const { images: gen } = model.generate(part, { seed: seed + start, temperature: opts.temperature ?? 1 });
      const a = gen.toArray();
      part.forEach((_, j) => {
        const rgb = toRgb(a, j, n);
        images.push(rgb);
        opts.onImage?.(start + j, rgb);
      });
      const exprs: string[] = [], rows: number[] = [];
      part.forEach((l, j) => l.objects.forEach((o) => { exprs.push(o.expr); rows.push(j); gts.push(asBox(o.box)); }));
      if (exprs.length) {
        const picked = new Float32Array(exprs.length * n);
        rows.forEach((r, q) => picked.set(a.subarray(r * n, (r + 1) * n), q * n));
        for (const b of model.ground(tensor(picked, [exprs.length, S, S, 3]), exprs)) preds.push(asBox(b));
      }
    });
    opts.onProgress?.(Math.min(layouts.length, start + batch), layouts.length);
  }
  const r = evaluateL2i(layouts as readonly WorldLayout[], (i) => images[i]);
  const c = groundingAccuracy(preds, gts);
  return { AP: r.AP, AP50: r.AP50, AP75: r.AP75, compositional: r.compositional, images: r.n, cycleIou: c.meanIou, cycleAcc50: c.acc50 };
}

/** Grounds every object's expression in the world's render of its layout. */
export function evalGround(model: EchoGen, layouts: readonly Layout[], opts: EvalOptions = {}): GroundMetrics {
  const batch = opts.batch ?? 16;
  const preds: Box[] = [], gts: Box[] = [];
  const queries = layouts.flatMap((l) => l.objects.map((o, i) => ({ l, o, i })));
  for (let start = 0; start < queries.length; start += batch) {
    const part = queries.slice(start, start + batch);
    tidy(() => {
      const boxes = model.ground(renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr), opts.ground);
      boxes.forEach((b, i) => { preds.push(asBox(b)); gts.push(asBox(part[i].o.box)); });
    });
    opts.onProgress?.(Math.min(queries.length, start + batch), queries.length);
  }
  const r = groundingAccuracy(preds, gts);
  let multi = 0, named = 0, hit = 0;
  queries.forEach((q, j) => {
    if (q.l.objects.length < 2) return;
    multi++;
    const own = boxIou(preds[j], gts[j]);
    if (q.l.objects.every((o, k) => k === q.i || boxIou(preds[j], asBox(o.box)) < own)) named++;
    if (own >= 0.5) hit++;
  });
  return {
    acc50: r.acc50, acc75: r.acc75, mAcc: r.mAcc, meanIou: r.meanIou, queries: r.n,
    referent: multi ? named / multi : 0, acc50Multi: multi ? hit / multi : 0, multiQueries: multi,
  };
}
