// CUDA fused attention, f32, FlashAttention-2 style (a bf16 tensor-core path is a later issue).
//
// Forward (attention_fwd_kernel): one CTA of 4 warps per (64-query tile, b*h). The Q tile and one
// K/V tile at a time sit in shared memory; each warp owns 16 query rows, each lane 4 rows x BK/8
// keys of the score tile, so a row's max and sum are 3 xor-shuffles within a group of 8 lanes.
// The online-softmax state (m, l, the O accumulator) stays in registers; P goes through a small
// per-warp shared buffer to multiply V.
//
// Backward: (1) attention_bwd_delta: D_i = rowsum(dO * O), one warp per row; (2)
// attention_bwd_kernel: one CTA per (key tile, b*h) holds K, V and the dK/dV accumulators,
// walks the query tiles, recomputes P from lse, and adds its dQ share with atomics (dq is
// zeroed first), as FlashAttention-2 does.
//
// Head dims are padded to DP = 32, 64 or 128 (three instantiations per kernel); the inner
// products run to D rounded up to 4, not to DP, so D = 8 does not pay for 32.
#include <cstdint>

#include "common/online_softmax.h"
#include "cuda/support.cuh"
#include "echogen/attention.h"

namespace echogen::cuda {
namespace {

constexpr int kThreads = 128;

struct DevParams {
  int64_t H, Tq, Tk;
  int D;
  float scale, scale_log2;  // scale and scale * log2(e)
  bool causal;
  const int32_t* mask;
  bool mask_batched;
  AttentionLayout q, k, v, o;  // resolved (echogen/attention.h)
};

DevParams device_params(const AttentionParams& p) {
  return {p.H, p.Tq, p.Tk, static_cast<int>(p.D), p.scale, p.scale * kLog2e, p.causal, p.mask, p.mask_batched,
          resolve_layout(p.q_layout, p.H, p.Tq, p.D), resolve_layout(p.k_layout, p.H, p.Tk, p.D),
          resolve_layout(p.v_layout, p.H, p.Tk, p.D), resolve_layout(p.o_layout, p.H, p.Tq, p.D)};
}

// Where row 0 of (b, h) = bh of an operand in layout l starts; row t is t * l.row further.
__device__ __forceinline__ int64_t head_at(const AttentionLayout& l, int64_t H, int64_t bh) {
  return bh / H * l.batch + bh % H * l.head;
}

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }


// rows x DP tile of a matrix with rows of D floats lds apart into shared memory (row stride
// `stride`), zero outside [rows_valid, D); consecutive threads read consecutive floats of a row.
template <int DP>
__device__ __forceinline__ void load_tile(float* dst, int stride, const float* src, int64_t lds, int rows,
                                          int rows_valid, int D, float mul) {
  for (int idx = threadIdx.x; idx < rows * DP; idx += kThreads) {
    const int r = idx / DP, d = idx % DP;
    dst[r * stride + d] = (r < rows_valid && d < D) ? src[r * lds + d] * mul : 0.f;
  }
}

// The visibility of a rows x cols tile as bytes in shared memory (key range, causal and the
// mask together); returns whether this thread saw any visible pair.
__device__ __forceinline__ int load_visibility(unsigned char* dst, const DevParams& p, const int32_t* mask_b,
                                               int64_t q0, int64_t k0, int rows, int cols) {
  int any = 0;
  for (int idx = threadIdx.x; idx < rows * cols; idx += kThreads) {
    const int64_t qi = q0 + idx / cols, kj = k0 + idx % cols;
    const bool vis = qi < p.Tq && kj < p.Tk && (!p.causal || kj <= qi + p.Tk - p.Tq) && mask_b[qi * p.Tk + kj] != 0;
    dst[idx] = vis;
    any |= vis;
  }
  return any;
}

// ---------------------------------------------------------------- forward

template <int DP, int BK>
struct Fwd {
  static constexpr int BQ = 64, QS = DP + 1, PS = BK + 1, NJ = BK / 8, NC = DP / 8;
  static constexpr size_t floats = BQ * QS + BK * QS + BK * DP + BQ * PS;
  static constexpr size_t smem = floats * sizeof(float) + BQ * BK;
};

template <int DP, int BK>
__global__ void __launch_bounds__(kThreads) attention_fwd_kernel(DevParams p, const float* __restrict__ q,
                                                                  const float* __restrict__ k,
                                                                  const float* __restrict__ v, float* __restrict__ out,
                                                                  float* __restrict__ lse, int nqt) {
  using C = Fwd<DP, BK>;
  extern __shared__ float smem[];
  float* Qs = smem;
  float* Ks = Qs + C::BQ * C::QS;
  float* Vs = Ks + BK * C::QS;
  float* Ps = Vs + BK * DP;
  unsigned char* Ms = reinterpret_cast<unsigned char*>(Ps + C::BQ * C::PS);

  const int lane = threadIdx.x & 31, rg = lane >> 3, cg = lane & 7;
  const int row0 = (threadIdx.x >> 5) * 16 + rg * 4;  // this lane's rows: row0 .. row0 + 3
  const int64_t bh = blockIdx.x / nqt;
  const int64_t q0 = static_cast<int64_t>(nqt - 1 - blockIdx.x % nqt) * C::BQ;  // long causal rows first
  const int64_t offset = p.Tk - p.Tq;
  const int D = p.D, Dr = (D + 3) & ~3;
  const int32_t* mask_b = p.mask ? p.mask + (p.mask_batched ? (bh / p.H) * p.Tq * p.Tk : 0) : nullptr;
  const float* kh = k + head_at(p.k, p.H, bh);
  const float* vh = v + head_at(p.v, p.H, bh);

  load_tile<DP>(Qs, C::QS, q + head_at(p.q, p.H, bh) + q0 * p.q.row, p.q.row, C::BQ,
                static_cast<int>(min64(C::BQ, p.Tq - q0)), D, p.scale_log2);
  float m[4], l[4], o[4][C::NC];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m[i] = -INFINITY, l[i] = 0.f;
#pragma unroll
    for (int c = 0; c < C::NC; ++c) o[i][c] = 0.f;
  }
  // causal: keys past the last row's diagonal are never visited
  const int64_t q_last = min64(q0 + C::BQ, p.Tq) - 1;
  const int64_t k_end = p.causal ? min64(p.Tk, q_last + offset + 1) : p.Tk;

  for (int64_t k0 = 0; k0 < k_end; k0 += BK) {
    __syncthreads();  // the previous tile's readers are done with Ks, Vs, Ms
    if (mask_b && !__syncthreads_or(load_visibility(Ms, p, mask_b, q0, k0, C::BQ, BK))) continue;  // all masked
    const int kn = static_cast<int>(min64(BK, p.Tk - k0));
    load_tile<DP>(Ks, C::QS, kh + k0 * p.k.row, p.k.row, BK, kn, D, 1.f);
    load_tile<DP>(Vs, DP, vh + k0 * p.v.row, p.v.row, BK, kn, D, 1.f);
    __syncthreads();

    float s[4][C::NJ];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < C::NJ; ++j) s[i][j] = 0.f;
#pragma unroll 4
    for (int d = 0; d < Dr; ++d) {
      float qv[4], kv[C::NJ];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = Qs[(row0 + i) * C::QS + d];
#pragma unroll
      for (int j = 0; j < C::NJ; ++j) kv[j] = Ks[(cg + 8 * j) * C::QS + d];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < C::NJ; ++j) s[i][j] = fmaf(qv[i], kv[j], s[i][j]);
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int64_t qi = q0 + row0 + i;
      float mx = -INFINITY;
#pragma unroll
      for (int j = 0; j < C::NJ; ++j) {
        const int jj = cg + 8 * j;
        const bool vis = mask_b ? Ms[(row0 + i) * BK + jj] != 0
                                : (jj < kn && (!p.causal || k0 + jj <= qi + offset));
        s[i][j] = vis ? s[i][j] : -INFINITY;
        mx = fmaxf(mx, s[i][j]);
      }
      const float alpha = online_softmax_rescale(m[i], warp_max<8>(mx));
      const float pivot = online_softmax_pivot(m[i]);
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < C::NJ; ++j) {
        const float pr = exp2f(s[i][j] - pivot);
        Ps[(row0 + i) * C::PS + cg + 8 * j] = pr;
        sum += pr;
      }
      l[i] = l[i] * alpha + sum;  // this lane's part of the row sum; the 8 parts are added at the end
#pragma unroll
      for (int c = 0; c < C::NC; ++c) o[i][c] *= alpha;
    }
    __syncwarp();  // P rows are written and read by the same warp only

    for (int j = 0; j < kn; ++j) {
      float pv[4], vv[C::NC];
#pragma unroll
      for (int i = 0; i < 4; ++i) pv[i] = Ps[(row0 + i) * C::PS + j];
#pragma unroll
      for (int c = 0; c < C::NC; ++c) vv[c] = Vs[j * DP + cg + 8 * c];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int c = 0; c < C::NC; ++c) o[i][c] = fmaf(pv[i], vv[c], o[i][c]);
    }
  }

  float* oh = out + head_at(p.o, p.H, bh);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t qi = q0 + row0 + i;
    const float lsum = warp_sum<8>(l[i]);
    if (qi >= p.Tq) continue;
    const float inv = online_softmax_inv_sum(m[i], lsum);
#pragma unroll
    for (int c = 0; c < C::NC; ++c) {
      const int col = cg + 8 * c;
      if (col < D) oh[qi * p.o.row + col] = o[i][c] * inv;
    }
    if (cg == 0) lse[bh * p.Tq + qi] = online_softmax_lse(m[i], lsum);
  }
}

template <int DP, int BK>
void launch_forward(cudaStream_t stream, const AttentionParams& ap, const float* q, const float* k, const float* v,
                    float* out, float* lse) {
  using C = Fwd<DP, BK>;
  const int64_t nqt = (ap.Tq + C::BQ - 1) / C::BQ;
  auto kernel = attention_fwd_kernel<DP, BK>;
  EG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(C::smem)));
  kernel<<<static_cast<unsigned>(ap.B * ap.H * nqt), kThreads, C::smem, stream>>>(device_params(ap), q, k, v, out,
                                                                                   lse, static_cast<int>(nqt));
  check_launch("attention_fwd_kernel");
}

// ---------------------------------------------------------------- backward

// delta[bh * Tq + t] = rowsum(dO * O) of that row; one warp a row. Also zeroes that row of dq,
// which the main kernel adds its shares to.
__global__ void attention_bwd_delta(DevParams p, const float* __restrict__ out, const float* __restrict__ dout,
                                    float* __restrict__ delta, float* __restrict__ dq, int64_t rows) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const int lane = threadIdx.x & 31;
  const int64_t bh = row / p.Tq, t = row % p.Tq, at = head_at(p.o, p.H, bh) + t * p.o.row;
  float* dq_row = dq + head_at(p.q, p.H, bh) + t * p.q.row;
  float s = 0.f;
  for (int c = lane; c < p.D; c += 32) {
    s = fmaf(out[at + c], dout[at + c], s);
    dq_row[c] = 0.f;
  }
  s = warp_sum(s);
  if (lane == 0) delta[row] = s;
}

template <int DP, int BK>
struct Bwd {
  static constexpr int BQ = 32, QS = DP + 1, PS = BK + 1;
  // S and dP: each thread 4 keys (stride NCG) x RS rows (stride NRG)
  static constexpr int NCG = BK / 4, NRG = kThreads / NCG, RS = BQ / NRG;
  // dK, dV, dQ: each thread CC columns (stride NCX) x 4 keys / IR rows (stride NY)
  static constexpr int CC = DP >= 64 ? 8 : 4, NCX = DP / CC, NY = kThreads / NCX, JR = BK / NY, IR = BQ / NY;
  static constexpr size_t floats = 2 * BK * QS + 2 * BQ * QS + 2 * BQ * PS + 2 * BQ;
  static constexpr size_t smem = floats * sizeof(float) + BQ * BK;
  static_assert(RS >= 1 && JR >= 1 && IR >= 1, "tile shape");
};

template <int DP, int BK>
__global__ void __launch_bounds__(kThreads) attention_bwd_kernel(DevParams p, const float* __restrict__ q,
                                                                  const float* __restrict__ k,
                                                                  const float* __restrict__ v,
                                                                  const float* __restrict__ lse,
                                                                  const float* __restrict__ dout,
                                                                  const float* __restrict__ delta,
                                                                  float* __restrict__ dq, float* __restrict__ dk,
                                                                  float* __restrict__ dv, int nkt) {
  using C = Bwd<DP, BK>;
  extern __shared__ float smem[];
  float* Ks = smem;
  float* Vs = Ks + BK * C::QS;
  float* Qs = Vs + BK * C::QS;
  float* dOs = Qs + C::BQ * C::QS;
  float* Ps = dOs + C::BQ * C::QS;
  float* dSs = Ps + C::BQ * C::PS;
  float* piv = dSs + C::BQ * C::PS;
  float* del = piv + C::BQ;
  unsigned char* Ms = reinterpret_cast<unsigned char*>(del + C::BQ);

  const int tid = threadIdx.x;
  const int tx = tid % C::NCG, ty = tid / C::NCG;  // S/dP mapping
  const int cx = tid % C::NCX, cy = tid / C::NCX;  // dK/dV/dQ mapping
  const int64_t bh = blockIdx.x / nkt;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x % nkt) * BK;
  const int64_t offset = p.Tk - p.Tq;
  const int D = p.D, Dr = (D + 3) & ~3;
  const int kn = static_cast<int>(min64(BK, p.Tk - k0));
  const int32_t* mask_b = p.mask ? p.mask + (p.mask_batched ? (bh / p.H) * p.Tq * p.Tk : 0) : nullptr;

  const float* qh = q + head_at(p.q, p.H, bh);
  const float* doh = dout + head_at(p.o, p.H, bh);
  float* dqh = dq + head_at(p.q, p.H, bh);
  load_tile<DP>(Ks, C::QS, k + head_at(p.k, p.H, bh) + k0 * p.k.row, p.k.row, BK, kn, D, 1.f);
  load_tile<DP>(Vs, C::QS, v + head_at(p.v, p.H, bh) + k0 * p.v.row, p.v.row, BK, kn, D, 1.f);
  float dka[C::JR][C::CC], dva[C::JR][C::CC];
#pragma unroll
  for (int j = 0; j < C::JR; ++j)
#pragma unroll
    for (int c = 0; c < C::CC; ++c) dka[j][c] = 0.f, dva[j][c] = 0.f;

  // causal: query tiles that end before this key tile's diagonal see none of it
  const int64_t q_first = p.causal ? max64(0, k0 - offset) / C::BQ * C::BQ : 0;
  for (int64_t q0 = q_first; q0 < p.Tq; q0 += C::BQ) {
    __syncthreads();  // the previous query tile's readers are done
    if (mask_b && !__syncthreads_or(load_visibility(Ms, p, mask_b, q0, k0, C::BQ, BK))) continue;
    const int qn = static_cast<int>(min64(C::BQ, p.Tq - q0));
    load_tile<DP>(Qs, C::QS, qh + q0 * p.q.row, p.q.row, C::BQ, qn, D, 1.f);
    load_tile<DP>(dOs, C::QS, doh + q0 * p.o.row, p.o.row, C::BQ, qn, D, 1.f);
    for (int r = tid; r < C::BQ; r += kThreads) {
      piv[r] = r < qn ? lse_to_pivot(lse[bh * p.Tq + q0 + r]) : INFINITY;  // padded rows: P = 0
      del[r] = r < qn ? delta[bh * p.Tq + q0 + r] : 0.f;
    }
    __syncthreads();

    // S = Q K^T and dP = dO V^T for this thread's RS x 4 entries; then P and dS = P (dP - D_i)
    float s[C::RS][4], dp[C::RS][4];
#pragma unroll
    for (int i = 0; i < C::RS; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) s[i][j] = 0.f, dp[i][j] = 0.f;
#pragma unroll 2
    for (int d = 0; d < Dr; ++d) {
      float qv[C::RS], ov[C::RS], kv[4], vv[4];
#pragma unroll
      for (int i = 0; i < C::RS; ++i) qv[i] = Qs[(ty + C::NRG * i) * C::QS + d], ov[i] = dOs[(ty + C::NRG * i) * C::QS + d];
#pragma unroll
      for (int j = 0; j < 4; ++j) kv[j] = Ks[(tx + C::NCG * j) * C::QS + d], vv[j] = Vs[(tx + C::NCG * j) * C::QS + d];
#pragma unroll
      for (int i = 0; i < C::RS; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) s[i][j] = fmaf(qv[i], kv[j], s[i][j]), dp[i][j] = fmaf(ov[i], vv[j], dp[i][j]);
    }
#pragma unroll
    for (int i = 0; i < C::RS; ++i) {
      const int r = ty + C::NRG * i;
      const int64_t qi = q0 + r;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int jj = tx + C::NCG * j;
        const bool vis = mask_b ? Ms[r * BK + jj] != 0 : (jj < kn && (!p.causal || k0 + jj <= qi + offset));
        const float pr = vis ? exp2f(s[i][j] * p.scale_log2 - piv[r]) : 0.f;
        Ps[r * C::PS + jj] = pr;
        dSs[r * C::PS + jj] = pr * (dp[i][j] - del[r]);
      }
    }
    __syncthreads();

    // dV += P^T dO, dK += dS^T Q (scale applied at the end)
    for (int i = 0; i < qn; ++i) {
      float ov[C::CC], qv[C::CC];
#pragma unroll
      for (int c = 0; c < C::CC; ++c) ov[c] = dOs[i * C::QS + cx + C::NCX * c], qv[c] = Qs[i * C::QS + cx + C::NCX * c];
#pragma unroll
      for (int j = 0; j < C::JR; ++j) {
        const float pr = Ps[i * C::PS + cy + C::NY * j], ds = dSs[i * C::PS + cy + C::NY * j];
#pragma unroll
        for (int c = 0; c < C::CC; ++c) dva[j][c] = fmaf(pr, ov[c], dva[j][c]), dka[j][c] = fmaf(ds, qv[c], dka[j][c]);
      }
    }
    // dQ += scale * dS K, this tile's share added atomically
    float dqa[C::IR][C::CC];
#pragma unroll
    for (int i = 0; i < C::IR; ++i)
#pragma unroll
      for (int c = 0; c < C::CC; ++c) dqa[i][c] = 0.f;
    for (int j = 0; j < kn; ++j) {
      float kv[C::CC];
#pragma unroll
      for (int c = 0; c < C::CC; ++c) kv[c] = Ks[j * C::QS + cx + C::NCX * c];
#pragma unroll
      for (int i = 0; i < C::IR; ++i) {
        const float ds = dSs[(cy + C::NY * i) * C::PS + j];
#pragma unroll
        for (int c = 0; c < C::CC; ++c) dqa[i][c] = fmaf(ds, kv[c], dqa[i][c]);
      }
    }
#pragma unroll
    for (int i = 0; i < C::IR; ++i) {
      const int r = cy + C::NY * i;
      if (r >= qn) continue;
#pragma unroll
      for (int c = 0; c < C::CC; ++c) {
        const int col = cx + C::NCX * c;
        if (col < D) atomicAdd(dqh + (q0 + r) * p.q.row + col, dqa[i][c] * p.scale);
      }
    }
  }

#pragma unroll
  for (int j = 0; j < C::JR; ++j) {
    const int key = cy + C::NY * j;
    if (key >= kn) continue;
#pragma unroll
    for (int c = 0; c < C::CC; ++c) {
      const int col = cx + C::NCX * c;
      if (col >= D) continue;
      dk[head_at(p.k, p.H, bh) + (k0 + key) * p.k.row + col] = dka[j][c] * p.scale;
      dv[head_at(p.v, p.H, bh) + (k0 + key) * p.v.row + col] = dva[j][c];
    }
  }
}

template <int DP, int BK>
void launch_backward(cudaStream_t stream, const AttentionParams& ap, const float* q, const float* k, const float* v,
                     const float* lse, const float* dout, const float* delta, float* dq, float* dk, float* dv) {
  using C = Bwd<DP, BK>;
  const int64_t nkt = (ap.Tk + BK - 1) / BK;
  if (ap.B * ap.H * nkt == 0) return;
  auto kernel = attention_bwd_kernel<DP, BK>;
  EG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(C::smem)));
  kernel<<<static_cast<unsigned>(ap.B * ap.H * nkt), kThreads, C::smem, stream>>>(
      device_params(ap), q, k, v, lse, dout, delta, dq, dk, dv, static_cast<int>(nkt));
  check_launch("attention_bwd_kernel");
}

}  // namespace

void attention_forward(void* stream, const AttentionParams& p, const float* q, const float* k, const float* v,
                       float* out, float* lse) {
  if (p.B * p.H * p.Tq == 0) return;
  cudaStream_t s = as_stream(stream);
  if (p.D <= 32) launch_forward<32, 64>(s, p, q, k, v, out, lse);
  else if (p.D <= 64) launch_forward<64, 64>(s, p, q, k, v, out, lse);
  else launch_forward<128, 32>(s, p, q, k, v, out, lse);
}

void attention_backward(void* stream, const AttentionParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const int64_t rows = p.B * p.H * p.Tq;
  cudaStream_t s = as_stream(stream);
  float* delta = nullptr;
  if (rows > 0) {  // delta, and dq zeroed (dq's rows may lie apart: no one memset)
    EG_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&delta), static_cast<size_t>(rows) * sizeof(float), s));
    attention_bwd_delta<<<ceil_div(rows, kThreads / 32), kThreads, 0, s>>>(device_params(p), out, dout, delta, dq, rows);
    check_launch("attention_bwd_delta");
  }
  if (p.B * p.H * p.Tk == 0) {
    if (delta) EG_CUDA_CHECK(cudaFreeAsync(delta, s));
    return;
  }
  if (p.D <= 32) launch_backward<32, 64>(s, p, q, k, v, lse, dout, delta, dq, dk, dv);
  else if (p.D <= 64) launch_backward<64, 64>(s, p, q, k, v, lse, dout, delta, dq, dk, dv);
  else launch_backward<128, 32>(s, p, q, k, v, lse, dout, delta, dq, dk, dv);
  if (delta) EG_CUDA_CHECK(cudaFreeAsync(delta, s));
}

}  // namespace echogen::cuda
