// Contrastive pairs (EvoGen's ConPair): a caption, the layout of a positive image that makes it
// true, and the layout of a negative image that differs in exactly one attribute of one object or
// in exactly one relation of the caption, so that the caption is false of it. Three curriculum
// stages: 1 single object; 2 two objects with a relation; 3 three or four objects, with more
// attributes (textures) per object.
import { describeScene, drawObjects, drawSides, worldOptions } from './generator';
import type { WorldOptions, WorldScene } from './generator';
import { CANVAS, fromPixelBox, sizeOf, toPixelBox } from './geometry';
import { drawnView, relationHolds } from './relations';
import { Rng } from './rng';
import type { Layout, SceneObject } from './scene';
import { captionHolds } from './semantics';
import { isReadable } from './visibility';
import { COLORS, SHAPES } from './vocab';
import type { Relation, Texture } from './vocab';

export type CurriculumStage = 1 | 2 | 3;
export type ChangedAttribute = 'color' | 'shape' | 'texture' | 'size';

export type PairChange =
  | { kind: 'attribute'; object: number; attribute: ChangedAttribute; from: string; to: string }
  | { kind: 'relation'; subject: number; object: number; from: Relation; to: Relation };

export interface ContrastivePair {
  stage: CurriculumStage;
  /** The positive's caption, true of the positive and false of the negative. */
  caption: string;
  positive: Layout;
  /** Its own caption describes the negative scene. */
  negative: Layout;
  /** Objects are numbered by their index in positive.objects. */
  change: PairChange;
  /** correspondence[i]: the index in negative.objects of positive object i. */
  correspondence: number[];
}

const TEXTURE_CHOICES: readonly Texture[] = ['plain', 'striped', 'dotted'];
const FLIP: Record<Relation, Relation> = {
  'left of': 'right of', 'right of': 'left of', above: 'below', below: 'above', 'in front of': 'behind', behind: 'in front of',
};

function other<T>(rng: Rng, choices: readonly T[], current: T): T {
  return rng.pick(choices.filter((c) => c !== current));
}

/** The object with one attribute changed (size: redrawn in the other class about the same centre). */
function changeAttribute(rng: Rng, o: SceneObject, attribute: ChangedAttribute): { changed: SceneObject; from: string; to: string } {
  switch (attribute) {
    case 'color': { const to = other(rng, COLORS, o.color); return { changed: { ...o, color: to }, from: o.color, to }; }
    case 'shape': { const to = other(rng, SHAPES, o.shape); return { changed: { ...o, shape: to }, from: o.shape, to }; }
    case 'texture': { const to = other(rng, TEXTURE_CHOICES, o.texture); return { changed: { ...o, texture: to }, from: o.texture, to }; }
    case 'size': {
      const from = sizeOf(o.box);
      const [w, h] = drawSides(rng, from === 'small');
      const p = toPixelBox(o.box);
      const x = Math.min(CANVAS - w, Math.max(0, Math.round((p[0] + p[2] - w) / 2)));
      const y = Math.min(CANVAS - h, Math.max(0, Math.round((p[1] + p[3] - h) / 2)));
      const changed = { ...o, box: fromPixelBox([x, y, x + w, y + h]) };
      return { changed, from, to: sizeOf(changed.box) };
    }
  }
}

/** Moves each of two objects to the other's centre, each keeping its own size. */
function swapCentres(a: SceneObject, b: SceneObject): [SceneObject, SceneObject] {
  const move = (o: SceneObject, to: SceneObject): SceneObject => {
    const p = toPixelBox(o.box), q = toPixelBox(to.box);
    const w = p[2] - p[0], h = p[3] - p[1];
    const x = Math.min(CANVAS - w, Math.max(0, Math.round((q[0] + q[2] - w) / 2)));
    const y = Math.min(CANVAS - h, Math.max(0, Math.round((q[1] + q[3] - h) / 2)));
    return { ...o, box: fromPixelBox([x, y, x + w, y + h]) };
  };
  return [move(a, b), move(b, a)];
}

function stageObjects(stage: CurriculumStage, rng: Rng): number {
  return stage === 1 ? 1 : stage === 2 ? 2 : rng.int(3, 4);
}

function tryPair(stage: CurriculumStage, rng: Rng, opts: Required<WorldOptions>): ContrastivePair | null {
  const objects = drawObjects(rng, opts, stageObjects(stage, rng));
  if (objects === null) return null;
  const pos: WorldScene | null = describeScene(objects, rng);
  if (pos === null || (stage > 1 && pos.caption.relations.length === 0)) return null;
  const rels = pos.caption.relations;
  let negObjects: SceneObject[];
  let correspondence = objects.map((_, i) => i);
  let change: PairChange;
  if (stage > 1 && rng.chance(0.5)) {
    const r = rng.pick(rels);
    const s = pos.mentionOf[r.subject], t = pos.mentionOf[r.object];
    negObjects = objects.slice();
    if (r.relation === 'in front of' || r.relation === 'behind') {
      // Swap the two objects' places in the draw order: the same pixels overlap, the other is on top.
      negObjects[s] = objects[t];
      negObjects[t] = objects[s];
      correspondence[s] = t;
      correspondence[t] = s;
    } else {
      [negObjects[s], negObjects[t]] = swapCentres(objects[s], objects[t]);
    }
    change = { kind: 'relation', subject: s, object: t, from: r.relation, to: FLIP[r.relation] };
  } else {
    const i = rng.int(0, objects.length - 1);
    const attribute = rng.pick<ChangedAttribute>(['color', 'shape', 'texture', 'size']);
    const { changed, from, to } = changeAttribute(rng, objects[i], attribute);
    if (from === to) return null;
    negObjects = objects.slice();
    negObjects[i] = changed;
    change = { kind: 'attribute', object: i, attribute, from, to };
  }
  if (!isReadable(negObjects, opts.minVisible)) return null;
  // Every caption relation keeps its truth value except the one changed, which becomes its flip.
  const negView = drawnView(negObjects);
  const at = (i: number): number => correspondence[i];
  for (const r of rels) {
    const s = pos.mentionOf[r.subject], t = pos.mentionOf[r.object];
    const changedHere = change.kind === 'relation' && change.subject === s && change.object === t;
    const holds = relationHolds(r.relation, negView, at(s), at(t));
    if (changedHere ? holds || !relationHolds(FLIP[r.relation], negView, at(s), at(t)) : !holds) return null;
  }
  if (captionHolds(pos.caption, negObjects, negView)) return null;
  const neg = describeScene(negObjects, rng);
  if (neg === null) return null;
  return { stage, caption: pos.layout.caption, positive: pos.layout, negative: neg.layout, change, correspondence };
}

/** One pair of the stage. Stage 3 raises the texture probability to at least 0.5. */
export function contrastivePair(stage: CurriculumStage, rng: Rng, opts: WorldOptions = {}): ContrastivePair {
  if (stage !== 1 && stage !== 2 && stage !== 3) throw new RangeError(`contrastivePair: stage must be 1, 2 or 3, got ${stage}`);
  const o = worldOptions(opts);
  if (stage === 3) o.textureProb = Math.max(o.textureProb, 0.5);
  for (;;) {
    const pair = tryPair(stage, rng, o);
    if (pair !== null) return pair;
  }
}

/** n pairs of a stage, deterministic for a seed. */
export function contrastivePairs(stage: CurriculumStage, n: number, seed: number, opts: WorldOptions = {}): ContrastivePair[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`contrastivePairs: n must be a non-negative integer, got ${n}`);
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => contrastivePair(stage, rng, opts));
}
