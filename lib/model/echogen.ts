// EchoGen: one decoder-only transformer over the unified vocabulary with two heads, the image-code
// head and the text/box head (docs/design.md section 5).
import * as path from 'path';
import { Device, Tensor, tensor, tidy } from '../tensor';
import * as ops from '../autograd';
import { gumbelSoftmax } from '../kernels';
import { Embedding, InitRng, KvCache, LayerNorm, Linear, Module, TransformerBlock } from '../nn';
import { EchoGenConfig, ModelShape, PresetName, checkConfig, presets } from './config';
import { Vocabulary } from './vocabulary';
import { PatchVq } from './vq_tokenizer';
import { Batch } from './batch';
import { Layout, i2lPrompt, l2iPrompt } from './sequences';
import { Box, COORD_BINS, dequantizeBox } from './layout_tokens';
import { withDecoder } from './decoder';
import { imagesToTensor } from './images';
import { WEIGHTS_FILE, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { CheckpointError } from './safetensors';

export interface RunOptions {
  causal?: boolean;
  mask?: Tensor;
  /** One cache per block (decoding, under ops.noGrad). */
  caches?: KvCache[];
}

export interface GenerateOptions {
  /** Softmax temperature; 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Seed of the Gumbel noise that samples the codes (same seed, same images). Default 0. */
  seed?: number;
}

export interface GenerateResult {
  /** i32 [B, tokensPerImage] image codes. */
  codes: Tensor;
  /** f32 [B, S, S, 3] decoded images. */
  images: Tensor;
}

export interface Losses {
  /** Mean cross-entropy over the image codes of the batch (null when it has none). */
  image: Tensor | null;
  /** Mean cross-entropy over the box tokens of the batch (null when it has none). */
  text: Tensor | null;
}

export class EchoGen extends Module {
  readonly config: EchoGenConfig;
  readonly vocab: Vocabulary;
  vq: PatchVq;
  readonly tokens: Embedding;
  readonly positions: Embedding;
  readonly blocks: TransformerBlock[];
  readonly lnFinal: LayerNorm;
  readonly imageHead: Linear;
  readonly textHead: Linear;

  constructor(config: EchoGenConfig, vq: PatchVq) {
    super();
    const c = checkConfig(config, 'EchoGen');
    if (vq.config.codebookSize !== c.codebookSize || vq.config.patchSize !== c.patchSize || vq.config.imageSize !== c.imageSize) {
      throw new RangeError(`EchoGen: the VQ tokenizer (K=${vq.config.codebookSize}, patch ${vq.config.patchSize}, image ${vq.config.imageSize}) does not match the config (K=${c.codebookSize}, patch ${c.patchSize}, image ${c.imageSize})`);
    }
    this.config = c;
    this.vq = vq;
    this.vocab = new Vocabulary(c.words, c.codebookSize);
    const rng = new InitRng(c.seed);
    this.tokens = this.addModule('tokens', new Embedding(this.vocab.size, c.dim, { rng: rng.fork() }));
    this.positions = this.addModule('positions', new Embedding(c.maxPositions, c.dim, { rng: rng.fork() }));
    this.blocks = Array.from({ length: c.layers }, (_, i) =>
      this.addModule(`blocks.${i}`, new TransformerBlock(c.dim, c.heads, { mlpRatio: c.mlpRatio, depth: c.layers, rng: rng.fork() })));
    this.lnFinal = this.addModule('lnFinal', new LayerNorm(c.dim));
    this.imageHead = this.addModule('imageHead', new Linear(c.dim, c.codebookSize, { bias: false, rng: rng.fork(), std: 0.02 }));
    this.textHead = this.addModule('textHead', new Linear(c.dim, this.vocab.textSize, { bias: false, rng: rng.fork(), std: 0.02 }));
  }

  /** A model of a preset's shape over `words`, with a fitted VQ tokenizer. */
  static create(shape: PresetName | ModelShape, opts: { words: readonly string[]; vq: PatchVq; seed?: number }): EchoGen {
    const s = typeof shape === 'string' ? presets[shape] : shape;
    if (!s) throw new RangeError(`EchoGen.create: unknown preset ${JSON.stringify(shape)} (known: ${Object.keys(presets).join(', ')})`);
    return new EchoGen({ ...s, words: [...opts.words], seed: opts.seed ?? 0 }, opts.vq);
  }

  /** Reads a checkpoint written by save(); a missing, truncated or mismatched file is a CheckpointError naming it. */
  static load(dir: string): EchoGen {
    const { config, state, codebook } = loadCheckpoint(dir);
    let model: EchoGen | null = null;
    try {
      model = new EchoGen(config, new PatchVq({ imageSize: config.imageSize, patchSize: config.patchSize, codebookSize: config.codebookSize }, codebook));
      model.loadStateDict(state);
      return model;
    } catch (e) {
      if (model) model.dispose(); else codebook.dispose();
      throw new CheckpointError(path.join(dir, WEIGHTS_FILE), (e as Error).message);
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
  }

  save(dir: string): void { saveCheckpoint(dir, this.config, this.stateDict(), this.vq.codebook); }

  override to(device: Device): this {
    super.to(device);
    if (this.vq.codebook.device !== device) {
      const old = this.vq;
      this.vq = new PatchVq(old.config, old.codebook.to(device));
      old.dispose();
    }
    return this;
  }

  override dispose(): void {
    super.dispose();
    this.vq.dispose();
  }

  /** Token plus position embeddings: ids, pos i32 [B, T] -> [B, T, dim]. */
  embed(ids: Tensor, pos: Tensor): Tensor {
    return ops.add(this.tokens.forward(ids), this.positions.forward(pos));
  }

  /** The rows of the token table that embed image codes, [K, dim] (differentiable; for DJO's soft tokens). */
  imageTokenTable(): Tensor {
    return ops.slice(this.tokens.weight, 0, this.vocab.textSize, this.vocab.size);
  }

  /** The blocks and the final LayerNorm: [B, T, dim] -> [B, T, dim]. */
  run(x: Tensor, opts: RunOptions = {}): Tensor {
    if (opts.caches && opts.caches.length !== this.blocks.length) throw new RangeError(`EchoGen.run: caches must have one entry per block (${this.blocks.length}), got ${opts.caches.length}`);
    let h = x;
    this.blocks.forEach((blk, i) => { h = blk.forward(h, { causal: opts.causal, mask: opts.mask, cache: opts.caches?.[i] }); });
    return this.lnFinal.forward(h);
  }

  /** Hidden states [B, T, dim] of a collated batch. */
  forward(batch: Batch): Tensor {
    return this.run(this.embed(batch.ids, batch.pos), { causal: true, mask: batch.mask ?? undefined });
  }

  imageLogits(h: Tensor): Tensor { return this.imageHead.forward(h); }
  textLogits(h: Tensor): Tensor { return this.textHead.forward(h); }

  /** Both tasks' mean cross-entropies on the rows the batch marks (docs/design.md section 5). */
  loss(batch: Batch, hidden?: Tensor): Losses {
    const h = hidden ?? this.forward(batch);
    const flat = ops.reshape(h, [batch.batch * batch.length, this.config.dim]);
    const ce = (rows: Tensor, targets: Tensor, head: Linear): Tensor => ops.crossEntropy(head.forward(ops.gatherRows(flat, rows)), targets);
    return {
      image: batch.imageCount ? ce(batch.imageRows, batch.imageTargets, this.imageHead) : null,
      text: batch.textCount ? ce(batch.textRows, batch.textTargets, this.textHead) : null,
    };
  }

  /** Throws when a position id is out of the position table (before any kernel sees it). */
  checkPositions(pos: Int32Array | readonly number[]): void {
    let max = -1;
    for (const p of pos) if (p > max) max = p;
    if (max >= this.config.maxPositions) throw new RangeError(`EchoGen: a sequence reaches position ${max}, beyond maxPositions ${this.config.maxPositions}`);
  }

  /** Draws images for one layout or a batch (KV-cache decoding of the image codes). */
  generate(layouts: Layout | readonly Layout[], opts: GenerateOptions = {}): GenerateResult {
    const list = Array.isArray(layouts) ? layouts as readonly Layout[] : [layouts as Layout];
    const temperature = opts.temperature ?? 1;
    const seed = opts.seed ?? 0;
    if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`generate: opts.temperature must be a finite number >= 0, got ${temperature}`);
    if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`generate: opts.seed must be a non-negative integer, got ${seed}`);
    if (list.length === 0) throw new RangeError('generate: need at least one layout');
    const prompts = list.map((l) => l2iPrompt(this.vocab, l));
    const B = list.length, K = this.config.codebookSize, n = this.vq.tokensPerImage;
    const codes = withDecoder(this, prompts, (dec) => {
      const table = this.imageTokenTable();
      let h = dec.prefill();
      const picked: Tensor[] = [];
      for (let s = 0; s < n; s++) {
        const logits = this.imageLogits(h);
        const code = temperature === 0 ? argmaxRows(logits) : gumbelSoftmax(ops.scale(logits, 1 / temperature), { tau: 1, seed, offset: s * B * K }).indices;
        picked.push(code);
        if (s + 1 < n) h = dec.step(ops.embedding(table, code));
      }
      // Read back once at the end (no per-step synchronisation); concat has no i32 kernel.
      const out = new Int32Array(B * n);
      picked.forEach((c, s) => c.toArray().forEach((v, b) => { out[b * n + s] = v; }));
      return tensor(out, [B, n], { dtype: 'i32', device: this.device });
    });
    const images = this.vq.decode(codes);
    return { codes, images };
  }

  /**
   * The box of `expr` in `image`: an f32 tensor [S, S, 3] in [0, 1] or the world's byte image; or a
   * batch (tensor [B, S, S, 3] or byte images) with one expression each.
   */
  ground(image: Tensor | Uint8Array, expr: string): Box;
  ground(images: Tensor | readonly Uint8Array[], exprs: readonly string[]): Box[];
  ground(images: Tensor | Uint8Array | readonly Uint8Array[], exprs: string | readonly string[]): Box | Box[] {
    const single = typeof exprs === 'string';
    const list = single ? [exprs as string] : exprs as readonly string[];
    if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw new TypeError('ground: exprs must be a string or an array of strings');
    const S = this.config.imageSize;
    const owned = !(images instanceof Tensor);
    const input = images instanceof Tensor ? images : imagesToTensor(images instanceof Uint8Array ? [images] : images, S, this.device);
    const viewed = input.rank === 3 ? input.reshape([1, ...input.shape]) : input;
    try {
      if (viewed.rank !== 4 || viewed.shape[0] !== list.length) {
        throw new RangeError(`ground: expected ${single ? `an image [${S}, ${S}, 3]` : `images [${list.length}, ${S}, ${S}, 3]`} for ${list.length} expression(s), got [${input.shape}]`);
      }
      const bins = this.groundBins(viewed, list);
      const boxes = bins.map((b) => dequantizeBox(b));
      return single ? boxes[0] : boxes;
    } finally {
      if (viewed !== input) viewed.dispose();
      if (owned) input.dispose();
    }
  }

  /** Greedy coordinate bins for a batch of images [B, S, S, 3] and one expression each. */
  private groundBins(images: Tensor, list: readonly string[]): number[][] {
    const batch = images.device === this.device ? images : images.to(this.device);
    let codes: Float32Array | Int32Array;
    try {
      codes = tidy(() => this.vq.encode(batch).toArray());
    } finally {
      if (batch !== images) batch.dispose();
    }
    const n = this.vq.tokensPerImage;
    const prompts = list.map((e, b) => i2lPrompt(this.vocab, codes.subarray(b * n, (b + 1) * n), e));
    const bins = withDecoder(this, prompts, (dec) => {
      const out = list.map(() => [] as number[]);
      let h = dec.prefill();
      for (let s = 0; s < 4; s++) {
        const logits = ops.slice(this.textLogits(h), 1, this.vocab.coordStart, this.vocab.coordStart + COORD_BINS).toArray();
        const ids = out.map((o, b) => {
          // x2 and y2 are read from bins at or after x1 and y1, so the box is never inverted.
          const from = s >= 2 ? o[s - 2] : 0;
          o.push(argmax(logits, b * COORD_BINS + from, (b + 1) * COORD_BINS) - b * COORD_BINS);
          return this.vocab.coord(o[s]);
        });
        if (s < 3) h = dec.step(this.tokens.forward(tensor(Int32Array.from(ids), [list.length], { dtype: 'i32', device: this.device })));
      }
      return out;
    });
    return bins;
  }
}

function argmax(a: Float32Array | Int32Array, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Row-wise argmax of [B, V] logits as i32 [B] (greedy decoding; reads the logits back). */
function argmaxRows(logits: Tensor): Tensor {
  const [B, V] = logits.shape;
  const a = logits.toArray();
  const idx = new Int32Array(B);
  for (let b = 0; b < B; b++) idx[b] = argmax(a, b * V, (b + 1) * V) - b * V;
  return tensor(idx, [B], { dtype: 'i32', device: logits.device });
}

