import * as eg from '../../lib';
import { grpoLoss, grpoObjective } from '../../lib/train/grpo';

function rand(n: number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + Math.random() * (hi - lo));
}

describe('grpoObjective (float64 reference)', () => {
  test('hand-computed cases: ratio 1, clipping on each side, k3 KL', () => {
    // On-policy, reference = policy: loss = -mean(A), KL 0.
    const lp = [-1, -2, -0.5];
    const r0 = grpoObjective(lp, { oldLogp: Float32Array.from(lp), refLogp: Float32Array.from(lp), advantage: Float32Array.from([1, -1, 2]) });
    expect(r0.loss).toBeCloseTo(-(1 - 1 + 2) / 3, 6);
    expect(r0.kl).toBeCloseTo(0, 12);
    expect(r0.clipFraction).toBe(0);
    // r = 1.5, A = +1: min(1.5, 1.2) = 1.2. r = 0.5, A = -1: min(-0.5, -0.8) = -0.8.
    const r1 = grpoObjective([Math.log(1.5), Math.log(0.5)], { oldLogp: new Float32Array(2), refLogp: Float32Array.from([Math.log(1.5), Math.log(0.5)]), advantage: Float32Array.from([1, -1]) });
    expect(r1.loss).toBeCloseTo(-(1.2 - 0.8) / 2, 6);
    expect(r1.clipFraction).toBe(1);
    // k3 with ref - logp = d: e^d - d - 1; d = ln 2 -> 1 - ln 2.
    const r2 = grpoObjective([0], { oldLogp: new Float32Array(1), refLogp: Float32Array.from([Math.log(2)]), advantage: new Float32Array(1) }, { beta: 1 });
    expect(r2.kl).toBeCloseTo(1 - Math.log(2), 6);
    expect(r2.loss).toBeCloseTo(1 - Math.log(2), 6);
  });
});

describe('grpoLoss (graph) matches the reference objective', () => {
  test('gradient equals central finite differences of the float64 objective', () => {
    const N = 37;
    const old = rand(N, -3, -0.5);
    // Ratios spread over [0.6, 1.4] so some tokens are clipped, none within 0.02 of a clip edge.
    const logpData = Float32Array.from(old, (o) => {
      let r: number;
      do r = 0.6 + Math.random() * 0.8; while (Math.abs(r - 0.8) < 0.02 || Math.abs(r - 1.2) < 0.02);
      return o + Math.log(r);
    });
    const ref = Float32Array.from(logpData, (v) => v + (Math.random() - 0.5));
    const adv = rand(N, -2, 2);
    const opts = { eps: 0.2, beta: 0.1 };
    const logp = eg.ops.param(eg.tensor(logpData, [N]));
    const { loss, stats } = grpoLoss({ logp, oldLogp: old, refLogp: ref, advantage: adv }, opts);
    const refStats = grpoObjective(Array.from(logpData), { oldLogp: old, refLogp: ref, advantage: adv }, opts);
    expect(stats.loss).toBeCloseTo(refStats.loss, 10);
    // The graph scalar is the objective itself (constants included), to float32 precision.
    expect(loss.item()).toBeCloseTo(refStats.loss, 4);
    expect(stats.clipFraction).toBeGreaterThan(0);
    eg.ops.backward(loss);
    const g = (logp.grad as eg.Tensor).toArray();
    const h = 1e-5;
    for (let i = 0; i < N; i++) {
      const up = Array.from(logpData), dn = Array.from(logpData);
      up[i] += h; dn[i] -= h;
      const fd = (grpoObjective(up, { oldLogp: old, refLogp: ref, advantage: adv }, opts).loss - grpoObjective(dn, { oldLogp: old, refLogp: ref, advantage: adv }, opts).loss) / (2 * h);
      expect(Math.abs(g[i] - fd)).toBeLessThan(1e-4 + 1e-3 * Math.abs(fd));
    }
  });

  test('mismatched lengths are a RangeError naming the argument', () => {
    const logp = eg.tensor(new Float32Array(4), [4]);
    expect(() => grpoLoss({ logp, oldLogp: new Float32Array(3), refLogp: new Float32Array(4), advantage: new Float32Array(4) })).toThrow(/oldLogp must have 4/);
  });
});
