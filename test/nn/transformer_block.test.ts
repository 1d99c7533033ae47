// A whole pre-LN TransformerBlock against a float64 reference: forward values, and every gradient
// (input and all parameters) against central finite differences of the reference.
import * as eg from '../../lib';
import { finiteDifferences, maxRelErr, transformerBlock } from './reference';
import { randomArray, randomizeModule, rng, stateAsF64 } from './helpers';

const { ops, nn } = eg;
// Head dim 8: the smallest the fused attention kernel takes.
const B = 2, T = 5, D = 16, H = 2, HIDDEN = 24;

function check(visible: (b: number, i: number, j: number) => boolean, call: { causal?: boolean; mask?: eg.Tensor }, seed: number): void {
  const r = rng(seed);
  const block = new nn.TransformerBlock(D, H, { mlpRatio: HIDDEN / D, rng: new nn.InitRng(seed) });
  randomizeModule(block, r);
  const xData = randomArray(B * T * D, r, 1);
  const weights = randomArray(B * T * D, r, 1);
  const x = ops.param(eg.tensor(xData, [B, T, D]));
  const out = block.forward(x, call);
  const outData = out.toArray(); // backward frees the intermediates
  ops.backward(ops.sum(ops.mul(out, eg.tensor(weights, [B, T, D]))));

  const p = stateAsF64(block);
  const x64 = Float64Array.from(xData);
  const forward = (): Float64Array => transformerBlock(x64, p, B, T, D, H, HIDDEN, visible);
  expect(maxRelErr(outData, forward())).toBeLessThan(1e-5);
  const loss = (): number => forward().reduce((s, v, i) => s + v * weights[i], 0);
  const fd = finiteDifferences({ x: x64, ...p }, loss);
  const grads: Record<string, eg.Tensor | null> = { x: x.grad, ...Object.fromEntries(block.namedParameters().map(([n, t]) => [n, t.grad])) };
  expect(Object.keys(grads).sort()).toEqual(Object.keys(fd).sort());
  for (const [name, g] of Object.entries(grads)) {
    expect(g).not.toBeNull();
    const err = maxRelErr(g!.toArray(), fd[name]);
    if (err > 1e-4) throw new Error(`gradient of ${name}: max rel err ${err}`);
  }
  block.dispose();
}

describe('TransformerBlock gradient check (float64 finite differences)', () => {
  test('causal', () => check((_b, i, j) => j <= i, { causal: true }, 11));

  test('with a per-batch mask (and a row that sees nothing)', () => {
    const r = rng(5);
    const m = new Int32Array(B * T * T).map(() => (r() > -0.2 ? 1 : 0));
    m.fill(0, 3 * T, 4 * T); // batch 0, query 3 sees no key: its attention output must be 0
    const vis = (b: number, i: number, j: number): boolean => m[(b * T + i) * T + j] !== 0;
    check(vis, { mask: eg.tensor(m, [B, T, T], { dtype: 'i32' }) }, 12);
  });
});

test('TransformerBlock parameter names and count', () => {
  const block = new nn.TransformerBlock(D, H, { mlpRatio: HIDDEN / D });
  expect(block.namedParameters().map(([n, t]) => `${n}:${t.shape.join('x')}`)).toEqual([
    'ln1.weight:16', 'ln1.bias:16', 'attn.qkv.weight:48x16', 'attn.qkv.bias:48', 'attn.out.weight:16x16', 'attn.out.bias:16',
    'ln2.weight:16', 'ln2.bias:16', 'mlp.fc.weight:24x16', 'mlp.fc.bias:24', 'mlp.proj.weight:16x24', 'mlp.proj.bias:16',
  ]);
  expect(block.numParameters()).toBe(4 * D + 3 * D * D + 3 * D + D * D + D + 2 * D * HIDDEN + HIDDEN + D);
  expect(block.parameters().every((t) => t.requiresGrad)).toBe(true);
  block.dispose();
});
