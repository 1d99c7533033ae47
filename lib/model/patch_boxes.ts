// The patch-box task (config.patchBoxes): in training, every image patch of a grounding sequence's
// prefix also predicts, from its final hidden state, the box of the object it shows; with
// config.patchShapes also that object's shape. They are auxiliary losses only; nothing at inference
// reads their heads.
//
// Why: where two objects of one colour touch, the render shows one region of that colour, and a 4x4
// patch inside it cannot tell from its own pixels which object it belongs to. The referring readout
// (lib/model/ref_readout.ts) then pools both objects' patches and boxes the pair or the wrong one
// (docs/training.md section 11). Asking each patch state for its own object's extent makes the
// states separate instances, and the readout's keys read those states. The box is read through the
// same coordinate pointer as a grounding answer (EchoGen.coordLogits), so the task also trains the
// machinery that turns a place in a hidden state into bins. The shape is what tells two touching
// look-alikes apart in the expression ("red circle" vs "red square"), and the interior patches of
// either show the same solid colour: only a state that read the whole region can know it.
import { parseExpression } from '../data/grammar';
import { paintOwners } from '../data/visibility';
import { CANVAS } from '../data/geometry';
import { SHAPES } from '../data/vocab';
import type { Shape } from '../data/vocab';
import { quantizeBox } from './layout_tokens';
import { Layout, SEG_IMAGE_PREFIX, TokenSequence } from './sequences';
import { geoPatchIndex } from './geometry';

/** The patches a batch trains the task on: host arrays, built once per batch. */
export interface PatchBoxIndex {
  /** Number of patches with a target. */
  count: number;
  /** [count] flat rows b*T + t of those patches. */
  rows: Int32Array;
  /** [4, count] the target's coordinate bins, kind-major (x1 bins of every row, then y1, x2, y2). */
  bins: Int32Array;
  /** [count] the target's shape, an index into SHAPES. */
  shapes: Int32Array;
}

const owners = new Int8Array(CANVAS * CANVAS);

/** The shape each layout object's expression names, or null when one does not parse. */
function layoutShapes(layout: Layout): Shape[] | null {
  try {
    return layout.objects.map((o) => parseExpression(o.expr).target.shape);
  } catch {
    return null;
  }
}

/**
 * Per patch of a side x side grid over the canvas, the index of the layout object it shows: the one
 * that owns most of its pixels in the render's draw order, when that is at least a quarter of them;
 * -1 otherwise (background, or an expression that does not parse to a shape).
 */
export function patchOwners(layout: Layout, side: number, shapes: readonly Shape[] | null = layoutShapes(layout)): Int32Array {
  const out = new Int32Array(side * side).fill(-1);
  if (CANVAS % side !== 0) throw new RangeError(`patchOwners: ${side} patches a side do not divide the ${CANVAS}-pixel canvas`);
  if (!shapes) return out;
  paintOwners(layout.objects.map((o, i) => ({ shape: shapes[i], box: [o.box[0], o.box[1], o.box[2], o.box[3]] as [number, number, number, number] })), owners);
  const px = CANVAS / side, n = layout.objects.length;
  const count = new Int32Array(n);
  for (let p = 0; p < side * side; p++) {
    count.fill(0);
    const x0 = (p % side) * px, y0 = Math.floor(p / side) * px;
    for (let y = y0; y < y0 + px; y++) for (let x = x0; x < x0 + px; x++) { const o = owners[y * CANVAS + x]; if (o >= 0) count[o]++; }
    let best = -1;
    for (let i = 0; i < n; i++) if (count[i] > 0 && (best < 0 || count[i] > count[best])) best = i;
    if (best >= 0 && 4 * count[best] >= px * px) out[p] = best;
  }
  return out;
}

/**
 * The patch-box targets of sequences padded to length T: the image codes of every sequence's prefix
 * (segment 1) whose `layout` is known, side x side patches each. Null when no patch has a target.
 */
export function patchBoxIndex(seqs: readonly TokenSequence[], T: number, side: number): PatchBoxIndex | null {
  const rows: number[] = [], bins: number[][] = [[], [], [], []], shapes: number[] = [];
  seqs.forEach((s, b) => {
    if (!s.layout) return;
    const named = layoutShapes(s.layout);
    if (!named) return;
    const owner = patchOwners(s.layout, side, named);
    const boxes = s.layout.objects.map((o) => quantizeBox(o.box));
    const shapeOf = named.map((sh) => SHAPES.indexOf(sh));
    s.seg.forEach((g, t) => {
      const p = g === SEG_IMAGE_PREFIX ? geoPatchIndex(s.geo[t]) : -1;
      if (p < 0 || owner[p] < 0) return;
      rows.push(b * T + t);
      boxes[owner[p]].forEach((v, k) => bins[k].push(v));
      shapes.push(shapeOf[owner[p]]);
    });
  });
  if (!rows.length) return null;
  return { count: rows.length, rows: Int32Array.from(rows), bins: Int32Array.from(bins.flat()), shapes: Int32Array.from(shapes) };
}
