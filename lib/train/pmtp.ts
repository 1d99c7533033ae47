// Parallel Multi-Task Pre-training: one sequence per scene holds the L2I task (layout -> image
// codes) and the I2L task (image codes -> the box of each expression), sharing the image codes;
// the segment mask of lib/model hides the layout from every grounding query. A task mix can also
// send a scene as L2I alone or as I2L alone.
import { Tensor } from '../tensor';
import * as ops from '../autograd';
import { EchoGen, TokenSequence, l2iSequence, pmtpSequence, SEG_IMAGE_PREFIX } from '../model';
import { Example } from './data';
import { Task, TaskMix, pickTask } from './schedule';
import { TrainRng } from './rng';

export interface PmtpOptions {
  /** Share of joint / L2I-only / I2L-only sequences (default all joint). */
  mix?: TaskMix;
  /** Weight of the grounding (box-token) loss against the image-code loss (default 1). */
  textWeight?: number;
}

export interface StepResult {
  /** The scalar to minimise (with grad). */
  loss: Tensor;
  /** Values for logs (losses per head, temperature, reward...). */
  stats: Record<string, number>;
  /** Tokens processed (for tokens/s). */
  tokens: number;
}

export const DEFAULT_MIX: TaskMix = { joint: 1, l2i: 0, i2l: 0 };

/** The I2L part of a PMTP sequence: the image prefix and every query, positions as standalone I2L. */
export function i2lPart(s: TokenSequence): TokenSequence {
  const from = s.seg.indexOf(SEG_IMAGE_PREFIX);
  if (from < 0) throw new RangeError('i2lPart: the sequence has no image prefix (segment 1)');
  return {
    ids: s.ids.slice(from), pos: s.pos.slice(from), seg: s.seg.slice(from), head: s.head.slice(from), target: s.target.slice(from),
    geo: s.geo.slice(from), geoNext: s.geoNext.slice(from), layout: s.layout,
  };
}

export function taskSequence(model: EchoGen, ex: Example, task: Task): TokenSequence {
  switch (task) {
    case 'joint': return pmtpSequence(model.vocab, ex.layout, ex.codes);
    case 'l2i': return l2iSequence(model.vocab, ex.layout, ex.codes);
    case 'i2l': return i2lPart(pmtpSequence(model.vocab, ex.layout, ex.codes));
  }
}

/** Sum of the present losses, `text` weighted. */
export function combine(image: Tensor | null, text: Tensor | null, textWeight: number): Tensor {
  if (image && text) return ops.add(image, ops.scale(text, textWeight));
  if (image) return image;
  if (text) return ops.scale(text, textWeight);
  throw new RangeError('combine: the batch has neither image nor box targets');
}

export function pmtpStep(model: EchoGen, examples: readonly Example[], rng: TrainRng, opts: PmtpOptions = {}): StepResult {
  const mix = opts.mix ?? DEFAULT_MIX;
  const seqs = examples.map((ex) => taskSequence(model, ex, pickTask(mix, rng.float())));
  // The batch's tensors must outlive backward (gatherRows and crossEntropy read them there): the
  // trainer runs step, backward and update in one tidy() scope, which frees them.
  const batch = model.collate(seqs);
  const { image, text, ref, patch } = model.loss(batch);
  // The referring readout's attention loss (config.refReadout) and the patch-box task (config.patchBoxes) at weight 1.
  const loss = [ref, patch].reduce<Tensor>((sum, l) => (l ? ops.add(sum, l) : sum), combine(image, text, opts.textWeight ?? 1));
  const stats: Record<string, number> = {};
  if (image) stats.l2i = image.item();
  if (text) stats.i2l = text.item();
  if (ref) stats.ref = ref.item();
  if (patch) stats.patch = patch.item();
  return { loss, stats, tokens: seqs.reduce((s, q) => s + q.ids.length, 0) };
}
