// VQ codebook kernels: nearest code against a float64 brute force (ties to the lowest index,
// constructed with duplicate codebook rows), gather and stats against direct loops, bad indices
// reported at their first position; with a GPU, every CUDA kernel against its CPU twin (harness cases).
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "echogen/vq.h"
#include "test/harness.h"

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


// CUDA and CPU compute every score with the same FMA chain, so the argmins should agree exactly; a
// difference is accepted only at a float64 near-tie (and counted).
void twin_nearest(test::Report& report, const std::string& name, const std::vector<float>& x, const std::vector<float>& cb,
                  const std::vector<int32_t>& gidx, const std::vector<int32_t>& idx, int64_t N, int64_t D, int64_t K) {
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
  report.expect(near_ties, name + " cuda indices == cpu on " + std::to_string(same) + "/" + std::to_string(N) + " rows, the rest near-ties");
}

test::Case nearest_case(int64_t N, int64_t D, int64_t K, bool with_ref, std::vector<float> cb = {}, std::vector<float> x = {}) {
  using namespace test;
  if (cb.empty()) cb = uniform(K * D);
  if (x.empty()) x = uniform(N * D);
  const std::string name = "vq_nearest " + dims(N, D, K);
  Case c = make_case(name, {in("x", x), in("codebook", cb), out_i32("indices", N).custom(), out("distances", N, 1e-5)},
                     [=](auto be, Args& a) { vq_nearest(be, a.f(0), a.f(1), N, D, K, a.i(2), a.f(3)); });
  c.flops = 2.0 * N * K * D;
  if (with_ref)
    c.check = [=](Report& report, const Outputs& o) { check_nearest(report, name + " cpu", o.i[2], o.f[3], brute_force(x, cb, N, D, K), N, K); };
  c.twin_check = [=](Report& report, const Outputs& gpu, const Outputs& cpu) { twin_nearest(report, name, x, cb, gpu.i[2], cpu.i[2], N, D, K); };
  return c;
}

// gather and stats of a valid assignment (status: their bad positions, both -1).
test::Case gather_stats_case(int64_t N, int64_t D, int64_t K, bool with_ref) {
  using namespace test;
  auto& g = rng();
  // x leans positive: with mean-zero inputs and few sums (K = D = 1), every sum could cancel to near zero and the
  // relative error of float32 sums against float64 ones passed its tolerance in one run of ~60 (a 1.3e-4 miss).
  std::vector<float> cb = uniform(K * D), x = uniform(N * D, -0.25f, 1.f);
  std::vector<int32_t> idx(N);
  for (auto& i : idx) i = static_cast<int32_t>(g() % K);
  std::vector<double> rg, rs, rc;
  if (with_ref) {
    rg.resize(N * D), rs.assign(K * D, 0.0), rc.assign(K, 0.0);
    for (int64_t n = 0; n < N; ++n) {
      rc[idx[n]] += 1;
      for (int64_t d = 0; d < D; ++d) rg[n * D + d] = cb[idx[n] * D + d], rs[idx[n] * D + d] += x[n * D + d];
    }
  }
  Case c = make_case("vq_gather/vq_stats " + dims(N, D, K),
                     {in("codebook", cb), in("x", x), in_i32("indices", idx), out("gather", N * D, 0).with_ref(rg),
                      out("sums", K * D, 1e-5).with_ref(rs, 1e-4), out("counts", K, 0).with_ref(rc)},
                     [=](auto be, Args& a) {
                       a.status[0] = vq_gather(be, a.f(0), a.i(2), N, D, K, a.f(3)).position;
                       a.status[1] = vq_stats(be, a.f(1), a.i(2), N, D, K, a.f(4), a.f(5)).position;
                     });
  c.bytes = 4.0 * (2 * N * D + K * D);
  return c;
}

// An assignment with bad indices: the first one (position, value) is reported, nothing faults.
test::Case bad_index_case(bool stats, int64_t N, int64_t D, int64_t K, std::vector<int32_t> idx, int64_t at, int32_t value) {
  using namespace test;
  Case c = make_case(std::string(stats ? "vq_stats" : "vq_gather") + " bad index at " + std::to_string(at) + " " + dims(N, D, K),
                     {in("codebook", uniform(K * D)), in("x", uniform(N * D)), in_i32("indices", idx),
                      out("gather", N * D).custom(), out("sums", K * D).custom(), out("counts", K).custom()},
                     [=](auto be, Args& a) {
                       BadIndex bad = stats ? vq_stats(be, a.f(1), a.i(2), N, D, K, a.f(4), a.f(5))
                                            : vq_gather(be, a.f(0), a.i(2), N, D, K, a.f(3));
                       a.status[0] = bad.position;
                       a.status[1] = bad.position >= 0 ? bad.value : -1;
                     });
  c.expect_status[0] = at;
  c.expect_status[1] = value;
  return c;
}

}  // namespace

EG_CASES(vq) {
  std::vector<test::Case> cases;
  if (mode == test::Mode::Bench) {
    for (int64_t D : {8, 64})
      for (int64_t K : {512, 16384}) cases.push_back(nearest_case(65536, D, K, false));
    cases.push_back(gather_stats_case(65536, 64, 4096, false));
    return cases;
  }
  for (int64_t N : {1, 7, 33, 130})
    for (int64_t D : {1, 8, 24, 48, 80, 192})
      for (int64_t K : {1, 5, 67, 513}) {
        if (N * D * K > 4000000 && N != 130) continue;
        cases.push_back(nearest_case(N, D, K, true));
      }
  for (auto s : {std::array<int64_t, 3>{4096, 48, 512}, {1000, 192, 1031}, {5000, 3, 70}})  // larger: CUDA vs CPU
    cases.push_back(nearest_case(s[0], s[1], s[2], false));
  {
    // exact ties go to the lowest index, at distance 0: code 60 copies code 9, codes 30 and 50
    // copy code 20; every x row sits exactly on one of them
    const int64_t N = 41, D = 24, K = 67;
    std::vector<float> cb = test::uniform(K * D), x(N * D);
    auto copy_row = [&](int64_t from, int64_t to) { std::copy_n(cb.begin() + from * D, D, cb.begin() + to * D); };
    copy_row(9, 60);
    copy_row(20, 30);
    copy_row(20, 50);
    const int64_t targets[] = {9, 60, 20, 30, 50};
    for (int64_t n = 0; n < N; ++n) std::copy_n(cb.begin() + targets[n % 5] * D, D, x.begin() + n * D);
    test::Case c = nearest_case(N, D, K, false, cb, x);
    c.name = "vq_nearest exact ties";
    auto check = [=](test::Report& report, const test::Outputs& o) {
      bool ok = true;
      for (int64_t n = 0; n < N; ++n) ok = ok && o.i[2][n] == (targets[n % 5] == 9 || targets[n % 5] == 60 ? 9 : 20) && o.f[3][n] == 0.f;
      report.expect(ok, "vq_nearest: exact ties go to the lowest index, at distance 0");
    };
    c.check = check;
    c.twin_check = [check](test::Report& report, const test::Outputs& gpu, const test::Outputs&) { check(report, gpu); };
    cases.push_back(std::move(c));
  }
  auto& g = test::rng();
  for (int64_t D : {1, 8, 48, 80})
    for (int64_t K : {1, 67, 513}) cases.push_back(gather_stats_case(1 + static_cast<int64_t>(g() % 900), D, K, true));
  for (auto s : {std::array<int64_t, 3>{4096, 48, 512}, {1000, 192, 1031}, {5000, 3, 70}})
    cases.push_back(gather_stats_case(s[0], s[1], s[2], true));
  // the first bad index is reported, whatever its sign
  cases.push_back(bad_index_case(false, 6, 3, 5, {0, 4, 2, 5, -1, 9}, 3, 5));
  cases.push_back(bad_index_case(true, 6, 3, 5, {0, 4, 2, 1, -1, 9}, 4, -1));
  for (auto s : {std::array<int64_t, 3>{7, 24, 5}, {4096, 48, 512}, {5000, 3, 70}}) {
    const int64_t N = s[0], D = s[1], K = s[2];
    std::vector<int32_t> idx(N);
    for (auto& i : idx) i = static_cast<int32_t>(g() % K);
    const int64_t at = static_cast<int64_t>(g() % (N - 1));
    idx[at] = static_cast<int32_t>(K + 3);
    idx[N - 1] = -2;  // and a later one
    for (bool stats : {false, true}) cases.push_back(bad_index_case(stats, N, D, K, idx, at, static_cast<int32_t>(K + 3)));
  }
  return cases;
}
