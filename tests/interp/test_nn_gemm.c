/* qc_sgemm against a naive triple loop in double: every size 1..67 in each dimension (strided
   sample), all four transpose combinations, alpha/beta variants, row strides larger than the
   matrix, beta = 0 ignoring NaNs in C, and results independent of the thread count. */
#include <math.h>
#include <string.h>
#include "gemm.h"
#include "testutil.h"

static float frand(unsigned *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* C = alpha op(A) op(B) + beta C in double. */
static void naive(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc)
{
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t q = 0; q < k; q++)
        s += (double)(ta ? a[q * lda + i] : a[i * lda + q]) *
             (double)(tb ? b[j * ldb + q] : b[q * ldb + j]);
      double old = beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j];
      c[i * ldc + j] = (float)(alpha * s + old);
    }
}

/* One case; returns the number of mismatching elements (tolerance scales with k). */
static int run_case(qc_pool *p, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                    float beta, int64_t pad, unsigned seed)
{
  int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  int64_t ra = ta ? k : m, rb = tb ? n : k;
  float *a = malloc(sizeof(float) * (size_t)(ra * lda + 1));
  float *b = malloc(sizeof(float) * (size_t)(rb * ldb + 1));
  float *c = malloc(sizeof(float) * (size_t)(m * ldc + 1));
  float *r = malloc(sizeof(float) * (size_t)(m * ldc + 1));
  void *ws = malloc(qc_sgemm_ws_bytes(m, n, k));
  for (int64_t i = 0; i < ra * lda; i++) a[i] = frand(&seed);
  for (int64_t i = 0; i < rb * ldb; i++) b[i] = frand(&seed);
  for (int64_t i = 0; i < m * ldc; i++) c[i] = r[i] = beta == 0.0f ? NAN : frand(&seed);
  /* the padding columns of C must be left alone */
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = n; j < ldc; j++) c[i * ldc + j] = r[i * ldc + j] = 42.0f;
  qc_sgemm(p, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ws);
  naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, r, ldc);
  int bad = 0;
  double tol = 1e-5 * (double)(k + 1);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < ldc; j++) {
      float x = c[i * ldc + j], y = r[i * ldc + j];
      if (!(fabs((double)x - (double)y) <= tol)) {
        if (bad < 3)
          fprintf(stderr, "  ta=%d tb=%d m=%lld n=%lld k=%lld C[%lld][%lld] = %g, want %g\n",
                  ta, tb, (long long)m, (long long)n, (long long)k, (long long)i,
                  (long long)j, (double)x, (double)y);
        bad++;
      }
    }
  free(a);
  free(b);
  free(c);
  free(r);
  free(ws);
  return bad;
}

static void test_odd_sizes(void)
{
  qc_err e = {0};
  qc_pool *p = qc_pool_new(2, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(p);
  int bad = 0, cases = 0;
  for (int t = 0; t < 4; t++)
    for (int64_t m = 1; m <= 67; m += 3)
      for (int64_t n = 1; n <= 67; n += 5)
        for (int64_t k = 1; k <= 67; k += 11) {
          bad += run_case(p, t & 1, t >> 1, m, n, k, 1.0f, 0.0f, 0, (unsigned)(m * 7 + n + k));
          cases++;
        }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(cases, 4 * 23 * 14 * 7);
  qc_pool_free(p);
}

/* Every value of one dimension 1..67 with the others fixed, so each edge-tile width occurs. */
static void test_each_edge(void)
{
  int bad = 0;
  for (int t = 0; t < 4; t++)
    for (int64_t d = 1; d <= 67; d++) {
      bad += run_case(NULL, t & 1, t >> 1, d, 19, 13, 1.0f, 0.0f, 0, (unsigned)d);
      bad += run_case(NULL, t & 1, t >> 1, 7, d, 13, 1.0f, 0.0f, 0, (unsigned)d + 1);
      bad += run_case(NULL, t & 1, t >> 1, 7, 19, d, 1.0f, 0.0f, 0, (unsigned)d + 2);
    }
  CU_ASSERT_EQUAL(bad, 0);
}

static void test_alpha_beta_strides(void)
{
  qc_err e = {0};
  qc_pool *p = qc_pool_new(2, &e);
  int bad = 0;
  float ab[][2] = {{1, 1}, {0.5f, 0}, {-2, 0.25f}, {1, -1}, {0, 0.5f}, {0, 0}};
  for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++)
    for (int t = 0; t < 4; t++) {
      bad += run_case(p, t & 1, t >> 1, 13, 35, 29, ab[i][0], ab[i][1], 3, 11u + (unsigned)i);
      bad += run_case(p, t & 1, t >> 1, 1, 1, 1, ab[i][0], ab[i][1], 1, 5u + (unsigned)i);
    }
  /* k = 0: C = beta * C */
  bad += run_case(p, false, false, 5, 6, 0, 1.0f, 0.5f, 0, 9);
  bad += run_case(p, true, true, 5, 6, 0, 1.0f, 0.0f, 2, 9);
  CU_ASSERT_EQUAL(bad, 0);
  qc_pool_free(p);
}

/* Sizes past the KC/MC/NC blocking, where k is split into slices. */
static void test_large(void)
{
  qc_err e = {0};
  qc_pool *p = qc_pool_new(2, &e);
  int bad = 0;
  bad += run_case(p, false, false, 131, 3100, 300, 1.0f, 0.0f, 0, 3);
  bad += run_case(p, true, true, 250, 70, 530, 0.5f, 1.0f, 1, 4);
  bad += run_case(p, false, true, 7, 1000, 2100, 1.0f, 0.0f, 0, 5);
  CU_ASSERT_EQUAL(bad, 0);
  qc_pool_free(p);
}

/* The same product with 1 and 3 threads is bit-identical. */
static void test_thread_invariance(void)
{
  qc_err e = {0};
  qc_pool *p1 = qc_pool_new(1, &e), *p3 = qc_pool_new(3, &e);
  int64_t m = 150, n = 700, k = 600;
  unsigned seed = 77;
  float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
  float *c1 = malloc(sizeof(float) * (size_t)(m * n));
  float *c3 = malloc(sizeof(float) * (size_t)(m * n));
  void *ws = malloc(qc_sgemm_ws_bytes(m, n, k));
  for (int64_t i = 0; i < m * k; i++) a[i] = frand(&seed);
  for (int64_t i = 0; i < k * n; i++) b[i] = frand(&seed);
  qc_sgemm(p1, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c1, n, ws);
  qc_sgemm(p3, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c3, n, ws);
  CU_ASSERT_EQUAL(memcmp(c1, c3, sizeof(float) * (size_t)(m * n)), 0);
  free(a);
  free(b);
  free(c1);
  free(c3);
  free(ws);
  qc_pool_free(p1);
  qc_pool_free(p3);
}

static CU_TestInfo tests[] = {
    {"sizes 1..67, all transposes, vs naive", test_odd_sizes},
    {"each edge width 1..67", test_each_edge},
    {"alpha, beta, row strides, k = 0", test_alpha_beta_strides},
    {"sizes beyond one cache block", test_large},
    {"bit-identical across thread counts", test_thread_invariance},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"sgemm", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
