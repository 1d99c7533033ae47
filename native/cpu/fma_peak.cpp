// The fp32 FMA peak, measured: enough independent AVX2 FMA chains per thread to cover the FMA
// latency on both FMA pipes (Zen 3: 4 cycles x 2 pipes -> 8 chains; Intel: 4 x 2; 12 leaves
// headroom and fits the 16 ymm registers with the two constants), no memory traffic, on every pool
// thread at once until a shared deadline. Besides the wall-clock rate it reports the rate per
// second of CPU time each thread was given, which a loaded machine does not lower (a thread that is
// descheduled accrues no CPU time): on a shared 2-core box the wall figure measures the load.
#include "echogen/fma_peak.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <time.h>

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

namespace {
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

FmaPeak fma_peak(ThreadPool& pool, double seconds) {
  using clock = std::chrono::steady_clock;
  const int threads = pool.size();
  std::atomic<int64_t> blocks{0};
  std::atomic<float> sink{0.f};
  std::mutex mu;
  double cpu_total = 0;
  std::set<std::thread::id> ran;
  const auto start = clock::now();
  const auto deadline = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(seconds));
  // one chunk per thread; a chunk that starts late (its thread was busy) just does less work, and a
  // thread that claims a second chunk after the deadline adds nothing (threads_ran says how many ran)
  pool.parallel_for(threads, 1, [&](int64_t, int64_t) {
    const double c0 = thread_cpu_seconds();
    int64_t mine = 0;
    float s = 0.f;
    while (clock::now() < deadline) {
      s += fma_block(1.f + 1e-3f * static_cast<float>(mine));
      ++mine;
    }
    const double used = thread_cpu_seconds() - c0;
    blocks += mine;
    float old = sink.load();
    while (!sink.compare_exchange_weak(old, old + s)) {}
    std::lock_guard<std::mutex> g(mu);
    if (mine > 0) {
      cpu_total += used;
      ran.insert(std::this_thread::get_id());
    }
  });
  FmaPeak r;
  r.wall_seconds = std::chrono::duration<double>(clock::now() - start).count();
  const double flops = static_cast<double>(blocks.load()) * kInner * kChains * kLanes * 2.0;
  volatile float keep = sink.load();  // the result is observed, so the FMAs cannot be dropped
  (void)keep;
  r.threads = threads;
  r.threads_ran = static_cast<int>(ran.size());
  r.cpu_seconds = cpu_total;
  r.wall_gflops = flops / r.wall_seconds / 1e9;
  // per CPU-second of one thread, times the threads (= cores the pool is sized to)
  r.cpu_gflops = cpu_total > 0 ? flops / cpu_total / 1e9 * threads : 0;
  return r;
}

double fma_peak_gflops(ThreadPool& pool, double seconds) { return fma_peak(pool, seconds).wall_gflops; }

}  // namespace echogen::cpu
