// The gumbel op family: gumbelSoftmax and its backward. tau is validated here only (as the f32 the
// kernel uses); the TypeScript layers pass it through.
#include <cmath>

#include "echogen/gumbel.h"
#include "napi/dispatch.h"

namespace echogen {
namespace {

constexpr double kMaxSafe = 9007199254740992.0;  // 2^53: every integer up to it is exact in a double

// tau as f32: a finite number > 0 whose reciprocal is finite too.
float tau_value(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  if (!v.IsNumber()) throw_type(env, std::string(fn) + ": " + name + " must be a number, got " + seen(v));
  double t = v.As<Napi::Number>().DoubleValue();
  float f = static_cast<float>(t);
  if (!(f > 0.f) || !std::isfinite(f) || !std::isfinite(1.f / f))
    throw_range(env, std::string(fn) + ": " + name + " must be a finite number > 0 (and >= 1e-38), got " +
                         seen(v));
  return f;
}

// seed / offset: an integer in [0, 2^53]; `required` makes undefined an error.
uint64_t counter_option(Napi::Object opts, const char* key, bool required, const char* fn) {
  Napi::Env env = opts.Env();
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined() && !required) return 0;
  if (!v.IsNumber())
    throw_type(env, std::string(fn) + ": options." + key + " must be an integer in [0, 2^53], got " + seen(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > kMaxSafe || d != std::floor(d))
    throw_range(env, std::string(fn) + ": options." + key + " must be an integer in [0, 2^53], got " + seen(v));
  return static_cast<uint64_t>(d);
}

Napi::Value GumbelSoftmax(Call& c) {
  const char* fn = c.fn();
  NativeTensor* logits = c.f32(0, "logits");
  require_rank(c.env, logits, 2, fn, "logits");
  if (c.info[1].IsUndefined() || c.info[1].IsNull())
    throw_type(c.env, "gumbelSoftmax: options { tau, seed } are required, got " + seen(c.info[1]));
  Napi::Object opts = options_arg(c.info, 1, fn);
  GumbelParams p;
  p.tau = tau_value(c.env, opts.Get("tau"), fn, "options.tau");
  p.seed = counter_option(opts, "seed", true, fn);
  p.offset = counter_option(opts, "offset", false, fn);
  const bool want_hard = bool_option(opts, "hard", false, fn);
  const int64_t N = logits->dim(0), V = logits->dim(1);
  const Device dev = logits->device();
  NativeTensor* soft = c.out("soft", {N, V}, dev);
  NativeTensor* hard = want_hard ? c.out("hard", {N, V}, dev) : nullptr;
  NativeTensor* indices = c.out("indices", {N}, dev, DType::I32);
  return c.run(dev, EG_KERNEL(gumbel_softmax, logits->f32(), N, V, p, soft->f32(), hard ? hard->f32() : nullptr,
                              indices->i32()));
}

Napi::Value GumbelSoftmaxBackward(Call& c) {
  NativeTensor* dy = c.f32(0, "dy");
  NativeTensor* soft = c.f32(1, "soft");
  require_rank(c.env, dy, 2, c.fn(), "dy");
  require_shape(c.env, soft, dy->shape(), c.fn(), "soft", "the shape of dy");
  require_same_device(c.env, dy, soft, c.fn(), "dy", "soft");
  const float tau = tau_value(c.env, c.info[2], c.fn(), "tau");
  NativeTensor* out = c.out(dy->shape(), dy->device());
  return c.run(dy->device(), EG_KERNEL(gumbel_softmax_backward, dy->f32(), soft->f32(), dy->dim(0), dy->dim(1), tau, out->f32()));
}

const OpDef kOps[] = {
    {"gumbelSoftmax", "gumbelSoftmax", GumbelSoftmax},
    {"gumbelSoftmaxBackward", "gumbelSoftmaxBackward", GumbelSoftmaxBackward},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
