// Philox-4x32-10 against Random123's known-answer vectors, the uniform's open interval, the
// shared logf against double precision, and the CPU kernel's vectorised noise against the
// scalar definition (the CUDA kernel uses the scalar form: this is what makes them agree).
#include <cmath>
#include <cstdio>
#include <vector>

#include "common/philox.h"
#include "echogen/gumbel.h"
#include "test/check.h"

using namespace echogen;

EG_CHECK(philox_known_answers) {
  // Random123 tests/kat_vectors, "philox4x32 10": counter[4] key[2] -> expected[4]
  struct Kat { uint32_t ctr[4], key[2], out[4]; };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat& k : kats) {
    Philox4 r = philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
    bool ok = true;
    for (int i = 0; i < 4; ++i) ok = ok && r.v[i] == k.out[i];
    char buf[160];
    std::snprintf(buf, sizeof buf, "philox4x32-10 ctr %08x.. key %08x %08x -> %08x %08x %08x %08x", k.ctr[0], k.key[0],
                  k.key[1], r.v[0], r.v[1], r.v[2], r.v[3]);
    report.expect(ok, buf);
  }
}

EG_CHECK(philox_uniform_open_interval) {
  float lo = philox_uniform(0u), hi = philox_uniform(0xffffffffu);
  report.expect(lo == std::ldexp(1.f, -24) && hi == 1.f - std::ldexp(1.f, -24), "uniform spans [2^-24, 1 - 2^-24]");
  report.expect(lo > 0.f && hi < 1.f, "uniform never reaches 0 or 1");
  float g_lo = gumbel_from_word(0u), g_hi = gumbel_from_word(0xffffffffu);
  double ref_lo = -std::log(-std::log(static_cast<double>(lo))), ref_hi = -std::log(-std::log(static_cast<double>(hi)));
  char buf[160];
  std::snprintf(buf, sizeof buf, "gumbel at the extremes finite: %.6f (ref %.6f), %.6f (ref %.6f)", g_lo, ref_lo, g_hi, ref_hi);
  report.expect(std::isfinite(g_lo) && std::isfinite(g_hi) && std::fabs(g_lo - ref_lo) < 1e-5 &&
                    std::fabs(g_hi - ref_hi) < 1e-5 * std::fabs(ref_hi),
                buf);
}

EG_CHECK(philox_logf_accuracy) {
  // every uniform the noise can produce lies on the grid (2r+1) 2^-24; -log(u) spans (6e-8, 16.7)
  double worst = 0;
  auto& g = test::rng();
  for (int i = 0; i < 2000000; ++i) {
    float x = i % 2 ? philox_uniform(static_cast<uint32_t>(g())) : -eg_logf(philox_uniform(static_cast<uint32_t>(g())));
    double ref = std::log(static_cast<double>(x));
    double ulp = std::ldexp(1.0, std::ilogb(static_cast<float>(ref)) - 23);
    if (ref == 0) continue;
    worst = std::max(worst, std::fabs(eg_logf(x) - ref) / ulp);
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "eg_logf within %.2f ulp of log over the noise's inputs (tol 2)", worst);
  report.expect(worst <= 2.0, buf);
}

EG_CHECK(philox_cpu_noise_matches_scalar) {
  auto& g = test::rng();
  bool ok = true;
  int64_t checked = 0;
  for (int trial = 0; trial < 50; ++trial) {
    GumbelParams p;
    p.seed = g() >> 11;  // up to 2^53
    p.offset = trial % 3 ? g() >> 11 : 0;
    int64_t first = static_cast<int64_t>(g() % 100000), count = 1 + static_cast<int64_t>(g() % 300);
    std::vector<float> got(count);
    cpu::gumbel_noise(p, first, count, got.data());
    GumbelKey key{static_cast<uint32_t>(p.seed), static_cast<uint32_t>(p.seed >> 32), static_cast<uint32_t>(p.offset),
                  static_cast<uint32_t>(p.offset >> 32)};
    for (int64_t i = 0; i < count; ++i, ++checked) ok = ok && got[i] == gumbel_noise(key, first + i);
  }
  report.expect(ok, "CPU noise (AVX2 lanes) == scalar gumbel_noise bit for bit over " + std::to_string(checked) + " elements");
  // the layout: element e uses word (e>>3)&3 of counter ((e>>5)*8 + (e&7), 0, offset_lo, offset_hi)
  GumbelKey key{12345u, 6u, 7u, 8u};
  Philox4 r = philox4x32_10(8 * 3 + 5, 0, 7u, 8u, 12345u, 6u);
  report.expect(gumbel_noise(key, 3 * 32 + 2 * 8 + 5) == gumbel_from_word(r.v[2]), "counter layout of element 117");
}
