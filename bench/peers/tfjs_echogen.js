// The echogen unified decoder written with @tensorflow/tfjs, for the train_step suite: the same
// parameters (names and shapes of EchoGen.stateDict()), pre-LN blocks, multi-head attention with the
// causal AND segment mask, tanh-GELU MLP, final LayerNorm, the image-code and text/box heads, mean
// cross-entropy on the rows the batch marks, global-norm clipping and AdamW (torch semantics).
//
// Run as a child process, one backend per process (the wasm module can be initialised only once):
//   node bench/peers/tfjs_echogen.js --backend cpu|wasm [--threads N] --input in.safetensors \
//     --config '{...}' --out result.json [--max-time s] [--min-samples n] [--verify-steps n]
// in.safetensors holds `param.<name>` (the initial weights) and `batch.<name>` (the collated batch);
// result.json gets { backend, simd, threads, tfjs, params, ownInitLoss, losses, ms, rme, samples }.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const WASM_DIR = path.join(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep;

/** Reads a safetensors file (F32 and I32 only): name -> { dtype, shape, data }. */
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = new Map();
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = h.data_offsets;
    const bytes = new Uint8Array(buf.subarray(base + a, base + b));  // a copy, 4-byte aligned
    const Ctor = h.dtype === 'F32' ? Float32Array : h.dtype === 'I32' ? Int32Array : null;
    if (!Ctor) throw new TypeError(`readSafetensors: ${name} has dtype ${h.dtype}; only F32 and I32 are read`);
    out.set(name, { dtype: h.dtype, shape: h.shape, data: new Ctor(bytes.buffer, 0, (b - a) / 4) });
  }
  return out;
}

/**
 * The tfjs wasm backend refuses threads under Node (WASM_HAS_MULTITHREAD_SUPPORT is hard-wired false,
 * tensorflow/tfjs#3830). What stops it is plumbing, not the engine: emscripten's Node pthread code
 * wants files where tfjs hands it blob: URLs, the posted main script refers to the bundle's
 * require$$N / commonjsGlobal, and XNNPACK caps its pool at logical cores / 2 (1 on a 2-core VM).
 * This writes the worker and main script to files, supplies those names and reports twice the
 * cores while the backend starts. Returns a function that undoes the patches.
 */
function enableWasmThreads(tf, wasm, threads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-wasm-threads-'));
  // workers started later (the pool grows on demand) read these files too: keep them to the end
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const mainJs = path.join(dir, 'main.js');
  const OrigBlob = globalThis.Blob;
  const origCreate = URL.createObjectURL;
  const origCpus = os.cpus;
  const prelude = "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), " +
    "require$$4 = require('os'), commonjsGlobal = globalThis;\n";
  class TextBlob extends OrigBlob {
    constructor(parts, opts) {
      super(parts, opts);
      this.text_ = parts.map(String).join('');
      if (this.text_.startsWith('var WasmBackendModuleThreadedSimd')) fs.writeFileSync(mainJs, prelude + this.text_);
    }
  }
  globalThis.Blob = TextBlob;
  URL.createObjectURL = (blob) => {
    if (!(blob instanceof TextBlob)) return origCreate(blob);
    // the pthread worker script: it turns the posted main-script Blob into a URL itself
    const file = path.join(dir, 'worker.js');
    fs.writeFileSync(file, `URL.createObjectURL = () => ${JSON.stringify(mainJs)}; URL.revokeObjectURL = () => {};\n${blob.text_}`);
    return file;
  };
  os.cpus = () => { const c = origCpus(); return [...c, ...c]; };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  return () => {
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    os.cpus = origCpus;
  };
}

/** Selects a backend; resolves to what it actually runs with. */
async function setupBackend(tf, backend, threads) {
  if (backend === 'cpu') {
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs: the cpu backend did not start');
    return { backend: 'cpu', simd: false, threads: 1 };
  }
  if (backend !== 'wasm') throw new RangeError(`--backend must be cpu or wasm, got ${backend}`);
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(WASM_DIR);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const undo = threads > 1 ? enableWasmThreads(tf, wasm, threads) : null;
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not start');
  } finally {
    if (undo) undo();
  }
  return { backend: 'wasm', simd, threads: wasm.getThreadsCount() };
}

/** Seeded normal init with echogen's standard deviations (used when no weights are loaded). */
function initStd(name, shape, cfg) {
  const outScale = 1 / Math.sqrt(2 * cfg.layers);
  const hidden = Math.round(cfg.dim * cfg.mlpRatio);
  if (/\.bias$/.test(name)) return { constant: 0 };
  if (/ln\d\.weight$|lnFinal\.weight$/.test(name)) return { constant: 1 };
  if (/^(tokens|positions|imageHead|textHead)\.weight$/.test(name)) return { std: 0.02 };
  if (/attn\.out\.weight$/.test(name)) return { std: outScale / Math.sqrt(cfg.dim) };
  if (/mlp\.proj\.weight$/.test(name)) return { std: outScale / Math.sqrt(hidden) };
  return { std: 1 / Math.sqrt(shape[1]) };
}

/** Parameter names and shapes, in EchoGen.stateDict() order. */
function parameterShapes(cfg) {
  const D = cfg.dim, hidden = Math.round(cfg.dim * cfg.mlpRatio);
  const list = [['tokens.weight', [cfg.vocabSize, D]], ['positions.weight', [cfg.maxPositions, D]]];
  for (let i = 0; i < cfg.layers; i++) {
    const b = `blocks.${i}`;
    list.push([`${b}.ln1.weight`, [D]], [`${b}.ln1.bias`, [D]],
      [`${b}.attn.qkv.weight`, [3 * D, D]], [`${b}.attn.qkv.bias`, [3 * D]],
      [`${b}.attn.out.weight`, [D, D]], [`${b}.attn.out.bias`, [D]],
      [`${b}.ln2.weight`, [D]], [`${b}.ln2.bias`, [D]],
      [`${b}.mlp.fc.weight`, [hidden, D]], [`${b}.mlp.fc.bias`, [hidden]],
      [`${b}.mlp.proj.weight`, [D, hidden]], [`${b}.mlp.proj.bias`, [D]]);
  }
  list.push(['lnFinal.weight', [D]], ['lnFinal.bias', [D]],
    ['imageHead.weight', [cfg.codebookSize, D]], ['textHead.weight', [cfg.textSize, D]]);
  return list;
}

class TfjsEchoGen {
  /**
   * cfg: { dim, layers, heads, mlpRatio, maxPositions, vocabSize, textSize, codebookSize, lr, betas,
   * eps, weightDecay, clip, seed }; weights: Map name -> Float32Array (echogen's), or null for own init.
   */
  constructor(tf, cfg, weights) {
    this.tf = tf;
    this.cfg = cfg;
    this.p = new Map();
    let seed = cfg.seed ?? 1;
    for (const [name, shape] of parameterShapes(cfg)) {
      let init;
      if (weights) {
        const w = weights.get(name);
        if (!w) throw new RangeError(`TfjsEchoGen: the weights lack ${name}`);
        if (w.shape.join(',') !== shape.join(',')) throw new RangeError(`TfjsEchoGen: ${name} is [${w.shape}] in the weights, [${shape}] here`);
        init = tf.tensor(w.data, shape, 'float32');
      } else {
        const s = initStd(name, shape, cfg);
        init = s.constant !== undefined ? tf.fill(shape, s.constant) : tf.randomNormal(shape, 0, s.std, 'float32', seed++);
      }
      this.p.set(name, tf.variable(init, true));
      init.dispose();
    }
    if (weights) {
      const extra = [...weights.keys()].filter((n) => !this.p.has(n));
      if (extra.length) throw new RangeError(`TfjsEchoGen: the weights have parameters this model lacks: ${extra.join(', ')}`);
    }
    this.vars = [...this.p.values()];
    const zeros = (v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false));
    this.m = this.vars.map(zeros);
    this.v = this.vars.map(zeros);
    this.t = 0;
  }

  numParameters() { return this.vars.reduce((s, v) => s + v.size, 0); }

  /** The batch as tfjs tensors; the mask becomes an additive bias [B, 1, T, T] (0 or -1e9), built once. */
  prepareBatch(b) {
    const tf = this.tf;
    const B = b.ids.shape[0], T = b.ids.shape[1];
    const bias = new Float32Array(B * T * T);
    for (let n = 0; n < B; n++) {
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const idx = (n * T + i) * T + j;
          const ok = j <= i && (!b.mask || b.mask.data[idx] !== 0);
          bias[idx] = ok ? 0 : -1e9;
        }
      }
    }
    const i32 = (x) => tf.tensor(x.data, x.shape, 'int32');
    const oneHot = (t, n) => tf.tidy(() => tf.oneHot(i32(t), n).toFloat());
    return {
      B, T,
      ids: i32({ data: b.ids.data, shape: [B * T] }),
      pos: i32({ data: b.pos.data, shape: [B * T] }),
      bias: tf.tensor(bias, [B, 1, T, T]),
      imageRows: i32(b.imageRows),
      textRows: i32(b.textRows),
      imageLabels: oneHot(b.imageTargets, this.cfg.codebookSize),
      textLabels: oneHot(b.textTargets, this.cfg.textSize),
    };
  }

  /**
   * Rows of a table looked up by ids. tf.gather's gradient needs UnsortedSegmentSum, which the wasm
   * backend lacks; scatterND sums duplicate ids, so it is the same scatter-add on every backend.
   */
  gatherRows(table, ids) {
    const tf = this.tf;
    const idx = ids.reshape([ids.size, 1]);
    const f = tf.customGrad((t) => {
      return { value: tf.gather(t, ids), gradFunc: (dy) => tf.scatterND(idx, dy, t.shape) };
    });
    return f(table);
  }

  /**
   * a b for 2-D a [M, K] and b [K, N], with the gradients dy b^T and a^T dy formed the same way.
   * tfjs-backend-wasm runs a matMul on XNNPACK only when neither side is transposed and the batch is
   * 1; every other product (so tf.matMul's own gradients, and any transposeA/B) goes to a scalar loop
   * that is 10-20x slower. Explicit transposes (cheap copies) keep all three products on XNNPACK.
   * (Per-slice 2-D products do not pay off for the batched attention products: slicing a wasm tensor
   * copies all of it, so those stay batched tf.matMul calls.)
   */
  matMul2d(a, b) {
    const tf = this.tf;
    const f = tf.customGrad((x, y, save) => {
      save([x, y]);  // the inputs of a recorded op may be freed before backward runs; saved ones are not
      return { value: tf.matMul(x, y), gradFunc: (dy, [sx, sy]) => [tf.matMul(dy, tf.transpose(sy)), tf.matMul(tf.transpose(sx), dy)] };
    });
    return f(a, b);
  }

  /**
   * x W^T (+ b), W stored [out, in] as echogen stores it. Not tf.fused.matMul: in tfjs-backend-wasm
   * 4.22 its bias path indexes the bias by the flat output index (a wrong bias from the second row on),
   * which this suite's loss check caught; the bias is a separate broadcast add.
   */
  linear(x, name, bias = true) {
    const tf = this.tf;
    const y = this.matMul2d(x, tf.transpose(this.p.get(`${name}.weight`)));
    return bias ? tf.add(y, this.p.get(`${name}.bias`)) : y;
  }

  layerNorm(x, name) {
    const tf = this.tf;
    const mean = tf.mean(x, -1, true);
    const xc = tf.sub(x, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), 1e-5));
    return tf.add(tf.mul(tf.mul(xc, rstd), this.p.get(`${name}.weight`)), this.p.get(`${name}.bias`));
  }

  /** tanh GELU, as echogen's kernel. */
  gelu(x) {
    const tf = this.tf;
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  }

  attention(x, name, batch) {
    const tf = this.tf;
    const { B, T } = batch;
    const H = this.cfg.heads, Dh = this.cfg.dim / H;
    const heads = (t) => tf.transpose(tf.reshape(t, [B, T, H, Dh]), [0, 2, 1, 3]);
    const [q, k, v] = tf.split(this.linear(x, `${name}.qkv`), 3, 1).map(heads);
    const scores = tf.add(tf.matMul(tf.mul(q, 1 / Math.sqrt(Dh)), k, false, true), batch.bias);
    const o = tf.matMul(tf.softmax(scores), v);
    return this.linear(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B * T, this.cfg.dim]), `${name}.out`);
  }

  crossEntropy(logits, labels) {
    const tf = this.tf;
    return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1)));
  }

  /** { image, text } mean cross-entropies (scalars) of a prepared batch. */
  losses(batch) {
    const tf = this.tf;
    let x = tf.add(this.gatherRows(this.p.get('tokens.weight'), batch.ids), this.gatherRows(this.p.get('positions.weight'), batch.pos));
    for (let i = 0; i < this.cfg.layers; i++) {
      const b = `blocks.${i}`;
      x = tf.add(x, this.attention(this.layerNorm(x, `${b}.ln1`), `${b}.attn`, batch));
      x = tf.add(x, this.linear(this.gelu(this.linear(this.layerNorm(x, `${b}.ln2`), `${b}.mlp.fc`)), `${b}.mlp.proj`));
    }
    const h = this.layerNorm(x, 'lnFinal');
    const head = (rows, name, labels) => this.crossEntropy(this.linear(this.gatherRows(h, rows), name, false), labels);
    return { image: head(batch.imageRows, 'imageHead', batch.imageLabels), text: head(batch.textRows, 'textHead', batch.textLabels) };
  }

  /** One training step: forward, backward, clip, AdamW. Returns [image loss, text loss] read back. */
  step(batch) {
    const tf = this.tf;
    const c = this.cfg;
    let parts = null;
    const { value, grads } = tf.variableGrads(() => {
      const l = this.losses(batch);
      parts = [tf.keep(l.image), tf.keep(l.text)];
      return tf.add(l.image, l.text);
    }, this.vars);
    const read = parts.map((t) => t.dataSync()[0]);
    parts.forEach((t) => t.dispose());
    value.dispose();
    const g = this.vars.map((v) => grads[v.name]);
    const sq = tf.tidy(() => tf.addN(g.map((x) => tf.sum(tf.square(x)))));
    const norm = Math.sqrt(sq.dataSync()[0]);
    sq.dispose();
    const scale = Number.isFinite(norm) && norm > c.clip ? c.clip / (norm + 1e-6) : 1;
    this.t++;
    const [b1, b2] = c.betas;
    const stepSize = c.lr / (1 - b1 ** this.t), invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** this.t), decay = 1 - c.lr * c.weightDecay;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const gi = scale === 1 ? g[i] : tf.mul(g[i], scale);
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(gi, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(gi), 1 - b2));
        p.assign(tf.sub(tf.mul(p, decay), tf.div(tf.mul(m, stepSize), tf.add(tf.mul(tf.sqrt(v), invSqrtBc2), c.eps))));
        this.m[i].assign(m);
        this.v[i].assign(v);
      });
    });
    g.forEach((x) => x.dispose());
    return read;
  }
}

function parseArgs(argv) {
  const o = { threads: 1, maxTime: 5, minSamples: 5, verifySteps: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new RangeError(`${k} needs a value`);
    if (k === '--backend') o.backend = v;
    else if (k === '--threads') o.threads = Number(v);
    else if (k === '--input') o.input = v;
    else if (k === '--config') o.config = JSON.parse(v);
    else if (k === '--out') o.out = v;
    else if (k === '--max-time') o.maxTime = Number(v);
    else if (k === '--min-samples') o.minSamples = Number(v);
    else if (k === '--verify-steps') o.verifySteps = Number(v);
    else throw new RangeError(`unknown option ${k}`);
  }
  for (const k of ['backend', 'input', 'config', 'out']) if (!o[k]) throw new RangeError(`--${k} is required`);
  if (!Number.isInteger(o.threads) || o.threads < 1) throw new RangeError(`--threads must be a positive integer, got ${o.threads}`);
  return o;
}

/** Times fn as bench/lib/context.js does (benchmark.js, mean per call), with the given settings. */
function time(fn, maxTime, minSamples) {
  const Benchmark = require('benchmark');
  return new Promise((resolve, reject) => {
    const bench = new Benchmark('step', fn, { maxTime, minSamples, initCount: 1 });
    bench.on('complete', function () {
      if (this.error) return reject(this.error);
      resolve({ ms: this.stats.mean * 1e3, rme: this.stats.rme, samples: this.stats.sample.length });
    });
    bench.run({ async: true });
  });
}

/** How full the wasm heap is, for the error message when the module aborts (malloc failure aborts it). */
function wasmHeap(tf) {
  try {
    if (tf.getBackend() !== 'wasm') return '';
    return `; wasm heap ${(tf.backend().wasm.HEAPU8.length / 2 ** 20).toFixed(0)} MiB of at most 4096 MiB`;
  } catch {
    return '';
  }
}

async function main(tf) {
  const o = parseArgs(process.argv.slice(2));
  const info = await setupBackend(tf, o.backend, o.threads);
  const file = readSafetensors(o.input);
  const weights = new Map(), batchData = {};
  for (const [name, t] of file) {
    if (name.startsWith('param.')) weights.set(name.slice(6), t);
    else if (name.startsWith('batch.')) batchData[name.slice(6)] = t;
  }
  const own = new TfjsEchoGen(tf, o.config, null);
  const model = new TfjsEchoGen(tf, o.config, weights);
  const batch = model.prepareBatch(batchData);
  const ownInitLoss = tf.tidy(() => { const l = own.losses(batch); return [l.image.dataSync()[0], l.text.dataSync()[0]]; });
  const params = model.numParameters();
  own.vars.concat(own.m, own.v).forEach((v) => v.dispose());
  // the same steps from the same weights as echogen's check, before timing moves the weights on
  const losses = [];
  for (let s = 0; s < o.verifySteps; s++) losses.push(model.step(batch));
  const timing = await time(() => model.step(batch), o.maxTime, o.minSamples);
  const result = { ...info, tfjs: tf.version.tfjs, params, ownInitLoss, losses, ...timing };
  fs.writeFileSync(o.out, JSON.stringify(result));
}

if (require.main === module) {
  const tf = require('@tensorflow/tfjs');
  main(tf).then(() => process.exit(0), (e) => {  // exit: wasm pthread workers would keep the process alive
    console.error(e && e.stack ? e.stack : e);
    console.error(`${e && e.message ? e.message : e}${wasmHeap(tf)}`);
    process.exit(1);
  });
}

module.exports = { TfjsEchoGen, parameterShapes, readSafetensors, setupBackend };
