// Gumbel-Softmax: noise from Philox-4x32-10 (native/common/philox.h), argmax sample, tempered
// softmax, optional one-hot; and its backward. Raw row-major f32 pointers, logits [N,V].
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

struct GumbelParams {
  uint64_t seed = 0;    // key = (low 32 bits, high 32 bits)
  uint64_t offset = 0;  // counter words 2 and 3: another offset, independent noise
  float tau = 1.f;      // > 0
};

namespace cpu {

// With g = Gumbel noise of element (n, v): indices[n] = argmax_v (logits + g) (ties to the lowest
// v), soft = softmax((logits + g) / tau), hard (if not null) = one-hot of indices. A row whose
// logits are all -Infinity gets index -1 and all-zero soft and hard rows.
void gumbel_softmax(ThreadPool& pool, const float* logits, int64_t N, int64_t V, const GumbelParams& p,
                    float* soft, float* hard, int32_t* indices);
// The noise of flat elements first .. first+count-1, exactly as gumbel_softmax draws it (for checks).
void gumbel_noise(const GumbelParams& p, int64_t first, int64_t count, float* out);
// dlogits = soft * (dy - sum_v(dy * soft)) / tau, row by row.
void gumbel_softmax_backward(ThreadPool& pool, const float* dy, const float* soft, int64_t N, int64_t V, float tau,
                             float* dlogits);

}  // namespace cpu

namespace cuda {

void gumbel_softmax(void* stream, const float* logits, int64_t N, int64_t V, const GumbelParams& p, float* soft,
                    float* hard, int32_t* indices);
void gumbel_softmax_backward(void* stream, const float* dy, const float* soft, int64_t N, int64_t V, float tau,
                             float* dlogits);

}  // namespace cuda
}  // namespace echogen
