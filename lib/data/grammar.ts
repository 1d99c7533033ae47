// The grammar of expressions and captions, over VOCAB:
//   desc       := [size] [color] [texture] shape
//   relation   := left of | right of | above | below | in front of | behind
//   expression := [a|the] desc [relation [a|the] desc]
//   caption    := clause ([and] clause)*    clause := (a|the) desc [relation (a|the) desc]
// Text is normalised first (vocab.ts normalizeText: case, commas, a final period), so
// "A red circle, a blue square and a green triangle." is a caption of three clauses.
// A description without a texture word means a plain object; without a size or colour word it
// leaves that attribute open.
import { tokenize, isColor, isShape, isSize, isTextureWord, SHAPES } from './vocab';
import type { Color, Relation, Shape, Size, Texture } from './vocab';

export interface Description {
  size?: Size;
  color?: Color;
  texture: Texture;
  shape: Shape;
}

export interface ParsedExpression {
  target: Description;
  relation?: { relation: Relation; anchor: Description };
}

export interface CaptionRelation {
  subject: number;
  relation: Relation;
  object: number;
}

export interface ParsedCaption {
  mentions: Description[];
  relations: CaptionRelation[];
}

class Words {
  i = 0;
  constructor(readonly words: string[], readonly text: string) {}
  peek(k = 0): string | undefined { return this.words[this.i + k]; }
  done(): boolean { return this.i >= this.words.length; }
  fail(expected: string): never {
    const got = this.done() ? 'the end' : `"${this.words[this.i]}" (word ${this.i + 1})`;
    throw new RangeError(`expected ${expected} but found ${got} in "${this.text}"`);
  }
}

function parseDescription(w: Words): Description {
  const d: Description = { texture: 'plain', shape: 'circle' };
  let word = w.peek();
  if (word !== undefined && isSize(word)) { d.size = word; w.i++; word = w.peek(); }
  if (word !== undefined && isColor(word)) { d.color = word; w.i++; word = w.peek(); }
  if (word !== undefined && isTextureWord(word)) { d.texture = word; w.i++; word = w.peek(); }
  if (word === undefined || !isShape(word)) w.fail(`a shape word (${SHAPES.join(', ')})`);
  d.shape = word;
  w.i++;
  return d;
}

function parseRelation(w: Words): Relation | undefined {
  const a = w.peek(), b = w.peek(1), c = w.peek(2);
  if (a === 'above' || a === 'below' || a === 'behind') { w.i += 1; return a; }
  if ((a === 'left' || a === 'right') && b === 'of') { w.i += 2; return a === 'left' ? 'left of' : 'right of'; }
  if (a === 'in' && b === 'front' && c === 'of') { w.i += 3; return 'in front of'; }
  if (a === 'left' || a === 'right' || a === 'in') w.fail(a === 'in' ? '"in front of"' : `"${a} of"`);
  return undefined;
}

function skipArticle(w: Words, required: boolean): void {
  const a = w.peek();
  if (a === 'a' || a === 'the') w.i++;
  else if (required) w.fail('"a" or "the"');
}

export function parseExpression(text: string): ParsedExpression {
  const w: Words = new Words(tokenize(text), text);
  if (w.done()) throw new RangeError('the expression is empty');
  skipArticle(w, false);
  const target = parseDescription(w);
  const out: ParsedExpression = { target };
  if (!w.done()) {
    const relation = parseRelation(w);
    if (relation === undefined) w.fail('a relation (left of, right of, above, below, in front of, behind) or the end');
    skipArticle(w, false);
    out.relation = { relation, anchor: parseDescription(w) };
    if (!w.done()) w.fail('the end of the expression');
  }
  return out;
}

export function parseCaption(text: string): ParsedCaption {
  const w: Words = new Words(tokenize(text), text);
  if (w.done()) throw new RangeError('the caption is empty');
  const out: ParsedCaption = { mentions: [], relations: [] };
  for (;;) {
    skipArticle(w, true);
    out.mentions.push(parseDescription(w));
    const relation = parseRelation(w);
    if (relation !== undefined) {
      skipArticle(w, true);
      out.mentions.push(parseDescription(w));
      const n = out.mentions.length;
      out.relations.push({ subject: n - 2, relation, object: n - 1 });
    }
    if (w.done()) return out;
    // A list: "a red circle, a blue square and ..." (the comma is gone after normalisation).
    if (w.peek() === 'a' || w.peek() === 'the') continue;
    if (w.peek() !== 'and') w.fail(relation === undefined ? '"and", a relation or the end' : '"and" or the end');
    w.i++;
  }
}

export function formatDescription(d: Description): string {
  const words: string[] = [];
  if (d.size !== undefined) words.push(d.size);
  if (d.color !== undefined) words.push(d.color);
  if (d.texture !== 'plain') words.push(d.texture);
  words.push(d.shape);
  return words.join(' ');
}

export function formatExpression(e: ParsedExpression): string {
  const head = formatDescription(e.target);
  return e.relation === undefined ? head : `${head} ${e.relation.relation} the ${formatDescription(e.relation.anchor)}`;
}
