// Gumbel-Softmax on the CPU (echogen/gumbel.h): rows spread over the pool; per row one pass
// that draws the noise (eight Philox counters in AVX2 lanes give 32 consecutive elements) and
// adds the logits, then max, exp/sum and scale passes over the row while it is in L1.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/philox.h"
#include "echogen/gumbel.h"

#include "cpu/simd.h"

namespace echogen::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#ifdef ECHOGEN_AVX2
// Lane-wise 32x32 -> 64-bit product of a and the constant m, split into high and low words.
inline void mulhilo8(__m256i a, __m256i m, __m256i* hi, __m256i* lo) {
  __m256i even = _mm256_mul_epu32(a, m);
  __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox-4x32-10 of the eight counters c, c+1, .., c+7 (word 1 = 0, words 2,3 = offset):
// words[8*w + lane] is word w of lane `lane`, i.e. the noise word of element 32*(c/8) + 8w + lane.
void philox8(const GumbelKey& key, uint32_t c, uint32_t* words) {
  __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(c)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i c1 = _mm256_setzero_si256();
  __m256i c2 = _mm256_set1_epi32(static_cast<int>(key.offset_lo));
  __m256i c3 = _mm256_set1_epi32(static_cast<int>(key.offset_hi));
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  uint32_t k0 = key.seed_lo, k1 = key.seed_hi;
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(c0, m0, &hi0, &lo0);
    mulhilo8(c2, m1, &hi1, &lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c1 = lo1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  auto* out = reinterpret_cast<__m256i*>(words);
  _mm256_storeu_si256(out + 0, c0);
  _mm256_storeu_si256(out + 1, c1);
  _mm256_storeu_si256(out + 2, c2);
  _mm256_storeu_si256(out + 3, c3);
}
#else
void philox8(const GumbelKey& key, uint32_t c, uint32_t* words) {
  for (uint32_t lane = 0; lane < 8; ++lane) {
    Philox4 r = gumbel_block(key, c + lane);
    for (int w = 0; w < 4; ++w) words[8 * w + lane] = r.v[w];
  }
}
#endif

#ifdef ECHOGEN_AVX2
// eg_logf (common/philox.h) on 4 x 8 lanes: the same operations in the same order, so the same
// bits. Four independent vectors step through the polynomial together: one alone is a chain of
// dependent FMAs and runs three times slower.
inline void log8x4(__m256* x) {
  constexpr int M = 4;
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i e[M];
  __m256 f[M], z[M], p[M];
  for (int j = 0; j < M; ++j) {
    __m256i bits = _mm256_castps_si256(x[j]);
    e[j] = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xff)), _mm256_set1_epi32(126));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
    __m256 low = _mm256_cmp_ps(m, _mm256_set1_ps(0.70710678118654752f), _CMP_LT_OQ);
    e[j] = _mm256_sub_epi32(e[j], _mm256_and_si256(_mm256_castps_si256(low), _mm256_set1_epi32(1)));
    f[j] = _mm256_blendv_ps(_mm256_sub_ps(m, one), _mm256_sub_ps(_mm256_add_ps(m, m), one), low);
    z[j] = _mm256_mul_ps(f[j], f[j]);
    p[j] = _mm256_set1_ps(7.0376836292e-2f);
  }
  constexpr float c[8] = {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                          -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
  for (int k = 0; k < 8; ++k)
    for (int j = 0; j < M; ++j) p[j] = _mm256_fmadd_ps(p[j], f[j], _mm256_set1_ps(c[k]));
  for (int j = 0; j < M; ++j) {
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p[j], f[j]), z[j]);
    __m256 fe = _mm256_cvtepi32_ps(e[j]);
    y = _mm256_fmadd_ps(fe, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fmadd_ps(_mm256_set1_ps(-0.5f), z[j], y);
    x[j] = _mm256_fmadd_ps(fe, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f[j], y));
  }
}

// The noise of the 32 elements of block b (elements 32b .. 32b+31): gumbel_from_word in lanes.
inline void noise_block(const GumbelKey& key, int64_t b, float* g) {
  alignas(32) uint32_t words[32];
  philox8(key, static_cast<uint32_t>(b << 3), words);
  __m256 u[4];
  for (int j = 0; j < 4; ++j) {
    __m256i w = _mm256_load_si256(reinterpret_cast<const __m256i*>(words + 8 * j));
    __m256i odd = _mm256_or_si256(_mm256_slli_epi32(_mm256_srli_epi32(w, 9), 1), _mm256_set1_epi32(1));
    u[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(odd), _mm256_set1_ps(5.9604644775390625e-8f));  // < 2^24: exact
  }
  const __m256 sign = _mm256_set1_ps(-0.0f);
  log8x4(u);
  for (int j = 0; j < 4; ++j) u[j] = _mm256_xor_ps(u[j], sign);
  log8x4(u);
  for (int j = 0; j < 4; ++j) _mm256_store_ps(g + 8 * j, _mm256_xor_ps(u[j], sign));
}
#else
inline void noise_block(const GumbelKey& key, int64_t b, float* g) {
  alignas(32) uint32_t words[32];
  philox8(key, static_cast<uint32_t>(b << 3), words);
  for (int i = 0; i < 32; ++i) g[i] = gumbel_from_word(words[i]);
}
#endif

// y[v] = logits[v] + noise of flat element e0 + v, for v < V (logits null: the noise alone).
void add_noise(const GumbelKey& key, const float* logits, int64_t e0, int64_t V, float* y) {
  for (int64_t b = e0 >> 5, last = (e0 + V - 1) >> 5; b <= last; ++b) {
    alignas(32) float g[32];
    noise_block(key, b, g);
    int64_t lo = std::max(b << 5, e0), hi = std::min((b << 5) + 32, e0 + V);
    const float* gb = g + (lo - (b << 5));
    float* yb = y + (lo - e0);
    if (logits) {
      const float* lb = logits + (lo - e0);
      for (int64_t i = 0; i < hi - lo; ++i) yb[i] = lb[i] + gb[i];
    } else {
      std::memcpy(yb, gb, (hi - lo) * sizeof(float));
    }
  }
}

#ifdef ECHOGEN_AVX2
// exp(x) for x <= 0 (Cephes expf, about 1 ulp), 0 below the normal range.
inline __m256 exp8_nonpositive(__m256 x) {
  const __m256 low = _mm256_set1_ps(-87.33654f);
  __m256 under = _mm256_cmp_ps(x, low, _CMP_LT_OQ);
  __m256 xc = _mm256_max_ps(x, low);
  __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693359375f), xc);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  __m256 e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(under, _mm256_mul_ps(e, _mm256_castsi256_ps(scale)));
}

using simd::hmax8;
using simd::hsum8;

float row_max(const float* y, int64_t V) {
  // max_ps(y, m) returns m when y is NaN: NaN never becomes the maximum (as on CUDA)
  __m256 m = _mm256_set1_ps(kNegInf);
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) m = _mm256_max_ps(_mm256_loadu_ps(y + v), m);
  float r = hmax8(m);
  for (; v < V; ++v) r = y[v] > r ? y[v] : r;
  return r;
}

// The row sum accumulates in double: over a 33,333-word row an 8-lane float sum drifted by 1e-5 (native/test's
// "soft rows sum to 1" failed on one draw in a few hundred), and the conversion costs little beside the exp.
inline void add_pd(__m256d& lo, __m256d& hi, __m256 e) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
}

float exp_and_sum(float* y, int64_t V, float m, float inv_tau) {
  const __m256 mv = _mm256_set1_ps(m), it = _mm256_set1_ps(inv_tau);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) {
    __m256 e = exp8_nonpositive(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + v), mv), it));
    _mm256_storeu_ps(y + v, e);
    add_pd(lo, hi, e);
  }
  if (v < V) {  // the tail through a padded buffer
    alignas(32) float t[8] = {};
    std::fill(t, t + 8, m);
    std::memcpy(t, y + v, (V - v) * sizeof(float));
    __m256 e = exp8_nonpositive(_mm256_mul_ps(_mm256_sub_ps(_mm256_load_ps(t), mv), it));
    _mm256_store_ps(t, e);
    for (int64_t j = 0; j < V - v; ++j) y[v + j] = t[j];
    e = _mm256_blendv_ps(e, _mm256_setzero_ps(), _mm256_castsi256_ps(_mm256_cmpgt_epi32(
        _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8), _mm256_set1_epi32(static_cast<int>(V - v)))));
    add_pd(lo, hi, e);
  }
  alignas(32) double d[4];
  _mm256_store_pd(d, _mm256_add_pd(lo, hi));
  return static_cast<float>((d[0] + d[1]) + (d[2] + d[3]));
}

float dot(const float* a, const float* b, int64_t V) {
  __m256 s = _mm256_setzero_ps();
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + v), _mm256_loadu_ps(b + v), s);
  float r = hsum8(s);
  for (; v < V; ++v) r = fmaf(a[v], b[v], r);
  return r;
}
#else
inline float exp_nonpositive(float x) { return x < -87.33654f ? 0.f : std::exp(x); }

float row_max(const float* y, int64_t V) {
  float r = kNegInf;
  for (int64_t v = 0; v < V; ++v) r = y[v] > r ? y[v] : r;
  return r;
}

float exp_and_sum(float* y, int64_t V, float m, float inv_tau) {
  double s = 0.0;
  for (int64_t v = 0; v < V; ++v) s += (y[v] = exp_nonpositive((y[v] - m) * inv_tau));
  return static_cast<float>(s);
}

float dot(const float* a, const float* b, int64_t V) {
  float s = 0.f;
  for (int64_t v = 0; v < V; ++v) s = fmaf(a[v], b[v], s);
  return s;
}
#endif

void forward_row(const GumbelKey& key, const float* logits, int64_t e0, int64_t V, float inv_tau, float* soft,
                 float* hard, int32_t* index) {
  add_noise(key, logits, e0, V, soft);
  float m = row_max(soft, V);
  if (hard) std::fill(hard, hard + V, 0.f);
  if (m == kNegInf) {  // every logit -Infinity: nothing can be sampled
    std::fill(soft, soft + V, 0.f);
    *index = -1;
    return;
  }
  int64_t arg = std::find(soft, soft + V, m) - soft;  // the first maximum: ties to the lowest index
  *index = static_cast<int32_t>(arg);
  if (hard) hard[arg] = 1.f;
  float inv_sum = 1.f / exp_and_sum(soft, V, m, inv_tau);
  for (int64_t v = 0; v < V; ++v) soft[v] *= inv_sum;
}

}  // namespace

void gumbel_noise(const GumbelParams& p, int64_t first, int64_t count, float* out) {
  add_noise(gumbel_key(p.seed, p.offset), nullptr, first, count, out);
}

void gumbel_softmax(ThreadPool& pool, const float* logits, int64_t N, int64_t V, const GumbelParams& p,
                    float* soft, float* hard, int32_t* indices) {
  GumbelKey key = gumbel_key(p.seed, p.offset);
  float inv_tau = 1.f / p.tau;
  int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(V, 1));
  pool.parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      forward_row(key, logits + n * V, n * V, V, inv_tau, soft + n * V, hard ? hard + n * V : nullptr, indices + n);
  });
}

void gumbel_softmax_backward(ThreadPool& pool, const float* dy, const float* soft, int64_t N, int64_t V, float tau,
                             float* dlogits) {
  if (N * V == 0) return;  // nothing to write (and no empty rows to walk)
  float inv_tau = 1.f / tau;
  int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(V, 1));
  pool.parallel_for(N, grain, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float *g = dy + n * V, *s = soft + n * V;
      float* out = dlogits + n * V;
      float d = dot(g, s, V);
      for (int64_t v = 0; v < V; ++v) out[v] = s[v] * (g[v] - d) * inv_tau;
    }
  });
}

}  // namespace echogen::cpu
