// CPU fused attention, FlashAttention-2 style: per (b, h, query block) the keys are visited in
// blocks, scores of one block live in a small buffer (never the whole Tq x Tk matrix), and the
// softmax is carried along online. The backward recomputes the probabilities from lse.
//
// Every matrix product is one register-blocked kernel, C[4 x 16] += A[4 x K] * B[K x 16], with
// B rows contiguous so the inner loop is one broadcast of A and two FMAs per vector of B. To fit
// that shape the kernels pack K transposed (D x keys), V and K row-major (keys x Dp) and Q
// pre-multiplied by scale*log2(e) into thread-local buffers, zero-padded to multiples of 8.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/online_softmax.h"
#include "echogen/attention.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define EG_ATTN_AVX2 1
#endif

namespace echogen::cpu {
namespace {

constexpr int kW = 8;  // floats per vector; every packed row length is a multiple of it

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// The smallest block count that keeps blocks <= max_block, then equal-sized blocks rounded up to
// `align`: T = 130 gives 3 blocks of 48 instead of 64 + 64 + 2, so little work is padding.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t align) {
  if (n <= 0) return align;
  int64_t blocks = (n + max_block - 1) / max_block;
  return round_up((n + blocks - 1) / blocks, align);
}

// ---- vector primitives (AVX2+FMA when compiled for it, plain loops otherwise) ----

#ifdef EG_ATTN_AVX2
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

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
#endif

float row_max(const float* x, int64_t n) {
#ifdef EG_ATTN_AVX2
  __m256 m = _mm256_set1_ps(-INFINITY);
  for (int64_t j = 0; j < n; j += kW) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  return hmax(m);
#else
  float m = -INFINITY;
  for (int64_t j = 0; j < n; ++j) m = std::max(m, x[j]);
  return m;
#endif
}

// x[j] = 2^(x[j] - pivot); returns the sum.
float row_exp2(float* x, int64_t n, float pivot) {
#ifdef EG_ATTN_AVX2
  const __m256 pv = _mm256_set1_ps(pivot);
  __m256 s = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += kW) {
    __m256 p = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), pv));
    _mm256_storeu_ps(x + j, p);
    s = _mm256_add_ps(s, p);
  }
  return hsum(s);
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
#ifdef EG_ATTN_AVX2
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
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
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

// dst[r][c] = src[r][c] * mul for r < rows, c < D; zero in the padding up to rows_p x Dp.
void pack_rows(float* dst, const float* src, int64_t rows, int64_t rows_p, int64_t D, int64_t Dp, float mul) {
  for (int64_t r = 0; r < rows_p; ++r) {
    float* d = dst + r * Dp;
    int64_t c = 0;
    if (r < rows) {
      const float* sr = src + r * D;
#ifdef EG_ATTN_AVX2
      const __m256 m = _mm256_set1_ps(mul);
      for (; c + kW <= D; c += kW) _mm256_storeu_ps(d + c, _mm256_mul_ps(_mm256_loadu_ps(sr + c), m));
#endif
      for (; c < D; ++c) d[c] = sr[c] * mul;
    }
    for (; c < Dp; ++c) d[c] = 0.f;
  }
}

#ifdef EG_ATTN_AVX2
// dst[c][r] = src[r][c] for an 8 x 8 block (the classic unpack / shuffle / permute transpose).
inline void transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
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
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// dst[c][r] = src[r][c] (D x cols_p, zero past `rows`): keys along the contiguous axis.
void pack_transposed(float* dst, const float* src, int64_t rows, int64_t cols_p, int64_t D) {
  int64_t r0 = 0;
#ifdef EG_ATTN_AVX2
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t c = 0;
    for (; c + 8 <= D; c += 8) transpose8x8(src + r0 * D + c, D, dst + c * cols_p + r0, cols_p);
    for (; c < D; ++c)
      for (int64_t r = r0; r < r0 + 8; ++r) dst[c * cols_p + r] = src[r * D + c];
  }
#endif
  for (int64_t c = 0; c < D; ++c) {
    float* d = dst + c * cols_p;
    for (int64_t r = r0; r < rows; ++r) d[r] = src[r * D + c];
    for (int64_t r = rows; r < cols_p; ++r) d[r] = 0.f;
  }
}

// Which keys of a block a query block may see: causal limits and the i32 mask.
struct Visibility {
  const AttentionParams& p;
  const int32_t* mask;  // this batch's [Tq, Tk] slice, or nullptr
  int64_t offset;       // Tk - Tq: query i sees key j iff j <= i + offset

  Visibility(const AttentionParams& params, int64_t b)
      : p(params), mask(params.mask ? params.mask + (params.mask_batched ? b * params.Tq * params.Tk : 0) : nullptr),
        offset(params.Tk - params.Tq) {}

  // False when no query of [q0, q1) sees any key of [k0, k1): the tile is skipped.
  bool any(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const {
    if (p.causal && k0 > q1 - 1 + offset) return false;
    if (!mask) return true;
    for (int64_t i = q0; i < q1; ++i) {
      const int64_t end = p.causal ? std::min(k1, i + offset + 1) : k1;
      for (int64_t j = k0; j < end; ++j)
        if (mask[i * p.Tk + j]) return true;
    }
    return false;
  }
  // Sets s[j] = -inf for every key k0 + j (j < cols_p) that query i may not see.
  void hide(float* s, int64_t i, int64_t k0, int64_t k1, int64_t cols_p) const {
    int64_t end = k1 - k0;
    if (p.causal) end = std::max<int64_t>(0, std::min(end, i + offset + 1 - k0));
    if (mask) {
      const int32_t* m = mask + i * p.Tk + k0;
      for (int64_t j = 0; j < end; ++j) s[j] = m[j] ? s[j] : -INFINITY;
    }
    for (int64_t j = end; j < cols_p; ++j) s[j] = -INFINITY;
  }
};

// Grows (never shrinks) a thread's scratch buffer.
float* scratch(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

constexpr int64_t kMaxQueryBlock = 64, kMaxKeyBlock = 64;

// ---- forward: K^T and V packed once per (b, h), then one task per (b, h, query block) ----

// Per key block: K^T [D x bk] then V [bk x Dp].
inline int64_t packed_block_floats(int64_t bk, int64_t D, int64_t Dp) { return bk * (D + Dp); }

void pack_keys(const AttentionParams& p, int64_t bh, int64_t k0, int64_t bk, const float* k, const float* v,
               float* dst) {
  const int64_t D = p.D, Dp = round_up(D, kW), kn = std::min(bk, p.Tk - k0);
  pack_transposed(dst, k + (bh * p.Tk + k0) * D, kn, bk, D);
  pack_rows(dst + D * bk, v + (bh * p.Tk + k0) * D, kn, bk, D, Dp, 1.f);
}

void forward_block(const AttentionParams& p, int64_t bh, int64_t q0, int64_t bq, int64_t bqp, int64_t bk,
                   const float* q, const float* packed, float* out, float* lse) {
  const int64_t D = p.D, Dp = round_up(D, kW), Tk = p.Tk;
  thread_local std::vector<float> buf;
  float* qs = scratch(buf, 2 * bqp * Dp + bqp * bk + 2 * bqp);
  float* o = qs + bqp * Dp;
  float* s = o + bqp * Dp;
  float* m = s + bqp * bk;
  float* l = m + bqp;
  pack_rows(qs, q + (bh * p.Tq + q0) * D, bq, bqp, D, Dp, p.scale * kLog2e);
  std::fill(o, o + bqp * Dp, 0.f);
  std::fill(m, m + bqp, -INFINITY);
  std::fill(l, l + bqp, 0.f);
  const Visibility vis(p, bh / p.H);

  for (int64_t k0 = 0; k0 < Tk; k0 += bk) {
    const int64_t k1 = std::min(Tk, k0 + bk);
    if (!vis.any(q0, q0 + bq, k0, k1)) {
      if (p.causal && k0 > q0 + bq - 1 + vis.offset) break;  // every later block is beyond the diagonal
      continue;
    }
    const float* kt = packed + (k0 / bk) * packed_block_floats(bk, D, Dp);
    const float* vp = kt + D * bk;
    gemm<false, false>(bqp, bk, D, qs, Dp, kt, bk, s, bk);
    for (int64_t r = 0; r < bqp; ++r) {
      float* sr = s + r * bk;
      if (r < bq) vis.hide(sr, q0 + r, k0, k1, bk);
      const float alpha = online_softmax_rescale(m[r], row_max(sr, bk));
      l[r] = l[r] * alpha + row_exp2(sr, bk, online_softmax_pivot(m[r]));
      if (alpha != 1.f)
        for (int64_t c = 0; c < Dp; ++c) o[r * Dp + c] *= alpha;
    }
    gemm<false>(bqp, Dp, bk, s, bk, vp, Dp, o, Dp);
  }
  for (int64_t r = 0; r < bq; ++r) {
    const float inv = online_softmax_inv_sum(l[r]);
    float* dst = out + (bh * p.Tq + q0 + r) * D;
    for (int64_t c = 0; c < D; ++c) dst[c] = o[r * Dp + c] * inv;
    lse[bh * p.Tq + q0 + r] = online_softmax_lse(m[r], l[r]);
  }
}

// ---- backward: one task per (b, h, chunk of key blocks); each task owns dk/dv of its keys ----

struct BackwardTask {
  const AttentionParams& p;
  const float *q, *k, *v, *out, *lse, *dout;
  int64_t bqp, bk;  // query block (a multiple of 4) and key block (a multiple of 8)

  // Accumulates into dq_acc ([Tq x D], this task's own buffer) and writes dk, dv of keys [ks0, ks1).
  void run(int64_t bh, int64_t ks0, int64_t ks1, float* dq_acc, float* dk, float* dv) const {
    const int64_t D = p.D, Dp = round_up(D, kW), Tq = p.Tq, Tk = p.Tk;
    const int64_t nqb = (Tq + bqp - 1) / bqp, Tqp = nqb * bqp;
    thread_local std::vector<float> buf_rows, buf_keys, buf_tile;
    float* qs = scratch(buf_rows, 3 * Tqp * Dp + 2 * Tqp);
    float* dos = qs + Tqp * Dp;   // dOut, padded
    float* dqs = dos + Tqp * Dp;  // dq accumulator (in units of scale)
    float* pivot = dqs + Tqp * Dp;
    float* delta = pivot + Tqp;
    float* kt = scratch(buf_keys, 2 * Dp * bk + 3 * bk * Dp);
    float* vt = kt + Dp * bk;
    float* kp = vt + Dp * bk;
    float* dka = kp + bk * Dp;
    float* dva = dka + bk * Dp;
    float* s = scratch(buf_tile, 2 * bqp * bk);
    float* ds = s + bqp * bk;

    const int64_t row0 = bh * Tq;
    pack_rows(qs, q + row0 * D, Tq, Tqp, D, Dp, p.scale * kLog2e);
    pack_rows(dos, dout + row0 * D, Tq, Tqp, D, Dp, 1.f);
    std::fill(dqs, dqs + Tqp * Dp, 0.f);
    for (int64_t i = 0; i < Tqp; ++i) {
      // D_i = rowsum(dO * O): the softmax backward's per-row constant, computed once.
      double d = 0;
      if (i < Tq)
        for (int64_t c = 0; c < D; ++c) d += static_cast<double>(dout[(row0 + i) * D + c]) * out[(row0 + i) * D + c];
      delta[i] = static_cast<float>(d);
      pivot[i] = i < Tq ? lse_to_pivot(lse[row0 + i]) : INFINITY;  // padded rows get p = 0
    }
    const Visibility vis(p, bh / p.H);
    const float* kbh = k + bh * Tk * D;
    const float* vbh = v + bh * Tk * D;

    for (int64_t k0 = ks0; k0 < ks1; k0 += bk) {
      const int64_t k1 = std::min(ks1, k0 + bk), kn = k1 - k0;
      pack_transposed(kt, kbh + k0 * D, kn, bk, D);
      pack_transposed(vt, vbh + k0 * D, kn, bk, D);
      pack_rows(kp, kbh + k0 * D, kn, bk, D, Dp, 1.f);
      std::fill(dka, dka + 2 * bk * Dp, 0.f);
      // causal: query blocks that end before this key block's diagonal see none of it
      const int64_t first = p.causal ? std::max<int64_t>(0, (k0 - vis.offset) / bqp) : 0;
      for (int64_t qb = first; qb < nqb; ++qb) {
        const int64_t q0 = qb * bqp, q1 = std::min(Tq, q0 + bqp);
        if (!vis.any(q0, q1, k0, k1)) continue;
        gemm<false, false>(bqp, bk, D, qs + q0 * Dp, Dp, kt, bk, s, bk);   // S (base-2 scores)
        gemm<false, false>(bqp, bk, D, dos + q0 * Dp, Dp, vt, bk, ds, bk);  // dP = dO V^T
        for (int64_t r = 0; r < bqp; ++r) {
          float* sr = s + r * bk;
          float* dr = ds + r * bk;
          if (q0 + r < Tq) vis.hide(sr, q0 + r, k0, k1, bk);
          row_exp2(sr, bk, pivot[q0 + r]);  // P
          const float dl = delta[q0 + r];
          for (int64_t j = 0; j < bk; ++j) dr[j] = sr[j] * (dr[j] - dl);  // dS = P (dP - D_i)
        }
        gemm<true>(bk, Dp, bqp, s, bk, dos + q0 * Dp, Dp, dva, Dp);   // dV += P^T dO
        gemm<true>(bk, Dp, bqp, ds, bk, qs + q0 * Dp, Dp, dka, Dp);   // dK += dS^T Qs
        gemm<false>(bqp, Dp, bk, ds, bk, kp, Dp, dqs + q0 * Dp, Dp);  // dQ += dS K
      }
      // Qs carries scale*log2(e); dK = scale * dS^T Q = ln2 * dS^T Qs.
      for (int64_t j = 0; j < kn; ++j)
        for (int64_t c = 0; c < D; ++c) {
          dk[(k0 + j) * D + c] = dka[j * Dp + c] * kLn2;
          dv[(k0 + j) * D + c] = dva[j * Dp + c];
        }
    }
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t c = 0; c < D; ++c) dq_acc[i * D + c] = dqs[i * Dp + c] * p.scale;
  }
};

}  // namespace

void attention_forward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                       float* out, float* lse) {
  const int64_t BH = p.B * p.H;
  if (BH == 0 || p.Tq == 0) return;
  // Enough query blocks that every thread gets several tasks, but none smaller than 8 rows.
  int64_t nqb = (p.Tq + kMaxQueryBlock - 1) / kMaxQueryBlock;
  const int64_t want = (4 * pool.size() + BH - 1) / BH;
  nqb = std::max(nqb, std::min(want, (p.Tq + 7) / 8));
  const int64_t bq = (p.Tq + nqb - 1) / nqb;  // rows per block; the last may be shorter
  const int64_t bqp = round_up(bq, 4);
  const int64_t bk = balanced_block(p.Tk, kMaxKeyBlock, kW);
  nqb = (p.Tq + bq - 1) / bq;
  // K^T and V packed once and shared by the query blocks of a (b, h) (packing per task cost up
  // to a fifth of the time). The buffer is kept between calls unless it grew large.
  const int64_t D = p.D, Dp = round_up(D, kW), nkb = (p.Tk + bk - 1) / bk;
  const int64_t per_bh = nkb * packed_block_floats(bk, D, Dp);
  thread_local std::vector<float> packed_buf;
  float* packed = scratch(packed_buf, BH * per_bh);
  pool.parallel_for(BH * nkb, 4, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      pack_keys(p, t / nkb, (t % nkb) * bk, bk, k, v, packed + t * packed_block_floats(bk, D, Dp));
  });
  pool.parallel_for(BH * nqb, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / nqb, q0 = (t % nqb) * bq;
      forward_block(p, bh, q0, std::min(bq, p.Tq - q0), bqp, bk, q, packed + bh * per_bh, out, lse);
    }
  });
  if (packed_buf.size() > (size_t{16} << 20)) std::vector<float>().swap(packed_buf);  // > 64 MB: give it back
}

void attention_backward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const int64_t BH = p.B * p.H, Tq = p.Tq, Tk = p.Tk, D = p.D;
  if (BH == 0) return;
  if (Tq == 0 || Tk == 0) {  // nothing attends: every gradient is 0
    std::fill(dq, dq + BH * Tq * D, 0.f);
    std::fill(dk, dk + BH * Tk * D, 0.f);
    std::fill(dv, dv + BH * Tk * D, 0.f);
    return;
  }
  const BackwardTask task{p, q, k, v, out, lse, dout, balanced_block(Tq, kMaxQueryBlock, 4),
                          balanced_block(Tk, kMaxKeyBlock, kW)};
  // Split the keys of each (b, h) into chunks only when (b, h) alone cannot keep the threads busy;
  // each chunk then adds its dq into a buffer of its own, summed afterwards (no races, no atomics).
  const int64_t nkb = (Tk + task.bk - 1) / task.bk;
  const int64_t splits = std::min(nkb, (2 * pool.size() + BH - 1) / BH);
  const int64_t blocks_per_split = (nkb + splits - 1) / splits;
  std::vector<float> partial(splits > 1 ? static_cast<size_t>(splits * BH * Tq * D) : 0);
  pool.parallel_for(BH * splits, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / splits, sp = t % splits;
      const int64_t ks0 = std::min(Tk, sp * blocks_per_split * task.bk);
      const int64_t ks1 = std::min(Tk, ks0 + blocks_per_split * task.bk);
      float* dq_acc = splits > 1 ? partial.data() + (sp * BH + bh) * Tq * D : dq + bh * Tq * D;
      task.run(bh, ks0, ks1, dq_acc, dk + bh * Tk * D, dv + bh * Tk * D);
    }
  });
  if (splits == 1) return;
  const int64_t n = BH * Tq * D;
  pool.parallel_for(n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float acc = 0.f;
      for (int64_t sp = 0; sp < splits; ++sp) acc += partial[sp * n + i];
      dq[i] = acc;
    }
  });
}

}  // namespace echogen::cpu
