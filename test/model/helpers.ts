// Model-test helpers: a random-codebook VQ tokenizer and a tiny model (no world data needed).
import * as eg from '../../lib';
import { WORDS } from './fixtures';

export function randomVq(K: number, seed = 1, patchSize = 8): eg.model.PatchVq {
  const r = new eg.nn.InitRng(seed);
  const D = patchSize * patchSize * 3;
  return new eg.model.PatchVq({ imageSize: 64, patchSize, codebookSize: K }, eg.tensor(Float32Array.from({ length: K * D }, () => r.uniform()), [K, D]));
}

export function tinyModel(K = 32, seed = 0, dim = 32, geometry = true, layoutMap = false, patchPixels = false): eg.model.EchoGen {
  return eg.model.EchoGen.create({ dim, layers: 2, heads: 4, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: K, geometry, layoutMap, patchPixels }, { words: WORDS, vq: randomVq(K), seed });
}

export function randomCodes(n: number, K: number, seed: number): number[] {
  const r = new eg.nn.InitRng(seed);
  return Array.from({ length: n }, () => Math.floor(r.uniform() * K));
}

/** Index of the maximum of a[from, to) minus from. */
export function argmax(a: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}

/** n world scenes of `split` (seed), a VQ tokenizer of K codes (8x8 patches) fitted on their renders, and their codes. */
export function fittedScenes(n: number, split: 'train' | 'val' | 'test', seed: number, K: number): { scenes: ReturnType<typeof eg.data.generateScenes>; vq: eg.model.PatchVq; codes: Int32Array | Float32Array } {
  const scenes = eg.data.generateScenes(n, split, seed);
  const images = eg.model.imagesToTensor(scenes.map((s) => eg.data.renderScene(s.scene)));
  const vq = eg.model.PatchVq.fit(images, { imageSize: 64, patchSize: 8, codebookSize: K }, { iterations: 5 });
  const codes = vq.encode(images).toArray();
  images.dispose();
  return { scenes, vq, codes };
}
