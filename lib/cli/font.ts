// A tiny built-in 5x7 bitmap font (upper case, digits, a little punctuation) for the labels of
// the demo's PNG grid; lower case is drawn as upper case, anything else as '?'.
const GLYPHS: Record<string, string> = {
  A: '01110 10001 10001 11111 10001 10001 10001', B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110', D: '11110 10001 10001 10001 10001 10001 11110',
  E: '11111 10000 10000 11110 10000 10000 11111', F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111', H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110', J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001', L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001', N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110', P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101', R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110', T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110', V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010', X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 10001 01010 00100 00100 00100', Z: '11111 00001 00010 00100 01000 10000 11111',
  0: '01110 10001 10011 10101 11001 10001 01110', 1: '00100 01100 00100 00100 00100 00100 01110',
  2: '01110 10001 00001 00010 00100 01000 11111', 3: '11111 00010 00100 00010 00001 10001 01110',
  4: '00010 00110 01010 10010 11111 00010 00010', 5: '11111 10000 11110 00001 00001 10001 01110',
  6: '00110 01000 10000 11110 10001 10001 01110', 7: '11111 00001 00010 00100 01000 01000 01000',
  8: '01110 10001 10001 01110 10001 10001 01110', 9: '01110 10001 10001 01111 00001 00010 01100',
  ' ': '00000 00000 00000 00000 00000 00000 00000', '.': '00000 00000 00000 00000 00000 01100 01100',
  ',': '00000 00000 00000 00000 01100 00100 01000', ':': '00000 01100 01100 00000 01100 01100 00000',
  '-': '00000 00000 00000 11111 00000 00000 00000', '+': '00000 00100 00100 11111 00100 00100 00000',
  '/': '00000 00001 00010 00100 01000 10000 00000', '(': '00010 00100 01000 01000 01000 00100 00010',
  ')': '01000 00100 00010 00010 00010 00100 01000', '=': '00000 00000 11111 00000 11111 00000 00000',
  '|': '00100 00100 00100 00100 00100 00100 00100', "'": '01100 00100 01000 00000 00000 00000 00000',
  '?': '01110 10001 00001 00010 00100 00000 00100',
};

export const GLYPH_W = 5;
export const GLYPH_H = 7;
/** Horizontal advance per character (one pixel of spacing). */
export const ADVANCE = GLYPH_W + 1;

/** The 7 rows of a character's glyph, each 5 bits (bit 4 = leftmost pixel). */
export function glyph(ch: string): number[] {
  const g = GLYPHS[ch.toUpperCase()] ?? GLYPHS['?'];
  return g.split(' ').map((r) => parseInt(r, 2));
}

/** Width in pixels of `text` at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** `text` cut to at most `width` pixels at `scale`, with "..." when cut. */
export function fitText(text: string, width: number, scale = 1): string {
  const max = Math.floor((width / scale + 1) / ADVANCE);
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}

/**
 * Draws `text` into an RGBA buffer of width `W` (pixels outside [0, W) x [0, H) are skipped) with
 * its top-left corner at (x, y).
 */
export function drawText(rgba: Uint8Array, W: number, H: number, x: number, y: number, text: string, color: readonly [number, number, number], scale = 1): void {
  for (let c = 0; c < text.length; c++) {
    const rows = glyph(text[c]);
    const ox = x + c * ADVANCE * scale;
    for (let r = 0; r < GLYPH_H; r++) for (let b = 0; b < GLYPH_W; b++) {
      if (!((rows[r] >> (GLYPH_W - 1 - b)) & 1)) continue;
      for (let sy = 0; sy < scale; sy++) for (let sx = 0; sx < scale; sx++) {
        const px = ox + b * scale + sx, py = y + r * scale + sy;
        if (px < 0 || py < 0 || px >= W || py >= H) continue;
        const d = (py * W + px) * 4;
        rgba[d] = color[0]; rgba[d + 1] = color[1]; rgba[d + 2] = color[2]; rgba[d + 3] = 255;
      }
    }
  }
}
