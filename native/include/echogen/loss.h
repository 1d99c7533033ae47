// Fused softmax cross-entropy over the last dimension with an ignore index.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

namespace cpu {
// For each row n of logits [rows, v]: lse[n] = log sum exp(logits[n]); loss[n] = lse[n] - logits[n, t]
// with t = targets[n], or 0 when t == ignore_index. Targets must already be checked to lie in [0, v)
// or equal ignore_index.
void cross_entropy(ThreadPool& pool, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                   int32_t ignore_index, float* loss, float* lse);
// dlogits[n, j] = dloss[n] * (exp(logits[n, j] - lse[n]) - [j == t]); 0 on ignored rows.
void cross_entropy_backward(ThreadPool& pool, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                            int32_t ignore_index, const float* lse, const float* dloss, float* dlogits);
}  // namespace cpu

namespace cuda {
void cross_entropy(void* stream, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                   int32_t ignore_index, float* loss, float* lse);
void cross_entropy_backward(void* stream, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                            int32_t ignore_index, const float* lse, const float* dloss, float* dlogits);
}  // namespace cuda

}  // namespace echogen
