// The fuzzer's call generator (scripts/fuzz.js runs it): templates of near-valid calls of every
// native entry point, one or two things put off in half of them, rendered as code that runs as is
// with scripts/fuzz-lib.js; and the value contracts checked on unmutated calls.
'use strict';

function generator(seed) {
  const { rng } = require('./fuzz-lib');
  const r = rng(seed);
  const chance = (p) => r() < p;
  const pick = (a) => a[Math.floor(r() * a.length)];
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const SMALL = [0, 1, 1, 2, 2, 3, 3, 4, 5, 7, 8, 16, 33];
  const BIG = [46341, 65536, 2 ** 31 - 1];  // 46341^2 > 2^31 - 1
  const WEIRD = [undefined, null, 0, -0, -1, 1, 2, 0.5, 1.5, -1.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31,
    2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e39, -1e39, 1e300, 'x', '', '1', 'cpu', 'cuda', 'f32', 'i32', true, false,
    [], [1, 2], [-1], [1.5], [2 ** 31], {}];
  const WEIRD_CODE = ['Symbol("s")', '1n', '(() => 1)', 'new Float32Array(3)', 'new Uint8Array(4)',
    '({ valueOf() { return 1 } })', "({ get tau() { throw new Error('fuzz getter') } })",
    "new Proxy({}, { get() { throw new Error('fuzz getter') } })", 'raw.NativeTensor'];

  const d = () => pick(SMALL);
  const d1 = () => (chance(0.1) ? 0 : int(1, 3));
  const fill = () => (chance(0.8) ? 'rand' : pick(['zeros', 'ones', 'nan', 'inf', 'special', 'big']));
  const t = (shape, dtype = 'f32', f = fill()) => ({ t: [shape, dtype, f, int(1, 999)] });
  const ids = (shape, K) => t(shape, 'i32', K > 0 ? `ids:${K}` : 'zeros');
  const boxes = (shape) => t(shape, 'f32', chance(0.75) ? 'boxes' : chance(0.6) ? 'bigboxes' : fill());
  const v = (x) => ({ v: x });
  const code = (c) => ({ code: c });
  const opt = (o) => ({ o });
  const weird = () => (chance(0.85) ? v(pick(WEIRD)) : code(pick(WEIRD_CODE)));
  const num = (good) => (chance(0.8) ? v(good) : weird());
  // a dim that is sometimes big: only where the inputs stay small and the result is what is big
  const db = () => (chance(0.04) ? pick(BIG.slice(0, 2)) : d());

  const T = {
    attentionForward() {
      const B = d1(), H = d1(), Tq = d(), Tk = d(), D = d();
      const o = {};
      if (chance(0.4)) o.causal = v(chance(0.5));
      if (chance(0.2)) o.scale = num(pick([0.5, 1, 1e-30, 1e30, 3e38]));
      if (chance(0.25)) o.mask = chance(0.5) ? t([Tq, Tk], 'i32', 'ids:2') : t([B, Tq, Tk], 'i32', 'ids:2');
      const f = chance(0.15) ? 'big' : 'rand';
      return [t([B, H, Tq, D], 'f32', f), t([B, H, Tk, D], 'f32', f), t([B, H, Tk, D]), opt(o)];
    },
    attentionBackward() {
      const B = d1(), H = d1(), Tq = d(), Tk = d(), D = d();
      const o = chance(0.5) ? { causal: v(chance(0.5)) } : {};
      if (chance(0.2)) o.mask = t([Tq, Tk], 'i32', 'ids:2');
      return [t([B, H, Tq, D]), t([B, H, Tk, D]), t([B, H, Tk, D]), t([B, H, Tq, D]), t([B, H, Tq]), t([B, H, Tq, D]), opt(o)];
    },
    boxIou() {
      const N = db(), M = N > 1000 ? pick([N, 46341]) : d();
      return [boxes([N, 4]), boxes([M, 4]), opt(chance(0.5) ? { kind: v(pick(['iou', 'giou', 'giou', 'diou', 1])) } : {})];
    },
    cycleReward() {
      const B = d1(), G = d(), N = d();
      const o = {};
      for (const k of ['iouWeight', 'l1Weight', 'eps']) if (chance(0.3)) o[k] = num(pick([0, 1, 2, 1e-4, 1e38, 1e39, 3.4e38]));
      if (chance(0.3)) o.mask = t([B, N], 'f32', pick(['ones', 'zeros', 'rand', 'ids:2']));
      return [boxes([B, G, N, 4]), boxes([B, N, 4]), opt(o)];
    },
    gumbelSoftmax() {
      const o = { tau: num(pick([1, 0.5, 2, 1e-30, 1e-45, 1e38])), seed: num(pick([0, 1, 7, 2 ** 53])) };
      if (chance(0.5)) o.hard = v(chance(0.5));
      if (chance(0.3)) o.offset = num(pick([0, 1, 2 ** 40]));
      return [t([d(), d()]), opt(o)];
    },
    gumbelSoftmaxBackward() { const s = [d(), d()]; return [t(s), t(s, 'f32', 'rand'), num(pick([1, 0.5, 1e-30]))]; },
    vqNearest() { const D = d(); return [t([d(), D]), t([d(), D])]; },
    vqGather() { const K = d(); return [t([K, d()]), ids(chance(0.5) ? [d()] : [d(), d()], K)]; },
    vqStats() {
      const N = d(), K = d(), big = chance(0.1);  // a big K with D >= 1: over the limit, never a legal 4 GB
      return [t([N, big || chance(0.2) ? 1 : d()]), ids([N], K), num(big ? pick([2 ** 31 - 1, 2 ** 30, 1e6]) : K)];
    },
    unary() { return [t(shape()), v(pick(['exp', 'log', 'tanh', 'sigmoid', 'relu', 'gelu', 'nope']))]; },
    unaryBackward() { const s = shape(); return [t(s), t(s), v(pick(['exp', 'log', 'tanh', 'sigmoid', 'relu', 'gelu']))]; },
    affine() { return [t(shape()), num(pick([1, -2, 0.5])), num(pick([0, 1, 1e38]))]; },
    binary() {
      const s = shape();
      return [t(s), t(s.slice(int(0, s.length))), v(pick(['add', 'sub', 'mul', 'mul', 'div']))];
    },
    axpy() { const s = shape(); return [t(s), t(s), num(pick([1, -1, 0.5]))]; },
    fill() { return [t(shape()), num(pick([0, 1, -3.5, NaN, Infinity]))]; },
    sumToShape() { const s = shape(); return [t(s), v(s.slice(int(0, s.length))), num(1)]; },
    sumLast() { return [t(shape()), num(1)]; },
    expandLast() { const big = chance(0.05); return [t(big ? [pick([2, 3]), d()] : shape()), num(big ? pick([2 ** 31 - 1, 65536]) : d()), num(1)]; },
    sumSquares() { return [t(shape())]; },
    matmul() {
      const M = db(), K = M > 1000 ? 1 : d(), N = M > 1000 ? pick([M, 46341]) : d();
      const batch = chance(0.3) ? [d1()] : [];
      const o = {};
      if (chance(0.3)) o.transA = v(chance(0.5));
      if (chance(0.3)) o.transB = v(chance(0.5));
      const a = o.transA && o.transA.v ? [...batch, K, M] : [...batch, M, K];
      const b = o.transB && o.transB.v ? [...batch, N, K] : [...batch, K, N];
      return [t(a), t(b), opt(o)];
    },
    linear() {
      const S = db(), In = S > 1000 ? 1 : d(), Out = S > 1000 ? pick([S, 46341]) : d();
      const args = [t([S, In]), t([Out, In])];
      if (chance(0.5)) args.push(t([Out]));
      return args;
    },
    permute() {
      const s = shape();
      const p = s.map((_, i) => i);
      for (let i = p.length - 1; i > 0; i--) { const j = int(0, i); [p[i], p[j]] = [p[j], p[i]]; }
      return [t(s), v(p)];
    },
    slice() {
      const s = shape();
      const ax = s.length ? int(0, s.length - 1) : 0, n = s[ax] ?? 0;
      const a = int(0, n);
      return [t(s), num(ax), num(a), num(int(a, n))];
    },
    sliceBackward() {
      const big = chance(0.05), s = big ? [pick([2, 3]), d()] : shape();
      const ax = big ? 1 : s.length ? int(0, s.length - 1) : 0;
      const size = big ? 2 ** 31 - 1 : (s[ax] ?? 0) + int(0, 3);
      return [t(s), num(ax), num(int(0, Math.max(0, Math.min(size, 8) - (s[ax] ?? 0)))), num(size)];
    },
    concat() {
      const s = shape();
      if (!s.length) s.push(d());
      const ax = int(0, s.length - 1);
      const xs = Array.from({ length: int(0, 3) }, () => { const c = s.slice(); c[ax] = d(); return t(c); });
      return [{ a: xs }, num(ax)];
    },
    layerNorm() { const s = shape(1), dd = s[s.length - 1]; return [t(s), t([dd]), t([dd]), num(pick([1e-5, 0, 1e-30]))]; },
    layerNormBackward() {
      const s = shape(1), dd = s[s.length - 1], lead = s.slice(0, -1);
      return [t(s), t(s), t([dd]), t(lead), t(lead, 'f32', 'ones')];
    },
    softmax() { return [t(shape()), v(chance(0.5))]; },
    softmaxBackward() { const s = shape(); return [t(s), t(s), v(chance(0.5))]; },
    crossEntropy() { const N = d(), V = d(); return [t([N, V]), ids([N], V), num(pick([-100, 0, 1]))]; },
    crossEntropyBackward() {
      const N = d(), V = d();
      return [t([N, V]), ids([N], V), t([N]), t([N]), num(pick([-100, 0, 1]))];
    },
    embedding() {
      const big = chance(0.04), V = big ? 1 : d(), D = big ? 46341 : d();
      return [t([V, D]), ids(big ? [46341] : chance(0.5) ? [d()] : [d(), d()], V)];
    },
    embeddingBackward() {
      const big = chance(0.05), S = d(), D = big ? pick([2, 3]) : d(), V = big ? pick([2 ** 31 - 1, 2 ** 30]) : d();
      return [t([S, D]), ids([S], V), num(V)];
    },
    adamw() {
      const n = int(0, 3), lists = [[], [], [], []];
      for (let i = 0; i < n; i++) { const s = shape(); for (const l of lists) l.push(t(s)); }
      const o = {};
      for (const k of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step']) {
        if (chance(0.4)) o[k] = num(pick({ lr: [1e-3, 1e39, 0], beta1: [0.9, 1, 0], beta2: [0.999, 1], eps: [1e-8, 0, 1e-50], weightDecay: [0, 0.1], step: [1, 2, 0, 1.5] }[k]));
      }
      return [...lists.map((l) => ({ a: l })), opt(o)];
    },
    fromArray() {
      const s = shapeArg();
      const n = Array.isArray(s) && s.every((x) => Number.isInteger(x) && x >= 0) ? s.reduce((a, b) => a * b, 1) : 3;
      const len = n <= 1 << 16 ? (chance(0.85) ? n : int(0, 8)) : 0;
      const dt = pick(['f32', 'f32', 'i32', 'f64', undefined]);
      const data = chance(0.9) ? code(`new ${dt === 'i32' ? 'Int32' : 'Float32'}Array(${len})`)
        : code(pick(['new Float32Array(new ArrayBuffer(20), 4, 3)', '[1, 2, 3]', 'new Float64Array(3)', 'null',
          '(() => { const a = new Float32Array(4); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; })()']));
      return [data, v(s), v(dt), v(pick(['cpu', 'cpu', 'cuda', 'gpu', undefined]))];
    },
    zeros() { return [v(shapeArg()), v(pick(['f32', 'i32', 'f64', undefined])), v(pick(['cpu', 'cpu', 'cuda', undefined]))]; },
    fmaPeak() { return [v(pick([0.001, 1e-9, 0, -1, 61, NaN, 'x']))]; },  // (its default runs 0.5 s: not fuzzed)
    memory() { return []; },
    backends() { return []; },
    info() { return []; },
    synchronize() { return []; },
    emptyCache() { return []; },
  };
  // Tensor methods, as { method: name }: called on the first argument.
  const METHODS = {
    toArray: () => [],
    to: () => [v(pick(['cpu', 'cuda', 'gpu', undefined, 1]))],
    reshape: () => [v(shapeArg())],
    clone: () => [],
    dispose: () => [],
    shape: null, size: null, dtype: null, device: null, disposed: null,  // getters
  };

  // A tensor shape: rank 0-4 of small dims; sometimes a huge dim beside a zero one (no elements).
  function shape(minRank = 0) {
    const s = Array.from({ length: int(minRank, 4) }, d);
    // [0, 2^31 - 1]: no elements, and reductions over the last dim stay empty; [2^20, 0]: a million
    // empty rows (a reduction of [2^31 - 1, 0] is a legal 8 GB result, which the fuzzer does not make)
    if (chance(0.03) && s.length >= 2) { if (chance(0.5)) { s[0] = 0; s[1] = pick(BIG); } else { s[0] = pick([46341, 1 << 20]); s[1] = 0; } }
    return s;
  }
  // A shape passed as an argument: also negative, fractional, non-numeric and too-large entries.
  function shapeArg() {
    if (chance(0.75)) return shape();
    const s = shape();
    const bad = pick([-1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 31 - 1, '2', null, 2 ** 53]);
    if (s.length && chance(0.7)) s[int(0, s.length - 1)] = bad; else s.push(bad);
    if (chance(0.2)) return pick([[2 ** 16, 2 ** 16], [46341, 46341], [2 ** 31 - 1, 2], Array(9).fill(1), 'x', 5]);
    return tame(s);
  }

  // Mutations: one thing off at a time, so checks past the first are reached too.
  function tensors(args, out = []) {
    for (const a of args) {
      if (a && a.t) out.push(a);
      else if (a && a.a) tensors(a.a, out);
      else if (a && a.o) tensors(Object.values(a.o), out);
    }
    return out;
  }
  function mutate(args) {
    const ts = tensors(args);
    const m = int(0, 9);
    if (m <= 2 && ts.length) {
      const x = pick(ts), s = x.t[0];
      if (m === 0 && s.length) s[int(0, s.length - 1)] = pick([0, 1, 2, 3, 9]);
      else if (m === 1) { if (chance(0.5) && s.length) s.pop(); else s.push(pick([1, 2])); }
      else x.t[1] = x.t[1] === 'f32' ? 'i32' : 'f32';
    } else if (m === 3 && ts.length) pick(ts).disposed = true;
    else if (m === 4 && ts.length) { const x = pick(ts); x.view = x.t[0].slice(); x.t[0] = [x.t[0].reduce((a, b) => a * b, 1)]; }
    else if (m === 5 && ts.length) pick(ts).t[2] = pick(['nan', 'inf', 'special', 'big', 'zeros']);
    else if (m === 6 && args.length) args[int(0, args.length - 1)] = weird();
    else if (m === 7) { if (chance(0.5)) args.pop(); else args.push(weird()); }
    else if (m === 8) {
      const o = args.find((a) => a && a.o);
      if (o) o.o[pick(['causal', 'scale', 'mask', 'tau', 'hard', 'seed', 'offset', 'kind', 'iouWeight', 'l1Weight', 'eps', 'transA', 'transB', 'lr', 'step', 'bogus'])] = weird();
    } else if (ts.length >= 2) { const [a, b] = [pick(ts), pick(ts)]; a.t = b.t; }  // the same data twice (aliasing)
    return args;
  }

  function lit(x) {
    if (x === undefined) return 'undefined';
    if (typeof x === 'number') return Object.is(x, -0) ? '-0' : Number.isNaN(x) ? 'NaN' : String(x);
    if (Array.isArray(x)) return `[${x.map(lit).join(', ')}]`;
    if (x && typeof x === 'object') return `{ ${Object.entries(x).map(([k, y]) => `${k}: ${lit(y)}`).join(', ')} }`;
    return JSON.stringify(x);
  }
  // A tensor at or just under the limit is legal and costs up to 8 GB: the fuzzer makes none (it
  // zeroes the largest dim of such a shape); shapes over the limit stay, as errors to be raised.
  function tame(shape) {
    const n = shape.reduce((x, y) => x * y, 1);
    if (n > 2 ** 22 && n <= 2 ** 31 - 1 && shape.every((x) => Number.isInteger(x) && x >= 0)) shape[shape.indexOf(Math.max(...shape))] = 0;
    return shape;
  }
  function render(a) {
    if (a.t) {
      tame(a.t[0]);
      if (a.view) tame(a.view);
      let s = `T(${lit(a.t[0])}, '${a.t[1]}', '${a.t[2]}', ${a.t[3]})`;
      if (a.view) s = `V(${s}, ${lit(a.view)})`;
      return a.disposed ? `D(${s})` : s;
    }
    if (a.a) return `[${a.a.map(render).join(', ')}]`;
    if (a.o) return `{ ${Object.entries(a.o).map(([k, y]) => `${k}: ${render(y)}`).join(', ')} }`;
    if ('code' in a) return a.code;
    return lit(a.v);
  }

  const names = Object.keys(T);
  return function next() {
    if (chance(0.08)) {
      const m = pick(Object.keys(METHODS));
      const self = t(shape(), pick(['f32', 'i32']));
      if (chance(0.15)) self.disposed = true;
      if (chance(0.1)) { self.view = self.t[0].slice(); self.t[0] = [self.t[0].reduce((a, b) => a * b, 1)]; }
      const recv = chance(0.03) ? '({})' : render(self);
      if (!METHODS[m]) return { fn: `Tensor.${m}`, code: `${recv}.${m}`, check: null };
      const margs = METHODS[m]();
      const c = chance(0.03) ? `raw.NativeTensor.prototype.${m}.call(${recv}${margs.map((x) => ', ' + render(x)).join('')})`
        : `${recv}.${m}(${margs.map(render).join(', ')})`;
      return { fn: `Tensor.${m}`, code: c, check: null };
    }
    const fn = pick(names);
    let args = T[fn]();
    const pristine = fn === 'fmaPeak' || chance(0.5);
    if (!pristine) args = mutate(mutate(args).slice());
    return { fn, code: `raw.${fn}(${args.map(render).join(', ')})`, check: pristine ? fn : null };
  };
}

// Contract checks on successful, unmutated calls: what the docs promise about values.
function contract(fn, result, code) {
  const arr = (h) => (h && typeof h.toArray === 'function' && !h.disposed ? h.toArray() : null);
  const finiteInputs = !/'(nan|inf|special|big|bigboxes)'/.test(code);
  if (fn === 'boxIou' && !/'(nan|inf|special)'/.test(code)) {
    const giou = /giou/.test(code);
    for (const x of arr(result) || []) if (!(x >= (giou ? -1 : 0) && x <= 1)) return `boxIou gave ${x}, outside [${giou ? -1 : 0}, 1]`;
  }
  if (fn === 'cycleReward' && !/'(nan|inf|special|big)'/.test(code)) {
    for (const x of arr(result.iou) || []) if (!(x >= 0 && x <= 1)) return `cycleReward iou ${x} outside [0, 1]`;
    for (const k of ['reward', 'advantage']) for (const x of arr(result[k]) || []) if (!Number.isFinite(x)) return `cycleReward ${k} ${x} not finite`;
  }
  // (a scale so large that scores overflow f32 is left out: see docs/attention.md on overflow)
  if (fn === 'attentionForward' && finiteInputs && !/mask|causal: true|scale: [0-9.]+e\+/.test(code)) {
    const lse = arr(result.lse) || [];
    const tk = /T\(\[\d+, \d+, (\d+), \d+\]/g;
    tk.exec(code);
    const m = tk.exec(code);  // k's shape
    if (m && Number(m[1]) > 0) for (const x of lse) if (x === -Infinity || Number.isNaN(x)) return `attention lse ${x} for a row that sees every key`;
    for (const x of arr(result.out) || []) if (Number.isNaN(x)) return 'attention out NaN on finite inputs';
  }
  if (fn === 'vqNearest' && finiteInputs) {
    const K = Number((/T\(\[(\d+), \d+\], 'f32', '\w+', \d+\)\)$/.exec(code) || [])[1]);
    for (const x of arr(result.indices) || []) if (!(x >= 0 && x < K)) return `vqNearest index ${x} outside [0, ${K})`;
  }
  return null;
}

module.exports = { generator, contract };
