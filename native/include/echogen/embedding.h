// Row gather (embedding lookup) and its scatter-add backward. Ids must already be checked to lie in [0, v).
#pragma once
#include <cstdint>

#include "echogen/core.h"

namespace echogen {

namespace cpu {
// out[i, :] = table[ids[i], :] for i < n; table is [v, d].
void embedding(ThreadPool& pool, int64_t n, int64_t d, const float* table, const int32_t* ids, float* out);
// dtable[v, d] = sum over i with ids[i] == r of dout[i, :] (dtable overwritten; rows never used are 0).
void embedding_backward(ThreadPool& pool, int64_t n, int64_t v, int64_t d, const float* dout, const int32_t* ids,
                        float* dtable);
}  // namespace cpu

namespace cuda {
void embedding(void* stream, int64_t n, int64_t d, const float* table, const int32_t* ids, float* out);
void embedding_backward(void* stream, int64_t n, int64_t v, int64_t d, const float* dout, const int32_t* ids,
                        float* dtable);
}  // namespace cuda

}  // namespace echogen
