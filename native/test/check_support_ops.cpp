// Elementwise maps, broadcast binary ops, reductions and layout copies: the CPU kernels against
// float64 references at odd sizes as harness cases (outputs poisoned, CUDA twins against the CPU).
#include <cmath>
#include <string>

#include "echogen/elementwise.h"
#include "test/harness.h"

using namespace echogen;
using namespace echogen::test;

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

// The derivative by central differences of the float64 function (independent of the kernel's formula), but for
// relu's: a difference across its kink (|x| < h, ~2 % of runs on 1e5 fresh inputs) gives a value between 0 and 1,
// so it is the step itself, 0 at x = 0 (the subgradient the kernels take).
double ref_df(UnaryOp op, double x) {
  if (op == UnaryOp::Relu) return x > 0 ? 1 : 0;
  const double h = 1e-6;
  return (ref_f(op, x + h) - ref_f(op, x - h)) / (2 * h);
}

// relu's inputs hold exact zeros and the floats next to zero, where its derivative changes.
std::vector<float> inputs_for(UnaryOp op, size_t n) {
  if (op == UnaryOp::Log) return uniform(n, 0.05f, 4.f);
  std::vector<float> x = uniform(n, -4.f, 4.f);
  if (op == UnaryOp::Relu)
    for (size_t i = 0; i + 2 < n; i += 997) x[i] = 0.f, x[i + 1] = 1e-30f, x[i + 2] = -1e-30f;
  return x;
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

EG_CASES(unary) {
  std::vector<Case> cases;
  const size_t n = mode == Mode::Bench ? (size_t(1) << 24) : 100003;
  for (int k = 0; k < 6; ++k) {
    const UnaryOp op = kUnary[k];
    auto x = inputs_for(op, n), dy = uniform(n);
    std::vector<double> ry, rdx;
    if (mode == Mode::Test) {
      ry.resize(n), rdx.resize(n);
      for (size_t j = 0; j < n; ++j) {
        ry[j] = ref_f(op, x[j]);
        rdx[j] = dy[j] * ref_df(op, x[j]);
      }
    }
    // the backward reads the forward's input and output (each op uses the one it needs)
    Case c = make_case(std::string(kUnaryName[k]) + " n=" + std::to_string(n),
                       {in("x", x), in("dy", dy), out("y", n, 1e-6).with_ref(ry, 2e-6), out("dx", n, 1e-5).with_ref(rdx, 2e-5)},
                       [=](auto be, Args& a) {
                         unary(be, op, n, a.f(0), a.f(2));
                         unary_backward(be, op, n, a.f(0), a.f(2), a.f(1), a.f(3));
                       });
    c.bytes = 4.0 * 5 * n;
    cases.push_back(std::move(c));
  }
  return cases;
}

EG_CASES(bias_gelu) {
  std::vector<Case> cases;
  using Size = std::pair<int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{4096, 3072}} : std::vector<Size>{{2, 9}, {37, 129}, {1031, 33}, {0, 5}};  // (one tiny gelu alone would make the relative measure noise)
  for (auto [rows, cols] : sizes) {
    auto x = uniform(rows * cols, -4.f, 4.f), b = uniform(cols), dy = uniform(rows * cols);
    std::vector<double> ry(rows * cols), rdx(rows * cols), rdb(cols, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const double v = double(x[r * cols + c]) + b[c];
        ry[r * cols + c] = ref_f(UnaryOp::Gelu, v);
        rdx[r * cols + c] = dy[r * cols + c] * ref_df(UnaryOp::Gelu, v);
        rdb[c] += rdx[r * cols + c];
      }
    Case k = make_case("bias_gelu " + std::to_string(rows) + "x" + std::to_string(cols),
                       {in("x", x), in("b", b), in("dy", dy), out("y", rows * cols, 1e-6).with_ref(ry, 2e-6),
                        out("dx", rows * cols, 1e-5).with_ref(rdx, 2e-5), out("db", cols, 1e-5).with_ref(rdb, 2e-5)},
                       [=](auto be, Args& a) {
                         bias_gelu(be, rows, cols, a.f(0), a.f(1), a.f(3));
                         bias_gelu_backward(be, rows, cols, a.f(0), a.f(1), a.f(2), a.f(4), a.f(5));
                       });
    k.bytes = 4.0 * 5 * rows * cols;
    cases.push_back(std::move(k));
  }
  return cases;
}

EG_CASES(binary_axpy_affine) {
  std::vector<Case> cases;
  const int64_t na = mode == Mode::Bench ? (int64_t(1) << 24) : 3 * 37 * 41;
  const std::vector<int64_t> nbs = mode == Mode::Bench ? std::vector<int64_t>{na, 1024} : std::vector<int64_t>{na, 37 * 41, 41, 1};
  auto a = uniform(na);
  for (int64_t nb : nbs) {
    auto b = uniform(nb);
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul}) {
      std::vector<double> ref(na);
      for (int64_t j = 0; j < na; ++j) {
        const double u = a[j], w = b[j % nb];
        ref[j] = op == BinaryOp::Add ? u + w : op == BinaryOp::Sub ? u - w : u * w;
      }
      Case c = make_case("binary op " + std::to_string(int(op)) + " na=" + std::to_string(na) + " nb=" + std::to_string(nb),
                         {in("a", a), in("b", b), out("out", na, 0).with_ref(ref, 1e-7)},
                         [=](auto be, Args& x) { binary(be, op, na, nb, x.f(0), x.f(1), x.f(2)); });
      c.bytes = 4.0 * (2 * na + nb);
      cases.push_back(std::move(c));
    }
  }
  auto acc = uniform(na);
  std::vector<double> r1(na), r2(na);
  for (int64_t j = 0; j < na; ++j) r1[j] = acc[j] + 0.5 * a[j], r2[j] = -1.5 * a[j] + 0.25;
  cases.push_back(make_case("axpy n=" + std::to_string(na), {in("x", a), inout("acc", acc, 1e-7).with_ref(r1)},
                            [=](auto be, Args& x) { axpy(be, na, 0.5f, x.f(0), x.f(1)); }));
  cases.push_back(make_case("affine n=" + std::to_string(na), {in("x", a), out("y", na, 0).with_ref(r2, 1e-7)},
                            [=](auto be, Args& x) { affine(be, na, x.f(0), -1.5f, 0.25f, x.f(1)); }));
  cases.push_back(make_case("fill n=" + std::to_string(na), {out("x", na, 0).with_ref(std::vector<double>(na, 2.5))},
                            [=](auto be, Args& x) { fill(be, na, 2.5f, x.f(0)); }));
  return cases;
}

EG_CASES(reduce) {
  std::vector<Case> cases;
  using Size = std::pair<int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{4096, 1024}, {1, int64_t(1) << 24}}
                                                      : std::vector<Size>{{1, 100003}, {37, 41}, {4099, 3}, {3, 70001}, {1000, 257}, {1, 300007}, {70001, 3}};
  for (auto [rows, cols] : sizes) {
    auto x = uniform(static_cast<size_t>(rows * cols));
    std::vector<double> col(cols, 0.0), row(rows, 0.0), sq(1, 0.0), ex(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const double v = x[r * cols + c];
        col[c] += 2 * v;
        row[r] += 0.5 * v;
        sq[0] += v * v;
      }
    // expand_last expands the float64 row sums (its own input is sum_last's f32 output, so 1e-6)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) ex[r * cols + c] = 3.0 * row[r];
    Case k = make_case("sum_rows/sum_last/sum_squares/expand_last " + std::to_string(rows) + "x" + std::to_string(cols),
                       {in("x", x), out("sum_rows", cols).with_ref(col, 1e-6), out("sum_last", rows).with_ref(row, 1e-6),
                        out("sum_squares", 1).with_ref(sq, 1e-6), out("expand_last", rows * cols).with_ref(ex, 1e-6)},
                       [=](auto be, Args& a) {
                         sum_rows(be, rows, cols, a.f(0), 2.f, a.f(1));
                         sum_last(be, rows, cols, a.f(0), 0.5f, a.f(2));
                         sum_squares(be, rows * cols, a.f(0), a.f(3));
                         expand_last(be, rows, cols, a.f(2), 3.f, a.f(4));
                       });
    k.bytes = 4.0 * 4 * rows * cols;
    cases.push_back(std::move(k));
  }
  return cases;
}

EG_CASES(layout) {
  std::vector<Case> cases;
  for (const Permutation& p : kPerms) {
    int64_t n = 1;
    for (auto d : p.shape) n *= d;
    auto x = uniform(n);
    cases.push_back(make_case("permute rank " + std::to_string(p.shape.size()), {in("x", x), out("y", n, 0).with_ref(ref_permute(x, p))},
                              [=](auto be, Args& a) {
                                permute(be, static_cast<int>(p.shape.size()), p.shape.data(), p.perm.data(), a.f(0), a.f(1));
                              }));
  }
  // [5, 13, 7] sliced to 4..11 along the middle axis, then placed back into zeros of [5, 17, 7] at 3
  const int64_t outer = mode == Mode::Bench ? 4096 : 5, dim = 13, inner = mode == Mode::Bench ? 256 : 7, start = 4, len = 7,
                dst_dim = 17, dst_off = 3;
  auto x = uniform(outer * dim * inner);
  std::vector<double> ry(outer * len * inner), rz(outer * dst_dim * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      for (int64_t i = 0; i < inner; ++i) {
        ry[(o * len + j) * inner + i] = x[(o * dim + start + j) * inner + i];
        rz[(o * dst_dim + dst_off + j) * inner + i] = x[(o * dim + start + j) * inner + i];
      }
  Case c = make_case("copy_axis slice and pad", {in("x", x), out("slice", ry.size(), 0).with_ref(ry), out("pad", rz.size(), 0).with_ref(rz)},
                     [=](auto be, Args& a) {
                       copy_axis(be, outer, inner, len, a.f(0), dim, start, a.f(1), len, int64_t{0});
                       fill(be, static_cast<int64_t>(outer * dst_dim * inner), 0.f, a.f(2));
                       copy_axis(be, outer, inner, len, a.f(1), len, int64_t{0}, a.f(2), dst_dim, dst_off);
                     });
  c.bytes = 4.0 * 2 * outer * len * inner;
  cases.push_back(std::move(c));
  return cases;
}
