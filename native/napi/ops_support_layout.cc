// Layout ops: permute, slice and concat along an axis (and the slice gradient's padding copy).
#include <algorithm>

#include "echogen/elementwise.h"
#include "napi/support_args.h"

namespace echogen {

namespace {

// permute(x, dims) -> y with y.shape[i] = x.shape[dims[i]].
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "permute";
  NativeTensor* x = f32_arg(info, 0, fn, "x");
  const int rank = x->rank();
  if (!info[1].IsArray()) throw_type(env, "permute: dims must be an array of integers");
  Napi::Array arr = info[1].As<Napi::Array>();
  if (static_cast<int>(arr.Length()) != rank)
    throw_range(env, "permute: dims must list each of the " + std::to_string(rank) + " dims of x " +
                         shape_string(x->shape()) + " once, got " + std::to_string(arr.Length()) + " entries");
  int perm[kMaxRank];
  bool seen[kMaxRank] = {};
  std::vector<int64_t> out_shape;
  for (int i = 0; i < rank; ++i) {
    Napi::Value v = arr.Get(static_cast<uint32_t>(i));
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e9;
    if (d < 0 && d >= -rank && d == static_cast<int>(d)) d += rank;
    if (!(d >= 0 && d < rank && d == static_cast<int>(d)) || seen[static_cast<int>(d)])
      throw_range(env, "permute: dims must be a permutation of 0.." + std::to_string(rank - 1) + ", got " +
                           arr.ToString().Utf8Value() + " (entry " + std::to_string(i) + ")");
    perm[i] = static_cast<int>(d);
    seen[perm[i]] = true;
    out_shape.push_back(x->dim(perm[i]));
  }
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, out_shape, DType::F32, x->device(), &y);
  const int64_t* shape = x->shape().data();
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::permute(pool, rank, shape, perm, x->f32(), y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::permute(s, rank, shape, perm, x->f32(), y->f32());) (void)s; });
  return obj;
}

void run_copy(Napi::Env env, Device device, int64_t outer, int64_t inner, int64_t len, const float* src, int64_t src_dim,
              int64_t src_off, float* dst, int64_t dst_dim, int64_t dst_off) {
  dispatch(env, device,
           [&](ThreadPool& pool) { cpu::copy_axis(pool, outer, inner, len, src, src_dim, src_off, dst, dst_dim, dst_off); },
           [&](void* s) { EG_CUDA_ONLY(cuda::copy_axis(s, outer, inner, len, src, src_dim, src_off, dst, dst_dim, dst_off);) (void)s; });
}

// slice(x, axis, start, end) -> the elements start <= i < end along axis (a copy).
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "slice";
  NativeTensor* x = f32_arg(info, 0, fn, "x");
  require_min_rank(env, x, 1, fn, "x");
  const int axis = axis_arg(info, 1, fn, x->rank());
  const int64_t dim = x->dim(axis);
  const int64_t start = integer_arg(info, 2, fn, "start", 0, dim);
  const int64_t end = integer_arg(info, 3, fn, "end", start, dim);
  std::vector<int64_t> shape = x->shape();
  shape[axis] = end - start;
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, x->device(), &y);
  const int64_t outer = count_of(x->shape(), 0, axis), inner = count_of(x->shape(), axis + 1);
  run_copy(env, x->device(), outer, inner, end - start, x->f32(), dim, start, y->f32(), end - start, 0);
  return obj;
}

// sliceBackward(dy, axis, start, size) -> zeros with `size` along axis and dy placed at start.
Napi::Value SliceBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "sliceBackward";
  NativeTensor* dy = f32_arg(info, 0, fn, "dy");
  require_min_rank(env, dy, 1, fn, "dy");
  const int axis = axis_arg(info, 1, fn, dy->rank());
  const int64_t len = dy->dim(axis);
  const int64_t size = integer_arg(info, 3, fn, "size", len, 2147483647);
  const int64_t start = integer_arg(info, 2, fn, "start", 0, size - len);
  std::vector<int64_t> shape = dy->shape();
  shape[axis] = size;
  if (static_cast<double>(count_of(shape)) >= 2147483648.0) throw_range(env, "sliceBackward: the result is too large");
  NativeTensor* dx;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, dy->device(), &dx);
  const int64_t n = dx->numel();
  dispatch(env, dy->device(), [&](ThreadPool& pool) { cpu::fill(pool, n, 0.f, dx->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::fill(s, n, 0.f, dx->f32());) (void)s; });
  const int64_t outer = count_of(shape, 0, axis), inner = count_of(shape, axis + 1);
  run_copy(env, dy->device(), outer, inner, len, dy->f32(), len, 0, dx->f32(), size, start);
  return obj;
}

// concat(xs, axis): the tensors of xs joined along axis; every other dim must agree.
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "concat";
  if (!info[0].IsArray()) throw_type(env, "concat: xs must be an array of Tensors");
  Napi::Array arr = info[0].As<Napi::Array>();
  const uint32_t count = arr.Length();
  if (count == 0) throw_range(env, "concat: xs must hold at least one Tensor, got an empty array");
  std::vector<NativeTensor*> xs;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name = "xs[" + std::to_string(i) + "]";
    NativeTensor* t = tensor_value(env, arr.Get(i), fn, name.c_str());
    require_dtype(env, t, DType::F32, fn, name.c_str());
    if (i) require_same_device(env, xs[0], t, fn, "xs[0]", name.c_str());
    xs.push_back(t);
  }
  require_min_rank(env, xs[0], 1, fn, "xs[0]");
  const int rank = xs[0]->rank();
  const int axis = axis_arg(info, 1, fn, rank);
  std::vector<int64_t> shape = xs[0]->shape();
  int64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    std::vector<int64_t> s = xs[i]->shape();
    bool ok = static_cast<int>(s.size()) == rank;
    if (ok) {
      total += s[axis];
      s[axis] = shape[axis];
      ok = s == shape;
    }
    if (!ok)
      throw_range(env, "concat: xs[" + std::to_string(i) + "] has shape " + shape_string(xs[i]->shape()) +
                           " but must match xs[0] " + shape_string(xs[0]->shape()) + " in every dim except axis " +
                           std::to_string(axis));
  }
  shape[axis] = total;
  if (static_cast<double>(count_of(shape)) >= 2147483648.0) throw_range(env, "concat: the result is too large");
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, xs[0]->device(), &y);
  const int64_t outer = count_of(shape, 0, axis), inner = count_of(shape, axis + 1);
  int64_t off = 0;
  for (NativeTensor* t : xs) {
    const int64_t len = t->dim(axis);
    run_copy(env, t->device(), outer, inner, len, t->f32(), len, 0, y->f32(), total, off);
    off += len;
  }
  return obj;
}

}  // namespace

void register_support_layout_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("permute", Napi::Function::New(env, Permute, "permute"));
  exports.Set("slice", Napi::Function::New(env, Slice, "slice"));
  exports.Set("sliceBackward", Napi::Function::New(env, SliceBackward, "sliceBackward"));
  exports.Set("concat", Napi::Function::New(env, Concat, "concat"));
}

}  // namespace echogen
