// Dual Joint Optimization: the L2I pass (teacher-forced on the real codes) yields logits over the
// image codes; Gumbel-Softmax turns them into soft tokens (probabilities x the image rows of the
// token table), and the I2L pass grounds every expression in those soft tokens. The grounding loss
// thus flows back through the soft tokens into the generator; the generation loss stays on.
import * as ops from '../autograd';
import { EchoGen, l2iSequence, pmtpSequence } from '../model';
import { Example } from './data';
import { StepResult, i2lPart } from './pmtp';
import { TrainRng } from './rng';

export interface DjoOptions {
  /** Gumbel-Softmax temperature at this step (the trainer anneals it). */
  tau: number;
  /** Straight-through: one-hot tokens forward, the soft gradient backward (default false). */
  hard?: boolean;
  /** Weight of the grounding loss on soft tokens (default 1). */
  groundWeight?: number;
  /** Weight of the L2I cross-entropy (default 1; the paper keeps it on). */
  genWeight?: number;
}

/** `<i2l> <img>` come before the codes of the I2L image prefix (lib/model/sequences.ts). */
const PREFIX_BEFORE_CODES = 2;

export function djoStep(model: EchoGen, examples: readonly Example[], rng: TrainRng, opts: DjoOptions): StepResult {
  const B = examples.length, L = model.vq.tokensPerImage, D = model.config.dim;

  // L2I, teacher-forced: logits for every image code of every example, in example order.
  const gen = model.collate(examples.map((ex) => l2iSequence(model.vocab, ex.layout, ex.codes)));
  const h1 = ops.reshape(model.forward(gen), [gen.batch * gen.length, D]);
  const logits = model.imageLogits(ops.gatherRows(h1, gen.imageRows));
  const genLoss = ops.crossEntropy(logits, gen.imageTargets);

  // Soft image tokens: E[embedding] under the relaxed sample.
  const g = ops.gumbelSoftmax(logits, { tau: opts.tau, hard: opts.hard ?? false, seed: rng.seed(), offset: 0 });
  const weights = opts.hard ? g.hard ?? g.soft : g.soft;
  const soft = ops.reshape(ops.matmul(weights, model.imageTokenTable()), [B, L, D]);

  // I2L on the soft tokens: the real ids' embeddings everywhere but the code positions.
  const ground = model.collate(examples.map((ex) => i2lPart(pmtpSequence(model.vocab, ex.layout, ex.codes))));
  const T = ground.length;
  const tok = model.tokenEmbedding(ground.ids);
  const tok2 = ops.concat([ops.slice(tok, 1, 0, PREFIX_BEFORE_CODES), soft, ops.slice(tok, 1, PREFIX_BEFORE_CODES + L, T)], 1);
  const x2 = ops.add(tok2, model.context(ground.pos, ground.geo, ground.geoNext));
  const h2 = model.run(x2, { causal: ground.causal, mask: ground.mask ?? undefined });
  // DJO trains through the box loss only: the readout's attention loss and the patch-box task would be computed and dropped.
  const { text } = model.loss(ground, h2, { refLoss: false, patchLoss: false });
  if (!text) throw new RangeError('djoStep: the examples have no objects to ground');

  const loss = ops.add(ops.scale(genLoss, opts.genWeight ?? 1), ops.scale(text, opts.groundWeight ?? 1));
  return {
    loss,
    stats: { l2i: genLoss.item(), i2l: text.item(), tau: opts.tau },
    tokens: B * gen.length + B * T,
  };
}
