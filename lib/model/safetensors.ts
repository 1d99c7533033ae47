// safetensors read/write (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian data. Writes go to a temporary file that is renamed over the target, so
// a crash never leaves a half-written checkpoint under the real name.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tensor, tensor } from '../tensor';

const DTYPES = { F32: 'f32', I32: 'i32' } as const;
type SafeDType = keyof typeof DTYPES;

interface HeaderEntry { dtype: SafeDType; shape: number[]; data_offsets: [number, number]; }

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** A file error that names the file and the reason. */
export class CheckpointError extends Error {
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'CheckpointError';
  }
}

const littleEndian = os.endianness() === 'LE';

function toLittleEndian(bytes: Uint8Array): Uint8Array {
  if (littleEndian) return bytes;
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i += 4) { out[i] = bytes[i + 3]; out[i + 1] = bytes[i + 2]; out[i + 2] = bytes[i + 1]; out[i + 3] = bytes[i]; }
  return out;
}

/** Writes `tensors` (sorted by name, as the reference implementation does) to `file` atomically. */
export function writeSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`writeSafetensors: metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new RangeError(`writeSafetensors: '__metadata__' is reserved and cannot name a tensor`);
    const t = tensors[name];
    const data = t.toArray();
    const bytes = toLittleEndian(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    header[name] = { dtype: t.dtype === 'f32' ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  // The data section starts 8-byte aligned (the header is padded with spaces), as the reference writer does.
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (const c of chunks) fs.writeSync(fd, c);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Reads a safetensors file; any truncation or inconsistency is a CheckpointError naming the file. */
export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot read (${(e as Error).message})`);
  }
  const fail = (reason: string): never => { throw new CheckpointError(file, reason); };
  if (buf.length < 8) fail(`truncated: ${buf.length} bytes, shorter than the 8-byte header length`);
  const headerLen = buf.readBigUInt64LE(0);
  if (headerLen > BigInt(buf.length - 8)) fail(`truncated or corrupt: header length ${headerLen} exceeds the ${buf.length - 8} bytes after it`);
  const hl = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(8, 8 + hl).toString('utf8'));
  } catch (e) {
    fail(`corrupt header: not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('corrupt header: not a JSON object');
  const dataStart = 8 + hl;
  const dataLen = buf.length - dataStart;
  const entries: [string, HeaderEntry][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') { metadata = checkMetadata(raw, fail); continue; }
    entries.push([name, checkEntry(name, raw, dataLen, fail)]);
  }
  // The data regions must tile the data section exactly: no overlap, no gap, nothing after.
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expect = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== expect) fail(`corrupt: tensor '${name}' starts at byte ${e.data_offsets[0]} of the data, expected ${expect} (overlap or gap)`);
    expect = e.data_offsets[1];
  }
  if (expect !== dataLen) fail(expect < dataLen ? `corrupt: ${dataLen - expect} unexpected bytes after the last tensor` : `truncated: the data needs ${expect} bytes, the file has ${dataLen}`);
  const tensors: Record<string, Tensor> = {};
  for (const [name, e] of entries) {
    const [b, end] = e.data_offsets;
    // Copy into a fresh, aligned buffer (the file buffer's offset need not be a multiple of 4).
    const bytes = toLittleEndian(Uint8Array.from(buf.subarray(dataStart + b, dataStart + end)));
    const data = e.dtype === 'F32' ? new Float32Array(bytes.buffer, 0, (end - b) / 4) : new Int32Array(bytes.buffer, 0, (end - b) / 4);
    tensors[name] = tensor(data, e.shape, { dtype: DTYPES[e.dtype] });
  }
  return { tensors, metadata };
}

function checkMetadata(raw: unknown, fail: (r: string) => never): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('corrupt header: __metadata__ must be an object of strings');
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (typeof v !== 'string') fail(`corrupt header: __metadata__.${k} is not a string`);
  return raw as Record<string, string>;
}

function checkEntry(name: string, raw: unknown, dataLen: number, fail: (r: string) => never): HeaderEntry {
  if (raw === null || typeof raw !== 'object') fail(`corrupt header: entry '${name}' is not an object`);
  const e = raw as Record<string, unknown>;
  if (typeof e.dtype !== 'string' || !(e.dtype in DTYPES)) fail(`unsupported dtype ${JSON.stringify(e.dtype)} for tensor '${name}' (supported: ${Object.keys(DTYPES).join(', ')})`);
  const shape = e.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`corrupt header: tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
    fail(`corrupt header: tensor '${name}' has data_offsets ${JSON.stringify(off)}, not [begin, end] with begin <= end`);
  }
  const [b, end] = off as [number, number];
  const want = (shape as number[]).reduce((a, d) => a * d, 1) * 4;
  if (end - b !== want) fail(`corrupt header: tensor '${name}' of shape [${shape}] needs ${want} bytes, its offsets span ${end - b}`);
  if (end > dataLen) fail(`truncated: tensor '${name}' ends at byte ${end} of the data, the file has ${dataLen}`);
  return { dtype: e.dtype as SafeDType, shape: shape as number[], data_offsets: [b, end] };
}
