#!/usr/bin/env node
// What the patch-box task (config.patchBoxes / patchShapes, docs/training.md section 13) costs a PMTP step of the
// small preset on full scenes (1-4 objects, as after the curriculum): the same weights and batches with the task on
// and off, alternated round by round; ms per step (wall), min and median over the rounds.
//   node bench/profile/patch_box_cost.js [--rounds 4] [--steps 6]
'use strict';
const eg = require('../../dist');
const args = process.argv.slice(2);
const opt = (name, d) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : d; };
const ROUNDS = opt('--rounds', 4), STEPS = opt('--steps', 6);
const base = eg.model.EchoGen.load(require('path').join(__dirname, '../../models/small'));
const arms = [['patch boxes + shapes', { patchBoxes: true, patchShapes: true }], ['no patch task', { patchBoxes: false, patchShapes: false }]];
const models = arms.map(([, flags]) => {
  const m = new eg.model.EchoGen({ ...base.config, ...flags }, new eg.model.PatchVq(base.vq.config, base.vq.codebook.clone()));
  m.loadStateDict(base.stateDict(), { strict: false });
  return m;
});
const times = arms.map(() => []);
for (let r = 0; r < ROUNDS + 1; r++) {
  models.forEach((model, a) => {
    const o = eg.train.createOptimizer(model, 1e-4);
    const rng = new eg.train.TrainRng(r);
    for (let s = 0; s < STEPS; s++) {
      const examples = eg.train.trainExamples(model.vq, 8, 0, 5000 + r * STEPS + s, { looseCaptions: 0.5 });
      const t0 = process.hrtime.bigint();
      eg.tidy(() => {
        o.zeroGrad();
        const res = eg.train.pmtp(model, examples, rng, { textWeight: 2 });  // the small preset's
        eg.ops.backward(res.loss);
        o.clip(1);
        o.step();
      });
      if (r > 0) times[a].push(Number(process.hrtime.bigint() - t0) / 1e6);  // round 0 warms up
    }
    o.dispose();
  });
}
arms.forEach(([name], a) => {
  const t = times[a].slice().sort((x, y) => x - y);
  console.log(`${name.padEnd(22)} min ${t[0].toFixed(0)} ms, median ${t[t.length >> 1].toFixed(0)} ms over ${t.length} steps`);
});
