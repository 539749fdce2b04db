/* The verifier: a valid graph passes; each broken invariant is reported by its exact message,
   naming the node or value. Graphs are written as IR text where the text can express the
   fault, built through the API where the parser itself refuses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"
#include "testutil.h"

#define HEAD "graph \"g\" opset 17 {\n  input %x: f32[2,3]\n"

static void expect_verify(const char *text, qc_status code, const char *msg)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_parse(text, &g, &e);
  if (st != QC_OK) fprintf(stderr, "\nparse failed: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  st = qc_verify(g, &e);
  CU_ASSERT_EQUAL(st, code);
  if (strcmp(e.msg, msg) != 0) fprintf(stderr, "\ngot  \"%s\"\nwant \"%s\"\n", e.msg, msg);
  CU_ASSERT_STRING_EQUAL(e.msg, msg);
  qc_graph_free(g);
}

static void test_valid(void)
{
  expect_verify("graph \"g\" opset 17 {\n"
                "  sym N\n"
                "  input %x: f32[N,3,8,8]\n"
                "  const %w: i8[4,3,1,1] q(bits=8, axis=0, scale=[1.0, 2.0, 3.0, 4.0], "
                "zp=[0, 0, 0, 0]) = hex\"000000000000000000000000\"\n"
                "  const %cb: f32[2,4] = [0, 1, 2, 3, 4, 5, 6, 7]\n"
                "  const %wc: cb8[2] q(bits=1, axis=-1, scale=[1.0], codebook=%cb) = [0, 1]\n"
                "  %y: f32[N,4,8,8] = Conv(%x, %w, _) {kernel_shape=[1, 1]} @conv\n"
                "  %z, _ = Dropout(%y)\n"
                "  %t = Cast(%z) {to=1}\n"
                "  %u = Add(%t, %wc)\n"
                "  output %u\n"
                "  output %x\n"
                "  output %w\n"
                "}\n",
                QC_OK, "");
}

static void test_cycle(void)
{
  expect_verify(HEAD "  %a = Add(%x, %b) @a\n  %b = Relu(%a) @b\n  output %b\n}\n",
                QC_ERR_INVALID, "graph has a cycle: 'b' -> 'a' -> 'b'");
  /* a longer loop behind a node that merely waits on it */
  expect_verify(HEAD "  %d = Relu(%c) @d\n  %a = Add(%x, %c) @a\n  %b = Relu(%a) @b\n"
                     "  %c = Relu(%b) @c\n  output %d\n}\n",
                QC_ERR_INVALID, "graph has a cycle: 'a' -> 'b' -> 'c' -> 'a'");
  expect_verify(HEAD "  %a = Relu(%a) @a\n  output %a\n}\n", QC_ERR_INVALID,
                "node 'a' (Relu): input 'a' is its own output (a cycle)");
}

static void test_order(void)
{
  expect_verify(HEAD "  %b = Relu(%a) @b\n  %a = Relu(%x) @a\n  output %b\n}\n",
                QC_ERR_INVALID,
                "node 'b' (Relu): input 'a' is used before node 'a' (Relu) defines it (nodes are "
                "not in topological order)");
}

static void test_undefined(void)
{
  expect_verify(HEAD "  value %u: f32[2]\n  %y = Relu(%u) @r\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'r' (Relu): input 'u' is never defined");
  expect_verify(HEAD "  value %u: f32[2]\n  output %u\n}\n", QC_ERR_INVALID,
                "graph output 'u' is never defined");
}

static void test_arity(void)
{
  expect_verify(HEAD "  %y = Relu(%x, %x) @r\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'r' (Relu): expected 1 input, got 2");
  expect_verify(HEAD "  %y = Conv(%x) @c\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'c' (Conv): expected 2 to 3 inputs, got 1");
  expect_verify(HEAD "  %y = Concat() {axis=0} @c\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'c' (Concat): expected at least 1 input, got 0");
  expect_verify(HEAD "  () = Split(%x) @s\n}\n", QC_ERR_INVALID,
                "node 's' (Split): expected at least 1 output, got 0");
  expect_verify(HEAD "  %a, %b = Relu(%x) @r\n  output %a\n}\n", QC_ERR_INVALID,
                "node 'r' (Relu): expected 1 output, got 2");
  expect_verify(HEAD "  %y = Conv(%x, _) @c\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'c' (Conv): required input 1 is omitted");
  expect_verify(HEAD "  _ = Relu(%x) @r\n}\n", QC_ERR_INVALID,
                "node 'r' (Relu): required output 0 is omitted");
}

static void test_attributes(void)
{
  expect_verify(HEAD "  %y = Relu(%x) {alpha=1.0} @r\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'r' (Relu): unknown attribute 'alpha'");
  expect_verify(HEAD "  %y = Conv(%x, %x) {kernel_shape=3} @c\n  output %y\n}\n",
                QC_ERR_INVALID, "node 'c' (Conv): attribute 'kernel_shape' is int, expected ints");
  expect_verify(HEAD "  %y = LeakyRelu(%x) {alpha=1} @r\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'r' (LeakyRelu): attribute 'alpha' is int, expected float");
  expect_verify(HEAD "  %y = Cast(%x) @c\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'c' (Cast): missing required attribute 'to'");
  expect_verify(HEAD "  %y = Softmax(%x) {axis=1, axis=0} @s\n  output %y\n}\n", QC_ERR_INVALID,
                "node 's' (Softmax): duplicate attribute 'axis'");
  expect_verify(HEAD "  %y = Constant() {value=f32[2] ...} @c\n  output %y\n}\n", QC_ERR_INVALID,
                "node 'c' (Constant): attribute 'value': tensor has no data");
}

static void test_values(void)
{
  expect_verify("graph \"g\" opset 17 {\n  input %x\n  output %x\n}\n", QC_ERR_INVALID,
                "graph input 'x' has no dtype");
  expect_verify(HEAD "  const %w: i8[3,2] q(bits=8, axis=0, scale=[1.0, 2.0], zp=[0, 0]) = "
                     "[1, 2, 3, 4, 5, 6]\n  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': qparams have 2 scales but axis 0 has 3 channels");
  expect_verify(HEAD "  const %w: i8[2] q(bits=8, axis=-1, scale=[1.0, 2.0]) = [1, 2]\n"
                     "  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': per-tensor qparams (axis -1) need 1 scale, found 2");
  expect_verify(HEAD "  const %w: i8[2] q(bits=8, axis=1, scale=[1.0]) = [1, 2]\n"
                     "  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': qparams axis 1 out of range for rank 1");
  expect_verify(HEAD "  const %w: i8[2] q(bits=0, axis=-1, scale=[1.0]) = [1, 2]\n"
                     "  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': qparams bits 0 outside 1..32");
  expect_verify(HEAD "  const %w: cb8[2] q(bits=2, axis=-1, scale=[1.0]) = [1, 2]\n"
                     "  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': codebook-indexed cb8 without a codebook");
  expect_verify(HEAD "  const %w: i8[2] q(bits=2, axis=-1, scale=[1.0], codebook=%x) = [1, 2]\n"
                     "  output %w\n}\n",
                QC_ERR_INVALID, "value 'w': codebook given for dtype i8");
}

/* Faults the parser refuses to write, made through the API. */
static void test_api_faults(void)
{
  qc_err e = {0};
  qc_graph *g;
  const char *base = HEAD "  %y = Relu(%x) @r1\n  %z = Relu(%y) @r2\n  output %z\n}\n";

  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->nodes[1].out[0] = g->nodes[0].out[0]; /* r2 writes y too */
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "value 'y' is produced by node 'r1' (Relu) and node 'r2' (Relu)");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->nodes[0].out[0] = g->inputs[0];
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'r1' (Relu): output 'x' is a graph input");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->nodes[1].in[0] = 77;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'r2' (Relu): input 0 refers to value id 77 (graph has 3)");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->nodes[0].op = QC_OP_NONE;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg,
                         "node 'r1' (<none>): deleted node left in the graph (not compacted)");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->values[2].producer = 0; /* stale: z is produced by node 1 */
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'r2' (Relu): output 'z' records producer 0, not 1");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->values[1].dims[0] = QC_DIM_SYM(3);
  g->values[1].rank = 1;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "value 'y': dimension 0 is -5, not one of the graph's 0 symbols");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->values[2].name = g->values[1].name;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "two values are named 'y'");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->values[1].flags |= QC_VAL_CONST;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "constant 'y' has no dtype");
  qc_graph_free(g);

  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_parse(base, &g, &e), QC_OK);
  g->nodes[0].op = (qc_op)9999;
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'r1' (<invalid op>): invalid op id 9999");
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"a valid graph verifies", test_valid},
    {"cycles are named node by node", test_cycle},
    {"use before definition", test_order},
    {"undefined inputs and outputs", test_undefined},
    {"arity and omitted required inputs", test_arity},
    {"attributes against the schema", test_attributes},
    {"dtypes, dims and qparams", test_values},
    {"faults made through the API", test_api_faults},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"verify", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
