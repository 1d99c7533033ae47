// Boxes: [x1, y1, x2, y2] in [0,1] image coordinates (xyxy), and their pixel form on the canvas.
import type { Size } from './vocab';

export type Box = [number, number, number, number];

/** The world's canvas is CANVAS x CANVAS RGB. */
export const CANVAS = 64;

/** Pixel box [x1, y1, x2, y2): integer columns x1..x2-1 and rows y1..y2-1, never empty. */
export type PixelBox = [number, number, number, number];

export function toPixelBox(box: Box): PixelBox {
  const x1 = Math.min(CANVAS - 1, Math.max(0, Math.round(box[0] * CANVAS)));
  const y1 = Math.min(CANVAS - 1, Math.max(0, Math.round(box[1] * CANVAS)));
  const x2 = Math.min(CANVAS, Math.max(x1 + 1, Math.round(box[2] * CANVAS)));
  const y2 = Math.min(CANVAS, Math.max(y1 + 1, Math.round(box[3] * CANVAS)));
  return [x1, y1, x2, y2];
}

export function fromPixelBox(p: PixelBox): Box {
  return [p[0] / CANVAS, p[1] / CANVAS, p[2] / CANVAS, p[3] / CANVAS];
}

/**
 * Size class by the geometric mean side: below SIZE_CUT (17 px) is small. The generator draws
 * small sides in 8..14 px and large in 20..30 px, so its boxes sit well clear of the cut.
 */
export const SIZE_CUT = 17 / CANVAS;

export function sizeOf(box: Box): Size {
  return Math.sqrt((box[2] - box[0]) * (box[3] - box[1])) < SIZE_CUT ? 'small' : 'large';
}

export function centerX(b: Box): number { return (b[0] + b[2]) / 2; }
export function centerY(b: Box): number { return (b[1] + b[3]) / 2; }

/**
 * IoU of two xyxy boxes computed the way pycocotools' maskApi bbIou does (through x,y,w,h, no +1,
 * zero when the overlap has no width or height), so AP ties at thresholds land where they land there.
 */
export function boxIou(a: Box, b: Box): number {
  const aw = a[2] - a[0], ah = a[3] - a[1];
  const bw = b[2] - b[0], bh = b[3] - b[1];
  const w = Math.min(a[0] + aw, b[0] + bw) - Math.max(a[0], b[0]);
  if (w <= 0) return 0;
  const h = Math.min(a[1] + ah, b[1] + bh) - Math.max(a[1], b[1]);
  if (h <= 0) return 0;
  const inter = w * h;
  return inter / (aw * ah + bw * bh - inter);
}

/** Throws unless box is 4 finite numbers in [0,1] with x2 > x1 and y2 > y1; `what` names it. */
export function checkUnitBox(box: unknown, what: string): Box {
  if (!Array.isArray(box) || box.length !== 4) throw new TypeError(`${what} must be an array of 4 numbers [x1, y1, x2, y2]`);
  const names = ['x1', 'y1', 'x2', 'y2'];
  for (let i = 0; i < 4; i++) {
    const v = box[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what}: ${names[i]} must be a finite number, got ${JSON.stringify(v)}`);
    if (v < 0 || v > 1) throw new RangeError(`${what}: ${names[i]}=${v} is outside [0,1]`);
  }
  if (box[2] <= box[0]) throw new RangeError(`${what}: x2 (${box[2]}) <= x1 (${box[0]})`);
  if (box[3] <= box[1]) throw new RangeError(`${what}: y2 (${box[3]}) <= y1 (${box[1]})`);
  return [box[0], box[1], box[2], box[3]];
}
