// Tensor storage across Node-API: native memory (aligned host or cudaMalloc), shared by
// reference count between a tensor and its reshaped views, freed by dispose() or the finaliser.
#pragma once
#include <napi.h>

#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "echogen/core.h"
#include "napi/addon.h"

namespace echogen {

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;      // what the tensor asked for
  size_t capacity = 0;   // the block's size class (what goes back to the cache)
  Device device = Device::CPU;
  std::shared_ptr<MemoryStats> stats;
  napi_env env = nullptr;  // to give host bytes back to V8's accounting
  ~Storage();
};

// Host blocks: large ones straight from mmap (so freeing them never fragments glibc's heap, which
// once grew a training run to 18 GB), small ones from aligned_alloc. host_free takes either back.
void* host_alloc_block(size_t size_class);
void host_free(void* p, size_t size_class);

// Allocates storage of `bytes` on `device`; throws a JS Error if the device is unusable.
std::shared_ptr<Storage> allocate_storage(Napi::Env env, size_t bytes, Device device);

class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeTensor(const Napi::CallbackInfo& info);
  ~NativeTensor();

  // A new JS tensor over `storage` (which must hold at least numel * 4 bytes).
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Storage> storage, std::vector<int64_t> shape, DType dtype);
  // A new uninitialised (CPU) / unspecified (CUDA) tensor; *out receives the native object.
  static Napi::Object Empty(Napi::Env env, const std::vector<int64_t>& shape, DType dtype, Device device, NativeTensor** out = nullptr);

  bool disposed() const { return !storage_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  int64_t dim(int i) const { return shape_[i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device; }
  void* data() const { return storage_->data; }
  float* f32() const { return static_cast<float*>(storage_->data); }
  int32_t* i32() const { return static_cast<int32_t*>(storage_->data); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  std::string describe() const;  // e.g. "f32[2,3] on cpu"
  void Discard() { Release(); }  // frees the storage now, as dispose() does

 private:
  std::shared_ptr<Storage> storage_;
  std::vector<int64_t> shape_;
  DType dtype_ = DType::F32;
  std::shared_ptr<MemoryStats> stats_;

  void Attach(std::shared_ptr<Storage> storage, std::vector<int64_t> shape, DType dtype);
  void Release();
  void RequireLive(Napi::Env env, const char* what) const;
  Napi::Value GetShape(const Napi::CallbackInfo& info);
  Napi::Value GetDType(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetSize(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);
  Napi::Value Clone(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
};

std::string shape_string(const std::vector<int64_t>& shape);

// Outputs of an op that fails after allocating them (an index or a box found bad while the kernel
// ran) are freed at once, so a failed call leaves eg.memory() as it was instead of waiting for GC.
class DiscardOutputsOnThrow {
 public:
  explicit DiscardOutputsOnThrow(std::initializer_list<NativeTensor*> outs) : outs_(outs), pending_(std::uncaught_exceptions()) {}
  ~DiscardOutputsOnThrow() {
    if (std::uncaught_exceptions() > pending_)
      for (NativeTensor* t : outs_) if (t) t->Discard();
  }

 private:
  std::vector<NativeTensor*> outs_;
  int pending_;
};

}  // namespace echogen
