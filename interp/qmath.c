/* The integer GEMM shared by the integer kernels (see qmath.h for its exactness contract). */
#include "qmath.h"

/* Rows per tile: the micro-kernel keeps QC_MR rows x QC_IGEMM_NC columns of uint32 accumulators
   (1 KiB) in a local array the compiler vectorizes across columns. */
#define QC_MR 4
#define QC_TILE_ROWS 32

int64_t qc_igemm_packed_elems(int64_t K, int64_t N)
{
  int64_t panels = (N + QC_IGEMM_NC - 1) / QC_IGEMM_NC;
  if (K < 0 || N < 0 || (K && panels > INT64_MAX / QC_IGEMM_NC / K)) return -1;
  return panels * K * QC_IGEMM_NC;
}

void qc_igemm_pack_b(const void *src, qc_dtype t, int64_t K, int64_t N, int64_t ld,
                     const int32_t *zp, int64_t n_zp, int16_t *dst)
{
  int64_t panels = (N + QC_IGEMM_NC - 1) / QC_IGEMM_NC;
  for (int64_t p = 0; p < panels; p++) {
    int64_t n0 = p * QC_IGEMM_NC, nc = N - n0 < QC_IGEMM_NC ? N - n0 : QC_IGEMM_NC;
    for (int64_t k = 0; k < K; k++) {
      int16_t *d = dst + (p * K + k) * QC_IGEMM_NC;
      for (int64_t j = 0; j < nc; j++) {
        int32_t z = zp ? zp[n_zp == 1 ? 0 : n0 + j] : 0;
        d[j] = (int16_t)(qc_qload(src, t, k * ld + n0 + j) - z);
      }
      for (int64_t j = nc; j < QC_IGEMM_NC; j++) d[j] = 0;
    }
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

/* rows x QC_IGEMM_NC block of C from rows of A and one panel of B. */
static void igemm_block(const igemm_job *j, int64_t m0, int rows, int64_t panel)
{
  uint32_t acc[QC_MR][QC_IGEMM_NC] = {{0}};
  const int16_t *restrict bp = j->Bp + panel * j->K * QC_IGEMM_NC;
  const int16_t *a[QC_MR];
  for (int r = 0; r < QC_MR; r++) a[r] = j->A + (m0 + (r < rows ? r : 0)) * j->lda;
  for (int64_t k = 0; k < j->K; k++) {
    const int16_t *restrict b = bp + k * QC_IGEMM_NC;
    for (int r = 0; r < QC_MR; r++) {
      int32_t av = a[r][k];
      uint32_t *restrict c = acc[r];
      for (int n = 0; n < QC_IGEMM_NC; n++) c[n] += (uint32_t)(av * (int32_t)b[n]);
    }
  }
  int64_t n0 = panel * QC_IGEMM_NC;
  int64_t nc = j->N - n0 < QC_IGEMM_NC ? j->N - n0 : QC_IGEMM_NC;
  for (int r = 0; r < rows; r++) {
    int32_t *c = j->C + (m0 + r) * j->ldc + n0;
    for (int64_t n = 0; n < nc; n++) c[n] = (int32_t)acc[r][n]; /* modulo 2^32 (gcc) */
  }
}

static void igemm_task(void *arg, int64_t begin, int64_t end, int worker)
{
  const igemm_job *j = arg;
  for (int64_t t = begin; t < end; t++) {
    int64_t panel = t / j->row_tiles, rt = t % j->row_tiles;
    int64_t m_end = (rt + 1) * QC_TILE_ROWS < j->M ? (rt + 1) * QC_TILE_ROWS : j->M;
    for (int64_t m = rt * QC_TILE_ROWS; m < m_end; m += QC_MR)
      igemm_block(j, m, m_end - m < QC_MR ? (int)(m_end - m) : QC_MR, panel);
  }
}

void qc_igemm_s16(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                  const int16_t *Bp, int32_t *C, int64_t ldc)
{
  if (M <= 0 || N <= 0) return;
  igemm_job j = {M, N, K, lda, ldc, (M + QC_TILE_ROWS - 1) / QC_TILE_ROWS, A, Bp, C};
  int64_t panels = (N + QC_IGEMM_NC - 1) / QC_IGEMM_NC;
  int64_t tiles = panels * j.row_tiles;
  /* Small products run inline: waking the pool costs more than they do. */
  if (M * N * K < (1 << 16)) p = NULL;
  qc_pool_run(p, tiles, 1, igemm_task, &j);
}
