// PNG in and out (pngjs). Files are written to a temporary name and renamed, so a reader never
// sees half a picture. The overlay (box outlines, optional upscaling) is for people, not for
// evaluation.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { CANVAS } from './geometry';
import type { Box } from './geometry';
import { OVERLAY_RGB } from './palette';

export interface PngOptions {
  /** Image side in pixels (default 64); rgb must hold side*side*3 bytes. */
  size?: number;
  /** Whole-number upscaling by pixel repetition (default 1). */
  scale?: number;
  /** Box outlines to draw, in [0,1] image coordinates. */
  boxes?: readonly Box[];
}

export function encodePng(rgb: Uint8Array, opts: PngOptions = {}): Buffer {
  const size = opts.size ?? CANVAS;
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`encodePng: size must be a positive integer, got ${size}`);
  if (!Number.isInteger(scale) || scale < 1 || scale > 32) throw new RangeError(`encodePng: scale must be an integer in [1,32], got ${scale}`);
  if (!(rgb instanceof Uint8Array) || rgb.length !== size * size * 3) {
    throw new RangeError(`encodePng: rgb must be a Uint8Array of ${size * size * 3} bytes (${size}x${size} RGB)`);
  }
  const side = size * scale;
  const png = new PNG({ width: side, height: side });
  const data = png.data;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const s = 3 * (Math.floor(y / scale) * size + Math.floor(x / scale));
      const d = 4 * (y * side + x);
      data[d] = rgb[s]; data[d + 1] = rgb[s + 1]; data[d + 2] = rgb[s + 2]; data[d + 3] = 255;
    }
  }
  for (const b of opts.boxes ?? []) outline(data, side, b);
  return PNG.sync.write(png);
}

function outline(data: Buffer, side: number, b: Box): void {
  const clamp = (v: number): number => Math.min(side - 1, Math.max(0, v));
  const x1 = clamp(Math.round(b[0] * side)), y1 = clamp(Math.round(b[1] * side));
  const x2 = clamp(Math.round(b[2] * side) - 1), y2 = clamp(Math.round(b[3] * side) - 1);
  const put = (x: number, y: number): void => {
    const d = 4 * (y * side + x);
    data[d] = OVERLAY_RGB[0]; data[d + 1] = OVERLAY_RGB[1]; data[d + 2] = OVERLAY_RGB[2];
  };
  for (let x = x1; x <= x2; x++) { put(x, y1); put(x, y2); }
  for (let y = y1; y <= y2; y++) { put(x1, y); put(x2, y); }
}

/** Writes bytes to file through a temporary file in the same folder and a rename. */
export function writeFileAtomic(file: string, bytes: Buffer | string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function writePng(file: string, rgb: Uint8Array, opts: PngOptions = {}): void {
  writeFileAtomic(file, encodePng(rgb, opts));
}

/** Reads a PNG as RGB bytes (alpha dropped, composited on nothing). */
export function readPng(file: string): { width: number; height: number; rgb: Uint8Array } {
  const png = PNG.sync.read(fs.readFileSync(file));
  const n = png.width * png.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = png.data[4 * i]; rgb[3 * i + 1] = png.data[4 * i + 1]; rgb[3 * i + 2] = png.data[4 * i + 2];
  }
  return { width: png.width, height: png.height, rgb };
}
