// A checkpoint directory: model.safetensors (every parameter plus the VQ codebook as 'vq.codebook')
// and config.json. Both are written to a temporary name and renamed, so a crash mid-save leaves the
// previous checkpoint readable.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor';
import { EchoGenConfig, checkConfig } from './config';
import { CheckpointError, readSafetensors, writeSafetensors } from './safetensors';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const CODEBOOK_KEY = 'vq.codebook';
const FORMAT = 'echogen';
const VERSION = 1;

function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export function saveCheckpoint(dir: string, config: EchoGenConfig, state: Record<string, Tensor>, codebook: Tensor): void {
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('save: dir must be a non-empty path');
  if (CODEBOOK_KEY in state) throw new RangeError(`save: a parameter is named '${CODEBOOK_KEY}', which the checkpoint reserves`);
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, WEIGHTS_FILE), { ...state, [CODEBOOK_KEY]: codebook }, { format: FORMAT, version: String(VERSION) });
  writeFileAtomic(path.join(dir, CONFIG_FILE), JSON.stringify({ format: FORMAT, version: VERSION, ...config }, null, 2) + '\n');
}

export interface LoadedCheckpoint {
  config: EchoGenConfig;
  /** Parameters by name (the caller owns and disposes them). */
  state: Record<string, Tensor>;
  codebook: Tensor;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const cfgFile = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(cfgFile, 'utf8');
  } catch (e) {
    throw new CheckpointError(cfgFile, `cannot read (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(cfgFile, `corrupt: not valid JSON (${(e as Error).message})`);
  }
  const fmt = (raw as { format?: unknown } | null)?.format;
  if (fmt !== FORMAT) throw new CheckpointError(cfgFile, `not an echogen checkpoint config (format ${JSON.stringify(fmt)})`);
  let config: EchoGenConfig;
  try {
    config = checkConfig(raw, '');
  } catch (e) {
    throw new CheckpointError(cfgFile, (e as Error).message);
  }
  const wFile = path.join(dir, WEIGHTS_FILE);
  const { tensors } = readSafetensors(wFile);
  const codebook = tensors[CODEBOOK_KEY];
  const fail = (reason: string): never => {
    for (const t of Object.values(tensors)) t.dispose();
    throw new CheckpointError(wFile, reason);
  };
  if (!codebook) fail(`no tensor '${CODEBOOK_KEY}' (the VQ codebook)`);
  const D = config.patchSize * config.patchSize * 3;
  if (codebook.dtype !== 'f32' || codebook.rank !== 2 || codebook.shape[0] !== config.codebookSize || codebook.shape[1] !== D) {
    fail(`'${CODEBOOK_KEY}' must be F32 [${config.codebookSize}, ${D}] as config.json says, got ${codebook.dtype} [${codebook.shape}]`);
  }
  delete tensors[CODEBOOK_KEY];
  return { config, state: tensors, codebook };
}
