// Fused AdamW over a list of tensors: one call updates every parameter, in place.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

struct AdamWHyper {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
  int64_t step = 1;  // 1 for the first update (bias correction uses beta^step)
};

// One tensor of the list: p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p) with decoupled decay
// (applied to p before the Adam step, as torch.optim.AdamW), m and v updated in place.
struct AdamWTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  int64_t size;
};

namespace cpu {
void adamw(ThreadPool& pool, const AdamWTensor* tensors, int64_t count, const AdamWHyper& h);
}
namespace cuda {
void adamw(void* stream, const AdamWTensor* tensors, int64_t count, const AdamWHyper& h);
}

}  // namespace echogen
