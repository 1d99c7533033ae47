// Relations between objects, decided from boxes (and, for depth, from which object covers which).
// One definition serves the generator (expressions and captions are only written when true), the
// contrastive negatives and compositional accuracy on detections.
import { centerX, centerY, toPixelBox } from './geometry';
import type { Box } from './geometry';
import { maskOverlap } from './raster';
import type { Relation, Shape } from './vocab';

/**
 * Spatial relations need the centres at least this far apart (4 px on the 64 px canvas) along
 * their axis, so that a relation that is true is also plainly visible.
 */
export const RELATION_MARGIN = 1 / 16;

/** What relations are decided on: boxes, and who is in front of whom where two objects meet. */
export interface SpatialView {
  readonly boxes: readonly Box[];
  /** True when object i covers part of object j. */
  inFront(i: number, j: number): boolean;
}

export function relationHolds(rel: Relation, view: SpatialView, i: number, j: number): boolean {
  if (i === j) return false;
  const a = view.boxes[i], b = view.boxes[j];
  switch (rel) {
    case 'left of': return centerX(b) - centerX(a) >= RELATION_MARGIN;
    case 'right of': return centerX(a) - centerX(b) >= RELATION_MARGIN;
    case 'above': return centerY(b) - centerY(a) >= RELATION_MARGIN;
    case 'below': return centerY(a) - centerY(b) >= RELATION_MARGIN;
    case 'in front of': return view.inFront(i, j);
    case 'behind': return view.inFront(j, i);
  }
}

/**
 * The view of drawn objects: i is in front of j when their rasterised pixels overlap and i is drawn
 * later. Overlaps are computed once, up front.
 */
export function drawnView(objects: readonly { shape: Shape; box: Box }[]): SpatialView {
  const n = objects.length;
  const overlap = new Uint8Array(n * n);
  const px = objects.map((o) => toPixelBox(o.box));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (maskOverlap(objects[i].shape, px[i], objects[j].shape, px[j]) > 0) overlap[i * n + j] = overlap[j * n + i] = 1;
    }
  }
  return {
    boxes: objects.map((o) => o.box),
    inFront: (i, j) => i > j && overlap[i * n + j] === 1,
  };
}
