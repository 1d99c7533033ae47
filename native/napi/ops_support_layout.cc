// Layout ops: permute, slice and concat along an axis (and the slice gradient's padding copy).
#include <algorithm>

#include "echogen/elementwise.h"
#include "napi/dispatch.h"

namespace echogen {

namespace {

// permute(x, dims) -> y with y.shape[i] = x.shape[dims[i]].
Napi::Value Permute(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  const int rank = x->rank();
  if (!c.info[1].IsArray()) throw_type(c.env, "permute: dims must be an array of integers");
  Napi::Array arr = c.info[1].As<Napi::Array>();
  if (static_cast<int>(arr.Length()) != rank)
    throw_range(c.env, "permute: dims must list each of the " + std::to_string(rank) + " dims of x " +
                           shape_string(x->shape()) + " once, got " + std::to_string(arr.Length()) + " entries");
  std::vector<int> perm(rank);
  bool seen[kMaxRank] = {};
  std::vector<int64_t> out_shape;
  for (int i = 0; i < rank; ++i) {
    Napi::Value v = arr.Get(static_cast<uint32_t>(i));
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e9;
    if (d < 0 && d >= -rank && d == static_cast<int>(d)) d += rank;
    if (!(d >= 0 && d < rank && d == static_cast<int>(d)) || seen[static_cast<int>(d)])
      throw_range(c.env, "permute: dims must be a permutation of 0.." + std::to_string(rank - 1) + ", got " +
                             arr.ToString().Utf8Value() + " (entry " + std::to_string(i) + ")");
    perm[i] = static_cast<int>(d);
    seen[perm[i]] = true;
    out_shape.push_back(x->dim(perm[i]));
  }
  NativeTensor* y = c.out(out_shape, x->device());
  return c.run(x->device(), EG_KERNEL(permute, rank, x->shape(), perm, x->f32(), y->f32()));
}

// slice(x, axis, start, end) -> the elements start <= i < end along axis (a copy).
Napi::Value Slice(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  const int axis = axis_arg(c.info, 1, c.fn(), x->rank());
  const int64_t dim = x->dim(axis);
  const int64_t start = integer_arg(c.info, 2, c.fn(), "start", 0, dim);
  const int64_t end = integer_arg(c.info, 3, c.fn(), "end", start, dim);
  std::vector<int64_t> shape = x->shape();
  shape[axis] = end - start;
  NativeTensor* y = c.out(shape, x->device());
  const int64_t outer = count_of(shape, 0, axis), inner = count_of(shape, axis + 1), len = end - start;
  return c.run(x->device(), EG_KERNEL(copy_axis, outer, inner, len, x->f32(), dim, start, y->f32(), len, int64_t{0}));
}

// sliceBackward(dy, axis, start, size) -> zeros with `size` along axis and dy placed at start.
Napi::Value SliceBackward(Call& c) {
  NativeTensor* dy = c.f32(0, "dy");
  require_min_rank(c.env, dy, 1, c.fn(), "dy");
  const int axis = axis_arg(c.info, 1, c.fn(), dy->rank());
  const int64_t len = dy->dim(axis);
  const int64_t size = integer_arg(c.info, 3, c.fn(), "size", len, 2147483647);
  const int64_t start = integer_arg(c.info, 2, c.fn(), "start", 0, size - len);
  std::vector<int64_t> shape = dy->shape();
  shape[axis] = size;
  if (static_cast<double>(count_of(shape)) >= 2147483648.0) throw_range(c.env, "sliceBackward: the result is too large");
  NativeTensor* dx = c.out(shape, dy->device());
  const int64_t n = dx->numel(), outer = count_of(shape, 0, axis), inner = count_of(shape, axis + 1);
  const float* src = dy->f32();
  float* dst = dx->f32();
  return c.run(dy->device(), [=](auto be) {
    fill(be, n, 0.f, dst);
    copy_axis(be, outer, inner, len, src, len, int64_t{0}, dst, size, start);
  });
}

// concat(xs, axis): the tensors of xs joined along axis; every other dim must agree.
Napi::Value Concat(Call& c) {
  if (!c.info[0].IsArray()) throw_type(c.env, "concat: xs must be an array of Tensors");
  std::vector<NativeTensor*> xs = c.f32_list(0, "xs");
  if (xs.empty()) throw_range(c.env, "concat: xs must hold at least one Tensor, got an empty array");
  for (size_t i = 1; i < xs.size(); ++i)
    require_same_device(c.env, xs[0], xs[i], c.fn(), "xs[0]", ("xs[" + std::to_string(i) + "]").c_str());
  require_min_rank(c.env, xs[0], 1, c.fn(), "xs[0]");
  const int rank = xs[0]->rank();
  const int axis = axis_arg(c.info, 1, c.fn(), rank);
  std::vector<int64_t> shape = xs[0]->shape();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    std::vector<int64_t> s = xs[i]->shape();
    bool ok = static_cast<int>(s.size()) == rank;
    if (ok) {
      total += s[axis];
      s[axis] = shape[axis];
      ok = s == shape;
    }
    if (!ok)
      throw_range(c.env, "concat: xs[" + std::to_string(i) + "] has shape " + shape_string(xs[i]->shape()) +
                             " but must match xs[0] " + shape_string(xs[0]->shape()) + " in every dim except axis " +
                             std::to_string(axis));
  }
  shape[axis] = total;
  if (static_cast<double>(count_of(shape)) >= 2147483648.0) throw_range(c.env, "concat: the result is too large");
  NativeTensor* y = c.out(shape, xs[0]->device());
  const int64_t outer = count_of(shape, 0, axis), inner = count_of(shape, axis + 1);
  std::vector<std::pair<const float*, int64_t>> parts;
  for (NativeTensor* t : xs) parts.push_back({t->f32(), t->dim(axis)});
  float* dst = y->f32();
  return c.run(xs[0]->device(), [=](auto be) {
    int64_t off = 0;
    for (auto [src, len] : parts) {
      copy_axis(be, outer, inner, len, src, len, int64_t{0}, dst, total, off);
      off += len;
    }
  });
}

const OpDef kOps[] = {
    {"permute", "permute", Permute},
    {"slice", "slice", Slice},
    {"sliceBackward", "sliceBackward", SliceBackward},
    {"concat", "concat", Concat},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
