// Fused AdamW on the GPU, multi-tensor style: up to kGroup tensors' pointers travel in the kernel's
// parameter block, and each block of threads finds its tensor and chunk from a prefix table, so one
// launch updates a whole group whatever the tensors' sizes.
#include <cmath>

#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/adamw.h"

namespace echogen::cuda {

namespace {

constexpr int kGroup = 24;
constexpr int kThreads = 256;
constexpr int64_t kChunk = kThreads * 8;

struct AdamWGroup {
  float* p[kGroup];
  const float* g[kGroup];
  float* m[kGroup];
  float* v[kGroup];
  int64_t size[kGroup];
  int64_t first_block[kGroup + 1];
  int count;
};

__global__ void __launch_bounds__(kThreads) adamw_kernel(AdamWGroup grp, float b1, float b2, float eps, float step,
                                                         float inv_sqrt_bc2, float decay) {
  const int64_t blk = blockIdx.x;
  int t = 0;
  while (t + 1 < grp.count && grp.first_block[t + 1] <= blk) ++t;
  const int64_t i0 = (blk - grp.first_block[t]) * kChunk, i1 = min(grp.size[t], i0 + kChunk);
  float* p = grp.p[t];
  const float* g = grp.g[t];
  float* m = grp.m[t];
  float* v = grp.v[t];
  for (int64_t i = i0 + threadIdx.x; i < i1; i += kThreads) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float vi = b2 * v[i] + (1.f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

}  // namespace

void adamw(void* stream, const AdamWTensor* tensors, int64_t count, const AdamWHyper& h) {
  const float bc1 = static_cast<float>(1.0 - std::pow(double(h.beta1), double(h.step)));
  const float bc2 = static_cast<float>(1.0 - std::pow(double(h.beta2), double(h.step)));
  const float step = h.lr / bc1, inv_sqrt_bc2 = 1.f / std::sqrt(bc2), decay = 1.f - h.lr * h.weight_decay;
  for (int64_t start = 0; start < count; start += kGroup) {
    AdamWGroup grp;
    grp.count = static_cast<int>(count - start < kGroup ? count - start : kGroup);
    grp.first_block[0] = 0;
    for (int i = 0; i < grp.count; ++i) {
      const AdamWTensor& x = tensors[start + i];
      grp.p[i] = x.param;
      grp.g[i] = x.grad;
      grp.m[i] = x.m;
      grp.v[i] = x.v;
      grp.size[i] = x.size;
      grp.first_block[i + 1] = grp.first_block[i] + (x.size + kChunk - 1) / kChunk;
    }
    const int64_t blocks = grp.first_block[grp.count];
    if (blocks == 0) continue;
    adamw_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, as_stream(stream)>>>(grp, h.beta1, h.beta2, h.eps, step,
                                                                                   inv_sqrt_bc2, decay);
    check_launch("adamw_kernel");
  }
}

}  // namespace echogen::cuda
