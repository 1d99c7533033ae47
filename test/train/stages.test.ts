// The three stages on a tiny model: each step's loss is finite and falls where it should, DJO's
// grounding loss reaches the generator, and Cycle RL uses no image from the world.
import * as eg from '../../lib';
import { EchoGen, PatchVq } from '../../lib/model';
import { VOCAB } from '../../lib/data';
import { fitTokenizer, trainExamples } from '../../lib/train/data';
import type { Example } from '../../lib/train/data';
import { pmtpStep, i2lPart } from '../../lib/train/pmtp';
import { djoStep } from '../../lib/train/djo';
import { rollout, cycleRlStep, rlLayouts } from '../../lib/train/cycle-rl';
import { createOptimizer } from '../../lib/train/optimizer';
import { copyModel } from '../../lib/train/trainer';
import { TrainRng } from '../../lib/train/rng';
import { pmtpSequence, SEG_IMAGE_PREFIX } from '../../lib/model';

const SHAPE = { dim: 32, layers: 1, heads: 2, mlpRatio: 2, maxPositions: 256, imageSize: 64, patchSize: 8, codebookSize: 32 };

let vq: PatchVq;
beforeAll(() => { vq = fitTokenizer(SHAPE, 48, 1, 4); });

function freshModel(seed = 0): EchoGen {
  return EchoGen.create(SHAPE, { words: VOCAB, vq: new PatchVq(vq.config, vq.codebook.clone()), seed });
}

function gradNorm(ps: eg.Tensor[]): number {
  let s = 0;
  for (const p of ps) if (p.grad) for (const v of p.grad.toArray()) s += v * v;
  return Math.sqrt(s);
}

test('i2lPart keeps the image prefix and queries with standalone positions', () => {
  const m = freshModel();
  const ex = trainExamples(m.vq, 1, 0, 0)[0];
  const s = pmtpSequence(m.vocab, ex.layout, ex.codes);
  const part = i2lPart(s);
  expect(part.seg[0]).toBe(SEG_IMAGE_PREFIX);
  expect(part.pos[0]).toBe(0);
  expect(part.ids[0]).toBe(m.vocab.special('<i2l>'));
  expect(part.ids.length).toBe(s.ids.length - s.seg.indexOf(SEG_IMAGE_PREFIX));
  m.dispose();
});

test('PMTP: 25 steps on the same batch drive both losses down', () => {
  const m = freshModel(1);
  const opt = createOptimizer(m, 3e-3, 0);
  const ex = trainExamples(m.vq, 4, 0, 0);
  const rng = new TrainRng(0);
  const first: Record<string, number>[] = [], last: Record<string, number>[] = [];
  for (let i = 0; i < 25; i++) {
    eg.tidy(() => {
      opt.zeroGrad();
      const r = pmtpStep(m, ex, rng);
      (i === 0 ? first : last).push(r.stats);
      eg.ops.backward(r.loss);
      opt.step();
    });
  }
  const end = last[last.length - 1];
  expect(end.l2i).toBeLessThan(first[0].l2i * 0.8);
  expect(end.i2l).toBeLessThan(first[0].i2l * 0.8);
  // A fresh model starts near uniform: ln(K) for codes.
  expect(Math.abs(first[0].l2i - Math.log(SHAPE.codebookSize))).toBeLessThan(0.5);
  opt.dispose();
  m.dispose();
});

test('DJO: the grounding loss alone sends gradient into the image head (through the soft tokens)', () => {
  const m = freshModel(2);
  const ex = trainExamples(m.vq, 2, 0, 1);
  eg.tidy(() => {
    const r = djoStep(m, ex, new TrainRng(1), { tau: 0.7, genWeight: 0, groundWeight: 1 });
    eg.ops.backward(r.loss);
    expect(Number.isFinite(r.stats.i2l)).toBe(true);
    // The image head only feeds the L2I logits; with the generation loss off, any gradient there
    // came back from grounding through gumbelSoftmax.
    expect(gradNorm([m.imageHead.weight])).toBeGreaterThan(0);
  });
  for (const p of m.parameters()) { p.grad?.dispose(); p.grad = null; }
  // And with grounding off too, nothing reaches it.
  eg.tidy(() => {
    const r = djoStep(m, ex, new TrainRng(1), { tau: 0.7, genWeight: 0, groundWeight: 0 });
    eg.ops.backward(r.loss);
    expect(gradNorm([m.imageHead.weight])).toBe(0);
  });
  m.dispose();
});

test('Cycle RL: a rollout scores G samples per layout from layouts alone; the update moves the policy', () => {
  const m = freshModel(3);
  const ref = copyModel(m);
  const layouts = rlLayouts('random', 2, 5);
  const ro = rollout(m, ref, layouts, new TrainRng(4), { group: 4 });
  expect(ro.codes.length).toBe(2 * 4);
  expect(ro.advantage.length).toBe(2 * 4 * m.vq.tokensPerImage);
  // Advantages are normalised per group: mean 0 over each layout's samples.
  for (let b = 0; b < 2; b++) {
    let s = 0;
    for (let g = 0; g < 4; g++) s += ro.advantage[(b * 4 + g) * m.vq.tokensPerImage];
    expect(Math.abs(s)).toBeLessThan(1e-4);
  }
  // On the first update the policy is the sampler and the reference: ratio 1, KL 0.
  const opt = createOptimizer(m, 1e-2, 0);
  eg.tidy(() => {
    opt.zeroGrad();
    const r = cycleRlStep(m, ro, { beta: 0.04 });
    expect(r.stats.kl).toBeLessThan(1e-6);
    expect(r.stats.clip).toBe(0);
    eg.ops.backward(r.loss);
    opt.step();
  });
  eg.tidy(() => {
    const r = cycleRlStep(m, ro, { beta: 0.04 });
    expect(r.stats.kl).toBeGreaterThan(0);
  });
  opt.dispose();
  ref.dispose();
  m.dispose();
});

test('training data is a function of (seed, step): same step same scenes and codes, next step different', () => {
  const a = trainExamples(vq, 3, 5, 11), b = trainExamples(vq, 3, 5, 11), c = trainExamples(vq, 3, 5, 12);
  expect(a.map((e) => e.layout)).toEqual(b.map((e) => e.layout));
  a.forEach((e, i) => expect(Array.from(e.codes)).toEqual(Array.from(b[i].codes)));
  expect(a[0].codes).toHaveLength(64);
  expect(a.map((e) => e.layout.caption)).not.toEqual(c.map((e) => e.layout.caption));
});

test('looseCaptions rewrites captions only: same scenes, every caption true of its scene, size words kept about half the time', () => {
  const n = 48;
  const world = trainExamples(vq, n, 3, 4), loose = trainExamples(vq, n, 3, 4, { looseCaptions: 1 });
  let mentions = 0, sized = 0, changed = 0;
  world.forEach((w, i) => {
    const l = loose[i];
    expect(l.layout.objects).toEqual(w.layout.objects);
    expect(Array.from(l.codes)).toEqual(Array.from(w.codes));
    const objects = eg.data.sceneFromLayout(w.layout as Parameters<typeof eg.data.sceneFromLayout>[0]).objects;
    const parsed = eg.data.parseCaption(l.layout.caption);
    expect(parsed.mentions).toHaveLength(objects.length);
    expect(eg.data.captionHolds(parsed, objects, eg.data.drawnView(objects))).toBe(true);
    mentions += parsed.mentions.length;
    sized += parsed.mentions.filter((m) => m.size !== undefined).length;
    if (l.layout.caption !== w.layout.caption) changed++;
  });
  // The world's captions name every size; here each is kept with chance 1/2 (binomial, >100 mentions:
  // 0.3..0.7 is more than 4 standard deviations wide).
  expect(world.every((w) => eg.data.parseCaption(w.layout.caption).mentions.every((m) => m.size !== undefined))).toBe(true);
  expect(mentions).toBeGreaterThan(100);
  expect(sized / mentions).toBeGreaterThan(0.3);
  expect(sized / mentions).toBeLessThan(0.7);
  expect(changed).toBeGreaterThan(n / 2);
  expect(trainExamples(vq, n, 3, 4, { looseCaptions: 1 }).map((e) => e.layout.caption)).toEqual(loose.map((e) => e.layout.caption));
});

test('looseCaptions outside [0, 1] is a RangeError naming it', () => {
  for (const bad of [-0.1, 1.5, NaN]) expect(() => trainExamples(vq, 1, 3, 4, { looseCaptions: bad })).toThrow(/looseCaptions must be a share in \[0, 1\]/);
});

test('looseScenes: that share of the scenes under the loose rule (binomial), the rest the world as before', () => {
  const n = 200;
  const objectsOf = (e: Example) => eg.data.sceneFromLayout(e.layout as Parameters<typeof eg.data.sceneFromLayout>[0]).objects;
  const strict = (e: Example): boolean => eg.data.isReadable(objectsOf(e), 0.6);
  const loose = (e: Example): boolean => eg.data.isLooselyReadable(objectsOf(e), 0.5);
  const none = trainExamples(vq, n, 3, 4, { looseScenes: 0 });
  expect(none.map((e) => e.layout)).toEqual(trainExamples(vq, n, 3, 4).map((e) => e.layout));
  expect(none.every(strict)).toBe(true);
  const all = trainExamples(vq, n, 3, 4, { looseScenes: 1 });
  expect(all.every(loose)).toBe(true);
  const refused = all.filter((e) => !strict(e)).length;
  expect(refused).toBeGreaterThan(n / 10);
  // Half: the loose scenes are Binomial(200, 1/2) (sd 7.1); of them about refused/n fail the strict rule.
  const half = trainExamples(vq, n, 3, 4, { looseScenes: 0.5 });
  const expected = (n / 2) * (refused / n), failing = half.filter((e) => !strict(e)).length;
  expect(Math.abs(failing - expected)).toBeLessThan(4 * Math.sqrt(expected) + 8);
  expect(trainExamples(vq, n, 3, 4, { looseScenes: 0.5 }).map((e) => e.layout)).toEqual(half.map((e) => e.layout));
  for (const bad of [-0.1, 1.5, NaN]) expect(() => trainExamples(vq, 1, 3, 4, { looseScenes: bad })).toThrow(/looseScenes must be a share in \[0, 1\]/);
});
