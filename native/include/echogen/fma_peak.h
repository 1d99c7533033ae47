// This CPU's measured fp32 FMA throughput, the denominator of the benchmarks' "% of peak".
#pragma once
#include "echogen/core.h"

namespace echogen::cpu {

// Runs independent 8-wide FMA chains on every pool thread for about `seconds` and returns the
// GFLOP/s reached (an FMA counts as 2 flops per lane).
double fma_peak_gflops(ThreadPool& pool, double seconds);

}  // namespace echogen::cpu
