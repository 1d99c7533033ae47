// Fused attention: the CPU kernels against a float64 reference that builds the whole score
// matrix, and (with a GPU) the CUDA kernels against both, on random odd sizes with causal,
// 2-D and 3-D masks, Tq != Tk and rows that see no key.
#include <cmath>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "echogen/attention.h"
#include "test/check.h"

#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace {

using echogen::AttentionParams;
using Vec = std::vector<float>;
using Ref = std::vector<double>;

struct Case {
  int64_t B, H, Tq, Tk, D;
  bool causal;
  int mask_rank;  // 0 (none), 2 or 3
};

struct RefOut {
  Ref out, lse, dq, dk, dv;
};

bool visible(const AttentionParams& p, const int32_t* mask, int64_t b, int64_t i, int64_t j) {
  if (p.causal && j > i + p.Tk - p.Tq) return false;
  if (mask && !mask[(p.mask_batched ? b * p.Tq * p.Tk : 0) + i * p.Tk + j]) return false;
  return true;
}

// Plain softmax attention and its gradient in double, one (b, h) at a time.
RefOut reference(const AttentionParams& p, const int32_t* mask, const Vec& q, const Vec& k, const Vec& v,
                 const Vec& dout) {
  const int64_t Tq = p.Tq, Tk = p.Tk, D = p.D;
  RefOut r;
  r.out.assign(q.size(), 0), r.lse.assign(p.B * p.H * Tq, 0), r.dq.assign(q.size(), 0);
  r.dk.assign(k.size(), 0), r.dv.assign(v.size(), 0);
  std::vector<double> P(Tq * Tk), dS(Tq * Tk);
  for (int64_t bh = 0; bh < p.B * p.H; ++bh) {
    const int64_t b = bh / p.H, qo = bh * Tq * D, ko = bh * Tk * D;
    for (int64_t i = 0; i < Tq; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < Tk; ++j) {
        double s = -INFINITY;
        if (visible(p, mask, b, i, j)) {
          s = 0;
          for (int64_t c = 0; c < D; ++c) s += double(q[qo + i * D + c]) * k[ko + j * D + c];
          s *= p.scale;
        }
        P[i * Tk + j] = s;
        mx = std::max(mx, s);
      }
      double sum = 0;
      for (int64_t j = 0; j < Tk; ++j) sum += P[i * Tk + j] == -INFINITY ? 0 : std::exp(P[i * Tk + j] - mx);
      r.lse[bh * Tq + i] = sum > 0 ? mx + std::log(sum) : -INFINITY;
      for (int64_t j = 0; j < Tk; ++j) {
        const double s = P[i * Tk + j];
        P[i * Tk + j] = s == -INFINITY ? 0 : std::exp(s - mx) / sum;
        for (int64_t c = 0; c < D; ++c) r.out[qo + i * D + c] += P[i * Tk + j] * v[ko + j * D + c];
      }
      // dS = P (dP - rowsum(P dP)), dP = dO V^T
      double delta = 0;
      for (int64_t j = 0; j < Tk; ++j) {
        double dp = 0;
        for (int64_t c = 0; c < D; ++c) dp += double(dout[qo + i * D + c]) * v[ko + j * D + c];
        dS[i * Tk + j] = dp;
        delta += P[i * Tk + j] * dp;
      }
      for (int64_t j = 0; j < Tk; ++j) dS[i * Tk + j] = P[i * Tk + j] * (dS[i * Tk + j] - delta) * p.scale;
    }
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j)
        for (int64_t c = 0; c < D; ++c) {
          r.dq[qo + i * D + c] += dS[i * Tk + j] * k[ko + j * D + c];
          r.dk[ko + j * D + c] += dS[i * Tk + j] * q[qo + i * D + c];
          r.dv[ko + j * D + c] += P[i * Tk + j] * dout[qo + i * D + c];
        }
  }
  return r;
}

// A random 0/1 mask (about 70% ones) with one query row that may see nothing.
std::vector<int32_t> random_mask(size_t n_batches, int64_t Tq, int64_t Tk) {
  std::vector<int32_t> m(n_batches * Tq * Tk);
  std::bernoulli_distribution d(0.7);
  for (auto& x : m) x = d(echogen::test::rng()) ? 1 : 0;
  const int64_t empty_row = Tq / 2;
  for (size_t b = 0; b < n_batches; ++b)
    for (int64_t j = 0; j < Tk; ++j) m[(b * Tq + empty_row) * Tk + j] = 0;
  return m;
}

std::string describe(const Case& c) {
  return "B=" + std::to_string(c.B) + " H=" + std::to_string(c.H) + " Tq=" + std::to_string(c.Tq) +
         " Tk=" + std::to_string(c.Tk) + " D=" + std::to_string(c.D) + (c.causal ? " causal" : "") +
         (c.mask_rank ? " mask" + std::to_string(c.mask_rank) + "d" : "");
}

const std::vector<Case> kCases = {
    {2, 3, 7, 33, 24, false, 0},  {1, 2, 130, 130, 32, true, 0}, {2, 1, 1, 17, 80, true, 0},
    {1, 3, 33, 7, 8, true, 0},    {2, 2, 65, 130, 64, false, 3}, {1, 2, 40, 33, 128, true, 2},
    {3, 1, 130, 1, 16, false, 0}, {2, 2, 97, 71, 40, true, 3},
};

struct Inputs {
  AttentionParams p;
  Vec q, k, v, dout;
  std::vector<int32_t> mask;
};

Inputs make_inputs(const Case& c) {
  Inputs in;
  AttentionParams& p = in.p;
  p.B = c.B, p.H = c.H, p.Tq = c.Tq, p.Tk = c.Tk, p.D = c.D, p.causal = c.causal;
  p.scale = static_cast<float>(1.0 / std::sqrt(double(c.D))) * 1.5f;  // sharper than default: larger softmax range
  in.q = echogen::test::uniform(c.B * c.H * c.Tq * c.D, -2.f, 2.f);
  in.k = echogen::test::uniform(c.B * c.H * c.Tk * c.D, -2.f, 2.f);
  in.v = echogen::test::uniform(c.B * c.H * c.Tk * c.D);
  in.dout = echogen::test::uniform(c.B * c.H * c.Tq * c.D);
  if (c.mask_rank) {
    in.mask = random_mask(c.mask_rank == 3 ? c.B : 1, c.Tq, c.Tk);
    p.mask_batched = c.mask_rank == 3;
  }
  p.mask = in.mask.empty() ? nullptr : in.mask.data();
  return in;
}

}  // namespace

EG_CHECK(attention_cpu) {
  echogen::ThreadPool pool(3);
  for (const Case& c : kCases) {
    Inputs in = make_inputs(c);
    const AttentionParams& p = in.p;
    RefOut ref = reference(p, p.mask, in.q, in.k, in.v, in.dout);
    Vec out = echogen::test::poison(in.q.size()), lse = echogen::test::poison(p.B * p.H * p.Tq);
    echogen::cpu::attention_forward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data());
    const std::string name = "attention cpu " + describe(c);
    report.close(name + " out", out.data(), ref.out.data(), out.size(), 1e-4);
    report.close(name + " lse", lse.data(), ref.lse.data(), lse.size(), 1e-4);
    Vec dq = echogen::test::poison(in.q.size()), dk = echogen::test::poison(in.k.size()),
        dv = echogen::test::poison(in.v.size());
    echogen::cpu::attention_backward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                                     in.dout.data(), dq.data(), dk.data(), dv.data());
    report.close(name + " dq", dq.data(), ref.dq.data(), dq.size(), 1e-3);
    report.close(name + " dk", dk.data(), ref.dk.data(), dk.size(), 1e-3);
    report.close(name + " dv", dv.data(), ref.dv.data(), dv.size(), 1e-3);
  }
  // A key no query sees (causal, Tk > Tq... and keys masked off) must get exactly zero gradients,
  // and an empty row exactly out 0 / lse -inf: checked elementwise, not through a relative error.
  Inputs in = make_inputs({1, 1, 5, 9, 8, true, 2});
  AttentionParams& p = in.p;
  for (int64_t j = 0; j < p.Tk; ++j) in.mask[2 * p.Tk + j] = 0;  // row 2 sees nothing
  for (int64_t i = 0; i < p.Tq; ++i) in.mask[i * p.Tk + 1] = 0;  // key 1 is seen by no one
  Vec out(in.q.size()), lse(p.Tq), dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
  echogen::cpu::attention_forward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data());
  echogen::cpu::attention_backward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                                   in.dout.data(), dq.data(), dk.data(), dv.data());
  bool empty_ok = lse[2] == -INFINITY;
  for (int64_t c = 0; c < p.D; ++c) empty_ok = empty_ok && out[2 * p.D + c] == 0.f && dq[2 * p.D + c] == 0.f;
  report.expect(empty_ok, "attention cpu: a row with no visible key has out 0, lse -inf, dq 0");
  bool unseen_ok = true;
  for (int64_t c = 0; c < p.D; ++c) unseen_ok = unseen_ok && dk[1 * p.D + c] == 0.f && dv[1 * p.D + c] == 0.f;
  report.expect(unseen_ok, "attention cpu: a key no query sees has dk = dv = 0");
}

#ifdef ECHOGEN_WITH_CUDA
namespace {
struct DeviceBuf {
  void* ptr;
  size_t bytes;
  template <typename T>
  explicit DeviceBuf(const std::vector<T>& host)
      : ptr(echogen::cuda::malloc_device(host.size() * sizeof(T))), bytes(host.size() * sizeof(T)) {
    echogen::cuda::copy_h2d(ptr, host.data(), bytes, nullptr);
  }
  ~DeviceBuf() { echogen::cuda::free_device(ptr); }
  float* f() const { return static_cast<float*>(ptr); }
  Vec read() const {
    Vec h(bytes / sizeof(float));
    echogen::cuda::copy_d2h(h.data(), ptr, bytes, nullptr);
    return h;
  }
};
// max|cuda - cpu| / max|float64 ref|: measured against the reference's scale, so outputs that
// are exactly 0 in exact arithmetic (e.g. dq with Tk = 1) compare their rounding noise absolutely.
void twin_close(echogen::test::Report& report, const std::string& what, const Vec& got, const Vec& cpu, const Ref& ref,
                double tol) {
  double max_err = 0, max_ref = 0;
  bool finite = true;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(cpu[i]) && got[i] == cpu[i]) continue;
    if (!std::isfinite(got[i]) || !std::isfinite(cpu[i])) { finite = false; continue; }
    max_err = std::max(max_err, double(std::fabs(got[i] - cpu[i])));
    if (std::isfinite(ref[i])) max_ref = std::max(max_ref, std::fabs(ref[i]));
  }
  const double rel = max_ref > 0 ? max_err / max_ref : max_err;
  char buf[64];
  std::snprintf(buf, sizeof buf, ": rel err %.2e (tol %.0e)%s", rel, tol, finite ? "" : " NON-FINITE");
  report.expect(finite && rel <= tol, what + buf);
}
}  // namespace

EG_CHECK(attention_cuda) {
  std::string device;
  if (!echogen::test::cuda_device_present(&device)) {
    std::printf("attention_cuda: skipped: no CUDA device\n");
    return;
  }
  std::printf("attention_cuda on %s\n", device.c_str());
  echogen::ThreadPool pool(3);
  for (const Case& c : kCases) {
    Inputs in = make_inputs(c);
    AttentionParams p = in.p;
    RefOut ref = reference(p, p.mask, in.q, in.k, in.v, in.dout);
    Vec out(in.q.size()), lse(p.B * p.H * p.Tq), dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
    echogen::cpu::attention_forward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data());
    echogen::cpu::attention_backward(pool, p, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                                     in.dout.data(), dq.data(), dk.data(), dv.data());
    DeviceBuf q(in.q), k(in.k), v(in.v), dout(in.dout);
    DeviceBuf mask(in.mask.empty() ? std::vector<int32_t>(1) : in.mask);
    DeviceBuf gout(echogen::test::poison(out.size())), glse(echogen::test::poison(lse.size()));
    DeviceBuf gdq(echogen::test::poison(dq.size())), gdk(echogen::test::poison(dk.size())),
        gdv(echogen::test::poison(dv.size()));
    p.mask = in.mask.empty() ? nullptr : static_cast<const int32_t*>(mask.ptr);
    echogen::cuda::attention_forward(nullptr, p, q.f(), k.f(), v.f(), gout.f(), glse.f());
    echogen::cuda::attention_backward(nullptr, p, q.f(), k.f(), v.f(), gout.f(), glse.f(), dout.f(), gdq.f(), gdk.f(),
                                      gdv.f());
    const std::string name = "attention cuda " + describe(c);
    struct Output {
      const char* what;
      Vec got;
      const Vec& cpu;
      const Ref& ref;
      double tol;
    };
    const Output outputs[] = {{"out", gout.read(), out, ref.out, 1e-4}, {"lse", glse.read(), lse, ref.lse, 1e-4},
                              {"dq", gdq.read(), dq, ref.dq, 1e-3},     {"dk", gdk.read(), dk, ref.dk, 1e-3},
                              {"dv", gdv.read(), dv, ref.dv, 1e-3}};
    for (const Output& o : outputs) {
      report.close(name + " " + o.what + " vs float64", o.got.data(), o.ref.data(), o.got.size(), o.tol);
      twin_close(report, name + " " + o.what + " vs cpu", o.got, o.cpu, o.ref, o.tol);
    }
  }
}
#endif

#ifdef ECHOGEN_WITH_CUDA
// Not a pass/fail check: the CUDA kernels' speed at the model's shape and larger ones, the
// median of 20 synchronised runs after 3 warm-up runs (includes the ~5 us launch overhead).
EG_CHECK(attention_cuda_speed) {
  std::string device;
  if (!echogen::test::cuda_device_present(&device)) return;
  struct Shape { int64_t BH, T, D; bool causal; };
  for (const Shape& s : {Shape{32, 130, 32, false}, Shape{32, 130, 32, true}, Shape{8, 512, 64, false},
                         Shape{8, 512, 64, true}, Shape{32, 2048, 128, true}}) {
    AttentionParams p;
    p.B = 1, p.H = s.BH, p.Tq = p.Tk = s.T, p.D = s.D, p.causal = s.causal;
    p.scale = static_cast<float>(1.0 / std::sqrt(double(s.D)));
    const Vec host = echogen::test::uniform(s.BH * s.T * s.D);
    DeviceBuf q(host), k(host), v(host), out(host), dq(host), dk(host), dv(host), lse(Vec(s.BH * s.T));
    auto median_ms = [&](auto&& run) {
      std::vector<double> ms;
      for (int i = 0; i < 23; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        echogen::cuda::synchronize(nullptr);
        if (i >= 3) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      return ms[ms.size() / 2];
    };
    const double fwd = median_ms([&] { echogen::cuda::attention_forward(nullptr, p, q.f(), k.f(), v.f(), out.f(), lse.f()); });
    const double bwd = median_ms([&] {
      echogen::cuda::attention_backward(nullptr, p, q.f(), k.f(), v.f(), out.f(), lse.f(), out.f(), dq.f(), dk.f(), dv.f());
    });
    const double flops = 4.0 * s.BH * s.T * s.T * s.D / (s.causal ? 2 : 1);
    std::printf("  speed attention cuda %s B*H=%ld T=%ld D=%ld%s: fwd %.3f ms (%.0f GFLOP/s), bwd %.3f ms (%.0f GFLOP/s)\n",
                device.c_str(), static_cast<long>(s.BH), static_cast<long>(s.T), static_cast<long>(s.D),
                s.causal ? " causal" : "", fwd, flops / fwd / 1e6, bwd, 2.5 * flops / bwd / 1e6);
  }
}
#endif
