// Elementwise maps, suffix-broadcast binary ops, reductions and layout copies (permute, slice/concat).
// Everything is float32, contiguous and row-major.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

enum class UnaryOp : int32_t { Exp = 0, Log, Tanh, Sigmoid, Relu, Gelu };
enum class BinaryOp : int32_t { Add = 0, Sub, Mul };

// Up to this many dimensions in permute.
constexpr int kMaxRank = 8;

namespace cpu {
// y = f(x); GELU is the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void unary(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, float* y);
// dx = dy * f'(x) (f' from x or from the forward's output y, whichever is cheaper; both are passed).
void unary_backward(ThreadPool& pool, UnaryOp op, int64_t n, const float* x, const float* y, const float* dy, float* dx);
// y = alpha * x + beta (scale, addScalar, neg).
void affine(ThreadPool& pool, int64_t n, const float* x, float alpha, float beta, float* y);
// out[i] = a[i] op b[i % nb] (nb divides na: b's shape is a suffix of a's).
void binary(ThreadPool& pool, BinaryOp op, int64_t na, int64_t nb, const float* a, const float* b, float* out);
// dst[i] += alpha * src[i] (gradient accumulation, in place).
void axpy(ThreadPool& pool, int64_t n, float alpha, const float* src, float* dst);
// y[j] = alpha * sum_i x[i, j] over x [rows, cols] (the reduction behind broadcast and bias gradients).
void sum_rows(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
// y[i] = alpha * sum_j x[i, j]  (sum over the last dim; rows = 1 sums everything).
void sum_last(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
// y[i, j] = alpha * x[i] (the backward of sum_last).
void expand_last(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
// y[0] = sum x^2 (accumulated in double).
void sum_squares(ThreadPool& pool, int64_t n, const float* x, float* y);
// y = x.permute(dims): y's dim i is x's dim perm[i]; shape is x's shape.
void permute(ThreadPool& pool, int rank, const int64_t* shape, const int* perm, const float* x, float* y);
// A block copy between two tensors viewed as [outer, src_dim, inner] and [outer, dst_dim, inner]:
// dst[o, dst_off + j, i] = src[o, src_off + j, i] for j < len (slice, concat and their gradients).
void copy_axis(ThreadPool& pool, int64_t outer, int64_t inner, int64_t len, const float* src, int64_t src_dim,
               int64_t src_off, float* dst, int64_t dst_dim, int64_t dst_off);
// x[:] = value.
void fill(ThreadPool& pool, int64_t n, float value, float* x);
// y[r, c] = gelu(x[r, c] + b[c]) (tanh GELU) over x [rows, cols]: an MLP's bias + activation in one pass.
void bias_gelu(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, const float* b, float* y);
// dx = dy * gelu'(x + b), db[c] = sum over rows of dx[r, c] (db overwritten).
void bias_gelu_backward(ThreadPool& pool, int64_t rows, int64_t cols, const float* x, const float* b, const float* dy,
                        float* dx, float* db);
}  // namespace cpu

namespace cuda {
void unary(void* stream, UnaryOp op, int64_t n, const float* x, float* y);
void unary_backward(void* stream, UnaryOp op, int64_t n, const float* x, const float* y, const float* dy, float* dx);
void affine(void* stream, int64_t n, const float* x, float alpha, float beta, float* y);
void binary(void* stream, BinaryOp op, int64_t na, int64_t nb, const float* a, const float* b, float* out);
void axpy(void* stream, int64_t n, float alpha, const float* src, float* dst);
void sum_rows(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
void sum_last(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
void expand_last(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y);
void sum_squares(void* stream, int64_t n, const float* x, float* y);
void permute(void* stream, int rank, const int64_t* shape, const int* perm, const float* x, float* y);
void copy_axis(void* stream, int64_t outer, int64_t inner, int64_t len, const float* src, int64_t src_dim,
               int64_t src_off, float* dst, int64_t dst_dim, int64_t dst_off);
void fill(void* stream, int64_t n, float value, float* x);
void bias_gelu(void* stream, int64_t rows, int64_t cols, const float* x, const float* b, float* y);
void bias_gelu_backward(void* stream, int64_t rows, int64_t cols, const float* x, const float* b, const float* dy,
                        float* dx, float* db);
}  // namespace cuda

}  // namespace echogen
