// The GLIGEN baseline (Li et al. 2023) on this graph: a frozen caption-only text-to-image base (an
// EchoGen prompted with the caption and no layout) plus one gated self-attention layer before each
// of its blocks, x + tanh(gamma) * SA(LN([x, g]))[:N], with gamma starting at 0 so training starts
// from the base exactly. Grounding tokens g = MLP([phrase embedding, Fourier(box)]); the phrase
// embedding is the mean of the base's (frozen) word embeddings. Only the adapter is trained.
import { Tensor, tensor, tidy } from '../tensor';
import * as ops from '../autograd';
import { GatedSelfAttention, InitRng, Mlp, Module } from '../nn';
import { EchoGen, Layout, geoPatch, l2iPrompt, l2iSequence } from '../model';
import { Example } from './data';
import { StepResult } from './pmtp';

/** Frequencies per coordinate: sin and cos of 2^f * pi * v, f = 0..FOURIER-1. */
const FOURIER = 8;
const BOX_FEATURES = 4 * 2 * FOURIER;

export function fourierBox(box: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of box) for (let f = 0; f < FOURIER; f++) { const a = Math.pow(2, f) * Math.PI * v; out.push(Math.sin(a), Math.cos(a)); }
  return out;
}

/** A layout with its objects dropped: what the caption-only base sees. */
export const captionOnly = (l: Layout): Layout => ({ caption: l.caption, objects: [] });

export class GligenAdapter extends Module {
  readonly gates: GatedSelfAttention[];
  readonly grounding: Mlp;
  readonly dim: number;

  constructor(base: EchoGen, seed = 0) {
    super();
    const { dim, heads, layers } = base.config;
    const rng = new InitRng(seed);
    this.dim = dim;
    this.gates = Array.from({ length: layers }, (_, i) => this.addModule(`gates.${i}`, new GatedSelfAttention(dim, heads, { rng: rng.fork() })));
    this.grounding = this.addModule('grounding', new Mlp(dim + BOX_FEATURES, 2 * dim, dim, { rng: rng.fork() }));
  }

  /** Grounding tokens [B, M, dim] (M = most objects, padding rows zero-featured) and each layout's object count. */
  tokens(base: EchoGen, layouts: readonly Layout[]): { g: Tensor; counts: number[] } {
    const M = Math.max(1, ...layouts.map((l) => l.objects.length));
    const D = this.dim, F = D + BOX_FEATURES;
    const table = base.tokens.weight.toArray();
    const feats = new Float32Array(layouts.length * M * F);
    layouts.forEach((l, b) => l.objects.forEach((o, m) => {
      const ids = base.vocab.words(o.expr);
      const row = (b * M + m) * F;
      for (const id of ids) for (let d = 0; d < D; d++) feats[row + d] += table[id * D + d] / ids.length;
      feats.set(fourierBox(o.box), row + D);
    }));
    return { g: this.grounding.forward(tensor(feats, [layouts.length, M, F], { device: base.device })), counts: layouts.map((l) => l.objects.length) };
  }

  /** Hidden states of the base with the gated layers: ids/pos [B, T] of caption-only sequences. */
  run(base: EchoGen, ids: Tensor, pos: Tensor, g: Tensor, counts: number[], geo?: Tensor, geoNext?: Tensor): Tensor {
    const [B, T] = ids.shape, M = g.shape[1];
    // Visual token i sees tokens j <= i and the real grounding tokens; grounding tokens see themselves.
    const m = new Int32Array(B * (T + M) * (T + M));
    for (let b = 0; b < B; b++) {
      const base0 = b * (T + M) * (T + M);
      for (let i = 0; i < T; i++) {
        m.fill(1, base0 + i * (T + M), base0 + i * (T + M) + i + 1);
        m.fill(1, base0 + i * (T + M) + T, base0 + i * (T + M) + T + counts[b]);
      }
      for (let i = T; i < T + M; i++) m.fill(1, base0 + i * (T + M) + T, base0 + i * (T + M) + T + M);
    }
    const mask = tensor(m, [B, T + M, T + M], { dtype: 'i32', device: base.device });
    let h = base.embed(ids, pos, geo, geoNext);
    base.blocks.forEach((blk, i) => {
      h = this.gates[i].forward(h, g, mask);
      h = blk.forward(h, { causal: true });
    });
    return base.lnFinal.forward(h);
  }
}

/** Freezes the base for the adapter's training (its parameters stop requiring grad). */
export function freeze(base: EchoGen): void { for (const p of base.parameters()) p.requiresGrad = false; }

/** One GLIGEN step: next-code cross-entropy of the caption-only base with the layout fed through the adapter. */
export function gligenStep(base: EchoGen, adapter: GligenAdapter, examples: readonly Example[]): StepResult {
  const seqs = examples.map((ex) => l2iSequence(base.vocab, captionOnly(ex.layout), ex.codes));
  const batch = base.collate(seqs);
  const { g, counts } = adapter.tokens(base, examples.map((e) => e.layout));
  const h = ops.reshape(adapter.run(base, batch.ids, batch.pos, g, counts, batch.geo, batch.geoNext), [batch.batch * batch.length, base.config.dim]);
  const loss = ops.crossEntropy(base.imageLogits(ops.gatherRows(h, batch.imageRows)), batch.imageTargets);
  return { loss, stats: { l2i: loss.item() }, tokens: batch.batch * batch.length };
}

/** Samples images for layouts (full recompute per code: the gated layers keep no KV cache). */
export function gligenGenerate(base: EchoGen, adapter: GligenAdapter, layouts: readonly Layout[], opts: { seed?: number; temperature?: number } = {}): Tensor {
  const B = layouts.length, n = base.vq.tokensPerImage, K = base.config.codebookSize;
  const prompts = layouts.map((l) => l2iPrompt(base.vocab, captionOnly(l)));
  const P = Math.max(...prompts.map((p) => p.ids.length));
  const codes = new Int32Array(B * n);
  ops.noGrad(() => {
    for (let s = 0; s < n; s++) {
      // Right padding keeps causal attention exact for the real tokens; each row's next code is
      // read at its own last real position.
      const T = P + s;
      const ids = new Int32Array(B * T), pos = new Int32Array(B * T), rows = new Int32Array(B);
      const geo = new Int32Array(B * T), geoNext = new Int32Array(B * T);
      prompts.forEach((p, b) => {
        const L = p.ids.length, last = p.pos[L - 1];
        ids.set(p.ids, b * T);
        pos.set(p.pos, b * T);
        geo.set(p.geo, b * T);
        geoNext.set(p.geoNext, b * T);
        for (let j = 0; j < s; j++) {
          const at = b * T + L + j;
          ids[at] = base.vocab.image(codes[b * n + j]);
          pos[at] = last + 1 + j;
          geo[at] = geoPatch(j);
          geoNext[at] = geoPatch(j + 1);
        }
        rows[b] = b * T + L + s - 1;
      });
      const picked = tidy(() => {
        const dev = base.device;
        const { g, counts } = adapter.tokens(base, layouts);
        const i32 = (a: Int32Array): Tensor => tensor(a, [B, T], { dtype: 'i32', device: dev });
        const h = adapter.run(base, i32(ids), i32(pos), g, counts, i32(geo), i32(geoNext));
        const at = ops.gatherRows(ops.reshape(h, [B * T, base.config.dim]), tensor(rows, [B], { dtype: 'i32', device: dev }));
        return ops.gumbelSoftmax(ops.scale(base.imageLogits(at), 1 / (opts.temperature ?? 1)), { tau: 1, seed: opts.seed ?? 0, offset: s * B * K }).indices.toArray();
      });
      for (let b = 0; b < B; b++) codes[b * n + s] = picked[b];
    }
  });
  return tidy(() => base.vq.decode(tensor(codes, [B, n], { dtype: 'i32', device: base.device })));
}
