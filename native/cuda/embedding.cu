// Embedding lookup and its scatter-add backward on the GPU. The backward adds with atomics (ids may
// repeat), so the order of the float additions into one row is not fixed.
#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/embedding.h"

namespace echogen::cuda {

namespace {

__global__ void embedding_kernel(int64_t n, int64_t d, const float* __restrict__ table, const int32_t* __restrict__ ids,
                                 float* __restrict__ out) {
  EG_GRID_LOOP(i, n * d) out[i] = table[static_cast<int64_t>(ids[i / d]) * d + i % d];
}

__global__ void embedding_backward_kernel(int64_t n, int64_t d, const float* __restrict__ dout,
                                          const int32_t* __restrict__ ids, float* __restrict__ dtable) {
  EG_GRID_LOOP(i, n * d) atomicAdd(dtable + static_cast<int64_t>(ids[i / d]) * d + i % d, dout[i]);
}

}  // namespace

void embedding(void* stream, int64_t n, int64_t d, const float* table, const int32_t* ids, float* out) {
  if (n <= 0 || d <= 0) return;
  embedding_kernel<<<elementwise_blocks(n * d), 256, 0, as_stream(stream)>>>(n, d, table, ids, out);
  check_launch("embedding_kernel");
}

void embedding_backward(void* stream, int64_t n, int64_t v, int64_t d, const float* dout, const int32_t* ids,
                        float* dtable) {
  cudaStream_t s = as_stream(stream);
  if (v * d > 0) EG_CUDA_CHECK(cudaMemsetAsync(dtable, 0, static_cast<size_t>(v * d) * sizeof(float), s));
  if (n <= 0 || d <= 0) return;
  embedding_backward_kernel<<<elementwise_blocks(n * d), 256, 0, s>>>(n, d, dout, ids, dtable);
  check_launch("embedding_backward_kernel");
}

}  // namespace echogen::cuda
