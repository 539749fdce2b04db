/* Thread pool: workers sleep on a condition variable between jobs; a job hands out chunks of
   [0, n) through an atomic cursor, so uneven chunks balance themselves. The calling thread is
   worker 0 and takes chunks like the others. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  struct qc_pool *pool;
  int id;
} worker_arg;

struct qc_pool {
  int threads; /* including the caller */
  pthread_t *tids;
  worker_arg *args;
  pthread_mutex_t mu;
  pthread_cond_t wake, done;
  /* The current job; written under mu before gen is bumped. */
  qc_task_fn fn;
  void *arg;
  int64_t n, chunk;
  atomic_int_fast64_t next;
  uint64_t gen;
  int pending; /* workers that have not finished the current job */
  int quit;
};

static void take_chunks(qc_pool *p, int id)
{
  for (;;) {
    int64_t b = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
    if (b >= p->n) return;
    int64_t e = p->n - b < p->chunk ? p->n : b + p->chunk;
    p->fn(p->arg, b, e, id);
  }
}

static void *worker_main(void *va)
{
  worker_arg *wa = va;
  qc_pool *p = wa->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->quit && p->gen == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->quit) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    take_chunks(p, wa->id);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
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
  p->fn = fn;
  p->arg = arg;
  p->n = n;
  p->chunk = chunk;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->pending = p->threads - 1;
  p->gen++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  take_chunks(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
