// Elementwise maps and suffix-broadcast binary ops on the GPU: grid-stride loops, one element per
// thread per step (memory-bound; the loads are coalesced).
#include "common/activation.h"
#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/elementwise.h"

namespace echogen::cuda {

namespace {

__global__ void unary_kernel(UnaryOp op, int64_t n, const float* __restrict__ x, float* __restrict__ y) {
  EG_GRID_LOOP(i, n) {
    const float v = x[i];
    float r;
    switch (op) {
      case UnaryOp::Exp: r = expf(v); break;
      case UnaryOp::Log: r = logf(v); break;
      case UnaryOp::Tanh: r = tanhf(v); break;
      case UnaryOp::Sigmoid: r = sigmoid_stable(v); break;
      case UnaryOp::Relu: r = v > 0.f ? v : 0.f; break;
      default: r = gelu_tanh(v); break;
    }
    y[i] = r;
  }
}

__global__ void unary_backward_kernel(UnaryOp op, int64_t n, const float* __restrict__ x, const float* __restrict__ y,
                                      const float* __restrict__ dy, float* __restrict__ dx) {
  EG_GRID_LOOP(i, n) {
    const float g = dy[i];
    float r;
    switch (op) {
      case UnaryOp::Exp: r = g * y[i]; break;
      case UnaryOp::Log: r = g / x[i]; break;
      case UnaryOp::Tanh: r = g * (1.f - y[i] * y[i]); break;
      case UnaryOp::Sigmoid: r = g * y[i] * (1.f - y[i]); break;
      case UnaryOp::Relu: r = x[i] > 0.f ? g : 0.f; break;
      default: r = g * gelu_tanh_grad(x[i]); break;
    }
    dx[i] = r;
  }
}

__global__ void affine_kernel(int64_t n, const float* __restrict__ x, float alpha, float beta, float* __restrict__ y) {
  EG_GRID_LOOP(i, n) y[i] = alpha * x[i] + beta;
}

__global__ void binary_kernel(BinaryOp op, int64_t na, int64_t nb, const float* __restrict__ a,
                              const float* __restrict__ b, float* __restrict__ out) {
  EG_GRID_LOOP(i, na) {
    const float u = a[i], w = b[i % nb];
    out[i] = op == BinaryOp::Add ? u + w : op == BinaryOp::Sub ? u - w : u * w;
  }
}

__global__ void axpy_kernel(int64_t n, float alpha, const float* __restrict__ src, float* __restrict__ dst) {
  EG_GRID_LOOP(i, n) dst[i] += alpha * src[i];
}

__global__ void fill_kernel(int64_t n, float value, float* __restrict__ x) {
  EG_GRID_LOOP(i, n) x[i] = value;
}

__global__ void bias_gelu_kernel(int64_t n, int64_t cols, const float* __restrict__ x, const float* __restrict__ b,
                                 float* __restrict__ y) {
  EG_GRID_LOOP(i, n) y[i] = gelu_tanh(x[i] + b[i % cols]);
}

__global__ void bias_gelu_backward_kernel(int64_t n, int64_t cols, const float* __restrict__ x, const float* __restrict__ b,
                                          const float* __restrict__ dy, float* __restrict__ dx) {
  EG_GRID_LOOP(i, n) dx[i] = dy[i] * gelu_tanh_grad(x[i] + b[i % cols]);
}

}  // namespace

void unary(void* stream, UnaryOp op, int64_t n, const float* x, float* y) {
  if (n <= 0) return;
  unary_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(op, n, x, y);
  check_launch("unary_kernel");
}

void unary_backward(void* stream, UnaryOp op, int64_t n, const float* x, const float* y, const float* dy, float* dx) {
  if (n <= 0) return;
  unary_backward_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(op, n, x, y, dy, dx);
  check_launch("unary_backward_kernel");
}

void affine(void* stream, int64_t n, const float* x, float alpha, float beta, float* y) {
  if (n <= 0) return;
  affine_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(n, x, alpha, beta, y);
  check_launch("affine_kernel");
}

void binary(void* stream, BinaryOp op, int64_t na, int64_t nb, const float* a, const float* b, float* out) {
  if (na <= 0 || nb <= 0) return;
  binary_kernel<<<elementwise_blocks(na), 256, 0, as_stream(stream)>>>(op, na, nb, a, b, out);
  check_launch("binary_kernel");
}

void axpy(void* stream, int64_t n, float alpha, const float* src, float* dst) {
  if (n <= 0) return;
  axpy_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(n, alpha, src, dst);
  check_launch("axpy_kernel");
}

void fill(void* stream, int64_t n, float value, float* x) {
  if (n <= 0) return;
  fill_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(n, value, x);
  check_launch("fill_kernel");
}

void bias_gelu(void* stream, int64_t rows, int64_t cols, const float* x, const float* b, float* y) {
  const int64_t n = rows * cols;
  if (n <= 0) return;
  bias_gelu_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(n, cols, x, b, y);
  check_launch("bias_gelu_kernel");
}

void bias_gelu_backward(void* stream, int64_t rows, int64_t cols, const float* x, const float* b, const float* dy,
                        float* dx, float* db) {
  const int64_t n = rows * cols;
  if (n > 0) {
    bias_gelu_backward_kernel<<<elementwise_blocks(n), 256, 0, as_stream(stream)>>>(n, cols, x, b, dy, dx);
    check_launch("bias_gelu_backward_kernel");
  }
  sum_rows(stream, rows, cols, dx, 1.f, db);  // the bias gradient: the column sums of dx
}

}  // namespace echogen::cuda
