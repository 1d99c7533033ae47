// Shared by every .cu file: error checks that become JS errors, and small launch helpers.
#pragma once
#include <cuda_runtime.h>
#include <stdexcept>
#include <string>

namespace echogen::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}
// Every launch is followed by this: a bad configuration or a sticky fault becomes a JS Error.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }
inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
inline unsigned ceil_div(long long a, long long b) { return static_cast<unsigned>((a + b - 1) / b); }

}  // namespace echogen::cuda

#define EG_CUDA_CHECK(expr) ::echogen::cuda::check((expr), #expr)
