// GEMM: the CPU kernel against a float64 reference at odd sizes, every transpose, broadcast
// batches, bias, alpha/beta; the CUDA twin against the CPU (harness cases).
#include <string>

#include "echogen/gemm.h"
#include "test/harness.h"

using namespace echogen;
using namespace echogen::test;

namespace {

struct GemmShape {
  bool ta, tb;
  int64_t batch, m, n, k;
  bool broadcast_b, bias;
  float alpha, beta;
};

std::string describe(const GemmShape& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "gemm %s%s batch=%lld m=%lld n=%lld k=%lld%s%s alpha=%g beta=%g", c.ta ? "T" : "N",
                c.tb ? "T" : "N", (long long)c.batch, (long long)c.m, (long long)c.n, (long long)c.k,
                c.broadcast_b ? " b-broadcast" : "", c.bias ? " bias" : "", c.alpha, c.beta);
  return buf;
}

std::vector<double> reference(const GemmShape& c, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c0, const std::vector<float>& bias) {
  std::vector<double> out(static_cast<size_t>(c.batch * c.m * c.n));
  for (int64_t bi = 0; bi < c.batch; ++bi) {
    const float* A = a.data() + bi * c.m * c.k;
    const float* B = b.data() + (c.broadcast_b ? 0 : bi * c.k * c.n);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          double av = c.ta ? A[p * c.m + i] : A[i * c.k + p];
          double bv = c.tb ? B[j * c.k + p] : B[p * c.n + j];
          s += av * bv;
        }
        size_t o = static_cast<size_t>((bi * c.m + i) * c.n + j);
        double v = c.alpha * s + (c.beta != 0.f ? c.beta * double(c0[o]) : 0.0) + (c.bias ? bias[j] : 0.0);
        out[o] = v;
      }
  }
  return out;
}

GemmArgs args_for(const GemmShape& c, const float* a, const float* b, float* out, const float* bias) {
  GemmArgs g;
  g.trans_a = c.ta;
  g.trans_b = c.tb;
  g.batch = c.batch;
  g.m = c.m;
  g.n = c.n;
  g.k = c.k;
  g.alpha = c.alpha;
  g.beta = c.beta;
  g.a = a;
  g.stride_a = c.m * c.k;
  g.b = b;
  g.stride_b = c.broadcast_b ? 0 : c.k * c.n;
  g.c = out;
  g.stride_c = c.m * c.n;
  g.bias = c.bias ? bias : nullptr;
  return g;
}

std::vector<GemmShape> shapes() {
  std::vector<GemmShape> cs;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      cs.push_back({ta, tb, 1, 37, 53, 29, false, false, 1.f, 0.f});
      cs.push_back({ta, tb, 3, 131, 77, 301, false, true, 1.f, 0.f});
      cs.push_back({ta, tb, 2, 5, 19, 3, true, true, 0.5f, 0.f});
      cs.push_back({ta, tb, 2, 150, 530, 263, true, false, -1.5f, 0.75f});
    }
  cs.push_back({false, false, 1, 1, 1, 1, false, false, 1.f, 0.f});
  cs.push_back({false, true, 1, 1, 300, 257, false, true, 1.f, 0.f});     // a GEMV (decoding)
  cs.push_back({false, false, 1, 300, 1, 64, false, false, 1.f, 1.f});
  cs.push_back({true, false, 4, 7, 9, 0, false, true, 1.f, 2.f});         // empty product
  // the unpacked paths with beta != 0: dot products (m <= 8, B transposed) and in place (one depth block)
  cs.push_back({false, true, 2, 7, 70, 45, false, true, 0.5f, 0.25f});
  cs.push_back({false, false, 2, 40, 70, 200, true, true, 1.f, -0.5f});
  cs.push_back({true, false, 1, 33, 20, 100, false, false, 2.f, 0.5f});
  // the depth split (batch 1, k >= 1,024, a small C): a weight gradient's X^T dY, and with bias, alpha and beta
  cs.push_back({true, false, 1, 37, 70, 2100, false, false, 1.f, 0.f});
  cs.push_back({false, false, 1, 29, 130, 1500, false, true, -1.5f, 0.75f});
  cs.push_back({true, true, 1, 64, 17, 1100, false, true, 0.5f, 0.f});
  return cs;
}

}  // namespace

EG_CASES(gemm) {
  std::vector<Case> cs;
  std::vector<GemmShape> shapes;
  if (mode == Mode::Bench) {
    shapes = {{false, true, 1, 4096, 1024, 256, false, true, 1.f, 0.f}, {false, false, 1, 4096, 4096, 4096, false, false, 1.f, 0.f}};
  } else {
    shapes = ::shapes();
    shapes.push_back({false, false, 2, 1000, 1030, 517, false, true, 1.f, 0.f});  // several 128x128 tiles
    shapes.push_back({true, true, 1, 513, 257, 1025, false, false, 1.f, 0.5f});
  }
  for (const GemmShape& c : shapes) {
    auto a = uniform(static_cast<size_t>(c.batch * c.m * c.k));
    auto b = uniform(static_cast<size_t>((c.broadcast_b ? 1 : c.batch) * c.k * c.n));
    auto bias = uniform(static_cast<size_t>(c.n));
    const size_t n_out = static_cast<size_t>(c.batch * c.m * c.n);
    // C is read when beta != 0 (an in-place input), else poisoned
    Array cout = c.beta != 0.f ? inout("c", uniform(n_out)) : out("c", n_out);
    if (mode == Mode::Test && c.m * c.n * c.k * c.batch < 50000000) cout.set_ref(reference(c, a, b, cout.f, bias));
    Case k = make_case(describe(c), {in("a", a), in("b", b), in("bias", bias), std::move(cout)},
                       [c](auto be, Args& x) { gemm(be, args_for(c, x.f(0), x.f(1), x.f(3), x.f(2))); });
    k.flops = 2.0 * c.batch * c.m * c.n * c.k;
    cs.push_back(std::move(k));
  }
  return cs;
}
