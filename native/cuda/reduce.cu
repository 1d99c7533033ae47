// Reductions on the GPU. Every sum is a fixed tree (per-block partials written to scratch, then a
// second pass), never atomics, so results are deterministic run to run.
#include <algorithm>

#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/elementwise.h"

namespace echogen::cuda {

namespace {

constexpr int kColTile = 32, kRowThreads = 16;
constexpr int64_t kRowsPerBlock = 512;  // rows one block of sum_rows covers before partials are needed
constexpr int64_t kSumChunk = 1 << 16;  // columns one block of sum_last covers

// out[blockIdx.y * cols + c] = alpha * sum over rows [y*rows_per, (y+1)*rows_per) of x[r, c].
__global__ void column_sum_kernel(int64_t rows, int64_t cols, int64_t rows_per, const float* __restrict__ x,
                                  float alpha, float* __restrict__ out) {
  __shared__ float part[kRowThreads][kColTile + 1];
  const int64_t c = blockIdx.x * static_cast<int64_t>(kColTile) + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per, r1 = min(rows, r0 + rows_per);
  float s = 0.f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowThreads) s += x[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    float t = 0.f;
#pragma unroll
    for (int i = 0; i < kRowThreads; ++i) t += part[i][threadIdx.x];
    out[blockIdx.y * cols + c] = alpha * t;
  }
}

// Block i sums chunk (i % chunks) of row (i / chunks): y[i] = alpha * sum x[row, chunk].
__global__ void row_sum_kernel(int64_t cols, int64_t chunks, int64_t chunk, const float* __restrict__ x, float alpha,
                               float* __restrict__ y) {
  __shared__ float scratch[32];
  const int64_t i = blockIdx.x, r = i / chunks, c0 = (i % chunks) * chunk, c1 = min(cols, c0 + chunk);
  const float* xr = x + r * cols;
  float s = 0.f;
  for (int64_t j = c0 + threadIdx.x; j < c1; j += blockDim.x) s += xr[j];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) y[i] = alpha * s;
}

__global__ void row_sum_squares_kernel(int64_t n, int64_t chunk, const float* __restrict__ x, float* __restrict__ y) {
  __shared__ float scratch[32];
  const int64_t c0 = blockIdx.x * chunk, c1 = min(n, c0 + chunk);
  float s = 0.f;
  for (int64_t j = c0 + threadIdx.x; j < c1; j += blockDim.x) s += x[j] * x[j];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) y[blockIdx.x] = s;
}

__global__ void expand_last_kernel(int64_t rows, int64_t cols, const float* __restrict__ x, float alpha,
                                   float* __restrict__ y) {
  EG_GRID_LOOP(i, rows * cols) y[i] = alpha * x[i / cols];
}

void sum_last_launch(cudaStream_t s, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  const int64_t chunks = (cols + kSumChunk - 1) / kSumChunk;
  if (chunks <= 1) {
    row_sum_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(cols, 1, cols > 0 ? cols : 1, x, alpha, y);
    check_launch("row_sum_kernel");
    return;
  }
  Scratch part(static_cast<size_t>(rows * chunks), s);
  row_sum_kernel<<<static_cast<unsigned>(rows * chunks), 256, 0, s>>>(cols, chunks, kSumChunk, x, 1.f, part.p);
  check_launch("row_sum_kernel");
  sum_last_launch(s, rows, chunks, part.p, alpha, y);
}

}  // namespace

void sum_rows(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  if (cols <= 0) return;
  cudaStream_t s = as_stream(stream);
  const unsigned gx = ceil_div(cols, kColTile);
  // at most 65535 row parts (gridDim.y), each of at least kRowsPerBlock rows
  const int64_t rows_per = std::max<int64_t>(kRowsPerBlock, (rows + 65534) / 65535);
  const int64_t parts = rows > rows_per ? (rows + rows_per - 1) / rows_per : 1;
  const dim3 block(kColTile, kRowThreads);
  if (parts == 1) {
    column_sum_kernel<<<dim3(gx, 1), block, 0, s>>>(rows, cols, rows > 0 ? rows : 1, x, alpha, y);
    check_launch("column_sum_kernel");
    return;
  }
  Scratch part(static_cast<size_t>(parts * cols), s);
  column_sum_kernel<<<dim3(gx, static_cast<unsigned>(parts)), block, 0, s>>>(rows, cols, rows_per, x, 1.f, part.p);
  check_launch("column_sum_kernel");
  sum_rows(stream, parts, cols, part.p, alpha, y);
}

void sum_last(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  if (rows <= 0) return;
  sum_last_launch(as_stream(stream), rows, cols, x, alpha, y);
}

void expand_last(void* stream, int64_t rows, int64_t cols, const float* x, float alpha, float* y) {
  if (rows <= 0 || cols <= 0) return;
  expand_last_kernel<<<elementwise_blocks(rows * cols), 256, 0, as_stream(stream)>>>(rows, cols, x, alpha, y);
  check_launch("expand_last_kernel");
}

void sum_squares(void* stream, int64_t n, const float* x, float* y) {
  cudaStream_t s = as_stream(stream);
  const int64_t chunks = n > 0 ? (n + kSumChunk - 1) / kSumChunk : 1;
  Scratch part(static_cast<size_t>(chunks), s);
  row_sum_squares_kernel<<<static_cast<unsigned>(chunks), 256, 0, s>>>(n, kSumChunk, x, part.p);
  check_launch("row_sum_squares_kernel");
  sum_last_launch(s, 1, chunks, part.p, 1.f, y);
}

}  // namespace echogen::cuda
