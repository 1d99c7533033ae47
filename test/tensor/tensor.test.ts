// Tensors across Node-API: round trips, views, errors, memory accounting.
import * as eg from '../../lib';

const shapes: number[][] = [[], [0], [1], [7], [3, 0, 2], [2, 3], [5, 1, 4], [2, 3, 4, 5], [1, 1, 1, 1, 1, 1, 1, 2]];
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('round trips', () => {
  test.each(shapes.map((s) => [s]))('f32 shape %j', (shape: number[]) => {
    const data = Float32Array.from({ length: count(shape) }, () => (Math.random() - 0.5) * 1e6);
    const t = eg.tensor(data, shape);
    expect(t.shape).toEqual(shape);
    expect(t.dtype).toBe('f32');
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(data.length);
    const back = t.toArray();
    expect(Object.prototype.toString.call(back)).toBe('[object Float32Array]'); // native arrays come from the main realm, not jest's
    expect(Array.from(back)).toEqual(Array.from(data));
    back[0] = 42; // a copy: writing it leaves the tensor alone
    if (data.length) expect(t.toArray()[0]).toBe(data[0]);
    t.dispose();
  });

  test.each(shapes.map((s) => [s]))('i32 shape %j', (shape: number[]) => {
    const data = Int32Array.from({ length: count(shape) }, () => Math.floor((Math.random() - 0.5) * 4e9));
    const t = eg.tensor(data, shape);
    expect(t.dtype).toBe('i32');
    const back = t.toArray();
    expect(Object.prototype.toString.call(back)).toBe('[object Int32Array]');
    expect(Array.from(back)).toEqual(Array.from(data));
    t.dispose();
  });

  test('special floats survive', () => {
    const data = new Float32Array([NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38]);
    const back = eg.tensor(data, [6]).toArray();
    expect(Number.isNaN(back[0])).toBe(true);
    expect(Array.from(back.slice(1))).toEqual(Array.from(data.slice(1)));
    expect(Object.is(back[3], -0)).toBe(true);
  });

  test('number[] with dtype i32 and f32', () => {
    expect(Array.from(eg.tensor([1, -2, 3], [3], { dtype: 'i32' }).toArray())).toEqual([1, -2, 3]);
    expect(Array.from(eg.tensor([0.5, 1.5], [2]).toArray())).toEqual([0.5, 1.5]);
  });

  test('typed arrays from toArray() feed back into tensor()', () => {
    const a = eg.tensor([1, 2, 3], [3]).toArray();
    expect(Array.from(eg.tensor(a, [3]).toArray())).toEqual([1, 2, 3]);
    const b = eg.tensor([4, 5], [2], { dtype: 'i32' }).toArray();
    expect(eg.tensor(b, [2]).dtype).toBe('i32');
  });

  test('a subarray view is copied from its own offset', () => {
    const big = Float32Array.from({ length: 10 }, (_, i) => i);
    expect(Array.from(eg.tensor(big.subarray(3, 7), [4]).toArray())).toEqual([3, 4, 5, 6]);
  });

  test('reshape shares storage; to() and clone() copy', () => {
    const t = eg.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = t.reshape([3, 2]);
    expect(v.shape).toEqual([3, 2]);
    expect(Array.from(v.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    const before = eg.memory().bytes.cpu;
    t.dispose(); // the view keeps the storage alive
    expect(eg.memory().bytes.cpu).toBe(before);
    expect(Array.from(v.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    const c = v.clone();
    const m = v.to('cpu');
    v.dispose();
    expect(eg.memory().bytes.cpu).toBe(before + 24); // the shared 24 bytes freed, two 24-byte copies added
    expect(Array.from(c.toArray())).toEqual(Array.from(m.toArray()));
    c.dispose(); m.dispose();
  });

  test('zeros and item', () => {
    expect(Array.from(eg.zeros([2, 2], { dtype: 'i32' }).toArray())).toEqual([0, 0, 0, 0]);
    expect(eg.tensor([7], []).item()).toBe(7);
    expect(() => eg.tensor([1, 2], [2]).item()).toThrow(RangeError);
  });
});

describe('errors name the argument', () => {
  test('wrong data type', () => {
    expect(() => eg.tensor('abc' as unknown as number[], [3])).toThrow(TypeError);
    expect(() => eg.tensor([1, 'x'] as unknown as number[], [2])).toThrow(/data\[1\]/);
    expect(() => eg.tensor(new Float64Array(3) as unknown as Float32Array, [3])).toThrow(TypeError);
  });
  test('dtype mismatch and unknown dtype/device', () => {
    expect(() => eg.tensor(new Float32Array(2), [2], { dtype: 'i32' })).toThrow(/Int32Array for dtype i32/);
    expect(() => eg.tensor([1.5], [1], { dtype: 'i32' })).toThrow(TypeError);
    expect(() => eg.tensor([1], [1], { dtype: 'f16' as eg.DType })).toThrow(/dtype must be 'f32' or 'i32'/);
    expect(() => eg.tensor([1], [1], { device: 'tpu' as eg.Device })).toThrow(TypeError);
    expect(() => eg.tensor([1], [1], { device: 'tpu' as eg.Device })).toThrow(/device/);
  });
  test('length does not match the shape', () => {
    expect(() => eg.tensor([1, 2], [3])).toThrow(RangeError);
    expect(() => eg.tensor([1, 2], [3])).toThrow(/2 elements but shape \[3\] needs 3/);
  });
  test('bad shapes', () => {
    expect(() => eg.tensor([], [-1])).toThrow(RangeError);
    expect(() => eg.tensor([1], [1.5])).toThrow(/shape\[0\]/);
    expect(() => eg.tensor([1], 'x' as unknown as number[])).toThrow(TypeError);
    expect(() => eg.tensor([1], [1, 1, 1, 1, 1, 1, 1, 1, 1])).toThrow(/at most 8/);
  });
  test('a size that overflows', () => {
    expect(() => eg.tensor([], [65536, 65536])).toThrow(RangeError);
    expect(() => eg.zeros([2 ** 30, 2 ** 30, 8])).toThrow(/overflows/);
    expect(() => eg.tensor([1], [1]).reshape([2 ** 31])).toThrow(RangeError);
  });
  test('reshape to another element count', () => {
    expect(() => eg.tensor([1, 2, 3], [3]).reshape([2, 2])).toThrow(/cannot view/);
  });
  test('use after dispose throws, dispose twice is harmless', () => {
    const t = eg.tensor([1, 2], [2]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.toArray()).toThrow(/disposed/);
    expect(() => t.reshape([2])).toThrow(/disposed/);
    expect(() => t.to('cpu')).toThrow(/disposed/);
  });
  test('the native class cannot be constructed from JS', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { addon } = require('../../lib/native');
    expect(() => new addon.NativeTensor()).toThrow(/eg.tensor/);
  });
  test('an op tells a disposed handle from one echogen did not make, and from a proxy of a live one', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { addon } = require('../../lib/native');
    const a = eg.tensor([1, 2, 3, 4], [2, 2]);
    const fake = Object.create(addon.NativeTensor.prototype);
    expect(() => eg.ops.matmul(fake, a)).toThrow(TypeError);
    expect(() => eg.ops.matmul(fake, a)).toThrow(/matmul: a must be a Tensor, got an object with the Tensor prototype/);
    expect(() => eg.ops.matmul(new Proxy(a.handle, {}) as unknown as eg.Tensor, a)).toThrow(/matmul: a must be a Tensor, got an object/);
    const d = eg.tensor([1, 2, 3, 4], [2, 2]);
    d.dispose();
    expect(() => eg.ops.matmul(d, a)).toThrow(/matmul: a was disposed/);
    expect(Array.from(eg.ops.matmul(a, a).toArray())).toEqual([7, 10, 15, 22]);
    a.dispose();
  });
  test('cuda: works when available, otherwise an Error with the runtime reason', () => {
    if (eg.backends().includes('cuda')) {
      const t = eg.tensor([1, 2, 3], [3], { device: 'cuda' });
      expect(t.device).toBe('cuda');
      expect(Array.from(t.to('cpu').toArray())).toEqual([1, 2, 3]);
    } else {
      expect(eg.backends()).toEqual(['cpu']);
      const before = eg.memory();
      expect(() => eg.tensor([1], [1], { device: 'cuda' })).toThrow(/CUDA/);
      expect(() => eg.tensor([1], [1]).to('cuda')).toThrow(/CUDA/);
      expect(eg.memory().bytes.cuda).toBe(before.bytes.cuda);
    }
  });
});

describe('memory', () => {
  test('10,000 create/dispose cycles return to the starting counts', () => {
    const start = eg.memory();
    for (let i = 0; i < 10000; i++) {
      const t = eg.tensor(new Float32Array(17), [17]);
      const v = t.reshape([1, 17]);
      t.dispose();
      v.dispose();
    }
    expect(eg.memory()).toEqual(start);
  });
  test('tidy disposes what it does not return, nested scopes keep returned tensors', () => {
    const start = eg.memory();
    const kept = eg.tidy(() => {
      eg.tensor([1], [1]);
      const inner = eg.tidy(() => {
        eg.tensor([2], [1]);
        return { a: eg.tensor([3], [1]), list: [eg.tensor([4], [1])] };
      });
      expect(eg.memory().tensors).toBe(start.tensors + 3);
      return inner.a;
    });
    expect(eg.memory().tensors).toBe(start.tensors + 1);
    expect(kept.item()).toBe(3);
    kept.dispose();
    expect(eg.memory()).toEqual(start);
    for (let i = 0; i < 10000; i++) eg.tidy(() => { eg.tensor([1, 2, 3], [3]).reshape([3, 1]); });
    expect(eg.memory()).toEqual(start);
  });
  test('tidy disposes on throw, rejects async functions, keep() exempts', () => {
    const start = eg.memory();
    expect(() => eg.tidy(() => { eg.tensor([1], [1]); throw new Error('boom'); })).toThrow('boom');
    expect(eg.memory()).toEqual(start);
    const k = eg.tidy(() => { const a = eg.keep(eg.tensor([1], [1])); eg.tensor([2], [1]); return 5; });
    expect(k).toBe(5);
    expect(eg.memory().tensors).toBe(start.tensors + 1);
    expect(() => eg.tidy(() => Promise.resolve(1))).toThrow(/synchronous/);
  });
});
