// The vq op family: vqNearest, vqGather, vqStats.
#include "echogen/vq.h"
#include "napi/dispatch.h"

namespace echogen {
namespace {

// Turns the first bad index a kernel met into "fn: indices[2,5] = 9 is out of range ...".
auto bad_index_check(Call& c, const NativeTensor* indices, int64_t K) {
  return [env = c.env, fn = std::string(c.fn()), dims = indices->shape(), K](const BadIndex& bad) {
    if (bad.position < 0) return;
    throw_range(env, fn + ": indices" + index_string(bad.position, dims) + " = " + std::to_string(bad.value) +
                         " is out of range: the codebook has " + std::to_string(K) +
                         " rows, so an index must be in [0, " + std::to_string(K) + ")");
  };
}

NativeTensor* f32_matrix(Call& c, size_t i, const char* name, const NativeTensor* like = nullptr,
                         const char* like_name = nullptr) {
  NativeTensor* t = c.f32(i, name, like, like_name);
  require_rank(c.env, t, 2, c.fn(), name);
  return t;
}

Napi::Value VqNearest(Call& c) {
  NativeTensor* x = f32_matrix(c, 0, "x");
  NativeTensor* cb = f32_matrix(c, 1, "codebook", x, "x");
  const int64_t N = x->dim(0), D = x->dim(1), K = cb->dim(0);
  require_shape(c.env, cb, {K, D}, c.fn(), "codebook", "K codes of x's dimension D");
  if (K == 0) throw_range(c.env, "vqNearest: codebook must have at least one row, got shape " + shape_string(cb->shape()));
  NativeTensor* indices = c.out("indices", {N}, x->device(), DType::I32);
  NativeTensor* distances = c.out("distances", {N}, x->device());
  return c.run(x->device(), EG_KERNEL(vq_nearest, x->f32(), cb->f32(), N, D, K, indices->i32(), distances->f32()));
}

Napi::Value VqGather(Call& c) {
  NativeTensor* cb = f32_matrix(c, 0, "codebook");
  NativeTensor* indices = c.i32(1, "indices", cb, "codebook");
  if (indices->rank() > 7)
    throw_range(c.env, "vqGather: indices may have at most 7 dimensions (the result adds one), got shape " +
                           shape_string(indices->shape()));
  const int64_t K = cb->dim(0), D = cb->dim(1), count = indices->numel();
  std::vector<int64_t> shape = indices->shape();
  shape.push_back(D);
  if (static_cast<double>(count) * static_cast<double>(D) >= 2147483648.0)
    throw_range(c.env, "vqGather: the result " + shape_string(shape) + " would exceed 2^31 - 1 elements");
  NativeTensor* out = c.out(shape, cb->device());
  return c.run(cb->device(), EG_KERNEL(vq_gather, cb->f32(), indices->i32(), count, D, K, out->f32()),
               bad_index_check(c, indices, K));
}

Napi::Value VqStats(Call& c) {
  NativeTensor* x = f32_matrix(c, 0, "x");
  NativeTensor* indices = c.i32(1, "indices", x, "x");
  const int64_t N = x->dim(0), D = x->dim(1);
  require_shape(c.env, indices, {N}, c.fn(), "indices", "one index per row of x");
  const int64_t K = integer_arg(c.info, 2, c.fn(), "K", 1, 2147483647);
  if (static_cast<double>(K) * static_cast<double>(D + 1) >= 2147483648.0)  // the results together, as K * (D + 1)
    throw_range(c.env, "vqStats: sums [" + std::to_string(K) + "," + std::to_string(D) + "] and counts [" + std::to_string(K) + "] would exceed 2^31 - 1 elements together");
  NativeTensor* sums = c.out("sums", {K, D}, x->device());
  NativeTensor* counts = c.out("counts", {K}, x->device());
  return c.run(x->device(), EG_KERNEL(vq_stats, x->f32(), indices->i32(), N, D, K, sums->f32(), counts->f32()),
               bad_index_check(c, indices, K));
}

const OpDef kOps[] = {
    {"vqNearest", "vqNearest", VqNearest},
    {"vqGather", "vqGather", VqGather},
    {"vqStats", "vqStats", VqStats},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
