// Layout copies on the CPU: permute and the axis block copy behind slice and concat.
#include <cstring>

#include "echogen/elementwise.h"

namespace echogen::cpu {

void permute(ThreadPool& pool, int rank, const int64_t* shape, const int* perm, const float* x, float* y) {
  int64_t in_stride[kMaxRank], out_shape[kMaxRank], src_stride[kMaxRank];
  int64_t s = 1, total = 1;
  for (int i = rank - 1; i >= 0; --i) { in_stride[i] = s; s *= shape[i]; }
  for (int i = 0; i < rank; ++i) {
    out_shape[i] = shape[perm[i]];
    src_stride[i] = in_stride[perm[i]];
    total *= out_shape[i];
  }
  if (total == 0) return;
  if (rank == 0) { y[0] = x[0]; return; }
  const int64_t last = out_shape[rank - 1], rows = total / last, step = src_stride[rank - 1];
  pool.parallel_for(rows, std::max<int64_t>(1, 4096 / last), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      // the input offset of output row r, from its multi-index over the leading output dims
      int64_t rem = r, base = 0;
      for (int i = rank - 2; i >= 0; --i) {
        base += (rem % out_shape[i]) * src_stride[i];
        rem /= out_shape[i];
      }
      float* yr = y + r * last;
      for (int64_t j = 0; j < last; ++j) yr[j] = x[base + j * step];
    }
  });
}

void copy_axis(ThreadPool& pool, int64_t outer, int64_t inner, int64_t len, const float* src, int64_t src_dim,
               int64_t src_off, float* dst, int64_t dst_dim, int64_t dst_off) {
  const int64_t block = len * inner;
  if (block <= 0) return;
  pool.parallel_for(outer, std::max<int64_t>(1, 16384 / block), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      std::memcpy(dst + (o * dst_dim + dst_off) * inner, src + (o * src_dim + src_off) * inner,
                  static_cast<size_t>(block) * sizeof(float));
  });
}

}  // namespace echogen::cpu
