// Rasterisation of the world's shapes as one horizontal span per row. The renderer, the generator's
// visibility checks, the depth relation and the detector's templates all use these spans, so "the
// pixels of an object" means one thing everywhere. Every shape touches all four sides of its box,
// so the bounding box of an unoccluded object's pixels is exactly its pixel box.
import type { Shape } from './vocab';
import type { PixelBox } from './geometry';

/** spans[2r], spans[2r+1]: first and one-past-last column of row r, relative to the box. */
export type Spans = Int16Array;

const cache = new Map<number, Spans>();
const SHAPE_CODE: Record<Shape, number> = { circle: 0, square: 1, triangle: 2 };

function circleSpans(w: number, h: number): Spans {
  const s = new Int16Array(2 * h);
  for (let r = 0; r < h; r++) {
    const yc = (r + 0.5 - h / 2) / (h / 2);
    const half = (w / 2) * Math.sqrt(Math.max(0, 1 - yc * yc));
    // Columns whose centres c + 0.5 lie within half of the box's centre line.
    let start = Math.ceil(w / 2 - half - 0.5 - 1e-9);
    let end = Math.floor(w / 2 + half - 0.5 + 1e-9) + 1;
    if (end <= start) { start = Math.floor((w - 1) / 2); end = Math.ceil((w - 1) / 2) + 1; }
    s[2 * r] = Math.max(0, start);
    s[2 * r + 1] = Math.min(w, end);
  }
  return s;
}

function triangleSpans(w: number, h: number): Spans {
  // Apex up, base on the bottom row: each row as wide as the continuous triangle at the row's
  // centre, rounded; the top row keeps 1 or 2 pixels (the parity of w) and the bottom row is
  // full, so the shape reaches all four sides of its box.
  const s = new Int16Array(2 * h);
  const maxInset = Math.floor((w - 1) / 2);
  for (let r = 0; r < h; r++) {
    const width = (w * (r + 0.5)) / h;
    const inset = r === h - 1 ? 0 : Math.min(maxInset, Math.round((w - width) / 2));
    s[2 * r] = inset;
    s[2 * r + 1] = w - inset;
  }
  return s;
}

function squareSpans(w: number, h: number): Spans {
  const s = new Int16Array(2 * h);
  for (let r = 0; r < h; r++) s[2 * r + 1] = w;
  return s;
}

/** Spans of a shape filling a w x h pixel box (cached; do not modify the result). */
export function shapeSpans(shape: Shape, w: number, h: number): Spans {
  const key = (SHAPE_CODE[shape] * 4096 + w) * 4096 + h;
  let s = cache.get(key);
  if (s === undefined) {
    s = shape === 'circle' ? circleSpans(w, h) : shape === 'triangle' ? triangleSpans(w, h) : squareSpans(w, h);
    cache.set(key, s);
  }
  return s;
}

export function spansArea(s: Spans): number {
  let a = 0;
  for (let r = 0; r < s.length; r += 2) a += s[r + 1] - s[r];
  return a;
}

/** Number of pixels two rasterised objects share. */
export function maskOverlap(sa: Shape, a: PixelBox, sb: Shape, b: PixelBox): number {
  const y1 = Math.max(a[1], b[1]);
  const y2 = Math.min(a[3], b[3]);
  if (y2 <= y1 || Math.min(a[2], b[2]) <= Math.max(a[0], b[0])) return 0;
  const spa = shapeSpans(sa, a[2] - a[0], a[3] - a[1]);
  const spb = shapeSpans(sb, b[2] - b[0], b[3] - b[1]);
  let n = 0;
  for (let y = y1; y < y2; y++) {
    const ra = 2 * (y - a[1]);
    const rb = 2 * (y - b[1]);
    const lo = Math.max(a[0] + spa[ra], b[0] + spb[rb]);
    const hi = Math.min(a[0] + spa[ra + 1], b[0] + spb[rb + 1]);
    if (hi > lo) n += hi - lo;
  }
  return n;
}
