/* Golden tests of the generic passes: IR text in, IR text out, compared exactly (LLVM's
   FileCheck habit). Constant folding of ops other than Constant/Shape/Size/Identity goes
   through a small i64 evaluator written here, so these tests do not depend on interp/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
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

static void assert_prints(const qc_graph *g, const char *want)
{
  char *s = qc_print(g, true);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  if (strcmp(s, want) != 0) fprintf(stderr, "\n--- got:\n%s--- want:\n%s", s, want);
  CU_ASSERT_STRING_EQUAL(s, want);
  free(s);
}

/* Runs the named built-in passes (ctx for all) with verification after each, then compares
   the printed graph. */
static void check_pipeline(const char *in, const char *const *names, int n, void *ctx,
                           const char *want)
{
  qc_graph *g = parse_ok(in);
  qc_pass rows[8];
  qc_err e = {0};
  for (int i = 0; i < n; i++) CU_ASSERT_EQUAL_FATAL(qc_pass_builtin(names[i], ctx, &rows[i], &e), QC_OK);
  qc_status st = qc_pass_run_pipeline(g, rows, n, true, &e);
  if (st != QC_OK) fprintf(stderr, "\npipeline failed: %s\n", e.msg);
  CU_ASSERT_EQUAL(st, QC_OK);
  assert_prints(g, want);
  qc_graph_free(g);
}

static void expect_pipeline_error(const char *in, const char *const *names, int n, void *ctx,
                                  qc_status code, const char *msg)
{
  qc_graph *g = parse_ok(in);
  qc_pass rows[8];
  qc_err e = {0};
  for (int i = 0; i < n; i++) CU_ASSERT_EQUAL_FATAL(qc_pass_builtin(names[i], ctx, &rows[i], &e), QC_OK);
  CU_ASSERT_EQUAL(qc_pass_run_pipeline(g, rows, n, true, &e), code);
  if (strcmp(e.msg, msg) != 0) fprintf(stderr, "\ngot  \"%s\"\nwant \"%s\"\n", e.msg, msg);
  CU_ASSERT_STRING_EQUAL(e.msg, msg);
  qc_graph_free(g);
}

/* ---- a tiny evaluator for folding: Gather, Unsqueeze, Concat on i64 ---------------------- */

typedef struct {
  int calls;
  bool fail;
} evalctx;

static qc_status eval_i64(void *user, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out, qc_err *e)
{
  evalctx *c = user;
  c->calls++;
  if (c->fail) return qc_node_err(e, n, QC_ERR_INVALID, "index 7 out of range");
  for (int k = 0; k < n_in; k++)
    if (in[k].dtype != QC_DT_I64) return QC_ERR_UNSUPPORTED;
  const int64_t *a = in[0].data;
  int64_t buf[64];
  int64_t len = 0;
  qc_tensor *o = &out[0];
  o->dtype = QC_DT_I64;
  switch (n->op) {
  case QC_OP_Gather: { /* 1-D data, scalar or 1-D indices */
    const int64_t *idx = in[1].data;
    int64_t cnt = qc_tensor_elems(&in[1]);
    for (int64_t i = 0; i < cnt; i++) buf[len++] = a[idx[i] < 0 ? idx[i] + in[0].dims[0] : idx[i]];
    o->rank = in[1].rank;
    if (o->rank) o->dims[0] = cnt;
    break;
  }
  case QC_OP_Unsqueeze: /* of a scalar at axis 0 */
    buf[len++] = a[0];
    o->rank = 1;
    o->dims[0] = 1;
    break;
  case QC_OP_Concat:
    for (int k = 0; k < n_in; k++)
      for (int64_t i = 0; i < qc_tensor_elems(&in[k]); i++) buf[len++] = ((const int64_t *)in[k].data)[i];
    o->rank = 1;
    o->dims[0] = len;
    break;
  default: return QC_ERR_UNSUPPORTED;
  }
  o->data = malloc(sizeof(int64_t) * (size_t)(len ? len : 1));
  if (!o->data) return QC_ERR_NOMEM;
  memcpy(o->data, buf, sizeof(int64_t) * (size_t)len);
  (void)n_out;
  return QC_OK;
}

/* ---- shape inference -------------------------------------------------------------------- */

static const char *const infer[] = {"infer-shapes"};

#define Z40 "0000000000000000000000000000000000000000"

static void test_infer_symbolic_batch(void)
{
  check_pipeline("graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  input %x: f32[N,3,8,8]\n"
                 "  const %w: f32[4,3,1,1] = hex\"000000000000000000000000000000000000000000000000"
                 "000000000000000000000000000000000000000000000000\"\n"
                 "  const %fw: f32[10,4] = hex\"" Z40 Z40 Z40 Z40 Z40 Z40 Z40 Z40 "\"\n"
                 "  const %shape: i64[2] = [0, -1]\n"
                 "  %y = Conv(%x, %w, _) {kernel_shape=[1, 1], strides=[2, 2]} @conv\n"
                 "  %r = Relu(%y) @relu\n"
                 "  %p = GlobalAveragePool(%r) @gap\n"
                 "  %s = Shape(%p) @shape\n"
                 "  %f = Reshape(%p, %shape) @flat\n"
                 "  %o = Gemm(%f, %fw) {transB=1} @fc\n"
                 "  %c = Cast(%o) {to=7} @cast\n"
                 "  output %c\n"
                 "  output %s\n"
                 "}\n",
                 infer, 1, NULL,
                 "graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  input %x: f32[N,3,8,8]\n"
                 "  const %w: f32[4,3,1,1] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "
                 "0.0, 0.0]\n"
                 "  const %fw: f32[10,4] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "
                 "0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "
                 "0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]\n"
                 "  const %shape: i64[2] = [0, -1]\n"
                 "  %y: f32[N,4,4,4] = Conv(%x, %w, _) {kernel_shape=[1, 1], strides=[2, 2]} "
                 "@conv\n"
                 "  %r: f32[N,4,4,4] = Relu(%y) @relu\n"
                 "  %p: f32[N,4,1,1] = GlobalAveragePool(%r) @gap\n"
                 "  %s: i64[4] = Shape(%p) @shape\n"
                 "  %f: f32[N,4] = Reshape(%p, %shape) @flat\n"
                 "  %o: f32[N,10] = Gemm(%f, %fw) {transB=1} @fc\n"
                 "  %c: i64[N,10] = Cast(%o) {to=7} @cast\n"
                 "  output %c\n"
                 "  output %s\n"
                 "}\n");
}

static void test_infer_keeps_declared(void)
{
  /* a declared known dim beats an inferred symbol and flows on; a declared symbol gives way to
     the inferred one; unknown dims are filled */
  check_pipeline("graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  sym M\n"
                 "  input %x: f32[N,3]\n"
                 "  %a: f32[2,?] = Relu(%x) @a\n"
                 "  %b: ?[M,3] = Neg(%a) @b\n"
                 "  %c: ?[*] = Exp(%x) @c\n"
                 "  output %b\n"
                 "  output %c\n"
                 "}\n",
                 infer, 1, NULL,
                 "graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  sym M\n"
                 "  input %x: f32[N,3]\n"
                 "  %a: f32[2,3] = Relu(%x) @a\n"
                 "  %b: f32[2,3] = Neg(%a) @b\n"
                 "  %c: f32[N,3] = Exp(%x) @c\n"
                 "  output %b\n"
                 "  output %c\n"
                 "}\n");
}

static void test_infer_conflicts(void)
{
  expect_pipeline_error("graph \"g\" opset 17 {\n"
                        "  sym N\n"
                        "  input %x: f32[N,3]\n"
                        "  %r: f32[N,5] = Relu(%x) @relu\n"
                        "  output %r\n"
                        "}\n",
                        infer, 1, NULL, QC_ERR_INVALID,
                        "pass 'infer-shapes': value 'r' (output of node 'relu' (Relu)): declared "
                        "f32[N,5], inferred f32[N,3]");
  expect_pipeline_error("graph \"g\" opset 17 {\n"
                        "  input %x: f32[2,3]\n"
                        "  %r: i8[2,3] = Relu(%x) @relu\n"
                        "  output %r\n"
                        "}\n",
                        infer, 1, NULL, QC_ERR_INVALID,
                        "pass 'infer-shapes': value 'r' (output of node 'relu' (Relu)): declared "
                        "i8[2,3], inferred f32[2,3]");
  expect_pipeline_error("graph \"g\" opset 17 {\n"
                        "  input %x: f32[2,3]\n"
                        "  %r: f32[2,3,1] = Relu(%x) @relu\n"
                        "  output %r\n"
                        "}\n",
                        infer, 1, NULL, QC_ERR_INVALID,
                        "pass 'infer-shapes': value 'r' (output of node 'relu' (Relu)): declared "
                        "f32[2,3,1], inferred f32[2,3]");
  /* the op's own inference error passes through, prefixed with the pass */
  qc_graph *g = parse_ok("graph \"g\" opset 17 {\n"
                         "  input %x: f32[2,3]\n"
                         "  input %y: f32[4]\n"
                         "  %r = Add(%x, %y) @add\n"
                         "  output %r\n"
                         "}\n");
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_pass_infer_shapes(g, NULL, &e), QC_ERR_INVALID);
  CU_ASSERT_EQUAL(strncmp(e.msg, "node 'add' (Add): ", 18), 0);
  qc_graph_free(g);
}

/* ---- constant folding ------------------------------------------------------------------- */

static const char *const fold_dce_infer[] = {"fold-constants", "dce", "infer-shapes"};

static const char *flatten_chain(const char *xtype, const char *shape_attrs)
{
  static char buf[1024];
  snprintf(buf, sizeof buf,
           "graph \"g\" opset 17 {\n"
           "  sym N\n"
           "  input %%x: %s\n"
           "  const %%zero: i64[] = [0]\n"
           "  const %%axes: i64[1] = [0]\n"
           "  const %%minus1: i64[1] = [-1]\n"
           "  %%s = Shape(%%x)%s\n"
           "  %%b = Gather(%%s, %%zero) {axis=0}\n"
           "  %%bu = Unsqueeze(%%b, %%axes)\n"
           "  %%shape = Concat(%%bu, %%minus1) {axis=0}\n"
           "  %%y = Reshape(%%x, %%shape)\n"
           "  output %%y\n"
           "}\n",
           xtype, shape_attrs);
  return buf;
}

static void test_fold_shape_chain(void)
{
  evalctx c = {0};
  qc_fold_opts o = {eval_i64, &c, 0};
  /* fold-constants with this ctx; dce and infer-shapes ignore theirs */
  check_pipeline(flatten_chain("f32[2,3,4,4]", ""), fold_dce_infer, 3, &o,
                 "graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  input %x: f32[2,3,4,4]\n"
                 "  const %shape: i64[2] = [2, -1]\n"
                 "  %y: f32[2,48] = Reshape(%x, %shape) @Reshape_4\n"
                 "  output %y\n"
                 "}\n");
  CU_ASSERT_EQUAL(c.calls, 3); /* Gather, Unsqueeze, Concat; not Reshape (input not constant) */
}

static void test_fold_symbolic_stays(void)
{
  evalctx c = {0};
  qc_fold_opts o = {eval_i64, &c, 0};
  const char *in = flatten_chain("f32[N,3,4,4]", "");
  qc_graph *g = parse_ok(in);
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_pass_fold_constants(g, &o, &e), QC_OK);
  assert_prints(g, in);
  CU_ASSERT_EQUAL(c.calls, 0);
  qc_graph_free(g);
  /* a Shape slice that avoids the symbol folds: Shape(x)[1:2] = [3] */
  check_pipeline(flatten_chain("f32[N,3,4,4]", " {start=-3, end=2}"), fold_dce_infer, 3, &o,
                 "graph \"g\" opset 17 {\n"
                 "  sym N\n"
                 "  input %x: f32[N,3,4,4]\n"
                 "  const %shape: i64[2] = [3, -1]\n"
                 "  %y: f32[3,?] = Reshape(%x, %shape) @Reshape_4\n"
                 "  output %y\n"
                 "}\n");
}

static void test_fold_native(void)
{
  /* no callback: Constant, Shape, Size and Identity only */
  const char *const fold[] = {"fold-constants"};
  check_pipeline("graph \"g\" opset 17 {\n"
                 "  input %x: f32[2,?]\n"
                 "  %c1 = Constant() {value=f32[2] [1.5, -2.0]} @c1\n"
                 "  %c2 = Constant() {value_ints=[1, 2, 3]} @c2\n"
                 "  %c3 = Constant() {value_float=0.25} @c3\n"
                 "  %c4 = Constant() {value_int=-7} @c4\n"
                 "  %c5 = Constant() {value_floats=floats[]} @c5\n"
                 "  %i = Identity(%c2) @i\n"
                 "  %n = Size(%i) @n\n"
                 "  %sx = Shape(%x) @sx\n"
                 "  %nx = Size(%x) @nx\n"
                 "  %s0 = Shape(%x) {end=1} @s0\n"
                 "  %a = Add(%c1, %c1) @a\n"
                 "  output %c1\n"
                 "  output %c3\n"
                 "  output %c4\n"
                 "  output %c5\n"
                 "  output %n\n"
                 "  output %sx\n"
                 "  output %nx\n"
                 "  output %s0\n"
                 "  output %a\n"
                 "}\n",
                 fold, 1, NULL,
                 "graph \"g\" opset 17 {\n"
                 "  input %x: f32[2,?]\n"
                 "  const %c1: f32[2] = [1.5, -2.0]\n"
                 "  const %c3: f32[] = [0.25]\n"
                 "  const %c4: i64[] = [-7]\n"
                 "  const %c5: f32[0] = []\n"
                 "  const %n: i64[] = [3]\n"
                 "  const %s0: i64[1] = [2]\n"
                 "  %sx = Shape(%x) @sx\n"
                 "  %nx = Size(%x) @nx\n"
                 "  %a = Add(%c1, %c1) @a\n"
                 "  output %c1\n"
                 "  output %c3\n"
                 "  output %c4\n"
                 "  output %c5\n"
                 "  output %n\n"
                 "  output %sx\n"
                 "  output %nx\n"
                 "  output %s0\n"
                 "  output %a\n"
                 "}\n");
}

static void test_fold_limits_and_errors(void)
{
  const char *in = "graph \"g\" opset 17 {\n"
                   "  %c = Constant() {value=f32[4] [1.0, 2.0, 3.0, 4.0]} @c\n"
                   "  %d = Constant() {value=f32[2] [1.0, 2.0]} @d\n"
                   "  output %c\n"
                   "  output %d\n"
                   "}\n";
  qc_graph *g = parse_ok(in);
  qc_err e = {0};
  qc_fold_opts small = {NULL, NULL, 8}; /* 16-byte c stays a node, 8-byte d folds */
  CU_ASSERT_EQUAL(qc_pass_fold_constants(g, &small, &e), QC_OK);
  assert_prints(g, "graph \"g\" opset 17 {\n"
                   "  const %d: f32[2] = [1.0, 2.0]\n"
                   "  %c = Constant() {value=f32[4] [1.0, 2.0, 3.0, 4.0]} @c\n"
                   "  output %c\n"
                   "  output %d\n"
                   "}\n");
  qc_graph_free(g);

  /* the callback's error stops the pass and names the node */
  evalctx c = {0, true};
  qc_fold_opts o = {eval_i64, &c, 0};
  const char *const fold[] = {"fold-constants"};
  expect_pipeline_error(flatten_chain("f32[2,3,4,4]", ""), fold, 1, &o, QC_ERR_INVALID,
                        "pass 'fold-constants': node 'Gather_1' (Gather): index 7 out of range");

  /* a Constant with two value attributes is an error, not a guess */
  g = parse_ok("graph \"g\" opset 17 {\n"
               "  %c = Constant() {value_int=1, value_float=2.0} @c\n"
               "  output %c\n"
               "}\n");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_pass_fold_constants(g, NULL, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'c' (Constant): needs exactly one value attribute, has 2");
  qc_graph_free(g);
}

/* ---- cleanup ---------------------------------------------------------------------------- */

static void test_dce(void)
{
  const char *const dce[] = {"dce"};
  check_pipeline("graph \"g\" opset 17 {\n"
                 "  input %x: f32[2]\n"
                 "  const %k: f32[2] = [1.0, 2.0]\n"
                 "  const %unused: f32[1] = [9.0]\n"
                 "  %a = Relu(%x) @a\n"
                 "  %dead1 = Mul(%x, %k) @dead1\n"
                 "  %dead2 = Exp(%dead1) @dead2\n"
                 "  %m1, %m2 = Split(%a) @split\n"
                 "  %b = Sigmoid(%m2) @b\n"
                 "  output %b\n"
                 "}\n",
                 dce, 1, NULL,
                 "graph \"g\" opset 17 {\n"
                 "  input %x: f32[2]\n"
                 "  %a = Relu(%x) @a\n"
                 "  %m1, %m2 = Split(%a) @split\n"
                 "  %b = Sigmoid(%m2) @b\n"
                 "  output %b\n"
                 "}\n");
}

static void test_eliminate_identity(void)
{
  const char *const elim[] = {"eliminate-identity"};
  check_pipeline("graph \"g\" opset 17 {\n"
                 "  input %x: f32[2]\n"
                 "  const %yes: bool[] = [1]\n"
                 "  const %no: bool[] = [0]\n"
                 "  %a = Relu(%x) @a\n"
                 "  %i1: f32[2] = Identity(%a) @i1\n"
                 "  %d = Dropout(%i1, _, %no) @d\n"
                 "  %b = Sigmoid(%d) @b\n"
                 "  %out = Identity(%b) @i2\n"
                 "  %out2 = Identity(%x) @i3\n"
                 "  %t = Dropout(%b, _, %yes) @train\n"
                 "  %mo, %mask = Dropout(%b) @masked\n"
                 "  output %out\n"
                 "  output %out2\n"
                 "  output %t\n"
                 "  output %mask\n"
                 "}\n",
                 elim, 1, NULL,
                 "graph \"g\" opset 17 {\n"
                 "  input %x: f32[2]\n"
                 "  const %yes: bool[] = [1]\n"
                 "  %a: f32[2] = Relu(%x) @a\n"
                 "  %out = Sigmoid(%a) @b\n"
                 "  %out2 = Identity(%x) @i3\n"
                 "  %t = Dropout(%out, _, %yes) @train\n"
                 "  %mo, %mask = Dropout(%out) @masked\n"
                 "  output %out\n"
                 "  output %out2\n"
                 "  output %t\n"
                 "  output %mask\n"
                 "}\n");
}

static void test_prune_values(void)
{
  qc_graph *g = parse_ok("graph \"g\" opset 17 {\n"
                         "  input %x: f32[2]\n"
                         "  const %cb: f32[4] = [0.0, 1.0, 2.0, 3.0]\n"
                         "  const %w: cb8[2] q(bits=2, axis=-1, scale=[1.0], zp=[0], "
                         "codebook=%cb) = [1, 3]\n"
                         "  const %big: f32[3] = [1.0, 2.0, 3.0]\n"
                         "  %a = Add(%x, %w) @a\n"
                         "  %dead = Add(%x, %big) @dead\n"
                         "  output %a\n"
                         "}\n");
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_pass_dce(g, &e), QC_OK);
  CU_ASSERT_EQUAL(g->n_values, 6);
  char *before = qc_print(g, true);
  qc_graph *self = g;
  CU_ASSERT_EQUAL(qc_pass_prune_values(g, &e), QC_OK);
  CU_ASSERT_PTR_EQUAL(g, self);
  CU_ASSERT_EQUAL(g->n_values, 4); /* big and dead are gone; the codebook stays */
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_OK);
  assert_prints(g, before);
  int32_t w = qc_graph_find_value(g, "w");
  CU_ASSERT_EQUAL(g->values[w].q->codebook, qc_graph_find_value(g, "cb"));
  CU_ASSERT_EQUAL(qc_graph_find_value(g, "big"), -1);
  free(before);
  qc_graph_free(g);
}

/* ---- the pass manager ------------------------------------------------------------------- */

static qc_status break_graph(qc_graph *g, void *ctx, qc_err *e)
{
  g->nodes[0].in[0] = g->n_values - 1; /* its own output */
  return QC_OK;
}

static qc_status fail_pass(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "no can do");
}

static void test_pipeline(void)
{
  const char *text = "graph \"g\" opset 17 {\n"
                     "  input %x: f32[2]\n"
                     "  %y = Relu(%x) @r\n"
                     "  output %y\n"
                     "}\n";
  qc_graph *g = parse_ok(text);
  qc_err e = {0};
  qc_pass rows[3];
  CU_ASSERT_EQUAL(qc_pass_builtin("dce", NULL, &rows[0], &e), QC_OK);
  rows[1] = (qc_pass){"breaker", break_graph, NULL};
  rows[2] = (qc_pass){"never", fail_pass, NULL};
  CU_ASSERT_EQUAL(qc_pass_run_pipeline(g, rows, 3, true, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "graph invalid after pass 'breaker': node 'r' (Relu): input 'y' "
                                "is its own output (a cycle)");
  qc_graph_free(g);

  g = parse_ok(text);
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_pass_run_pipeline(g, rows + 2, 1, true, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "pass 'never': no can do");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_pass_run_pipeline(g, rows + 1, 1, false, &e), QC_OK); /* unverified */
  CU_ASSERT_EQUAL(qc_pass_run_pipeline(g, rows, 1, true, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "graph invalid before the first pass: node 'r' (Relu): input 'y' "
                                "is its own output (a cycle)");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_pass_builtin("constant-fold", NULL, &rows[0], &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "unknown pass 'constant-fold'");
}

static CU_TestInfo tests[] = {
    {"shape inference with a symbolic batch", test_infer_symbolic_batch},
    {"shape inference keeps declared shapes", test_infer_keeps_declared},
    {"shape inference conflicts name the value", test_infer_conflicts},
    {"folding Shape->Gather->Unsqueeze->Concat->Reshape", test_fold_shape_chain},
    {"folding stops at symbols", test_fold_symbolic_stays},
    {"folding Constant, Shape, Size, Identity natively", test_fold_native},
    {"folding size limit and errors", test_fold_limits_and_errors},
    {"dce removes a dead branch", test_dce},
    {"identity and dropout elimination", test_eliminate_identity},
    {"pruning values renumbers and frees", test_prune_values},
    {"pipeline names the pass", test_pipeline},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"passes", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
