// Elementwise maps and suffix-broadcast binary ops on the CPU: plain loops the compiler vectorises,
// split over the pool in chunks big enough to amortise the fork/join.
#include "echogen/elementwise.h"

#include <algorithm>
#include <cmath>

#include "common/activation.h"

namespace echogen::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;

template <typename F>
void for_range(ThreadPool& pool, int64_t n, F&& f) {
  pool.parallel_for(n, kGrain, [&](int64_t b, int64_t e) { f(b, e); });
}
}  // namespace

void unary(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, float* y) {
  for_range(pool, n, [&](int64_t b, int64_t e) {
    switch (op) {
      case UnaryOp::Exp: for (int64_t i = b; i < e; ++i) y[i] = std::exp(x[i]); break;
      case UnaryOp::Log: for (int64_t i = b; i < e; ++i) y[i] = std::log(x[i]); break;
      case UnaryOp::Tanh: for (int64_t i = b; i < e; ++i) y[i] = std::tanh(x[i]); break;
      case UnaryOp::Sigmoid: for (int64_t i = b; i < e; ++i) y[i] = sigmoid_stable(x[i]); break;
      case UnaryOp::Relu: for (int64_t i = b; i < e; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f; break;
      case UnaryOp::Gelu: for (int64_t i = b; i < e; ++i) y[i] = gelu_tanh(x[i]); break;
    }
  });
}

void unary_backward(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, const float* y, const float* dy,
                    float* dx) {
  for_range(pool, n, [&](int64_t b, int64_t e) {
    switch (op) {
      case UnaryOp::Exp: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i]; break;
      case UnaryOp::Log: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] / x[i]; break;
      case UnaryOp::Tanh: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * (1.f - y[i] * y[i]); break;
      case UnaryOp::Sigmoid: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]); break;
      case UnaryOp::Relu: for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.f ? dy[i] : 0.f; break;
      case UnaryOp::Gelu: for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * gelu_tanh_grad(x[i]); break;
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

}  // namespace echogen::cpu
