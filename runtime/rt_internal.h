/* runtime/ internals shared by its files: CRC-32 and the thread pool. Not installed. */
#ifndef QC_RT_INTERNAL_H
#define QC_RT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "quantc_rt.h"

/* zlib-compatible CRC-32; crc is a previous result, 0 to start. */
uint32_t qcrt_crc32(uint32_t crc, const void *data, size_t bytes);

/* threads-1 workers plus the caller. Each thread t owns scratch + t * scratch_stride. */
typedef struct qcrt_pool qcrt_pool;
qcrt_status qcrt_pool_start(int threads, uint8_t *scratch, size_t scratch_stride, qcrt_pool **out,
                            qcrt_err *err);
/* Runs fn over tasks [0, n_tasks) split into contiguous chunks, one per thread, and returns
   when all are done. Allocates nothing. */
void qcrt_pool_run(qcrt_pool *p, qca_kernel_fn fn, uint8_t *arena, const uint8_t *weights,
                   uint64_t n_tasks);
/* Joins the workers and frees the pool; NULL is a no-op. */
void qcrt_pool_stop(qcrt_pool *p);

#endif
