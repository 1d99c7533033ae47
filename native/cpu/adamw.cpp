// Fused AdamW on the CPU: every tensor of the list is cut into fixed chunks and all chunks of all
// tensors go to the pool in one fork/join.
#include "echogen/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace echogen::cpu {

void adamw(ThreadPool& pool, const AdamWTensor* tensors, int64_t count, const AdamWHyper& h) {
  constexpr int64_t kChunk = 1 << 14;
  std::vector<int64_t> first_chunk(static_cast<size_t>(count) + 1, 0);
  for (int64_t t = 0; t < count; ++t)
    first_chunk[t + 1] = first_chunk[t] + (tensors[t].size + kChunk - 1) / kChunk;
  const float bc1 = static_cast<float>(1.0 - std::pow(double(h.beta1), double(h.step)));
  const float bc2 = static_cast<float>(1.0 - std::pow(double(h.beta2), double(h.step)));
  const float step = h.lr / bc1, inv_sqrt_bc2 = 1.f / std::sqrt(bc2), decay = 1.f - h.lr * h.weight_decay;
  const float b1 = h.beta1, b2 = h.beta2, eps = h.eps;
  pool.parallel_for(first_chunk[count], 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t t = std::upper_bound(first_chunk.begin(), first_chunk.end(), c) - first_chunk.begin() - 1;
      const AdamWTensor& x = tensors[t];
      const int64_t i0 = (c - first_chunk[t]) * kChunk, i1 = std::min(x.size, i0 + kChunk);
      for (int64_t i = i0; i < i1; ++i) {
        const float g = x.grad[i];
        const float m = b1 * x.m[i] + (1.f - b1) * g;
        const float v = b2 * x.v[i] + (1.f - b2) * g * g;
        x.m[i] = m;
        x.v[i] = v;
        // p <- p (1 - lr wd) - lr * mhat / (sqrt(vhat) + eps)
        x.param[i] = x.param[i] * decay - step * m / (std::sqrt(v) * inv_sqrt_bc2 + eps);
      }
    }
  });
}

}  // namespace echogen::cpu
