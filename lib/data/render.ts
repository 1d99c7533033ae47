// The world's renderer: a scene (or layout line) to a 64x64 RGB image, row-major, 3 bytes a pixel.
// Each row of an object is one span copied from a ready-made row of its colour or texture.
import { CANVAS, toPixelBox } from './geometry';
import { BACKGROUND, COLOR_RGB, darkShade } from './palette';
import type { RGB } from './palette';
import { shapeSpans } from './raster';
import { sceneFromLayout } from './scene';
import type { Layout, Scene } from './scene';
import { COLORS } from './vocab';
import type { Color } from './vocab';

export const IMAGE_BYTES = CANVAS * CANVAS * 3;

function solidRow(c: RGB): Uint8Array {
  const row = new Uint8Array(CANVAS * 3);
  for (let x = 0; x < CANVAS; x++) row.set(c, 3 * x);
  return row;
}

/** Rows of 2x2 dots every 4 columns, phase 0 at column 0 (the box's left edge). */
function dottedRow(c: RGB): Uint8Array {
  const row = new Uint8Array(CANVAS * 3);
  const dark = darkShade(c);
  for (let x = 0; x < CANVAS; x++) row.set((x & 3) < 2 ? dark : c, 3 * x);
  return row;
}

const BACKGROUND_IMAGE = (() => {
  const img = new Uint8Array(IMAGE_BYTES);
  const row = solidRow(BACKGROUND);
  for (let y = 0; y < CANVAS; y++) img.set(row, y * CANVAS * 3);
  return img;
})();

interface Rows { solid: Uint8Array; dark: Uint8Array; dotted: Uint8Array }
const ROWS = Object.fromEntries(COLORS.map((c) => [c, {
  solid: solidRow(COLOR_RGB[c]), dark: solidRow(darkShade(COLOR_RGB[c])), dotted: dottedRow(COLOR_RGB[c]),
}])) as Record<Color, Rows>;

/** Renders into out (allocated when absent) and returns it. */
export function renderScene(scene: Scene, out?: Uint8Array): Uint8Array {
  if (out === undefined) out = new Uint8Array(IMAGE_BYTES);
  else if (!(out instanceof Uint8Array) || out.length !== IMAGE_BYTES) {
    throw new RangeError(`renderScene: out must be a Uint8Array of ${IMAGE_BYTES} bytes`);
  }
  out.set(BACKGROUND_IMAGE);
  for (const o of scene.objects) {
    const p = toPixelBox(o.box);
    const spans = shapeSpans(o.shape, p[2] - p[0], p[3] - p[1]);
    const rows = ROWS[o.color];
    for (let y = p[1]; y < p[3]; y++) {
      const r = y - p[1];
      let src = rows.solid;
      if (o.texture === 'striped' && (r & 2) !== 0) src = rows.dark;
      else if (o.texture === 'dotted' && (r & 3) < 2) src = rows.dotted;
      const s = spans[2 * r], e = spans[2 * r + 1];
      out.set(src.subarray(3 * s, 3 * e), 3 * (y * CANVAS + p[0] + s));
    }
  }
  return out;
}

/** Renders a layout line (see sceneFromLayout for how it is read). */
export function renderLayout(layout: Layout, out?: Uint8Array): Uint8Array {
  return renderScene(sceneFromLayout(layout), out);
}
