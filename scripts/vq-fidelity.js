#!/usr/bin/env node
// The VQ tokenizer's fidelity: fit a codebook on world scenes of the train split, reconstruct
// held-out scenes of the val split, and score both the originals and the reconstructions with the
// world's detector and COCO AP (plus PSNR). Usage (after `npm run build`):
//   node scripts/vq-fidelity.js [--preset small] [--patch 4] [--codes 2048] [--fit 2000] [--eval 1000] [--iters 20]
const eg = require('../dist');

function args() {
  const a = process.argv.slice(2);
  const get = (name, dflt) => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? a[i + 1] : dflt;
  };
  const preset = eg.model.presets[get('preset', 'small')];
  if (!preset) throw new RangeError(`unknown preset ${get('preset')}`);
  const num = (name, dflt) => {
    const v = Number(get(name, dflt));
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} must be a positive integer`);
    return v;
  };
  return {
    patch: num('patch', preset.patchSize), codes: num('codes', preset.codebookSize),
    fit: num('fit', 2000), eval: num('eval', 1000), iters: num('iters', 20),
  };
}

function main() {
  const o = args();
  const M = eg.model;
  const t0 = Date.now();
  const fitScenes = eg.data.generateScenes(o.fit, 'train', 1);
  const fitImages = M.imagesToTensor(fitScenes.map((s) => eg.data.renderScene(s.scene)));
  const vq = M.PatchVq.fit(fitImages, { imageSize: 64, patchSize: o.patch, codebookSize: o.codes }, {
    iterations: o.iters, seed: 0,
    onIteration: (i, mse, dead) => process.stderr.write(`\rk-means iteration ${i + 1}/${o.iters}: mse ${mse.toExponential(3)}, re-seeded ${dead}   `),
  });
  fitImages.dispose();
  const fitSeconds = (Date.now() - t0) / 1000;
  process.stderr.write('\n');
  const scenes = eg.data.generateScenes(o.eval, 'val', 2);
  const layouts = scenes.map((s) => s.layout);
  const originals = scenes.map((s) => eg.data.renderScene(s.scene));
  const t1 = Date.now();
  const recon = M.tensorToImages(eg.tidy(() => vq.reconstruct(M.imagesToTensor(originals))));
  const codecSeconds = (Date.now() - t1) / 1000;
  const a = eg.eval.evaluateL2i(layouts, (i) => originals[i]);
  const b = eg.eval.evaluateL2i(layouts, (i) => recon[i]);
  const f = (x) => x.toFixed(4);
  console.log(`| patch | K | tokens | fit scenes | eval scenes | PSNR dB | AP orig | AP recon | ratio | AP50 recon | AP75 recon | fit s | encode+decode s |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|---|`);
  console.log(`| ${o.patch}x${o.patch} | ${o.codes} | ${vq.tokensPerImage} | ${o.fit} | ${o.eval} | ${M.psnr(originals, recon).toFixed(2)} | ${f(a.AP)} | ${f(b.AP)} | ${f(b.AP / a.AP)} | ${f(b.AP50)} | ${f(b.AP75)} | ${fitSeconds.toFixed(1)} | ${codecSeconds.toFixed(2)} |`);
  vq.dispose();
}

main();
