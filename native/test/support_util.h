// Helpers for the support-op checks: float64 GEMM reference and device buffers for CUDA-vs-CPU.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "echogen/core.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen::test {

// One pool for every support check (4 threads, so the threaded paths run even on a small machine).
inline ThreadPool& support_pool() {
  static ThreadPool pool(4);
  return pool;
}

#ifdef ECHOGEN_WITH_CUDA
// A device copy of a host vector (or an uninitialised one); freed on scope exit.
template <typename T>
struct DeviceBuf {
  T* p = nullptr;
  size_t n = 0;
  explicit DeviceBuf(size_t count) : n(count) { p = static_cast<T*>(cuda::malloc_device(std::max<size_t>(n, 1) * sizeof(T))); }
  explicit DeviceBuf(const std::vector<T>& host) : DeviceBuf(host.size()) {
    if (n) cuda::copy_h2d(p, host.data(), n * sizeof(T), nullptr);
  }
  ~DeviceBuf() { cuda::free_device(p); }
  DeviceBuf(const DeviceBuf&) = delete;
  DeviceBuf& operator=(const DeviceBuf&) = delete;
  std::vector<T> host() const {
    std::vector<T> h(n);
    if (n) cuda::copy_d2h(h.data(), p, n * sizeof(T), nullptr);
    return h;
  }
  // Fills with NaN (floats) so an element a kernel forgets to write is caught.
  void poison() {
    std::vector<T> h(n);
    for (auto& x : h) x = static_cast<T>(std::nanf(""));
    if (n) cuda::copy_h2d(p, h.data(), n * sizeof(T), nullptr);
  }
};
#endif

}  // namespace echogen::test
