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
import { Layout, i2lPrompt, l2iPrompt, l2iSequence } from './sequences';
import { Box, COORD_BINS, dequantizeBox } from './layout_tokens';
import { withDecoder } from './decoder';
import { imagesToTensor } from './images';
import { GEO_FEATURES, GEO_NONE, coordEdgeIds, geoPatch, geoTable, geoXEdge, geoYEdge } from './geometry';
import { BOX_KIND_OTHER, collate } from './batch';
import { LAYOUT_MAP_FEATURES } from './layout_map';
import { RefIndex, RefReadout, RelationPhrases, refIndex } from './ref_readout';
import { PatchBoxIndex } from './patch_boxes';
import { RELATIONS, SHAPES } from '../data/vocab';
import { Rng } from '../data/rng';
import type { TokenSequence } from './sequences';
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

export interface GroundOptions {
  /**
   * Boxes drawn besides the greedy one (default 0: the greedy box alone). With samples > 0 every distinct
   * box is scored by its own log-probability plus l2iWeight times the model's L2I log-likelihood of the
   * image given that box and expression (the other direction of the model), and the best box is returned.
   */
  samples?: number;
  /** Softmax temperature of the drawn boxes (> 0). Default 1. */
  temperature?: number;
  /** Seed of the draws. Default 0. */
  seed?: number;
  /** Weight of the L2I log-likelihood in the score. Default GROUND_L2I_WEIGHT (0.05). */
  l2iWeight?: number;
}

export interface SampleBoxesOptions {
  /** Softmax temperature of each coordinate; 0 = greedy (ground()'s boxes). Default 1. */
  temperature?: number;
  /** Seed of the draws (same seed, same boxes). Default 0. */
  seed?: number;
}

export interface SampledBox {
  box: Box;
  /** The four coordinate bins (0 .. COORD_BINS - 1). */
  bins: number[];
  /** The box's log-probability under the model (temperature 1, every bin allowed). */
  logProb: number;
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
  /**
   * The referring readout's attention loss on the batch's grounding queries (config.refReadout;
   * lib/model/ref_readout.ts), null without it.
   */
  ref: Tensor | null;
  /** The patch-box task's mean cross-entropy over the image prefixes' patches (config.patchBoxes; lib/model/patch_boxes.ts), null without it. */
  patch: Tensor | null;
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
  /** The shared coordinate encoding (config.geometry): a fixed Fourier table and two learned projections. */
  readonly geoOwn: Linear | null = null;
  readonly geoNext: Linear | null = null;
  /** The layout map's projection (config.layoutMap; lib/model/layout_map.ts). */
  readonly layoutMap: Linear | null = null;
  /** The image codes' pixel embedding (config.patchPixels; see tokenTable). */
  readonly patchPixels: Linear | null = null;
  /** The coordinate pointer's query map (config.geometry; see coordLogits). */
  readonly coordQuery: Linear | null = null;
  /** Where a grounding query's expression matches the image (config.refReadout; lib/model/ref_readout.ts). */
  readonly refReadout: RefReadout | null = null;
  /** The patch-box task's map from a patch's final state to its coordinate query (config.patchBoxes; training only). */
  readonly patchBoxHead: Linear | null = null;
  /** With config.patchShapes: the logits of a patch's object's shape from its final state (training only). */
  readonly patchShapeHead: Linear | null = null;
  /** The relation phrases' token ids the readout splits expressions at (config.refRelations). */
  private readonly relationPhrases: RelationPhrases | undefined;
  private geoFeatures: Tensor | null = null;

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
    if (c.geometry) {
      this.geoOwn = this.addModule('geoOwn', new Linear(GEO_FEATURES, c.dim, { bias: false, rng: rng.fork(), std: 0.02 }));
      this.geoNext = this.addModule('geoNext', new Linear(GEO_FEATURES, c.dim, { bias: false, rng: rng.fork(), std: 0.02 }));
      this.coordQuery = this.addModule('coordQuery', new Linear(c.dim, c.dim, { bias: false, rng: rng.fork(), std: 0.02 }));
      const t = geoTable(c.imageSize / c.patchSize);
      this.geoFeatures = tensor(t.data, [t.rows, GEO_FEATURES]);
    }
    // Zero at the start: a model extended from one without it (--init) computes what it did.
    if (c.patchPixels) this.patchPixels = this.addModule('patchPixels', new Linear(3 * c.patchSize * c.patchSize, c.dim, { bias: false, rng: rng.fork(), std: 0 }));
    if (c.layoutMap) this.layoutMap = this.addModule('layoutMap', new Linear(LAYOUT_MAP_FEATURES, c.dim, { bias: false, rng: rng.fork(), std: 0.02 }));
    if (c.refReadout) this.refReadout = this.addModule('refReadout', new RefReadout(c.dim, c.heads, rng.fork(), { relations: c.refRelations, neighbours: c.refNeighbours ? c.imageSize / c.patchSize : undefined, radius: c.refNeighbourRadius }));
    if (c.patchBoxes) this.patchBoxHead = this.addModule('patchBoxHead', new Linear(c.dim, c.dim, { bias: false, rng: rng.fork(), std: 0.02 }));
    if (c.patchShapes) this.patchShapeHead = this.addModule('patchShapeHead', new Linear(c.dim, SHAPES.length, { rng: rng.fork(), std: 0.02 }));
    this.relationPhrases = c.refRelations ? RELATIONS.map((r) => (r.split(' ').every((w) => this.vocab.text.words.includes(w)) ? this.vocab.words(r) : null)) : undefined;
  }

  /** Collates sequences for this model (on its device, with the layout map when it uses one). */
  collate(seqs: readonly TokenSequence[]): Batch {
    return collate(seqs, {
      device: this.device,
      layoutMapSide: this.layoutMap ? this.config.imageSize / this.config.patchSize : undefined,
      refPatches: this.refReadout ? this.vq.tokensPerImage : undefined,
      refRelations: this.relationPhrases,
      bidirectionalImage: this.config.bidirectionalImage,
      patchBoxSide: this.patchBoxHead ? this.config.imageSize / this.config.patchSize : undefined,
    });
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
    if (this.geoFeatures && this.geoFeatures.device !== device) {
      const old = this.geoFeatures;
      this.geoFeatures = old.to(device);
      old.dispose();
    }
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
    this.geoFeatures?.dispose();
  }

  /**
   * Token embeddings plus where each token is (`context`): ids, pos, geo, geoNext i32 [B, T] ->
   * [B, T, dim].
   */
  embed(ids: Tensor, pos: Tensor, geo?: Tensor, geoNext?: Tensor, layoutMap?: Tensor | null): Tensor {
    return ops.add(this.tokenEmbedding(ids), this.context(pos, geo, geoNext, layoutMap));
  }

  /** Embeddings of token ids [...S] -> [...S, dim] (the rows of tokenTable). */
  tokenEmbedding(ids: Tensor): Tensor {
    return this.patchPixels ? ops.embedding(this.tokenTable(), ids) : this.tokens.forward(ids);
  }

  /**
   * The whole token table [V, dim]: the learned rows, and with config.patchPixels the image rows plus
   * the pixel embedding of each code's codebook patch.
   */
  tokenTable(): Tensor {
    if (!this.patchPixels) return this.tokens.weight;
    return ops.concat([ops.slice(this.tokens.weight, 0, 0, this.vocab.textSize), this.imageTokenTable()], 0);
  }

  /**
   * Position embeddings plus, with config.geometry, the projected Fourier features of each token's
   * own geometry id and of the one it predicts (lib/model/geometry.ts); geo ids default to none.
   */
  context(pos: Tensor, geo?: Tensor, geoNext?: Tensor, layoutMap?: Tensor | null): Tensor {
    let x = this.positions.forward(pos);
    if (this.layoutMap && layoutMap) x = ops.add(x, this.layoutMap.forward(layoutMap));
    if (this.geoFeatures && this.geoOwn && this.geoNext) {
      if (geo) x = ops.add(x, ops.embedding(this.geoOwn.forward(this.geoFeatures), geo));
      if (geoNext) x = ops.add(x, ops.embedding(this.geoNext.forward(this.geoFeatures), geoNext));
    }
    return x;
  }

  /** The rows of the token table that embed image codes, [K, dim] (differentiable; for DJO's soft tokens). */
  imageTokenTable(): Tensor {
    const rows = ops.slice(this.tokens.weight, 0, this.vocab.textSize, this.vocab.size);
    return this.patchPixels ? ops.add(rows, this.patchPixels.forward(this.vq.codebook)) : rows;
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
    return this.run(this.embed(batch.ids, batch.pos, batch.geo, batch.geoNext, batch.layoutMap), { causal: batch.causal, mask: batch.mask ?? undefined });
  }

  imageLogits(h: Tensor): Tensor { return this.imageHead.forward(h); }
  textLogits(h: Tensor): Tensor { return this.textHead.forward(h); }

  /**
   * Logits [N, 64] over the bins of box coordinate `kind` (0 = x1, 1 = y1, 2 = x2, 3 = y2) from
   * hidden states [N, dim]: the text head's bin columns plus, with config.geometry, a pointer that
   * scores each bin by the geometry of the edge it names, (coordQuery h) . geoOwn(edge). The image
   * tokens carry geoOwn(patch) in their embeddings, so attending to the object's patches and
   * reading their geometry back out is a box from the first step; shifts (patch centre to edge) are
   * linear maps of Fourier features, which coordQuery learns.
   */
  coordLogits(h: Tensor, kind: number): Tensor {
    return this.coordKindLogits(this.coordParts(h), kind);
  }

  /** What coordLogits computes from h alone, the same for the four kinds (computed once when h serves all four). */
  private coordParts(h: Tensor): { bins: Tensor; query: Tensor | null } {
    const bins = ops.slice(this.textHead.forward(h), 1, this.vocab.coordStart, this.vocab.coordStart + COORD_BINS);
    return { bins, query: this.geoFeatures && this.geoOwn && this.coordQuery ? this.coordQuery.forward(h) : null };
  }

  private coordKindLogits(parts: { bins: Tensor; query: Tensor | null }, kind: number): Tensor {
    if (!parts.query || !this.geoFeatures || !this.geoOwn) return parts.bins;
    const edges = ops.embedding(this.geoOwn.forward(this.geoFeatures), tensor(coordEdgeIds(kind), [COORD_BINS], { dtype: 'i32', device: this.device }));
    return ops.add(parts.bins, ops.linear(parts.query, edges));
  }

  /**
   * The referring readout's r [queries, dim] of `index` over final hidden states [rows, dim], added to
   * a query's coordinate rows before coordLogits, and its attention loss where the index holds boxes
   * and `attentionLoss` is on (null without config.refReadout or queries).
   */
  readRefs(hidden: Tensor, index: RefIndex | null, attentionLoss = true): { r: Tensor; attentionLoss: Tensor | null } | null {
    if (!this.refReadout || !this.geoFeatures || !index || index.count === 0) return null;
    const n = this.vq.tokensPerImage;
    const boxes = attentionLoss ? index : { ...index, inBox: null };
    return this.refReadout.read(hidden, this.tokenTable(), ops.slice(this.geoFeatures, 0, geoPatch(0), geoPatch(0) + n), boxes);
  }

  /**
   * Both tasks' mean cross-entropies on the rows the batch marks (docs/design.md section 5). With
   * config.geometry a coordinate row's loss is over the 64 bins of coordLogits (what ground() decodes
   * from); other text rows (</box>) use the whole text head. `refLoss: false` skips the referring
   * readout's attention loss and `patchLoss: false` the patch-box task (DJO, which trains on neither).
   */
  loss(batch: Batch, hidden?: Tensor, opts: { refLoss?: boolean; patchLoss?: boolean } = {}): Losses {
    const h = hidden ?? this.forward(batch);
    const flat = ops.reshape(h, [batch.batch * batch.length, this.config.dim]);
    const ce = (rows: Tensor, targets: Tensor, head: Linear): Tensor => ops.crossEntropy(head.forward(ops.gatherRows(flat, rows)), targets);
    const refs = batch.textCount ? this.readRefs(flat, batch.refs, opts.refLoss ?? true) : null;
    return {
      image: batch.imageCount ? ce(batch.imageRows, batch.imageTargets, this.imageHead) : null,
      text: !batch.textCount ? null : this.geoFeatures ? this.boxLoss(flat, batch, refs?.r ?? null) : ce(batch.textRows, batch.textTargets, this.textHead),
      ref: refs?.attentionLoss ?? null,
      patch: this.patchBoxHead && batch.patchBoxes && (opts.patchLoss ?? true) ? this.patchBoxLoss(flat, batch.patchBoxes) : null,
    };
  }

  /**
   * The patch-box task: the mean over the four coordinates of the cross-entropy of coordLogits(patchBoxHead h)
   * on the targets' bins; with config.patchShapes plus the cross-entropy of the object's shape.
   */
  private patchBoxLoss(flat: Tensor, index: PatchBoxIndex): Tensor {
    const n = index.count, dev = this.device;
    const i32 = (a: Int32Array): Tensor => tensor(a, [n], { dtype: 'i32', device: dev });
    const states = ops.gatherRows(flat, i32(index.rows));
    const parts = this.coordParts((this.patchBoxHead as Linear).forward(states));
    let total: Tensor | null = null;
    for (let kind = 0; kind < 4; kind++) {
      const part = ops.crossEntropy(this.coordKindLogits(parts, kind), i32(index.bins.subarray(kind * n, (kind + 1) * n)));
      total = total ? ops.add(total, part) : part;
    }
    const boxes = ops.scale(total as Tensor, 1 / 4);
    return this.patchShapeHead ? ops.add(boxes, ops.crossEntropy(this.patchShapeHead.forward(states), i32(index.shapes))) : boxes;
  }

  /** Mean cross-entropy over the text rows, coordinates through coordLogits, grouped by kind. */
  private boxLoss(flat: Tensor, batch: Batch, refs: Tensor | null): Tensor {
    const rows = batch.textRowsHost, targets = batch.textTargetsHost;
    let total: Tensor | null = null;
    for (let kind = 0; kind <= BOX_KIND_OTHER; kind++) {
      const r: number[] = [], t: number[] = [];
      batch.textKinds.forEach((k, i) => { if (k === kind) { r.push(rows[i]); t.push(kind < BOX_KIND_OTHER ? targets[i] - this.vocab.coordStart : targets[i]); } });
      if (!r.length) continue;
      const i32 = (a: number[]): Tensor => tensor(Int32Array.from(a), [a.length], { dtype: 'i32', device: this.device });
      let h = ops.gatherRows(flat, i32(r));
      if (refs && batch.refs && kind < BOX_KIND_OTHER) h = ops.add(h, ops.gatherRows(refs, i32(r.map((row) => queryOf(batch.refs as RefIndex, row)))));
      const logits = kind < BOX_KIND_OTHER ? this.coordLogits(h, kind) : this.textHead.forward(h);
      const part = ops.scale(ops.crossEntropy(logits, i32(t)), r.length / batch.textCount);
      total = total ? ops.add(total, part) : part;
    }
    return total as Tensor;
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
        if (s + 1 < n) h = dec.step(ops.embedding(table, code), geoPatch(s), geoPatch(s + 1), s + 1);
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
   * Per-code log-probabilities [R * tokensPerImage] of each row's image codes under the L2I task with
   * layouts[r] (with grad when it is enabled): what Cycle RL's ratio and the grounding search read.
   */
  codeLogProbs(layouts: readonly Layout[], codes: readonly ArrayLike<number>[]): Tensor {
    if (layouts.length !== codes.length) throw new RangeError(`codeLogProbs: ${layouts.length} layouts for ${codes.length} rows of codes`);
    const batch = this.collate(codes.map((c, r) => l2iSequence(this.vocab, layouts[r], c)));
    const h = ops.reshape(this.forward(batch), [batch.batch * batch.length, this.config.dim]);
    const logits = this.imageLogits(ops.gatherRows(h, batch.imageRows));
    return ops.scale(ops.crossEntropy(logits, batch.imageTargets, { reduction: 'none' }), -1);
  }

  /**
   * The box of `expr` in `image`: an f32 tensor [S, S, 3] in [0, 1] or the world's byte image; or a
   * batch (tensor [B, S, S, 3] or byte images) with one expression each. Greedy by default; with
   * opts.samples, the box of the search described at GroundOptions.
   */
  ground(image: Tensor | Uint8Array, expr: string, opts?: GroundOptions): Box;
  ground(images: Tensor | readonly Uint8Array[], exprs: readonly string[], opts?: GroundOptions): Box[];
  ground(images: Tensor | Uint8Array | readonly Uint8Array[], exprs: string | readonly string[], opts: GroundOptions = {}): Box | Box[] {
    const single = typeof exprs === 'string';
    const samples = opts.samples ?? 0;
    const l2iWeight = opts.l2iWeight ?? GROUND_L2I_WEIGHT;
    if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`ground: opts.samples must be a non-negative integer, got ${samples}`);
    if (!(l2iWeight >= 0) || !Number.isFinite(l2iWeight)) throw new RangeError(`ground: opts.l2iWeight must be a finite number >= 0, got ${l2iWeight}`);
    const pick = samplePicker('ground', opts.temperature ?? 1, opts.seed ?? 0);
    const boxes = this.withImageCodes('ground', images, exprs, (codes, list) => {
      const greedy = this.groundCodes(codes, list, null);
      return samples === 0 ? greedy : this.searchBoxes(codes, list, greedy, samples, pick, l2iWeight);
    }).map((b) => dequantizeBox(b.bins));
    return single ? boxes[0] : boxes;
  }

  /**
   * Samples one box for each image of a batch [B, S, S, 3] (or byte images) and its expression at
   * `temperature` (0 = greedy, the boxes of ground()), with each box's log-probability under the model
   * (at temperature 1, over all coordinate bins). x2 and y2 are drawn at or after x1 and y1.
   */
  sampleBoxes(images: Tensor | readonly Uint8Array[], exprs: readonly string[], opts: SampleBoxesOptions = {}): SampledBox[] {
    const temperature = opts.temperature ?? 1;
    const pick = temperature === 0 ? null : samplePicker('sampleBoxes', temperature, opts.seed ?? 0);
    return this.withImageCodes('sampleBoxes', images, exprs, (codes, list) => this.groundCodes(codes, list, pick))
      .map((s) => ({ box: dequantizeBox(s.bins), bins: s.bins, logProb: s.logProb }));
  }

  /** Checks and converts grounding's images, encodes them, and runs `fn` on their codes [B * tokensPerImage]. */
  private withImageCodes<T>(name: string, images: Tensor | Uint8Array | readonly Uint8Array[], exprs: string | readonly string[], fn: (codes: Int32Array, list: readonly string[]) => T): T {
    const single = typeof exprs === 'string';
    const list = single ? [exprs as string] : exprs as readonly string[];
    if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) throw new TypeError(`${name}: exprs must be a string or an array of strings`);
    const S = this.config.imageSize;
    const owned = !(images instanceof Tensor);
    const input = images instanceof Tensor ? images : imagesToTensor(images instanceof Uint8Array ? [images] : images, S, this.device);
    const viewed = input.rank === 3 ? input.reshape([1, ...input.shape]) : input;
    try {
      if (viewed.rank !== 4 || viewed.shape[0] !== list.length) {
        throw new RangeError(`${name}: expected ${single ? `an image [${S}, ${S}, 3]` : `images [${list.length}, ${S}, ${S}, 3]`} for ${list.length} expression(s), got [${input.shape}]`);
      }
      const batch = viewed.device === this.device ? viewed : viewed.to(this.device);
      let codes: Int32Array;
      try {
        codes = Int32Array.from(tidy(() => this.vq.encode(batch).toArray()));
      } finally {
        if (batch !== viewed) batch.dispose();
      }
      return fn(codes, list);
    } finally {
      if (viewed !== input) viewed.dispose();
      if (owned) input.dispose();
    }
  }

  /**
   * Coordinate bins for a batch of image codes [B * tokensPerImage] and one expression each: greedy, or
   * drawn by `pick` from each coordinate's allowed logits; with each box's log-probability under the model.
   */
  private groundCodes(codes: Int32Array, list: readonly string[], pick: BinPicker | null): GroundedBins[] {
    const n = this.vq.tokensPerImage;
    const prompts = list.map((e, b) => i2lPrompt(this.vocab, codes.subarray(b * n, (b + 1) * n), e));
    return withDecoder(this, prompts, (dec) => {
      const out = list.map(() => ({ bins: [] as number[], logProb: 0 }));
      let h = dec.prefill();
      const hidden = dec.promptHidden as Tensor, P = hidden.shape[1];
      const refs = this.readRefs(ops.reshape(hidden, [list.length * P, this.config.dim]), this.refReadout ? refIndex(prompts, P, n, dec.pad, this.relationPhrases) : null, false)?.r;
      for (let s = 0; s < 4; s++) {
        const logits = this.coordLogits(refs ? ops.add(h, refs) : h, s).toArray() as Float32Array;
        const ids = out.map((o, b) => {
          // x2 and y2 are read from bins at or after x1 and y1, so the box is never inverted.
          const from = s >= 2 ? o.bins[s - 2] : 0;
          const row = logits.subarray(b * COORD_BINS, (b + 1) * COORD_BINS);
          const bin = pick ? from + pick(row.subarray(from)) : argmax(row, from, COORD_BINS);
          o.bins.push(bin);
          o.logProb += row[bin] - logSumExp(row);
          return this.vocab.coord(bin);
        });
        // The token fed is x1, y1 or x2: its geometry is the edge it names (x2 ends a bin later).
        const geo = out.map(({ bins: o }) => (s === 0 ? geoXEdge(o[0]) : s === 1 ? geoYEdge(o[1]) : geoXEdge(o[2] + 1)));
        if (s < 3) h = dec.step(this.tokenEmbedding(tensor(Int32Array.from(ids), [list.length], { dtype: 'i32', device: this.device })), geo, GEO_NONE);
      }
      return out;
    });
  }

  /**
   * The grounding search (GroundOptions): for each query, the greedy box and `samples` drawn boxes, each
   * scored by its own log-probability plus l2iWeight times the L2I log-likelihood of the image's codes
   * given the one-object layout "a <expr>" in that box; the best-scored box of each query.
   */
  private searchBoxes(codes: Int32Array, list: readonly string[], greedy: GroundedBins[], samples: number, pick: BinPicker, l2iWeight: number): GroundedBins[] {
    const n = this.vq.tokensPerImage;
    const drawn: GroundedBins[] = [];
    const perCall = Math.max(1, Math.floor(SEARCH_ROWS / samples));
    for (let q0 = 0; q0 < list.length; q0 += perCall) {
      const qs = list.slice(q0, q0 + perCall);
      const rep = new Int32Array(qs.length * samples * n);
      qs.forEach((_, i) => { for (let k = 0; k < samples; k++) rep.set(codes.subarray((q0 + i) * n, (q0 + i + 1) * n), (i * samples + k) * n); });
      drawn.push(...this.groundCodes(rep, qs.flatMap((e) => Array<string>(samples).fill(e)), pick));
    }
    const rows: { q: number; cand: GroundedBins }[] = [];
    list.forEach((_, q) => {
      const seen = new Set<string>();
      for (const cand of [greedy[q], ...drawn.slice(q * samples, (q + 1) * samples)]) {
        const key = cand.bins.join();
        if (!seen.has(key)) { seen.add(key); rows.push({ q, cand }); }
      }
    });
    const best = greedy.map(() => ({ score: -Infinity, cand: null as GroundedBins | null }));
    for (let r0 = 0; r0 < rows.length; r0 += SEARCH_ROWS) {
      const part = rows.slice(r0, r0 + SEARCH_ROWS);
      const layouts = part.map(({ q, cand }) => searchLayout(list[q], dequantizeBox(cand.bins)));
      const lp = tidy(() => ops.noGrad(() => this.codeLogProbs(layouts, part.map(({ q }) => codes.subarray(q * n, (q + 1) * n))).toArray()));
      part.forEach(({ q, cand }, i) => {
        let l2i = 0;
        for (let k = 0; k < n; k++) l2i += lp[i * n + k];
        const score = cand.logProb + l2iWeight * l2i;
        if (score > best[q].score) best[q] = { score, cand };
      });
    }
    return best.map((b) => b.cand as GroundedBins);
  }
}

/** The default weight of the L2I log-likelihood in the grounding search (chosen on the world's validation split; docs/training.md). */
export const GROUND_L2I_WEIGHT = 0.05;
/** Sequences per forward pass of the grounding search. */
const SEARCH_ROWS = 64;

type BinPicker = (logits: Float32Array) => number;
interface GroundedBins { bins: number[]; logProb: number; }

/** A picker drawing from softmax(logits / temperature) with a stream seeded by `seed`. */
function samplePicker(name: string, temperature: number, seed: number): BinPicker {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RangeError(`${name}: opts.temperature must be a finite number > 0 for sampling, got ${temperature}`);
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`${name}: opts.seed must be a non-negative integer, got ${seed}`);
  const rng = new Rng(seed);
  return (row) => sampleRow(row, temperature, rng.float());
}

/** The one-object layout the search scores a box with: the expression, its leading article dropped, as "a <expr>". */
export function searchLayout(expr: string, box: Box): Layout {
  const words = expr.trim().split(/\s+/);
  const body = /^(a|an|the)$/i.test(words[0]) ? words.slice(1).join(' ') : words.join(' ');
  return { caption: `a ${body}`, objects: [{ expr: body, box }] };
}

/** Index drawn from softmax(row / temperature) with the uniform number u in [0, 1). */
function sampleRow(row: Float32Array, temperature: number, u: number): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let total = 0;
  const w = new Float64Array(row.length);
  row.forEach((v, i) => { w[i] = Math.exp((v - max) / temperature); total += w[i]; });
  let acc = 0;
  for (let i = 0; i < w.length; i++) {
    acc += w[i] / total;
    if (u < acc) return i;
  }
  return w.length - 1;
}

function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let total = 0;
  for (const v of row) total += Math.exp(v - max);
  return max + Math.log(total);
}

/** The query of a coordinate row (every one belongs to a query that opened with <ref>). */
function queryOf(index: RefIndex, row: number): number {
  const q = index.rowQuery[row];
  if (q < 0) throw new Error(`EchoGen: coordinate row ${row} belongs to no grounding query`);
  return q;
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

