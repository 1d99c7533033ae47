// Shared by every CUDA kernel: warp/block reductions (the only definitions), grid-stride loops and
// stream-ordered scratch.
#pragma once
#include <cuda_runtime.h>

#include <cstring>

#include "cuda/common.cuh"

#define EG_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

namespace echogen::cuda {

// The warp and block reductions every kernel uses (defined here only). Width: the lanes that reduce
// together (a power of two <= 32; groups of Width consecutive lanes); every lane gets the result.
// A value of any trivially copyable type moves through the shuffles 32 bits at a time, so an
// (value, index) pair with its own tie rule reduces the same way as a float.
template <typename T>
__device__ __forceinline__ T shfl_xor(T v, int lane_mask) {
  static_assert(sizeof(T) % 4 == 0, "shuffled 32 bits at a time");
  int w[sizeof(T) / 4];
  memcpy(w, &v, sizeof(T));
#pragma unroll
  for (int k = 0; k < static_cast<int>(sizeof(T) / 4); ++k) w[k] = __shfl_xor_sync(0xffffffffu, w[k], lane_mask);
  memcpy(&v, w, sizeof(T));
  return v;
}

template <int Width = 32, typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = Width / 2; o > 0; o >>= 1) v = op(v, shfl_xor(v, o));
  return v;
}

struct SumOp { __device__ float operator()(float a, float b) const { return a + b; } };
struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct MinOp { __device__ float operator()(float a, float b) const { return fminf(a, b); } };
struct SumOpD { __device__ double operator()(double a, double b) const { return a + b; } };

template <int Width = 32> __device__ __forceinline__ float warp_sum(float v) { return warp_reduce<Width>(v, SumOp{}); }
template <int Width = 32> __device__ __forceinline__ float warp_max(float v) { return warp_reduce<Width>(v, MaxOp{}); }
template <int Width = 32> __device__ __forceinline__ float warp_min(float v) { return warp_reduce<Width>(v, MinOp{}); }
template <int Width = 32> __device__ __forceinline__ double warp_sum(double v) { return warp_reduce<Width>(v, SumOpD{}); }

// Over the whole block (any blockDim that is a multiple of 32, up to 1024); `scratch` must hold 32
// values; `identity` fills the missing warps. Synchronises the block twice.
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : identity;
  return warp_reduce(v, op);
}

__device__ __forceinline__ float block_sum(float v, float* scratch) { return block_reduce(v, SumOp{}, 0.f, scratch); }
__device__ __forceinline__ float block_max(float v, float* scratch) { return block_reduce(v, MaxOp{}, -INFINITY, scratch); }

// Grid-stride loop bounds for elementwise kernels.
inline unsigned elementwise_blocks(long long n, int threads = 256) {
  long long b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535LL * 8 ? 65535LL * 8 : b));
}

// Temporary device memory ordered on the stream (cudaMallocAsync / cudaFreeAsync): no device-wide
// synchronisation, and the memory is reused by the pool once the kernels that read it are done.
struct Scratch {
  float* p = nullptr;
  cudaStream_t stream;
  Scratch(size_t floats, cudaStream_t s) : stream(s) {
    EG_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&p), (floats ? floats : 1) * sizeof(float), s));
  }
  ~Scratch() { cudaFreeAsync(p, stream); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

}  // namespace echogen::cuda
