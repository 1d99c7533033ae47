// This CPU's measured fp32 FMA throughput, the denominator of the benchmarks' "% of peak".
#pragma once
#include "echogen/core.h"

namespace echogen::cpu {

struct FmaPeak {
  // GFLOP/s over the wall-clock time of the run, all pool threads together: what the threads got,
  // which on a shared machine includes the time other processes held the cores.
  double wall_gflops = 0;
  // GFLOP/s per second of CPU time a thread was actually given (CLOCK_THREAD_CPUTIME_ID), summed over
  // the threads that ran: the peak of the machine's cores when nothing else runs on them.
  double cpu_gflops = 0;
  double wall_seconds = 0, cpu_seconds = 0;  // cpu_seconds: summed over the threads
  int threads = 0;                           // pool threads asked
  int threads_ran = 0;                       // distinct threads that ran FMA blocks
};

// Runs kChains (12) independent 8-wide FMA chains on every pool thread at once for about `seconds`
// (an FMA counts as 2 flops per lane).
FmaPeak fma_peak(ThreadPool& pool, double seconds);

// fma_peak(...).wall_gflops (the old single figure).
double fma_peak_gflops(ThreadPool& pool, double seconds);

}  // namespace echogen::cpu
