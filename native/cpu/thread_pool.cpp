// The CPU backend's worker pool: persistent threads, dynamic chunking by an atomic counter.
#include "echogen/core.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace echogen {

namespace {
thread_local bool in_pool_work = false;
}

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, done;
  uint64_t generation = 0;
  bool stopping = false;
  // the job in flight
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, chunk = 1, chunks = 0;
  std::atomic<int64_t> next{0};
  int active = 0;
  std::exception_ptr error;
  std::mutex error_mu;
  std::mutex call_mu;  // one parallel_for at a time per pool

  void run_chunks() {
    in_pool_work = true;
    for (;;) {
      int64_t c = next.fetch_add(1);
      if (c >= chunks) break;
      int64_t b = c * chunk, e = std::min(n, b + chunk);
      try {
        (*fn)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> g(error_mu);
        if (!error) error = std::current_exception();
      }
    }
    in_pool_work = false;
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu);
        wake.wait(lk, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation;
      }
      run_chunks();
      std::lock_guard<std::mutex> lk(mu);
      if (--active == 0) done.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(new Impl) {
  int extra = std::max(1, threads) - 1;
  for (int i = 0; i < extra; ++i) impl_->workers.emplace_back([this] { impl_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->workers) t.join();
  delete impl_;
}

int ThreadPool::size() const { return static_cast<int>(impl_->workers.size()) + 1; }

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int threads = size();
  if (in_pool_work || threads == 1 || n <= grain) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call(impl_->call_mu);
  Impl& s = *impl_;
  // ~4 chunks a thread balances uneven rows without much counter traffic.
  int64_t chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.fn = &fn;
    s.n = n;
    s.chunk = chunk;
    s.chunks = (n + chunk - 1) / chunk;
    s.next.store(0);
    s.error = nullptr;
    s.active = static_cast<int>(s.workers.size());
    ++s.generation;
  }
  s.wake.notify_all();
  s.run_chunks();
  {
    std::unique_lock<std::mutex> lk(s.mu);
    s.done.wait(lk, [&] { return s.active == 0; });
    s.fn = nullptr;
  }
  if (s.error) std::rethrow_exception(s.error);
}

int default_thread_count() {
  if (const char* env = std::getenv("ECHOGEN_THREADS")) {
    int v = std::atoi(env);
    if (v >= 1) return std::min(v, 256);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

}  // namespace echogen
