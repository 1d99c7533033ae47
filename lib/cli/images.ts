// Image plumbing for the CLI: model images (f32 [N,64,64,3] in [0,1]) to and from RGB bytes, and a
// PNG grid of tiles (pngjs) for the demo.
import * as fs from 'fs';
import { PNG } from 'pngjs';
import { Tensor, tensor } from '../tensor';
import { GLYPH_H, drawText, fitText, textWidth } from './font';

export function tensorToRgb(images: Tensor): Uint8Array[] {
  const [N, S] = images.shape;
  const a = images.toArray();
  const n = S * S * 3;
  return Array.from({ length: N }, (_, i) => {
    const out = new Uint8Array(n);
    for (let j = 0; j < n; j++) out[j] = Math.max(0, Math.min(255, Math.round(a[i * n + j] * 255)));
    return out;
  });
}

export function rgbToTensor(rgb: Uint8Array, size: number): Tensor {
  const f = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) f[i] = rgb[i] / 255;
  return tensor(f, [size, size, 3]);
}

/** Draws 1-pixel box outlines (xyxy in [0,1]) into a copy of an RGB image of side `size`. */
export function drawBoxes(rgb: Uint8Array, size: number, boxes: readonly (readonly number[])[], color: readonly [number, number, number]): Uint8Array {
  const out = Uint8Array.from(rgb);
  const set = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= size || y >= size) return;
    out.set(color, (y * size + x) * 3);
  };
  for (const b of boxes) {
    const x1 = Math.round(b[0] * size), y1 = Math.round(b[1] * size);
    const x2 = Math.round(b[2] * size) - 1, y2 = Math.round(b[3] * size) - 1;
    for (let x = x1; x <= x2; x++) { set(x, y1); set(x, y2); }
    for (let y = y1; y <= y2; y++) { set(x1, y); set(x2, y); }
  }
  return out;
}

export interface GridLabels {
  /** One label per column, drawn in a header row above the first row of tiles. */
  columns?: readonly string[];
  /** One line per row of tiles, drawn above it (e.g. the layout's caption). */
  rows?: readonly string[];
}

const TEXT_COLOR: [number, number, number] = [0, 0, 0];
/** Height of a text band: a 7-pixel glyph with 3 pixels above and below. */
const BAND = GLYPH_H + 6;

/**
 * Writes rows x cols tiles (each size x size RGB), upscaled by `scale`, with a 2-pixel gap, under
 * an optional header row naming the columns and with an optional line of text above each row.
 */
export function writeGrid(file: string, tiles: (Uint8Array | null)[][], size: number, scale = 3, labels: GridLabels = {}): void {
  const rows = tiles.length, cols = Math.max(...tiles.map((r) => r.length));
  const gap = 2, cell = size * scale;
  const header = labels.columns ? BAND : 0, line = labels.rows ? BAND : 0;
  const W = cols * cell + (cols + 1) * gap, H = header + rows * (line + cell) + (rows + 1) * gap;
  const png = new PNG({ width: W, height: H });
  png.data.fill(255);
  const rgba = png.data as unknown as Uint8Array;
  labels.columns?.forEach((text, c) => {
    const x = gap + c * (cell + gap);
    drawText(rgba, W, H, x + Math.max(0, Math.floor((cell - textWidth(fitText(text, cell))) / 2)), 3, fitText(text, cell), TEXT_COLOR);
  });
  tiles.forEach((row, r) => {
    const top = header + gap + r * (line + cell + gap);
    const text = labels.rows?.[r];
    if (text !== undefined) drawText(rgba, W, H, gap, top + 3, fitText(text, W - 2 * gap), TEXT_COLOR);
    row.forEach((tile, c) => {
      if (!tile) return;
      const ox = gap + c * (cell + gap), oy = top + line;
      for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) {
        const s = ((Math.floor(y / scale) * size) + Math.floor(x / scale)) * 3;
        const d = ((oy + y) * W + ox + x) * 4;
        png.data[d] = tile[s]; png.data[d + 1] = tile[s + 1]; png.data[d + 2] = tile[s + 2]; png.data[d + 3] = 255;
      }
    });
  });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, PNG.sync.write(png));
  fs.renameSync(tmp, file);
}
