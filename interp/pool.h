/* A fixed pool of worker threads for data-parallel loops. No global state: the interpreter (or a
   tool) owns one pool and passes it down. */
#ifndef QC_POOL_H
#define QC_POOL_H

#include <stdint.h>
#include "ir.h"

typedef struct qc_pool qc_pool;

/* threads <= 0 means one per online CPU. NULL on failure (e set). */
qc_pool *qc_pool_new(int threads, qc_err *e);
void qc_pool_free(qc_pool *p);
int qc_pool_threads(const qc_pool *p);

/* Calls fn(arg, begin, end, worker) over [0, n) in chunks of at least grain items, spread over
   the pool's threads (worker in [0, threads)), and returns when all are done. p may be NULL
   (runs inline as worker 0). Not reentrant: fn must not call qc_pool_run on the same pool. */
typedef void (*qc_task_fn)(void *arg, int64_t begin, int64_t end, int worker);
void qc_pool_run(qc_pool *p, int64_t n, int64_t grain, qc_task_fn fn, void *arg);

#endif
