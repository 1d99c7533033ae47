// Layer norm and (log-)softmax over the last dimension on the GPU: one block per row (its size picked
// from the row length), block-wide reductions through shuffles. The layer-norm parameter gradients are
// column sums, done as a deterministic two-pass reduction (no atomics).
#include <algorithm>

#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/elementwise.h"
#include "echogen/norm.h"

namespace echogen::cuda {

namespace {

int row_threads(int64_t d) { return d <= 64 ? 32 : d <= 512 ? 128 : 256; }

__global__ void layer_norm_kernel(int64_t d, const float* __restrict__ x, const float* __restrict__ gamma,
                                  const float* __restrict__ beta, float eps, float* __restrict__ y,
                                  float* __restrict__ mean, float* __restrict__ rstd) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * d;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
  const float mu = block_sum(s, scratch) / d;
  float v = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) v += (xr[j] - mu) * (xr[j] - mu);
  const float rs = rsqrtf(block_sum(v, scratch) / d + eps);
  float* yr = y + r * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = (xr[j] - mu) * rs * gamma[j] + beta[j];
  if (threadIdx.x == 0) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

__global__ void layer_norm_dx_kernel(int64_t d, const float* __restrict__ dy, const float* __restrict__ x,
                                     const float* __restrict__ gamma, const float* __restrict__ mean,
                                     const float* __restrict__ rstd, float* __restrict__ dx) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * d;
  const float* gr = dy + r * d;
  const float m = mean[r], rs = rstd[r];
  float s1 = 0.f, s2 = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    const float dxh = gr[j] * gamma[j];
    s1 += dxh;
    s2 += dxh * (xr[j] - m) * rs;
  }
  const float a1 = block_sum(s1, scratch) / d, a2 = block_sum(s2, scratch) / d;
  float* dr = dx + r * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dr[j] = rs * (gr[j] * gamma[j] - a1 - (xr[j] - m) * rs * a2);
}

constexpr int kColTile = 32, kRowThreads = 16;

// Partial column sums of dy * xhat and dy over a range of rows: part[y, c] and part[parts + y, c].
__global__ void layer_norm_param_kernel(int64_t rows, int64_t d, int64_t rows_per, const float* __restrict__ dy,
                                        const float* __restrict__ x, const float* __restrict__ mean,
                                        const float* __restrict__ rstd, float* __restrict__ part) {
  __shared__ float pg[kRowThreads][kColTile + 1], pb[kRowThreads][kColTile + 1];
  const int64_t c = blockIdx.x * static_cast<int64_t>(kColTile) + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per, r1 = min(rows, r0 + rows_per);
  float sg = 0.f, sb = 0.f;
  if (c < d)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowThreads) {
      const float g = dy[r * d + c];
      sg += g * (x[r * d + c] - mean[r]) * rstd[r];
      sb += g;
    }
  pg[threadIdx.y][threadIdx.x] = sg;
  pb[threadIdx.y][threadIdx.x] = sb;
  __syncthreads();
  if (threadIdx.y == 0 && c < d) {
    float tg = 0.f, tb = 0.f;
#pragma unroll
    for (int i = 0; i < kRowThreads; ++i) {
      tg += pg[i][threadIdx.x];
      tb += pb[i][threadIdx.x];
    }
    part[blockIdx.y * d + c] = tg;
    part[(gridDim.y + blockIdx.y) * d + c] = tb;
  }
}

__global__ void softmax_kernel(int64_t d, const float* __restrict__ x, bool log, float* __restrict__ y) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * d;
  float* yr = y + r * d;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) mx = fmaxf(mx, xr[j]);
  mx = block_max(mx, scratch);
  if (mx == -INFINITY) {  // nothing to normalise over
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = log ? -INFINITY : 0.f;
    return;
  }
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += expf(xr[j] - mx);
  s = block_sum(s, scratch);
  if (log) {
    const float lse = mx + logf(s);
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = xr[j] - lse;
  } else {
    const float inv = 1.f / s;
    for (int64_t j = threadIdx.x; j < d; j += blockDim.x) yr[j] = expf(xr[j] - mx) * inv;
  }
}

__global__ void softmax_backward_kernel(int64_t d, const float* __restrict__ y, const float* __restrict__ dy, bool log,
                                        float* __restrict__ dx) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* yr = y + r * d;
  const float* gr = dy + r * d;
  float* dr = dx + r * d;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) s += log ? gr[j] : gr[j] * yr[j];
  s = block_sum(s, scratch);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dr[j] = log ? gr[j] - expf(yr[j]) * s : yr[j] * (gr[j] - s);
}

}  // namespace

void layer_norm(void* stream, int64_t rows, int64_t d, const float* x, const float* gamma, const float* beta, float eps,
                float* y, float* mean, float* rstd) {
  if (rows <= 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), row_threads(d), 0, as_stream(stream)>>>(d, x, gamma, beta, eps, y, mean, rstd);
  check_launch("layer_norm_kernel");
}

void layer_norm_backward(void* stream, int64_t rows, int64_t d, const float* dy, const float* x, const float* gamma,
                         const float* mean, const float* rstd, float* dx, float* dgamma, float* dbeta) {
  cudaStream_t s = as_stream(stream);
  if (rows > 0) {
    layer_norm_dx_kernel<<<static_cast<unsigned>(rows), row_threads(d), 0, s>>>(d, dy, x, gamma, mean, rstd, dx);
    check_launch("layer_norm_dx_kernel");
  }
  if (d <= 0) return;  // dgamma, dbeta are empty (a grid of 0 blocks would be a launch error)
  const int64_t rows_per = std::max<int64_t>(256, (rows + 65534) / 65535);
  const int64_t parts = std::max<int64_t>(1, (rows + rows_per - 1) / rows_per);
  Scratch part(static_cast<size_t>(2 * parts * d), s);
  layer_norm_param_kernel<<<dim3(ceil_div(d, kColTile), static_cast<unsigned>(parts)), dim3(kColTile, kRowThreads), 0, s>>>(
      rows, d, rows_per, dy, x, mean, rstd, part.p);
  check_launch("layer_norm_param_kernel");
  sum_rows(stream, parts, d, part.p, 1.f, dgamma);
  sum_rows(stream, parts, d, part.p + parts * d, 1.f, dbeta);
}

void softmax(void* stream, int64_t rows, int64_t d, const float* x, bool log, float* y) {
  if (rows <= 0) return;
  softmax_kernel<<<static_cast<unsigned>(rows), row_threads(d), 0, as_stream(stream)>>>(d, x, log, y);
  check_launch("softmax_kernel");
}

void softmax_backward(void* stream, int64_t rows, int64_t d, const float* y, const float* dy, bool log, float* dx) {
  if (rows <= 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(rows), row_threads(d), 0, as_stream(stream)>>>(d, y, dy, log, dx);
  check_launch("softmax_backward_kernel");
}

}  // namespace echogen::cuda
