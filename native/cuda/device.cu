// Device memory, copies and streams for the addon (echogen/cuda_device.h).
#include "cuda/common.cuh"
#include "echogen/cuda_device.h"

namespace echogen::cuda {

bool probe(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why) *why = std::string("CUDA is not available: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear it so later calls do not see a stale error
    return false;
  }
  if (count == 0) {
    if (why) *why = "CUDA is not available: no CUDA device found";
    return false;
  }
  return true;
}

std::string device_name() {
  cudaDeviceProp prop;
  EG_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

void* create_stream() {
  cudaStream_t s;
  EG_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}
void destroy_stream(void* s) { cudaStreamDestroy(as_stream(s)); }
void synchronize(void* s) { EG_CUDA_CHECK(cudaStreamSynchronize(as_stream(s))); }

void* malloc_device(size_t bytes) {
  void* p = nullptr;
  EG_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 4));
  return p;
}
void free_device(void* p) { if (p) cudaFree(p); }

void copy_h2d(void* dst, const void* src, size_t bytes, void* s) {
  if (!bytes) return;
  EG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, as_stream(s)));
  // the host buffer belongs to V8 and may move or die: finish the copy before returning
  EG_CUDA_CHECK(cudaStreamSynchronize(as_stream(s)));
}
void copy_d2h(void* dst, const void* src, size_t bytes, void* s) {
  if (!bytes) return;
  EG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(s)));
  EG_CUDA_CHECK(cudaStreamSynchronize(as_stream(s)));
}
void copy_d2d(void* dst, const void* src, size_t bytes, void* s) {
  if (!bytes) return;
  EG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(s)));
}
void fill_zero(void* dst, size_t bytes, void* s) {
  if (!bytes) return;
  EG_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, as_stream(s)));
}

}  // namespace echogen::cuda
