// A checkpoint directory: model.safetensors (every parameter plus the VQ codebook as 'vq.codebook')
// and config.json. Both are written to a temporary name and renamed, so a crash mid-save leaves the
// previous checkpoint readable.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor';
import { EchoGenConfig, checkConfig } from './config';
import { CheckpointError, SafetensorsHeader, readSafetensors, writeSafetensors } from './safetensors';
import { Vocabulary } from './vocabulary';

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
  // Checked against the header before any tensor (or the model, after) is allocated: a config.json
  // saying dim 8192 or 10^5 layers once made load allocate 7 GB or more before the mismatch showed.
  const { tensors } = readSafetensors(wFile, { checkHeader: (h) => checkAgainstHeader(config, h), finite: true });
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

/**
 * The shapes config.json implies, against the weights' header: the token and position tables, the
 * number of blocks and every block's MLP width, which with the bounds of checkConfig fix what the
 * model then allocates from the config to what the file holds.
 */
function checkAgainstHeader(config: EchoGenConfig, header: SafetensorsHeader): void {
  const shapes = new Map(header.entries.map(([name, e]) => [name, e.shape]));
  const says = (what: string, want: number[], name: string): void => {
    const got = shapes.get(name);
    if (!got) throw new Error(`config.json implies ${what}, but there is no tensor '${name}'`);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) throw new Error(`config.json implies ${what}: '${name}' must have shape [${want}], the file holds [${got}]`);
  };
  const { dim } = config;
  const vocab = new Vocabulary(config.words, config.codebookSize);
  says(`dim ${dim} and a vocabulary of ${vocab.size}`, [vocab.size, dim], 'tokens.weight');
  says(`maxPositions ${config.maxPositions} and dim ${dim}`, [config.maxPositions, dim], 'positions.weight');
  const blocks = new Set<number>();
  for (const name of shapes.keys()) {
    const m = /^blocks\.(\d+)\./.exec(name);
    if (m) blocks.add(Number(m[1]));
  }
  if (blocks.size !== config.layers || [...blocks].some((b) => b >= config.layers)) {
    throw new Error(`config.json says layers ${config.layers}, but the file holds ${blocks.size} blocks (indices ${[...blocks].sort((a, b) => a - b).slice(0, 8).join(', ')}${blocks.size > 8 ? ', ...' : ''})`);
  }
  const hidden = Math.round(dim * config.mlpRatio);
  for (let i = 0; i < config.layers; i++) says(`dim ${dim} and mlpRatio ${config.mlpRatio}`, [hidden, dim], `blocks.${i}.mlp.fc.weight`);
}
