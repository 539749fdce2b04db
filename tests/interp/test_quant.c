/* Quant kernels and their shape inference, checked against hand-computed numbers (ties, both
 * saturation ends, per-axis parameters, negative int8 zero points), numbers from the ONNX node
 * tests, and naive direct-definition loops written here (not the GEMM/im2col path). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "qmath.h"
#include "testutil.h"

/* ---- harness: one node in a graph, run through inference and its kernel ------------------ */

typedef struct {
  qc_graph *g;
  int32_t node;
} tnode;

static tnode mk(qc_op op, int n_in, int n_out)
{
  tnode t = {qc_graph_new(), -1};
  int32_t in[16], out[4];
  char name[32];
  for (int i = 0; i < n_in; i++) {
    snprintf(name, sizeof name, "in%d", i);
    in[i] = qc_graph_add_value(t.g, name, QC_DT_UNDEF, -1, NULL, NULL);
  }
  for (int i = 0; i < n_out; i++) {
    snprintf(name, sizeof name, "out%d", i);
    out[i] = qc_graph_add_value(t.g, name, QC_DT_UNDEF, -1, NULL, NULL);
  }
  t.node = qc_graph_add_node(t.g, op, "q", n_in, in, n_out, out, NULL);
  CU_ASSERT_FATAL(t.node >= 0);
  return t;
}

static void attr_i(tnode *t, const char *name, int64_t v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_INT, NULL);
  a->i = v;
}

static void attr_ints(tnode *t, const char *name, int n, const int64_t *v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_INTS, NULL);
  a->ints = qc_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)n);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  a->n = n;
}

static void attr_s(tnode *t, const char *name, const char *v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_STRING, NULL);
  a->s = qc_arena_strdup(t->g->arena, v);
  a->s_len = (int64_t)strlen(v);
}

static qc_tensor tens(qc_dtype dt, int rank, const int64_t *dims, const void *data)
{
  qc_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = (void *)data;
  return t;
}

static const qc_tensor NONE_T = {QC_DT_UNDEF, 0, {0}, NULL};

typedef struct {
  void *buf;
  size_t cap;
} scratch_buf;

static void *tscratch(qc_kctx *k, size_t bytes)
{
  scratch_buf *s = k->scratch_owner;
  if (bytes > s->cap) {
    free(s->buf);
    s->cap = (bytes + 63) & ~(size_t)63;
    s->buf = aligned_alloc(64, s->cap);
  }
  return s->buf;
}

/* Infers, allocates outputs (freed by free_outs), runs the kernel; pool of `threads` (0: none). */
static qc_status run(tnode *t, const qc_tensor *in, int n_in, qc_tensor *out, int n_out,
                     int threads, qc_err *e)
{
  const qc_node *n = &t->g->nodes[t->node];
  qc_tinfo ti[16], to[4];
  memset(ti, 0, sizeof ti);
  memset(to, 0, sizeof to);
  for (int i = 0; i < n_in; i++) {
    ti[i].dtype = in[i].dtype;
    ti[i].rank = in[i].rank;
    memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
    ti[i].data = in[i].data;
  }
  qc_status s = qc_infer_node(n, ti, n_in, to, n_out, e);
  if (s != QC_OK) return s;
  for (int i = 0; i < n_out; i++) {
    out[i] = tens(to[i].dtype, to[i].rank, to[i].dims, NULL);
    int64_t b = qc_tensor_bytes(&out[i]);
    out[i].data = calloc(1, b > 0 ? (size_t)b : 1);
  }
  qc_kernel_fn table[QC_OP_COUNT];
  qc_kernels_collect(table);
  CU_ASSERT_FATAL(table[n->op] != NULL);
  scratch_buf sb = {NULL, 0};
  qc_kctx k = {threads ? qc_pool_new(threads, NULL) : NULL, e, tscratch, &sb};
  s = table[n->op](&k, n, in, n_in, out, n_out);
  if (k.pool) qc_pool_free(k.pool);
  free(sb.buf);
  return s;
}

static void free_outs(qc_tensor *out, int n)
{
  for (int i = 0; i < n; i++) free(out[i].data);
}

static void done(tnode *t) { qc_graph_free(t->g); }

#define I64(...) ((const int64_t[]){__VA_ARGS__})

/* ---- rounding ----------------------------------------------------------------------------- */

static void test_round_half_even(void)
{
  const float x[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4999998f, 8388607.5f, 1e10f, 3.0f,
                     -0.49999997f, 0.50000006f};
  const float want[] = {0, 2, 2, 0, -2, -2, 2, 8388608.0f, 1e10f, 3, 0, 1};
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) CU_ASSERT_EQUAL(qc_round_half_even(x[i]), want[i]);
  CU_ASSERT(isnan(qc_round_half_even(NAN)));
  CU_ASSERT_EQUAL(qc_round_half_even(INFINITY), INFINITY);
}

/* ---- QuantizeLinear ----------------------------------------------------------------------- */

static void test_quantize_u8_ties_and_saturation(void)
{
  tnode t = mk(QC_OP_QuantizeLinear, 3, 1);
  /* scale 2, zp 128: x/2 = 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2, 127 -> 255,
     127.5 -> 128 -> clamps 255, -128 -> 0, -129 -> clamps 0, +-1000 saturate. */
  const float x[] = {1, 3, 5, -1, -3, 254, 255, -256, -258, 1000, -1000};
  const uint8_t want[] = {128, 130, 130, 128, 126, 255, 255, 0, 0, 255, 0};
  const float sc = 2.0f;
  const uint8_t zp = 128;
  qc_tensor in[3] = {tens(QC_DT_F32, 1, I64(11), x), tens(QC_DT_F32, 0, NULL, &sc),
                     tens(QC_DT_U8, 0, NULL, &zp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_U8);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_quantize_i8_negative_zp(void)
{
  tnode t = mk(QC_OP_QuantizeLinear, 3, 1);
  /* scale 0.5, zp -3: 0.5 -> 0 -> -3; 1.5 -> 2 -> -1; 200 -> 127 (sat); -200 -> -128 (sat);
     -125.5 -> -126 -> -129 -> -128; -124.5 -> -124 -> -127; 130.5 -> 130 -> 127 (hi - zp = 130,
     exactly at the bound); -2.5 -> -2 -> -5. */
  const float x[] = {0.25f, 0.75f, 100, -100, -62.75f, -62.25f, 65.25f, -1.25f};
  const int8_t want[] = {-3, -1, 127, -128, -128, -127, 127, -5};
  const float sc = 0.5f;
  const int8_t zp = -3;
  qc_tensor in[3] = {tens(QC_DT_F32, 2, I64(2, 4), x), tens(QC_DT_F32, 1, I64(1), &sc),
                     tens(QC_DT_I8, 1, I64(1), &zp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(out[0].rank, 2);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_quantize_default_zp_nan_inf(void)
{
  tnode t = mk(QC_OP_QuantizeLinear, 2, 1);
  const float x[] = {-1, 0.5f, 1.5f, 300, NAN, INFINITY, -INFINITY};
  const uint8_t want[] = {0, 0, 2, 255, 0, 255, 0}; /* NaN -> the zero point (0) */
  const float sc = 1.0f;
  qc_tensor in[2] = {tens(QC_DT_F32, 1, I64(7), x), tens(QC_DT_F32, 0, NULL, &sc)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_U8);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_quantize_per_axis(void)
{
  /* x [2, 3], per column (axis 1, also written -1): scales {1, 2, 4}, zps {0, -1, 5}.
     col 0: 1 -> 1, 2.5 -> 2; col 1: 0.5 -> 0 -> -1, 2.5 -> 2 -> 1; col 2: 0.25 -> 5, 2.5 -> 7. */
  const float x[] = {1, 1, 1, 2.5f, 5, 10};
  const float sc[] = {1, 2, 4};
  const int8_t zp[] = {0, -1, 5};
  const int8_t want[] = {1, -1, 5, 2, 1, 7};
  for (int v = 0; v < 2; v++) {
    tnode t = mk(QC_OP_QuantizeLinear, 3, 1);
    attr_i(&t, "axis", v == 0 ? 1 : -1);
    qc_tensor in[3] = {tens(QC_DT_F32, 2, I64(2, 3), x), tens(QC_DT_F32, 1, I64(3), sc),
                       tens(QC_DT_I8, 1, I64(3), zp)};
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
    free_outs(out, 1);
    done(&t);
  }
  /* Per row (axis 0) of x [3, 2] with the same numbers transposed. */
  const float xt[] = {1, 2.5f, 1, 5, 1, 10};
  const int8_t wantt[] = {1, 2, -1, 1, 5, 7};
  tnode t = mk(QC_OP_QuantizeLinear, 3, 1);
  attr_i(&t, "axis", 0);
  qc_tensor in[3] = {tens(QC_DT_F32, 2, I64(3, 2), xt), tens(QC_DT_F32, 1, I64(3), sc),
                     tens(QC_DT_I8, 1, I64(3), zp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(memcmp(out[0].data, wantt, sizeof wantt), 0);
  free_outs(out, 1);
  done(&t);
}

/* From the ONNX node test test_quantizelinear_axis: x [1, 3, 3, 2], axis 1. */
static void test_quantize_onnx_axis(void)
{
  const float x[] = {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960,
                     -270, -375, -470};
  const float sc[] = {2, 4, 5};
  const uint8_t zp[] = {84, 24, 196};
  const uint8_t want[] = {3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102};
  tnode t = mk(QC_OP_QuantizeLinear, 3, 1);
  qc_tensor in[3] = {tens(QC_DT_F32, 4, I64(1, 3, 3, 2), x), tens(QC_DT_F32, 1, I64(3), sc),
                     tens(QC_DT_U8, 1, I64(3), zp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 2, &e), QC_OK);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

/* ---- DequantizeLinear --------------------------------------------------------------------- */

static void test_dequantize(void)
{
  {
    const uint8_t x[] = {0, 3, 128, 255};
    const float sc = 2, want[] = {-256, -250, 0, 254};
    const uint8_t zp = 128;
    tnode t = mk(QC_OP_DequantizeLinear, 3, 1);
    qc_tensor in[3] = {tens(QC_DT_U8, 1, I64(4), x), tens(QC_DT_F32, 0, NULL, &sc),
                       tens(QC_DT_U8, 0, NULL, &zp)};
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(out[0].dtype, QC_DT_F32);
    CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
    free_outs(out, 1);
    done(&t);
  }
  {
    /* i8 per axis 0 of [2, 2], zps {-128, 5}, scales {0.5, 0.25}. */
    const int8_t x[] = {-128, 127, 5, -128};
    const float sc[] = {0.5f, 0.25f}, want[] = {0, 127.5f, 0, -33.25f};
    const int8_t zp[] = {-128, 5};
    tnode t = mk(QC_OP_DequantizeLinear, 3, 1);
    attr_i(&t, "axis", 0);
    qc_tensor in[3] = {tens(QC_DT_I8, 2, I64(2, 2), x), tens(QC_DT_F32, 1, I64(2), sc),
                       tens(QC_DT_I8, 1, I64(2), zp)};
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
    free_outs(out, 1);
    done(&t);
  }
  {
    /* i32 without zero point (a bias). */
    const int32_t x[] = {-1000000, 0, 7};
    const float sc = 0.5f, want[] = {-500000, 0, 3.5f};
    tnode t = mk(QC_OP_DequantizeLinear, 2, 1);
    qc_tensor in[2] = {tens(QC_DT_I32, 1, I64(3), x), tens(QC_DT_F32, 0, NULL, &sc)};
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
    free_outs(out, 1);
    done(&t);
  }
}

/* ---- DynamicQuantizeLinear ---------------------------------------------------------------- */

static void check_dyn(const float *x, int64_t cnt, const uint8_t *want, float want_scale,
                      uint8_t want_zp)
{
  tnode t = mk(QC_OP_DynamicQuantizeLinear, 1, 3);
  qc_tensor in[1] = {tens(QC_DT_F32, 1, I64(cnt), x)};
  qc_tensor out[3];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 3, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[1].rank, 0);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, (size_t)cnt), 0);
  CU_ASSERT_EQUAL(*(float *)out[1].data, want_scale);
  CU_ASSERT_EQUAL(*(uint8_t *)out[2].data, want_zp);
  free_outs(out, 3);
  done(&t);
}

static void test_dynamic_quantize(void)
{
  /* The three ONNX node tests (scale bit patterns as stored in their output_1.pb). */
  const float x1[] = {0, 2, -3, -2.5f, 1.34f, 0.5f};
  const uint8_t w1[] = {153, 255, 0, 26, 221, 179};
  check_dyn(x1, 6, w1, 5.0f / 255.0f, 153);
  const float x2[] = {-1, -2.1f, -1.3f, -2.5f, -3.34f, -4};
  const uint8_t w2[] = {191, 121, 172, 96, 42, 0};
  check_dyn(x2, 6, w2, 4.0f / 255.0f, 255);
  const float x3[] = {1, 2.1f, 1.3f, 2.5f, 3.34f, 4, 1.5f, 2.6f, 3.9f, 4, 3, 2.345f};
  const uint8_t w3[] = {64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149};
  check_dyn(x3, 12, w3, 4.0f / 255.0f, 0);
  /* All zeros: scale 0, zero point 0, y 0 (the spec's formula would divide 0 by 0). */
  const float x4[] = {0, 0, 0};
  const uint8_t w4[] = {0, 0, 0};
  check_dyn(x4, 3, w4, 0.0f, 0);
}

/* ---- MatMulInteger / QLinearMatMul -------------------------------------------------------- */

static uint32_t rng_state = 12345;
static int32_t rnd(int32_t lo, int32_t hi)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return lo + (int32_t)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

static void fill8(void *p, qc_dtype t, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    if (t == QC_DT_U8) ((uint8_t *)p)[i] = (uint8_t)rnd(0, 255);
    else ((int8_t *)p)[i] = (int8_t)rnd(-128, 127);
  }
}

static int32_t ld8(const void *p, qc_dtype t, int64_t i)
{
  return t == QC_DT_U8 ? ((const uint8_t *)p)[i] : ((const int8_t *)p)[i];
}

static void test_matmul_integer_onnx(void)
{
  /* test_matmulinteger: A [4, 3] u8, zp 12; B [3, 2] u8, zp 0. */
  const uint8_t a[] = {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0}, b[] = {1, 4, 2, 5, 3, 6};
  const uint8_t azp = 12, bzp = 0;
  const int32_t want[] = {-38, -83, -44, -98, -50, -113, -56, -128};
  tnode t = mk(QC_OP_MatMulInteger, 4, 1);
  qc_tensor in[4] = {tens(QC_DT_U8, 2, I64(4, 3), a), tens(QC_DT_U8, 2, I64(3, 2), b),
                     tens(QC_DT_U8, 1, I64(1), &azp), tens(QC_DT_U8, 1, I64(1), &bzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 4, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I32);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_matmul_integer_vectors(void)
{
  /* 1-D A [3] i8 (zp -2) x B [3, 2] i8 with per-column zps {1, -1}: a - zp = {3, 0, -1};
     col 0: b - 1 = {1, 2, -1} -> 3 + 0 + 1 = 4; col 1: b + 1 = {3, -2, 128} -> 9 - 128 = -119. */
  const int8_t a[] = {1, -2, -3}, b[] = {2, 2, 3, -3, 0, 127};
  const int8_t azp = -2, bzp[] = {1, -1};
  const int32_t want[] = {4, -119};
  tnode t = mk(QC_OP_MatMulInteger, 4, 1);
  qc_tensor in[4] = {tens(QC_DT_I8, 1, I64(3), a), tens(QC_DT_I8, 2, I64(3, 2), b),
                     tens(QC_DT_I8, 0, NULL, &azp), tens(QC_DT_I8, 1, I64(2), bzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 4, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].rank, 1);
  CU_ASSERT_EQUAL(out[0].dims[0], 2);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

/* Broadcast batches and tails of every block size, against a naive triple loop. */
static void test_matmul_integer_random(void)
{
  const int64_t ad[] = {2, 1, 5, 70}, bd[] = {3, 70, 67};
  int8_t *a = malloc(2 * 5 * 70), *b = malloc(3 * 70 * 67);
  fill8(a, QC_DT_I8, 2 * 5 * 70);
  fill8(b, QC_DT_I8, 3 * 70 * 67);
  const int8_t azp = -7, bzp = 3;
  tnode t = mk(QC_OP_MatMulInteger, 4, 1);
  qc_tensor in[4] = {tens(QC_DT_I8, 4, ad, a), tens(QC_DT_I8, 3, bd, b),
                     tens(QC_DT_I8, 0, NULL, &azp), tens(QC_DT_I8, 0, NULL, &bzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 4, out, 1, 2, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(out[0].rank, 4);
  CU_ASSERT(out[0].dims[0] == 2 && out[0].dims[1] == 3 && out[0].dims[2] == 5 &&
            out[0].dims[3] == 67);
  const int32_t *y = out[0].data;
  int bad = 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int m = 0; m < 5; m++)
        for (int n = 0; n < 67; n++) {
          int32_t acc = 0;
          for (int k = 0; k < 70; k++)
            acc += (a[(i * 5 + m) * 70 + k] - azp) * (b[(j * 70 + k) * 67 + n] - bzp);
          bad += y[((i * 3 + j) * 5 + m) * 67 + n] != acc;
        }
  CU_ASSERT_EQUAL(bad, 0);
  free_outs(out, 1);
  free(a);
  free(b);
  done(&t);
}

/* Large enough for the GEMM and im2col to spread over a pool of 3 threads. */
static void test_matmul_integer_threaded(void)
{
  enum { M = 70, K = 301, N = 130 };
  uint8_t *a = malloc(M * K), *b = malloc(K * N);
  fill8(a, QC_DT_U8, M * K);
  fill8(b, QC_DT_U8, K * N);
  const uint8_t azp = 200, bzp = 3;
  tnode t = mk(QC_OP_MatMulInteger, 4, 1);
  qc_tensor in[4] = {tens(QC_DT_U8, 2, I64(M, K), a), tens(QC_DT_U8, 2, I64(K, N), b),
                     tens(QC_DT_U8, 0, NULL, &azp), tens(QC_DT_U8, 0, NULL, &bzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 4, out, 1, 3, &e), QC_OK);
  const int32_t *y = out[0].data;
  int bad = 0;
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      int32_t acc = 0;
      for (int k = 0; k < K; k++) acc += (a[m * K + k] - azp) * (b[k * N + n] - bzp);
      bad += y[m * N + n] != acc;
    }
  CU_ASSERT_EQUAL(bad, 0);
  free_outs(out, 1);
  free(a);
  free(b);
  done(&t);
}

/* The accumulation bound of qmath.h: K = 33025 terms of -255 * 255 is exact in int32. */
static void test_matmul_integer_k_bound(void)
{
  CU_ASSERT_EQUAL(qc_igemm_k_exact(255, 255), 33025);
  CU_ASSERT_EQUAL(qc_igemm_k_exact(128, 128), 131071);
  const int64_t K = 33025;
  uint8_t *a = malloc((size_t)K), *b = malloc((size_t)K);
  memset(a, 255, (size_t)K);
  memset(b, 0, (size_t)K);
  const uint8_t azp = 0, bzp = 255;
  tnode t = mk(QC_OP_MatMulInteger, 4, 1);
  qc_tensor in[4] = {tens(QC_DT_U8, 2, I64(1, K), a), tens(QC_DT_U8, 2, I64(K, 1), b),
                     tens(QC_DT_U8, 0, NULL, &azp), tens(QC_DT_U8, 0, NULL, &bzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 4, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(((int32_t *)out[0].data)[0], -2147450625); /* -33025 * 65025 */
  free_outs(out, 1);
  free(a);
  free(b);
  done(&t);
}

/* The AVX2 and portable micro-kernels give the same bits, including wrapped sums, for shapes
   with every kind of tail (odd K, partial row tiles, partial panels). */
static void test_igemm_paths_agree(void)
{
  const int64_t shapes[][3] = {{1, 1, 1}, {5, 17, 3}, {33, 130, 77}, {4, 64, 2}, {7, 200, 1001}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
    int64_t lda = qc_igemm_kp(K);
    int16_t *A = calloc((size_t)(M * lda), sizeof(int16_t));
    int8_t *B = malloc((size_t)(K * N));
    int16_t *Bp = malloc(sizeof(int16_t) * (size_t)qc_igemm_packed_elems(K, N));
    int32_t *c1 = malloc(sizeof(int32_t) * (size_t)(M * N)), *c2 = malloc(sizeof(int32_t) * (size_t)(M * N));
    for (int64_t m = 0; m < M; m++)
      for (int64_t k = 0; k < K; k++) A[m * lda + k] = (int16_t)rnd(-255, 255);
    fill8(B, QC_DT_I8, K * N);
    const int8_t zp = -128; /* b - zp in [0, 255] */
    qc_igemm_pack_b(B, QC_DT_I8, K, N, N, &zp, QC_DT_I8, 1, Bp);
    qc_igemm_s16(NULL, M, N, K, A, lda, Bp, c1, N);
    qc_igemm_s16_portable(NULL, M, N, K, A, lda, Bp, c2, N);
    CU_ASSERT_EQUAL(memcmp(c1, c2, sizeof(int32_t) * (size_t)(M * N)), 0);
    /* And both equal the definition. */
    int bad = 0;
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        int32_t acc = 0;
        for (int64_t k = 0; k < K; k++) acc += A[m * lda + k] * (B[k * N + n] - zp);
        bad += c2[m * N + n] != acc;
      }
    CU_ASSERT_EQUAL(bad, 0);
    free(A), free(B), free(Bp), free(c1), free(c2);
  }
  printf("[%s] ", qc_igemm_kernel_name());
}

/* Requantization written out independently: rintf under the default rounding mode is
   round-half-even. */
static int32_t ref_requant(int32_t acc, float sa, float sb, float sy, int32_t zp, int32_t lo,
                           int32_t hi)
{
  float m = (sa * sb) / sy;
  float r = rintf((float)acc * m);
  double v = (double)r + zp;
  return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

static void test_qlinear_matmul_onnx(void)
{
  /* test_qlinearmatmul_2D. */
  const uint8_t a[] = {208, 236, 0, 238, 3, 214, 255, 29};
  const uint8_t b[] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
  const float as = 0.0066f, bs = 0.00705f, ys = 0.0107f;
  const uint8_t azp = 113, bzp = 114, yzp = 118;
  const uint8_t want[] = {168, 115, 255, 1, 66, 151};
  tnode t = mk(QC_OP_QLinearMatMul, 8, 1);
  qc_tensor in[8] = {tens(QC_DT_U8, 2, I64(2, 4), a),  tens(QC_DT_F32, 1, I64(1), &as),
                     tens(QC_DT_U8, 1, I64(1), &azp), tens(QC_DT_U8, 2, I64(4, 3), b),
                     tens(QC_DT_F32, 1, I64(1), &bs), tens(QC_DT_U8, 1, I64(1), &bzp),
                     tens(QC_DT_F32, 1, I64(1), &ys), tens(QC_DT_U8, 1, I64(1), &yzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 8, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_U8);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_qlinear_matmul_tie_and_i8(void)
{
  /* acc = (3 - 1) * (5 - 0) = 10, M = 0.5 * 0.5 / 1 = 0.25 -> 2.5 -> 2 (even), + zp -3 = -1;
     acc = 2 * (127 - 0) = 254 -> 63.5 -> 64 -> 61; acc = 2 * -128 = -256 -> -64 -> -67.
     With y_zp -100, -67 - 97 ... checked separately below via saturation at -128. */
  const int8_t a[] = {3}, b[] = {5, 127, -128};
  const float s = 0.5f, ys = 1.0f;
  const int8_t azp = 1, bzp = 0, yzp = -3;
  const int8_t want[] = {-1, 61, -67};
  tnode t = mk(QC_OP_QLinearMatMul, 8, 1);
  qc_tensor in[8] = {tens(QC_DT_I8, 2, I64(1, 1), a),  tens(QC_DT_F32, 0, NULL, &s),
                     tens(QC_DT_I8, 0, NULL, &azp),    tens(QC_DT_I8, 2, I64(1, 3), b),
                     tens(QC_DT_F32, 0, NULL, &s),     tens(QC_DT_I8, 0, NULL, &bzp),
                     tens(QC_DT_F32, 0, NULL, &ys),    tens(QC_DT_I8, 0, NULL, &yzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 8, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  /* y_scale 0.25 makes M = 1: 10 - 3 = 7, 254 -> 127 (sat), -256 -> -128 (sat). */
  const float ys2 = 0.25f;
  in[6] = tens(QC_DT_F32, 0, NULL, &ys2);
  const int8_t want2[] = {7, 127, -128};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 8, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want2, sizeof want2), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_qlinear_matmul_random(void)
{
  /* Per-row a and per-column b parameters, u8 x i8 -> u8, batch [2]. */
  enum { B = 2, M = 9, K = 33, N = 70 };
  uint8_t *a = malloc(B * M * K);
  int8_t *b = malloc(K * N);
  fill8(a, QC_DT_U8, B * M * K);
  fill8(b, QC_DT_I8, K * N);
  float as[M], bs[N], ys = 0.37f;
  uint8_t azp[M], yzp = 77;
  int8_t bzp[N];
  for (int i = 0; i < M; i++) as[i] = 0.01f * (float)(i + 1), azp[i] = (uint8_t)rnd(0, 255);
  for (int i = 0; i < N; i++) bs[i] = 0.003f * (float)(i % 7 + 1), bzp[i] = (int8_t)rnd(-20, 20);
  tnode t = mk(QC_OP_QLinearMatMul, 8, 1);
  qc_tensor in[8] = {tens(QC_DT_U8, 3, I64(B, M, K), a), tens(QC_DT_F32, 1, I64(M), as),
                     tens(QC_DT_U8, 1, I64(M), azp),     tens(QC_DT_I8, 2, I64(K, N), b),
                     tens(QC_DT_F32, 1, I64(N), bs),     tens(QC_DT_I8, 1, I64(N), bzp),
                     tens(QC_DT_F32, 0, NULL, &ys),      tens(QC_DT_U8, 0, NULL, &yzp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 8, out, 1, 2, &e), QC_OK);
  const uint8_t *y = out[0].data;
  int bad = 0;
  for (int i = 0; i < B; i++)
    for (int m = 0; m < M; m++)
      for (int n = 0; n < N; n++) {
        int32_t acc = 0;
        for (int k = 0; k < K; k++) acc += (a[(i * M + m) * K + k] - azp[m]) * (b[k * N + n] - bzp[n]);
        bad += y[(i * M + m) * N + n] != ref_requant(acc, as[m], bs[n], ys, yzp, 0, 255);
      }
  CU_ASSERT_EQUAL(bad, 0);
  free_outs(out, 1);
  free(a);
  free(b);
  done(&t);
}

/* ---- ConvInteger / QLinearConv ------------------------------------------------------------ */

typedef struct {
  int sd;                 /* spatial dims */
  int64_t n, c, m, group;
  int64_t in[3], k[3], st[3], dl[3], pads[6];
  const char *auto_pad;   /* NULL: NOTSET with pads */
  int64_t pb[3];          /* begin pads the reference uses (hand-derived for SAME_*) */
  int64_t out[3];         /* expected output dims (hand-derived) */
} conv_case;

/* Direct definition: y[n, m, o] = sum_{c in group, kk} (x[n, c, o * s + kk * d - pb] - xzp) *
   (w[m, c, kk] - wzp[m]), padding contributing 0. */
static int32_t ref_conv_at(const conv_case *cc, const void *x, qc_dtype xt, int32_t xzp,
                           const void *w, qc_dtype wt, const int32_t *wzp, int64_t n, int64_t m,
                           const int64_t *o)
{
  int64_t cg = cc->c / cc->group, g = m / (cc->m / cc->group);
  int64_t ksz = 1;
  for (int d = 0; d < cc->sd; d++) ksz *= cc->k[d];
  int32_t acc = 0;
  for (int64_t c = 0; c < cg; c++)
    for (int64_t kk = 0; kk < ksz; kk++) {
      int64_t rem = kk, kd[3], xi = n * cc->c + g * cg + c, wi = m * cg + c;
      bool ok = true;
      for (int d = cc->sd - 1; d >= 0; d--) kd[d] = rem % cc->k[d], rem /= cc->k[d];
      for (int d = 0; d < cc->sd; d++) {
        int64_t i = o[d] * cc->st[d] + kd[d] * cc->dl[d] - cc->pb[d];
        if (i < 0 || i >= cc->in[d]) ok = false;
        xi = xi * cc->in[d] + i;
        wi = wi * cc->k[d] + kd[d];
      }
      if (ok) acc += (ld8(x, xt, xi) - xzp) * (ld8(w, wt, wi) - wzp[m]);
    }
  return acc;
}

static void set_conv_attrs(tnode *t, const conv_case *cc)
{
  attr_i(t, "group", cc->group);
  attr_ints(t, "strides", cc->sd, cc->st);
  attr_ints(t, "dilations", cc->sd, cc->dl);
  if (cc->auto_pad) attr_s(t, "auto_pad", cc->auto_pad);
  else attr_ints(t, "pads", 2 * cc->sd, cc->pads);
}

static const conv_case conv_cases[] = {
    /* 2-D, 2 groups, strides 2, dilation 2 x 1, asymmetric pads: out (9+3-5)/2+1 = 4,
       (8+2-3)/2+1 = 4. */
    {2, 2, 6, 4, 2, {9, 8}, {3, 3}, {2, 2}, {2, 1}, {1, 2, 2, 0}, NULL, {1, 2}, {4, 4}},
    /* 2-D SAME_UPPER: in 5, k 2, s 1 -> total pad 1, begin 0. */
    {2, 1, 3, 5, 1, {5, 5}, {2, 2}, {1, 1}, {1, 1}, {0}, "SAME_UPPER", {0, 0}, {5, 5}},
    /* SAME_LOWER: the odd pad goes first. */
    {2, 1, 3, 5, 1, {5, 5}, {2, 2}, {1, 1}, {1, 1}, {0}, "SAME_LOWER", {1, 1}, {5, 5}},
    /* SAME_UPPER with stride 2: in 7, k 3 -> out 4, total (4-1)*2+3-7 = 2, begin 1;
       in 6 -> out 3, total (3-1)*2+3-6 = 1, begin 0. */
    {2, 1, 2, 3, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {0}, "SAME_UPPER", {1, 0}, {4, 3}},
    /* VALID. */
    {2, 1, 2, 3, 1, {7, 6}, {3, 2}, {2, 1}, {1, 1}, {0}, "VALID", {0, 0}, {3, 5}},
    /* Depthwise, 3 x 3, pads 1: 13 x 11 = 143 output positions span three panels. */
    {2, 1, 4, 4, 4, {13, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, {1, 1}, {13, 11}},
    /* Large enough to be threaded: K = 16 * 9 = 144 (even), P = 30 * 30 = 900 (15 panels). */
    {2, 1, 16, 8, 1, {30, 30}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, {1, 1}, {30, 30}},
    /* 1-D: (20+3-4)/3+1 = 7; 3-D: (4+1-3)/1+1 = 3, (5+1-3)/2+1 = 2, (3-1)/1+1 = 3. */
    {1, 2, 3, 5, 1, {20}, {4}, {3}, {1}, {2, 1}, NULL, {2}, {7}},
    {3, 1, 2, 6, 2, {4, 5, 3}, {2, 3, 1}, {1, 2, 1}, {2, 1, 1}, {0, 1, 0, 1, 0, 0}, NULL,
     {0, 1, 0}, {3, 2, 3}},
};

static void run_conv_case(const conv_case *cc, bool qlinear, qc_dtype xt, qc_dtype wt,
                          bool per_channel)
{
  int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->m, cc->c / cc->group}, xs = cc->n * cc->c,
          ws = cc->m * (cc->c / cc->group);
  for (int d = 0; d < cc->sd; d++) {
    xd[2 + d] = cc->in[d], wd[2 + d] = cc->k[d];
    xs *= cc->in[d], ws *= cc->k[d];
  }
  void *x = malloc((size_t)xs), *w = malloc((size_t)ws);
  fill8(x, xt, xs);
  fill8(w, wt, ws);
  uint8_t xzp8 = (uint8_t)(xt == QC_DT_U8 ? 131 : -5);
  int32_t xzp = ld8(&xzp8, xt, 0);
  int64_t nz = per_channel ? cc->m : 1;
  uint8_t wzp8[8];
  int32_t wzp[8];
  float wsc[8], xsc = 0.02f, ysc = 0.5f;
  int32_t bias[8];
  for (int i = 0; i < cc->m; i++) {
    wzp8[i] = (uint8_t)(per_channel ? rnd(wt == QC_DT_U8 ? 100 : -10, wt == QC_DT_U8 ? 150 : 10)
                                    : (wt == QC_DT_U8 ? 128 : 0));
    if (!per_channel) wzp8[i] = wzp8[0];
    wzp[i] = ld8(wzp8, wt, i);
    wsc[i] = per_channel ? 0.01f * (float)(i + 1) : 0.01f;
    bias[i] = rnd(-2000, 2000);
  }
  uint8_t yzp = 100;
  tnode t = mk(qlinear ? QC_OP_QLinearConv : QC_OP_ConvInteger, qlinear ? 9 : 4, 1);
  set_conv_attrs(&t, cc);
  qc_tensor in[9];
  int n_in;
  if (qlinear) {
    in[0] = tens(xt, cc->sd + 2, xd, x);
    in[1] = tens(QC_DT_F32, 0, NULL, &xsc);
    in[2] = tens(xt, 0, NULL, &xzp8);
    in[3] = tens(wt, cc->sd + 2, wd, w);
    in[4] = tens(QC_DT_F32, 1, I64(nz), wsc);
    in[5] = tens(wt, 1, I64(nz), wzp8);
    in[6] = tens(QC_DT_F32, 0, NULL, &ysc);
    in[7] = tens(QC_DT_U8, 0, NULL, &yzp);
    in[8] = tens(QC_DT_I32, 1, I64(cc->m), bias);
    n_in = 9;
  } else {
    in[0] = tens(xt, cc->sd + 2, xd, x);
    in[1] = tens(wt, cc->sd + 2, wd, w);
    in[2] = tens(xt, 0, NULL, &xzp8);
    in[3] = tens(wt, 1, I64(nz), wzp8);
    n_in = 4;
  }
  qc_tensor out[1];
  qc_err e = {0};
  qc_status s = run(&t, in, n_in, out, 1, 2, &e);
  if (s != QC_OK) fprintf(stderr, "conv case: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(s, QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, qlinear ? QC_DT_U8 : QC_DT_I32);
  CU_ASSERT_EQUAL_FATAL(out[0].rank, cc->sd + 2);
  int64_t P = 1;
  for (int d = 0; d < cc->sd; d++) {
    CU_ASSERT_EQUAL(out[0].dims[2 + d], cc->out[d]);
    P *= cc->out[d];
  }
  int bad = 0;
  for (int64_t n = 0; n < cc->n; n++)
    for (int64_t m = 0; m < cc->m; m++)
      for (int64_t p = 0; p < P; p++) {
        int64_t o[3], rem = p;
        for (int d = cc->sd - 1; d >= 0; d--) o[d] = rem % cc->out[d], rem /= cc->out[d];
        int32_t acc = ref_conv_at(cc, x, xt, xzp, w, wt, wzp, n, m, o);
        int64_t yi = (n * cc->m + m) * P + p;
        if (qlinear) {
          int32_t want = ref_requant(acc + bias[m], xsc, wsc[m], ysc, yzp, 0, 255);
          bad += ((uint8_t *)out[0].data)[yi] != want;
        } else {
          bad += ((int32_t *)out[0].data)[yi] != acc;
        }
      }
  CU_ASSERT_EQUAL(bad, 0);
  free_outs(out, 1);
  free(x);
  free(w);
  done(&t);
}

static void test_conv_integer_random(void)
{
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    run_conv_case(&conv_cases[i], false, QC_DT_U8, QC_DT_U8, false);
    run_conv_case(&conv_cases[i], false, QC_DT_I8, QC_DT_I8, true);
  }
}

static void test_qlinear_conv_random(void)
{
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    run_conv_case(&conv_cases[i], true, QC_DT_U8, QC_DT_I8, true);
    run_conv_case(&conv_cases[i], true, QC_DT_U8, QC_DT_U8, false);
  }
}

static void test_conv_integer_onnx(void)
{
  /* test_convinteger_with_padding: x 2..10 (3 x 3), zp 1, w ones 2 x 2, pads 1. */
  const uint8_t x[] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, w[] = {1, 1, 1, 1}, zp = 1;
  const int32_t want[] = {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
  tnode t = mk(QC_OP_ConvInteger, 3, 1);
  attr_ints(&t, "pads", 4, I64(1, 1, 1, 1));
  qc_tensor in[3] = {tens(QC_DT_U8, 4, I64(1, 1, 3, 3), x), tens(QC_DT_U8, 4, I64(1, 1, 2, 2), w),
                     tens(QC_DT_U8, 0, NULL, &zp)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
  CU_ASSERT(out[0].dims[2] == 4 && out[0].dims[3] == 4);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  done(&t);
}

static void test_qlinear_conv_hand(void)
{
  /* 1x1 conv, two output channels with per-channel scales and zero points, bias, i8 output.
     x = {10, 20} (zp 0, scale 1); w ch0 = 3 (zp 1, scale 0.25), ch1 = -4 (zp -2, scale 0.5);
     bias {1, -1}; y scale 1, zp -1.
     ch0: acc = (10 * 2 + 1, 20 * 2 + 1) = (21, 41) * 0.25 = 5.25, 10.25 -> 5, 10 -> 4, 9.
     ch1: acc = (10 * -2 - 1, 20 * -2 - 1) = (-21, -41) * 0.5 = -10.5 -> -10, -20.5 -> -20
          -> -11, -21. */
  const uint8_t x[] = {10, 20}, xzp = 0;
  const int8_t w[] = {3, -4}, wzp[] = {1, -2}, yzp = -1;
  const float xs = 1, wsc[] = {0.25f, 0.5f}, ys = 1;
  const int32_t bias[] = {1, -1};
  const int8_t want[] = {4, 9, -11, -21};
  tnode t = mk(QC_OP_QLinearConv, 9, 1);
  qc_tensor in[9] = {tens(QC_DT_U8, 4, I64(1, 1, 1, 2), x), tens(QC_DT_F32, 0, NULL, &xs),
                     tens(QC_DT_U8, 0, NULL, &xzp),        tens(QC_DT_I8, 4, I64(2, 1, 1, 1), w),
                     tens(QC_DT_F32, 1, I64(2), wsc),      tens(QC_DT_I8, 1, I64(2), wzp),
                     tens(QC_DT_F32, 0, NULL, &ys),        tens(QC_DT_I8, 0, NULL, &yzp),
                     tens(QC_DT_I32, 1, I64(2), bias)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 9, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want, sizeof want), 0);
  free_outs(out, 1);
  /* Without bias: ch0 (20, 40) * 0.25 = 5, 10 -> 4, 9; ch1 (-20, -40) * 0.5 = -10, -20. */
  const int8_t want2[] = {4, 9, -11, -21};
  in[8] = NONE_T;
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 9, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(memcmp(out[0].data, want2, sizeof want2), 0);
  free_outs(out, 1);
  done(&t);
}

/* ---- shape inference ---------------------------------------------------------------------- */

static qc_tinfo ti(qc_dtype t, int rank, const int64_t *dims)
{
  qc_tinfo r;
  memset(&r, 0, sizeof r);
  r.dtype = t;
  r.rank = rank;
  for (int i = 0; i < rank; i++) r.dims[i] = dims[i];
  return r;
}

static void test_infer_static(void)
{
  /* Symbolic batch, unknown height: QLinearConv keeps the symbol, height unknown, width known. */
  tnode t = mk(QC_OP_QLinearConv, 8, 1);
  attr_ints(&t, "strides", 2, I64(2, 2));
  attr_ints(&t, "pads", 4, I64(1, 1, 1, 1));
  qc_tinfo in[8] = {ti(QC_DT_U8, 4, I64(QC_DIM_SYM(0), 3, -1, 32)), ti(QC_DT_F32, 0, NULL),
                    ti(QC_DT_U8, 0, NULL), ti(QC_DT_I8, 4, I64(16, 3, 3, 3)),
                    ti(QC_DT_F32, 1, I64(16)), ti(QC_DT_I8, 1, I64(16)), ti(QC_DT_F32, 0, NULL),
                    ti(QC_DT_I8, 0, NULL)};
  qc_tinfo out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_infer_node(&t.g->nodes[t.node], in, 8, out, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(out[0].rank, 4);
  CU_ASSERT_EQUAL(out[0].dims[0], QC_DIM_SYM(0));
  CU_ASSERT_EQUAL(out[0].dims[1], 16);
  CU_ASSERT_EQUAL(out[0].dims[2], QC_DIM_UNKNOWN);
  CU_ASSERT_EQUAL(out[0].dims[3], 16);
  done(&t);

  /* MatMulInteger broadcast: [4, 1, 5, 7] x [3, 7, 2] -> [4, 3, 5, 2]; unknown rank -> -1. */
  tnode m = mk(QC_OP_MatMulInteger, 2, 1);
  qc_tinfo mi[2] = {ti(QC_DT_U8, 4, I64(4, 1, 5, 7)), ti(QC_DT_I8, 3, I64(3, 7, 2))};
  CU_ASSERT_EQUAL_FATAL(qc_infer_node(&m.g->nodes[m.node], mi, 2, out, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I32);
  CU_ASSERT(out[0].rank == 4 && out[0].dims[0] == 4 && out[0].dims[1] == 3 &&
            out[0].dims[2] == 5 && out[0].dims[3] == 2);
  mi[1].rank = -1;
  CU_ASSERT_EQUAL_FATAL(qc_infer_node(&m.g->nodes[m.node], mi, 2, out, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].rank, -1);
  done(&m);

  /* DynamicQuantizeLinear: u8 like x, then two scalars. */
  tnode d = mk(QC_OP_DynamicQuantizeLinear, 1, 3);
  qc_tinfo di[1] = {ti(QC_DT_F32, 2, I64(QC_DIM_SYM(1), 8))};
  qc_tinfo dout[3];
  CU_ASSERT_EQUAL_FATAL(qc_infer_node(&d.g->nodes[d.node], di, 1, dout, 3, &e), QC_OK);
  CU_ASSERT(dout[0].dtype == QC_DT_U8 && dout[0].rank == 2 && dout[0].dims[0] == QC_DIM_SYM(1));
  CU_ASSERT(dout[1].dtype == QC_DT_F32 && dout[1].rank == 0);
  CU_ASSERT(dout[2].dtype == QC_DT_U8 && dout[2].rank == 0);
  done(&d);
}

static void expect_err(tnode *t, const qc_tinfo *in, int n_in, qc_status code, const char *msg)
{
  qc_tinfo out[3];
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_infer_node(&t->g->nodes[t->node], in, n_in, out, 1, &e), code);
  CU_ASSERT_STRING_EQUAL(e.msg, msg);
  if (strcmp(e.msg, msg) != 0) fprintf(stderr, "\n  got:  %s\n  want: %s\n", e.msg, msg);
}

static void test_infer_errors(void)
{
  tnode q = mk(QC_OP_QuantizeLinear, 3, 1);
  qc_tinfo qi[3] = {ti(QC_DT_F32, 2, I64(2, 3)), ti(QC_DT_F32, 1, I64(4)), ti(QC_DT_U8, 1, I64(4))};
  expect_err(&q, qi, 3, QC_ERR_INVALID,
             "node 'q' (QuantizeLinear): scale has 4 entries, expected 1 or 3");
  qi[1] = ti(QC_DT_F32, 1, I64(3));
  qi[2] = ti(QC_DT_U16, 1, I64(3));
  expect_err(&q, qi, 3, QC_ERR_UNSUPPORTED,
             "node 'q' (QuantizeLinear): zero point must be u8 or i8, is u16");
  qi[2] = ti(QC_DT_U8, 1, I64(2));
  expect_err(&q, qi, 3, QC_ERR_INVALID,
             "node 'q' (QuantizeLinear): zero point has 2 entries, expected 1 or 3");
  done(&q);

  tnode a = mk(QC_OP_QuantizeLinear, 2, 1);
  attr_i(&a, "axis", 2);
  qc_tinfo ai[2] = {ti(QC_DT_F32, 2, I64(2, 3)), ti(QC_DT_F32, 1, I64(3))};
  expect_err(&a, ai, 2, QC_ERR_INVALID, "node 'q' (QuantizeLinear): axis 2 out of range for rank 2");
  done(&a);

  tnode dq = mk(QC_OP_DequantizeLinear, 3, 1);
  qc_tinfo di[3] = {ti(QC_DT_U8, 1, I64(4)), ti(QC_DT_F32, 0, NULL), ti(QC_DT_I8, 0, NULL)};
  expect_err(&dq, di, 3, QC_ERR_INVALID,
             "node 'q' (DequantizeLinear): input zero point is i8, its tensor is u8");
  const int32_t nz = 3;
  di[0] = ti(QC_DT_I32, 1, I64(4));
  di[2] = ti(QC_DT_I32, 0, NULL);
  di[2].data = &nz;
  expect_err(&dq, di, 3, QC_ERR_INVALID,
             "node 'q' (DequantizeLinear): an i32 input's zero point must be 0");
  done(&dq);

  tnode c = mk(QC_OP_ConvInteger, 2, 1);
  attr_i(&c, "group", 2);
  qc_tinfo ci[2] = {ti(QC_DT_U8, 4, I64(1, 6, 5, 5)), ti(QC_DT_U8, 4, I64(4, 2, 3, 3))};
  expect_err(&c, ci, 2, QC_ERR_INVALID,
             "node 'q' (ConvInteger): X has 6 channels but W.shape[1] * group = 2 * 2");
  ci[1] = ti(QC_DT_U8, 4, I64(4, 3, 7, 3));
  expect_err(&c, ci, 2, QC_ERR_INVALID,
             "node 'q' (ConvInteger): kernel extent 7 is larger than the padded input 5 on "
             "spatial axis 0");
  done(&c);

  tnode m = mk(QC_OP_MatMulInteger, 2, 1);
  qc_tinfo mi[2] = {ti(QC_DT_U8, 2, I64(2, 3)), ti(QC_DT_F32, 2, I64(3, 2))};
  expect_err(&m, mi, 2, QC_ERR_UNSUPPORTED,
             "node 'q' (MatMulInteger): inputs must be u8 or i8, are u8 and f32");
  mi[1] = ti(QC_DT_U8, 2, I64(4, 2));
  expect_err(&m, mi, 2, QC_ERR_INVALID, "node 'q' (MatMulInteger): inner dims differ: 3 vs 4");
  mi[0] = ti(QC_DT_U8, 3, I64(2, 2, 3));
  mi[1] = ti(QC_DT_U8, 3, I64(3, 3, 2));
  expect_err(&m, mi, 2, QC_ERR_INVALID,
             "node 'q' (MatMulInteger): batch dims 2 and 3 do not broadcast");
  done(&m);
}

static CU_TestInfo tests[] = {
    {"round half even", test_round_half_even},
    {"quantize u8: ties, saturation", test_quantize_u8_ties_and_saturation},
    {"quantize i8: negative zero point", test_quantize_i8_negative_zp},
    {"quantize: default zp, NaN, inf", test_quantize_default_zp_nan_inf},
    {"quantize per axis", test_quantize_per_axis},
    {"quantize: onnx axis case", test_quantize_onnx_axis},
    {"dequantize u8/i8/i32", test_dequantize},
    {"dynamic quantize", test_dynamic_quantize},
    {"matmul integer: onnx case", test_matmul_integer_onnx},
    {"matmul integer: vectors, per-column zp", test_matmul_integer_vectors},
    {"matmul integer: broadcast vs naive", test_matmul_integer_random},
    {"matmul integer: threaded vs naive", test_matmul_integer_threaded},
    {"matmul integer: K bound exact", test_matmul_integer_k_bound},
    {"igemm: avx2 and portable agree", test_igemm_paths_agree},
    {"qlinear matmul: onnx case", test_qlinear_matmul_onnx},
    {"qlinear matmul: tie, i8 saturation", test_qlinear_matmul_tie_and_i8},
    {"qlinear matmul: per row/col vs naive", test_qlinear_matmul_random},
    {"conv integer: onnx padding case", test_conv_integer_onnx},
    {"conv integer vs naive", test_conv_integer_random},
    {"qlinear conv: hand case", test_qlinear_conv_hand},
    {"qlinear conv vs naive", test_qlinear_conv_random},
    {"infer: static shapes", test_infer_static},
    {"infer: error messages", test_infer_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"quant", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
