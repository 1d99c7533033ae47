// Argument checks and CPU|CUDA dispatch for the support op family (GEMM, norms, losses, embedding,
// AdamW, elementwise, reductions and layout); the entry points live in ops_support_*.cc.
#include <cstring>

#include "napi/support_args.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen {

static NativeTensor* typed_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, DType dt,
                               const NativeTensor* like, const char* like_name) {
  NativeTensor* t = tensor_arg(info, i, fn, name);
  require_dtype(info.Env(), t, dt, fn, name);
  if (like) require_same_device(info.Env(), like, t, fn, like_name, name);
  return t;
}

NativeTensor* f32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      const NativeTensor* like, const char* like_name) {
  return typed_arg(info, i, fn, name, DType::F32, like, like_name);
}

NativeTensor* i32_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                      const NativeTensor* like, const char* like_name) {
  return typed_arg(info, i, fn, name, DType::I32, like, like_name);
}

void require_min_rank(Napi::Env env, const NativeTensor* t, int min_rank, const char* fn, const char* name) {
  if (t->rank() < min_rank)
    throw_range(env, std::string(fn) + ": " + name + " must have at least " + std::to_string(min_rank) +
                         " dimensions, got shape " + shape_string(t->shape()));
}

int axis_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, int rank) {
  int64_t a = integer_arg(info, i, fn, "axis", -rank, rank - 1);
  return static_cast<int>(a < 0 ? a + rank : a);
}

void check_ids(Napi::Env env, const NativeTensor* ids, int64_t limit, const char* fn, const char* name,
               const int32_t* allowed) {
  const size_t n = static_cast<size_t>(ids->numel());
  std::vector<int32_t> host;
  const int32_t* p = ids->i32();
  if (ids->device() != Device::CPU) {
    host.resize(n);
    EG_CUDA_ONLY(cuda::copy_d2h(host.data(), ids->data(), n * sizeof(int32_t), addon_state(env).cuda_stream(env));)
    p = host.data();
  }
  for (size_t i = 0; i < n; ++i) {
    if ((p[i] >= 0 && p[i] < limit) || (allowed && p[i] == *allowed)) continue;
    throw_range(env, std::string(fn) + ": " + name + " holds " + std::to_string(p[i]) + " at flat index " +
                         std::to_string(i) + ", outside [0, " + std::to_string(limit) + ")" +
                         (allowed ? " and not the ignore index " + std::to_string(*allowed) : std::string()));
  }
}

void register_support_ops(Napi::Env env, Napi::Object exports) {
  register_support_gemm_ops(env, exports);
  register_support_elementwise_ops(env, exports);
  register_support_layout_ops(env, exports);
  register_support_nn_ops(env, exports);
}

}  // namespace echogen
