// The world's detector, with no learned weights: every pixel takes the nearest palette colour
// (background, four colours, their dark texture shades); same-colour pixels form 8-connected
// regions; each region's shape is the template (the world's own rasterisation at the region's
// bounding box) that its pixels contradict least, where a template pixel covered by another
// colour is an occlusion, not a contradiction. A score in [0,1] says how well the region fits.
import { BACKGROUND, COLOR_RGB, darkShade } from '../data/palette';
import type { RGB } from '../data/palette';
import { shapeSpans } from '../data/raster';
import type { Spans } from '../data/raster';
import type { SpatialView } from '../data/relations';
import { sizeOf } from '../data/geometry';
import type { Box } from '../data/geometry';
import { COLORS, SHAPES } from '../data/vocab';
import type { Color, Shape, Size, Texture } from '../data/vocab';

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
      let best = Infinity, bi = 0;
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

/** Contradictions of a template at the region's box (background inside it, region pixels outside it), plus a small cost per covered pixel, over its area. */
function templateCost(reg: Region, spans: Spans, side: number, b: Buffers): number {
  let contra = 0, covered = 0, area = 0;
  for (let y = reg.y1; y <= reg.y2; y++) {
    const r = 2 * (y - reg.y1);
    const s = reg.x1 + spans[r], e = reg.x1 + spans[r + 1];
    area += e - s;
    for (let x = reg.x1; x <= reg.x2; x++) {
      const q = y * side + x;
      const own = b.comp[q] === reg.id;
      if (x >= s && x < e) {
        if (!own) { if (b.label[q] === 0) contra++; else covered++; }
      } else if (own) {
        contra++;
      }
    }
  }
  return (contra + COVERED_COST * covered) / area;
}

/** Striped regions have whole rows dark or light; dotted regions have rows that mix both. */
function textureOf(reg: Region, side: number, b: Buffers): Texture {
  if (reg.darkCount < 0.1 * reg.count) return 'plain';
  let rows = 0, mixed = 0;
  for (let y = reg.y1; y <= reg.y2; y++) {
    let own = 0, dark = 0;
    for (let x = reg.x1; x <= reg.x2; x++) {
      const q = y * side + x;
      if (b.comp[q] === reg.id) { own++; dark += b.dark[q]; }
    }
    if (own < 3) continue;
    rows++;
    if (dark > 0 && dark < own) mixed++;
  }
  return rows > 0 && mixed > 0.25 * rows ? 'dotted' : 'striped';
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
  const b = buffers;
  classify(rgb, b);
  const all = regions(side, b);
  const kept = all.filter((r) => r.count >= minArea && r.x2 > r.x1 && r.y2 > r.y1);

  const detections: Detection[] = [];
  const bestSpans: Spans[] = [];
  for (const reg of kept) {
    const w = reg.x2 - reg.x1 + 1, h = reg.y2 - reg.y1 + 1;
    let best = Infinity, second = Infinity, shape: Shape = 'square', spans: Spans = shapeSpans('square', w, h);
    for (const s of SHAPES) {
      const sp = shapeSpans(s, w, h);
      const c = templateCost(reg, sp, side, b);
      if (c < best) { second = best; best = c; shape = s; spans = sp; } else if (c < second) second = c;
    }
    const fit = Math.max(0, 1 - best);
    const margin = Math.min(1, (second - best) / 0.1);
    const purity = Math.max(0, 1 - reg.distSum / reg.count / 64);
    const color = COLORS[reg.label - 1];
    const box: Box = [reg.x1 / side, reg.y1 / side, (reg.x2 + 1) / side, (reg.y2 + 1) / side];
    detections.push({
      box, color, shape, texture: textureOf(reg, side, b), size: sizeOf(box), category: `${color} ${shape}`,
      score: fit * (0.5 + 0.5 * margin) * purity, area: reg.count,
    });
    bestSpans.push(spans);
  }

  // Depth: region i in front of region j when i's pixels fill more of j's template than j's fill of i's.
  const n = kept.length;
  const index = new Int32Array(all.length).fill(-1);
  kept.forEach((r, i) => { index[r.id] = i; });
  const cover = new Int32Array(n * n);
  for (let j = 0; j < n; j++) {
    const reg = kept[j], sp = bestSpans[j];
    for (let y = reg.y1; y <= reg.y2; y++) {
      const r = 2 * (y - reg.y1);
      for (let x = reg.x1 + sp[r]; x < reg.x1 + sp[r + 1]; x++) {
        const c = b.comp[y * side + x];
        if (c >= 0 && c !== reg.id && index[c] >= 0) cover[index[c] * n + j]++;
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
