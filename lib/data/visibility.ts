// What makes a scene readable off its image: every object keeps at least minVisible of its pixels,
// its visible pixels reach all four sides of its box (so the box can be read back exactly) and form
// one 8-connected piece, and objects of the same colour never touch (they would merge into one
// region). The generator only emits scenes that pass; occlusion is allowed within these bounds.
// isLooselyReadable is the looser rule of layouts written outside the world (training only).
import { CANVAS, toPixelBox } from './geometry';
import type { Box, PixelBox } from './geometry';
import { shapeSpans } from './raster';
import type { Color, Shape } from './vocab';

export interface ObjectVisibility {
  area: number;
  visible: number;
  /** The visible pixels' bounding box equals the object's pixel box. */
  reachesBox: boolean;
  connected: boolean;
}

const owner = new Int8Array(CANVAS * CANVAS);
const stack = new Int32Array(CANVAS * CANVAS);
// Flood-fill marks: a pixel is seen when seen[k] === stamp, so nothing is cleared between fills.
const seen = new Int32Array(CANVAS * CANVAS);
let stamp = 0;

/** Paints objects in draw order into a map of which object each pixel shows (-1 = background). */
export function paintOwners(objects: readonly { shape: Shape; box: Box }[], out: Int8Array = owner): Int8Array {
  out.fill(-1);
  objects.forEach((o, i) => {
    const p = toPixelBox(o.box);
    const spans = shapeSpans(o.shape, p[2] - p[0], p[3] - p[1]);
    for (let y = p[1]; y < p[3]; y++) {
      const r = 2 * (y - p[1]);
      out.fill(i, y * CANVAS + p[0] + spans[r], y * CANVAS + p[0] + spans[r + 1]);
    }
  });
  return out;
}

function visibilityOf(i: number, p: PixelBox, area: number, map: Int8Array): ObjectVisibility {
  let visible = 0, first = -1;
  let x1 = CANVAS, y1 = CANVAS, x2 = -1, y2 = -1;
  for (let y = p[1]; y < p[3]; y++) {
    for (let x = p[0]; x < p[2]; x++) {
      if (map[y * CANVAS + x] !== i) continue;
      if (first < 0) first = y * CANVAS + x;
      visible++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
    }
  }
  const reachesBox = visible > 0 && x1 === p[0] && y1 === p[1] && x2 === p[2] - 1 && y2 === p[3] - 1;
  return { area, visible, reachesBox, connected: visible > 0 && floodCount(first, i, p, map) === visible };
}

function floodCount(start: number, i: number, p: PixelBox, map: Int8Array): number {
  if (++stamp === 0x7fffffff) { seen.fill(0); stamp = 1; }
  let top = 0, count = 0;
  stack[top++] = start;
  seen[start] = stamp;
  while (top > 0) {
    const at = stack[--top];
    count++;
    const x = at % CANVAS, y = (at - x) / CANVAS;
    for (let dy = -1; dy <= 1; dy++) {
      const ny = y + dy;
      if (ny < p[1] || ny >= p[3]) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        if (nx < p[0] || nx >= p[2]) continue;
        const k = ny * CANVAS + nx;
        if (seen[k] !== stamp && map[k] === i) { seen[k] = stamp; stack[top++] = k; }
      }
    }
  }
  return count;
}

export function visibility(objects: readonly { shape: Shape; box: Box }[]): ObjectVisibility[] {
  const map = paintOwners(objects);
  return objects.map((o, i) => {
    const p = toPixelBox(o.box);
    const spans = shapeSpans(o.shape, p[2] - p[0], p[3] - p[1]);
    let area = 0;
    for (let r = 0; r < spans.length; r += 2) area += spans[r + 1] - spans[r];
    return visibilityOf(i, p, area, map);
  });
}

/** Same-colour objects' pixel boxes are at least one pixel apart (no 8-neighbour contact). */
export function sameColorApart(objects: readonly { color: Color; box: Box }[]): boolean {
  const px = objects.map((o) => toPixelBox(o.box));
  for (let i = 0; i < objects.length; i++) {
    for (let j = i + 1; j < objects.length; j++) {
      if (objects[i].color !== objects[j].color) continue;
      const a = px[i], b = px[j];
      const apart = a[2] < b[0] || b[2] < a[0] || a[3] < b[1] || b[3] < a[1];
      if (!apart) return false;
    }
  }
  return true;
}

/**
 * The objects of `objects` that touch object i and share its colour (pixel boxes not apart, as in
 * sameColorApart): where a render shows the two as one region of that colour. Indices, in order.
 */
export function touchingLookAlikes(objects: readonly { color: Color; box: Box }[], i: number): number[] {
  if (!Number.isInteger(i) || i < 0 || i >= objects.length) throw new RangeError(`touchingLookAlikes: i must be an index into the ${objects.length} objects, got ${i}`);
  const out: number[] = [];
  objects.forEach((o, k) => { if (k !== i && o.color === objects[i].color && !sameColorApart([objects[i], o])) out.push(k); });
  return out;
}

export function isReadable(objects: readonly { shape: Shape; color: Color; box: Box }[], minVisible: number): boolean {
  if (!sameColorApart(objects)) return false;
  return visibility(objects).every((v) => v.reachesBox && v.connected && v.visible >= minVisible * v.area);
}

/**
 * isReadable for objects whose first n-1 are known to be readable: only the objects the last one
 * overlaps can have changed, and the last one, drawn on top, is whole. Same answer, less work.
 */
export function isReadableAfterAdding(objects: readonly { shape: Shape; color: Color; box: Box }[], minVisible: number): boolean {
  const n = objects.length;
  if (n === 0) return true;
  const last = objects[n - 1];
  const q = toPixelBox(last.box);
  const hits: number[] = [];
  for (let i = 0; i < n - 1; i++) {
    const p = toPixelBox(objects[i].box);
    if (objects[i].color === last.color && !(p[2] < q[0] || q[2] < p[0] || p[3] < q[1] || q[3] < p[1])) return false;
    if (p[0] < q[2] && q[0] < p[2] && p[1] < q[3] && q[1] < p[3]) hits.push(i);
  }
  if (hits.length === 0) return true;
  const map = paintOwners(objects);
  return hits.every((i) => {
    const p = toPixelBox(objects[i].box);
    const spans = shapeSpans(objects[i].shape, p[2] - p[0], p[3] - p[1]);
    let area = 0;
    for (let r = 0; r < spans.length; r += 2) area += spans[r + 1] - spans[r];
    const v = visibilityOf(i, p, area, map);
    return v.reachesBox && v.connected && v.visible >= minVisible * area;
  });
}

/**
 * The loose rule (WorldOptions.readability 'loose'; training scenes only, never the held-out
 * splits): each object keeps at least `minShare` of its pixels told apart, i.e. on top and covered
 * by no other object of its colour. Visible pixels need not reach the box's sides nor form one
 * piece, and objects of one colour may touch and overlap, as in layouts written outside the world
 * (scripts/external-layouts.js, whose writer's rule this is).
 */
export function isLooselyReadable(objects: readonly { shape: Shape; color: Color; box: Box }[], minShare: number): boolean {
  const map = paintOwners(objects);
  const px = objects.map((o) => toPixelBox(o.box));
  const spans = objects.map((o, i) => shapeSpans(o.shape, px[i][2] - px[i][0], px[i][3] - px[i][1]));
  const covers = (j: number, x: number, y: number): boolean => {
    const p = px[j];
    if (y < p[1] || y >= p[3]) return false;
    const r = 2 * (y - p[1]);
    return x >= p[0] + spans[j][r] && x < p[0] + spans[j][r + 1];
  };
  return objects.every((o, i) => {
    const p = px[i], s = spans[i];
    let area = 0, apart = 0;
    for (let y = p[1]; y < p[3]; y++) {
      const r = 2 * (y - p[1]);
      for (let x = p[0] + s[r]; x < p[0] + s[r + 1]; x++) {
        area++;
        if (map[y * CANVAS + x] !== i) continue;
        if (!objects.some((q, j) => j !== i && q.color === o.color && covers(j, x, y))) apart++;
      }
    }
    return apart >= minShare * area;
  });
}
