// Embedding lookup and its scatter-add backward on the CPU. The backward splits the table's rows
// between tasks (each task scans all ids and adds only those it owns), so no two threads write the
// same row and the sum order per row is the id order: deterministic with no atomics.
#include "echogen/embedding.h"

#include <algorithm>
#include <cstring>

namespace echogen::cpu {

void embedding(ThreadPool& pool, int64_t n, int64_t d, const float* table, const int32_t* ids, float* out) {
  pool.parallel_for(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(out + i * d, table + static_cast<int64_t>(ids[i]) * d, static_cast<size_t>(d) * sizeof(float));
  });
}

void embedding_backward(ThreadPool& pool, int64_t n, int64_t v, int64_t d, const float* dout, const int32_t* ids,
                        float* dtable) {
  if (v * d == 0) return;  // an empty table (v = 0 would also divide by zero tasks below)
  std::memset(dtable, 0, static_cast<size_t>(v * d) * sizeof(float));
  const int64_t tasks = std::min<int64_t>(v, std::max(1, pool.size()) * 4);
  const int64_t per = (v + tasks - 1) / tasks;
  pool.parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
    const int64_t lo = b * per, hi = std::min(v, e * per);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = ids[i];
      if (r < lo || r >= hi) continue;
      float* dst = dtable + r * d;
      const float* src = dout + i * d;
      for (int64_t j = 0; j < d; ++j) dst[j] += src[j];
    }
  });
}

}  // namespace echogen::cpu
