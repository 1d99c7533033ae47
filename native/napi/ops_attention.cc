// The attention op family:
//   attentionForward(q, k, v, opts) -> { out, lse }
//   attentionBackward(q, k, v, out, lse, dOut, opts) -> { dq, dk, dv }
// opts: { causal?: boolean, scale?: number, mask?: Tensor }.
#include <cmath>
#include <string>

#include "echogen/attention.h"
#include "napi/dispatch.h"

namespace echogen {
namespace {

// An f32 rank-4 tensor on q's device.
NativeTensor* f32_rank4(Call& c, size_t i, const char* name, const NativeTensor* q) {
  NativeTensor* t = c.f32(i, name, q, "q");
  require_rank(c.env, t, 4, c.fn(), name);
  return t;
}

struct Checked {
  AttentionParams params;
  NativeTensor *q, *k, *v;
};

// Checks q, k, v (arguments 0..2) and the options object (argument opts_index); fills params.
Checked check_inputs(Call& c, size_t opts_index) {
  Napi::Env env = c.env;
  const char* fn = c.fn();
  Checked r;
  r.q = f32_rank4(c, 0, "q", nullptr);
  r.k = f32_rank4(c, 1, "k", r.q);
  r.v = f32_rank4(c, 2, "v", r.q);
  AttentionParams& p = r.params;
  p.B = r.q->dim(0), p.H = r.q->dim(1), p.Tq = r.q->dim(2), p.D = r.q->dim(3), p.Tk = r.k->dim(2);
  if (p.D < kAttentionMinHeadDim || p.D > kAttentionMaxHeadDim)
    throw_range(env, std::string(fn) + ": the head dim of q (its last dimension) must be in [" +
                         std::to_string(kAttentionMinHeadDim) + ", " + std::to_string(kAttentionMaxHeadDim) +
                         "], got " + std::to_string(p.D) + " (q shape " + shape_string(r.q->shape()) + ")");
  require_shape(env, r.k, {p.B, p.H, p.Tk, p.D}, fn, "k", "batch, heads and head dim of q");
  require_shape(env, r.v, r.k->shape(), fn, "v", "the shape of k");

  Napi::Object opts = options_arg(c.info, opts_index, fn);
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

  if (NativeTensor* m = c.optional_tensor(opts.Get("mask"), "options.mask")) {
    require_dtype(env, m, DType::I32, fn, "options.mask");
    require_same_device(env, r.q, m, fn, "q", "options.mask");
    const bool ok2 = m->rank() == 2 && m->dim(0) == p.Tq && m->dim(1) == p.Tk;
    const bool ok3 = m->rank() == 3 && m->dim(0) == p.B && m->dim(1) == p.Tq && m->dim(2) == p.Tk;
    if (!ok2 && !ok3)
      throw_range(env, std::string(fn) + ": options.mask must have shape " + shape_string({p.Tq, p.Tk}) + " or " +
                           shape_string({p.B, p.Tq, p.Tk}) + " ([Tq,Tk] or [B,Tq,Tk] of q " +
                           shape_string(r.q->shape()) + " and k " + shape_string(r.k->shape()) + "), got " +
                           shape_string(m->shape()));
    p.mask = m->i32();
    p.mask_batched = ok3;
  }
  return r;
}

Napi::Value AttentionForward(Call& c) {
  Checked r = check_inputs(c, 3);
  const Device dev = r.q->device();
  NativeTensor* out = c.out("out", r.q->shape(), dev);
  NativeTensor* lse = c.out("lse", {r.params.B, r.params.H, r.params.Tq}, dev);
  return c.run(dev, EG_KERNEL(attention_forward, r.params, r.q->f32(), r.k->f32(), r.v->f32(), out->f32(), lse->f32()));
}

Napi::Value AttentionBackward(Call& c) {
  Checked r = check_inputs(c, 6);
  const AttentionParams& p = r.params;
  NativeTensor* out = f32_rank4(c, 3, "out", r.q);
  require_shape(c.env, out, r.q->shape(), c.fn(), "out", "the shape of q");
  NativeTensor* lse = c.f32(4, "lse", r.q, "q");
  require_shape(c.env, lse, {p.B, p.H, p.Tq}, c.fn(), "lse", "[B,H,Tq] of q");
  NativeTensor* dout = f32_rank4(c, 5, "dOut", r.q);
  require_shape(c.env, dout, r.q->shape(), c.fn(), "dOut", "the shape of q");
  const Device dev = r.q->device();
  NativeTensor* dq = c.out("dq", r.q->shape(), dev);
  NativeTensor* dk = c.out("dk", r.k->shape(), dev);
  NativeTensor* dv = c.out("dv", r.v->shape(), dev);
  return c.run(dev, EG_KERNEL(attention_backward, p, r.q->f32(), r.k->f32(), r.v->f32(), out->f32(), lse->f32(), dout->f32(),
                              dq->f32(), dk->f32(), dv->f32()));
}

const OpDef kOps[] = {
    {"attentionForward", "attention", AttentionForward},
    {"attentionBackward", "attentionBackward", AttentionBackward},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
