// Helpers shared by the fuzzer (scripts/fuzz.js) and the reproducers it prints: T() builds a tensor
// handle from (shape, dtype, fill, seed) deterministically, so a printed call re-runs exactly.
//   node -e "const { raw, T, D, V } = require('./scripts/fuzz-lib'); raw.softmax(T([0, 8]), false)"
'use strict';
const path = require('path');

const root = path.join(__dirname, '..');
// ECHOGEN_ADDON: another build of the addon (the sanitizer build), as lib/native.ts honours it too.
const raw = process.env.ECHOGEN_ADDON ? require(process.env.ECHOGEN_ADDON) : require('bindings')({ bindings: 'echogen', module_root: root });

// mulberry32: a small, fast, seedable generator (the data of a tensor is a function of its seed).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e30, -1e30, 3.4e38, 1e-40, 1e19];

// The element values for a fill kind. 'ids:K' gives integers in [-2, K + 2) (mostly in [0, K));
// 'boxes' and 'bigboxes' give xyxy boxes (x2 >= x1) with coordinates in [0, 1] or up to ~1e30.
function values(n, dtype, fill, seed) {
  const r = rng(seed);
  const out = dtype === 'i32' ? new Int32Array(n) : new Float32Array(n);
  const [kind, arg] = String(fill).split(':');
  const K = Number(arg);
  for (let i = 0; i < n; i++) {
    let v;
    switch (kind) {
      case 'zeros': v = 0; break;
      case 'ones': v = 1; break;
      case 'nan': v = NaN; break;
      case 'inf': v = r() < 0.5 ? Infinity : -Infinity; break;
      case 'special': v = SPECIAL[Math.floor(r() * SPECIAL.length)]; break;
      case 'big': v = (r() * 2 - 1) * 1e30; break;
      case 'ids': v = r() < 0.97 ? Math.floor(r() * K) : Math.floor(r() * (K + 4)) - 2; break;
      case 'boxes': case 'bigboxes': {
        const scale = kind === 'bigboxes' ? 10 ** (19 + Math.floor(r() * 12)) : 1;
        const j = i % 4;
        // x1, y1 first; x2 = x1 + w, y2 = y1 + h (the previous two values of this box)
        v = j < 2 ? r() * scale : out[i - 2] + r() * scale;
        break;
      }
      default: v = r() * 2 - 1;  // 'rand'
    }
    out[i] = dtype === 'i32' ? (Number.isFinite(v) ? v | 0 : 0) : v;
  }
  return out;
}

/** A new tensor handle: T([2, 3]), T([4], 'i32', 'ids:10', 7), T([5, 4], 'f32', 'boxes', 1). */
function T(shape, dtype = 'f32', fill = 'rand', seed = 1) {
  const n = shape.reduce((a, b) => a * b, 1);
  if (fill === 'zeros') return raw.zeros(shape, dtype, 'cpu');
  // over the limit (or not a shape): no data to make; the native shape check must refuse it
  if (!(n <= 2 ** 24)) return raw.fromArray(dtype === 'i32' ? new Int32Array(0) : new Float32Array(0), shape, dtype, 'cpu');
  return raw.fromArray(values(n, dtype, fill, seed), shape, dtype, 'cpu');
}
/** The same handle, disposed. */
function D(t) { t.dispose(); return t; }
/** A reshaped view sharing t's storage. */
function V(t, shape) { return t.reshape(shape); }

module.exports = { raw, T, D, V, rng, values, root };
