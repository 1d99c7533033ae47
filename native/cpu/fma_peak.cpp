// The fp32 FMA peak, measured: enough independent AVX2 FMA chains per thread to cover the FMA
// latency on both FMA pipes (4-5 cycles x 2 pipes -> 10 chains; 12 leaves headroom), no memory
// traffic, on every pool thread until a shared deadline.
#include "echogen/fma_peak.h"

#include <atomic>
#include <chrono>

#ifdef ECHOGEN_AVX2
#include <immintrin.h>
#endif

namespace echogen::cpu {

namespace {

constexpr int kChains = 12;
constexpr int64_t kInner = 4096;  // FMA rounds between clock reads

#ifdef ECHOGEN_AVX2
constexpr int kLanes = 8;
// kInner rounds of kChains FMAs; returns a value that depends on every chain so none is elided.
float fma_block(float seed) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(seed + 0.001f * c);
  // x * 0.999999 + 1e-7 stays bounded, never denormal or infinite
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < kInner; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], mul, add);
  __m256 s = acc[0];
  for (int c = 1; c < kChains; ++c) s = _mm256_add_ps(s, acc[c]);
  alignas(32) float out[kLanes];
  _mm256_store_ps(out, s);
  return out[0] + out[kLanes - 1];
}
#else
constexpr int kLanes = 1;  // a build without AVX2: scalar chains (what such a build can reach)
float fma_block(float seed) {
  float acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = seed + 0.001f * c;
  for (int64_t i = 0; i < kInner; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * 0.999999f + 1e-7f;
  float s = 0.f;
  for (int c = 0; c < kChains; ++c) s += acc[c];
  return s;
}
#endif

}  // namespace

double fma_peak_gflops(ThreadPool& pool, double seconds) {
  using clock = std::chrono::steady_clock;
  const int threads = pool.size();
  std::atomic<int64_t> blocks{0};
  std::atomic<float> sink{0.f};
  const auto start = clock::now();
  const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
  // one chunk per thread; a chunk that starts late (its thread was busy) just does less work
  pool.parallel_for(threads, 1, [&](int64_t, int64_t) {
    int64_t mine = 0;
    float s = 0.f;
    while (clock::now() < deadline) {
      s += fma_block(1.f + 1e-3f * static_cast<float>(mine));
      ++mine;
    }
    blocks += mine;
    float old = sink.load();
    while (!sink.compare_exchange_weak(old, old + s)) {}
  });
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  const double flops = static_cast<double>(blocks.load()) * kInner * kChains * kLanes * 2.0;
  volatile float keep = sink.load();  // the result is observed, so the FMAs cannot be dropped
  (void)keep;
  return flops / elapsed / 1e9;
}

}  // namespace echogen::cpu
