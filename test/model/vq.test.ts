import * as eg from '../../lib';

const M = eg.model;

describe('PatchVq', () => {
  test('patches are row-major over (image, patch row, patch col) and decode inverts them exactly', () => {
    // Image i, patch (gy, gx), pixel (py, px), channel c holds a value that names all five.
    const N = 2, S = 16, p = 4, g = 4;
    const data = new Float32Array(N * S * S * 3);
    const val = (i: number, gy: number, gx: number, py: number, px: number, c: number): number => i * 0.5 + (gy * g + gx) / 64 + (py * p + px) / 4096 + c / 1e5;
    for (let i = 0; i < N; i++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
      data[((i * S + y) * S + x) * 3 + c] = val(i, Math.floor(y / p), Math.floor(x / p), y % p, x % p, c);
    }
    const images = eg.tensor(data, [N, S, S, 3]);
    // A codebook made of exactly these patches: every patch is its own nearest code.
    const K = N * g * g, D = p * p * 3;
    const book = new Float32Array(K * D);
    for (let k = 0; k < K; k++) {
      const i = Math.floor(k / (g * g)), gy = Math.floor((k % (g * g)) / g), gx = k % g;
      for (let py = 0; py < p; py++) for (let px = 0; px < p; px++) for (let c = 0; c < 3; c++) book[k * D + (py * p + px) * 3 + c] = val(i, gy, gx, py, px, c);
    }
    const vq = new M.PatchVq({ imageSize: S, patchSize: p, codebookSize: K }, eg.tensor(book, [K, D]));
    expect(Array.from(vq.patches(images).toArray())).toEqual(Array.from(book));
    const codes = vq.encode(images);
    expect(codes.shape).toEqual([N, g * g]);
    expect(Array.from(codes.toArray())).toEqual(Array.from({ length: K }, (_, k) => k));
    expect(Array.from(vq.decode(codes).toArray())).toEqual(Array.from(data));
    expect(() => vq.encode(eg.tensor(new Float32Array(S * S * 3), [1, S, S / 2, 6]))).toThrow(/images must be f32 \[N, 16, 16, 3\]/);
    expect(() => vq.decode(eg.tensor([K], [1, 1], { dtype: 'i32' }))).toThrow(/codes must be i32 \[N, 16\]/);
    vq.dispose();
  });

  test('k-means finds well-separated clusters, never raises the error, and revives dead codes', () => {
    const r = new eg.nn.InitRng(3);
    const centers = [[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5], [5, 5, 5]];
    const n = 400;
    const x = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) x[i * 3 + d] = centers[i % 5][d] + 0.1 * r.normal();
    const mse: number[] = [];
    const book = M.kMeans(eg.tensor(x, [n, 3]), 5, { iterations: 15, seed: 2, onIteration: (_i, e) => mse.push(e) });
    for (let i = 1; i < mse.length; i++) expect(mse[i]).toBeLessThanOrEqual(mse[i - 1] * (1 + 1e-5) + 1e-9);
    const got = book.toArray();
    // Each true centre is matched by a code within 0.05 (the noise of a mean of 80 points is ~0.01).
    for (const c of centers) {
      const best = Math.min(...[0, 1, 2, 3, 4].map((k) => Math.hypot(got[3 * k] - c[0], got[3 * k + 1] - c[1], got[3 * k + 2] - c[2])));
      expect(best).toBeLessThan(0.05);
    }
    // Identical points: all but one code die at once and are re-seeded where the error is largest.
    const dup = new Float32Array(60).fill(1);
    dup.fill(9, 57);
    let reseeded = 0;
    M.kMeans(eg.tensor(dup, [20, 3]), 3, { iterations: 2, onIteration: (_i, _e, k) => { reseeded += k; } });
    expect(reseeded).toBeGreaterThan(0);
    expect(() => M.kMeans(eg.tensor(new Float32Array(6), [2, 3]), 3)).toThrow(/at least K = 3 points/);
  });
});
