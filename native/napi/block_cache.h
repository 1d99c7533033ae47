// A cache of freed storage blocks, by size class, for one device. Fresh host blocks of a few MB come
// from mmap and page-fault on first touch (~2 ms for 4 MB); cudaMalloc/cudaFree are slower still and
// cudaFree synchronises the device. Reusing blocks makes allocation O(1) in the steady state of a
// training loop. Blocks are reused only on the one stream every op runs on, so reuse is ordered.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace echogen {

// Rounds a request up to its size class: 64-byte steps up to 4 KiB, then four classes per power of
// two (at most 25% slack).
inline size_t block_size_class(size_t bytes) {
  if (bytes <= 4096) return bytes <= 64 ? 64 : (bytes + 63) / 64 * 64;
  size_t p = 4096;
  while (p * 2 < bytes) p *= 2;  // p < bytes <= 2p
  size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

class BlockCache {
 public:
  BlockCache(size_t limit_bytes, std::function<void(void*, size_t)> release) : limit_(limit_bytes), release_(std::move(release)) {}
  ~BlockCache() { clear(); }
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A cached block of exactly `size_class` bytes, or nullptr.
  void* take(size_t size_class) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = free_.find(size_class);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= size_class;
    return p;
  }
  // Keeps the block for reuse, or releases it when the cache is full.
  void give(void* p, size_t size_class) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (cached_ + size_class <= limit_) {
        free_[size_class].push_back(p);
        cached_ += size_class;
        return;
      }
    }
    release_(p, size_class);
  }
  // Releases every cached block (also the way out when an allocation fails for lack of memory).
  void clear() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& kv : free_)
      for (void* p : kv.second) release_(p, kv.first);
    free_.clear();
    cached_ = 0;
  }
  size_t cached_bytes() {
    std::lock_guard<std::mutex> g(mu_);
    return cached_;
  }

 private:
  std::mutex mu_;
  size_t limit_, cached_ = 0;
  std::function<void(void*, size_t)> release_;
  std::map<size_t, std::vector<void*>> free_;
};

}  // namespace echogen
