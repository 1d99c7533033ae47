import * as eg from '../../lib';
import { gelu, layerNorm, linear, maxRelErr, selfAttention, finiteDifferences, add } from './reference';
import { randomArray, randomizeModule, rng, stateAsF64 } from './helpers';

const { ops, nn } = eg;

describe('Module', () => {
  test('loadStateDict checks names and shapes and replaces values', () => {
    const lin = new nn.Linear(3, 2);
    expect(() => lin.loadStateDict({ weight: eg.tensor(new Float32Array(6), [2, 3]) })).toThrow(/missing: bias/);
    expect(() => lin.loadStateDict({ weight: eg.tensor(new Float32Array(6), [3, 2]), bias: eg.tensor([0, 0], [2]) })).toThrow(/'weight' must have shape \[2,3\], got \[3,2\]/);
    expect(() => lin.loadStateDict({ weight: eg.tensor(new Float32Array(6), [2, 3]), bias: eg.tensor([0, 0], [2]), extra: eg.tensor([0], [1]) })).toThrow(/unexpected: extra/);
    lin.loadStateDict({ weight: eg.tensor([1, 2, 3, 4, 5, 6], [2, 3]), bias: eg.tensor([0.5, -1], [2]) });
    expect(Array.from(lin.forward(eg.tensor([1, 1, 2], [1, 3])).toArray())).toEqual([9.5, 20]);
    lin.dispose();
  });

  test('constructor arguments are checked', () => {
    expect(() => new nn.Linear(0, 2)).toThrow(/inFeatures must be a positive integer/);
    expect(() => new nn.MultiHeadAttention(10, 3)).toThrow(/multiple of heads/);
    const emb = new nn.Embedding(5, 4);
    expect(() => emb.forward(eg.tensor([1, 2], [2]))).toThrow(/ids must be i32/);
    emb.dispose();
  });

  test('the same seed gives the same weights', () => {
    const a = new nn.TransformerBlock(16, 2, { rng: new nn.InitRng(3) });
    const b = new nn.TransformerBlock(16, 2, { rng: new nn.InitRng(3) });
    const c = new nn.TransformerBlock(16, 2, { rng: new nn.InitRng(4) });
    const w = (m: eg.nn.Module): number[] => Array.from(m.namedParameters()[2][1].toArray());
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
    [a, b, c].forEach((m) => m.dispose());
  });
});

describe('Linear, LayerNorm, MLP forward against float64', () => {
  test('values', () => {
    const r = rng(2);
    const mlp = new nn.Mlp(6, 10, 5);
    const ln = new nn.LayerNorm(6);
    randomizeModule(mlp, r);
    randomizeModule(ln, r);
    const x = randomArray(7 * 6, r, 2);
    const p = { ...stateAsF64(mlp), ...Object.fromEntries(Object.entries(stateAsF64(ln)).map(([k, v]) => [`ln.${k}`, v])) };
    const got = mlp.forward(ln.forward(eg.tensor(x, [7, 6]))).toArray();
    const ref = linear(gelu(linear(layerNorm(Float64Array.from(x), p['ln.weight'], p['ln.bias'], 6, 1e-5), p['fc.weight'], p['fc.bias'], 6, 10)), p['proj.weight'], p['proj.bias'], 10, 5);
    expect(maxRelErr(got, ref)).toBeLessThan(1e-5);
  });
});

describe('MultiHeadAttention KV cache', () => {
  test('decoding one token at a time over the cache equals the causal full forward at every step', () => {
    const r = rng(9);
    const B = 3, T = 11, D = 24;
    const mha = new nn.MultiHeadAttention(D, 3, { rng: new nn.InitRng(1) });
    const x = randomArray(B * T * D, r, 1);
    const full = mha.forward(eg.tensor(x, [B, T, D]), { causal: true }).toArray();
    const cache = new nn.KvCache();
    ops.noGrad(() => {
      const xt = (t0: number, t1: number): eg.Tensor => eg.tensor(Float32Array.from({ length: B * (t1 - t0) * D }, (_, k) => {
        const b = Math.floor(k / ((t1 - t0) * D)), rest = k % ((t1 - t0) * D);
        return x[b * T * D + t0 * D + rest];
      }), [B, t1 - t0, D]);
      // A 4-token prefill, then single tokens.
      const steps: [number, number][] = [[0, 4], ...Array.from({ length: T - 4 }, (_, i): [number, number] => [4 + i, 5 + i])];
      for (const [t0, t1] of steps) {
        const y = mha.forward(xt(t0, t1), { causal: true, cache }).toArray();
        expect(cache.length).toBe(t1);
        let err = 0;
        for (let b = 0; b < B; b++) for (let t = t0; t < t1; t++) for (let d = 0; d < D; d++) {
          err = Math.max(err, Math.abs(y[(b * (t1 - t0) + t - t0) * D + d] - full[(b * T + t) * D + d]));
        }
        expect(err).toBeLessThanOrEqual(1e-5);
      }
    });
    cache.dispose();
    mha.dispose();
  });

  test('the cache refuses to run with gradients on', () => {
    const mha = new nn.MultiHeadAttention(16, 2);
    expect(() => mha.forward(eg.tensor(new Float32Array(32), [1, 2, 16]), { cache: new nn.KvCache() })).toThrow(/noGrad/);
    mha.dispose();
  });
});

describe('GatedSelfAttention (GLIGEN)', () => {
  const B = 2, N = 4, M = 3, D = 16, H = 2;

  test('gamma starts at 0, so the layer is the identity and only gamma gets a gradient', () => {
    const r = rng(4);
    const gsa = new nn.GatedSelfAttention(D, H);
    const xd = randomArray(B * N * D, r, 1);
    const x = eg.tensor(xd, [B, N, D]);
    const g = eg.tensor(randomArray(B * M * D, r, 1), [B, M, D]);
    const y = gsa.forward(x, g);
    expect(Array.from(y.toArray())).toEqual(Array.from(xd));
    ops.backward(ops.sum(y));
    expect(Math.abs(gsa.gamma.grad!.item())).toBeGreaterThan(1e-3);
    const qkvGrad = gsa.attn.qkv.weight.grad;
    expect(qkvGrad === null || qkvGrad.toArray().every((v) => v === 0)).toBe(true);
    gsa.dispose();
  });

  test('x + tanh(gamma) * SA(LN([x, g]))[:N] with gradients, against float64 finite differences', () => {
    const r = rng(8);
    const gsa = new nn.GatedSelfAttention(D, H, { rng: new nn.InitRng(2) });
    randomizeModule(gsa, r);
    const xd = randomArray(B * N * D, r, 1), gd = randomArray(B * M * D, r, 1), wd = randomArray(B * N * D, r, 1);
    const x = ops.param(eg.tensor(xd, [B, N, D]));
    const g = ops.param(eg.tensor(gd, [B, M, D]));
    const y = gsa.forward(x, g);
    const yData = y.toArray(); // backward frees the intermediates
    ops.backward(ops.sum(ops.mul(y, eg.tensor(wd, [B, N, D]))));
    const p = stateAsF64(gsa);
    const x64 = Float64Array.from(xd), g64 = Float64Array.from(gd);
    const T = N + M;
    const fwd = (): Float64Array => {
      const cat = new Float64Array(B * T * D);
      for (let b = 0; b < B; b++) { cat.set(x64.subarray(b * N * D, (b + 1) * N * D), b * T * D); cat.set(g64.subarray(b * M * D, (b + 1) * M * D), (b * T + N) * D); }
      const sa = selfAttention(layerNorm(cat, p['ln.weight'], p['ln.bias'], D, 1e-5), p, 'attn.', B, T, D, H, () => true);
      const gate = Math.tanh(p.gamma[0]);
      const out = new Float64Array(B * N * D);
      for (let b = 0; b < B; b++) for (let k = 0; k < N * D; k++) out[b * N * D + k] = gate * sa[b * T * D + k];
      return add(x64, out);
    };
    expect(maxRelErr(yData, fwd())).toBeLessThan(1e-5);
    const fd = finiteDifferences({ x: x64, g: g64, ...p }, () => fwd().reduce((s, v, i) => s + v * wd[i], 0));
    const grads: Record<string, eg.Tensor | null> = { x: x.grad, g: g.grad, ...Object.fromEntries(gsa.namedParameters().map(([n, t]) => [n, t.grad])) };
    for (const [name, gr] of Object.entries(grads)) {
      const err = maxRelErr(gr!.toArray(), fd[name]);
      if (err > 1e-4) throw new Error(`gradient of ${name}: max rel err ${err}`);
    }
    gsa.dispose();
  });
});
