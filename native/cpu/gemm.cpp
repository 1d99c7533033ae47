// CPU GEMM (BLIS-style): op(A) and op(B) are packed per cache block into micro-panels, and a 6x16
// AVX2/FMA micro-kernel keeps a 6x16 tile of C in 12 ymm registers. Work is split into (batch,
// row block, column block) tasks over the thread pool. With several threads and row blocks, op(B)
// is first packed once into a shared buffer (its panels in parallel), then the tasks pack only
// their A blocks; otherwise each task packs its own panels (one fork/join per call).
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
constexpr int64_t kMcMax = 144;   // a 144x256 A block (144 KB) sits in L2
constexpr int64_t kNcMax = 512;
// Floats past the packed A block that pack_a's 8-wide stores may touch.
constexpr int64_t kPackSlack = 8;
// Below this many multiply-adds one thread is faster than waking the pool.
constexpr int64_t kSerialMacs = 1 << 19;
// Below this many, op(B) is not packed in a fork/join of its own before the tasks (each task packs
// its panels): a second fork/join costs more than the repeated packing of a small B saves.
constexpr int64_t kSharedPackMacs = int64_t{1} << 25;

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

// acc[6][16] = sum_k A[k][r] * B[k][c] over one A strip and one B panel.
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* __restrict acc) {
#ifdef ECHOGEN_AVX2
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 x = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(x, b0, c00);
    c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(x, b0, c10);
    c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(x, b0, c20);
    c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(x, b0, c30);
    c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(x, b0, c40);
    c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(x, b0, c50);
    c51 = _mm256_fmadd_ps(x, b1, c51);
    a += MR;
    b += NR;
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
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < NR; ++c) acc[r * NR + c] += a[r] * b[c];
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

struct Plan {
  int64_t mc, nc, mb, nb, kc, kb;
};

// Block sizes: K in equal blocks of at most kKcMax; M and N in equal blocks (multiples of MR / NR),
// split further (down to 4 micro-tiles a side) until there are about four tasks a thread, so that
// the dynamic schedule can even out a thread that the OS preempts.
Plan make_plan(const GemmArgs& g, int threads) {
  Plan p;
  p.kb = std::max<int64_t>(1, ceil_div(g.k, kKcMax));
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
  alignas(64) float acc[MR * NR];
  for (int64_t pb = 0; pb < p.kb; ++pb) {
    const int64_t p0 = pb * p.kc, kc = std::min(p.kc, g.k - p0);
    const float* bp = shared_b ? shared_b + shared_panel(g, p, bi, jb, pb) : pb_cache.p + (pb_cache.all_depth ? pb * p.nc * p.kc : 0);
    pack_a(g, a, i0, mc, p0, kc, ap);
    if (!reuse) pack_b(g, b, j0, nc, p0, kc, pb_cache.p + (pb_cache.all_depth ? pb * p.nc * p.kc : 0));
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
      for (int64_t ir = 0; ir < mc; ir += MR) {
        const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
        micro_kernel(kc, ap + ir * kc, bp + jr * kc, acc);
        store_tile(acc, c + ir * g.n + jr, g.n, rows, cols, g.alpha, pb == 0, g.beta,
                   g.bias ? g.bias + j0 + jr : nullptr);
      }
    }
  }
  if (pb_cache.all_depth && !shared_b) {
    pb_cache.bi = bi;
    pb_cache.j0 = j0;
  }
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
  const Plan p = make_plan(g, serial ? 1 : pool.size());
  const int64_t tasks = g.batch * p.mb * p.nb;
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
