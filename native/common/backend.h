// The two backends as types, so a kernel call is written once for both: `layer_norm(be, rows, ...)`
// with `be` a cpu::Backend or a cuda::Backend finds cpu::layer_norm or cuda::layer_norm by
// argument-dependent lookup (each Backend converts to its first parameter: ThreadPool& or the
// stream). Call sites are generic lambdas `[=](auto be) { ... }`; the native/napi dispatcher, the
// native/test harness and native/bench instantiate them for the backend a tensor lives on. In a
// build without CUDA nothing instantiates the cuda::Backend form, so no cuda:: symbol is needed.
#pragma once
#include "echogen/core.h"

namespace echogen {
namespace cpu {
struct Backend {
  static constexpr bool is_cuda = false;
  ThreadPool* pool;
  operator ThreadPool&() const { return *pool; }
};
}  // namespace cpu
namespace cuda {
struct Backend {
  static constexpr bool is_cuda = true;
  void* stream;
  operator void*() const { return stream; }
};
}  // namespace cuda
}  // namespace echogen
