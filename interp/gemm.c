/* Packed, cache-blocked SGEMM in the style of Goto's algorithm (Goto and van de Geijn, "Anatomy
   of high-performance matrix multiplication", TOMS 2008):
     for each KC-deep slice of k:   pack alpha*op(A) into MR-row panels (all m rows)
       for each NC-wide slice of n: pack op(B) into NR-column panels
         tasks over (MC rows x a few NR panels): MR x NR register tiles
   The micro-kernel is written with GCC vector extensions so it is portable C; on x86-64 it is
   compiled twice, for AVX2+FMA and for the baseline, and picked at run time. Each element of C
   sums its k-slices in the same order whatever the thread count, so results are reproducible. */
#include "gemm.h"

#include <string.h>

#define MR 6
#define NR 16
#define KC 256
#define MC 120 /* MR multiple: an MC x KC block of packed A (120 KiB) stays in L2 */
#define NC 3072
/* Below this many multiply-adds the pool's wake-up costs more than it saves. */
#define SERIAL_MACS (64 * 1024)

typedef float v8f __attribute__((vector_size(32)));

#define QC_INLINE static inline __attribute__((always_inline))

/* Unaligned vector load and store (memcpy compiles to one move); macros rather than functions
   because passing 32-byte vectors by value warns about the ABI in the baseline build. */
#define VLD(v, p) memcpy(&(v), (p), sizeof(v8f))
#define VST(p, v) memcpy((p), &(v), sizeof(v8f))

/* One MR x NR tile: C = sum_k a[k][i] * b[k][j] + beta * C, with a and b packed k-major. The
   twelve accumulators are named variables so they stay in registers. */
QC_INLINE void micro_6x16(int64_t kc, const float *restrict a, const float *restrict b,
                          float *restrict c, int64_t ldc, float beta)
{
  v8f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};
  v8f c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
  for (int64_t k = 0; k < kc; k++) {
    v8f b0, b1;
    VLD(b0, b);
    VLD(b1, b + 8);
    c00 += a[0] * b0;
    c01 += a[0] * b1;
    c10 += a[1] * b0;
    c11 += a[1] * b1;
    c20 += a[2] * b0;
    c21 += a[2] * b1;
    c30 += a[3] * b0;
    c31 += a[3] * b1;
    c40 += a[4] * b0;
    c41 += a[4] * b1;
    c50 += a[5] * b0;
    c51 += a[5] * b1;
    a += MR;
    b += NR;
  }
#define QC_ROW(i, x0, x1)                                                                     \
  do {                                                                                        \
    float *r = c + (i) * ldc;                                                                 \
    if (beta != 0.0f) {                                                                       \
      v8f o0, o1;                                                                             \
      VLD(o0, r);                                                                             \
      VLD(o1, r + 8);                                                                         \
      if (beta == 1.0f) {                                                                     \
        x0 += o0;                                                                             \
        x1 += o1;                                                                             \
      } else {                                                                                \
        x0 += beta * o0;                                                                      \
        x1 += beta * o1;                                                                      \
      }                                                                                       \
    }                                                                                         \
    VST(r, x0);                                                                               \
    VST(r + 8, x1);                                                                           \
  } while (0)
  QC_ROW(0, c00, c01);
  QC_ROW(1, c10, c11);
  QC_ROW(2, c20, c21);
  QC_ROW(3, c30, c31);
  QC_ROW(4, c40, c41);
  QC_ROW(5, c50, c51);
#undef QC_ROW
}

/* The tiles of rows [i0, i1) and columns [j0, j1) of the current block; ap and bp point at the
   packed panels of row 0 and column 0 of the block, c at its element (0, 0). */
QC_INLINE void macro_body(int64_t kc, const float *ap, const float *bp, int64_t i0, int64_t i1,
                          int64_t j0, int64_t j1, int64_t m_blk, int64_t n_blk, float *c,
                          int64_t ldc, float beta)
{
  for (int64_t j = j0; j < j1; j += NR) {
    int64_t nr = n_blk - j < NR ? n_blk - j : NR;
    for (int64_t i = i0; i < i1; i += MR) {
      int64_t mr = m_blk - i < MR ? m_blk - i : MR;
      float *ct = c + i * ldc + j;
      if (mr == MR && nr == NR) {
        micro_6x16(kc, ap + i * kc, bp + j * kc, ct, ldc, beta);
      } else { /* edge tile: compute whole, write back the part inside C */
        float tmp[MR * NR];
        micro_6x16(kc, ap + i * kc, bp + j * kc, tmp, NR, 0.0f);
        for (int64_t r = 0; r < mr; r++)
          for (int64_t q = 0; q < nr; q++) {
            float *d = ct + r * ldc + q;
            *d = beta == 0.0f ? tmp[r * NR + q] : tmp[r * NR + q] + beta * *d;
          }
      }
    }
  }
}

typedef void (*macro_fn)(int64_t kc, const float *ap, const float *bp, int64_t i0, int64_t i1,
                         int64_t j0, int64_t j1, int64_t m_blk, int64_t n_blk, float *c,
                         int64_t ldc, float beta);

static void macro_generic(int64_t kc, const float *ap, const float *bp, int64_t i0, int64_t i1,
                          int64_t j0, int64_t j1, int64_t m_blk, int64_t n_blk, float *c,
                          int64_t ldc, float beta)
{
  macro_body(kc, ap, bp, i0, i1, j0, j1, m_blk, n_blk, c, ldc, beta);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define QC_HAVE_AVX2_PATH 1
__attribute__((target("avx2,fma"))) static void macro_avx2(int64_t kc, const float *ap,
                                                           const float *bp, int64_t i0,
                                                           int64_t i1, int64_t j0, int64_t j1,
                                                           int64_t m_blk, int64_t n_blk,
                                                           float *c, int64_t ldc, float beta)
{
  macro_body(kc, ap, bp, i0, i1, j0, j1, m_blk, n_blk, c, ldc, beta);
}

static macro_fn pick_macro(void)
{
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return macro_avx2;
  return macro_generic;
}
#else
static macro_fn pick_macro(void) { return macro_generic; }
#endif

const char *qc_sgemm_kernel_name(void)
{
#ifdef QC_HAVE_AVX2_PATH
  if (pick_macro() == macro_avx2) return "avx2+fma";
#endif
  return "generic";
}

/* ---- driver ----------------------------------------------------------------------------- */

typedef struct {
  bool ta, tb;
  int64_t m, n, k;
  float alpha;
  const float *a, *b;
  int64_t lda, ldb, ldc;
  float *c;
  float *ap, *bp; /* packing buffers */
  int64_t pc, kc, jc, nc;
  float beta;         /* applied by this k-slice: the caller's beta first, then 1 */
  int64_t mblocks, colw; /* task grid: MC-row blocks by colw-column blocks */
  macro_fn macro;
} job;

static inline int64_t round_up(int64_t x, int64_t r) { return (x + r - 1) / r * r; }
static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

/* Panels p of MR rows of alpha * op(A)[:, pc:pc+kc], k-major, zero rows past m. */
static void pack_a(void *arg, int64_t p0, int64_t p1, int worker)
{
  const job *J = arg;
  int64_t kc = J->kc;
  for (int64_t p = p0; p < p1; p++) {
    int64_t i0 = p * MR, rows = min64(MR, J->m - i0);
    float *dst = J->ap + i0 * kc;
    if (!J->ta) {
      for (int64_t i = 0; i < rows; i++) {
        const float *src = J->a + (i0 + i) * J->lda + J->pc;
        for (int64_t q = 0; q < kc; q++) dst[q * MR + i] = J->alpha * src[q];
      }
    } else {
      for (int64_t q = 0; q < kc; q++) {
        const float *src = J->a + (J->pc + q) * J->lda + i0;
        for (int64_t i = 0; i < rows; i++) dst[q * MR + i] = J->alpha * src[i];
      }
    }
    for (int64_t i = rows; i < MR; i++)
      for (int64_t q = 0; q < kc; q++) dst[q * MR + i] = 0.0f;
  }
}

/* Panels of NR columns of op(B)[pc:pc+kc, jc:jc+nc], k-major, zero columns past nc. */
static void pack_b(void *arg, int64_t p0, int64_t p1, int worker)
{
  const job *J = arg;
  int64_t kc = J->kc;
  for (int64_t p = p0; p < p1; p++) {
    int64_t j0 = p * NR, cols = min64(NR, J->nc - j0);
    float *dst = J->bp + j0 * kc;
    if (!J->tb) {
      for (int64_t q = 0; q < kc; q++) {
        const float *src = J->b + (J->pc + q) * J->ldb + J->jc + j0;
        memcpy(dst + q * NR, src, sizeof(float) * (size_t)cols);
        for (int64_t j = cols; j < NR; j++) dst[q * NR + j] = 0.0f;
      }
    } else {
      for (int64_t j = 0; j < cols; j++) {
        const float *src = J->b + (J->jc + j0 + j) * J->ldb + J->pc;
        for (int64_t q = 0; q < kc; q++) dst[q * NR + j] = src[q];
      }
      for (int64_t j = cols; j < NR; j++)
        for (int64_t q = 0; q < kc; q++) dst[q * NR + j] = 0.0f;
    }
  }
}

static void compute(void *arg, int64_t t0, int64_t t1, int worker)
{
  const job *J = arg;
  for (int64_t t = t0; t < t1; t++) {
    int64_t bi = t % J->mblocks, bj = t / J->mblocks;
    int64_t i0 = bi * MC, i1 = min64(J->m, i0 + MC);
    int64_t j0 = bj * J->colw, j1 = min64(J->nc, j0 + J->colw);
    J->macro(J->kc, J->ap, J->bp, i0, i1, j0, j1, J->m, J->nc, J->c + J->jc, J->ldc, J->beta);
  }
}

size_t qc_sgemm_ws_bytes(int64_t m, int64_t n, int64_t k)
{
  int64_t kc = min64(k, KC), nc = min64(n, NC);
  if (kc < 1) kc = 1;
  return sizeof(float) * (size_t)(round_up(m, MR) * kc + kc * round_up(nc, NR)) + 128;
}

static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc)
{
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

void qc_sgemm(qc_pool *pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc, void *ws)
{
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  if (m * n * k < SERIAL_MACS) pool = NULL;
  int threads = qc_pool_threads(pool);
  uintptr_t base = ((uintptr_t)ws + 63) & ~(uintptr_t)63;
  job J = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k, .alpha = alpha, .a = a, .b = b,
           .lda = lda, .ldb = ldb, .ldc = ldc, .c = c, .macro = pick_macro()};
  J.ap = (float *)base;
  J.bp = J.ap + round_up(m, MR) * min64(k, KC);
  J.bp = (float *)(((uintptr_t)J.bp + 63) & ~(uintptr_t)63);
  J.mblocks = (m + MC - 1) / MC;
  for (J.pc = 0; J.pc < k; J.pc += KC) {
    J.kc = min64(KC, k - J.pc);
    J.beta = J.pc == 0 ? beta : 1.0f;
    qc_pool_run(pool, (m + MR - 1) / MR, 4, pack_a, &J);
    for (J.jc = 0; J.jc < n; J.jc += NC) {
      J.nc = min64(NC, n - J.jc);
      qc_pool_run(pool, (J.nc + NR - 1) / NR, 2, pack_b, &J);
      /* Narrow the column blocks until there are a few tasks per thread. */
      J.colw = 256;
      while (J.colw > NR && J.mblocks * ((J.nc + J.colw - 1) / J.colw) < 4 * threads)
        J.colw /= 2;
      qc_pool_run(pool, J.mblocks * ((J.nc + J.colw - 1) / J.colw), 1, compute, &J);
    }
  }
}
