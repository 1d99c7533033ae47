import * as data from '../../lib/data';

const { VOCAB, tokenize, encodeWords, parseExpression, parseCaption, formatExpression } = data;

describe('vocabulary', () => {
  test('VOCAB has every attribute and relation word once', () => {
    expect(new Set(VOCAB).size).toBe(VOCAB.length);
    for (const w of [...data.SHAPES, ...data.COLORS, ...data.SIZES, ...data.TEXTURES]) expect(VOCAB).toContain(w);
    for (const r of data.RELATIONS) for (const w of r.split(' ')) expect(VOCAB).toContain(w);
    expect(VOCAB).toEqual(expect.arrayContaining(['a', 'the', 'and']));
  });

  test('tokenize splits on whitespace and names an unknown word', () => {
    expect(tokenize('  a small  red circle ')).toEqual(['a', 'small', 'red', 'circle']);
    expect(tokenize('')).toEqual([]);
    expect(() => tokenize('a purple circle')).toThrow(/unknown word "purple" \(word 2/);
    // Case and punctuation are normalised before the vocabulary check.
    expect(tokenize('A Red circle, a blue square.')).toEqual(['a', 'red', 'circle', 'a', 'blue', 'square']);
    expect(tokenize('red circle.')).toEqual(['red', 'circle']);
    expect(() => tokenize('a red circle, a mauve square.')).toThrow(/unknown word "mauve" \(word 5/);
    expect(Array.from(encodeWords('red circle'))).toEqual([VOCAB.indexOf('red'), VOCAB.indexOf('circle')]);
  });

  test('every word of 300 generated layouts is in VOCAB', () => {
    for (const s of data.generateScenes(300, 'train', 4)) {
      tokenize(s.layout.caption);
      for (const o of s.layout.objects) tokenize(o.expr);
    }
  });
});

describe('grammar', () => {
  test('expressions parse into attributes and relation', () => {
    expect(parseExpression('small red striped circle left of the blue square')).toEqual({
      target: { size: 'small', color: 'red', texture: 'striped', shape: 'circle' },
      relation: { relation: 'left of', anchor: { color: 'blue', texture: 'plain', shape: 'square' } },
    });
    expect(parseExpression('triangle in front of a green triangle').relation?.relation).toBe('in front of');
    expect(formatExpression(parseExpression('large yellow dotted triangle behind the red circle')))
      .toBe('large yellow dotted triangle behind the red circle');
  });

  test('bad expressions say what was expected', () => {
    expect(() => parseExpression('red')).toThrow(/expected a shape word .* found the end/);
    expect(() => parseExpression('circle red')).toThrow(/relation/);
    expect(() => parseExpression('red circle left the square')).toThrow(/"left of"/);
    expect(() => parseExpression('red circle above blue square and')).toThrow(/end of the expression/);
    expect(() => parseExpression('striped red circle')).toThrow(/shape word/);
    expect(() => parseExpression('')).toThrow(/empty/);
  });

  test('captions parse into mentions and relations', () => {
    const c = parseCaption('a small red circle left of a large blue square and a green triangle and a yellow square above a red square');
    expect(c.mentions.map((m) => m.shape)).toEqual(['circle', 'square', 'triangle', 'square', 'square']);
    expect(c.relations).toEqual([{ subject: 0, relation: 'left of', object: 1 }, { subject: 3, relation: 'above', object: 4 }]);
    expect(() => parseCaption('red circle')).toThrow(/"a" or "the"/);
    // A list of clauses (commas read as spaces) is a caption.
    expect(parseCaption('a red circle, a blue square and a green triangle.').mentions.map((m) => m.shape)).toEqual(['circle', 'square', 'triangle']);
    expect(() => parseCaption('a red circle blue square')).toThrow(/"and"/);
  });
});
