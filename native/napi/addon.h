// Per-addon state (Napi::Addon instance data): the CPU pool, the CUDA stream, memory counters.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "echogen/core.h"
#include "napi/block_cache.h"

namespace echogen {

// Live tensor counts and bytes, plus the block caches that storage returns to. Shared (by
// shared_ptr) between the addon and every Storage, so a finaliser that runs after the addon's
// teardown still finds it.
struct MemoryStats {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> cpu_bytes{0};
  std::atomic<int64_t> cuda_bytes{0};
  std::unique_ptr<BlockCache> host_cache, cuda_cache;
};

class EchogenAddon : public Napi::Addon<EchogenAddon> {
 public:
  EchogenAddon(Napi::Env env, Napi::Object exports);
  ~EchogenAddon();

  ThreadPool pool;
  std::shared_ptr<MemoryStats> stats = std::make_shared<MemoryStats>();
  // The most bytes one tensor may take (ECHOGEN_MAX_TENSOR_MB; unset: no cap beyond 2^31 - 1
  // elements). A server or the fuzzer can refuse a legal but huge result instead of swapping.
  size_t max_tensor_bytes = SIZE_MAX;
  bool cuda_available = false;
  std::string cuda_error = "CUDA is not available: this build of echogen has no CUDA backend (nvcc was not found at build time)";
  Napi::FunctionReference tensor_constructor;
  Napi::ObjectReference tensor_prototype;  // what is_tensor_handle compares a value's prototype with
  Napi::Reference<Napi::Symbol> disposed_key;  // where a disposed handle keeps [dtype, ...shape]

  // The stream every GPU op enqueues on; created on first use. Throws when CUDA is unavailable.
  void* cuda_stream(Napi::Env env);

 private:
  void* stream_ = nullptr;
  Napi::Value Backends(const Napi::CallbackInfo& info);
  Napi::Value Memory(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value EmptyCache(const Napi::CallbackInfo& info);
};

inline EchogenAddon& addon_state(Napi::Env env) { return *env.GetInstanceData<EchogenAddon>(); }

// (instance data is not yet set while the addon is constructed, hence the explicit state)
void register_tensor_functions(Napi::Env env, Napi::Object exports, EchogenAddon& state);
// Every op table the ops_*.cc files register with EG_OPS (native/napi/dispatch.h).
void register_all_ops(Napi::Env env, Napi::Object exports);
void register_bench_ops(Napi::Env env, Napi::Object exports);

}  // namespace echogen
