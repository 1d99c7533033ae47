// The CPU backend's worker pool: persistent threads; each parallel_for is a Job whose chunks are
// claimed through an atomic counter. The caller returns as soon as every chunk is done - it never
// waits for a worker that woke late (that worker finds no chunk left and goes back to sleep).
// A worker that finished a job spins on the generation counter for a short while (kWorkerSpin)
// before it sleeps: a training step issues its ops back to back, microseconds of JS apart, and a
// sleeping worker costs a futex wake-up (tens of microseconds, more in a VM) per op, which on a 128^3
// GEMM (~25 us on two cores) was most of the gap to OpenBLAS (bench/results).
#include "echogen/core.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EG_PAUSE() _mm_pause()
#else
#define EG_PAUSE() ((void)0)
#endif

namespace echogen {

namespace {
thread_local bool in_pool_work = false;

// PAUSE iterations a worker spins for the next job before it sleeps: 20,000 x ~21 ns (a PAUSE on this
// machine's Zen 3) is ~0.4 ms. 2,000 (~43 us) was too short for the gaps a training step leaves between ops
// (tape and module code): a worker that went to sleep missed the next product, woken tens to hundreds of
// microseconds late in this VM. Timed calls after a pause, as bench/suites/torch_kernels.js makes them (min /
// median of 180): 256^3 0.18 / 0.34-0.38 ms -> 0.17 / 0.18 ms; the small preset's step 361-382 -> 350-369 ms
// (docs/profile.md). OpenBLAS's idle threads spin ~0.1 s, libgomp's a similar order; a worker here gives its
// core back after 0.4 ms.
constexpr int kWorkerSpin = 20000;

struct Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, chunk = 1, chunks = 0;
  std::atomic<int64_t> next{0}, done{0};
  std::mutex error_mu;
  std::exception_ptr error;
};

// Runs chunks of `job` until none is left; true when this call finished the job's last chunk.
bool run_chunks(Job& job) {
  bool was = in_pool_work;
  in_pool_work = true;
  bool last = false;
  for (;;) {
    int64_t c = job.next.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.chunks) break;
    int64_t b = c * job.chunk, e = std::min(job.n, b + job.chunk);
    try {
      (*job.fn)(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> g(job.error_mu);
      if (!job.error) job.error = std::current_exception();
    }
    if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.chunks) last = true;
  }
  in_pool_work = was;
  return last;
}
}  // namespace

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable wake, finished;
  std::atomic<uint64_t> generation{0};  // written under mu; read without it by spinning workers
  bool stopping = false;
  std::shared_ptr<Job> job;
  std::mutex call_mu;  // one parallel_for at a time per pool

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> j;
      for (int i = 0; i < kWorkerSpin && generation.load(std::memory_order_acquire) == seen; ++i) EG_PAUSE();
      {
        std::unique_lock<std::mutex> lk(mu);
        wake.wait(lk, [&] { return stopping || generation != seen; });
        if (stopping) return;
        seen = generation.load(std::memory_order_relaxed);
        j = job;
      }
      if (j && run_chunks(*j)) {
        std::lock_guard<std::mutex> lk(mu);  // pairs with the caller's predicate check
        finished.notify_all();
      }
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
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  // ~4 chunks a thread balances uneven rows without much counter traffic.
  job->chunk = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
  job->chunks = (n + job->chunk - 1) / job->chunk;
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.job = job;
    s.generation.fetch_add(1, std::memory_order_release);
  }
  s.wake.notify_all();
  run_chunks(*job);
  // chunks still running on workers: spin briefly (they are usually short), then sleep
  for (int i = 0; i < 4000 && job->done.load(std::memory_order_acquire) < job->chunks; ++i) EG_PAUSE();
  if (job->done.load(std::memory_order_acquire) < job->chunks) {
    std::unique_lock<std::mutex> lk(s.mu);
    s.finished.wait(lk, [&] { return job->done.load(std::memory_order_acquire) >= job->chunks; });
  }
  {
    std::lock_guard<std::mutex> lk(s.mu);
    s.job.reset();
  }
  if (job->error) std::rethrow_exception(job->error);
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
