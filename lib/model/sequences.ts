// The token sequences of docs/design.md section 5.
//
//   L2I:  <l2i> caption <grounding> (<ref> expr </ref> <box> x1 y1 x2 y2 </box>)* </grounding> <img> codes </img>
//         loss on the image codes (image head)
//   I2L:  <i2l> <img> codes </img> <ref> expr </ref> <box> x1 y1 x2 y2 </box>
//         loss on x1 y1 x2 y2 </box> (text head)
//   PMTP: the L2I sequence, then the I2L image prefix once, then one <ref> ... </box> query per object.
//
// Every token carries a segment: 0 = the L2I part, 1 = the I2L image prefix, 2, 3, ... = grounding
// queries. A token sees earlier tokens of its own segment, and a query also sees segment 1; so no
// grounding token can see the layout, not even through the image positions of the L2I part (whose
// states have read it). Positions restart at 0 in segment 1 and every query continues from the end
// of segment 1, so a PMTP query has exactly the ids and positions of a standalone I2L sequence.
import { Vocabulary } from './vocabulary';
import { quantizeBox } from './layout_tokens';
import { GEO_NONE, boxGeo, geoPatch } from './geometry';

export interface LayoutObject { expr: string; box: readonly number[]; }
export interface Layout { caption: string; objects: readonly LayoutObject[]; }

export enum LossHead { None = 0, Image = 1, Text = 2 }

export interface TokenSequence {
  ids: number[];
  pos: number[];
  seg: number[];
  /** Per position: which head predicts the NEXT token of the sequence, and its class there. */
  head: LossHead[];
  target: number[];
  /** Per position: the geometry id of the token itself (lib/model/geometry.ts; 0 = none). */
  geo: number[];
  /** Per position: the geometry id of the token it predicts (the next patch while drawing; 0 = none). */
  geoNext: number[];
  /** The scene's layout: what the L2I part draws (lib/model/layout_map.ts) and what the image prefix shows (lib/model/patch_boxes.ts). */
  layout?: Layout;
}

export const SEG_L2I = 0;
export const SEG_IMAGE_PREFIX = 1;
export const SEG_FIRST_QUERY = 2;

/** Whether a token of segment `q` may see an earlier token of segment `k` (-1 = padding). */
export function segmentSees(q: number, k: number): boolean {
  if (q < 0 || k < 0) return false;
  return q === k || (q >= SEG_FIRST_QUERY && k === SEG_IMAGE_PREFIX);
}

class Builder {
  readonly s: TokenSequence = { ids: [], pos: [], seg: [], head: [], target: [], geo: [], geoNext: [] };
  constructor(private readonly vocab: Vocabulary) {}

  /**
   * Appends ids in segment `seg` from position `pos`; with `loss`, the previous token predicts each.
   * `geo` gives each id's geometry id; an id with geometry also becomes its predecessor's geoNext
   * when it is an image code (the predecessor is the token that draws it).
   */
  push(ids: readonly number[], seg: number, pos: number, loss = LossHead.None, geo?: readonly number[]): number {
    ids.forEach((id, i) => {
      const prev = this.s.ids.length - 1;
      if (loss !== LossHead.None) {
        if (prev < 0 || this.s.seg[prev] !== seg) throw new Error('sequences: a loss token needs a predecessor in its segment');
        this.s.head[prev] = loss;
        this.s.target[prev] = loss === LossHead.Image ? id - this.vocab.textSize : id;
      }
      const g = geo ? geo[i] : GEO_NONE;
      if (g !== GEO_NONE && id >= this.vocab.textSize && prev >= 0 && this.s.seg[prev] === seg) this.s.geoNext[prev] = g;
      this.s.ids.push(id);
      this.s.pos.push(pos++);
      this.s.seg.push(seg);
      this.s.head.push(LossHead.None);
      this.s.target.push(-1);
      this.s.geo.push(g);
      this.s.geoNext.push(GEO_NONE);
    });
    return pos;
  }
}

function checkLayout(layout: Layout): void {
  if (!layout || typeof layout.caption !== 'string' || !Array.isArray(layout.objects)) {
    throw new TypeError('layout must be { caption: string, objects: [{ expr, box }] }');
  }
  for (const [i, o] of layout.objects.entries()) {
    if (!o || typeof o.expr !== 'string') throw new TypeError(`layout.objects[${i}].expr must be a string`);
  }
}

/** The layout's ids and their geometry ids (the box coordinates have geometry). */
function layoutIds(v: Vocabulary, layout: Layout): { ids: number[]; geo: number[] } {
  checkLayout(layout);
  const ids = [v.special('<l2i>'), ...v.words(layout.caption), v.special('<grounding>')];
  const geo = ids.map(() => GEO_NONE);
  for (const o of layout.objects) {
    const ref = refIds(v, o.expr), box = boxIds(v, o.box);
    ids.push(...ref, ...box);
    geo.push(...ref.map(() => GEO_NONE), ...boxIdsGeo(o.box));
  }
  ids.push(v.special('</grounding>'));
  geo.push(GEO_NONE);
  return { ids, geo };
}

/**
 * The layout, then <img> at position 1 so that the codes take positions 2.. exactly as in the I2L
 * image prefix: a patch has one position id in both tasks whatever the layout's length, which is
 * what lets generation know where in the grid it is (a learned absolute position cannot encode
 * "position minus the prompt's length").
 */
function pushLayout(b: Builder, v: Vocabulary, layout: Layout): number {
  const { ids, geo } = layoutIds(v, layout);
  b.s.layout = layout;
  b.push(ids, SEG_L2I, 0, LossHead.None, geo);
  const pos = b.push([v.special('<img>')], SEG_L2I, 1);
  b.s.geoNext[b.s.ids.length - 1] = geoPatch(0);  // <img> draws the first patch
  return pos;
}

function refIds(v: Vocabulary, expr: string): number[] {
  return [v.special('<ref>'), ...v.words(expr), v.special('</ref>')];
}

function boxIds(v: Vocabulary, box: readonly number[]): number[] {
  return [v.special('<box>'), ...quantizeBox(box).map((b) => v.coord(b)), v.special('</box>')];
}

/** Geometry ids matching boxIds. */
function boxIdsGeo(box: readonly number[]): number[] {
  return [GEO_NONE, ...boxGeo(quantizeBox(box)), GEO_NONE];
}

function codeIds(v: Vocabulary, codes: ArrayLike<number>): number[] {
  return Array.from(codes, (c) => v.image(c));
}

function codeGeo(codes: ArrayLike<number>): number[] {
  return Array.from({ length: codes.length }, (_, k) => geoPatch(k));
}

/** The L2I prompt, up to and including <img> (what generation starts from). */
export function l2iPrompt(v: Vocabulary, layout: Layout): TokenSequence {
  const b = new Builder(v);
  pushLayout(b, v, layout);
  return b.s;
}

export function l2iSequence(v: Vocabulary, layout: Layout, codes: ArrayLike<number>): TokenSequence {
  const b = new Builder(v);
  let pos = pushLayout(b, v, layout);
  pos = b.push(codeIds(v, codes), SEG_L2I, pos, LossHead.Image, codeGeo(codes));
  b.push([v.special('</img>')], SEG_L2I, pos);
  return b.s;
}

function pushImagePrefix(b: Builder, v: Vocabulary, codes: ArrayLike<number>): number {
  return b.push([v.special('<i2l>'), v.special('<img>'), ...codeIds(v, codes), v.special('</img>')], SEG_IMAGE_PREFIX, 0, LossHead.None,
    [GEO_NONE, GEO_NONE, ...codeGeo(codes), GEO_NONE]);
}

/** The I2L prompt, up to and including <box> (what grounding starts from). */
export function i2lPrompt(v: Vocabulary, codes: ArrayLike<number>, expr: string): TokenSequence {
  const b = new Builder(v);
  const pos = pushImagePrefix(b, v, codes);
  b.push([...refIds(v, expr), v.special('<box>')], SEG_FIRST_QUERY, pos);
  return b.s;
}

function pushQuery(b: Builder, v: Vocabulary, obj: LayoutObject, seg: number, pos: number): void {
  pos = b.push([...refIds(v, obj.expr), v.special('<box>')], seg, pos);
  b.push(boxIds(v, obj.box).slice(1), seg, pos, LossHead.Text, boxIdsGeo(obj.box).slice(1));
}

export function i2lSequence(v: Vocabulary, codes: ArrayLike<number>, obj: LayoutObject): TokenSequence {
  const b = new Builder(v);
  pushQuery(b, v, obj, SEG_FIRST_QUERY, pushImagePrefix(b, v, codes));
  return b.s;
}

/** The PMTP joint sequence: L2I, the shared I2L image prefix, then one query per object. */
export function pmtpSequence(v: Vocabulary, layout: Layout, codes: ArrayLike<number>): TokenSequence {
  const b = new Builder(v);
  let pos = pushLayout(b, v, layout);
  pos = b.push(codeIds(v, codes), SEG_L2I, pos, LossHead.Image, codeGeo(codes));
  b.push([v.special('</img>')], SEG_L2I, pos);
  const prefixEnd = pushImagePrefix(b, v, codes);
  layout.objects.forEach((o, r) => pushQuery(b, v, o, SEG_FIRST_QUERY + r, prefixEnd));
  return b.s;
}
