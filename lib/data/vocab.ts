// The world's words. Every caption and expression is made of these and nothing else, so the
// model's text tokenizer can be a fixed table: VOCAB[i] is word i.

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const COLORS = ['red', 'green', 'blue', 'yellow'] as const;
export const SIZES = ['small', 'large'] as const;
/** Texture words; an object without one is plain (there is no word "plain"). */
export const TEXTURES = ['striped', 'dotted'] as const;
export const RELATIONS = ['left of', 'right of', 'above', 'below', 'in front of', 'behind'] as const;

export type Shape = (typeof SHAPES)[number];
export type Color = (typeof COLORS)[number];
export type Size = (typeof SIZES)[number];
export type Texture = 'plain' | (typeof TEXTURES)[number];
export type Relation = (typeof RELATIONS)[number];

/** Words that are not attributes: articles, the conjunction and the pieces of relations. */
export const FUNCTION_WORDS = ['a', 'the', 'and', 'left', 'right', 'of', 'above', 'below', 'in', 'front', 'behind'] as const;

export const VOCAB: readonly string[] = Object.freeze([
  ...FUNCTION_WORDS, ...SIZES, ...COLORS, ...TEXTURES, ...SHAPES,
]);

const WORD_INDEX = new Map<string, number>(VOCAB.map((w, i) => [w, i]));

export function isWord(word: string): boolean {
  return WORD_INDEX.has(word);
}

/** Index of a word in VOCAB, or -1. */
export function wordIndex(word: string): number {
  return WORD_INDEX.get(word) ?? -1;
}

/**
 * Captions and expressions as people write them: lower case, commas, semicolons, colons and
 * sentence-ending marks (. ! ?) read as spaces, runs of white space as one space, trimmed.
 * "A red circle, a blue square." becomes "a red circle a blue square".
 */
export function normalizeText(text: string): string {
  if (typeof text !== 'string') throw new TypeError(`normalizeText: text must be a string, got ${typeof text}`);
  return text.toLowerCase().replace(/[,;:.!?]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** normalizeText, then without a leading article: "The red circle." becomes "red circle". */
export function normalizeExpression(text: string): string {
  return normalizeText(text).replace(/^(a|the) (?=\S)/, '');
}

/**
 * Splits a caption or expression into words (after normalizeText: case and punctuation do not
 * matter) and checks each against VOCAB. Throws a RangeError naming the first unknown word and its
 * position.
 */
export function tokenize(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${typeof text}`);
  const normal = normalizeText(text);
  if (normal.length === 0) return [];
  const words = normal.split(' ');
  for (let i = 0; i < words.length; i++) {
    if (!WORD_INDEX.has(words[i])) {
      throw new RangeError(`unknown word "${words[i]}" (word ${i + 1} of "${text.trim()}"); the vocabulary is: ${VOCAB.join(' ')}`);
    }
  }
  return words;
}

/** tokenize, then map to VOCAB indices. */
export function encodeWords(text: string): Int32Array {
  const words = tokenize(text);
  const ids = new Int32Array(words.length);
  for (let i = 0; i < words.length; i++) ids[i] = WORD_INDEX.get(words[i]) as number;
  return ids;
}

export function isShape(w: string): w is Shape { return (SHAPES as readonly string[]).includes(w); }
export function isColor(w: string): w is Color { return (COLORS as readonly string[]).includes(w); }
export function isSize(w: string): w is Size { return (SIZES as readonly string[]).includes(w); }
export function isTextureWord(w: string): w is Exclude<Texture, 'plain'> { return (TEXTURES as readonly string[]).includes(w); }
