// Elementwise maps and suffix-broadcast binary ops on the CPU: plain loops the compiler vectorises,
// split over the pool in chunks big enough to amortise the fork/join.
#include "echogen/elementwise.h"

#include <algorithm>
#include <cmath>

#include "common/activation.h"
#include "cpu/simd.h"

namespace echogen::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;

template <typename F>
void for_range(ThreadPool& pool, int64_t n, F&& f) {
  pool.parallel_for(n, kGrain, [&](int64_t b, int64_t e) { f(b, e); });
}
}  // namespace

namespace {

// y[i] = f(x[i]) with an 8-lane body and a scalar tail of the same formula.
template <typename V, typename S>
void map8(int64_t b, int64_t e, const float* x, float* y, V vec, S scalar) {
  int64_t i = b;
#ifdef ECHOGEN_AVX2
  for (; i + 8 <= e; i += 8) _mm256_storeu_ps(y + i, vec(_mm256_loadu_ps(x + i)));
#else
  (void)vec;
#endif
  for (; i < e; ++i) y[i] = scalar(x[i]);
}

// dx[i] = dy[i] * f'(s[i]) likewise.
template <typename V, typename S>
void grad8(int64_t b, int64_t e, const float* s, const float* dy, float* dx, V vec, S scalar) {
  int64_t i = b;
#ifdef ECHOGEN_AVX2
  for (; i + 8 <= e; i += 8) _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), vec(_mm256_loadu_ps(s + i))));
#else
  (void)vec;
#endif
  for (; i < e; ++i) dx[i] = dy[i] * scalar(s[i]);
}

#ifdef ECHOGEN_AVX2
#define EG_V(body) [](__m256 v) { return body; }
#else
#define EG_V(body) [](float v) { return v; }
#endif

}  // namespace

void unary(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, float* y) {
  using namespace simd;
  for_range(pool, n, [&](int64_t b, int64_t e) {
    switch (op) {
      case UnaryOp::Exp: map8(b, e, x, y, EG_V(exp8(v)), [](float v) { return std::exp(v); }); break;
      case UnaryOp::Log: for (int64_t i = b; i < e; ++i) y[i] = std::log(x[i]); break;
      case UnaryOp::Tanh: map8(b, e, x, y, EG_V(tanh8(v)), [](float v) { return std::tanh(v); }); break;
      case UnaryOp::Sigmoid: map8(b, e, x, y, EG_V(sigmoid8(v)), sigmoid_stable); break;
      case UnaryOp::Relu: for (int64_t i = b; i < e; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f; break;
      case UnaryOp::Gelu: map8(b, e, x, y, EG_V(gelu8(v)), gelu_tanh); break;
    }
  });
}

void unary_backward(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, const float* y, const float* dy,
                    float* dx) {
  using namespace simd;
  for_range(pool, n, [&](int64_t b, int64_t e) {
    switch (op) {
      case UnaryOp::Exp: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i]; break;
      case UnaryOp::Log: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] / x[i]; break;
      case UnaryOp::Tanh: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * (1.f - y[i] * y[i]); break;
      case UnaryOp::Sigmoid: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]); break;
      case UnaryOp::Relu: for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.f ? dy[i] : 0.f; break;
      case UnaryOp::Gelu: grad8(b, e, x, dy, dx, EG_V(gelu_grad8(v)), gelu_tanh_grad); break;
    }
  });
}

void affine(ThreadPool& pool, int64_t n, const float* x, float alpha, float beta, float* y) {
  for_range(pool, n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = alpha * x[i] + beta;
  });
}

void binary(ThreadPool& pool, BinaryOp op, int64_t na, int64_t nb, const float* a, const float* bv, float* out) {
  // Rows of b's size, so the inner loop has no modulo.
  const int64_t rows = nb ? na / nb : 0;
  pool.parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(nb, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* ar = a + r * nb;
      float* o = out + r * nb;
      switch (op) {
        case BinaryOp::Add: for (int64_t j = 0; j < nb; ++j) o[j] = ar[j] + bv[j]; break;
        case BinaryOp::Sub: for (int64_t j = 0; j < nb; ++j) o[j] = ar[j] - bv[j]; break;
        case BinaryOp::Mul: for (int64_t j = 0; j < nb; ++j) o[j] = ar[j] * bv[j]; break;
      }
    }
  });
}

void axpy(ThreadPool& pool, int64_t n, float alpha, const float* src, float* dst) {
  for_range(pool, n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] += alpha * src[i];
  });
}

void fill(ThreadPool& pool, int64_t n, float value, float* x) {
  for_range(pool, n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) x[i] = value;
  });
}

// Rows of x with the bias added in registers, never stored: one read of x, one write of y.
void bias_gelu(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, const float* b, float* y) {
  using namespace simd;
  pool.parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = y + r * cols;
      int64_t c = 0;
#ifdef ECHOGEN_AVX2
      for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(yr + c, gelu8(_mm256_add_ps(_mm256_loadu_ps(xr + c), _mm256_loadu_ps(b + c))));
#endif
      for (; c < cols; ++c) yr[c] = gelu_tanh(xr[c] + b[c]);
    }
  });
}

void bias_gelu_backward(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, const float* b, const float* dy,
                        float* dx, float* db) {
  using namespace simd;
  pool.parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r * cols;
      int64_t c = 0;
#ifdef ECHOGEN_AVX2
      for (; c + 8 <= cols; c += 8) {
        const __m256 g = gelu_grad8(_mm256_add_ps(_mm256_loadu_ps(x + o + c), _mm256_loadu_ps(b + c)));
        _mm256_storeu_ps(dx + o + c, _mm256_mul_ps(_mm256_loadu_ps(dy + o + c), g));
      }
#endif
      for (; c < cols; ++c) dx[o + c] = dy[o + c] * gelu_tanh_grad(x[o + c] + b[c]);
    }
  });
  sum_rows(pool, rows, cols, dx, 1.f, db);  // the bias gradient: the column sums of dx
}

}  // namespace echogen::cpu
