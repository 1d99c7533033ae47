// Fused softmax cross-entropy on the GPU: one block per row finds the max, the log-sum-exp and the
// target's logit in one read of the row; the backward rebuilds the probabilities from the saved lse.
#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/loss.h"

namespace echogen::cuda {

namespace {

int row_threads(int64_t v) { return v <= 64 ? 32 : v <= 512 ? 128 : 256; }

__global__ void cross_entropy_kernel(int64_t v, const float* __restrict__ logits, const int32_t* __restrict__ targets,
                                     int32_t ignore_index, float* __restrict__ loss, float* __restrict__ lse) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* x = logits + r * v;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) mx = fmaxf(mx, x[j]);
  mx = block_max(mx, scratch);
  float s = 0.f;
  if (mx != -INFINITY)
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) s += expf(x[j] - mx);
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) {
    const float l = mx == -INFINITY ? mx : mx + logf(s);
    lse[r] = l;
    const int32_t t = targets[r];
    loss[r] = t == ignore_index ? 0.f : l - x[t];
  }
}

__global__ void cross_entropy_backward_kernel(int64_t rows, int64_t v, const float* __restrict__ logits,
                                              const int32_t* __restrict__ targets, int32_t ignore_index,
                                              const float* __restrict__ lse, const float* __restrict__ dloss,
                                              float* __restrict__ dlogits) {
  EG_GRID_LOOP(i, rows * v) {
    const int64_t r = i / v, j = i % v;
    const int32_t t = targets[r];
    float g = 0.f;
    if (t != ignore_index) g = dloss[r] * (expf(logits[i] - lse[r]) - (j == t ? 1.f : 0.f));
    dlogits[i] = g;
  }
}

}  // namespace

void cross_entropy(void* stream, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                   int32_t ignore_index, float* loss, float* lse) {
  if (rows <= 0) return;
  cross_entropy_kernel<<<static_cast<unsigned>(rows), row_threads(v), 0, as_stream(stream)>>>(v, logits, targets,
                                                                                              ignore_index, loss, lse);
  check_launch("cross_entropy_kernel");
}

void cross_entropy_backward(void* stream, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                            int32_t ignore_index, const float* lse, const float* dloss, float* dlogits) {
  if (rows <= 0 || v <= 0) return;
  cross_entropy_backward_kernel<<<elementwise_blocks(rows * v), 256, 0, as_stream(stream)>>>(
      rows, v, logits, targets, ignore_index, lse, dloss, dlogits);
  check_launch("cross_entropy_backward_kernel");
}

}  // namespace echogen::cuda
