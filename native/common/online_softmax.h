// The online-softmax update of one attention row, shared by the CPU and CUDA kernels so both
// treat empty rows and -inf the same way. Everything is in base 2: the kernels fold log2(e)
// into the score scale, so exp2 (one instruction on the GPU, a short polynomial on the CPU)
// replaces exp.
//
// State of a row after some key tiles: m = the largest visible score so far (-inf while no key
// was visible), l = sum of exp2(s - m) over the visible scores, acc = sum of exp2(s - m) * v.
#pragma once
#include <cmath>
#include <limits>

#include "common/hd.h"

namespace echogen {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

EG_HD float os_neg_inf() { return -INFINITY; }

// A new tile's largest visible score arrives: updates m and returns the factor that rescales
// l and acc (exp2(m_old - m_new); 1 while nothing was visible, 0 at the first visible tile).
EG_HD float online_softmax_rescale(float& m, float tile_max) {
  float m_new = fmaxf(m, tile_max);
  if (m_new == -INFINITY) return 1.f;
  float alpha = exp2f(m - m_new);
  m = m_new;
  return alpha;
}

// What the tile's scores are measured from: p = exp2(s - pivot). A row with nothing visible
// yet uses 0 so -inf - -inf never makes a NaN (every p of such a row is exp2(-inf) = 0).
EG_HD float online_softmax_pivot(float m) { return m == -INFINITY ? 0.f : m; }

// The natural-log sum of exp of the (unscaled-by-log2e) scores; -inf for a row with no key, +inf
// for a row where a scaled score overflowed f32 to +inf (m = +inf; its l is NaN): such a row's
// softmax is not representable, and it must not pass for a row that sees nothing.
EG_HD float online_softmax_lse(float m, float l) {
  return m == INFINITY ? INFINITY : l > 0.f ? (m + log2f(l)) * kLn2 : -INFINITY;
}

// 1/l for the final normalisation; 0 for an empty row so its output is 0, never NaN; NaN for a
// row whose scores overflowed (see above), so its output says so instead of reading as 0.
EG_HD float online_softmax_inv_sum(float m, float l) {
  return m == INFINITY ? std::numeric_limits<float>::quiet_NaN() : l > 0.f ? 1.f / l : 0.f;
}

// The backward's pivot from a saved lse: p = exp2(s - pivot) reproduces the forward's softmax.
// An empty row (lse -inf) gets +inf, so every p of it is 0 and its gradients vanish.
EG_HD float lse_to_pivot(float lse) { return lse == -INFINITY ? INFINITY : lse * kLog2e; }

}  // namespace echogen
