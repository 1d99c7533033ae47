// Reductions on the CPU. Partial sums are kept per fixed chunk (not per thread) and combined in
// chunk order, so results do not depend on the thread count; accumulation is in double.
#include <algorithm>
#include <vector>

#include "echogen/elementwise.h"

namespace echogen::cpu {

namespace {
constexpr int64_t kChunk = 1 << 14;
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

void sum_rows(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  if (cols <= 0) return;
  const int64_t col_block = 256;
  const int64_t cb = ceil_div(cols, col_block);
  // Enough row chunks that the pool has work even when there are few columns.
  const int64_t rc = std::max<int64_t>(1, std::min(ceil_div(rows * cols, kChunk * cb), ceil_div(rows, 8)));
  const int64_t rows_per = rows > 0 ? ceil_div(rows, rc) : 0;
  std::vector<double> partial(static_cast<size_t>(rc * cols), 0.0);
  pool.parallel_for(cb * rc, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t c0 = (t % cb) * col_block, c1 = std::min(cols, c0 + col_block), r = t / cb;
      const int64_t r0 = r * rows_per, r1 = std::min(rows, r0 + rows_per);
      double* p = partial.data() + r * cols;
      for (int64_t i = r0; i < r1; ++i) {
        const float* xr = x + i * cols;
        for (int64_t j = c0; j < c1; ++j) p[j] += xr[j];
      }
    }
  });
  for (int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (int64_t r = 0; r < rc; ++r) s += partial[static_cast<size_t>(r * cols + j)];
    y[j] = static_cast<float>(alpha * s);
  }
}

void sum_last(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  if (rows <= 0) return;
  const int64_t chunks = std::max<int64_t>(1, ceil_div(cols, kChunk));
  std::vector<double> partial(static_cast<size_t>(rows * chunks), 0.0);
  const int64_t per_task = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, std::min(cols, kChunk)));
  pool.parallel_for(rows * chunks, per_task, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t r = t / chunks, c0 = (t % chunks) * kChunk, c1 = std::min(cols, c0 + kChunk);
      const float* xr = x + r * cols;
      double s = 0;
      for (int64_t j = c0; j < c1; ++j) s += xr[j];
      partial[static_cast<size_t>(t)] = s;
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[static_cast<size_t>(r * chunks + c)];
    y[r] = static_cast<float>(alpha * s);
  }
}

void expand_last(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  pool.parallel_for(rows, std::max<int64_t>(1, kChunk / std::max<int64_t>(1, cols)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float v = alpha * x[r];
      float* yr = y + r * cols;
      for (int64_t j = 0; j < cols; ++j) yr[j] = v;
    }
  });
}

void sum_squares(ThreadPool& pool, int64_t n, const float* x, float* y) {
  const int64_t chunks = std::max<int64_t>(1, ceil_div(n, kChunk));
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  pool.parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double s = 0;
      for (int64_t i = c * kChunk, end = std::min(n, i + kChunk); i < end; ++i) s += double(x[i]) * x[i];
      partial[static_cast<size_t>(c)] = s;
    }
  });
  double s = 0;
  for (double p : partial) s += p;
  y[0] = static_cast<float>(s);
}

}  // namespace echogen::cpu
