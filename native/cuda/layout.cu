// Layout copies on the GPU: permute (one thread per output element, index arithmetic over at most
// kMaxRank dims) and the axis block copy behind slice and concat.
#include "cuda/common.cuh"
#include "cuda/support.cuh"
#include "echogen/elementwise.h"

namespace echogen::cuda {

namespace {

struct PermuteDims {
  int rank;
  int64_t out_shape[kMaxRank];
  int64_t src_stride[kMaxRank];
};

__global__ void permute_kernel(PermuteDims p, int64_t total, const float* __restrict__ x, float* __restrict__ y) {
  EG_GRID_LOOP(i, total) {
    int64_t rem = i, src = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rem % p.out_shape[d]) * p.src_stride[d];
      rem /= p.out_shape[d];
    }
    y[i] = x[src];
  }
}

__global__ void copy_axis_kernel(int64_t outer, int64_t block, const float* __restrict__ src, int64_t src_pitch,
                                 int64_t src_start, float* __restrict__ dst, int64_t dst_pitch, int64_t dst_start) {
  EG_GRID_LOOP(i, outer * block) {
    const int64_t o = i / block, j = i % block;
    dst[o * dst_pitch + dst_start + j] = src[o * src_pitch + src_start + j];
  }
}

}  // namespace

void permute(void* stream, int rank, const int64_t* shape, const int* perm, const float* x, float* y) {
  PermuteDims p;
  p.rank = rank;
  int64_t in_stride[kMaxRank], s = 1, total = 1;
  for (int i = rank - 1; i >= 0; --i) { in_stride[i] = s; s *= shape[i]; }
  for (int i = 0; i < rank; ++i) {
    p.out_shape[i] = shape[perm[i]];
    p.src_stride[i] = in_stride[perm[i]];
    total *= p.out_shape[i];
  }
  if (total <= 0) return;
  permute_kernel<<<elementwise_blocks(total), 256, 0, as_stream(stream)>>>(p, total, x, y);
  check_launch("permute_kernel");
}

void copy_axis(void* stream, int64_t outer, int64_t inner, int64_t len, const float* src, int64_t src_dim,
               int64_t src_off, float* dst, int64_t dst_dim, int64_t dst_off) {
  const int64_t block = len * inner;
  if (outer <= 0 || block <= 0) return;
  copy_axis_kernel<<<elementwise_blocks(outer * block), 256, 0, as_stream(stream)>>>(
      outer, block, src, src_dim * inner, src_off * inner, dst, dst_dim * inner, dst_off * inner);
  check_launch("copy_axis_kernel");
}

}  // namespace echogen::cuda
