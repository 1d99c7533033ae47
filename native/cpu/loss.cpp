// Fused softmax cross-entropy on the CPU: the row's log-sum-exp is computed once and saved, so the
// backward needs no second max/sum pass and the probabilities are never stored.
#include "echogen/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/simd.h"

namespace echogen::cpu {

void cross_entropy(ThreadPool& pool, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                   int32_t ignore_index, float* loss, float* lse) {
  pool.parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, v)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* x = logits + r * v;
      const float mx = simd::row_max(x, v);
      const float l = mx == -std::numeric_limits<float>::infinity() ? mx : mx + std::log(simd::exp_shift_total(x, v, mx));
      lse[r] = l;
      const int32_t t = targets[r];
      loss[r] = t == ignore_index ? 0.f : l - x[t];
    }
  });
}

void cross_entropy_backward(ThreadPool& pool, int64_t rows, int64_t v, const float* logits, const int32_t* targets,
                            int32_t ignore_index, const float* lse, const float* dloss, float* dlogits) {
  if (rows * v == 0) return;  // nothing to write (and no empty rows to walk)
  pool.parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, v)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* x = logits + r * v;
      float* d = dlogits + r * v;
      const int32_t t = targets[r];
      if (t == ignore_index) {
        for (int64_t j = 0; j < v; ++j) d[j] = 0.f;
        continue;
      }
      const float g = dloss[r];
      simd::exp_shift_sum(x, v, lse[r], d);  // the probabilities, into d
      for (int64_t j = 0; j < v; ++j) d[j] *= g;
      d[t] -= g;
    }
  });
}

}  // namespace echogen::cpu
