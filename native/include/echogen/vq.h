// VQ codebook kernels: nearest code (fused squared-Euclidean argmin), gather, per-code stats.
// Raw row-major f32/i32 pointers; shapes are checked by the caller (native/napi/ops_vq.cc).
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

// The first out-of-range index met by vq_gather / vq_stats (position -1 when all are valid).
struct BadIndex {
  int64_t position = -1;
  int32_t value = 0;
};

namespace cpu {

// For each row n of x [N,D]: indices[n] = argmin_k ||x_n - c_k||^2 over codebook [K,D] (ties to
// the lowest k), distances[n] = that squared distance recomputed directly. K >= 1.
void vq_nearest(ThreadPool& pool, const float* x, const float* codebook, int64_t N, int64_t D, int64_t K,
                int32_t* indices, float* distances);
// out[i, :] = codebook[indices[i], :] for i < count. Returns the first bad index (nothing is
// read out of bounds; out is then unspecified).
BadIndex vq_gather(ThreadPool& pool, const float* codebook, const int32_t* indices, int64_t count, int64_t D,
                   int64_t K, float* out);
// sums [K,D] = sum of the rows of x [N,D] assigned to each code, counts [K] = how many.
BadIndex vq_stats(ThreadPool& pool, const float* x, const int32_t* indices, int64_t N, int64_t D, int64_t K,
                  float* sums, float* counts);

}  // namespace cpu

namespace cuda {

void vq_nearest(void* stream, const float* x, const float* codebook, int64_t N, int64_t D, int64_t K,
                int32_t* indices, float* distances);
// These two synchronise the stream to report a bad index (checked on the device).
BadIndex vq_gather(void* stream, const float* codebook, const int32_t* indices, int64_t count, int64_t D,
                   int64_t K, float* out);
BadIndex vq_stats(void* stream, const float* x, const int32_t* indices, int64_t N, int64_t D, int64_t K,
                  float* sums, float* counts);

}  // namespace cuda
}  // namespace echogen
