// What descriptions, expressions and captions mean in a scene (or in a detector's reading of an
// image): which objects a description fits, which objects an expression refers to, and whether a
// caption is true.
import { sizeOf } from './geometry';
import type { Box } from './geometry';
import type { Description, ParsedCaption, ParsedExpression } from './grammar';
import { relationHolds } from './relations';
import type { SpatialView } from './relations';
import type { Color, Shape, Texture } from './vocab';

export interface Attributed {
  shape: Shape;
  color: Color;
  texture: Texture;
  box: Box;
}

export function matchesDescription(d: Description, o: Attributed): boolean {
  return d.shape === o.shape
    && d.texture === o.texture
    && (d.color === undefined || d.color === o.color)
    && (d.size === undefined || d.size === sizeOf(o.box));
}

/** Indices of the objects an expression fits: the target fits, and so does the relation to some other object that fits the anchor. */
export function resolveExpression(e: ParsedExpression, objects: readonly Attributed[], view: SpatialView): number[] {
  const out: number[] = [];
  for (let c = 0; c < objects.length; c++) {
    if (!matchesDescription(e.target, objects[c])) continue;
    if (e.relation === undefined) { out.push(c); continue; }
    const { relation, anchor } = e.relation;
    for (let a = 0; a < objects.length; a++) {
      if (a !== c && matchesDescription(anchor, objects[a]) && relationHolds(relation, view, c, a)) { out.push(c); break; }
    }
  }
  return out;
}

/**
 * An assignment of the caption's mentions to distinct objects under which every mention's
 * attributes fit its object and every relation of the caption holds, or null when there is none.
 * Objects the caption does not mention are allowed.
 */
export function captionAssignment(c: ParsedCaption, objects: readonly Attributed[], view: SpatialView): number[] | null {
  const m = c.mentions.length;
  if (m > objects.length) return null;
  const assign = new Array<number>(m).fill(-1);
  const used = new Uint8Array(objects.length);
  // Relations are checked as soon as both their ends are assigned (mentions go in order).
  const closing: number[][] = Array.from({ length: m }, () => []);
  c.relations.forEach((r, k) => closing[Math.max(r.subject, r.object)].push(k));
  const place = (k: number): boolean => {
    if (k === m) return true;
    for (let o = 0; o < objects.length; o++) {
      if (used[o] || !matchesDescription(c.mentions[k], objects[o])) continue;
      assign[k] = o;
      if (closing[k].every((ri) => {
        const r = c.relations[ri];
        return relationHolds(r.relation, view, assign[r.subject], assign[r.object]);
      })) {
        used[o] = 1;
        if (place(k + 1)) return true;
        used[o] = 0;
      }
    }
    assign[k] = -1;
    return false;
  };
  return place(0) ? assign : null;
}

export function captionHolds(c: ParsedCaption, objects: readonly Attributed[], view: SpatialView): boolean {
  return captionAssignment(c, objects, view) !== null;
}
