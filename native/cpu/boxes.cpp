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

// The first index i in [0, n) for which bad(i) holds, or -1; scanned in parallel.
template <typename Bad>
int64_t first_bad(ThreadPool& pool, int64_t n, const Bad& bad) {
  std::atomic<int64_t> first{n};
  pool.parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end && i < first.load(std::memory_order_relaxed); ++i) {
      if (!bad(i)) continue;
      int64_t seen = first.load();
      while (i < seen && !first.compare_exchange_weak(seen, i)) {}
      return;
    }
  });
  return first.load() < n ? first.load() : -1;
}

int64_t first_invalid_box(ThreadPool& pool, const float* boxes, int64_t n) {
  return first_bad(pool, n, [boxes](int64_t i) { return !box_valid(load_box(boxes + 4 * i)); });
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
// rewards are all equal, gets exactly 0 (not rounding noise divided by eps).
void group_advantage(const float* reward, int64_t G, float eps, float* advantage) {
  float sum = 0.f, lo = reward[0], hi = reward[0];
  for (int64_t g = 0; g < G; ++g) {
    sum += reward[g];
    lo = std::min(lo, reward[g]);
    hi = std::max(hi, reward[g]);
  }
  float mean = sum / static_cast<float>(G), ss = 0.f;
  for (int64_t g = 0; g < G; ++g) ss += (reward[g] - mean) * (reward[g] - mean);
  float denom = G > 1 ? std::sqrt(ss / static_cast<float>(G - 1)) + eps : 0.f;
  bool flat = G < 2 || lo == hi || !(denom > 0.f);
  for (int64_t g = 0; g < G; ++g) advantage[g] = flat ? 0.f : (reward[g] - mean) / denom;
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
  if (mask) fault.bad[2] = first_bad(pool, B * N, [mask](int64_t i) { return mask[i] != 0.f && mask[i] != 1.f; });
  if (fault.any() || B == 0 || G == 0) return fault;
  int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, G * N));
  pool.parallel_for(B, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const float* m = mask ? mask + b * N : nullptr;
      float count = 0.f;
      for (int64_t n = 0; n < N; ++n) count += m ? m[n] : 1.f;
      for (int64_t g = 0; g < G; ++g) {
        const float* p = pred + (b * G + g) * N * 4;
        float* iou_row = iou + (b * G + g) * N;
        float iou_sum = 0.f, l1_sum = 0.f;
        for (int64_t n = 0; n < N; ++n) {
          bool real = !m || m[n] != 0.f;
          BoxF pb = load_box(p + 4 * n), tb = load_box(target + (b * N + n) * 4);
          float v = real ? box_iou(pb, tb) : 0.f;
          iou_row[n] = v;
          iou_sum += v;
          l1_sum += real ? box_l1(pb, tb) : 0.f;
        }
        reward[b * G + g] = box_reward(iou_sum, l1_sum, count, opt.iou_weight, opt.l1_weight);
      }
      group_advantage(reward + b * G, G, opt.eps, advantage + b * G);
    }
  });
  return fault;
}

}  // namespace echogen::cpu
