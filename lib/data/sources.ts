// Layout sources for Cycle RL (docs/design.md section 4): where the layouts to draw come from.
//   real     scenes of the world generator (readable, occlusion within bounds);
//   random   random boxes and attributes, nothing checked but that expressions are unique;
//   template a caption written first from a phrase template, then boxes placed to make it true,
//            as an LLM would write a layout (coordinates at two decimals).
import { buildExpressions, expressionStrings, fullDescription } from './describe';
import { describeScene, generateScene, worldOptions, worldScenes } from './generator';
import type { Split, WorldOptions, WorldScene } from './generator';
import { formatDescription } from './grammar';
import type { ParsedCaption } from './grammar';
import type { Box } from './geometry';
import { drawnView, relationHolds } from './relations';
import { Rng } from './rng';
import type { Layout, SceneObject } from './scene';
import { COLORS, SHAPES, TEXTURES } from './vocab';
import type { Relation } from './vocab';

export type LayoutSourceKind = 'real' | 'random' | 'template';
export const LAYOUT_SOURCES: readonly LayoutSourceKind[] = ['real', 'random', 'template'];

export interface LayoutSourceOptions extends WorldOptions {
  seed: number;
  /** For `real`: the split to draw from (default: any scene of the world, unsplit). */
  split?: Split;
}

function randomAttrs(rng: Rng, textureProb: number): Omit<SceneObject, 'box'> {
  return { shape: rng.pick(SHAPES), color: rng.pick(COLORS), texture: rng.chance(textureProb) ? rng.pick(TEXTURES) : 'plain' };
}

const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;
const round2 = (v: number): number => Math.round(v * 100) / 100;

function randomScene(rng: Rng, opts: Required<WorldOptions>): WorldScene {
  for (;;) {
    const n = rng.int(opts.minObjects, opts.maxObjects);
    const objects: SceneObject[] = [];
    for (let i = 0; i < n; i++) {
      const w = rng.uniform(0.08, 0.5), h = rng.uniform(0.08, 0.5);
      const x = rng.uniform(0, 1 - w), y = rng.uniform(0, 1 - h);
      objects.push({ ...randomAttrs(rng, opts.textureProb), box: [round4(x), round4(y), round4(x + w), round4(y + h)] });
    }
    const s = describeScene(objects, rng);
    if (s !== null) return s;
  }
}

/** A box of a size class centred near (cx, cy), kept on the canvas, at two decimals. */
function boxNear(rng: Rng, cx: number, cy: number, large: boolean): Box {
  const side = large ? rng.uniform(0.32, 0.46) : rng.uniform(0.14, 0.21);
  const w = round2(side), h = round2(side * rng.uniform(0.9, 1.1));
  const x = Math.min(1 - w, Math.max(0, cx - w / 2));
  const y = Math.min(1 - h, Math.max(0, cy - h / 2));
  return [round2(x), round2(y), round2(x + w), round2(y + h)];
}

const OPPOSITE_SIDE: Record<'left of' | 'right of' | 'above' | 'below', [number, number]> = {
  'left of': [-1, 0], 'right of': [1, 0], above: [0, -1], below: [0, 1],
};

/**
 * Boxes for "A rel B" placed the way a layout writer would: side by side for spatial relations,
 * overlapping for depth (the front object drawn later). Returns [boxA, boxB, aDrawnFirst].
 */
function placePair(rng: Rng, rel: Relation, largeA: boolean, largeB: boolean, region: [number, number, number, number]): [Box, Box, boolean] {
  const [rx1, ry1, rx2, ry2] = region;
  const mx = (rx1 + rx2) / 2, my = (ry1 + ry2) / 2;
  if (rel === 'in front of' || rel === 'behind') {
    const b = boxNear(rng, mx + rng.uniform(-0.05, 0.05), my + rng.uniform(-0.05, 0.05), largeB);
    const a = boxNear(rng, b[rng.pick([0, 2])], b[rng.pick([1, 3])], largeA);
    return [a, b, rel === 'behind'];
  }
  const [dx, dy] = OPPOSITE_SIDE[rel];
  const spanX = (rx2 - rx1) / 4, spanY = (ry2 - ry1) / 4;
  const jitter = (): number => rng.uniform(-0.06, 0.06);
  const a = boxNear(rng, mx + dx * spanX + (dx === 0 ? jitter() : 0), my + dy * spanY + (dy === 0 ? jitter() : 0), largeA);
  const b = boxNear(rng, mx - dx * spanX + (dx === 0 ? jitter() : 0), my - dy * spanY + (dy === 0 ? jitter() : 0), largeB);
  return [a, b, rng.chance(0.5)];
}

/** Templates: "a A", "a A rel a B", "a A rel a B and a C", "a A rel a B and a C rel a D". */
function templateScene(rng: Rng, opts: Required<WorldOptions>): WorldScene {
  const RELS: readonly Relation[] = ['left of', 'right of', 'above', 'below', 'in front of', 'behind'];
  for (;;) {
    const n = rng.int(opts.minObjects, Math.min(4, opts.maxObjects));
    const objects: SceneObject[] = [];
    const parsed: ParsedCaption = { mentions: [], relations: [] };
    const clauses: string[] = [];
    const mentionOf: number[] = [];
    const mention = (o: SceneObject, index: number): string => {
      parsed.mentions.push(fullDescription(o));
      mentionOf.push(index);
      return `a ${formatDescription(fullDescription(o))}`;
    };
    // Two regions (top/bottom or left/right halves) hold one pair each; one pair uses the canvas.
    const vertical = rng.chance(0.5);
    const regions: [number, number, number, number][] = n <= 2 ? [[0, 0, 1, 1]]
      : vertical ? [[0, 0, 1, 0.5], [0, 0.5, 1, 1]] : [[0, 0, 0.5, 1], [0.5, 0, 1, 1]];
    for (let k = 0, r = 0; k < n; k += 2, r++) {
      const region = regions[Math.min(r, regions.length - 1)];
      const A = randomAttrs(rng, opts.textureProb);
      if (k + 1 === n) {
        const box = boxNear(rng, (region[0] + region[2]) / 2 + rng.uniform(-0.1, 0.1), (region[1] + region[3]) / 2 + rng.uniform(-0.1, 0.1), rng.chance(0.5));
        objects.push({ ...A, box });
        clauses.push(mention(objects[objects.length - 1], objects.length - 1));
        break;
      }
      const B = randomAttrs(rng, opts.textureProb);
      const rel = rng.pick(RELS);
      const [a, b, aFirst] = placePair(rng, rel, rng.chance(0.5), rng.chance(0.5), region);
      const ia = objects.length + (aFirst ? 0 : 1), ib = objects.length + (aFirst ? 1 : 0);
      const pair: SceneObject[] = [];
      pair[ia - objects.length] = { ...A, box: a };
      pair[ib - objects.length] = { ...B, box: b };
      objects.push(...pair);
      const text = `${mention(objects[ia], ia)} ${rel} ${mention(objects[ib], ib)}`;
      parsed.relations.push({ subject: parsed.mentions.length - 2, relation: rel, object: parsed.mentions.length - 1 });
      clauses.push(text);
    }
    const view = drawnView(objects);
    if (!parsed.relations.every((r) => relationHolds(r.relation, view, mentionOf[r.subject], mentionOf[r.object]))) continue;
    const exprs = buildExpressions(objects, view, rng);
    if (exprs === null) continue;
    const strings = expressionStrings(exprs);
    return {
      scene: { objects },
      layout: { caption: clauses.join(' and '), objects: objects.map((o, i) => ({ expr: strings[i], box: o.box })) },
      caption: parsed,
      mentionOf,
    };
  }
}

/** A function that returns the source's next scene each call (deterministic for a seed). */
export function layoutSource(kind: LayoutSourceKind, opts: LayoutSourceOptions): () => WorldScene {
  if (!LAYOUT_SOURCES.includes(kind)) throw new RangeError(`layoutSource: kind must be one of ${LAYOUT_SOURCES.join(', ')}, got ${JSON.stringify(kind)}`);
  if (!Number.isInteger(opts.seed)) throw new TypeError(`layoutSource: seed must be an integer, got ${opts.seed}`);
  const o = worldOptions(opts);
  if (kind === 'real') {
    if (opts.split !== undefined) {
      const it = worldScenes(opts.split, opts.seed, o);
      return () => it.next().value;
    }
    const rng = new Rng(opts.seed);
    return () => generateScene(rng, o);
  }
  const rng = new Rng(opts.seed);
  return kind === 'random' ? () => randomScene(rng, o) : () => templateScene(rng, o);
}

/** n layouts from a source. */
export function sampleLayouts(kind: LayoutSourceKind, n: number, opts: LayoutSourceOptions): Layout[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampleLayouts: n must be a non-negative integer, got ${n}`);
  const next = layoutSource(kind, opts);
  return Array.from({ length: n }, () => next().layout);
}
