// Measuring a model as DESIGN.md section 6 says: L2I layout fidelity (the world's detector on the
// generated images, COCO AP against the layout), grounding accuracy on the world's renders (Ref-L4
// Acc@0.5, Acc@0.75, mAcc), and the cycle IoU (grounding each expression in the model's own image).
import { tensor, tidy } from '../tensor';
import { categoryOf, renderLayout, sceneFromLayout } from '../data';
import { cocoAp, detect } from '../eval';
import type { ApImage } from '../eval';
import { EchoGen, Layout } from '../model';
import { renderBatch } from './data';

export interface L2iMetrics { AP: number; AP50: number; AP75: number; images: number }
export interface GroundMetrics { acc50: number; acc75: number; mAcc: number; meanIou: number; queries: number }
export interface L2iEvalResult extends L2iMetrics { cycleIou: number }

export interface EvalOptions {
  seed?: number;
  batch?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called with every generated image (RGB bytes), e.g. to write it. */
  onImage?: (index: number, rgb: Uint8Array) => void;
}

type Box4 = readonly number[];

export function iou(a: Box4, b: Box4): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Ref-L4: Acc@t counts IoU strictly greater than t; mAcc averages t = 0.50:0.05:0.95. */
export function groundingAccuracy(ious: readonly number[]): Omit<GroundMetrics, 'queries'> {
  const n = ious.length;
  if (n === 0) return { acc50: 0, acc75: 0, mAcc: 0, meanIou: 0 };
  const acc = (t: number): number => ious.filter((v) => v > t + 1e-12).length / n;
  let m = 0;
  for (let i = 0; i < 10; i++) m += acc(0.5 + 0.05 * i);
  return { acc50: acc(0.5), acc75: acc(0.75), mAcc: m / 10, meanIou: ious.reduce((s, v) => s + v, 0) / n };
}

function apImage(layout: Layout, rgb: Uint8Array): ApImage {
  const scene = sceneFromLayout(layout as Parameters<typeof sceneFromLayout>[0]);
  return {
    gts: scene.objects.map((o) => ({ box: o.box, category: categoryOf(o) })),
    dts: detect(rgb).detections.map((d) => ({ box: d.box, category: d.category, score: d.score })),
  };
}

/** The detector on the world's own renders: the upper bound of L2I AP. */
export function evalRealL2i(layouts: readonly Layout[]): L2iMetrics {
  const r = cocoAp(layouts.map((l) => apImage(l, renderLayout(l as Parameters<typeof renderLayout>[0]))));
  return { AP: r.AP, AP50: r.AP50, AP75: r.AP75, images: layouts.length };
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
  const images: ApImage[] = [];
  const cycle: number[] = [];
  for (let start = 0; start < layouts.length; start += batch) {
    const part = layouts.slice(start, start + batch);
    tidy(() => {
      const { images: gen } = model.generate(part, { seed: seed + start, temperature: 1 });
      const a = gen.toArray();
      part.forEach((l, j) => {
        const rgb = toRgb(a, j, n);
        images.push(apImage(l, rgb));
        opts.onImage?.(start + j, rgb);
      });
      const exprs: string[] = [], rows: number[] = [], gt: Box4[] = [];
      part.forEach((l, j) => l.objects.forEach((o) => { exprs.push(o.expr); rows.push(j); gt.push(o.box); }));
      if (exprs.length) {
        const flat = gen.reshape([part.length, n]).toArray();
        const picked = new Float32Array(exprs.length * n);
        rows.forEach((r, q) => picked.set(flat.subarray(r * n, (r + 1) * n), q * n));
        const boxes = model.ground(tensor(picked, [exprs.length, S, S, 3]), exprs);
        boxes.forEach((b, q) => cycle.push(iou(b, gt[q])));
      }
    });
    opts.onProgress?.(Math.min(layouts.length, start + batch), layouts.length);
  }
  const r = cocoAp(images);
  return { AP: r.AP, AP50: r.AP50, AP75: r.AP75, images: layouts.length, cycleIou: cycle.length ? cycle.reduce((s, v) => s + v, 0) / cycle.length : 0 };
}

/** Grounds every object's expression in the world's render of its layout. */
export function evalGround(model: EchoGen, layouts: readonly Layout[], opts: EvalOptions = {}): GroundMetrics {
  const batch = opts.batch ?? 16;
  const ious: number[] = [];
  const queries = layouts.flatMap((l) => l.objects.map((o) => ({ l, o })));
  for (let start = 0; start < queries.length; start += batch) {
    const part = queries.slice(start, start + batch);
    tidy(() => {
      const boxes = model.ground(renderBatch(part.map((q) => q.l)), part.map((q) => q.o.expr));
      boxes.forEach((b, i) => ious.push(iou(b, part[i].o.box)));
    });
    opts.onProgress?.(Math.min(queries.length, start + batch), queries.length);
  }
  return { ...groundingAccuracy(ious), queries: ious.length };
}
