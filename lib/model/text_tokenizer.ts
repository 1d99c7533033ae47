// Word-level tokenizer over a closed vocabulary (the scene world's words). Text is lower-cased and
// split on whitespace; a word outside the vocabulary is an error that lists the nearest known words,
// because a silent <unk> would let a typo in a layout file train or evaluate on the wrong scene.

export class TextTokenizer {
  readonly words: readonly string[];
  private readonly index = new Map<string, number>();

  constructor(words: readonly string[]) {
    if (!Array.isArray(words) || words.length === 0) throw new TypeError('TextTokenizer: words must be a non-empty array of strings');
    for (const [i, w] of words.entries()) {
      if (typeof w !== 'string' || !/^\S+$/.test(w) || w !== w.toLowerCase()) throw new TypeError(`TextTokenizer: words[${i}] = ${JSON.stringify(w)} must be one lower-case word without spaces`);
      if (this.index.has(w)) throw new RangeError(`TextTokenizer: duplicate word ${JSON.stringify(w)}`);
      this.index.set(w, i);
    }
    this.words = [...words];
  }

  get size(): number { return this.words.length; }

  has(word: string): boolean { return this.index.has(word); }

  /** Word indices (0-based within this vocabulary) of `text`. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`TextTokenizer.encode: text must be a string, got ${typeof text}`);
    return split(text).map((w) => {
      const i = this.index.get(w);
      if (i === undefined) {
        throw new RangeError(`TextTokenizer.encode: unknown word ${JSON.stringify(w)} in ${JSON.stringify(text)}; nearest known words: ${this.nearest(w, 3).join(', ')}`);
      }
      return i;
    });
  }

  decode(ids: readonly number[]): string {
    return ids.map((i) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.words.length) throw new RangeError(`TextTokenizer.decode: id ${i} is outside [0, ${this.words.length})`);
      return this.words[i];
    }).join(' ');
  }

  /** The `n` known words closest to `word` by edit distance (ties by vocabulary order). */
  nearest(word: string, n: number): string[] {
    return this.words
      .map((w, i) => ({ w, i, d: editDistance(word, w) }))
      .sort((a, b) => a.d - b.d || a.i - b.i)
      .slice(0, n)
      .map((e) => e.w);
  }
}

export function split(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
}

/** Edit distance with adjacent transpositions (optimal string alignment): typos like "rde" are 1 from "red". */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    const prev = rows[i - 1];
    for (let j = 1; j <= b.length; j++) {
      let d = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] && rows[i - 2][j - 2] + 1 < d) d = rows[i - 2][j - 2] + 1;
      cur[j] = d;
    }
    rows.push(cur);
  }
  return rows[a.length][b.length];
}
