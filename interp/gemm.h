/* Single-precision GEMM for the reference interpreter: packed, cache-blocked, parallel over a
   qc_pool. Private to interp/. */
#ifndef QC_GEMM_H
#define QC_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pool.h"

/* Bytes of workspace qc_sgemm needs for these sizes (packing buffers, alignment included). */
size_t qc_sgemm_ws_bytes(int64_t m, int64_t n, int64_t k);

/* C = alpha * op(A) * op(B) + beta * C, all row-major; op(A) is m x k (A is k x m when ta),
   op(B) is k x n (B is n x k when tb), C is m x n with row stride ldc. beta == 0 ignores C's
   old contents (NaNs included), as BLAS does. ws holds qc_sgemm_ws_bytes(m, n, k) bytes. The
   result does not depend on the pool's thread count. */
void qc_sgemm(qc_pool *pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc, void *ws);

/* Name of the micro-kernel variant in use ("avx2+fma" or "generic"), for benchmarks. */
const char *qc_sgemm_kernel_name(void);

#endif
