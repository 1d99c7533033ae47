// Pointwise functions and their derivatives, shared by the CPU and CUDA elementwise kernels so both
// backends compute the same formulas (GELU is the tanh approximation, as GPT-2 uses).
#pragma once
#include <math.h>

#include "common/hd.h"

namespace echogen {

constexpr float kGeluC = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluA = 0.044715f;

EG_HD float gelu_tanh(float x) {
  float u = kGeluC * (x + kGeluA * x * x * x);
  return 0.5f * x * (1.f + tanhf(u));
}

EG_HD float gelu_tanh_grad(float x) {
  float u = kGeluC * (x + kGeluA * x * x * x);
  float t = tanhf(u);
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kGeluC * (1.f + 3.f * kGeluA * x * x);
}

// expf-based sigmoid that never overflows: for x < 0 use e^x / (1 + e^x).
EG_HD float sigmoid_stable(float x) {
  if (x >= 0.f) return 1.f / (1.f + expf(-x));
  float e = expf(x);
  return e / (1.f + e);
}

}  // namespace echogen
