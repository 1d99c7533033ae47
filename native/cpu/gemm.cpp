// CPU GEMM (BLIS-style): op(A) and op(B) are packed per cache block into micro-panels, and a 6x16
// AVX2/FMA micro-kernel keeps a 6x16 tile of C in 12 ymm registers. Work is split into (batch,
// row block, column block) tasks over the thread pool. With several threads and row blocks, op(B)
// is first packed once into a shared buffer (its panels in parallel), then the tasks pack only
// their A blocks; otherwise each task packs its own panels (one fork/join per call). Two kinds of
// product skip the packing:
// - small ones with one depth block and B not transposed: the micro-kernel reads op(A) and B in place
//   (BLIS's "sup" path), with the same multiply-adds in the same order, so C is bit-identical;
// - a few rows against a transposed B (a decoding step's x W^T): each element is a dot product of an A
//   row and a B row, 8 depths a lane, so W is read once instead of packed (not bit-identical).
// A product with a long depth and a small C (a weight gradient, X^T dY over every row of a batch) is split along the
// depth instead of into tiles (gemm_depth_split), its parts' sums added at the end.
#include "echogen/gemm.h"

#include "cpu/simd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#ifdef ECHOGEN_AVX2
#include <immintrin.h>
#endif

namespace echogen::cpu {

namespace {

constexpr int MR = 6, NR = 16;
constexpr int64_t kKcMax = 256;   // a 6x256 A strip (6 KB) and a 256x16 B panel (16 KB) sit in L1
constexpr int64_t kMcMax = 144;
// Up to this depth the product is one depth block (kc = k): 512^3 ran 1.60 ms against 1.73 in two blocks of 256 (each
// C tile stored once, not read back and added to); deeper products use blocks of kKcMax (at kc = 512 the weight
// gradients over 5,008 rows fell from 164 to 134 GFLOP/s).
constexpr int64_t kKcSingle = 512;   // a 144x256 A block (144 KB) sits in L2
constexpr int64_t kNcMax = 512;
// Floats past the packed A block that pack_a's 8-wide stores may touch.
constexpr int64_t kPackSlack = 8;
// Below this many multiply-adds one thread is faster than waking the pool.
constexpr int64_t kSerialMacs = 1 << 19;
// Below this many multiply-adds (and with K <= kKcMax, B not transposed) the operands are read in place, since
// packing them costs a sizable share of so small a product (docs/profile.md).
constexpr int64_t kInPlaceMacs = int64_t{1} << 22;
// Up to this many rows of A (not transposed) against a transposed B, C is computed as dot products (dot_tile): for one
// row of a decoding step packing the weight cost more than the product (x W^T, 1 x 128 -> 384 and -> 2,048: 2.5-3x
// faster; 4 rows 1.5x; 8 rows about even; 12 and 16 rows slower than packing; docs/profile.md).
constexpr int64_t kDotRows = 8;
// Columns of C a task of the dot-product path computes.
constexpr int64_t kDotCols = 64;
// Below this many, op(B) is not packed in a fork/join of its own before the tasks (each task packs
// its panels): a second fork/join costs more than the repeated packing of a small B saves.
constexpr int64_t kSharedPackMacs = int64_t{1} << 25;

// A product with a long depth and a small C (a linear layer's weight gradient: 128 x 512 over 5,008 rows) is split along
// its depth into kDepthParts parts, each summed into its own C (the first into C, the others into scratch) and the parts
// added at the end: the row and column split left each of 8 tasks a 66 x 128 tile, so op(A) was packed four times over
// and op(B) went through a shared 10 MB buffer, and two threads ran 1.2x one (docs/profile.md). A fixed number of parts
// (not one a thread) keeps C the same on any number of threads. Used from kDepthSplitK depths when C is at most
// kDepthSplitTiles cache blocks (kMcMax x kNcMax): with more, the tiles keep the threads busy, and each part would read
// and write the whole C once a depth block (a 2,048 x 128 C over 1,536 depths: 132 GFLOP/s split, 159 in tiles).
constexpr int64_t kDepthParts = 4;
constexpr int64_t kDepthSplitK = 4 * kKcMax;
constexpr int64_t kDepthSplitTiles = 4;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Per-thread packing buffers, grown on demand and kept for the thread's life (at most a few MB: the A block and the
// B panels of one column block). Allocating them per call made the B panels of a tall product (up to 4 MB) come
// from fresh mmap pages every call: ~4,000 extra page faults a training step.
struct Scratch {
  float* p = nullptr;
  size_t floats = 0;
  ~Scratch() { std::free(p); }
  float* get(int64_t want) {
    const size_t n = static_cast<size_t>(std::max<int64_t>(want, 16));
    if (n > floats) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(round_up(static_cast<int64_t>(n) * 4, 64))));
      if (!p) {
        floats = 0;
        throw std::bad_alloc();
      }
      floats = n;
    }
    return p;
  }
};

// Rows [i0, i0+mc) and depth [p0, p0+kc) of op(A) into strips of MR rows: ap[strip][k][r], zero-padded.
void pack_a(const GemmArgs& g, const float* a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* ap) {
  for (int64_t s = 0; s < mc; s += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - s));
    float* dst = ap + s * kc;
    if (!g.trans_a) {  // A(i, k) = a[i * K + k]
      const float* src[MR];
      for (int r = 0; r < MR; ++r) src[r] = a + (i0 + s + std::min(r, rows - 1)) * g.k + p0;
      int64_t k = 0;
#ifdef ECHOGEN_AVX2
      // 8 depths at a time: the 6 rows and 2 zero rows as an 8 x 8 block, transposed in registers. Each
      // store writes 8 floats of which the last 2 are the next depth's first 2, rewritten by the next
      // store (the buffer has kPackSlack floats past its end for the last one).
      if (rows == MR) {
        for (; k + 8 <= kc; k += 8) {
          __m256 v[8];
          for (int r = 0; r < MR; ++r) v[r] = _mm256_loadu_ps(src[r] + k);
          v[6] = v[7] = _mm256_setzero_ps();
          simd::transpose8x8(v);
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k + j) * MR, v[j]);
        }
      }
#endif
      for (; k < kc; ++k)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? src[r][k] : 0.f;
    } else {  // A(i, k) = a[k * M + i]
#ifdef ECHOGEN_AVX2
      // a full strip's 6 rows are 6 consecutive floats of each depth's row of a: one masked load (nothing past them is
      // read) and one 8-wide store whose last 2 floats the next depth's store rewrites (kPackSlack past the end)
      if (rows == MR) {
        const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
        const float* row = a + p0 * g.m + i0 + s;
        for (int64_t k = 0; k < kc; ++k, row += g.m) _mm256_storeu_ps(dst + k * MR, _mm256_maskload_ps(row, six));
        continue;
      }
#endif
      for (int64_t k = 0; k < kc; ++k) {
        const float* row = a + (p0 + k) * g.m + i0 + s;
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? row[r] : 0.f;
      }
    }
  }
}

// Columns [j0, j0+nc) and depth [p0, p0+kc) of op(B) into panels of NR columns: bp[panel][k][c].
void pack_b(const GemmArgs& g, const float* b, int64_t j0, int64_t nc, int64_t p0, int64_t kc, float* bp) {
  for (int64_t t = 0; t < nc; t += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - t));
    float* dst = bp + t * kc;
    if (!g.trans_b) {  // B(k, j) = b[k * N + j]
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = b + (p0 + k) * g.n + j0 + t;
        float* d = dst + k * NR;
        if (cols == NR) {
          std::memcpy(d, src, NR * sizeof(float));
        } else {
          for (int c = 0; c < NR; ++c) d[c] = c < cols ? src[c] : 0.f;
        }
      }
    } else {  // B(k, j) = b[j * K + k]: read each column's run of k contiguously
      int64_t k0 = 0;
#ifdef ECHOGEN_AVX2
      // A full panel 8 depths x 8 columns at a time, through the in-register transpose (the element-by-element
      // loop below stores with a 64-byte stride; it made the linear layers' x W^T products half as fast as OpenBLAS).
      if (cols == NR) {
        for (; k0 + 8 <= kc; k0 += 8)
          for (int h = 0; h < NR; h += 8) {
            __m256 v[8];
            for (int i = 0; i < 8; ++i) v[i] = _mm256_loadu_ps(b + (j0 + t + h + i) * g.k + p0 + k0);
            simd::transpose8x8(v);
            for (int j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k0 + j) * NR + h, v[j]);
          }
      }
#endif
      for (int c = 0; c < NR; ++c) {
        if (c < cols) {
          const float* src = b + (j0 + t + c) * g.k + p0;
          for (int64_t k = k0; k < kc; ++k) dst[k * NR + c] = src[k];
        } else {
          for (int64_t k = k0; k < kc; ++k) dst[k * NR + c] = 0.f;
        }
      }
    }
  }
}

// The micro-kernel: acc[6][16] = sum_k A(r, k) * B(k, c) over kc depths, A(r, k) = a[r * rs + k * cs] and
// B(k, c) = b[k * ldb + c], one multiply-add a depth, in order. kPacked: an A strip ap[k][r] and a B panel bp[k][c]
// (rs = 1, cs = MR, ldb = NR, every row and column: constants). Otherwise the operands are read in place: rows past
// `rows` repeat the last row (their sums are not stored) and columns past `cols` are not read (masked loads when
// !kFullCols; they sum to 0), so nothing outside the operands is touched.
template <bool kPacked, bool kFullCols = true>
void micro_kernel(int64_t kc, const float* __restrict a, int64_t rs, int64_t cs, int rows, const float* __restrict b,
                  int64_t ldb, int cols, float* __restrict acc) {
  if constexpr (kPacked) {
    rs = 1;
    cs = MR;
    ldb = NR;
    rows = MR;
    cols = NR;
  }
  int64_t o[MR];
  for (int r = 0; r < MR; ++r) o[r] = std::min(r, rows - 1) * rs;
#ifdef ECHOGEN_AVX2
  alignas(32) int32_t lanes[NR];
  for (int c = 0; c < NR; ++c) lanes[c] = c < cols ? -1 : 0;
  const __m256i m0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  const __m256i m1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + 8));
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const int64_t o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5];
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = kFullCols ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m0);
    const __m256 b1 = kFullCols ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, m1);
    __m256 x = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + o1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + o2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + o3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + o4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + o5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
    a += cs;
    b += ldb;
  }
  _mm256_store_ps(acc + 0, c00);
  _mm256_store_ps(acc + 8, c01);
  _mm256_store_ps(acc + 16, c10);
  _mm256_store_ps(acc + 24, c11);
  _mm256_store_ps(acc + 32, c20);
  _mm256_store_ps(acc + 40, c21);
  _mm256_store_ps(acc + 48, c30);
  _mm256_store_ps(acc + 56, c31);
  _mm256_store_ps(acc + 64, c40);
  _mm256_store_ps(acc + 72, c41);
  _mm256_store_ps(acc + 80, c50);
  _mm256_store_ps(acc + 88, c51);
#else
  for (int i = 0; i < MR * NR; ++i) acc[i] = 0.f;
  for (int64_t k = 0; k < kc; ++k, a += cs, b += ldb)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < cols; ++c) acc[r * NR + c] += a[o[r]] * b[c];
#endif
}

// R rows of A (row r at a + r * lda) against the 4 rows of B at b[0..3]: out[r * 4 + c] = sum_k A(r, k) * B_c(k), each
// lane summing the depths k = lane mod 8 in order, the 8 lanes added at the end (hsum8).
template <int R>
void dot_tile(int64_t kc, const float* a, int64_t lda, const float* const b[4], float* out) {
#ifdef ECHOGEN_AVX2
  __m256 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const __m256 b0 = _mm256_loadu_ps(b[0] + k), b1 = _mm256_loadu_ps(b[1] + k);
    const __m256 b2 = _mm256_loadu_ps(b[2] + k), b3 = _mm256_loadu_ps(b[3] + k);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_loadu_ps(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
      acc[r][2] = _mm256_fmadd_ps(x, b2, acc[r][2]);
      acc[r][3] = _mm256_fmadd_ps(x, b3, acc[r][3]);
    }
  }
  if (k < kc) {  // the last kc - k < 8 depths, masked (masked-out lanes are not read and load 0)
    alignas(32) int32_t lanes[8];
    for (int l = 0; l < 8; ++l) lanes[l] = k + l < kc ? -1 : 0;
    const __m256i m = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
    __m256 bv[4];
    for (int c = 0; c < 4; ++c) bv[c] = _mm256_maskload_ps(b[c] + k, m);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_maskload_ps(a + r * lda + k, m);
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm256_fmadd_ps(x, bv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) out[r * 4 + c] = simd::hsum8(acc[r][c]);
#else
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < 4; ++c) {
      float s = 0.f;
      for (int64_t k = 0; k < kc; ++k) s += a[r * lda + k] * b[c][k];
      out[r * 4 + c] = s;
    }
#endif
}

// Writes a tile back: on the first depth block C = alpha*acc + beta*C + bias (C unread when beta
// is 0); on later blocks C += alpha*acc. The same formulas 8 lanes at a time for a full tile.
void store_tile(const float* acc, float* c, int64_t ldc, int rows, int cols, float alpha, bool first, float beta,
                const float* bias) {
#ifdef ECHOGEN_AVX2
  if (rows == MR && cols == NR) {
    const __m256 al = _mm256_set1_ps(alpha), be = _mm256_set1_ps(beta);
    for (int r = 0; r < MR; ++r)
      for (int h = 0; h < NR; h += 8) {
        float* cp = c + r * ldc + h;
        const __m256 x = _mm256_mul_ps(al, _mm256_load_ps(acc + r * NR + h));
        __m256 y;
        if (first) {
          y = beta == 0.f ? x : _mm256_fmadd_ps(be, _mm256_loadu_ps(cp), x);
          if (bias) y = _mm256_add_ps(y, _mm256_loadu_ps(bias + h));
        } else {
          y = _mm256_add_ps(_mm256_loadu_ps(cp), x);
        }
        _mm256_storeu_ps(cp, y);
      }
    return;
  }
#endif
  for (int r = 0; r < rows; ++r) {
    float* crow = c + r * ldc;
    const float* arow = acc + r * NR;
    if (first) {
      if (beta == 0.f) {
        for (int j = 0; j < cols; ++j) crow[j] = alpha * arow[j] + (bias ? bias[j] : 0.f);
      } else {
        for (int j = 0; j < cols; ++j) crow[j] = alpha * arow[j] + beta * crow[j] + (bias ? bias[j] : 0.f);
      }
    } else {
      for (int j = 0; j < cols; ++j) crow[j] += alpha * arow[j];
    }
  }
}

// A packed block: C[mc x nc] (row stride g.n) from the A strips ap and the B panels bp over kc depths, tile by tile;
// store_tile's first / beta / bias as given (bias: this block's first column).
void multiply_packed(const GemmArgs& g, int64_t kc, int64_t mc, int64_t nc, const float* ap, const float* bp, float* c,
                     bool first, float beta, const float* bias) {
  alignas(64) float acc[MR * NR];
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
      micro_kernel<true>(kc, ap + ir * kc, 1, MR, MR, bp + jr * kc, NR, NR, acc);
      store_tile(acc, c + ir * g.n + jr, g.n, rows, cols, g.alpha, first, beta, bias ? bias + jr : nullptr);
    }
  }
}

struct Plan {
  int64_t mc, nc, mb, nb, kc, kb;
};

// Block sizes: K in equal blocks of at most kKcMax; M and N in equal blocks (multiples of MR / NR),
// split further (down to 4 micro-tiles a side) until there are about four tasks a thread, so that
// the dynamic schedule can even out a thread that the OS preempts.
Plan make_plan(const GemmArgs& g, int threads) {
  Plan p;
  p.kb = g.k <= kKcSingle ? 1 : ceil_div(g.k, kKcMax);
  p.kc = ceil_div(g.k, p.kb);
  p.mb = ceil_div(g.m, kMcMax);
  p.nb = ceil_div(g.n, kNcMax);
  const int64_t want = threads > 1 ? 4 * threads : 1;
  while (g.batch * p.mb * p.nb < want) {
    bool can_m = ceil_div(g.m, p.mb + 1) >= 4 * MR, can_n = ceil_div(g.n, p.nb + 1) >= 4 * NR;
    if (can_m && (!can_n || ceil_div(g.m, p.mb) >= ceil_div(g.n, p.nb))) ++p.mb;
    else if (can_n) ++p.nb;
    else break;
  }
  p.mc = round_up(ceil_div(g.m, p.mb), MR);
  p.nc = round_up(ceil_div(g.n, p.nb), NR);
  p.mb = ceil_div(g.m, p.mc);
  p.nb = ceil_div(g.n, p.nc);
  return p;
}

// The packed op(B) panels of one (batch, column block) for every depth block, kept across the consecutive tasks a
// thread runs: tasks are numbered row block fastest, so a chunk of tasks mostly shares its column block, and for a
// tall product (the linear layers' 5,008 x 128 -> 384: 35 row blocks, one column block) B is packed once per chunk
// instead of once per row block. Only the packing moves; every C element gets the same operations in the same order.
struct PackedB {
  float* p = nullptr;
  bool all_depth = false;  // the buffer holds every depth block's panel (else one at a time, nothing kept)
  int64_t bi = -1, j0 = -1;
};

// The panel of op(B) for (batch bi, column block jb, depth block pb) in a buffer holding all of them.
inline int64_t shared_panel(const GemmArgs& g, const Plan& p, int64_t bi, int64_t jb, int64_t pb) {
  return (((g.stride_b ? bi : 0) * p.nb + jb) * p.kb + pb) * p.nc * p.kc;
}

void run_task(const GemmArgs& g, const Plan& p, int64_t task, float* ap, PackedB& pb_cache, const float* shared_b) {
  const int64_t per_batch = p.mb * p.nb;
  const int64_t bi = task / per_batch, rest = task % per_batch;
  const int64_t i0 = (rest % p.mb) * p.mc, jb = rest / p.mb, j0 = jb * p.nc;
  const int64_t mc = std::min(p.mc, g.m - i0), nc = std::min(p.nc, g.n - j0);
  const float* a = g.a + bi * g.stride_a;
  const float* b = g.b + bi * g.stride_b;
  float* c = g.c + bi * g.stride_c + i0 * g.n + j0;
  const bool reuse = shared_b || (pb_cache.all_depth && pb_cache.bi == bi && pb_cache.j0 == j0);
  for (int64_t pb = 0; pb < p.kb; ++pb) {
    const int64_t p0 = pb * p.kc, kc = std::min(p.kc, g.k - p0);
    const float* bp = shared_b ? shared_b + shared_panel(g, p, bi, jb, pb) : pb_cache.p + (pb_cache.all_depth ? pb * p.nc * p.kc : 0);
    pack_a(g, a, i0, mc, p0, kc, ap);
    if (!reuse) pack_b(g, b, j0, nc, p0, kc, pb_cache.p + (pb_cache.all_depth ? pb * p.nc * p.kc : 0));
    multiply_packed(g, kc, mc, nc, ap, bp, c, pb == 0, g.beta, g.bias ? g.bias + j0 : nullptr);
  }
  if (pb_cache.all_depth && !shared_b) {
    pb_cache.bi = bi;
    pb_cache.j0 = j0;
  }
}

// One (batch, row block, column block) task of a small product with one depth block, read in place: for each panel of
// NR columns (kc x NR floats of B, at most 16 KB, stays in L1) the strips of MR rows of the block stream past it.
void run_task_in_place(const GemmArgs& g, const Plan& p, int64_t task) {
  const int64_t per_batch = p.mb * p.nb;
  const int64_t bi = task / per_batch, rest = task % per_batch;
  const int64_t i0 = (rest % p.mb) * p.mc, j0 = (rest / p.mb) * p.nc;
  const int64_t mc = std::min(p.mc, g.m - i0), nc = std::min(p.nc, g.n - j0);
  const int64_t rs = g.trans_a ? 1 : g.k, cs = g.trans_a ? g.m : 1;
  const float* a = g.a + bi * g.stride_a + i0 * rs;
  const float* b = g.b + bi * g.stride_b + j0;
  float* c = g.c + bi * g.stride_c + i0 * g.n + j0;
  alignas(64) float acc[MR * NR];
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
      if (cols == NR) micro_kernel<false, true>(g.k, a + ir * rs, rs, cs, rows, b + jr, g.n, cols, acc);
      else micro_kernel<false, false>(g.k, a + ir * rs, rs, cs, rows, b + jr, g.n, cols, acc);
      store_tile(acc, c + ir * g.n + jr, g.n, rows, cols, g.alpha, true, g.beta, g.bias ? g.bias + j0 + jr : nullptr);
    }
  }
}

// Columns [j0, j1) of C_bi by the dot-product path: 4 columns of B (rows of the stored n x k matrix) at a time against
// every row of A (at most kDotRows, so A stays in L1 and each B row is read once), 2 rows at a time. Columns past the
// last repeat it and are not stored.
void run_task_dot(const GemmArgs& g, int64_t bi, int64_t j0, int64_t j1) {
  const float* a = g.a + bi * g.stride_a;
  const float* b = g.b + bi * g.stride_b;
  float* c = g.c + bi * g.stride_c;
  alignas(64) float acc[MR * NR];
  float out[2 * 4];
  for (int64_t j = j0; j < j1; j += 4) {
    const int cols = static_cast<int>(std::min<int64_t>(4, j1 - j));
    const float* bp[4];
    for (int q = 0; q < 4; ++q) bp[q] = b + (j + std::min(q, cols - 1)) * g.k;
    for (int64_t i = 0; i < g.m; i += 2) {
      const int rows = static_cast<int>(std::min<int64_t>(2, g.m - i));
      if (rows == 2) dot_tile<2>(g.k, a + i * g.k, g.k, bp, out);
      else dot_tile<1>(g.k, a + i * g.k, g.k, bp, out);
      for (int r = 0; r < rows; ++r)
        for (int q = 0; q < cols; ++q) acc[r * NR + q] = out[r * 4 + q];
      store_tile(acc, c + i * g.n + j, g.n, rows, cols, g.alpha, true, g.beta, g.bias ? g.bias + j : nullptr);
    }
  }
}

// Depth blocks [pb0, pb1) of every (row block, column block) of a one-matrix product into c (row stride g.n), the first
// of them stored as C = alpha*acc + beta*C + bias with `beta` and `bias` given (a part after the first: 0 and none).
// Per column block and depth block op(B) is packed once; per row block op(A).
void run_depth_part(const GemmArgs& g, const Plan& p, int64_t pb0, int64_t pb1, float* c, float beta, const float* bias) {
  thread_local Scratch a_buf, b_buf;
  float* ap = a_buf.get(p.mc * p.kc + kPackSlack);
  float* bp = b_buf.get(p.nc * p.kc);
  for (int64_t jb = 0; jb < p.nb; ++jb) {
    const int64_t j0 = jb * p.nc, nc = std::min(p.nc, g.n - j0);
    for (int64_t pb = pb0; pb < pb1; ++pb) {
      const int64_t p0 = pb * p.kc, kc = std::min(p.kc, g.k - p0);
      pack_b(g, g.b, j0, nc, p0, kc, bp);
      for (int64_t i0 = 0; i0 < g.m; i0 += p.mc) {
        const int64_t mc = std::min(p.mc, g.m - i0);
        pack_a(g, g.a, i0, mc, p0, kc, ap);
        multiply_packed(g, kc, mc, nc, ap, bp, c + i0 * g.n + j0, pb == pb0, beta, bias ? bias + j0 : nullptr);
      }
    }
  }
}

// The depth split (see kDepthParts): part q takes depth blocks [q kb / parts, (q + 1) kb / parts).
void gemm_depth_split(ThreadPool& pool, const GemmArgs& g) {
  const Plan p = make_plan(g, 1);
  const int64_t parts = std::min(kDepthParts, p.kb), cn = g.m * g.n;
  thread_local Scratch partial;
  float* sums = partial.get((parts - 1) * cn);
  pool.parallel_for(parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q) {
      const int64_t pb0 = q * p.kb / parts, pb1 = (q + 1) * p.kb / parts;
      if (q == 0) run_depth_part(g, p, pb0, pb1, g.c, g.beta, g.bias);
      else run_depth_part(g, p, pb0, pb1, sums + (q - 1) * cn, 0.f, nullptr);
    }
  });
  // C += the other parts, in part order (8 lanes at a time; each element the same additions in the same order)
  pool.parallel_for(ceil_div(cn, 4096), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t e0 = t * 4096, e1 = std::min(cn, e0 + 4096);
      for (int64_t q = 1; q < parts; ++q) {
        const float* s = sums + (q - 1) * cn;
        for (int64_t e = e0; e < e1; ++e) g.c[e] += s[e];
      }
    }
  });
}

// k == 0: the product is empty, so C = beta*C + bias.
void empty_product(const GemmArgs& g) {
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    float* c = g.c + bi * g.stride_c;
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        float v = g.beta == 0.f ? 0.f : g.beta * c[i * g.n + j];
        c[i * g.n + j] = v + (g.bias ? g.bias[j] : 0.f);
      }
  }
}

}  // namespace

void gemm(ThreadPool& pool, const GemmArgs& g) {
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  if (g.k <= 0) return empty_product(g);
  const bool serial = g.batch * g.m * g.n * g.k < kSerialMacs;
  if (!g.trans_a && g.trans_b && g.m <= kDotRows) {
    const int64_t blocks = ceil_div(g.n, kDotCols);
    auto dot = [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t j0 = (t % blocks) * kDotCols;
        run_task_dot(g, t / blocks, j0, std::min(g.n, j0 + kDotCols));
      }
    };
    if (serial) dot(0, g.batch * blocks);
    else pool.parallel_for(g.batch * blocks, 1, dot);
    return;
  }
  if (!serial && g.batch == 1 && g.k >= kDepthSplitK) {
    const Plan one = make_plan(g, 1);
    if (one.mb * one.nb <= kDepthSplitTiles) return gemm_depth_split(pool, g);
  }
  const Plan p = make_plan(g, serial ? 1 : pool.size());
  const int64_t tasks = g.batch * p.mb * p.nb;
  if (!g.trans_b && g.k <= kKcMax && g.batch * g.m * g.n * g.k < kInPlaceMacs) {
    auto in_place = [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) run_task_in_place(g, p, t);
    };
    if (serial) in_place(0, tasks);
    else pool.parallel_for(tasks, 1, in_place);
    return;
  }
  // all depth blocks of a B panel when that is at most 4 MB (L3 holds it; the dW products of 5,008 rows need 2.5 MB); else one at a time
  const bool all_depth = p.mb > 1 && p.nc * p.kc * p.kb <= (int64_t{1} << 20);
  // With several threads and several row blocks, op(B) is packed once, every panel in parallel, into one buffer the
  // tasks share (each task packing its own panels packed B 2-4 times over on square products) - when it is at most
  // 16 MB.
  const int64_t b_batches = g.stride_b ? g.batch : 1;
  const int64_t shared_floats = b_batches * p.nb * p.kb * p.nc * p.kc;
  const bool shared = !serial && p.mb > 1 && shared_floats <= (int64_t{4} << 20) && g.batch * g.m * g.n * g.k >= kSharedPackMacs;
  thread_local Scratch shared_buf;
  float* sb = shared ? shared_buf.get(shared_floats) : nullptr;
  if (shared) {
    const int64_t panels = b_batches * p.nb * p.kb;
    pool.parallel_for(panels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t pb = t % p.kb, jb = (t / p.kb) % p.nb, bi = t / (p.kb * p.nb);
        const int64_t p0 = pb * p.kc, j0 = jb * p.nc;
        pack_b(g, g.b + bi * g.stride_b, j0, std::min(p.nc, g.n - j0), p0, std::min(p.kc, g.k - p0), sb + shared_panel(g, p, bi, jb, pb));
      }
    });
  }
  auto work = [&](int64_t begin, int64_t end) {
    thread_local Scratch a_buf, b_buf;
    float* ap = a_buf.get(p.mc * p.kc + kPackSlack);
    PackedB cache;
    cache.p = shared ? nullptr : b_buf.get(p.nc * p.kc * (all_depth ? p.kb : 1));
    cache.all_depth = all_depth && end - begin > 1;
    for (int64_t t = begin; t < end; ++t) run_task(g, p, t, ap, cache, sb);
  };
  if (serial) work(0, tasks);
  else pool.parallel_for(tasks, 1, work);
}

}  // namespace echogen::cpu
