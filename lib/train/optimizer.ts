// The trainer's view of the optimiser: AdamW over a model's parameters with a settable learning
// rate, global-norm clipping, and its state saved beside the model in a checkpoint.
import * as fs from 'fs';
import * as path from 'path';
import { AdamW, clipGradNorm } from '../optim';
import type { AdamWState } from '../optim';
import { readSafetensors, writeSafetensors } from '../model';
import type { EchoGen } from '../model';

export interface Optimizer {
  zeroGrad(): void;
  /** Clips the global gradient norm to `max`; returns the norm before clipping. */
  clip(max: number): number;
  step(): void;
  setLearningRate(lr: number): void;
  save(dir: string): void;
  load(dir: string): void;
  dispose(): void;
}

const TENSORS = 'optim.safetensors';
const META = 'optim.json';

export function createOptimizer(model: EchoGen, lr: number, weightDecay = 0.01): Optimizer {
  const opt = new AdamW(model.parameters(), { lr, betas: [0.9, 0.95], weightDecay });
  return {
    zeroGrad() { opt.zeroGrad(); },
    clip(max) { return clipGradNorm(model.parameters(), max); },
    step() { opt.step(); },
    setLearningRate(v) { opt.lr = v; },
    save(dir) {
      fs.mkdirSync(dir, { recursive: true });
      const { tensors, hyper, steps } = opt.stateDict();
      writeSafetensors(path.join(dir, TENSORS), tensors);
      fs.writeFileSync(path.join(dir, META), JSON.stringify({ hyper, steps }) + '\n');
      for (const t of Object.values(tensors)) t.dispose();
    },
    load(dir) {
      const { tensors } = readSafetensors(path.join(dir, TENSORS));
      const meta = JSON.parse(fs.readFileSync(path.join(dir, META), 'utf8')) as Omit<AdamWState, 'tensors'>;
      opt.loadStateDict({ ...meta, tensors });
      for (const t of Object.values(tensors)) t.dispose();
    },
    dispose() { opt.dispose(); },
  };
}
