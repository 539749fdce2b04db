/* Autodiff: every nn VJP and the losses against central finite differences (directional
   derivatives along random directions, forward in f32, accumulated in double), BatchNorm's
   running statistics against PyTorch's update rule, and errors by exact message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autodiff.h"
#include "testutil.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) /* xorshift64, uniform in [-1, 1) */
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / (double)(1ull << 52) - 1.0;
}

static void fill(float *p, int64_t n, double scale)
{
  for (int64_t i = 0; i < n; i++) p[i] = (float)(urand() * scale);
}

/* Parses text; constants written "..." get random data. */
static qc_graph *build(const char *text)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_parse(text, &g, &e);
  if (st) printf("\nparse: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  for (int32_t v = 0; v < g->n_values; v++) {
    qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST) || val->data || val->dtype != QC_DT_F32) continue;
    int64_t ne = qc_shape_elems(val->rank, val->dims);
    val->data = qc_arena_alloc(g->arena, sizeof(float) * (size_t)(ne ? ne : 1));
    fill(val->data, ne, 1.0);
  }
  return g;
}

static const char *cur_text;
/* Max pools: inputs 0.01 apart, so a step of 1e-3 never changes a window's maximum. */
static bool spread_input;

typedef struct {
  qc_graph *g;
  qc_ad *ad;
  qc_tensor x;      /* the one graph input */
  float *r;         /* L = sum r * y */
  int64_t ny;
} fd_case;

static double loss_of(fd_case *c)
{
  qc_err e = {0};
  qc_status st = qc_ad_forward(c->ad, &c->x, 1, &e);
  if (st) printf("\nforward: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  const qc_tensor *y = qc_ad_output(c->ad, 0);
  const float *yd = y->data;
  double L = 0;
  for (int64_t i = 0; i < c->ny; i++) L += (double)c->r[i] * yd[i];
  return L;
}

/* Checks <grad, u> against (L(p + h u) - L(p - h u)) / 2h for data p of n floats. */
static void check_dir(fd_case *c, float *p, int64_t n, const float *grad, double h,
                      const char *what)
{
  float *u = malloc(sizeof(float) * (size_t)n), *save = malloc(sizeof(float) * (size_t)n);
  fill(u, n, 1.0);
  memcpy(save, p, sizeof(float) * (size_t)n);
  double an = 0, mag = 0;
  for (int64_t i = 0; i < n; i++) {
    an += (double)grad[i] * u[i];
    mag += fabs((double)grad[i] * u[i]);
  }
  for (int64_t i = 0; i < n; i++) p[i] = (float)(save[i] + h * u[i]);
  double lp = loss_of(c);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(save[i] - h * u[i]);
  double lm = loss_of(c);
  memcpy(p, save, sizeof(float) * (size_t)n);
  double fd = (lp - lm) / (2 * h);
  double tol = 2e-3 * fmax(fabs(an), 0.05 * mag) + 1e-5;
  if (!(fabs(fd - an) <= tol))
    printf("\n%s in %.60s: analytic %.8g, finite difference %.8g (tol %.3g)\n", what, cur_text + 30, an, fd, tol);
  CU_ASSERT(fabs(fd - an) <= tol);
  free(u);
  free(save);
}

/* Builds the graph (one f32 input of shape xdims), runs forward/backward with random r, then
   checks the gradient of the input and of every parameter along three random directions. */
static void grad_check(const char *text, int xrank, const int64_t *xdims, bool training,
                       double h, int expect_params)
{
  fd_case c = {0};
  cur_text = text;
  c.g = build(text);
  qc_err e = {0};
  qc_status st = qc_ad_new(c.g, 2, training, &c.ad, &e);
  if (st) printf("\nad_new: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  CU_ASSERT_EQUAL(qc_ad_n_params(c.ad), expect_params);
  c.x.dtype = QC_DT_F32;
  c.x.rank = xrank;
  memcpy(c.x.dims, xdims, sizeof(int64_t) * (size_t)xrank);
  int64_t nx = qc_tensor_elems(&c.x);
  c.x.data = malloc(sizeof(float) * (size_t)nx);
  fill(c.x.data, nx, 1.0);
  if (spread_input)
    for (int64_t i = 0; i < nx; i++) ((float *)c.x.data)[i] = (float)((i * 7919) % nx) * 0.01f;
  loss_of(&c);
  const qc_tensor *y = qc_ad_output(c.ad, 0);
  c.ny = qc_tensor_elems(y);
  c.r = malloc(sizeof(float) * (size_t)c.ny);
  fill(c.r, c.ny, 1.0);
  qc_tensor dy = *y;
  dy.data = c.r;
  st = qc_ad_backward(c.ad, &dy, 1, &e);
  if (st) printf("\nbackward: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  /* copy gradients: the FD forwards below free them */
  int np = qc_ad_n_params(c.ad);
  float **gr = calloc((size_t)np + 1, sizeof *gr);
  const qc_tensor *gx = qc_ad_grad(c.ad, c.g->inputs[0]);
  CU_ASSERT_PTR_NOT_NULL_FATAL(gx);
  gr[np] = malloc(sizeof(float) * (size_t)nx);
  memcpy(gr[np], gx->data, sizeof(float) * (size_t)nx);
  for (int i = 0; i < np; i++) {
    int32_t v = qc_ad_param(c.ad, i);
    const qc_tensor *gv = qc_ad_grad(c.ad, v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gv);
    int64_t ne = qc_tensor_elems(gv);
    gr[i] = malloc(sizeof(float) * (size_t)ne);
    memcpy(gr[i], gv->data, sizeof(float) * (size_t)ne);
  }
  /* Running statistics move in training mode; FD needs the forward to be a pure function. */
  qc_ad_set_training(c.ad, training);
  float *saved_stats[64];
  int ns = 0;
  for (int32_t v = 0; v < c.g->n_values && ns < 64; v++) {
    qc_value *val = &c.g->values[v];
    if (!(val->flags & QC_VAL_CONST) || val->dtype != QC_DT_F32) continue;
    int64_t ne = qc_shape_elems(val->rank, val->dims);
    saved_stats[ns] = malloc(sizeof(float) * (size_t)(ne ? ne : 1));
    memcpy(saved_stats[ns++], val->data, sizeof(float) * (size_t)ne);
  }
  for (int rep = 0; rep < 3; rep++) {
    check_dir(&c, c.x.data, nx, gr[np], h, "input");
    for (int i = 0; i < np; i++) {
      qc_value *val = &c.g->values[qc_ad_param(c.ad, i)];
      check_dir(&c, val->data, qc_shape_elems(val->rank, val->dims), gr[i], h, val->name);
    }
  }
  for (int i = 0; i < ns; i++) free(saved_stats[i]);
  for (int i = 0; i <= np; i++) free(gr[i]);
  free(gr);
  free(c.r);
  free(c.x.data);
  qc_ad_free(c.ad);
  qc_graph_free(c.g);
}

#define I64(...) ((const int64_t[]){__VA_ARGS__})

static void test_gemm(void)
{
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[3,4]\n"
             "  const %w: f32[5,4] = ...\n"
             "  const %b: f32[5] = ...\n"
             "  %y = Gemm(%x, %w, %b) {transB=1}\n"
             "  output %y\n"
             "}\n",
             2, I64(3, 4), false, 1e-2, 2);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[4,3]\n"
             "  const %w: f32[4,5] = ...\n"
             "  const %b: f32[3,1] = ...\n"
             "  %y = Gemm(%x, %w, %b) {transA=1, alpha=0.7, beta=1.3}\n"
             "  output %y\n"
             "}\n",
             2, I64(4, 3), false, 1e-2, 2);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[4,3]\n"
             "  const %w: f32[5,4] = ...\n"
             "  const %b: f32[] = ...\n"
             "  %y = Gemm(%x, %w, %b) {transA=1, transB=1, beta=0.5}\n"
             "  output %y\n"
             "}\n",
             2, I64(4, 3), false, 1e-2, 2);
}

static void test_matmul(void)
{
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,1,3,4]\n"
             "  const %w: f32[3,4,5] = ...\n"
             "  %y = MatMul(%x, %w)\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 1, 3, 4), false, 1e-2, 1);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[4]\n"
             "  const %w: f32[2,4,3] = ...\n"
             "  %y = MatMul(%x, %w)\n"
             "  output %y\n"
             "}\n",
             1, I64(4), false, 1e-2, 1);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,4]\n"
             "  const %w: f32[4] = ...\n"
             "  %y = MatMul(%x, %w)\n"
             "  output %y\n"
             "}\n",
             3, I64(2, 3, 4), false, 1e-2, 1);
}

static void test_conv(void)
{
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,4,7,6]\n"
             "  const %w: f32[6,2,3,2] = ...\n"
             "  const %b: f32[6] = ...\n"
             "  %y = Conv(%x, %w, %b) {group=2, strides=[2, 1], dilations=[1, 2], "
             "pads=[1, 0, 2, 1]}\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 4, 7, 6), false, 1e-2, 2);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,9]\n"
             "  const %w: f32[3,1,3] = ...\n"
             "  %y = Conv(%x, %w) {group=3, strides=[2], auto_pad=\"SAME_UPPER\"}\n"
             "  output %y\n"
             "}\n",
             3, I64(2, 3, 9), false, 1e-2, 1);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[1,2,4,4,3]\n"
             "  const %w: f32[2,2,2,2,2] = ...\n"
             "  const %b: f32[2] = ...\n"
             "  %y = Conv(%x, %w, %b) {pads=[1, 0, 1, 0, 1, 0]}\n"
             "  output %y\n"
             "}\n",
             5, I64(1, 2, 4, 4, 3), false, 1e-2, 2);
}

static const char *bn_text = "graph g opset 17 {\n"
                             "  input %x: f32[4,3,2,3]\n"
                             "  const %s: f32[3] = ...\n"
                             "  const %b: f32[3] = ...\n"
                             "  const %m: f32[3] = [0.1, -0.2, 0.3]\n"
                             "  const %v: f32[3] = [1.5, 0.5, 2.0]\n"
                             "  %y = BatchNormalization(%x, %s, %b, %m, %v) {momentum=0.8}\n"
                             "  output %y\n"
                             "}\n";

static void test_batchnorm(void)
{
  grad_check(bn_text, 4, I64(4, 3, 2, 3), false, 1e-2, 2);
  grad_check(bn_text, 4, I64(4, 3, 2, 3), true, 1e-2, 2);
}

/* Training mode: running = running * momentum + batch * (1 - momentum), unbiased variance. */
static void test_batchnorm_running(void)
{
  qc_graph *g = build(bn_text);
  qc_ad *ad = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, true, &ad, &e), QC_OK);
  float xd[4 * 3 * 6];
  fill(xd, 72, 2.0);
  qc_tensor x = {QC_DT_F32, 4, {4, 3, 2, 3}, xd};
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &x, 1, &e), QC_OK);
  const float m0[3] = {0.1f, -0.2f, 0.3f}, v0[3] = {1.5f, 0.5f, 2.0f};
  const float *rm = g->values[qc_graph_find_value(g, "m")].data;
  const float *rv = g->values[qc_graph_find_value(g, "v")].data;
  for (int c = 0; c < 3; c++) {
    double s = 0, sq = 0;
    for (int b = 0; b < 4; b++)
      for (int i = 0; i < 6; i++) s += xd[(b * 3 + c) * 6 + i];
    double mu = s / 24;
    for (int b = 0; b < 4; b++)
      for (int i = 0; i < 6; i++) sq += pow(xd[(b * 3 + c) * 6 + i] - mu, 2);
    CU_ASSERT_DOUBLE_EQUAL(rm[c], m0[c] * 0.8 + mu * 0.2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(rv[c], v0[c] * 0.8 + sq / 23 * 0.2, 1e-6);
  }
  /* inference leaves them alone */
  float keep = rm[0];
  qc_ad_set_training(ad, false);
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &x, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(rm[0], keep);
  /* running statistics are not parameters */
  CU_ASSERT_EQUAL(qc_ad_n_params(ad), 2);
  qc_ad_free(ad);
  qc_graph_free(g);
}

/* A node exported with training_mode = 1 follows qc_ad's flag: inference uses running stats. */
static void test_batchnorm_mode_follows_flag(void)
{
  qc_graph *g = build("graph g opset 17 {\n"
                      "  input %x: f32[2,2,3]\n"
                      "  const %s: f32[2] = [2.0, 0.5]\n"
                      "  const %b: f32[2] = [1.0, -1.0]\n"
                      "  const %m: f32[2] = [0.5, -0.25]\n"
                      "  const %v: f32[2] = [4.0, 0.25]\n"
                      "  %y, %rm, %rv = BatchNormalization(%x, %s, %b, %m, %v) "
                      "{training_mode=1, epsilon=0.0}\n"
                      "  output %y\n"
                      "}\n");
  qc_ad *ad = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, false, &ad, &e), QC_OK);
  float xd[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, 0, 1, 2};
  qc_tensor x = {QC_DT_F32, 3, {2, 2, 3}, xd};
  CU_ASSERT_EQUAL_FATAL(qc_ad_forward(ad, &x, 1, &e), QC_OK);
  const float *y = qc_ad_output(ad, 0)->data;
  /* channel 0: (x - 0.5) / 2 * 2 + 1 = x + 0.5; channel 1: (x + 0.25) / 0.5 * 0.5 - 1 */
  CU_ASSERT_DOUBLE_EQUAL(y[0], 1.5, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(y[3], 4 + 0.25 - 1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(y[9], 0 + 0.25 - 1, 1e-6);
  qc_ad_free(ad);
  qc_graph_free(g);
}

static void test_pools(void)
{
  spread_input = true;
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,7,6]\n"
             "  %y = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]}\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 3, 7, 6), false, 1e-3, 0);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,7,6]\n"
             "  %y = AveragePool(%x) {kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], "
             "ceil_mode=1}\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 3, 7, 6), false, 1e-2, 0);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,7,6]\n"
             "  %y = AveragePool(%x) {kernel_shape=[3, 3], strides=[2, 1], pads=[1, 1, 1, 1], "
             "count_include_pad=1}\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 3, 7, 6), false, 1e-2, 0);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,2,9]\n"
             "  %y = MaxPool(%x) {kernel_shape=[2], dilations=[2], strides=[2]}\n"
             "  output %y\n"
             "}\n",
             3, I64(2, 2, 9), false, 1e-3, 0);
  spread_input = false;
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,3,4,5]\n"
             "  %y = GlobalAveragePool(%x)\n"
             "  output %y\n"
             "}\n",
             4, I64(2, 3, 4, 5), false, 1e-2, 0);
}

static void test_softmax(void)
{
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[2,5,3]\n"
             "  %y = Softmax(%x) {axis=1}\n"
             "  output %y\n"
             "}\n",
             3, I64(2, 5, 3), false, 1e-2, 0);
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[3,6]\n"
             "  %y = LogSoftmax(%x)\n"
             "  output %y\n"
             "}\n",
             2, I64(3, 6), false, 1e-2, 0);
  /* a chain: gradients pass between VJPs and fan-out sums (x feeds both Gemms) */
  grad_check("graph g opset 17 {\n"
             "  input %x: f32[3,4]\n"
             "  const %w: f32[4,4] = ...\n"
             "  const %w2: f32[4,4] = ...\n"
             "  %a = Gemm(%x, %w)\n"
             "  %b = Gemm(%x, %w2)\n"
             "  %c = Gemm(%a, %b) {transB=1}\n"
             "  %y = LogSoftmax(%c)\n"
             "  output %y\n"
             "}\n",
             2, I64(3, 4), false, 1e-2, 2);
}

/* ---- losses ------------------------------------------------------------------------------ */

typedef double (*loss_fn)(const qc_tensor *x, qc_tensor *dx);

static const int64_t ce_labels[4] = {2, 0, 4, 4};
static qc_tensor kl_teacher;
static qc_tensor mse_target;

static double ce(const qc_tensor *x, qc_tensor *dx)
{
  double L = 0;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_loss_cross_entropy(x, ce_labels, &L, dx, &e), QC_OK);
  return L;
}
static double mse(const qc_tensor *x, qc_tensor *dx)
{
  double L = 0;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_loss_mse(x, &mse_target, &L, dx, &e), QC_OK);
  return L;
}
static double kl(const qc_tensor *x, qc_tensor *dx)
{
  double L = 0;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_loss_kl_distill(x, &kl_teacher, 2.5f, &L, dx, &e), QC_OK);
  return L;
}

static void loss_check(loss_fn f)
{
  float xd[20], gd[20], t[20];
  fill(xd, 20, 3.0);
  qc_tensor x = {QC_DT_F32, 2, {4, 5}, xd}, g = {QC_DT_F32, 2, {4, 5}, gd};
  f(&x, &g);
  for (int i = 0; i < 20; i++) {
    float s = xd[i];
    double h = 1e-2;
    xd[i] = (float)(s + h);
    double lp = f(&x, NULL);
    xd[i] = (float)(s - h);
    double lm = f(&x, NULL);
    xd[i] = s;
    double fd = (lp - lm) / (2 * h);
    CU_ASSERT_DOUBLE_EQUAL(gd[i], fd, 1e-4 + 1e-3 * fabs(fd));
  }
  (void)t;
}

static void test_losses(void)
{
  static float td[20], md[20];
  fill(td, 20, 3.0);
  fill(md, 20, 1.0);
  kl_teacher = (qc_tensor){QC_DT_F32, 2, {4, 5}, td};
  mse_target = (qc_tensor){QC_DT_F32, 2, {4, 5}, md};
  loss_check(ce);
  loss_check(mse);
  loss_check(kl);
  /* values by hand: uniform logits give log C; equal student and teacher give 0 */
  float z[6] = {0};
  qc_tensor zt = {QC_DT_F32, 2, {2, 3}, z};
  int64_t lab[2] = {0, 2};
  double L = -1;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_loss_cross_entropy(&zt, lab, &L, NULL, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(L, log(3.0), 1e-12);
  CU_ASSERT_EQUAL(qc_loss_kl_distill(&zt, &zt, 4.0f, &L, NULL, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(L, 0.0, 1e-12);
  float p[2] = {1, 3}, q[2] = {0, 1};
  qc_tensor pt = {QC_DT_F32, 1, {2}, p}, qt = {QC_DT_F32, 1, {2}, q};
  CU_ASSERT_EQUAL(qc_loss_mse(&pt, &qt, &L, NULL, &e), QC_OK);
  CU_ASSERT_DOUBLE_EQUAL(L, 2.5, 1e-12);
  lab[1] = 3;
  CU_ASSERT_EQUAL(qc_loss_cross_entropy(&zt, lab, &L, NULL, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "label 3 of sample 1 is outside [0, 3)");
}

static void test_errors(void)
{
  qc_graph *g = build("graph g opset 17 {\n"
                      "  input %x: f32[1,3,4,4]\n"
                      "  const %w: f32[3,3,1,1] = ...\n"
                      "  %c = Conv(%x, %w)\n"
                      "  %y = LRN(%c) {size=3} @lrn1\n"
                      "  output %y\n"
                      "}\n");
  qc_ad *ad = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_ad_new(g, 1, false, &ad, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_PTR_NULL(ad);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'lrn1' (LRN): no vector-Jacobian product for LRN");
  qc_graph_free(g);

  g = build("graph g opset 17 {\n"
            "  input %x: f32[2,3]\n"
            "  const %w: f32[3,4] = ...\n"
            "  %y = MatMul(%x, %w)\n"
            "  output %y\n"
            "}\n");
  CU_ASSERT_EQUAL_FATAL(qc_ad_new(g, 1, false, &ad, &e), QC_OK);
  float xd[6] = {0};
  qc_tensor x = {QC_DT_F32, 2, {2, 4}, xd};
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_ad_forward(ad, &x, 1, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "input 'x': expected dim 1 to be 3, got 4");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_ad_backward(ad, &x, 1, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "backward without a successful forward");
  x.dims[1] = 3;
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_ad_forward(ad, &x, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_ad_backward(ad, &x, 1, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "gradient of output 'y' must be f32 with 8 elements");
  /* a zero (data NULL) output gradient gives zero parameter gradients */
  qc_tensor none = {0};
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_ad_backward(ad, &none, 1, &e), QC_OK);
  const qc_tensor *gw = qc_ad_grad(ad, qc_ad_param(ad, 0));
  CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
  for (int i = 0; i < 12; i++) CU_ASSERT_EQUAL(((const float *)gw->data)[i], 0.0f);
  qc_ad_free(ad);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"gemm", test_gemm},
    {"matmul", test_matmul},
    {"conv", test_conv},
    {"batchnorm", test_batchnorm},
    {"batchnorm_running", test_batchnorm_running},
    {"batchnorm_mode_follows_flag", test_batchnorm_mode_follows_flag},
    {"pools", test_pools},
    {"softmax", test_softmax},
    {"losses", test_losses},
    {"errors", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"autodiff", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
