// AVX2 helpers for the CPU support kernels: 8-lane exp/tanh/sigmoid/GELU (libm's scalar calls
// do not vectorise and dominate those loops) and horizontal row reductions. Each function has a
// scalar twin so a build without ECHOGEN_AVX2 computes the same formulas.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "common/activation.h"
// ECHOGEN_AVX2 (set by both build files together with -mavx2 -mfma -mf16c) is the one switch for
// every vector path of the CPU backend; hsum8 / hmax8 below are the only horizontal reductions.
#ifdef ECHOGEN_AVX2
#if !(defined(__AVX2__) && defined(__FMA__))
#error "ECHOGEN_AVX2 needs -mavx2 -mfma"
#endif
#include <immintrin.h>
#endif

namespace echogen::cpu::simd {

#ifdef ECHOGEN_AVX2
// exp(x), Cephes' degree-6 polynomial after range reduction by ln 2 (about 1 ulp). Below
// ln(FLT_MIN) the result is 0 (so exp(-inf) = 0), above ln(FLT_MAX) it is +inf, NaN stays NaN.
inline __m256 exp8(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.7228f), lo = _mm256_set1_ps(-87.3365f);
  const __m256 big = _mm256_cmp_ps(x, hi, _CMP_GT_OQ), small = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 v = _mm256_max_ps(lo, _mm256_min_ps(hi, x));  // NaN passes through (second operand)
  __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(v, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  v = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), v);
  v = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), v);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, v, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, v, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, v, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, v, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, v, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(v, v), _mm256_add_ps(v, _mm256_set1_ps(1.f)));
  // 2^fx, split in two factors so fx = 128 (x near ln FLT_MAX) does not overflow the exponent
  const __m256i n = _mm256_cvtps_epi32(fx);
  const __m256i half = _mm256_srai_epi32(n, 1);
  const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(n, half), _mm256_set1_epi32(127)), 23));
  y = _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::infinity()), big);
  return _mm256_andnot_ps(small, y);
}

// tanh(u) = sign(u) (1 - 2 / (exp(2|u|) + 1)); below |u| = 0.0625 the odd Taylor polynomial, which
// keeps the relative error small where the first form cancels.
inline __m256 tanh8(__m256 u) {
  const __m256 sign = _mm256_and_ps(u, _mm256_set1_ps(-0.f));
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.f), u);
  const __m256 e = exp8(_mm256_add_ps(a, a));
  __m256 t = _mm256_sub_ps(_mm256_set1_ps(1.f), _mm256_div_ps(_mm256_set1_ps(2.f), _mm256_add_ps(e, _mm256_set1_ps(1.f))));
  const __m256 a2 = _mm256_mul_ps(a, a);
  __m256 p = _mm256_set1_ps(-17.f / 315.f);
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(2.f / 15.f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-1.f / 3.f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, a2), a, a);
  t = _mm256_blendv_ps(t, p, _mm256_cmp_ps(a, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
  return _mm256_or_ps(t, sign);
}

// 1 / (1 + exp(-x)); exp(-x) saturates to +inf for very negative x, giving 0.
inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 gelu_inner8(__m256 x) {  // sqrt(2/pi) (x + 0.044715 x^3)
  const __m256 x2 = _mm256_mul_ps(x, x);
  return _mm256_mul_ps(_mm256_set1_ps(kGeluC), _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(kGeluA), x2), x, x));
}

// GELU's tanh form through a sigmoid: 0.5 x (1 + tanh(u)) = x sigmoid(2u) = x / (1 + exp(-2u)), one exp and one
// division (tanh8's sign split, second division-free branch and blend cost a third more: 1.6 ms a [5008, 512] pass).
// Neither end cancels: for u -> -inf exp saturates (x / inf = -0), for u -> +inf it goes to 0.
inline __m256 gelu_sigmoid8(__m256 x) {  // sigmoid(2u)
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_mul_ps(_mm256_set1_ps(-2.f), gelu_inner8(x)))));
}

inline __m256 gelu8(__m256 x) { return _mm256_mul_ps(x, gelu_sigmoid8(x)); }

// d/dx x s(2u) = s + 2 x s (1 - s) u', u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
inline __m256 gelu_grad8(__m256 x) {
  const __m256 s = gelu_sigmoid8(x), one = _mm256_set1_ps(1.f);
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 du = _mm256_mul_ps(_mm256_set1_ps(2.f * kGeluC), _mm256_fmadd_ps(_mm256_set1_ps(3.f * kGeluA), x2, one));
  return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(x, s), _mm256_sub_ps(one, s)), du, s);
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// r[i][j] <-> r[j][i] for an 8 x 8 block held in registers (the classic unpack / shuffle / permute
// transpose): the one transpose of the CPU backend (attention's key packing, GEMM's A packing).
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  for (int i = 0; i < 8; ++i) r[i] = t[i];
}
#endif

inline float exp1(float x) { return std::exp(x); }

// The largest element of x[0..n) (-inf for n = 0).
inline float row_max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  if (n >= 8) {
    __m256 acc = _mm256_loadu_ps(x);
    for (j = 8; j + 8 <= n; j += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(x + j));
    m = hmax8(acc);
  }
#endif
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// sum of x[j] (four 8-lane accumulators: float rounding stays well under the kernels' tolerances
// at row lengths of the model, and the loop runs at load speed).
inline float row_sum(const float* x, int64_t n) {
  float s = 0.f;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  for (; j + 32 <= n; j += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + j + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + j + 24));
  }
  for (; j + 8 <= n; j += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
  s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#endif
  for (; j < n; ++j) s += x[j];
  return s;
}

// sum of a[j] * b[j], 8-lane float accumulators.
inline float row_dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  for (; j + 16 <= n; j += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), a1);
  }
  for (; j + 8 <= n; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), a0);
  s = hsum8(_mm256_add_ps(a0, a1));
#endif
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

// sum of x[j] and of (x[j] - center)^2, accumulated in double (the row statistics of layer norm).
inline void row_moments(const float* x, int64_t n, double center, double* sum, double* sq) {
  double s = 0, q = 0;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
  const __m256d c = _mm256_set1_pd(center);
  for (; j + 8 <= n; j += 8) {
    const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + j)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 4));
    s0 = _mm256_add_pd(s0, lo);
    s1 = _mm256_add_pd(s1, hi);
    const __m256d dl = _mm256_sub_pd(lo, c), dh = _mm256_sub_pd(hi, c);
    q0 = _mm256_fmadd_pd(dl, dl, q0);
    q1 = _mm256_fmadd_pd(dh, dh, q1);
  }
  alignas(32) double ts[4], tq[4];
  _mm256_store_pd(ts, _mm256_add_pd(s0, s1));
  _mm256_store_pd(tq, _mm256_add_pd(q0, q1));
  s = (ts[0] + ts[1]) + (ts[2] + ts[3]);
  q = (tq[0] + tq[1]) + (tq[2] + tq[3]);
#endif
  for (; j < n; ++j) {
    s += x[j];
    q += (x[j] - center) * (x[j] - center);
  }
  *sum = s;
  *sq = q;
}

// y[j] = exp(x[j] - shift); returns sum_j y[j].
inline float exp_shift_sum(const float* x, int64_t n, float shift, float* y) {
  float s = 0.f;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), sh));
    _mm256_storeu_ps(y + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  s = hsum8(acc);
#endif
  for (; j < n; ++j) {
    y[j] = std::exp(x[j] - shift);
    s += y[j];
  }
  return s;
}

// sum_j exp(x[j] - shift), nothing stored.
inline float exp_shift_total(const float* x, int64_t n, float shift) {
  float s = 0.f;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  const __m256 sh = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) acc = _mm256_add_ps(acc, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), sh)));
  s = hsum8(acc);
#endif
  for (; j < n; ++j) s += std::exp(x[j] - shift);
  return s;
}

}  // namespace echogen::cpu::simd
