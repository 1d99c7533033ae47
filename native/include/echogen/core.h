// Types shared by every op family: element types, devices and the CPU worker pool.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace echogen {

enum class DType : int32_t { F32 = 0, I32 = 1 };
enum class Device : int32_t { CPU = 0, CUDA = 1 };

inline size_t dtype_size(DType) { return 4; }
inline const char* dtype_name(DType t) { return t == DType::F32 ? "f32" : "i32"; }
inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// A fixed pool of worker threads; the calling thread works too. parallel_for splits [0, n)
// into chunks of at least `grain` items and returns when every chunk is done. A call made
// from inside a worker runs serially (no nested fan-out, no deadlock). An exception thrown by
// `fn` is rethrown on the caller.
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  int size() const;
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  struct Impl;
  Impl* impl_;
};

// Threads from ECHOGEN_THREADS if set (>= 1), else the hardware's count.
int default_thread_count();

}  // namespace echogen
