// The world's detector, with no learned weights: every pixel takes the nearest palette colour
// (background, four colours, their dark texture shades); same-colour pixels form 8-connected
// regions; a region is read as the template (the world's own rasterisation of a shape at a pixel
// box) that its pixels contradict least, where a template pixel covered by another colour is an
// occlusion, not a contradiction. Where no shape fits the region's bounding box, each shape's box
// is completed under the occluders (amodal completion), and where one shape still leaves
// contradictions, the region is read as several objects of its colour (a first object, and the
// pieces it leaves, each completed under it). A score in [0,1] says how well each reading fits.
// docs/world.md, "The detector", has the steps and the numbers.
import { BACKGROUND, COLOR_RGB, darkShade } from '../data/palette';
import type { RGB } from '../data/palette';
import { shapeSpans } from '../data/raster';
import type { Spans } from '../data/raster';
import type { SpatialView } from '../data/relations';
import { sizeOf } from '../data/geometry';
import type { Box } from '../data/geometry';
import { COLORS, SHAPES } from '../data/vocab';
import type { Color, Shape, Size, Texture } from '../data/vocab';

// Module-scope aliases of Math's functions: global lookups are slow inside vm contexts (jest's test
// environment), and the several-object search calls these in its inner loops.
const { min: mmin, max: mmax, abs: mabs, log: mlog, ceil: mceil, floor: mfloor } = Math;
const INF = Number.POSITIVE_INFINITY;

export interface Detection {
  box: Box;
  color: Color;
  shape: Shape;
  texture: Texture;
  size: Size;
  /** "<colour> <shape>", the class AP is computed over. */
  category: string;
  score: number;
  /** Pixels in the region. */
  area: number;
}

export interface DetectionResult {
  detections: Detection[];
  /** [i, j]: detection i covers part of detection j. */
  occlusions: [number, number][];
  /** Boxes and depth of the detections, for relations and compositional accuracy. */
  view: SpatialView;
}

export interface DetectorOptions {
  /** Side of the square RGB image (default 64). */
  size?: number;
  /** Smallest region kept, in pixels (default 12). */
  minArea?: number;
}

interface PaletteEntry { rgb: RGB; label: number; dark: boolean }

// label 0 = background, k = COLORS[k - 1].
const PALETTE: PaletteEntry[] = [
  { rgb: BACKGROUND, label: 0, dark: false },
  ...COLORS.map((c, i) => ({ rgb: COLOR_RGB[c], label: i + 1, dark: false })),
  ...COLORS.map((c, i) => ({ rgb: darkShade(COLOR_RGB[c]), label: i + 1, dark: true })),
];

/** A template pixel covered by another object costs this much, to prefer the smallest shape that explains the region. */
const COVERED_COST = 0.05;

class Buffers {
  readonly label: Uint8Array;
  readonly dark: Uint8Array;
  readonly dist: Float32Array;
  readonly comp: Int32Array;
  readonly stack: Int32Array;
  constructor(readonly n: number) {
    this.label = new Uint8Array(n);
    this.dark = new Uint8Array(n);
    this.dist = new Float32Array(n);
    this.comp = new Int32Array(n);
    this.stack = new Int32Array(n);
  }
}
let buffers = new Buffers(64 * 64);

function classify(rgb: Uint8Array, b: Buffers): void {
  let lastKey = -1, lastLabel = 0, lastDark = 0, lastDist = 0;
  for (let p = 0; p < b.n; p++) {
    const r = rgb[3 * p], g = rgb[3 * p + 1], bl = rgb[3 * p + 2];
    const key = (r << 16) | (g << 8) | bl;
    if (key !== lastKey) {
      let best = INF, bi = 0;
      for (let k = 0; k < PALETTE.length; k++) {
        const c = PALETTE[k].rgb;
        const dr = r - c[0], dg = g - c[1], db = bl - c[2];
        const d = dr * dr + dg * dg + db * db;
        if (d < best) { best = d; bi = k; }
      }
      lastKey = key; lastLabel = PALETTE[bi].label; lastDark = PALETTE[bi].dark ? 1 : 0; lastDist = Math.sqrt(best);
    }
    b.label[p] = lastLabel; b.dark[p] = lastDark; b.dist[p] = lastDist;
  }
}

interface Region { id: number; label: number; count: number; x1: number; y1: number; x2: number; y2: number; darkCount: number; distSum: number }

function regions(side: number, b: Buffers): Region[] {
  const { label, comp, stack } = b;
  comp.fill(-1);
  const out: Region[] = [];
  for (let p = 0; p < b.n; p++) {
    if (label[p] === 0 || comp[p] >= 0) continue;
    const reg: Region = { id: out.length, label: label[p], count: 0, x1: side, y1: side, x2: -1, y2: -1, darkCount: 0, distSum: 0 };
    let top = 0;
    stack[top++] = p;
    comp[p] = reg.id;
    while (top > 0) {
      const q = stack[--top];
      const x = q % side, y = (q - x) / side;
      reg.count++;
      reg.darkCount += b.dark[q];
      reg.distSum += b.dist[q];
      if (x < reg.x1) reg.x1 = x;
      if (x > reg.x2) reg.x2 = x;
      if (y < reg.y1) reg.y1 = y;
      if (y > reg.y2) reg.y2 = y;
      const y0 = y > 0 ? y - 1 : y, y3 = y < side - 1 ? y + 1 : y;
      const x0 = x > 0 ? x - 1 : x, x3 = x < side - 1 ? x + 1 : x;
      for (let ny = y0; ny <= y3; ny++) {
        for (let nx = x0; nx <= x3; nx++) {
          const k = ny * side + nx;
          if (comp[k] < 0 && label[k] === reg.label) { comp[k] = reg.id; stack[top++] = k; }
        }
      }
    }
    out.push(reg);
  }
  return out;
}

/** Striped regions have whole rows dark or light; dotted regions have rows that mix both. `own(q)` says which pixels of the box are the object's. */
function textureOf(x1: number, y1: number, x2: number, y2: number, own: (q: number) => boolean, side: number, b: Buffers): Texture {
  let count = 0, darkCount = 0, rows = 0, mixed = 0;
  for (let y = y1; y <= y2; y++) {
    let n = 0, dark = 0;
    for (let x = x1; x <= x2; x++) {
      const q = y * side + x;
      if (own(q)) { n++; dark += b.dark[q]; }
    }
    count += n; darkCount += dark;
    if (n < 3) continue;
    rows++;
    if (dark > 0 && dark < n) mixed++;
  }
  if (darkCount < 0.1 * count) return 'plain';
  return rows > 0 && mixed > 0.25 * rows ? 'dotted' : 'striped';
}

// ---- Template fitting ----------------------------------------------------------------------------
//
// A template is a shape rasterised at a pixel box. Against one region (a same-colour component) its
// cost counts contradictions, which no drawing of the world can produce: background pixels inside it
// (nothing is ever drawn behind the background) and region pixels outside it; plus COVERED_COST for
// each of its pixels that another colour covers (an occluder in front), so that the smallest shape
// that explains the region wins. Row prefix sums make one template's count O(rows).

/** Row prefix sums: p[y * (side + 1) + x] = count over columns < x of row y. */
class Prefix {
  readonly nonBg: Int32Array;
  readonly color: Int32Array[];
  readonly comp: Int32Array;
  compId = -1;
  constructor(readonly side: number) {
    const n = side * (side + 1);
    this.nonBg = new Int32Array(n);
    this.color = COLORS.map(() => new Int32Array(n));
    this.comp = new Int32Array(n);
  }
  private colorDone = new Uint8Array(COLORS.length);
  private b: Buffers = buffers;
  fill(b: Buffers): void {
    this.b = b;
    const { side } = this;
    for (let y = 0; y < side; y++) {
      const o = y * (side + 1);
      this.nonBg[o] = 0;
      for (let x = 0; x < side; x++) this.nonBg[o + x + 1] = this.nonBg[o + x] + (b.label[y * side + x] !== 0 ? 1 : 0);
    }
    this.colorDone.fill(0);
    this.compId = -1;
    this.comp.fill(0);
    this.lo = 0; this.hi = -1;
  }
  /** Prefix sums of one colour's pixels (label 1..4), made once per image. */
  ensureColor(label: number): void {
    const b = this.b;
    if (this.colorDone[label - 1]) return;
    const { side } = this, c = this.color[label - 1];
    for (let y = 0; y < side; y++) {
      const o = y * (side + 1);
      c[o] = 0;
      for (let x = 0; x < side; x++) c[o + x + 1] = c[o + x] + (b.label[y * side + x] === label ? 1 : 0);
    }
    this.colorDone[label - 1] = 1;
  }
  /** Rows [lo, hi] of comp hold the current target; every other row is zero. */
  private lo = 0;
  private hi = -1;
  private rows(y1: number, y2: number, own: (q: number) => boolean): void {
    const { side } = this, W = side + 1;
    for (let y = this.lo; y <= this.hi; y++) if (y < y1 || y > y2) this.comp.fill(0, y * W, y * W + W);
    for (let y = y1; y <= y2; y++) {
      const o = y * W;
      this.comp[o] = 0;
      for (let x = 0; x < side; x++) this.comp[o + x + 1] = this.comp[o + x] + (own(y * side + x) ? 1 : 0);
    }
    this.lo = y1; this.hi = y2;
  }
  /** Prefix sums of the pixels a mask marks (mask[q] !== 0) in rows y1..y2 (none elsewhere). */
  fillMask(mask: Uint8Array, y1: number, y2: number): void {
    this.rows(y1, y2, (q) => mask[q] !== 0);
    this.compId = -2;
  }
  /** Prefix sums of one region's pixels. */
  fillComp(reg: Region, b: Buffers): void {
    if (this.compId === reg.id) return;
    this.rows(reg.y1, reg.y2, (q) => b.comp[q] === reg.id);
    this.compId = reg.id;
  }
}
let prefix = new Prefix(64);

/** A template placed at pixel box [x1, x1 + w) x [y1, y1 + h). */
interface Placed {
  shape: Shape;
  x1: number; y1: number; w: number; h: number;
  spans: Spans;
  area: number;
  /** Background pixels inside (contradictions). */
  bg: number;
  /** Pixels of other colours inside (occluders). */
  other: number;
  /** Pixels of the region inside. */
  own: number;
}

/** `quick`: without the colour's prefix sums, counting every non-background pixel that is not the target's as another colour. */
function place(shape: Shape, x1: number, y1: number, w: number, h: number, label: number, P: Prefix, quick = false): Placed {
  const spans = shapeSpans(shape, w, h);
  const W = P.side + 1, col = quick ? P.comp : P.color[label - 1];
  let area = 0, bg = 0, other = 0, own = 0;
  for (let r = 0; r < h; r++) {
    const o = (y1 + r) * W;
    const s = o + x1 + spans[2 * r], e = o + x1 + spans[2 * r + 1];
    const n = e - s, nb = P.nonBg[e] - P.nonBg[s], same = col[e] - col[s];
    area += n; bg += n - nb; other += nb - same; own += P.comp[e] - P.comp[s];
  }
  return { shape, x1, y1, w, h, spans, area, bg, other, own };
}

/** Background pixels inside a template, stopping once over `limit`. */
function bgOver(shape: Shape, x1: number, y1: number, w: number, h: number, limit: number, P: Prefix): boolean {
  const spans = shapeSpans(shape, w, h);
  const W = P.side + 1;
  let bg = 0;
  for (let r = 0; r < h; r++) {
    const o = (y1 + r) * W;
    const s = o + x1 + spans[2 * r], e = o + x1 + spans[2 * r + 1];
    bg += e - s - (P.nonBg[e] - P.nonBg[s]);
    if (bg > limit) return true;
  }
  return false;
}

/** Aspect ratios the world's objects have; a visible part outside it is taken as a cut-off object. */
const ASPECT_LO = 0.75, ASPECT_HI = 1 / 0.75;
/**
 * Boxes completion may try in one image (reset by detect). The external set needs at most 75,000;
 * an image of colour blocks can ask for ten times that.
 */
const GROW_BUDGET = 150_000;
let growLeft = GROW_BUDGET;
/** Background pixels a side may add while it moves out before the search along it stops. */
const GROW_BG = 12;
/** Pull towards aspect 1, per pixel of area and unit of |ln(w/h)|, of a box whose side is guessed under an occluder. */
const ASPECT_PULL = 0.1;

function contradictions(t: Placed, regionCount: number): number {
  return t.bg + regionCount - t.own;
}

function cost(t: Placed, regionCount: number, pull: boolean): number {
  const c = contradictions(t, regionCount) + COVERED_COST * t.other;
  return pull ? c + ASPECT_PULL * t.w * t.h * mabs(mlog(t.w / t.h)) : c;
}

/** What a reading explains: a set of same-colour pixels (mask), and the pixels that may hide part of an object of it (occ). */
interface Target {
  label: number;
  count: number;
  x1: number; y1: number; x2: number; y2: number;
  /** null: the pixels of the region being read (b.comp === its id). */
  mask: Uint8Array | null;
  /** Made on first use: most objects are read without it. */
  occ: () => Uint8Array;
}

/**
 * Amodal completion: a side of the box where the target borders a possible occluder (another
 * colour, or a same-colour object already read) may lie under it. Each such side is moved out (one
 * at a time, twice round) to where the cost is least: circles and triangles are pinned by their
 * outline; a cut-off part whose aspect no world object has (outside ASPECT_LO..ASPECT_HI) is pulled
 * towards aspect 1. P.comp must hold the target's prefix sums.
 */
function complete(t: Placed, tg: Target, side: number, P: Prefix): Placed {
  const occ = tg.occ();
  const occAt = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < side && y < side && occ[y * side + x] !== 0;
  const x2 = t.x1 + t.w - 1, y2 = t.y1 + t.h - 1;
  // A side can move out when the line of pixels just beyond it has an occluder pixel.
  const open = [false, false, false, false];
  for (let y = t.y1; y <= y2; y++) {
    if (occAt(t.x1 - 1, y)) open[0] = true;
    if (occAt(x2 + 1, y)) open[1] = true;
  }
  for (let x = t.x1; x <= x2; x++) {
    if (occAt(x, t.y1 - 1)) open[2] = true;
    if (occAt(x, y2 + 1)) open[3] = true;
  }
  if (!(open[0] || open[1] || open[2] || open[3])) return t;
  const aspect = t.w / t.h;
  const pull = aspect < ASPECT_LO || aspect > ASPECT_HI;
  const MAX_SIDE = 40;
  const grow = (cur: Placed, dir: number, d: number): Placed | null => {
    const room = dir === 0 ? cur.x1 : dir === 1 ? side - cur.x1 - cur.w : dir === 2 ? cur.y1 : side - cur.y1 - cur.h;
    const along = dir < 2 ? cur.w : cur.h;
    if (d > room || along + d > MAX_SIDE || --growLeft < 0) return null;
    const x1 = dir === 0 ? cur.x1 - d : cur.x1, y1 = dir === 2 ? cur.y1 - d : cur.y1;
    const w = dir < 2 ? cur.w + d : cur.w, h = dir < 2 ? cur.h : cur.h + d;
    return place(cur.shape, x1, y1, w, h, tg.label, P);
  };
  // One side at a time, twice round, from `from`.
  const descend = (from: Placed): [Placed, number] => {
    let b = from, bc = cost(from, tg.count, pull);
    for (let round = 0; round < 2; round++) {
      let moved = false;
      for (let dir = 0; dir < 4; dir++) {
        if (!open[dir]) continue;
        const cur = b;
        for (let d = 1; ; d++) {
          const c = grow(cur, dir, d);
          // Moving out over background only adds contradictions: stop once it has added a dozen.
          if (c === null || c.bg > cur.bg + GROW_BG) break;
          const cc = cost(c, tg.count, pull);
          if (cc < bc - 1e-9) { b = c; bc = cc; moved = true; }
        }
      }
      if (!moved) break;
    }
    return [b, bc];
  };
  // Two adjacent sides at once (a corner under occluders), from `from`.
  const corner = (from: Placed): [Placed, number] => {
    let b = from, bc = cost(from, tg.count, pull);
    for (const [da, db] of [[0, 2], [0, 3], [1, 2], [1, 3]]) {
      if (!open[da] || !open[db]) continue;
      for (let d1 = 1; ; d1++) {
        const c1 = grow(from, da, d1);
        if (c1 === null || c1.bg > from.bg + GROW_BG) break;
        for (let d2 = 1; ; d2++) {
          const c = grow(c1, db, d2);
          if (c === null || c.bg > from.bg + GROW_BG) break;
          const cc = cost(c, tg.count, pull);
          if (cc < bc - 1e-9) { b = c; bc = cc; }
        }
      }
    }
    return [b, bc];
  };
  let [best, bestCost] = descend(t);
  // Where one side at a time leaves contradictions: a corner from there, and a corner from the
  // start followed by single sides (descent may have moved a side that a corner needs left alone).
  const left = contradictions(best, tg.count);
  if (left > mmax(3, 0.02 * best.area) && left < 0.3 * best.area) {
    for (const [c, cc] of [corner(best), descend(corner(t)[0])]) if (cc < bestCost - 1e-9) { best = c; bestCost = cc; }
  }
  return best;
}

interface Part {
  t: Placed;
  /** Cost of the part itself per pixel of its template (contradictions and covered pixels), for the score. */
  cost: number;
  /** Best such cost of another shape in its place, for the margin. */
  second: number;
  /** The pixels this part alone explains (for texture and depth); null: all of its region's. */
  mine: Uint8Array | null;
}

/** The one-object reading of a target: each shape at the target's box, completed under occluders. P.comp must hold the target. */
function fitOne(tg: Target, side: number, P: Prefix): { part: Part; cost: number; contra: number; covered: number } {
  const w = tg.x2 - tg.x1 + 1, h = tg.y2 - tg.y1 + 1;
  let fits = SHAPES.map((s) => place(s, tg.x1, tg.y1, w, h, tg.label, P, true));
  // A shape that fits the box with no contradiction, at an aspect the world draws, is the whole
  // object (the world generator's scenes are all like this); otherwise complete every shape.
  const exact = fits.some((t) => contradictions(t, tg.count) === 0) && w / h >= ASPECT_LO && w / h <= ASPECT_HI;
  if (!exact) {
    P.ensureColor(tg.label);
    fits = SHAPES.map((s) => complete(place(s, tg.x1, tg.y1, w, h, tg.label, P), tg, side, P));
  }
  const costs = fits.map((t) => cost(t, tg.count, false));
  let bi = 0;
  for (let i = 1; i < fits.length; i++) if (costs[i] < costs[bi]) bi = i;
  let second = INF;
  costs.forEach((c, i) => { if (i !== bi && c / fits[i].area < second) second = c / fits[i].area; });
  const t = fits[bi];
  return { part: { t, cost: costs[bi] / t.area, second, mine: tg.mask }, cost: costs[bi], contra: contradictions(t, tg.count), covered: t.other };
}

const inTemplate = (t: Placed, x: number, y: number): boolean => {
  const r = y - t.y1;
  if (r < 0 || r >= t.h) return false;
  const u = x - t.x1;
  return u >= t.spans[2 * r] && u < t.spans[2 * r + 1];
};

/** Weight of covered pixels when one reading of a region is weighed against several. */
const COVERED_TIE = 0.01;
/** An extra object must explain this many region pixels no other part explains. */
const MIN_EXCLUSIVE = 8;
/** Cost of one more object in a reading (in pixels of contradiction it must remove). */
const OBJECT_COST = 6;
const MIN_SIDE = 6, MAX_SIDE_FIT = 40;
/** Boxes looked at, at most, for first objects of one region (a bound on the time an image can take). */
const SEARCH_BUDGET = 250_000;
/** The work of several-object readings over all regions of one image, in boxes looked at; one first object tried counts FIRST_OBJECT_COST. */
const IMAGE_SEARCH_BUDGET = 600_000;
const FIRST_OBJECT_COST = 2_000;
/** First objects tried in a several-object reading. */
const FIRST_TRIED = 200;

/** 8-connected pieces of a mask inside a box, as targets (pieces under minCount are only counted). */
function pieces(mask: Uint8Array, x1: number, y1: number, x2: number, y2: number, side: number, label: number, minCount: number, seen: Uint8Array): { targets: Target[]; small: number } {
  for (let y = y1; y <= y2; y++) seen.fill(0, y * side + x1, y * side + x2 + 1);
  const targets: Target[] = [];
  let small = 0;
  const stack: number[] = [];
  for (let y = y1; y <= y2; y++) {
    for (let x = x1; x <= x2; x++) {
      const p = y * side + x;
      if (!mask[p] || seen[p]) continue;
      const m = new Uint8Array(side * side);
      const tg: Target = { label, count: 0, x1: side, y1: side, x2: -1, y2: -1, mask: m, occ: () => m };
      stack.push(p); seen[p] = 1;
      while (stack.length > 0) {
        const q = stack.pop() as number;
        const qx = q % side, qy = (q - qx) / side;
        m[q] = 1; tg.count++;
        if (qx < tg.x1) tg.x1 = qx;
        if (qx > tg.x2) tg.x2 = qx;
        if (qy < tg.y1) tg.y1 = qy;
        if (qy > tg.y2) tg.y2 = qy;
        for (let ny = mmax(y1, qy - 1); ny <= mmin(y2, qy + 1); ny++) {
          for (let nx = mmax(x1, qx - 1); nx <= mmin(x2, qx + 1); nx++) {
            const k = ny * side + nx;
            if (mask[k] && !seen[k]) { seen[k] = 1; stack.push(k); }
          }
        }
      }
      if (tg.count >= minCount) targets.push(tg);
      else small += tg.count;
    }
  }
  return { targets, small };
}

/**
 * Several objects of one colour that touch or overlap read as one region. A first object is a
 * template with no background inside whose sides rest on the region's outline (a region pixel with
 * no same-colour pixel beyond it; one side may instead lie inside the region); the pixels it leaves
 * fall into pieces, and each piece is read as one more object that may continue under the first
 * (amodal completion, as under another colour). The reading of least cost wins, each extra object
 * costing OBJECT_COST.
 */
function fitMany(reg: Region, regTarget: Target & { mask: Uint8Array }, side: number, b: Buffers, P: Prefix, budget: { left: number }): { parts: Part[]; cost: number; contra: number; covered: number } | null {
  const k = reg.label;
  P.ensureColor(k);
  const same = (x: number, y: number): boolean => x >= 0 && y >= 0 && x < side && y < side && b.label[y * side + x] === k;
  const own = (x: number, y: number): boolean => b.comp[y * side + x] === reg.id;
  const L = new Uint8Array(side), R = new Uint8Array(side), T = new Uint8Array(side), B = new Uint8Array(side);
  for (let y = reg.y1; y <= reg.y2; y++) {
    for (let x = reg.x1; x <= reg.x2; x++) {
      if (!own(x, y)) continue;
      if (!same(x - 1, y)) L[x] = 1;
      if (!same(x + 1, y)) R[x] = 1;
      if (!same(x, y - 1)) T[y] = 1;
      if (!same(x, y + 1)) B[y] = 1;
    }
  }
  const cands: Placed[] = [];
  // Values of a side: those on the outline, or (the free side) those that are not.
  const range = (lo: number, hi: number, set: Uint8Array, free: boolean): number[] => {
    const out: number[] = [];
    for (let v = mmax(0, lo); v <= mmin(side - 1, hi); v++) if ((set[v] === 1) !== free) out.push(v);
    return out;
  };
  let tried = 0;
  search: for (let free = -1; free < 4; free++) {
    const xs1 = range(reg.x1 - (free === 0 ? MAX_SIDE_FIT : 0), reg.x2, L, free === 0);
    for (const x1 of xs1) {
      const xs2 = range(mmax(x1 + MIN_SIDE - 1, reg.x1), mmin(x1 + MAX_SIDE_FIT - 1, free === 1 ? side - 1 : reg.x2), R, free === 1);
      for (const x2 of xs2) {
        const w = x2 - x1 + 1;
        const hLo = mmax(MIN_SIDE, mceil(w / 1.6)), hHi = mmin(MAX_SIDE_FIT, mfloor(w * 1.6));
        const ys1 = range(free === 2 ? reg.y1 - hHi : reg.y1, reg.y2, T, free === 2);
        for (const y1 of ys1) {
          const ys2 = range(mmax(y1 + hLo - 1, reg.y1), mmin(y1 + hHi - 1, free === 3 ? side - 1 : reg.y2), B, free === 3);
          for (const y2 of ys2) {
            if (++tried > SEARCH_BUDGET || --budget.left < 0) break search;
            const h = y2 - y1 + 1;
            for (const s of SHAPES) {
              if (bgOver(s, x1, y1, w, h, 0, P)) continue;
              const t = place(s, x1, y1, w, h, k, P);
              if (t.own < MIN_EXCLUSIVE || t.own === reg.count) continue;
              // The sides (but the free one) rest on the outline.
              let l = free === 0, r = free === 1, tp = free === 2, bt = free === 3;
              for (let rr = 0; rr < h && !(l && r); rr++) {
                const y = y1 + rr, s0 = x1 + t.spans[2 * rr], e0 = x1 + t.spans[2 * rr + 1] - 1;
                if (s0 === x1 && own(s0, y) && !same(s0 - 1, y)) l = true;
                if (e0 === x2 && own(e0, y) && !same(e0 + 1, y)) r = true;
              }
              for (let x = x1 + t.spans[0]; x < x1 + t.spans[1] && !tp; x++) if (own(x, y1) && !same(x, y1 - 1)) tp = true;
              const lr = 2 * (h - 1);
              for (let x = x1 + t.spans[lr]; x < x1 + t.spans[lr + 1] && !bt; x++) if (own(x, y2) && !same(x, y2 + 1)) bt = true;
              if (l && r && tp && bt) cands.push(t);
            }
          }
        }
      }
    }
  }
  if (cands.length === 0) return null;
  cands.sort((a, c) => c.own - a.own || a.other - c.other);
  let best: { parts: Part[]; cost: number; contra: number; covered: number } | null = null;
  const rest = new Uint8Array(side * side);
  const seen = new Uint8Array(side * side);
  for (let i = 0; i < mmin(cands.length, FIRST_TRIED); i++) {
    if ((budget.left -= FIRST_OBJECT_COST) < 0) break;
    const a = cands[i];
    for (let y = reg.y1; y <= reg.y2; y++) {
      for (let x = reg.x1; x <= reg.x2; x++) {
        const q = y * side + x;
        rest[q] = regTarget.mask[q] && !inTemplate(a, x, y) ? 1 : 0;
      }
    }
    const { targets, small } = pieces(rest, reg.x1, reg.y1, reg.x2, reg.y2, side, k, MIN_EXCLUSIVE, seen);
    if (targets.length === 0 || targets.length > 3) continue;
    let total = a.bg + COVERED_COST * a.other + small + OBJECT_COST * targets.length;
    let contra = a.bg + small, covered = a.other;
    if (best !== null && total >= best.cost) continue;
    // The rest may continue under the first object, or under the occluders of the region.
    const occ = new Uint8Array(regTarget.occ());
    for (let r = 0; r < a.h; r++) for (let x = a.x1 + a.spans[2 * r]; x < a.x1 + a.spans[2 * r + 1]; x++) occ[(a.y1 + r) * side + x] = 1;
    const parts: Part[] = [];
    for (const tg of targets) {
      tg.occ = () => occ;
      P.fillMask(tg.mask as Uint8Array, tg.y1, tg.y2);
      const f = fitOne(tg, side, P);
      total += f.cost;
      contra += f.contra; covered += f.covered;
      parts.push(f.part);
      if (best !== null && total >= best.cost) break;
    }
    if (best !== null && total >= best.cost) continue;
    // The first object's own pixels: the region's inside its template and no other part's.
    const mine = new Uint8Array(side * side);
    for (let r = 0; r < a.h; r++) {
      for (let x = a.x1 + a.spans[2 * r]; x < a.x1 + a.spans[2 * r + 1]; x++) {
        const y = a.y1 + r, q = y * side + x;
        if (regTarget.mask[q] && !parts.some((p) => inTemplate(p.t, x, y))) mine[q] = 1;
      }
    }
    let second = INF;
    for (const s of SHAPES) {
      if (s === a.shape) continue;
      const alt = place(s, a.x1, a.y1, a.w, a.h, k, P);
      let missed = 0;
      for (let y = a.y1; y < a.y1 + a.h; y++) for (let x = a.x1; x < a.x1 + a.w; x++) if (mine[y * side + x] && !inTemplate(alt, x, y)) missed++;
      second = mmin(second, (alt.bg + missed + COVERED_COST * alt.other) / alt.area);
    }
    best = { parts: [{ t: a, cost: (a.bg + COVERED_COST * a.other) / a.area, second, mine }, ...parts], cost: total, contra, covered };
  }
  P.fillMask(regTarget.mask, regTarget.y1, regTarget.y2);
  return best;
}

export function detect(rgb: Uint8Array, opts: DetectorOptions = {}): DetectionResult {
  const side = opts.size ?? 64;
  const minArea = opts.minArea ?? 12;
  if (!Number.isInteger(side) || side < 2 || side > 4096) throw new RangeError(`detect: size must be an integer in [2, 4096], got ${side}`);
  if (!(rgb instanceof Uint8Array) || rgb.length !== side * side * 3) {
    throw new RangeError(`detect: rgb must be a Uint8Array of ${side * side * 3} bytes (${side}x${side} RGB), got ${rgb instanceof Uint8Array ? rgb.length : typeof rgb}`);
  }
  if (!(minArea >= 1)) throw new RangeError(`detect: minArea must be >= 1, got ${minArea}`);
  if (buffers.n !== side * side) buffers = new Buffers(side * side);
  if (prefix.side !== side) prefix = new Prefix(side);
  const b = buffers, P = prefix;
  classify(rgb, b);
  P.fill(b);
  const all = regions(side, b);
  const kept = all.filter((r) => r.count >= minArea && r.x2 > r.x1 && r.y2 > r.y1);

  const detections: Detection[] = [];
  const placed: Placed[] = [];
  const owners: (Uint8Array | null)[] = [];
  const ownerBox: Region[] = [];
  const budget = { left: IMAGE_SEARCH_BUDGET };
  growLeft = GROW_BUDGET;
  // Per colour, the pixels of the other colours (what may hide an object of that colour).
  const occOf: (Uint8Array | undefined)[] = [];
  for (const reg of kept) {
    P.fillComp(reg, b);
    const occ = (): Uint8Array => {
      let o = occOf[reg.label];
      if (o === undefined) {
        o = new Uint8Array(side * side);
        for (let q = 0; q < side * side; q++) o[q] = b.label[q] !== 0 && b.label[q] !== reg.label ? 1 : 0;
        occOf[reg.label] = o;
      }
      return o;
    };
    const tg: Target = { label: reg.label, count: reg.count, x1: reg.x1, y1: reg.y1, x2: reg.x2, y2: reg.y2, mask: null, occ };
    const one = fitOne(tg, side, P);
    let parts: Part[] = [one.part];
    // Contradictions left by the best single shape: maybe several objects of this colour.
    if (one.contra > mmax(4, 0.04 * one.part.t.area)) {
      const mask = new Uint8Array(side * side);
      for (let y = reg.y1; y <= reg.y2; y++) for (let x = reg.x1; x <= reg.x2; x++) if (b.comp[y * side + x] === reg.id) mask[y * side + x] = 1;
      const many = fitMany(reg, { ...tg, mask }, side, b, P, budget);
      // One object or several: contradictions and the price of each extra object decide; covered
      // pixels only break ties (a large object behind two occluders is one object, not two).
      const judge = (contra: number, covered: number, n: number): number => contra + OBJECT_COST * (n - 1) + COVERED_TIE * covered;
      if (many !== null && judge(many.contra, many.covered, many.parts.length) < judge(one.contra, one.covered, 1)) parts = many.parts;
    }
    const purity = mmax(0, 1 - reg.distSum / reg.count / 64);
    const color = COLORS[reg.label - 1];
    for (const part of parts) {
      const t = part.t, mine = part.mine;
      const fit = mmax(0, 1 - part.cost);
      const margin = mmin(1, mmax(0, (part.second - part.cost) / 0.1));
      const box: Box = [t.x1 / side, t.y1 / side, (t.x1 + t.w) / side, (t.y1 + t.h) / side];
      detections.push({
        box, color, shape: t.shape, texture: textureOf(reg.x1, reg.y1, reg.x2, reg.y2, mine === null ? (q) => b.comp[q] === reg.id : (q) => mine[q] !== 0, side, b), size: sizeOf(box),
        category: `${color} ${t.shape}`, score: fit * (0.5 + 0.5 * margin) * purity, area: reg.count,
      });
      placed.push(t);
      owners.push(mine);
      ownerBox.push(reg);
    }
  }

  // Depth: detection i in front of detection j when i's pixels fill more of j's template than j's fill of i's.
  const n = detections.length;
  const owner = new Int32Array(side * side).fill(-1);
  for (let i = 0; i < n; i++) {
    const mine = owners[i], r = ownerBox[i];
    for (let y = r.y1; y <= r.y2; y++) {
      for (let q = y * side + r.x1; q <= y * side + r.x2; q++) if (mine === null ? b.comp[q] === r.id : mine[q]) owner[q] = i;
    }
  }
  const cover = new Int32Array(n * n);
  for (let j = 0; j < n; j++) {
    const t = placed[j];
    for (let r = 0; r < t.h; r++) {
      const y = t.y1 + r;
      for (let x = t.x1 + t.spans[2 * r]; x < t.x1 + t.spans[2 * r + 1]; x++) {
        const c = owner[y * side + x];
        if (c >= 0 && c !== j) cover[c * n + j]++;
      }
    }
  }
  const occlusions: [number, number][] = [];
  const front = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j && cover[i * n + j] > cover[j * n + i]) { occlusions.push([i, j]); front[i * n + j] = 1; }
    }
  }
  return {
    detections,
    occlusions,
    view: { boxes: detections.map((d) => d.box), inFront: (i, j) => front[i * n + j] === 1 },
  };
}
