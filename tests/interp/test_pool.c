/* Thread pool: every index of [0, n) is visited exactly once, worker ids stay in range, odd
   sizes, n = 0 and n = 1, grain, a NULL pool and many jobs in a row. */
#include <stdatomic.h>
#include <string.h>
#include "pool.h"
#include "testutil.h"

typedef struct {
  atomic_int *hits;
  atomic_int calls;
  atomic_int bad_worker;
  atomic_int short_chunks; /* chunks below the grain that are not the last one */
  int threads;
  int64_t n, grain;
} visit;

static void mark(void *arg, int64_t b, int64_t e, int worker)
{
  visit *v = arg;
  atomic_fetch_add(&v->calls, 1);
  if (worker < 0 || worker >= v->threads) atomic_fetch_add(&v->bad_worker, 1);
  if (e - b < v->grain && e != v->n) atomic_fetch_add(&v->short_chunks, 1);
  for (int64_t i = b; i < e; i++) atomic_fetch_add(&v->hits[i], 1);
}

static void check_cover(qc_pool *p, int64_t n, int64_t grain)
{
  visit v;
  memset(&v, 0, sizeof v);
  v.hits = calloc((size_t)n + 1, sizeof *v.hits);
  v.threads = qc_pool_threads(p);
  v.n = n;
  v.grain = grain;
  qc_pool_run(p, n, grain, mark, &v);
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; i++) wrong += atomic_load(&v.hits[i]) != 1;
  CU_ASSERT_EQUAL(wrong, 0);
  CU_ASSERT_EQUAL(atomic_load(&v.bad_worker), 0);
  CU_ASSERT_EQUAL(atomic_load(&v.short_chunks), 0);
  if (n == 0) CU_ASSERT_EQUAL(atomic_load(&v.calls), 0);
  if (n > 0) CU_ASSERT(atomic_load(&v.calls) >= 1);
  free(v.hits);
}

static void test_sizes(void)
{
  qc_err e = {0};
  for (int threads = 1; threads <= 4; threads++) {
    qc_pool *p = qc_pool_new(threads, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(qc_pool_threads(p), threads);
    int64_t sizes[] = {0, 1, 2, 3, 7, 97, 1000, 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      check_cover(p, sizes[i], 1);
      check_cover(p, sizes[i], 5);
      check_cover(p, sizes[i], 100000);
    }
    qc_pool_free(p);
  }
}

static void test_null_pool(void)
{
  check_cover(NULL, 0, 1);
  check_cover(NULL, 1, 1);
  check_cover(NULL, 1001, 3);
  CU_ASSERT_EQUAL(qc_pool_threads(NULL), 1);
}

static void test_default_threads(void)
{
  qc_err e = {0};
  qc_pool *p = qc_pool_new(0, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  CU_ASSERT(qc_pool_threads(p) >= 1);
  check_cover(p, 555, 1);
  qc_pool_free(p);
  qc_pool_free(NULL);
}

typedef struct {
  atomic_long sum;
} summer;

static void add_range(void *arg, int64_t b, int64_t e, int worker)
{
  summer *s = arg;
  long acc = 0;
  for (int64_t i = b; i < e; i++) acc += (long)i;
  atomic_fetch_add(&s->sum, acc);
}

/* Many short jobs back to back: catches lost wake-ups and jobs that return early. */
static void test_many_jobs(void)
{
  qc_err e = {0};
  qc_pool *p = qc_pool_new(3, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  int bad = 0;
  for (int r = 0; r < 3000; r++) {
    summer s;
    atomic_init(&s.sum, 0);
    int64_t n = 1 + r % 50;
    qc_pool_run(p, n, 1, add_range, &s);
    bad += atomic_load(&s.sum) != (long)(n * (n - 1) / 2);
  }
  CU_ASSERT_EQUAL(bad, 0);
  qc_pool_free(p);
}

static CU_TestInfo tests[] = {
    {"every index once, odd sizes, n=0, n=1, grain", test_sizes},
    {"NULL pool runs inline", test_null_pool},
    {"threads <= 0 means one per CPU", test_default_threads},
    {"many jobs in a row", test_many_jobs},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"pool", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
