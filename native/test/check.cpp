#include "test/check.h"

#include <algorithm>
#include <cstdlib>

#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen::test {

std::vector<Check>& registry() {
  static std::vector<Check> checks;
  return checks;
}

std::mt19937_64& rng() {
  static std::mt19937_64 gen = [] {
    uint64_t seed = std::random_device{}();
    if (const char* s = std::getenv("ECHOGEN_TEST_SEED")) seed = std::strtoull(s, nullptr, 10);
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    return std::mt19937_64(seed);
  }();
  return gen;
}

std::vector<float> uniform(size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng());
  return v;
}

template <typename R>
static bool close_impl(Report& r, const std::string& what, const float* got, const R* ref, size_t n, double tol) {
  double max_err = 0, max_ref = 0;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    double g = got[i], e = static_cast<double>(ref[i]);
    if (std::isinf(e) && g == e) continue;  // matching infinities (e.g. lse of an empty row)
    if (!std::isfinite(g) || !std::isfinite(e)) { finite = false; continue; }
    max_err = std::max(max_err, std::fabs(g - e));
    max_ref = std::max(max_ref, std::fabs(e));
  }
  double rel = max_ref > 0 ? max_err / max_ref : max_err;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: rel err %.2e (tol %.0e)%s", what.c_str(), rel, tol, finite ? "" : " NON-FINITE");
  return r.expect(finite && rel <= tol, buf);
}

bool Report::close(const std::string& what, const float* got, const double* ref, size_t n, double tol) {
  return close_impl(*this, what, got, ref, n, tol);
}
bool Report::close(const std::string& what, const float* got, const float* ref, size_t n, double tol) {
  return close_impl(*this, what, got, ref, n, tol);
}

bool cuda_device_present(std::string* name) {
#ifdef ECHOGEN_WITH_CUDA
  static int present = -1;
  if (present < 0) present = cuda::probe(nullptr) ? 1 : 0;
  if (present && name) *name = cuda::device_name();
  return present == 1;
#else
  (void)name;
  return false;
#endif
}

bool begin_cuda_check() {
  std::string device;
  if (!cuda_device_present(&device)) {
    std::printf("  skip  no CUDA device\n");
    return false;
  }
  std::printf("  device %s\n", device.c_str());
  return true;
}

}  // namespace echogen::test
