/* The quant kernels against ONNX's own node tests, bit for bit: each model is imported and run
 * through the interpreter, and every output (including DynamicQuantizeLinear's scale) must equal
 * the stored one exactly. Unlike the conformance runner, a refusal here is a failure: these ops
 * are quantc's to support. */
#include <stdio.h>
#include <string.h>

#include "interp.h"
#include "onnx.h"
#include "testutil.h"

#define NODE_DIR "/usr/share/libonnx-testdata/data/node/"

static const char *const TESTS[] = {
    "test_quantizelinear",           "test_quantizelinear_axis",
    "test_dequantizelinear",         "test_dequantizelinear_axis",
    "test_dynamicquantizelinear",    "test_dynamicquantizelinear_max_adjusted",
    "test_dynamicquantizelinear_min_adjusted",
    "test_matmulinteger",            "test_qlinearmatmul_2D",
    "test_qlinearmatmul_3D",         "test_qlinearconv",
    "test_basic_convinteger",        "test_convinteger_with_padding",
    "test_convinteger_without_padding",
};

/* Runs one node test; returns an empty string on success, else what went wrong. */
static void run_one(const char *name, char *why, size_t len)
{
  char path[512];
  why[0] = 0;
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_arena *a = qc_arena_new();
  qc_err e = {0};
  snprintf(path, sizeof path, NODE_DIR "%s/model.onnx", name);
  if (qc_onnx_load(path, &g, &e) != QC_OK || qc_interp_new(g, 2, &it, &e) != QC_OK) {
    snprintf(why, len, "%s", e.msg);
    goto out;
  }
  qc_tensor in[8];
  for (int i = 0; i < g->n_inputs && i < 8; i++) {
    snprintf(path, sizeof path, NODE_DIR "%s/test_data_set_0/input_%d.pb", name, i);
    if (qc_onnx_read_tensor_file(path, a, &in[i], NULL, 0, &e) != QC_OK) {
      snprintf(why, len, "%s", e.msg);
      goto out;
    }
  }
  if (qc_interp_run(it, in, g->n_inputs, &e) != QC_OK) {
    snprintf(why, len, "%s", e.msg);
    goto out;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    qc_tensor want;
    snprintf(path, sizeof path, NODE_DIR "%s/test_data_set_0/output_%d.pb", name, i);
    if (qc_onnx_read_tensor_file(path, a, &want, NULL, 0, &e) != QC_OK) {
      snprintf(why, len, "%s", e.msg);
      goto out;
    }
    const qc_tensor *got = qc_interp_output(it, i);
    bool same = got->dtype == want.dtype && got->rank == want.rank;
    for (int d = 0; same && d < got->rank; d++) same = got->dims[d] == want.dims[d];
    if (!same) {
      snprintf(why, len, "output %d: dtype or shape differs", i);
      goto out;
    }
    int64_t bytes = qc_tensor_bytes(&want);
    const unsigned char *x = got->data, *y = want.data;
    for (int64_t b = 0; b < bytes; b++)
      if (x[b] != y[b]) {
        snprintf(why, len, "output %d: byte %lld is %u, expected %u", i, (long long)b, x[b], y[b]);
        goto out;
      }
  }
out:
  qc_interp_free(it);
  qc_graph_free(g);
  qc_arena_free(a);
}

static void test_onnx_quant_nodes(void)
{
  FILE *f = fopen(NODE_DIR "test_qlinearconv/model.onnx", "rb");
  if (!f) {
    printf("\n  ONNX test data not installed: SKIPPED\n");
    CU_FAIL("libonnx-testdata missing");
    return;
  }
  fclose(f);
  for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++) {
    char why[1024];
    run_one(TESTS[i], why, sizeof why);
    if (why[0]) printf("\n  %s: %s", TESTS[i], why);
    CU_ASSERT_STRING_EQUAL(why, "");
  }
}

static CU_TestInfo tests[] = {
    {"onnx quant node tests bit-exact", test_onnx_quant_nodes},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"quant_onnx", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
