// Layer norm, (log-)softmax, cross-entropy, embedding and the fused AdamW.
#include <cfloat>

#include "echogen/adamw.h"
#include "echogen/embedding.h"
#include "echogen/loss.h"
#include "echogen/norm.h"
#include "napi/dispatch.h"

namespace echogen {

namespace {

// layerNorm(x [..., d], gamma [d], beta [d], eps) -> { y, mean, rstd } (mean, rstd: x.shape[:-1]).
Napi::Value LayerNorm(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* gamma = c.f32(1, "gamma", x, "x");
  NativeTensor* beta = c.f32(2, "beta", x, "x");
  const double eps = number_arg(c.info, 3, c.fn(), "eps");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  const int64_t d = x->shape().back();
  if (d == 0) throw_range(c.env, "layerNorm: the last dim of x " + shape_string(x->shape()) + " must be at least 1");
  if (!(eps >= 0)) throw_range(c.env, "layerNorm: eps must be >= 0, got " + std::to_string(eps));
  require_shape(c.env, gamma, {d}, c.fn(), "gamma", "the last dim of x");
  require_shape(c.env, beta, {d}, c.fn(), "beta", "the last dim of x");
  const Device dev = x->device();
  NativeTensor* y = c.out("y", x->shape(), dev);
  NativeTensor* mean = c.out("mean", leading_dims(x), dev);
  NativeTensor* rstd = c.out("rstd", leading_dims(x), dev);
  return c.run(dev, EG_KERNEL(layer_norm, mean->numel(), d, x->f32(), gamma->f32(), beta->f32(), static_cast<float>(eps),
                              y->f32(), mean->f32(), rstd->f32()));
}

// layerNormBackward(dy, x, gamma, mean, rstd) -> { dx, dgamma, dbeta }.
Napi::Value LayerNormBackward(Call& c) {
  NativeTensor* dy = c.f32(0, "dy");
  NativeTensor* x = c.f32(1, "x", dy, "dy");
  NativeTensor* gamma = c.f32(2, "gamma", dy, "dy");
  NativeTensor* mean = c.f32(3, "mean", dy, "dy");
  NativeTensor* rstd = c.f32(4, "rstd", dy, "dy");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  const int64_t d = x->shape().back();
  require_shape(c.env, dy, x->shape(), c.fn(), "dy", "the shape of x");
  require_shape(c.env, gamma, {d}, c.fn(), "gamma", "the last dim of x");
  require_shape(c.env, mean, leading_dims(x), c.fn(), "mean", "x's leading dims");
  require_shape(c.env, rstd, leading_dims(x), c.fn(), "rstd", "x's leading dims");
  const Device dev = x->device();
  NativeTensor* dx = c.out("dx", x->shape(), dev);
  NativeTensor* dgamma = c.out("dgamma", {d}, dev);
  NativeTensor* dbeta = c.out("dbeta", {d}, dev);
  return c.run(dev, EG_KERNEL(layer_norm_backward, mean->numel(), d, dy->f32(), x->f32(), gamma->f32(), mean->f32(),
                              rstd->f32(), dx->f32(), dgamma->f32(), dbeta->f32()));
}

// softmax(x, log) over the last dim.
Napi::Value Softmax(Call& c) {
  const bool log = c.info[1].ToBoolean().Value();
  c.rename(log ? "logSoftmax" : "softmax");
  NativeTensor* x = c.f32(0, "x");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  NativeTensor* y = c.out(x->shape(), x->device());
  return c.run(x->device(), EG_KERNEL(softmax, count_of(leading_dims(x)), x->shape().back(), x->f32(), log, y->f32()));
}

// softmaxBackward(y, dy, log) -> dx, from the forward's output y.
Napi::Value SoftmaxBackward(Call& c) {
  NativeTensor* y = c.f32(0, "y");
  NativeTensor* dy = c.f32(1, "dy", y, "y");
  const bool log = c.info[2].ToBoolean().Value();
  require_min_rank(c.env, y, 1, c.fn(), "y");
  require_shape(c.env, dy, y->shape(), c.fn(), "dy", "the shape of y");
  NativeTensor* dx = c.out(y->shape(), y->device());
  return c.run(y->device(), EG_KERNEL(softmax_backward, count_of(leading_dims(y)), y->shape().back(), y->f32(), dy->f32(),
                                      log, dx->f32()));
}

int32_t ignore_arg(Call& c, size_t i) {
  return static_cast<int32_t>(integer_arg(c.info, i, c.fn(), "ignoreIndex", -2147483648LL, 2147483647LL));
}

void check_logits_targets(Call& c, const NativeTensor* logits, const NativeTensor* targets) {
  require_rank(c.env, logits, 2, c.fn(), "logits");
  require_shape(c.env, targets, {logits->dim(0)}, c.fn(), "targets", "one target per row of logits");
  if (logits->dim(1) == 0)
    throw_range(c.env, std::string(c.fn()) + ": logits " + shape_string(logits->shape()) + " has no classes");
}

// crossEntropy(logits [N, V], targets i32 [N], ignoreIndex) -> { loss [N], lse [N] }.
Napi::Value CrossEntropy(Call& c) {
  NativeTensor* logits = c.f32(0, "logits");
  NativeTensor* targets = c.i32(1, "targets", logits, "logits");
  const int32_t ignore = ignore_arg(c, 2);
  check_logits_targets(c, logits, targets);
  const int64_t rows = logits->dim(0), v = logits->dim(1);
  check_ids(c.env, targets, v, c.fn(), "targets", &ignore);
  NativeTensor* loss = c.out("loss", {rows}, logits->device());
  NativeTensor* lse = c.out("lse", {rows}, logits->device());
  return c.run(logits->device(), EG_KERNEL(cross_entropy, rows, v, logits->f32(), targets->i32(), ignore, loss->f32(), lse->f32()));
}

// crossEntropyBackward(logits, targets, lse, dloss [N], ignoreIndex) -> dlogits [N, V].
Napi::Value CrossEntropyBackward(Call& c) {
  NativeTensor* logits = c.f32(0, "logits");
  NativeTensor* targets = c.i32(1, "targets", logits, "logits");
  NativeTensor* lse = c.f32(2, "lse", logits, "logits");
  NativeTensor* dloss = c.f32(3, "dloss", logits, "logits");
  const int32_t ignore = ignore_arg(c, 4);
  check_logits_targets(c, logits, targets);
  const int64_t rows = logits->dim(0), v = logits->dim(1);
  require_shape(c.env, lse, {rows}, c.fn(), "lse", "one per row of logits");
  require_shape(c.env, dloss, {rows}, c.fn(), "dloss", "one per row of logits");
  check_ids(c.env, targets, v, c.fn(), "targets", &ignore);
  NativeTensor* d = c.out(logits->shape(), logits->device());
  return c.run(logits->device(), EG_KERNEL(cross_entropy_backward, rows, v, logits->f32(), targets->i32(), ignore, lse->f32(),
                                           dloss->f32(), d->f32()));
}

// embedding(table [V, D], ids i32 [...S], fnName?, tableName?, idsName?) -> [...S, D]; errors use
// the given names (gatherRows shares this kernel).
Napi::Value Embedding(Call& c) {
  auto str = [&](size_t i, const char* fallback) {
    return c.info[i].IsString() ? c.info[i].As<Napi::String>().Utf8Value() : std::string(fallback);
  };
  const std::string table_name = str(3, "table"), ids_name = str(4, "ids");
  c.rename(str(2, "embedding"));
  NativeTensor* table = c.f32(0, table_name.c_str());
  NativeTensor* ids = c.i32(1, ids_name.c_str(), table, table_name.c_str());
  require_rank(c.env, table, 2, c.fn(), table_name.c_str());
  const int64_t v = table->dim(0), d = table->dim(1);
  check_ids(c.env, ids, v, c.fn(), ids_name.c_str());
  std::vector<int64_t> shape = ids->shape();
  shape.push_back(d);
  if (shape.size() > 8) throw_range(c.env, "embedding: ids " + shape_string(ids->shape()) + " has too many dims (at most 7)");
  NativeTensor* out = c.out(shape, table->device());
  return c.run(table->device(), EG_KERNEL(embedding, ids->numel(), d, table->f32(), ids->i32(), out->f32()));
}

// embeddingBackward(dout [...S, D], ids [...S], V) -> dtable [V, D] (scatter-add).
Napi::Value EmbeddingBackward(Call& c) {
  NativeTensor* dout = c.f32(0, "dout");
  NativeTensor* ids = c.i32(1, "ids", dout, "dout");
  const int64_t v = integer_arg(c.info, 2, c.fn(), "rows", 0, 2147483647);
  std::vector<int64_t> want = ids->shape();
  const int64_t d = last_dim(dout);
  want.push_back(d);
  require_shape(c.env, dout, want, c.fn(), "dout", "ids' shape plus the embedding dim");
  if (static_cast<double>(v) * static_cast<double>(d) >= 2147483648.0) throw_range(c.env, "embeddingBackward: the table is too large");
  check_ids(c.env, ids, v, c.fn(), "ids");
  NativeTensor* dt = c.out({v, d}, dout->device());
  return c.run(dout->device(), EG_KERNEL(embedding_backward, ids->numel(), v, d, dout->f32(), ids->i32(), dt->f32()));
}

// adamw(params[], grads[], m[], v[], { lr, beta1, beta2, eps, weightDecay, step }): one fused update, in place.
Napi::Value AdamW(Call& c) {
  const char* fn = c.fn();
  auto params = c.f32_list(0, "params");
  auto grads = c.f32_list(1, "grads");
  auto ms = c.f32_list(2, "m");
  auto vs = c.f32_list(3, "v");
  Napi::Object opts = options_arg(c.info, 4, fn);
  AdamWHyper h;
  h.lr = static_cast<float>(number_option(opts, "lr", 1e-3, fn));
  h.beta1 = static_cast<float>(number_option(opts, "beta1", 0.9, fn));
  h.beta2 = static_cast<float>(number_option(opts, "beta2", 0.999, fn));
  h.eps = static_cast<float>(number_option(opts, "eps", 1e-8, fn));
  h.weight_decay = static_cast<float>(number_option(opts, "weightDecay", 0, fn));
  const double step = number_option(opts, "step", 1, fn);
  if (!(step >= 1) || step != static_cast<double>(static_cast<int64_t>(step)))
    throw_range(c.env, "adamw: options.step must be an integer >= 1, got " + std::to_string(step));
  h.step = static_cast<int64_t>(step);
  if (!(h.beta1 >= 0 && h.beta1 < 1) || !(h.beta2 >= 0 && h.beta2 < 1))
    throw_range(c.env, "adamw: beta1 and beta2 must lie in [0, 1), got " + std::to_string(h.beta1) + " and " + std::to_string(h.beta2));
  if (!(h.lr >= 0 && h.lr <= FLT_MAX) || !(h.eps > 0 && h.eps <= FLT_MAX) || !(h.weight_decay >= 0 && h.weight_decay <= FLT_MAX))  // as f32
    throw_range(c.env, "adamw: lr and weightDecay must be finite f32 values >= 0 and eps a finite f32 > 0, got lr " + std::to_string(h.lr) +
                         ", weightDecay " + std::to_string(h.weight_decay) + ", eps " + std::to_string(h.eps));
  const size_t count = params.size();
  if (grads.size() != count || ms.size() != count || vs.size() != count)
    throw_range(c.env, "adamw: params, grads, m and v must have the same length, got " + std::to_string(count) + ", " +
                           std::to_string(grads.size()) + ", " + std::to_string(ms.size()) + ", " + std::to_string(vs.size()));
  std::vector<AdamWTensor> list;
  for (size_t i = 0; i < count; ++i) {
    const std::string idx = "[" + std::to_string(i) + "]";
    const std::string gn = "grads" + idx, mn = "m" + idx, vn = "v" + idx, pn = "params" + idx;
    require_same_device(c.env, params[0], params[i], fn, "params[0]", pn.c_str());
    for (auto [t, n] : {std::pair{grads[i], gn}, std::pair{ms[i], mn}, std::pair{vs[i], vn}}) {
      require_same_device(c.env, params[i], t, fn, pn.c_str(), n.c_str());
      require_shape(c.env, t, params[i]->shape(), fn, n.c_str(), ("the shape of " + pn).c_str());
    }
    list.push_back({params[i]->f32(), grads[i]->f32(), ms[i]->f32(), vs[i]->f32(), params[i]->numel()});
  }
  if (count == 0) return c.done();
  return c.run(params[0]->device(), EG_KERNEL(adamw, list, static_cast<int64_t>(count), h));
}

const OpDef kOps[] = {
    {"layerNorm", "layerNorm", LayerNorm},
    {"layerNormBackward", "layerNormBackward", LayerNormBackward},
    {"softmax", "softmax", Softmax},
    {"softmaxBackward", "softmaxBackward", SoftmaxBackward},
    {"crossEntropy", "crossEntropy", CrossEntropy},
    {"crossEntropyBackward", "crossEntropyBackward", CrossEntropyBackward},
    {"embedding", "embedding", Embedding},
    {"embeddingBackward", "embeddingBackward", EmbeddingBackward},
    {"adamw", "adamw", AdamW},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
