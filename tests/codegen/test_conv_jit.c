/* Conv / GEMM kernels compiled for this machine against the interpreter: 375 random shapes
 * over seven paths (groups, depthwise, strides, dilations, pads, 1x1, gemm rows 1..40, odd K, c_out
 * not a multiple of the vector width, u8/i8 x i8/i4, y u8/i8/i16/i32, bias, residual), integer
 * outputs bit for bit, float within 1e-4 relative, tasks split in two. */
#include "conv_harness.h"

static bool host_has(const char *feature)
{
  char *hf = LLVMGetHostCPUFeatures();
  char want[64];
  snprintf(want, sizeof want, "+%s", feature);
  bool has = strstr(hf, want) != NULL;
  LLVMDisposeMessage(hf);
  return has;
}

static void test_host_f32(void) { CU_ASSERT_EQUAL(h_random_batch("native", NULL, 75, false, "host f32"), 0); }
static void test_host_int(void) { CU_ASSERT_EQUAL(h_random_batch("native", NULL, 100, true, "host int"), 0); }

/* The portable paths: SSE2 only (4 lanes, generic pair sums), and AVX without AVX2 (8 lanes). */
static void test_portable_f32(void) { CU_ASSERT_EQUAL(h_random_batch("x86-64", NULL, 25, false, "sse f32"), 0); }
static void test_portable_int(void) { CU_ASSERT_EQUAL(h_random_batch("x86-64", NULL, 50, true, "sse int"), 0); }
static void test_avx_int(void)
{
  if (!host_has("avx")) return;
  CU_ASSERT_EQUAL(h_random_batch("sandybridge", NULL, 15, true, "avx int"), 0);
  CU_ASSERT_EQUAL(h_random_batch("sandybridge", NULL, 10, false, "avx f32"), 0);
}

/* The vpdpbusd (u8 x s8 quads, i8 activations biased by 128) and sdot (s8 x s8, u8 activations
   biased by -128) layouts with generic IR for the dot products: packing, im2col and the
   compensation folded into the bias, bit for bit. */
static void test_vnni_layout(void)
{
  CU_ASSERT_EQUAL(h_random_batch_path("native", NULL, CG_I8_AVX512_VNNI, 50, true, "vnni layout"), 0);
}
static void test_sdot_layout(void)
{
  CU_ASSERT_EQUAL(h_random_batch_path("native", NULL, CG_I8_NEON_SDOT, 50, true, "sdot layout"), 0);
}

static CU_TestInfo tests[] = {
    {"host f32", test_host_f32},
    {"host int8", test_host_int},
    {"portable f32 (sse2)", test_portable_f32},
    {"portable int8 (sse2)", test_portable_int},
    {"avx without avx2", test_avx_int},
    {"vpdpbusd layout (generic dot)", test_vnni_layout},
    {"sdot layout (generic dot)", test_sdot_layout},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"conv kernels", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QC_TEST_MAIN(suites)
