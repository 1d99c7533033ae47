// Counter-based random numbers shared bit-for-bit by the CPU and CUDA backends:
// Philox-4x32-10 (Salmon et al., SC'11; checked against Random123's known answers), its
// mapping to uniforms strictly inside (0,1), and the Gumbel noise of gumbelSoftmax.
//
// Every multiply-add below is an explicit fmaf and no other a*b+c expression appears, so
// neither compiler's contraction can make host and device round differently: the noise and
// hence the sampled indices are identical on both backends.
#pragma once
#include <cstdint>
#ifndef __CUDA_ARCH__
#include <cmath>
#include <cstring>
#endif

#include "common/hd.h"

namespace echogen {

struct Philox4 {
  uint32_t v[4];
};

EG_HD uint32_t philox_mulhi(uint32_t a, uint32_t b, uint32_t* lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *lo = static_cast<uint32_t>(p);
  return static_cast<uint32_t>(p >> 32);
}

// Philox-4x32 with 10 rounds: counter (c0..c3), key (k0, k1) -> four independent 32-bit words.
EG_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; ++round) {
    uint32_t lo0, lo1;
    uint32_t hi0 = philox_mulhi(0xD2511F53u, c0, &lo0);
    uint32_t hi1 = philox_mulhi(0xCD9E8D57u, c2, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    k0 += 0x9E3779B9u;  // Weyl key schedule; the bump after round 10 is never used
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// A uniform strictly inside (0,1): the top 23 bits r give (2r+1) * 2^-24, every value exactly
// representable in f32, from 2^-24 up to 1 - 2^-24 (so log(u) and log(-log(u)) are finite).
EG_HD float philox_uniform(uint32_t word) {
  return static_cast<float>(((word >> 9) << 1) | 1u) * 5.9604644775390625e-8f;
}

EG_HD uint32_t eg_float_bits(float x) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
#endif
}

EG_HD float eg_bits_float(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, 4);
  return x;
#endif
}

// Natural log of a positive normal f32 (about 1 ulp, Cephes logf), written branch-free so the
// CPU loop vectorises, and identical on host and device (libm's and CUDA's logf differ in ulps).
EG_HD float eg_logf(float x) {
  uint32_t bits = eg_float_bits(x);
  int e = static_cast<int>((bits >> 23) & 0xffu) - 126;  // x = m * 2^e, m in [0.5, 1)
  float m = eg_bits_float((bits & 0x007fffffu) | 0x3f000000u);
  bool low = m < 0.70710678118654752f;
  e = low ? e - 1 : e;
  float f = low ? (m + m) - 1.0f : m - 1.0f;  // exact (Sterbenz), in [-0.293, 0.414]
  float z = f * f;
  float p = 7.0376836292e-2f;
  p = fmaf(p, f, -1.1514610310e-1f);
  p = fmaf(p, f, 1.1676998740e-1f);
  p = fmaf(p, f, -1.2420140846e-1f);
  p = fmaf(p, f, 1.4249322787e-1f);
  p = fmaf(p, f, -1.6668057665e-1f);
  p = fmaf(p, f, 2.0000714765e-1f);
  p = fmaf(p, f, -2.4999993993e-1f);
  p = fmaf(p, f, 3.3333331174e-1f);
  float y = p * f * z;
  float fe = static_cast<float>(e);
  y = fmaf(fe, -2.12194440e-4f, y);  // ln2 split in two parts: 0.693359375 - 2.12194440e-4
  y = fmaf(-0.5f, z, y);
  float r = f + y;
  return fmaf(fe, 0.693359375f, r);
}

// Gumbel(0,1) noise -log(-log(u)) from one Philox word.
EG_HD float gumbel_from_word(uint32_t word) {
  float u = philox_uniform(word);
  return -eg_logf(-eg_logf(u));
}

// The counter layout of gumbelSoftmax's noise (docs/vq-gumbel.md). Flat element e of the
// logits uses word (e >> 3) & 3 of Philox(counter, key) with
//   counter = ((e >> 5) * 8 + (e & 7), 0, offset_lo, offset_hi), key = (seed_lo, seed_hi).
// So one Philox call serves four elements 8 apart, and eight consecutive counters fill a block
// of 32 consecutive elements: the CPU computes 8 counters in SIMD lanes and gets elements in
// order, a CUDA warp reads 128 consecutive floats.
struct GumbelKey {
  uint32_t seed_lo, seed_hi, offset_lo, offset_hi;
};

// The key of (seed, offset), both integers in [0, 2^53]: built here once for every backend.
EG_HD GumbelKey gumbel_key(uint64_t seed, uint64_t offset) {
  return GumbelKey{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(offset),
                   static_cast<uint32_t>(offset >> 32)};
}

EG_HD uint32_t gumbel_counter(int64_t e) {
  return static_cast<uint32_t>(((e >> 5) << 3) | (e & 7));
}

EG_HD Philox4 gumbel_block(const GumbelKey& k, uint32_t counter) {
  return philox4x32_10(counter, 0u, k.offset_lo, k.offset_hi, k.seed_lo, k.seed_hi);
}

// The noise of one element (the scalar form; kernels share one Philox call among four).
EG_HD float gumbel_noise(const GumbelKey& k, int64_t e) {
  Philox4 r = gumbel_block(k, gumbel_counter(e));
  return gumbel_from_word(r.v[(e >> 3) & 3]);
}

}  // namespace echogen
