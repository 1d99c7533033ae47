// Standalone GEMM timing of the training step's shapes and the square sizes, no N-API: hot loop, min and median of 7
// rounds. Build and run from the repository root (nothing installs it; used for docs/profile.md, 2026-12-02):
//   g++ -O3 -mavx2 -mfma -mf16c -DECHOGEN_AVX2 -Inative/include -Inative bench/profile/gemm_shapes.cpp \
//     native/cpu/gemm.cpp native/cpu/thread_pool.cpp -o /tmp/gemm_shapes -lpthread && /tmp/gemm_shapes [threads] [name filter]
#include "echogen/gemm.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <cstring>
using namespace echogen;
struct S { const char* name; int64_t m, n, k; bool ta, tb; };
int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  const char* only = argc > 2 ? argv[2] : nullptr;
  ThreadPool pool(threads);
  S shapes[] = {
    {"dW fc 128x512 k5008 tA", 128, 512, 5008, true, false},
    {"dW proj 512x128 k5008 tA", 512, 128, 5008, true, false},
    {"dW qkv 384x128 k5008 tA", 384, 128, 5008, true, false},
    {"dW 128x128 k5008 tA", 128, 128, 5008, true, false},
    {"dX 5008x128 k512", 5008, 128, 512, false, false},
    {"dX 5008x512 k128", 5008, 512, 128, false, false},
    {"fwd 5008x128 k512 tB", 5008, 128, 512, false, true},
    {"fwd 5008x512 k128 tB", 5008, 512, 128, false, true},
    {"nbr 2048x128 k1536 tB", 2048, 128, 1536, false, true},
    {"head dX 2048x128 k2048", 2048, 128, 2048, false, false},
    {"head dW 2048x128 k2048 tA", 2048, 128, 2048, true, false},
    {"nbr dW 128x1536 k2048 tA", 128, 1536, 2048, true, false},
    {"128^3", 128, 128, 128, false, false},
    {"256^3", 256, 256, 256, false, false},
    {"512^3", 512, 512, 512, false, false},
    {"1024^3", 1024, 1024, 1024, false, false},
  };
  for (auto& s : shapes) {
    if (only && !strstr(s.name, only)) continue;
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
    for (auto& x : a) x = rand() / (float)RAND_MAX - 0.5f;
    for (auto& x : b) x = rand() / (float)RAND_MAX - 0.5f;
    GemmArgs g; g.trans_a = s.ta; g.trans_b = s.tb; g.m = s.m; g.n = s.n; g.k = s.k;
    g.a = a.data(); g.b = b.data(); g.c = c.data();
    double flops = 2.0 * s.m * s.n * s.k;
    int reps = std::max(5, std::min(400, (int)(2e9 / flops)));
    std::vector<double> ts;
    for (int r = 0; r < 7; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) cpu::gemm(pool, g);
      ts.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps);
    }
    std::sort(ts.begin(), ts.end());
    printf("%-28s min %8.3f ms med %8.3f ms  %5.0f GFLOP/s\n", s.name, ts[0], ts[3], flops / ts[0] / 1e6);
  }
}
