// A cache of freed storage blocks, by size class, for one device. Fresh host blocks of a few MB come
// from mmap and page-fault on first touch (~2 ms for 4 MB); cudaMalloc/cudaFree are slower still and
// cudaFree synchronises the device. Reusing blocks makes allocation O(1) in the steady state of a
// training loop. Blocks are reused only on the one stream every op runs on, so reuse is ordered.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
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

// Freed blocks by size class, with one age order across classes. A request takes a block of its
// class or of the smallest cached class up to 1.5x larger; when a freed block does not fit under
// the limit, the blocks freed longest ago are released to make room for it. (Releasing the newcomer
// instead, as this cache first did, let blocks of shapes a run no longer makes fill it for good: a
// training run whose sequence lengths drift then took every new size from mmap and page faults,
// 13% of its time in the kernel, docs/profile.md.)
class BlockCache {
 public:
  BlockCache(size_t limit_bytes, std::function<void(void*, size_t)> release) : limit_(limit_bytes), release_(std::move(release)) {}
  ~BlockCache() { clear(); }
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // The most recently freed block of the smallest cached class from `size_class` up to 1.5x it (a
  // padded batch a little shorter than the last one reuses its blocks), or nullptr; *got is that
  // block's class, which is what goes back to give().
  void* take(size_t size_class, size_t* got) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = free_.lower_bound(size_class);
    if (it == free_.end() || it->first > size_class + size_class / 2) return nullptr;
    const uint64_t age = it->second.back().first;
    void* p = it->second.back().second;
    *got = it->first;
    it->second.pop_back();
    cached_ -= it->first;
    if (it->second.empty()) free_.erase(it);
    by_age_.erase(age);
    return p;
  }
  // Keeps the block for reuse (releasing the oldest cached blocks while it does not fit), or
  // releases it when it alone is over the limit.
  void give(void* p, size_t size_class) {
    std::vector<std::pair<void*, size_t>> out;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (size_class <= limit_) {
        while (cached_ + size_class > limit_) {
          auto oldest = by_age_.begin();
          auto& blocks = free_[oldest->second];  // its oldest block is the front of its class
          out.emplace_back(blocks.front().second, oldest->second);
          blocks.pop_front();
          if (blocks.empty()) free_.erase(oldest->second);
          cached_ -= oldest->second;
          by_age_.erase(oldest);
        }
        const uint64_t age = next_age_++;
        free_[size_class].emplace_back(age, p);
        by_age_.emplace(age, size_class);
        cached_ += size_class;
        p = nullptr;
      }
    }
    for (auto& [q, c] : out) release_(q, c);
    if (p) release_(p, size_class);
  }
  // Releases every cached block (also the way out when an allocation fails for lack of memory).
  void clear() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& kv : free_)
      for (auto& b : kv.second) release_(b.second, kv.first);
    free_.clear();
    by_age_.clear();
    cached_ = 0;
  }
  size_t cached_bytes() {
    std::lock_guard<std::mutex> g(mu_);
    return cached_;
  }

 private:
  std::mutex mu_;
  size_t limit_, cached_ = 0;
  uint64_t next_age_ = 0;
  std::function<void(void*, size_t)> release_;
  std::map<size_t, std::deque<std::pair<uint64_t, void*>>> free_;  // per class, oldest first
  std::map<uint64_t, size_t> by_age_;                               // age -> class, oldest first
};

}  // namespace echogen
