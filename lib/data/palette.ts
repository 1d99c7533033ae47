// The world's colours. Textured objects use a dark shade of their colour for stripes or dots, so
// every pixel of an object is one of two shades of its colour.
import type { Color } from './vocab';

export type RGB = readonly [number, number, number];

export const BACKGROUND: RGB = [236, 236, 236];

export const COLOR_RGB: Readonly<Record<Color, RGB>> = {
  red: [220, 50, 47],
  green: [40, 170, 70],
  blue: [40, 90, 220],
  yellow: [235, 200, 30],
};

/** The shade of stripes and dots: half the brightness of the colour. */
export function darkShade(c: RGB): RGB {
  return [c[0] >> 1, c[1] >> 1, c[2] >> 1];
}

/** A colour to draw box outlines in, over any of the world's colours. */
export const OVERLAY_RGB: RGB = [0, 0, 0];
