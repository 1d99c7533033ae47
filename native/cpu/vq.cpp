// VQ codebook kernels on the CPU (echogen/vq.h).
//
// vq_nearest is a small GEMM with an argmin epilogue: the codebook is packed into panels of 16
// codes interleaved by dimension, a 6-row x 16-code micro-kernel accumulates x.c with FMAs in 12
// AVX2 registers, the score ||c||^2 - 2 x.c updates a per-lane running argmin, and the N x K
// matrix never exists. Every dot product and norm is a sequential FMA chain over d, the same
// order the CUDA kernel uses, so both backends see bit-identical scores.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "echogen/vq.h"

#include "cpu/simd.h"

namespace echogen::cpu {
namespace {

constexpr int kRows = 6;    // x rows per micro-kernel
constexpr int kPanel = 16;  // codes per packed panel
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int32_t kNone = std::numeric_limits<int32_t>::max();

// packed[p][d][j] = codebook[p*16 + j][d] (0 past K); norms[p*16 + j] = ||c||^2 (+inf past K,
// so padding never wins).
void pack_codebook(ThreadPool& pool, const float* cb, int64_t K, int64_t D, float* packed, float* norms) {
  int64_t panels = (K + kPanel - 1) / kPanel;
  pool.parallel_for(panels, 4, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* dst = packed + p * D * kPanel;
      for (int j = 0; j < kPanel; ++j) {
        int64_t k = p * kPanel + j;
        float n = 0.f;
        for (int64_t d = 0; d < D; ++d) {
          float c = k < K ? cb[k * D + d] : 0.f;
          dst[d * kPanel + j] = c;
          n = fmaf(c, c, n);
        }
        norms[k] = k < K ? n : kInf;
      }
    }
  });
}

// Lowest score among 16 lane candidates, ties to the lowest code index.
inline void reduce_lanes(const float* s, const int32_t* i, float* best_s, int32_t* best_i) {
  float bs = kInf;
  int32_t bi = kNone;
  for (int j = 0; j < kPanel; ++j)
    if (s[j] < bs || (s[j] == bs && i[j] < bi)) { bs = s[j]; bi = i[j]; }
  *best_s = bs;
  *best_i = bi;
}

#ifdef ECHOGEN_AVX2
// Argmin over every panel for up to 6 rows of x (short blocks repeat their last row).
void block_argmin(const float* const* xr, int64_t D, const float* packed, const float* norms, int64_t panels,
                  int32_t* out_i) {
  __m256 bs[kRows][2];
  __m256i bi[kRows][2];
  for (int r = 0; r < kRows; ++r)
    for (int h = 0; h < 2; ++h) { bs[r][h] = _mm256_set1_ps(kInf); bi[r][h] = _mm256_set1_epi32(kNone); }
  const __m256 two = _mm256_set1_ps(2.f);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t p = 0; p < panels; ++p) {
    const float* cp = packed + p * D * kPanel;
    __m256 acc[kRows][2];
    for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; ++d) {
      __m256 c0 = _mm256_load_ps(cp + d * kPanel), c1 = _mm256_load_ps(cp + d * kPanel + 8);
      for (int r = 0; r < kRows; ++r) {
        __m256 xv = _mm256_broadcast_ss(xr[r] + d);
        acc[r][0] = _mm256_fmadd_ps(xv, c0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(xv, c1, acc[r][1]);
      }
    }
    for (int h = 0; h < 2; ++h) {
      __m256 n = _mm256_loadu_ps(norms + p * kPanel + 8 * h);
      __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(p * kPanel + 8 * h)));
      for (int r = 0; r < kRows; ++r) {
        __m256 s = _mm256_fnmadd_ps(two, acc[r][h], n);  // ||c||^2 - 2 x.c (2*acc is exact)
        __m256 lt = _mm256_cmp_ps(s, bs[r][h], _CMP_LT_OQ);  // strict: the earlier code keeps a tie
        bs[r][h] = _mm256_blendv_ps(bs[r][h], s, lt);
        bi[r][h] = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(bi[r][h]), _mm256_castsi256_ps(idx), lt));
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    alignas(32) float s[kPanel];
    alignas(32) int32_t i[kPanel];
    _mm256_store_ps(s, bs[r][0]);
    _mm256_store_ps(s + 8, bs[r][1]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(i), bi[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(i + 8), bi[r][1]);
    float best;
    reduce_lanes(s, i, &best, out_i + r);
  }
}
#else
// Portable twin of the AVX2 micro-kernel: the same FMA chains, so the same scores.
void block_argmin(const float* const* xr, int64_t D, const float* packed, const float* norms, int64_t panels,
                  int32_t* out_i) {
  for (int r = 0; r < kRows; ++r) {
    float bs[kPanel];
    int32_t bi[kPanel];
    std::fill(bs, bs + kPanel, kInf);
    std::fill(bi, bi + kPanel, kNone);
    for (int64_t p = 0; p < panels; ++p) {
      const float* cp = packed + p * D * kPanel;
      float acc[kPanel] = {};
      for (int64_t d = 0; d < D; ++d)
        for (int j = 0; j < kPanel; ++j) acc[j] = fmaf(xr[r][d], cp[d * kPanel + j], acc[j]);
      for (int j = 0; j < kPanel; ++j) {
        float s = fmaf(-2.f, acc[j], norms[p * kPanel + j]);
        if (s < bs[j]) { bs[j] = s; bi[j] = static_cast<int32_t>(p * kPanel + j); }
      }
    }
    float best;
    reduce_lanes(bs, bi, &best, out_i + r);
  }
}
#endif

float squared_distance(const float* a, const float* b, int64_t D) {
  float s = 0.f;
  for (int64_t d = 0; d < D; ++d) {
    float t = a[d] - b[d];
    s = fmaf(t, t, s);
  }
  return s;
}

BadIndex first_bad_index(const int32_t* indices, int64_t count, int64_t K) {
  BadIndex bad;
  for (int64_t i = 0; i < count; ++i)
    if (indices[i] < 0 || indices[i] >= K) { bad.position = i; bad.value = indices[i]; break; }
  return bad;
}

template <typename T>
struct AlignedBuffer {  // 32-byte aligned scratch for the packed codebook
  std::vector<T> raw;
  T* ptr;
  explicit AlignedBuffer(size_t n) : raw(n + 32 / sizeof(T)) {
    auto a = reinterpret_cast<uintptr_t>(raw.data());
    ptr = reinterpret_cast<T*>((a + 31) & ~uintptr_t(31));
  }
};

}  // namespace

void vq_nearest(ThreadPool& pool, const float* x, const float* codebook, int64_t N, int64_t D, int64_t K,
                int32_t* indices, float* distances) {
  if (N == 0) return;
  int64_t panels = (K + kPanel - 1) / kPanel;
  AlignedBuffer<float> packed(static_cast<size_t>(panels * D * kPanel));
  std::vector<float> norms(static_cast<size_t>(panels * kPanel));
  pack_codebook(pool, codebook, K, D, packed.ptr, norms.data());
  int64_t blocks = (N + kRows - 1) / kRows;
  // grain: about 2 MFLOP per chunk, so small problems stay on one thread
  int64_t grain = std::max<int64_t>(1, (1 << 21) / std::max<int64_t>(1, 2 * kRows * K * std::max<int64_t>(D, 1)));
  pool.parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      int64_t n0 = b * kRows, rows = std::min<int64_t>(kRows, N - n0);
      const float* xr[kRows];
      for (int r = 0; r < kRows; ++r) xr[r] = x + (n0 + std::min<int64_t>(r, rows - 1)) * D;
      int32_t best[kRows];
      block_argmin(xr, D, packed.ptr, norms.data(), panels, best);
      for (int64_t r = 0; r < rows; ++r) {
        int32_t k = best[r] == kNone ? 0 : best[r];  // only rows with NaN/inf scores; stays in range
        indices[n0 + r] = k;
        distances[n0 + r] = squared_distance(xr[r], codebook + k * D, D);
      }
    }
  });
}

BadIndex vq_gather(ThreadPool& pool, const float* codebook, const int32_t* indices, int64_t count, int64_t D,
                   int64_t K, float* out) {
  BadIndex bad = first_bad_index(indices, count, K);
  if (bad.position >= 0 || D == 0) return bad;
  int64_t grain = std::max<int64_t>(1, 4096 / D);
  pool.parallel_for(count, grain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) std::memcpy(out + i * D, codebook + indices[i] * D, D * sizeof(float));
  });
  return bad;
}

BadIndex vq_stats(ThreadPool& pool, const float* x, const int32_t* indices, int64_t N, int64_t D, int64_t K,
                  float* sums, float* counts) {
  BadIndex bad = first_bad_index(indices, N, K);
  if (bad.position >= 0) return bad;
  std::fill(counts, counts + K, 0.f);
  for (int64_t n = 0; n < N; ++n) counts[indices[n]] += 1.f;
  std::fill(sums, sums + K * D, 0.f);
  if (D == 0) return bad;
  // Tasks own (column chunk, code range) pairs: no atomics, and each sum is accumulated in row
  // order by one task, so the result is deterministic.
  constexpr int64_t kCols = 16;
  int64_t chunks = (D + kCols - 1) / kCols;
  int64_t ranges = std::min<int64_t>(K, std::max<int64_t>(1, (4 * pool.size() + chunks - 1) / chunks));
  pool.parallel_for(chunks * ranges, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t c0 = (t % chunks) * kCols, c1 = std::min(D, c0 + kCols);
      int64_t r = t / chunks, k0 = K * r / ranges, k1 = K * (r + 1) / ranges;
      for (int64_t n = 0; n < N; ++n) {
        int64_t k = indices[n];
        if (k < k0 || k >= k1) continue;
        float* s = sums + k * D;
        const float* xn = x + n * D;
        for (int64_t d = c0; d < c1; ++d) s[d] += xn[d];
      }
    }
  });
  return bad;
}

}  // namespace echogen::cpu
