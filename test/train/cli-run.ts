// Shared by the tests that run the built CLI as a user would (bin/echogen.js, which uses dist/).
import * as path from 'path';
import { readSafetensors } from '../../lib/model';

export const root = path.resolve(__dirname, '../..');
export const bin = path.join(root, 'bin', 'echogen.js');
export const env = { ...process.env, ECHOGEN_THREADS: '1' };

/** Every tensor of a run's final model, by name. */
export function weights(dir: string): Record<string, Float32Array | Int32Array> {
  const { tensors } = readSafetensors(path.join(dir, 'model', 'model.safetensors'));
  const out: Record<string, Float32Array | Int32Array> = {};
  for (const [k, t] of Object.entries(tensors)) { out[k] = t.toArray(); t.dispose(); }
  return out;
}
