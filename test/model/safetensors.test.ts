import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as eg from '../../lib';
import { readSafetensors, writeSafetensors, CheckpointError } from '../../lib/model';

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'eg-st-'));

/** A safetensors file assembled byte by byte from the format description (independent of the writer). */
function handMade(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([len, json, data]);
}

describe('safetensors', () => {
  test('written files follow the format byte for byte', () => {
    const dir = tmpDir();
    const f = path.join(dir, 'w.safetensors');
    const a = eg.tensor([1.5, -2, 3.25, 0, 1e-8, 7], [2, 3]);
    const b = eg.tensor([5, -6, 2147483647], [3], { dtype: 'i32' });
    writeSafetensors(f, { b, a }, { note: 'hi' });
    const buf = fs.readFileSync(f);
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header).toEqual({
      __metadata__: { note: 'hi' },
      a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      b: { dtype: 'I32', shape: [3], data_offsets: [24, 36] },
    });
    const data = buf.subarray(8 + n);
    expect(data.length).toBe(36);
    expect([0, 1, 2, 3, 4, 5].map((i) => data.readFloatLE(4 * i))).toEqual(Array.from(new Float32Array([1.5, -2, 3.25, 0, 1e-8, 7])));
    expect([0, 1, 2].map((i) => data.readInt32LE(24 + 4 * i))).toEqual([5, -6, 2147483647]);
    expect(fs.readdirSync(dir)).toEqual(['w.safetensors']);
  });

  test('reads a hand-made file, including an unpadded header and an odd data offset', () => {
    const f = path.join(tmpDir(), 'h.safetensors');
    const data = Buffer.alloc(20);
    [0.5, -1, 2].forEach((x, i) => data.writeFloatLE(x, 8 + 4 * i));
    data.writeInt32LE(-9, 0);
    data.writeInt32LE(11, 4);
    fs.writeFileSync(f, handMade({ z: { dtype: 'F32', shape: [3, 1], data_offsets: [8, 20] }, y: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, data));
    const { tensors, metadata } = readSafetensors(f);
    expect(metadata).toEqual({});
    expect(tensors.z.shape).toEqual([3, 1]);
    expect(Array.from(tensors.z.toArray())).toEqual([0.5, -1, 2]);
    expect(tensors.y.dtype).toBe('i32');
    expect(Array.from(tensors.y.toArray())).toEqual([-9, 11]);
  });

  test('round-trips random tensors exactly', () => {
    const f = path.join(tmpDir(), 'r.safetensors');
    const x = new Float32Array(1013).map(() => (Math.random() - 0.5) * 1e3);
    writeSafetensors(f, { 'blocks.0.w': eg.tensor(x, [1013]), empty: eg.tensor(new Float32Array(0), [0, 4]) });
    const { tensors } = readSafetensors(f);
    expect(Array.from(tensors['blocks.0.w'].toArray())).toEqual(Array.from(x));
    expect(tensors.empty.shape).toEqual([0, 4]);
  });

  describe('a damaged file is an error naming the file and the reason', () => {
    const dir = tmpDir();
    const good = path.join(dir, 'good.safetensors');
    writeSafetensors(good, { w: eg.tensor(new Float32Array(64).fill(1), [8, 8]) });
    const bytes = fs.readFileSync(good);
    const cases: [string, Buffer, RegExp][] = [
      ['empty', Buffer.alloc(0), /truncated: 0 bytes/],
      ['cut-in-header', bytes.subarray(0, 20), /header length \d+ exceeds/],
      ['cut-in-data', bytes.subarray(0, bytes.length - 5), /truncated: tensor 'w' ends at byte 256 of the data, the file has 251/],
      ['extra-bytes', Buffer.concat([bytes, Buffer.alloc(4)]), /4 unexpected bytes after the last tensor/],
      ['bad-json', handMade({}, Buffer.alloc(0)).fill(0x7b, 8), /corrupt header: not valid JSON/],
      ['bad-dtype', handMade({ w: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)), /unsupported dtype "F16" for tensor 'w'/],
      ['bad-size', handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /shape \[3\] needs 12 bytes, its offsets span 8/],
      ['overlap', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /overlap or gap/],
    ];
    test.each(cases)('%s', (name, content, reason) => {
      const f = path.join(dir, `${name}.safetensors`);
      fs.writeFileSync(f, content);
      let err: unknown;
      try { readSafetensors(f); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toContain(f);
      expect((err as Error).message).toMatch(reason);
    });
    test('missing file', () => {
      expect(() => readSafetensors(path.join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: cannot read/);
    });
  });
});
