// The attention op family:
//   attentionForward(q, k, v, opts) -> { out, lse }
//   attentionBackward(q, k, v, out, lse, dOut, opts) -> { dq, dk, dv }
//   packedAttentionForward(qkv, heads, opts) -> { out, lse }
//   packedAttentionBackward(qkv, out, lse, dOut, heads, opts) -> { dqkv }
// opts: { causal?: boolean, scale?: number, mask?: Tensor }. The packed ops read q, k and v where a
// fused projection wrote them, qkv [B, T, 3*H*D], and write out [B, T, H*D] and dqkv in qkv's
// layout: the same kernels with token-major layouts (echogen/attention.h), no copies.
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

void require_head_dim(Call& c, int64_t D, const char* what, const NativeTensor* t) {
  if (D < kAttentionMinHeadDim || D > kAttentionMaxHeadDim)
    throw_range(c.env, std::string(c.fn()) + ": the head dim of " + what + " must be in [" +
                           std::to_string(kAttentionMinHeadDim) + ", " + std::to_string(kAttentionMaxHeadDim) +
                           "], got " + std::to_string(D) + " (" + shape_string(t->shape()) + ")");
}

// The options object (argument opts_index) into p, whose sizes are set: causal, scale, mask (on
// `like`'s device).
void read_options(Call& c, size_t opts_index, const NativeTensor* like, const char* like_name, AttentionParams& p);

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
  require_head_dim(c, p.D, "q (its last dimension)", r.q);
  require_shape(env, r.k, {p.B, p.H, p.Tk, p.D}, fn, "k", "batch, heads and head dim of q");
  require_shape(env, r.v, r.k->shape(), fn, "v", "the shape of k");
  read_options(c, opts_index, r.q, "q", p);
  return r;
}

void read_options(Call& c, size_t opts_index, const NativeTensor* like, const char* like_name, AttentionParams& p) {
  Napi::Env env = c.env;
  const char* fn = c.fn();
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
    require_same_device(env, like, m, fn, like_name, "options.mask");
    const bool ok2 = m->rank() == 2 && m->dim(0) == p.Tq && m->dim(1) == p.Tk;
    const bool ok3 = m->rank() == 3 && m->dim(0) == p.B && m->dim(1) == p.Tq && m->dim(2) == p.Tk;
    if (!ok2 && !ok3)
      throw_range(env, std::string(fn) + ": options.mask must have shape " + shape_string({p.Tq, p.Tk}) + " or " +
                           shape_string({p.B, p.Tq, p.Tk}) + " ([Tq,Tk] or [B,Tq,Tk] for B = " + std::to_string(p.B) +
                           ", Tq = " + std::to_string(p.Tq) + ", Tk = " + std::to_string(p.Tk) + "), got " +
                           shape_string(m->shape()));
    p.mask = m->i32();
    p.mask_batched = ok3;
  }
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

struct CheckedPacked {
  AttentionParams params;
  NativeTensor* qkv;
  int64_t B, T, H, D;  // D: one head's dim
};

// qkv [B, T, 3*H*D] (argument 0), heads (argument heads_index) and the options; the params read
// q, k and v in place (token-major layouts at offsets 0, H*D and 2*H*D of a row).
CheckedPacked check_packed(Call& c, size_t heads_index, size_t opts_index) {
  const char* fn = c.fn();
  CheckedPacked r;
  r.qkv = c.f32(0, "qkv");
  require_rank(c.env, r.qkv, 3, fn, "qkv");
  r.H = integer_arg(c.info, heads_index, fn, "heads", 1, 1 << 16);
  const int64_t width = r.qkv->dim(2);
  if (width % (3 * r.H) != 0)
    throw_range(c.env, std::string(fn) + ": qkv's last dimension must be 3 * heads * headDim with heads = " +
                           std::to_string(r.H) + ", got qkv " + shape_string(r.qkv->shape()));
  r.B = r.qkv->dim(0), r.T = r.qkv->dim(1), r.D = width / (3 * r.H);
  require_head_dim(c, r.D, "qkv (its last dimension / (3 * heads))", r.qkv);
  AttentionParams& p = r.params;
  p.B = r.B, p.H = r.H, p.Tq = r.T, p.Tk = r.T, p.D = r.D;
  p.q_layout = p.k_layout = p.v_layout = token_major_layout(r.H, r.T, r.D, 3);
  p.o_layout = token_major_layout(r.H, r.T, r.D, 1);
  read_options(c, opts_index, r.qkv, "qkv", p);
  return r;
}

Napi::Value PackedAttentionForward(Call& c) {
  CheckedPacked r = check_packed(c, 1, 2);
  const Device dev = r.qkv->device();
  const int64_t HD = r.H * r.D;
  NativeTensor* out = c.out("out", {r.B, r.T, HD}, dev);
  NativeTensor* lse = c.out("lse", {r.B, r.H, r.T}, dev);
  const float* qkv = r.qkv->f32();
  return c.run(dev, EG_KERNEL(attention_forward, r.params, qkv, qkv + HD, qkv + 2 * HD, out->f32(), lse->f32()));
}

Napi::Value PackedAttentionBackward(Call& c) {
  CheckedPacked r = check_packed(c, 4, 5);
  const char* fn = c.fn();
  const int64_t HD = r.H * r.D;
  NativeTensor* out = c.f32(1, "out", r.qkv, "qkv");
  require_shape(c.env, out, {r.B, r.T, HD}, fn, "out", "[B, T, heads * headDim] of qkv");
  NativeTensor* lse = c.f32(2, "lse", r.qkv, "qkv");
  require_shape(c.env, lse, {r.B, r.H, r.T}, fn, "lse", "[B, heads, T] of qkv");
  NativeTensor* dout = c.f32(3, "dOut", r.qkv, "qkv");
  require_shape(c.env, dout, out->shape(), fn, "dOut", "the shape of out");
  const Device dev = r.qkv->device();
  NativeTensor* dqkv = c.out("dqkv", r.qkv->shape(), dev);
  const float* qkv = r.qkv->f32();
  float* d = dqkv->f32();
  return c.run(dev, EG_KERNEL(attention_backward, r.params, qkv, qkv + HD, qkv + 2 * HD, out->f32(), lse->f32(),
                              dout->f32(), d, d + HD, d + 2 * HD));
}

const OpDef kOps[] = {
    {"attentionForward", "attention", AttentionForward},
    {"attentionBackward", "attentionBackward", AttentionBackward},
    {"packedAttentionForward", "packedAttention", PackedAttentionForward},
    {"packedAttentionBackward", "packedAttentionBackward", PackedAttentionBackward},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
