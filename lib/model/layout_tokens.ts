// Box coordinates as tokens: 64 bins over [0, 1]. x1/y1 take the bin the edge falls in and x2/y2
// the bin just inside the far edge, so a box on the 64-pixel grid of the world's images round-trips
// exactly and a decoded box always has x2 > x1.

export const COORD_BINS = 64;

export type Box = [number, number, number, number];

/** Float noise (0.1 * 64 = 6.4000000001) must not push an on-grid edge into the next bin. */
const GRID_EPS = 1e-6;

function checkBox(where: string, box: readonly number[]): void {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new TypeError(`${where}: box must be [x1, y1, x2, y2] of finite numbers, got ${JSON.stringify(box)}`);
  }
  const [x1, y1, x2, y2] = box;
  if (x1 < 0 || y1 < 0 || x2 > 1 || y2 > 1 || x2 <= x1 || y2 <= y1) {
    throw new RangeError(`${where}: box must lie in [0,1] with x2 > x1 and y2 > y1, got [${box.join(', ')}]`);
  }
}

const clampBin = (b: number): number => Math.min(COORD_BINS - 1, Math.max(0, b));

/** [x1, y1, x2, y2] in [0,1] -> four bins in [0, 64). */
export function quantizeBox(box: readonly number[]): Box {
  checkBox('quantizeBox', box);
  const lo = (v: number): number => clampBin(Math.floor(v * COORD_BINS + GRID_EPS));
  const hi = (v: number): number => clampBin(Math.ceil(v * COORD_BINS - GRID_EPS) - 1);
  const b: Box = [lo(box[0]), lo(box[1]), hi(box[2]), hi(box[3])];
  // A box thinner than a bin can round to hi < lo; it still covers the bin its near edge is in.
  if (b[2] < b[0]) b[2] = b[0];
  if (b[3] < b[1]) b[3] = b[1];
  return b;
}

/** Four bins -> [x1, y1, x2, y2] in [0,1]; x2 < x1 (or y2 < y1) bins are swapped first. */
export function dequantizeBox(bins: readonly number[]): Box {
  if (bins.length !== 4 || !bins.every((b) => Number.isInteger(b) && b >= 0 && b < COORD_BINS)) {
    throw new RangeError(`dequantizeBox: bins must be four integers in [0, ${COORD_BINS}), got ${JSON.stringify(bins)}`);
  }
  const [x1, x2] = bins[0] <= bins[2] ? [bins[0], bins[2]] : [bins[2], bins[0]];
  const [y1, y2] = bins[1] <= bins[3] ? [bins[1], bins[3]] : [bins[3], bins[1]];
  return [x1 / COORD_BINS, y1 / COORD_BINS, (x2 + 1) / COORD_BINS, (y2 + 1) / COORD_BINS];
}
