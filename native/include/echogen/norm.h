// Row-wise normalisations over the last dimension: layer norm and (log-)softmax, forward and backward.
// x is viewed as [rows, d], row-major.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

namespace cpu {
// y = (x - mean) * rstd * gamma + beta per row; saves mean[rows] and rstd[rows] = 1/sqrt(var + eps)
// (biased variance, as PyTorch).
void layer_norm(ThreadPool& pool, int64_t rows, int64_t d, const float* x, const float* gamma, const float* beta,
                float eps, float* y, float* mean, float* rstd);
// dx[rows,d], dgamma[d], dbeta[d] (all overwritten) from dy and the saved statistics.
void layer_norm_backward(ThreadPool& pool, int64_t rows, int64_t d, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* rstd, float* dx, float* dgamma,
                         float* dbeta);
// y = softmax(x) (or log_softmax(x) when log) per row; a row of all -inf gives 0 (softmax) or -inf (log).
void softmax(ThreadPool& pool, int64_t rows, int64_t d, const float* x, bool log, float* y);
// dx from the forward's output y: softmax: y * (dy - sum(dy * y)); log: dy - exp(y) * sum(dy).
void softmax_backward(ThreadPool& pool, int64_t rows, int64_t d, const float* y, const float* dy, bool log, float* dx);
}  // namespace cpu

namespace cuda {
void layer_norm(void* stream, int64_t rows, int64_t d, const float* x, const float* gamma, const float* beta,
                float eps, float* y, float* mean, float* rstd);
void layer_norm_backward(void* stream, int64_t rows, int64_t d, const float* dy, const float* x, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* dgamma, float* dbeta);
void softmax(void* stream, int64_t rows, int64_t d, const float* x, bool log, float* y);
void softmax_backward(void* stream, int64_t rows, int64_t d, const float* y, const float* dy, bool log, float* dx);
}  // namespace cuda

}  // namespace echogen
