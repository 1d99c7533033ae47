#!/usr/bin/env node
// The VQ tokenizer's ceiling under the detector: AP on reconstructions / AP on the originals, on the
// world's val split and on the external set, for the small preset's tokenizer (4x4 patches, K=2048)
// fitted as test/model/vq_fidelity.test.ts fits it (train scenes, 6 iterations, seed 0).
// Usage (after `npm run build`): node bench/layouts/vq-ceiling.js [FIT=400] [VAL=300] [OLD_EVAL_DIR]
// OLD_EVAL_DIR: a dist/eval folder of another detector to score the same reconstructions with.
'use strict';
const path = require('node:path');
const eg = require('../../dist');
const od = process.argv[4] ? require(path.resolve(process.argv[4])) : null;
const M = eg.model;
const { patchSize, codebookSize } = M.presets.small;
const fit = eg.data.generateScenes(Number(process.argv[2] || 400), 'train', 1);
const fitImages = M.imagesToTensor(fit.map((s) => eg.data.renderScene(s.scene)));
const vq = M.PatchVq.fit(fitImages, { imageSize: 64, patchSize, codebookSize }, { iterations: 6, seed: 0 });
fitImages.dispose();
const sets = { 'world val': eg.data.generateScenes(Number(process.argv[3] || 300), 'val', 2).map((s) => s.layout), external: eg.data.readLayouts(path.join(__dirname, 'external-bare.jsonl')) };
for (const [name, layouts] of Object.entries(sets)) {
  const originals = layouts.map((l) => eg.data.renderLayout(l));
  const recon = M.tensorToImages(eg.tidy(() => vq.reconstruct(M.imagesToTensor(originals))));
  for (const [dn, ev] of od === null ? [['this', eg.eval]] : [['other', od], ['this', eg.eval]]) {
    const t0 = Date.now();
    const real = ev.evaluateL2i(layouts, (i) => originals[i]);
    const got = ev.evaluateL2i(layouts, (i) => recon[i]);
    console.log(JSON.stringify({ set: name, detector: dn, patchSize, codebookSize, APorig: +real.AP.toFixed(4), APrecon: +got.AP.toFixed(4), ratio: +(got.AP / real.AP).toFixed(3), AP50recon: +got.AP50.toFixed(4), ms: Date.now() - t0 }));
  }
}
vq.dispose();
