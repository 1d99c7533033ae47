import { TextTokenizer, editDistance, quantizeBox, dequantizeBox, COORD_BINS, Vocabulary, SPECIAL_TOKENS } from '../../lib/model';
import { WORDS } from './fixtures';

describe('TextTokenizer', () => {
  const tok = new TextTokenizer(WORDS);

  test('encodes words by vocabulary index, case- and space-insensitive, and decodes back', () => {
    expect(tok.encode('A  red\tCircle ')).toEqual([0, WORDS.indexOf('red'), WORDS.indexOf('circle')]);
    expect(tok.decode(tok.encode('a red circle left of a blue square'))).toBe('a red circle left of a blue square');
    expect(tok.encode('')).toEqual([]);
  });

  test('an unknown word is a RangeError naming the word and the nearest known words', () => {
    expect(() => tok.encode('a rde circle')).toThrow(RangeError);
    expect(() => tok.encode('a rde circle')).toThrow(/unknown word "rde" in "a rde circle"; nearest known words: red, /);
    expect(() => tok.encode('a sqare')).toThrow(/nearest known words: square/);
  });

  test('edit distance matches hand-computed cases', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('same', 'same')).toBe(0);
    expect(editDistance('rde', 'red')).toBe(1);
    expect(editDistance('ca', 'abc')).toBe(3);
  });

  test('rejects bad vocabularies and ids', () => {
    expect(() => new TextTokenizer([])).toThrow(TypeError);
    expect(() => new TextTokenizer(['a', 'a'])).toThrow(/duplicate word "a"/);
    expect(() => new TextTokenizer(['two words'])).toThrow(TypeError);
    expect(() => tok.decode([WORDS.length])).toThrow(RangeError);
  });
});

describe('layout tokens', () => {
  test('boxes on the 64-pixel grid round-trip exactly, for every bin pair', () => {
    for (let a = 0; a < COORD_BINS; a += 3) {
      for (let b = a; b < COORD_BINS; b += 5) {
        const box = [a / 64, a / 64, (b + 1) / 64, (b + 1) / 64];
        expect(quantizeBox(box)).toEqual([a, a, b, b]);
        expect(dequantizeBox(quantizeBox(box))).toEqual(box);
      }
    }
  });

  test('off-grid boxes: decoded box contains the original and errs by under one bin per edge', () => {
    let seed = 7;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (let i = 0; i < 500; i++) {
      const x1 = rnd() * 0.9, y1 = rnd() * 0.9;
      const box = [x1, y1, x1 + 0.001 + rnd() * (0.999 - x1), y1 + 0.001 + rnd() * (0.999 - y1)];
      const d = dequantizeBox(quantizeBox(box));
      expect(d[2]).toBeGreaterThan(d[0]);
      for (let k = 0; k < 4; k++) expect(Math.abs(d[k] - box[k])).toBeLessThan(1 / 64 + 1e-9);
      expect(d[0]).toBeLessThanOrEqual(box[0] + 1e-9);
      expect(d[2]).toBeGreaterThanOrEqual(box[2] - 1e-9);
    }
  });

  test('bad boxes and bins are rejected with the reason', () => {
    expect(() => quantizeBox([0.5, 0, 0.4, 1])).toThrow(/x2 > x1/);
    expect(() => quantizeBox([0, 0, 1.2, 1])).toThrow(RangeError);
    expect(() => quantizeBox([0, 0, 1])).toThrow(TypeError);
    expect(() => dequantizeBox([0, 0, 64, 1])).toThrow(RangeError);
    expect(dequantizeBox([10, 12, 4, 3])).toEqual([4 / 64, 3 / 64, 11 / 64, 13 / 64]);
  });
});

describe('Vocabulary', () => {
  const v = new Vocabulary(WORDS, 300);
  test('lays out specials, 64 bins, words, then image codes', () => {
    expect(v.coordStart).toBe(SPECIAL_TOKENS.length);
    expect(v.wordStart).toBe(SPECIAL_TOKENS.length + 64);
    expect(v.textSize).toBe(SPECIAL_TOKENS.length + 64 + WORDS.length);
    expect(v.size).toBe(v.textSize + 300);
    expect(v.name(v.special('<box>'))).toBe('<box>');
    expect(v.name(v.coord(17))).toBe('<bin_17>');
    expect(v.name(v.words('square')[0])).toBe('square');
    expect(v.name(v.image(299))).toBe('<code_299>');
    expect(() => v.image(300)).toThrow(RangeError);
    expect(() => v.coord(64)).toThrow(RangeError);
  });
});
