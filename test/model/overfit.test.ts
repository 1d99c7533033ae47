// A tiny unified model memorises 16 world scenes: PMTP batches (L2I and I2L in one masked sequence)
// drive both the image-code loss and the box loss down by at least 10x.
import * as eg from '../../lib';
import { fittedScenes } from './helpers';

const { ops } = eg;
const M = eg.model;

test('tiny EchoGen overfits 16 scenes on both tasks (losses fall >= 10x)', () => {
  const { scenes, vq, codes } = fittedScenes(16, 'train', 21, 128);
  const model = M.EchoGen.create({ ...M.presets.tiny, codebookSize: 128 }, { words: eg.data.VOCAB, vq, seed: 1 });
  const batch = M.collate(scenes.map((s, i) => M.pmtpSequence(model.vocab, s.layout, codes.subarray(i * 64, (i + 1) * 64))));
  const opt = new eg.optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  const history: [number, number][] = [];
  for (let step = 0; step < 400; step++) {
    const [img, txt] = eg.tidy(() => {
      opt.zeroGrad();
      const { image, text } = model.loss(batch);
      const values = [image!.item(), text!.item()]; // backward frees the intermediates
      ops.backward(ops.add(image!, text!));
      opt.step();
      return values;
    });
    history.push([img, txt]);
    if (img < history[0][0] / 12 && txt < history[0][1] / 12) break;
  }
  const [first, last] = [history[0], history[history.length - 1]];
  // Untrained: close to uniform over the 128 codes and over the text classes.
  expect(first[0]).toBeGreaterThan(0.8 * Math.log(128));
  expect(first[0] / last[0]).toBeGreaterThanOrEqual(10);
  expect(first[1] / last[1]).toBeGreaterThanOrEqual(10);
  console.log(`overfit: ${history.length} steps; image loss ${first[0].toFixed(3)} -> ${last[0].toFixed(4)}, box loss ${first[1].toFixed(3)} -> ${last[1].toFixed(4)}`);
  M.disposeBatch(batch);
  model.dispose();
});
