// Layer norm, (log-)softmax, cross-entropy, embedding and AdamW as harness cases: float64
// references at odd sizes; the CUDA twins against the CPU (test/harness.h).
#include <cmath>
#include <limits>
#include <string>

#include "echogen/adamw.h"
#include "echogen/embedding.h"
#include "echogen/loss.h"
#include "echogen/norm.h"
#include "test/harness.h"

using namespace echogen;
using echogen::test::poison;
using echogen::test::rng;
using namespace echogen::test;
using echogen::test::uniform;

namespace {

struct LnRef {
  std::vector<double> y, mean, rstd, dx, dgamma, dbeta;
};

// Float64 layer norm forward and backward from the definitions.
LnRef layer_norm_ref(int64_t rows, int64_t d, const std::vector<float>& x, const std::vector<float>& g,
                     const std::vector<float>& b, const std::vector<float>& dy, double eps) {
  LnRef r;
  r.y.resize(rows * d);
  r.dx.resize(rows * d);
  r.dgamma.assign(d, 0.0);
  r.dbeta.assign(d, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mu += x[i * d + j];
    mu /= d;
    for (int64_t j = 0; j < d; ++j) var += (x[i * d + j] - mu) * (x[i * d + j] - mu);
    var /= d;
    const double rs = 1 / std::sqrt(var + eps);
    r.mean.push_back(mu);
    r.rstd.push_back(rs);
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double xh = (x[i * d + j] - mu) * rs;
      r.y[i * d + j] = xh * g[j] + b[j];
      r.dgamma[j] += dy[i * d + j] * xh;
      r.dbeta[j] += dy[i * d + j];
      s1 += dy[i * d + j] * g[j];
      s2 += dy[i * d + j] * g[j] * xh;
    }
    for (int64_t j = 0; j < d; ++j) {
      const double xh = (x[i * d + j] - mu) * rs;
      r.dx[i * d + j] = rs * (dy[i * d + j] * g[j] - s1 / d - xh * s2 / d);
    }
  }
  return r;
}

std::vector<int32_t> random_targets(int64_t n, int64_t v, int32_t ignore) {
  std::vector<int32_t> t(n);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(v - 1));
  for (auto& x : t) x = pick(rng());
  t[n / 2] = ignore;
  return t;
}

std::string sz(int64_t a, int64_t b) { return " " + std::to_string(a) + "x" + std::to_string(b); }

// Softmax rows (log or not) and their backward in float64.
void softmax_ref(int64_t rows, int64_t v, const std::vector<float>& x, const std::vector<float>& dy, bool log,
                 std::vector<double>& ry, std::vector<double>& rdx) {
  ry.resize(rows * v);
  rdx.resize(rows * v);
  for (int64_t i = 0; i < rows; ++i) {
    double mx = -1e300, s = 0, sdy = 0, sdyp = 0;
    for (int64_t j = 0; j < v; ++j) mx = std::max(mx, double(x[i * v + j]));
    for (int64_t j = 0; j < v; ++j) s += std::exp(x[i * v + j] - mx);
    for (int64_t j = 0; j < v; ++j) {
      const double p = std::exp(x[i * v + j] - mx) / s;
      ry[i * v + j] = log ? std::log(p) : p;
      sdy += dy[i * v + j];
      sdyp += dy[i * v + j] * p;
    }
    for (int64_t j = 0; j < v; ++j) {
      const double p = std::exp(x[i * v + j] - mx) / s;
      rdx[i * v + j] = log ? dy[i * v + j] - p * sdy : p * (dy[i * v + j] - sdyp);
    }
  }
}

}  // namespace

EG_CASES(layer_norm) {
  std::vector<Case> cases;
  using Size = std::pair<int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{4096, 256}, {65536, 1024}}
                                                      : std::vector<Size>{{37, 129}, {1, 7}, {1031, 33}, {70001, 33}, {5, 1031}};
  for (auto [rows, d] : sizes) {
    auto x = uniform(rows * d, -3.f, 3.f), g = uniform(d), b = uniform(d), dy = uniform(rows * d);
    const bool ref = mode == Mode::Test && rows * d < 1000000;
    LnRef r = ref ? layer_norm_ref(rows, d, x, g, b, dy, 1e-5) : LnRef{};
    // forward and backward chained: the backward reads the forward's mean and rstd
    Case c = make_case("layer_norm" + sz(rows, d),
                       {in("x", x), in("gamma", g), in("beta", b), in("dy", dy), out("y", rows * d).with_ref(r.y),
                        out("mean", rows, 1e-5).with_ref(r.mean, 1e-6), out("rstd", rows).with_ref(r.rstd, 1e-6),
                        out("dx", rows * d).with_ref(r.dx), out("dgamma", d).with_ref(r.dgamma), out("dbeta", d).with_ref(r.dbeta)},
                       [=](auto be, Args& a) {
                         layer_norm(be, rows, d, a.f(0), a.f(1), a.f(2), 1e-5f, a.f(4), a.f(5), a.f(6));
                         layer_norm_backward(be, rows, d, a.f(3), a.f(0), a.f(1), a.f(5), a.f(6), a.f(7), a.f(8), a.f(9));
                       });
    c.flops = 16.0 * rows * d;
    c.bytes = 4.0 * 5 * rows * d;
    cases.push_back(std::move(c));
  }
  return cases;
}

EG_CASES(softmax_cross_entropy) {
  std::vector<Case> cases;
  using Size = std::pair<int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{4096, 1024}, {1024, 32768}}
                                                      : std::vector<Size>{{53, 1031}, {7, 40}, {3, 5000}};
  for (auto [rows, v] : sizes) {
    const bool ref = mode == Mode::Test;
    auto x = uniform(rows * v, -5.f, 5.f), dy = uniform(rows * v), dloss = uniform(rows);
    for (bool log : {false, true}) {
      std::vector<double> ry, rdx;
      if (ref) softmax_ref(rows, v, x, dy, log, ry, rdx);
      // 1e-5 vs float64: the scalar (no-AVX2) exp lands near 1e-6
      Case c = make_case(std::string(log ? "log_softmax" : "softmax") + sz(rows, v),
                         {in("x", x), in("dy", dy), out("y", rows * v).with_ref(ry), out("dx", rows * v).with_ref(rdx)},
                         [=](auto be, Args& a) {
                           softmax(be, rows, v, a.f(0), log, a.f(2));
                           softmax_backward(be, rows, v, a.f(2), a.f(1), log, a.f(3));
                         });
      c.bytes = 4.0 * 4 * rows * v;
      cases.push_back(std::move(c));
    }
    const int32_t ignore = -100;
    auto t = random_targets(rows, v, ignore);
    std::vector<double> rl, rlse, rdl;
    if (ref) {
      rl.resize(rows), rlse.resize(rows), rdl.resize(rows * v);
      for (int64_t i = 0; i < rows; ++i) {
        double mx = -1e300, s = 0;
        for (int64_t j = 0; j < v; ++j) mx = std::max(mx, double(x[i * v + j]));
        for (int64_t j = 0; j < v; ++j) s += std::exp(x[i * v + j] - mx);
        rlse[i] = mx + std::log(s);
        rl[i] = t[i] == ignore ? 0 : rlse[i] - x[i * v + t[i]];
        for (int64_t j = 0; j < v; ++j)
          rdl[i * v + j] = t[i] == ignore ? 0 : dloss[i] * (std::exp(x[i * v + j] - rlse[i]) - (j == t[i] ? 1 : 0));
      }
    }
    Case c = make_case("cross_entropy" + sz(rows, v),
                       {in("logits", x), in_i32("targets", t), in("dloss", dloss), out("loss", rows).with_ref(rl, 1e-6),
                        out("lse", rows).with_ref(rlse, 1e-6), out("dlogits", rows * v).with_ref(rdl, 1e-6)},
                       [=](auto be, Args& a) {
                         cross_entropy(be, rows, v, a.f(0), a.i(1), ignore, a.f(3), a.f(4));
                         cross_entropy_backward(be, rows, v, a.f(0), a.i(1), ignore, a.f(4), a.f(2), a.f(5));
                       });
    c.bytes = 4.0 * 3 * rows * v;
    cases.push_back(std::move(c));
  }
  return cases;
}

EG_CASES(embedding) {
  const int64_t n = mode == Mode::Bench ? 65536 : 1001, v = mode == Mode::Bench ? 16384 : 37, d = mode == Mode::Bench ? 256 : 29;
  auto table = uniform(v * d), dout = uniform(n * d);
  std::vector<int32_t> ids(n);
  std::uniform_int_distribution<int32_t> pick(0, v - 1);
  for (auto& i : ids) i = pick(rng());
  ids[0] = ids[1] = ids[2] = 5;  // repeats
  std::vector<double> ro(n * d), rdt(v * d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      ro[i * d + j] = table[ids[i] * d + j];
      rdt[ids[i] * d + j] += dout[i * d + j];
    }
  Case c = make_case("embedding n=" + std::to_string(n) + " v=" + std::to_string(v) + " d=" + std::to_string(d),
                     {in("table", table), in_i32("ids", ids), in("dout", dout), out("out", n * d, 0).with_ref(ro),
                      out("dtable", v * d, 1e-6).with_ref(rdt)},
                     [=](auto be, Args& a) {
                       embedding(be, n, d, a.f(0), a.i(1), a.f(3));
                       embedding_backward(be, n, v, d, a.f(2), a.i(1), a.f(4));
                     });
  c.bytes = 4.0 * 4 * n * d;
  return {std::move(c)};
}

EG_CASES(adamw) {
  std::vector<Case> cases;
  // Four steps of three odd-sized tensors against float64.
  {
    const int64_t sizes[3] = {7, 100003, 1};
    std::vector<Array> arrays;
    std::vector<std::vector<double>> p64(3), m64(3), v64(3);
    AdamWHyper h;
    h.lr = 0.01f, h.beta1 = 0.85f, h.beta2 = 0.99f, h.eps = 1e-7f, h.weight_decay = 0.05f;
    std::vector<std::vector<float>> p(3), grads(3);  // grads[i]: 4 steps back to back
    for (int i = 0; i < 3; ++i) {
      p[i] = uniform(sizes[i]);
      grads[i] = uniform(4 * sizes[i], -2.f, 2.f);
      p64[i].assign(p[i].begin(), p[i].end());
      m64[i].assign(sizes[i], 0.0);
      v64[i].assign(sizes[i], 0.0);
    }
    for (int64_t step = 1; step <= 4; ++step)
      for (int i = 0; i < 3; ++i)
        for (int64_t j = 0; j < sizes[i]; ++j) {
          const double g = grads[i][(step - 1) * sizes[i] + j];
          double& pp = p64[i][j];
          pp *= 1 - double(h.lr) * h.weight_decay;
          m64[i][j] = double(h.beta1) * m64[i][j] + (1 - double(h.beta1)) * g;
          v64[i][j] = double(h.beta2) * v64[i][j] + (1 - double(h.beta2)) * g * g;
          const double mh = m64[i][j] / (1 - std::pow(double(h.beta1), step)), vh = v64[i][j] / (1 - std::pow(double(h.beta2), step));
          pp -= h.lr * mh / (std::sqrt(vh) + h.eps);
        }
    for (int i = 0; i < 3; ++i) {
      arrays.push_back(inout("params[" + std::to_string(i) + "]", p[i], 1e-6).with_ref(p64[i]));
      arrays.push_back(in("grads[" + std::to_string(i) + "]", grads[i]));
      arrays.push_back(inout("m[" + std::to_string(i) + "]", std::vector<float>(sizes[i], 0.f), 1e-6));
      arrays.push_back(inout("v[" + std::to_string(i) + "]", std::vector<float>(sizes[i], 0.f), 1e-6));
    }
    cases.push_back(make_case("adamw 4 steps, 3 tensors", std::move(arrays), [=](auto be, Args& a) {
      for (int64_t step = 1; step <= 4; ++step) {
        AdamWHyper hs = h;
        hs.step = step;
        std::vector<AdamWTensor> list;
        for (int i = 0; i < 3; ++i)
          list.push_back({a.f(4 * i), a.f(4 * i + 1) + (step - 1) * sizes[i], a.f(4 * i + 2), a.f(4 * i + 3), sizes[i]});
        adamw(be, list.data(), 3, hs);
      }
    }));
  }
  // More tensors than one CUDA launch group holds, some empty.
  {
    std::vector<int64_t> sizes;
    for (int i = 0; i < 30; ++i) sizes.push_back(i % 7 == 3 ? 0 : 1 + (i * 7919) % 5000);
    std::vector<Array> arrays;
    for (size_t i = 0; i < sizes.size(); ++i) {
      const std::string k = "[" + std::to_string(i) + "]";
      arrays.push_back(inout("params" + k, uniform(sizes[i]), 1e-6));
      arrays.push_back(in("grads" + k, uniform(sizes[i])));
      arrays.push_back(inout("m" + k, uniform(sizes[i], 0.f, 0.1f), 1e-6));
      arrays.push_back(inout("v" + k, uniform(sizes[i], 0.f, 0.1f), 1e-6));
    }
    AdamWHyper h;
    h.lr = 0.02f, h.weight_decay = 0.1f, h.step = 3;
    Case c = make_case("adamw 30 tensors (two launch groups, empty tensors)", std::move(arrays), [=](auto be, Args& a) {
      std::vector<AdamWTensor> list;
      for (size_t i = 0; i < sizes.size(); ++i) list.push_back({a.f(4 * i), a.f(4 * i + 1), a.f(4 * i + 2), a.f(4 * i + 3), sizes[i]});
      adamw(be, list.data(), static_cast<int64_t>(list.size()), h);
    });
    cases.push_back(std::move(c));
  }
  return cases;
}
