// Elementwise maps, suffix-broadcast binary ops, in-place updates and reductions.
#include <cstring>

#include "echogen/elementwise.h"
#include "napi/support_args.h"

namespace echogen {

namespace {

UnaryOp unary_op_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, std::string* name = nullptr) {
  std::string s = info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : "";
  if (name) *name = s;
  if (s == "exp") return UnaryOp::Exp;
  if (s == "log") return UnaryOp::Log;
  if (s == "tanh") return UnaryOp::Tanh;
  if (s == "sigmoid") return UnaryOp::Sigmoid;
  if (s == "relu") return UnaryOp::Relu;
  if (s == "gelu") return UnaryOp::Gelu;
  throw_type(info.Env(), std::string(fn) + ": op must be one of 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'gelu', got '" + s + "'");
}

Napi::Object empty_like(Napi::Env env, const NativeTensor* t, NativeTensor** out) {
  return NativeTensor::Empty(env, t->shape(), DType::F32, t->device(), out);
}

// unary(x, op) -> f(x)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string fn;
  UnaryOp op = unary_op_arg(info, 1, "unary", &fn);  // errors name the op (exp, gelu, ...)
  NativeTensor* x = f32_arg(info, 0, fn.c_str(), "x");
  NativeTensor* y;
  Napi::Object obj = empty_like(env, x, &y);
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::unary(pool, op, x->numel(), x->f32(), y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::unary(s, op, x->numel(), x->f32(), y->f32());) (void)s; });
  return obj;
}

// unaryBackward(saved, dy, op) -> dx; saved is the forward's output for exp/tanh/sigmoid and its
// input for log/relu/gelu (whichever the derivative is cheaper from).
Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "unaryBackward";
  NativeTensor* saved = f32_arg(info, 0, fn, "saved");
  NativeTensor* dy = f32_arg(info, 1, fn, "dy", saved, "saved");
  UnaryOp op = unary_op_arg(info, 2, fn);
  require_shape(env, dy, saved->shape(), fn, "dy", "the shape of saved");
  NativeTensor* dx;
  Napi::Object obj = empty_like(env, saved, &dx);
  const float* p = saved->f32();
  dispatch(env, saved->device(), [&](ThreadPool& pool) { cpu::unary_backward(pool, op, dy->numel(), p, p, dy->f32(), dx->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::unary_backward(s, op, dy->numel(), p, p, dy->f32(), dx->f32());) (void)s; });
  return obj;
}

// affine(x, alpha, beta) -> alpha * x + beta
Napi::Value Affine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* x = f32_arg(info, 0, "affine", "x");
  const float alpha = static_cast<float>(number_arg(info, 1, "affine", "alpha"));
  const float beta = static_cast<float>(number_arg(info, 2, "affine", "beta"));
  NativeTensor* y;
  Napi::Object obj = empty_like(env, x, &y);
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::affine(pool, x->numel(), x->f32(), alpha, beta, y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::affine(s, x->numel(), x->f32(), alpha, beta, y->f32());) (void)s; });
  return obj;
}

// binary(a, b, op) with op 'add' | 'sub' | 'mul': b's shape equal to a's or a suffix of it.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  BinaryOp op;
  if (name == "add") op = BinaryOp::Add;
  else if (name == "sub") op = BinaryOp::Sub;
  else if (name == "mul") op = BinaryOp::Mul;
  else throw_type(env, "binary: op must be 'add', 'sub' or 'mul', got '" + name + "'");
  const char* fn = name == "add" ? "add" : name == "sub" ? "sub" : "mul";
  NativeTensor* a = f32_arg(info, 0, fn, "a");
  NativeTensor* b = f32_arg(info, 1, fn, "b", a, "a");
  const auto& as = a->shape();
  const auto& bs = b->shape();
  if (bs.size() > as.size() || !std::equal(bs.begin(), bs.end(), as.end() - bs.size()))
    throw_range(env, std::string(fn) + ": b " + shape_string(bs) + " must have the shape of a " + shape_string(as) +
                         " or a suffix of it (broadcast over a's leading dims)");
  NativeTensor* out;
  Napi::Object obj = empty_like(env, a, &out);
  const int64_t na = a->numel(), nb = b->numel();
  if (nb == 0) return obj;
  dispatch(env, a->device(), [&](ThreadPool& pool) { cpu::binary(pool, op, na, nb, a->f32(), b->f32(), out->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::binary(s, op, na, nb, a->f32(), b->f32(), out->f32());) (void)s; });
  return obj;
}

// axpy(dst, src, alpha): dst += alpha * src in place (gradient accumulation).
Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* dst = f32_arg(info, 0, "axpy", "dst");
  NativeTensor* src = f32_arg(info, 1, "axpy", "src", dst, "dst");
  const float alpha = static_cast<float>(number_arg(info, 2, "axpy", "alpha"));
  require_shape(env, src, dst->shape(), "axpy", "src", "the shape of dst");
  dispatch(env, dst->device(), [&](ThreadPool& pool) { cpu::axpy(pool, dst->numel(), alpha, src->f32(), dst->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::axpy(s, dst->numel(), alpha, src->f32(), dst->f32());) (void)s; });
  return env.Undefined();
}

// fill(x, value): every element of x set to value, in place.
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* x = f32_arg(info, 0, "fill", "x");
  const float value = static_cast<float>(number_arg(info, 1, "fill", "value"));
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::fill(pool, x->numel(), value, x->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::fill(s, x->numel(), value, x->f32());) (void)s; });
  return env.Undefined();
}

// sumToShape(x, shape, alpha): alpha * the sum of x over its leading dims, down to `shape` (a suffix
// of x's shape) - the gradient of a broadcast.
Napi::Value SumToShape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "sumToShape";
  NativeTensor* x = f32_arg(info, 0, fn, "x");
  std::vector<int64_t> shape = shape_arg(env, info[1], fn, "shape");
  const float alpha = static_cast<float>(number_arg(info, 2, fn, "alpha"));
  const auto& xs = x->shape();
  if (shape.size() > xs.size() || !std::equal(shape.begin(), shape.end(), xs.end() - shape.size()))
    throw_range(env, std::string(fn) + ": shape " + shape_string(shape) + " must be a suffix of x's shape " + shape_string(xs));
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, x->device(), &y);
  const int64_t cols = count_of(shape), rows = count_of(xs, 0, xs.size() - shape.size());
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::sum_rows(pool, rows, cols, x->f32(), alpha, y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::sum_rows(s, rows, cols, x->f32(), alpha, y->f32());) (void)s; });
  return obj;
}

// sumLast(x, alpha) -> alpha * sum over the last dim, shape x.shape[:-1]; a 0-d x counts as [1].
Napi::Value SumLast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* x = f32_arg(info, 0, "sumLastDim", "x");
  const float alpha = static_cast<float>(number_arg(info, 1, "sumLastDim", "alpha"));
  const auto& xs = x->shape();
  std::vector<int64_t> shape(xs.begin(), xs.empty() ? xs.end() : xs.end() - 1);
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, x->device(), &y);
  const int64_t cols = last_dim(x), rows = count_of(shape);
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::sum_last(pool, rows, cols, x->f32(), alpha, y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::sum_last(s, rows, cols, x->f32(), alpha, y->f32());) (void)s; });
  return obj;
}

// expandLast(x, cols, alpha) -> [...x.shape, cols] with y[..., j] = alpha * x[...].
Napi::Value ExpandLast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* x = f32_arg(info, 0, "expandLast", "x");
  const int64_t cols = integer_arg(info, 1, "expandLast", "cols", 0, 2147483647);
  const float alpha = static_cast<float>(number_arg(info, 2, "expandLast", "alpha"));
  std::vector<int64_t> shape = x->shape();
  shape.push_back(cols);
  if (static_cast<double>(x->numel()) * static_cast<double>(cols) >= 2147483648.0)
    throw_range(env, "expandLast: the result " + shape_string(shape) + " would have 2^31 or more elements");
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, shape, DType::F32, x->device(), &y);
  const int64_t rows = x->numel();
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::expand_last(pool, rows, cols, x->f32(), alpha, y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::expand_last(s, rows, cols, x->f32(), alpha, y->f32());) (void)s; });
  return obj;
}

// sumSquares(x) -> 0-d tensor holding sum x^2 (gradient norms).
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeTensor* x = f32_arg(info, 0, "sumSquares", "x");
  NativeTensor* y;
  Napi::Object obj = NativeTensor::Empty(env, {}, DType::F32, x->device(), &y);
  dispatch(env, x->device(), [&](ThreadPool& pool) { cpu::sum_squares(pool, x->numel(), x->f32(), y->f32()); },
           [&](void* s) { EG_CUDA_ONLY(cuda::sum_squares(s, x->numel(), x->f32(), y->f32());) (void)s; });
  return obj;
}

}  // namespace

void register_support_elementwise_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("unaryBackward", Napi::Function::New(env, UnaryBackward, "unaryBackward"));
  exports.Set("affine", Napi::Function::New(env, Affine, "affine"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("axpy", Napi::Function::New(env, Axpy, "axpy"));
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
  exports.Set("sumToShape", Napi::Function::New(env, SumToShape, "sumToShape"));
  exports.Set("sumLast", Napi::Function::New(env, SumLast, "sumLast"));
  exports.Set("expandLast", Napi::Function::New(env, ExpandLast, "expandLast"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
}

}  // namespace echogen
