// Gumbel-Softmax: the CPU kernel against a float64 reference drawing the same Philox noise, the
// backward against its closed form, and (with a GPU) CUDA against CPU: identical indices (harness cases).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/philox.h"
#include "echogen/gumbel.h"
#include "test/harness.h"

using namespace echogen;

namespace {

const float kNegInf = -std::numeric_limits<float>::infinity();

struct Ref {
  std::vector<double> soft;
  std::vector<int> index;
  std::vector<double> gap;  // top minus runner-up of logits + noise: a sample is ambiguous when tiny
};

Ref reference(const std::vector<float>& logits, int64_t N, int64_t V, const GumbelParams& p) {
  const GumbelKey key = gumbel_key(p.seed, p.offset);
  Ref r{std::vector<double>(N * V), std::vector<int>(N, -1), std::vector<double>(N, INFINITY)};
  std::vector<double> y(V);
  for (int64_t n = 0; n < N; ++n) {
    double best = -INFINITY, second = -INFINITY;
    for (int64_t v = 0; v < V; ++v) {
      int64_t e = n * V + v;
      Philox4 w = gumbel_block(key, gumbel_counter(e));
      double u = philox_uniform(w.v[(e >> 3) & 3]);
      y[v] = logits[e] - std::log(-std::log(u));
      if (y[v] > best) { second = best; best = y[v]; r.index[n] = static_cast<int>(v); }
      else if (y[v] > second) second = y[v];
    }
    r.gap[n] = best - second;
    if (best == -INFINITY) { r.index[n] = -1; continue; }
    double sum = 0;
    for (int64_t v = 0; v < V; ++v) sum += std::exp((y[v] - best) / p.tau);
    for (int64_t v = 0; v < V; ++v) r.soft[n * V + v] = std::exp((y[v] - best) / p.tau) / sum;
  }
  return r;
}

std::vector<float> random_logits(int64_t N, int64_t V, bool with_neg_inf) {
  std::vector<float> l = test::uniform(N * V, -3.f, 3.f);
  if (with_neg_inf) {
    for (int64_t i = 0; i < N * V; i += 3) l[i] = kNegInf;
    if (N > 2) std::fill(l.begin() + V, l.begin() + 2 * V, kNegInf);  // row 1: nothing to sample
  }
  return l;
}

std::string size_name(int64_t N, int64_t V, float tau) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "N=%lld V=%lld tau=%g", static_cast<long long>(N), static_cast<long long>(V), tau);
  return buf;
}


test::Case forward_case(int64_t N, int64_t V, const GumbelParams& p, bool neg_inf, bool with_ref) {
  using namespace test;
  std::vector<float> logits = random_logits(N, V, neg_inf);
  Ref ref = with_ref ? reference(logits, N, V, p) : Ref{};
  // the indices are compared with the reference below (a near-tie may pick the runner-up) and,
  // CUDA against CPU, bit for bit by the harness
  Case c = make_case("gumbel " + size_name(N, V, p.tau),
                     {in("logits", logits), out("soft", N * V, 1e-5).with_ref(ref.soft, 1e-4), out("hard", N * V, 0), out_i32("indices", N)},
                     [=](auto be, Args& a) { gumbel_softmax(be, a.f(0), N, V, p, a.f(1), a.f(2), a.i(3)); });
  c.bytes = 4.0 * (3 * N * V + N);
  if (!with_ref) return c;
  const std::string name = size_name(N, V, p.tau);
  c.check = [=](Report& report, const Outputs& o) {
    const std::vector<float>& soft = o.f[1];
    const std::vector<float>& hard = o.f[2];
    const std::vector<int32_t>& idx = o.i[3];
    bool idx_ok = true, hard_ok = true, sums_ok = true;
    for (int64_t n = 0; n < N; ++n) {
      idx_ok = idx_ok && (idx[n] == ref.index[n] || ref.gap[n] < 1e-5);
      idx_ok = idx_ok && (idx[n] < 0 ? ref.index[n] < 0 : logits[n * V + idx[n]] != kNegInf);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) {
        sum += soft[n * V + v];
        hard_ok = hard_ok && hard[n * V + v] == (v == idx[n] ? 1.f : 0.f);
      }
      sums_ok = sums_ok && (ref.index[n] < 0 ? sum == 0 : std::fabs(sum - 1) < 1e-5);
    }
    report.expect(idx_ok, "gumbel indices = reference argmax " + name);
    report.expect(hard_ok, "gumbel hard = one-hot(indices) " + name);
    report.expect(sums_ok, "gumbel soft rows sum to 1 (0 for all -inf rows) " + name);
  };
  return c;
}

test::Case backward_case(int64_t N, int64_t V, float tau, bool with_ref) {
  using namespace test;
  std::vector<float> dy = uniform(N * V), soft = uniform(N * V, 0.f, 1.f);
  for (int64_t n = 0; n < N; ++n) {  // rows of a real softmax
    float sum = 0;
    for (int64_t v = 0; v < V; ++v) sum += soft[n * V + v];
    for (int64_t v = 0; v < V; ++v) soft[n * V + v] /= sum;
  }
  std::vector<double> ref;
  if (with_ref) {
    ref.resize(N * V);
    for (int64_t n = 0; n < N; ++n) {
      double d = 0;
      for (int64_t v = 0; v < V; ++v) d += static_cast<double>(dy[n * V + v]) * soft[n * V + v];
      for (int64_t v = 0; v < V; ++v) ref[n * V + v] = soft[n * V + v] * (dy[n * V + v] - d) / tau;
    }
  }
  Case c = make_case("gumbel backward " + size_name(N, V, tau), {in("dy", dy), in("soft", soft), out("dx", N * V, 1e-5).with_ref(ref, 1e-3)},
                     [=](auto be, Args& a) { gumbel_softmax_backward(be, a.f(0), a.f(1), N, V, tau, a.f(2)); });
  c.bytes = 4.0 * 3 * N * V;
  return c;
}

}  // namespace

EG_CASES(gumbel) {
  std::vector<test::Case> cases;
  auto& g = test::rng();
  if (mode == test::Mode::Bench) {
    GumbelParams p;
    p.seed = 7, p.tau = 0.7f;
    for (auto [N, V] : {std::pair<int64_t, int64_t>{4096, 1024}, {16384, 4096}}) {
      cases.push_back(forward_case(N, V, p, false, false));
      cases.push_back(backward_case(N, V, p.tau, false));
    }
    return cases;
  }
  // CPU against the float64 reference at every tau; V also spans every CUDA kernel instance
  // (1..8 counters per thread in registers, and the looped form)
  const int64_t sizes[][2] = {{1, 1}, {7, 5}, {33, 37}, {5, 130}, {9, 1031}, {3, 4099}, {64, 1000}, {4096, 1024}, {17, 4099}, {5, 9000}, {3, 33333}};
  for (auto& s : sizes)
    for (float tau : {0.3f, 1.f, 2.5f}) {
      const int64_t N = s[0], V = s[1];
      if (N * V > 200000 && tau != 0.3f) continue;  // the large sizes once
      GumbelParams p;
      p.seed = g() >> 11;
      p.offset = g() % 1000;
      p.tau = tau;
      cases.push_back(forward_case(N, V, p, V > 4, true));
    }
  for (auto& s : sizes) cases.push_back(backward_case(s[0], s[1], 0.7f, true));
  return cases;
}
