// The box op family: pairwise IoU/GIoU and the fused cycle reward (matched IoU, L1, reward,
// group mean/std and GRPO advantage). Plain functions on raw pointers; boxes are xyxy f32.
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

enum class BoxKind : int32_t { IoU = 0, GIoU = 1 };

// What the kernels found wrong with their inputs. Each entry is the flat index of the first
// offending box (or mask element) of that input, or -1. When any entry is set the outputs are
// unspecified and the caller reports the error.
//   box_iou:      bad[0] = a, bad[1] = b
//   cycle_reward: bad[0] = pred, bad[1] = target, bad[2] = mask (an entry other than 0 or 1)
struct BoxFault {
  int64_t bad[3] = {-1, -1, -1};
  bool any() const { return bad[0] >= 0 || bad[1] >= 0 || bad[2] >= 0; }
};

struct RewardOptions {
  float iou_weight = 1.f;
  float l1_weight = 1.f;
  float eps = 1e-4f;
};

namespace cpu {
// a [n,4], b [m,4] -> out [n,m]. Validates every box before any work.
BoxFault box_iou(ThreadPool& pool, const float* a, int64_t n, const float* b, int64_t m, BoxKind kind, float* out);
// pred [B,G,N,4], target [B,N,4], mask [B,N] or nullptr (all ones) -> reward [B,G],
// advantage [B,G], iou [B,G,N] (0 where mask is 0). Validates every input before any work.
BoxFault cycle_reward(ThreadPool& pool, const float* pred, const float* target, const float* mask, int64_t B,
                      int64_t G, int64_t N, RewardOptions opt, float* reward, float* advantage, float* iou);
}  // namespace cpu

namespace cuda {
// Same contracts on device pointers. The kernels check their inputs on the device and raise an
// error flag; reading the flag back waits for the stream, so these two calls are synchronous.
BoxFault box_iou(void* stream, const float* a, int64_t n, const float* b, int64_t m, BoxKind kind, float* out);
BoxFault cycle_reward(void* stream, const float* pred, const float* target, const float* mask, int64_t B, int64_t G,
                      int64_t N, RewardOptions opt, float* reward, float* advantage, float* iou);
}  // namespace cuda

}  // namespace echogen
