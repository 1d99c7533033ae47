// The EvoGen baseline (contrastive curriculum fine-tuning for compositional prompts) on this graph:
// the model draws from the caption alone; for each contrastive pair (a caption, a positive image
// it is true of, a negative differing in one attribute or relation) a projection head on the
// mean hidden state of the image codes is pulled toward the caption's embedding (the hidden state
// at the caption's end) and pushed from the negative's and the other pairs' images (InfoNCE),
// while the next-code cross-entropy on the positive keeps generation on. Stages 1 -> 2 -> 3 of
// the curriculum (single objects, one relation, complex scenes) run in order.
import { tensor } from '../tensor';
import * as ops from '../autograd';
import { InitRng, LayerNorm, Linear, Module } from '../nn';
import { EchoGen, Layout, l2iSequence } from '../model';
import { contrastivePairs } from '../data';
import type { CurriculumStage } from '../data';
import { encodeLayouts } from './data';
import { StepResult } from './pmtp';
import { captionOnly } from './gligen';

export class ContrastiveHead extends Module {
  readonly image: Linear;
  readonly text: Linear;
  readonly normImage: LayerNorm;
  readonly normText: LayerNorm;
  readonly dim: number;

  constructor(modelDim: number, dim = 64, seed = 0) {
    super();
    const rng = new InitRng(seed);
    this.dim = dim;
    this.image = this.addModule('image', new Linear(modelDim, dim, { rng: rng.fork() }));
    this.text = this.addModule('text', new Linear(modelDim, dim, { rng: rng.fork() }));
    // LayerNorm puts every embedding on the sphere of radius sqrt(dim) (no learned scale at init),
    // so the dot product / dim is a cosine similarity.
    this.normImage = this.addModule('normImage', new LayerNorm(dim));
    this.normText = this.addModule('normText', new LayerNorm(dim));
  }
}

export interface EvogenOptions {
  /** InfoNCE temperature (default 0.1). */
  temperature?: number;
  /** Weight of InfoNCE against the generation loss (default 0.5). */
  contrastWeight?: number;
}

/**
 * One step on `pairs` (caption, positive codes, negative codes). Rows 0..B-1 are the positives, B..2B-1
 * the negatives; each caption's logits over all 2B images, target its own positive.
 */
export function evogenStep(model: EchoGen, head: ContrastiveHead, pairs: readonly { caption: string; positive: Int32Array; negative: Int32Array }[], opts: EvogenOptions = {}): StepResult {
  const B = pairs.length, L = model.vq.tokensPerImage, D = model.config.dim;
  const prompt = (c: string): Layout => captionOnly({ caption: c, objects: [] });
  const seqs = [...pairs.map((p) => l2iSequence(model.vocab, prompt(p.caption), p.positive)), ...pairs.map((p) => l2iSequence(model.vocab, prompt(p.caption), p.negative))];
  const batch = model.collate(seqs);
  const flat = ops.reshape(model.forward(batch), [batch.batch * batch.length, D]);
  const imageH = ops.gatherRows(flat, batch.imageRows);
  // Generation loss on the positives only (their image rows come first).
  const posRows = tensor(Int32Array.from({ length: B * L }, (_, i) => i), [B * L], { dtype: 'i32', device: model.device });
  const posCodes = new Int32Array(B * L);
  pairs.forEach((p, b) => posCodes.set(p.positive, b * L));
  const gen = ops.crossEntropy(model.imageLogits(ops.gatherRows(imageH, posRows)), tensor(posCodes, [B * L], { dtype: 'i32', device: model.device }));
  // Mean image state per sequence: [2B, L, D] -> [2B, D].
  const img = ops.meanLastDim(ops.permute(ops.reshape(imageH, [2 * B, L, D]), [0, 2, 1]));
  // The caption's embedding: the state at <grounding> (the caption's end; the layout part is empty).
  const capRows = new Int32Array(B);
  seqs.slice(0, B).forEach((s, b) => { capRows[b] = b * batch.length + s.ids.indexOf(model.vocab.special('<grounding>')); });
  const cap = ops.gatherRows(flat, tensor(capRows, [B], { dtype: 'i32', device: model.device }));
  const zi = head.normImage.forward(head.image.forward(img));
  const zt = head.normText.forward(head.text.forward(cap));
  const logits = ops.scale(ops.matmul(zt, zi, { transB: true }), 1 / (head.dim * (opts.temperature ?? 0.1)));
  const targets = tensor(Int32Array.from({ length: B }, (_, b) => b), [B], { dtype: 'i32', device: model.device });
  const nce = ops.crossEntropy(logits, targets);
  // Share of captions whose positive outscores its own negative (a direct read of the contrast).
  const lg = logits.toArray();
  let wins = 0;
  for (let b = 0; b < B; b++) if (lg[b * 2 * B + b] > lg[b * 2 * B + B + b]) wins++;
  const loss = ops.add(gen, ops.scale(nce, opts.contrastWeight ?? 0.5));
  return { loss, stats: { l2i: gen.item(), infoNce: nce.item(), pairAcc: wins / B }, tokens: 2 * B * batch.length };
}

/** `n` pairs of one curriculum stage with the codes of both renders. */
export function evogenPairs(model: EchoGen, stage: CurriculumStage, n: number, seed: number): { caption: string; positive: Int32Array; negative: Int32Array }[] {
  const pairs = contrastivePairs(stage, n, seed);
  const pos = encodeLayouts(model.vq, pairs.map((p) => p.positive as Layout));
  const neg = encodeLayouts(model.vq, pairs.map((p) => p.negative as Layout));
  return pairs.map((p, i) => ({ caption: p.caption, positive: pos[i], negative: neg[i] }));
}

