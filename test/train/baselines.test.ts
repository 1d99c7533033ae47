// GLIGEN and EvoGen baselines on a tiny model: the gated layers start as the identity (gamma = 0)
// and train without touching the base; EvoGen's contrast learns to tell positive from negative.
import * as eg from '../../lib';
import { EchoGen, PatchVq, collate, l2iSequence } from '../../lib/model';
import { VOCAB } from '../../lib/data';
import { fitTokenizer, trainExamples } from '../../lib/train/data';
import { GligenAdapter, captionOnly, freeze, gligenStep, gligenGenerate, fourierBox } from '../../lib/train/gligen';
import { ContrastiveHead, evogenPairs, evogenStep } from '../../lib/train/evogen';
import { AdamW } from '../../lib/optim';

const SHAPE = { dim: 32, layers: 2, heads: 2, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: 32 };
let vq: PatchVq;
beforeAll(() => { vq = fitTokenizer(SHAPE, 48, 2, 4); });
const fresh = (seed: number): EchoGen => EchoGen.create(SHAPE, { words: VOCAB, vq: new PatchVq(vq.config, vq.codebook.clone()), seed });

test('fourierBox: sin/cos pairs of 2^f * pi * v', () => {
  const f = fourierBox([0.25, 0, 1, 0.5]);
  expect(f).toHaveLength(64);
  expect(f[0]).toBeCloseTo(Math.sin(Math.PI * 0.25), 12);
  expect(f[1]).toBeCloseTo(Math.cos(Math.PI * 0.25), 12);
  expect(f[2]).toBeCloseTo(Math.sin(2 * Math.PI * 0.25), 12);
  expect(f[16]).toBeCloseTo(0, 12);
  expect(f[17]).toBeCloseTo(1, 12);
});

test('GLIGEN: gamma = 0 leaves the base unchanged; training moves only the adapter', () => {
  const base = fresh(1);
  const adapter = new GligenAdapter(base, 3);
  const ex = trainExamples(base.vq, 3, 0, 0);
  eg.tidy(() => eg.ops.noGrad(() => {
    const batch = collate(ex.map((e) => l2iSequence(base.vocab, captionOnly(e.layout), e.codes)));
    const plain = base.forward(batch).toArray();
    const { g, counts } = adapter.tokens(base, ex.map((e) => e.layout));
    const gated = adapter.run(base, batch.ids, batch.pos, g, counts).toArray();
    let maxDiff = 0;
    for (let i = 0; i < plain.length; i++) maxDiff = Math.max(maxDiff, Math.abs(plain[i] - gated[i]));
    expect(maxDiff).toBe(0);
  }));
  freeze(base);
  const before = base.parameters().map((p) => p.toArray());
  const opt = new AdamW(adapter.parameters(), { lr: 3e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) eg.tidy(() => {
    opt.zeroGrad();
    const r = gligenStep(base, adapter, ex);
    losses.push(r.stats.l2i);
    eg.ops.backward(r.loss);
    opt.step();
  });
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.9);
  base.parameters().forEach((p, i) => expect(Buffer.from(p.toArray().buffer).equals(Buffer.from(before[i].buffer))).toBe(true));
  expect(adapter.gates.some((gt) => gt.gamma.toArray()[0] !== 0)).toBe(true);
  const imgs = eg.tidy(() => gligenGenerate(base, adapter, ex.map((e) => e.layout), { seed: 1 }).shape);
  expect(imgs).toEqual([3, 64, 64, 3]);
  opt.dispose();
});

test('EvoGen: InfoNCE on fixed pairs falls and the positive comes to outscore its negative', () => {
  const model = fresh(2);
  const head = new ContrastiveHead(SHAPE.dim, 16, 1);
  const pairs = evogenPairs(model, 1, 6, 9);
  const opt = new AdamW([...model.parameters(), ...head.parameters()], { lr: 3e-3, weightDecay: 0 });
  const stats: Record<string, number>[] = [];
  for (let i = 0; i < 80; i++) eg.tidy(() => {
    opt.zeroGrad();
    const r = evogenStep(model, head, pairs);
    if (process.env.EG_DEBUG) console.log(i, r.stats);
    stats.push(r.stats);
    eg.ops.backward(r.loss);
    opt.step();
  });
  // ln(2B) at chance for 2B = 12 candidates.
  expect(Math.abs(stats[0].infoNce - Math.log(12))).toBeLessThan(1);
  expect(stats[stats.length - 1].infoNce).toBeLessThan(stats[0].infoNce * 0.7);
  // A pair whose two renders get the same codes (a change the small codebook cannot see) can
  // only tie: it costs ln 2 in its row. Every other pair must be won.
  const same = pairs.filter((p) => Buffer.from(p.positive.buffer).equals(Buffer.from(p.negative.buffer))).length;
  expect(stats[stats.length - 1].pairAcc).toBeGreaterThanOrEqual((6 - same) / 6);
  // near its floor (chance is ln 12 = 2.48); the margin absorbs run-to-run rounding of 80 steps
  expect(stats[stats.length - 1].infoNce).toBeLessThan((same * Math.log(2)) / 6 + 0.15);
  opt.dispose();
});
