// The tiny harness of native/test: a registry of checks, a report, random inputs and the
// error measure of DESIGN.md section 6: max|out - ref| / max|ref|.
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace echogen::test {

struct Report {
  int checks = 0, failures = 0;
  // Records one comparison; prints a line either way.
  bool expect(bool ok, const std::string& what) {
    ++checks;
    if (!ok) ++failures;
    std::printf("%s %s\n", ok ? "  ok  " : "  FAIL", what.c_str());
    return ok;
  }
  // Relative error of `got` against `ref` (both n long) must be <= tol; NaN anywhere fails.
  bool close(const std::string& what, const float* got, const double* ref, size_t n, double tol);
  bool close(const std::string& what, const float* got, const float* ref, size_t n, double tol);
};

struct Check {
  const char* name;
  std::function<void(Report&)> fn;
};
std::vector<Check>& registry();
struct Register {
  Register(const char* name, std::function<void(Report&)> fn) { registry().push_back({name, std::move(fn)}); }
};
#define EG_CHECK(name) \
  static void name(::echogen::test::Report&); \
  static ::echogen::test::Register reg_##name(#name, name); \
  static void name(::echogen::test::Report& report)

// Random inputs drawn afresh every run; the seed is printed so a failure can be replayed
// (ECHOGEN_TEST_SEED fixes it).
std::mt19937_64& rng();
std::vector<float> uniform(size_t n, float lo = -1.f, float hi = 1.f);
// A buffer full of NaN, so an output element the kernel forgot to write is caught.
inline std::vector<float> poison(size_t n) { return std::vector<float>(n, std::nanf("")); }

bool cuda_device_present(std::string* name);
// Starts a CUDA-vs-CPU check: prints the device, or `skip` and returns false without one.
bool begin_cuda_check();

}  // namespace echogen::test
