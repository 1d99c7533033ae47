// CUDA box kernels: pairwise IoU/GIoU over 32x32 output tiles, and the fused cycle reward with
// one warp per layout. Both check their inputs on the device and raise flags that the launcher
// reads back (the one synchronisation of these ops).
#include "common/box.h"
#include "cuda/support.cuh"
#include "echogen/boxes.h"

namespace echogen::cuda {

namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr unsigned kNoFault = 0xffffffffu;  // flags hold the smallest bad index, or this
constexpr int kTile = 32;                   // box_iou: output tile side (rows of a x columns of b)
constexpr int kTileRows = 8;                // box_iou: threadIdx.y extent; each thread does kTile/kTileRows rows
constexpr int kWarpsPerBlock = 4;           // cycle_reward: layouts per block

__device__ __forceinline__ BoxF to_box(float4 v) { return BoxF{v.x, v.y, v.z, v.w}; }
__device__ __forceinline__ void raise_fault(unsigned* flag, long long index) { atomicMin(flag, static_cast<unsigned>(index)); }


// v1: one block per 32x32 output tile (a 1-D grid, so neither N nor M is limited by gridDim.y).
// The 32 row boxes sit in shared memory and are read as broadcasts; each thread keeps its column
// box in registers and writes kTile/kTileRows rows, every warp store a coalesced 128-byte segment.
// Blocks in tile column 0 check the row boxes, blocks in tile row 0 the column boxes, so every
// box is checked once.
template <bool Giou>
__global__ void box_iou_kernel(const float4* __restrict__ a, int n, const float4* __restrict__ b, int m,
                               int col_tiles, float* __restrict__ out, unsigned* __restrict__ flags) {
  __shared__ BoxF sa[kTile];
  __shared__ float sarea[kTile];
  const int tile_row = blockIdx.x / col_tiles, tile_col = blockIdx.x % col_tiles;
  const int row0 = tile_row * kTile, j = tile_col * kTile + threadIdx.x;
  if (threadIdx.y == 0) {
    int i = row0 + threadIdx.x;
    if (i < n) {
      BoxF box = to_box(a[i]);
      sa[threadIdx.x] = box;
      sarea[threadIdx.x] = box_area(box);
      if (tile_col == 0 && !box_valid(box)) raise_fault(&flags[0], i);
    }
  }
  BoxF bj{0.f, 0.f, 0.f, 0.f};
  float area_j = 0.f;
  if (j < m) {
    bj = to_box(b[j]);
    area_j = box_area(bj);
    if (tile_row == 0 && threadIdx.y == 0 && !box_valid(bj)) raise_fault(&flags[1], j);
  }
  __syncthreads();
  if (j >= m) return;
  for (int r = threadIdx.y; r < kTile && row0 + r < n; r += kTileRows) {
    float v = Giou ? box_giou_areas(sa[r], bj, sarea[r], area_j) : box_iou_areas(sa[r], bj, sarea[r], area_j);
    out[static_cast<size_t>(row0 + r) * m + j] = v;
  }
}

// v1: one warp per layout b. Lanes walk the layout's G*N (sample, object) pairs in order, so pred
// loads (float4) and iou stores are coalesced whatever N is; a segmented warp scan sums each
// sample's objects and the segment's last lane accumulates them into reward/advantage, which
// serve as scratch until the group pass (lanes over g, shuffle reductions) overwrites them.
__global__ void cycle_reward_kernel(const float4* __restrict__ pred, const float4* __restrict__ target,
                                    const float* __restrict__ mask, int B, int G, int N, RewardOptions opt,
                                    float* __restrict__ reward, float* __restrict__ advantage,
                                    float* __restrict__ iou, unsigned* __restrict__ flags) {
  const int lane = threadIdx.x & 31;
  const int b = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
  if (b >= B) return;  // the whole warp leaves together
  const long long GN = static_cast<long long>(G) * N, pbase = b * GN, tbase = static_cast<long long>(b) * N;
  float* si = reward + static_cast<long long>(b) * G;     // per-sample IoU sums, then rewards
  float* sl = advantage + static_cast<long long>(b) * G;  // per-sample L1 sums, then advantages

  // pass 1: this layout's targets and mask: check them, count the real objects
  float count = 0.f;
  for (int n = lane; n < N; n += 32) {
    if (!box_valid(to_box(target[tbase + n]))) raise_fault(&flags[1], tbase + n);
    float mv = mask ? mask[tbase + n] : 1.f;
    if (mv != 0.f && mv != 1.f) raise_fault(&flags[2], tbase + n);
    count += mv;
  }
  count = warp_sum(count);

  // pass 2: matched IoU and L1 of every (g, n), summed per sample g
  for (long long base = 0; base < GN; base += 32) {
    const long long i = base + lane;
    const bool live = i < GN;
    const int g = live ? static_cast<int>(i / N) : -1;
    const int n = live ? static_cast<int>(i - static_cast<long long>(g) * N) : 0;
    float vi = 0.f, vl = 0.f;
    if (live) {
      BoxF p = to_box(pred[pbase + i]);
      if (!box_valid(p)) raise_fault(&flags[0], pbase + i);
      BoxF t = to_box(target[tbase + n]);  // the same few targets for every g: L1-cache hits
      if (!mask || mask[tbase + n] != 0.f) {
        vi = box_iou(p, t);
        vl = box_l1(p, t);
      }
      iou[pbase + i] = vi;
    }
    // inclusive scan within runs of equal g (a sample's objects are adjacent lanes)
    for (int o = 1; o < 32; o <<= 1) {
      float ui = __shfl_up_sync(kFull, vi, o), ul = __shfl_up_sync(kFull, vl, o);
      int go = __shfl_up_sync(kFull, g, o);
      if (lane >= o && go == g) vi += ui, vl += ul;
    }
    const int g_next = __shfl_down_sync(kFull, g, 1);
    if (live && (lane == 31 || g_next != g)) {
      if (static_cast<long long>(g) * N >= base) {  // the sample starts in this chunk: first write
        si[g] = vi;
        sl[g] = vl;
      } else {
        si[g] += vi;
        sl[g] += vl;
      }
    }
    __syncwarp();  // orders these scratch writes before other lanes read them
  }

  // pass 3: rewards, then the group's mean, unbiased std and advantages (in double, as on the CPU:
  // f32 sums of rewards near f32's max overflowed and gave NaN advantages)
  double sum = 0.0;
  float lo = INFINITY, hi = -INFINITY;
  for (int g = lane; g < G; g += 32) {
    float r = box_reward(N ? si[g] : 0.f, N ? sl[g] : 0.f, count, opt.iou_weight, opt.l1_weight);
    si[g] = r;
    sum += r;
    lo = fminf(lo, r);
    hi = fmaxf(hi, r);
  }
  const double mean = warp_sum(sum) / static_cast<double>(G);
  lo = warp_min(lo);
  hi = warp_max(hi);
  double ss = 0.0;
  for (int g = lane; g < G; g += 32) ss += (si[g] - mean) * (si[g] - mean);
  ss = warp_sum(ss);
  const double denom = G > 1 ? sqrt(ss / static_cast<double>(G - 1)) + opt.eps : 0.0;
  const bool flat = G < 2 || lo == hi || !(denom > 0.0);  // equal rewards: exactly 0, not noise / eps
  for (int g = lane; g < G; g += 32) sl[g] = flat ? 0.f : static_cast<float>((si[g] - mean) / denom);
}

// Three device flags for one call, set to "no fault"; read() waits for the stream.
class FaultFlags {
 public:
  explicit FaultFlags(cudaStream_t s) : s_(s) {
    EG_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&d_), 3 * sizeof(unsigned), s_));
    EG_CUDA_CHECK(cudaMemsetAsync(d_, 0xff, 3 * sizeof(unsigned), s_));
  }
  ~FaultFlags() { cudaFreeAsync(d_, s_); }
  FaultFlags(const FaultFlags&) = delete;
  FaultFlags& operator=(const FaultFlags&) = delete;
  unsigned* get() const { return d_; }
  BoxFault read() const {
    unsigned h[3];
    EG_CUDA_CHECK(cudaMemcpyAsync(h, d_, sizeof h, cudaMemcpyDeviceToHost, s_));
    EG_CUDA_CHECK(cudaStreamSynchronize(s_));
    BoxFault f;
    for (int k = 0; k < 3; ++k) f.bad[k] = h[k] == kNoFault ? -1 : static_cast<int64_t>(h[k]);
    return f;
  }

 private:
  cudaStream_t s_;
  unsigned* d_ = nullptr;
};

}  // namespace

BoxFault box_iou(void* stream, const float* a, int64_t n, const float* b, int64_t m, BoxKind kind, float* out) {
  cudaStream_t s = as_stream(stream);
  FaultFlags flags(s);
  // at least one tile each way, so a side's boxes are still checked when the other side is empty
  const long long row_tiles = n ? ceil_div(n, kTile) : 1, col_tiles = m ? ceil_div(m, kTile) : 1;
  const dim3 block(kTile, kTileRows);
  const auto* a4 = reinterpret_cast<const float4*>(a);
  const auto* b4 = reinterpret_cast<const float4*>(b);
  const unsigned grid = static_cast<unsigned>(row_tiles * col_tiles);
  if (kind == BoxKind::GIoU)
    box_iou_kernel<true><<<grid, block, 0, s>>>(a4, static_cast<int>(n), b4, static_cast<int>(m), static_cast<int>(col_tiles), out, flags.get());
  else
    box_iou_kernel<false><<<grid, block, 0, s>>>(a4, static_cast<int>(n), b4, static_cast<int>(m), static_cast<int>(col_tiles), out, flags.get());
  check_launch("box_iou_kernel");
  return flags.read();
}

BoxFault cycle_reward(void* stream, const float* pred, const float* target, const float* mask, int64_t B, int64_t G,
                      int64_t N, RewardOptions opt, float* reward, float* advantage, float* iou) {
  cudaStream_t s = as_stream(stream);
  FaultFlags flags(s);
  if (B > 0) {
    cycle_reward_kernel<<<ceil_div(B, kWarpsPerBlock), kWarpsPerBlock * 32, 0, s>>>(
        reinterpret_cast<const float4*>(pred), reinterpret_cast<const float4*>(target), mask, static_cast<int>(B),
        static_cast<int>(G), static_cast<int>(N), opt, reward, advantage, iou, flags.get());
    check_launch("cycle_reward_kernel");
  }
  return flags.read();
}

}  // namespace echogen::cuda
