// VQ codebook kernels on CUDA (echogen/vq.h).
//
// vq_nearest: a 64-row x 64-code block tile of x.c held in registers (4x4 per thread), operands
// staged through shared memory 16 dimensions at a time, score ||c||^2 - 2 x.c folded into a
// running argmin per row; the N x K matrix never exists. Dot products and norms are sequential
// FMA chains over d, exactly as on the CPU, so both backends agree on every argmin.
#include <algorithm>
#include <climits>

#include "cuda/support.cuh"
#include "echogen/vq.h"

namespace echogen::cuda {
namespace {

constexpr int kTileN = 64, kTileK = 64, kTileD = 16, kThreads = 256;

// ||c_k||^2, one sequential FMA chain per code (the CPU's order).
__global__ void code_norms(const float* __restrict__ cb, int K, int D, float* __restrict__ norms) {
  int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= K) return;
  const float* c = cb + static_cast<int64_t>(k) * D;
  float n = 0.f;
  for (int d = 0; d < D; ++d) n = fmaf(c[d], c[d], n);
  norms[k] = n;
}

__device__ __forceinline__ bool better(float s, int i, float bs, int bi) { return s < bs || (s == bs && i < bi); }
struct ArgMin {
  float s;
  int i;
};
// The better of two (score, index) pairs: a total order (ties to the lower index), so any
// reduction order gives the same winner.
struct BetterOp {
  __device__ ArgMin operator()(ArgMin a, ArgMin b) const { return better(b.s, b.i, a.s, a.i) ? b : a; }
};

// v1: register-tiled scores with a running argmin; blockIdx.y takes a slice of the codebook
// tiles so that small N still fills every SM (the slices are merged by nearest_finish).
__global__ __launch_bounds__(kThreads) void nearest_tiles(const float* __restrict__ x, const float* __restrict__ cb,
                                                          const float* __restrict__ norms, int N, int D, int K,
                                                          int tiles_per_split, float* __restrict__ part_s,
                                                          int* __restrict__ part_i) {
  __shared__ __align__(16) float xs[kTileD][kTileN + 4];  // +4: float4 reads stay aligned
  __shared__ __align__(16) float cs[kTileD][kTileK + 4];
  const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;  // tx: 4 codes, ty: 4 rows
  const int n0 = blockIdx.x * kTileN;
  const int tiles = (K + kTileK - 1) / kTileK;
  const int t_begin = blockIdx.y * tiles_per_split, t_end = min(t_begin + tiles_per_split, tiles);
  float best_s[4];
  int best_i[4];
  for (int i = 0; i < 4; ++i) { best_s[i] = __int_as_float(0x7f800000); best_i[i] = INT_MAX; }

  for (int t = t_begin; t < t_end; ++t) {
    const int k0 = t * kTileK;
    float acc[4][4] = {};
    for (int d0 = 0; d0 < D; d0 += kTileD) {
      // 16 consecutive threads read 16 consecutive floats of one row: 64-byte segments
      for (int e = tid; e < kTileN * kTileD; e += kThreads) {
        int r = e >> 4, d = e & 15;
        bool in_d = d0 + d < D;
        xs[d][r] = (in_d && n0 + r < N) ? x[static_cast<int64_t>(n0 + r) * D + d0 + d] : 0.f;
        cs[d][r] = (in_d && k0 + r < K) ? cb[static_cast<int64_t>(k0 + r) * D + d0 + d] : 0.f;
      }
      __syncthreads();
#pragma unroll
      for (int d = 0; d < kTileD; ++d) {
        float4 a = *reinterpret_cast<const float4*>(&xs[d][ty * 4]);
        float4 b = *reinterpret_cast<const float4*>(&cs[d][tx * 4]);
        float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);  // zero padding adds nothing
      }
      __syncthreads();
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {  // codes ascending, strict <: the lowest index keeps a tie
      int k = k0 + tx * 4 + j;
      float cn = k < K ? norms[k] : __int_as_float(0x7f800000);  // +inf past K never wins
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        float s = fmaf(-2.f, acc[i][j], cn);
        if (s < best_s[i]) { best_s[i] = s; best_i[i] = k; }
      }
    }
  }
  // the 16 threads sharing these rows are one half-warp: merge them with shuffles
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const ArgMin m = warp_reduce<16>(ArgMin{best_s[i], best_i[i]}, BetterOp{});
    const float s = m.s;
    const int idx = m.i;
    int row = n0 + ty * 4 + i;
    if (tx == 0 && row < N) {
      part_s[static_cast<int64_t>(blockIdx.y) * N + row] = s;
      part_i[static_cast<int64_t>(blockIdx.y) * N + row] = idx;
    }
  }
}

// One warp per row: merge the codebook slices, then recompute ||x - c||^2 for the winner so the
// reported distance has no cancellation error from the expanded form.
__global__ void nearest_finish(const float* __restrict__ x, const float* __restrict__ cb,
                               const float* __restrict__ part_s, const int* __restrict__ part_i, int splits, int N,
                               int D, int32_t* __restrict__ indices, float* __restrict__ distances) {
  int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x & 31;
  if (row >= N) return;
  float bs = __int_as_float(0x7f800000);
  int bi = INT_MAX;
  for (int s = 0; s < splits; ++s) {
    float ps = part_s[static_cast<int64_t>(s) * N + row];
    int pi = part_i[static_cast<int64_t>(s) * N + row];
    if (better(ps, pi, bs, bi)) { bs = ps; bi = pi; }
  }
  if (bi == INT_MAX) bi = 0;  // only rows whose every score is NaN; stays in range
  const float* xr = x + static_cast<int64_t>(row) * D;
  const float* c = cb + static_cast<int64_t>(bi) * D;
  float acc = 0.f;
  for (int d = lane; d < D; d += 32) {
    float t = xr[d] - c[d];
    acc = fmaf(t, t, acc);
  }
  acc = warp_sum(acc);
  if (lane == 0) {
    indices[row] = bi;
    distances[row] = acc;
  }
}

// Rows of indices (threadIdx.y, grid-stride) x dimensions (threadIdx.x): an index outside [0,K)
// lowers *bad to its position and is never dereferenced.
__global__ void gather_rows(const float* __restrict__ cb, const int32_t* __restrict__ idx, int64_t count, int D, int K,
                            float* __restrict__ out, unsigned long long* bad) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.y) + threadIdx.y; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.y) {
    int k = idx[i];
    float* o = out + i * D;
    if (k < 0 || k >= K) {
      if (threadIdx.x == 0) atomicMin(bad, static_cast<unsigned long long>(i));
      continue;
    }
    const float* c = cb + static_cast<int64_t>(k) * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) o[d] = c[d];
  }
}

// sums and counts by atomics (zeroed first); the same bounds check as gather_rows.
__global__ void accumulate_rows(const float* __restrict__ x, const int32_t* __restrict__ idx, int64_t N, int D, int K,
                                float* __restrict__ sums, float* __restrict__ counts, unsigned long long* bad) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.y) + threadIdx.y; i < N;
       i += static_cast<int64_t>(gridDim.x) * blockDim.y) {
    int k = idx[i];
    if (k < 0 || k >= K) {
      if (threadIdx.x == 0) atomicMin(bad, static_cast<unsigned long long>(i));
      continue;
    }
    if (threadIdx.x == 0) atomicAdd(counts + k, 1.f);
    const float* xr = x + i * D;
    float* s = sums + static_cast<int64_t>(k) * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) atomicAdd(s + d, xr[d]);
  }
}

int sm_count() {
  int device = 0, sms = 0;
  EG_CUDA_CHECK(cudaGetDevice(&device));
  EG_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

// Reads the bad-index flag back (this waits for the stream) and, if set, the offending value.
BadIndex read_bad(cudaStream_t s, unsigned long long* flag, const int32_t* idx) {
  unsigned long long pos = 0;
  EG_CUDA_CHECK(cudaMemcpyAsync(&pos, flag, sizeof pos, cudaMemcpyDeviceToHost, s));
  EG_CUDA_CHECK(cudaStreamSynchronize(s));
  EG_CUDA_CHECK(cudaFreeAsync(flag, s));
  BadIndex bad;
  if (pos != ~0ull) {
    bad.position = static_cast<int64_t>(pos);
    EG_CUDA_CHECK(cudaMemcpyAsync(&bad.value, idx + pos, sizeof(int32_t), cudaMemcpyDeviceToHost, s));
    EG_CUDA_CHECK(cudaStreamSynchronize(s));
  }
  return bad;
}

unsigned long long* new_flag(cudaStream_t s) {
  void* p = nullptr;
  EG_CUDA_CHECK(cudaMallocAsync(&p, sizeof(unsigned long long), s));
  EG_CUDA_CHECK(cudaMemsetAsync(p, 0xff, sizeof(unsigned long long), s));
  return static_cast<unsigned long long*>(p);
}

unsigned row_blocks(int64_t rows, int per_block) {
  return static_cast<unsigned>(std::min<int64_t>((rows + per_block - 1) / per_block, 65535));
}

}  // namespace

void vq_nearest(void* stream, const float* x, const float* codebook, int64_t N, int64_t D, int64_t K,
                int32_t* indices, float* distances) {
  if (N == 0) return;
  cudaStream_t s = as_stream(stream);
  const int tiles = ceil_div(K, kTileK);
  const int row_tiles = ceil_div(N, kTileN);
  // enough (row tile, codebook slice) blocks for two waves of the SMs, when the codebook allows
  int splits = std::max(1, std::min(tiles, static_cast<int>(ceil_div(2 * sm_count(), row_tiles))));
  const int per_split = ceil_div(tiles, splits);
  splits = ceil_div(tiles, per_split);

  void* scratch = nullptr;
  size_t part = static_cast<size_t>(splits) * N;
  EG_CUDA_CHECK(cudaMallocAsync(&scratch, (K + 2 * part) * sizeof(float), s));
  float* norms = static_cast<float*>(scratch);
  float* part_s = norms + K;
  int* part_i = reinterpret_cast<int*>(part_s + part);

  code_norms<<<ceil_div(K, 128), 128, 0, s>>>(codebook, static_cast<int>(K), static_cast<int>(D), norms);
  check_launch("code_norms");
  nearest_tiles<<<dim3(row_tiles, splits), kThreads, 0, s>>>(x, codebook, norms, static_cast<int>(N),
                                                              static_cast<int>(D), static_cast<int>(K), per_split,
                                                              part_s, part_i);
  check_launch("nearest_tiles");
  nearest_finish<<<ceil_div(N, 8), 256, 0, s>>>(x, codebook, part_s, part_i, splits, static_cast<int>(N),
                                                 static_cast<int>(D), indices, distances);
  check_launch("nearest_finish");
  EG_CUDA_CHECK(cudaFreeAsync(scratch, s));
}

BadIndex vq_gather(void* stream, const float* codebook, const int32_t* indices, int64_t count, int64_t D, int64_t K,
                   float* out) {
  if (count == 0) return BadIndex{};
  cudaStream_t s = as_stream(stream);
  unsigned long long* flag = new_flag(s);
  gather_rows<<<row_blocks(count, 8), dim3(32, 8), 0, s>>>(codebook, indices, count, static_cast<int>(D),
                                                          static_cast<int>(K), out, flag);
  check_launch("gather_rows");
  return read_bad(s, flag, indices);
}

BadIndex vq_stats(void* stream, const float* x, const int32_t* indices, int64_t N, int64_t D, int64_t K, float* sums,
                  float* counts) {
  cudaStream_t s = as_stream(stream);
  EG_CUDA_CHECK(cudaMemsetAsync(sums, 0, K * D * sizeof(float), s));
  EG_CUDA_CHECK(cudaMemsetAsync(counts, 0, K * sizeof(float), s));
  if (N == 0) return BadIndex{};
  unsigned long long* flag = new_flag(s);
  accumulate_rows<<<row_blocks(N, 8), dim3(32, 8), 0, s>>>(x, indices, N, static_cast<int>(D), static_cast<int>(K),
                                                          sums, counts, flag);
  check_launch("accumulate_rows");
  return read_bad(s, flag, indices);
}

}  // namespace echogen::cuda
