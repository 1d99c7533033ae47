// Gumbel-Softmax: the CPU kernel against a float64 reference drawing the same Philox noise, the
// backward against its closed form, and (with a GPU) CUDA against CPU: identical indices.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/philox.h"
#include "echogen/gumbel.h"
#include "test/check.h"
#include "test/device_buffer.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

using namespace echogen;

namespace {

const float kNegInf = -std::numeric_limits<float>::infinity();

struct Ref {
  std::vector<double> soft;
  std::vector<int> index;
  std::vector<double> gap;  // top minus runner-up of logits + noise: a sample is ambiguous when tiny
};

Ref reference(const std::vector<float>& logits, int64_t N, int64_t V, const GumbelParams& p) {
  GumbelKey key{static_cast<uint32_t>(p.seed), static_cast<uint32_t>(p.seed >> 32), static_cast<uint32_t>(p.offset),
                static_cast<uint32_t>(p.offset >> 32)};
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

}  // namespace

EG_CHECK(gumbel_cpu_vs_reference) {
  ThreadPool pool(3);
  auto& g = test::rng();
  const int64_t sizes[][2] = {{1, 1}, {7, 5}, {33, 37}, {5, 130}, {9, 1031}, {3, 4099}};
  for (auto& s : sizes)
    for (float tau : {0.3f, 1.f, 2.5f}) {
      int64_t N = s[0], V = s[1];
      GumbelParams p;
      p.seed = g() >> 11;
      p.offset = g() % 1000;
      p.tau = tau;
      std::vector<float> logits = random_logits(N, V, V > 4);
      std::vector<float> soft = test::poison(N * V), hard = test::poison(N * V);
      std::vector<int32_t> idx(N, -7);
      cpu::gumbel_softmax(pool, logits.data(), N, V, p, soft.data(), hard.data(), idx.data());
      Ref ref = reference(logits, N, V, p);
      std::string name = size_name(N, V, tau);
      report.close("gumbel soft " + name, soft.data(), ref.soft.data(), N * V, 1e-4);
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
    }
}

EG_CHECK(gumbel_backward_vs_reference) {
  ThreadPool pool(3);
  const int64_t sizes[][2] = {{1, 1}, {7, 5}, {33, 37}, {9, 1031}};
  for (auto& s : sizes) {
    int64_t N = s[0], V = s[1];
    float tau = 0.7f;
    std::vector<float> dy = test::uniform(N * V), soft = test::uniform(N * V, 0.f, 1.f), out = test::poison(N * V);
    for (int64_t n = 0; n < N; ++n) {  // rows of a real softmax
      float sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += soft[n * V + v];
      for (int64_t v = 0; v < V; ++v) soft[n * V + v] /= sum;
    }
    cpu::gumbel_softmax_backward(pool, dy.data(), soft.data(), N, V, tau, out.data());
    std::vector<double> ref(N * V);
    for (int64_t n = 0; n < N; ++n) {
      double d = 0;
      for (int64_t v = 0; v < V; ++v) d += static_cast<double>(dy[n * V + v]) * soft[n * V + v];
      for (int64_t v = 0; v < V; ++v) ref[n * V + v] = soft[n * V + v] * (dy[n * V + v] - d) / tau;
    }
    report.close("gumbel backward " + size_name(N, V, tau), out.data(), ref.data(), N * V, 1e-3);
  }
}

#ifdef ECHOGEN_WITH_CUDA
using test::DeviceBuffer;

EG_CHECK(gumbel_cuda_vs_cpu) {
  if (!test::begin_cuda_check()) return;
  ThreadPool pool(3);
  void* stream = cuda::create_stream();
  auto& g = test::rng();
  // V spans every kernel instance: 1..8 counters per thread in registers, and the looped form
  const int64_t sizes[][2] = {{1, 1}, {7, 5}, {33, 37}, {64, 1000}, {4096, 1024}, {17, 4099}, {5, 9000}, {3, 33333}};
  for (auto& s : sizes) {
    int64_t N = s[0], V = s[1];
    GumbelParams p;
    p.seed = g() >> 11;
    p.offset = g() >> 11;
    p.tau = 0.5f;
    std::vector<float> logits = random_logits(N, V, true);
    std::vector<float> soft(N * V), hard(N * V), dsoft = test::poison(N * V), dhard = test::poison(N * V);
    std::vector<int32_t> idx(N), didx(N, -7);
    cpu::gumbel_softmax(pool, logits.data(), N, V, p, soft.data(), hard.data(), idx.data());
    size_t bytes = N * V * sizeof(float);
    DeviceBuffer dl(bytes), ds(bytes), dh(bytes), di(N * sizeof(int32_t));
    cuda::copy_h2d(dl.ptr, logits.data(), bytes, stream);
    cuda::copy_h2d(ds.ptr, dsoft.data(), bytes, stream);  // poison on the device too
    cuda::copy_h2d(dh.ptr, dhard.data(), bytes, stream);
    cuda::gumbel_softmax(stream, dl.as<float>(), N, V, p, ds.as<float>(), dh.as<float>(), di.as<int32_t>());
    cuda::copy_d2h(dsoft.data(), ds.ptr, bytes, stream);
    cuda::copy_d2h(dhard.data(), dh.ptr, bytes, stream);
    cuda::copy_d2h(didx.data(), di.ptr, N * sizeof(int32_t), stream);
    std::string name = size_name(N, V, p.tau);
    report.expect(idx == didx, "gumbel CUDA indices == CPU bit for bit " + name);
    report.expect(hard == dhard, "gumbel CUDA hard == CPU " + name);
    report.close("gumbel CUDA soft vs CPU " + name, dsoft.data(), soft.data(), N * V, 1e-5);

    std::vector<float> dy = test::uniform(N * V), back(N * V), dback = test::poison(N * V);
    cpu::gumbel_softmax_backward(pool, dy.data(), soft.data(), N, V, p.tau, back.data());
    DeviceBuffer ddy(bytes), dout(bytes);
    cuda::copy_h2d(ddy.ptr, dy.data(), bytes, stream);
    cuda::copy_h2d(ds.ptr, soft.data(), bytes, stream);
    cuda::gumbel_softmax_backward(stream, ddy.as<float>(), ds.as<float>(), N, V, p.tau, dout.as<float>());
    cuda::copy_d2h(dback.data(), dout.ptr, bytes, stream);
    report.close("gumbel CUDA backward vs CPU " + name, dback.data(), back.data(), N * V, 1e-5);
  }
  cuda::destroy_stream(stream);
}
#endif
