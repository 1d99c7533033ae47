// Matrix multiply: batched, with transposes, an optional per-column bias (the fused linear) and
// alpha/beta. Plain row-major float32 buffers; no N-API and no CUDA headers here.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

// For every b < batch: C_b = alpha * op(A_b) op(B_b) + beta * C_b + bias (bias[j] added to column j).
// op(A) is m x k (A is stored k x m when trans_a); op(B) is k x n (stored n x k when trans_b).
// Matrix b of X starts at X + b * stride_x; a stride of 0 reuses one matrix for the whole batch.
// beta == 0 never reads C (so C may hold garbage); bias may be null.
struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  float alpha = 1.f, beta = 0.f;
  const float* a = nullptr;
  int64_t stride_a = 0;
  const float* b = nullptr;
  int64_t stride_b = 0;
  float* c = nullptr;
  int64_t stride_c = 0;
  const float* bias = nullptr;
};

namespace cpu {
void gemm(ThreadPool& pool, const GemmArgs& g);
}
namespace cuda {
void gemm(void* stream, const GemmArgs& g);
}

}  // namespace echogen
