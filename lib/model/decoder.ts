// Incremental decoding over a KV cache: prompts of different lengths are left-padded to one length
// and the padding is masked out of every attention row; each step then feeds one token per sequence.
// Must run under ops.noGrad().
import { Tensor, tensor, tidy } from '../tensor';
import * as ops from '../autograd';
import { KvCache } from '../nn';
import { SEG_IMAGE_PREFIX, TokenSequence } from './sequences';
import { buildMask, layoutMapData } from './batch';
import { LAYOUT_MAP_FEATURES, mapObjects, writeLayoutMap } from './layout_map';

/** A prompt left-padded to P tokens (padding: id 0, segment -1, no geometry), for the prefill map. */
function leftPad(p: TokenSequence, P: number): TokenSequence {
  const n = P - p.ids.length;
  const pad = <T>(a: T[], v: T): T[] => [...Array.from({ length: n }, () => v), ...a];
  return { ids: pad(p.ids, 0), pos: pad(p.pos, 0), seg: pad(p.seg, -1), head: pad(p.head, 0), target: pad(p.target, -1), geo: pad(p.geo, 0), geoNext: pad(p.geoNext, 0), layout: p.layout };
}
import type { EchoGen } from './echogen';

export class IncrementalDecoder {
  readonly batch: number;
  private readonly model: EchoGen;
  private readonly prompts: readonly TokenSequence[];
  private readonly caches: KvCache[];
  /** Left padding of each sequence; the key at cache index j is real iff j >= pad[b]. */
  readonly pad: number[];
  /** The prefill's final hidden states [B, P, dim] (null before prefill). */
  promptHidden: Tensor | null = null;
  private readonly nextPos: number[];
  private length = 0;
  /** Each prompt's layout objects for the layout map, parsed once (not at each of the codes). */
  private mapped: (ReturnType<typeof mapObjects> | null)[] | null = null;

  constructor(model: EchoGen, prompts: readonly TokenSequence[]) {
    if (prompts.length === 0) throw new RangeError('IncrementalDecoder: need at least one prompt');
    this.model = model;
    this.prompts = prompts;
    this.batch = prompts.length;
    this.caches = model.blocks.map(() => new KvCache());
    const P = Math.max(...prompts.map((p) => p.ids.length));
    this.pad = prompts.map((p) => P - p.ids.length);
    this.nextPos = prompts.map((p) => p.pos[p.pos.length - 1] + 1);
  }

  get padded(): boolean { return this.pad.some((p) => p > 0); }

  /** Runs the prompts; returns the final hidden state of the last prompt token, [B, dim]. */
  prefill(): Tensor {
    if (this.length) throw new Error('IncrementalDecoder.prefill: already prefilled');
    const B = this.batch;
    const P = this.pad[0] + this.prompts[0].ids.length;
    const ids = new Int32Array(B * P), pos = new Int32Array(B * P), geo = new Int32Array(B * P), geoNext = new Int32Array(B * P);
    this.prompts.forEach((p, b) => {
      const at = b * P + this.pad[b];
      ids.set(p.ids, at);
      pos.set(p.pos, at);
      geo.set(p.geo, at);
      geoNext.set(p.geoNext, at);
    });
    this.model.checkPositions(pos);
    const dev = this.model.device;
    const i32 = (a: Int32Array): Tensor => tensor(a, [B, P], { dtype: 'i32', device: dev });
    const map = this.model.layoutMap
      ? tensor(layoutMapData(this.prompts.map((p) => leftPad(p, P)), P, this.side), [B, P, LAYOUT_MAP_FEATURES], { device: dev })
      : null;
    const x = this.model.embed(i32(ids), i32(pos), i32(geo), i32(geoNext), map);
    // An image prefix that attends both ways (config.bidirectionalImage): the segment mask of training,
    // over the left-padded prompts, carries the causal rule and hides the padding.
    const both = Boolean(this.model.config.bidirectionalImage) && this.prompts.some((p) => p.seg.includes(SEG_IMAGE_PREFIX));
    const mask = both ? tensor(buildMask(this.prompts.map((p) => leftPad(p, P)), P, true), [B, P, P], { dtype: 'i32', device: dev }) : this.keyMask(P, P);
    const h = this.model.run(x, { causal: !both, mask, caches: this.caches });
    this.length = P;
    this.promptHidden = h;
    return ops.reshape(ops.slice(h, 1, P - 1, P), [B, this.model.config.dim]);
  }

  /**
   * Feeds one token per sequence, given as its embedding [B, dim], with its geometry id and that of
   * the token it predicts (one for all rows, or one per row; lib/model/geometry.ts); returns its
   * hidden state [B, dim].
   */
  step(tokenEmbedding: Tensor, geo: number | readonly number[] = 0, geoNext: number | readonly number[] = 0, drawsPatch = -1): Tensor {
    if (!this.length) throw new Error('IncrementalDecoder.step: call prefill() first');
    const B = this.batch, D = this.model.config.dim, dev = this.model.device;
    const pos = Int32Array.from(this.nextPos);
    this.model.checkPositions(pos);
    const perRow = (g: number | readonly number[]): Tensor => tensor(typeof g === 'number' ? new Int32Array(B).fill(g) : Int32Array.from(g), [B, 1], { dtype: 'i32', device: dev });
    const ctx = this.model.context(tensor(pos, [B, 1], { dtype: 'i32', device: dev }), perRow(geo), perRow(geoNext), this.stepMap(drawsPatch));
    const x = ops.add(ops.reshape(tokenEmbedding, [B, 1, D]), ctx);
    const h = this.model.run(x, { causal: true, mask: this.keyMask(1, this.length + 1), caches: this.caches });
    this.length++;
    for (let b = 0; b < B; b++) this.nextPos[b]++;
    return ops.reshape(h, [B, D]);
  }

  dispose(): void { for (const c of this.caches) c.dispose(); }

  private get side(): number { return this.model.config.imageSize / this.model.config.patchSize; }

  /** The layout map [B, 1, F] of a step that draws patch k of each row's layout (null: none). */
  private stepMap(k: number): Tensor | null {
    if (!this.model.layoutMap || k < 0) return null;
    const F = LAYOUT_MAP_FEATURES, out = new Float32Array(this.batch * F);
    this.mapped ??= this.prompts.map((p) => (p.layout ? mapObjects(p.layout) : null));
    this.mapped.forEach((objects, b) => { if (objects) writeLayoutMap(out, b * F, objects, k, this.side); });
    return tensor(out, [this.batch, 1, F], { device: this.model.device });
  }

  /** [B, Tq, Tk] mask hiding the left padding, or undefined when there is none (causal is enough). */
  private keyMask(Tq: number, Tk: number): Tensor | undefined {
    if (!this.padded) return undefined;
    const m = new Int32Array(this.batch * Tq * Tk);
    for (let b = 0; b < this.batch; b++) {
      for (let i = 0; i < Tq; i++) m.fill(1, (b * Tq + i) * Tk + this.pad[b], (b * Tq + i + 1) * Tk);
    }
    return tensor(m, [this.batch, Tq, Tk], { dtype: 'i32', device: this.model.device });
  }
}

/** Runs fn on a decoder under noGrad and frees the cache afterwards; fn's tensors follow tidy rules. */
export function withDecoder<T>(model: EchoGen, prompts: readonly TokenSequence[], fn: (d: IncrementalDecoder) => T): T {
  return ops.noGrad(() => {
    const d = new IncrementalDecoder(model, prompts);
    try {
      return tidy(() => fn(d));
    } finally {
      d.dispose();
    }
  });
}

