// Box kernels: the CPU kernels against a float64 reference on random odd sizes (boxes that
// overlap, touch, nest, are disjoint or have zero area), the fault reports, and (with a GPU)
// the CUDA kernels against their CPU twins.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "echogen/boxes.h"
#include "test/check.h"

#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace {

using echogen::BoxFault;
using echogen::BoxKind;
using echogen::RewardOptions;
using Vec = std::vector<float>;
using Ref = std::vector<double>;

// n random valid boxes in [0,1]^2 on a coarse grid, so exact touching, identical and zero-area
// boxes occur often enough to be exercised.
Vec random_boxes(int64_t n) {
  Vec u = echogen::test::uniform(static_cast<size_t>(4 * n), 0.f, 1.f);
  for (int64_t i = 0; i < n; ++i) {
    float* b = &u[4 * i];
    for (int k = 0; k < 4; ++k) b[k] = (k == 0 && i % 5 == 0) ? std::round(b[k] * 8) / 8 : std::round(b[k] * 64) / 64;
    if (i % 7 == 3) b[2] = b[0];  // a zero-width box
    if (b[2] < b[0]) std::swap(b[0], b[2]);
    if (b[3] < b[1]) std::swap(b[1], b[3]);
  }
  return u;
}

double iou_ref(const float* a, const float* b, bool giou) {
  double ix = std::max(0.0, std::min<double>(a[2], b[2]) - std::max<double>(a[0], b[0]));
  double iy = std::max(0.0, std::min<double>(a[3], b[3]) - std::max<double>(a[1], b[1]));
  double inter = ix * iy;
  double uni = double(a[2] - double(a[0])) * (a[3] - double(a[1])) + (b[2] - double(b[0])) * (b[3] - double(b[1])) - inter;
  double iou = uni > 0 ? inter / uni : 0;
  if (!giou) return iou;
  double c = (std::max<double>(a[2], b[2]) - std::min<double>(a[0], b[0])) * (std::max<double>(a[3], b[3]) - std::min<double>(a[1], b[1]));
  return c > 0 ? iou - (c - uni) / c : iou;
}

struct RewardRef {
  Ref reward, advantage, iou;
};

RewardRef reward_ref(const Vec& pred, const Vec& target, const Vec& mask, int64_t B, int64_t G, int64_t N,
                     RewardOptions o) {
  RewardRef r;
  r.reward.assign(B * G, 0), r.advantage.assign(B * G, 0), r.iou.assign(B * G * N, 0);
  for (int64_t b = 0; b < B; ++b) {
    double count = 0;
    for (int64_t n = 0; n < N; ++n) count += mask[b * N + n];
    for (int64_t g = 0; g < G; ++g) {
      double si = 0, sl = 0;
      for (int64_t n = 0; n < N; ++n) {
        if (mask[b * N + n] == 0) continue;
        const float *p = &pred[((b * G + g) * N + n) * 4], *t = &target[(b * N + n) * 4];
        double v = iou_ref(p, t, false), l1 = 0;
        for (int k = 0; k < 4; ++k) l1 += std::fabs(double(p[k]) - t[k]) / 4;
        r.iou[(b * G + g) * N + n] = v;
        si += v, sl += l1;
      }
      r.reward[b * G + g] = count > 0 ? (o.iou_weight * si - o.l1_weight * sl) / count : 0;
    }
    double mean = 0, ss = 0;
    for (int64_t g = 0; g < G; ++g) mean += r.reward[b * G + g] / G;
    for (int64_t g = 0; g < G; ++g) ss += (r.reward[b * G + g] - mean) * (r.reward[b * G + g] - mean);
    double sd = G > 1 ? std::sqrt(ss / (G - 1)) : 0;
    for (int64_t g = 0; g < G; ++g)
      r.advantage[b * G + g] = G > 1 && ss > 0 ? (r.reward[b * G + g] - mean) / (sd + o.eps) : 0;
  }
  return r;
}

// pred near target (so rewards vary within a group), a random 0/1 mask with whole-padding rows.
struct RewardCase {
  int64_t B, G, N;
  Vec pred, target, mask;
};
RewardCase make_reward_case(int64_t B, int64_t G, int64_t N) {
  RewardCase c{B, G, N, {}, random_boxes(B * N), {}};
  c.pred.resize(B * G * N * 4);
  Vec jitter = echogen::test::uniform(c.pred.size(), -0.2f, 0.2f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t n = 0; n < N; ++n) {
        float* p = &c.pred[((b * G + g) * N + n) * 4];
        const float* t = &c.target[(b * N + n) * 4];
        for (int k = 0; k < 4; ++k) p[k] = t[k] + jitter[((b * G + g) * N + n) * 4 + k];
        if (p[2] < p[0]) std::swap(p[0], p[2]);
        if (p[3] < p[1]) std::swap(p[1], p[3]);
      }
  Vec u = echogen::test::uniform(B * N, 0.f, 1.f);
  for (int64_t i = 0; i < B * N; ++i) c.mask.push_back((u[i] < 0.7f && (i / std::max<int64_t>(N, 1)) % 5 != 4) ? 1.f : 0.f);
  return c;
}

std::string dims(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t x : d) s += (s.empty() ? "" : "x") + std::to_string(x);
  return s;
}

}  // namespace

EG_CHECK(boxes_iou) {
  echogen::ThreadPool pool(4);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {130, 67}, {257, 1000}}) {
    Vec a = random_boxes(n), b = random_boxes(m);
    for (BoxKind kind : {BoxKind::IoU, BoxKind::GIoU}) {
      bool giou = kind == BoxKind::GIoU;
      Vec out = echogen::test::poison(n * m);
      BoxFault f = echogen::cpu::box_iou(pool, a.data(), n, b.data(), m, kind, out.data());
      Ref ref(n * m);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < m; ++j) ref[i * m + j] = iou_ref(&a[4 * i], &b[4 * j], giou);
      report.expect(!f.any(), "box_iou cpu " + dims({n, m}) + ": valid boxes raise no fault");
      report.close(std::string("box_iou cpu ") + (giou ? "giou " : "iou ") + dims({n, m}), out.data(), ref.data(), n * m, 1e-5);
    }
  }
  // a bad box is reported by index, the first one when there are several
  Vec a = random_boxes(9), b = random_boxes(4);
  a[4 * 5 + 2] = a[4 * 5 + 0] - 0.1f;  // box 5: x2 < x1
  a[4 * 7 + 1] = NAN;                  // box 7: NaN
  b[4 * 3 + 3] = b[4 * 3 + 1] - 0.5f;  // box 3: y2 < y1
  Vec out(9 * 4);
  BoxFault f = echogen::cpu::box_iou(pool, a.data(), 9, b.data(), 4, BoxKind::IoU, out.data());
  report.expect(f.bad[0] == 5 && f.bad[1] == 3, "box_iou cpu reports the first bad box of a (5) and of b (3)");
}

EG_CHECK(boxes_reward) {
  echogen::ThreadPool pool(4);
  RewardOptions opt;
  for (auto [B, G, N] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 5, 7}, {64, 8, 4}, {13, 33, 2}, {5, 2, 70}}) {
    RewardCase c = make_reward_case(B, G, N);
    Vec reward = echogen::test::poison(B * G), adv = echogen::test::poison(B * G), iou = echogen::test::poison(B * G * N);
    BoxFault f = echogen::cpu::cycle_reward(pool, c.pred.data(), c.target.data(), c.mask.data(), B, G, N, opt,
                                            reward.data(), adv.data(), iou.data());
    RewardRef r = reward_ref(c.pred, c.target, c.mask, B, G, N, opt);
    const std::string d = dims({B, G, N});
    report.expect(!f.any(), "cycle_reward cpu " + d + ": valid inputs raise no fault");
    report.close("cycle_reward cpu reward " + d, reward.data(), r.reward.data(), B * G, 1e-5);
    report.close("cycle_reward cpu advantage " + d, adv.data(), r.advantage.data(), B * G, 1e-4);
    report.close("cycle_reward cpu iou " + d, iou.data(), r.iou.data(), B * G * N, 1e-5);
  }
  // identical samples: advantage exactly 0
  RewardCase c = make_reward_case(4, 6, 3);
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t g = 1; g < 6; ++g) std::copy_n(&c.pred[b * 6 * 3 * 4], 12, &c.pred[(b * 6 + g) * 3 * 4]);
  Vec reward(24), adv = echogen::test::poison(24), iou(72);
  echogen::cpu::cycle_reward(pool, c.pred.data(), c.target.data(), c.mask.data(), 4, 6, 3, opt, reward.data(), adv.data(), iou.data());
  report.expect(std::all_of(adv.begin(), adv.end(), [](float v) { return v == 0.f; }), "cycle_reward cpu: equal rewards give advantage exactly 0");
  // faults: the first bad pred box, target box and mask entry
  c.pred[(2 * 6 * 3 + 4) * 4 + 0] = 2.f;  // pred box 40: x1 > x2
  c.target[(1 * 3 + 2) * 4 + 3] = -1.f;   // target box 5: y2 < y1
  c.mask[7] = 0.5f;
  BoxFault f = echogen::cpu::cycle_reward(pool, c.pred.data(), c.target.data(), c.mask.data(), 4, 6, 3, opt,
                                          reward.data(), adv.data(), iou.data());
  report.expect(f.bad[0] == 40 && f.bad[1] == 5 && f.bad[2] == 7, "cycle_reward cpu reports the bad pred box, target box and mask entry");
}

#ifdef ECHOGEN_WITH_CUDA
namespace {
struct DeviceBuf {
  void* ptr;
  size_t bytes;
  explicit DeviceBuf(const Vec& host) : ptr(echogen::cuda::malloc_device(host.size() * 4)), bytes(host.size() * 4) {
    echogen::cuda::copy_h2d(ptr, host.data(), bytes, nullptr);
  }
  ~DeviceBuf() { echogen::cuda::free_device(ptr); }
  float* f() const { return static_cast<float*>(ptr); }
  Vec host() const {
    Vec h(bytes / 4);
    echogen::cuda::copy_d2h(h.data(), ptr, bytes, nullptr);
    return h;
  }
};
}  // namespace

EG_CHECK(boxes_cuda) {
  std::string device;
  if (!echogen::test::cuda_device_present(&device)) {
    std::printf("boxes_cuda: skipped: no CUDA device\n");
    return;
  }
  std::printf("boxes_cuda on %s\n", device.c_str());
  echogen::ThreadPool pool(4);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{1, 1}, {7, 33}, {130, 67}, {1000, 257}, {0, 5}}) {
    Vec a = random_boxes(n), b = random_boxes(m);
    for (BoxKind kind : {BoxKind::IoU, BoxKind::GIoU}) {
      Vec cpu_out(n * m);
      echogen::cpu::box_iou(pool, a.data(), n, b.data(), m, kind, cpu_out.data());
      DeviceBuf da(a), db(b), dout(echogen::test::poison(n * m));
      BoxFault f = echogen::cuda::box_iou(nullptr, da.f(), n, db.f(), m, kind, dout.f());
      Vec got = dout.host();
      const std::string name = std::string("box_iou cuda vs cpu ") + (kind == BoxKind::GIoU ? "giou " : "iou ") + dims({n, m});
      report.expect(!f.any(), name + ": no fault");
      report.close(name, got.data(), cpu_out.data(), n * m, 1e-6);
    }
  }
  {
    Vec a = random_boxes(70), b = random_boxes(40);
    a[4 * 61 + 2] = a[4 * 61] - 0.25f, a[4 * 66 + 3] = -5.f, b[4 * 39 + 0] = INFINITY;
    DeviceBuf da(a), db(b), dout(Vec(70 * 40));
    BoxFault f = echogen::cuda::box_iou(nullptr, da.f(), 70, db.f(), 40, BoxKind::IoU, dout.f());
    report.expect(f.bad[0] == 61 && f.bad[1] == 39, "box_iou cuda reports the first bad box of a (61) and of b (39)");
  }
  RewardOptions opt;
  opt.iou_weight = 1.5f, opt.l1_weight = 0.5f;
  for (auto [B, G, N] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 5, 7}, {64, 8, 4}, {13, 33, 2}, {5, 2, 70}, {7, 70, 3}, {2, 4, 0}}) {
    RewardCase c = make_reward_case(B, G, N);
    Vec cr(B * G), ca(B * G), ci(B * G * N);
    echogen::cpu::cycle_reward(pool, c.pred.data(), c.target.data(), c.mask.data(), B, G, N, opt, cr.data(), ca.data(), ci.data());
    DeviceBuf dp(c.pred), dt(c.target), dm(c.mask), dr(echogen::test::poison(B * G)), dadv(echogen::test::poison(B * G)),
        di(echogen::test::poison(B * G * N));
    BoxFault f = echogen::cuda::cycle_reward(nullptr, dp.f(), dt.f(), dm.f(), B, G, N, opt, dr.f(), dadv.f(), di.f());
    const std::string d = dims({B, G, N});
    report.expect(!f.any(), "cycle_reward cuda " + d + ": no fault");
    Vec gr = dr.host(), ga = dadv.host(), gi = di.host();
    report.close("cycle_reward cuda vs cpu reward " + d, gr.data(), cr.data(), B * G, 1e-5);
    report.close("cycle_reward cuda vs cpu advantage " + d, ga.data(), ca.data(), B * G, 1e-4);
    report.close("cycle_reward cuda vs cpu iou " + d, gi.data(), ci.data(), B * G * N, 1e-6);
  }
  {
    RewardCase c = make_reward_case(4, 6, 3);
    c.pred[(2 * 6 * 3 + 4) * 4 + 0] = 2.f, c.pred[(3 * 6 * 3 + 1) * 4 + 0] = 2.f;
    c.target[(1 * 3 + 2) * 4 + 3] = -1.f;
    c.mask[7] = 0.5f;
    DeviceBuf dp(c.pred), dt(c.target), dm(c.mask), dr(Vec(24)), dadv(Vec(24)), di(Vec(72));
    BoxFault f = echogen::cuda::cycle_reward(nullptr, dp.f(), dt.f(), dm.f(), 4, 6, 3, opt, dr.f(), dadv.f(), di.f());
    report.expect(f.bad[0] == 40 && f.bad[1] == 5 && f.bad[2] == 7, "cycle_reward cuda reports the bad pred box, target box and mask entry");
  }
}
#endif
