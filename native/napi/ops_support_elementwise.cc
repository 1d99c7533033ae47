// Elementwise maps, suffix-broadcast binary ops, in-place updates and reductions.
#include <algorithm>

#include "echogen/elementwise.h"
#include "napi/dispatch.h"

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

// unary(x, op) -> f(x)
Napi::Value Unary(Call& c) {
  std::string name;
  UnaryOp op = unary_op_arg(c.info, 1, "unary", &name);
  c.rename(name);  // errors name the op (exp, gelu, ...)
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* y = c.out(x->shape(), x->device());
  return c.run(x->device(), EG_KERNEL(unary, op, x->numel(), x->f32(), y->f32()));
}

// unaryBackward(saved, dy, op) -> dx; saved is the forward's output for exp/tanh/sigmoid and its
// input for log/relu/gelu (whichever the derivative is cheaper from).
Napi::Value UnaryBackward(Call& c) {
  NativeTensor* saved = c.f32(0, "saved");
  NativeTensor* dy = c.f32(1, "dy", saved, "saved");
  UnaryOp op = unary_op_arg(c.info, 2, c.fn());
  require_shape(c.env, dy, saved->shape(), c.fn(), "dy", "the shape of saved");
  NativeTensor* dx = c.out(saved->shape(), saved->device());
  const float* p = saved->f32();
  return c.run(saved->device(), EG_KERNEL(unary_backward, op, dy->numel(), p, p, dy->f32(), dx->f32()));
}

// affine(x, alpha, beta) -> alpha * x + beta
Napi::Value Affine(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  const float alpha = static_cast<float>(number_arg(c.info, 1, c.fn(), "alpha"));
  const float beta = static_cast<float>(number_arg(c.info, 2, c.fn(), "beta"));
  NativeTensor* y = c.out(x->shape(), x->device());
  return c.run(x->device(), EG_KERNEL(affine, x->numel(), x->f32(), alpha, beta, y->f32()));
}

// binary(a, b, op) with op 'add' | 'sub' | 'mul': b's shape equal to a's or a suffix of it.
Napi::Value Binary(Call& c) {
  std::string name = c.info[2].IsString() ? c.info[2].As<Napi::String>().Utf8Value() : "";
  BinaryOp op;
  if (name == "add") op = BinaryOp::Add;
  else if (name == "sub") op = BinaryOp::Sub;
  else if (name == "mul") op = BinaryOp::Mul;
  else throw_type(c.env, "binary: op must be 'add', 'sub' or 'mul', got '" + name + "'");
  c.rename(name);
  NativeTensor* a = c.f32(0, "a");
  NativeTensor* b = c.f32(1, "b", a, "a");
  const auto& as = a->shape();
  const auto& bs = b->shape();
  if (bs.size() > as.size() || !std::equal(bs.begin(), bs.end(), as.end() - bs.size()))
    throw_range(c.env, name + ": b " + shape_string(bs) + " must have the shape of a " + shape_string(as) +
                           " or a suffix of it (broadcast over a's leading dims)");
  NativeTensor* out = c.out(as, a->device());
  if (b->numel() == 0) return c.done();
  return c.run(a->device(), EG_KERNEL(binary, op, a->numel(), b->numel(), a->f32(), b->f32(), out->f32()));
}

// axpy(dst, src, alpha): dst += alpha * src in place (gradient accumulation).
Napi::Value Axpy(Call& c) {
  NativeTensor* dst = c.f32(0, "dst");
  NativeTensor* src = c.f32(1, "src", dst, "dst");
  const float alpha = static_cast<float>(number_arg(c.info, 2, c.fn(), "alpha"));
  require_shape(c.env, src, dst->shape(), c.fn(), "src", "the shape of dst");
  return c.run(dst->device(), EG_KERNEL(axpy, dst->numel(), alpha, src->f32(), dst->f32()));
}

// fill(x, value): every element of x set to value, in place.
Napi::Value Fill(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  const float value = static_cast<float>(number_arg(c.info, 1, c.fn(), "value"));
  return c.run(x->device(), EG_KERNEL(fill, x->numel(), value, x->f32()));
}

// sumToShape(x, shape, alpha): alpha * the sum of x over its leading dims, down to `shape` (a suffix
// of x's shape) - the gradient of a broadcast.
Napi::Value SumToShape(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  std::vector<int64_t> shape = shape_arg(c.env, c.info[1], c.fn(), "shape");
  const float alpha = static_cast<float>(number_arg(c.info, 2, c.fn(), "alpha"));
  const auto& xs = x->shape();
  if (shape.size() > xs.size() || !std::equal(shape.begin(), shape.end(), xs.end() - shape.size()))
    throw_range(c.env, std::string(c.fn()) + ": shape " + shape_string(shape) + " must be a suffix of x's shape " + shape_string(xs));
  NativeTensor* y = c.out(shape, x->device());
  const int64_t cols = count_of(shape), rows = count_of(xs, 0, xs.size() - shape.size());
  return c.run(x->device(), EG_KERNEL(sum_rows, rows, cols, x->f32(), alpha, y->f32()));
}

// sumLast(x, alpha) -> alpha * sum over the last dim, shape x.shape[:-1]; a 0-d x counts as [1].
Napi::Value SumLast(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  const float alpha = static_cast<float>(number_arg(c.info, 1, c.fn(), "alpha"));
  NativeTensor* y = c.out(leading_dims(x), x->device());
  return c.run(x->device(), EG_KERNEL(sum_last, y->numel(), last_dim(x), x->f32(), alpha, y->f32()));
}

// expandLast(x, cols, alpha) -> [...x.shape, cols] with y[..., j] = alpha * x[...].
Napi::Value ExpandLast(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  const int64_t cols = integer_arg(c.info, 1, c.fn(), "cols", 0, 2147483647);
  const float alpha = static_cast<float>(number_arg(c.info, 2, c.fn(), "alpha"));
  std::vector<int64_t> shape = x->shape();
  shape.push_back(cols);
  if (static_cast<double>(x->numel()) * static_cast<double>(cols) >= 2147483648.0)
    throw_range(c.env, "expandLast: the result " + shape_string(shape) + " would have 2^31 or more elements");
  NativeTensor* y = c.out(shape, x->device());
  return c.run(x->device(), EG_KERNEL(expand_last, x->numel(), cols, x->f32(), alpha, y->f32()));
}

// sumSquares(x) -> 0-d tensor holding sum x^2 (gradient norms).
Napi::Value SumSquares(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* y = c.out({}, x->device());
  return c.run(x->device(), EG_KERNEL(sum_squares, x->numel(), x->f32(), y->f32()));
}

// biasGelu(x [..., C], b [C]) -> gelu(x + b): the bias add and GELU of an MLP in one pass.
Napi::Value BiasGelu(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* b = c.f32(1, "b", x, "x");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  require_shape(c.env, b, {x->shape().back()}, c.fn(), "b", "the last dim of x");
  NativeTensor* y = c.out(x->shape(), x->device());
  return c.run(x->device(), EG_KERNEL(bias_gelu, count_of(leading_dims(x)), x->shape().back(), x->f32(), b->f32(), y->f32()));
}

// biasGeluBackward(x, b, dy) -> { dx, db }, from the forward's inputs.
Napi::Value BiasGeluBackward(Call& c) {
  NativeTensor* x = c.f32(0, "x");
  NativeTensor* b = c.f32(1, "b", x, "x");
  NativeTensor* dy = c.f32(2, "dy", x, "x");
  require_min_rank(c.env, x, 1, c.fn(), "x");
  require_shape(c.env, b, {x->shape().back()}, c.fn(), "b", "the last dim of x");
  require_shape(c.env, dy, x->shape(), c.fn(), "dy", "the shape of x");
  NativeTensor* dx = c.out("dx", x->shape(), x->device());
  NativeTensor* db = c.out("db", b->shape(), x->device());
  return c.run(x->device(), EG_KERNEL(bias_gelu_backward, count_of(leading_dims(x)), x->shape().back(), x->f32(), b->f32(),
                                      dy->f32(), dx->f32(), db->f32()));
}

const OpDef kOps[] = {
    {"unary", "unary", Unary},
    {"unaryBackward", "unaryBackward", UnaryBackward},
    {"affine", "affine", Affine},
    {"binary", "binary", Binary},
    {"axpy", "axpy", Axpy},
    {"fill", "fill", Fill},
    {"sumToShape", "sumToShape", SumToShape},
    {"sumLast", "sumLastDim", SumLast},
    {"expandLast", "expandLast", ExpandLast},
    {"sumSquares", "sumSquares", SumSquares},
    {"biasGelu", "biasGelu", BiasGelu},
    {"biasGeluBackward", "biasGeluBackward", BiasGeluBackward},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
