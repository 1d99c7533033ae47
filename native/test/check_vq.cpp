// VQ codebook kernels: nearest code against a float64 brute force (ties to the lowest index,
// constructed with duplicate codebook rows), gather and stats against direct loops, bad indices
// reported at their first position; with a GPU, every CUDA kernel against its CPU twin.
#include <algorithm>
#include <cmath>
#include <vector>

#include "echogen/vq.h"
#include "test/check.h"
#include "test/device_buffer.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

using namespace echogen;

namespace {

struct NearestRef {
  std::vector<double> dist;  // [N,K] squared distances in float64
  std::vector<int> best;
  double scale;  // max ||x||^2 + ||c||^2: the size of the f32 rounding error of a score
};

NearestRef brute_force(const std::vector<float>& x, const std::vector<float>& cb, int64_t N, int64_t D, int64_t K) {
  NearestRef r{std::vector<double>(N * K), std::vector<int>(N, 0), 0};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      double s = 0, xx = 0, cc = 0;
      for (int64_t d = 0; d < D; ++d) {
        double a = x[n * D + d], b = cb[k * D + d];
        s += (a - b) * (a - b);
        xx += a * a;
        cc += b * b;
      }
      r.dist[n * K + k] = s;
      r.scale = std::max(r.scale, xx + cc);
      if (s < r.dist[n * K + r.best[n]]) r.best[n] = static_cast<int>(k);
    }
  return r;
}

std::string dims(int64_t N, int64_t D, int64_t K) {
  return "N=" + std::to_string(N) + " D=" + std::to_string(D) + " K=" + std::to_string(K);
}

// Indices must be the reference argmin, or within f32 rounding of it (a near-tie).
void check_nearest(test::Report& report, const std::string& what, const std::vector<int32_t>& idx,
                   const std::vector<float>& dist, const NearestRef& ref, int64_t N, int64_t K) {
  int exact = 0;
  bool ok = true;
  std::vector<double> chosen(N);
  for (int64_t n = 0; n < N; ++n) {
    bool in_range = idx[n] >= 0 && idx[n] < K;
    ok = ok && in_range;
    if (!in_range) continue;
    double got = ref.dist[n * K + idx[n]], best = ref.dist[n * K + ref.best[n]];
    exact += idx[n] == ref.best[n];
    ok = ok && (idx[n] == ref.best[n] || got - best <= 1e-5 * ref.scale);
    chosen[n] = got;
  }
  report.expect(ok, what + " indices: " + std::to_string(exact) + "/" + std::to_string(N) +
                        " equal the float64 argmin, the rest near-ties");
  report.close(what + " distances", dist.data(), chosen.data(), N, 1e-4);
}

}  // namespace

EG_CHECK(vq_nearest_cpu_vs_reference) {
  ThreadPool pool(3);
  for (int64_t N : {1, 7, 33, 130})
    for (int64_t D : {1, 8, 24, 48, 80, 192})
      for (int64_t K : {1, 5, 67, 513}) {
        if (N * D * K > 4000000 && N != 130) continue;
        std::vector<float> x = test::uniform(N * D), cb = test::uniform(K * D), dist = test::poison(N);
        std::vector<int32_t> idx(N, -7);
        cpu::vq_nearest(pool, x.data(), cb.data(), N, D, K, idx.data(), dist.data());
        check_nearest(report, "vq_nearest CPU " + dims(N, D, K), idx, dist, brute_force(x, cb, N, D, K), N, K);
      }
}

EG_CHECK(vq_nearest_ties_lowest_index) {
  ThreadPool pool(3);
  const int64_t N = 41, D = 24, K = 67;
  std::vector<float> cb = test::uniform(K * D), x(N * D);
  // code 60 copies code 9, codes 30 and 50 copy code 20; every x row sits exactly on one of them
  auto copy_row = [&](int64_t from, int64_t to) { std::copy_n(cb.begin() + from * D, D, cb.begin() + to * D); };
  copy_row(9, 60);
  copy_row(20, 30);
  copy_row(20, 50);
  const int64_t targets[] = {9, 60, 20, 30, 50};
  for (int64_t n = 0; n < N; ++n) std::copy_n(cb.begin() + targets[n % 5] * D, D, x.begin() + n * D);
  std::vector<int32_t> idx(N, -7);
  std::vector<float> dist = test::poison(N);
  cpu::vq_nearest(pool, x.data(), cb.data(), N, D, K, idx.data(), dist.data());
  bool ok = true;
  for (int64_t n = 0; n < N; ++n) ok = ok && idx[n] == (targets[n % 5] == 9 || targets[n % 5] == 60 ? 9 : 20) && dist[n] == 0.f;
  report.expect(ok, "vq_nearest: exact ties go to the lowest index, at distance 0");
}

EG_CHECK(vq_gather_and_stats_cpu) {
  ThreadPool pool(3);
  auto& g = test::rng();
  for (int64_t D : {1, 8, 48, 80})
    for (int64_t K : {1, 67, 513}) {
      int64_t N = 1 + static_cast<int64_t>(g() % 900);
      std::vector<float> cb = test::uniform(K * D), x = test::uniform(N * D);
      std::vector<int32_t> idx(N);
      for (auto& i : idx) i = static_cast<int32_t>(g() % K);
      std::vector<float> out = test::poison(N * D);
      BadIndex bad = cpu::vq_gather(pool, cb.data(), idx.data(), N, D, K, out.data());
      bool same = bad.position == -1;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < D; ++d) same = same && out[n * D + d] == cb[idx[n] * D + d];
      report.expect(same, "vq_gather CPU copies the rows " + dims(N, D, K));

      std::vector<float> sums = test::poison(K * D), counts = test::poison(K);
      bad = cpu::vq_stats(pool, x.data(), idx.data(), N, D, K, sums.data(), counts.data());
      std::vector<double> ref_sums(K * D, 0.0), ref_counts(K, 0.0);
      for (int64_t n = 0; n < N; ++n) {
        ref_counts[idx[n]] += 1;
        for (int64_t d = 0; d < D; ++d) ref_sums[idx[n] * D + d] += x[n * D + d];
      }
      report.expect(bad.position == -1, "vq_stats CPU accepts valid indices " + dims(N, D, K));
      report.close("vq_stats CPU sums " + dims(N, D, K), sums.data(), ref_sums.data(), K * D, 1e-4);
      report.close("vq_stats CPU counts " + dims(N, D, K), counts.data(), ref_counts.data(), K, 0);
    }
  // the first bad index is reported, whatever its sign
  std::vector<float> cb = test::uniform(5 * 3), out(6 * 3), sums(15), counts(5);
  std::vector<int32_t> idx = {0, 4, 2, 5, -1, 9};
  BadIndex bad = cpu::vq_gather(pool, cb.data(), idx.data(), 6, 3, 5, out.data());
  report.expect(bad.position == 3 && bad.value == 5, "vq_gather CPU reports the first bad index (position 3, value 5)");
  idx[3] = 1;
  bad = cpu::vq_stats(pool, out.data(), idx.data(), 6, 3, 5, sums.data(), counts.data());
  report.expect(bad.position == 4 && bad.value == -1, "vq_stats CPU reports the first bad index (position 4, value -1)");
}

#ifdef ECHOGEN_WITH_CUDA
using test::DeviceBuffer;
using test::download;
using test::upload;

EG_CHECK(vq_cuda_vs_cpu) {
  if (!test::begin_cuda_check()) return;
  ThreadPool pool(3);
  void* stream = cuda::create_stream();
  auto& g = test::rng();
  const int64_t shapes[][3] = {{1, 8, 1}, {7, 24, 5}, {33, 48, 67}, {130, 80, 513}, {4096, 48, 512}, {1000, 192, 1031}, {5000, 3, 70}};
  for (auto& s : shapes) {
    int64_t N = s[0], D = s[1], K = s[2];
    std::vector<float> x = test::uniform(N * D), cb = test::uniform(K * D), dist(N);
    std::vector<int32_t> idx(N);
    cpu::vq_nearest(pool, x.data(), cb.data(), N, D, K, idx.data(), dist.data());
    DeviceBuffer dx = upload(x, stream), dcb = upload(cb, stream), didx = upload(std::vector<int32_t>(N, -7), stream),
                 ddist = upload(test::poison(N), stream);
    cuda::vq_nearest(stream, dx.as<float>(), dcb.as<float>(), N, D, K, didx.as<int32_t>(), ddist.as<float>());
    std::vector<int32_t> gidx = download<int32_t>(didx, N, stream);
    std::vector<float> gdist = download<float>(ddist, N, stream);
    // both backends compute every score with the same FMA chain, so the argmins should agree
    // exactly; a difference is accepted only at a float64 near-tie (and counted)
    int64_t same = 0;
    bool near_ties = true;
    for (int64_t n = 0; n < N; ++n) {
      if (gidx[n] == idx[n]) { ++same; continue; }
      if (gidx[n] < 0 || gidx[n] >= K) { near_ties = false; continue; }
      double dg = 0, dc = 0, scale = 0;
      for (int64_t d = 0; d < D; ++d) {
        double xv = x[n * D + d], a = cb[gidx[n] * D + d], b = cb[idx[n] * D + d];
        dg += (xv - a) * (xv - a);
        dc += (xv - b) * (xv - b);
        scale += xv * xv + a * a + b * b;
      }
      near_ties = near_ties && std::fabs(dg - dc) <= 1e-5 * scale;
    }
    report.expect(near_ties, "vq_nearest CUDA indices == CPU on " + std::to_string(same) + "/" + std::to_string(N) +
                                 " rows, the rest near-ties " + dims(N, D, K));
    report.close("vq_nearest CUDA distances vs CPU " + dims(N, D, K), gdist.data(), dist.data(), N, 1e-5);

    std::vector<int32_t> assign(N);
    for (auto& i : assign) i = static_cast<int32_t>(g() % K);
    std::vector<float> out(N * D), sums(K * D), counts(K);
    cpu::vq_gather(pool, cb.data(), assign.data(), N, D, K, out.data());
    cpu::vq_stats(pool, x.data(), assign.data(), N, D, K, sums.data(), counts.data());
    DeviceBuffer da = upload(assign, stream), dout = upload(test::poison(N * D), stream),
                 dsums = upload(test::poison(K * D), stream), dcounts = upload(test::poison(K), stream);
    BadIndex bad = cuda::vq_gather(stream, dcb.as<float>(), da.as<int32_t>(), N, D, K, dout.as<float>());
    report.expect(bad.position == -1 && download<float>(dout, N * D, stream) == out, "vq_gather CUDA == CPU " + dims(N, D, K));
    bad = cuda::vq_stats(stream, dx.as<float>(), da.as<int32_t>(), N, D, K, dsums.as<float>(), dcounts.as<float>());
    report.expect(bad.position == -1, "vq_stats CUDA accepts valid indices " + dims(N, D, K));
    report.close("vq_stats CUDA sums vs CPU " + dims(N, D, K), download<float>(dsums, K * D, stream).data(), sums.data(), K * D, 1e-5);
    report.close("vq_stats CUDA counts vs CPU " + dims(N, D, K), download<float>(dcounts, K, stream).data(), counts.data(), K, 0);

    // a bad index at a random position (plus a later one): the first is reported, nothing faults
    int64_t at = static_cast<int64_t>(g() % N);
    assign[at] = static_cast<int32_t>(K + 3);
    if (at + 1 < N) assign[N - 1] = -2;
    DeviceBuffer dbad = upload(assign, stream);
    bad = cuda::vq_gather(stream, dcb.as<float>(), dbad.as<int32_t>(), N, D, K, dout.as<float>());
    report.expect(bad.position == at && bad.value == K + 3, "vq_gather CUDA reports the first bad index " + dims(N, D, K));
    bad = cuda::vq_stats(stream, dx.as<float>(), dbad.as<int32_t>(), N, D, K, dsums.as<float>(), dcounts.as<float>());
    report.expect(bad.position == at && bad.value == K + 3, "vq_stats CUDA reports the first bad index " + dims(N, D, K));
  }
  cuda::destroy_stream(stream);
}
#endif
