// Writing expressions and captions for a scene. Expressions are as short as the scene allows:
// colour [texture] shape; then with the size word; then with one relation to an object that has a
// short unique description of its own, used only when the shorter forms fit more than one object.
import { formatDescription, formatExpression } from './grammar';
import type { Description, ParsedCaption, ParsedExpression } from './grammar';
import { sizeOf } from './geometry';
import { relationHolds } from './relations';
import type { SpatialView } from './relations';
import { matchesDescription } from './semantics';
import type { Attributed } from './semantics';
import type { Rng } from './rng';
import { RELATIONS } from './vocab';
import type { Relation } from './vocab';

function baseDescription(o: Attributed): Description {
  return { color: o.color, texture: o.texture, shape: o.shape };
}

export function fullDescription(o: Attributed): Description {
  return { size: sizeOf(o.box), color: o.color, texture: o.texture, shape: o.shape };
}

function fitting(d: Description, objects: readonly Attributed[]): number[] {
  const out: number[] = [];
  objects.forEach((o, i) => { if (matchesDescription(d, o)) out.push(i); });
  return out;
}

/** The shortest description without a relation that fits object i alone, or null. */
function uniqueDescription(i: number, objects: readonly Attributed[]): Description | null {
  const base = baseDescription(objects[i]);
  if (fitting(base, objects).length === 1) return base;
  const sized = fullDescription(objects[i]);
  if (fitting(sized, objects).length === 1) return sized;
  return null;
}

/**
 * One expression per object that refers to it alone, or null when some object cannot be singled
 * out with at most one relation. With an rng, the relation and anchor are drawn among those that
 * work; without, the first that works (anchors in order, relations in RELATIONS order) is taken.
 */
export function buildExpressions(objects: readonly Attributed[], view: SpatialView, rng?: Rng): ParsedExpression[] | null {
  const unique = objects.map((_, i) => uniqueDescription(i, objects));
  const out: ParsedExpression[] = [];
  for (let t = 0; t < objects.length; t++) {
    const own = unique[t];
    if (own !== null) { out.push({ target: own }); continue; }
    const target = fullDescription(objects[t]);
    const rivals = fitting(target, objects).filter((d) => d !== t);
    const options: { relation: Relation; anchor: number }[] = [];
    for (let a = 0; a < objects.length; a++) {
      if (a === t || unique[a] === null) continue;
      for (const relation of RELATIONS) {
        if (relationHolds(relation, view, t, a) && rivals.every((d) => d === a || !relationHolds(relation, view, d, a))) {
          options.push({ relation, anchor: a });
        }
      }
    }
    if (options.length === 0) return null;
    const pick = rng ? rng.pick(options) : options[0];
    out.push({ target, relation: { relation: pick.relation, anchor: unique[pick.anchor] as Description } });
  }
  return out;
}

export function expressionStrings(exprs: readonly ParsedExpression[]): string[] {
  return exprs.map(formatExpression);
}

/**
 * A caption that mentions every object once with all its attributes, pairing objects into clauses
 * joined by "and"; a pair is linked by a relation that holds when there is one. Returns the text
 * and, for each mention, the object it stands for. `sizeWord` is the chance that a mention carries
 * its size word (the world's captions: 1, always, and then no draw is taken from `rng` for it;
 * people often leave it out, so training also sees captions written with less).
 */
export function buildCaption(objects: readonly Attributed[], view: SpatialView, rng: Rng, sizeWord = 1): { caption: string; parsed: ParsedCaption; mentionOf: number[] } {
  const order = rng.shuffle(objects.map((_, i) => i));
  const clauses: string[] = [];
  const parsed: ParsedCaption = { mentions: [], relations: [] };
  const mentionOf: number[] = [];
  const mention = (i: number): string => {
    const d = sizeWord >= 1 || rng.chance(sizeWord) ? fullDescription(objects[i]) : baseDescription(objects[i]);
    parsed.mentions.push(d);
    mentionOf.push(i);
    return `a ${formatDescription(d)}`;
  };
  for (let k = 0; k < order.length; k += 2) {
    const i = order[k];
    if (k + 1 === order.length) { clauses.push(mention(i)); break; }
    const j = order[k + 1];
    const holding = RELATIONS.filter((r) => relationHolds(r, view, i, j));
    if (holding.length === 0) {
      clauses.push(mention(i), mention(j));
    } else {
      const relation = rng.pick(holding);
      const a = mention(i);
      const b = mention(j);
      parsed.relations.push({ subject: parsed.mentions.length - 2, relation, object: parsed.mentions.length - 1 });
      clauses.push(`${a} ${relation} ${b}`);
    }
  }
  return { caption: clauses.join(' and '), parsed, mentionOf };
}
