// Fused attention (FlashAttention-2 style), forward and backward, on the CPU and CUDA.
// q [B,H,Tq,D], k and v [B,H,Tk,D], out [B,H,Tq,D], lse [B,H,Tq] (natural log), all f32. q, k,
// v and out (and their gradients) are contiguous row-major unless their AttentionLayout says
// where each head's rows lie (a packed qkv [B,T,3*H*D] read in place); lse is always contiguous.
// The Tq x Tk score matrix is never stored; the backward recomputes the probabilities from lse.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

// Where row t of head h of batch b of a [B,H,T,D] operand starts: b * batch + h * head + t * row
// floats past its pointer; its D floats are contiguous. row == 0 (the default) means contiguous
// [B,H,T,D] (batch = H*T*D, head = T*D, row = D).
struct AttentionLayout {
  int64_t batch = 0, head = 0, row = 0;
};

// Sizes and options of one attention call (the same struct for both backends).
struct AttentionParams {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0;
  float scale = 1.f;  // multiplies q.k before the softmax
  bool causal = false;  // query i sees key j iff j <= i + (Tk - Tq)
  // nullptr, or i32 [Tq,Tk] (mask_batched false) or [B,Tq,Tk] (true); nonzero = may attend.
  // On the same device as q.
  const int32_t* mask = nullptr;
  bool mask_batched = false;
  // q and dq; k and dk; v and dv; out and dOut.
  AttentionLayout q_layout, k_layout, v_layout, o_layout;
};

// The layout as the kernels use it: the default resolved to contiguous [B,H,T,D].
inline AttentionLayout resolve_layout(const AttentionLayout& l, int64_t H, int64_t T, int64_t D) {
  return l.row != 0 ? l : AttentionLayout{H * T * D, T * D, D};
}

// The layouts of one token-major tensor [B, T, parts * H * D] (rows of `parts` groups of H heads
// of D, as a fused QKV projection writes them) read as `part`-th [B,H,T,D] operand; its offset
// is part * H * D floats.
inline AttentionLayout token_major_layout(int64_t H, int64_t T, int64_t D, int64_t parts) {
  return {T * parts * H * D, D, parts * H * D};
}

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
