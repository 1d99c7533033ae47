// Argument checks and CPU|CUDA dispatch for the vq op family: vqNearest, vqGather, vqStats.
#include "echogen/vq.h"
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {
namespace {

// "[2,5]": the multi-index of flat position p in a tensor of this shape ("" for a scalar).
std::string position_string(const std::vector<int64_t>& shape, int64_t p) {
  if (shape.empty()) return "";
  std::vector<int64_t> at(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    at[i] = shape[i] ? p % shape[i] : 0;
    p = shape[i] ? p / shape[i] : 0;
  }
  return shape_string(at);
}

void throw_bad_index(Napi::Env env, const char* fn, const NativeTensor* indices, const BadIndex& bad, int64_t K) {
  throw_range(env, std::string(fn) + ": indices" + position_string(indices->shape(), bad.position) + " = " +
                       std::to_string(bad.value) + " is out of range: the codebook has " + std::to_string(K) +
                       " rows, so an index must be in [0, " + std::to_string(K) + ")");
}

void require_f32_matrix(Napi::Env env, const NativeTensor* t, const char* fn, const char* name) {
  require_dtype(env, t, DType::F32, fn, name);
  require_rank(env, t, 2, fn, name);
}

Napi::Value VqNearest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "vqNearest";
  NativeTensor* x = tensor_arg(info, 0, fn, "x");
  NativeTensor* cb = tensor_arg(info, 1, fn, "codebook");
  require_f32_matrix(env, x, fn, "x");
  require_f32_matrix(env, cb, fn, "codebook");
  require_same_device(env, x, cb, fn, "x", "codebook");
  const int64_t N = x->dim(0), D = x->dim(1), K = cb->dim(0);
  require_shape(env, cb, {K, D}, fn, "codebook", "K codes of x's dimension D");
  if (K == 0) throw_range(env, "vqNearest: codebook must have at least one row, got shape " + shape_string(cb->shape()));
  NativeTensor *indices, *distances;
  Napi::Object result = Napi::Object::New(env);
  result.Set("indices", NativeTensor::Empty(env, {N}, DType::I32, x->device(), &indices));
  result.Set("distances", NativeTensor::Empty(env, {N}, DType::F32, x->device(), &distances));
  if (x->device() == Device::CPU) {
    cpu::vq_nearest(addon_state(env).pool, x->f32(), cb->f32(), N, D, K, indices->i32(), distances->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::vq_nearest(addon_state(env).cuda_stream(env), x->f32(), cb->f32(), N, D, K, indices->i32(), distances->f32());
#endif
  }
  return result;
}

Napi::Value VqGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "vqGather";
  NativeTensor* cb = tensor_arg(info, 0, fn, "codebook");
  NativeTensor* indices = tensor_arg(info, 1, fn, "indices");
  require_f32_matrix(env, cb, fn, "codebook");
  require_dtype(env, indices, DType::I32, fn, "indices");
  require_same_device(env, cb, indices, fn, "codebook", "indices");
  if (indices->rank() > 7)
    throw_range(env, "vqGather: indices may have at most 7 dimensions (the result adds one), got shape " +
                         shape_string(indices->shape()));
  const int64_t K = cb->dim(0), D = cb->dim(1), count = indices->numel();
  std::vector<int64_t> shape = indices->shape();
  shape.push_back(D);
  if (static_cast<double>(count) * static_cast<double>(D) >= 2147483648.0)
    throw_range(env, "vqGather: the result " + shape_string(shape) + " would exceed 2^31 - 1 elements");
  NativeTensor* out;
  Napi::Object result = NativeTensor::Empty(env, shape, DType::F32, cb->device(), &out);
  DiscardOutputsOnThrow guard{out};
  BadIndex bad;
  if (cb->device() == Device::CPU) {
    bad = cpu::vq_gather(addon_state(env).pool, cb->f32(), indices->i32(), count, D, K, out->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    bad = cuda::vq_gather(addon_state(env).cuda_stream(env), cb->f32(), indices->i32(), count, D, K, out->f32());
#endif
  }
  if (bad.position >= 0) throw_bad_index(env, fn, indices, bad, K);
  return result;
}

Napi::Value VqStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "vqStats";
  NativeTensor* x = tensor_arg(info, 0, fn, "x");
  NativeTensor* indices = tensor_arg(info, 1, fn, "indices");
  require_f32_matrix(env, x, fn, "x");
  require_dtype(env, indices, DType::I32, fn, "indices");
  require_same_device(env, x, indices, fn, "x", "indices");
  const int64_t N = x->dim(0), D = x->dim(1);
  require_shape(env, indices, {N}, fn, "indices", "one index per row of x");
  const int64_t K = integer_arg(info, 2, fn, "K", 1, 2147483647);
  if (static_cast<double>(K) * static_cast<double>(D + 1) >= 2147483648.0)  // the results together, as K * (D + 1)
    throw_range(env, "vqStats: sums [" + std::to_string(K) + "," + std::to_string(D) + "] and counts [" + std::to_string(K) + "] would exceed 2^31 - 1 elements together");
  NativeTensor *sums, *counts;
  Napi::Object result = Napi::Object::New(env);
  result.Set("sums", NativeTensor::Empty(env, {K, D}, DType::F32, x->device(), &sums));
  result.Set("counts", NativeTensor::Empty(env, {K}, DType::F32, x->device(), &counts));
  DiscardOutputsOnThrow guard{sums, counts};
  BadIndex bad;
  if (x->device() == Device::CPU) {
    bad = cpu::vq_stats(addon_state(env).pool, x->f32(), indices->i32(), N, D, K, sums->f32(), counts->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    bad = cuda::vq_stats(addon_state(env).cuda_stream(env), x->f32(), indices->i32(), N, D, K, sums->f32(), counts->f32());
#endif
  }
  if (bad.position >= 0) throw_bad_index(env, fn, indices, bad, K);
  return result;
}

}  // namespace

void register_vq_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("vqNearest", Napi::Function::New(env, VqNearest, "vqNearest"));
  exports.Set("vqGather", Napi::Function::New(env, VqGather, "vqGather"));
  exports.Set("vqStats", Napi::Function::New(env, VqStats, "vqStats"));
}

}  // namespace echogen
