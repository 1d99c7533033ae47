// The layout map (config.layoutMap): while drawing, each L2I token that predicts image patch k also
// gets, as input, what the layout puts at patch k: the front-most two objects whose boxes overlap the
// patch, each as its colour, shape and texture (one-hot) and the patch's place relative to the box
// (Fourier features of the signed distances from the patch's corner to the four box edges, which
// fix the shape's boundary and the texture's phase inside the patch). A learned linear map adds it
// to the token's embedding. The layout tokens stay in the sequence; the map gives each drawing step
// the part of the layout it needs without first learning to find it by attention, which the curves
// in docs/training.md show a 2-core budget cannot afford. Grounding never sees it (the I2L part has
// no layout).
import { parseExpression } from '../data/grammar';
import { COLORS, SHAPES, TEXTURES } from '../data/vocab';
import type { Layout } from './sequences';

const FREQS = 7;
const SLOTS = 2;
const ATTRS = COLORS.length + SHAPES.length + (TEXTURES.length + 1) + 1;  // textures incl. plain, + presence
const SLOT_FEATURES = ATTRS + 4 * 2 * FREQS;
/** Features per token: two object slots. */
export const LAYOUT_MAP_FEATURES = SLOTS * SLOT_FEATURES;

interface MapObject { color: number; shape: number; texture: number; box: readonly number[] }

/** The objects of a layout with attribute indices (-1 where the expression does not say). */
export function mapObjects(layout: Layout): MapObject[] {
  return layout.objects.map((o) => {
    let t: { color?: string; shape?: string; texture?: string } = {};
    try { t = parseExpression(o.expr).target; } catch { /* an unparseable expression draws with no attributes */ }
    return {
      color: COLORS.indexOf(t.color as (typeof COLORS)[number]),
      shape: SHAPES.indexOf(t.shape as (typeof SHAPES)[number]),
      texture: TEXTURES.indexOf(t.texture as (typeof TEXTURES)[number]),
      box: o.box,
    };
  });
}

function fourier(out: Float32Array, at: number, v: number): void {
  const u = (v + 1) / 2;  // signed distances in [-1, 1] -> [0, 1]
  for (let j = 0; j < FREQS; j++) {
    const a = Math.PI * 2 ** j * u;
    out[at + 2 * j] = Math.sin(a);
    out[at + 2 * j + 1] = Math.cos(a);
  }
}

/**
 * Writes the map features of patch k (row-major, `side` patches a side) into out[at ..
 * at + LAYOUT_MAP_FEATURES); slots without an object stay zero.
 */
export function writeLayoutMap(out: Float32Array, at: number, objects: readonly MapObject[], k: number, side: number): void {
  const r = Math.floor(k / side), c = k % side;
  const x0 = c / side, x1 = (c + 1) / side, y0 = r / side, y1 = (r + 1) / side;
  let slot = 0;
  for (let i = objects.length - 1; i >= 0 && slot < SLOTS; i--) {  // later objects are in front
    const o = objects[i], b = o.box;
    if (!(b[0] < x1 && b[2] > x0 && b[1] < y1 && b[3] > y0)) continue;
    const s = at + slot * SLOT_FEATURES;
    if (o.color >= 0) out[s + o.color] = 1;
    if (o.shape >= 0) out[s + COLORS.length + o.shape] = 1;
    out[s + COLORS.length + SHAPES.length + (o.texture + 1)] = 1;  // plain = index 0
    out[s + ATTRS - 1] = 1;
    fourier(out, s + ATTRS, x0 - b[0]);
    fourier(out, s + ATTRS + 2 * FREQS, b[2] - x0);
    fourier(out, s + ATTRS + 4 * FREQS, y0 - b[1]);
    fourier(out, s + ATTRS + 6 * FREQS, b[3] - y0);
    slot++;
  }
}
