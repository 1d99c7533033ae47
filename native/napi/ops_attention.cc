// Argument checks and CPU|CUDA dispatch for the attention op family:
//   attentionForward(q, k, v, opts) -> { out, lse }
//   attentionBackward(q, k, v, out, lse, dOut, opts) -> { dq, dk, dv }
// opts: { causal?: boolean, scale?: number, mask?: Tensor }.
#include <cmath>
#include <string>

#include "echogen/attention.h"
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {
namespace {

// An f32 rank-4 tensor on q's device.
NativeTensor* f32_rank4(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name,
                        const NativeTensor* q) {
  NativeTensor* t = tensor_arg(info, i, fn, name);
  require_dtype(info.Env(), t, DType::F32, fn, name);
  require_rank(info.Env(), t, 4, fn, name);
  if (q) require_same_device(info.Env(), q, t, fn, "q", name);
  return t;
}

struct Checked {
  AttentionParams params;
  NativeTensor *q, *k, *v;
};

// Checks q, k, v (arguments 0..2) and the options object (argument opts_index); fills params.
Checked check_inputs(const Napi::CallbackInfo& info, size_t opts_index, const char* fn) {
  Napi::Env env = info.Env();
  Checked c;
  c.q = f32_rank4(info, 0, fn, "q", nullptr);
  c.k = f32_rank4(info, 1, fn, "k", c.q);
  c.v = f32_rank4(info, 2, fn, "v", c.q);
  AttentionParams& p = c.params;
  p.B = c.q->dim(0), p.H = c.q->dim(1), p.Tq = c.q->dim(2), p.D = c.q->dim(3), p.Tk = c.k->dim(2);
  if (p.D < kAttentionMinHeadDim || p.D > kAttentionMaxHeadDim)
    throw_range(env, std::string(fn) + ": the head dim of q (its last dimension) must be in [" +
                         std::to_string(kAttentionMinHeadDim) + ", " + std::to_string(kAttentionMaxHeadDim) +
                         "], got " + std::to_string(p.D) + " (q shape " + shape_string(c.q->shape()) + ")");
  require_shape(env, c.k, {p.B, p.H, p.Tk, p.D}, fn, "k", "batch, heads and head dim of q");
  require_shape(env, c.v, c.k->shape(), fn, "v", "the shape of k");

  Napi::Object opts = options_arg(info, opts_index, fn);
  Napi::Array keys = opts.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString().Utf8Value();
    if (key != "causal" && key != "scale" && key != "mask")
      throw_type(env, std::string(fn) + ": unknown option '" + key + "' (the options are causal, scale, mask)");
  }
  p.causal = bool_option(opts, "causal", false, fn);
  const double scale = number_option(opts, "scale", 1.0 / std::sqrt(static_cast<double>(p.D)), fn);
  if (!std::isfinite(scale) || !(static_cast<float>(scale) > 0.f) || !std::isfinite(static_cast<float>(scale)))  // as the f32 used
    throw_range(env, std::string(fn) + ": options.scale must be a finite number > 0, got " + opts.Get("scale").ToString().Utf8Value());
  p.scale = static_cast<float>(scale);

  Napi::Value mv = opts.Get("mask");
  if (!mv.IsUndefined() && !mv.IsNull()) {
    NativeTensor* m = tensor_value(env, mv, fn, "options.mask");
    require_dtype(env, m, DType::I32, fn, "options.mask");
    require_same_device(env, c.q, m, fn, "q", "options.mask");
    const bool ok2 = m->rank() == 2 && m->dim(0) == p.Tq && m->dim(1) == p.Tk;
    const bool ok3 = m->rank() == 3 && m->dim(0) == p.B && m->dim(1) == p.Tq && m->dim(2) == p.Tk;
    if (!ok2 && !ok3)
      throw_range(env, std::string(fn) + ": options.mask must have shape " + shape_string({p.Tq, p.Tk}) + " or " +
                           shape_string({p.B, p.Tq, p.Tk}) + " ([Tq,Tk] or [B,Tq,Tk] of q " +
                           shape_string(c.q->shape()) + " and k " + shape_string(c.k->shape()) + "), got " +
                           shape_string(m->shape()));
    p.mask = m->i32();
    p.mask_batched = ok3;
  }
  return c;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "attention";
  Checked c = check_inputs(info, 3, fn);
  const AttentionParams& p = c.params;
  const Device dev = c.q->device();
  NativeTensor *out, *lse;
  Napi::Object out_obj = NativeTensor::Empty(env, c.q->shape(), DType::F32, dev, &out);
  Napi::Object lse_obj = NativeTensor::Empty(env, {p.B, p.H, p.Tq}, DType::F32, dev, &lse);
  if (dev == Device::CPU) {
    cpu::attention_forward(addon_state(env).pool, p, c.q->f32(), c.k->f32(), c.v->f32(), out->f32(), lse->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::attention_forward(addon_state(env).cuda_stream(env), p, c.q->f32(), c.k->f32(), c.v->f32(), out->f32(),
                            lse->f32());
#endif
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("out", out_obj);
  result.Set("lse", lse_obj);
  return result;
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "attentionBackward";
  Checked c = check_inputs(info, 6, fn);
  const AttentionParams& p = c.params;
  NativeTensor* out = f32_rank4(info, 3, fn, "out", c.q);
  require_shape(env, out, c.q->shape(), fn, "out", "the shape of q");
  NativeTensor* lse = tensor_arg(info, 4, fn, "lse");
  require_dtype(env, lse, DType::F32, fn, "lse");
  require_same_device(env, c.q, lse, fn, "q", "lse");
  require_shape(env, lse, {p.B, p.H, p.Tq}, fn, "lse", "[B,H,Tq] of q");
  NativeTensor* dout = f32_rank4(info, 5, fn, "dOut", c.q);
  require_shape(env, dout, c.q->shape(), fn, "dOut", "the shape of q");

  const Device dev = c.q->device();
  NativeTensor *dq, *dk, *dv;
  Napi::Object dq_obj = NativeTensor::Empty(env, c.q->shape(), DType::F32, dev, &dq);
  Napi::Object dk_obj = NativeTensor::Empty(env, c.k->shape(), DType::F32, dev, &dk);
  Napi::Object dv_obj = NativeTensor::Empty(env, c.v->shape(), DType::F32, dev, &dv);
  if (dev == Device::CPU) {
    cpu::attention_backward(addon_state(env).pool, p, c.q->f32(), c.k->f32(), c.v->f32(), out->f32(), lse->f32(),
                            dout->f32(), dq->f32(), dk->f32(), dv->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::attention_backward(addon_state(env).cuda_stream(env), p, c.q->f32(), c.k->f32(), c.v->f32(), out->f32(),
                             lse->f32(), dout->f32(), dq->f32(), dk->f32(), dv->f32());
#endif
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("dq", dq_obj);
  result.Set("dk", dk_obj);
  result.Set("dv", dv_obj);
  return result;
}

}  // namespace

void register_attention_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace echogen
