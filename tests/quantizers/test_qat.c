/* Quantization-aware training: QcFakeQuant's forward (values by hand) and straight-through
   gradient (identity inside the clamp, 0 outside; identity for weights), the EMA range update,
   conversion of a QAT graph == PTQ conversion bit for bit with the same ranges and weights, a
   checkpoint's ranges surviving a rebuild, and a short W4A4 QAT run on Fashion-MNIST lowering
   the loss of the fake-quantized example model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autodiff.h"
#include "data.h"
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "optim.h"
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

static uint32_t lcg(uint32_t *s)
{
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

static float urand(uint32_t *s) { return (float)(lcg(s) % 20001) / 10000.0f - 1.0f; }

/* ---- the op ------------------------------------------------------------------------------ */

static void test_fake_quant_act(void)
{
  /* scale 0.5, grid [0, 7] (3-bit unsigned): x / 0.5 = -2, 0.5, 1.5, 2.5, 3.4, 7.4, 9
     -> round half even 0(clamped), 0, 2, 2, 3, 7, 7(clamped) -> times 0.5 */
  qc_graph *g = parse_ok("graph \"f\" opset 17 {\n  input %x: f32[7]\n"
                         "  %y = quantc.QcFakeQuant(%x) {qmin=0, qmax=7, scale=0.5} @fq\n"
                         "  output %y\n}\n");
  float x[7] = {-1.0f, 0.25f, 0.75f, 1.25f, 1.7f, 3.7f, 4.5f};
  float want[7] = {0, 0, 1.0f, 1.0f, 1.5f, 3.5f, 3.5f};
  qc_tensor t = {QC_DT_F32, 1, {7}, x};
  qc_ad *ad = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, true, &ad, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &t, 1, &e), QC_OK);
  const float *y = qc_ad_output(ad, 0)->data;
  for (int i = 0; i < 7; i++) CU_ASSERT_EQUAL(y[i], want[i]);
  /* STE: gradient passes where 0 <= x <= 7 * 0.5 = 3.5, else 0 */
  float d[7] = {1, 2, 3, 4, 5, 6, 7};
  qc_tensor dt = {QC_DT_F32, 1, {7}, d};
  CU_ASSERT_EQUAL_FATAL(qc_ad_backward(ad, &dt, 1, &e), QC_OK);
  const float *dx = qc_ad_grad(ad, g->inputs[0])->data;
  float wantd[7] = {0, 2, 3, 4, 5, 0, 0};
  for (int i = 0; i < 7; i++) CU_ASSERT_EQUAL(dx[i], wantd[i]);
  qc_ad_free(ad);
  qc_graph_free(g);
}

static void test_fake_quant_weight(void)
{
  /* w [2, 3] per channel (axis 0), 4-bit symmetric (qmax 7): row 0 max 0.7 -> s 0.1:
     0.7, -0.26 -> -3 (-2.6), 0.05 -> 0 (0.5 ties to even); row 1 max 1.4 -> s 0.2:
     -1.4, 0.3 -> 2 (1.5 ties to even), 0.5 -> 2 (2.5 ties to even). Gradient: identity. */
  qc_graph *g = parse_ok("graph \"w\" opset 17 {\n  input %x: f32[2,3]\n"
                         "  %y = quantc.QcFakeQuant(%x) {axis=0, qmin=-7, qmax=7} @fq\n"
                         "  output %y\n}\n");
  float x[6] = {0.7f, -0.26f, 0.05f, -1.4f, 0.3f, 0.5f};
  float s0 = (float)(0.7 / 7), s1 = (float)(1.4 / 7); /* fp32(max / qmax), as the quantizer */
  float want[6] = {7 * s0, -3 * s0, 0, -7 * s1, 2 * s1, 2 * s1};
  qc_tensor t = {QC_DT_F32, 2, {2, 3}, x};
  qc_ad *ad = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, true, &ad, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &t, 1, &e), QC_OK);
  const float *y = qc_ad_output(ad, 0)->data;
  for (int i = 0; i < 6; i++) {
    if (y[i] != want[i]) fprintf(stderr, "\n  y[%d] = %.9g, want %.9g\n", i, y[i], want[i]);
    CU_ASSERT_EQUAL(y[i], want[i]);
  }
  float d[6] = {1, -2, 3, -4, 5, -6};
  qc_tensor dt = {QC_DT_F32, 2, {2, 3}, d};
  CU_ASSERT_EQUAL_FATAL(qc_ad_backward(ad, &dt, 1, &e), QC_OK);
  const float *dx = qc_ad_grad(ad, g->inputs[0])->data;
  for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(dx[i], d[i]);
  qc_ad_free(ad);
  qc_graph_free(g);
}

static void test_fake_quant_errors(void)
{
  qc_graph *g = parse_ok("graph \"f\" opset 17 {\n  input %x: f32[2]\n"
                         "  %y = quantc.QcFakeQuant(%x) {qmin=0, qmax=7} @fq\n"
                         "  output %y\n}\n");
  float x[2] = {0, 1};
  qc_tensor t = {QC_DT_F32, 1, {2}, x};
  qc_interp *it = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_interp_run(it, &t, 1, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'fq' (QcFakeQuant): scale 0 must be > 0");
  qc_interp_free(it);
  qc_graph_free(g);
}

/* ---- QAT on a small residual network --------------------------------------------------- */

/* conv(1->4) BN relu, conv(4->4) + skip, relu, GAP, flatten, FC(4->3). */
static char *net_text(void)
{
  static char buf[16384];
  uint32_t s = 11;
  int k = snprintf(buf, sizeof buf, "graph \"n\" opset 17 {\n  sym N\n  input %%x: f32[N,1,6,6]\n"
                                    "  const %%w1: f32[4,1,3,3] = [");
  for (int i = 0; i < 36; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", urand(&s));
  k += snprintf(buf + k, sizeof buf - (size_t)k, "]\n  const %%w2: f32[4,4,3,3] = [");
  for (int i = 0; i < 144; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", 0.3f * urand(&s));
  k += snprintf(buf + k, sizeof buf - (size_t)k, "]\n  const %%fw: f32[3,4] = [");
  for (int i = 0; i < 12; i++) k += snprintf(buf + k, sizeof buf - (size_t)k, "%s%.4f", i ? ", " : "", urand(&s));
  snprintf(buf + k, sizeof buf - (size_t)k,
           "]\n  const %%fb: f32[3] = [0.1, 0.0, -0.1]\n"
           "  const %%g: f32[4] = [1.1, 0.9, 1.0, 1.2]\n"
           "  const %%be: f32[4] = [0.1, -0.1, 0.2, 0.0]\n"
           "  const %%mu: f32[4] = [0.05, -0.02, 0.0, 0.1]\n"
           "  const %%va: f32[4] = [0.8, 1.1, 0.9, 1.3]\n"
           "  %%c1 = Conv(%%x, %%w1) {pads=[1, 1, 1, 1]} @conv1\n"
           "  %%b1 = BatchNormalization(%%c1, %%g, %%be, %%mu, %%va) @bn1\n"
           "  %%r1 = Relu(%%b1) @relu1\n"
           "  %%c2 = Conv(%%r1, %%w2) {pads=[1, 1, 1, 1]} @conv2\n"
           "  %%a = Add(%%c2, %%r1) @add\n"
           "  %%r2 = Relu(%%a) @relu2\n"
           "  %%p = GlobalAveragePool(%%r2) @gap\n"
           "  %%f = Flatten(%%p) @flat\n"
           "  %%y = Gemm(%%f, %%fw, %%fb) {transB=1} @fc\n"
           "  output %%y\n}\n");
  return buf;
}

static qc_tensor *rand_batches(int nb, int n, uint32_t seed)
{
  qc_tensor *t = calloc((size_t)nb, sizeof *t);
  for (int b = 0; b < nb; b++) {
    float *d = malloc(sizeof(float) * (size_t)(n * 36));
    for (int i = 0; i < n * 36; i++) d[i] = urand(&seed);
    t[b] = (qc_tensor){QC_DT_F32, 4, {n, 1, 6, 6}, d};
  }
  return t;
}

static void free_batches(qc_tensor *t, int nb)
{
  for (int b = 0; b < nb; b++) free(t[b].data);
  free(t);
}

static int count_op(const qc_graph *g, qc_op op, int axis_sign)
{
  int c = 0;
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == op &&
        (axis_sign == 0 || (axis_sign < 0) == (qc_attr_i(&g->nodes[i], "axis", -1) < 0)))
      c++;
  return c;
}

/* Runs g on x; output 0 copied into a malloc'd buffer. */
static float *run(const qc_graph *g, const qc_tensor *x, int64_t *n)
{
  qc_interp *it = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  qc_status st = qc_interp_run(it, x, 1, &e);
  if (st) fprintf(stderr, "run: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  const qc_tensor *y = qc_interp_output(it, 0);
  *n = qc_tensor_elems(y);
  float *o = malloc(sizeof(float) * (size_t)*n);
  memcpy(o, y->data, sizeof(float) * (size_t)*n);
  qc_interp_free(it);
  return o;
}

static void test_build_and_ema(void)
{
  qc_graph *g = parse_ok(net_text());
  qc_tensor *cal = rand_batches(2, 8, 5);
  qc_qat_opts o;
  qc_qat_opts_default(&o);
  o.u.w_bits = o.u.a_bits = 4;
  o.u.first_last_8bit = false;
  o.u.threads = 1;
  qc_qat *q = NULL;
  qc_err e = {0};
  qc_status st = qc_qat_new(g, &o, cal, 2, &q, &e);
  if (st) fprintf(stderr, "qat: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  /* BN folded; weights of conv1, conv2, fc fake-quantized; activation points: the input,
     conv1+relu, conv2 (an Add input), add+relu, fc's output */
  CU_ASSERT_EQUAL(count_op(g, QC_OP_BatchNormalization, 0), 0);
  CU_ASSERT_EQUAL(count_op(g, QC_OP_QcFakeQuant, 1), 3);
  CU_ASSERT_EQUAL(count_op(g, QC_OP_QcFakeQuant, -1), 5);
  CU_ASSERT_EQUAL(qc_qat_n_ranges(q), 5);
  /* EMA: T1 = fp32(0.99 T0 + 0.01 max(batch)) on each range */
  qc_ad *ad = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, true, &ad, &e), QC_OK);
  qc_tensor *x = rand_batches(1, 4, 99);
  ((float *)x->data)[3] = 3.0f; /* a new input max */
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, x, 1, &e), QC_OK);
  double t0[5], bmax[5];
  for (int i = 0; i < 5; i++) {
    qc_act_range r = qc_qat_range(q, i);
    t0[i] = r.thresh;
    int32_t v = qc_graph_find_value(g, r.value);
    CU_ASSERT_FATAL(v >= 0);
    const qc_tensor *t = qc_ad_value(ad, v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    bmax[i] = 0;
    for (int64_t j = 0; j < qc_tensor_elems(t); j++)
      bmax[i] = fmax(bmax[i], fabs(((const float *)t->data)[j]));
  }
  CU_ASSERT_EQUAL(qc_qat_range(q, 0).value[0], 'x'); /* the graph input comes first */
  CU_ASSERT_DOUBLE_EQUAL(bmax[0], 3.0, 0);
  CU_ASSERT_EQUAL_FATAL(qc_qat_observe(q, ad, &e), QC_OK);
  for (int i = 0; i < 5; i++) {
    float want = (float)(0.99 * t0[i] + 0.01 * bmax[i]);
    CU_ASSERT_EQUAL(qc_qat_range(q, i).thresh, want);
  }
  /* the node's scale follows: fp32(T / 7) for the signed 4-bit input grid */
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == QC_OP_QcFakeQuant && g->nodes[i].in[0] == g->inputs[0]) {
      CU_ASSERT_EQUAL(qc_attr_f(&g->nodes[i], "scale", 0),
                      (float)((double)(float)qc_qat_range(q, 0).thresh / 7));
      CU_ASSERT_EQUAL(qc_attr_i(&g->nodes[i], "qmin", 0), -7);
    }
  qc_ad_free(ad);
  free_batches(x, 1);

  /* a checkpoint (the QAT graph through ONNX) rebuilds with the same ranges */
  void *buf = NULL;
  size_t len = 0;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_save_buffer(g, &buf, &len, &e), QC_OK);
  qc_graph *g2 = NULL;
  st = qc_onnx_load_buffer(buf, len, "ckpt", &g2, &e);
  if (st) fprintf(stderr, "reload: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  free(buf);
  qc_qat *q2 = NULL;
  st = qc_qat_new(g2, &o, NULL, 0, &q2, &e);
  if (st) fprintf(stderr, "qat reload: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_qat_n_ranges(q2), 5);
  for (int i = 0; i < 5; i++) {
    CU_ASSERT_STRING_EQUAL(qc_qat_range(q2, i).value, qc_qat_range(q, i).value);
    CU_ASSERT_EQUAL(qc_qat_range(q2, i).thresh, qc_qat_range(q, i).thresh);
  }
  CU_ASSERT_EQUAL(count_op(g2, QC_OP_QcFakeQuant, 0), 8);
  qc_qat_free(q2);
  qc_graph_free(g2);
  /* no calibration data and no ranges: an exact error */
  qc_graph *g3 = parse_ok(net_text());
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_qat_new(g3, &o, NULL, 0, &q2, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "QAT needs calibration batches for the initial ranges");
  CU_ASSERT_EQUAL(count_op(g3, QC_OP_QcFakeQuant, 0), 0); /* unchanged */
  qc_graph_free(g3);
  qc_qat_free(q);
  free_batches(cal, 2);
  qc_graph_free(g);
}

/* Same weights and ranges: QAT conversion == PTQ, as IR text and bit for bit on outputs. */
static void test_convert_equals_ptq(void)
{
  qc_tensor *cal = rand_batches(2, 8, 5);
  qc_tensor *x = rand_batches(1, 16, 77);
  for (int bits = 4; bits <= 8; bits += 4) {
    qc_graph *g = parse_ok(net_text());
    qc_graph *p = parse_ok(net_text());
    qc_qat_opts o;
    qc_qat_opts_default(&o);
    o.u.w_bits = o.u.a_bits = bits;
    o.u.first_last_8bit = false;
    o.u.threads = 1;
    qc_qat *q = NULL;
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(qc_qat_new(g, &o, cal, 2, &q, &e), QC_OK);
    /* ranges moved off the calibration's, as training would */
    int nr = qc_qat_n_ranges(q);
    qc_act_range *r = calloc((size_t)nr, sizeof *r);
    for (int i = 0; i < nr; i++) {
      CU_ASSERT_EQUAL(qc_qat_set_range(q, i, qc_qat_range(q, i).thresh * (0.8 + 0.1 * i), &e),
                      QC_OK);
      r[i] = qc_qat_range(q, i);
    }
    /* and a weight moved: the same change in both graphs */
    int32_t w = qc_graph_find_value(g, "w2"), pw = qc_graph_find_value(p, "w2");
    CU_ASSERT_FATAL(w >= 0 && pw >= 0);
    ((float *)g->values[w].data)[5] += 0.125f;
    ((float *)p->values[pw].data)[5] += 0.125f;
    qc_graph *ig = NULL;
    qc_quant_report rep;
    qc_status st = qc_qat_convert(q, &ig, &rep, &e);
    if (st) fprintf(stderr, "convert: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, QC_OK);
    qc_uniform_opts u = o.u;
    u.ranges = r;
    u.n_ranges = nr;
    st = qc_quantize_uniform(p, &u, NULL, 0, NULL, &e);
    if (st) fprintf(stderr, "ptq: %s\n", e.msg);
    CU_ASSERT_EQUAL_FATAL(st, QC_OK);
    char *a = qc_print(ig, true), *b = qc_print(p, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    int64_t na, nb;
    float *ya = run(ig, x, &na), *yb = run(p, x, &nb);
    CU_ASSERT_EQUAL_FATAL(na, nb);
    CU_ASSERT(memcmp(ya, yb, sizeof(float) * (size_t)na) == 0);
    CU_ASSERT_EQUAL(rep.n_layers, 3);
    /* integer ops only, and the fake-quantized forward agrees with the integer model closely */
    CU_ASSERT_EQUAL(count_op(ig, QC_OP_QcConv, 0), 2);
    CU_ASSERT_EQUAL(count_op(ig, QC_OP_QcFakeQuant, 0), 0);
    int64_t nf;
    float *yf = run(g, x, &nf);
    double num = 0, den = 0;
    for (int64_t i = 0; i < na; i++) num += (ya[i] - yf[i]) * (ya[i] - yf[i]), den += yf[i] * yf[i];
    /* loose: the integer GAP floors (up to 1 LSB) and requantizes in dyadic steps, which the
       fake-quantized graph does not model; on this 3-logit net that is 25% at 4 bits */
    CU_ASSERT(sqrt(num / (den + 1e-30)) < (bits == 8 ? 0.03 : 0.4));
    /* a range the conversion lacks is an exact error */
    u.n_ranges = nr - 1;
    qc_graph *p2 = parse_ok(net_text());
    qc_err_clear(&e);
    CU_ASSERT_EQUAL(qc_quantize_uniform(p2, &u, NULL, 0, NULL, &e), QC_ERR_INVALID);
    char want[256];
    snprintf(want, sizeof want, "no activation range given for value '%s'", r[nr - 1].value);
    CU_ASSERT_STRING_EQUAL(e.msg, want);
    qc_graph_free(p2);
    free(a), free(b), free(ya), free(yb), free(yf), free(r);
    qc_quant_report_free(&rep);
    qc_graph_free(ig);
    qc_qat_free(q);
    qc_graph_free(g);
    qc_graph_free(p);
  }
  free_batches(cal, 2);
  free_batches(x, 1);
}

/* ---- the example model: a few W4A4 QAT steps lower the loss ------------------------------ */

#define FM_DIR "/usr/share/datasets/fashion-mnist/"

static double loss_on(qc_ad *ad, const qc_tensor *x, const int64_t *lab)
{
  qc_err e = {0};
  qc_ad_set_training(ad, false);
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, x, 1, &e), QC_OK);
  double l = 0;
  CU_ASSERT_EQUAL_FATAL(qc_loss_cross_entropy(qc_ad_output(ad, 0), lab, &l, NULL, &e), QC_OK);
  qc_ad_set_training(ad, true);
  return l;
}

static void test_example_w4a4_steps(void)
{
  qc_tensor img, lab8;
  qc_err e = {0};
  if (qc_idx_read(FM_DIR "train-images-idx3-ubyte.gz", &img, &e) != QC_OK ||
      qc_idx_read(FM_DIR "train-labels-idx1-ubyte.gz", &lab8, &e) != QC_OK) {
    fprintf(stderr, "SKIPPED: no Fashion-MNIST in " FM_DIR "\n");
    return;
  }
  enum { N = 256, B = 64 };
  float *xs = malloc(sizeof(float) * N * 784);
  int64_t *ls = malloc(sizeof(int64_t) * N);
  const uint8_t *px = img.data, *lb = lab8.data;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < 784; j++) xs[i * 784 + j] = ((float)px[i * 784 + j] / 255.0f - 0.286f) / 0.353f;
    ls[i] = lb[i];
  }
  free(img.data), free(lab8.data);
  qc_graph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e), QC_OK);
  qc_tensor cal[2] = {{QC_DT_F32, 4, {128, 1, 28, 28}, xs}, {QC_DT_F32, 4, {128, 1, 28, 28}, xs + 128 * 784}};
  qc_qat_opts o;
  qc_qat_opts_default(&o);
  o.u.w_bits = o.u.a_bits = 4;
  o.u.threads = 2;
  qc_qat *q = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_qat_new(g, &o, cal, 2, &q, &e), QC_OK);
  qc_ad *ad = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 2, true, &ad, &e), QC_OK);
  int np = qc_ad_n_params(ad);
  qc_opt_param *pp = calloc((size_t)np, sizeof *pp);
  const float **gr = calloc((size_t)np, sizeof *gr);
  for (int i = 0; i < np; i++) {
    qc_value *v = &g->values[qc_ad_param(ad, i)];
    pp[i] = (qc_opt_param){v->data, qc_shape_elems(v->rank, v->dims), 0};
  }
  qc_opt_group grp = qc_opt_group_default(QC_OPT_SGD, 0.002);
  grp.momentum = 0.9;
  qc_optim *opt = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_optim_new(QC_OPT_SGD, &grp, 1, pp, np, &opt, &e), QC_OK);
  qc_tensor all = {QC_DT_F32, 4, {N, 1, 28, 28}, xs};
  double before = loss_on(ad, &all, ls);
  float *dl = malloc(sizeof(float) * B * 10);
  for (int ep = 0; ep < 3; ep++)
    for (int b = 0; b < N / B; b++) {
      qc_tensor xb = {QC_DT_F32, 4, {B, 1, 28, 28}, xs + b * B * 784};
      CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &xb, 1, &e), QC_OK);
      qc_tensor d = *qc_ad_output(ad, 0);
      d.data = dl;
      double l;
      CU_ASSERT_EQUAL_FATAL(qc_loss_cross_entropy(qc_ad_output(ad, 0), ls + b * B, &l, &d, &e), QC_OK);
      CU_ASSERT_EQUAL_FATAL(qc_ad_backward(ad, &d, 1, &e), QC_OK);
      CU_ASSERT_EQUAL_FATAL(qc_qat_observe(q, ad, &e), QC_OK);
      for (int i = 0; i < np; i++) {
        const qc_tensor *t = qc_ad_grad(ad, qc_ad_param(ad, i));
        gr[i] = t ? t->data : NULL;
      }
      CU_ASSERT_EQUAL_FATAL(qc_optim_step(opt, gr, &e), QC_OK);
    }
  double after = loss_on(ad, &all, ls);
  printf("\n    W4A4 fake-quant loss on %d images: %.4f -> %.4f\n", N, before, after);
  CU_ASSERT(after < before * 0.95);
  /* the converted integer model runs and agrees with the fake-quantized one on most images */
  qc_graph *ig = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_qat_convert(q, &ig, NULL, &e), QC_OK);
  int64_t n1;
  float *yi = run(ig, &all, &n1);
  qc_ad_set_training(ad, false);
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &all, 1, &e), QC_OK);
  const float *yf = qc_ad_output(ad, 0)->data;
  int agree = 0;
  for (int i = 0; i < N; i++) {
    int a = 0, b = 0;
    for (int k = 1; k < 10; k++) {
      if (yi[i * 10 + k] > yi[i * 10 + a]) a = k;
      if (yf[i * 10 + k] > yf[i * 10 + b]) b = k;
    }
    agree += a == b;
  }
  CU_ASSERT(agree >= N * 97 / 100);
  free(yi), free(dl), free(pp), free(gr), free(xs), free(ls);
  qc_graph_free(ig);
  qc_optim_free(opt);
  qc_ad_free(ad);
  qc_qat_free(q);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"fake quant: activation values and STE by hand", test_fake_quant_act},
    {"fake quant: per-channel weights, identity gradient", test_fake_quant_weight},
    {"fake quant: bad scale is an exact error", test_fake_quant_errors},
    {"QAT graph, EMA update, checkpoint ranges", test_build_and_ema},
    {"QAT conversion == PTQ with the same ranges, bit for bit", test_convert_equals_ptq},
    {"example ResNet: W4A4 QAT steps lower the loss", test_example_w4a4_steps},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qat", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
