/* ir/graph.c, arena, dtype table and attribute defaults: toposort keeps sorted graphs as they
   are and names a node on a cycle; clones print identically; name lookup over many values;
   a failing arena makes graph building return QC_ERR_NOMEM without crash or leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
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

static void assert_prints(const qc_graph *g, const char *want)
{
  char *s = qc_print(g, true);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  if (strcmp(s, want) != 0) fprintf(stderr, "\n--- got:\n%s--- want:\n%s", s, want);
  CU_ASSERT_STRING_EQUAL(s, want);
  free(s);
}

static const char *sorted_text = "graph \"g\" opset 17 {\n"
                                 "  input %x: f32[2]\n"
                                 "  %a = Relu(%x) @a\n"
                                 "  %d = Neg(%x) @d\n"
                                 "  %b = Add(%a, %d) @b\n"
                                 "  %c = Relu(%b) @c\n"
                                 "  output %c\n"
                                 "}\n";

static void test_toposort_keeps_sorted(void)
{
  qc_graph *g = parse_ok(sorted_text);
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_graph_toposort(g, &e), QC_OK);
  assert_prints(g, sorted_text);
  qc_graph_free(g);
}

static void test_toposort_sorts_stably(void)
{
  qc_graph *g = parse_ok("graph \"g\" opset 17 {\n"
                         "  input %x: f32[2]\n"
                         "  %c = Relu(%b) @c\n"
                         "  %b = Relu(%a) @b\n"
                         "  %a = Relu(%x) @a\n"
                         "  %d = Neg(%x) @d\n"
                         "  output %c\n"
                         "  output %d\n"
                         "}\n");
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_graph_toposort(g, &e), QC_OK);
  /* ready nodes go in their original order: a, then what a frees first (b, c), then d */
  assert_prints(g, "graph \"g\" opset 17 {\n"
                   "  input %x: f32[2]\n"
                   "  %a = Relu(%x) @a\n"
                   "  %b = Relu(%a) @b\n"
                   "  %c = Relu(%b) @c\n"
                   "  %d = Neg(%x) @d\n"
                   "  output %c\n"
                   "  output %d\n"
                   "}\n");
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_OK);
  CU_ASSERT_EQUAL(g->values[qc_graph_find_value(g, "c")].producer, 2);
  qc_graph_free(g);
}

static void test_toposort_cycle(void)
{
  qc_graph *g = parse_ok("graph \"g\" opset 17 {\n"
                         "  input %x: f32[2]\n"
                         "  %y = Relu(%x) @first\n"
                         "  %a = Add(%y, %b) @a\n"
                         "  %b = Relu(%a) @b\n"
                         "  output %b\n"
                         "}\n");
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_graph_toposort(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "graph has a cycle (or an input produced by no node): node 'a' "
                                "(Add) can never run");
  qc_graph_free(g);
}

static void test_clone(void)
{
  const char *text = "graph \"c\" opset 13 {\n"
                     "  sym B\n"
                     "  input %x: f32[B,4]\n"
                     "  const %w: i8[4,4] q(bits=8, axis=0, scale=[1.0, 2.0, 3.0, 4.0], "
                     "zp=[0, 0, 0, 1], mult=[1, 2, 3, 4], shift=[5, 6, 7, 8]) = "
                     "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
                     "  %y: f32[B,4] = MatMul(%x, %w)\n"
                     "  %z = Constant() {value=f32[2] [1.0, 2.0], value_strings=[\"a\", \"b\"], "
                     "value_floats=[0.5], value_string=\"s\"}\n"
                     "  output %y\n"
                     "  output %z\n"
                     "}\n";
  qc_graph *g = parse_ok(text);
  qc_err e = {0};
  qc_graph *c = qc_graph_clone(g, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(c);
  assert_prints(c, text);
  /* deep: changing the clone leaves the original alone */
  ((int8_t *)c->values[qc_graph_find_value(c, "w")].data)[0] = 99;
  c->values[qc_graph_find_value(c, "w")].q->scale[0] = 9.0f;
  c->nodes[1].attrs[0].tensors->dims[0] = 7;
  assert_prints(g, text);
  CU_ASSERT_NOT_EQUAL(c->arena, g->arena);
  qc_graph_free(c);
  qc_graph_free(g);
}

static void test_hash_many_values(void)
{
  qc_graph *g = qc_graph_new();
  qc_err e = {0};
  char name[32];
  enum { N = 20000 };
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "v%d", i);
    CU_ASSERT_EQUAL_FATAL(qc_graph_add_value(g, name, QC_DT_F32, 0, NULL, &e), i);
  }
  int bad = 0;
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "v%d", i);
    bad += qc_graph_find_value(g, name) != i;
  }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT_EQUAL(qc_graph_find_value(g, "v20000"), -1);
  CU_ASSERT_EQUAL(qc_graph_find_value(g, ""), -1);
  CU_ASSERT_EQUAL(qc_graph_add_value(g, "v123", QC_DT_F32, 0, NULL, &e), -1);
  CU_ASSERT_STRING_EQUAL(e.msg, "value 'v123' is defined twice");
  /* a fresh name never collides */
  qc_err_clear(&e);
  int32_t fresh = qc_graph_add_value(g, NULL, QC_DT_F32, 0, NULL, &e);
  CU_ASSERT_EQUAL(fresh, N);
  CU_ASSERT_EQUAL(qc_graph_find_value(g, g->values[fresh].name), N);
  qc_graph_free(g);
}

/* Builds a small graph through every allocating call; returns the first failure. */
static qc_status build(qc_graph *g, qc_err *e)
{
  if (qc_graph_add_sym(g, "N", e) < 0) return e->code;
  int64_t xd[2] = {QC_DIM_SYM(0), 4}, wd[2] = {4, 4};
  float w[16] = {0};
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 2, xd, e);
  if (x < 0) return e->code;
  int32_t wi = qc_graph_add_const(g, "w", QC_DT_F32, 2, wd, w, e);
  if (wi < 0) return e->code;
  int32_t y = qc_graph_add_value(g, "y", QC_DT_F32, 2, xd, e);
  if (y < 0) return e->code;
  int32_t in[2] = {x, wi};
  int32_t n = qc_graph_add_node(g, QC_OP_MatMul, "mm", 2, in, 1, &y, e);
  if (n < 0) return e->code;
  int32_t z = qc_graph_add_value(g, "z", QC_DT_F32, 2, xd, e);
  if (z < 0) return e->code;
  int32_t n2 = qc_graph_add_node(g, QC_OP_LeakyRelu, NULL, 1, &y, 1, &z, e);
  if (n2 < 0) return e->code;
  qc_attr *a = qc_node_add_attr(g, n2, "alpha", QC_ATTR_FLOAT, e);
  if (!a) return e->code;
  a->f = 0.5f;
  if (qc_graph_set_inputs(g, 1, &x, e) != QC_OK) return e->code;
  if (qc_graph_set_outputs(g, 1, &z, e) != QC_OK) return e->code;
  return QC_OK;
}

static void test_arena_failure_injection(void)
{
  int n_fail = 0;
  for (long k = 1; k < 200; k++) {
    qc_graph *g = qc_graph_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    qc_arena_fail_after(g->arena, k);
    qc_err e = {0};
    qc_status st = build(g, &e);
    /* whatever was built prints and verifies (or not) without crashing */
    char *s = qc_print(g, true);
    free(s);
    qc_err ev = {0};
    (void)qc_verify(g, &ev);
    qc_graph_free(g);
    if (st == QC_OK) break;
    CU_ASSERT_EQUAL(st, QC_ERR_NOMEM);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "out of memory"));
    n_fail++;
  }
  CU_ASSERT_TRUE(n_fail >= 10); /* every allocation site got its turn */
  CU_ASSERT_TRUE(n_fail < 199); /* and enough allocations succeed in the end */
  /* the graph built without failures is the expected one */
  qc_graph *g = qc_graph_new();
  qc_err e = {0};
  CU_ASSERT_EQUAL(build(g, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_OK);
  assert_prints(g, "graph \"\" opset 17 {\n"
                   "  sym N\n"
                   "  input %x: f32[N,4]\n"
                   "  const %w: f32[4,4] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "
                   "0.0, 0.0, 0.0, 0.0, 0.0, 0.0]\n"
                   "  %y: f32[N,4] = MatMul(%x, %w) @mm\n"
                   "  %z: f32[N,4] = LeakyRelu(%y) {alpha=0.5}\n"
                   "  output %z\n"
                   "}\n");
  CU_ASSERT_STRING_EQUAL(g->nodes[1].name, "LeakyRelu_1");
  qc_graph_free(g);
}

static void test_dtypes(void)
{
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_I4, 3), 2);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_TERNARY, 5), 2);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_TERNARY, 4), 1);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_CB16, 3), 6);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_F32, 0), 0);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_F32, -1), -1);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_UNDEF, 1), -1);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_F64, QC_MAX_ELEMS + 1), -1);
  CU_ASSERT_EQUAL(qc_dtype_from_name("t2"), QC_DT_TERNARY);
  CU_ASSERT_EQUAL(qc_dtype_from_name("cb8"), QC_DT_CB8);
  CU_ASSERT_EQUAL(qc_dtype_from_name("float"), QC_DT_UNDEF);
  CU_ASSERT_EQUAL(qc_dtype_from_onnx(1), QC_DT_F32);
  CU_ASSERT_EQUAL(qc_dtype_from_onnx(7), QC_DT_I64);
  CU_ASSERT_EQUAL(qc_dtype_from_onnx(16), QC_DT_BF16);
  CU_ASSERT_EQUAL(qc_dtype_from_onnx(0), QC_DT_UNDEF);
  CU_ASSERT_EQUAL(qc_dtype_from_onnx(8), QC_DT_UNDEF); /* ONNX string: not a quantc dtype */
  CU_ASSERT_STRING_EQUAL(qc_dtype_name(QC_DT_I4), "i4");
  int64_t dims[3] = {2, QC_DIM_UNKNOWN, 3}, zero[2] = {0, 5}, big[2] = {1 << 20, 1 << 20};
  CU_ASSERT_EQUAL(qc_shape_elems(3, dims), -1);
  CU_ASSERT_EQUAL(qc_shape_elems(2, zero), 0);
  CU_ASSERT_EQUAL(qc_shape_elems(0, NULL), 1);
  CU_ASSERT_EQUAL(qc_shape_elems(2, big), -1); /* 2^40 elements: above QC_MAX_ELEMS */
  CU_ASSERT_EQUAL(qc_shape_elems(-1, NULL), -1);
}

static void test_attr_defaults(void)
{
  qc_graph *g = parse_ok("graph \"g\" opset 17 {\n"
                         "  input %x: f32[1,1,4,4]\n"
                         "  %a = LeakyRelu(%x)\n"
                         "  %b = Selu(%a) {gamma=2.0}\n"
                         "  %c = MaxPool(%b) {kernel_shape=[2, 2]}\n"
                         "  %d = Cast(%c) {to=7}\n"
                         "  output %d\n"
                         "}\n");
  const qc_node *lr = &g->nodes[0], *se = &g->nodes[1], *mp = &g->nodes[2], *ca = &g->nodes[3];
  CU_ASSERT_EQUAL(qc_attr_f(lr, "alpha", 7.0f), 0.01f);
  CU_ASSERT_EQUAL(qc_attr_f(lr, "nothing", 7.0f), 7.0f);
  CU_ASSERT_EQUAL(qc_attr_f(se, "gamma", 0), 2.0f);
  CU_ASSERT_EQUAL(qc_attr_f(se, "alpha", 0), 1.67326319217681884765625f);
  CU_ASSERT_EQUAL(qc_attr_i(mp, "ceil_mode", 5), 0);
  CU_ASSERT_EQUAL(qc_attr_i(ca, "to", 0), 7);
  const int64_t *ks, *st;
  CU_ASSERT_EQUAL(qc_attr_ints(mp, "kernel_shape", &ks), 2);
  CU_ASSERT_EQUAL(ks[1], 2);
  CU_ASSERT_EQUAL(qc_attr_ints(mp, "strides", &st), -1);
  CU_ASSERT_PTR_NULL(st);
  CU_ASSERT_STRING_EQUAL(qc_attr_s(mp, "auto_pad", "NOTSET"), "NOTSET");
  qc_attr_spec spec;
  CU_ASSERT_TRUE(qc_op_attr_spec(QC_OP_Cast, "to", &spec));
  CU_ASSERT_TRUE(spec.required && spec.kind == QC_ATTR_INT && !spec.has_default);
  CU_ASSERT_TRUE(qc_op_attr_spec(QC_OP_Conv, "auto_pad", &spec));
  CU_ASSERT_TRUE(!spec.required && spec.kind == QC_ATTR_STRING && spec.has_default);
  CU_ASSERT_STRING_EQUAL(spec.dflt, "NOTSET");
  CU_ASSERT_FALSE(qc_op_attr_spec(QC_OP_Relu, "alpha", &spec));
  CU_ASSERT_EQUAL(qc_op_lookup("ai.onnx", "Conv"), QC_OP_Conv);
  CU_ASSERT_EQUAL(qc_op_lookup("com.example", "Conv"), QC_OP_NONE);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"toposort keeps a sorted graph", test_toposort_keeps_sorted},
    {"toposort sorts stably", test_toposort_sorts_stably},
    {"toposort names a node on a cycle", test_toposort_cycle},
    {"clone is deep and prints the same", test_clone},
    {"name lookup over 20000 values", test_hash_many_values},
    {"arena failure injection", test_arena_failure_injection},
    {"dtype table", test_dtypes},
    {"attribute defaults from the schema", test_attr_defaults},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"graph", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
