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

export interface HeaderEntry { dtype: SafeDType; shape: number[]; data_offsets: [number, number]; }

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

/** A checked header: every entry's dtype, shape and byte range, read without the data. */
export interface SafetensorsHeader {
  entries: [string, HeaderEntry][];
  metadata: Record<string, string>;
}

export interface ReadOptions {
  /** Called with the checked header before any tensor is made; throw to refuse the file. */
  checkHeader?: (header: SafetensorsHeader) => void;
  /** Refuse F32 data holding NaN or +-Infinity (the error names the tensor and the element). */
  finite?: boolean;
}

/**
 * Reads a safetensors file; any truncation or inconsistency is a CheckpointError naming the file.
 * Only the header is read before it is checked; then each tensor's bytes are read straight into
 * its own buffer, so a failed load holds at most the file's size.
 */
export function readSafetensors(file: string, opts: ReadOptions = {}): SafetensorsFile {
  const fail = (reason: string): never => { throw new CheckpointError(file, reason); };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    return fail(`cannot read (${(e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail(`cannot read (${st.isDirectory() ? 'EISDIR: it is a directory' : 'not a regular file'})`);
    const size = st.size;
    if (size < 8) fail(`truncated: ${size} bytes, shorter than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readExactly(fd, lenBuf, 0, fail);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(size - 8)) fail(`truncated or corrupt: header length ${headerLen} exceeds the ${size - 8} bytes after it`);
    const hl = Number(headerLen);
    const headerBuf = Buffer.alloc(hl);
    readExactly(fd, headerBuf, 8, fail);
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      fail(`corrupt header: not valid JSON (${(e as Error).message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('corrupt header: not a JSON object');
    const dataStart = 8 + hl;
    const dataLen = size - dataStart;
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
    if (opts.checkHeader) {
      try {
        opts.checkHeader({ entries, metadata });
      } catch (e) {
        fail((e as Error).message);
      }
    }
    const tensors: Record<string, Tensor> = {};
    try {
      for (const [name, e] of entries) {
        const [b, end] = e.data_offsets;
        // A fresh, aligned buffer (the file offset need not be a multiple of 4), read into directly.
        const bytes = new Uint8Array(end - b);
        readExactly(fd, bytes, dataStart + b, fail);
        const le = toLittleEndian(bytes);
        const data = e.dtype === 'F32' ? new Float32Array(le.buffer, 0, (end - b) / 4) : new Int32Array(le.buffer, 0, (end - b) / 4);
        if (opts.finite && e.dtype === 'F32') {
          for (let i = 0; i < data.length; i++) {
            if (!Number.isFinite(data[i])) fail(`tensor '${name}' holds ${data[i]} at element ${i} of [${e.shape}]; weights must be finite`);
          }
        }
        tensors[name] = tensor(data, e.shape, { dtype: DTYPES[e.dtype] });
      }
    } catch (err) {
      for (const t of Object.values(tensors)) t.dispose();
      throw err;
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

function readExactly(fd: number, into: Uint8Array, position: number, fail: (r: string) => never): void {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = fs.readSync(fd, into, done, into.length - done, position + done);
    } catch (e) {
      return fail(`cannot read (${(e as Error).message})`);
    }
    if (n === 0) fail(`truncated: the file ended while reading bytes ${position + done}..${position + into.length}`);
    done += n;
  }
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
