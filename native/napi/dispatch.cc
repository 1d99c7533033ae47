// The dispatcher behind every op entry point (see dispatch.h): argument pinning, the sync and
// async paths, registration, and the checks and message helpers the op families share.
#include "napi/dispatch.h"

#include <cmath>
#include <cstdio>
#include <exception>

#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen {

Call::Call(const Napi::CallbackInfo& info, const char* fn, bool async)
    : info(info), env(info.Env()), async(async), fn_(fn), result_(info.Env().Undefined()) {
  pins_.reserve(8);
}

NativeTensor* Call::tensor(Napi::Value v, const char* name) {
  // The JS Tensor class wraps a native handle in `.handle`; accept either, so the TypeScript
  // wrappers pass their arguments through untouched.
  if (v.IsObject() && !v.IsArray() && !is_tensor_handle(env, v)) {
    Napi::Value h = v.As<Napi::Object>().Get("handle");
    if (h.IsObject()) v = h;
  }
  NativeTensor* t = tensor_value(env, v, fn(), name);
  pins_.push_back(t->storage());
  return t;
}

NativeTensor* Call::optional_tensor(Napi::Value v, const char* name) {
  return v.IsUndefined() || v.IsNull() ? nullptr : tensor(v, name);
}

NativeTensor* Call::typed(Napi::Value v, const char* name, DType dtype, const NativeTensor* like, const char* like_name) {
  NativeTensor* t = tensor(v, name);
  require_dtype(env, t, dtype, fn(), name);
  if (like) require_same_device(env, like, t, fn(), like_name, name);
  return t;
}

std::vector<NativeTensor*> Call::f32_list(size_t i, const char* name) {
  if (!info[i].IsArray()) throw_type(env, std::string(fn()) + ": " + name + " must be an array of Tensors");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<NativeTensor*> out;
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    const std::string n = std::string(name) + "[" + std::to_string(k) + "]";
    out.push_back(typed(arr.Get(k), n.c_str(), DType::F32));
  }
  return out;
}

NativeTensor* Call::out(const std::vector<int64_t>& shape, Device device, DType dtype) {
  NativeTensor* t;
  result_ = NativeTensor::Empty(env, shape, dtype, device, &t);
  outs_.push_back(t);
  pins_.push_back(t->storage());
  return t;
}

NativeTensor* Call::out(const char* key, const std::vector<int64_t>& shape, Device device, DType dtype) {
  if (!result_.IsObject()) result_ = Napi::Object::New(env);
  NativeTensor* t;
  result_.As<Napi::Object>().Set(key, NativeTensor::Empty(env, shape, dtype, device, &t));
  outs_.push_back(t);
  pins_.push_back(t->storage());
  return t;
}

namespace {

Napi::Value resolved(Napi::Env env, Napi::Value v) {
  auto d = Napi::Promise::Deferred::New(env);
  d.Resolve(v);
  return d.Promise();
}

// One CPU op on the libuv pool. Holds the storage of every input and output (so a dispose() meanwhile
// frees nothing) and the result object; settles the promise on the JS thread.
class AsyncOp : public Napi::AsyncWorker {
 public:
  AsyncOp(Napi::Env env, const char* fn, std::function<void()> work, std::function<void()> then,
          std::vector<std::shared_ptr<Storage>> pins, std::vector<NativeTensor*> outs, Napi::Value result)
      : Napi::AsyncWorker(env, fn), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        then_(std::move(then)), pins_(std::move(pins)) {
    if (result.IsObject()) {
      result_ = Napi::Persistent(result.As<Napi::Object>());
      outs_ = std::move(outs);  // alive while result_ holds them
    }
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("kernel failed");
    }
  }
  void OnOK() override {
    // Never let a C++ exception out of here: the env may be shutting down (a terminated worker).
    try {
      then_();
      deferred_.Resolve(result_.IsEmpty() ? Env().Undefined() : result_.Value());
    } catch (const Napi::Error& e) {
      Fail(e.Value());
    } catch (...) {
    }
  }
  void OnError(const Napi::Error& e) override {
    try {
      Fail(e.Value());
    } catch (...) {
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_, then_;
  std::vector<std::shared_ptr<Storage>> pins_;
  std::vector<NativeTensor*> outs_;
  Napi::ObjectReference result_;

  void Fail(Napi::Value error) {
    for (NativeTensor* t : outs_) t->Discard();
    deferred_.Reject(error);
  }
};

}  // namespace

Napi::Value Call::finish(Device device, std::function<void()> work, std::function<void()> then) {
  if (async && device == Device::CPU) {
    auto* op = new AsyncOp(env, fn(), std::move(work), std::move(then), std::move(pins_), outs_, result_);
    Napi::Promise p = op->promise();
    op->Queue();
    return p;
  }
  try {
    work();
    then();
  } catch (...) {
    // a failed call leaves eg.memory() as it was instead of waiting for GC
    for (NativeTensor* t : outs_) t->Discard();
    throw;
  }
  return done();
}

Napi::Value Call::done() { return async ? resolved(env, result_) : result_; }

std::vector<OpTable>& op_tables() {
  static std::vector<OpTable> tables;
  return tables;
}

static void register_op(Napi::Env env, Napi::Object exports, const OpDef* def) {
  void* data = const_cast<OpDef*>(def);
  auto sync = [](const Napi::CallbackInfo& info) -> Napi::Value {
    const OpDef* d = static_cast<const OpDef*>(info.Data());
    Call c(info, d->fn, false);
    return d->op(c);
  };
  // The async form reports every failure, argument errors included, as a rejected promise.
  auto async = [](const Napi::CallbackInfo& info) -> Napi::Value {
    const OpDef* d = static_cast<const OpDef*>(info.Data());
    Call c(info, d->fn, true);
    try {
      return d->op(c);
    } catch (const Napi::Error& e) {
      auto deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Reject(e.Value());
      return deferred.Promise();
    } catch (const std::exception& e) {  // a CUDA launch failure on the enqueue path
      auto deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Reject(Napi::Error::New(info.Env(), e.what()).Value());
      return deferred.Promise();
    }
  };
  // The async forms live on exports.async, apart from the sync ones: a caller enumerating the
  // addon's functions (the fuzz test) sees only functions that throw rather than reject.
  Napi::Value holder = exports.Get("async");
  if (!holder.IsObject()) {
    holder = Napi::Object::New(env);
    exports.Set("async", holder);
  }
  const std::string async_name = std::string(def->name) + "Async";
  exports.Set(def->name, Napi::Function::New(env, sync, def->name, data));
  holder.As<Napi::Object>().Set(def->name, Napi::Function::New(env, async, async_name, data));
}

void register_all_ops(Napi::Env env, Napi::Object exports) {
  for (const OpTable& t : op_tables())
    for (size_t i = 0; i < t.count; ++i) register_op(env, exports, &t.ops[i]);
}

void require_min_rank(Napi::Env env, const NativeTensor* t, int min_rank, const char* fn, const char* name) {
  if (t->rank() < min_rank)
    throw_range(env, std::string(fn) + ": " + name + " must have at least " + std::to_string(min_rank) +
                         " dimensions, got shape " + shape_string(t->shape()));
}

int axis_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, int rank) {
  int64_t a = integer_arg(info, i, fn, "axis", -rank, rank - 1);
  return static_cast<int>(a < 0 ? a + rank : a);
}

void check_ids(Napi::Env env, const NativeTensor* ids, int64_t limit, const char* fn, const char* name,
               const int32_t* allowed) {
  const size_t n = static_cast<size_t>(ids->numel());
  std::vector<int32_t> host;
  const int32_t* p = ids->i32();
  if (ids->device() != Device::CPU) {
    host.resize(n);
#ifdef ECHOGEN_WITH_CUDA
    cuda::copy_d2h(host.data(), ids->data(), n * sizeof(int32_t), addon_state(env).cuda_stream(env));
#endif
    p = host.data();
  }
  for (size_t i = 0; i < n; ++i) {
    if ((p[i] >= 0 && p[i] < limit) || (allowed && p[i] == *allowed)) continue;
    throw_range(env, std::string(fn) + ": " + name + " holds " + std::to_string(p[i]) + " at flat index " +
                         std::to_string(i) + ", outside [0, " + std::to_string(limit) + ")" +
                         (allowed ? " and not the ignore index " + std::to_string(*allowed) : std::string()));
  }
}

std::string index_string(int64_t p, const std::vector<int64_t>& dims) {
  if (dims.empty()) return "";
  std::vector<int64_t> at(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    at[i] = dims[i] ? p % dims[i] : 0;
    p = dims[i] ? p / dims[i] : 0;
  }
  return shape_string(at);
}

std::string number_string(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void read_floats(Napi::Env env, Device device, const float* data, int64_t offset, int count, float* out) {
  if (device == Device::CPU) {
    for (int k = 0; k < count; ++k) out[k] = data[offset + k];
    return;
  }
#ifdef ECHOGEN_WITH_CUDA
  cuda::copy_d2h(out, data + offset, count * sizeof(float), addon_state(env).cuda_stream(env));
#else
  (void)env;
#endif
}

}  // namespace echogen
