// Layer norm and (log-)softmax over the last dimension on the CPU, one row per loop iteration,
// rows split over the pool. Row statistics are accumulated in double.
#include "echogen/norm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/simd.h"

namespace echogen::cpu {

namespace {
int64_t row_grain(int64_t d) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, d)); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

void layer_norm(ThreadPool& pool, int64_t rows, int64_t d, const float* x, const float* gamma, const float* beta,
                float eps, float* y, float* mean, float* rstd) {
  pool.parallel_for(rows, row_grain(d), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * d;
      // two passes: the mean, then the squared deviations from it (no cancellation)
      double s, q;
      simd::row_moments(xr, d, 0.0, &s, &q);
      const double mu = s / d;
      simd::row_moments(xr, d, mu, &s, &q);
      const float m = static_cast<float>(mu), rs = static_cast<float>(1.0 / std::sqrt(q / d + eps));
      float* yr = y + r * d;
      for (int64_t j = 0; j < d; ++j) yr[j] = (xr[j] - m) * rs * gamma[j] + beta[j];
      mean[r] = m;
      rstd[r] = rs;
    }
  });
}

void layer_norm_backward(ThreadPool& pool, int64_t rows, int64_t d, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* rstd, float* dx, float* dgamma,
                         float* dbeta) {
  if (d == 0) return;  // dx, dgamma, dbeta are all empty (and a huge `rows` need not be walked)
  // dgamma/dbeta are column sums over rows: partials per fixed block of rows, combined in order.
  const int64_t per_block = std::max<int64_t>(8, row_grain(d) * 4);
  const int64_t blocks = std::max<int64_t>(1, ceil_div(rows, per_block));
  std::vector<double> pg(static_cast<size_t>(blocks * d), 0.0), pb(static_cast<size_t>(blocks * d), 0.0);
  pool.parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      double* g = pg.data() + blk * d;
      double* bb = pb.data() + blk * d;
      for (int64_t r = blk * per_block, end = std::min(rows, r + per_block); r < end; ++r) {
        const float* xr = x + r * d;
        const float* gr = dy + r * d;
        const float m = mean[r], rs = rstd[r];
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * gamma; xhat is
        // recomputed in the second pass rather than stored.
        float* dr = dx + r * d;
        int64_t j = 0;
        float s1 = 0.f, s2 = 0.f;
#ifdef ECHOGEN_AVX2
        {
          const __m256 mv = _mm256_set1_ps(m), rv = _mm256_set1_ps(rs);
          __m256 a1v = _mm256_setzero_ps(), a2v = _mm256_setzero_ps();
          for (; j + 8 <= d; j += 8) {
            const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), mv), rv);
            const __m256 gv = _mm256_loadu_ps(gr + j);
            const __m256 dxh = _mm256_mul_ps(gv, _mm256_loadu_ps(gamma + j));
            a1v = _mm256_add_ps(a1v, dxh);
            a2v = _mm256_fmadd_ps(dxh, xh, a2v);
            // the column sums in double: dgamma/dbeta add up every row of the block
            const __m256 gx = _mm256_mul_ps(gv, xh);
            _mm256_storeu_pd(g + j, _mm256_add_pd(_mm256_loadu_pd(g + j), _mm256_cvtps_pd(_mm256_castps256_ps128(gx))));
            _mm256_storeu_pd(g + j + 4, _mm256_add_pd(_mm256_loadu_pd(g + j + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(gx, 1))));
            _mm256_storeu_pd(bb + j, _mm256_add_pd(_mm256_loadu_pd(bb + j), _mm256_cvtps_pd(_mm256_castps256_ps128(gv))));
            _mm256_storeu_pd(bb + j + 4, _mm256_add_pd(_mm256_loadu_pd(bb + j + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(gv, 1))));
          }
          s1 = simd::hsum8(a1v);
          s2 = simd::hsum8(a2v);
        }
#endif
        for (int64_t k = j; k < d; ++k) {
          const float xh = (xr[k] - m) * rs, dxh = gr[k] * gamma[k];
          s1 += dxh;
          s2 += dxh * xh;
          g[k] += gr[k] * xh;
          bb[k] += gr[k];
        }
        const float a1 = s1 / d, a2 = s2 / d;
        for (int64_t k = 0; k < d; ++k) dr[k] = rs * (gr[k] * gamma[k] - a1 - (xr[k] - m) * rs * a2);
      }
    }
  });
  for (int64_t j = 0; j < d; ++j) {
    double sg = 0, sb = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sg += pg[static_cast<size_t>(blk * d + j)];
      sb += pb[static_cast<size_t>(blk * d + j)];
    }
    dgamma[j] = static_cast<float>(sg);
    dbeta[j] = static_cast<float>(sb);
  }
}

void softmax(ThreadPool& pool, int64_t rows, int64_t d, const float* x, bool log, float* y) {
  if (rows * d == 0) return;  // a [2^31 - 1, 0] input once looped over its 2^31 empty rows (28 s)
  pool.parallel_for(rows, row_grain(d), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * d;
      float* yr = y + r * d;
      const float mx = simd::row_max(xr, d);
      if (mx == -std::numeric_limits<float>::infinity()) {  // nothing to normalise over
        for (int64_t j = 0; j < d; ++j) yr[j] = log ? mx : 0.f;
        continue;
      }
      if (log) {
        const float lse = mx + std::log(simd::exp_shift_total(xr, d, mx));
        for (int64_t j = 0; j < d; ++j) yr[j] = xr[j] - lse;
      } else {
        const float inv = 1.f / simd::exp_shift_sum(xr, d, mx, yr);
        for (int64_t j = 0; j < d; ++j) yr[j] *= inv;
      }
    }
  });
}

void softmax_backward(ThreadPool& pool, int64_t rows, int64_t d, const float* y, const float* dy, bool log, float* dx) {
  if (rows * d == 0) return;  // nothing to write (and no empty rows to walk)
  pool.parallel_for(rows, row_grain(d), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* yr = y + r * d;
      const float* gr = dy + r * d;
      float* dr = dx + r * d;
      if (log) {  // dx = dy - softmax * sum(dy), softmax = exp(y)
        const float s = simd::row_sum(gr, d);
        simd::exp_shift_sum(yr, d, 0.f, dr);
        for (int64_t j = 0; j < d; ++j) dr[j] = gr[j] - dr[j] * s;
      } else {
        const float s = simd::row_dot(gr, yr, d);
        for (int64_t j = 0; j < d; ++j) dr[j] = yr[j] * (gr[j] - s);
      }
    }
  });
}

}  // namespace echogen::cpu
