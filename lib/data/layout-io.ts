// The layout file: JSON Lines, one scene a line,
//   {"caption": "...", "objects": [{"expr": "...", "box": [x1, y1, x2, y2]}, ...]}
// Reading is strict: malformed JSON, a key the format does not have, a word outside VOCAB, an
// expression outside the grammar, or a box outside [0,1] or with x2 <= x1 (y2 <= y1) stops the
// read with "FILE:LINE: reason". Blank lines are skipped (they still count for LINE). Captions and
// expressions are normalised (vocab.ts: case, commas, a final period; an expression's leading
// article) and returned in that form. A caption needs only known words: one the caption grammar
// cannot read is still drawn, and compositional accuracy counts it as "unparsed".
import * as fs from 'node:fs';
import { checkUnitBox } from './geometry';
import { parseExpression } from './grammar';
import { normalizeExpression, normalizeText, tokenize } from './vocab';
import { writeFileAtomic } from './png';
import type { Layout, LayoutObject } from './scene';

export class LayoutError extends Error {
  constructor(readonly file: string, readonly line: number, readonly reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'LayoutError';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw new RangeError(`${what}unknown key "${k}" (allowed: ${keys.join(', ')})`);
  }
  for (const k of keys) {
    if (!(k in v)) throw new RangeError(`${what}missing key "${k}"`);
  }
}

function checkObject(v: unknown, i: number): LayoutObject {
  const what = `objects[${i}]`;
  if (!isPlainObject(v)) throw new TypeError(`${what} must be an object with "expr" and "box"`);
  onlyKeys(v, ['expr', 'box'], `${what}: `);
  if (typeof v.expr !== 'string') throw new TypeError(`${what}.expr must be a string`);
  const expr = normalizeExpression(v.expr);
  try {
    parseExpression(expr);
  } catch (e) {
    throw new RangeError(`${what}.expr: ${(e as Error).message}`);
  }
  return { expr, box: checkUnitBox(v.box, `${what}.box`) };
}

/** Checks a parsed JSON value against the layout format; throws a TypeError/RangeError whose message is the reason. */
export function validateLayout(v: unknown): Layout {
  if (!isPlainObject(v)) throw new TypeError('a layout line must be a JSON object with "caption" and "objects"');
  onlyKeys(v, ['caption', 'objects'], '');
  if (typeof v.caption !== 'string') throw new TypeError('"caption" must be a string');
  const caption = normalizeText(v.caption);
  try {
    tokenize(caption);
  } catch (e) {
    throw new RangeError(`caption: ${(e as Error).message}`);
  }
  if (caption === '') throw new RangeError('caption: the caption is empty');
  if (!Array.isArray(v.objects) || v.objects.length === 0) throw new TypeError('"objects" must be a non-empty array');
  return { caption, objects: v.objects.map(checkObject) };
}

/** One line of a layout file; throws an Error whose message is the reason (no file or line). */
export function parseLayoutLine(text: string): Layout {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`malformed JSON: ${(e as Error).message}`);
  }
  return validateLayout(value);
}

export interface LayoutEntry {
  /** 1-based line number in the file. */
  line: number;
  layout: Layout;
}

/** Every layout of a JSON Lines text with its line number, or a LayoutError for the first bad line. */
export function parseLayoutEntries(text: string, file = '<input>'): LayoutEntry[] {
  const lines = text.split('\n');
  const out: LayoutEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    try {
      out.push({ line: i + 1, layout: parseLayoutLine(line) });
    } catch (e) {
      throw new LayoutError(file, i + 1, (e as Error).message);
    }
  }
  return out;
}

export function parseLayouts(text: string, file = '<input>'): Layout[] {
  return parseLayoutEntries(text, file).map((e) => e.layout);
}

export function readLayoutEntries(file: string): LayoutEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LayoutError(file, 0, `cannot read the file: ${(e as Error).message}`);
  }
  return parseLayoutEntries(text, file);
}

export function readLayouts(file: string): Layout[] {
  return readLayoutEntries(file).map((e) => e.layout);
}

/** One line, keys in the format's order. */
export function formatLayout(layout: Layout): string {
  return JSON.stringify({
    caption: layout.caption,
    objects: layout.objects.map((o) => ({ expr: o.expr, box: [o.box[0], o.box[1], o.box[2], o.box[3]] })),
  });
}

/**
 * Validates every layout (a LayoutError names the line it would have had), then writes them all
 * at once through a temporary file and a rename: on error nothing is written.
 */
export function writeLayouts(file: string, layouts: readonly Layout[]): void {
  const lines = layouts.map((l, i) => {
    try {
      validateLayout(JSON.parse(formatLayout(l)));
    } catch (e) {
      throw new LayoutError(file, i + 1, (e as Error).message);
    }
    return formatLayout(l);
  });
  writeFileAtomic(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
}
