/* The runtime's thread pool: threads-1 workers plus the caller. A step is published by writing
 * the job and then bumping an atomic generation number (release); worker w runs chunk w of the
 * step (if there is one) and the caller runs chunk 0, then waits until every worker has
 * acknowledged the step. That wait is the barrier between steps. Both sides poll briefly (steps
 * follow each other within microseconds) and then sleep on a condition variable; every wake-up
 * is signalled under the mutex after the state change it announces, so none is lost. Nothing
 * here allocates after qcrt_pool_start. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* Polling before sleeping: some tens of microseconds, a few steps of a small model. */
#define SPIN_ITERS 2000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

typedef struct {
  qcrt_pool *pool;
  int idx;
} worker_arg;

struct qcrt_pool {
  pthread_mutex_t mu;
  pthread_cond_t work;     /* signalled (under mu) when gen changes or stop is set */
  pthread_cond_t done;     /* signalled (under mu) when pending reaches 0 */
  int threads;
  int n_started;           /* workers actually running, joined by stop */
  pthread_t *tids;
  worker_arg *args;
  uint8_t *scratch;
  size_t scratch_stride;
  atomic_uint_fast64_t gen;
  atomic_int stop;
  atomic_int pending;
  /* the current step: written before gen is bumped, read after gen is seen */
  int n_chunks;
  qca_kernel_fn fn;
  uint8_t *arena;
  const uint8_t *weights;
  uint64_t n_tasks;
};

/* Chunk c of k over [0, n): the first n % k chunks get one task more. */
static void chunk_range(uint64_t n, int k, int c, int64_t *t0, int64_t *t1)
{
  uint64_t base = n / (uint64_t)k, rem = n % (uint64_t)k, uc = (uint64_t)c;
  uint64_t start = uc * base + (uc < rem ? uc : rem);
  *t0 = (int64_t)start;
  *t1 = (int64_t)(start + base + (uc < rem ? 1 : 0));
}

/* Waits until gen differs from seen or stop is set; returns the new gen (0 on stop). */
static uint64_t wait_work(qcrt_pool *p, uint64_t seen)
{
  for (int i = 0; i < SPIN_ITERS; i++) {
    if (atomic_load_explicit(&p->stop, memory_order_acquire)) return 0;
    uint64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
    if (g != seen) return g;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  while (!atomic_load(&p->stop) && atomic_load(&p->gen) == seen)
    pthread_cond_wait(&p->work, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return atomic_load(&p->stop) ? 0 : atomic_load(&p->gen);
}

static void *worker_main(void *argp)
{
  worker_arg *a = argp;
  qcrt_pool *p = a->pool;
  uint8_t *scratch = p->scratch + (size_t)a->idx * p->scratch_stride;
  /* gen is 0 until the first step, which can only be published after start returned. Every
     worker acknowledges every step, chunk or not, so none is still reading a step's fields
     when the caller writes the next one's, and none can miss a step. */
  uint64_t seen = 0;
  for (;;) {
    seen = wait_work(p, seen);
    if (seen == 0) break;
    if (a->idx < p->n_chunks) {   /* a step may have fewer chunks than threads */
      int64_t t0, t1;
      chunk_range(p->n_tasks, p->n_chunks, a->idx, &t0, &t1);
      p->fn(p->arena, p->weights, scratch, t0, t1);
    }
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

qcrt_status qcrt_pool_start(int threads, uint8_t *scratch, size_t scratch_stride, qcrt_pool **out,
                            qcrt_err *err)
{
  *out = NULL;
  qcrt_pool *p = calloc(1, sizeof *p);
  if (!p) goto nomem;
  p->threads = threads;
  p->scratch = scratch;
  p->scratch_stride = scratch_stride;
  if (threads > 1) {
    p->tids = calloc((size_t)threads, sizeof *p->tids);
    p->args = calloc((size_t)threads, sizeof *p->args);
    if (!p->tids || !p->args) {
      free(p->tids);
      free(p->args);
      free(p);
      goto nomem;
    }
  }
  atomic_init(&p->gen, 0);
  atomic_init(&p->stop, 0);
  atomic_init(&p->pending, 0);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int w = 1; w < threads; w++) {
    p->args[w].pool = p;
    p->args[w].idx = w;
    int rc = pthread_create(&p->tids[w], NULL, worker_main, &p->args[w]);
    if (rc != 0) {
      qcrt_pool_stop(p);
      if (err) {
        err->code = QCRT_ERR_THREAD;
        snprintf(err->msg, sizeof err->msg, "cannot start worker thread %d of %d: %s", w,
                 threads - 1, strerror(rc));
      }
      return QCRT_ERR_THREAD;
    }
    p->n_started = w;
  }
  *out = p;
  return QCRT_OK;
nomem:
  if (err) {
    err->code = QCRT_ERR_NOMEM;
    snprintf(err->msg, sizeof err->msg, "out of memory allocating the thread pool");
  }
  return QCRT_ERR_NOMEM;
}

void qcrt_pool_run(qcrt_pool *p, qca_kernel_fn fn, uint8_t *arena, const uint8_t *weights,
                   uint64_t n_tasks)
{
  int k = p->threads;
  if ((uint64_t)k > n_tasks) k = (int)n_tasks;
  if (k <= 1) {
    fn(arena, weights, p->scratch, 0, (int64_t)n_tasks);
    return;
  }
  p->fn = fn;
  p->arena = arena;
  p->weights = weights;
  p->n_tasks = n_tasks;
  p->n_chunks = k;
  atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
  pthread_mutex_lock(&p->mu);   /* wakes the workers that went to sleep */
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);

  int64_t t0, t1;
  chunk_range(n_tasks, k, 0, &t0, &t1);
  fn(arena, weights, p->scratch, t0, t1);

  for (int i = 0; i < SPIN_ITERS; i++) {
    if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

void qcrt_pool_stop(qcrt_pool *p)
{
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int w = 1; w <= p->n_started; w++) pthread_join(p->tids[w], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mu);
  free(p->tids);
  free(p->args);
  free(p);
}
