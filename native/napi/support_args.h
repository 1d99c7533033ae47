// Shared by the support ops' entry points (ops_support*.cc): CPU|CUDA dispatch, shape helpers and
// the host-side range check of integer ids.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "napi/addon.h"
#include "napi/args.h"
#include "napi/tensor.h"

#ifdef ECHOGEN_WITH_CUDA
#define EG_CUDA_ONLY(...) __VA_ARGS__
#else
#define EG_CUDA_ONLY(...)
#endif

namespace echogen {

// Runs cpu_fn(pool) or cuda_fn(stream) for the device the tensors live on. Without a CUDA build no
// tensor can live on 'cuda', so cuda_fn's body is compiled out by EG_CUDA_ONLY.
template <typename CpuFn, typename CudaFn>
void dispatch(Napi::Env env, Device device, CpuFn&& cpu_fn, CudaFn&& cuda_fn) {
  EchogenAddon& st = addon_state(env);
  if (device == Device::CPU) {
    cpu_fn(st.pool);
  } else {
    void* stream = st.cuda_stream(env);
    cuda_fn(stream);
  }
}

inline int64_t count_of(const std::vector<int64_t>& shape, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t n = 1;
  for (size_t i = from; i < shape.size() && i < to; ++i) n *= shape[i];
  return n;
}

inline int64_t last_dim(const NativeTensor* t) { return t->rank() ? t->shape().back() : 1; }

// Requires a f32 tensor argument on the same device as `like` (when given).
NativeTensor* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      const NativeTensor* like = nullptr, const char* like_name = nullptr);
NativeTensor* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      const NativeTensor* like = nullptr, const char* like_name = nullptr);
// Requires rank >= min_rank.
void require_min_rank(Napi::Env env, const NativeTensor* t, int min_rank, const char* fn, const char* name);
// An axis argument in [-rank, rank), normalised to [0, rank).
int axis_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, int rank);
// Every id must lie in [0, limit) (or equal `allowed`, when given); ids on the GPU are copied back
// to check, since a kernel cannot throw. The error names the first offending position.
void check_ids(Napi::Env env, const NativeTensor* ids, int64_t limit, const char* fn, const char* name,
               const int32_t* allowed = nullptr);

void register_support_gemm_ops(Napi::Env env, Napi::Object exports);
void register_support_elementwise_ops(Napi::Env env, Napi::Object exports);
void register_support_layout_ops(Napi::Env env, Napi::Object exports);
void register_support_nn_ops(Napi::Env env, Napi::Object exports);

}  // namespace echogen
