// Layer norm, (log-)softmax, cross-entropy, embedding and the fused AdamW.
#include <cfloat>

#include "echogen/adamw.h"
#include "echogen/embedding.h"
#include "echogen/loss.h"
#include "echogen/norm.h"
#include "napi/support_args.h"

namespace echogen {

namespace {

std::vector<int64_t> leading(const NativeTensor* t) {
  return std::vector<int64_t>(t->shape().begin(), t->shape().end() - 1);
}

// layerNorm(x [..., d], gamma [d], beta [d], eps) -> { y, mean, rstd } (mean, rstd: x.shape[:-1]).
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "layerNorm";
  NativeTensor* x = f32_arg(info, 0, fn, "x");
  NativeTensor* gamma = f32_arg(info, 1, fn, "gamma", x, "x");
  NativeTensor* beta = f32_arg(info, 2, fn, "beta", x, "x");
  const double eps = number_arg(info, 3, fn, "eps");
  require_min_rank(env, x, 1, fn, "x");
  const int64_t d = x->shape().back();
  if (d == 0) throw_range(env, "layerNorm: the last dim of x " + shape_string(x->shape()) + " must be at least 1");
  if (!(eps >= 0)) throw_range(env, "layerNorm: eps must be >= 0, got " + std::to_string(eps));
  require_shape(env, gamma, {d}, fn, "gamma", "the last dim of x");
  require_shape(env, beta, {d}, fn, "beta", "the last dim of x");
  NativeTensor *y, *mean, *rstd;
  Napi::Object out = Napi::Object::New(env);
  out.Set("y", NativeTensor::Empty(env, x->shape(), DType::F32, x->device(), &y));
  out.Set("mean", NativeTensor::Empty(env, leading(x), DType::F32, x->device(), &mean));
  out.Set("rstd", NativeTensor::Empty(env, leading(x), DType::F32, x->device(), &rstd));
  const int64_t rows = mean->numel();
  const float e = static_cast<float>(eps);
  dispatch(env, x->device(),
           [&](ThreadPool& pool) { cpu::layer_norm(pool, rows, d, x->f32(), gamma->f32(), beta->f32(), e, y->f32(), mean->f32(), rstd->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::layer_norm(s, rows, d, x->f32(), gamma->f32(), beta->f32(), e, y->f32(), mean->f32(), rstd->f32());) (void)s; });
  return out;
}

// layerNormBackward(dy, x, gamma, mean, rstd) -> { dx, dgamma, dbeta }.
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "layerNormBackward";
  NativeTensor* dy = f32_arg(info, 0, fn, "dy");
  NativeTensor* x = f32_arg(info, 1, fn, "x", dy, "dy");
  NativeTensor* gamma = f32_arg(info, 2, fn, "gamma", dy, "dy");
  NativeTensor* mean = f32_arg(info, 3, fn, "mean", dy, "dy");
  NativeTensor* rstd = f32_arg(info, 4, fn, "rstd", dy, "dy");
  require_min_rank(env, x, 1, fn, "x");
  const int64_t d = x->shape().back();
  require_shape(env, dy, x->shape(), fn, "dy", "the shape of x");
  require_shape(env, gamma, {d}, fn, "gamma", "the last dim of x");
  require_shape(env, mean, leading(x), fn, "mean", "x's leading dims");
  require_shape(env, rstd, leading(x), fn, "rstd", "x's leading dims");
  NativeTensor *dx, *dgamma, *dbeta;
  Napi::Object out = Napi::Object::New(env);
  out.Set("dx", NativeTensor::Empty(env, x->shape(), DType::F32, x->device(), &dx));
  out.Set("dgamma", NativeTensor::Empty(env, {d}, DType::F32, x->device(), &dgamma));
  out.Set("dbeta", NativeTensor::Empty(env, {d}, DType::F32, x->device(), &dbeta));
  const int64_t rows = mean->numel();
  dispatch(env, x->device(),
           [&](ThreadPool& pool) {
             cpu::layer_norm_backward(pool, rows, d, dy->f32(), x->f32(), gamma->f32(), mean->f32(), rstd->f32(),
                                      dx->f32(), dgamma->f32(), dbeta->f32());
           },
           [&](void* s) {
             EG_CUDA_ONLY(cuda::layer_norm_backward(s, rows, d, dy->f32(), x->f32(), gamma->f32(), mean->f32(),
                                                    rstd->f32(), dx->f32(), dgamma->f32(), dbeta->f32());)
             (void)s;
           });
  return out;
}

// softmax(x, log) over the last dim.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool log = info[1].ToBoolean().Value();
  const char* fn = log ? "logSoftmax" : "softmax";
  NativeTensor* x = f32_arg(info, 0, fn, "x");
  require_min_rank(env, x, 1, fn, "x");
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, x->shape(), DType::F32, x->device(), &y);
  const int64_t d = x->shape().back(), rows = count_of(leading(x));
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::softmax(pool, rows, d, x->f32(), log, y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::softmax(s, rows, d, x->f32(), log, y->f32());) (void)s; });
  return obj;
}

// softmaxBackward(y, dy, log) -> dx, from the forward's output y.
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "softmaxBackward";
  NativeTensor* y = f32_arg(info, 0, fn, "y");
  NativeTensor* dy = f32_arg(info, 1, fn, "dy", y, "y");
  const bool log = info[2].ToBoolean().Value();
  require_min_rank(env, y, 1, fn, "y");
  require_shape(env, dy, y->shape(), fn, "dy", "the shape of y");
  NativeTensor* dx;
  Napi::Object obj = NativeTensor::Empty(env, y->shape(), DType::F32, y->device(), &dx);
  const int64_t d = y->shape().back(), rows = count_of(leading(y));
  dispatch(env, y->device(), [&](ThreadPool& pool) { cpu::softmax_backward(pool, rows, d, y->f32(), dy->f32(), log, dx->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::softmax_backward(s, rows, d, y->f32(), dy->f32(), log, dx->f32());) (void)s; });
  return obj;
}

int32_t ignore_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  return static_cast<int32_t>(integer_arg(info, i, fn, "ignoreIndex", -2147483648LL, 2147483647LL));
}

void check_logits_targets(Napi::Env env, const NativeTensor* logits, const NativeTensor* targets, const char* fn) {
  require_rank(env, logits, 2, fn, "logits");
  require_shape(env, targets, {logits->dim(0)}, fn, "targets", "one target per row of logits");
  if (logits->dim(1) == 0) throw_range(env, std::string(fn) + ": logits " + shape_string(logits->shape()) + " has no classes");
}

// crossEntropy(logits [N, V], targets i32 [N], ignoreIndex) -> { loss [N], lse [N] }.
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "crossEntropy";
  NativeTensor* logits = f32_arg(info, 0, fn, "logits");
  NativeTensor* targets = i32_arg(info, 1, fn, "targets", logits, "logits");
  const int32_t ignore = ignore_arg(info, 2, fn);
  check_logits_targets(env, logits, targets, fn);
  const int64_t rows = logits->dim(0), v = logits->dim(1);
  check_ids(env, targets, v, fn, "targets", &ignore);
  NativeTensor *loss, *lse;
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", NativeTensor::Empty(env, {rows}, DType::F32, logits->device(), &loss));
  out.Set("lse", NativeTensor::Empty(env, {rows}, DType::F32, logits->device(), &lse));
  dispatch(env, logits->device(),
           [&](ThreadPool& pool) { cpu::cross_entropy(pool, rows, v, logits->f32(), targets->i32(), ignore, loss->f32(), lse->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::cross_entropy(s, rows, v, logits->f32(), targets->i32(), ignore, loss->f32(), lse->f32());) (void)s; });
  return out;
}

// crossEntropyBackward(logits, targets, lse, dloss [N], ignoreIndex) -> dlogits [N, V].
Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "crossEntropyBackward";
  NativeTensor* logits = f32_arg(info, 0, fn, "logits");
  NativeTensor* targets = i32_arg(info, 1, fn, "targets", logits, "logits");
  NativeTensor* lse = f32_arg(info, 2, fn, "lse", logits, "logits");
  NativeTensor* dloss = f32_arg(info, 3, fn, "dloss", logits, "logits");
  const int32_t ignore = ignore_arg(info, 4, fn);
  check_logits_targets(env, logits, targets, fn);
  const int64_t rows = logits->dim(0), v = logits->dim(1);
  require_shape(env, lse, {rows}, fn, "lse", "one per row of logits");
  require_shape(env, dloss, {rows}, fn, "dloss", "one per row of logits");
  check_ids(env, targets, v, fn, "targets", &ignore);
  NativeTensor* d;
  Napi::Object obj = NativeTensor::Empty(env, logits->shape(), DType::F32, logits->device(), &d);
  dispatch(env, logits->device(),
           [&](ThreadPool& pool) {
             cpu::cross_entropy_backward(pool, rows, v, logits->f32(), targets->i32(), ignore, lse->f32(), dloss->f32(), d->f32());
           },
           [&](void* s) {
             EG_CUDA_ONLY(cuda::cross_entropy_backward(s, rows, v, logits->f32(), targets->i32(), ignore, lse->f32(), dloss->f32(), d->f32());)
             (void)s;
           });
  return obj;
}

// embedding(table [V, D], ids i32 [...S], fnName?, tableName?, idsName?) -> [...S, D]; errors use
// the given names (gatherRows shares this kernel).
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto str = [&](size_t i, const char* fallback) { return info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string(fallback); };
  const std::string name = str(2, "embedding"), table_name = str(3, "table"), ids_name = str(4, "ids");
  const char* fn = name.c_str();
  NativeTensor* table = f32_arg(info, 0, fn, table_name.c_str());
  NativeTensor* ids = i32_arg(info, 1, fn, ids_name.c_str(), table, table_name.c_str());
  require_rank(env, table, 2, fn, table_name.c_str());
  const int64_t v = table->dim(0), d = table->dim(1);
  check_ids(env, ids, v, fn, ids_name.c_str());
  std::vector<int64_t> shape = ids->shape();
  shape.push_back(d);
  if (shape.size() > 8) throw_range(env, "embedding: ids " + shape_string(ids->shape()) + " has too many dims (at most 7)");
  NativeTensor* out;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, table->device(), &out);
  const int64_t n = ids->numel();
  dispatch(env, table->device(), [&](ThreadPool& pool) { cpu::embedding(pool, n, d, table->f32(), ids->i32(), out->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::embedding(s, n, d, table->f32(), ids->i32(), out->f32());) (void)s; });
  return obj;
}

// embeddingBackward(dout [...S, D], ids [...S], V) -> dtable [V, D] (scatter-add).
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "embeddingBackward";
  NativeTensor* dout = f32_arg(info, 0, fn, "dout");
  NativeTensor* ids = i32_arg(info, 1, fn, "ids", dout, "dout");
  const int64_t v = integer_arg(info, 2, fn, "rows", 0, 2147483647);
  std::vector<int64_t> want = ids->shape();
  const int64_t d = last_dim(dout);
  want.push_back(d);
  require_shape(env, dout, want, fn, "dout", "ids' shape plus the embedding dim");
  if (static_cast<double>(v) * static_cast<double>(d) >= 2147483648.0) throw_range(env, "embeddingBackward: the table is too large");
  check_ids(env, ids, v, fn, "ids");
  NativeTensor* dt;
  Napi::Object obj = NativeTensor::Empty(env, {v, d}, DType::F32, dout->device(), &dt);
  const int64_t n = ids->numel();
  dispatch(env, dout->device(), [&](ThreadPool& pool) { cpu::embedding_backward(pool, n, v, d, dout->f32(), ids->i32(), dt->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::embedding_backward(s, n, v, d, dout->f32(), ids->i32(), dt->f32());) (void)s; });
  return obj;
}

std::vector<NativeTensor*> tensor_list(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  if (!v.IsArray()) throw_type(env, std::string(fn) + ": " + name + " must be an array of Tensors");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<NativeTensor*> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    std::string n = std::string(name) + "[" + std::to_string(i) + "]";
    NativeTensor* t = tensor_value(env, arr.Get(i), fn, n.c_str());
    require_dtype(env, t, DType::F32, fn, n.c_str());
    out.push_back(t);
  }
  return out;
}

// adamw(params[], grads[], m[], v[], { lr, beta1, beta2, eps, weightDecay, step }): one fused update, in place.
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "adamw";
  auto params = tensor_list(env, info[0], fn, "params");
  auto grads = tensor_list(env, info[1], fn, "grads");
  auto ms = tensor_list(env, info[2], fn, "m");
  auto vs = tensor_list(env, info[3], fn, "v");
  Napi::Object opts = options_arg(info, 4, fn);
  AdamWHyper h;
  h.lr = static_cast<float>(number_option(opts, "lr", 1e-3, fn));
  h.beta1 = static_cast<float>(number_option(opts, "beta1", 0.9, fn));
  h.beta2 = static_cast<float>(number_option(opts, "beta2", 0.999, fn));
  h.eps = static_cast<float>(number_option(opts, "eps", 1e-8, fn));
  h.weight_decay = static_cast<float>(number_option(opts, "weightDecay", 0, fn));
  const double step = number_option(opts, "step", 1, fn);
  if (!(step >= 1) || step != static_cast<double>(static_cast<int64_t>(step)))
    throw_range(env, "adamw: options.step must be an integer >= 1, got " + std::to_string(step));
  h.step = static_cast<int64_t>(step);
  if (!(h.beta1 >= 0 && h.beta1 < 1) || !(h.beta2 >= 0 && h.beta2 < 1))
    throw_range(env, "adamw: beta1 and beta2 must lie in [0, 1), got " + std::to_string(h.beta1) + " and " + std::to_string(h.beta2));
  if (!(h.lr >= 0 && h.lr <= FLT_MAX) || !(h.eps > 0 && h.eps <= FLT_MAX) || !(h.weight_decay >= 0 && h.weight_decay <= FLT_MAX))  // as f32
    throw_range(env, "adamw: lr and weightDecay must be finite f32 values >= 0 and eps a finite f32 > 0, got lr " + std::to_string(h.lr) +
                         ", weightDecay " + std::to_string(h.weight_decay) + ", eps " + std::to_string(h.eps));
  const size_t count = params.size();
  if (grads.size() != count || ms.size() != count || vs.size() != count)
    throw_range(env, "adamw: params, grads, m and v must have the same length, got " + std::to_string(count) + ", " +
                         std::to_string(grads.size()) + ", " + std::to_string(ms.size()) + ", " + std::to_string(vs.size()));
  std::vector<AdamWTensor> list;
  for (size_t i = 0; i < count; ++i) {
    const std::string idx = "[" + std::to_string(i) + "]";
    const std::string gn = "grads" + idx, mn = "m" + idx, vn = "v" + idx, pn = "params" + idx;
    require_same_device(env, params[0], params[i], fn, "params[0]", pn.c_str());
    for (auto [t, n] : {std::pair{grads[i], gn}, std::pair{ms[i], mn}, std::pair{vs[i], vn}}) {
      require_same_device(env, params[i], t, fn, pn.c_str(), n.c_str());
      require_shape(env, t, params[i]->shape(), fn, n.c_str(), ("the shape of " + pn).c_str());
    }
    list.push_back({params[i]->f32(), grads[i]->f32(), ms[i]->f32(), vs[i]->f32(), params[i]->numel()});
  }
  if (count == 0) return env.Undefined();
  dispatch(env, params[0]->device(), [&](ThreadPool& pool) { cpu::adamw(pool, list.data(), static_cast<int64_t>(count), h); },
           [&](void* s) { EG_CUDA_ONLY(cuda::adamw(s, list.data(), static_cast<int64_t>(count), h);) (void)s; });
  return env.Undefined();
}

}  // namespace

void register_support_nn_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward, "crossEntropyBackward"));
  exports.Set("embedding", Napi::Function::New(env, Embedding, "embedding"));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward, "embeddingBackward"));
  exports.Set("adamw", Napi::Function::New(env, AdamW, "adamw"));
}

}  // namespace echogen
