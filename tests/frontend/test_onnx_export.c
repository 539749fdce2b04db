/* ONNX export (frontend/onnx_export.c).
 *
 * fp32 round trips: the example model and torchvision classifiers are imported, exported,
 * imported again; the IR text must be identical (after shape inference, so value_info is
 * exercised; the opset line is set to 17 on both sides, the IR being opset-17 already) and the
 * interpreter's outputs bit for bit equal. The file itself is checked by python's onnx
 * (checker with full shape inference, ir_version, opset, dim_param, raw_data, attribute kinds).
 * Writes are atomic: a failed export leaves the old file and no temporary behind.
 * Integer graphs: the QDQ form is a valid standard model whose fp32 execution in quantc's own
 * interpreter stays within one output step of the integer interpreter; missing scales are clear
 * errors. The cross-check against ONNX Runtime is tests/ort/test_ort.c. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "data.h"
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "passes.h"
#include "ort/int_graph.h"

#define PYTHON "/usr/bin/python3"
#define WORK QC_BINARY_DIR "/export-test"
#define CACHE QC_BINARY_DIR "/models-cache"

static void mkdirs(void)
{
  mkdir(WORK, 0755);
}

static char *read_all(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (b) {
    b[n] = 0;
    *len = (size_t)n;
  }
  return b;
}

/* Runs g on one input tensor; returns a malloc'd copy of output 0 (NULL on failure). */
static qc_tensor run1(const qc_graph *g, const qc_tensor *in)
{
  qc_tensor out = {0};
  qc_interp *it = NULL;
  qc_err e = {0};
  if (qc_interp_new(g, 1, &it, &e) || qc_interp_run(it, in, 1, &e)) {
    printf("\n    interpreter: %s", e.msg);
  } else {
    const qc_tensor *o = qc_interp_output(it, 0);
    out = *o;
    size_t bytes = (size_t)qc_tensor_bytes(o);
    out.data = malloc(bytes ? bytes : 1);
    if (out.data) memcpy(out.data, o->data, bytes);
  }
  qc_interp_free(it);
  return out;
}

/* Import -> infer shapes -> export -> import: equal IR text, bit-identical outputs on `in`. */
static void roundtrip(const char *model, const qc_tensor *in, const char *save_as)
{
  qc_err e = {0};
  qc_graph *g = NULL, *h = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(model, &g, &e), QC_OK);
  qc_infer_opts io = {.skip_unsupported = false};
  CU_ASSERT_EQUAL(qc_pass_infer_shapes(g, &io, &e), QC_OK);
  if (e.code) printf("\n    %s", e.msg);
  if (save_as) {
    CU_ASSERT_EQUAL(qc_onnx_save(g, save_as, &e), QC_OK);
    CU_ASSERT_EQUAL(qc_onnx_load(save_as, &h, &e), QC_OK);
  } else {
    void *buf = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(qc_onnx_save_buffer(g, &buf, &len, &e), QC_OK);
    CU_ASSERT_EQUAL(qc_onnx_load_buffer(buf, len, NULL, &h, &e), QC_OK);
    free(buf);
  }
  if (e.code) printf("\n    %s", e.msg);
  if (!h) {
    qc_graph_free(g);
    CU_FAIL_FATAL("re-import failed");
  }
  g->opset = h->opset = 17;
  char *p1 = qc_print(g, true), *p2 = qc_print(h, true);
  CU_ASSERT_PTR_NOT_NULL(p1);
  CU_ASSERT_PTR_NOT_NULL(p2);
  if (p1 && p2) {
    CU_ASSERT_STRING_EQUAL(p1, p2);
    if (strcmp(p1, p2) != 0) {
      size_t i = 0;
      while (p1[i] == p2[i]) i++;
      printf("\n    IR text differs at byte %zu:\n    <<%.120s>>\n    <<%.120s>>", i,
             p1 + (i > 40 ? i - 40 : 0), p2 + (i > 40 ? i - 40 : 0));
    }
  }
  free(p1);
  free(p2);
  qc_tensor a = run1(g, in), b = run1(h, in);
  CU_ASSERT_PTR_NOT_NULL(a.data);
  CU_ASSERT_PTR_NOT_NULL(b.data);
  if (a.data && b.data) {
    CU_ASSERT_EQUAL(qc_tensor_bytes(&a), qc_tensor_bytes(&b));
    CU_ASSERT_EQUAL(memcmp(a.data, b.data, (size_t)qc_tensor_bytes(&a)), 0);
  }
  free(a.data);
  free(b.data);
  qc_graph_free(g);
  qc_graph_free(h);
}

static qc_tensor random_input(int64_t n, int64_t c, int64_t hw, unsigned seed)
{
  qc_tensor t = {.dtype = QC_DT_F32, .rank = 4, .dims = {n, c, hw, hw}};
  int64_t elems = qc_tensor_elems(&t);
  float *d = malloc(sizeof(float) * (size_t)elems);
  ig_rng r = {seed};
  for (int64_t i = 0; i < elems; i++) d[i] = (float)(4 * ig_uniform(&r) - 2);
  t.data = d;
  return t;
}

static void test_roundtrip_example(void)
{
  mkdirs();
  qc_tensor in = random_input(3, 1, 28, 7);
  roundtrip(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &in, NULL);
  roundtrip(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &in, WORK "/example.onnx");
  free(in.data);
}

static int python_ok(const char *script)
{
  char path[256];
  snprintf(path, sizeof path, WORK "/check.py");
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  fputs(script, f);
  fclose(f);
  char cmd[512];
  snprintf(cmd, sizeof cmd, PYTHON " %s", path);
  fflush(stdout);
  int rc = system(cmd);
  return rc == 0;
}

static void test_roundtrip_torchvision(void)
{
  mkdirs();
  const char *names[] = {"resnet18", "mobilenet_v2", "squeezenet1_1"};
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           PYTHON " %s/tests/models/export_torchvision.py %s resnet18 mobilenet_v2 "
                  "squeezenet1_1 >/dev/null",
           QC_SOURCE_DIR, CACHE);
  fflush(stdout);
  if (system(cmd) != 0) CU_FAIL_FATAL("tests/models/export_torchvision.py failed");
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char model[512], input[512];
    snprintf(model, sizeof model, CACHE "/%s/model.onnx", names[i]);
    snprintf(input, sizeof input, CACHE "/%s/input.npy", names[i]);
    qc_tensor in;
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(qc_npy_read(input, &in, &e), QC_OK);
    roundtrip(model, &in, NULL);
    free(in.data);
  }
}

/* What the file holds, read by an independent reader. */
static void test_file_contents(void)
{
  mkdirs();
  qc_err e = {0};
  qc_graph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e),
                        QC_OK);
  CU_ASSERT_EQUAL(qc_pass_infer_shapes(g, NULL, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/example.onnx", &e), QC_OK);
  qc_graph_free(g);
  CU_ASSERT(python_ok(
      "import onnx, sys\n"
      "m = onnx.load('" WORK "/example.onnx')\n"
      "onnx.checker.check_model(m, full_check=True)\n"
      "assert m.ir_version == 8, m.ir_version\n"
      "ops = {o.domain: o.version for o in m.opset_import}\n"
      "assert ops == {'': 17}, ops\n"
      "d = m.graph.input[0].type.tensor_type.shape.dim\n"
      "assert d[0].dim_param == 'N' and [x.dim_value for x in d[1:]] == [1, 28, 28], d\n"
      "assert m.graph.output[0].type.tensor_type.shape.dim[0].dim_param == 'N'\n"
      "assert all(t.HasField('raw_data') and not t.float_data for t in m.graph.initializer)\n"
      "assert len(m.graph.value_info) >= len(m.graph.node) - 1, len(m.graph.value_info)\n"
      "vi = {v.name: v for v in m.graph.value_info}\n"
      "n0 = [n for n in m.graph.node if n.op_type == 'Conv'][0].output[0]\n"
      "assert vi[n0].type.tensor_type.shape.dim[0].dim_param == 'N'\n"));

  /* Every attribute kind the IR holds, on one node (exported as is, not validated). */
  g = qc_graph_new();
  int64_t d1[1] = {2};
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 1, d1, &e);
  int32_t y = qc_graph_add_value(g, "y", QC_DT_F32, 1, d1, &e);
  int32_t n = qc_graph_add_node(g, QC_OP_Identity, "id", 1, &x, 1, &y, &e);
  qc_attr *a = qc_node_add_attr(g, n, "f", QC_ATTR_FLOAT, &e);
  a->f = 0.25f;
  a = qc_node_add_attr(g, n, "i", QC_ATTR_INT, &e);
  a->i = -7;
  a = qc_node_add_attr(g, n, "s", QC_ATTR_STRING, &e);
  a->s = "SAME_UPPER";
  a->s_len = 10;
  static float fl[3] = {1.5f, -2, 3};
  a = qc_node_add_attr(g, n, "fs", QC_ATTR_FLOATS, &e);
  a->floats = fl;
  a->n = 3;
  static int64_t il[2] = {4, -5};
  a = qc_node_add_attr(g, n, "is", QC_ATTR_INTS, &e);
  a->ints = il;
  a->n = 2;
  static const char *sl[2] = {"a", "bc"};
  a = qc_node_add_attr(g, n, "ss", QC_ATTR_STRINGS, &e);
  a->strings = sl;
  a->n = 2;
  static int32_t tv[3] = {1, -2, 300};
  static uint8_t tu[2] = {7, 250};
  static qc_tensor ts[2] = {{QC_DT_I32, 1, {3}, tv}, {QC_DT_U8, 2, {1, 2}, tu}};
  a = qc_node_add_attr(g, n, "t", QC_ATTR_TENSOR, &e);
  a->tensors = &ts[0];
  a = qc_node_add_attr(g, n, "ts", QC_ATTR_TENSORS, &e);
  a->tensors = ts;
  a->n = 2;
  qc_graph_set_inputs(g, 1, &x, &e);
  qc_graph_set_outputs(g, 1, &y, &e);
  CU_ASSERT_EQUAL(e.code, QC_OK);
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/attrs.onnx", &e), QC_OK);
  qc_graph_free(g);
  CU_ASSERT(python_ok(
      "import onnx\nfrom onnx import numpy_helper as nh, helper as h\n"
      "m = onnx.load('" WORK "/attrs.onnx')\n"
      "a = {x.name: x for x in m.graph.node[0].attribute}\n"
      "A = onnx.AttributeProto\n"
      "assert a['f'].type == A.FLOAT and a['f'].f == 0.25\n"
      "assert a['i'].type == A.INT and a['i'].i == -7\n"
      "assert a['s'].type == A.STRING and a['s'].s == b'SAME_UPPER'\n"
      "assert a['fs'].type == A.FLOATS and list(a['fs'].floats) == [1.5, -2, 3]\n"
      "assert a['is'].type == A.INTS and list(a['is'].ints) == [4, -5]\n"
      "assert a['ss'].type == A.STRINGS and list(a['ss'].strings) == [b'a', b'bc']\n"
      "assert a['t'].type == A.TENSOR and nh.to_array(a['t'].t).tolist() == [1, -2, 300]\n"
      "assert a['ts'].type == A.TENSORS and len(a['ts'].tensors) == 2\n"
      "u = nh.to_array(a['ts'].tensors[1])\n"
      "assert u.dtype.name == 'uint8' and u.tolist() == [[7, 250]], u\n"));
}

static int count_entries(const char *dir)
{
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return -1;
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void test_atomic_write(void)
{
  mkdirs();
  const char *dir = WORK "/atomic";
  mkdir(dir, 0755);
  const char *path = WORK "/atomic/m.onnx";
  FILE *f = fopen(path, "wb");
  fputs("old contents", f);
  fclose(f);
  /* A graph that fails half-way: an i4 constant has no ONNX form outside the QDQ lowering. */
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int64_t d[1] = {4};
  uint8_t packed[2] = {0x21, 0x43};
  int32_t w = qc_graph_add_const(g, "w4", QC_DT_I4, 1, d, packed, &e);
  int32_t y = qc_graph_add_value(g, "y", QC_DT_I4, 1, d, &e);
  qc_graph_add_node(g, QC_OP_Identity, "id", 1, &w, 1, &y, &e);
  qc_graph_set_outputs(g, 1, &y, &e);
  CU_ASSERT_EQUAL(qc_onnx_save(g, path, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "tensor 'w4': dtype i4 has no ONNX equivalent");
  size_t len = 0;
  char *b = read_all(path, &len);
  CU_ASSERT(b && strcmp(b, "old contents") == 0);
  free(b);
  CU_ASSERT_EQUAL(count_entries(dir), 1);
  qc_graph_free(g);

  /* An unwritable folder: an I/O error naming the temporary file, nothing created. */
  qc_err_clear(&e);
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e),
                        QC_OK);
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/no-such-dir/m.onnx", &e), QC_ERR_IO);
  CU_ASSERT(strncmp(e.msg, "cannot create '" WORK "/no-such-dir/m.onnx.tmp.", 15 + strlen(WORK) + 24) ==
            0);
  CU_ASSERT(strstr(e.msg, "No such file or directory") != NULL);
  /* Success replaces the old file. */
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_onnx_save(g, path, &e), QC_OK);
  CU_ASSERT_EQUAL(count_entries(dir), 1);
  struct stat st;
  CU_ASSERT(stat(path, &st) == 0 && st.st_size > 100000 && (st.st_mode & 0444) == 0444);
  qc_graph_free(g);
}

/* ---- integer graphs --------------------------------------------------------------------- */

static void test_int_qdq_form(void)
{
  mkdirs();
  for (int variant = 0; variant < 3; variant++) {
    qc_err e = {0};
    bool w4 = variant == 1, sr = variant == 2;
    qc_graph *g = int_graph_build(w4, sr, &e);
    if (!g) printf("\n    %s", e.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char path[256];
    snprintf(path, sizeof path, WORK "/int%d.onnx", variant);
    CU_ASSERT_EQUAL(qc_onnx_save(g, path, &e), QC_OK);
    if (e.code) printf("\n    %s", e.msg);
    char script[2048];
    snprintf(script, sizeof script,
             "import onnx, collections\nfrom onnx import numpy_helper as nh\n"
             "m = onnx.load('%s')\n"
             "onnx.checker.check_model(m, full_check=True)\n"
             "ops = collections.Counter(n.op_type for n in m.graph.node)\n"
             "assert {o.domain for o in m.opset_import} == {''}, m.opset_import\n"
             "assert ops['QuantizeLinear'] == 4 and ops['Conv'] == 2 and ops['Gemm'] == 1, ops\n"
             "assert ops['Add'] == 3 and ops['MaxPool'] == 1 and ops['Floor'] == 3, ops\n"
             "assert ops['Mul'] == 2 and ops['Clip'] == %d and ops['Relu'] == 0, ops\n"
             "init = {t.name: nh.to_array(t) for t in m.graph.initializer}\n"
             "w2 = init['w2_quantized']\n"
             "assert w2.dtype.name == 'int8' and w2.min() >= %d and w2.max() <= %d\n"
             "assert init['b1'].dtype.name == 'int32' and init['w1_scale'].shape == (8,)\n"
             "t = {v.name: v.type.tensor_type.elem_type for v in m.graph.value_info}\n"
             "T = onnx.TensorProto\n"
             "assert t['y1'] == %s and t['y3'] == T.UINT8 and t['y4'] == T.INT8, t\n",
             path, sr ? 3 : 2, w4 ? -8 : -127, w4 ? 7 : 127, "T.UINT8");
    CU_ASSERT(python_ok(script));

    /* quantc's fp32 interpreter on the QDQ file vs its integer interpreter on the graph,
       at the output and at intermediate activations (made graph outputs for the check): a
       conv's requantization differs only at near-ties (dyadic round-half-up vs float
       round-half-even), QcAdd's two roundings vs one can move a value by one step, and the
       final FC may amplify a one-step input difference. */
    const char *names[] = {"y", "y1", "y3", "y4", "y5"};
    int32_t outs[5];
    for (int i = 0; i < 5; i++) outs[i] = qc_graph_find_value(g, names[i]);
    CU_ASSERT_EQUAL(qc_graph_set_outputs(g, 5, outs, &e), QC_OK);
    CU_ASSERT_EQUAL(qc_onnx_save(g, path, &e), QC_OK);
    qc_graph *h = NULL;
    CU_ASSERT_EQUAL(qc_onnx_load(path, &h, &e), QC_OK);
    if (e.code) printf("\n    %s", e.msg);
    qc_tensor in = random_input(16, 3, 8, 11u + (unsigned)variant);
    qc_interp *ia = NULL, *ib = NULL;
    CU_ASSERT_EQUAL(qc_interp_new(g, 1, &ia, &e), QC_OK);
    CU_ASSERT_EQUAL(h ? qc_interp_new(h, 1, &ib, &e) : QC_ERR_INVALID, QC_OK);
    CU_ASSERT_EQUAL(ia ? qc_interp_run(ia, &in, 1, &e) : QC_ERR_INVALID, QC_OK);
    CU_ASSERT_EQUAL(ib ? qc_interp_run(ib, &in, 1, &e) : QC_ERR_INVALID, QC_OK);
    if (e.code) printf("\n    %s", e.msg);
    static const double max_steps[5] = {1, 1, 1, 1, 1};
    static const double max_frac[5] = {0.02, 0.01, 0.01, 0.01, 0.02};
    for (int k = 0; ia && ib && !e.code && k < 5; k++) {
      const qc_tensor *a = qc_interp_output(ia, k), *b = qc_interp_output(ib, k);
      int64_t n = qc_tensor_elems(a), off = 0;
      CU_ASSERT_EQUAL_FATAL(a->dtype, b->dtype);
      CU_ASSERT_EQUAL_FATAL(n, qc_tensor_elems(b));
      double mx = 0, step = k == 0 ? 4.0 / 127 : 1;
      for (int64_t i = 0; i < n; i++) {
        double va, vb;
        if (a->dtype == QC_DT_F32) va = ((float *)a->data)[i], vb = ((float *)b->data)[i];
        else if (a->dtype == QC_DT_U8) va = ((uint8_t *)a->data)[i], vb = ((uint8_t *)b->data)[i];
        else va = ((int8_t *)a->data)[i], vb = ((int8_t *)b->data)[i];
        double d = fabs(va - vb) / step;
        mx = d > mx ? d : mx;
        off += d > 0.5;
      }
      printf("\n    variant %d %s: %lld of %lld differ, max %.3g steps", variant, names[k],
             (long long)off, (long long)n, mx);
      CU_ASSERT(mx <= max_steps[k] + 0.01);
      CU_ASSERT((double)off <= max_frac[k] * (double)n);
    }
    qc_interp_free(ia);
    qc_interp_free(ib);
    free(in.data);
    qc_graph_free(h);
    qc_graph_free(g);
  }
}

static void test_int_keep_ops(void)
{
  qc_err e = {0};
  qc_graph *g = int_graph_build(false, false, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  qc_onnx_export_opts o = {.keep_int_ops = true};
  void *buf = NULL;
  size_t len = 0;
  CU_ASSERT_EQUAL(qc_onnx_save_buffer_ex(g, &o, &buf, &len, &e), QC_OK);
  qc_graph *h = NULL;
  CU_ASSERT_EQUAL(qc_onnx_load_buffer(buf, len, NULL, &h, &e), QC_OK);
  if (e.code) printf("\n    %s", e.msg);
  free(buf);
  if (h) {
    qc_tensor in = random_input(4, 3, 8, 5);
    qc_tensor a = run1(g, &in), b = run1(h, &in);
    CU_ASSERT(a.data && b.data && memcmp(a.data, b.data, (size_t)qc_tensor_bytes(&a)) == 0);
    free(a.data);
    free(b.data);
    free(in.data);
  }
  qc_graph_free(h);
  qc_graph_free(g);
}

static void test_int_errors(void)
{
  qc_err e = {0};
  qc_graph *g = int_graph_build(false, false, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  int32_t y3 = qc_graph_find_value(g, "y3");
  g->values[y3].q = NULL;
  void *buf = NULL;
  size_t len = 0;
  CU_ASSERT_EQUAL(qc_onnx_save_buffer(g, &buf, &len, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'conv2' (QcConv): value 'y3' has no quantization scale "
                                "(qparams); it cannot be written in QDQ form");
  CU_ASSERT_PTR_NULL(buf);
  qc_graph_free(g);

  qc_err_clear(&e);
  g = int_graph_build(true, false, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  g->values[qc_graph_find_value(g, "w3")].q = NULL;
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/never.onnx", &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'fc' (QcGemm): weight 'w3' has no per-channel scales "
                                "(qparams); it cannot be written in QDQ form");
  CU_ASSERT(access(WORK "/never.onnx", F_OK) != 0);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"fp32 round trip: example model", test_roundtrip_example},
    {"fp32 round trip: torchvision models", test_roundtrip_torchvision},
    {"file contents read by python onnx", test_file_contents},
    {"atomic writes", test_atomic_write},
    {"integer graph: QDQ form", test_int_qdq_form},
    {"integer graph: quantc ops kept", test_int_keep_ops},
    {"integer graph: errors", test_int_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"onnx_export", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
