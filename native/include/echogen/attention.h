// Fused attention (FlashAttention-2 style), forward and backward, on the CPU and CUDA.
// q [B,H,Tq,D], k and v [B,H,Tk,D], out [B,H,Tq,D], lse [B,H,Tq] (natural log), all f32,
// contiguous row-major. The Tq x Tk score matrix is never stored; the backward recomputes the
// probabilities from lse.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

// Sizes and options of one attention call (the same struct for both backends).
struct AttentionParams {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0;
  float scale = 1.f;  // multiplies q.k before the softmax
  bool causal = false;  // query i sees key j iff j <= i + (Tk - Tq)
  // nullptr, or i32 [Tq,Tk] (mask_batched false) or [B,Tq,Tk] (true); nonzero = may attend.
  // On the same device as q.
  const int32_t* mask = nullptr;
  bool mask_batched = false;
};

// Head dims the kernels accept.
constexpr int64_t kAttentionMinHeadDim = 8;
constexpr int64_t kAttentionMaxHeadDim = 128;

namespace cpu {
// out and lse are written in full; a query row that sees no key gets out 0 and lse -inf.
void attention_forward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                       float* out, float* lse);
// dq, dk, dv are written in full (rows/keys no query sees get 0).
void attention_backward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv);
}  // namespace cpu

namespace cuda {
// Device pointers; enqueued on `stream`, returns at once. Throws std::runtime_error on a launch error.
void attention_forward(void* stream, const AttentionParams& p, const float* q, const float* k, const float* v,
                       float* out, float* lse);
void attention_backward(void* stream, const AttentionParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv);
}  // namespace cuda

}  // namespace echogen
