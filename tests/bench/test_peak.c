/* benchmarks/peak.c's kernels really perform the multiply-adds they are counted for: after ITERS
   loop trips every lane of every accumulator holds ITERS x (steps per accumulator) x the lane
   gain of one step, computed here by hand from the operands (fp32 1*1; u8 3 x s8 -2 over four
   bytes = -24; int16 3 x -2 over two = -12). A kernel that skipped or duplicated instructions,
   or clobbered an accumulator, would miscount its GMAC/s and fails here. Timing is not checked. */
#define QC_PEAK_NO_MAIN
#include "../../benchmarks/peak.c"

#include "testutil.h"

static void check_kernel(const peak_kernel *k, uint64_t iters)
{
  _Alignas(64) unsigned char a[64], b[64], out[PEAK_OUT_BYTES];
  memset(out, 0x55, sizeof out);
  int64_t gain = peak_operands(k, a, b);
  k->fn(iters, a, b, out);
  CU_ASSERT_EQUAL_FATAL(k->steps % k->nacc, 0);
  int64_t want = (int64_t)iters * (k->steps / k->nacc) * gain;
  int lanes = k->nacc * k->vbytes / 4, bad = 0;
  for (int i = 0; i < lanes; i++) {
    if (k->elem == 'f') {
      float v;
      memcpy(&v, out + 4 * i, 4);
      bad += v != (float)want;
    } else {
      int32_t v;
      memcpy(&v, out + 4 * i, 4);
      bad += v != (int32_t)want;
    }
  }
  if (bad) fprintf(stderr, "%s %s: %d of %d lanes differ from %lld\n", k->name, k->isa, bad,
                   lanes, (long long)want);
  CU_ASSERT_EQUAL(bad, 0);
}

static void test_kernels_count(void)
{
  int ran = 0;
  for (int i = 0; i < PEAK_NKERNELS; i++) {
    if (!peak_kernels[i].have()) continue;
    check_kernel(&peak_kernels[i], 1);
    check_kernel(&peak_kernels[i], 1000);
    ran++;
  }
  /* Every x86-64 host this project targets has AVX2; every AArch64 has NEON. */
  CU_ASSERT(ran >= 1);
}

static void test_rates_positive(void)
{
  for (int i = 0; i < PEAK_NKERNELS; i++) {
    if (!peak_kernels[i].have()) continue;
    double w;
    CU_ASSERT(peak_rate(&peak_kernels[i], 2, 2000, &w) > 0 && w > 0);
    CU_ASSERT(peak_measure(&peak_kernels[i], 1, 2, &w) > 0 && w > 0);
  }
}

static CU_TestInfo tests[] = {
    {"every kernel does iters x steps multiply-adds", test_kernels_count},
    {"1 and 2 thread rates are positive", test_rates_positive},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"peak", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
