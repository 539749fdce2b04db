/* Thread pool: workers sleep on a condition variable between jobs; a job hands out chunks of
   [0, n) through an atomic cursor, so uneven chunks balance themselves. The calling thread is
   worker 0 and takes chunks like the others, and it waits only for chunks that were taken: a
   worker the OS has not scheduled yet (a busy machine) never delays a job, it just finds the
   job gone when it wakes. For that the cursor carries the job's generation in its high bits,
   so a late worker cannot claim a chunk of a job other than the one it read. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDX_BITS 40 /* chunk cursor; n is at most QC_MAX_ELEMS (2^36) in practice */
#define IDX_MASK ((UINT64_C(1) << IDX_BITS) - 1)

typedef struct {
  struct qc_pool *pool;
  int id;
} worker_arg;

typedef struct {
  qc_task_fn fn;
  void *arg;
  int64_t n, chunk;
  uint64_t gen;
} job;

struct qc_pool {
  int threads; /* including the caller */
  pthread_t *tids;
  worker_arg *args;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  job cur;                   /* the current job, written under mu */
  atomic_uint_fast64_t next; /* (gen << IDX_BITS) | next unclaimed index */
  atomic_int_fast64_t left;  /* items of the current job not finished yet */
  int quit;
};

/* Claims and runs chunks of job j until none is left or the job is no longer current. */
static void take_chunks(qc_pool *p, const job *j, int id)
{
  uint64_t tag = (j->gen << IDX_BITS) & ~IDX_MASK;
  for (;;) {
    uint64_t c = atomic_load(&p->next);
    int64_t b;
    do {
      if ((c & ~IDX_MASK) != tag) return;
      b = (int64_t)(c & IDX_MASK);
      if (b >= j->n) return;
    } while (!atomic_compare_exchange_weak(&p->next, &c, c + (uint64_t)j->chunk));
    int64_t e = j->n - b < j->chunk ? j->n : b + j->chunk;
    j->fn(j->arg, b, e, id);
    if (atomic_fetch_sub(&p->left, e - b) == e - b) { /* the last items: wake the caller */
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static void *worker_main(void *va)
{
  worker_arg *wa = va;
  qc_pool *p = wa->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->cur.gen == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->quit) break;
    job j = p->cur;
    seen = j.gen;
    pthread_mutex_unlock(&p->mu);
    take_chunks(p, &j, wa->id);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void stop_workers(qc_pool *p, int started)
{
  pthread_mutex_lock(&p->mu);
  p->quit = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < started; i++) pthread_join(p->tids[i], NULL);
}

qc_pool *qc_pool_new(int threads, qc_err *e)
{
  if (threads <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cpus > 0 ? (int)(cpus > 256 ? 256 : cpus) : 1;
  }
  qc_pool *p = calloc(1, sizeof *p);
  if (!p) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory creating a thread pool");
    return NULL;
  }
  p->threads = threads;
  atomic_init(&p->next, 0);
  atomic_init(&p->left, 0);
  if (threads == 1) return p;
  p->tids = calloc((size_t)threads - 1, sizeof *p->tids);
  p->args = calloc((size_t)threads - 1, sizeof *p->args);
  if (!p->tids || !p->args) {
    free(p->tids);
    free(p->args);
    free(p);
    qc_err_set(e, QC_ERR_NOMEM, "out of memory creating a thread pool");
    return NULL;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int i = 0; i < threads - 1; i++) {
    p->args[i] = (worker_arg){p, i + 1};
    int rc = pthread_create(&p->tids[i], NULL, worker_main, &p->args[i]);
    if (rc != 0) {
      qc_err_set(e, QC_ERR_NOMEM, "cannot start worker thread %d of %d: %s", i + 1, threads,
                 strerror(rc));
      p->threads = i + 1; /* the workers started so far */
      qc_pool_free(p);
      return NULL;
    }
  }
  return p;
}

void qc_pool_free(qc_pool *p)
{
  if (!p) return;
  if (p->tids) { /* the sync objects exist */
    stop_workers(p, p->threads - 1);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
  }
  free(p->tids);
  free(p->args);
  free(p);
}

int qc_pool_threads(const qc_pool *p) { return p ? p->threads : 1; }

void qc_pool_run(qc_pool *p, int64_t n, int64_t grain, qc_task_fn fn, void *arg)
{
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int threads = p ? p->threads : 1;
  /* About eight chunks per thread: enough to even out uneven chunks, few enough that the
     atomic cursor is not contended. */
  int64_t chunk = (n + (int64_t)threads * 8 - 1) / ((int64_t)threads * 8);
  if (chunk < grain) chunk = grain;
  if (threads == 1 || chunk >= n) {
    fn(arg, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  job j = {fn, arg, n, chunk, p->cur.gen + 1};
  p->cur = j;
  atomic_store(&p->left, n);
  atomic_store(&p->next, (j.gen << IDX_BITS) & ~IDX_MASK);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  take_chunks(p, &j, 0);
  if (atomic_load(&p->left) > 0) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->left) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}
