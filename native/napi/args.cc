// Argument checks shared by every op family (see args.h).
#include "napi/args.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace echogen {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? "," : "") << shape[i];
  s << ']';
  return s.str();
}

namespace {
// A copy, not the pointer: some entry points name themselves with a std::string that dies with them.
thread_local char current_op_name[64] = "echogen";
inline void entering(const char* fn) {
  if (!fn) return;
  size_t i = 0;
  for (; fn[i] && i + 1 < sizeof current_op_name; ++i) current_op_name[i] = fn[i];
  current_op_name[i] = '\0';
}
}  // namespace

const char* current_op() { return current_op_name; }

void throw_type(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
void throw_range(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

std::string seen(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + v.ToString().Utf8Value();
  if (v.IsString()) return "string \"" + v.As<Napi::String>().Utf8Value() + "\"";
  if (v.IsBoolean()) return "boolean";
  if (v.IsArray()) return "an array";
  if (v.IsTypedArray()) return "a typed array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

// A handle's prototype is NativeTensor.prototype (handles are made only by native code, never subclassed), so
// comparing it is `instanceof` without V8's call into Symbol.hasInstance (9% of a small op's samples in perf).
bool is_tensor_handle(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return false;
  napi_value proto;
  bool same = false;
  return napi_get_prototype(env, v, &proto) == napi_ok &&
         napi_strict_equals(env, proto, addon_state(env).tensor_prototype.Value(), &same) == napi_ok && same;
}

NativeTensor* tensor_value(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  entering(fn);
  if (!is_tensor_handle(env, v))
    throw_type(env, std::string(fn) + ": " + name + " must be a Tensor, got " + seen(v));
  // A disposed handle has no native object left (NativeTensor::Dispose removed the wrap) and holds the disposed
  // record instead; an object made with NativeTensor.prototype but not by echogen has neither.
  void* native = nullptr;
  if (napi_unwrap(env, v, &native) != napi_ok || !native || static_cast<NativeTensor*>(native)->disposed()) {
    if (!v.As<Napi::Object>().Has(addon_state(env).disposed_key.Value()))
      throw_type(env, std::string(fn) + ": " + name + " must be a Tensor, got an object with the Tensor prototype that echogen did not make");
    throw Napi::Error::New(env, std::string(fn) + ": " + name + " was disposed");
  }
  return static_cast<NativeTensor*>(native);
}

NativeTensor* tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  return tensor_value(info.Env(), info[i], fn, name);
}

NativeTensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  return tensor_value(info.Env(), info[i], fn, name);
}

void require_dtype(Napi::Env env, const NativeTensor* t, DType dtype, const char* fn, const char* name) {
  if (t->dtype() != dtype)
    throw_type(env, std::string(fn) + ": " + name + " must be " + dtype_name(dtype) + ", got " + dtype_name(t->dtype()));
}

void require_rank(Napi::Env env, const NativeTensor* t, int rank, const char* fn, const char* name) {
  if (t->rank() != rank)
    throw_range(env, std::string(fn) + ": " + name + " must have " + std::to_string(rank) + " dimensions, got shape " +
                         shape_string(t->shape()));
}

void require_same_device(Napi::Env env, const NativeTensor* a, const NativeTensor* b, const char* fn,
                         const char* name_a, const char* name_b) {
  if (a->device() != b->device())
    throw_type(env, std::string(fn) + ": " + name_a + " is on " + device_name(a->device()) + " but " + name_b + " is on " +
                        device_name(b->device()) + "; move one with .to()");
}

void require_shape(Napi::Env env, const NativeTensor* t, const std::vector<int64_t>& expected, const char* fn,
                   const char* name, const char* why) {
  if (t->shape() != expected)
    throw_range(env, std::string(fn) + ": " + name + " must have shape " + shape_string(expected) +
                         (why ? std::string(" (") + why + ")" : std::string()) + ", got " + shape_string(t->shape()));
}

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  entering(fn);
  Napi::Value v = info[i];
  if (v.IsUndefined() || v.IsNull()) return Napi::Object::New(info.Env());
  if (!v.IsObject() || v.IsArray()) throw_type(info.Env(), std::string(fn) + ": options must be an object, got " + seen(v));
  return v.As<Napi::Object>();
}

double number_option(Napi::Object opts, const char* key, double fallback, const char* fn) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || std::isnan(v.As<Napi::Number>().DoubleValue()))
    throw_type(opts.Env(), std::string(fn) + ": options." + key + " must be a number, got " + seen(v));
  return v.As<Napi::Number>().DoubleValue();
}

bool bool_option(Napi::Object opts, const char* key, bool fallback, const char* fn) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type(opts.Env(), std::string(fn) + ": options." + key + " must be a boolean, got " + seen(v));
  return v.As<Napi::Boolean>().Value();
}

std::string string_option(Napi::Object opts, const char* key, const std::string& fallback, const char* fn) {
  Napi::Value v = opts.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throw_type(opts.Env(), std::string(fn) + ": options." + key + " must be a string, got " + seen(v));
  return v.As<Napi::String>().Utf8Value();
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  entering(fn);
  Napi::Value v = info[i];
  if (!v.IsNumber() || std::isnan(v.As<Napi::Number>().DoubleValue()))
    throw_type(info.Env(), std::string(fn) + ": " + name + " must be a number, got " + seen(v));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integer_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi) {
  double d = number_arg(info, i, fn, name);
  if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw_range(info.Env(), std::string(fn) + ": " + name + " must be an integer in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], got " + info[i].ToString().Utf8Value());
  return static_cast<int64_t>(d);
}

static std::string format_count(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::vector<int64_t> shape_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  entering(fn);
  if (!v.IsArray()) throw_type(env, std::string(fn) + ": " + name + " must be an array of integers, got " + seen(v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > 8) throw_range(env, std::string(fn) + ": " + name + " has " + std::to_string(a.Length()) + " dimensions; at most 8 are supported");
  std::vector<int64_t> shape;
  double total = 1;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber()) throw_type(env, std::string(fn) + ": " + name + "[" + std::to_string(i) + "] must be an integer, got " + seen(d));
    double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 0) || x != std::floor(x) || x > 2147483647.0)
      throw_range(env, std::string(fn) + ": " + name + "[" + std::to_string(i) + "] must be an integer in [0, 2^31), got " + d.ToString().Utf8Value());
    shape.push_back(static_cast<int64_t>(x));
    total *= x;
  }
  if (total >= 2147483648.0)
    throw_range(env, std::string(fn) + ": " + name + " " + shape_string(shape) + " has " + format_count(total) +
                         " elements; the size overflows the limit of 2^31 - 1 elements");
  return shape;
}

Device device_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  entering(fn);
  if (v.IsUndefined()) return Device::CPU;
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  throw_type(env, std::string(fn) + ": " + name + " must be 'cpu' or 'cuda', got " + seen(v));
}

DType dtype_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name) {
  entering(fn);
  if (v.IsUndefined()) return DType::F32;
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "f32") return DType::F32;
  if (s == "i32") return DType::I32;
  throw_type(env, std::string(fn) + ": " + name + " must be 'f32' or 'i32', got " + seen(v));
}

}  // namespace echogen
