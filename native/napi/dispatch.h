// The one way an N-API entry point is written (docs/CONVENTIONS.md):
//
//   Napi::Value LayerNorm(Call& c) {
//     NativeTensor* x = c.f32(0, "x");  ...checks...          // arguments, pinned
//     NativeTensor* y = c.out("y", x->shape());                // outputs, on x's device
//     return c.run(x->device(), EG_KERNEL(layer_norm, rows, d, x->f32(), ..., y->f32()));
//   }
//
// EG_KERNEL evaluates its arguments now (on the JS thread) and calls `layer_norm(be, args...)` later
// with be = cpu::Backend or cuda::Backend (common/backend.h), so the argument list is written once.
// register_ops() exports each op twice: `name` runs it now and returns the result; `async.name`
// returns a Promise. An async CPU op runs on the libuv pool (napi_async_work); its input and output
// storage stays pinned until it settles, so dispose() of an input while it is pending only drops
// the tensor's reference and the memory goes when the op completes ("dispose deferred"). An async
// CUDA op is enqueued on the stream at once and resolves immediately.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/backend.h"
#include "napi/addon.h"
#include "napi/args.h"
#include "napi/tensor.h"

namespace echogen {

// Containers travel into a deferred kernel by value and reach it as pointers.
template <typename T> T* pass(std::vector<T>& v) { return v.data(); }
template <typename T> T& pass(T& x) { return x; }

// A kernel bound to arguments evaluated now: the result is callable as k(backend).
template <typename F, typename... A>
auto bind_kernel(F f, A... a) {
  return [f, args = std::make_tuple(std::move(a)...)](auto be) mutable {
    return std::apply([&](auto&... x) { return f(be, x...); }, args);
  };
}
#define EG_KERNEL(fn, ...) \
  ::echogen::bind_kernel([](auto be_, auto&... a_) { return fn(be_, ::echogen::pass(a_)...); }, __VA_ARGS__)

class Call {
 public:
  Call(const Napi::CallbackInfo& info, const char* fn, bool async);

  const Napi::CallbackInfo& info;
  Napi::Env env;
  const bool async;
  const char* fn() const { return fn_.c_str(); }
  // Error messages name this function (e.g. unary's errors name the op: "exp: ...").
  void rename(std::string fn) { fn_ = std::move(fn); }

  // Tensor arguments: a Tensor or its native handle, live, pinned until the op completes.
  NativeTensor* tensor(Napi::Value v, const char* name);
  NativeTensor* tensor(size_t i, const char* name) { return tensor(info[i], name); }
  NativeTensor* optional_tensor(Napi::Value v, const char* name);
  // A tensor of this dtype, on the device of `like` when given.
  NativeTensor* typed(Napi::Value v, const char* name, DType dtype, const NativeTensor* like = nullptr,
                      const char* like_name = nullptr);
  NativeTensor* f32(size_t i, const char* name, const NativeTensor* like = nullptr, const char* like_name = nullptr) {
    return typed(info[i], name, DType::F32, like, like_name);
  }
  NativeTensor* i32(size_t i, const char* name, const NativeTensor* like = nullptr, const char* like_name = nullptr) {
    return typed(info[i], name, DType::I32, like, like_name);
  }
  // An array of f32 tensors ("fn: name[3] must be ...").
  std::vector<NativeTensor*> f32_list(size_t i, const char* name);

  // Outputs: one unnamed result, or named fields of a result object (in the order added).
  NativeTensor* out(const std::vector<int64_t>& shape, Device device, DType dtype = DType::F32);
  NativeTensor* out(const char* key, const std::vector<int64_t>& shape, Device device, DType dtype = DType::F32);

  // Runs kernel(backend) on `device`, then then(kernel's result) on the JS thread (to turn a fault
  // the kernel reported into an error; outputs are freed at once when it throws).
  template <typename K, typename Then>
  Napi::Value run(Device device, K kernel, Then then);
  template <typename K>
  Napi::Value run(Device device, K kernel) {
    return run(device, std::move(kernel), [](auto&&...) {});
  }
  // The result when there is nothing to run (an empty input, an empty list).
  Napi::Value done();

 private:
  std::string fn_;
  Napi::Value result_;
  std::vector<std::shared_ptr<Storage>> pins_;
  std::vector<NativeTensor*> outs_;
  Napi::Value finish(Device device, std::function<void()> work, std::function<void()> then);
};

template <typename R>
struct KernelSlot {
  std::optional<R> value;
  template <typename K, typename B> void run(K& k, B be) { value.emplace(k(be)); }
  template <typename T> void then(T& t) { t(*value); }
};
template <>
struct KernelSlot<void> {
  template <typename K, typename B> void run(K& k, B be) { k(be); }
  template <typename T> void then(T& t) { t(); }
};

template <typename K, typename Then>
Napi::Value Call::run(Device device, K kernel, Then then) {
  using R = decltype(kernel(std::declval<cpu::Backend>()));
  auto slot = std::make_shared<KernelSlot<R>>();
  auto k = std::make_shared<K>(std::move(kernel));
  std::function<void()> work;
  EchogenAddon& st = addon_state(env);
  if (device == Device::CPU) {
    work = [k, slot, pool = &st.pool] { slot->run(*k, cpu::Backend{pool}); };
  } else {
#ifdef ECHOGEN_WITH_CUDA
    work = [k, slot, stream = st.cuda_stream(env)] { slot->run(*k, cuda::Backend{stream}); };
#else
    st.cuda_stream(env);  // throws: this build has no CUDA backend
#endif
  }
  return finish(device, std::move(work), [slot, then]() mutable { slot->then(then); });
}

// Entry points: `op` is exported as `name` and `async.name`; errors name `fn`. Each ops_*.cc lists
// its entry points in one table and registers it with EG_OPS(table); the addon exports every table
// (register_all_ops), so a new family needs no edit anywhere else.
struct OpDef {
  const char* name;
  const char* fn;
  Napi::Value (*op)(Call&);
};
struct OpTable {
  const OpDef* ops;
  size_t count;
};
std::vector<OpTable>& op_tables();
struct RegisterOps {
  template <size_t N>
  explicit RegisterOps(const OpDef (&ops)[N]) {
    op_tables().push_back({ops, N});
  }
};
#define EG_OPS(table) const ::echogen::RegisterOps eg_ops_registration_##table(table)

// Shape helpers and checks shared by the op families.
inline int64_t count_of(const std::vector<int64_t>& shape, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t n = 1;
  for (size_t i = from; i < shape.size() && i < to; ++i) n *= shape[i];
  return n;
}
inline int64_t last_dim(const NativeTensor* t) { return t->rank() ? t->shape().back() : 1; }
inline std::vector<int64_t> leading_dims(const NativeTensor* t) {
  return std::vector<int64_t>(t->shape().begin(), t->shape().end() - (t->rank() ? 1 : 0));
}
void require_min_rank(Napi::Env env, const NativeTensor* t, int min_rank, const char* fn, const char* name);
// An axis argument in [-rank, rank), normalised to [0, rank).
int axis_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, int rank);
// Every id must lie in [0, limit) (or equal `allowed`, when given); ids on the GPU are copied back
// to check, since a kernel cannot throw. The error names the first offending position.
void check_ids(Napi::Env env, const NativeTensor* ids, int64_t limit, const char* fn, const char* name,
               const int32_t* allowed = nullptr);
// "[2,5]": the multi-index of flat position p in a tensor of these dims ("" for a scalar).
std::string index_string(int64_t p, const std::vector<int64_t>& dims);
// "%g" of a number, for "what was seen" in messages.
std::string number_string(double v);
// Reads `count` floats at element `offset` of data on `device` (only on error paths).
void read_floats(Napi::Env env, Device device, const float* data, int64_t offset, int count, float* out);


}  // namespace echogen
