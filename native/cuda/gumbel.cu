// Gumbel-Softmax on CUDA (echogen/gumbel.h): one block per row. Each thread owns Philox counters
// (one call = four noise words, for elements 8 apart: see common/philox.h), keeps logits + noise
// in registers, and the block reduces argmax and sum with warp shuffles. The noise is the same
// bits as the CPU's, so the sampled indices are identical.
#include <algorithm>
#include <climits>

#include "common/philox.h"
#include "cuda/support.cuh"
#include "echogen/gumbel.h"

namespace echogen::cuda {
namespace {

constexpr int kMaxThreads = 256;

struct ArgMax {
  float v;
  int i;
};

// The larger value; on equal values the lower index (NaN never wins).
__device__ __forceinline__ ArgMax pick(ArgMax a, ArgMax b) { return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a; }

struct PickOp {
  __device__ ArgMax operator()(ArgMax a, ArgMax b) const { return pick(a, b); }
};
// pick is a total order (ties to the lower index), so the reduction order cannot change the winner.
__device__ ArgMax block_argmax(ArgMax a, ArgMax* sh) {
  return block_reduce(a, PickOp{}, ArgMax{-__int_as_float(0x7f800000), INT_MAX}, sh);
}

// C > 0: each thread owns at most C counters and keeps their 4C values in registers.
// C == 0: any row length; the values wait in `soft` between passes (each thread rereads only
// what it wrote).
template <int C>
__global__ __launch_bounds__(kMaxThreads) void gumbel_rows(const float* __restrict__ logits, int V, GumbelKey key,
                                                           float inv_tau, float* __restrict__ soft,
                                                           float* __restrict__ hard, int32_t* __restrict__ indices) {
  __shared__ ArgMax sh_arg[32];
  __shared__ float sh_sum[32];
  const int64_t e0 = static_cast<int64_t>(blockIdx.x) * V, e1 = e0 + V;
  const int64_t b_first = e0 >> 5;
  const int counters = static_cast<int>(((e1 - 1) >> 5) - b_first + 1) * 8;
  const float* lrow = logits + e0;
  float* srow = soft + e0;
  float* hrow = hard ? hard + e0 : nullptr;
  constexpr int R = C > 0 ? C : 1;
  float y[R][4];

  // pass 1: logits + noise, running argmax
  ArgMax best{-__int_as_float(0x7f800000), INT_MAX};
#pragma unroll
  for (int c = 0, ci = threadIdx.x; C > 0 ? c < C : ci < counters; ++c, ci += blockDim.x) {
    int64_t b = b_first + (ci >> 3);
    int lane = ci & 7;
    Philox4 r = gumbel_block(key, static_cast<uint32_t>((b << 3) | lane));
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      int64_t e = (b << 5) + 8 * w + lane;
      float v = 0.f;
      if (ci < counters && e >= e0 && e < e1) {
        v = lrow[e - e0] + gumbel_from_word(r.v[w]);
        best = pick(best, ArgMax{v, static_cast<int>(e - e0)});
        if (C == 0) srow[e - e0] = v;
      }
      if (C > 0) y[c < R ? c : 0][w] = v;
    }
  }
  best = block_argmax(best, sh_arg);
  const float m = best.v;
  if (m == -__int_as_float(0x7f800000)) {  // every logit -Infinity: nothing can be sampled
    for (int v = threadIdx.x; v < V; v += blockDim.x) {
      srow[v] = 0.f;
      if (hrow) hrow[v] = 0.f;
    }
    if (threadIdx.x == 0) indices[blockIdx.x] = -1;
    return;
  }

  // pass 2: exp and sum; pass 3: normalise, one-hot
  float local = 0.f;
#pragma unroll
  for (int c = 0, ci = threadIdx.x; C > 0 ? c < C : ci < counters; ++c, ci += blockDim.x) {
    int64_t b = b_first + (ci >> 3);
    int lane = ci & 7;
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      int64_t e = (b << 5) + 8 * w + lane;
      if (ci < counters && e >= e0 && e < e1) {
        float v = C > 0 ? y[c < R ? c : 0][w] : srow[e - e0];
        float x = expf((v - m) * inv_tau);
        local += x;
        if (C > 0) y[c < R ? c : 0][w] = x; else srow[e - e0] = x;
      }
    }
  }
  const float inv_sum = 1.f / block_sum(local, sh_sum);
#pragma unroll
  for (int c = 0, ci = threadIdx.x; C > 0 ? c < C : ci < counters; ++c, ci += blockDim.x) {
    int64_t b = b_first + (ci >> 3);
    int lane = ci & 7;
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      int64_t e = (b << 5) + 8 * w + lane;
      if (ci < counters && e >= e0 && e < e1) {
        float x = C > 0 ? y[c < R ? c : 0][w] : srow[e - e0];
        srow[e - e0] = x * inv_sum;
        if (hrow) hrow[e - e0] = (e - e0 == best.i) ? 1.f : 0.f;
      }
    }
  }
  if (threadIdx.x == 0) indices[blockIdx.x] = best.i;
}

// dlogits = soft * (dy - sum(dy * soft)) / tau, one block per row.
__global__ __launch_bounds__(kMaxThreads) void gumbel_backward_rows(const float* __restrict__ dy,
                                                                    const float* __restrict__ soft, int V,
                                                                    float inv_tau, float* __restrict__ out) {
  __shared__ float sh[32];
  const int64_t e0 = static_cast<int64_t>(blockIdx.x) * V;
  float local = 0.f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) local = fmaf(dy[e0 + v], soft[e0 + v], local);
  const float d = block_sum(local, sh);
  for (int v = threadIdx.x; v < V; v += blockDim.x) out[e0 + v] = soft[e0 + v] * (dy[e0 + v] - d) * inv_tau;
}

int threads_for(int64_t work) {
  return static_cast<int>(std::min<int64_t>(kMaxThreads, std::max<int64_t>(32, (work + 31) / 32 * 32)));
}

}  // namespace

void gumbel_softmax(void* stream, const float* logits, int64_t N, int64_t V, const GumbelParams& p, float* soft,
                    float* hard, int32_t* indices) {
  if (N == 0) return;
  cudaStream_t s = as_stream(stream);
  if (V == 0) {  // nothing to sample in any row
    EG_CUDA_CHECK(cudaMemsetAsync(indices, 0xff, N * sizeof(int32_t), s));
    return;
  }
  const GumbelKey key = gumbel_key(p.seed, p.offset);
  // a row spans at most this many 32-element blocks, whatever its alignment
  const int64_t counters = ((V + 30) / 32 + 1) * 8;
  const int threads = threads_for(counters);
  const int64_t per_thread = (counters + threads - 1) / threads;
  const float inv_tau = 1.f / p.tau;
  const unsigned grid = static_cast<unsigned>(N);
  if (per_thread <= 1)
    gumbel_rows<1><<<grid, threads, 0, s>>>(logits, static_cast<int>(V), key, inv_tau, soft, hard, indices);
  else if (per_thread <= 2)
    gumbel_rows<2><<<grid, threads, 0, s>>>(logits, static_cast<int>(V), key, inv_tau, soft, hard, indices);
  else if (per_thread <= 4)
    gumbel_rows<4><<<grid, threads, 0, s>>>(logits, static_cast<int>(V), key, inv_tau, soft, hard, indices);
  else if (per_thread <= 8)
    gumbel_rows<8><<<grid, threads, 0, s>>>(logits, static_cast<int>(V), key, inv_tau, soft, hard, indices);
  else
    gumbel_rows<0><<<grid, threads, 0, s>>>(logits, static_cast<int>(V), key, inv_tau, soft, hard, indices);
  check_launch("gumbel_rows");
}

void gumbel_softmax_backward(void* stream, const float* dy, const float* soft, int64_t N, int64_t V, float tau,
                             float* dlogits) {
  if (N == 0 || V == 0) return;
  gumbel_backward_rows<<<static_cast<unsigned>(N), threads_for(V), 0, as_stream(stream)>>>(
      dy, soft, static_cast<int>(V), 1.f / tau, dlogits);
  check_launch("gumbel_backward_rows");
}

}  // namespace echogen::cuda
