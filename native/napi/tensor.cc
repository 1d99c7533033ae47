// NativeTensor: the JS-visible handle over reference-counted native storage.
#include "napi/tensor.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>

#include "napi/args.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen {

namespace {
constexpr size_t kHostAlign = 64;
// Only native code may construct a tensor handle; JS gets them from eg.tensor() and the ops.
int construct_token = 0;
}  // namespace

Storage::~Storage() {
  if (device == Device::CPU) {
    stats->host_cache->give(data, capacity);
    stats->cpu_bytes -= static_cast<int64_t>(bytes);
    int64_t change;
    if (env) napi_adjust_external_memory(env, -static_cast<int64_t>(bytes), &change);
  } else {
    stats->cuda_cache->give(data, capacity);
    stats->cuda_bytes -= static_cast<int64_t>(bytes);
  }
}

constexpr size_t kMmapFrom = 256 << 10;

void* host_alloc_block(size_t size_class) {
  if (size_class >= kMmapFrom) {
    void* p = mmap(nullptr, size_class, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  return std::aligned_alloc(kHostAlign, size_class);
}

void host_free(void* p, size_t size_class) {
  if (size_class >= kMmapFrom) munmap(p, size_class);
  else std::free(p);
}

namespace {
// *size_class: the class asked for on entry, the class of the block returned on exit.
void* host_alloc(MemoryStats& stats, size_t* size_class) {
  if (void* p = stats.host_cache->take(*size_class, size_class)) return p;
  void* p = host_alloc_block(*size_class);
  if (!p) {
    stats.host_cache->clear();
    p = host_alloc_block(*size_class);
  }
  return p;
}
#ifdef ECHOGEN_WITH_CUDA
void* device_alloc(MemoryStats& stats, size_t* size_class) {
  if (void* p = stats.cuda_cache->take(*size_class, size_class)) return p;
  try {
    return cuda::malloc_device(*size_class);
  } catch (const std::exception&) {
    stats.cuda_cache->clear();  // out of memory: give the cached blocks back and try once more
    return cuda::malloc_device(*size_class);
  }
}
#endif
}  // namespace

std::shared_ptr<Storage> allocate_storage(Napi::Env env, size_t bytes, Device device) {
  EchogenAddon& st = addon_state(env);
  if (bytes > st.max_tensor_bytes)
    throw_range(env, std::string(current_op()) + ": a result of " + std::to_string(bytes >> 20) + " MB is over ECHOGEN_MAX_TENSOR_MB=" +
                         std::to_string(st.max_tensor_bytes >> 20));
  void* data = nullptr;
  size_t size_class = block_size_class(bytes);
  if (device == Device::CPU) {
    data = host_alloc(*st.stats, &size_class);
    if (!data) throw Napi::RangeError::New(env, "echogen: out of host memory allocating " + std::to_string(bytes) + " bytes");
  } else {
    st.cuda_stream(env);  // throws the CUDA runtime's reason when unavailable
#ifdef ECHOGEN_WITH_CUDA
    data = device_alloc(*st.stats, &size_class);
#endif
  }
  // counted only once the memory exists, so a failed allocation leaves the counters alone
  auto s = std::make_shared<Storage>();
  s->data = data;
  s->bytes = bytes;
  s->capacity = size_class;
  s->device = device;
  s->stats = st.stats;
  if (device == Device::CPU) {
    s->env = env;
    st.stats->cpu_bytes += static_cast<int64_t>(bytes);
    Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  } else {
    st.stats->cuda_bytes += static_cast<int64_t>(bytes);
  }
  return s;
}

namespace {
// Runs a member of the handle's JS surface, turning C++ exceptions into JS ones (as node-addon-api
// does for the members it defines). Nothing escapes: with the env shutting down (a terminated
// worker) the error cannot be thrown and is dropped, as NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS does.
template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    try {
      return f();
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
    } catch (const std::exception& e) {
      Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
    } catch (...) {
      Napi::Error::New(env, "Tensor: an unexpected native exception").ThrowAsJavaScriptException();
    }
  } catch (...) {
  }
  return nullptr;
}

// What a disposed handle answers, from the one property dispose() leaves on it: [dtype, ...shape].
napi_value disposed_answer(const Napi::CallbackInfo& info, const char* what) {
  Napi::Env env = info.Env();
  Napi::Value rec = info.This().IsObject() ? info.This().As<Napi::Object>().Get(addon_state(env).disposed_key.Value()) : env.Undefined();
  if (!rec.IsArray()) throw Napi::TypeError::New(env, std::string("Tensor.") + what + ": called on something that is not a tensor");
  Napi::Array r = rec.As<Napi::Array>();
  const std::string w = what;
  if (w == "disposed") return Napi::Boolean::New(env, true);
  if (w == "dispose") return env.Undefined();  // disposing twice is harmless
  if (w == "dtype") return r.Get(0u);
  if (w == "shape" || w == "size") {
    Napi::Array shape = Napi::Array::New(env, r.Length() - 1);
    double n = 1;
    for (uint32_t i = 1; i < r.Length(); ++i) {
      Napi::Value d = r.Get(i);
      shape.Set(i - 1, d);
      n *= d.As<Napi::Number>().DoubleValue();
    }
    return w == "shape" ? Napi::Value(shape) : Napi::Value(Napi::Number::New(env, n));
  }
  throw Napi::Error::New(env, std::string("Tensor.") + what + ": the tensor was disposed");
}

template <Napi::Value (NativeTensor::*Member)(const Napi::CallbackInfo&)>
napi_value tensor_member(napi_env env, napi_callback_info cb) {
  return guarded(env, [&]() -> napi_value {
    Napi::CallbackInfo info(env, cb);
    void* native = nullptr;
    if (info.This().IsObject() && napi_unwrap(env, info.This(), &native) == napi_ok && native)
      return ((static_cast<NativeTensor*>(native))->*Member)(info);
    return disposed_answer(info, static_cast<const char*>(info.Data()));
  });
}
}  // namespace

// The members are plain Node-API callbacks on the prototype rather than node-addon-api's
// InstanceAccessor/InstanceMethod, which throw an unhelpful error when the wrap is gone: a disposed
// handle has none (see Dispose) and must still answer shape, dtype, size and disposed.
Napi::Function NativeTensor::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeTensor", {});
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  auto getter = [](const char* name, napi_callback cb) {
    return napi_property_descriptor{name, nullptr, nullptr, cb, nullptr, nullptr, napi_default, const_cast<char*>(name)};
  };
  auto method = [](const char* name, napi_callback cb) {
    return napi_property_descriptor{name, nullptr, cb, nullptr, nullptr, nullptr, napi_default, const_cast<char*>(name)};
  };
  const napi_property_descriptor members[] = {
      getter("shape", tensor_member<&NativeTensor::GetShape>),
      getter("dtype", tensor_member<&NativeTensor::GetDType>),
      getter("device", tensor_member<&NativeTensor::GetDevice>),
      getter("disposed", tensor_member<&NativeTensor::GetDisposed>),
      getter("size", tensor_member<&NativeTensor::GetSize>),
      method("toArray", tensor_member<&NativeTensor::ToArray>),
      method("to", tensor_member<&NativeTensor::To>),
      method("reshape", tensor_member<&NativeTensor::Reshape>),
      method("clone", tensor_member<&NativeTensor::Clone>),
      method("dispose", tensor_member<&NativeTensor::Dispose>),
  };
  NAPI_THROW_IF_FAILED(env, napi_define_properties(env, proto, sizeof members / sizeof members[0], members), Napi::Function());
  return ctor;
}

NativeTensor::NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {
  if (info.Length() != 1 || !info[0].IsExternal() || info[0].As<Napi::External<int>>().Data() != &construct_token)
    throw Napi::TypeError::New(info.Env(), "NativeTensor cannot be constructed directly; use eg.tensor()");
}

NativeTensor::~NativeTensor() { Release(); }

void NativeTensor::Attach(std::shared_ptr<Storage> storage, std::vector<int64_t> shape, DType dtype) {
  storage_ = std::move(storage);
  shape_ = std::move(shape);
  dtype_ = dtype;
  stats_ = storage_->stats;
  ++stats_->tensors;
}

void NativeTensor::Release() {
  if (!storage_) return;
  storage_.reset();
  --stats_->tensors;
}

int64_t NativeTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::string NativeTensor::describe() const {
  return std::string(dtype_name(dtype_)) + shape_string(shape_) + (storage_ ? std::string(" on ") + device_name(storage_->device) : " (disposed)");
}

Napi::Object NativeTensor::Wrap(Napi::Env env, std::shared_ptr<Storage> storage, std::vector<int64_t> shape, DType dtype) {
  EchogenAddon& st = addon_state(env);
  Napi::Object obj = st.tensor_constructor.New({Napi::External<int>::New(env, &construct_token)});
  Unwrap(obj)->Attach(std::move(storage), std::move(shape), dtype);
  return obj;
}

// Every op's results come through here, so this one check holds them all to the limit, before any
// memory is taken or work done (a [46341, 46341] boxIou once ran 40 s into 8.6 GB).
static int64_t result_numel(Napi::Env env, const std::vector<int64_t>& shape) {
  long double n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) throw_range(env, std::string(current_op()) + ": a result would have the negative shape " + shape_string(shape));
    empty = empty || d == 0;
    n *= static_cast<long double>(d);
  }
  if (empty) return 0;
  if (n > static_cast<long double>(kMaxElements)) {
    char count[64];
    std::snprintf(count, sizeof count, "%.0Lf", n);
    throw_range(env, std::string(current_op()) + ": the result would have shape " + shape_string(shape) + " (" + count +
                         " elements), over the limit of 2^31 - 1 elements");
  }
  return static_cast<int64_t>(n);
}

Napi::Object NativeTensor::Empty(Napi::Env env, const std::vector<int64_t>& shape, DType dtype, Device device, NativeTensor** out) {
  const int64_t n = result_numel(env, shape);
  auto storage = allocate_storage(env, static_cast<size_t>(n) * dtype_size(dtype), device);
  Napi::Object obj = Wrap(env, std::move(storage), shape, dtype);
  if (out) *out = Unwrap(obj);
  return obj;
}

void NativeTensor::RequireLive(Napi::Env env, const char* what) const {
  if (!storage_) throw Napi::Error::New(env, std::string("Tensor.") + what + ": the tensor was disposed");
}

Napi::Value NativeTensor::GetShape(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env(), shape_.size());
  for (size_t i = 0; i < shape_.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(shape_[i])));
  return a;
}
Napi::Value NativeTensor::GetDType(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtype_name(dtype_)); }
Napi::Value NativeTensor::GetDevice(const Napi::CallbackInfo& info) {
  RequireLive(info.Env(), "device");
  return Napi::String::New(info.Env(), device_name(storage_->device));
}
Napi::Value NativeTensor::GetDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !storage_); }
Napi::Value NativeTensor::GetSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(numel())); }

Napi::Value NativeTensor::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "toArray");
  size_t n = static_cast<size_t>(numel()), bytes = n * 4;
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
  if (storage_->device == Device::CPU) {
    if (bytes) std::memcpy(buf.Data(), storage_->data, bytes);
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::copy_d2h(buf.Data(), storage_->data, bytes, addon_state(env).cuda_stream(env));
#endif
  }
  if (dtype_ == DType::F32) return Napi::Float32Array::New(env, n, buf, 0);
  return Napi::Int32Array::New(env, n, buf, 0);
}

Napi::Value NativeTensor::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "to");
  Device target = device_arg(env, info[0], "Tensor.to", "device");
  size_t bytes = static_cast<size_t>(numel()) * 4;
  NativeTensor* out;
  Napi::Object obj = Empty(env, shape_, dtype_, target, &out);
  Device src = storage_->device;
  if (src == Device::CPU && target == Device::CPU) {
    if (bytes) std::memcpy(out->data(), data(), bytes);
  } else {
#ifdef ECHOGEN_WITH_CUDA
    void* stream = addon_state(env).cuda_stream(env);
    if (src == Device::CPU) cuda::copy_h2d(out->data(), data(), bytes, stream);
    else if (target == Device::CPU) cuda::copy_d2h(out->data(), data(), bytes, stream);
    else cuda::copy_d2d(out->data(), data(), bytes, stream);
#endif
  }
  return obj;
}

Napi::Value NativeTensor::Reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "reshape");
  std::vector<int64_t> shape = shape_arg(env, info[0], "Tensor.reshape", "shape");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != numel())
    throw_range(env, "Tensor.reshape: cannot view " + describe() + " (" + std::to_string(numel()) + " elements) as " +
                         shape_string(shape) + " (" + std::to_string(n) + " elements)");
  return Wrap(env, storage_, shape, dtype_);  // shares storage: a view, not a copy
}

Napi::Value NativeTensor::Clone(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "clone");
  NativeTensor* out;
  Napi::Object obj = Empty(env, shape_, dtype_, storage_->device, &out);
  size_t bytes = static_cast<size_t>(numel()) * 4;
  if (storage_->device == Device::CPU) {
    if (bytes) std::memcpy(out->data(), data(), bytes);
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::copy_d2d(out->data(), data(), bytes, addon_state(env).cuda_stream(env));
#endif
  }
  return obj;
}

// dispose() frees the storage now and leaves nothing native behind: the wrap is removed and the C++
// object deleted, so no finalizer is left waiting for the event loop to turn (Node 20 runs those
// of collected wrappers only then: a sync loop of 500,000 create/dispose cycles grew RSS by 137 MB
// of them). The handle keeps [dtype, ...shape] in one property, for what a disposed tensor answers.
// The wrap goes first, while it is still the handle's last-added property (the cheapest delete V8 has); it used
// to go after the record was added. Measured only together with the handle check of args.cc: -11% instructions
// for a small op and its dispose (bench/results/ab-2026-12-01-napi-handle-check.md).
Napi::Value NativeTensor::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object self = info.This().As<Napi::Object>();
  Napi::Array rec = Napi::Array::New(env, shape_.size() + 1);
  rec.Set(0u, Napi::String::New(env, dtype_name(dtype_)));
  for (size_t i = 0; i < shape_.size(); ++i) rec.Set(static_cast<uint32_t>(i + 1), Napi::Number::New(env, static_cast<double>(shape_[i])));
  Release();
  void* unwrapped = nullptr;
  const bool unwrapped_ok = napi_remove_wrap(env, self, &unwrapped) == napi_ok;
  self.Set(addon_state(env).disposed_key.Value(), rec);
  if (unwrapped_ok) delete this;  // ~ObjectWrap deletes the napi reference
  return env.Undefined();
}

// fromArray(data: Float32Array | Int32Array, shape: number[], dtype: 'f32'|'i32', device: 'cpu'|'cuda')
static Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "tensor";
  DType dtype = dtype_arg(env, info[2], fn, "dtype");
  Device device = device_arg(env, info[3], fn, "device");
  std::vector<int64_t> shape = shape_arg(env, info[1], fn, "shape");
  if (!info[0].IsTypedArray()) throw_type(env, "tensor: data must be a Float32Array or Int32Array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  napi_typedarray_type want = dtype == DType::F32 ? napi_float32_array : napi_int32_array;
  if (ta.TypedArrayType() != want)
    throw_type(env, std::string("tensor: data must be a ") + (dtype == DType::F32 ? "Float32Array" : "Int32Array") + " for dtype " + dtype_name(dtype));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (static_cast<int64_t>(ta.ElementLength()) != n)
    throw_range(env, "tensor: data has " + std::to_string(ta.ElementLength()) + " elements but shape " + shape_string(shape) +
                         " needs " + std::to_string(n));
  NativeTensor* out;
  Napi::Object obj = NativeTensor::Empty(env, shape, dtype, device, &out);
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  size_t bytes = static_cast<size_t>(n) * 4;
  if (device == Device::CPU) {
    if (bytes) std::memcpy(out->data(), src, bytes);
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::copy_h2d(out->data(), src, bytes, addon_state(env).cuda_stream(env));
#endif
  }
  return obj;
}

// zeros(shape, dtype, device)
static Napi::Value Zeros(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dtype = dtype_arg(env, info[1], "zeros", "dtype");
  Device device = device_arg(env, info[2], "zeros", "device");
  std::vector<int64_t> shape = shape_arg(env, info[0], "zeros", "shape");
  NativeTensor* out;
  Napi::Object obj = NativeTensor::Empty(env, shape, dtype, device, &out);
  size_t bytes = static_cast<size_t>(out->numel()) * 4;
  if (device == Device::CPU) {
    if (bytes) std::memset(out->data(), 0, bytes);
  } else {
#ifdef ECHOGEN_WITH_CUDA
    cuda::fill_zero(out->data(), bytes, addon_state(env).cuda_stream(env));
#endif
  }
  return obj;
}

void register_tensor_functions(Napi::Env env, Napi::Object exports, EchogenAddon& state) {
  state.disposed_key = Napi::Persistent(Napi::Symbol::New(env, "echogen.disposed"));
  Napi::Function ctor = NativeTensor::Define(env);
  state.tensor_constructor = Napi::Persistent(ctor);
  state.tensor_prototype = Napi::Persistent(ctor.Get("prototype").As<Napi::Object>());
  exports.Set("NativeTensor", ctor);
  exports.Set("fromArray", Napi::Function::New(env, FromArray, "fromArray"));
  exports.Set("zeros", Napi::Function::New(env, Zeros, "zeros"));
}

}  // namespace echogen
