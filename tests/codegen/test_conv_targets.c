/* The target rows: CPU resolution, feature implications and the int8 path each CPU gets. */
#include <string.h>

#include "../codegen/cg.h"
#include "testutil.h"

static void expect_x86(const char *cpu, const char *features, const char *path, int lanes)
{
  cg_target t;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_target_x86_64(cpu, features, 3, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.i8_name, path);
  CU_ASSERT_EQUAL(t.f32_lanes, lanes);
  CU_ASSERT_EQUAL(t.vec_bytes, lanes * 4);
  CU_ASSERT_PTR_NOT_NULL(t.tm);
  CU_ASSERT_STRING_EQUAL(t.triple, "x86_64-pc-linux-gnu");
  cg_target_dispose(&t);
}

static void test_x86_named(void)
{
  expect_x86("x86-64", NULL, "scalar", 4);
  expect_x86("sandybridge", "", "scalar", 8);
  expect_x86("haswell", NULL, "avx2-s16", 8);
  expect_x86("znver3", NULL, "avx2-s16", 8);
  expect_x86("skylake-avx512", NULL, "avx2-s16", 16);
  expect_x86("icelake-server", NULL, "avx512-vnni", 16);
  expect_x86("sapphirerapids", NULL, "avx512-vnni", 16);
  expect_x86("alderlake", NULL, "avx-vnni", 8);
  expect_x86("x86-64", "+avx512vnni,+avx512bw", "avx512-vnni", 16);
}

/* "-x" also clears what implies x, "+x" sets what x implies (LLVM's rule). */
static void test_x86_feature_implications(void)
{
  expect_x86("haswell", "-avx2", "scalar", 8);
  expect_x86("haswell", "-avx", "scalar", 4);
  expect_x86("icelake-server", "-avx512f", "avx2-s16", 8);
  expect_x86("icelake-server", "-avx512vnni", "avx2-s16", 16);
  expect_x86("sapphirerapids", "-avx512f", "avx-vnni", 8);
  expect_x86("x86-64", "+avxvnni", "avx-vnni", 8);
  expect_x86("x86-64", "+avx2,-avx2,+avx", "scalar", 8);
}

static void test_x86_native(void)
{
  cg_target t;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_target_x86_64("native", NULL, 2, &t, &e), QC_OK);
  char *hc = LLVMGetHostCPUName(), *hf = LLVMGetHostCPUFeatures();
  CU_ASSERT_STRING_EQUAL(t.cpu, hc);
  CU_ASSERT_STRING_EQUAL(t.features, hf);
  /* The path follows the host's own feature list. */
  const char *want = strstr(hf, "+avx512vnni") && strstr(hf, "+avx512bw") ? "avx512-vnni"
                     : strstr(hf, "+avxvnni")                              ? "avx-vnni"
                     : strstr(hf, "+avx2")                                 ? "avx2-s16"
                                                                           : "scalar";
  CU_ASSERT_STRING_EQUAL(t.i8_name, want);
  LLVMDisposeMessage(hc);
  LLVMDisposeMessage(hf);
  cg_target_dispose(&t);
  CU_ASSERT_EQUAL_FATAL(cg_target_x86_64(NULL, "-avx2", 2, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.i8_name, "scalar");
  cg_target_dispose(&t);
}

static void test_aarch64(void)
{
  cg_target t;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_target_aarch64(NULL, NULL, 3, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.cpu, "cortex-a76");
  CU_ASSERT_STRING_EQUAL(t.i8_name, "neon-sdot");
  CU_ASSERT_EQUAL(t.f32_lanes, 4);
  cg_target_dispose(&t);
  CU_ASSERT_EQUAL_FATAL(cg_target_aarch64("cortex-a53", NULL, 3, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.i8_name, "neon");
  cg_target_dispose(&t);
  CU_ASSERT_EQUAL_FATAL(cg_target_aarch64("cortex-a53", "+dotprod", 3, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.i8_name, "neon-sdot");
  cg_target_dispose(&t);
  CU_ASSERT_EQUAL_FATAL(cg_target_aarch64("cortex-a76", "-neon", 3, &t, &e), QC_OK);
  CU_ASSERT_STRING_EQUAL(t.i8_name, "neon");
  cg_target_dispose(&t);
}

static void test_errors(void)
{
  cg_target t;
  qc_err e = {0};
  CU_ASSERT_EQUAL(cg_target_x86_64("pentium9", NULL, 3, &t, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "unknown x86-64 CPU 'pentium9'");
  cg_target_dispose(&t);
  qc_err e2 = {0};
  CU_ASSERT_EQUAL(cg_target_x86_64("haswell", "avx2", 3, &t, &e2), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e2.msg, "feature 'avx2' must start with '+' or '-'");
  cg_target_dispose(&t);
  qc_err e3 = {0};
  CU_ASSERT_EQUAL(cg_target_aarch64("native", NULL, 3, &t, &e3), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e3.msg, "--cpu native is for x86-64 only; name an AArch64 CPU");
  cg_target_dispose(&t);
  qc_err e4 = {0};
  CU_ASSERT_EQUAL(cg_target_aarch64("cortex-a99", NULL, 3, &t, &e4), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e4.msg, "unknown aarch64 CPU 'cortex-a99'");
  cg_target_dispose(&t);
}

/* cg_emit_conv refuses what it does not compile, naming the layer. */
static void test_emit_errors(void)
{
  cg_target t;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_target_x86_64("haswell", NULL, 3, &t, &e), QC_OK);
  cg_module m;
  CU_ASSERT_EQUAL_FATAL(cg_module_init(&m, &t, "err", &e), QC_OK);
  int8_t w[8] = {0};
  int32_t mult[2] = {1 << 30, 1 << 30}, shift[2] = {31, 31};
  cg_conv_spec s = {.name = "c1", .n = 1, .c_in = 2, .h = 2, .w = 2, .c_out = 2, .oh = 2, .ow = 2,
                    .kh = 1, .kw = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
                    .group = 1, .x_dt = QC_DT_I16, .w_dt = QC_DT_I8, .y_dt = QC_DT_U8,
                    .out_dt = QC_DT_U8, .wt = w, .mult = mult, .shift = shift, .qmax = 255};
  cg_kernel k;
  qc_err e1 = {0};
  CU_ASSERT_EQUAL(cg_emit_conv(&m, &s, &k, &e1), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e1.msg, "node 'c1': integer conv of i16 x i8 is not compiled");
  s.x_dt = QC_DT_U8, s.group = 3;
  qc_err e2 = {0};
  CU_ASSERT_EQUAL(cg_emit_conv(&m, &s, &k, &e2), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e2.msg, "node 'c1': inconsistent conv geometry");
  s.group = 1, s.y_dt = QC_DT_U16;
  qc_err e3 = {0};
  CU_ASSERT_EQUAL(cg_emit_conv(&m, &s, &k, &e3), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e3.msg, "node 'c1': integer conv output u16");
  s.y_dt = QC_DT_U8, s.mult = NULL;
  qc_err e4 = {0};
  CU_ASSERT_EQUAL(cg_emit_conv(&m, &s, &k, &e4), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e4.msg, "node 'c1': integer conv without mult/shift");
  s.mult = mult;
  qc_err e5 = {0};
  CU_ASSERT_EQUAL(cg_emit_conv(&m, &s, &k, &e5), QC_OK);
  CU_ASSERT_EQUAL(k.n_tasks, 1);
  CU_ASSERT_EQUAL(k.macs, 16);
  cg_module_dispose(&m);
  cg_target_dispose(&t);
}

static CU_TestInfo tests[] = {
    {"x86-64 named CPUs", test_x86_named},
    {"x86-64 feature implications", test_x86_feature_implications},
    {"x86-64 native", test_x86_native},
    {"aarch64", test_aarch64},
    {"error messages", test_errors},
    {"emitter error messages", test_emit_errors},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"targets", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QC_TEST_MAIN(suites)
