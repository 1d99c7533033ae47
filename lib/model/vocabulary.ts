// The unified vocabulary: one id space for special, task, layout, coordinate and word tokens (the
// "text" part, predicted by the text/box head) followed by the image codes (predicted by the image
// head). Text id t is text-head class t; image id textSize + c is image-head class c.
import { TextTokenizer } from './text_tokenizer';
import { COORD_BINS } from './layout_tokens';

export const SPECIAL_TOKENS = [
  '<pad>', '<l2i>', '<i2l>', '<grounding>', '</grounding>', '<img>', '</img>',
  '<ref>', '</ref>', '<box>', '</box>',
] as const;
export type SpecialToken = typeof SPECIAL_TOKENS[number];

export class Vocabulary {
  readonly text: TextTokenizer;
  readonly codebookSize: number;
  /** First coordinate-bin id; bins are contiguous. */
  readonly coordStart: number;
  /** First word id; words are contiguous. */
  readonly wordStart: number;
  /** Number of text-head classes (specials + bins + words); image ids start here. */
  readonly textSize: number;

  constructor(words: readonly string[], codebookSize: number) {
    this.text = new TextTokenizer(words);
    if (!Number.isInteger(codebookSize) || codebookSize < 2) throw new RangeError(`Vocabulary: codebookSize must be an integer >= 2, got ${codebookSize}`);
    for (const w of words) if (/^<.*>$/.test(w)) throw new RangeError(`Vocabulary: word ${JSON.stringify(w)} looks like a special token`);
    this.codebookSize = codebookSize;
    this.coordStart = SPECIAL_TOKENS.length;
    this.wordStart = this.coordStart + COORD_BINS;
    this.textSize = this.wordStart + this.text.size;
  }

  get size(): number { return this.textSize + this.codebookSize; }

  special(token: SpecialToken): number {
    const i = SPECIAL_TOKENS.indexOf(token);
    if (i < 0) throw new RangeError(`Vocabulary.special: unknown token ${JSON.stringify(token)}`);
    return i;
  }

  coord(bin: number): number {
    if (!Number.isInteger(bin) || bin < 0 || bin >= COORD_BINS) throw new RangeError(`Vocabulary.coord: bin must be an integer in [0, ${COORD_BINS}), got ${bin}`);
    return this.coordStart + bin;
  }

  isCoord(id: number): boolean { return id >= this.coordStart && id < this.wordStart; }

  words(text: string): number[] { return this.text.encode(text).map((i) => this.wordStart + i); }

  image(code: number): number {
    if (!Number.isInteger(code) || code < 0 || code >= this.codebookSize) throw new RangeError(`Vocabulary.image: code must be an integer in [0, ${this.codebookSize}), got ${code}`);
    return this.textSize + code;
  }

  /** A readable name for any id (for debugging and docs). */
  name(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new RangeError(`Vocabulary.name: id ${id} is outside [0, ${this.size})`);
    if (id < this.coordStart) return SPECIAL_TOKENS[id];
    if (id < this.wordStart) return `<bin_${id - this.coordStart}>`;
    if (id < this.textSize) return this.text.words[id - this.wordStart];
    return `<code_${id - this.textSize}>`;
  }
}
