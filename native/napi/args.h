// Argument checking for every native entry point: each failure is a JS TypeError or RangeError
// whose message names the function, the argument and what was seen.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "napi/tensor.h"

namespace echogen {

std::string shape_string(const std::vector<int64_t>& shape);
// What a JS value was, for "got ..." in messages: "undefined", "number 3", "string \"x\"", "an array", ...
std::string seen(Napi::Value v);

// The most elements a tensor may hold (the kernels index with 32-bit counts in places).
constexpr int64_t kMaxElements = 2147483647;

// The name of the op whose arguments this thread checked last ("echogen" before any): every entry
// point checks its arguments first, so code past them (NativeTensor::Empty) can name the op.
const char* current_op();

[[noreturn]] void throw_type(Napi::Env env, const std::string& msg);
[[noreturn]] void throw_range(Napi::Env env, const std::string& msg);

// The i-th argument as a live tensor ("fn: name must be a Tensor, got ...").
NativeTensor* tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name);
// Same, but undefined/null gives nullptr.
NativeTensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name);
// Whether v is a native tensor handle (live or disposed).
bool is_tensor_handle(Napi::Env env, Napi::Value v);
NativeTensor* tensor_value(Napi::Env env, Napi::Value v, const char* fn, const char* name);

void require_dtype(Napi::Env env, const NativeTensor* t, DType dtype, const char* fn, const char* name);
void require_rank(Napi::Env env, const NativeTensor* t, int rank, const char* fn, const char* name);
void require_same_device(Napi::Env env, const NativeTensor* a, const NativeTensor* b, const char* fn,
                         const char* name_a, const char* name_b);
// Requires t's shape to equal `expected` ("fn: name must have shape [..] (derived from ...), got [..]").
void require_shape(Napi::Env env, const NativeTensor* t, const std::vector<int64_t>& expected, const char* fn,
                   const char* name, const char* why = nullptr);

// Options object at argument i (undefined gives an empty object).
Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i, const char* fn);
// Typed option readers: absent or undefined gives `fallback`; a wrong type throws TypeError.
double number_option(Napi::Object opts, const char* key, double fallback, const char* fn);
bool bool_option(Napi::Object opts, const char* key, bool fallback, const char* fn);
std::string string_option(Napi::Object opts, const char* key, const std::string& fallback, const char* fn);
// An integer argument in [lo, hi].
int64_t integer_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi);
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name);

// Parses a JS shape array: integers >= 0, rank <= 8, element count < 2^31.
std::vector<int64_t> shape_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name);
Device device_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name);
DType dtype_arg(Napi::Env env, Napi::Value v, const char* fn, const char* name);

}  // namespace echogen
