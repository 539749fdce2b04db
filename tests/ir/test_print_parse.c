/* IR text: printer and parser. Canonical text round-trips byte for byte; every dtype and
   attribute kind; exact floats; error messages with line:column; fuzzed text never crashes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "testutil.h"

/* Canonical text (what qc_print emits) using every dtype, attribute kind, optional inputs and
   outputs, symbols, unknown dims/rank/dtype, qparams, quoted names and node names. */
static const char *canon =
    "graph \"every kind\" opset 17 {\n"
    "  sym N\n"
    "  sym \"seq len\"\n"
    "  input %x: f32[N,3,8,8]\n"
    "  input %\"odd name/0:x\"\n"
    "  input %idx: i64[\"seq len\",?]\n"
    "  input %u: ?[2,?]\n"
    "  input %k: f32[*] q(bits=8, axis=-1, scale=[0.5], zp=[-3])\n"
    "  input %init: f32[2] = [0.5, 1e-45]\n"
    "  const %w: f32[4,3,3,3] q(bits=4, axis=0, scale=[0.25, 0.5, 0.125, 1.0], zp=[0, 0, 0, 0], mult=[1073741824, 1, 2, 3], shift=[31, 30, 0, -1]) = ...\n"
    "  const %c_f32: f32[3] = [1.0, -0.0, 3.4028235e+38]\n"
    "  const %c_u8: u8[2] = [0, 255]\n"
    "  const %c_i8: i8[2] = [-128, 127]\n"
    "  const %c_u16: u16[2] = [0, 65535]\n"
    "  const %c_i16: i16[2] = [-32768, 32767]\n"
    "  const %c_i32: i32[2] = [-2147483648, 2147483647]\n"
    "  const %c_i64: i64[2] = [-9223372036854775808, 9223372036854775807]\n"
    "  const %c_bool: bool[2] = [0, 1]\n"
    "  const %c_f16: f16[3] = [1.5, -65504.0, 5.9604645e-08]\n"
    "  const %c_f64: f64[2] = [0.1, -1e-300]\n"
    "  const %c_u32: u32[1] = [4294967295]\n"
    "  const %c_u64: u64[1] = [18446744073709551615]\n"
    "  const %c_bf16: bf16[2] = [1.0, -3.015625]\n"
    "  const %c_i4: i4[3] = hex\"f701\"\n"
    "  const %c_u4: u4[1] = hex\"0f\"\n"
    "  const %c_t2: t2[5] = hex\"2401\"\n"
    "  const %cb: f32[4,2] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]\n"
    "  const %c_cb8: cb8[2] q(bits=2, axis=-1, scale=[1.0], zp=[0], codebook=%cb) = [3, 0]\n"
    "  const %c_cb16: cb16[1] q(bits=16, axis=-1, scale=[1.0], zp=[0], codebook=%cb) = [65535]\n"
    "  const %empty: f32[0,3] = []\n"
    "  const %scalar: f64[] = [2.5]\n"
    "  value %undefined: f32[2]\n"
    "  %y: f32[N,4,6,6] = Conv(%x, %w, _) {kernel_shape=[3, 3], pads=[0, 0, 0, 0], strides=[1, 1], auto_pad=\"NOTSET\", group=1} @\"conv 1\"\n"
    "  %z, _ = Dropout(%y, _, _) {seed=-7}\n"
    "  %c1: f32[2,2] = Constant() {value=f32[2,2] [1.5, 2.5, inf, -inf]}\n"
    "  %c2 = Constant() {value_floats=[1.0, 0.1, 1e-05, -2.5e+30, nan]}\n"
    "  %c3 = Constant() {value_strings=[\"a\", \"q\\\"\\\\\\n\\t\\x01\\x7f\", \"ünï\"]}\n"
    "  %c4 = Constant() {value_ints=[]}\n"
    "  %c5 = Constant() {value_floats=floats[]}\n"
    "  %c6 = Constant() {value_strings=strings[]}\n"
    "  %c7 = Constant() {value_float=0.2, value_int=-1, value_string=\"\", sparse_value=<sparse_tensor>}\n"
    "  %c8 = Constant() {value=i4[3] hex\"f701\"}\n"
    "  %c9 = Constant() {value=<graph>, value_ints=<graphs>, value_float=<type_proto>, value_int=<type_protos>, value_string=<sparse_tensors>}\n"
    "  %c10 = Constant() {\"odd attr\"=tensors[], value=[i64[] [1], u8[0] []]}\n"
    "  %s: f32[N,4,6,6] = Add(%z, %undefined) @Add_9\n"
    "  () = Shape(%s)\n"
    "  %m1, %m2: u8[*] = Split(%s)\n"
    "  %q: i8[N,4,6,6] q(bits=8, axis=1, scale=[0.1, 0.2, 0.3, 0.4], zp=[0, 1, 2, 3]) = QuantizeLinear(%s, %c_f32)\n"
    "  output %q\n"
    "  output %c_u8\n"
    "  output %c_i8\n"
    "  output %c_u16\n"
    "  output %c_i16\n"
    "  output %c_i32\n"
    "  output %c_i64\n"
    "  output %c_bool\n"
    "  output %c_f16\n"
    "  output %c_f64\n"
    "  output %c_u32\n"
    "  output %c_u64\n"
    "  output %c_bf16\n"
    "  output %c_i4\n"
    "  output %c_u4\n"
    "  output %c_t2\n"
    "  output %c_cb8\n"
    "  output %c_cb16\n"
    "  output %empty\n"
    "  output %scalar\n"
    "  output %\"odd name/0:x\"\n"
    "  output %idx\n"
    "  output %u\n"
    "  output %k\n"
    "  output %c1\n"
    "  output %c2\n"
    "  output %c3\n"
    "  output %c4\n"
    "  output %c5\n"
    "  output %c6\n"
    "  output %c7\n"
    "  output %c8\n"
    "  output %c9\n"
    "  output %c10\n"
    "  output %m1\n"
    "  output %m2\n"
    "}\n";

static qc_graph *parse_ok(const char *text)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_parse(text, &g, &e);
  if (st != QC_OK) fprintf(stderr, "parse failed: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  return g;
}

static void assert_prints(const qc_graph *g, bool with_data, const char *want)
{
  char *s = qc_print(g, with_data);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  if (strcmp(s, want) != 0) fprintf(stderr, "\n--- got:\n%s--- want:\n%s", s, want);
  CU_ASSERT_STRING_EQUAL(s, want);
  free(s);
}

static void test_canonical_roundtrip(void)
{
  qc_graph *g = parse_ok(canon);
  assert_prints(g, true, canon);
  /* without data every constant and tensor attribute is "...", and that text is a fixed point */
  char *bare = qc_print(g, false);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bare);
  CU_ASSERT_PTR_NOT_NULL(strstr(bare, "  const %c_u8: u8[2] = ...\n"));
  CU_ASSERT_PTR_NOT_NULL(strstr(bare, "{value=f32[2,2] ...}"));
  CU_ASSERT_PTR_NULL(strstr(bare, "hex"));
  qc_graph *b = parse_ok(bare);
  assert_prints(b, true, bare);
  qc_graph_free(b);
  free(bare);
  /* spot-check what the text means */
  int32_t w = qc_graph_find_value(g, "w");
  CU_ASSERT_TRUE(w >= 0 && (g->values[w].flags & QC_VAL_CONST) && !g->values[w].data);
  const qc_qparams *q = g->values[w].q;
  CU_ASSERT_TRUE(q && q->n == 4 && q->axis == 0 && q->bits == 4 && q->scale[2] == 0.125f &&
                 q->mult[0] == 1073741824 && q->shift[3] == -1 && q->codebook == -1);
  int32_t cb8 = qc_graph_find_value(g, "c_cb8"), cb = qc_graph_find_value(g, "cb");
  CU_ASSERT_EQUAL(g->values[cb8].q->codebook, cb);
  int32_t init = qc_graph_find_value(g, "init");
  CU_ASSERT_EQUAL(g->values[init].flags, QC_VAL_INPUT | QC_VAL_CONST);
  CU_ASSERT_EQUAL(((const float *)g->values[init].data)[1], 1e-45f); /* subnormal, exact */
  CU_ASSERT_EQUAL(g->n_inputs, 6);
  int32_t idx = qc_graph_find_value(g, "idx");
  CU_ASSERT_EQUAL(g->values[idx].dims[0], QC_DIM_SYM(1));
  CU_ASSERT_EQUAL(g->values[idx].dims[1], QC_DIM_UNKNOWN);
  int32_t odd = qc_graph_find_value(g, "odd name/0:x");
  CU_ASSERT_TRUE(odd >= 0 && g->values[odd].rank == -1 && g->values[odd].dtype == QC_DT_UNDEF);
  const qc_value *f16 = &g->values[qc_graph_find_value(g, "c_f16")];
  CU_ASSERT_EQUAL(((const uint16_t *)f16->data)[0], 0x3e00);
  CU_ASSERT_EQUAL(((const uint16_t *)f16->data)[1], 0xfbff);
  CU_ASSERT_EQUAL(((const uint16_t *)f16->data)[2], 0x0001);
  const qc_value *bf = &g->values[qc_graph_find_value(g, "c_bf16")];
  CU_ASSERT_EQUAL(((const uint16_t *)bf->data)[1], 0xc041);
  const qc_value *i64 = &g->values[qc_graph_find_value(g, "c_i64")];
  CU_ASSERT_EQUAL(((const int64_t *)i64->data)[0], INT64_MIN);
  CU_ASSERT_STRING_EQUAL(g->nodes[0].name, "conv 1");
  CU_ASSERT_EQUAL(g->nodes[1].n_in, 3);
  CU_ASSERT_EQUAL(g->nodes[1].in[1], -1);
  CU_ASSERT_EQUAL(g->nodes[1].out[1], -1);
  const qc_node *c3 = &g->nodes[4];
  CU_ASSERT_EQUAL(c3->attrs[0].kind, QC_ATTR_STRINGS);
  CU_ASSERT_EQUAL(c3->attrs[0].n, 3);
  CU_ASSERT_STRING_EQUAL(c3->attrs[0].strings[1], "q\"\\\n\t\x01\x7f");
  const qc_node *c7 = &g->nodes[8];
  CU_ASSERT_EQUAL(c7->attrs[0].kind, QC_ATTR_FLOAT);
  CU_ASSERT_EQUAL(c7->attrs[0].f, 0.2f);
  CU_ASSERT_EQUAL(c7->attrs[2].kind, QC_ATTR_STRING);
  CU_ASSERT_EQUAL(c7->attrs[2].s_len, 0);
  CU_ASSERT_EQUAL(c7->attrs[3].kind, QC_ATTR_SPARSE_TENSOR);
  const qc_node *sh = &g->nodes[13];
  CU_ASSERT_EQUAL(sh->op, QC_OP_Shape);
  CU_ASSERT_EQUAL(sh->n_out, 0);
  CU_ASSERT_STRING_EQUAL(sh->name, "Shape_13");
  qc_graph_free(g);
}

/* Graph built through the API: parse(print(g)) has the same structure, compared field by
   field by name (value ids may differ), data byte for byte. */
static void assert_same_graph(const qc_graph *a, qc_graph *b)
{
  CU_ASSERT_STRING_EQUAL(a->name, b->name);
  CU_ASSERT_EQUAL(a->opset, b->opset);
  CU_ASSERT_EQUAL_FATAL(a->n_syms, b->n_syms);
  for (int32_t i = 0; i < a->n_syms; i++) CU_ASSERT_STRING_EQUAL(a->syms[i], b->syms[i]);
  CU_ASSERT_EQUAL_FATAL(a->n_nodes, b->n_nodes);
  CU_ASSERT_EQUAL_FATAL(a->n_inputs, b->n_inputs);
  CU_ASSERT_EQUAL_FATAL(a->n_outputs, b->n_outputs);
  for (int32_t v = 0; v < a->n_values; v++) {
    const qc_value *x = &a->values[v];
    int32_t id = qc_graph_find_value(b, x->name);
    CU_ASSERT_TRUE_FATAL(id >= 0);
    const qc_value *y = &b->values[id];
    CU_ASSERT_EQUAL(x->dtype, y->dtype);
    CU_ASSERT_EQUAL(x->rank, y->rank);
    for (int i = 0; i < x->rank; i++) CU_ASSERT_EQUAL(x->dims[i], y->dims[i]);
    CU_ASSERT_EQUAL(x->flags, y->flags);
    CU_ASSERT_EQUAL(x->producer, y->producer);
    if (x->data) {
      int64_t bytes = qc_dtype_bytes(x->dtype, qc_shape_elems(x->rank, x->dims));
      CU_ASSERT_TRUE_FATAL(y->data != NULL);
      CU_ASSERT_EQUAL(memcmp(x->data, y->data, (size_t)bytes), 0);
    }
    CU_ASSERT_EQUAL(!x->q, !y->q);
  }
  for (int32_t i = 0; i < a->n_nodes; i++) {
    const qc_node *m = &a->nodes[i], *n = &b->nodes[i];
    CU_ASSERT_EQUAL(m->op, n->op);
    CU_ASSERT_STRING_EQUAL(m->name, n->name);
    CU_ASSERT_EQUAL_FATAL(m->n_in, n->n_in);
    CU_ASSERT_EQUAL_FATAL(m->n_out, n->n_out);
    for (int32_t k = 0; k < m->n_in; k++)
      CU_ASSERT_TRUE(m->in[k] < 0 ? n->in[k] < 0
                                  : strcmp(a->values[m->in[k]].name, b->values[n->in[k]].name) == 0);
    CU_ASSERT_EQUAL_FATAL(m->n_attrs, n->n_attrs);
    for (int32_t k = 0; k < m->n_attrs; k++) {
      CU_ASSERT_STRING_EQUAL(m->attrs[k].name, n->attrs[k].name);
      CU_ASSERT_EQUAL(m->attrs[k].kind, n->attrs[k].kind);
      CU_ASSERT_EQUAL(m->attrs[k].n, n->attrs[k].n);
    }
  }
}

static uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_api_graph_roundtrip(void)
{
  qc_graph *g = qc_graph_new();
  qc_err e = {0};
  g->name = "api \"graph\"";
  int32_t n_sym = qc_graph_add_sym(g, "N", &e);
  int64_t xd[4] = {QC_DIM_SYM(n_sym), 3, 5, QC_DIM_UNKNOWN};
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 4, xd, &e);
  /* 200 random float bit patterns (NaN payloads included): printed as hex, exact */
  uint32_t bits[200];
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < 200; i++) bits[i] = (uint32_t)rng_next(&s);
  bits[0] = 0x7fc00001; /* a NaN with a payload */
  int64_t wd[2] = {10, 20};
  int32_t w = qc_graph_add_const(g, "w", QC_DT_F32, 2, wd, bits, &e);
  /* small float list: shortest decimals that read back exactly */
  float small[8];
  for (int i = 0; i < 8; i++) {
    uint32_t b = (uint32_t)rng_next(&s) & 0x7f7fffffu; /* finite */
    memcpy(&small[i], &b, 4);
  }
  int64_t sd[1] = {8};
  int32_t sm = qc_graph_add_const(g, "small", QC_DT_F32, 1, sd, small, &e);
  int32_t y = qc_graph_add_value(g, NULL, QC_DT_UNDEF, -1, NULL, &e); /* fresh name "%3" */
  int32_t in[2] = {x, sm};
  int32_t node = qc_graph_add_node(g, QC_OP_Mul, NULL, 2, in, 1, &y, &e);
  qc_attr *a = qc_node_add_attr(g, node, "weird", QC_ATTR_FLOATS, &e);
  a->n = 8;
  a->floats = small;
  int32_t z = qc_graph_add_value(g, "z", QC_DT_F32, -1, NULL, &e);
  int32_t in2[2] = {y, w};
  qc_graph_add_node(g, QC_OP_MatMul, "mm", 2, in2, 1, &z, &e);
  CU_ASSERT_EQUAL_FATAL(e.code, QC_OK);
  qc_graph_set_inputs(g, 1, &x, &e);
  qc_graph_set_outputs(g, 1, &z, &e);
  char *text = qc_print(g, true);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "%\"%3\" = Mul(%x, %small) {weird=["));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "const %w: f32[10,20] = hex\"0100c07f"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "graph \"api \\\"graph\\\"\" opset 17 {"));
  qc_graph *h = parse_ok(text);
  assert_same_graph(g, h);
  const float *hs = h->values[qc_graph_find_value(h, "small")].data;
  CU_ASSERT_EQUAL(memcmp(hs, small, sizeof small), 0);
  CU_ASSERT_EQUAL(memcmp(h->nodes[0].attrs[0].floats, small, sizeof small), 0);
  assert_prints(h, true, text);
  free(text);
  qc_graph_free(h);
  g->name = "";
  qc_graph_free(g);
}

/* Without data, constants print as "...": such text parses (structure, shapes), but the
   constants have no contents and the verifier says so. */
static void test_elided_data(void)
{
  const char *text = "graph \"g\" opset 17 {\n"
                     "  input %x: f32[2]\n"
                     "  const %w: f32[2] = [1.0, 2.0]\n"
                     "  %y: f32[2] = Add(%x, %w)\n"
                     "  output %y\n"
                     "}\n";
  qc_graph *g = parse_ok(text);
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_OK);
  char *elided = qc_print(g, false);
  CU_ASSERT_PTR_NOT_NULL_FATAL(elided);
  CU_ASSERT_PTR_NOT_NULL(strstr(elided, "  const %w: f32[2] = ...\n"));
  qc_graph *h = parse_ok(elided);
  assert_prints(h, true, elided);
  CU_ASSERT_EQUAL(qc_verify(h, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "constant 'w' has no data");
  free(elided);
  qc_graph_free(g);
  qc_graph_free(h);
}

/* Values may be used before their definition; the parser resolves names at the end and
   leaves order to the verifier. */
static void test_forward_reference(void)
{
  const char *text = "graph \"g\" opset 17 {\n"
                     "  input %x: f32[2]\n"
                     "  %z = Relu(%y) @second\n"
                     "  %y = Relu(%x) @first\n"
                     "  output %z\n"
                     "}\n";
  qc_graph *g = parse_ok(text);
  CU_ASSERT_EQUAL(g->nodes[0].in[0], qc_graph_find_value(g, "y"));
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'second' (Relu): input 'y' is used before node 'first' "
                                "(Relu) defines it (nodes are not in topological order)");
  qc_graph_free(g);
}

static void test_parse_errors(void)
{
  static const struct {
    const char *text, *msg;
  } cases[] = {
      {"graph \"g\" opset 17 {\n  input %x: f32[2,3\n}\n", "ir text 3:1: expected ']'"},
      {"graph \"g\" opset 17 {\n  input %x: f33[2]\n}\n", "ir text 2:13: unknown dtype 'f33'"},
      {"graph \"g\" opset 17 {\n  input %x: f32[M]\n}\n",
       "ir text 2:17: unknown dimension symbol 'M'"},
      {"graph \"g\" opset 17 {\n  input %x: f32[1]\n  %y = Reluu(%x)\n}\n",
       "ir text 3:8: unknown op 'Reluu'"},
      {"graph \"g\" opset 17 {\n  input %x: f32[1]\n  %y = Relu(%nope)\n  output %y\n}\n",
       "ir text 3:13: undefined value 'nope'"},
      {"graph \"g\" opset 17 {\n  output %y\n}\n", "ir text 2:10: undefined value 'y'"},
      {"graph \"g\" opset 17 {\n  input %x: f32[1]\n  input %x: f32[1]\n}\n",
       "ir text 3:9: value 'x' is defined twice"},
      {"graph \"g\" opset 17 {\n  input %x: f32[1]\n  %x = Relu(%x)\n}\n",
       "ir text 3:3: value 'x' is defined twice"},
      {"graph \"g", "ir text 1:7: unterminated string"},
      {"graph \"g\" opset 17 {\n", "ir text 2:1: expected '}'"},
      {"graph \"g\" opset 17 {\n}\nx", "ir text 3:1: expected the end of the text"},
      {"graph \"g\" opset 17 {\n  $\n}\n", "ir text 2:3: unexpected character '$'"},
      {"graph \"g\" opset 17 {\n  const %c: i64[3] = [1, 2]\n}\n",
       "ir text 2:22: constant 'c' has 2 values for 3 elements"},
      {"graph \"g\" opset 17 {\n  const %c: i64[1] = [1, 2]\n}\n",
       "ir text 2:22: constant 'c' has more than 1 values"},
      {"graph \"g\" opset 17 {\n  const %c: i8[1] = [200]\n}\n",
       "ir text 2:22: 200 out of range for i8"},
      {"graph \"g\" opset 17 {\n  const %c: u8[2] = hex\"0f\"\n}\n",
       "ir text 2:24: constant 'c' needs 2 bytes of data, found 2 hex digits"},
      {"graph \"g\" opset 17 {\n  const %c: i4[2] = [1, 2]\n}\n",
       "ir text 2:21: constant 'c' data must be hex\"...\" for dtype i4"},
      {"graph \"g\" opset 17 {\n  const %c = [1]\n}\n",
       "ir text 2:9: constant 'c' needs a dtype and a fully known shape"},
      {"graph \"g\" opset 17 {\n  const %c: f32[?] = [1]\n}\n",
       "ir text 2:9: constant 'c' needs a dtype and a fully known shape"},
      {"graph \"g\" opset 17 {\n  input %x: i8[1] q(bits=8)\n}\n",
       "ir text 2:19: qparams need a scale"},
      {"graph \"g\" opset 17 {\n  input %x: i8[1] q(scale=[1.0], zp=[0, 0])\n}\n",
       "ir text 2:19: qparams have 1 scales but 2 zero points"},
      {"graph \"g\" opset 17 {\n  input %x: i8[1] q(scale=[1.0], bogus=1)\n}\n",
       "ir text 2:34: unknown qparams field 'bogus'"},
      {"graph \"g\" opset 17 {\n  input %x: f32[1,1,1,1,1,1,1,1,1]\n}\n",
       "ir text 2:33: rank above 8"},
      {"graph \"g\" opset 17 {\n  input %x: f32[12abc]\n}\n", "ir text 2:17: malformed number"},
      {"graph \"g\" opset 17 {\n  input %x: f32[99999999999999999999]\n}\n",
       "ir text 2:17: integer out of range"},
      {"graph \"g\" opset 17 {\n  %y = Relu(%x) {alpha=}\n}\n",
       "ir text 2:24: expected an attribute value"},
      {"graph \"g\" opset 17 {\n  %y = Relu(%x) {a=1 b=2}\n}\n", "ir text 2:22: expected '}'"},
      {"graph \"g\" opset 17 {\n  %y = Relu(%x %z)\n}\n", "ir text 2:16: expected ')'"},
      {"graph \"g\" opset 17 {\n  %y = Constant() {value=f32[?] [1.0]}\n}\n",
       "ir text 2:30: expected a dimension"},
      {"graph \"g\" opset 17 {\n  %y = Constant() {value=f32[2] [1.0]}\n}\n",
       "ir text 2:33: attribute 'value' has 1 values for 2 elements"},
      {"graph \"g\" opset 17 {\n  %y = Relu(%x) {s=\"a\\qb\"}\n}\n",
       "ir text 2:22: unknown escape in string"},
      {"graph \"g\" opset 17 {\n  sym N\n  sym N\n}\n", "ir text 3:7: symbol 'N' declared twice"},
      {"graph \"g\" opset 17 {\n  input x\n}\n", "ir text 2:9: expected a value name"},
      {"graph \"g\" opset 17 {\n  42\n}\n", "ir text 2:3: expected a statement"},
      {"graph \"g\" opset x {\n}\n", "ir text 1:17: expected an integer"},
      {"", "ir text 1:1: expected 'graph'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qc_graph *g = (qc_graph *)1;
    qc_err e = {0};
    qc_status st = qc_parse(cases[i].text, &g, &e);
    CU_ASSERT_EQUAL(st, QC_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(g);
    if (strcmp(e.msg, cases[i].msg) != 0)
      fprintf(stderr, "\ncase %zu: got \"%s\"\n         want \"%s\"\n", i, e.msg, cases[i].msg);
    CU_ASSERT_STRING_EQUAL(e.msg, cases[i].msg);
  }
}

/* Random mutations of the canonical text: the parser returns an error or a graph, never
   crashes (run under -fsanitize=address,undefined to check memory too); a graph that parses
   prints to a fixed point, and the verifier accepts or rejects it without crashing. */
static void test_fuzz_mutations(void)
{
  static const char *tokens[] = {"[", "]", "(", ")", "{", "}", ",", ":", "=", "%", "@", "\"",
                                 "...", "?", "*", "-", "_", "q(", "hex\"", "1e999", "-inf",
                                 "f32", "i4", "cb8", "99999999999", "\\x", "#", "\n", "<", ">",
                                 "N", "0", "-1", "Conv", "value=", "output %"};
  size_t len = strlen(canon);
  char *buf = malloc(len * 2 + 64);
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  uint64_t s = 0x9e3779b97f4a7c15ull;
  int parsed = 0;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(buf, canon, len + 1);
    size_t n = len;
    int muts = 1 + (int)(rng_next(&s) % 4);
    for (int m = 0; m < muts; m++) {
      size_t pos = (size_t)(rng_next(&s) % (n + 1));
      switch (rng_next(&s) % 5) {
      case 0: /* flip a byte */
        if (pos < n) buf[pos] = (char)(rng_next(&s) % 255 + 1);
        break;
      case 1: { /* delete a span */
        size_t del = (size_t)(rng_next(&s) % 8);
        if (pos + del > n) del = n - pos;
        memmove(buf + pos, buf + pos + del, n - pos - del + 1);
        n -= del;
        break;
      }
      case 2: { /* insert a token */
        const char *t = tokens[rng_next(&s) % (sizeof tokens / sizeof tokens[0])];
        size_t tl = strlen(t);
        if (n + tl < len * 2 + 32) {
          memmove(buf + pos + tl, buf + pos, n - pos + 1);
          memcpy(buf + pos, t, tl);
          n += tl;
        }
        break;
      }
      case 3: /* truncate */
        buf[pos] = 0;
        n = pos;
        break;
      default: /* duplicate a line's worth */
        if (pos < n && n + 40 < len * 2 + 32) {
          size_t cl = n - pos < 40 ? n - pos : 40;
          memmove(buf + pos + cl, buf + pos, n - pos + 1);
          n += cl;
        }
        break;
      }
    }
    qc_graph *g = NULL;
    qc_err e = {0};
    qc_status st = qc_parse(buf, &g, &e);
    if (st != QC_OK) {
      CU_ASSERT_TRUE(st == QC_ERR_FORMAT || st == QC_ERR_INVALID || st == QC_ERR_UNSUPPORTED);
      CU_ASSERT_TRUE(strncmp(e.msg, "ir text ", 8) == 0 || st != QC_ERR_FORMAT);
      CU_ASSERT_PTR_NULL(g);
      continue;
    }
    parsed++;
    char *p1 = qc_print(g, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    qc_graph *h = NULL;
    qc_err e2 = {0};
    CU_ASSERT_EQUAL(qc_parse(p1, &h, &e2), QC_OK);
    if (h) {
      char *p2 = qc_print(h, true);
      CU_ASSERT_STRING_EQUAL(p1, p2);
      free(p2);
    }
    qc_err ev = {0};
    (void)qc_verify(g, &ev);
    free(p1);
    qc_graph_free(g);
    qc_graph_free(h);
  }
  CU_ASSERT_TRUE(parsed > 50); /* the mutations do not only produce garbage */
  free(buf);
}

static CU_TestInfo tests[] = {
    {"canonical text round-trips byte for byte", test_canonical_roundtrip},
    {"API graph round-trips structurally, floats exact", test_api_graph_roundtrip},
    {"elided data parses but does not verify", test_elided_data},
    {"forward references resolve by name", test_forward_reference},
    {"parse errors by exact message", test_parse_errors},
    {"fuzzed text never crashes", test_fuzz_mutations},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ir_text", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
