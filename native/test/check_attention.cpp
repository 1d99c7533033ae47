// Fused attention: the CPU kernels against a float64 reference that builds the whole score
// matrix, and (with a GPU) the CUDA kernels against both (harness cases), on random odd sizes
// with causal, 2-D and 3-D masks, Tq != Tk and rows that see no key.
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "echogen/attention.h"
#include "test/harness.h"

namespace {

using echogen::AttentionParams;
using Vec = std::vector<float>;
using Ref = std::vector<double>;

struct Shape {
  int64_t B, H, Tq, Tk, D;
  bool causal;
  int mask_rank;  // 0 (none), 2 or 3
  bool segments = false;  // the mask a sequence of segments makes (segment_mask), not random
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

// A PMTP-like segment mask: runs of 19-70 positions, each seeing its own segment and every second earlier one,
// so a tile of 64 x 64 can be all hidden, all visible or mixed (the kernels classify tiles once a call).
std::vector<int32_t> segment_mask(size_t n_batches, int64_t Tq, int64_t Tk) {
  std::vector<int32_t> m(n_batches * Tq * Tk);
  std::uniform_int_distribution<int64_t> run(19, 70);
  for (size_t b = 0; b < n_batches; ++b) {
    std::vector<int64_t> seg(static_cast<size_t>(std::max(Tq, Tk)));
    for (int64_t t = 0, s = 0; t < static_cast<int64_t>(seg.size()); ++s)
      for (int64_t n = run(echogen::test::rng()); n > 0 && t < static_cast<int64_t>(seg.size()); --n) seg[t++] = s;
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j)
        m[(b * Tq + i) * Tk + j] = seg[j] == seg[i] || (seg[j] < seg[i] && seg[j] % 2 == 0) ? 1 : 0;
  }
  return m;
}

std::string describe(const Shape& c) {
  return "B=" + std::to_string(c.B) + " H=" + std::to_string(c.H) + " Tq=" + std::to_string(c.Tq) +
         " Tk=" + std::to_string(c.Tk) + " D=" + std::to_string(c.D) + (c.causal ? " causal" : "") +
         (c.mask_rank ? " mask" + std::to_string(c.mask_rank) + "d" : "") + (c.segments ? " segments" : "");
}

const std::vector<Shape> kShapes = {
    {2, 3, 7, 33, 24, false, 0},  {1, 2, 130, 130, 32, true, 0}, {2, 1, 1, 17, 80, true, 0},
    {1, 3, 33, 7, 8, true, 0},    {2, 2, 65, 130, 64, false, 3}, {1, 2, 40, 33, 128, true, 2},
    {3, 1, 130, 1, 16, false, 0}, {2, 2, 97, 71, 40, true, 3},
    // segment masks: tiles all hidden, all visible and mixed, causal or not, one mask or one a batch
    {2, 2, 200, 200, 32, true, 3, true}, {1, 3, 150, 230, 16, false, 2, true},
};

struct Inputs {
  AttentionParams p;
  Vec q, k, v, dout;
  std::vector<int32_t> mask;
};

Inputs make_inputs(const Shape& c) {
  Inputs in;
  AttentionParams& p = in.p;
  p.B = c.B, p.H = c.H, p.Tq = c.Tq, p.Tk = c.Tk, p.D = c.D, p.causal = c.causal;
  p.scale = static_cast<float>(1.0 / std::sqrt(double(c.D))) * 1.5f;  // sharper than default: larger softmax range
  in.q = echogen::test::uniform(c.B * c.H * c.Tq * c.D, -2.f, 2.f);
  in.k = echogen::test::uniform(c.B * c.H * c.Tk * c.D, -2.f, 2.f);
  in.v = echogen::test::uniform(c.B * c.H * c.Tk * c.D);
  in.dout = echogen::test::uniform(c.B * c.H * c.Tq * c.D);
  if (c.mask_rank) {
    in.mask = (c.segments ? segment_mask : random_mask)(c.mask_rank == 3 ? c.B : 1, c.Tq, c.Tk);
    p.mask_batched = c.mask_rank == 3;
  }
  p.mask = in.mask.empty() ? nullptr : in.mask.data();
  return in;
}

echogen::test::Array in_(const Vec& v, const char* name) { return echogen::test::in(name, v); }

// One case: forward then backward (which reads the forward's out and lse); the mask, when there
// is one, is an i32 array the kernel sees on its own device.
echogen::test::Case attention_case(const std::string& name, const Inputs& in, bool with_ref) {
  using namespace echogen::test;
  const AttentionParams p = in.p;
  RefOut r = with_ref ? reference(p, p.mask, in.q, in.k, in.v, in.dout) : RefOut{};
  const bool masked = !in.mask.empty();
  Case c = make_case(name,
                     {in_(in.q, "q"), in_(in.k, "k"), in_(in.v, "v"), in_(in.dout, "dout"),
                      in_i32("mask", masked ? in.mask : std::vector<int32_t>(1)),
                      out("out", in.q.size(), 1e-4).with_ref(r.out), out("lse", p.B * p.H * p.Tq, 1e-4).with_ref(r.lse),
                      out("dq", in.q.size(), 1e-3).with_ref(r.dq), out("dk", in.k.size(), 1e-3).with_ref(r.dk),
                      out("dv", in.v.size(), 1e-3).with_ref(r.dv)},
                     [=](auto be, Args& a) {
                       AttentionParams q = p;
                       q.mask = masked ? a.i(4) : nullptr;
                       attention_forward(be, q, a.f(0), a.f(1), a.f(2), a.f(5), a.f(6));
                       attention_backward(be, q, a.f(0), a.f(1), a.f(2), a.f(5), a.f(6), a.f(3), a.f(7), a.f(8), a.f(9));
                     });
  c.flops = 3.5 * 4.0 * p.B * p.H * p.Tq * p.Tk * p.D / (p.causal ? 2 : 1);
  return c;
}

// [B,H,T,D] (contiguous) -> [B,T,parts,H,D] at `part`: the token-major layout of a fused
// projection's output (echogen::token_major_layout).
template <typename T>
void token_major(const std::vector<T>& bhtd, std::vector<T>& packed, int64_t B, int64_t H, int64_t Tn, int64_t D,
                 int64_t parts, int64_t part) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < Tn; ++t)
        for (int64_t c = 0; c < D; ++c)
          packed[(((b * Tn + t) * parts + part) * H + h) * D + c] = bhtd[((b * H + h) * Tn + t) * D + c];
}

// q, k and v read in place from one qkv [B,T,3*H*D] and out, dOut and dqkv in the same
// token-major layouts (what packedAttention hands the kernels), against the same f64 reference.
echogen::test::Case packed_case(const Shape& s) {
  using namespace echogen::test;
  Inputs in = make_inputs({s.B, s.H, s.Tq, s.Tq, s.D, s.causal, s.mask_rank, s.segments});
  AttentionParams p = in.p;
  const int64_t B = p.B, H = p.H, T = p.Tq, D = p.D, HD = H * D;
  RefOut r = reference(p, p.mask, in.q, in.k, in.v, in.dout);
  Vec qkv(B * T * 3 * HD), dout(B * T * HD);
  Ref out_ref(dout.size()), dqkv_ref(qkv.size());
  const Vec* parts[3] = {&in.q, &in.k, &in.v};
  const Ref* grads[3] = {&r.dq, &r.dk, &r.dv};
  for (int64_t part = 0; part < 3; ++part) {
    token_major(*parts[part], qkv, B, H, T, D, 3, part);
    token_major(*grads[part], dqkv_ref, B, H, T, D, 3, part);
  }
  token_major(in.dout, dout, B, H, T, D, 1, 0);
  token_major(r.out, out_ref, B, H, T, D, 1, 0);
  p.q_layout = p.k_layout = p.v_layout = echogen::token_major_layout(H, T, D, 3);
  p.o_layout = echogen::token_major_layout(H, T, D, 1);
  const bool masked = !in.mask.empty();
  Case c = make_case("attention packed qkv " + describe(s),
                     {in_(qkv, "qkv"), in_(dout, "dout"), in_i32("mask", masked ? in.mask : std::vector<int32_t>(1)),
                      out("out", dout.size(), 1e-4).with_ref(out_ref), out("lse", B * H * T, 1e-4).with_ref(r.lse),
                      out("dqkv", qkv.size(), 1e-3).with_ref(dqkv_ref)},
                     [=](auto be, Args& a) {
                       AttentionParams q = p;
                       q.mask = masked ? a.i(2) : nullptr;
                       const float* x = a.f(0);
                       float* d = a.f(5);
                       attention_forward(be, q, x, x + HD, x + 2 * HD, a.f(3), a.f(4));
                       attention_backward(be, q, x, x + HD, x + 2 * HD, a.f(3), a.f(4), a.f(1), d, d + HD, d + 2 * HD);
                     });
  c.flops = 3.5 * 4.0 * B * H * T * T * D / (p.causal ? 2 : 1);
  return c;
}

}  // namespace

EG_CASES(attention) {
  std::vector<echogen::test::Case> cases;
  if (mode == echogen::test::Mode::Bench) {
    for (const Shape& s : {Shape{4, 8, 130, 130, 32, true, 0}, Shape{1, 8, 512, 512, 64, false, 0}, Shape{1, 32, 2048, 2048, 128, true, 0}})
      cases.push_back(attention_case("attention " + describe(s), make_inputs(s), false));
    return cases;
  }
  for (const Shape& s : kShapes) cases.push_back(attention_case("attention " + describe(s), make_inputs(s), true));
  // Tq = Tk (one sequence); odd T past a block, a mask, one head, several batches.
  for (const Shape& s : {Shape{2, 3, 37, 37, 16, true, 0}, Shape{1, 2, 130, 130, 32, false, 3}, Shape{3, 1, 9, 9, 8, true, 2},
                         Shape{3, 2, 260, 260, 32, true, 3, true}})
    cases.push_back(packed_case(s));
  // A row that sees no key must get exactly out 0 / lse -inf / dq 0, and a key no query sees
  // exactly dk = dv = 0: checked elementwise, not through a relative error.
  Inputs in = make_inputs({1, 1, 5, 9, 8, true, 2});
  const int64_t Tk = in.p.Tk, D = in.p.D;
  for (int64_t j = 0; j < Tk; ++j) in.mask[2 * Tk + j] = 0;        // row 2 sees nothing
  for (int64_t i = 0; i < in.p.Tq; ++i) in.mask[i * Tk + 1] = 0;   // key 1 is seen by no one
  in.p.mask = in.mask.data();
  echogen::test::Case c = attention_case("attention empty row and unseen key", in, true);
  c.check = [D](echogen::test::Report& report, const echogen::test::Outputs& o) {
    bool empty_ok = o.f[6][2] == -INFINITY;
    for (int64_t k = 0; k < D; ++k) empty_ok = empty_ok && o.f[5][2 * D + k] == 0.f && o.f[7][2 * D + k] == 0.f;
    report.expect(empty_ok, "attention cpu: a row with no visible key has out 0, lse -inf, dq 0");
    bool unseen_ok = true;
    for (int64_t k = 0; k < D; ++k) unseen_ok = unseen_ok && o.f[8][1 * D + k] == 0.f && o.f[9][1 * D + k] == 0.f;
    report.expect(unseen_ok, "attention cpu: a key no query sees has dk = dv = 0");
  };
  c.twin_check = [check = c.check](echogen::test::Report& report, const echogen::test::Outputs& gpu, const echogen::test::Outputs&) {
    check(report, gpu);  // the same exact zeros on the GPU
  };
  cases.push_back(std::move(c));
  return cases;
}
