/* ONNX import: models written by onnx.helper (gen_onnx_models.py) and hand-encoded protobuf
 * bytes; checks the imported graph's structure, data and every error by its exact message. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ir.h"
#include "onnx.h"
#include "testutil.h"

#define MODELS QC_BINARY_DIR "/tests/frontend/onnx_models"
#define TESTDATA "/usr/share/libonnx-testdata/data"

static int init_suite(void)
{
  const char *cmd = "/usr/bin/python3 " QC_SOURCE_DIR "/tests/frontend/gen_onnx_models.py " MODELS;
  return system(cmd) == 0 ? 0 : 1;
}

static qc_graph *load_ok(const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", MODELS, name);
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_onnx_load(path, &g, &e);
  if (st) fprintf(stderr, "\n%s: %s\n", name, e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  qc_err_clear(&e);
  st = qc_verify(g, &e);
  if (st) fprintf(stderr, "\n%s: verify: %s\n", name, e.msg);
  CU_ASSERT_EQUAL(st, QC_OK);
  return g;
}

/* Loads MODELS/name and expects exactly code and message ("%s" in msg: the model's path). */
static void expect_err(const char *name, qc_status code, const char *msg)
{
  char path[512], want[1024];
  snprintf(path, sizeof path, "%s/%s", MODELS, name);
  snprintf(want, sizeof want, msg, path);
  qc_graph *g = (qc_graph *)1;
  qc_err e = {0};
  qc_status st = qc_onnx_load(path, &g, &e);
  if (st != code || strcmp(e.msg, want) != 0)
    fprintf(stderr, "\n%s:\n  got  [%d] %s\n  want [%d] %s\n", name, st, e.msg, code, want);
  CU_ASSERT_EQUAL(st, code);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  CU_ASSERT_PTR_NULL(g);
}

static const qc_value *value(qc_graph *g, const char *name)
{
  int32_t v = qc_graph_find_value(g, name);
  if (v < 0) fprintf(stderr, "\nno value '%s'\n", name);
  CU_ASSERT_FATAL(v >= 0);
  return &g->values[v];
}

static const qc_node *node(qc_graph *g, const char *name)
{
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (strcmp(g->nodes[i].name, name) == 0) return &g->nodes[i];
  fprintf(stderr, "\nno node '%s'\n", name);
  CU_FAIL_FATAL("node missing");
  return NULL;
}

static const qc_node *producer(qc_graph *g, int32_t v)
{
  CU_ASSERT_FATAL(v >= 0 && g->values[v].producer >= 0);
  return &g->nodes[g->values[v].producer];
}

/* Input k of n is a constant 1-D i64 tensor equal to want[0..n). */
static void expect_const_ints(qc_graph *g, const qc_node *n, int k, int64_t cnt,
                              const int64_t *want)
{
  CU_ASSERT_FATAL(k < n->n_in && n->in[k] >= 0);
  const qc_value *v = &g->values[n->in[k]];
  CU_ASSERT_FATAL(v->flags & QC_VAL_CONST);
  CU_ASSERT_EQUAL_FATAL(v->dtype, QC_DT_I64);
  CU_ASSERT_EQUAL_FATAL(v->rank, 1);
  CU_ASSERT_EQUAL_FATAL(v->dims[0], cnt);
  for (int64_t i = 0; i < cnt; i++) CU_ASSERT_EQUAL(((const int64_t *)v->data)[i], want[i]);
}

static float const_f32(qc_graph *g, const qc_node *n, int k)
{
  CU_ASSERT_FATAL(k < n->n_in && n->in[k] >= 0);
  const qc_value *v = &g->values[n->in[k]];
  CU_ASSERT_FATAL((v->flags & QC_VAL_CONST) && v->dtype == QC_DT_F32 && v->rank == 0);
  return *(const float *)v->data;
}

/* ---- initializers ------------------------------------------------------------------------ */

static void test_raw_and_typed_initializers(void)
{
  qc_graph *g = load_ok("raw_typed.onnx");
  const float want_f[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
  const char *fnames[2] = {"f32_raw", "f32_typed"};
  for (int k = 0; k < 2; k++) {
    const qc_value *v = value(g, fnames[k]);
    CU_ASSERT(v->flags & QC_VAL_CONST);
    CU_ASSERT_EQUAL(v->dtype, QC_DT_F32);
    CU_ASSERT_EQUAL(v->rank, 2);
    CU_ASSERT(v->dims[0] == 2 && v->dims[1] == 3);
    CU_ASSERT(memcmp(v->data, want_f, sizeof want_f) == 0);
  }
  const int64_t *i64 = value(g, "i64_typed")->data;
  CU_ASSERT(i64[0] == -5 && i64[1] == 0 && i64[2] == (int64_t)1 << 40);
  const int8_t *i8 = value(g, "i8_typed")->data;
  CU_ASSERT(value(g, "i8_typed")->dtype == QC_DT_I8 && i8[0] == -128 && i8[1] == 5 && i8[2] == 127);
  const uint8_t *u8 = value(g, "u8_typed")->data;
  CU_ASSERT(u8[0] == 0 && u8[1] == 255);
  const uint16_t *f16 = value(g, "f16_typed")->data;
  CU_ASSERT(value(g, "f16_typed")->dtype == QC_DT_F16 && f16[0] == 0x3c00 && f16[1] == 0xc000);
  const uint8_t *b = value(g, "bool_typed")->data;
  CU_ASSERT(value(g, "bool_typed")->dtype == QC_DT_BOOL && b[0] == 1 && b[1] == 0 && b[2] == 1);
  const double *f64 = value(g, "f64_typed")->data;
  CU_ASSERT(f64[0] == 0.25 && f64[1] == -1e300);
  CU_ASSERT(*(const uint64_t *)value(g, "u64_typed")->data == UINT64_MAX);
  const int32_t *i32 = value(g, "i32_typed")->data;
  CU_ASSERT(i32[0] == -7 && i32[1] == 1 << 30);
  const int16_t *i16 = value(g, "i16_raw")->data;
  CU_ASSERT(value(g, "i16_raw")->dtype == QC_DT_I16 && i16[0] == -2 && i16[1] == 300);
  CU_ASSERT(*(const double *)value(g, "f64_raw")->data == 1.5);
  const qc_value *empty = value(g, "empty");
  CU_ASSERT(empty->rank == 2 && empty->dims[0] == 0 && empty->dims[1] == 4);
  /* Initializers are not graph inputs. */
  CU_ASSERT_EQUAL(g->n_inputs, 1);
  CU_ASSERT_STRING_EQUAL(g->values[g->inputs[0]].name, "x");
  qc_graph_free(g);
}

static void test_initializer_errors(void)
{
  expect_err("raw_len.onnx", QC_ERR_INVALID,
             "tensor 'w': raw_data has 20 bytes but its shape needs 24");
  expect_err("neg_dim.onnx", QC_ERR_INVALID, "tensor 'w': dimension 1 is negative (-3)");
  expect_err("too_big.onnx", QC_ERR_UNSUPPORTED, "tensor 'w' has more than 68719476736 elements");
  expect_err("typed_count.onnx", QC_ERR_INVALID,
             "tensor 'w': shape has 4 elements but float_data holds 3");
  expect_err("string_init.onnx", QC_ERR_UNSUPPORTED,
             "tensor 's': string tensors are not supported");
  expect_err("complex_init.onnx", QC_ERR_UNSUPPORTED,
             "tensor 'c': ONNX data type 14 (COMPLEX64) is not supported");
}

/* ---- external data ----------------------------------------------------------------------- */

static void test_external_data(void)
{
  const char *ok[2] = {"ext/ext.onnx", "ext/ext_inner.onnx"};
  for (int k = 0; k < 2; k++) {
    qc_graph *g = load_ok(ok[k]);
    const qc_value *w = value(g, "W");
    CU_ASSERT(w->flags & QC_VAL_CONST);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(((const float *)w->data)[i], (float)i + 0.5f);
    qc_graph_free(g);
  }
}

static void test_external_data_refused(void)
{
  expect_err("ext/ext_dotdot.onnx", QC_ERR_INVALID,
             "tensor 'W': external data path '../outside.bin' leaves the model's folder");
  char msg[1024];
  snprintf(msg, sizeof msg,
           "tensor 'W': external data path '%s/outside.bin' is absolute; it must be relative "
           "to the model's folder",
           MODELS);
  expect_err("ext/ext_abs.onnx", QC_ERR_INVALID, msg);
  expect_err("ext/ext_link.onnx", QC_ERR_INVALID,
             "tensor 'W': external data path 'link.bin' resolves outside the model's folder "
             "(through a symbolic link)");
  snprintf(msg, sizeof msg,
           "tensor 'W': external data file '%s/ext/weights.bin' has 4120 bytes; the tensor "
           "needs 24 bytes at offset 4100",
           MODELS);
  expect_err("ext/ext_short.onnx", QC_ERR_FORMAT, msg);
  snprintf(msg, sizeof msg,
           "tensor 'W': cannot open external data file '%s/ext/nope.bin': No such file or "
           "directory",
           MODELS);
  expect_err("ext/ext_missing.onnx", QC_ERR_IO, msg);
  expect_err("ext/ext_badlen.onnx", QC_ERR_INVALID,
             "tensor 'W': external data length 20 does not match its shape (24 bytes)");

  /* From memory without a folder: refused, not read from the working directory. */
  FILE *f = fopen(MODELS "/ext/ext.onnx", "rb");
  CU_ASSERT_FATAL(f != NULL);
  unsigned char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  qc_graph *g = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_onnx_load_buffer(buf, n, NULL, &g, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "tensor 'W': external data 'weights.bin' needs the model's "
                                "folder, and none was given");
  CU_ASSERT_PTR_NULL(g);
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_onnx_load_buffer(buf, n, MODELS "/ext", &g, &e), QC_OK);
  qc_graph_free(g);
}

/* ---- attributes, shapes, constants ---------------------------------------------------- */

static void test_attributes(void)
{
  qc_graph *g = load_ok("attrs.onnx");
  const qc_node *conv = node(g, "conv");
  CU_ASSERT_EQUAL(conv->op, QC_OP_Conv);
  CU_ASSERT_STRING_EQUAL(qc_attr_s(conv, "auto_pad", ""), "SAME_UPPER");
  CU_ASSERT_EQUAL(qc_node_attr(conv, "auto_pad")->s_len, 10);
  const int64_t *ks;
  CU_ASSERT_EQUAL(qc_attr_ints(conv, "kernel_shape", &ks), 2);
  CU_ASSERT(ks[0] == 3 && ks[1] == 3);
  CU_ASSERT_EQUAL(qc_attr_i(conv, "group", 0), 1);
  CU_ASSERT_EQUAL(qc_attr_ints(conv, "pads", &ks), -1); /* absent, not invented */
  CU_ASSERT_EQUAL(qc_attr_f(node(g, "lrelu"), "alpha", 0), 0.25f);

  const qc_node *kt = node(g, "k_t");
  CU_ASSERT_EQUAL(kt->op, QC_OP_Constant);
  const qc_attr *a = qc_node_attr(kt, "value");
  CU_ASSERT_FATAL(a && a->kind == QC_ATTR_TENSOR);
  CU_ASSERT(a->tensors[0].dtype == QC_DT_I32 && a->tensors[0].rank == 2);
  const int32_t *cv = a->tensors[0].data;
  CU_ASSERT(cv[0] == 1 && cv[1] == 2 && cv[2] == 3 && cv[3] == 4);
  const qc_value *out = value(g, "k_t");
  CU_ASSERT(out->dtype == QC_DT_I32 && out->rank == 2 && out->dims[0] == 2 && !out->data);
  const float *fs;
  CU_ASSERT_EQUAL(qc_attr_floats(node(g, "k_fs"), "value_floats", &fs), 2);
  CU_ASSERT(fs[0] == 1.5f && fs[1] == -2.0f);
  CU_ASSERT(value(g, "k_fs")->dtype == QC_DT_F32 && value(g, "k_fs")->dims[0] == 2);
  CU_ASSERT_EQUAL(qc_attr_ints(node(g, "k_is"), "value_ints", &ks), 3);
  CU_ASSERT(ks[2] == 9 && value(g, "k_is")->dtype == QC_DT_I64);
  CU_ASSERT_EQUAL(qc_attr_f(node(g, "k_f"), "value_float", 0), 3.0f);
  CU_ASSERT(value(g, "k_f")->rank == 0);
  CU_ASSERT_EQUAL(qc_attr_i(node(g, "k_i"), "value_int", 0), -4);
  qc_graph_free(g);
}

static void test_attribute_errors(void)
{
  const char *kinds[] = {"attr_strings.onnx", "attr_tensors.onnx", "attr_graph.onnx",
                         "attr_graphs.onnx", "attr_unknown.onnx"};
  for (int k = 0; k < 5; k++)
    expect_err(kinds[k], QC_ERR_INVALID, "node 'r' (Relu): unknown attribute 'foo'");
  expect_err("attr_sparse.onnx", QC_ERR_UNSUPPORTED,
             "node 'k' (Constant): attribute 'sparse_value' holds a sparse tensor; sparse "
             "tensors are not supported");
  expect_err("attr_kind.onnx", QC_ERR_INVALID,
             "node 'r' (LeakyRelu): attribute 'alpha' is int; LeakyRelu expects float");
  expect_err("attr_required.onnx", QC_ERR_INVALID,
             "node 'p' (MaxPool): required attribute 'kernel_shape' is missing");
  expect_err("const_string.onnx", QC_ERR_UNSUPPORTED,
             "node 'k' (Constant): string tensors are not supported");
}

static void test_shapes_and_symbols(void)
{
  qc_graph *g = load_ok("shapes.onnx");
  CU_ASSERT_EQUAL_FATAL(g->n_syms, 2);
  CU_ASSERT_STRING_EQUAL(g->syms[0], "N");
  CU_ASSERT_STRING_EQUAL(g->syms[1], "C");
  const qc_value *x = value(g, "x");
  CU_ASSERT(x->flags & QC_VAL_INPUT);
  CU_ASSERT(x->dtype == QC_DT_F32 && x->rank == 3);
  CU_ASSERT(x->dims[0] == QC_DIM_SYM(0) && x->dims[1] == 3 && x->dims[2] == QC_DIM_UNKNOWN);
  const qc_value *h = value(g, "h"); /* from value_info */
  CU_ASSERT(h->dtype == QC_DT_F32 && h->rank == 3);
  CU_ASSERT(h->dims[0] == QC_DIM_SYM(0) && h->dims[1] == QC_DIM_SYM(1) && h->dims[2] == 7);
  const qc_value *y = value(g, "y"); /* from the graph output */
  CU_ASSERT(y->flags & QC_VAL_OUTPUT);
  CU_ASSERT(y->rank == 3 && y->dims[2] == 7);
  qc_graph_free(g);

  g = load_ok("init_input.onnx");
  CU_ASSERT_EQUAL(g->n_inputs, 1);
  CU_ASSERT(value(g, "b")->flags & QC_VAL_CONST);
  CU_ASSERT(!(value(g, "b")->flags & QC_VAL_INPUT));
  qc_graph_free(g);

  g = load_ok("unsorted.onnx");
  CU_ASSERT_STRING_EQUAL(g->nodes[0].name, "first");
  CU_ASSERT_STRING_EQUAL(g->nodes[1].name, "second");
  qc_graph_free(g);
}

/* ---- graph errors ------------------------------------------------------------------------ */

static void test_graph_errors(void)
{
  expect_err("unknown_op.onnx", QC_ERR_UNSUPPORTED,
             "node 'n1': op 'Foo' (domain 'ai.onnx') is not supported");
  expect_err("custom_domain.onnx", QC_ERR_UNSUPPORTED,
             "node 'n1': op 'Relu' (domain 'com.example') is not supported");
  expect_err("undefined_input.onnx", QC_ERR_INVALID, "node 'add' input 'z' is not defined");
  expect_err("cycle.onnx", QC_ERR_INVALID,
             "graph has a cycle (or an input produced by no node): node 'ra' (Relu) can never "
             "run");
  expect_err("twice.onnx", QC_ERR_INVALID, "value 'y' is produced twice (again by node 'r2')");
  expect_err("arity.onnx", QC_ERR_INVALID, "node 'add' (Add): has 1 inputs; Add takes 2 to 2");
  expect_err("opset18.onnx", QC_ERR_UNSUPPORTED,
             "%s: ai.onnx opset 18 is not supported (quantc reads opsets 1 to 17)");
  expect_err("no_output.onnx", QC_ERR_INVALID, "graph output 'y' is not defined");
  expect_err("seq_input.onnx", QC_ERR_UNSUPPORTED,
             "graph input 'x' is not a tensor (sequence, map, optional and sparse types are not "
             "supported)");
  expect_err("tile_opset5.onnx", QC_ERR_UNSUPPORTED,
             "node 't' (Tile): the opset-5 form of Tile (tiles and axis inputs) is not "
             "supported");
  expect_err("bn_spatial0.onnx", QC_ERR_UNSUPPORTED,
             "node 'bn' (BatchNormalization): BatchNormalization with spatial=0 (per-element "
             "statistics) is not supported");
}

/* ---- malformed bytes ----------------------------------------------------------------------- */

static void expect_buf_err(const void *buf, size_t len, qc_status code, const char *want)
{
  qc_graph *g = (qc_graph *)1;
  qc_err e = {0};
  qc_status st = qc_onnx_load_buffer(buf, len, NULL, &g, &e);
  if (st != code || strcmp(e.msg, want) != 0)
    fprintf(stderr, "\n  got  [%d] %s\n  want [%d] %s\n", st, e.msg, code, want);
  CU_ASSERT_EQUAL(st, code);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  CU_ASSERT_PTR_NULL(g);
}

static void test_malformed_bytes(void)
{
  /* ir_version = 8, then field 7 (graph) claiming 5 bytes with 3 left. */
  const uint8_t past[] = {0x08, 0x08, 0x3a, 0x05, 0x0a, 0x01, 0x78};
  expect_buf_err(past, sizeof past, QC_ERR_FORMAT,
                 "<buffer>: not a valid ONNX ModelProto: byte 2: length 5 past the end (3 "
                 "bytes left) in field 7 (ModelProto.graph)");
  const uint8_t varint[] = {0x08, 0x80};
  expect_buf_err(varint, sizeof varint, QC_ERR_FORMAT,
                 "<buffer>: not a valid ONNX ModelProto: byte 0: truncated varint in field 1 "
                 "(ModelProto.ir_version)");
  const uint8_t wire[] = {0x08, 0x07, 0x3a, 0x02, 0x0b, 0x00};
  expect_buf_err(wire, sizeof wire, QC_ERR_FORMAT,
                 "<buffer>: not a valid ONNX ModelProto: byte 4: wire type 3 where 2 is "
                 "expected in field 1 (GraphProto.node)");
  const uint8_t zero[] = {0x08, 0x07, 0x00};
  expect_buf_err(zero, sizeof zero, QC_ERR_FORMAT,
                 "<buffer>: not a valid ONNX ModelProto: byte 2: invalid field number 0 in "
                 "ModelProto");
  /* Nested subgraphs, 3 messages per level (graph > node > attribute > graph ...): the
     walker stops them before protobuf-c's recursive unpacker sees them. */
  uint8_t deep[4096];
  size_t pos = sizeof deep;
  const uint8_t tags[3] = {0x32, 0x2a, 0x0a}; /* attribute.g, node.attribute, graph.node */
  for (int t = 0; t < 3 * 40 + 1; t++) {
    size_t len = sizeof deep - pos;
    if (len > 127) deep[--pos] = (uint8_t)(len >> 7);
    deep[--pos] = (uint8_t)((len & 0x7f) | (len > 127 ? 0x80 : 0));
    deep[--pos] = t == 3 * 40 ? 0x3a : tags[t % 3]; /* outermost: ModelProto.graph */
  }
  qc_graph *g = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_onnx_load_buffer(deep + pos, sizeof deep - pos, NULL, &g, &e), QC_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "messages nested more than 64 deep"));

  expect_buf_err("", 0, QC_ERR_INVALID, "<buffer>: the model has no graph");
  char path[512], want[1024];
  snprintf(path, sizeof path, "%s/truncated.onnx", MODELS);
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_onnx_load(path, &g, &e), QC_ERR_FORMAT);
  snprintf(want, sizeof want, "%s: not a valid ONNX ModelProto: byte ", path);
  CU_ASSERT_NSTRING_EQUAL(e.msg, want, strlen(want));
  CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "past the end"));
}

static void test_big_file_refused(void)
{
  const char *path = QC_BINARY_DIR "/tests/frontend/big.onnx";
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  CU_ASSERT_FATAL(fd >= 0);
  CU_ASSERT_EQUAL_FATAL(ftruncate(fd, ((off_t)1 << 31) + 1), 0); /* sparse: no disk used */
  close(fd);
  qc_graph *g = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_onnx_load(path, &g, &e), QC_ERR_UNSUPPORTED);
  char want[1024];
  snprintf(want, sizeof want,
           "%s: 2.0 GiB is over the 2 GiB limit of a protobuf file; keep the weights in "
           "external data",
           path);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  unlink(path);
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_onnx_load(MODELS "/none.onnx", &g, &e), QC_ERR_IO);
  CU_ASSERT_STRING_EQUAL(e.msg, "cannot open '" MODELS "/none.onnx': No such file or directory");
}

/* ---- legacy opsets ---------------------------------------------------------------------- */

static void test_legacy_broadcast(void)
{
  /* Add(A[2,3,4,5], B[3,4], broadcast=1, axis=1) == Add(A, Unsqueeze(B, [2])) in numpy rules */
  qc_graph *g = load_ok("bcast6.onnx");
  CU_ASSERT_EQUAL(g->opset, 6);
  const qc_node *add = node(g, "add");
  CU_ASSERT_EQUAL(add->n_attrs, 0);
  CU_ASSERT_EQUAL(add->in[0], qc_graph_find_value(g, "A"));
  const qc_node *u = producer(g, add->in[1]);
  CU_ASSERT_EQUAL(u->op, QC_OP_Unsqueeze);
  CU_ASSERT_EQUAL(u->in[0], qc_graph_find_value(g, "B"));
  expect_const_ints(g, u, 1, 1, (const int64_t[]){2});
  qc_graph_free(g);

  /* A's rank unknown: B is reshaped to concat(shape(B), ones(rank(A) - 1 - rank(B))). */
  g = load_ok("bcast6_dyn.onnx");
  add = node(g, "add");
  const qc_node *r = producer(g, add->in[1]);
  CU_ASSERT_EQUAL(r->op, QC_OP_Reshape);
  CU_ASSERT_EQUAL(r->in[0], qc_graph_find_value(g, "B"));
  const qc_node *cat = producer(g, r->in[1]);
  CU_ASSERT_EQUAL(cat->op, QC_OP_Concat);
  CU_ASSERT_EQUAL(producer(g, cat->in[0])->op, QC_OP_Shape);
  const qc_node *ones = producer(g, cat->in[1]);
  CU_ASSERT_EQUAL(ones->op, QC_OP_ConstantOfShape);
  const qc_node *sub = producer(g, ones->in[0]);
  CU_ASSERT_EQUAL(sub->op, QC_OP_Sub);
  const qc_node *rank_a = producer(g, sub->in[0]);
  CU_ASSERT_EQUAL(rank_a->op, QC_OP_Shape);
  CU_ASSERT_EQUAL(producer(g, rank_a->in[0])->in[0], qc_graph_find_value(g, "A"));
  const qc_node *used = producer(g, sub->in[1]);
  CU_ASSERT_EQUAL(used->op, QC_OP_Add);
  expect_const_ints(g, used, 1, 1, (const int64_t[]){1});
  qc_graph_free(g);

  /* broadcast=1 without axis is numpy's suffix rule: nothing to add. */
  g = load_ok("bcast6_suffix.onnx");
  CU_ASSERT_EQUAL(g->n_nodes, 1);
  CU_ASSERT_EQUAL(g->nodes[0].n_attrs, 0);
  CU_ASSERT_EQUAL(g->nodes[0].in[1], qc_graph_find_value(g, "B"));
  qc_graph_free(g);

  /* opset-6 PRelu: slope [3] on x [2,3,4,5] is per channel -> [3,1,1]. */
  g = load_ok("prelu6.onnx");
  u = producer(g, node(g, "pr")->in[1]);
  CU_ASSERT_EQUAL(u->op, QC_OP_Unsqueeze);
  expect_const_ints(g, u, 1, 2, (const int64_t[]){1, 2});
  qc_graph_free(g);
}

static void test_legacy_softmax(void)
{
  qc_graph *g = load_ok("softmax11.onnx");
  /* rank 2, default axis 1: already the last axis */
  const qc_node *lsm = node(g, "lsm");
  CU_ASSERT_EQUAL(lsm->op, QC_OP_LogSoftmax);
  CU_ASSERT_EQUAL(qc_attr_i(lsm, "axis", 0), -1);
  CU_ASSERT_EQUAL(lsm->in[0], qc_graph_find_value(g, "x2"));
  CU_ASSERT_EQUAL(lsm->out[0], qc_graph_find_value(g, "y2"));
  /* rank 3, axis 1: y = Reshape(Softmax(Flatten(x, 1), -1), Shape(x)) */
  int32_t x = qc_graph_find_value(g, "x");
  const qc_node *rs = producer(g, qc_graph_find_value(g, "y"));
  CU_ASSERT_EQUAL(rs->op, QC_OP_Reshape);
  const qc_node *shape = producer(g, rs->in[1]);
  CU_ASSERT(shape->op == QC_OP_Shape && shape->in[0] == x);
  const qc_node *sm = producer(g, rs->in[0]);
  CU_ASSERT_EQUAL(sm->op, QC_OP_Softmax);
  CU_ASSERT_EQUAL(qc_attr_i(sm, "axis", 0), -1);
  const qc_node *fl = producer(g, sm->in[0]);
  CU_ASSERT(fl->op == QC_OP_Flatten && fl->in[0] == x);
  CU_ASSERT_EQUAL(qc_attr_i(fl, "axis", 0), 1);
  qc_graph_free(g);
}

static void test_legacy_attributes_to_inputs(void)
{
  qc_graph *g = load_ok("legacy6.onnx");
  const qc_node *clip = node(g, "clip");
  CU_ASSERT_EQUAL(clip->n_attrs, 0);
  CU_ASSERT_EQUAL(const_f32(g, clip, 1), -0.5f);
  CU_ASSERT_EQUAL(const_f32(g, clip, 2), 0.5f);
  const qc_node *pad = node(g, "pad");
  CU_ASSERT_EQUAL(pad->n_attrs, 0);
  expect_const_ints(g, pad, 1, 4, (const int64_t[]){0, 1, 0, 2});
  CU_ASSERT_EQUAL(const_f32(g, pad, 2), 1.5f);
  const qc_node *sl = node(g, "slice");
  CU_ASSERT_EQUAL(sl->n_in, 4);
  expect_const_ints(g, sl, 1, 1, (const int64_t[]){0});
  expect_const_ints(g, sl, 2, 1, (const int64_t[]){2});
  expect_const_ints(g, sl, 3, 1, (const int64_t[]){1});
  expect_const_ints(g, node(g, "unsq"), 1, 1, (const int64_t[]){0});
  expect_const_ints(g, node(g, "sq"), 1, 1, (const int64_t[]){0});
  const qc_node *split = node(g, "split");
  expect_const_ints(g, split, 1, 2, (const int64_t[]){1, 1});
  CU_ASSERT_EQUAL(qc_attr_i(split, "axis", 0), 1);
  CU_ASSERT_EQUAL(split->n_out, 2);
  const qc_node *rsum = node(g, "rsum");
  expect_const_ints(g, rsum, 1, 1, (const int64_t[]){1});
  CU_ASSERT_EQUAL(qc_attr_i(rsum, "keepdims", 1), 0);
  const qc_node *drop = node(g, "drop");
  CU_ASSERT_EQUAL(drop->n_attrs, 0);
  CU_ASSERT_EQUAL(drop->n_in, 2);
  CU_ASSERT_EQUAL(const_f32(g, drop, 1), 0.25f);
  const qc_node *gemm = node(g, "gemm");
  CU_ASSERT_PTR_NULL(qc_node_attr(gemm, "broadcast"));
  CU_ASSERT_EQUAL(qc_attr_i(gemm, "transB", 0), 1);
  const qc_node *bn = node(g, "bn");
  CU_ASSERT_EQUAL(bn->n_attrs, 1);
  CU_ASSERT_EQUAL(qc_attr_f(bn, "epsilon", 0), 1e-3f);
  CU_ASSERT_EQUAL(qc_attr_i(bn, "training_mode", 0), 0);
  CU_ASSERT_EQUAL(bn->n_out, 1);
  qc_graph_free(g);
}

static void test_legacy_opset1(void)
{
  qc_graph *g = load_ok("legacy1.onnx");
  CU_ASSERT_EQUAL(g->opset, 1);
  const qc_attr *to = qc_node_attr(node(g, "cast"), "to");
  CU_ASSERT(to && to->kind == QC_ATTR_INT && to->i == 11); /* "DOUBLE" */
  CU_ASSERT_EQUAL(qc_attr_i(node(g, "cat"), "axis", 0), 1);
  expect_const_ints(g, node(g, "reshape"), 1, 2, (const int64_t[]){4, 3});
  const qc_attr *p = qc_node_attr(node(g, "lp"), "p");
  CU_ASSERT(p && p->kind == QC_ATTR_INT && p->i == 2);
  CU_ASSERT_EQUAL(node(g, "relu")->n_attrs, 0);
  const qc_node *bn = node(g, "bn");
  CU_ASSERT_EQUAL(bn->n_out, 3);
  CU_ASSERT_EQUAL(qc_attr_i(bn, "training_mode", 0), 1);
  CU_ASSERT_PTR_NULL(qc_node_attr(bn, "consumed_inputs"));
  const qc_node *drop = node(g, "drop");
  CU_ASSERT_EQUAL(drop->n_attrs, 0);
  CU_ASSERT_EQUAL(drop->n_in, 3);
  CU_ASSERT(fabsf(const_f32(g, drop, 1) - 0.1f) == 0);
  const qc_value *train = &g->values[drop->in[2]];
  CU_ASSERT(train->dtype == QC_DT_BOOL && *(const uint8_t *)train->data == 1);
  qc_graph_free(g);
}

/* Every conformance model whose ops quantc registers loads and verifies; the others fail
   only as unsupported. The pytorch-* folders are opset 6 throughout. */
static void test_conformance_models_load(void)
{
  const char *dirs[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  int loaded[4] = {0}, legacy_ok = 0;
  for (int d = 0; d < 4; d++) {
    char list[512];
    snprintf(list, sizeof list, "ls -1 %s/%s", TESTDATA, dirs[d]);
    FILE *p = popen(list, "r");
    CU_ASSERT_FATAL(p != NULL);
    char name[256];
    while (fgets(name, sizeof name, p)) {
      name[strcspn(name, "\n")] = 0;
      char path[1024];
      snprintf(path, sizeof path, "%s/%s/%s/model.onnx", TESTDATA, dirs[d], name);
      qc_graph *g = NULL;
      qc_err e = {0};
      qc_status st = qc_onnx_load(path, &g, &e);
      if (st != QC_OK && st != QC_ERR_UNSUPPORTED) fprintf(stderr, "\n%s: %s\n", path, e.msg);
      CU_ASSERT(st == QC_OK || st == QC_ERR_UNSUPPORTED);
      if (st == QC_OK) {
        qc_err_clear(&e);
        if (qc_verify(g, &e)) fprintf(stderr, "\n%s: verify: %s\n", path, e.msg);
        CU_ASSERT_EQUAL(e.code, QC_OK);
        loaded[d]++;
        if (g->opset < 13) legacy_ok++;
      }
      qc_graph_free(g);
    }
    pclose(p);
  }
  /* The pytorch folders use only registered ops (numbers from the data set's model list). */
  CU_ASSERT_EQUAL(loaded[1], 82);
  CU_ASSERT_EQUAL(loaded[2], 35);
  CU_ASSERT(loaded[0] > 600);
  CU_ASSERT(legacy_ok > 150);
}

/* ---- tensor files ------------------------------------------------------------------------ */

static void test_tensor_file(void)
{
  qc_arena *a = qc_arena_new();
  qc_tensor t;
  char name[64];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_onnx_read_tensor_file(TESTDATA "/node/test_conv_with_strides_padding/"
                                                 "test_data_set_0/input_0.pb",
                                                 a, &t, name, sizeof name, &e),
                        QC_OK);
  CU_ASSERT_STRING_EQUAL(name, "x");
  CU_ASSERT(t.dtype == QC_DT_F32 && t.rank == 4);
  CU_ASSERT(t.dims[0] == 1 && t.dims[1] == 1 && t.dims[2] == 7 && t.dims[3] == 5);
  for (int i = 0; i < 35; i++) CU_ASSERT_EQUAL(((float *)t.data)[i], (float)i); /* arange(35) */

  /* Round trip, then numpy reads what we wrote. */
  const char *path = QC_BINARY_DIR "/tests/frontend/roundtrip.pb";
  int64_t vals[6] = {-3, 0, 7, 1LL << 50, 5, -1};
  qc_tensor w = {QC_DT_I64, 2, {3, 2}, vals};
  CU_ASSERT_EQUAL_FATAL(qc_onnx_save_tensor_file(path, &w, "ints", &e), QC_OK);
  CU_ASSERT_EQUAL(system("/usr/bin/python3 -c \"import onnx, numpy as np; from onnx import "
                         "numpy_helper as h; t = onnx.load_tensor('" QC_BINARY_DIR
                         "/tests/frontend/roundtrip.pb'); a = h.to_array(t); "
                         "assert t.name == 'ints' and a.shape == (3, 2) and a.dtype == np.int64; "
                         "assert a.ravel().tolist() == [-3, 0, 7, 1 << 50, 5, -1]\""),
                  0);
  qc_tensor r;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_read_tensor_file(path, a, &r, NULL, 0, &e), QC_OK);
  CU_ASSERT(r.dtype == QC_DT_I64 && r.rank == 2 && r.dims[0] == 3 && r.dims[1] == 2);
  CU_ASSERT(memcmp(r.data, vals, sizeof vals) == 0);
  qc_tensor packed = {QC_DT_I4, 1, {2}, vals};
  CU_ASSERT_EQUAL(qc_onnx_save_tensor_file(path, &packed, "p", &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, QC_BINARY_DIR "/tests/frontend/roundtrip.pb: dtype i4 has no "
                                              "ONNX equivalent");
  /* A model is not a tensor: field 7 of TensorProto is int64_data, not a message. */
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_onnx_read_tensor_file(MODELS "/attrs.onnx", a, &r, NULL, 0, &e),
                  QC_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a valid ONNX TensorProto"));
  unlink(path);
  qc_arena_free(a);
}

/* ---- allocation failures ------------------------------------------------------------------ */

static void test_allocation_failures(void)
{
  const char *models[] = {"legacy6.onnx", "attrs.onnx", "ext/ext.onnx", "bcast6_dyn.onnx",
                          "softmax11.onnx", "shapes.onnx"};
  for (int m = 0; m < 6; m++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MODELS, models[m]);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_FATAL(f != NULL);
    static unsigned char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = 0;
    int failures = 0;
    for (long n = 1; n < 100000; n++) {
      qc_graph *g = qc_graph_new();
      qc_arena_fail_after(g->arena, n);
      qc_err e = {0};
      qc_status st = qc_onnx_load_buffer_into(buf, len, dir, g, &e);
      qc_graph_free(g);
      if (st == QC_OK) break;
      if (st != QC_ERR_NOMEM) fprintf(stderr, "\n%s at %ld: %s\n", models[m], n, e.msg);
      CU_ASSERT_EQUAL(st, QC_ERR_NOMEM);
      CU_ASSERT(e.msg[0] != 0);
      failures++;
    }
    CU_ASSERT(failures > 3);
  }
  qc_arena *a = qc_arena_new();
  qc_arena_fail_after(a, 1);
  qc_tensor t;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_onnx_read_tensor_file(TESTDATA "/node/test_conv_with_strides_padding/"
                                           "test_data_set_0/input_0.pb",
                                           a, &t, NULL, 0, &e),
                  QC_ERR_NOMEM);
  qc_arena_free(a);
}

static CU_TestInfo tests[] = {
    {"raw and typed initializers", test_raw_and_typed_initializers},
    {"initializer errors", test_initializer_errors},
    {"external data", test_external_data},
    {"external data outside the folder is refused", test_external_data_refused},
    {"attributes", test_attributes},
    {"attribute errors", test_attribute_errors},
    {"value_info shapes and symbolic dims", test_shapes_and_symbols},
    {"graph errors", test_graph_errors},
    {"malformed protobuf bytes", test_malformed_bytes},
    {"files over 2 GiB are refused", test_big_file_refused},
    {"legacy broadcasting and PRelu", test_legacy_broadcast},
    {"legacy softmax coercion", test_legacy_softmax},
    {"legacy attributes become inputs", test_legacy_attributes_to_inputs},
    {"legacy opset-1 forms", test_legacy_opset1},
    {"conformance models load", test_conformance_models_load},
    {"tensor files", test_tensor_file},
    {"allocation failures", test_allocation_failures},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"onnx import", init_suite, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
