// The building blocks of the CPU attention kernels (native/cpu/attention.cpp): AVX2/FMA vector
// primitives (exp2, row max/sum), one register-blocked matrix-product kernel, and the packing of
// Q, K and V into zero-padded tiles. Plain loops stand in when AVX2+FMA are not compiled in.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu/simd.h"

namespace echogen::cpu::attention_blocks {

constexpr int kW = 8;  // floats per vector; every packed row length is a multiple of it

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// The smallest block count that keeps blocks <= max_block, then equal-sized blocks rounded up to
// `align`: T = 130 gives 3 blocks of 48 instead of 64 + 64 + 2, so little work is padding.
inline int64_t balanced_block(int64_t n, int64_t max_block, int64_t align) {
  if (n <= 0) return align;
  int64_t blocks = (n + max_block - 1) / max_block;
  return round_up((n + blocks - 1) / blocks, align);
}

// ---- vector primitives (AVX2+FMA when compiled for it, plain loops otherwise) ----

#ifdef ECHOGEN_AVX2
// 2^x for x <= 0 (scores minus their running max): 2^round(x) * Taylor polynomial of 2^f,
// |f| <= 1/2, relative error ~1e-7; below -126 (and -inf) the result is 0.
inline __m256 exp2_ps(__m256 x) {
  const __m256 valid = _mm256_cmp_ps(x, _mm256_set1_ps(-126.f), _CMP_GE_OQ);
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(127.f)), _mm256_set1_ps(-126.f));
  const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(1.5403530e-4f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504109e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022651e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), valid);
}

using simd::hmax8;
using simd::hsum8;
#endif

inline float row_max(const float* x, int64_t n) {
#ifdef ECHOGEN_AVX2
  __m256 m = _mm256_set1_ps(-INFINITY);
  for (int64_t j = 0; j < n; j += kW) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  return hmax8(m);
#else
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
#endif
}

// x[j] = 2^(x[j] - pivot); returns the sum.
inline float row_exp2(float* x, int64_t n, float pivot) {
#ifdef ECHOGEN_AVX2
  const __m256 pv = _mm256_set1_ps(pivot);
  __m256 s = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += kW) {
    __m256 p = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), pv));
    _mm256_storeu_ps(x + j, p);
    s = _mm256_add_ps(s, p);
  }
  return hsum8(s);
#else
  float s = 0.f;
  for (int64_t j = 0; j < n; ++j) s += (x[j] = std::exp2(x[j] - pivot));
  return s;
#endif
}

// C[4 x 8*NV] (+)= A[4 x K] * B[K x 8*NV] (ACC: accumulate, else overwrite);
// a(r, k) = TA ? A[k*lda + r] : A[r*lda + k]. The accumulators are named variables: GCC keeps a
// __m256 array indexed in a loop on the stack, which made this kernel store-bound.
template <bool TA, bool ACC, int NV>
inline void micro_kernel(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
#ifdef ECHOGEN_AVX2
  static_assert(NV == 1 || NV == 2, "one or two vectors of B");
  const int64_t ra = TA ? 1 : lda, ka = TA ? lda : 1;  // strides of a(r, k)
  const __m256 z = _mm256_setzero_ps();
  __m256 c00 = ACC ? _mm256_loadu_ps(C) : z, c10 = ACC ? _mm256_loadu_ps(C + ldc) : z,
         c20 = ACC ? _mm256_loadu_ps(C + 2 * ldc) : z, c30 = ACC ? _mm256_loadu_ps(C + 3 * ldc) : z;
  __m256 c01 = z, c11 = z, c21 = z, c31 = z;
  if (NV == 2 && ACC) {
    c01 = _mm256_loadu_ps(C + kW), c11 = _mm256_loadu_ps(C + ldc + kW), c21 = _mm256_loadu_ps(C + 2 * ldc + kW),
    c31 = _mm256_loadu_ps(C + 3 * ldc + kW);
  }
  for (int64_t k = 0; k < K; ++k, A += ka, B += ldb) {
    const __m256 b0 = _mm256_loadu_ps(B);
    const __m256 b1 = NV == 2 ? _mm256_loadu_ps(B + kW) : b0;
    __m256 a = _mm256_broadcast_ss(A);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    if (NV == 2) c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + ra);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    if (NV == 2) c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2 * ra);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    if (NV == 2) c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3 * ra);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    if (NV == 2) c31 = _mm256_fmadd_ps(a, b1, c31);
  }
  _mm256_storeu_ps(C, c00), _mm256_storeu_ps(C + ldc, c10), _mm256_storeu_ps(C + 2 * ldc, c20),
      _mm256_storeu_ps(C + 3 * ldc, c30);
  if (NV == 2)
    _mm256_storeu_ps(C + kW, c01), _mm256_storeu_ps(C + ldc + kW, c11), _mm256_storeu_ps(C + 2 * ldc + kW, c21),
        _mm256_storeu_ps(C + 3 * ldc + kW, c31);
#else
  for (int r = 0; r < 4; ++r) {
    if (!ACC)
      for (int j = 0; j < NV * kW; ++j) C[r * ldc + j] = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float a = TA ? A[k * lda + r] : A[r * lda + k];
      for (int j = 0; j < NV * kW; ++j) C[r * ldc + j] += a * B[k * ldb + j];
    }
  }
#endif
}

// C[M x N] (+)= op(A)[M x K] * B[K x N], M a multiple of 4, N of 8; op(A) = A^T when TA.
template <bool TA, bool ACC = true>
inline void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
              int64_t ldc) {
  for (int64_t m = 0; m < M; m += 4) {
    const float* a = TA ? A + m : A + m * lda;
    float* c = C + m * ldc;
    int64_t n = 0;
    for (; n + 2 * kW <= N; n += 2 * kW) micro_kernel<TA, ACC, 2>(K, a, lda, B + n, ldb, c + n, ldc);
    if (n < N) micro_kernel<TA, ACC, 1>(K, a, lda, B + n, ldb, c + n, ldc);
  }
}

// ---- packing and masking ----

// dst[r][c] = src[r * lds + c] * mul for r < rows, c < D; zero in the padding up to rows_p x Dp.
inline void pack_rows(float* dst, const float* src, int64_t lds, int64_t rows, int64_t rows_p, int64_t D, int64_t Dp,
                      float mul) {
  for (int64_t r = 0; r < rows_p; ++r) {
    float* d = dst + r * Dp;
    int64_t c = 0;
    if (r < rows) {
      const float* sr = src + r * lds;
#ifdef ECHOGEN_AVX2
      const __m256 m = _mm256_set1_ps(mul);
      for (; c + kW <= D; c += kW) _mm256_storeu_ps(d + c, _mm256_mul_ps(_mm256_loadu_ps(sr + c), m));
#endif
      for (; c < D; ++c) d[c] = sr[c] * mul;
    }
    for (; c < Dp; ++c) d[c] = 0.f;
  }
}

#ifdef ECHOGEN_AVX2
// dst[c][r] = src[r][c] for an 8 x 8 block.
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  simd::transpose8x8(r);
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + i * ldd, r[i]);
}
#endif

// dst[c][r] = src[r * lds + c] (D x cols_p, zero past `rows`): keys along the contiguous axis.
inline void pack_transposed(float* dst, const float* src, int64_t lds, int64_t rows, int64_t cols_p, int64_t D) {
  int64_t r0 = 0;
#ifdef ECHOGEN_AVX2
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t c = 0;
    for (; c + 8 <= D; c += 8) transpose8x8(src + r0 * lds + c, lds, dst + c * cols_p + r0, cols_p);
    for (; c < D; ++c)
      for (int64_t r = r0; r < r0 + 8; ++r) dst[c * cols_p + r] = src[r * lds + c];
  }
#endif
  for (int64_t c = 0; c < D; ++c) {
    float* d = dst + c * cols_p;
    for (int64_t r = r0; r < rows; ++r) d[r] = src[r * lds + c];
    for (int64_t r = rows; r < cols_p; ++r) d[r] = 0.f;
  }
}

}  // namespace echogen::cpu::attention_blocks
