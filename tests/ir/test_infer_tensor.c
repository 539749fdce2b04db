/* Shape inference of the elementwise and tensor ops with symbolic and unknown dims, unknown
   contents, and malformed attributes (errors, never crashes). Run-time shapes (all data known)
   are covered by tests/interp/test_*_cases.c against ONNX's node tests. */
#include <string.h>

#include "ir.h"
#include "testutil.h"

#define N QC_DIM_SYM(0)
#define M QC_DIM_SYM(1)
#define U QC_DIM_UNKNOWN

static qc_graph *g;

static qc_node *node(qc_op op)
{
  int32_t none[1] = {0};
  qc_err e = {0};
  int32_t id = qc_graph_add_node(g, op, "n", 0, none, 0, none, &e);
  CU_ASSERT_FATAL(id >= 0);
  return &g->nodes[id];
}

static void attr_i(qc_node *nd, const char *name, int64_t v)
{
  qc_err e = {0};
  qc_attr *a = qc_node_add_attr(g, (int32_t)(nd - g->nodes), name, QC_ATTR_INT, &e);
  a->i = v;
}

static void attr_ints(qc_node *nd, const char *name, int n, const int64_t *v)
{
  qc_err e = {0};
  qc_attr *a = qc_node_add_attr(g, (int32_t)(nd - g->nodes), name, QC_ATTR_INTS, &e);
  a->n = n;
  a->ints = qc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(n + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static qc_tinfo ti(qc_dtype dt, int rank, const int64_t *dims, const void *data)
{
  qc_tinfo t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = data;
  return t;
}

#define T(dt, r, ...) ti(dt, r, (const int64_t[]){__VA_ARGS__}, NULL)
#define TD(dt, r, data, ...) ti(dt, r, (const int64_t[]){__VA_ARGS__}, data)
#define I64(...) ((const int64_t[]){__VA_ARGS__})

static qc_tinfo out[4];
static qc_err err;

static qc_status infer(qc_node *nd, int n_in, const qc_tinfo *in, int n_out)
{
  memset(out, 0x55, sizeof out);
  qc_err_clear(&err);
  return qc_infer_node(nd, in, n_in, out, n_out, &err);
}

/* The first output is dtype dt with the given rank and dims. */
static void expect(qc_dtype dt, int rank, const int64_t *dims)
{
  CU_ASSERT_EQUAL(err.code, QC_OK);
  if (err.code) printf("\n    unexpected error: %s", err.msg);
  CU_ASSERT_EQUAL(out[0].dtype, dt);
  CU_ASSERT_EQUAL(out[0].rank, rank);
  for (int i = 0; i < rank && out[0].rank == rank; i++) {
    CU_ASSERT_EQUAL(out[0].dims[i], dims[i]);
    if (out[0].dims[i] != dims[i])
      printf("\n    dim %d is %lld, expected %lld", i, (long long)out[0].dims[i], (long long)dims[i]);
  }
}

static void expect_err(qc_status code, const char *msg)
{
  CU_ASSERT_EQUAL(err.code, code);
  CU_ASSERT_STRING_EQUAL(err.msg, msg);
  if (strcmp(err.msg, msg)) printf("\n    got '%s'", err.msg);
}

static int setup(void)
{
  g = qc_graph_new();
  return g ? 0 : 1;
}

static int teardown(void)
{
  qc_graph_free(g);
  return 0;
}

static void test_broadcast_symbols(void)
{
  qc_node *add = node(QC_OP_Add);
  qc_tinfo a[2] = {T(QC_DT_F32, 3, N, 1, 4), T(QC_DT_F32, 2, 3, 1)};
  infer(add, 2, a, 1);
  expect(QC_DT_F32, 3, I64(N, 3, 4));
  qc_tinfo b[2] = {T(QC_DT_F32, 2, N, 8), T(QC_DT_F32, 2, M, 8)};
  infer(add, 2, b, 1);
  expect(QC_DT_F32, 2, I64(U, 8)); /* two symbols: unknown */
  qc_tinfo c[2] = {T(QC_DT_F32, 1, N), T(QC_DT_F32, 1, N)};
  infer(add, 2, c, 1);
  expect(QC_DT_F32, 1, I64(N));
  qc_tinfo d[2] = {T(QC_DT_F32, 2, N, U), T(QC_DT_F32, 2, 5, 1)};
  infer(add, 2, d, 1);
  expect(QC_DT_F32, 2, I64(5, U)); /* a known dim wins */
  qc_tinfo e[2] = {T(QC_DT_F32, 2, N, 3), ti(QC_DT_F32, -1, NULL, NULL)};
  infer(add, 2, e, 1);
  expect(QC_DT_F32, -1, NULL);
  qc_tinfo f[2] = {T(QC_DT_F32, 2, 2, 3), T(QC_DT_F32, 1, 4)};
  infer(add, 2, f, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Add): shapes [2, 3] and [4] do not broadcast");
  qc_node *eq = node(QC_OP_Less);
  infer(eq, 2, a, 1);
  expect(QC_DT_BOOL, 3, I64(N, 3, 4));
  qc_node *w = node(QC_OP_Where);
  qc_tinfo wh[3] = {T(QC_DT_BOOL, 1, 4), T(QC_DT_I64, 2, N, 1), T(QC_DT_I64, 0, 0)};
  infer(w, 3, wh, 1);
  expect(QC_DT_I64, 2, I64(N, 4));
  qc_node *mx = node(QC_OP_Max);
  qc_tinfo v[3] = {T(QC_DT_F32, 1, 1), T(QC_DT_F32, 2, N, 1), T(QC_DT_F32, 3, 2, 1, 7)};
  infer(mx, 3, v, 1);
  expect(QC_DT_F32, 3, I64(2, N, 7));
  qc_node *pw = node(QC_OP_Pow); /* the exponent may differ in type */
  qc_tinfo p[2] = {T(QC_DT_F32, 1, N), T(QC_DT_I64, 0, 0)};
  infer(pw, 2, p, 1);
  expect(QC_DT_F32, 1, I64(N));
}

static void test_unary_like(void)
{
  qc_tinfo x = T(QC_DT_F16, 3, N, 3, M);
  infer(node(QC_OP_Relu), 1, &x, 1);
  expect(QC_DT_F16, 3, I64(N, 3, M));
  infer(node(QC_OP_IsNaN), 1, &x, 1);
  expect(QC_DT_BOOL, 3, I64(N, 3, M));
  infer(node(QC_OP_Dropout), 1, &x, 2);
  expect(QC_DT_F16, 3, I64(N, 3, M));
  CU_ASSERT_EQUAL(out[1].dtype, QC_DT_BOOL);
  CU_ASSERT_EQUAL(out[1].dims[2], M);
  qc_node *c = node(QC_OP_Cast);
  attr_i(c, "to", 7);
  infer(c, 1, &x, 1);
  expect(QC_DT_I64, 3, I64(N, 3, M));
  qc_node *cl = node(QC_OP_CastLike);
  qc_tinfo xl[2] = {x, T(QC_DT_U8, 0, 0)};
  infer(cl, 2, xl, 1);
  expect(QC_DT_U8, 3, I64(N, 3, M));
  infer(node(QC_OP_Shape), 1, &x, 1);
  expect(QC_DT_I64, 1, I64(3));
  qc_tinfo unk = ti(QC_DT_F32, -1, NULL, NULL);
  infer(node(QC_OP_Shape), 1, &unk, 1);
  expect(QC_DT_I64, 1, I64(U));
  infer(node(QC_OP_Size), 1, &unk, 1);
  expect(QC_DT_I64, 0, NULL);
  qc_node *cs = node(QC_OP_CumSum);
  qc_tinfo ca[2] = {x, T(QC_DT_I32, 0, 0)};
  infer(cs, 2, ca, 1);
  expect(QC_DT_F16, 3, I64(N, 3, M));
}

static void test_reshape(void)
{
  qc_node *r = node(QC_OP_Reshape);
  qc_tinfo a[2] = {T(QC_DT_F32, 3, N, 3, 4), TD(QC_DT_I64, 1, I64(0, -1), 2)};
  infer(r, 2, a, 1);
  expect(QC_DT_F32, 2, I64(N, 12)); /* the copied symbol cancels */
  qc_tinfo b[2] = {T(QC_DT_F32, 3, N, 3, 4), TD(QC_DT_I64, 1, I64(-1, 12), 2)};
  infer(r, 2, b, 1);
  expect(QC_DT_F32, 2, I64(U, 12));
  qc_tinfo c[2] = {T(QC_DT_F32, 4, N, 3, 4, M), TD(QC_DT_I64, 1, I64(0, 2, -1, 0), 4)};
  infer(r, 2, c, 1);
  expect(QC_DT_F32, 4, I64(N, 2, 6, M));
  qc_tinfo d[2] = {T(QC_DT_F32, 3, N, 3, 4), T(QC_DT_I64, 1, 5)};
  infer(r, 2, d, 1);
  expect(QC_DT_F32, 5, I64(U, U, U, U, U)); /* contents unknown: rank only */
  qc_tinfo e[2] = {T(QC_DT_F32, 3, 2, 3, 4), TD(QC_DT_I64, 1, I64(5, -1), 2)};
  infer(r, 2, e, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Reshape): cannot reshape 24 elements to [5, -1]");
  qc_tinfo f[2] = {T(QC_DT_F32, 2, 2, 3), TD(QC_DT_I64, 1, I64(2, -7), 2)};
  infer(r, 2, f, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Reshape): shape [2, -7] has a negative dim");
  qc_tinfo g9[2] = {T(QC_DT_F32, 2, 2, 3), TD(QC_DT_I64, 1, I64(1, 1, 1, 1, 1, 1, 1, 1, 6), 9)};
  infer(r, 2, g9, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Reshape): shape has 9 entries, at most 8 are allowed");

  qc_node *fl = node(QC_OP_Flatten);
  qc_tinfo x = T(QC_DT_F32, 4, N, 3, 4, 5);
  infer(fl, 1, &x, 1);
  expect(QC_DT_F32, 2, I64(N, 60));
  attr_i(fl, "axis", -1);
  qc_tinfo y = T(QC_DT_F32, 4, N, 3, 4, M);
  infer(fl, 1, &y, 1);
  expect(QC_DT_F32, 2, I64(U, M));
  qc_node *fl2 = node(QC_OP_Flatten);
  attr_i(fl2, "axis", INT64_MIN);
  infer(fl2, 1, &x, 1);
  CU_ASSERT_EQUAL(err.code, QC_ERR_INVALID);
}

static void test_transpose_squeeze(void)
{
  qc_node *t = node(QC_OP_Transpose);
  attr_ints(t, "perm", 3, I64(2, 0, 1));
  qc_tinfo x = T(QC_DT_F32, 3, N, 3, M);
  infer(t, 1, &x, 1);
  expect(QC_DT_F32, 3, I64(M, N, 3));
  qc_tinfo unk = ti(QC_DT_F32, -1, NULL, NULL);
  infer(t, 1, &unk, 1);
  expect(QC_DT_F32, 3, I64(U, U, U));
  infer(node(QC_OP_Transpose), 1, &x, 1);
  expect(QC_DT_F32, 3, I64(M, 3, N));
  qc_node *bad = node(QC_OP_Transpose);
  attr_ints(bad, "perm", 4, I64(0, 1, 2, -1));
  qc_tinfo x4 = T(QC_DT_F32, 4, 1, 2, 3, 4);
  infer(bad, 1, &x4, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Transpose): perm is not a permutation of 0..3");
  qc_node *big = node(QC_OP_Transpose);
  attr_ints(big, "perm", 9, I64(0, 1, 2, 3, 4, 5, 6, 7, 8));
  infer(big, 1, &unk, 1);
  CU_ASSERT_EQUAL(err.code, QC_ERR_UNSUPPORTED);

  qc_node *sq = node(QC_OP_Squeeze);
  qc_tinfo s1 = T(QC_DT_F32, 3, 1, N, 1);
  infer(sq, 1, &s1, 1);
  expect(QC_DT_F32, -1, NULL); /* N might be 1 */
  qc_tinfo s2[2] = {s1, TD(QC_DT_I64, 1, I64(-1, 0), 2)};
  infer(sq, 2, s2, 1);
  expect(QC_DT_F32, 1, I64(N));
  qc_tinfo s3[2] = {s1, T(QC_DT_I64, 1, 1)};
  infer(sq, 2, s3, 1);
  expect(QC_DT_F32, 2, I64(U, U));
  qc_tinfo s4[2] = {s1, TD(QC_DT_I64, 1, I64(5), 1)};
  infer(sq, 2, s4, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Squeeze): axis 5 is out of range for rank 3");

  qc_node *us = node(QC_OP_Unsqueeze);
  qc_tinfo u1[2] = {T(QC_DT_F32, 2, N, 3), TD(QC_DT_I64, 1, I64(0, -1), 2)};
  infer(us, 2, u1, 1);
  expect(QC_DT_F32, 4, I64(1, N, 3, 1));
  qc_tinfo u2[2] = {T(QC_DT_F32, 2, N, 3), T(QC_DT_I64, 1, 2)};
  infer(us, 2, u2, 1);
  expect(QC_DT_F32, 4, I64(U, U, U, U));
  qc_tinfo u3[2] = {T(QC_DT_F32, 7, 1, 1, 1, 1, 1, 1, 1), T(QC_DT_I64, 1, 2)};
  infer(us, 2, u3, 1);
  expect_err(QC_ERR_UNSUPPORTED, "node 'n' (Unsqueeze): output rank 9 exceeds the maximum of 8");
}

static void test_concat_split(void)
{
  qc_node *c = node(QC_OP_Concat);
  attr_i(c, "axis", 1);
  qc_tinfo a[3] = {T(QC_DT_F32, 2, N, 3), T(QC_DT_F32, 2, N, 5), T(QC_DT_F32, 2, U, 1)};
  infer(c, 3, a, 1);
  expect(QC_DT_F32, 2, I64(N, 9));
  qc_tinfo b[2] = {T(QC_DT_F32, 2, N, 3), T(QC_DT_F32, 2, N, M)};
  infer(c, 2, b, 1);
  expect(QC_DT_F32, 2, I64(N, U));
  qc_tinfo d[2] = {T(QC_DT_F32, 2, N, 3), ti(QC_DT_F32, -1, NULL, NULL)};
  infer(c, 2, d, 1);
  expect(QC_DT_F32, 2, I64(N, U));
  qc_tinfo e[2] = {T(QC_DT_F32, 4, 1, 2, 3, 4), T(QC_DT_F32, 3, 1, 2, 3)};
  infer(c, 2, e, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Concat): input 1 has rank 3, expected 4");
  qc_node *c2 = node(QC_OP_Concat);
  attr_i(c2, "axis", INT64_MAX);
  infer(c2, 2, b, 1);
  CU_ASSERT_EQUAL(err.code, QC_ERR_INVALID);
  /* the sum along the axis is checked, never overflowed (a fuzzer found this one) */
  qc_tinfo big[3] = {T(QC_DT_F32, 2, 1, QC_MAX_ELEMS), T(QC_DT_F32, 2, 1, QC_MAX_ELEMS),
                     T(QC_DT_F32, 2, 1, INT64_MAX / 2 + 1)};
  infer(c, 3, big, 1);
  expect_err(QC_ERR_NOMEM, "node 'n' (Concat): output dim 1 is too large");

  qc_node *s = node(QC_OP_Split);
  attr_i(s, "axis", -1);
  qc_tinfo x = T(QC_DT_F32, 2, N, 12);
  infer(s, 1, &x, 3);
  CU_ASSERT_EQUAL(err.code, QC_OK);
  for (int i = 0; i < 3; i++) {
    CU_ASSERT_EQUAL(out[i].dims[0], N);
    CU_ASSERT_EQUAL(out[i].dims[1], 4);
  }
  qc_tinfo xs[2] = {x, TD(QC_DT_I64, 1, I64(2, 10), 2)};
  infer(s, 2, xs, 2);
  CU_ASSERT_EQUAL(out[1].dims[1], 10);
  qc_tinfo xu[2] = {x, T(QC_DT_I64, 1, 2)};
  infer(s, 2, xu, 2);
  CU_ASSERT_EQUAL(out[0].dims[0], N);
  CU_ASSERT_EQUAL(out[0].dims[1], U);
}

static void test_data_dependent(void)
{
  /* Slice: unknown contents keep the rank; a whole-axis slice keeps the symbol */
  qc_node *sl = node(QC_OP_Slice);
  qc_tinfo a[3] = {T(QC_DT_F32, 2, N, 10), T(QC_DT_I64, 1, 1), T(QC_DT_I64, 1, 1)};
  infer(sl, 3, a, 1);
  expect(QC_DT_F32, 2, I64(U, U));
  qc_tinfo b[4] = {T(QC_DT_F32, 2, N, 10), TD(QC_DT_I64, 1, I64(0, 2), 2),
                   TD(QC_DT_I64, 1, I64(INT64_MAX, -2), 2), TD(QC_DT_I64, 1, I64(0, 1), 2)};
  infer(sl, 4, b, 1);
  expect(QC_DT_F32, 2, I64(N, 6));
  qc_tinfo c[5] = {T(QC_DT_F32, 2, N, 10), TD(QC_DT_I64, 1, I64(1, 9), 2),
                   TD(QC_DT_I64, 1, I64(3, INT64_MIN), 2), TD(QC_DT_I64, 1, I64(0, 1), 2),
                   TD(QC_DT_I64, 1, I64(1, -4), 2)};
  infer(sl, 5, c, 1);
  expect(QC_DT_F32, 2, I64(U, 3));
  /* Expand, Tile, Range, ConstantOfShape, Pad */
  qc_node *ex = node(QC_OP_Expand);
  qc_tinfo e1[2] = {T(QC_DT_F32, 2, N, 1), TD(QC_DT_I64, 1, I64(2, 1, 5), 3)};
  infer(ex, 2, e1, 1);
  expect(QC_DT_F32, 3, I64(2, N, 5));
  qc_tinfo e2[2] = {T(QC_DT_F32, 2, N, 1), T(QC_DT_I64, 1, 3)};
  infer(ex, 2, e2, 1);
  expect(QC_DT_F32, 3, I64(U, U, U));
  qc_node *ti_ = node(QC_OP_Tile);
  qc_tinfo t1[2] = {T(QC_DT_F32, 2, N, 3), TD(QC_DT_I64, 1, I64(1, 2), 2)};
  infer(ti_, 2, t1, 1);
  expect(QC_DT_F32, 2, I64(N, 6));
  qc_node *rg = node(QC_OP_Range);
  qc_tinfo r1[3] = {T(QC_DT_I64, 0, 0), T(QC_DT_I64, 0, 0), T(QC_DT_I64, 0, 0)};
  infer(rg, 3, r1, 1);
  expect(QC_DT_I64, 1, I64(U));
  int64_t rs = 0, rl = INT64_MAX, rd = 1;
  qc_tinfo r2[3] = {ti(QC_DT_I64, 0, NULL, &rs), ti(QC_DT_I64, 0, NULL, &rl), ti(QC_DT_I64, 0, NULL, &rd)};
  infer(rg, 3, r2, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Range): range has too many elements");
  qc_node *co = node(QC_OP_ConstantOfShape);
  qc_tinfo s1 = T(QC_DT_I64, 1, 3);
  infer(co, 1, &s1, 1);
  expect(QC_DT_F32, 3, I64(U, U, U));
  qc_tinfo s2 = TD(QC_DT_I64, 1, I64(2, -1), 2);
  infer(co, 1, &s2, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (ConstantOfShape): shape [2, -1] has an invalid dim");
  qc_node *pd = node(QC_OP_Pad);
  qc_tinfo p1[2] = {T(QC_DT_F32, 2, N, 3), T(QC_DT_I64, 1, 4)};
  infer(pd, 2, p1, 1);
  expect(QC_DT_F32, 2, I64(U, U));
  qc_tinfo p2[2] = {T(QC_DT_F32, 2, N, 3), TD(QC_DT_I64, 1, I64(0, 1, 0, 2), 4)};
  infer(pd, 2, p2, 1);
  expect(QC_DT_F32, 2, I64(N, 6));
  /* Gather, GatherElements */
  qc_node *ga = node(QC_OP_Gather);
  qc_tinfo g1[2] = {T(QC_DT_F32, 2, 100, 16), T(QC_DT_I64, 2, N, M)};
  infer(ga, 2, g1, 1);
  expect(QC_DT_F32, 3, I64(N, M, 16));
  qc_node *ga2 = node(QC_OP_Gather);
  attr_i(ga2, "axis", 1000000000000LL);
  infer(ga2, 2, g1, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Gather): axis 1000000000000 is out of range for rank 2");
}

static void test_reduce(void)
{
  qc_node *rm = node(QC_OP_ReduceMean);
  attr_ints(rm, "axes", 2, I64(2, -1));
  qc_tinfo x = T(QC_DT_F32, 4, N, 8, M, M);
  infer(rm, 1, &x, 1);
  expect(QC_DT_F32, 4, I64(N, 8, 1, 1));
  qc_node *rs = node(QC_OP_ReduceSum);
  attr_i(rs, "keepdims", 0);
  qc_tinfo a[2] = {x, T(QC_DT_I64, 1, 2)};
  infer(rs, 2, a, 1);
  expect(QC_DT_F32, 2, I64(U, U));
  qc_tinfo b[2] = {x, TD(QC_DT_I64, 1, I64(0), 1)};
  infer(rs, 2, b, 1);
  expect(QC_DT_F32, 3, I64(8, M, M));
  infer(rs, 1, &x, 1);
  expect(QC_DT_F32, 0, NULL);
  qc_node *am = node(QC_OP_ArgMax);
  attr_i(am, "axis", -3);
  infer(am, 1, &x, 1);
  expect(QC_DT_I64, 4, I64(N, 1, M, M));
  qc_node *bad = node(QC_OP_ReduceMax);
  attr_ints(bad, "axes", 2, I64(1, -3));
  infer(bad, 1, &x, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (ReduceMax): axis -3 is repeated");
  qc_node *d2s = node(QC_OP_DepthToSpace);
  attr_i(d2s, "blocksize", 2);
  qc_tinfo y = T(QC_DT_F32, 4, N, 8, M, 3);
  infer(d2s, 1, &y, 1);
  expect(QC_DT_F32, 4, I64(N, 2, U, 6));
}

static void test_constant(void)
{
  qc_node *c = node(QC_OP_Constant);
  qc_err e = {0};
  qc_attr *a = qc_node_add_attr(g, (int32_t)(c - g->nodes), "value", QC_ATTR_TENSOR, &e);
  a->tensors = qc_arena_alloc(g->arena, sizeof(qc_tensor));
  a->tensors->dtype = QC_DT_I8;
  a->tensors->rank = 2;
  a->tensors->dims[0] = 2;
  a->tensors->dims[1] = 5;
  infer(c, 0, NULL, 1);
  expect(QC_DT_I8, 2, I64(2, 5));
  qc_node *c2 = node(QC_OP_Constant);
  attr_ints(c2, "value_ints", 3, I64(1, 2, 3));
  infer(c2, 0, NULL, 1);
  expect(QC_DT_I64, 1, I64(3));
  attr_i(c2, "value_int", 3);
  infer(c2, 0, NULL, 1);
  expect_err(QC_ERR_INVALID, "node 'n' (Constant): needs exactly one value attribute, has 2");
  qc_node *c3 = node(QC_OP_Constant);
  qc_node_add_attr(g, (int32_t)(c3 - g->nodes), "sparse_value", QC_ATTR_SPARSE_TENSOR, &e);
  infer(c3, 0, NULL, 1);
  expect_err(QC_ERR_UNSUPPORTED, "node 'n' (Constant): attribute 'sparse_value' is not supported");
}

/* Too few inputs or outputs never read past the arrays. */
static void test_arity(void)
{
  static const qc_op ops[] = {QC_OP_Add, QC_OP_Where, QC_OP_Reshape, QC_OP_Slice, QC_OP_Gather,
                              QC_OP_Concat, QC_OP_Pad, QC_OP_Range, QC_OP_Unsqueeze};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    qc_node *nd = node(ops[i]);
    qc_tinfo x = T(QC_DT_F32, 1, 3);
    CU_ASSERT_NOT_EQUAL(infer(nd, 0, &x, 1), QC_OK);
    CU_ASSERT_NOT_EQUAL(infer(nd, 1, &x, 0), QC_OK);
  }
}

static CU_TestInfo tests[] = {
    {"broadcasting with symbols", test_broadcast_symbols},
    {"unary, cast, shape", test_unary_like},
    {"reshape and flatten", test_reshape},
    {"transpose, squeeze, unsqueeze", test_transpose_squeeze},
    {"concat and split", test_concat_split},
    {"data-dependent shapes", test_data_dependent},
    {"reductions and depth-to-space", test_reduce},
    {"constants", test_constant},
    {"arity checks", test_arity},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"infer_tensor", setup, teardown, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
