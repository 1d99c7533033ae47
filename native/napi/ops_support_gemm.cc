// matmul and the fused linear: shape checks, then one (batched) GEMM on either backend.
#include "echogen/gemm.h"
#include "napi/dispatch.h"

namespace echogen {

namespace {

// matmul(a, b, { transA?, transB? }): a [...,M,K] (or [...,K,M] with transA), b [...,K,N] (or
// [...,N,K] with transB); equal batch dims, or either operand 2-D (shared across the other's batch).
Napi::Value Matmul(Call& c) {
  Napi::Env env = c.env;
  const char* fn = c.fn();
  NativeTensor* a = c.f32(0, "a");
  NativeTensor* b = c.f32(1, "b", a, "a");
  Napi::Object opts = options_arg(c.info, 2, fn);
  const bool ta = bool_option(opts, "transA", false, fn), tb = bool_option(opts, "transB", false, fn);
  require_min_rank(env, a, 2, fn, "a");
  require_min_rank(env, b, 2, fn, "b");
  const auto& as = a->shape();
  const auto& bs = b->shape();
  const int ra = a->rank(), rb = b->rank();
  const int64_t m = ta ? as[ra - 1] : as[ra - 2], ka = ta ? as[ra - 2] : as[ra - 1];
  const int64_t kb = tb ? bs[rb - 1] : bs[rb - 2], n = tb ? bs[rb - 2] : bs[rb - 1];
  if (ka != kb)
    throw_range(env, std::string(fn) + ": the inner dimensions differ: op(a) is [" + std::to_string(m) + "," +
                         std::to_string(ka) + "] (a " + shape_string(as) + (ta ? ", transA" : "") + ") but op(b) is [" +
                         std::to_string(kb) + "," + std::to_string(n) + "] (b " + shape_string(bs) +
                         (tb ? ", transB" : "") + ")");
  std::vector<int64_t> batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2);
  if (ra > 2 && rb > 2 && batch_a != batch_b)
    throw_range(env, std::string(fn) + ": the batch dimensions of a " + shape_string(as) + " and b " + shape_string(bs) +
                         " differ (they must be equal, or one operand 2-D)");
  std::vector<int64_t> out_shape = ra > 2 ? batch_a : batch_b;
  const int64_t batch = count_of(out_shape);
  out_shape.push_back(m);
  out_shape.push_back(n);
  NativeTensor* out = c.out(out_shape, a->device());
  GemmArgs g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.batch = batch;
  g.m = m;
  g.n = n;
  g.k = ka;
  g.a = a->f32();
  g.stride_a = ra > 2 ? m * ka : 0;
  g.b = b->f32();
  g.stride_b = rb > 2 ? ka * n : 0;
  g.c = out->f32();
  g.stride_c = m * n;
  return c.run(a->device(), EG_KERNEL(gemm, g));
}

// linear(x [..., in], w [out, in], b? [out]) -> [..., out]: x W^T + b in one GEMM with a bias epilogue.
Napi::Value Linear(Call& c) {
  Napi::Env env = c.env;
  const char* fn = c.fn();
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* w = c.f32(1, "w", x, "x");
  NativeTensor* bias = c.optional_tensor(c.info[2], "b");
  require_min_rank(env, x, 1, fn, "x");
  require_rank(env, w, 2, fn, "w");
  const int64_t in = x->shape().back(), out_f = w->dim(0);
  if (w->dim(1) != in)
    throw_range(env, std::string(fn) + ": w must have shape [out, " + std::to_string(in) + "] (in = the last dim of x " +
                         shape_string(x->shape()) + "), got " + shape_string(w->shape()));
  if (bias) {
    require_dtype(env, bias, DType::F32, fn, "b");
    require_same_device(env, x, bias, fn, "x", "b");
    require_shape(env, bias, {out_f}, fn, "b", "the output features of w");
  }
  std::vector<int64_t> out_shape(x->shape().begin(), x->shape().end() - 1);
  out_shape.push_back(out_f);
  NativeTensor* out = c.out(out_shape, x->device());
  GemmArgs g;
  g.trans_b = true;
  g.m = count_of(x->shape(), 0, x->shape().size() - 1);
  g.n = out_f;
  g.k = in;
  g.a = x->f32();
  g.b = w->f32();
  g.c = out->f32();
  g.bias = bias ? bias->f32() : nullptr;
  return c.run(x->device(), EG_KERNEL(gemm, g));
}

const OpDef kOps[] = {{"matmul", "matmul", Matmul}, {"linear", "linear", Linear}};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
