/* The executor (interp/interp.c): a Conv -> MaxPool -> MatMul -> Softmax graph against naive
   loops written here, symbolic batch sizes, input validation by exact message, buffer reuse in
   long chains without early frees, the observer, outputs across runs, errors mid-run. */
#include <math.h>
#include <string.h>
#include "interp.h"
#include "testutil.h"

static float frand(unsigned *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static qc_attr *attr_ints(qc_graph *g, int32_t node, const char *name, int n, const int64_t *v)
{
  qc_attr *a = qc_node_add_attr(g, node, name, QC_ATTR_INTS, NULL);
  a->n = n;
  a->ints = qc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)n);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  return a;
}

static int32_t value(qc_graph *g, const char *name)
{
  return qc_graph_add_value(g, name, QC_DT_UNDEF, -1, NULL, NULL);
}

static int32_t node1(qc_graph *g, qc_op op, const char *name, int n_in, const int32_t *in,
                     int32_t out)
{
  return qc_graph_add_node(g, op, name, n_in, in, 1, &out, NULL);
}

static qc_tensor tensor(qc_dtype dt, int rank, const int64_t *dims, void *data)
{
  qc_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
  t.data = data;
  return t;
}

/* ---- Conv -> MaxPool -> MatMul -> Softmax ----------------------------------------------- */

enum { N = 2, C = 3, H = 9, W = 8, M = 4, KH = 3, KW = 3, OH = 9, OW = 8, PH = 5, PW = 4, J = 5 };

static float x_data[N * C * H * W], w_data[M * C * KH * KW], b_data[M], m_data[PW * J];

/* Conv 3x3 pad 1 with bias, then MaxPool 2x2 stride 2 (one row of end padding), then
   (.., PW) x (PW, J), then softmax over the last axis, all by the definitions. */
static void reference(int n_batch, float *y)
{
  static float conv[N * M * OH * OW], pool[N * M * PH * PW];
  for (int n = 0; n < n_batch; n++)
    for (int m = 0; m < M; m++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          double s = b_data[m];
          for (int c = 0; c < C; c++)
            for (int kh = 0; kh < KH; kh++)
              for (int kw = 0; kw < KW; kw++) {
                int ih = oh - 1 + kh, iw = ow - 1 + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += (double)x_data[((n * C + c) * H + ih) * W + iw] *
                     w_data[((m * C + c) * KH + kh) * KW + kw];
              }
          conv[((n * M + m) * OH + oh) * OW + ow] = (float)s;
        }
  for (int p = 0; p < n_batch * M; p++)
    for (int i = 0; i < PH; i++)
      for (int j = 0; j < PW; j++) {
        float mx = -INFINITY;
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++) {
            int ih = 2 * i + a, iw = 2 * j + b;
            if (ih < OH && iw < OW && conv[(p * OH + ih) * OW + iw] > mx)
              mx = conv[(p * OH + ih) * OW + iw];
          }
        pool[(p * PH + i) * PW + j] = mx;
      }
  for (int r = 0; r < n_batch * M * PH; r++) {
    double row[J], mx = -INFINITY, sum = 0;
    for (int j = 0; j < J; j++) {
      row[j] = 0;
      for (int k = 0; k < PW; k++) row[j] += (double)pool[r * PW + k] * m_data[k * J + j];
      if (row[j] > mx) mx = row[j];
    }
    for (int j = 0; j < J; j++) sum += exp(row[j] - mx);
    for (int j = 0; j < J; j++) y[r * J + j] = (float)(exp(row[j] - mx) / sum);
  }
}

/* x: [batch, 3, 9, 8] with batch a symbol when sym, else fixed N. */
static qc_graph *build_cnn(bool sym)
{
  qc_graph *g = qc_graph_new();
  int64_t xd[] = {sym ? QC_DIM_SYM(qc_graph_add_sym(g, "batch", NULL)) : N, C, H, W};
  int64_t wd[] = {M, C, KH, KW}, bd[] = {M}, md[] = {PW, J};
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 4, xd, NULL);
  int32_t w = qc_graph_add_const(g, "w", QC_DT_F32, 4, wd, w_data, NULL);
  int32_t b = qc_graph_add_const(g, "b", QC_DT_F32, 1, bd, b_data, NULL);
  int32_t mm = qc_graph_add_const(g, "m", QC_DT_F32, 2, md, m_data, NULL);
  int32_t c = value(g, "c"), p = value(g, "p"), r = value(g, "r"), y = value(g, "y");
  int32_t conv = node1(g, QC_OP_Conv, "conv", 3, (int32_t[]){x, w, b}, c);
  attr_ints(g, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
  int32_t pool = node1(g, QC_OP_MaxPool, "pool", 1, &c, p);
  attr_ints(g, pool, "kernel_shape", 2, (int64_t[]){2, 2});
  attr_ints(g, pool, "strides", 2, (int64_t[]){2, 2});
  attr_ints(g, pool, "pads", 4, (int64_t[]){0, 0, 1, 0});
  node1(g, QC_OP_MatMul, "matmul", 2, (int32_t[]){p, mm}, r);
  node1(g, QC_OP_Softmax, "softmax", 1, &r, y);
  qc_graph_set_inputs(g, 1, &x, NULL);
  qc_graph_set_outputs(g, 1, &y, NULL);
  return g;
}

static int count_bad(const float *got, const float *want, int64_t n)
{
  int bad = 0;
  for (int64_t i = 0; i < n; i++)
    bad += !(fabsf(got[i] - want[i]) <= 1e-5f + 1e-4f * fabsf(want[i]));
  return bad;
}

static void init_data(void)
{
  unsigned s = 99;
  for (size_t i = 0; i < sizeof x_data / sizeof x_data[0]; i++) x_data[i] = frand(&s);
  for (size_t i = 0; i < sizeof w_data / sizeof w_data[0]; i++) w_data[i] = frand(&s);
  for (size_t i = 0; i < sizeof b_data / sizeof b_data[0]; i++) b_data[i] = frand(&s);
  for (size_t i = 0; i < sizeof m_data / sizeof m_data[0]; i++) m_data[i] = 4 * frand(&s);
}

static void test_cnn(void)
{
  init_data();
  qc_err e = {0};
  qc_graph *g = build_cnn(false);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 2, &it, &e), QC_OK);
  qc_tensor x = tensor(QC_DT_F32, 4, (int64_t[]){N, C, H, W}, x_data);
  static float want[N * M * PH * J];
  reference(N, want);
  for (int run = 0; run < 2; run++) { /* the second run reuses the cached buffers */
    CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &x, 1, &e), QC_OK);
    const qc_tensor *y = qc_interp_output(it, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT_EQUAL(y->rank, 4);
    CU_ASSERT(y->dims[0] == N && y->dims[1] == M && y->dims[2] == PH && y->dims[3] == J);
    CU_ASSERT_EQUAL(count_bad(y->data, want, N * M * PH * J), 0);
  }
  CU_ASSERT_PTR_NULL(qc_interp_output(it, 1));
  qc_interp_free(it);
  qc_graph_free(g);
}

static void test_symbolic_batch(void)
{
  init_data();
  qc_err e = {0};
  qc_graph *g = build_cnn(true);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  static float want[N * M * PH * J];
  for (int nb = 1; nb <= N; nb++) {
    qc_tensor x = tensor(QC_DT_F32, 4, (int64_t[]){nb, C, H, W}, x_data);
    CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &x, 1, &e), QC_OK);
    const qc_tensor *y = qc_interp_output(it, 0);
    CU_ASSERT_EQUAL(y->dims[0], nb);
    reference(nb, want);
    CU_ASSERT_EQUAL(count_bad(y->data, want, nb * M * PH * J), 0);
  }
  qc_interp_free(it);
  qc_graph_free(g);
}

/* ---- input validation ------------------------------------------------------------------- */

#define EXPECT_RUN_ERR(it, in, n, text)                                                        \
  do {                                                                                         \
    qc_err e_ = {0};                                                                           \
    CU_ASSERT_EQUAL(qc_interp_run(it, in, n, &e_), QC_ERR_INVALID);                            \
    CU_ASSERT_STRING_EQUAL(e_.msg, text);                                                      \
    CU_ASSERT_PTR_NULL(qc_interp_output(it, 0));                                               \
  } while (0)

static void test_input_errors(void)
{
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int32_t s = qc_graph_add_sym(g, "N", NULL);
  int64_t ad[] = {QC_DIM_SYM(s), 4}, bd[] = {QC_DIM_SYM(s), 4};
  int32_t a = qc_graph_add_value(g, "a", QC_DT_F32, 2, ad, NULL);
  int32_t b = qc_graph_add_value(g, "b", QC_DT_F32, 2, bd, NULL);
  int32_t sa = value(g, "sa"), sb = value(g, "sb");
  node1(g, QC_OP_Softmax, "s1", 1, &a, sa);
  node1(g, QC_OP_Softmax, "s2", 1, &b, sb);
  qc_graph_set_inputs(g, 2, (int32_t[]){a, b}, NULL);
  qc_graph_set_outputs(g, 2, (int32_t[]){sa, sb}, NULL);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  float buf[3 * 4] = {0};
  int64_t ok[] = {3, 4}, bad_dim[] = {3, 5}, other[] = {2, 4};
  qc_tensor in[2] = {tensor(QC_DT_F32, 2, ok, buf), tensor(QC_DT_F32, 2, ok, buf)};
  CU_ASSERT_EQUAL(qc_interp_run(it, in, 2, &e), QC_OK);
  CU_ASSERT_PTR_NOT_NULL(qc_interp_output(it, 1));
  EXPECT_RUN_ERR(it, in, 1, "expected 2 inputs, got 1");
  in[1] = tensor(QC_DT_F32, 3, (int64_t[]){3, 4, 1}, buf);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': expected rank 2, got 3");
  in[1] = tensor(QC_DT_I64, 2, ok, buf);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': expected dtype f32, got i64");
  in[1] = tensor(QC_DT_F32, 2, bad_dim, buf);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': expected dim 1 to be 4, got 5");
  in[1] = tensor(QC_DT_F32, 2, other, buf);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': dim 0 ('N') is 2, but an earlier input has N = 3");
  in[1] = tensor(QC_DT_F32, 2, ok, NULL);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': data is NULL");
  in[1] = tensor(QC_DT_F32, 2, (int64_t[]){-1, 4}, buf);
  EXPECT_RUN_ERR(it, in, 2, "input 'b': dim 0 is negative (-1)");
  /* the symbol binds afresh on each run */
  in[0] = tensor(QC_DT_F32, 2, other, buf);
  in[1] = tensor(QC_DT_F32, 2, other, buf);
  CU_ASSERT_EQUAL(qc_interp_run(it, in, 2, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_interp_output(it, 1)->dims[0], 2);
  qc_interp_free(it);
  qc_graph_free(g);
}

static void test_graph_errors(void)
{
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int32_t a = qc_graph_add_value(g, "a", QC_DT_F32, 1, (int64_t[]){4}, NULL);
  int32_t orphan = value(g, "orphan"), y = value(g, "y");
  node1(g, QC_OP_MatMul, "mm", 2, (int32_t[]){a, orphan}, y);
  qc_graph_set_inputs(g, 1, &a, NULL);
  qc_graph_set_outputs(g, 1, &y, NULL);
  qc_interp *it = (qc_interp *)1;
  CU_ASSERT_EQUAL(qc_interp_new(g, 1, &it, &e), QC_ERR_INVALID);
  CU_ASSERT_PTR_NULL(it);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'mm' (MatMul): input 'orphan' is not a graph input, a "
                                "constant or an earlier node's output");
  /* an op without a kernel: make the node's op an id past the table */
  g->nodes[0].op = (qc_op)QC_OP_COUNT;
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_interp_new(g, 1, &it, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'mm' (<invalid op>): no reference kernel");
  qc_graph_free(g);
}

/* ---- buffer reuse ----------------------------------------------------------------------- */

typedef struct {
  const void *ptrs[64];
  int32_t nodes[64];
  int n;
} seen;

static void observe(void *user, int32_t node, const qc_tensor *outs, int n_out)
{
  seen *s = user;
  if (s->n < 64) {
    s->nodes[s->n] = node;
    s->ptrs[s->n++] = outs[0].data;
  }
}

/* x -> 30 chained Softmax nodes; node 3's output is also read by the last node (a MatMul), so
   it must survive the whole chain. Buffers are reused: far fewer distinct pointers than nodes. */
static void test_reuse(void)
{
  enum { R = 64, L = 64, CHAIN = 30 };
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int32_t prev = qc_graph_add_value(g, "x", QC_DT_F32, 2, (int64_t[]){R, L}, NULL), x = prev;
  int32_t keep = -1;
  for (int i = 0; i < CHAIN; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "v%d", i);
    int32_t v = value(g, nm);
    node1(g, QC_OP_Softmax, nm, 1, &prev, v);
    if (i == 3) keep = v;
    prev = v;
  }
  int32_t y = value(g, "y");
  node1(g, QC_OP_MatMul, "final", 2, (int32_t[]){prev, keep}, y); /* (R x L) (L x L) */
  qc_graph_set_inputs(g, 1, &x, NULL);
  qc_graph_set_outputs(g, 2, (int32_t[]){y, keep}, NULL);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 2, &it, &e), QC_OK);
  seen s = {0};
  qc_interp_set_observer(it, observe, &s);
  static float xd[R * L], a[R * L], k3[R * L], want[R * L];
  unsigned seed = 5;
  for (int i = 0; i < R * L; i++) a[i] = xd[i] = 8 * frand(&seed);
  for (int step = 0; step < CHAIN; step++) {
    for (int r = 0; r < R; r++) {
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < L; j++) mx = a[r * L + j] > mx ? a[r * L + j] : mx;
      for (int j = 0; j < L; j++) sum += exp(a[r * L + j] - mx);
      for (int j = 0; j < L; j++) a[r * L + j] = (float)(exp(a[r * L + j] - mx) / sum);
    }
    if (step == 3) memcpy(k3, a, sizeof a);
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < L; j++) {
      double t = 0;
      for (int q = 0; q < L; q++) t += (double)a[r * L + q] * k3[q * L + j];
      want[r * L + j] = (float)t;
    }
  qc_tensor in = tensor(QC_DT_F32, 2, (int64_t[]){R, L}, xd);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &in, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(count_bad(qc_interp_output(it, 0)->data, want, R * L), 0);
  CU_ASSERT_EQUAL(count_bad(qc_interp_output(it, 1)->data, k3, R * L), 0);
  CU_ASSERT_EQUAL(s.n, CHAIN + 1);
  int distinct = 0;
  for (int i = 0; i < s.n; i++) {
    CU_ASSERT_EQUAL(s.nodes[i], i);
    bool dup = false;
    for (int j = 0; j < i; j++) dup = dup || s.ptrs[j] == s.ptrs[i];
    distinct += !dup;
  }
  CU_ASSERT(distinct <= 4);
  qc_interp_free(it);
  qc_graph_free(g);
}

/* ---- outputs: passthrough inputs, constants, errors mid-run ----------------------------- */

static void test_outputs_and_errors(void)
{
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int64_t d[] = {1, 2, 2};
  float cdata[4] = {1, 2, 3, 4};
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 3, d, NULL);
  int32_t k = qc_graph_add_const(g, "k", QC_DT_F32, 3, d, cdata, NULL);
  int32_t sc = qc_graph_add_const(g, "sc", QC_DT_F32, 1, (int64_t[]){2}, cdata, NULL);
  int32_t sc3 = qc_graph_add_const(g, "sc3", QC_DT_F32, 1, (int64_t[]){3}, cdata, NULL);
  int32_t h = value(g, "h"), y = value(g, "y"), z = value(g, "z");
  node1(g, QC_OP_MatMul, "mm", 2, (int32_t[]){x, k}, h);
  node1(g, QC_OP_BatchNormalization, "bn", 5, (int32_t[]){h, sc, sc, sc, sc}, y);
  int32_t in_node = node1(g, QC_OP_InstanceNormalization, "in", 3, (int32_t[]){y, sc, sc}, z);
  qc_graph_set_inputs(g, 1, &x, NULL);
  qc_graph_set_outputs(g, 4, (int32_t[]){y, x, k, h}, NULL);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 0, &it, &e), QC_OK);
  float xin[4] = {1, 0, 0, 1};
  qc_tensor in = tensor(QC_DT_F32, 3, d, xin);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &in, 1, &e), QC_OK);
  xin[0] = 7; /* the passthrough output is a copy */
  const qc_tensor *px = qc_interp_output(it, 1), *pk = qc_interp_output(it, 2);
  CU_ASSERT_EQUAL(((float *)px->data)[0], 1.0f);
  CU_ASSERT_PTR_NOT_EQUAL(px->data, xin);
  CU_ASSERT_EQUAL(((float *)pk->data)[3], 4.0f);
  const float *hy = qc_interp_output(it, 3)->data; /* identity times k */
  CU_ASSERT(hy[0] == 1 && hy[1] == 2 && hy[2] == 3 && hy[3] == 4);
  /* y = (h - mean) / sqrt(var + eps) * scale + B per channel (axis 1: rows of h) */
  const float *yy = qc_interp_output(it, 0)->data;
  CU_ASSERT(fabsf(yy[1] - ((2 - 1) / sqrtf(1 + 1e-5f) * 1 + 1)) < 1e-5f);
  CU_ASSERT(fabsf(yy[3] - ((4 - 2) / sqrtf(2 + 1e-5f) * 2 + 2)) < 1e-5f);
  /* a kernel error mid-run (a check shape inference does not make): the message names the
     node, outputs are withdrawn, nothing leaks (the sanitizer build checks) */
  g->nodes[in_node].in[1] = sc3;
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_interp_run(it, &in, 1, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'in' (InstanceNormalization): scale must have shape [2]");
  CU_ASSERT_PTR_NULL(qc_interp_output(it, 0));
  g->nodes[in_node].in[1] = sc;
  CU_ASSERT_EQUAL(qc_interp_run(it, &in, 1, NULL), QC_OK);
  CU_ASSERT_PTR_NOT_NULL(qc_interp_output(it, 0));
  qc_interp_free(it);
  qc_graph_free(g);
}

/* An output fed back as the next run's input (an iteration such as a recurrence): its buffer
   must not be handed to a node of that run while the input is still being read. Here the one
   node, a same-size MaxPool, would otherwise pool in place over its own partial results. */
static void test_feedback(void)
{
  enum { D = 12, STEPS = 3 };
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  static float x0[D * D], want[D * D], tmp[D * D];
  unsigned seed = 3;
  for (int i = 0; i < D * D; i++) x0[i] = frand(&seed);
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 4, (int64_t[]){1, 1, D, D}, NULL);
  int32_t y = value(g, "y");
  int32_t mp = node1(g, QC_OP_MaxPool, "mp", 1, &x, y);
  attr_ints(g, mp, "kernel_shape", 2, (int64_t[]){3, 3});
  attr_ints(g, mp, "pads", 4, (int64_t[]){1, 1, 1, 1});
  qc_graph_set_inputs(g, 1, &x, NULL);
  qc_graph_set_outputs(g, 1, &y, NULL);
  qc_interp *it;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  memcpy(want, x0, sizeof want);
  qc_tensor in = tensor(QC_DT_F32, 4, (int64_t[]){1, 1, D, D}, x0);
  for (int step = 0; step < STEPS; step++) {
    for (int i = 0; i < D; i++)
      for (int j = 0; j < D; j++) {
        float m = -INFINITY;
        for (int a = i - 1; a <= i + 1; a++)
          for (int b = j - 1; b <= j + 1; b++)
            if (a >= 0 && a < D && b >= 0 && b < D && want[a * D + b] > m) m = want[a * D + b];
        tmp[i * D + j] = m;
      }
    memcpy(want, tmp, sizeof want);
    CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &in, 1, &e), QC_OK);
    const qc_tensor *out = qc_interp_output(it, 0);
    CU_ASSERT_EQUAL(count_bad(out->data, want, D * D), 0);
    in.data = out->data; /* feed the output back */
  }
  qc_interp_free(it);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"Conv -> MaxPool -> MatMul -> Softmax vs naive loops", test_cnn},
    {"symbolic batch binds per run", test_symbolic_batch},
    {"input errors by message", test_input_errors},
    {"graph errors: unknown value, missing kernel", test_graph_errors},
    {"buffers reused, long-lived values kept", test_reuse},
    {"passthrough and constant outputs, kernel error mid-run", test_outputs_and_errors},
    {"an output fed back as the next input", test_feedback},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"interp", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
