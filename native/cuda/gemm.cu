// CUDA SGEMM: shared-memory tiles (double-buffered through registers), each thread owning an
// 8x8 register block of C. f32 in and out with f32 accumulation; tensor cores would need TF32 or
// bf16 inputs, which would change the numbers the CPU twin checks.
#include "cuda/common.cuh"
#include "echogen/gemm.h"

namespace echogen::cuda {

namespace {

constexpr int BK = 8;
constexpr int TM = 8, TN = 8;
constexpr int PAD = 4;  // breaks the bank conflicts of the transposing smem stores, keeps float4 alignment

// A thread's 8 rows (or columns) are two runs of 4, half a tile apart, so that the float4 reads of
// 8 neighbouring threads cover 128 contiguous bytes (no bank conflicts).
template <int TILE>
__device__ __forceinline__ int split_index(int t, int i) {
  return (i < 4 ? 0 : TILE / 2) + t * 4 + (i & 3);
}

// Versions: (1) 128x128 tiles, 256 threads, for large products; (2) 64x64 tiles, 64 threads, so
// that small products still spread over every SM.
template <bool TA, bool TB, int BM, int BN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
gemm_kernel(GemmArgs g) {
  constexpr int NT = (BM / TM) * (BN / TN);
  constexpr int LA = BM * BK / NT, LB = BK * BN / NT;  // elements each thread loads per tile
  __shared__ __align__(16) float As[2][BK][BM + PAD];
  __shared__ __align__(16) float Bs[2][BK][BN + PAD];

  const int tid = threadIdx.x;
  const int tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int M = static_cast<int>(g.m), N = static_cast<int>(g.n), K = static_cast<int>(g.k);

  for (int64_t bz = blockIdx.z; bz < g.batch; bz += gridDim.z) {
    const float* A = g.a + bz * g.stride_a;
    const float* B = g.b + bz * g.stride_b;
    float* C = g.c + bz * g.stride_c;
    float ra[LA], rb[LB];

    // Global -> registers for the tile at depth k0 (zeros outside the matrix).
    auto load = [&](int k0) {
#pragma unroll
      for (int i = 0; i < LA; ++i) {
        int idx = tid + i * NT, r, c;
        if (TA) { r = idx % BM; c = idx / BM; } else { r = idx / BK; c = idx % BK; }
        int gr = m0 + r, gc = k0 + c;
        ra[i] = (gr < M && gc < K) ? (TA ? A[static_cast<int64_t>(gc) * M + gr] : A[static_cast<int64_t>(gr) * K + gc]) : 0.f;
      }
#pragma unroll
      for (int i = 0; i < LB; ++i) {
        int idx = tid + i * NT, n, c;
        if (TB) { c = idx % BK; n = idx / BK; } else { n = idx % BN; c = idx / BN; }
        int gn = n0 + n, gc = k0 + c;
        rb[i] = (gn < N && gc < K) ? (TB ? B[static_cast<int64_t>(gn) * K + gc] : B[static_cast<int64_t>(gc) * N + gn]) : 0.f;
      }
    };
    // Registers -> shared buffer s, stored k-major so the compute loop reads rows of A and B alike.
    auto store = [&](int s) {
#pragma unroll
      for (int i = 0; i < LA; ++i) {
        int idx = tid + i * NT, r, c;
        if (TA) { r = idx % BM; c = idx / BM; } else { r = idx / BK; c = idx % BK; }
        As[s][c][r] = ra[i];
      }
#pragma unroll
      for (int i = 0; i < LB; ++i) {
        int idx = tid + i * NT, n, c;
        if (TB) { c = idx % BK; n = idx / BK; } else { n = idx % BN; c = idx / BN; }
        Bs[s][c][n] = rb[i];
      }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    const int tiles = (K + BK - 1) / BK;
    load(0);
    store(0);
    __syncthreads();
    for (int t = 0; t < tiles; ++t) {
      const int cur = t & 1;
      if (t + 1 < tiles) load((t + 1) * BK);
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        float av[TM], bv[TN];
        const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][k][ty * 4]);
        const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][k][BM / 2 + ty * 4]);
        const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][k][tx * 4]);
        const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][k][BN / 2 + tx * 4]);
        av[0] = a0.x; av[1] = a0.y; av[2] = a0.z; av[3] = a0.w;
        av[4] = a1.x; av[5] = a1.y; av[6] = a1.z; av[7] = a1.w;
        bv[0] = b0.x; bv[1] = b0.y; bv[2] = b0.z; bv[3] = b0.w;
        bv[4] = b1.x; bv[5] = b1.y; bv[6] = b1.z; bv[7] = b1.w;
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
      if (t + 1 < tiles) store(cur ^ 1);
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int row = m0 + split_index<BM>(ty, i);
      if (row >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int col = n0 + split_index<BN>(tx, j);
        if (col >= N) continue;
        float* dst = C + static_cast<int64_t>(row) * N + col;
        float v = g.alpha * acc[i][j];
        if (g.beta != 0.f) v += g.beta * *dst;
        if (g.bias) v += g.bias[col];
        *dst = v;
      }
    }
  }
}

// k == 0: C = beta * C + bias.
__global__ void empty_product_kernel(GemmArgs g) {
  const int64_t per = g.m * g.n, total = per * g.batch;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float* dst = g.c + (i / per) * g.stride_c + i % per;
    float v = g.beta != 0.f ? g.beta * *dst : 0.f;
    if (g.bias) v += g.bias[i % g.n];
    *dst = v;
  }
}

template <bool TA, bool TB, int BM, int BN>
void launch(const GemmArgs& g, cudaStream_t s) {
  dim3 grid(ceil_div(g.n, BN), ceil_div(g.m, BM), static_cast<unsigned>(g.batch < 65535 ? g.batch : 65535));
  gemm_kernel<TA, TB, BM, BN><<<grid, (BM / TM) * (BN / TN), 0, s>>>(g);
  check_launch("gemm_kernel");
}

template <int BM, int BN>
void launch_tile(const GemmArgs& g, cudaStream_t s) {
  if (!g.trans_a && !g.trans_b) launch<false, false, BM, BN>(g, s);
  else if (!g.trans_a && g.trans_b) launch<false, true, BM, BN>(g, s);
  else if (g.trans_a && !g.trans_b) launch<true, false, BM, BN>(g, s);
  else launch<true, true, BM, BN>(g, s);
}

}  // namespace

void gemm(void* stream, const GemmArgs& g) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  cudaStream_t s = as_stream(stream);
  if (g.k <= 0) {
    int64_t total = g.batch * g.m * g.n;
    empty_product_kernel<<<static_cast<unsigned>(total < 4096 * 256 ? ceil_div(total, 256) : 4096), 256, 0, s>>>(g);
    check_launch("empty_product_kernel");
    return;
  }
  // Fewer than ~2 waves of big tiles on a large GPU: the small tiles keep every SM busy.
  const int64_t big_tiles = static_cast<int64_t>(ceil_div(g.m, 128)) * ceil_div(g.n, 128) * g.batch;
  if (big_tiles >= 256) launch_tile<128, 128>(g, s);
  else launch_tile<64, 64>(g, s);
}

}  // namespace echogen::cuda
