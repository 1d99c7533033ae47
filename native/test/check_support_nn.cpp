// Layer norm, (log-)softmax, cross-entropy, embedding and AdamW: the CPU kernels against float64
// references at odd sizes (outputs poisoned first), then the CUDA kernels against their CPU twins.
#include <cmath>
#include <limits>
#include <string>

#include "echogen/adamw.h"
#include "echogen/embedding.h"
#include "echogen/loss.h"
#include "echogen/norm.h"
#include "test/check.h"
#include "test/support_util.h"

using namespace echogen;
using echogen::test::poison;
using echogen::test::rng;
using echogen::test::support_pool;
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

}  // namespace

EG_CHECK(support_layer_norm_cpu) {
  for (auto [rows, d] : {std::pair<int64_t, int64_t>{37, 129}, {1, 7}, {1031, 33}}) {
    auto x = uniform(rows * d, -3.f, 3.f), g = uniform(d), b = uniform(d), dy = uniform(rows * d);
    auto y = poison(rows * d), mean = poison(rows), rstd = poison(rows), dx = poison(rows * d), dg = poison(d), db = poison(d);
    cpu::layer_norm(support_pool(), rows, d, x.data(), g.data(), b.data(), 1e-5f, y.data(), mean.data(), rstd.data());
    cpu::layer_norm_backward(support_pool(), rows, d, dy.data(), x.data(), g.data(), mean.data(), rstd.data(), dx.data(), dg.data(), db.data());
    auto r = layer_norm_ref(rows, d, x, g, b, dy, 1e-5);
    const std::string sz = " " + std::to_string(rows) + "x" + std::to_string(d);
    report.close("layer_norm y" + sz + " cpu vs f64", y.data(), r.y.data(), y.size(), 1e-5);
    report.close("layer_norm mean" + sz, mean.data(), r.mean.data(), rows, 1e-6);
    report.close("layer_norm rstd" + sz, rstd.data(), r.rstd.data(), rows, 1e-6);
    report.close("layer_norm dx" + sz + " cpu vs f64", dx.data(), r.dx.data(), dx.size(), 1e-5);
    report.close("layer_norm dgamma" + sz + " cpu vs f64", dg.data(), r.dgamma.data(), d, 1e-5);
    report.close("layer_norm dbeta" + sz + " cpu vs f64", db.data(), r.dbeta.data(), d, 1e-5);
  }
}

EG_CHECK(support_softmax_cross_entropy_cpu) {
  const int64_t rows = 53, v = 1031;
  auto x = uniform(rows * v, -5.f, 5.f), dy = uniform(rows * v);
  for (bool log : {false, true}) {
    auto y = poison(rows * v), dx = poison(rows * v);
    cpu::softmax(support_pool(), rows, v, x.data(), log, y.data());
    cpu::softmax_backward(support_pool(), rows, v, y.data(), dy.data(), log, dx.data());
    std::vector<double> ry(rows * v), rdx(rows * v);
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
    report.close(std::string(log ? "log_softmax" : "softmax") + " cpu vs f64", y.data(), ry.data(), y.size(), 1e-5);  // 1e-5: the scalar (no-AVX2) exp lands near 1e-6
    report.close(std::string(log ? "log_softmax" : "softmax") + " backward cpu vs f64", dx.data(), rdx.data(), dx.size(), 1e-5);
  }
  const int32_t ignore = -100;
  auto t = random_targets(rows, v, ignore);
  auto dloss = uniform(rows);
  auto loss = poison(rows), lse = poison(rows), dl = poison(rows * v);
  cpu::cross_entropy(support_pool(), rows, v, x.data(), t.data(), ignore, loss.data(), lse.data());
  cpu::cross_entropy_backward(support_pool(), rows, v, x.data(), t.data(), ignore, lse.data(), dloss.data(), dl.data());
  std::vector<double> rl(rows), rlse(rows), rdl(rows * v);
  for (int64_t i = 0; i < rows; ++i) {
    double mx = -1e300, s = 0;
    for (int64_t j = 0; j < v; ++j) mx = std::max(mx, double(x[i * v + j]));
    for (int64_t j = 0; j < v; ++j) s += std::exp(x[i * v + j] - mx);
    rlse[i] = mx + std::log(s);
    rl[i] = t[i] == ignore ? 0 : rlse[i] - x[i * v + t[i]];
    for (int64_t j = 0; j < v; ++j)
      rdl[i * v + j] = t[i] == ignore ? 0 : dloss[i] * (std::exp(x[i * v + j] - rlse[i]) - (j == t[i] ? 1 : 0));
  }
  report.close("cross_entropy loss cpu vs f64", loss.data(), rl.data(), rows, 1e-6);
  report.close("cross_entropy lse cpu vs f64", lse.data(), rlse.data(), rows, 1e-6);
  report.close("cross_entropy backward cpu vs f64", dl.data(), rdl.data(), dl.size(), 1e-6);
}

EG_CHECK(support_embedding_adamw_cpu) {
  const int64_t n = 1001, v = 37, d = 29;
  auto table = uniform(v * d), dout = uniform(n * d);
  std::vector<int32_t> ids(n);
  std::uniform_int_distribution<int32_t> pick(0, v - 1);
  for (auto& i : ids) i = pick(rng());
  ids[0] = ids[1] = ids[2] = 5;  // repeats
  auto out = poison(n * d), dt = poison(v * d);
  cpu::embedding(support_pool(), n, d, table.data(), ids.data(), out.data());
  cpu::embedding_backward(support_pool(), n, v, d, dout.data(), ids.data(), dt.data());
  std::vector<double> ro(n * d), rdt(v * d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      ro[i * d + j] = table[ids[i] * d + j];
      rdt[ids[i] * d + j] += dout[i * d + j];
    }
  report.close("embedding cpu vs f64", out.data(), ro.data(), ro.size(), 0);
  report.close("embedding_backward cpu vs f64", dt.data(), rdt.data(), rdt.size(), 1e-6);

  // AdamW: three tensors of odd sizes, 4 steps, against float64
  const int64_t sizes[3] = {7, 100003, 1};
  std::vector<std::vector<float>> p, m, vv;
  std::vector<std::vector<double>> p64, m64, v64;
  for (int64_t s : sizes) {
    p.push_back(uniform(s));
    m.emplace_back(s, 0.f);
    vv.emplace_back(s, 0.f);
    p64.emplace_back(p.back().begin(), p.back().end());
    m64.emplace_back(s, 0.0);
    v64.emplace_back(s, 0.0);
  }
  AdamWHyper h;
  h.lr = 0.01f;
  h.beta1 = 0.85f;
  h.beta2 = 0.99f;
  h.eps = 1e-7f;
  h.weight_decay = 0.05f;
  for (int64_t step = 1; step <= 4; ++step) {
    h.step = step;
    std::vector<std::vector<float>> g;
    std::vector<AdamWTensor> list;
    for (int i = 0; i < 3; ++i) {
      g.push_back(uniform(sizes[i], -2.f, 2.f));
      list.push_back({p[i].data(), g[i].data(), m[i].data(), vv[i].data(), sizes[i]});
    }
    cpu::adamw(support_pool(), list.data(), 3, h);
    for (int i = 0; i < 3; ++i)
      for (int64_t j = 0; j < sizes[i]; ++j) {
        double& pp = p64[i][j];
        pp *= 1 - double(h.lr) * h.weight_decay;
        m64[i][j] = double(h.beta1) * m64[i][j] + (1 - double(h.beta1)) * g[i][j];
        v64[i][j] = double(h.beta2) * v64[i][j] + (1 - double(h.beta2)) * double(g[i][j]) * g[i][j];
        const double mh = m64[i][j] / (1 - std::pow(double(h.beta1), step)), vh = v64[i][j] / (1 - std::pow(double(h.beta2), step));
        pp -= h.lr * mh / (std::sqrt(vh) + h.eps);
      }
  }
  for (int i = 0; i < 3; ++i)
    report.close("adamw 4 steps tensor " + std::to_string(i) + " cpu vs f64", p[i].data(), p64[i].data(), sizes[i], 1e-6);
}

#ifdef ECHOGEN_WITH_CUDA
EG_CHECK(support_nn_cuda) {
  if (!echogen::test::cuda_device_present(nullptr)) return;
  using echogen::test::DeviceBuf;
  for (auto [rows, d] : {std::pair<int64_t, int64_t>{37, 129}, {1, 7}, {70001, 33}, {5, 1031}}) {
    auto x = uniform(rows * d, -3.f, 3.f), g = uniform(d), b = uniform(d), dy = uniform(rows * d);
    auto y = poison(rows * d), mean = poison(rows), rstd = poison(rows), dx = poison(rows * d), dg = poison(d), db = poison(d);
    cpu::layer_norm(support_pool(), rows, d, x.data(), g.data(), b.data(), 1e-5f, y.data(), mean.data(), rstd.data());
    cpu::layer_norm_backward(support_pool(), rows, d, dy.data(), x.data(), g.data(), mean.data(), rstd.data(), dx.data(), dg.data(), db.data());
    DeviceBuf<float> X(x), G(g), B(b), DY(dy), Y(rows * d), M(rows), RS(rows), DX(rows * d), DG(d), DB(d);
    for (auto* buf : {&Y, &M, &RS, &DX, &DG, &DB}) buf->poison();
    cuda::layer_norm(nullptr, rows, d, X.p, G.p, B.p, 1e-5f, Y.p, M.p, RS.p);
    cuda::layer_norm_backward(nullptr, rows, d, DY.p, X.p, G.p, M.p, RS.p, DX.p, DG.p, DB.p);
    const std::string sz = " " + std::to_string(rows) + "x" + std::to_string(d);
    report.close("layer_norm y" + sz + " cuda vs cpu", Y.host().data(), y.data(), y.size(), 1e-5);
    report.close("layer_norm rstd" + sz + " cuda vs cpu", RS.host().data(), rstd.data(), rows, 1e-5);
    report.close("layer_norm dx" + sz + " cuda vs cpu", DX.host().data(), dx.data(), dx.size(), 1e-5);
    report.close("layer_norm dgamma" + sz + " cuda vs cpu", DG.host().data(), dg.data(), d, 1e-5);
    report.close("layer_norm dbeta" + sz + " cuda vs cpu", DB.host().data(), db.data(), d, 1e-5);
  }
  for (auto [rows, v] : {std::pair<int64_t, int64_t>{53, 1031}, {7, 40}, {3, 5000}}) {
    auto x = uniform(rows * v, -5.f, 5.f), dy = uniform(rows * v), dloss = uniform(rows);
    auto t = random_targets(rows, v, -100);
    DeviceBuf<float> X(x), DY(dy), Y(rows * v), DX(rows * v), L(rows), LSE(rows), DL(rows * v), DLOSS(dloss);
    DeviceBuf<int32_t> T(t);
    const std::string sz = " " + std::to_string(rows) + "x" + std::to_string(v);
    for (bool log : {false, true}) {
      auto y = poison(rows * v), dx = poison(rows * v);
      cpu::softmax(support_pool(), rows, v, x.data(), log, y.data());
      cpu::softmax_backward(support_pool(), rows, v, y.data(), dy.data(), log, dx.data());
      Y.poison();
      DX.poison();
      cuda::softmax(nullptr, rows, v, X.p, log, Y.p);
      cuda::softmax_backward(nullptr, rows, v, Y.p, DY.p, log, DX.p);
      report.close(std::string(log ? "log_softmax" : "softmax") + sz + " cuda vs cpu", Y.host().data(), y.data(), y.size(), 1e-5);
      report.close(std::string(log ? "log_softmax" : "softmax") + " backward" + sz + " cuda vs cpu", DX.host().data(), dx.data(), dx.size(), 1e-5);
    }
    auto loss = poison(rows), lse = poison(rows), dl = poison(rows * v);
    cpu::cross_entropy(support_pool(), rows, v, x.data(), t.data(), -100, loss.data(), lse.data());
    cpu::cross_entropy_backward(support_pool(), rows, v, x.data(), t.data(), -100, lse.data(), dloss.data(), dl.data());
    L.poison(); LSE.poison(); DL.poison();
    cuda::cross_entropy(nullptr, rows, v, X.p, T.p, -100, L.p, LSE.p);
    cuda::cross_entropy_backward(nullptr, rows, v, X.p, T.p, -100, LSE.p, DLOSS.p, DL.p);
    report.close("cross_entropy loss" + sz + " cuda vs cpu", L.host().data(), loss.data(), rows, 1e-5);
    report.close("cross_entropy lse" + sz + " cuda vs cpu", LSE.host().data(), lse.data(), rows, 1e-5);
    report.close("cross_entropy backward" + sz + " cuda vs cpu", DL.host().data(), dl.data(), dl.size(), 1e-5);
  }
  {
    const int64_t n = 1001, v = 37, d = 29;
    auto table = uniform(v * d), dout = uniform(n * d);
    std::vector<int32_t> ids(n);
    std::uniform_int_distribution<int32_t> pick(0, v - 1);
    for (auto& i : ids) i = pick(rng());
    auto out = poison(n * d), dt = poison(v * d);
    cpu::embedding(support_pool(), n, d, table.data(), ids.data(), out.data());
    cpu::embedding_backward(support_pool(), n, v, d, dout.data(), ids.data(), dt.data());
    DeviceBuf<float> TB(table), DO(dout), O(n * d), DT(v * d);
    DeviceBuf<int32_t> I(ids);
    O.poison();
    DT.poison();
    cuda::embedding(nullptr, n, d, TB.p, I.p, O.p);
    cuda::embedding_backward(nullptr, n, v, d, DO.p, I.p, DT.p);
    report.close("embedding cuda vs cpu", O.host().data(), out.data(), out.size(), 0);
    report.close("embedding_backward cuda vs cpu", DT.host().data(), dt.data(), dt.size(), 1e-6);
  }
  {
    // more tensors than one launch group holds, some empty
    std::vector<int64_t> sizes;
    for (int i = 0; i < 30; ++i) sizes.push_back(i % 7 == 3 ? 0 : 1 + (i * 7919) % 5000);
    std::vector<std::vector<float>> p, g, m, v;
    std::vector<DeviceBuf<float>*> dev;
    std::vector<AdamWTensor> host_list, dev_list;
    for (int64_t s : sizes) {
      p.push_back(uniform(s));
      g.push_back(uniform(s));
      m.push_back(uniform(s, 0.f, 0.1f));
      v.push_back(uniform(s, 0.f, 0.1f));
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      auto *P = new DeviceBuf<float>(p[i]), *G = new DeviceBuf<float>(g[i]), *M = new DeviceBuf<float>(m[i]), *V = new DeviceBuf<float>(v[i]);
      dev.insert(dev.end(), {P, G, M, V});
      host_list.push_back({p[i].data(), g[i].data(), m[i].data(), v[i].data(), sizes[i]});
      dev_list.push_back({P->p, G->p, M->p, V->p, sizes[i]});
    }
    AdamWHyper h;
    h.lr = 0.02f;
    h.weight_decay = 0.1f;
    h.step = 3;
    cpu::adamw(support_pool(), host_list.data(), static_cast<int64_t>(sizes.size()), h);
    cuda::adamw(nullptr, dev_list.data(), static_cast<int64_t>(sizes.size()), h);
    bool ok = true;
    for (size_t i = 0; i < sizes.size(); ++i) {
      auto gp = dev[4 * i]->host(), gm = dev[4 * i + 2]->host(), gv = dev[4 * i + 3]->host();
      for (int64_t j = 0; j < sizes[i]; ++j)
        ok = ok && std::fabs(gp[j] - p[i][j]) <= 1e-6f * (1 + std::fabs(p[i][j])) && std::fabs(gm[j] - m[i][j]) <= 1e-6f &&
             std::fabs(gv[j] - v[i][j]) <= 1e-6f;
    }
    for (auto* b : dev) delete b;
    report.expect(ok, "adamw over 30 tensors (two launch groups, empty tensors) cuda vs cpu");
  }
}
#endif
