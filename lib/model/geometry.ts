// One encoding of 2-D image coordinates in [0, 1], shared by the coordinate tokens of boxes and the
// image tokens' patches (docs/design.md section 5). Each token carries a geometry id into a fixed
// table of Fourier features; the model projects the features with a learned linear map and adds them
// to the token's embedding. Because a box edge and a patch centre at the same place get the same
// features on that axis, "patch (r, c) lies left of x2" is a function of the two coordinates from the
// first step, in both directions (L2I reads the layout, grounding writes boxes), instead of something
// to learn separately for each of 64 bins and 256 patches from independent embedding rows.
//
// Geometry ids: 0 = none; 1 .. 65 = the vertical line x = e/64 (e = 0..64, an x1 or x2 edge);
// 66 .. 130 = the horizontal line y = e/64; 131 + k = the centre of image patch k (row-major).
import { COORD_BINS } from './layout_tokens';

export const GEO_NONE = 0;
const X_EDGE = 1;
const Y_EDGE = X_EDGE + COORD_BINS + 1;
const PATCH = Y_EDGE + COORD_BINS + 1;

/** Frequencies pi * 2^j, j < GEO_FREQUENCIES: periods 2 down to 1/32 of the image (2 px of 64). */
export const GEO_FREQUENCIES = 7;
/** Features per geometry id: sin and cos per frequency, for x then for y. */
export const GEO_FEATURES = 4 * GEO_FREQUENCIES;

export const geoXEdge = (edge: number): number => X_EDGE + edge;
export const geoYEdge = (edge: number): number => Y_EDGE + edge;
export const geoPatch = (k: number): number => PATCH + k;
/** Where an edge geometry id lies, in [0, 1] (x for an x edge, y for a y edge; NaN for any other id). */
export const geoEdgeValue = (id: number): number =>
  id >= X_EDGE && id < Y_EDGE ? (id - X_EDGE) / COORD_BINS : id >= Y_EDGE && id < PATCH ? (id - Y_EDGE) / COORD_BINS : NaN;
/** The patch index of a patch geometry id (-1 for any other id). */
export const geoPatchIndex = (id: number): number => (id >= PATCH ? id - PATCH : -1);

/** Geometry ids of a box's four coordinate tokens (bins x1 y1 x2 y2; x2/y2 bins end one bin later). */
export function boxGeo(bins: readonly number[]): number[] {
  return [geoXEdge(bins[0]), geoYEdge(bins[1]), geoXEdge(bins[2] + 1), geoYEdge(bins[3] + 1)];
}

function fourier(out: Float32Array, at: number, v: number): void {
  for (let j = 0; j < GEO_FREQUENCIES; j++) {
    const a = Math.PI * 2 ** j * v;
    out[at + 2 * j] = Math.sin(a);
    out[at + 2 * j + 1] = Math.cos(a);
  }
}

/** The fixed table [rows, GEO_FEATURES] for images cut into `side` x `side` patches. */
export function geoTable(side: number): { data: Float32Array; rows: number } {
  const rows = PATCH + side * side, F = GEO_FEATURES, H = F / 2;
  const data = new Float32Array(rows * F);
  for (let e = 0; e <= COORD_BINS; e++) {
    fourier(data, geoXEdge(e) * F, e / COORD_BINS);
    fourier(data, geoYEdge(e) * F + H, e / COORD_BINS);
  }
  for (let k = 0; k < side * side; k++) {
    const r = Math.floor(k / side), c = k % side;
    fourier(data, geoPatch(k) * F, (c + 0.5) / side);
    fourier(data, geoPatch(k) * F + H, (r + 0.5) / side);
  }
  return { data, rows };
}

/**
 * The 64 geometry ids a coordinate token of `kind` can take (0 = x1, 1 = y1, 2 = x2, 3 = y2): the
 * edge each bin names, so the pointer of EchoGen.coordLogits scores bins by where they are.
 */
export function coordEdgeIds(kind: number): Int32Array {
  const ids = new Int32Array(COORD_BINS);
  for (let b = 0; b < COORD_BINS; b++) ids[b] = kind === 0 ? geoXEdge(b) : kind === 1 ? geoYEdge(b) : kind === 2 ? geoXEdge(b + 1) : geoYEdge(b + 1);
  return ids;
}
