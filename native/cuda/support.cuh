// Shared by the support-op kernels: warp/block sums and maxima (any blockDim that is a multiple
// of 32, up to 1024; the result reaches every thread), grid-stride loops and stream-ordered scratch.
#pragma once
#include <cuda_runtime.h>

#include "cuda/common.cuh"

#define EG_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

namespace echogen::cuda {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// `scratch` must hold 32 floats; the call synchronises the block twice.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.f;
  return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

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
