// native/test: checks CPU kernels against float64 references and, when a CUDA device is
// present, every CUDA kernel against its CPU twin. Needs no Node. Exit code 0 = all passed.
// usage: echogen_native_test [filter] [--quick] [--time]
//   filter: only the checks and case families whose name contains it
//   --quick: the first two cases of each family (the reduced set compute-sanitizer runs)
//   --time: also print each case's CPU time (median of 5 runs; GPU times: echogen_gpu_bench)
#include <cstdio>
#include <cstring>
#include <string>

#include "test/check.h"
#include "test/harness.h"

int main(int argc, char** argv) {
  const char* only = nullptr;
  bool quick = false, timing = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--time")) timing = true;
    else only = argv[i];
  }
  using namespace echogen::test;
  Report report;
  for (const auto& c : registry()) {
    if (only && std::strstr(c.name, only) == nullptr) continue;
    c.fn(report);
  }
  int cases = 0, families_run = 0;
  for (const Family& f : families()) {
    if (only && std::strstr(f.name, only) == nullptr) continue;
    std::vector<Case> list = f.cases(Mode::Test);
    if (quick && list.size() > 2) list.resize(2);
    std::printf("%s: %zu cases\n", f.name, list.size());
    for (const Case& c : list) {
      check_case(report, c);
      if (timing) std::printf("  time  %s: cpu %.3f ms\n", c.name.c_str(), time_cpu(c));
    }
    cases += static_cast<int>(list.size());
    ++families_run;
  }
  const bool gpu = cuda_device_present(nullptr);
  if (!gpu) std::printf("cuda: skipped: no CUDA device\n");
  std::printf("%d cases in %d families (%s), %d checks, %d failed\n", cases, families_run,
              gpu ? "cpu vs f64 and cuda vs cpu" : "cpu vs f64 only", report.checks, report.failures);
  return report.failures ? 1 : 0;
}
