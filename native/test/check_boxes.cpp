// Box kernels: the CPU kernels against a float64 reference on random odd sizes (boxes that
// overlap, touch, nest, are disjoint or have zero area) and the fault reports, as harness cases
// (with a GPU, the CUDA twins against the CPU).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "echogen/boxes.h"
#include "test/harness.h"

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

// GRPO's group normalisation in float64: (r - mean) / (sample sd + eps), 0 for a group of one or of equal rewards.
template <typename T>
Ref advantage_ref(const T* reward, int64_t B, int64_t G, double eps) {
  Ref a(B * G, 0);
  for (int64_t b = 0; b < B; ++b) {
    const T* r = reward + b * G;
    double mean = 0, ss = 0;
    for (int64_t g = 0; g < G; ++g) mean += double(r[g]) / G;
    for (int64_t g = 0; g < G; ++g) ss += (r[g] - mean) * (r[g] - mean);
    const double sd = G > 1 ? std::sqrt(ss / (G - 1)) : 0;
    for (int64_t g = 0; g < G; ++g) a[b * G + g] = G > 1 && ss > 0 ? (r[g] - mean) / (sd + eps) : 0;
  }
  return a;
}

struct RewardRef {
  Ref reward, iou;  // the advantage is checked from the backend's own rewards (reward_case)
};

RewardRef reward_ref(const Vec& pred, const Vec& target, const Vec& mask, int64_t B, int64_t G, int64_t N,
                     RewardOptions o) {
  RewardRef r;
  r.reward.assign(B * G, 0), r.iou.assign(B * G * N, 0);
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


using echogen::test::Args;
using echogen::test::Case;
using echogen::test::Mode;

// Pairwise IoU/GIoU; with `expect` faults, the first bad box of a and of b.
Case iou_case(const Vec& a, int64_t n, const Vec& b, int64_t m, BoxKind kind, bool with_ref, int64_t bad_a = -1, int64_t bad_b = -1) {
  using namespace echogen::test;
  const bool giou = kind == BoxKind::GIoU;
  Ref ref;
  if (with_ref) {
    ref.resize(n * m);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) ref[i * m + j] = iou_ref(&a[4 * i], &b[4 * j], giou);
  }
  const bool faulty = bad_a >= 0 || bad_b >= 0;
  Array o = out("iou", n * m, 1e-6).with_ref(ref, 1e-5).within(1);  // a 1x1 GIoU near 0 failed relative to itself
  if (faulty) o.compare = false;  // unspecified after a fault
  Case c = make_case(std::string("box_iou ") + (giou ? "giou " : "iou ") + dims({n, m}) + (faulty ? " with bad boxes" : ""),
                     {in("a", a), in("b", b), std::move(o)}, [=](auto be, Args& x) {
                       BoxFault f = box_iou(be, x.f(0), n, x.f(1), m, kind, x.f(2));
                       std::copy(f.bad, f.bad + 3, x.status);
                     });
  c.expect_status[0] = bad_a;
  c.expect_status[1] = bad_b;
  c.bytes = 4.0 * (n * m + 4 * (n + m));
  return c;
}

std::string reward_name(int64_t B, int64_t G, int64_t N) { return "cycle_reward " + dims({B, G, N}); }

Case reward_case(const RewardCase& rc, RewardOptions opt, bool with_ref, const int64_t* faults = nullptr) {
  using namespace echogen::test;
  const int64_t B = rc.B, G = rc.G, N = rc.N;
  RewardRef r = with_ref ? reward_ref(rc.pred, rc.target, rc.mask, B, G, N, opt) : RewardRef{};
  std::vector<Array> arrays = {in("pred", rc.pred), in("target", rc.target), in("mask", rc.mask),
                               out("reward", B * G).with_ref(r.reward).within(1), out("advantage", B * G).custom(),
                               out("iou", B * G * N, 1e-6).with_ref(r.iou, 1e-5).within(1)};
  if (faults)
    for (int k = 3; k < 6; ++k) arrays[k].compare = false;
  Case c = make_case(reward_name(B, G, N) + (faults ? " with faults" : ""), std::move(arrays), [=](auto be, Args& x) {
    BoxFault f = cycle_reward(be, x.f(0), x.f(1), x.f(2), B, G, N, opt, x.f(3), x.f(4), x.f(5));
    std::copy(f.bad, f.bad + 3, x.status);
  });
  if (faults) std::copy(faults, faults + 3, c.expect_status);
  if (with_ref && !faults) {
    // The advantage divides by the group's spread, so the float32 rewards' rounding (checked to 1e-5 above) is
    // amplified by 1/sd: two samples whose rewards differ by 1e-3 give an advantage off by ~1e-4 from the exact one.
    // It is checked as the normalisation of the backend's own rewards, which is well-conditioned at every spread.
    auto own = [=](echogen::test::Report& report, const echogen::test::Outputs& o, const std::string& who) {
      Ref want = advantage_ref(o.f[3].data(), B, G, opt.eps);
      std::vector<float> want32(want.begin(), want.end());
      compare(report, reward_name(B, G, N) + " advantage " + who + " vs f64 of its rewards", o.f[4].data(), want32.data(),
              want.data(), want.size(), 1e-5);
    };
    c.check = [=](echogen::test::Report& report, const echogen::test::Outputs& cpu) { own(report, cpu, "cpu"); };
    c.twin_check = [=](echogen::test::Report& report, const echogen::test::Outputs& gpu, const echogen::test::Outputs&) {
      own(report, gpu, "cuda");
    };
  }
  c.bytes = 4.0 * (B * G * N * 5 + B * N * 5 + 2 * B * G);
  return c;
}

}  // namespace

EG_CASES(box_iou) {
  std::vector<Case> cases;
  using Size = std::pair<int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{4096, 4096}}
                                                      : std::vector<Size>{{1, 1}, {7, 33}, {130, 67}, {257, 1000}, {1000, 257}, {0, 5}};
  for (auto [n, m] : sizes) {
    Vec a = random_boxes(n), b = random_boxes(m);
    for (BoxKind kind : {BoxKind::IoU, BoxKind::GIoU}) cases.push_back(iou_case(a, n, b, m, kind, mode == Mode::Test));
  }
  if (mode == Mode::Bench) return cases;
  // a bad box is reported by index, the first one when there are several
  Vec a = random_boxes(9), b = random_boxes(4);
  a[4 * 5 + 2] = a[4 * 5 + 0] - 0.1f;  // box 5: x2 < x1
  a[4 * 7 + 1] = NAN;                  // box 7: NaN
  b[4 * 3 + 3] = b[4 * 3 + 1] - 0.5f;  // box 3: y2 < y1
  cases.push_back(iou_case(a, 9, b, 4, BoxKind::IoU, false, 5, 3));
  Vec a2 = random_boxes(70), b2 = random_boxes(40);
  a2[4 * 61 + 2] = a2[4 * 61] - 0.25f, a2[4 * 66 + 3] = -5.f, b2[4 * 39 + 0] = INFINITY;
  cases.push_back(iou_case(a2, 70, b2, 40, BoxKind::IoU, false, 61, 39));
  return cases;
}

EG_CASES(cycle_reward) {
  std::vector<Case> cases;
  using Size = std::tuple<int64_t, int64_t, int64_t>;
  const std::vector<Size> sizes = mode == Mode::Bench ? std::vector<Size>{{64, 8, 4}, {65536, 8, 4}}
                                                      : std::vector<Size>{{1, 1, 1}, {3, 5, 7}, {64, 8, 4}, {13, 33, 2}, {5, 2, 70}, {7, 70, 3}, {2, 4, 0}};
  RewardOptions plain, weighted;
  weighted.iou_weight = 1.5f, weighted.l1_weight = 0.5f;
  for (auto [B, G, N] : sizes)
    for (RewardOptions opt : {plain, weighted}) {
      if (mode == Mode::Bench && opt.iou_weight != 1.f) continue;
      cases.push_back(reward_case(make_reward_case(B, G, N), opt, mode == Mode::Test));
    }
  if (mode == Mode::Bench) return cases;
  // identical samples: advantage exactly 0
  RewardCase c = make_reward_case(4, 6, 3);
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t g = 1; g < 6; ++g) std::copy_n(&c.pred[b * 6 * 3 * 4], 12, &c.pred[(b * 6 + g) * 3 * 4]);
  Case same = reward_case(c, plain, true);
  same.name = "cycle_reward identical samples";
  // exact, not against a float64 normalisation (whose mean of equal rewards can be 1 ulp off them)
  same.check = [](echogen::test::Report& report, const echogen::test::Outputs& o) {
    report.expect(std::all_of(o.f[4].begin(), o.f[4].end(), [](float v) { return v == 0.f; }),
                  "cycle_reward cpu: equal rewards give advantage exactly 0");
  };
  cases.push_back(std::move(same));
  // faults: the first bad pred box, target box and mask entry
  c.pred[(2 * 6 * 3 + 4) * 4 + 0] = 2.f;  // pred box 40: x1 > x2
  c.pred[(3 * 6 * 3 + 1) * 4 + 0] = 2.f;  // a later one
  c.target[(1 * 3 + 2) * 4 + 3] = -1.f;   // target box 5: y2 < y1
  c.mask[7] = 0.5f;
  const int64_t faults[3] = {40, 5, 7};
  cases.push_back(reward_case(c, plain, false, faults));
  return cases;
}
