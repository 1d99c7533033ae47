// Box geometry shared by the CPU and CUDA box kernels, so both backends do the same f32 math.
// Boxes are xyxy. A box is valid when every coordinate is finite, x1 <= x2 and y1 <= y2;
// zero width or height is allowed (such a box has area 0).
#pragma once
#include "common/hd.h"

namespace echogen {

struct BoxF {
  float x1, y1, x2, y2;
};

EG_HD float box_min(float a, float b) { return a < b ? a : b; }
EG_HD float box_max(float a, float b) { return a > b ? a : b; }
// Coordinates are held to |v| <= 2^62 (about 4.6e18): a width is then at most 2^63, an area or the
// enclosing box's area at most 2^126 and a union at most 2^127, all inside f32's range (~2^128).
// Larger finite coordinates overflowed an area to inf and IoU to inf/inf = NaN (coordinates of 1e19
// did), so they make a box invalid and the error says why. False for NaN and +-inf too; bitwise &
// (no short circuit) keeps the CPU's validity scan branch-free.
#define EG_BOX_COORD_MAX 4.611686018427387904e18f
EG_HD bool box_finite(float v) { return (v >= -EG_BOX_COORD_MAX) & (v <= EG_BOX_COORD_MAX); }

EG_HD bool box_valid(BoxF b) {
  return box_finite(b.x1) & box_finite(b.y1) & box_finite(b.x2) & box_finite(b.y2) & (b.x1 <= b.x2) & (b.y1 <= b.y2);
}

// A divisor that is 1 where x is 0 (x >= 0 here). Zero union implies zero intersection, so
// inter / box_nonzero(uni) gives the defined 0 without a branch; written arithmetically because
// GCC turns a select of the divisor back into a branch around a (trapping) division, and a loop
// with a branch does not vectorise.
EG_HD float box_nonzero(float x) { return x + static_cast<float>(x <= 0.f); }

EG_HD float box_area(BoxF b) { return (b.x2 - b.x1) * (b.y2 - b.y1); }

EG_HD float box_intersection(BoxF a, BoxF b) {
  float w = box_max(0.f, box_min(a.x2, b.x2) - box_max(a.x1, b.x1));
  float h = box_max(0.f, box_min(a.y2, b.y2) - box_max(a.y1, b.y1));
  return w * h;
}

// IoU from precomputed areas (the pairwise kernel computes each area once, not once per pair).
// A pair with zero union (both boxes of area 0) has IoU 0, never NaN.
EG_HD float box_iou_areas(BoxF a, BoxF b, float area_a, float area_b) {
  float inter = box_intersection(a, b);
  float uni = area_a + area_b - inter;
  return inter / box_nonzero(uni);
}

// GIoU = IoU - (C - U) / C with C the area of the smallest enclosing box. When C is 0 (both
// boxes degenerate and collinear, or the same point) the penalty term is undefined and taken as
// 0, so GIoU = IoU = 0. Clamped to [-1, 1], which f32 rounding could otherwise leave by an ulp.
EG_HD float box_giou_areas(BoxF a, BoxF b, float area_a, float area_b) {
  float inter = box_intersection(a, b);
  float uni = area_a + area_b - inter;
  float iou = inter / box_nonzero(uni);
  float c = (box_max(a.x2, b.x2) - box_min(a.x1, b.x1)) * (box_max(a.y2, b.y2) - box_min(a.y1, b.y1));
  // c == 0 forces uni == 0, so dividing by 1 leaves the penalty (c - uni) = 0 and GIoU = IoU = 0
  return box_max(-1.f, box_min(1.f, iou - (c - uni) / box_nonzero(c)));
}

EG_HD float box_iou(BoxF a, BoxF b) { return box_iou_areas(a, b, box_area(a), box_area(b)); }

// The mean absolute error of the four coordinates (the L1 term of the cycle reward).
EG_HD float box_l1(BoxF a, BoxF b) {
  float d0 = a.x1 - b.x1, d1 = a.y1 - b.y1, d2 = a.x2 - b.x2, d3 = a.y2 - b.y2;
  return 0.25f * ((d0 < 0.f ? -d0 : d0) + (d1 < 0.f ? -d1 : d1) + (d2 < 0.f ? -d2 : d2) + (d3 < 0.f ? -d3 : d3));
}

// The reward of one sample from its masked sums; a layout with no real object earns 0. Computed in
// double and saturated to f32's range: weights up to f32's max times sums of large L1 terms would
// otherwise give inf - inf = NaN, and an infinite reward a NaN advantage.
EG_HD float box_reward(float iou_sum, float l1_sum, float count, float iou_weight, float l1_weight) {
  if (!(count > 0.f)) return 0.f;
  double r = (static_cast<double>(iou_weight) * iou_sum - static_cast<double>(l1_weight) * l1_sum) / count;
  r = r < -3.4028234663852886e38 ? -3.4028234663852886e38 : r > 3.4028234663852886e38 ? 3.4028234663852886e38 : r;
  return static_cast<float>(r);
}

}  // namespace echogen
