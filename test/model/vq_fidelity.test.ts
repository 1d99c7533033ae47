// The small preset's VQ tokenizer keeps the world's objects readable: the detector's COCO AP on
// reconstructions of held-out scenes is at least 0.9x its AP on the originals (scripts/vq-fidelity.js
// measures the same on 1,000 scenes; docs/model.md has the numbers).
import * as eg from '../../lib';

const M = eg.model;

test('detector AP on VQ reconstructions >= 0.9x AP on the originals (small preset tokenizer)', () => {
  const { patchSize, codebookSize } = M.presets.small;
  const fit = eg.data.generateScenes(400, 'train', 1);
  const fitImages = M.imagesToTensor(fit.map((s) => eg.data.renderScene(s.scene)));
  const vq = M.PatchVq.fit(fitImages, { imageSize: 64, patchSize, codebookSize }, { iterations: 6, seed: 0 });
  fitImages.dispose();
  const scenes = eg.data.generateScenes(120, 'val', 2);
  const layouts = scenes.map((s) => s.layout);
  const originals = scenes.map((s) => eg.data.renderScene(s.scene));
  const recon = M.tensorToImages(eg.tidy(() => vq.reconstruct(M.imagesToTensor(originals))));
  const real = eg.eval.evaluateL2i(layouts, (i) => originals[i]);
  const got = eg.eval.evaluateL2i(layouts, (i) => recon[i]);
  const psnr = M.psnr(originals, recon);
  console.log(`VQ ${patchSize}x${patchSize}, K=${codebookSize}: PSNR ${psnr.toFixed(2)} dB, AP ${got.AP.toFixed(4)} vs ${real.AP.toFixed(4)} on the originals`);
  expect(real.AP).toBeGreaterThan(0.5);
  expect(got.AP).toBeGreaterThanOrEqual(0.9 * real.AP);
  expect(psnr).toBeGreaterThan(25);
  // The reconstruction is not the original (the check above is not vacuous).
  expect(recon.some((r, i) => r.some((v, k) => v !== originals[i][k]))).toBe(true);
  vq.dispose();
});
