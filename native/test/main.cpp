// native/test: checks CPU kernels against float64 references and, when a CUDA device is
// present, every CUDA kernel against its CPU twin. Needs no Node. Exit code 0 = all passed.
#include <cstdio>
#include <cstring>
#include <string>

#include "test/check.h"

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : nullptr;
  echogen::test::Report report;
  for (const auto& c : echogen::test::registry()) {
    if (only && std::strstr(c.name, only) == nullptr) continue;
    c.fn(report);
  }
  bool gpu = echogen::test::cuda_device_present(nullptr);
  if (!gpu) std::printf("cuda: skipped: no CUDA device\n");
  std::printf("%d checks, %d failed\n", report.checks, report.failures);
  return report.failures ? 1 : 0;
}
