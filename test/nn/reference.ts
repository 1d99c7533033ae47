// Float64 reference implementations of the nn modules, written from their textbook definitions with
// plain loops (independent of lib/autograd), for forward checks and finite-difference gradients.

export type Params = Record<string, Float64Array>;

// Module-level copies: a global lookup of `Math` inside jest's vm context is slow per element.
const { sqrt, tanh, exp, max, abs, PI } = Math;

/** y[r, o] = sum_i x[r, i] w[o, i] + b[o]; x has rows*inF values. */
export function linear(x: Float64Array, w: Float64Array, b: Float64Array | null, inF: number, outF: number): Float64Array {
  const rows = x.length / inF;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

export function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array, dim: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let mean = 0, varr = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i];
    mean /= dim;
    for (let i = 0; i < dim; i++) varr += (x[r * dim + i] - mean) ** 2;
    varr /= dim;
    const inv = 1 / sqrt(varr + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] - mean) * inv * g[i] + b[i];
  }
  return y;
}

/** GELU, tanh form (as GPT-2 and lib/autograd use it). */
export function gelu(x: Float64Array): Float64Array {
  const c = sqrt(2 / PI);
  return x.map((v) => 0.5 * v * (1 + tanh(c * (v + 0.044715 * v ** 3))));
}

export function add(a: Float64Array, b: Float64Array): Float64Array { return a.map((v, i) => v + b[i]); }

/**
 * Multi-head self-attention on x [B, T, D] with weights qkv [3D, D] (+bias) and out [D, D] (+bias).
 * visible(b, i, j) says whether query i may attend to key j.
 */
export function selfAttention(x: Float64Array, p: Params, prefix: string, B: number, T: number, D: number, H: number,
  visible: (b: number, i: number, j: number) => boolean): Float64Array {
  const Dh = D / H;
  const qkv = linear(x, p[`${prefix}qkv.weight`], p[`${prefix}qkv.bias`], D, 3 * D);
  const o = new Float64Array(B * T * D);
  const scale = 1 / sqrt(Dh);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const at = (t: number, part: number, d: number): number => qkv[(b * T + t) * 3 * D + part * D + h * Dh + d];
        const s: number[] = [];
        let mx = -Infinity;
        for (let j = 0; j < T; j++) {
          if (!visible(b, i, j)) { s.push(-Infinity); continue; }
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += at(i, 0, d) * at(j, 1, d);
          s.push(dot * scale);
          mx = max(mx, dot * scale);
        }
        if (mx === -Infinity) continue;
        const e = s.map((v) => (v === -Infinity ? 0 : exp(v - mx)));
        const z = e.reduce((u, v) => u + v, 0);
        for (let d = 0; d < Dh; d++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += (e[j] / z) * at(j, 2, d);
          o[(b * T + i) * D + h * Dh + d] = acc;
        }
      }
    }
  }
  return linear(o, p[`${prefix}out.weight`], p[`${prefix}out.bias`], D, D);
}

export function transformerBlock(x: Float64Array, p: Params, B: number, T: number, D: number, H: number, hidden: number,
  visible: (b: number, i: number, j: number) => boolean): Float64Array {
  const a = selfAttention(layerNorm(x, p['ln1.weight'], p['ln1.bias'], D, 1e-5), p, 'attn.', B, T, D, H, visible);
  const h = add(x, a);
  const m = linear(gelu(linear(layerNorm(h, p['ln2.weight'], p['ln2.bias'], D, 1e-5), p['mlp.fc.weight'], p['mlp.fc.bias'], D, hidden)),
    p['mlp.proj.weight'], p['mlp.proj.bias'], hidden, D);
  return add(h, m);
}

/** Central finite differences of f at every element of every named input. */
export function finiteDifferences(inputs: Params, f: () => number, h = 1e-5): Params {
  const out: Params = {};
  for (const [name, arr] of Object.entries(inputs)) {
    const g = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const keepV = arr[i];
      arr[i] = keepV + h; const up = f();
      arr[i] = keepV - h; const down = f();
      arr[i] = keepV;
      g[i] = (up - down) / (2 * h);
    }
    out[name] = g;
  }
  return out;
}

export function maxRelErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) { num = max(num, abs(got[i] - ref[i])); den = max(den, abs(ref[i])); }
  return den === 0 ? num : num / den;
}
