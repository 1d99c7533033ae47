// Module entry: builds the per-addon state and registers every op family.
#include "napi/addon.h"

#include "napi/tensor.h"

#include <cstdlib>
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen {

namespace {
// The CPU kernels are compiled for AVX2+FMA; refuse to load (with a reason) on a CPU without them
// rather than die later on an illegal instruction.
void check_cpu_features(Napi::Env env) {
#if defined(ECHOGEN_AVX2) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    throw Napi::Error::New(env, "echogen: this CPU lacks AVX2/FMA, which this build requires; rebuild with "
                                "`npx cmake-js compile --CDECHOGEN_AVX2=OFF`");
#else
  (void)env;
#endif
}
}  // namespace

// Freed blocks kept for reuse, per device (ECHOGEN_CACHE_MB overrides; 0 disables caching).
size_t cache_limit_bytes(size_t fallback_mb) {
  const char* env = std::getenv("ECHOGEN_CACHE_MB");
  size_t mb = env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : fallback_mb;
  return mb << 20;
}

EchogenAddon::EchogenAddon(Napi::Env env, Napi::Object exports) : pool(default_thread_count()) {
  check_cpu_features(env);
  stats->host_cache = std::make_unique<BlockCache>(cache_limit_bytes(1024), host_free);
  if (const char* cap = std::getenv("ECHOGEN_MAX_TENSOR_MB")) max_tensor_bytes = static_cast<size_t>(std::strtoull(cap, nullptr, 10)) << 20;
#ifdef ECHOGEN_WITH_CUDA
  stats->cuda_cache = std::make_unique<BlockCache>(cache_limit_bytes(4096), [](void* p, size_t) { cuda::free_device(p); });
#else
  stats->cuda_cache = std::make_unique<BlockCache>(0, [](void*, size_t) {});
#endif
#ifdef ECHOGEN_WITH_CUDA
  std::string why;
  cuda_available = cuda::probe(&why);
  if (!cuda_available) cuda_error = why;
#endif
  DefineAddon(exports, {
    InstanceMethod("backends", &EchogenAddon::Backends),
    InstanceMethod("memory", &EchogenAddon::Memory),
    InstanceMethod("info", &EchogenAddon::Info),
    InstanceMethod("synchronize", &EchogenAddon::Synchronize),
    InstanceMethod("emptyCache", &EchogenAddon::EmptyCache),
  });
  register_tensor_functions(env, exports, *this);
  register_all_ops(env, exports);  // every op table (EG_OPS in native/napi/ops_*.cc)
  register_bench_ops(env, exports);
}

EchogenAddon::~EchogenAddon() {
#ifdef ECHOGEN_WITH_CUDA
  if (stream_) cuda::destroy_stream(stream_);
#endif
}

void* EchogenAddon::cuda_stream(Napi::Env env) {
  if (!cuda_available) throw Napi::Error::New(env, cuda_error);
#ifdef ECHOGEN_WITH_CUDA
  if (!stream_) stream_ = cuda::create_stream();
#endif
  return stream_;
}

Napi::Value EchogenAddon::Backends(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  out.Set(0u, "cpu");
  if (cuda_available) out.Set(1u, "cuda");
  return out;
}

Napi::Value EchogenAddon::Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env), bytes = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(stats->tensors.load())));
  bytes.Set("cpu", Napi::Number::New(env, static_cast<double>(stats->cpu_bytes.load())));
  bytes.Set("cuda", Napi::Number::New(env, static_cast<double>(stats->cuda_bytes.load())));
  out.Set("bytes", bytes);
  Napi::Object cached = Napi::Object::New(env);
  cached.Set("cpu", Napi::Number::New(env, static_cast<double>(stats->host_cache->cached_bytes())));
  cached.Set("cuda", Napi::Number::New(env, static_cast<double>(stats->cuda_cache->cached_bytes())));
  out.Set("cached", cached);
  return out;
}

Napi::Value EchogenAddon::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("threads", Napi::Number::New(env, pool.size()));
#ifdef ECHOGEN_WITH_CUDA
  out.Set("cudaCompiled", Napi::Boolean::New(env, true));
  if (cuda_available) out.Set("cudaDevice", Napi::String::New(env, cuda::device_name()));
#else
  out.Set("cudaCompiled", Napi::Boolean::New(env, false));
#endif
  out.Set("cudaAvailable", Napi::Boolean::New(env, cuda_available));
  if (!cuda_available) out.Set("cudaError", Napi::String::New(env, cuda_error));
#ifdef ECHOGEN_AVX2
  out.Set("avx2", Napi::Boolean::New(env, true));
#else
  out.Set("avx2", Napi::Boolean::New(env, false));
#endif
  return out;
}

Napi::Value EchogenAddon::EmptyCache(const Napi::CallbackInfo& info) {
  stats->host_cache->clear();
  stats->cuda_cache->clear();
  return info.Env().Undefined();
}

Napi::Value EchogenAddon::Synchronize(const Napi::CallbackInfo& info) {
#ifdef ECHOGEN_WITH_CUDA
  if (stream_) cuda::synchronize(stream_);
#endif
  return info.Env().Undefined();
}

}  // namespace echogen

using echogen::EchogenAddon;
NODE_API_ADDON(EchogenAddon)
