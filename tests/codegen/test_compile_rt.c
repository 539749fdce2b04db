/* Compiled graphs with convolutions, run through the runtime (qcrt_load) on 1 and 3 threads and
 * compared with the interpreter: fp32 within 1e-5 relative (1e-4 absolute for the deeper
 * convolution chains), integer graphs bit for bit. Checks the fusion the steps report
 * (Conv+Add+Relu as one step) and the per-step outputs through the hook. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "interp.h"
#include "quantc_rt.h"
#include "testutil.h"
#include "cg_graph.h"

static void fill_input(qc_tensor *t, const qc_value *v, uint64_t *seed)
{
  memset(t, 0, sizeof *t);
  t->dtype = v->dtype, t->rank = v->rank;
  memcpy(t->dims, v->dims, sizeof t->dims);
  int64_t n = qc_tensor_elems(t);
  t->data = calloc((size_t)qc_tensor_bytes(t) + 8, 1);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_next(seed);
    if (t->dtype == QC_DT_F32) ((float *)t->data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    else if (t->dtype == QC_DT_U8) ((uint8_t *)t->data)[i] = (uint8_t)r;
    else if (t->dtype == QC_DT_I8) ((int8_t *)t->data)[i] = (int8_t)r;
  }
}

static int compare(const qc_tensor *ref, const void *got, double abs_tol, const char *what)
{
  int64_t n = qc_tensor_elems(ref), bad = 0;
  for (int64_t i = 0; i < n; i++) {
    if (ref->dtype == QC_DT_F32) {
      float a = ((const float *)ref->data)[i], b = ((const float *)got)[i];
      if (!(fabs((double)a - (double)b) <= 1e-5 * fabs((double)a) + abs_tol) && bad++ < 5)
        fprintf(stderr, "%s[%lld]: want %.9g got %.9g\n", what, (long long)i, (double)a, (double)b);
    } else {
      size_t es = (size_t)qc_dtypes[ref->dtype].bits / 8;
      if (memcmp((const char *)ref->data + i * es, (const char *)got + i * es, es) && bad++ < 5)
        fprintf(stderr, "%s[%lld]: differs\n", what, (long long)i);
    }
  }
  return (int)bad;
}

/* Compiles, runs on 1 and 3 threads, compares; returns the ops of the steps joined by ' '. */
static void check(const char *name, const char *text, double abs_tol, char *ops, size_t ops_len)
{
  qc_graph *g = parse(text);
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/tests/cgrt_%s", QC_BINARY_DIR, name);
  qc_cg_options o;
  memset(&o, 0, sizeof o);
  qc_cg_report rep;
  qc_err e = {0};
  qc_status st = qc_compile(g, &o, dir, &rep, &e);
  if (st) fprintf(stderr, "%s: %s\n", name, e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  qc_tensor ins[4];
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  const void *in_ptrs[4];
  for (int i = 0; i < g->n_inputs; i++) {
    fill_input(&ins[i], &g->values[g->inputs[i]], &seed);
    in_ptrs[i] = ins[i].data;
  }
  qc_interp *it = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, ins, g->n_inputs, &e), QC_OK);
  for (int threads = 1; threads <= 3; threads += 2) {
    qcrt_model *m = NULL;
    qcrt_err re = {0};
    qcrt_status rs = qcrt_load(dir, threads, &m, &re);
    if (rs) fprintf(stderr, "%s: %s\n", name, re.msg);
    CU_ASSERT_EQUAL_FATAL(rs, QCRT_OK);
    void *outs[4];
    for (int i = 0; i < g->n_outputs; i++) outs[i] = calloc(qc_tensor_bytes(qc_interp_output(it, i)) + 8, 1);
    CU_ASSERT_EQUAL(qcrt_run(m, in_ptrs, outs, &re), QCRT_OK);
    for (int i = 0; i < g->n_outputs; i++) {
      CU_ASSERT_EQUAL(compare(qc_interp_output(it, i), outs[i], abs_tol, name), 0);
      free(outs[i]);
    }
    if (threads == 1 && ops) {
      ops[0] = 0;
      for (int s = 0; s < qcrt_num_steps(m); s++) {
        qcrt_step_info si;
        CU_ASSERT_EQUAL(qcrt_step_info_get(m, s, &si, &re), QCRT_OK);
        size_t l = strlen(ops);
        snprintf(ops + l, ops_len - l, "%s%s", s ? " " : "", si.op);
      }
    }
    qcrt_free(m);
  }
  qc_interp_free(it);
  for (int i = 0; i < g->n_inputs; i++) free(ins[i].data);
  qc_graph_free(g);
}

static void test_fp32_resnet_block(void)
{
  char ops[512];
  check("fp32block",
        "graph t opset 17 {\n input %x: f32[2,3,12,12]\n"
        " const %ws: f32[8,3,3,3] = ...\n const %bs: f32[8] = ...\n const %w1: f32[8,8,3,3] = ...\n"
        " const %w2: f32[8,8,3,3] = ...\n const %b2: f32[8] = ...\n const %fc: f32[8,5] = ...\n"
        " const %fb: f32[5] = ...\n"
        " %h: f32[2,8,12,12] = Conv(%x, %ws, %bs) {pads=[1, 1, 1, 1]} @stem\n"
        " %hr: f32[2,8,12,12] = Relu(%h) @stem_relu\n"
        " %p: f32[2,8,6,6] = MaxPool(%hr) {kernel_shape=[2, 2], strides=[2, 2]} @pool\n"
        " %c1: f32[2,8,6,6] = Conv(%p, %w1, _) {pads=[1, 1, 1, 1]} @c1\n"
        " %r1: f32[2,8,6,6] = Relu(%c1) @r1\n"
        " %c2: f32[2,8,6,6] = Conv(%r1, %w2, %b2) {pads=[1, 1, 1, 1]} @c2\n"
        " %s: f32[2,8,6,6] = Add(%c2, %p) @add\n %o: f32[2,8,6,6] = Relu(%s) @r2\n"
        " %g: f32[2,8,1,1] = GlobalAveragePool(%o) @gap\n %f: f32[2,8] = Flatten(%g) @flat\n"
        " %l: f32[2,5] = Gemm(%f, %fc, %fb) {alpha=0.5, beta=2.0} @fc\n"
        " %y: f32[2,5] = Softmax(%l) @sm\n output %y, %l\n}\n",
        1e-5, ops, sizeof ops);
  CU_ASSERT_STRING_EQUAL(ops, "Conv+Relu MaxPool Conv+Relu Conv+Add+Relu GlobalAveragePool Gemm Softmax");
}

static void test_int8_block(void)
{
  char ops[512];
  check("int8block",
        "graph t opset 17 {\n input %x: f32[1,3,10,10]\n"
        " const %w1: i8[8,3,3,3] = ...\n const %b1: i32[8] = ...\n const %w2: i8[8,8,3,3] = ...\n"
        " const %w3: i4[8,8,1,1] = ...\n const %fc: i8[4,8] = ...\n const %fb: i32[4] = ...\n"
        " %q: i8[1,3,10,10] = quantc.QcQuantize(%x) {scale=0.02, qmin=-128, qmax=127} @quant\n"
        " %a: u8[1,8,10,10] = quantc.QcConv(%q, %w1, %b1) {pads=[1, 1, 1, 1], "
        "mult=[1500000000, 1300000000, 1200000000, 1100000000, 1600000000, 1700000000, 1800000000, 1900000000], "
        "shift=[38, 38, 38, 38, 39, 39, 39, 39], qmin=0, qmax=255} @conv1\n"
        " %b: i8[1,8,10,10] = quantc.QcConv(%a, %w2, _) {pads=[1, 1, 1, 1], "
        "mult=[1500000000, 1300000000, 1200000000, 1100000000, 1600000000, 1700000000, 1800000000, 1900000000], "
        "shift=[42, 42, 42, 42, 43, 43, 43, 43], qmin=-128, qmax=127} @conv2\n"
        " %s: i16[1,8,10,10] = quantc.QcAdd(%a, %b) {mult=[1073741824, 1610612736], shift=[31, 31], qmin=-32768, qmax=32767} @add\n"
        " %c: i8[1,8,10,10] = quantc.QcConv(%a, %w3, _) {mult=[1073741824, 1073741824, 1073741824, 1073741824, "
        "1073741824, 1073741824, 1073741824, 1073741824], shift=[36, 36, 36, 36, 36, 36, 36, 36], qmin=-127, qmax=127} @conv3\n"
        " %p: i8[1,8,5,5] = MaxPool(%c) {kernel_shape=[2, 2], strides=[2, 2]} @pool\n"
        " %g: i8[1,8,1,1] = quantc.QcGlobalAveragePool(%p) @gap\n %f: i8[1,8] = Flatten(%g) @flat\n"
        " %l: i8[1,4] = quantc.QcGemm(%f, %fc, %fb) {mult=[1073741824, 1073741824, 1073741824, 1073741824], "
        "shift=[36, 36, 36, 36], qmin=-128, qmax=127} @fc\n"
        " %y: f32[1,4] = quantc.QcDequantize(%l) {scale=0.1} @dq\n"
        " output %y, %s\n}\n",
        0, ops, sizeof ops);
  CU_ASSERT_STRING_EQUAL(ops, "QcQuantize QcConv QcConv+QcAdd QcConv MaxPool QcGlobalAveragePool QcGemm QcDequantize");
}

static CU_TestInfo tests[] = {
    {"fp32 resnet block through the runtime", test_fp32_resnet_block},
    {"integer block through the runtime, bit exact", test_int8_block},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"compile_rt", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
