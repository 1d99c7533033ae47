// GPU benchmark of every echogen CUDA kernel. Two parts: the suites below (CUDA events, warm-up,
// median of repeated runs, inputs drawn on the device, never zeros) at the shapes torch_peers.py
// races; and `cases`: every case native/test declares in its Bench mode (test/harness.h), so every
// CUDA entry point is timed from the same case list that checks it. Prints one JSON object per line:
//   {"suite":"attention","case":"fwd D=64 T=1024 B=16 H=32 causal","impl":"echogen","ms":..,"flops":..,"bytes":..}
// bench/gpu/run.sh runs it beside bench/gpu/torch_peers.py and bench/gpu/report.py joins the two.
// usage: echogen_gpu_bench [suite-filter] [--quick]   (suites: device, attention, vq, gumbel, boxes, cases)
#include <cuda_runtime.h>

#include <cmath>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/common.cuh"
#include "echogen/attention.h"
#include "echogen/boxes.h"
#include "echogen/gumbel.h"
#include "echogen/vq.h"
#include "test/harness.h"

using namespace echogen;

namespace {

bool quick = false;
cudaStream_t stream;

__global__ void fill_uniform(float* p, size_t n, uint32_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 2654435761u ^ seed;
    h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b; h ^= h >> 16;
    p[i] = lo + (hi - lo) * (h >> 8) * (1.0f / 16777216.0f);
  }
}

// boxes: x1 < x2, y1 < y2 in [0,1]
__global__ void fill_boxes(float* p, size_t count, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 2246822519u ^ seed;
    h ^= h >> 13; h *= 0x5bd1e995; h ^= h >> 15;
    float a = (h & 0xffff) / 65536.f * 0.5f, b = (h >> 16) / 65536.f * 0.5f;
    p[4 * i] = a; p[4 * i + 1] = b; p[4 * i + 2] = a + 0.1f + 0.4f * b; p[4 * i + 3] = b + 0.1f + 0.4f * a;
  }
}

struct Buf {
  void* p = nullptr;
  size_t bytes = 0;
  explicit Buf(size_t n) : bytes(n) { EG_CUDA_CHECK(cudaMalloc(&p, n ? n : 4)); }
  ~Buf() { cudaFree(p); }
  float* f() const { return static_cast<float*>(p); }
  int32_t* i() const { return static_cast<int32_t*>(p); }
};

void uniform(const Buf& b, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  fill_uniform<<<1024, 256, 0, stream>>>(b.f(), b.bytes / 4, seed, lo, hi);
  cuda::check_launch("fill_uniform");
}

// Median milliseconds of `fn` over enough repeats to fill ~0.5 s (at least 10), after warm-up.
double time_ms(const std::function<void()>& fn) {
  for (int i = 0; i < 3; ++i) fn();
  EG_CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a, stream);
  fn();
  cudaEventRecord(b, stream);
  EG_CUDA_CHECK(cudaEventSynchronize(b));
  float first;
  cudaEventElapsedTime(&first, a, b);
  int reps = std::clamp(static_cast<int>((quick ? 100.f : 500.f) / std::max(first, 1e-3f)), 10, 200);
  std::vector<float> t(reps);
  for (int r = 0; r < reps; ++r) {
    cudaEventRecord(a, stream);
    fn();
    cudaEventRecord(b, stream);
    EG_CUDA_CHECK(cudaEventSynchronize(b));
    cudaEventElapsedTime(&t[r], a, b);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[reps / 2];
}

void emit(const char* suite, const std::string& c, double ms, double flops, double bytes) {
  std::printf("{\"suite\":\"%s\",\"case\":\"%s\",\"impl\":\"echogen\",\"ms\":%.5f,\"flops\":%.6g,\"bytes\":%.6g}\n", suite,
              c.c_str(), ms, flops, bytes);
  std::fflush(stdout);
}

void bench_copy() {
  size_t n = size_t(1) << 30;  // 1 GiB each way
  Buf a(n), b(n);
  uniform(a, 1);
  double ms = time_ms([&] { EG_CUDA_CHECK(cudaMemcpyAsync(b.p, a.p, n, cudaMemcpyDeviceToDevice, stream)); });
  emit("device", "copy 1GiB d2d", ms, 0, 2.0 * n);
}

void bench_attention() {
  struct Case { int64_t B, H, T, D; };
  std::vector<Case> cases = {{4, 8, 130, 32}};  // the model's own shape
  for (int64_t D : {64, 128})
    for (int64_t T : {512, 1024, 2048, 4096, 8192}) cases.push_back({16384 / T, 2048 / D, T, D});
  if (quick) cases.resize(3);
  for (const Case& c : cases) {
    for (bool causal : {false, true}) {
      size_t n = size_t(c.B * c.H * c.T * c.D);
      Buf q(n * 4), k(n * 4), v(n * 4), o(n * 4), lse(size_t(c.B * c.H * c.T) * 4), dout(n * 4), dq(n * 4), dk(n * 4), dv(n * 4);
      uniform(q, 11); uniform(k, 12); uniform(v, 13); uniform(dout, 14);
      AttentionParams p;
      p.B = c.B; p.H = c.H; p.Tq = c.T; p.Tk = c.T; p.D = c.D; p.scale = 1.f / std::sqrt(float(c.D)); p.causal = causal;
      double flops = 4.0 * c.B * c.H * c.T * c.T * c.D * (causal ? 0.5 : 1.0);
      char name[128];
      std::snprintf(name, sizeof name, "D=%lld T=%lld B=%lld H=%lld%s", (long long)c.D, (long long)c.T, (long long)c.B,
                    (long long)c.H, causal ? " causal" : "");
      double f = time_ms([&] { cuda::attention_forward(stream, p, q.f(), k.f(), v.f(), o.f(), lse.f()); });
      emit("attention", std::string("fwd ") + name, f, flops, 4.0 * n * 4);
      double b = time_ms([&] {
        cuda::attention_backward(stream, p, q.f(), k.f(), v.f(), o.f(), lse.f(), dout.f(), dq.f(), dk.f(), dv.f());
      });
      emit("attention", std::string("bwd ") + name, b, 2.5 * flops, 8.0 * n * 4);
    }
  }
}

void bench_vq() {
  int64_t N = 65536;
  for (int64_t D : {8, 64, 256}) {
    for (int64_t K : {512, 4096, 16384}) {
      if (quick && K > 4096) continue;
      Buf x(size_t(N * D) * 4), cb(size_t(K * D) * 4), idx(size_t(N) * 4), dist(size_t(N) * 4);
      uniform(x, 21); uniform(cb, 22);
      double ms = time_ms([&] { cuda::vq_nearest(stream, x.f(), cb.f(), N, D, K, idx.i(), dist.f()); });
      char name[96];
      std::snprintf(name, sizeof name, "nearest N=%lld D=%lld K=%lld", (long long)N, (long long)D, (long long)K);
      emit("vq", name, ms, 2.0 * N * K * D, 4.0 * (N * D + K * D + 2 * N));
    }
  }
}

void bench_gumbel() {
  for (int64_t N : {4096, 65536}) {
    for (int64_t V : {1024, 16384}) {
      if (quick && N * V > 4096 * 16384) continue;
      size_t n = size_t(N * V);
      Buf logits(n * 4), soft(n * 4), hard(n * 4), idx(size_t(N) * 4);
      uniform(logits, 31, -4.f, 4.f);
      GumbelParams gp;
      gp.seed = 7; gp.tau = 0.7f;
      char name[96];
      std::snprintf(name, sizeof name, "N=%lld V=%lld", (long long)N, (long long)V);
      double s = time_ms([&] { gp.offset++; cuda::gumbel_softmax(stream, logits.f(), N, V, gp, soft.f(), nullptr, idx.i()); });
      emit("gumbel", std::string("soft ") + name, s, 0, 4.0 * (2 * n + N));
      double h = time_ms([&] { gp.offset++; cuda::gumbel_softmax(stream, logits.f(), N, V, gp, soft.f(), hard.f(), idx.i()); });
      emit("gumbel", std::string("hard ") + name, h, 0, 4.0 * (3 * n + N));
    }
  }
}

void bench_reward() {
  for (int64_t B : {64, 4096, 65536}) {
    int64_t G = 8, N = 4;
    Buf pred(size_t(B * G * N * 4) * 4), target(size_t(B * N * 4) * 4), mask(size_t(B * N) * 4);
    Buf reward(size_t(B * G) * 4), adv(size_t(B * G) * 4), iou(size_t(B * G * N) * 4);
    fill_boxes<<<256, 256, 0, stream>>>(pred.f(), size_t(B * G * N), 41);
    fill_boxes<<<256, 256, 0, stream>>>(target.f(), size_t(B * N), 42);
    uniform(mask, 43, 1.f, 1.f);
    RewardOptions opt;
    char name[64];
    std::snprintf(name, sizeof name, "cycleReward B=%lld G=8 N=4", (long long)B);
    double ms = time_ms([&] {
      cuda::cycle_reward(stream, pred.f(), target.f(), mask.f(), B, G, N, opt, reward.f(), adv.f(), iou.f());
    });
    emit("boxes", name, ms, 0, 4.0 * (B * G * N * 4 + B * N * 4 + B * N + 2 * B * G + B * G * N));
  }
  // pairwise: 4096 x 4096 IoU matrix
  const int64_t n = 4096;
  Buf a(size_t(n) * 16), b(size_t(n) * 16), out(size_t(n * n) * 4);
  fill_boxes<<<256, 256, 0, stream>>>(a.f(), size_t(n), 51);
  fill_boxes<<<256, 256, 0, stream>>>(b.f(), size_t(n), 52);
  for (int64_t B : {64, 4096, 65536}) {
    char name[64];
    std::snprintf(name, sizeof name, "boxIou 4096x4096 (from B=%lld)", (long long)B);
    double ms = time_ms([&] { cuda::box_iou(stream, a.f(), n, b.f(), n, BoxKind::IoU, out.f()); });
    emit("boxes", name, ms, 0, 4.0 * n * n);
  }
}

// Every case of every native/test family at its Bench shapes (the first of each with --quick).
void bench_cases() {
  for (const test::Family& f : test::families()) {
    std::vector<test::Case> cases = f.cases(test::Mode::Bench);
    if (quick && cases.size() > 1) cases.resize(1);
    for (const test::Case& c : cases) {
      const double ms = test::time_cuda(c, stream, quick);
      emit((std::string("cases/") + f.name).c_str(), c.name, ms, c.flops, c.bytes);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--probe")) only = "--probe";
    else only = argv[i];
  }
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("{\"skipped\":\"no CUDA device\"}\n");
    return 0;
  }
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  std::printf("{\"device\":\"%s\",\"sm\":%d%d,\"sms\":%d}\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  if (only == "--probe") return 0;
  EG_CUDA_CHECK(cudaStreamCreate(&stream));
  try {
    auto run = [&](const char* name, void (*fn)()) { if (only.empty() || only == name) fn(); };
    run("device", bench_copy);
    run("attention", bench_attention);
    run("vq", bench_vq);
    run("gumbel", bench_gumbel);
    run("boxes", bench_reward);
    run("cases", bench_cases);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
