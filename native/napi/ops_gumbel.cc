// Argument checks and CPU|CUDA dispatch for the gumbel op family: gumbelSoftmax and its backward.
#include <cmath>

#include "echogen/gumbel.h"
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {
namespace {

constexpr double kMaxSafe = 9007199254740992.0;  // 2^53: every integer up to it is exact in a double

std::string describe_value(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsString()) return "string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  return v.ToString().Utf8Value();
}

// tau as f32: a finite number > 0 whose reciprocal is finite too.
float tau_value(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  if (!v.IsNumber()) throw_type(env, std::string(fn) + ": " + name + " must be a number, got " + describe_value(v));
  double t = v.As<Napi::Number>().DoubleValue();
  float f = static_cast<float>(t);
  if (!(f > 0.f) || !std::isfinite(f) || !std::isfinite(1.f / f))
    throw_range(env, std::string(fn) + ": " + name + " must be a finite number > 0 (and >= 1e-38), got " +
                         describe_value(v));
  return f;
}

// seed / offset: an integer in [0, 2^53]; `required` makes undefined an error.
uint64_t counter_option(Napi::Object opts, const char* key, bool required, const char* fn) {
  Napi::Env env = opts.Env();
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() && !required) return 0;
  if (!v.IsNumber())
    throw_type(env, std::string(fn) + ": options." + key + " must be an integer in [0, 2^53], got " + describe_value(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > kMaxSafe || d != std::floor(d))
    throw_range(env, std::string(fn) + ": options." + key + " must be an integer in [0, 2^53], got " + describe_value(v));
  return static_cast<uint64_t>(d);
}

Napi::Value GumbelSoftmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "gumbelSoftmax";
  NativeTensor* logits = tensor_arg(info, 0, fn, "logits");
  require_dtype(env, logits, DType::F32, fn, "logits");
  require_rank(env, logits, 2, fn, "logits");
  if (info[1].IsUndefined() || info[1].IsNull())
    throw_type(env, "gumbelSoftmax: options { tau, seed } are required, got " + describe_value(info[1]));
  Napi::Object opts = options_arg(info, 1, fn);
  GumbelParams p;
  p.tau = tau_value(env, opts.Get("tau"), fn, "options.tau");
  p.seed = counter_option(opts, "seed", true, fn);
  p.offset = counter_option(opts, "offset", false, fn);
  const bool want_hard = bool_option(opts, "hard", false, fn);
  const int64_t N = logits->dim(0), V = logits->dim(1);
  const Device dev = logits->device();
  NativeTensor *soft, *indices, *hard = nullptr;
  Napi::Object result = Napi::Object::New(env);
  result.Set("soft", NativeTensor::Empty(env, {N, V}, DType::F32, dev, &soft));
  if (want_hard) result.Set("hard", NativeTensor::Empty(env, {N, V}, DType::F32, dev, &hard));
  result.Set("indices", NativeTensor::Empty(env, {N}, DType::I32, dev, &indices));
  float* hard_ptr = hard ? hard->f32() : nullptr;
  if (dev == Device::CPU) {
    cpu::gumbel_softmax(addon_state(env).pool, logits->f32(), N, V, p, soft->f32(), hard_ptr, indices->i32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::gumbel_softmax(addon_state(env).cuda_stream(env), logits->f32(), N, V, p, soft->f32(), hard_ptr, indices->i32());
#endif
  }
  return result;
}

Napi::Value GumbelSoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "gumbelSoftmaxBackward";
  NativeTensor* dy = tensor_arg(info, 0, fn, "dy");
  NativeTensor* soft = tensor_arg(info, 1, fn, "soft");
  require_dtype(env, dy, DType::F32, fn, "dy");
  require_dtype(env, soft, DType::F32, fn, "soft");
  require_rank(env, dy, 2, fn, "dy");
  require_shape(env, soft, dy->shape(), fn, "soft", "the shape of dy");
  require_same_device(env, dy, soft, fn, "dy", "soft");
  const float tau = tau_value(env, info[2], fn, "tau");
  const int64_t N = dy->dim(0), V = dy->dim(1);
  NativeTensor* out;
  Napi::Object result = NativeTensor::Empty(env, {N, V}, DType::F32, dy->device(), &out);
  if (dy->device() == Device::CPU) {
    cpu::gumbel_softmax_backward(addon_state(env).pool, dy->f32(), soft->f32(), N, V, tau, out->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::gumbel_softmax_backward(addon_state(env).cuda_stream(env), dy->f32(), soft->f32(), N, V, tau, out->f32());
#endif
  }
  return result;
}

}  // namespace

void register_gumbel_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("gumbelSoftmax", Napi::Function::New(env, GumbelSoftmax, "gumbelSoftmax"));
  exports.Set("gumbelSoftmaxBackward", Napi::Function::New(env, GumbelSoftmaxBackward, "gumbelSoftmaxBackward"));
}

}  // namespace echogen
