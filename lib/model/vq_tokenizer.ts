// The patch VQ image tokenizer: a 64x64 RGB image is cut into (64/p)^2 patches of p*p*3 values, each
// replaced by the index of its nearest codebook vector (kernels.vqNearest); decoding gathers the
// codebook rows back (kernels.vqGather). The codebook is fitted by k-means (Lloyd iterations on
// vqNearest + vqStats); a code that loses all its patches is re-seeded at the worst-fitted patches,
// which is what spends codes on object edges rather than on copies of the background.
import { Tensor, tensor, tidy, keep } from '../tensor';
import * as ops from '../autograd';
import { vqGather, vqNearest, vqStats } from '../kernels';
import { InitRng } from '../nn/init';

export interface PatchVqConfig {
  imageSize: number;
  patchSize: number;
  codebookSize: number;
}

export interface KMeansOptions {
  /** Most Lloyd iterations (default 20). */
  iterations?: number;
  /** Stop early once an iteration re-seeds nothing and improves the error by less than this share (default 1e-4). */
  tolerance?: number;
  seed?: number;
  /** Called after every iteration with the mean squared error per patch value. */
  onIteration?: (iteration: number, mse: number, reseeded: number) => void;
}

export class PatchVq {
  readonly config: PatchVqConfig;
  /** [K, p*p*3] f32. */
  readonly codebook: Tensor;

  constructor(config: PatchVqConfig, codebook: Tensor) {
    const { imageSize, patchSize, codebookSize } = config;
    if (!Number.isInteger(patchSize) || patchSize < 1 || imageSize % patchSize !== 0) {
      throw new RangeError(`PatchVq: patchSize (${patchSize}) must divide imageSize (${imageSize})`);
    }
    const D = patchSize * patchSize * 3;
    if (codebook.dtype !== 'f32' || codebook.rank !== 2 || codebook.shape[0] !== codebookSize || codebook.shape[1] !== D) {
      throw new RangeError(`PatchVq: codebook must be f32 [${codebookSize}, ${D}], got ${codebook.dtype} [${codebook.shape}]`);
    }
    this.config = { imageSize, patchSize, codebookSize };
    this.codebook = keep(codebook);
  }

  /** Patches per side and per image. */
  get grid(): number { return this.config.imageSize / this.config.patchSize; }
  get tokensPerImage(): number { return this.grid * this.grid; }
  get patchDim(): number { return this.config.patchSize * this.config.patchSize * 3; }

  /** images f32 [N, S, S, 3] -> patches [N * g * g, p * p * 3], row-major over (image, patch row, patch col). */
  patches(images: Tensor): Tensor {
    const S = this.config.imageSize, p = this.config.patchSize, g = this.grid;
    if (images.dtype !== 'f32' || images.rank !== 4 || images.shape[1] !== S || images.shape[2] !== S || images.shape[3] !== 3) {
      throw new RangeError(`PatchVq: images must be f32 [N, ${S}, ${S}, 3], got ${images.dtype} [${images.shape}]`);
    }
    const N = images.shape[0];
    return ops.noGrad(() => ops.reshape(ops.permute(ops.reshape(images, [N, g, p, g, p, 3]), [0, 1, 3, 2, 4, 5]), [N * g * g, this.patchDim]));
  }

  /** images [N, S, S, 3] -> codes i32 [N, g*g]. */
  encode(images: Tensor): Tensor {
    return tidy(() => {
      const N = images.shape[0] ?? 0;
      const { indices } = vqNearest(this.patches(images), this.codebook);
      return indices.reshape([N, this.tokensPerImage]);
    });
  }

  /** codes i32 [N, g*g] -> images [N, S, S, 3]. */
  decode(codes: Tensor): Tensor {
    const g = this.grid, p = this.config.patchSize;
    if (codes.dtype !== 'i32' || codes.rank !== 2 || codes.shape[1] !== this.tokensPerImage) {
      throw new RangeError(`PatchVq.decode: codes must be i32 [N, ${this.tokensPerImage}], got ${codes.dtype} [${codes.shape}]`);
    }
    const N = codes.shape[0];
    return tidy(() => ops.noGrad(() => {
      const rows = vqGather(this.codebook, codes);
      return ops.reshape(ops.permute(ops.reshape(rows, [N, g, g, p, p, 3]), [0, 1, 3, 2, 4, 5]), [N, this.config.imageSize, this.config.imageSize, 3]);
    }));
  }

  /** Encode then decode. */
  reconstruct(images: Tensor): Tensor {
    return tidy(() => this.decode(this.encode(images)));
  }

  dispose(): void { this.codebook.dispose(); }

  /** Fits a codebook to the patches of `images` [N, S, S, 3] by k-means. */
  static fit(images: Tensor, config: PatchVqConfig, opts: KMeansOptions = {}): PatchVq {
    const K = config.codebookSize;
    if (!Number.isInteger(K) || K < 2) throw new RangeError(`PatchVq.fit: codebookSize must be an integer >= 2, got ${K}`);
    const probe = new PatchVq(config, tensor(new Float32Array(K * config.patchSize * config.patchSize * 3), [K, config.patchSize * config.patchSize * 3]));
    const x = keep(probe.patches(images));
    probe.dispose();
    try {
      const codebook = kMeans(x, K, opts);
      return new PatchVq(config, codebook);
    } finally {
      x.dispose();
    }
  }
}

/** Lloyd's k-means on x [M, D]; returns the codebook [K, D]. */
export function kMeans(x: Tensor, K: number, opts: KMeansOptions = {}): Tensor {
  const [M, D] = x.shape;
  if (M < K) throw new RangeError(`kMeans: need at least K = ${K} points, got ${M}`);
  const rng = new InitRng(opts.seed ?? 0);
  const iterations = opts.iterations ?? 20;
  const tolerance = opts.tolerance ?? 1e-4;
  let prevMse = Infinity;
  let centers = keep(kMeansPlusPlus(x, K, rng));
  for (let it = 0; it < iterations; it++) {
    const { sums, counts, distances } = tidy(() => {
      const near = vqNearest(x, centers);
      const st = vqStats(x, near.indices, K);
      return { sums: st.sums.toArray(), counts: st.counts.toArray(), distances: near.distances.toArray() };
    });
    const next = new Float32Array(K * D);
    const dead: number[] = [];
    for (let k = 0; k < K; k++) {
      if (counts[k] === 0) { dead.push(k); continue; }
      const inv = 1 / counts[k];
      for (let d = 0; d < D; d++) next[k * D + d] = sums[k * D + d] * inv;
    }
    let se = 0;
    for (let i = 0; i < M; i++) se += distances[i];
    const mse = se / (M * D);
    if (dead.length) reseed(next, dead, x, distances, D);
    centers.dispose();
    centers = keep(tensor(next, [K, D], { device: x.device }));
    opts.onIteration?.(it, mse, dead.length);
    if (!dead.length && prevMse - mse <= tolerance * prevMse) break;
    prevMse = mse;
  }
  return centers;
}

/**
 * k-means++ seeding (each new centre drawn with probability proportional to the squared distance to
 * the nearest chosen one) on a random subsample, with vqNearest against the newest centre alone.
 * Spreads the codes over the colours and edges instead of piling them on the background.
 */
function kMeansPlusPlus(x: Tensor, K: number, rng: InitRng): Tensor {
  const [M] = x.shape;
  const S = Math.min(M, Math.max(16 * K, 4096));
  return tidy(() => {
    // A random subsample (partial Fisher-Yates, distinct rows).
    const perm = Int32Array.from({ length: M }, (_, i) => i);
    for (let i = 0; i < S; i++) {
      const j = i + Math.floor(rng.uniform() * (M - i));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const sample = vqGather(x, tensor(perm.slice(0, S), [S], { dtype: 'i32', device: x.device }));
    const best = new Float64Array(S).fill(Infinity);
    const chosen = new Int32Array(K);
    chosen[0] = Math.floor(rng.uniform() * S);
    for (let k = 1; k < K; k++) {
      const d = tidy(() => vqNearest(sample, vqGather(sample, tensor([chosen[k - 1]], [1], { dtype: 'i32', device: x.device }))).distances.toArray());
      let total = 0;
      for (let i = 0; i < S; i++) { if (d[i] < best[i]) best[i] = d[i]; total += best[i]; }
      let u = rng.uniform() * total, pick = S - 1;
      // All remaining points sit on chosen centres (total 0): any row will do; Lloyd re-seeds it if it dies.
      if (total > 0) for (let i = 0; i < S; i++) { u -= best[i]; if (u < 0) { pick = i; break; } }
      else pick = Math.floor(rng.uniform() * S);
      chosen[k] = pick;
    }
    return vqGather(sample, tensor(chosen, [K], { dtype: 'i32', device: x.device }));
  });
}

/** Moves dead codes onto the patches that are currently worst fitted (largest distance). */
function reseed(next: Float32Array, dead: number[], x: Tensor, distances: Float32Array | Int32Array, D: number): void {
  const order = Array.from(distances.keys()).sort((a, b) => distances[b] - distances[a]).slice(0, dead.length);
  const rows = tidy(() => vqGather(x, tensor(Int32Array.from(order), [order.length], { dtype: 'i32', device: x.device })).toArray());
  dead.forEach((k, i) => next.set(rows.subarray(i * D, (i + 1) * D), k * D));
}
