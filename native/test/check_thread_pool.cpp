// The worker pool covers every index exactly once, at any size and grain, and rethrows errors.
#include <atomic>
#include <stdexcept>

#include "echogen/core.h"
#include "test/check.h"

EG_CHECK(thread_pool) {
  echogen::ThreadPool pool(4);
  for (int64_t n : {0, 1, 7, 1000, 100003}) {
    for (int64_t grain : {1, 16, 5000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h = 0;
      pool.parallel_for(n, grain, [&](int64_t b, int64_t e) { for (int64_t i = b; i < e; ++i) ++hits[i]; });
      bool ok = true;
      for (auto& h : hits) ok = ok && h == 1;
      report.expect(ok, "thread_pool covers n=" + std::to_string(n) + " grain=" + std::to_string(grain) + " once");
    }
  }
  bool threw = false;
  try {
    pool.parallel_for(100, 1, [](int64_t b, int64_t e) { if (b <= 50 && 50 < e) throw std::runtime_error("x"); });
  } catch (const std::runtime_error&) { threw = true; }
  report.expect(threw, "thread_pool rethrows a worker's exception on the caller");
}
