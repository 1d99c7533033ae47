// CPU fused attention, FlashAttention-2 style: per (b, h, query block) the keys are visited in
// blocks, scores of one block live in a small buffer (never the whole Tq x Tk matrix), and the
// softmax is carried along online. The backward recomputes the probabilities from lse.
//
// Every matrix product is one register-blocked kernel, C[4 x 16] += A[4 x K] * B[K x 16], with
// B rows contiguous so the inner loop is one broadcast of A and two FMAs per vector of B. To fit
// that shape the kernels pack K transposed (D x keys), V and K row-major (keys x Dp) and Q
// pre-multiplied by scale*log2(e) into thread-local buffers, zero-padded to multiples of 8.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/online_softmax.h"
#include "cpu/attention_blocks.h"
#include "echogen/attention.h"

namespace echogen::cpu {
namespace {

using namespace attention_blocks;

// A mask over one call's grid of query blocks (bq rows) and key blocks (bk <= 64 keys), built once a call for every
// batch of the mask: each tile's class (its causally allowed entries all hidden, all visible, or both) and each row's
// entries in a key block as the bits of one word. The per-head tasks then neither scan the mask to find a tile empty
// nor read it inside a full one, and a mixed tile reads one word a row instead of 64 ints: with a training step's
// segment mask the element-by-element scans and reads were about a quarter of the forward (docs/attention.md).
enum TileClass : uint8_t { kTileHidden = 0, kTileVisible = 1, kTileMixed = 2 };

// Bit j set iff row[j] != 0, j < n <= 64.
inline uint64_t nonzero_bits(const int32_t* row, int64_t n) {
  uint64_t w = 0;
  int64_t j = 0;
#ifdef ECHOGEN_AVX2
  for (; j + 8 <= n; j += 8) {
    const __m256i zero = _mm256_cmpeq_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)), _mm256_setzero_si256());
    w |= static_cast<uint64_t>(~_mm256_movemask_ps(_mm256_castsi256_ps(zero)) & 0xFF) << j;
  }
#endif
  for (; j < n; ++j) w |= static_cast<uint64_t>(row[j] != 0) << j;
  return w;
}

struct MaskTiles {
  std::vector<uint8_t> cls;    // [mask batch][query block][key block]
  std::vector<uint64_t> bits;  // [mask batch][query row][key block]; rows' blocks past their causal end: 0
  int64_t bq = 1, bk = 1, nqb = 0, nkb = 0;

  MaskTiles(ThreadPool& pool, const AttentionParams& p, int64_t bq_, int64_t bk_) : bq(bq_), bk(bk_) {
    if (!p.mask) return;
    nqb = (p.Tq + bq - 1) / bq;
    nkb = (p.Tk + bk - 1) / bk;
    const int64_t batches = p.mask_batched ? p.B : 1, offset = p.Tk - p.Tq;
    cls.assign(static_cast<size_t>(batches * nqb * nkb), kTileHidden);
    bits.assign(static_cast<size_t>(batches * p.Tq * nkb), 0);
    pool.parallel_for(batches * nqb, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t b = t / nqb, q0 = (t % nqb) * bq, q1 = std::min(p.Tq, q0 + bq);
        const int32_t* m = p.mask + b * p.Tq * p.Tk;
        for (int64_t kb = 0; kb < nkb; ++kb) {
          const int64_t k0 = kb * bk, k1 = std::min(p.Tk, k0 + bk);
          int64_t allowed = 0, seen = 0;
          for (int64_t i = q0; i < q1; ++i) {
            const int64_t e = p.causal ? std::min(k1, i + offset + 1) : k1;
            if (e <= k0) continue;
            const uint64_t w = nonzero_bits(m + i * p.Tk + k0, k1 - k0);
            bits[static_cast<size_t>((b * p.Tq + i) * nkb + kb)] = w;
            allowed += e - k0;
            seen += __builtin_popcountll(e - k0 == 64 ? w : w & ((uint64_t{1} << (e - k0)) - 1));
          }
          cls[static_cast<size_t>(t * nkb + kb)] = seen == 0 ? kTileHidden : seen == allowed ? kTileVisible : kTileMixed;
        }
      }
    });
  }
};

// Which keys of a block a query block may see: causal limits and the i32 mask (through its tiles and bits).
struct Visibility {
  const AttentionParams& p;
  const uint8_t* tiles;  // this batch's tile classes, or nullptr
  const uint64_t* bits;  // this batch's row words, or nullptr
  const MaskTiles& grid;
  int64_t offset;        // Tk - Tq: query i sees key j iff j <= i + offset

  Visibility(const AttentionParams& params, const MaskTiles& t, int64_t b)
      : p(params), tiles(params.mask ? t.cls.data() + (params.mask_batched ? b : 0) * t.nqb * t.nkb : nullptr),
        bits(params.mask ? t.bits.data() + (params.mask_batched ? b : 0) * params.Tq * t.nkb : nullptr), grid(t),
        offset(params.Tk - params.Tq) {}

  // The class of the tile of query block q0 and key block k0 (both on the grid); without a mask, visible.
  TileClass tile(int64_t q0, int64_t k0) const {
    return tiles ? static_cast<TileClass>(tiles[(q0 / grid.bq) * grid.nkb + k0 / grid.bk]) : kTileVisible;
  }
  // False when no query of [q0, q1) sees any key of [k0, k1): the tile is skipped.
  bool any(int64_t q0, int64_t q1, int64_t k0) const {
    if (p.causal && k0 > q1 - 1 + offset) return false;
    return tile(q0, k0) != kTileHidden;
  }
  // Sets s[j] = -inf for every key k0 + j (j < cols_p, a multiple of 8) that query i may not see; the mask's bits
  // are read only in a mixed tile.
  void hide(float* s, int64_t i, int64_t k0, int64_t k1, int64_t cols_p, bool mixed) const {
    int64_t end = k1 - k0;
    if (p.causal) end = std::max<int64_t>(0, std::min(end, i + offset + 1 - k0));
    if (mixed) {
      const uint64_t w = bits[i * grid.nkb + k0 / grid.bk];
      int64_t j = 0;
#ifdef ECHOGEN_AVX2
      // 8 keys a step: lane l keeps its score iff bit l of the byte is set (past `end`, hidden below anyway)
      const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
      const __m256 hidden = _mm256_set1_ps(-INFINITY);
      for (; j < end; j += 8) {
        const __m256i byte = _mm256_set1_epi32(static_cast<int>((w >> j) & 0xFF));
        const __m256 keep = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(byte, lane_bit), lane_bit));
        _mm256_storeu_ps(s + j, _mm256_blendv_ps(hidden, _mm256_loadu_ps(s + j), keep));
      }
#endif
      for (; j < end; ++j) s[j] = (w >> j) & 1 ? s[j] : -INFINITY;
    }
    for (int64_t j = end; j < cols_p; ++j) s[j] = -INFINITY;
  }
};

// The operands' layouts resolved (echogen/attention.h) and where a (b, h)'s rows start in each.
struct Layouts {
  AttentionLayout q, k, v, o;
  int64_t H;
  explicit Layouts(const AttentionParams& p)
      : q(resolve_layout(p.q_layout, p.H, p.Tq, p.D)), k(resolve_layout(p.k_layout, p.H, p.Tk, p.D)),
        v(resolve_layout(p.v_layout, p.H, p.Tk, p.D)), o(resolve_layout(p.o_layout, p.H, p.Tq, p.D)), H(p.H) {}
  int64_t head(const AttentionLayout& l, int64_t bh) const { return bh / H * l.batch + bh % H * l.head; }
};

// Grows (never shrinks) a thread's scratch buffer.
float* scratch(std::vector<float>& buf, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

constexpr int64_t kMaxQueryBlock = 64, kMaxKeyBlock = 64;

// ---- forward: K^T and V packed once per (b, h), then one task per (b, h, query block) ----

// Per key block: K^T [D x bk] then V [bk x Dp].
inline int64_t packed_block_floats(int64_t bk, int64_t D, int64_t Dp) { return bk * (D + Dp); }

void pack_keys(const AttentionParams& p, const Layouts& L, int64_t bh, int64_t k0, int64_t bk, const float* k,
               const float* v, float* dst) {
  const int64_t D = p.D, Dp = round_up(D, kW), kn = std::min(bk, p.Tk - k0);
  pack_transposed(dst, k + L.head(L.k, bh) + k0 * L.k.row, L.k.row, kn, bk, D);
  pack_rows(dst + D * bk, v + L.head(L.v, bh) + k0 * L.v.row, L.v.row, kn, bk, D, Dp, 1.f);
}

void forward_block(const AttentionParams& p, const Layouts& L, int64_t bh, int64_t q0, int64_t bq, int64_t bqp,
                   int64_t bk, const float* q, const float* packed, const MaskTiles& tiles, float* out, float* lse) {
  const int64_t D = p.D, Dp = round_up(D, kW), Tk = p.Tk;
  thread_local std::vector<float> buf;
  float* qs = scratch(buf, 2 * bqp * Dp + bqp * bk + 2 * bqp);
  float* o = qs + bqp * Dp;
  float* s = o + bqp * Dp;
  float* m = s + bqp * bk;
  float* l = m + bqp;
  pack_rows(qs, q + L.head(L.q, bh) + q0 * L.q.row, L.q.row, bq, bqp, D, Dp, p.scale * kLog2e);
  std::fill(o, o + bqp * Dp, 0.f);
  std::fill(m, m + bqp, -INFINITY);
  std::fill(l, l + bqp, 0.f);
  const Visibility vis(p, tiles, bh / p.H);

  for (int64_t k0 = 0; k0 < Tk; k0 += bk) {
    const int64_t k1 = std::min(Tk, k0 + bk);
    if (!vis.any(q0, q0 + bq, k0)) {
      if (p.causal && k0 > q0 + bq - 1 + vis.offset) break;  // every later block is beyond the diagonal
      continue;
    }
    const float* kt = packed + (k0 / bk) * packed_block_floats(bk, D, Dp);
    const float* vp = kt + D * bk;
    gemm<false, false>(bqp, bk, D, qs, Dp, kt, bk, s, bk);
    const bool mixed = vis.tile(q0, k0) == kTileMixed;
    for (int64_t r = 0; r < bqp; ++r) {
      float* sr = s + r * bk;
      if (r < bq) vis.hide(sr, q0 + r, k0, k1, bk, mixed);
      const float alpha = online_softmax_rescale(m[r], row_max(sr, bk));
      l[r] = l[r] * alpha + row_exp2(sr, bk, online_softmax_pivot(m[r]));
      if (alpha != 1.f)
        for (int64_t c = 0; c < Dp; ++c) o[r * Dp + c] *= alpha;
    }
    gemm<false>(bqp, Dp, bk, s, bk, vp, Dp, o, Dp);
  }
  for (int64_t r = 0; r < bq; ++r) {
    const float inv = online_softmax_inv_sum(m[r], l[r]);
    float* dst = out + L.head(L.o, bh) + (q0 + r) * L.o.row;
    for (int64_t c = 0; c < D; ++c) dst[c] = o[r * Dp + c] * inv;
    lse[bh * p.Tq + q0 + r] = online_softmax_lse(m[r], l[r]);
  }
}

// ---- backward: one task per (b, h, chunk of key blocks); each task owns dk/dv of its keys ----

struct BackwardTask {
  const AttentionParams& p;
  const Layouts& L;
  const float *q, *k, *v, *out, *lse, *dout;
  int64_t bqp, bk;  // query block (a multiple of 4) and key block (a multiple of 8)

  // Writes this (b, h)'s dq share to dq_acc (Tq rows, row stride ldq) and dk, dv of keys [ks0, ks1)
  // (this (b, h)'s rows of dk and dv, in k's and v's layouts).
  void run(int64_t bh, int64_t ks0, int64_t ks1, const MaskTiles& tiles, float* dq_acc, int64_t ldq, float* dk,
           float* dv) const {
    const int64_t D = p.D, Dp = round_up(D, kW), Tq = p.Tq;
    const int64_t nqb = (Tq + bqp - 1) / bqp, Tqp = nqb * bqp;
    thread_local std::vector<float> buf_rows, buf_keys, buf_tile;
    float* qs = scratch(buf_rows, 3 * Tqp * Dp + 2 * Tqp);
    float* dos = qs + Tqp * Dp;   // dOut, padded
    float* dqs = dos + Tqp * Dp;  // dq accumulator (in units of scale)
    float* pivot = dqs + Tqp * Dp;
    float* delta = pivot + Tqp;
    float* kt = scratch(buf_keys, 2 * Dp * bk + 3 * bk * Dp);
    float* vt = kt + Dp * bk;
    float* kp = vt + Dp * bk;
    float* dka = kp + bk * Dp;
    float* dva = dka + bk * Dp;
    float* s = scratch(buf_tile, 2 * bqp * bk);
    float* ds = s + bqp * bk;

    const float* obh = out + L.head(L.o, bh);
    const float* dobh = dout + L.head(L.o, bh);
    pack_rows(qs, q + L.head(L.q, bh), L.q.row, Tq, Tqp, D, Dp, p.scale * kLog2e);
    pack_rows(dos, dobh, L.o.row, Tq, Tqp, D, Dp, 1.f);
    std::fill(dqs, dqs + Tqp * Dp, 0.f);
    for (int64_t i = 0; i < Tqp; ++i) {
      // D_i = rowsum(dO * O): the softmax backward's per-row constant, computed once.
      double d = 0;
      if (i < Tq)
        for (int64_t c = 0; c < D; ++c) d += static_cast<double>(dobh[i * L.o.row + c]) * obh[i * L.o.row + c];
      delta[i] = static_cast<float>(d);
      pivot[i] = i < Tq ? lse_to_pivot(lse[bh * Tq + i]) : INFINITY;  // padded rows get p = 0
    }
    const Visibility vis(p, tiles, bh / p.H);
    const float* kbh = k + L.head(L.k, bh);
    const float* vbh = v + L.head(L.v, bh);
    const int64_t ldk = L.k.row, ldv = L.v.row;

    for (int64_t k0 = ks0; k0 < ks1; k0 += bk) {
      const int64_t k1 = std::min(ks1, k0 + bk), kn = k1 - k0;
      pack_transposed(kt, kbh + k0 * ldk, ldk, kn, bk, D);
      pack_transposed(vt, vbh + k0 * ldv, ldv, kn, bk, D);
      pack_rows(kp, kbh + k0 * ldk, ldk, kn, bk, D, Dp, 1.f);
      std::fill(dka, dka + 2 * bk * Dp, 0.f);
      // causal: query blocks that end before this key block's diagonal see none of it
      const int64_t first = p.causal ? std::max<int64_t>(0, (k0 - vis.offset) / bqp) : 0;
      for (int64_t qb = first; qb < nqb; ++qb) {
        const int64_t q0 = qb * bqp, q1 = std::min(Tq, q0 + bqp);
        if (!vis.any(q0, q1, k0)) continue;
        const bool mixed = vis.tile(q0, k0) == kTileMixed;
        gemm<false, false>(bqp, bk, D, qs + q0 * Dp, Dp, kt, bk, s, bk);   // S (base-2 scores)
        gemm<false, false>(bqp, bk, D, dos + q0 * Dp, Dp, vt, bk, ds, bk);  // dP = dO V^T
        for (int64_t r = 0; r < bqp; ++r) {
          float* sr = s + r * bk;
          float* dr = ds + r * bk;
          if (q0 + r < Tq) vis.hide(sr, q0 + r, k0, k1, bk, mixed);
          row_exp2(sr, bk, pivot[q0 + r]);  // P
          const float dl = delta[q0 + r];
          for (int64_t j = 0; j < bk; ++j) dr[j] = sr[j] * (dr[j] - dl);  // dS = P (dP - D_i)
        }
        gemm<true>(bk, Dp, bqp, s, bk, dos + q0 * Dp, Dp, dva, Dp);   // dV += P^T dO
        gemm<true>(bk, Dp, bqp, ds, bk, qs + q0 * Dp, Dp, dka, Dp);   // dK += dS^T Qs
        gemm<false>(bqp, Dp, bk, ds, bk, kp, Dp, dqs + q0 * Dp, Dp);  // dQ += dS K
      }
      // Qs carries scale*log2(e); dK = scale * dS^T Q = ln2 * dS^T Qs.
      for (int64_t j = 0; j < kn; ++j)
        for (int64_t c = 0; c < D; ++c) {
          dk[(k0 + j) * ldk + c] = dka[j * Dp + c] * kLn2;
          dv[(k0 + j) * ldv + c] = dva[j * Dp + c];
        }
    }
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t c = 0; c < D; ++c) dq_acc[i * ldq + c] = dqs[i * Dp + c] * p.scale;
  }
};

}  // namespace

void attention_forward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                       float* out, float* lse) {
  const int64_t BH = p.B * p.H;
  if (BH == 0 || p.Tq == 0) return;
  const Layouts L(p);
  // Enough query blocks that every thread gets several tasks, but none smaller than 8 rows.
  int64_t nqb = (p.Tq + kMaxQueryBlock - 1) / kMaxQueryBlock;
  const int64_t want = (4 * pool.size() + BH - 1) / BH;
  nqb = std::max(nqb, std::min(want, (p.Tq + 7) / 8));
  const int64_t bq = (p.Tq + nqb - 1) / nqb;  // rows per block; the last may be shorter
  const int64_t bqp = round_up(bq, 4);
  const int64_t bk = balanced_block(p.Tk, kMaxKeyBlock, kW);
  nqb = (p.Tq + bq - 1) / bq;
  // K^T and V packed once and shared by the query blocks of a (b, h) (packing per task cost up
  // to a fifth of the time). The buffer is kept between calls unless it grew large.
  const int64_t D = p.D, Dp = round_up(D, kW), nkb = (p.Tk + bk - 1) / bk;
  const int64_t per_bh = nkb * packed_block_floats(bk, D, Dp);
  thread_local std::vector<float> packed_buf;
  float* packed = scratch(packed_buf, BH * per_bh);
  pool.parallel_for(BH * nkb, 4, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      pack_keys(p, L, t / nkb, (t % nkb) * bk, bk, k, v, packed + t * packed_block_floats(bk, D, Dp));
  });
  const MaskTiles tiles(pool, p, bq, bk);
  pool.parallel_for(BH * nqb, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / nqb, q0 = (t % nqb) * bq;
      forward_block(p, L, bh, q0, std::min(bq, p.Tq - q0), bqp, bk, q, packed + bh * per_bh, tiles, out, lse);
    }
  });
  if (packed_buf.size() > (size_t{16} << 20)) std::vector<float>().swap(packed_buf);  // > 64 MB: give it back
}

void attention_backward(ThreadPool& pool, const AttentionParams& p, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, const float* dout, float* dq, float* dk, float* dv) {
  const int64_t BH = p.B * p.H, Tq = p.Tq, Tk = p.Tk, D = p.D;
  if (BH == 0) return;
  const Layouts L(p);
  if (Tq == 0 || Tk == 0) {  // nothing attends: every gradient is 0
    const auto zero = [&](float* x, const AttentionLayout& l, int64_t T) {
      for (int64_t bh = 0; bh < BH; ++bh)
        for (int64_t t = 0; t < T; ++t) std::fill_n(x + L.head(l, bh) + t * l.row, D, 0.f);
    };
    zero(dq, L.q, Tq);
    zero(dk, L.k, Tk);
    zero(dv, L.v, Tk);
    return;
  }
  const BackwardTask task{p, L, q, k, v, out, lse, dout, balanced_block(Tq, kMaxQueryBlock, 4),
                          balanced_block(Tk, kMaxKeyBlock, kW)};
  // Split the keys of each (b, h) into chunks only when (b, h) alone cannot keep the threads busy;
  // each chunk then adds its dq into a buffer of its own, summed afterwards (no races, no atomics).
  const int64_t nkb = (Tk + task.bk - 1) / task.bk;
  const int64_t splits = std::min(nkb, (2 * pool.size() + BH - 1) / BH);
  const int64_t blocks_per_split = (nkb + splits - 1) / splits;
  std::vector<float> partial(splits > 1 ? static_cast<size_t>(splits * BH * Tq * D) : 0);
  const MaskTiles tiles(pool, p, task.bqp, task.bk);
  pool.parallel_for(BH * splits, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t bh = t / splits, sp = t % splits;
      const int64_t ks0 = std::min(Tk, sp * blocks_per_split * task.bk);
      const int64_t ks1 = std::min(Tk, ks0 + blocks_per_split * task.bk);
      if (splits > 1) task.run(bh, ks0, ks1, tiles, partial.data() + (sp * BH + bh) * Tq * D, D, dk + L.head(L.k, bh), dv + L.head(L.v, bh));
      else task.run(bh, ks0, ks1, tiles, dq + L.head(L.q, bh), L.q.row, dk + L.head(L.k, bh), dv + L.head(L.v, bh));
    }
  });
  if (splits == 1) return;
  // dq = the splits' shares summed, row by row into q's layout.
  const int64_t n = BH * Tq * D;
  pool.parallel_for(BH * Tq, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* dst = dq + L.head(L.q, r / Tq) + (r % Tq) * L.q.row;
      for (int64_t c = 0; c < D; ++c) {
        float acc = 0.f;
        for (int64_t sp = 0; sp < splits; ++sp) acc += partial[sp * n + r * D + c];
        dst[c] = acc;
      }
    }
  });
}

}  // namespace echogen::cpu
