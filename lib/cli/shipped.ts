// Where models come from on the command line: --checkpoint DIR (a model directory, or a training
// output directory whose final model or latest checkpoint is used), else the model shipped in the
// package (models/small).
import * as fs from 'fs';
import * as path from 'path';
import { EchoGen } from '../model';
import type { Device } from '../tensor';
import { latestCheckpoint } from '../train/checkpoint';
import { OptionSpec, UsageError, VerbArgs } from './verb';

/** The package root: lib/cli (ts-jest) and dist/cli (compiled) are both two levels down. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const SHIPPED_MODEL = path.join(PACKAGE_ROOT, 'models', 'small');

const isModelDir = (d: string): boolean => fs.existsSync(path.join(d, 'config.json')) && fs.existsSync(path.join(d, 'model.safetensors'));

/** The model directory `--checkpoint` names (or the shipped one when it is absent). */
export function resolveModelDir(checkpoint: string | undefined): string {
  if (checkpoint === undefined) {
    if (!isModelDir(SHIPPED_MODEL)) throw new UsageError(`${SHIPPED_MODEL}: the shipped model is missing (config.json and model.safetensors); pass --checkpoint DIR`, 1);
    return SHIPPED_MODEL;
  }
  if (!fs.existsSync(checkpoint)) throw new UsageError(`${checkpoint}: no such checkpoint directory`, 1);
  if (!fs.statSync(checkpoint).isDirectory()) throw new UsageError(`${checkpoint}: a checkpoint is a directory (config.json + model.safetensors), not a file`, 1);
  if (isModelDir(checkpoint)) return checkpoint;
  const final = path.join(checkpoint, 'model');
  if (isModelDir(final)) return final;
  const latest = latestCheckpoint(checkpoint);
  if (latest && isModelDir(path.join(latest, 'model'))) return path.join(latest, 'model');
  // Let the loader name the missing file.
  return checkpoint;
}

/** --device, shared by every verb that runs the model. */
export const DEVICE_OPTION: OptionSpec = { type: 'string', value: 'cpu|cuda', description: 'where the model runs (cuda: a CUDA build and a GPU)', default: 'cpu' };

export function deviceOption(args: VerbArgs): Device {
  const v = args.values.device ?? 'cpu';
  if (v !== 'cpu' && v !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got '${String(v)}'`);
  return v;
}

/** Loads the model onto `device`; a missing or corrupt file becomes a one-line error naming it. */
export function loadModel(checkpoint: string | undefined, device: Device = 'cpu'): EchoGen {
  const model = EchoGen.load(resolveModelDir(checkpoint));
  if (device !== 'cpu') {
    try {
      model.to(device);
    } catch (e) {
      model.dispose();
      throw new UsageError(`--device ${device}: ${(e as Error).message}`, 1);
    }
  }
  return model;
}
