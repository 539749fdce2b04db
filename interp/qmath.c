/* The integer GEMM shared by the integer kernels (see qmath.h for its exactness contract). */
#include "qmath.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QC_IGEMM_AVX2 1
#endif

/* Micro-tile: QC_MR rows x QC_NR columns of int32 accumulators; a task covers QC_TILE_ROWS rows
   of one panel. */
#define QC_MR 4
#define QC_NR 16
#define QC_TILE_ROWS 32

int64_t qc_igemm_packed_elems(int64_t K, int64_t N)
{
  int64_t panels = (N + QC_IGEMM_NC - 1) / QC_IGEMM_NC, kp = qc_igemm_kp(K);
  if (K < 0 || N < 0 || (kp && panels > INT64_MAX / QC_IGEMM_NC / kp)) return -1;
  return panels * kp * QC_IGEMM_NC;
}

void qc_igemm_pack_b(const void *src, qc_dtype t, int64_t K, int64_t N, int64_t ld,
                     const void *zp, qc_dtype zp_t, int64_t n_zp, int16_t *dst)
{
  int64_t kp = qc_igemm_kp(K), total = qc_igemm_packed_elems(K, N);
  memset(dst, 0, (size_t)total * sizeof *dst);
  for (int64_t k = 0; k < K; k++)
    for (int64_t n = 0; n < N; n++) {
      int32_t z = zp ? qc_qload(zp, zp_t, n_zp == 1 ? 0 : n) : 0;
      dst[qc_igemm_b_index(kp, k, n)] = (int16_t)(qc_qload(src, t, k * ld + n) - z);
    }
}

int64_t qc_igemm_k_exact(int32_t max_abs_a, int32_t max_abs_b)
{
  int64_t term = (int64_t)max_abs_a * max_abs_b;
  return term ? (int64_t)INT32_MAX / term : INT64_MAX;
}

typedef struct {
  int64_t M, N, K, lda, ldc, row_tiles;
  const int16_t *A, *Bp;
  int32_t *C;
} igemm_job;

/* The pair (a[k], a[k + 1]) of a row as one int32, low half first (rows are padded to even). */
static inline int32_t a_pair(const int16_t *a, int64_t k)
{
  int32_t v;
  memcpy(&v, a + k, sizeof v);
  return v;
}

/* Writes rows x cols of an accumulator block (row stride QC_NR) to C. */
static void store_block(const igemm_job *j, int64_t m0, int rows, int64_t n0, int64_t cols,
                        const uint32_t *acc)
{
  for (int r = 0; r < rows; r++) {
    int32_t *c = j->C + (m0 + r) * j->ldc + n0;
    for (int64_t n = 0; n < cols; n++) c[n] = (int32_t)acc[r * QC_NR + n]; /* mod 2^32 (gcc) */
  }
}

/* Portable micro-kernel: rows x QC_NR block at (m0, n0) of panel `panel`. */
static void micro_generic(const igemm_job *j, int64_t m0, int rows, int64_t panel, int64_t nsub)
{
  uint32_t acc[QC_MR * QC_NR] = {0};
  int64_t kp = qc_igemm_kp(j->K);
  const int16_t *bp = j->Bp + panel * kp * QC_IGEMM_NC + nsub * QC_NR * 2;
  for (int64_t k = 0; k < j->K; k += 2) {
    const int16_t *b = bp + k * QC_IGEMM_NC;
    for (int r = 0; r < rows; r++) {
      const int16_t *a = j->A + (m0 + r) * j->lda;
      int32_t a0 = a[k], a1 = a[k + 1];
      uint32_t *c = acc + r * QC_NR;
      for (int n = 0; n < QC_NR; n++)
        c[n] += (uint32_t)(a0 * (int32_t)b[2 * n]) + (uint32_t)(a1 * (int32_t)b[2 * n + 1]);
    }
  }
  int64_t n0 = panel * QC_IGEMM_NC + nsub * QC_NR;
  store_block(j, m0, rows, n0, j->N - n0 < QC_NR ? j->N - n0 : QC_NR, acc);
}

#ifdef QC_IGEMM_AVX2
/* AVX2 micro-kernel: per k pair, two 8-column vectors of interleaved B and, per row, one
   broadcast A pair; vpmaddwd forms a0 * b0 + a1 * b1 in int32. */
__attribute__((target("avx2"))) static void micro_avx2(const igemm_job *j, int64_t m0, int rows,
                                                        int64_t panel, int64_t nsub)
{
  __m256i c[QC_MR][2];
  for (int r = 0; r < QC_MR; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();
  int64_t kp = qc_igemm_kp(j->K);
  const int16_t *bp = j->Bp + panel * kp * QC_IGEMM_NC + nsub * QC_NR * 2;
  const int16_t *a[QC_MR];
  for (int r = 0; r < QC_MR; r++) a[r] = j->A + (m0 + (r < rows ? r : 0)) * j->lda;
  for (int64_t k = 0; k < j->K; k += 2) {
    const int16_t *b = bp + k * QC_IGEMM_NC;
    __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 16));
    for (int r = 0; r < QC_MR; r++) {
      __m256i av = _mm256_set1_epi32(a_pair(a[r], k));
      c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(av, b0));
      c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(av, b1));
    }
  }
  uint32_t acc[QC_MR * QC_NR];
  for (int r = 0; r < QC_MR; r++) {
    _mm256_storeu_si256((__m256i *)(acc + r * QC_NR), c[r][0]);
    _mm256_storeu_si256((__m256i *)(acc + r * QC_NR + 8), c[r][1]);
  }
  int64_t n0 = panel * QC_IGEMM_NC + nsub * QC_NR;
  store_block(j, m0, rows, n0, j->N - n0 < QC_NR ? j->N - n0 : QC_NR, acc);
}
#endif

typedef void (*micro_fn)(const igemm_job *j, int64_t m0, int rows, int64_t panel, int64_t nsub);

static micro_fn pick_micro(void)
{
#ifdef QC_IGEMM_AVX2
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return micro_avx2;
#endif
  return micro_generic;
}

typedef struct {
  const igemm_job *j;
  micro_fn micro;
} igemm_task_arg;

static void igemm_task(void *arg, int64_t begin, int64_t end, int worker)
{
  const igemm_task_arg *ta = arg;
  const igemm_job *j = ta->j;
  for (int64_t t = begin; t < end; t++) {
    int64_t panel = t / j->row_tiles, rt = t % j->row_tiles;
    int64_t m_end = (rt + 1) * QC_TILE_ROWS < j->M ? (rt + 1) * QC_TILE_ROWS : j->M;
    int64_t nsubs = (j->N - panel * QC_IGEMM_NC + QC_NR - 1) / QC_NR;
    if (nsubs > QC_IGEMM_NC / QC_NR) nsubs = QC_IGEMM_NC / QC_NR;
    for (int64_t s = 0; s < nsubs; s++)
      for (int64_t m = rt * QC_TILE_ROWS; m < m_end; m += QC_MR)
        ta->micro(j, m, m_end - m < QC_MR ? (int)(m_end - m) : QC_MR, panel, s);
  }
}

static void igemm_run(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                      const int16_t *Bp, int32_t *C, int64_t ldc, micro_fn micro)
{
  if (M <= 0 || N <= 0) return;
  igemm_job j = {M, N, K, lda, ldc, (M + QC_TILE_ROWS - 1) / QC_TILE_ROWS, A, Bp, C};
  igemm_task_arg ta = {&j, micro};
  int64_t panels = (N + QC_IGEMM_NC - 1) / QC_IGEMM_NC;
  /* Small products run inline: waking the pool costs more than they do. */
  if (M * N * K < (1 << 16)) p = NULL;
  qc_pool_run(p, panels * j.row_tiles, 1, igemm_task, &ta);
}

void qc_igemm_s16(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                  const int16_t *Bp, int32_t *C, int64_t ldc)
{
  igemm_run(p, M, N, K, A, lda, Bp, C, ldc, pick_micro());
}

void qc_igemm_s16_portable(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A,
                           int64_t lda, const int16_t *Bp, int32_t *C, int64_t ldc)
{
  igemm_run(p, M, N, K, A, lda, Bp, C, ldc, micro_generic);
}

const char *qc_igemm_kernel_name(void)
{
  return pick_micro() == micro_generic ? "generic" : "avx2";
}

qc_status qc_dyadic_from_real(double M, int32_t *mult, int32_t *shift, qc_err *e)
{
  if (!(M > 0.0) || !isfinite(M))
    return qc_err_set(e, QC_ERR_INVALID, "requantization multiplier %g is not a positive number",
                      M);
  int exp;
  double f = frexp(M, &exp);
  int64_t m = (int64_t)llround(f * 2147483648.0); /* f * 2^31, in [2^30, 2^31] */
  if (m == ((int64_t)1 << 31)) {
    m >>= 1;
    exp++;
  }
  int s = 31 - exp;
  if (s < 1 || s > 62)
    return qc_err_set(e, QC_ERR_INVALID,
                      "requantization multiplier %g needs a shift of %d, outside 1..62", M, s);
  *mult = (int32_t)m;
  *shift = s;
  return QC_OK;
}
