/* Uniform integer-only quantization: config parsing, calibration thresholds, the report's
   HAWQ-V3 counting on a hand-built graph, the integer graph of a small residual network
   (structure, dyadic multipliers recomputed here, output close to fp32), error paths, and the
   example ResNet's W8A8 accuracy on Fashion-MNIST test images. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "data.h"
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "q_internal.h"
#include "quantizers.h"
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

static void expect_msg(qc_status st, qc_status code, const qc_err *e, const char *msg)
{
  CU_ASSERT_EQUAL(st, code);
  if (strcmp(e->msg, msg) != 0) fprintf(stderr, "\ngot  \"%s\"\nwant \"%s\"\n", e->msg, msg);
  CU_ASSERT_STRING_EQUAL(e->msg, msg);
}

static uint32_t lcg(uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static float urand(uint32_t *s) { return (float)(lcg(s) % 20001) / 10000.0f - 1.0f; }

/* ---- config ---------------------------------------------------------------------------- */

static void test_config_parse(void)
{
  qc_bits_entry *v = NULL;
  int n = 0;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_bits_config_parse("# bits per layer\n\n  /conv1/Conv w=4 a=8  # first\n"
                                       "fc a=6 w=2\nmid w=3\nlast a=5",
                                       "c.txt", &v, &n, &e),
                  QC_OK);
  CU_ASSERT_EQUAL_FATAL(n, 4);
  CU_ASSERT_STRING_EQUAL(v[0].name, "/conv1/Conv");
  CU_ASSERT(v[0].w_bits == 4 && v[0].a_bits == 8 && v[0].line == 3);
  CU_ASSERT(v[1].w_bits == 2 && v[1].a_bits == 6 && v[1].line == 4);
  CU_ASSERT(v[2].w_bits == 3 && v[2].a_bits == -1);
  CU_ASSERT(v[3].w_bits == -1 && v[3].a_bits == 5 && v[3].line == 6);
  qc_bits_config_free(v, n);

  struct {
    const char *text;
    qc_status code;
    const char *msg;
  } bad[] = {
      {"a w=4 a=8\nb w=9 a=8\n", QC_ERR_INVALID, "c.txt:2: w=9: bits must be in 2..8"},
      {"a w=1\n", QC_ERR_INVALID, "c.txt:1: w=1: bits must be in 2..8"},
      {"\n\nx a=16\n", QC_ERR_INVALID, "c.txt:3: a=16: bits must be in 2..8"},
      {"a w=4 a=8\nb\n", QC_ERR_FORMAT, "c.txt:2: expected 'LAYER w=BITS a=BITS', got 'b'"},
      {"a w=4 b=8\n", QC_ERR_FORMAT, "c.txt:1: expected 'LAYER w=BITS a=BITS', got 'a w=4 b=8'"},
      {"a w=4 w=8\n", QC_ERR_FORMAT, "c.txt:1: expected 'LAYER w=BITS a=BITS', got 'a w=4 w=8'"},
      {"a w=x\n", QC_ERR_FORMAT, "c.txt:1: expected 'LAYER w=BITS a=BITS', got 'a w=x'"},
      {"a w=4 a=4 a=4\n", QC_ERR_FORMAT,
       "c.txt:1: expected 'LAYER w=BITS a=BITS', got 'a w=4 a=4 a=4'"},
      {"a w=4\n# c\na a=4\n", QC_ERR_INVALID, "c.txt:3: layer 'a' already given on line 1"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    qc_err_clear(&e);
    v = NULL;
    expect_msg(qc_bits_config_parse(bad[i].text, "c.txt", &v, &n, &e), bad[i].code, &e,
               bad[i].msg);
    CU_ASSERT_PTR_NULL(v);
  }
  qc_err_clear(&e);
  expect_msg(qc_bits_config_load("/nonexistent/bits.txt", &v, &n, &e), QC_ERR_IO, &e,
             "/nonexistent/bits.txt: No such file or directory");
}

/* ---- calibration ------------------------------------------------------------------------ */

static void test_hist_thresholds(void)
{
  /* 4 bins over [0, 4]: 10 elements in [0, 1), 1 in [3, 4); 5 zeros */
  double h[4] = {10, 0, 0, 1};
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_percentile(h, 4, 4.0, 5, 50), 1.0, 1e-12); /* 8th of 16 */
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_percentile(h, 4, 4.0, 5, 90), 1.0, 1e-12); /* 14.4 */
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_percentile(h, 4, 4.0, 5, 95), 4.0, 1e-12); /* 15.2 */
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_percentile(h, 4, 4.0, 5, 100), 4.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_percentile(h, 4, 4.0, 12, 50), 1.0, 1e-12); /* zeros */
  /* MSE, 2 bins over [0, 2], one level: T = 1: clip 1 * (1.5 - 1)^2 + 1/12 * 100 = 8.58;
     T = 2: (2/1)^2/12 * 101 = 33.7 -> 1 */
  double h2[2] = {100, 1};
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_mse(h2, 2, 2.0, 1), 1.0, 1e-12);
  /* T = 1: clip 100 * 0.25 = 25 + 1/12; T = 2: 4/12 * 101 = 33.7 -> 1; with 3 levels
     T = 2: 4/9/12 * 101 = 3.74 < 25.01 -> 2 */
  double h3[2] = {1, 100};
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_mse(h3, 2, 2.0, 1), 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(qc_calib_hist_mse(h3, 2, 2.0, 3), 2.0, 1e-12);
}

static const char *relu_graph = "graph \"g\" opset 17 {\n"
                                "  sym N\n"
                                "  input %x: f32[N,4]\n"
                                "  %y = Relu(%x) @r\n"
                                "  output %y\n"
                                "}\n";

static void test_calibrate_ranges(void)
{
  qc_graph *g = parse_ok(relu_graph);
  float b1[4] = {-3, 0, 1, 2}, b2[4] = {-1, 0.5f, 0, 4};
  qc_tensor t[2] = {{QC_DT_F32, 2, {1, 4}, b1}, {QC_DT_F32, 2, {1, 4}, b2}};
  qc_calib_point p[2] = {{.value = g->inputs[0], .bits = 8}, {.value = g->outputs[0], .bits = 8,
                                                               .is_unsigned = true}};
  qc_calib_opts o = {QC_CALIB_MINMAX, 0, 0};
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_calibrate(g, &o, t, 2, p, 2, 1, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(p[0].min, -3, 0);
  CU_ASSERT_DOUBLE_EQUAL(p[0].max, 4, 0);
  CU_ASSERT_DOUBLE_EQUAL(p[0].thresh, 4, 0);
  CU_ASSERT_DOUBLE_EQUAL(p[1].min, 0, 0);
  CU_ASSERT_DOUBLE_EQUAL(p[1].thresh, 4, 0);
  /* EMA 0.25: min = 0.25 * -3 + 0.75 * -1 = -1.5, max = 0.25 * 2 + 0.75 * 4 = 3.5 */
  o.ema_momentum = 0.25;
  CU_ASSERT_EQUAL_FATAL(qc_calibrate(g, &o, t, 2, p, 2, 1, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(p[0].min, -1.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(p[0].max, 3.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(p[0].thresh, 3.5, 1e-12);
  /* percentile 50 of |x| over both batches (8 values, 2 zeros, histogram over [0, 4]): the
     4th value in order 0 0 0.5 1 1 2 3 4 falls in the bin [1, 1.002) */
  o.ema_momentum = 0;
  o.method = QC_CALIB_PERCENTILE;
  o.percentile = 50;
  CU_ASSERT_EQUAL_FATAL(qc_calibrate(g, &o, t, 2, p, 2, 1, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(p[0].thresh, 1.0 + 4.0 / 2048, 1e-9);
  qc_err_clear(&e);
  expect_msg(qc_calibrate(g, &o, t, 0, p, 2, 1, &e), QC_ERR_USAGE, &e, "empty calibration set");
  qc_graph_free(g);
}

/* ---- report on a hand-built graph ------------------------------------------------------- */

/* Conv 1->2 3x3 pad 1 on 4x4 (18 weights + 2 bias, 2*16*9 = 288 MACs), Relu, Flatten,
   Gemm 32->3 transB (96 weights + 3 bias, 96 MACs). */
static char *tiny_text(void)
{
  static char buf[8192];
  uint32_t s = 3;
  int k = snprintf(buf, sizeof buf, "graph \"t\" opset 17 {\n  sym N\n  input %%x: f32[N,1,4,4]\n"
                                    "  const %%w: f32[2,1,3,3] = [");
  for (int i = 0; i < 18; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", urand(&s));
  k += snprintf(buf + k, sizeof buf - (size_t)k, "]\n  const %%b: f32[2] = [0.1, -0.2]\n  const %%fw: f32[3,32] = [");
  for (int i = 0; i < 96; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", urand(&s));
  snprintf(buf + k, sizeof buf - (size_t)k,
           "]\n  const %%fb: f32[3] = [0.5, 0.0, -0.5]\n"
           "  %%c = Conv(%%x, %%w, %%b) {pads=[1, 1, 1, 1]} @conv\n"
           "  %%r = Relu(%%c) @relu\n"
           "  %%f = Flatten(%%r) @flat\n"
           "  %%y = Gemm(%%f, %%fw, %%fb) {transB=1} @fc\n"
           "  output %%y\n}\n");
  return buf;
}

static qc_tensor *rand_batches(int nb, int n, int c, int h, int w, uint32_t seed)
{
  qc_tensor *t = calloc((size_t)nb, sizeof *t);
  for (int b = 0; b < nb; b++) {
    float *d = malloc(sizeof(float) * (size_t)(n * c * h * w));
    for (int i = 0; i < n * c * h * w; i++) d[i] = urand(&seed);
    t[b] = (qc_tensor){QC_DT_F32, 4, {n, c, h, w}, d};
  }
  return t;
}

static void free_batches(qc_tensor *t, int nb)
{
  for (int b = 0; b < nb; b++) free(t[b].data);
  free(t);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(text, f);
  fclose(f);
}

static void test_report_counts(void)
{
  qc_tensor *cal = rand_batches(2, 4, 1, 4, 4, 11);
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 1;
  qc_quant_report r;
  qc_err e = {0};

  /* default policy: first and last layers at 8 bits */
  qc_graph *g = parse_ok(tiny_text());
  CU_ASSERT_EQUAL_FATAL(qc_quantize_uniform(g, &o, cal, 2, &r, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(r.n_layers, 2);
  CU_ASSERT_STRING_EQUAL(r.layers[0].name, "conv");
  CU_ASSERT_STRING_EQUAL(r.layers[0].op, "Conv");
  CU_ASSERT_STRING_EQUAL(r.layers[1].op, "Gemm");
  CU_ASSERT_EQUAL(r.layers[0].params, 20);
  CU_ASSERT_EQUAL(r.layers[0].macs, 288);
  CU_ASSERT_EQUAL(r.layers[0].bits, 18 * 8 + 2 * 32);
  CU_ASSERT_EQUAL(r.layers[1].params, 99);
  CU_ASSERT_EQUAL(r.layers[1].macs, 96);
  CU_ASSERT_EQUAL(r.layers[1].bits, 96 * 8 + 3 * 32);
  CU_ASSERT_EQUAL(r.fp32_bytes, 119 * 4);
  CU_ASSERT_EQUAL(r.quant_bytes, (208 + 864) / 8);
  CU_ASSERT_DOUBLE_EQUAL(r.bops, 384.0 * 64, 0);
  CU_ASSERT_DOUBLE_EQUAL(r.fp32_bops, 384.0 * 1024, 0);
  qc_quant_report_free(&r);
  qc_graph_free(g);

  /* W4A4 without the policy: 18*4 + 64 = 136 and 96*4 + 96 = 480 bits = 77 bytes;
     BOPS 288*16 + 96*16 = 6144 */
  o.w_bits = o.a_bits = 4;
  o.first_last_8bit = false;
  g = parse_ok(tiny_text());
  CU_ASSERT_EQUAL_FATAL(qc_quantize_uniform(g, &o, cal, 2, &r, &e), QC_OK);
  CU_ASSERT(r.layers[0].w_bits == 4 && r.layers[0].a_bits == 4);
  CU_ASSERT_EQUAL(r.layers[0].bits, 136);
  CU_ASSERT_EQUAL(r.layers[1].bits, 480);
  CU_ASSERT_EQUAL(r.quant_bytes, 77);
  CU_ASSERT_DOUBLE_EQUAL(r.bops, 6144, 0);
  /* 4-bit weights are packed i4 constants */
  int32_t wq = qc_graph_find_value(g, "conv_wq");
  CU_ASSERT_FATAL(wq >= 0);
  CU_ASSERT_EQUAL(g->values[wq].dtype, QC_DT_I4);
  qc_quant_report_free(&r);
  qc_graph_free(g);

  /* config: conv at w=2 with 8-bit input activations; BOPS 288*2*8 + 96*4*4 */
  const char *cfg = QC_BINARY_DIR "/tests/quant_bits_ok.txt";
  write_file(cfg, "# test\nconv w=2 a=8\n");
  o.config_path = cfg;
  g = parse_ok(tiny_text());
  CU_ASSERT_EQUAL_FATAL(qc_quantize_uniform(g, &o, cal, 2, &r, &e), QC_OK);
  CU_ASSERT(r.layers[0].w_bits == 2 && r.layers[0].a_bits == 8);
  CU_ASSERT_EQUAL(r.layers[0].bits, 18 * 2 + 64);
  CU_ASSERT_DOUBLE_EQUAL(r.bops, 288 * 16 + 96 * 16, 0);
  qc_quant_report_free(&r);
  qc_graph_free(g);

  /* errors leave the graph as it was */
  struct {
    const char *cfg;
    const char *msg;
  } bad[] = {
      {"conv w=4\n\nfc2 w=4 a=4\n",
       "/quant_bits_bad.txt:3: unknown layer 'fc2' (not a Conv/Gemm/MatMul node of the model)"},
      {"fc w=4 a=12\n", "/quant_bits_bad.txt:1: a=12: bits must be in 2..8"},
      {"fc w4\n", "/quant_bits_bad.txt:1: expected 'LAYER w=BITS a=BITS', got 'fc w4'"},
  };
  const char *badp = QC_BINARY_DIR "/tests/quant_bits_bad.txt";
  o.config_path = badp;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_file(badp, bad[i].cfg);
    g = parse_ok(tiny_text());
    char *before = qc_print(g, true);
    qc_err_clear(&e);
    CU_ASSERT_NOT_EQUAL(qc_quantize_uniform(g, &o, cal, 2, &r, &e), QC_OK);
    char want[512];
    snprintf(want, sizeof want, "%s%s", QC_BINARY_DIR "/tests", bad[i].msg);
    if (strcmp(e.msg, want)) fprintf(stderr, "\ngot  %s\nwant %s\n", e.msg, want);
    CU_ASSERT_STRING_EQUAL(e.msg, want);
    char *after = qc_print(g, true);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_EQUAL(r.n_layers, 0);
    free(before), free(after);
    qc_graph_free(g);
  }
  free_batches(cal, 2);
}

static void test_errors(void)
{
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 1;
  qc_err e = {0};
  qc_graph *g = parse_ok(tiny_text());
  char *before = qc_print(g, true);
  expect_msg(qc_quantize_uniform(g, &o, NULL, 0, NULL, &e), QC_ERR_USAGE, &e,
             "empty calibration set");
  qc_tensor *cal = rand_batches(1, 2, 1, 5, 4, 1);
  qc_err_clear(&e);
  expect_msg(qc_quantize_uniform(g, &o, cal, 1, NULL, &e), QC_ERR_INVALID, &e,
             "calibration batch 0 is f32[2,1,5,4] but input 'x' is f32[N,1,4,4]");
  char *after = qc_print(g, true);
  CU_ASSERT_STRING_EQUAL(before, after);
  free(before), free(after);
  free_batches(cal, 1);
  o.w_bits = 9;
  qc_err_clear(&e);
  cal = rand_batches(1, 2, 1, 4, 4, 1);
  expect_msg(qc_quantize_uniform(g, &o, cal, 1, NULL, &e), QC_ERR_USAGE, &e,
             "bits w=9 a=8: each must be in 2..8");
  qc_graph_free(g);

  qc_uniform_opts_default(&o);
  g = parse_ok(relu_graph);
  qc_tensor t = {QC_DT_F32, 2, {1, 4}, cal[0].data};
  qc_err_clear(&e);
  expect_msg(qc_quantize_uniform(g, &o, &t, 1, NULL, &e), QC_ERR_UNSUPPORTED, &e,
             "no Conv/Gemm/MatMul layer to quantize");
  qc_graph_free(g);
  free_batches(cal, 1);
}

/* ---- structure of a small residual network ---------------------------------------------- */

static char *resnet_text(void)
{
  static char buf[16384];
  uint32_t s = 5;
  int k = snprintf(buf, sizeof buf, "graph \"r\" opset 17 {\n  sym N\n  input %%x: f32[N,2,6,6]\n");
  const char *names[] = {"w1", "w2", "fw"};
  const char *shapes[] = {"4,2,3,3", "4,4,3,3", "3,4"};
  int counts[] = {72, 144, 12};
  for (int c = 0; c < 3; c++) {
    k += snprintf(buf + k, sizeof buf - (size_t)k, "  const %%%s: f32[%s] = [", names[c], shapes[c]);
    for (int i = 0; i < counts[c]; i++)
      k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", 0.5f * urand(&s));
    k += snprintf(buf + k, sizeof buf - (size_t)k, "]\n");
  }
  snprintf(buf + k, sizeof buf - (size_t)k,
           "  const %%b1: f32[4] = [0.1, -0.1, 0.2, 0.0]\n"
           "  const %%b2: f32[4] = [0.0, 0.3, -0.2, 0.1]\n"
           "  const %%fb: f32[3] = [0.1, 0.2, 0.3]\n"
           "  %%c1 = Conv(%%x, %%w1, %%b1) {pads=[1, 1, 1, 1]} @conv1\n"
           "  %%r1 = Relu(%%c1) @relu1\n"
           "  %%c2 = Conv(%%r1, %%w2, %%b2) {pads=[1, 1, 1, 1]} @conv2\n"
           "  %%a = Add(%%c2, %%r1) @add\n"
           "  %%ra = Relu(%%a) @relu2\n"
           "  %%p = GlobalAveragePool(%%ra) @gap\n"
           "  %%f = Flatten(%%p) @flat\n"
           "  %%y = Gemm(%%f, %%fw, %%fb) {transB=1} @fc\n"
           "  output %%y\n}\n");
  return buf;
}

/* mult/shift from HAWQ's construction, computed here independently */
static void dyadic(double M, int64_t *mult, int64_t *shift)
{
  int ex;
  double f = frexp(M, &ex);
  double m = nearbyint(f * 2147483648.0);
  if (m == 2147483648.0) m /= 2, ex++;
  *mult = (int64_t)m;
  *shift = 31 - ex;
}

static const qc_node *node_named(const qc_graph *g, const char *name)
{
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
  return NULL;
}

static void run_graph(const qc_graph *g, const qc_tensor *x, float *out, int n)
{
  qc_interp *it = NULL;
  qc_err e = {0};
  qc_status st = qc_interp_new(g, 1, &it, &e);
  if (st == QC_OK) st = qc_interp_run(it, x, 1, &e);
  if (st != QC_OK) fprintf(stderr, "run: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  memcpy(out, qc_interp_output(it, 0)->data, sizeof(float) * (size_t)n);
  qc_interp_free(it);
}

static void test_resnet_structure(void)
{
  qc_graph *g = parse_ok(resnet_text());
  qc_graph *ref = parse_ok(resnet_text());
  qc_tensor *cal = rand_batches(4, 8, 2, 6, 6, 99);
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 1;
  o.calib.method = QC_CALIB_MINMAX;
  qc_err e = {0};
  qc_status st = qc_quantize_uniform(g, &o, cal, 4, NULL, &e);
  if (st) fprintf(stderr, "quantize: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  const qc_op want[] = {QC_OP_QcQuantize, QC_OP_QcConv, QC_OP_QcConv, QC_OP_QcAdd,
                        QC_OP_QcGlobalAveragePool, QC_OP_Flatten, QC_OP_QcGemm,
                        QC_OP_QcDequantize};
  CU_ASSERT_EQUAL_FATAL(g->n_nodes, 8);
  for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(g->nodes[i].op, want[i]);
  /* dtypes and clamps: input i8 [-127, 127], ReLU outputs u8 [0, 255], conv2 i8 */
  const qc_dtype dts[] = {QC_DT_I8, QC_DT_U8, QC_DT_I8, QC_DT_U8, QC_DT_U8, QC_DT_U8, QC_DT_I8,
                          QC_DT_F32};
  const int64_t qmin[] = {-127, 0, -127, 0, 0, 0, -127, 0}, qmax[] = {127, 255, 127, 255, 0, 0, 127, 0};
  for (int i = 0; i < 8; i++) {
    const qc_node *n = &g->nodes[i];
    CU_ASSERT_EQUAL(g->values[n->out[0]].dtype, dts[i]);
    if (qmax[i]) {
      CU_ASSERT_EQUAL(qc_attr_i(n, "qmin", 1), qmin[i]);
      CU_ASSERT_EQUAL(qc_attr_i(n, "qmax", 0), qmax[i]);
    }
  }
  CU_ASSERT_EQUAL(g->values[g->outputs[0]].dtype, QC_DT_F32);
  CU_ASSERT_STRING_EQUAL(g->values[g->outputs[0]].name, "y");

  /* conv1: S_w[c] = max|w1[c]| / 127 and M = fp32(S_in * S_w[c]) / S_out as a dyadic pair */
  const qc_node *c1 = node_named(g, "conv1");
  CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
  const qc_value *xin = &g->values[c1->in[0]], *wq = &g->values[c1->in[1]];
  const qc_value *y1 = &g->values[c1->out[0]];
  CU_ASSERT_FATAL(xin->q && wq->q && y1->q);
  CU_ASSERT_EQUAL(wq->dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(wq->q->n, 4);
  const float *w1 = ref->values[qc_graph_find_value(ref, "w1")].data;
  const int64_t *mult, *shift;
  CU_ASSERT_EQUAL_FATAL(qc_attr_ints(c1, "mult", &mult), 4);
  CU_ASSERT_EQUAL_FATAL(qc_attr_ints(c1, "shift", &shift), 4);
  const int8_t *wqd = wq->data;
  for (int c = 0; c < 4; c++) {
    float m = 0;
    for (int j = 0; j < 18; j++) m = fmaxf(m, fabsf(w1[c * 18 + j]));
    CU_ASSERT_DOUBLE_EQUAL(wq->q->scale[c], m / 127.0f, 1e-9);
    for (int j = 0; j < 18; j++)
      CU_ASSERT(abs(wqd[c * 18 + j] - (int)lrintf(w1[c * 18 + j] / wq->q->scale[c])) <= 0);
    float sacc = xin->q->scale[0] * wq->q->scale[c];
    int64_t em, es;
    dyadic((double)sacc / (double)y1->q->scale[0], &em, &es);
    CU_ASSERT_EQUAL(mult[c], em);
    CU_ASSERT_EQUAL(shift[c], es);
  }
  /* input scale from min/max: max|x| / 127 */
  double mx = 0;
  for (int b = 0; b < 4; b++)
    for (int i = 0; i < 8 * 72; i++) mx = fmax(mx, fabs(((float *)cal[b].data)[i]));
  CU_ASSERT_DOUBLE_EQUAL(xin->q->scale[0], mx / 127, 1e-9);
  /* QcAdd: each branch to the output scale */
  const qc_node *add = node_named(g, "add");
  CU_ASSERT_PTR_NOT_NULL_FATAL(add);
  CU_ASSERT_EQUAL_FATAL(qc_attr_ints(add, "mult", &mult), 2);
  CU_ASSERT_EQUAL_FATAL(qc_attr_ints(add, "shift", &shift), 2);
  for (int k = 0; k < 2; k++) {
    int64_t em, es;
    dyadic((double)g->values[add->in[k]].q->scale[0] / g->values[add->out[0]].q->scale[0], &em,
           &es);
    CU_ASSERT_EQUAL(mult[k], em);
    CU_ASSERT_EQUAL(shift[k], es);
  }
  /* GAP and Flatten keep the scale of the Add */
  const qc_node *gap = node_named(g, "gap");
  CU_ASSERT_EQUAL(g->values[gap->out[0]].q->scale[0], g->values[add->out[0]].q->scale[0]);

  /* dequantized output close to fp32 on fresh data */
  qc_tensor *tx = rand_batches(1, 8, 2, 6, 6, 1234);
  float q[24], f[24];
  run_graph(g, tx, q, 24);
  run_graph(ref, tx, f, 24);
  double maxabs = 0, maxdiff = 0;
  for (int i = 0; i < 24; i++) {
    maxabs = fmax(maxabs, fabs(f[i]));
    maxdiff = fmax(maxdiff, fabs((double)f[i] - q[i]));
  }
  /* 8-bit everywhere, GAP floors (a -0.5 LSB bias), logits on 8 bits: a few percent */
  if (!(maxdiff <= 0.05 * maxabs)) fprintf(stderr, "max diff %g of %g\n", maxdiff, maxabs);
  CU_ASSERT(maxdiff <= 0.05 * maxabs);
  free_batches(tx, 1);
  free_batches(cal, 4);
  qc_graph_free(g);
  qc_graph_free(ref);
}

/* An op the integer path does not cover (Sigmoid) becomes an fp32 island. */
static void test_float_island(void)
{
  qc_graph *g = parse_ok("graph \"s\" opset 17 {\n"
                         "  sym N\n"
                         "  input %x: f32[N,3]\n"
                         "  const %w1: f32[3,3] = [1.0, 0.5, -0.5, 0.2, 1.0, 0.0, -0.3, 0.1, 1.0]\n"
                         "  const %w2: f32[3,2] = [1.0, -1.0, 0.5, 0.5, -0.2, 0.8]\n"
                         "  const %b2: f32[2] = [0.1, -0.1]\n"
                         "  %h = MatMul(%x, %w1) @mm1\n"
                         "  %s = Sigmoid(%h) @sig\n"
                         "  %m = MatMul(%s, %w2) @mm2\n"
                         "  %y = Add(%m, %b2) @bias\n"
                         "  output %y\n"
                         "}\n");
  qc_tensor *cal = rand_batches(2, 16, 3, 1, 1, 7);
  for (int b = 0; b < 2; b++) cal[b].rank = 2, cal[b].dims[1] = 3;
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 1;
  o.calib.method = QC_CALIB_MINMAX;
  qc_err e = {0};
  qc_status st = qc_quantize_uniform(g, &o, cal, 2, NULL, &e);
  if (st) fprintf(stderr, "quantize: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  const qc_op want[] = {QC_OP_QcQuantize, QC_OP_QcGemm, QC_OP_QcDequantize, QC_OP_Sigmoid,
                        QC_OP_QcQuantize, QC_OP_QcGemm, QC_OP_QcDequantize};
  CU_ASSERT_EQUAL_FATAL(g->n_nodes, 7);
  for (int i = 0; i < 7; i++) CU_ASSERT_EQUAL(g->nodes[i].op, want[i]);
  /* MatMul + Add became one QcGemm with the bias: w transposed to [M, K] */
  const qc_node *mm2 = node_named(g, "mm2");
  CU_ASSERT_PTR_NOT_NULL_FATAL(mm2);
  CU_ASSERT_EQUAL(mm2->n_in, 3);
  CU_ASSERT_EQUAL(g->values[mm2->in[1]].dims[0], 2);
  CU_ASSERT_EQUAL(g->values[mm2->in[1]].dims[1], 3);
  free_batches(cal, 2);
  qc_graph_free(g);
}

/* Conv -> Clip(0, 6) (ReLU6) fuses like a ReLU: one QcConv clamping at 0 on a u8 grid whose
   top (qmax * S = T) stays below 6. */
static void test_relu6_fused(void)
{
  qc_graph *g = parse_ok("graph \"c\" opset 17 {\n"
                         "  sym N\n"
                         "  input %x: f32[N,1,3,3]\n"
                         "  const %w: f32[2,1,1,1] = [4.0, -3.0]\n"
                         "  const %lo: f32[] = [0.0]\n"
                         "  const %hi: f32[] = [6.0]\n"
                         "  %c = Conv(%x, %w) @conv\n"
                         "  %y = Clip(%c, %lo, %hi) @relu6\n"
                         "  output %y\n"
                         "}\n");
  qc_tensor *cal = rand_batches(2, 4, 1, 3, 3, 5);
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 1;
  o.calib.method = QC_CALIB_MINMAX;
  qc_err e = {0};
  qc_status st = qc_quantize_uniform(g, &o, cal, 2, NULL, &e);
  if (st) fprintf(stderr, "quantize: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  CU_ASSERT_EQUAL_FATAL(g->n_nodes, 3);
  const qc_node *c = &g->nodes[1];
  CU_ASSERT_EQUAL(c->op, QC_OP_QcConv);
  CU_ASSERT_EQUAL(qc_attr_i(c, "qmin", 1), 0);
  CU_ASSERT_EQUAL(qc_attr_i(c, "qmax", 0), 255);
  CU_ASSERT_EQUAL(g->values[c->out[0]].dtype, QC_DT_U8);
  /* |x| < 1, so 4 * x < 4: the clip's top is never reached; T = max of relu6 output */
  float s = g->values[c->out[0]].q->scale[0];
  CU_ASSERT(s * 255 <= 4.0f && s * 255 > 3.0f);
  free_batches(cal, 2);
  qc_graph_free(g);
}

/* ---- the example model on Fashion-MNIST ------------------------------------------------- */

#define FM_DIR "/usr/share/datasets/fashion-mnist/"

static float *fm_images(const char *path, int64_t *n)
{
  qc_tensor t;
  qc_err e = {0};
  if (qc_idx_read(path, &t, &e) != QC_OK) return NULL;
  *n = t.dims[0];
  float *x = malloc(sizeof(float) * (size_t)(*n * 784));
  const uint8_t *p = t.data;
  /* the model's normalization, examples/fashion_resnet.json */
  for (int64_t i = 0; i < *n * 784; i++) x[i] = ((float)p[i] / 255.0f - 0.286f) / 0.353f;
  free(t.data);
  return x;
}

static double top1(const qc_graph *g, const float *x, const uint8_t *lab, int64_t n)
{
  qc_interp *it = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 2, &it, &e), QC_OK);
  int64_t ok = 0;
  for (int64_t b = 0; b < n; b += 250) {
    int64_t m = n - b < 250 ? n - b : 250;
    qc_tensor t = {QC_DT_F32, 4, {m, 1, 28, 28}, (void *)(x + b * 784)};
    qc_status st = qc_interp_run(it, &t, 1, &e);
    if (st) fprintf(stderr, "run: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, QC_OK);
    const float *o = qc_interp_output(it, 0)->data;
    for (int64_t i = 0; i < m; i++) {
      int best = 0;
      for (int k = 1; k < 10; k++)
        if (o[i * 10 + k] > o[i * 10 + best]) best = k;
      ok += best == lab[b + i];
    }
  }
  qc_interp_free(it);
  return 100.0 * (double)ok / (double)n;
}

static void test_example_w8a8(void)
{
  int64_t ntr = 0, nte = 0;
  float *tr = fm_images(FM_DIR "train-images-idx3-ubyte.gz", &ntr);
  float *te = fm_images(FM_DIR "t10k-images-idx3-ubyte.gz", &nte);
  qc_tensor lab;
  qc_err e = {0};
  if (!tr || !te || qc_idx_read(FM_DIR "t10k-labels-idx1-ubyte.gz", &lab, &e) != QC_OK) {
    fprintf(stderr, "SKIPPED: no Fashion-MNIST in " FM_DIR "\n");
    free(tr), free(te);
    return;
  }
  /* 512 training images picked with a seeded generator, in batches of 128 */
  enum { NCAL = 512, NTEST = 1000 };
  float *cal = malloc(sizeof(float) * NCAL * 784);
  uint32_t s = 2024;
  for (int i = 0; i < NCAL; i++)
    memcpy(cal + i * 784, tr + (int64_t)(lcg(&s) % (uint32_t)ntr) * 784, 784 * sizeof(float));
  qc_tensor cb[4];
  for (int b = 0; b < 4; b++) cb[b] = (qc_tensor){QC_DT_F32, 4, {128, 1, 28, 28}, cal + b * 128 * 784};
  qc_graph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e), QC_OK);
  double fp = top1(g, te, lab.data, NTEST);
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 2;
  qc_quant_report r;
  qc_status st = qc_quantize_uniform(g, &o, cb, 4, &r, &e);
  if (st) fprintf(stderr, "quantize: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  double q = top1(g, te, lab.data, NTEST);
  printf("\n    fp32 %.2f%%, W8A8 %.2f%% on %d test images; %lld -> %lld bytes\n", fp, q, NTEST,
         (long long)r.fp32_bytes, (long long)r.quant_bytes);
  CU_ASSERT(fabs(fp - q) <= 0.5);
  CU_ASSERT(fp >= 88.0);
  CU_ASSERT_EQUAL(r.n_layers, 10);
  /* every node but the input quantize and output dequantize is integer */
  for (int32_t i = 0; i < g->n_nodes; i++) {
    qc_op op = g->nodes[i].op;
    CU_ASSERT(op == QC_OP_QcQuantize || op == QC_OP_QcDequantize || op == QC_OP_QcConv ||
              op == QC_OP_QcAdd || op == QC_OP_QcGemm || op == QC_OP_QcGlobalAveragePool ||
              op == QC_OP_Flatten);
  }
  qc_quant_report_free(&r);
  qc_graph_free(g);
  free(cal), free(tr), free(te), free(lab.data);
}

static CU_TestInfo tests[] = {
    {"bits config parsing and its errors", test_config_parse},
    {"histogram percentile and MSE thresholds", test_hist_thresholds},
    {"calibration min/max, EMA, percentile", test_calibrate_ranges},
    {"report: params, bits, BOPS by hand", test_report_counts},
    {"errors: empty/mismatched calibration, bits, no layer", test_errors},
    {"residual network: integer graph structure", test_resnet_structure},
    {"fp32 island around an uncovered op", test_float_island},
    {"Conv + Clip(0, 6) fused as a clamp", test_relu6_fused},
    {"example ResNet W8A8 within 0.5 points", test_example_w8a8},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"uniform", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
