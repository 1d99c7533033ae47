// Elementwise maps, broadcast binary ops, reductions and layout copies: the CPU kernels against
// float64 references at odd sizes (outputs poisoned first), then every CUDA kernel against its CPU twin.
#include <cmath>
#include <string>

#include "echogen/elementwise.h"
#include "test/check.h"
#include "test/support_util.h"

using namespace echogen;
using echogen::test::poison;
using echogen::test::support_pool;
using echogen::test::uniform;

namespace {

const UnaryOp kUnary[] = {UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Relu, UnaryOp::Gelu};
const char* kUnaryName[] = {"exp", "log", "tanh", "sigmoid", "relu", "gelu"};

double ref_f(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::Relu: return x > 0 ? x : 0;
    default: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
}

// The derivative by central differences of the float64 function (independent of the kernel's formula).
double ref_df(UnaryOp op, double x) {
  const double h = 1e-6;
  return (ref_f(op, x + h) - ref_f(op, x - h)) / (2 * h);
}

std::vector<float> inputs_for(UnaryOp op, size_t n) {
  return op == UnaryOp::Log ? uniform(n, 0.05f, 4.f) : uniform(n, -4.f, 4.f);
}

struct Permutation {
  std::vector<int64_t> shape;
  std::vector<int> perm;
};

std::vector<double> ref_permute(const std::vector<float>& x, const Permutation& p) {
  const int rank = static_cast<int>(p.shape.size());
  std::vector<int64_t> in_stride(rank), out_shape(rank);
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) { in_stride[i] = s; s *= p.shape[i]; }
  for (int i = 0; i < rank; ++i) out_shape[i] = p.shape[p.perm[i]];
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i), src = 0;
    for (int d = rank - 1; d >= 0; --d) {
      src += (rem % out_shape[d]) * in_stride[p.perm[d]];
      rem /= out_shape[d];
    }
    y[i] = x[static_cast<size_t>(src)];
  }
  return y;
}

const Permutation kPerms[] = {{{3, 5, 7}, {2, 0, 1}}, {{2, 3, 5, 7}, {0, 2, 1, 3}}, {{4, 9}, {1, 0}}, {{2, 1, 3, 1, 5}, {4, 3, 2, 1, 0}}};

}  // namespace

EG_CHECK(support_elementwise_cpu) {
  const size_t n = 100003;
  for (int i = 0; i < 6; ++i) {
    UnaryOp op = kUnary[i];
    auto x = inputs_for(op, n), dy = uniform(n);
    auto y = poison(n), dx = poison(n);
    cpu::unary(support_pool(), op, n, x.data(), y.data());
    cpu::unary_backward(support_pool(), op, n, x.data(), y.data(), dy.data(), dx.data());
    std::vector<double> ry(n), rdx(n);
    for (size_t j = 0; j < n; ++j) {
      ry[j] = ref_f(op, x[j]);
      rdx[j] = dy[j] * ref_df(op, x[j]);
    }
    report.close(std::string(kUnaryName[i]) + " cpu vs f64", y.data(), ry.data(), n, 2e-6);
    report.close(std::string(kUnaryName[i]) + " backward cpu vs f64 central differences", dx.data(), rdx.data(), n, 1e-6 * 20);
  }
  const int64_t na = 3 * 37 * 41;
  for (int64_t nb : {na, int64_t(37 * 41), int64_t(41), int64_t(1)}) {
    auto a = uniform(na), b = uniform(nb);
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul}) {
      auto out = poison(na);
      cpu::binary(support_pool(), op, na, nb, a.data(), b.data(), out.data());
      std::vector<double> ref(na);
      for (int64_t j = 0; j < na; ++j) {
        double u = a[j], w = b[j % nb];
        ref[j] = op == BinaryOp::Add ? u + w : op == BinaryOp::Sub ? u - w : u * w;
      }
      report.close("binary op " + std::to_string(int(op)) + " nb=" + std::to_string(nb) + " cpu vs f64", out.data(), ref.data(), na, 1e-7);
    }
  }
  auto x = uniform(na), acc = uniform(na);
  std::vector<double> ref(na);
  for (int64_t j = 0; j < na; ++j) ref[j] = acc[j] + 0.5 * x[j];
  cpu::axpy(support_pool(), na, 0.5f, x.data(), acc.data());
  report.close("axpy cpu vs f64", acc.data(), ref.data(), na, 1e-7);
  auto y = poison(na);
  cpu::affine(support_pool(), na, x.data(), -1.5f, 0.25f, y.data());
  for (int64_t j = 0; j < na; ++j) ref[j] = -1.5 * x[j] + 0.25;
  report.close("affine cpu vs f64", y.data(), ref.data(), na, 1e-7);
}

EG_CHECK(support_reduce_cpu) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 100003}, {37, 41}, {4099, 3}, {3, 70001}, {1000, 257}}) {
    auto x = uniform(static_cast<size_t>(rows * cols));
    std::vector<double> col(cols, 0.0), row(rows, 0.0);
    double sq = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        double v = x[r * cols + c];
        col[c] += v;
        row[r] += v;
        sq += v * v;
      }
    const std::string sz = " " + std::to_string(rows) + "x" + std::to_string(cols);
    auto yc = poison(cols), yr = poison(rows), ys = poison(1), ye = poison(rows * cols);
    cpu::sum_rows(support_pool(), rows, cols, x.data(), 2.f, yc.data());
    for (auto& v : col) v *= 2;
    report.close("sum_rows" + sz + " cpu vs f64", yc.data(), col.data(), cols, 1e-6);
    cpu::sum_last(support_pool(), rows, cols, x.data(), 0.5f, yr.data());
    for (auto& v : row) v *= 0.5;
    report.close("sum_last" + sz + " cpu vs f64", yr.data(), row.data(), rows, 1e-6);
    cpu::sum_squares(support_pool(), rows * cols, x.data(), ys.data());
    report.close("sum_squares" + sz + " cpu vs f64", ys.data(), &sq, 1, 1e-6);
    cpu::expand_last(support_pool(), rows, cols, yr.data(), 3.f, ye.data());
    std::vector<double> re(rows * cols);
    for (int64_t r = 0; r < rows; ++r) for (int64_t c = 0; c < cols; ++c) re[r * cols + c] = 3.0 * yr[r];
    report.close("expand_last" + sz + " cpu vs f64", ye.data(), re.data(), re.size(), 1e-7);
  }
}

EG_CHECK(support_layout_cpu) {
  for (const Permutation& p : kPerms) {
    int64_t n = 1;
    for (auto d : p.shape) n *= d;
    auto x = uniform(n), y = poison(n);
    cpu::permute(support_pool(), static_cast<int>(p.shape.size()), p.shape.data(), p.perm.data(), x.data(), y.data());
    auto ref = ref_permute(x, p);
    report.close("permute rank " + std::to_string(p.shape.size()) + " cpu vs f64", y.data(), ref.data(), n, 0);
  }
  // [5, 13, 7] sliced to 4..11 along the middle axis, then placed back into zeros of [5, 17, 7] at 3
  const int64_t outer = 5, dim = 13, inner = 7, start = 4, len = 7, dst_dim = 17, dst_off = 3;
  auto x = uniform(outer * dim * inner), y = poison(outer * len * inner);
  cpu::copy_axis(support_pool(), outer, inner, len, x.data(), dim, start, y.data(), len, 0);
  std::vector<double> ref(y.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      for (int64_t i = 0; i < inner; ++i) ref[(o * len + j) * inner + i] = x[(o * dim + start + j) * inner + i];
  report.close("copy_axis slice cpu vs f64", y.data(), ref.data(), y.size(), 0);
  std::vector<float> z(outer * dst_dim * inner);
  cpu::fill(support_pool(), static_cast<int64_t>(z.size()), 0.f, z.data());
  cpu::copy_axis(support_pool(), outer, inner, len, y.data(), len, 0, z.data(), dst_dim, dst_off);
  std::vector<double> rz(z.size(), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      for (int64_t i = 0; i < inner; ++i) rz[(o * dst_dim + dst_off + j) * inner + i] = y[(o * len + j) * inner + i];
  report.close("copy_axis pad cpu vs f64", z.data(), rz.data(), z.size(), 0);
}

#ifdef ECHOGEN_WITH_CUDA
EG_CHECK(support_ops_cuda) {
  if (!echogen::test::cuda_device_present(nullptr)) return;
  using echogen::test::DeviceBuf;
  const int64_t n = 100003;
  for (int i = 0; i < 6; ++i) {
    UnaryOp op = kUnary[i];
    auto x = inputs_for(op, n), dy = uniform(n);
    auto y = poison(n), dx = poison(n);
    cpu::unary(support_pool(), op, n, x.data(), y.data());
    cpu::unary_backward(support_pool(), op, n, x.data(), y.data(), dy.data(), dx.data());
    DeviceBuf<float> dX(x), dDy(dy), dY(n), dDx(n);
    dY.poison();
    dDx.poison();
    cuda::unary(nullptr, op, n, dX.p, dY.p);
    cuda::unary_backward(nullptr, op, n, dX.p, dY.p, dDy.p, dDx.p);
    auto gy = dY.host(), gdx = dDx.host();
    report.close(std::string(kUnaryName[i]) + " cuda vs cpu", gy.data(), y.data(), n, 1e-6);
    report.close(std::string(kUnaryName[i]) + " backward cuda vs cpu", gdx.data(), dx.data(), n, 1e-5);
  }
  {
    const int64_t na = 3 * 37 * 41, nb = 41;
    auto a = uniform(na), b = uniform(nb), want = poison(na);
    cpu::binary(support_pool(), BinaryOp::Mul, na, nb, a.data(), b.data(), want.data());
    DeviceBuf<float> da(a), db(b), dout(na);
    dout.poison();
    cuda::binary(nullptr, BinaryOp::Mul, na, nb, da.p, db.p, dout.p);
    report.close("binary mul broadcast cuda vs cpu", dout.host().data(), want.data(), na, 0);
    auto acc = uniform(na), want2 = acc;
    cpu::axpy(support_pool(), na, -0.75f, a.data(), want2.data());
    DeviceBuf<float> dacc(acc);
    cuda::axpy(nullptr, na, -0.75f, da.p, dacc.p);
    report.close("axpy cuda vs cpu", dacc.host().data(), want2.data(), na, 1e-7);
    auto want3 = poison(na);
    cpu::affine(support_pool(), na, a.data(), 2.f, -1.f, want3.data());
    cuda::affine(nullptr, na, da.p, 2.f, -1.f, dout.p);
    report.close("affine cuda vs cpu", dout.host().data(), want3.data(), na, 0);
  }
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 300007}, {37, 41}, {70001, 3}, {3, 70001}, {1000, 257}}) {
    auto x = uniform(static_cast<size_t>(rows * cols));
    const std::string sz = " " + std::to_string(rows) + "x" + std::to_string(cols);
    auto wc = poison(cols), wr = poison(rows), ws = poison(1), we = poison(rows * cols);
    cpu::sum_rows(support_pool(), rows, cols, x.data(), 2.f, wc.data());
    cpu::sum_last(support_pool(), rows, cols, x.data(), 0.5f, wr.data());
    cpu::sum_squares(support_pool(), rows * cols, x.data(), ws.data());
    cpu::expand_last(support_pool(), rows, cols, wr.data(), 3.f, we.data());
    DeviceBuf<float> dx(x), dc(cols), dr(rows), ds(1), de(rows * cols);
    dc.poison(); dr.poison(); ds.poison(); de.poison();
    cuda::sum_rows(nullptr, rows, cols, dx.p, 2.f, dc.p);
    cuda::sum_last(nullptr, rows, cols, dx.p, 0.5f, dr.p);
    cuda::sum_squares(nullptr, rows * cols, dx.p, ds.p);
    cuda::expand_last(nullptr, rows, cols, dr.p, 3.f, de.p);
    report.close("sum_rows" + sz + " cuda vs cpu", dc.host().data(), wc.data(), cols, 1e-5);
    report.close("sum_last" + sz + " cuda vs cpu", dr.host().data(), wr.data(), rows, 1e-5);
    report.close("sum_squares" + sz + " cuda vs cpu", ds.host().data(), ws.data(), 1, 1e-5);
    report.close("expand_last" + sz + " cuda vs cpu", de.host().data(), we.data(), we.size(), 1e-5);
  }
  for (const Permutation& p : kPerms) {
    int64_t n2 = 1;
    for (auto d : p.shape) n2 *= d;
    auto x = uniform(n2), want = poison(n2);
    cpu::permute(support_pool(), static_cast<int>(p.shape.size()), p.shape.data(), p.perm.data(), x.data(), want.data());
    DeviceBuf<float> dx(x), dy(n2);
    dy.poison();
    cuda::permute(nullptr, static_cast<int>(p.shape.size()), p.shape.data(), p.perm.data(), dx.p, dy.p);
    report.close("permute rank " + std::to_string(p.shape.size()) + " cuda vs cpu", dy.host().data(), want.data(), n2, 0);
  }
  {
    const int64_t outer = 5, dim = 13, inner = 7, start = 4, len = 7;
    auto x = uniform(outer * dim * inner), want = poison(outer * len * inner);
    cpu::copy_axis(support_pool(), outer, inner, len, x.data(), dim, start, want.data(), len, 0);
    DeviceBuf<float> dx(x), dy(want.size());
    dy.poison();
    cuda::copy_axis(nullptr, outer, inner, len, dx.p, dim, start, dy.p, len, 0);
    report.close("copy_axis cuda vs cpu", dy.host().data(), want.data(), want.size(), 0);
    cuda::fill(nullptr, static_cast<int64_t>(want.size()), 2.5f, dy.p);
    std::vector<float> twos(want.size(), 2.5f);
    report.close("fill cuda", dy.host().data(), twos.data(), twos.size(), 0);
  }
}
#endif
