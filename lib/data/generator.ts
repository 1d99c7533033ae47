// The scene generator: seeded, 1-4 objects, occlusion within the bounds of visibility.ts, unique
// expressions and a caption for every scene, and train/val/test splits that never share a scene.
import { CANVAS, fromPixelBox, toPixelBox } from './geometry';
import type { PixelBox } from './geometry';
import { buildCaption, buildExpressions, expressionStrings } from './describe';
import type { ParsedCaption } from './grammar';
import { drawnView } from './relations';
import { Rng, fnv1a } from './rng';
import type { Layout, Scene, SceneObject } from './scene';
import { isLooselyReadable, isReadableAfterAdding } from './visibility';
import { COLORS, SHAPES, TEXTURES } from './vocab';

export interface WorldOptions {
  /** Fewest and most objects per scene (default 1 and 4). */
  minObjects?: number;
  maxObjects?: number;
  /** Probability that an object is striped or dotted rather than plain (default 0.2). */
  textureProb?: number;
  /** Probability that an object is placed over an earlier one (default 0.5). */
  overlapProb?: number;
  /** Share of its pixels every object keeps visible (default 0.6; with readability 'loose', told apart, default 0.5). */
  minVisible?: number;
  /**
   * Probability that an object repeats the colour, shape and texture of an earlier one (default
   * 0.3), so that scenes with look-alikes, which need size words and relations, are common.
   */
  repeatProb?: number;
  /**
   * 'strict' (default): every object's visible pixels reach its box's four sides and form one
   * piece, and objects of one colour never touch (visibility.ts), so a box can be read back off
   * the image exactly. 'loose': only minVisible of each object's pixels must be told apart
   * (isLooselyReadable), as in layouts people write; for training scenes, never the held-out splits.
   */
  readability?: 'strict' | 'loose';
}

export interface WorldScene {
  scene: Scene;
  layout: Layout;
  caption: ParsedCaption;
  /** mentionOf[m]: the object caption mention m stands for. */
  mentionOf: number[];
}

export type FullWorldOptions = Required<WorldOptions>;

export const SMALL_SIDES: readonly [number, number] = [8, 14];
export const LARGE_SIDES: readonly [number, number] = [20, 30];

export function worldOptions(opts: WorldOptions = {}): FullWorldOptions {
  const o: FullWorldOptions = {
    minObjects: opts.minObjects ?? 1,
    maxObjects: opts.maxObjects ?? 4,
    textureProb: opts.textureProb ?? 0.2,
    overlapProb: opts.overlapProb ?? 0.5,
    minVisible: opts.minVisible ?? (opts.readability === 'loose' ? 0.5 : 0.6),
    repeatProb: opts.repeatProb ?? 0.3,
    readability: opts.readability ?? 'strict',
  };
  if (!Number.isInteger(o.minObjects) || o.minObjects < 1) throw new RangeError(`minObjects must be an integer >= 1, got ${o.minObjects}`);
  if (!Number.isInteger(o.maxObjects) || o.maxObjects < o.minObjects || o.maxObjects > 6) {
    throw new RangeError(`maxObjects must be an integer in [minObjects, 6], got ${o.maxObjects}`);
  }
  for (const k of ['textureProb', 'overlapProb', 'repeatProb'] as const) {
    if (!(o[k] >= 0 && o[k] <= 1)) throw new RangeError(`${k} must be in [0,1], got ${o[k]}`);
  }
  if (!(o.minVisible > 0 && o.minVisible <= 1)) throw new RangeError(`minVisible must be in (0,1], got ${o.minVisible}`);
  if (o.readability !== 'strict' && o.readability !== 'loose') throw new RangeError(`readability must be 'strict' or 'loose', got ${JSON.stringify(o.readability)}`);
  return o;
}

/** A pixel box of the given size: anywhere, or over one of the earlier boxes. */
function placeBox(rng: Rng, w: number, h: number, over: PixelBox | null): PixelBox {
  let x: number, y: number;
  if (over === null) {
    x = rng.int(0, CANVAS - w);
    y = rng.int(0, CANVAS - h);
  } else {
    const cx = (over[0] + over[2]) / 2 + rng.uniform(-0.8, 0.8) * (over[2] - over[0] + w) / 2;
    const cy = (over[1] + over[3]) / 2 + rng.uniform(-0.8, 0.8) * (over[3] - over[1] + h) / 2;
    x = Math.min(CANVAS - w, Math.max(0, Math.round(cx - w / 2)));
    y = Math.min(CANVAS - h, Math.max(0, Math.round(cy - h / 2)));
  }
  return [x, y, x + w, y + h];
}

/** Side lengths of a small or large object, with a mild aspect ratio. */
export function drawSides(rng: Rng, large: boolean): [number, number] {
  const [lo, hi] = large ? LARGE_SIDES : SMALL_SIDES;
  const w = rng.int(lo, hi);
  const h = Math.min(hi, Math.max(lo, Math.round(w * rng.uniform(0.85, 1.18))));
  return rng.chance(0.5) ? [w, h] : [h, w];
}

function drawObject(rng: Rng, o: FullWorldOptions, placed: readonly SceneObject[]): SceneObject {
  const [w, h] = drawSides(rng, rng.chance(0.5));
  const over = placed.length > 0 && rng.chance(o.overlapProb) ? toPixelBox(rng.pick(placed).box) : null;
  const box = fromPixelBox(placeBox(rng, w, h, over));
  if (placed.length > 0 && rng.chance(o.repeatProb)) {
    const like = rng.pick(placed);
    return { shape: like.shape, color: like.color, texture: like.texture, box };
  }
  return {
    shape: rng.pick(SHAPES),
    color: rng.pick(COLORS),
    texture: rng.chance(o.textureProb) ? rng.pick(TEXTURES) : 'plain',
    box,
  };
}

const PLACE_TRIES = 40;

/** Readable objects only (visibility.ts), or null if the tries run out. */
export function drawObjects(rng: Rng, o: FullWorldOptions, n: number): SceneObject[] | null {
  const objects: SceneObject[] = [];
  for (let k = 0; k < n; k++) {
    let ok = false;
    for (let t = 0; t < PLACE_TRIES && !ok; t++) {
      objects.push(drawObject(rng, o, objects));
      if (o.readability === 'loose' ? isLooselyReadable(objects, o.minVisible) : isReadableAfterAdding(objects, o.minVisible)) ok = true;
      else objects.pop();
    }
    if (!ok) return null;
  }
  return objects;
}

/** Expressions and caption for given objects, or null when some object cannot be singled out. */
export function describeScene(objects: SceneObject[], rng: Rng): WorldScene | null {
  const view = drawnView(objects);
  const exprs = buildExpressions(objects, view, rng);
  if (exprs === null) return null;
  const strings = expressionStrings(exprs);
  const { caption, parsed, mentionOf } = buildCaption(objects, view, rng);
  return {
    scene: { objects },
    layout: { caption, objects: objects.map((ob, i) => ({ expr: strings[i], box: ob.box })) },
    caption: parsed,
    mentionOf,
  };
}

/** One scene from the world, with its objects accepted by `keep` (default: any). */
export function generateScene(rng: Rng, opts: WorldOptions = {}, keep?: (objects: SceneObject[]) => boolean): WorldScene {
  const o = worldOptions(opts);
  for (;;) {
    const objects = drawObjects(rng, o, rng.int(o.minObjects, o.maxObjects));
    if (objects === null || (keep !== undefined && !keep(objects))) continue;
    const described = describeScene(objects, rng);
    if (described !== null) return described;
  }
}

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/**
 * The split a scene belongs to, from a hash of its objects (attributes and pixel boxes in draw
 * order; not the caption, whose wording is random): 80% train, 10% val, 10% test. Two identical
 * scenes are always in the same split, so the held-out splits never repeat a training scene.
 */
export function splitOf(scene: Scene): Split {
  const key = scene.objects.map((ob) => `${ob.shape},${ob.color},${ob.texture},${toPixelBox(ob.box).join(',')}`).join(';');
  const bucket = fnv1a(key) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'val' : 'test';
}

/**
 * The world's scenes of one split, in a fixed order for a given seed (and options): scene k of
 * (split, seed) is the same on every run and machine. Endless; take as many as needed.
 */
export function* worldScenes(split: Split, seed: number, opts: WorldOptions = {}): Generator<WorldScene, never> {
  if (!SPLITS.includes(split)) throw new RangeError(`split must be one of ${SPLITS.join(', ')}, got ${JSON.stringify(split)}`);
  const o = worldOptions(opts);
  const rng = new Rng(seed);
  const keep = (objects: SceneObject[]): boolean => splitOf({ objects }) === split;
  for (;;) yield generateScene(rng, o, keep);
}

/** The first n scenes of worldScenes(split, seed, opts). */
export function generateScenes(n: number, split: Split, seed: number, opts: WorldOptions = {}): WorldScene[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const out: WorldScene[] = [];
  if (n === 0) return out;
  for (const s of worldScenes(split, seed, opts)) {
    out.push(s);
    if (out.length === n) break;
  }
  return out;
}
