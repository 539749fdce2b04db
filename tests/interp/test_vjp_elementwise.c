/* VJPs of the elementwise and shape ops (interp/vjp_elementwise.c) against central finite
 * differences of the forward kernels: one node, seeded random inputs, a random output weighting u,
 * L = sum_o <u_o, y_o> in double; every input element's dL/dx from the VJP must match
 * (L(x + h) - L(x - h)) / 2h. din starts at a nonzero value to check that VJPs accumulate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "kernels.h"
#include "pool.h"
#include "testutil.h"

#define VT_IO 8
#define VT_DIN0 0.25f

typedef struct {
  qc_graph *g;
  int32_t node;
  int n_in, n_out;
  qc_tensor in[VT_IO];
  bool diff[VT_IO];
  bool no_dout[VT_IO]; /* dout data NULL for this output */
  uint64_t rng;
} vt;

typedef struct {
  void *blocks[64];
  int n;
} vt_scratch;

static void *vt_scratch_fn(qc_kctx *k, size_t bytes)
{
  vt_scratch *s = k->scratch_owner;
  if (s->n >= 64) return NULL;
  void *p = malloc(bytes ? bytes : 1);
  if (p) {
    memset(p, 0xa5, bytes);
    s->blocks[s->n++] = p;
  }
  return p;
}

static void vt_scratch_free(vt_scratch *s)
{
  for (int i = 0; i < s->n; i++) free(s->blocks[i]);
  s->n = 0;
}

static double vt_rand(vt *t) /* [0, 1) */
{
  t->rng ^= t->rng << 13;
  t->rng ^= t->rng >> 7;
  t->rng ^= t->rng << 17;
  return (double)(t->rng >> 11) / 9007199254740992.0;
}

static void vt_init(vt *t, const char *op, uint64_t seed)
{
  memset(t, 0, sizeof *t);
  t->rng = seed * 2654435761u + 88172645463325252ull;
  t->g = qc_graph_new();
  qc_err e = {0};
  int32_t none[1] = {0};
  t->node = qc_graph_add_node(t->g, qc_op_lookup("", op), "n", 0, none, 0, none, &e);
  CU_ASSERT_FATAL(t->node >= 0);
  t->n_out = 1;
}

static void vt_free(vt *t)
{
  for (int i = 0; i < t->n_in; i++) free(t->in[i].data);
  qc_graph_free(t->g);
}

static qc_attr *vt_attr(vt *t, const char *name, qc_attr_kind kind)
{
  qc_err e = {0};
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, kind, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(a);
  return a;
}

static void vt_attr_i(vt *t, const char *name, int64_t v) { vt_attr(t, name, QC_ATTR_INT)->i = v; }
static void vt_attr_f(vt *t, const char *name, float v) { vt_attr(t, name, QC_ATTR_FLOAT)->f = v; }

static void vt_attr_ints(vt *t, const char *name, int n, const int64_t *v)
{
  qc_attr *a = vt_attr(t, name, QC_ATTR_INTS);
  a->n = n;
  a->ints = qc_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)(n + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static qc_tensor *vt_add(vt *t, qc_dtype dt, int rank, const int64_t *dims, bool diff)
{
  qc_tensor *x = &t->in[t->n_in];
  t->diff[t->n_in++] = diff;
  x->dtype = dt;
  x->rank = rank;
  for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
  int64_t b = qc_tensor_bytes(x);
  x->data = calloc(1, (size_t)(b > 0 ? b : 1));
  return x;
}

/* Random f32 input in [lo, hi), at least gap away from each of the n_av points in av. */
static void vt_rand_f32(vt *t, int rank, const int64_t *dims, double lo, double hi, bool diff,
                        const double *av, int n_av, double gap)
{
  qc_tensor *x = vt_add(t, QC_DT_F32, rank, dims, diff);
  float *p = x->data;
  for (int64_t i = 0; i < qc_tensor_elems(x); i++) {
    double v;
    bool bad;
    do {
      v = lo + (hi - lo) * vt_rand(t);
      bad = false;
      for (int a = 0; a < n_av; a++) bad |= fabs(v - av[a]) < gap;
    } while (bad);
    p[i] = (float)v;
  }
}

static void vt_plain(vt *t, int rank, const int64_t *dims)
{
  vt_rand_f32(t, rank, dims, -2, 2, true, NULL, 0, 0);
}

static void vt_f32(vt *t, int rank, const int64_t *dims, const float *v, bool diff)
{
  qc_tensor *x = vt_add(t, QC_DT_F32, rank, dims, diff);
  memcpy(x->data, v, sizeof(float) * (size_t)qc_tensor_elems(x));
}

static void vt_i64(vt *t, int n, const int64_t *v)
{
  int64_t d[1] = {n};
  qc_tensor *x = vt_add(t, QC_DT_I64, 1, d, false);
  if (n) memcpy(x->data, v, sizeof(int64_t) * (size_t)n);
}

static void vt_none(vt *t)
{
  memset(&t->in[t->n_in], 0, sizeof t->in[0]);
  t->diff[t->n_in++] = false;
}

/* Forward run: infer, allocate, kernel. out[i].data malloc'd. */
static bool vt_fwd(vt *t, const qc_tensor *in, qc_tensor *out, char *why)
{
  qc_node *nd = &t->g->nodes[t->node];
  nd->n_in = t->n_in;
  nd->n_out = t->n_out;
  qc_tinfo ti[VT_IO], to[VT_IO];
  memset(to, 0, sizeof to);
  for (int i = 0; i < t->n_in; i++) {
    ti[i].dtype = in[i].dtype;
    ti[i].rank = in[i].rank;
    memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
    ti[i].data = in[i].data;
  }
  qc_err e = {0};
  memset(out, 0, sizeof(qc_tensor) * VT_IO);
  if (qc_infer_node(nd, ti, t->n_in, to, t->n_out, &e)) {
    sprintf(why, "inference: %s", e.msg);
    return false;
  }
  for (int o = 0; o < t->n_out; o++) {
    out[o].dtype = to[o].dtype;
    out[o].rank = to[o].rank;
    memcpy(out[o].dims, to[o].dims, sizeof out[o].dims);
    int64_t b = qc_tensor_bytes(&out[o]);
    out[o].data = malloc((size_t)(b > 0 ? b : 1));
  }
  qc_kernel_fn table[QC_OP_COUNT];
  qc_kernels_collect(table);
  vt_scratch sc = {{0}, 0};
  qc_kctx k = {NULL, &e, vt_scratch_fn, &sc};
  qc_status st = table[nd->op](&k, nd, in, t->n_in, out, t->n_out);
  vt_scratch_free(&sc);
  if (st) sprintf(why, "forward: %s", e.msg);
  return st == QC_OK;
}

static void vt_free_out(vt *t, qc_tensor *out)
{
  for (int o = 0; o < t->n_out; o++) free(out[o].data);
}

/* Runs the VJP with dout = u; din[i] for the differentiable inputs starts at VT_DIN0. */
static qc_status vt_vjp(vt *t, const qc_tensor *out, float **u, qc_tensor *din, qc_err *e)
{
  qc_node *nd = &t->g->nodes[t->node];
  qc_tensor dout[VT_IO];
  for (int o = 0; o < t->n_out; o++) {
    dout[o] = out[o];
    dout[o].data = t->no_dout[o] ? NULL : u[o];
  }
  for (int i = 0; i < t->n_in; i++) {
    din[i] = t->in[i];
    din[i].data = NULL;
    if (!t->diff[i]) continue;
    int64_t m = qc_tensor_elems(&t->in[i]);
    float *p = malloc(sizeof(float) * (size_t)(m > 0 ? m : 1));
    for (int64_t j = 0; j < m; j++) p[j] = VT_DIN0;
    din[i].data = p;
  }
  qc_vjp_fn table[QC_OP_COUNT];
  qc_vjps_collect(table);
  if (!table[nd->op]) return qc_err_set(e, QC_ERR_UNSUPPORTED, "no VJP");
  vt_scratch sc = {{0}, 0};
  qc_kctx k = {NULL, e, vt_scratch_fn, &sc};
  qc_status st = table[nd->op](&k, nd, t->in, t->n_in, out, t->n_out, dout, din);
  vt_scratch_free(&sc);
  return st;
}

static double vt_loss(vt *t, const qc_tensor *out, float **u)
{
  double l = 0;
  for (int o = 0; o < t->n_out; o++) {
    if (t->no_dout[o]) continue;
    const float *y = out[o].data;
    for (int64_t j = 0; j < qc_tensor_elems(&out[o]); j++) l += (double)u[o][j] * y[j];
  }
  return l;
}

/* The finite-difference check of every differentiable input element; returns failures. */
static int vt_check(vt *t, const char *label)
{
  char why[2048] = "";
  qc_tensor out[VT_IO];
  if (!vt_fwd(t, t->in, out, why)) {
    printf("\n  %s: %s", label, why);
    CU_FAIL("forward failed");
    vt_free_out(t, out);
    return 1;
  }
  float *u[VT_IO];
  for (int o = 0; o < t->n_out; o++) {
    int64_t m = qc_tensor_elems(&out[o]);
    u[o] = malloc(sizeof(float) * (size_t)(m > 0 ? m : 1));
    for (int64_t j = 0; j < m; j++) u[o][j] = (float)(2 * vt_rand(t) - 1);
  }
  qc_tensor din[VT_IO];
  qc_err e = {0};
  int fails = 0;
  if (vt_vjp(t, out, u, din, &e)) {
    printf("\n  %s: vjp: %s", label, e.msg);
    fails++;
  }
  for (int i = 0; i < t->n_in && !fails; i++) {
    if (!t->diff[i]) continue;
    float *x = t->in[i].data;
    const float *gv = din[i].data;
    for (int64_t j = 0; j < qc_tensor_elems(&t->in[i]); j++) {
      float x0 = x[j];
      double h = 1e-3 * (fabs(x0) > 1 ? fabs(x0) : 1);
      qc_tensor op[VT_IO], om[VT_IO];
      x[j] = (float)(x0 + h);
      double hp = (double)x[j] - x0;
      bool ok = vt_fwd(t, t->in, op, why);
      x[j] = (float)(x0 - h);
      double hm = x0 - (double)x[j];
      ok &= vt_fwd(t, t->in, om, why);
      x[j] = x0;
      if (!ok) {
        printf("\n  %s: %s", label, why);
        fails++;
      } else {
        double fd = (vt_loss(t, op, u) - vt_loss(t, om, u)) / (hp + hm);
        double got = (double)gv[j] - VT_DIN0;
        if (fabs(got - fd) > 2e-3 * (1 + fabs(fd))) {
          printf("\n  %s: d/d in%d[%lld] is %.6g, finite difference %.6g", label, i,
                 (long long)j, got, fd);
          fails++;
        }
      }
      vt_free_out(t, op);
      vt_free_out(t, om);
      if (fails > 5) break;
    }
  }
  for (int i = 0; i < t->n_in; i++) free(din[i].data);
  for (int o = 0; o < t->n_out; o++) free(u[o]);
  vt_free_out(t, out);
  CU_ASSERT_EQUAL(fails, 0);
  return fails;
}

static const int64_t S234[3] = {2, 3, 4};

/* ---- unary ------------------------------------------------------------------------------ */

typedef struct {
  const char *op;
  double lo, hi;
  double av[4];
  int n_av;
} unary_case;

static void test_unary(void)
{
  static const unary_case cs[] = {
      {"Relu", -2, 2, {0}, 1},        {"LeakyRelu", -2, 2, {0}, 1},
      {"Sigmoid", -3, 3, {0}, 0},     {"Tanh", -3, 3, {0}, 0},
      {"HardSigmoid", -4, 4, {-2.5, 2.5}, 2}, {"HardSwish", -5, 5, {-3, 3}, 2},
      {"Elu", -2, 2, {0}, 1},         {"Softplus", -3, 3, {0}, 0},
      {"Exp", -2, 2, {0}, 0},         {"Log", 0.3, 3, {0}, 0},
      {"Sqrt", 0.3, 3, {0}, 0},       {"Neg", -2, 2, {0}, 0},
      {"Abs", -2, 2, {0}, 1},         {"Reciprocal", -2, 2, {0}, 1},
      {"Identity", -2, 2, {0}, 0},    {"Dropout", -2, 2, {0}, 0},
  };
  for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
    vt t;
    vt_init(&t, cs[c].op, c + 1);
    double gap = strcmp(cs[c].op, "Reciprocal") == 0 ? 0.4 : 0.05;
    vt_rand_f32(&t, 3, S234, cs[c].lo, cs[c].hi, true, cs[c].av, cs[c].n_av, gap);
    vt_check(&t, cs[c].op);
    vt_free(&t);
  }
  /* non-default attributes */
  vt t;
  vt_init(&t, "LeakyRelu", 50);
  vt_attr_f(&t, "alpha", 0.3f);
  vt_rand_f32(&t, 3, S234, -2, 2, true, (double[]){0}, 1, 0.05);
  vt_check(&t, "LeakyRelu alpha");
  vt_free(&t);
  vt_init(&t, "Elu", 51);
  vt_attr_f(&t, "alpha", 0.7f);
  vt_rand_f32(&t, 3, S234, -2, 2, true, (double[]){0}, 1, 0.05);
  vt_check(&t, "Elu alpha");
  vt_free(&t);
  vt_init(&t, "HardSigmoid", 52);
  vt_attr_f(&t, "alpha", 0.5f);
  vt_attr_f(&t, "beta", 0.3f);
  vt_rand_f32(&t, 3, S234, -3, 3, true, (double[]){-0.6, 1.4}, 2, 0.05);
  vt_check(&t, "HardSigmoid alpha beta");
  vt_free(&t);
}

static void test_clip(void)
{
  float lo = -0.5f, hi = 0.8f;
  vt t;
  vt_init(&t, "Clip", 60);
  vt_rand_f32(&t, 3, S234, -2, 2, true, (double[]){-0.5, 0.8}, 2, 0.05);
  vt_f32(&t, 0, NULL, &lo, false);
  vt_f32(&t, 0, NULL, &hi, false);
  vt_check(&t, "Clip min max");
  vt_free(&t);
  vt_init(&t, "Clip", 61);
  vt_rand_f32(&t, 3, S234, -2, 2, true, (double[]){-0.5}, 1, 0.05);
  vt_f32(&t, 0, NULL, &lo, false);
  vt_check(&t, "Clip min only");
  vt_free(&t);
  vt_init(&t, "Clip", 62);
  vt_rand_f32(&t, 3, S234, -2, 2, true, (double[]){0.8}, 1, 0.05);
  vt_none(&t);
  vt_f32(&t, 0, NULL, &hi, false);
  vt_check(&t, "Clip max only");
  vt_free(&t);

  /* At the bounds the gradient passes (PyTorch: min <= x <= max). */
  float x[6] = {0, 1, -1, 2, 0.5f, 1.0001f}, zero = 0, one = 1;
  float want[6] = {1, 1, 0, 0, 1, 0};
  int64_t d6[1] = {6};
  vt_init(&t, "Clip", 63);
  vt_f32(&t, 1, d6, x, true);
  vt_f32(&t, 0, NULL, &zero, false);
  vt_f32(&t, 0, NULL, &one, false);
  char why[2048];
  qc_tensor out[VT_IO], din[VT_IO];
  CU_ASSERT_FATAL(vt_fwd(&t, t.in, out, why));
  float ones[6] = {1, 1, 1, 1, 1, 1}, *u[1] = {ones};
  qc_err e = {0};
  CU_ASSERT_EQUAL(vt_vjp(&t, out, u, din, &e), QC_OK);
  for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(((float *)din[0].data)[i] - VT_DIN0, want[i]);
  CU_ASSERT_PTR_NULL(din[1].data);
  for (int i = 0; i < t.n_in; i++) free(din[i].data);
  vt_free_out(&t, out);
  vt_free(&t);
}

/* ---- broadcasting arithmetic ------------------------------------------------------------ */

static void test_binary(void)
{
  static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
  static const int ra[4] = {3, 3, 3, 2}, rb[4] = {3, 2, 0, 2};
  static const int64_t da[4][3] = {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}, {1, 4}},
                       db[4][3] = {{2, 3, 4}, {3, 1}, {0}, {3, 1}};
  for (int o = 0; o < 5; o++)
    for (int s = 0; s < 4; s++)
      for (int swap = 0; swap < 2; swap++) {
        vt t;
        vt_init(&t, ops[o], (uint64_t)(100 + 10 * o + 2 * s + swap));
        for (int side = 0; side < 2; side++) {
          bool first = (side == 0) != (swap == 1);
          int r = first ? ra[s] : rb[s];
          const int64_t *d = first ? da[s] : db[s];
          bool denom = side == 1 && strcmp(ops[o], "Div") == 0;
          if (strcmp(ops[o], "Pow") == 0)
            vt_rand_f32(&t, r, d, side == 0 ? 0.5 : -1.5, side == 0 ? 2 : 1.5, true, NULL, 0, 0);
          else if (denom) vt_rand_f32(&t, r, d, -2, 2, true, (double[]){0}, 1, 0.5);
          else vt_plain(&t, r, d);
        }
        char label[64];
        snprintf(label, sizeof label, "%s shapes %d%s", ops[o], s, swap ? " swapped" : "");
        vt_check(&t, label);
        vt_free(&t);
      }
  /* one input needs no gradient */
  vt t;
  vt_init(&t, "Mul", 150);
  vt_plain(&t, 3, S234);
  vt_rand_f32(&t, 2, (int64_t[]){3, 1}, -2, 2, false, NULL, 0, 0);
  vt_check(&t, "Mul, second frozen");
  vt_free(&t);
}

static void test_variadic(void)
{
  static const char *ops[] = {"Sum", "Mean", "Max", "Min"};
  for (int o = 0; o < 4; o++) {
    vt t;
    vt_init(&t, ops[o], (uint64_t)(200 + o));
    vt_plain(&t, 2, (int64_t[]){2, 3});
    vt_plain(&t, 1, (int64_t[]){3});
    vt_plain(&t, 2, (int64_t[]){2, 1});
    vt_check(&t, ops[o]);
    vt_free(&t);
    vt_init(&t, ops[o], (uint64_t)(210 + o));
    vt_plain(&t, 3, S234);
    vt_check(&t, "one input");
    vt_free(&t);
  }
  /* Max ties split the gradient evenly, as torch.maximum does. */
  float a[3] = {1, 2, 3}, b[3] = {1, 5, 0};
  int64_t d3[1] = {3};
  vt t;
  vt_init(&t, "Max", 220);
  vt_f32(&t, 1, d3, a, true);
  vt_f32(&t, 1, d3, b, true);
  char why[2048];
  qc_tensor out[VT_IO], din[VT_IO];
  CU_ASSERT_FATAL(vt_fwd(&t, t.in, out, why));
  float g[3] = {2, 2, 2}, *u[1] = {g};
  qc_err e = {0};
  CU_ASSERT_EQUAL(vt_vjp(&t, out, u, din, &e), QC_OK);
  float wa[3] = {1, 0, 2}, wb[3] = {1, 2, 0};
  for (int i = 0; i < 3; i++) {
    CU_ASSERT_EQUAL(((float *)din[0].data)[i] - VT_DIN0, wa[i]);
    CU_ASSERT_EQUAL(((float *)din[1].data)[i] - VT_DIN0, wb[i]);
  }
  for (int i = 0; i < t.n_in; i++) free(din[i].data);
  vt_free_out(&t, out);
  vt_free(&t);
}

static void test_where(void)
{
  vt t;
  vt_init(&t, "Where", 300);
  int64_t d23[2] = {2, 3};
  qc_tensor *c = vt_add(&t, QC_DT_BOOL, 2, d23, false);
  uint8_t cv[6] = {1, 0, 0, 1, 1, 0};
  memcpy(c->data, cv, 6);
  vt_plain(&t, 2, d23);
  vt_plain(&t, 1, (int64_t[]){3});
  vt_check(&t, "Where");
  vt_free(&t);
}

/* ---- shape ops -------------------------------------------------------------------------- */

static void test_reshape_like(void)
{
  vt t;
  vt_init(&t, "Reshape", 400);
  vt_plain(&t, 3, S234);
  vt_i64(&t, 2, (int64_t[]){4, -1});
  vt_check(&t, "Reshape");
  vt_free(&t);
  vt_init(&t, "Flatten", 401);
  vt_attr_i(&t, "axis", 2);
  vt_plain(&t, 3, S234);
  vt_check(&t, "Flatten axis 2");
  vt_free(&t);
  vt_init(&t, "Flatten", 402);
  vt_plain(&t, 3, S234);
  vt_check(&t, "Flatten");
  vt_free(&t);
  vt_init(&t, "Squeeze", 403);
  vt_plain(&t, 3, (int64_t[]){2, 1, 3});
  vt_i64(&t, 1, (int64_t[]){1});
  vt_check(&t, "Squeeze");
  vt_free(&t);
  vt_init(&t, "Unsqueeze", 404);
  vt_plain(&t, 2, (int64_t[]){2, 3});
  vt_i64(&t, 2, (int64_t[]){0, 3});
  vt_check(&t, "Unsqueeze");
  vt_free(&t);
  vt_init(&t, "Cast", 405);
  vt_attr_i(&t, "to", 1);
  vt_plain(&t, 3, S234);
  vt_check(&t, "Cast f32");
  vt_free(&t);
  vt_init(&t, "Transpose", 406);
  vt_attr_ints(&t, "perm", 3, (int64_t[]){2, 0, 1});
  vt_plain(&t, 3, S234);
  vt_check(&t, "Transpose perm");
  vt_free(&t);
  vt_init(&t, "Transpose", 407);
  vt_plain(&t, 3, S234);
  vt_check(&t, "Transpose default");
  vt_free(&t);
  vt_init(&t, "Expand", 408);
  vt_plain(&t, 2, (int64_t[]){3, 1});
  vt_i64(&t, 3, (int64_t[]){2, 3, 4});
  vt_check(&t, "Expand");
  vt_free(&t);
}

static void test_cast_error(void)
{
  vt t;
  vt_init(&t, "Cast", 410);
  vt_attr_i(&t, "to", 6);
  vt_plain(&t, 1, (int64_t[]){3});
  char why[2048];
  qc_tensor out[VT_IO], din[VT_IO];
  CU_ASSERT_FATAL(vt_fwd(&t, t.in, out, why));
  float g[3] = {1, 1, 1}, *u[1] = {g};
  qc_err e = {0};
  CU_ASSERT_EQUAL(vt_vjp(&t, out, u, din, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'n' (Cast): gradient of Cast from f32 to i32");
  free(din[0].data);
  vt_free_out(&t, out);
  vt_free(&t);
}

static void test_concat_split(void)
{
  vt t;
  vt_init(&t, "Concat", 500);
  vt_attr_i(&t, "axis", 1);
  vt_plain(&t, 3, (int64_t[]){2, 2, 3});
  vt_plain(&t, 3, (int64_t[]){2, 1, 3});
  vt_rand_f32(&t, 3, (int64_t[]){2, 3, 3}, -2, 2, false, NULL, 0, 0);
  vt_check(&t, "Concat axis 1");
  vt_free(&t);
  vt_init(&t, "Concat", 501);
  vt_attr_i(&t, "axis", -1);
  vt_plain(&t, 2, (int64_t[]){2, 2});
  vt_plain(&t, 2, (int64_t[]){2, 3});
  vt_check(&t, "Concat axis -1");
  vt_free(&t);

  vt_init(&t, "Split", 502);
  vt_attr_i(&t, "axis", 1);
  t.n_out = 3;
  vt_plain(&t, 2, (int64_t[]){2, 6});
  vt_i64(&t, 3, (int64_t[]){1, 2, 3});
  vt_check(&t, "Split sizes");
  t.no_dout[1] = true;
  vt_check(&t, "Split, no gradient at output 1");
  vt_free(&t);
  vt_init(&t, "Split", 503);
  t.n_out = 2;
  vt_plain(&t, 3, (int64_t[]){4, 2, 3});
  vt_check(&t, "Split equal");
  vt_free(&t);
}

static void test_slice(void)
{
  vt t;
  vt_init(&t, "Slice", 600);
  vt_plain(&t, 3, (int64_t[]){4, 5, 6});
  vt_i64(&t, 3, (int64_t[]){1, 4, 0});       /* starts */
  vt_i64(&t, 3, (int64_t[]){4, -100, 6});    /* ends */
  vt_i64(&t, 3, (int64_t[]){0, 1, 2});       /* axes */
  vt_i64(&t, 3, (int64_t[]){2, -2, 3});      /* steps */
  vt_check(&t, "Slice steps");
  vt_free(&t);
  vt_init(&t, "Slice", 601);
  vt_plain(&t, 2, (int64_t[]){3, 4});
  vt_i64(&t, 1, (int64_t[]){1});
  vt_i64(&t, 1, (int64_t[]){-1});
  vt_i64(&t, 1, (int64_t[]){-1});
  vt_check(&t, "Slice one axis");
  vt_free(&t);
  vt_init(&t, "Slice", 602);
  vt_plain(&t, 2, (int64_t[]){3, 4});
  vt_i64(&t, 2, (int64_t[]){1, 0});
  vt_i64(&t, 2, (int64_t[]){3, 3});
  vt_check(&t, "Slice default axes");
  vt_free(&t);
}

static void test_gather(void)
{
  vt t;
  vt_init(&t, "Gather", 700);
  vt_plain(&t, 2, (int64_t[]){5, 3});
  int64_t id[2] = {2, 2};
  qc_tensor *ix = vt_add(&t, QC_DT_I64, 2, id, false);
  memcpy(ix->data, (int64_t[]){0, 4, 4, -1}, 4 * sizeof(int64_t));
  vt_check(&t, "Gather repeated");
  vt_free(&t);
  vt_init(&t, "Gather", 701);
  vt_attr_i(&t, "axis", 1);
  vt_plain(&t, 3, S234);
  int64_t d3[1] = {3};
  ix = vt_add(&t, QC_DT_I32, 1, d3, false);
  memcpy(ix->data, (int32_t[]){2, 0, 2}, 3 * sizeof(int32_t));
  vt_check(&t, "Gather axis 1 i32");
  vt_free(&t);
  vt_init(&t, "Gather", 702);
  vt_plain(&t, 2, (int64_t[]){4, 3});
  ix = vt_add(&t, QC_DT_I64, 0, NULL, false);
  *(int64_t *)ix->data = 2;
  vt_check(&t, "Gather scalar index");
  vt_free(&t);
}

static void test_pad(void)
{
  static const char *modes[] = {"constant", "reflect", "edge"};
  for (int m = 0; m < 3; m++) {
    vt t;
    vt_init(&t, "Pad", (uint64_t)(800 + m));
    qc_attr *a = vt_attr(&t, "mode", QC_ATTR_STRING);
    a->s = modes[m];
    a->s_len = (int64_t)strlen(modes[m]);
    vt_plain(&t, 2, (int64_t[]){3, 4});
    vt_i64(&t, 4, (int64_t[]){1, 0, 2, 2});
    if (m == 0) vt_rand_f32(&t, 0, NULL, -1, 1, false, NULL, 0, 0);
    vt_check(&t, modes[m]);
    vt_free(&t);
  }
  vt t;
  vt_init(&t, "Pad", 810);
  vt_plain(&t, 2, (int64_t[]){3, 4});
  vt_i64(&t, 4, (int64_t[]){0, -1, 1, 2}); /* crops the first column */
  vt_check(&t, "Pad negative");
  vt_free(&t);
}

static void test_reduce(void)
{
  vt t;
  vt_init(&t, "ReduceMean", 900);
  vt_attr_ints(&t, "axes", 1, (int64_t[]){1});
  vt_attr_i(&t, "keepdims", 0);
  vt_plain(&t, 3, S234);
  vt_check(&t, "ReduceMean axis 1");
  vt_free(&t);
  vt_init(&t, "ReduceMean", 901);
  vt_attr_ints(&t, "axes", 2, (int64_t[]){0, -1});
  vt_plain(&t, 3, S234);
  vt_check(&t, "ReduceMean keepdims");
  vt_free(&t);
  vt_init(&t, "ReduceMean", 902);
  vt_plain(&t, 3, S234);
  vt_check(&t, "ReduceMean all");
  vt_free(&t);
  vt_init(&t, "ReduceSum", 903);
  vt_attr_i(&t, "keepdims", 0);
  vt_plain(&t, 3, S234);
  vt_i64(&t, 1, (int64_t[]){-1});
  vt_check(&t, "ReduceSum last");
  vt_free(&t);
  vt_init(&t, "ReduceSum", 904);
  vt_plain(&t, 3, S234);
  vt_check(&t, "ReduceSum all");
  vt_free(&t);
  vt_init(&t, "ReduceSum", 905);
  vt_attr_i(&t, "noop_with_empty_axes", 1);
  vt_plain(&t, 3, S234);
  vt_i64(&t, 0, NULL);
  vt_check(&t, "ReduceSum noop");
  vt_free(&t);
}

/* dout NULL means zero: din stays as it was. */
static void test_no_dout(void)
{
  vt t;
  vt_init(&t, "Add", 1000);
  vt_plain(&t, 3, S234);
  vt_plain(&t, 2, (int64_t[]){3, 1});
  t.no_dout[0] = true;
  vt_check(&t, "Add without dout");
  vt_free(&t);
}

static void test_table(void)
{
  static const char *ops[] = {
      "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Clip", "Elu",
      "Softplus", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Add", "Sub", "Mul", "Div",
      "Pow", "Sum", "Mean", "Max", "Min", "Identity", "Dropout", "Reshape", "Flatten", "Squeeze",
      "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Pad", "Expand",
      "ReduceMean", "ReduceSum", "Cast", "Where"};
  qc_vjp_fn table[QC_OP_COUNT];
  qc_vjps_collect(table);
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    qc_op op = qc_op_lookup("", ops[i]);
    CU_ASSERT_FATAL(op != QC_OP_NONE);
    if (!table[op]) printf("\n  no VJP for %s", ops[i]);
    CU_ASSERT_PTR_NOT_NULL(table[op]);
  }
}

/* The unary VJPs split large tensors over the pool; the result must not depend on it. */
static void test_pool(void)
{
  static const char *ops[] = {"Relu", "Sigmoid", "Softplus"};
  qc_err e = {0};
  qc_pool *pool = qc_pool_new(2, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
  int64_t m = 100003;
  float *x = malloc(sizeof(float) * (size_t)m), *y = malloc(sizeof(float) * (size_t)m),
        *g = malloc(sizeof(float) * (size_t)m), *d1 = calloc((size_t)m, sizeof(float)),
        *d2 = calloc((size_t)m, sizeof(float));
  for (int64_t i = 0; i < m; i++) {
    x[i] = (float)((i * 7919 % 2001) - 1000) / 300.0f;
    y[i] = 1.0f / (1.0f + expf(-x[i]));
    g[i] = (float)(i % 13) - 6.0f;
  }
  qc_vjp_fn table[QC_OP_COUNT];
  qc_vjps_collect(table);
  for (int o = 0; o < 3; o++) {
    vt t;
    vt_init(&t, ops[o], 1100);
    qc_node *nd = &t.g->nodes[t.node];
    nd->n_in = nd->n_out = 1;
    qc_tensor in = {QC_DT_F32, 1, {m}, x}, out = {QC_DT_F32, 1, {m}, y},
              dout = {QC_DT_F32, 1, {m}, g}, din1 = {QC_DT_F32, 1, {m}, d1},
              din2 = {QC_DT_F32, 1, {m}, d2};
    vt_scratch sc = {{0}, 0};
    qc_kctx k1 = {NULL, &e, vt_scratch_fn, &sc}, k2 = {pool, &e, vt_scratch_fn, &sc};
    CU_ASSERT_EQUAL(table[nd->op](&k1, nd, &in, 1, &out, 1, &dout, &din1), QC_OK);
    CU_ASSERT_EQUAL(table[nd->op](&k2, nd, &in, 1, &out, 1, &dout, &din2), QC_OK);
    CU_ASSERT(memcmp(d1, d2, sizeof(float) * (size_t)m) == 0);
    vt_scratch_free(&sc);
    vt_free(&t);
  }
  free(x), free(y), free(g), free(d1), free(d2);
  qc_pool_free(pool);
}

static CU_TestInfo tests[] = {
    {"VJP table lists every op", test_table},
    {"unary activations", test_unary},
    {"Clip, bounds pass", test_clip},
    {"binary ops with broadcasting", test_binary},
    {"Sum Mean Max Min", test_variadic},
    {"Where", test_where},
    {"reshape-like, Transpose, Expand", test_reshape_like},
    {"Cast to an integer type is an error", test_cast_error},
    {"Concat, Split", test_concat_split},
    {"Slice", test_slice},
    {"Gather", test_gather},
    {"Pad", test_pad},
    {"ReduceMean, ReduceSum", test_reduce},
    {"no output gradient", test_no_dout},
    {"unary VJPs over a thread pool", test_pool},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"vjp_elementwise", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
