// Collation: token sequences -> padded i32 tensors, the attention mask, and the rows and classes
// each head is trained on. All index work happens here, once per batch, so the forward pass only
// gathers rows.
import { Tensor, tensor } from '../tensor';
import { LossHead, SEG_IMAGE_PREFIX, SEG_L2I, TokenSequence, segmentSees } from './sequences';
import { SPECIAL_TOKENS } from './vocabulary';
import { GEO_NONE, geoPatchIndex } from './geometry';
import { LAYOUT_MAP_FEATURES, mapObjects, writeLayoutMap } from './layout_map';
import { RefIndex, RelationPhrases, refIndex } from './ref_readout';
import { PatchBoxIndex, patchBoxIndex } from './patch_boxes';

export interface CollateOptions {
  device?: 'cpu' | 'cuda';
  /** Patches per image side: builds the layout map for the L2I tokens that draw a patch. */
  layoutMapSide?: number;
  /** Image patches per image: indexes the grounding queries for the referring readout (lib/model/ref_readout.ts). */
  refPatches?: number;
  /** The relation phrases the readout splits expressions at (config.refRelations). */
  refRelations?: RelationPhrases;
  /** The image prefix (segment 1) attends both ways (config.bidirectionalImage): the mask then carries the causal rule. */
  bidirectionalImage?: boolean;
  /** Patches per image side: indexes the patch-box targets of the image prefixes (config.patchBoxes; lib/model/patch_boxes.ts). */
  patchBoxSide?: number;
}

/** The layout map rows of a batch: every segment-0 token that draws a patch of its layout. */
export function layoutMapData(seqs: readonly TokenSequence[], T: number, side: number): Float32Array {
  const F = LAYOUT_MAP_FEATURES;
  const out = new Float32Array(seqs.length * T * F);
  seqs.forEach((s, b) => {
    if (!s.layout) return;
    const objects = mapObjects(s.layout);
    s.geoNext.forEach((g, t) => {
      if (g !== GEO_NONE && s.seg[t] === 0) writeLayoutMap(out, (b * T + t) * F, objects, geoPatchIndex(g), side);
    });
  });
  return out;
}

export interface Batch {
  batch: number;
  length: number;
  /** i32 [B, T] token ids and positions (padding: id 0 = <pad>, position 0). */
  ids: Tensor;
  pos: Tensor;
  /** i32 [B, T] geometry ids of each token and of the token it predicts (lib/model/geometry.ts). */
  geo: Tensor;
  geoNext: Tensor;
  /** f32 [B, T, LAYOUT_MAP_FEATURES] when collated with layoutMapSide (lib/model/layout_map.ts), else null. */
  layoutMap: Tensor | null;
  /**
   * i32 [B, T, T] when some sequence has segments that must not see each other (PMTP), else null:
   * with right padding, plain causal attention is then exact for the real tokens.
   */
  mask: Tensor | null;
  /**
   * Whether attention is also causal: false when the mask carries the causal rule itself because an
   * image prefix attends both ways (config.bidirectionalImage).
   */
  causal: boolean;
  /** Flat row indices b*T + t into [B*T, dim] hidden states, and the head's class there. */
  imageRows: Tensor;
  imageTargets: Tensor;
  textRows: Tensor;
  textTargets: Tensor;
  /**
   * Per text row: which box coordinate it predicts (0 = x1, 1 = y1, 2 = x2, 3 = y2) or 4 for any
   * other text token (</box>); host-side, for EchoGen's coordinate pointer.
   */
  textKinds: number[];
  /** Host copies of textRows and textTargets (EchoGen groups the rows by kind without a read-back). */
  textRowsHost: Int32Array;
  textTargetsHost: Int32Array;
  /** Number of rows each head is trained on. */
  imageCount: number;
  textCount: number;
  /** The grounding queries, when collated with refPatches and some sequence has one; else null. */
  refs: RefIndex | null;
  /** The image prefixes' patch-box targets, when collated with patchBoxSide and some patch has one; else null. */
  patchBoxes: PatchBoxIndex | null;
}

function needsMask(s: TokenSequence): boolean {
  const segs = new Set(s.seg);
  for (const q of segs) for (const k of segs) if (q !== k && !segmentSees(q, k) && !segmentSees(k, q)) return true;
  return false;
}

/**
 * Builds the [B, T, T] mask: causal, and segmentSees between the two tokens' segments; with
 * `bidirectionalImage` a token of the image prefix (segment 1) also sees the prefix's later tokens.
 */
export function buildMask(seqs: readonly TokenSequence[], T: number, bidirectionalImage = false): Int32Array {
  return fillMask(seqs, T, bidirectionalImage, new Int32Array(seqs.length * T * T));
}

// collate's mask is copied into its tensor at once, so one host buffer serves every batch (a training step's
// [8, 626, 626] is 12.5 MB: a fresh one each step cost ~3,000 page faults). Larger masks are not kept.
const MASK_SCRATCH_MAX = 1 << 22;
let maskScratch = new Int32Array(0);
function scratchMask(seqs: readonly TokenSequence[], T: number, bidirectionalImage: boolean): Int32Array {
  const n = seqs.length * T * T;
  if (n > MASK_SCRATCH_MAX) return buildMask(seqs, T, bidirectionalImage);
  if (maskScratch.length < n) maskScratch = new Int32Array(Math.min(MASK_SCRATCH_MAX, 2 ** Math.ceil(Math.log2(n))));
  const m = maskScratch.subarray(0, n);
  m.fill(0);
  return fillMask(seqs, T, bidirectionalImage, m);
}

/** Writes buildMask's mask into the zero-filled m. */
function fillMask(seqs: readonly TokenSequence[], T: number, bidirectionalImage: boolean, m: Int32Array): Int32Array {
  seqs.forEach((s, b) => {
    // Segments are contiguous runs (the builders emit them so), so each row is a few filled ranges.
    const runs: { seg: number; start: number; end: number }[] = [];
    s.seg.forEach((g, t) => {
      const last = runs[runs.length - 1];
      if (last && last.seg === g) last.end = t + 1; else runs.push({ seg: g, start: t, end: t + 1 });
    });
    for (let i = 0; i < s.ids.length; i++) {
      const row = (b * T + i) * T;
      for (const r of runs) {
        if (r.start > i) break;
        const both = bidirectionalImage && s.seg[i] === SEG_IMAGE_PREFIX && r.seg === SEG_IMAGE_PREFIX;
        if (segmentSees(s.seg[i], r.seg)) m.fill(1, row + r.start, row + (both ? r.end : Math.min(r.end, i + 1)));
      }
    }
  });
  return m;
}

/** BOX_KIND_OTHER for a text row that predicts no coordinate. */
export const BOX_KIND_OTHER = 4;

/** Which coordinate token t predicts: how many tokens after the last <box> (id 9) it stands. */
function textKind(s: TokenSequence, t: number): number {
  let k = t;
  while (k >= 0 && s.ids[k] !== BOX_ID) k--;
  const kind = t - k;
  return k >= 0 && kind < BOX_KIND_OTHER ? kind : BOX_KIND_OTHER;
}
const BOX_ID = SPECIAL_TOKENS.indexOf('<box>');

export function collate(seqs: readonly TokenSequence[], opts: CollateOptions = {}): Batch {
  if (!Array.isArray(seqs) || seqs.length === 0) throw new RangeError('collate: seqs must be a non-empty array of token sequences');
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(B * T), pos = new Int32Array(B * T), geo = new Int32Array(B * T), geoNext = new Int32Array(B * T);
  const img: number[] = [], imgT: number[] = [], txt: number[] = [], txtT: number[] = [], kinds: number[] = [];
  seqs.forEach((s, b) => {
    ids.set(s.ids, b * T);
    pos.set(s.pos, b * T);
    geo.set(s.geo, b * T);
    geoNext.set(s.geoNext, b * T);
    for (let t = 0; t < s.ids.length; t++) {
      if (s.head[t] === LossHead.Image) { img.push(b * T + t); imgT.push(s.target[t]); }
      else if (s.head[t] === LossHead.Text) { txt.push(b * T + t); txtT.push(s.target[t]); kinds.push(textKind(s, t)); }
    }
  });
  const device = opts.device ?? 'cpu';
  const both = Boolean(opts.bidirectionalImage) && seqs.some((s) => s.seg.includes(SEG_IMAGE_PREFIX));
  const i32 = (a: number[] | Int32Array, shape: number[]): Tensor => tensor(a instanceof Int32Array ? a : Int32Array.from(a), shape, { dtype: 'i32', device });
  return {
    batch: B,
    length: T,
    ids: i32(ids, [B, T]),
    pos: i32(pos, [B, T]),
    geo: i32(geo, [B, T]),
    geoNext: i32(geoNext, [B, T]),
    layoutMap: opts.layoutMapSide && seqs.some((q) => q.layout && q.seg.includes(SEG_L2I)) ? tensor(layoutMapData(seqs, T, opts.layoutMapSide), [B, T, LAYOUT_MAP_FEATURES], { device }) : null,
    mask: both || seqs.some(needsMask) ? i32(scratchMask(seqs, T, both), [B, T, T]) : null,
    causal: !both,
    imageRows: i32(img, [img.length]),
    imageTargets: i32(imgT, [imgT.length]),
    textRows: i32(txt, [txt.length]),
    textTargets: i32(txtT, [txtT.length]),
    imageCount: img.length,
    textKinds: kinds,
    textRowsHost: Int32Array.from(txt),
    textTargetsHost: Int32Array.from(txtT),
    textCount: txt.length,
    refs: opts.refPatches && txt.length ? refIndex(seqs, T, opts.refPatches, undefined, opts.refRelations) : null,
    patchBoxes: opts.patchBoxSide ? patchBoxIndex(seqs, T, opts.patchBoxSide) : null,
  };
}

export function disposeBatch(b: Batch): void {
  for (const t of [b.ids, b.pos, b.geo, b.geoNext, b.layoutMap, b.mask, b.imageRows, b.imageTargets, b.textRows, b.textTargets]) t?.dispose();
}
