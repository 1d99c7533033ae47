// Training examples from the scene world: a layout line and the VQ codes of the world's render of
// it. The scenes of step s come from a generator seeded by (seed, s), so a resumed run sees exactly
// the batches an uninterrupted one would, without replaying the stream.
import { Device, Tensor, tensor, tidy } from '../tensor';
import { Rng, buildCaption, drawnView, generateScenes, renderLayout } from '../data';
import type { WorldScene } from '../data';
import type { Layout } from '../model';
import { PatchVq } from '../model';

export interface Example {
  layout: Layout;
  /** The VQ codes of the render, one per patch. */
  codes: Int32Array;
}

const IMAGE = 64;

/** Renders layouts to f32 [N, 64, 64, 3] in [0, 1] (the VQ tokenizer's input), on `device`. */
export function renderBatch(layouts: readonly Layout[], device: Device = 'cpu'): Tensor {
  const n = IMAGE * IMAGE * 3;
  const data = new Float32Array(layouts.length * n);
  layouts.forEach((l, i) => {
    const px = renderLayout(l as Parameters<typeof renderLayout>[0]);
    for (let j = 0; j < n; j++) data[i * n + j] = px[j] / 255;
  });
  return tensor(data, [layouts.length, IMAGE, IMAGE, 3], { device });
}

/** f32 images [N, 64, 64, 3] in [0, 1] back to bytes, for PNG writing. */
export function toBytes(images: Tensor): Uint8Array {
  const a = images.toArray();
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(a[i] * 255)));
  return out;
}

export function encodeLayouts(vq: PatchVq, layouts: readonly Layout[]): Int32Array[] {
  const all = tidy(() => vq.encode(renderBatch(layouts, vq.codebook.device)).toArray()) as Int32Array;
  const n = vq.tokensPerImage;
  return layouts.map((_, i) => all.slice(i * n, (i + 1) * n));
}

/** Seed of the scene generator for one step: distinct per (seed, step), never the eval seeds. */
export function stepSeed(seed: number, step: number): number {
  return ((seed * 1000003) ^ Math.imul(step + 1, 0x9e3779b1)) >>> 1;
}

export interface ExampleOptions {
  /** Scenes of 1..maxObjects objects (default the world's 1..4). */
  maxObjects?: number;
  /** Share of the scenes whose caption is written again with each size word kept at chance 1/2 (default 0). */
  looseCaptions?: number;
  /** Share of the scenes drawn under the world's loose readability rule (partly hidden objects; default 0). */
  looseScenes?: number;
}

/**
 * The world's caption of a scene, or with chance `share` one written again (buildCaption with the
 * size word at chance 1/2, new order and relations): the world always names sizes, people often
 * do not, and a model that only saw the former leans on the size words (docs/training.md).
 */
function trainCaption(scene: WorldScene, share: number, rng: Rng): string {
  if (share <= 0 || !rng.chance(share)) return scene.layout.caption;
  const objects = scene.scene.objects;
  return buildCaption(objects, drawnView(objects), rng, 0.5).caption;
}

/** `count` training examples for one step. */
export function trainExamples(vq: PatchVq, count: number, seed: number, step: number, opts: ExampleOptions = {}): Example[] {
  const share = opts.looseCaptions ?? 0;
  if (!(share >= 0 && share <= 1)) throw new RangeError(`trainExamples: looseCaptions must be a share in [0, 1], got ${share}`);
  const looseShare = opts.looseScenes ?? 0;
  if (!(looseShare >= 0 && looseShare <= 1)) throw new RangeError(`trainExamples: looseScenes must be a share in [0, 1], got ${looseShare}`);
  const rng = new Rng((stepSeed(seed, step) ^ 0x5bd1e995) >>> 0);
  const maxObjects = opts.maxObjects ?? 4;
  let loose = 0;
  if (looseShare > 0) {
    const pick = new Rng((stepSeed(seed, step) ^ 0x27d4eb2f) >>> 0);
    for (let i = 0; i < count; i++) if (pick.chance(looseShare)) loose++;
  }
  const scenes = [
    ...generateScenes(count - loose, 'train', stepSeed(seed, step), { maxObjects }),
    ...generateScenes(loose, 'train', (stepSeed(seed, step) ^ 0x165667b1) >>> 0, { maxObjects, readability: 'loose' }),
  ];
  const layouts = scenes.map((s) => ({ ...s.layout, caption: trainCaption(s, share, rng) }) as Layout);
  const codes = encodeLayouts(vq, layouts);
  return layouts.map((layout, i) => ({ layout, codes: codes[i] }));
}

/** Fits the VQ codebook on renders of `count` training scenes. */
export function fitTokenizer(config: { imageSize: number; patchSize: number; codebookSize: number }, count: number, seed: number, iterations = 12): PatchVq {
  const layouts = generateScenes(count, 'train', stepSeed(seed, -7)).map((s) => s.layout as Layout);
  return tidy(() => PatchVq.fit(renderBatch(layouts), config, { iterations, seed }));
}
