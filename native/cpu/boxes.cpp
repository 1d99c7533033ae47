// CPU box kernels: pairwise IoU/GIoU threaded over rows with a vectorised inner loop over
// columns, and the fused cycle reward threaded over layouts.
#include "echogen/boxes.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "common/box.h"

namespace echogen::cpu {

namespace {

inline BoxF load_box(const float* p) { return BoxF{p[0], p[1], p[2], p[3]}; }

// The smallest index that `scan(begin, end)` (the first bad index in [begin, end), or -1) finds
// over [0, n), scanned in parallel blocks of `block`; -1 if none.
template <typename Scan>
int64_t first_bad_block(ThreadPool& pool, int64_t n, int64_t block, const Scan& scan) {
  std::atomic<int64_t> first{n};
  const int64_t blocks = (n + block - 1) / block;
  pool.parallel_for(blocks, 64, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end && k * block < first.load(std::memory_order_relaxed); ++k) {
      int64_t i = scan(k * block, std::min(n, (k + 1) * block));
      if (i < 0) continue;
      int64_t seen = first.load();
      while (i < seen && !first.compare_exchange_weak(seen, i)) {}
      return;
    }
  });
  return first.load() < n ? first.load() : -1;
}

// Boxes are checked in blocks: a branch-free all-valid test that vectorises, and an exact search
// for the index only in a block that fails it.
int64_t first_invalid_box(ThreadPool& pool, const float* boxes, int64_t n) {
  constexpr int64_t kBlock = 256;
  return first_bad_block(pool, n, kBlock, [boxes](int64_t begin, int64_t end) {
    int ok = 1;  // an int, not a bool: GCC vectorises the int reduction only
    for (int64_t i = begin; i < end; ++i) {
      ok &= static_cast<int>(box_valid(load_box(boxes + 4 * i)));
    }
    if (ok) return int64_t{-1};
    for (int64_t i = begin; i < end; ++i)
      if (!box_valid(load_box(boxes + 4 * i))) return i;
    return int64_t{-1};
  });
}

// One output row: box `a` against every column box, held as structure-of-arrays so the loop
// compiles to 8-wide AVX2 (min/max/div/blend), no gathers.
template <bool Giou>
void iou_row(BoxF a, float area_a, const float* __restrict x1, const float* __restrict y1, const float* __restrict x2,
             const float* __restrict y2, const float* __restrict area, int64_t m, float* __restrict out) {
  for (int64_t j = 0; j < m; ++j) {
    BoxF b{x1[j], y1[j], x2[j], y2[j]};
    out[j] = Giou ? box_giou_areas(a, b, area_a, area[j]) : box_iou_areas(a, b, area_a, area[j]);
  }
}

// GRPO advantage of one group: (r - mean) / (unbiased std + eps). A group of one, or one whose
// rewards are all equal, gets exactly 0 (not rounding noise divided by eps). Mean and variance in
// double (as on the GPU): f32 sums of rewards near f32's max overflowed to inf and gave NaN.
void group_advantage(const float* reward, int64_t G, float eps, float* advantage) {
  double sum = 0.0;
  float lo = reward[0], hi = reward[0];
  for (int64_t g = 0; g < G; ++g) {
    sum += reward[g];
    lo = std::min(lo, reward[g]);
    hi = std::max(hi, reward[g]);
  }
  double mean = sum / static_cast<double>(G), ss = 0.0;
  for (int64_t g = 0; g < G; ++g) ss += (reward[g] - mean) * (reward[g] - mean);
  double denom = G > 1 ? std::sqrt(ss / static_cast<double>(G - 1)) + eps : 0.0;
  bool flat = G < 2 || lo == hi || !(denom > 0.0);
  for (int64_t g = 0; g < G; ++g) advantage[g] = flat ? 0.f : static_cast<float>((reward[g] - mean) / denom);
}


struct LayoutScratch {
  std::vector<float> target, mask, l1;  // [G*N*4], [G*N], [G*N]
  explicit LayoutScratch(int64_t gn) : target(static_cast<size_t>(4 * gn)), mask(static_cast<size_t>(gn)), l1(static_cast<size_t>(gn)) {}
};

// One layout. The G*N (sample, object) pairs are one flat loop, with the layout's targets and
// mask repeated per sample in scratch so every access is a unit-stride stream the compiler
// vectorises; then per-sample sums (short, in order), rewards and the group's advantages.
void reward_layout(const float* __restrict pred, const float* target, const float* mask, int64_t G, int64_t N,
                   RewardOptions opt, float* reward, float* advantage, float* __restrict iou, LayoutScratch& s) {
  float count = 0.f;
  for (int64_t n = 0; n < N; ++n) count += mask ? mask[n] : 1.f;
  for (int64_t g = 0; g < G; ++g) {
    std::copy_n(target, 4 * N, s.target.data() + g * N * 4);
    if (mask) std::copy_n(mask, N, s.mask.data() + g * N);
    else std::fill_n(s.mask.data() + g * N, N, 1.f);
  }
  const float *__restrict tt = s.target.data(), *__restrict mt = s.mask.data();
  float* __restrict l1 = s.l1.data();
  for (int64_t i = 0; i < G * N; ++i) {
    BoxF p{pred[4 * i], pred[4 * i + 1], pred[4 * i + 2], pred[4 * i + 3]};
    BoxF t{tt[4 * i], tt[4 * i + 1], tt[4 * i + 2], tt[4 * i + 3]};
    // the mask is 0 or 1 (checked), so a product selects; unlike a select it vectorises. IoU is
    // in [0,1] and L1 is clamped to finite, so 0 * x is exactly 0, as on the GPU.
    iou[i] = mt[i] * box_iou(p, t);
    l1[i] = mt[i] * box_min(box_l1(p, t), 3.402823466e38f);
  }
  for (int64_t g = 0; g < G; ++g) {
    float iou_sum = 0.f, l1_sum = 0.f;
    for (int64_t n = 0; n < N; ++n) iou_sum += iou[g * N + n], l1_sum += l1[g * N + n];
    reward[g] = box_reward(iou_sum, l1_sum, count, opt.iou_weight, opt.l1_weight);
  }
  group_advantage(reward, G, opt.eps, advantage);
}

}  // namespace

BoxFault box_iou(ThreadPool& pool, const float* a, int64_t n, const float* b, int64_t m, BoxKind kind, float* out) {
  BoxFault fault;
  fault.bad[0] = first_invalid_box(pool, a, n);
  fault.bad[1] = first_invalid_box(pool, b, m);
  if (fault.any() || n == 0 || m == 0) return fault;
  std::vector<float> soa(static_cast<size_t>(5 * m));
  float *x1 = soa.data(), *y1 = x1 + m, *x2 = y1 + m, *y2 = x2 + m, *area = y2 + m;
  for (int64_t j = 0; j < m; ++j) {
    BoxF bj = load_box(b + 4 * j);
    x1[j] = bj.x1, y1[j] = bj.y1, x2[j] = bj.x2, y2[j] = bj.y2, area[j] = box_area(bj);
  }
  int64_t grain = std::max<int64_t>(1, 16384 / m);  // ~16k pairs per chunk amortises the hand-off
  pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      BoxF ai = load_box(a + 4 * i);
      if (kind == BoxKind::GIoU)
        iou_row<true>(ai, box_area(ai), x1, y1, x2, y2, area, m, out + i * m);
      else
        iou_row<false>(ai, box_area(ai), x1, y1, x2, y2, area, m, out + i * m);
    }
  });
  return fault;
}

BoxFault cycle_reward(ThreadPool& pool, const float* pred, const float* target, const float* mask, int64_t B,
                      int64_t G, int64_t N, RewardOptions opt, float* reward, float* advantage, float* iou) {
  BoxFault fault;
  fault.bad[0] = first_invalid_box(pool, pred, B * G * N);
  fault.bad[1] = first_invalid_box(pool, target, B * N);
  if (mask)
    fault.bad[2] = first_bad_block(pool, B * N, 1024, [mask](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        if (mask[i] != 0.f && mask[i] != 1.f) return i;
      return int64_t{-1};
    });
  if (fault.any() || B == 0 || G == 0) return fault;
  const int64_t GN = G * N;
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, GN));
  pool.parallel_for(B, grain, [&](int64_t begin, int64_t end) {
    LayoutScratch scratch(GN);
    for (int64_t b = begin; b < end; ++b)
      reward_layout(pred + b * GN * 4, target + b * N * 4, mask ? mask + b * N : nullptr, G, N, opt, reward + b * G,
                    advantage + b * G, iou + b * GN, scratch);
  });
  return fault;
}

}  // namespace echogen::cpu
