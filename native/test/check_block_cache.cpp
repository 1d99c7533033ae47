// The host/device block cache (native/napi/block_cache.h): exact size classes, the most recently
// freed block first (of the smallest class up to 1.5x the request), and under the limit the blocks freed longest ago released to make room.
#include <vector>

#include "napi/block_cache.h"
#include "test/check.h"

EG_CHECK(block_cache) {
  using echogen::BlockCache;
  using echogen::block_size_class;
  report.expect(block_size_class(1) == 64 && block_size_class(65) == 128 && block_size_class(4096) == 4096, "size classes: 64-byte steps to 4 KiB");
  report.expect(block_size_class(4097) == 5120 && block_size_class(8192) == 8192 && block_size_class(8193) == 10240, "size classes: four per power of two above 4 KiB");

  std::vector<std::pair<void*, size_t>> released;
  char blocks[8];
  void *a = &blocks[0], *b = &blocks[1], *c = &blocks[2], *d = &blocks[3], *e = &blocks[4];
  {
    BlockCache cache(1000, [&](void* p, size_t c) { released.emplace_back(p, c); });
    cache.give(a, 400);
    cache.give(b, 300);
    cache.give(c, 300);
    report.expect(cache.cached_bytes() == 1000 && released.empty(), "three blocks fill the 1000-byte cache exactly");
    cache.give(d, 300);  // over by 300: a (the oldest, 400 bytes) goes
    report.expect(released.size() == 1 && released[0].first == a && released[0].second == 400, "the oldest block is released to make room");
    report.expect(cache.cached_bytes() == 900, "cached bytes after eviction");
    size_t got = 0;
    report.expect(cache.take(400, &got) == nullptr, "the evicted class is empty (and no larger class is cached)");
    report.expect(cache.take(190, &got) == nullptr, "a class more than 1.5x the request is not used");
    report.expect(cache.take(250, &got) == d && got == 300, "take gives the most recently freed block of the smallest class within 1.5x");
    cache.give(e, 2000);  // larger than the whole cache: released at once, nothing else evicted
    report.expect(released.size() == 2 && released[1].first == e && cache.cached_bytes() == 600, "a block over the limit is released, the rest kept");
    cache.give(a, 500);  // 600 + 500 > 1000: b (older than c) goes
    report.expect(released.size() == 3 && released[2].first == b, "eviction follows age across classes");
    report.expect(cache.take(300, &got) == c && got == 300 && cache.take(500, &got) == a && got == 500 && cache.cached_bytes() == 0, "the rest are still there");
    cache.give(b, 100);
  }
  report.expect(released.size() == 4 && released[3].first == b && released[3].second == 100, "the destructor releases what is left");
}
