/* BatchNormalization folding: golden IR text on hand-computed cases, and the example ResNet run
   through the interpreter before and after folding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "passes.h"
#include "testutil.h"

static qc_graph *parse_ok(const char *text)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_parse(text, &g, &e);
  if (st != QC_OK) fprintf(stderr, "parse failed: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  return g;
}

/* fold-batchnorm then dce, verified after each, compared with want. */
static void check_fold(const char *in, const char *want)
{
  qc_graph *g = parse_ok(in);
  qc_pass rows[2];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_pass_builtin("fold-batchnorm", NULL, &rows[0], &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_pass_builtin("dce", NULL, &rows[1], &e), QC_OK);
  qc_status st = qc_pass_run_pipeline(g, rows, 2, true, &e);
  if (st != QC_OK) fprintf(stderr, "\npipeline failed: %s\n", e.msg);
  CU_ASSERT_EQUAL(st, QC_OK);
  char *s = qc_print(g, true);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  if (strcmp(s, want) != 0) fprintf(stderr, "\n--- got:\n%s--- want:\n%s", s, want);
  CU_ASSERT_STRING_EQUAL(s, want);
  free(s);
  qc_graph_free(g);
}

/* s = gamma / sqrt(var + eps) = [1/2, 2]; w' = w * s = [1, -2];
   b' = (0 - mean) * s + beta = [-1 * 0.5 + 0.5, 3 * 2 + 0] = [0, 6]. */
static void test_conv_no_bias(void)
{
  check_fold("graph \"g\" opset 17 {\n"
             "  input %x: f32[1,1,2,2]\n"
             "  const %w: f32[2,1,1,1] = [2.0, -1.0]\n"
             "  const %gamma: f32[2] = [1.0, 2.0]\n"
             "  const %beta: f32[2] = [0.5, 0.0]\n"
             "  const %mean: f32[2] = [1.0, -3.0]\n"
             "  const %var: f32[2] = [3.0, 0.0]\n"
             "  %c: f32[1,2,2,2] = Conv(%x, %w) @conv\n"
             "  %y: f32[1,2,2,2] = BatchNormalization(%c, %gamma, %beta, %mean, %var) "
             "{epsilon=1.0} @bn\n"
             "  output %y\n"
             "}\n",
             "graph \"g\" opset 17 {\n"
             "  input %x: f32[1,1,2,2]\n"
             "  const %conv_w_bnfold: f32[2,1,1,1] = [1.0, -2.0]\n"
             "  const %conv_b_bnfold: f32[2] = [0.0, 6.0]\n"
             "  %y: f32[1,2,2,2] = Conv(%x, %conv_w_bnfold, %conv_b_bnfold) @conv\n"
             "  output %y\n"
             "}\n");
}

/* Depthwise (group 2) with bias: s = [2/2, 1/2]; w' = [[1, 2] * 1, [3, 4] * 0.5];
   b' = [(1 - 0) * 1 + 1, (-1 - 1) * 0.5 + 1] = [2, 0]. The Relu after the BN stays. */
static void test_depthwise_bias(void)
{
  check_fold("graph \"g\" opset 17 {\n"
             "  input %x: f32[1,2,3,3]\n"
             "  const %w: f32[2,1,1,2] = [1.0, 2.0, 3.0, 4.0]\n"
             "  const %b: f32[2] = [1.0, -1.0]\n"
             "  const %gamma: f32[2] = [2.0, 1.0]\n"
             "  const %beta: f32[2] = [1.0, 1.0]\n"
             "  const %mean: f32[2] = [0.0, 1.0]\n"
             "  const %var: f32[2] = [4.0, 4.0]\n"
             "  %c = Conv(%x, %w, %b) {group=2} @dw\n"
             "  %y = BatchNormalization(%c, %gamma, %beta, %mean, %var) {epsilon=0.0} @bn\n"
             "  %r = Relu(%y) @relu\n"
             "  output %r\n"
             "}\n",
             "graph \"g\" opset 17 {\n"
             "  input %x: f32[1,2,3,3]\n"
             "  const %dw_w_bnfold: f32[2,1,1,2] = [1.0, 2.0, 1.5, 2.0]\n"
             "  const %dw_b_bnfold: f32[2] = [2.0, 0.0]\n"
             "  %y = Conv(%x, %dw_w_bnfold, %dw_b_bnfold) {group=2} @dw\n"
             "  %r = Relu(%y) @relu\n"
             "  output %r\n"
             "}\n");
}

/* Gemm (transB = 0, W is [K, M], beta = 2): s = [2, 0.5] scales W's columns;
   b' = (2 * C - mean) * s + bn_beta = [(2 - 1) * 2 + 0, (2 - 0) * 0.5 + 3] = [2, 4]; beta -> 1. */
static void test_gemm(void)
{
  check_fold("graph \"g\" opset 17 {\n"
             "  input %x: f32[3,2]\n"
             "  const %w: f32[2,2] = [1.0, 2.0, 3.0, 4.0]\n"
             "  const %c: f32[2] = [1.0, 1.0]\n"
             "  const %gamma: f32[2] = [2.0, 0.5]\n"
             "  const %beta: f32[2] = [0.0, 3.0]\n"
             "  const %mean: f32[2] = [1.0, 0.0]\n"
             "  const %var: f32[2] = [1.0, 1.0]\n"
             "  %h: f32[3,2] = Gemm(%x, %w, %c) {beta=2.0} @fc\n"
             "  %y: f32[3,2] = BatchNormalization(%h, %gamma, %beta, %mean, %var) "
             "{epsilon=0.0} @bn\n"
             "  output %y\n"
             "}\n",
             "graph \"g\" opset 17 {\n"
             "  input %x: f32[3,2]\n"
             "  const %fc_w_bnfold: f32[2,2] = [2.0, 1.0, 6.0, 2.0]\n"
             "  const %fc_b_bnfold: f32[2] = [2.0, 4.0]\n"
             "  %y: f32[3,2] = Gemm(%x, %fc_w_bnfold, %fc_b_bnfold) {beta=1.0} @fc\n"
             "  output %y\n"
             "}\n");
}

/* MatMul (W [K=2, M=2]) + Add(bias) + BN: s = [2, 0.5], t = beta - mean * s = [-2, 3];
   W' = [[1*2, 2*0.5], [3*2, 4*0.5]], b' = bias * s + t = [1*2 - 2, 2*0.5 + 3] = [0, 4]. */
static void test_matmul_add(void)
{
  check_fold("graph \"g\" opset 17 {\n"
             "  input %x: f32[3,2]\n"
             "  const %w: f32[2,2] = [1.0, 2.0, 3.0, 4.0]\n"
             "  const %c: f32[2] = [1.0, 2.0]\n"
             "  const %gamma: f32[2] = [2.0, 0.5]\n"
             "  const %beta: f32[2] = [0.0, 3.0]\n"
             "  const %mean: f32[2] = [1.0, 0.0]\n"
             "  const %var: f32[2] = [1.0, 1.0]\n"
             "  %h: f32[3,2] = MatMul(%x, %w) @mm\n"
             "  %hb: f32[3,2] = Add(%h, %c) @bias\n"
             "  %y: f32[3,2] = BatchNormalization(%hb, %gamma, %beta, %mean, %var) "
             "{epsilon=0.0} @bn\n"
             "  output %y\n"
             "}\n",
             "graph \"g\" opset 17 {\n"
             "  input %x: f32[3,2]\n"
             "  const %mm_w_bnfold: f32[2,2] = [2.0, 1.0, 6.0, 2.0]\n"
             "  const %mm_b_bnfold: f32[2] = [0.0, 4.0]\n"
             "  %h: f32[3,2] = MatMul(%x, %mm_w_bnfold) @mm\n"
             "  %y: f32[3,2] = Add(%h, %mm_b_bnfold) @bias\n"
             "  output %y\n"
             "}\n");
}

/* Not folded: the conv output has a second user; the BN's scale is not a constant. */
static void test_not_folded(void)
{
  const char *shared = "graph \"g\" opset 17 {\n"
                       "  input %x: f32[1,1,2,2]\n"
                       "  const %w: f32[1,1,1,1] = [2.0]\n"
                       "  const %p: f32[1] = [1.0]\n"
                       "  %c = Conv(%x, %w) @conv\n"
                       "  %y = BatchNormalization(%c, %p, %p, %p, %p) @bn\n"
                       "  %z = Add(%y, %c) @add\n"
                       "  output %z\n"
                       "}\n";
  check_fold(shared, shared);
  const char *dyn = "graph \"g\" opset 17 {\n"
                    "  input %x: f32[1,1,2,2]\n"
                    "  input %gamma: f32[1]\n"
                    "  const %w: f32[1,1,1,1] = [2.0]\n"
                    "  const %p: f32[1] = [1.0]\n"
                    "  %c = Conv(%x, %w) @conv\n"
                    "  %y = BatchNormalization(%c, %gamma, %p, %p, %p) @bn\n"
                    "  output %y\n"
                    "}\n";
  check_fold(dyn, dyn);
}

static uint32_t lcg(uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

/* The example model (BN unfolded in the file) before and after: outputs within 1e-5 relative
   (to the largest |logit|). */
static void test_example_model(void)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e);
  if (st != QC_OK) fprintf(stderr, "load: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  int n_bn = 0;
  for (int32_t i = 0; i < g->n_nodes; i++) n_bn += g->nodes[i].op == QC_OP_BatchNormalization;
  CU_ASSERT_EQUAL(n_bn, 9);

  enum { N = 8 };
  qc_tensor x = {QC_DT_F32, 4, {N, 1, 28, 28}, NULL};
  float *xd = malloc(sizeof(float) * N * 784);
  uint32_t seed = 7;
  for (int i = 0; i < N * 784; i++) xd[i] = (float)(lcg(&seed) % 256) / 255.0f / 0.353f - 0.81f;
  x.data = xd;
  float ref[N * 10], got[N * 10];
  qc_interp *it = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &x, 1, &e), QC_OK);
  memcpy(ref, qc_interp_output(it, 0)->data, sizeof ref);
  qc_interp_free(it);

  /* the exporter feeds some BN parameters through Identity nodes: fold those first */
  qc_pass rows[4];
  const char *names[] = {"infer-shapes", "fold-constants", "fold-batchnorm", "dce"};
  for (int i = 0; i < 4; i++)
    CU_ASSERT_EQUAL_FATAL(qc_pass_builtin(names[i], NULL, &rows[i], &e), QC_OK);
  st = qc_pass_run_pipeline(g, rows, 4, true, &e);
  if (st != QC_OK) fprintf(stderr, "fold: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  n_bn = 0;
  for (int32_t i = 0; i < g->n_nodes; i++) n_bn += g->nodes[i].op == QC_OP_BatchNormalization;
  CU_ASSERT_EQUAL(n_bn, 0);
  CU_ASSERT_EQUAL(g->n_nodes, 31 - 9);

  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &x, 1, &e), QC_OK);
  memcpy(got, qc_interp_output(it, 0)->data, sizeof got);
  qc_interp_free(it);
  double maxabs = 0, maxdiff = 0;
  for (int i = 0; i < N * 10; i++) {
    maxabs = fmax(maxabs, fabs(ref[i]));
    maxdiff = fmax(maxdiff, fabs((double)ref[i] - got[i]));
  }
  CU_ASSERT(maxabs > 0.1);
  if (!(maxdiff <= 1e-5 * maxabs)) fprintf(stderr, "max diff %g of %g\n", maxdiff, maxabs);
  CU_ASSERT(maxdiff <= 1e-5 * maxabs);
  free(xd);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"Conv without bias + BN", test_conv_no_bias},
    {"depthwise Conv with bias + BN", test_depthwise_bias},
    {"Gemm + BN over features", test_gemm},
    {"MatMul + Add + BN over features", test_matmul_add},
    {"shared or non-constant BN inputs stay", test_not_folded},
    {"example ResNet: same outputs after folding", test_example_model},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bn_fold", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
