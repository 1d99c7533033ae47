// Device memory for the CUDA-vs-CPU checks: a move-only owner (so returning one by value can never
// free the block twice) plus upload/download helpers. Only used under ECHOGEN_WITH_CUDA.
#pragma once
#ifdef ECHOGEN_WITH_CUDA
#include <cstddef>
#include <utility>
#include <vector>

#include "echogen/cuda_device.h"

namespace echogen::test {

struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t b) : ptr(cuda::malloc_device(b)), bytes(b) {}
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr(std::exchange(o.ptr, nullptr)), bytes(o.bytes) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { if (ptr) cuda::free_device(ptr); }
  template <typename T> T* as() { return static_cast<T*>(ptr); }
};

template <typename T>
DeviceBuffer upload(const std::vector<T>& v, void* stream) {
  DeviceBuffer b(v.size() * sizeof(T));
  cuda::copy_h2d(b.ptr, v.data(), v.size() * sizeof(T), stream);
  return b;
}

template <typename T>
std::vector<T> download(DeviceBuffer& b, size_t n, void* stream) {
  std::vector<T> v(n);
  cuda::copy_d2h(v.data(), b.ptr, n * sizeof(T), stream);
  return v;
}

}  // namespace echogen::test
#endif
