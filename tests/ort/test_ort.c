/* Cross-check with an independent engine: ONNX Runtime (npm onnxruntime-node, installed by
 * scripts/install-ort.sh into QC_BINARY_DIR/ort) runs models quantc exported, through
 * tests/ort/run_ort.js (one thread), and quantc's interpreter runs the same inputs.
 *
 *  (a) the fp32 example model on 1,000 Fashion-MNIST test images: max|ORT - quantc| <= 1e-4 of
 *      max|quantc|;
 *  (b) hand-built integer graphs (tests/ort/int_graph.h: 8- and 4-bit weights, 4-bit and 7-bit
 *      activations, QcAdd, QcGlobalAveragePool) exported in QDQ form: outputs within one step;
 *  (c) the example model quantized W8A8 (calibration on a seeded 512-image subset of the
 *      training set), exported in QDQ form, on all 10,000 test images: the same top-1 on
 *      >= 99.8% of images and |logit difference| <= 1 step of the output scale on >= 99.9%
 *      of elements (issue 4). The measured figures are printed (docs/onnx-export.md).
 *
 * Without node/npm or network access to the npm registry the install fails; the test then
 * prints "SKIPPED: ..." and exits 77 (ctest's skip code), never passing silently.
 * QC_ORT_DIR=path uses an existing installation instead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"
#include "data.h"
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "quantizers.h"
#include "ort/int_graph.h"

#define WORK QC_BINARY_DIR "/ort-test"
#define FASHION "/usr/share/datasets/fashion-mnist"
#define MEAN 0.2860f
#define STD 0.3530f
#define N_TEST 10000
#define N_CALIB 512
#define CALIB_BATCH 64
#define CALIB_SEED 20240611u

static char ort_dir[1024];

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs run_ort.js; returns 1 on success. */
static int ort_run(const char *model, const char *in, const char *out, int batch,
                   const char *opt)
{
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "node %s/tests/ort/run_ort.js %s %s %s --ort %s --batch %d --opt %s",
           QC_SOURCE_DIR, model, in, out, ort_dir, batch, opt);
  fflush(stdout);
  int rc = system(cmd);
  if (rc != 0) printf("\n    failed (%d): %s", rc, cmd);
  return rc == 0;
}

/* Images [first, first + n) of an IDX file, normalized as the example model expects. */
static float *fashion_images(const char *file, const int64_t *idx, int64_t n, int64_t first)
{
  qc_tensor img;
  qc_err e = {0};
  if (qc_idx_read(file, &img, &e)) {
    printf("\n    %s", e.msg);
    return NULL;
  }
  float *x = malloc(sizeof(float) * (size_t)(n * 784));
  for (int64_t i = 0; x && i < n; i++) {
    const uint8_t *p = (const uint8_t *)img.data + (idx ? idx[i] : first + i) * 784;
    for (int k = 0; k < 784; k++) x[i * 784 + k] = ((float)p[k] / 255.0f - MEAN) / STD;
  }
  free(img.data);
  return x;
}

/* quantc's interpreter on n images in batches; returns malloc'd [n, 10] logits. */
static float *interp_logits(const qc_graph *g, const float *x, int64_t n, int64_t batch)
{
  qc_interp *it = NULL;
  qc_err e = {0};
  float *y = malloc(sizeof(float) * (size_t)(n * 10));
  if (!y || qc_interp_new(g, 2, &it, &e)) goto fail;
  for (int64_t b = 0; b < n; b += batch) {
    int64_t m = n - b < batch ? n - b : batch;
    qc_tensor in = {.dtype = QC_DT_F32, .rank = 4, .dims = {m, 1, 28, 28},
                    .data = (void *)(x + b * 784)};
    if (qc_interp_run(it, &in, 1, &e)) goto fail;
    const qc_tensor *o = qc_interp_output(it, 0);
    if (o->dtype != QC_DT_F32 || qc_tensor_elems(o) != m * 10) {
      qc_err_set(&e, QC_ERR_INTERNAL, "unexpected output shape");
      goto fail;
    }
    memcpy(y + b * 10, o->data, sizeof(float) * (size_t)(m * 10));
  }
  qc_interp_free(it);
  return y;
fail:
  printf("\n    interpreter: %s", e.msg);
  qc_interp_free(it);
  free(y);
  return NULL;
}

static int write_npy(const char *path, const float *x, int rank, const int64_t *dims)
{
  qc_tensor t = {.dtype = QC_DT_F32, .rank = rank, .data = (void *)x};
  memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
  qc_err e = {0};
  if (qc_npy_write(path, &t, &e)) {
    printf("\n    %s", e.msg);
    return 0;
  }
  return 1;
}

/* ORT's output NPY as malloc'd floats, checked to hold `elems` f32 elements. */
static float *read_out(const char *path, int64_t elems)
{
  qc_tensor t;
  qc_err e = {0};
  if (qc_npy_read(path, &t, &e)) {
    printf("\n    %s", e.msg);
    return NULL;
  }
  if (t.dtype != QC_DT_F32 || qc_tensor_elems(&t) != elems) {
    printf("\n    %s: %s with %lld elements, expected f32 with %lld", path,
           qc_dtype_name(t.dtype), (long long)qc_tensor_elems(&t), (long long)elems);
    free(t.data);
    return NULL;
  }
  return t.data;
}

static int argmax10(const float *v)
{
  int k = 0;
  for (int i = 1; i < 10; i++)
    if (v[i] > v[k]) k = i;
  return k;
}

/* ---- (a) fp32 ------------------------------------------------------------------------- */

static void test_fp32_example(void)
{
  const int64_t n = 1000;
  float *x = fashion_images(FASHION "/t10k-images-idx3-ubyte.gz", NULL, n, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(x);
  qc_err e = {0};
  qc_graph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e),
                        QC_OK);
  /* ORT runs quantc's export of the model, so the exporter is checked too. */
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/fp32.onnx", &e), QC_OK);
  int64_t dims[4] = {n, 1, 28, 28};
  CU_ASSERT_FATAL(write_npy(WORK "/fp32_in.npy", x, 4, dims));
  CU_ASSERT_FATAL(ort_run(WORK "/fp32.onnx", WORK "/fp32_in.npy", WORK "/fp32_out.npy", 250, "all"));
  float *ref = interp_logits(g, x, n, 250), *o = read_out(WORK "/fp32_out.npy", n * 10);
  CU_ASSERT_PTR_NOT_NULL(ref);
  CU_ASSERT_PTR_NOT_NULL(o);
  if (ref && o) {
    double md = 0, mr = 0;
    int same = 0;
    for (int64_t i = 0; i < n * 10; i++) {
      md = fmax(md, fabs((double)o[i] - ref[i]));
      mr = fmax(mr, fabs((double)ref[i]));
    }
    for (int64_t i = 0; i < n; i++) same += argmax10(o + i * 10) == argmax10(ref + i * 10);
    printf("\n    fp32, %lld images: max|ORT - quantc| / max|quantc| = %.3g, same top-1 %d",
           (long long)n, md / mr, same);
    CU_ASSERT(md <= 1e-4 * mr);
  }
  free(ref);
  free(o);
  free(x);
  qc_graph_free(g);
}

/* ---- (b) hand-built integer graphs -------------------------------------------------------- */

/* ORT's "basic" level runs the QDQ graph as written (float Conv/Gemm over exactly dequantized
   integers); "all", its default, fuses DequantizeLinear-Conv-QuantizeLinear into int8 kernels
   (QLinearConv), whose u8 x s8 products on AVX2 CPUs without VNNI go through vpmaddubsw and
   saturate pairs at int16 (ONNX Runtime's documented reduce_range caveat). The first is
   asserted; the second's agreement is printed. */
static const char *const levels[2] = {"basic", "all"};

static void test_int_graphs(void)
{
  for (int variant = 0; variant < 3; variant++) {
    qc_err e = {0};
    qc_graph *g = int_graph_build(variant == 1, variant == 2, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    char model[256], in_p[256], out_p[256];
    snprintf(model, sizeof model, WORK "/int%d.onnx", variant);
    snprintf(in_p, sizeof in_p, WORK "/int%d_in.npy", variant);
    snprintf(out_p, sizeof out_p, WORK "/int%d_out.npy", variant);
    CU_ASSERT_EQUAL(qc_onnx_save(g, model, &e), QC_OK);
    const int64_t n = 256;
    float *x = malloc(sizeof(float) * (size_t)(n * 192));
    ig_rng r = {99u + (unsigned)variant};
    for (int64_t i = 0; i < n * 192; i++) x[i] = (float)(5 * ig_uniform(&r) - 2.5);
    int64_t dims[4] = {n, 3, 8, 8};
    CU_ASSERT_FATAL(write_npy(in_p, x, 4, dims));
    qc_interp *it = NULL;
    qc_tensor in = {.dtype = QC_DT_F32, .rank = 4, .dims = {n, 3, 8, 8}, .data = x};
    CU_ASSERT_EQUAL(qc_interp_new(g, 1, &it, &e), QC_OK);
    CU_ASSERT_EQUAL(it ? qc_interp_run(it, &in, 1, &e) : e.code, QC_OK);
    for (int lv = 0; lv < 2 && !e.code; lv++) {
      CU_ASSERT_FATAL(ort_run(model, in_p, out_p, 64, levels[lv]));
      float *o = read_out(out_p, n * 10);
      if (!o) {
        CU_FAIL("no ORT output");
        continue;
      }
      const float *ref = qc_interp_output(it, 0)->data;
      double step = 4.0 / 127, mx = 0;
      int64_t off = 0;
      for (int64_t i = 0; i < n * 10; i++) {
        double d = fabs((double)o[i] - ref[i]) / step;
        mx = fmax(mx, d);
        off += d > 0.5;
      }
      printf("\n    integer graph %d, ORT level %-5s: %lld of %lld outputs differ, max %.3g "
             "steps%s",
             variant, levels[lv], (long long)off, (long long)(n * 10), mx,
             lv ? " (not asserted: int8 kernels, see docs/onnx-export.md)" : "");
      if (lv == 0) {
        CU_ASSERT(mx <= 1.01);
        CU_ASSERT(off <= n * 10 / 100);
      }
      free(o);
    }
    free(x);
    qc_interp_free(it);
    qc_graph_free(g);
  }
}

/* ---- (c) the example model, W8A8 ---------------------------------------------------------- */

/* splitmix64: the calibration subset is the same on every platform. */
static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* The output scale: the QcDequantize writing graph output 0. */
static float output_scale(const qc_graph *g)
{
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == QC_OP_QcDequantize && g->nodes[i].out[0] == g->outputs[0])
      return qc_attr_f(&g->nodes[i], "scale", 0.0f);
  return 0.0f;
}

static void test_w8a8_example(void)
{
  double t0 = now();
  /* Calibration: a seeded subset of the training set (partial Fisher-Yates). */
  static int64_t perm[60000];
  for (int64_t i = 0; i < 60000; i++) perm[i] = i;
  uint64_t s = CALIB_SEED;
  for (int64_t i = 0; i < N_CALIB; i++) {
    int64_t j = i + (int64_t)(splitmix(&s) % (uint64_t)(60000 - i));
    int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  float *cx = fashion_images(FASHION "/train-images-idx3-ubyte.gz", perm, N_CALIB, 0);
  float *x = fashion_images(FASHION "/t10k-images-idx3-ubyte.gz", NULL, N_TEST, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cx);
  CU_ASSERT_PTR_NOT_NULL_FATAL(x);
  qc_tensor calib[N_CALIB / CALIB_BATCH];
  for (int b = 0; b < N_CALIB / CALIB_BATCH; b++)
    calib[b] = (qc_tensor){.dtype = QC_DT_F32, .rank = 4, .dims = {CALIB_BATCH, 1, 28, 28},
                           .data = cx + (int64_t)b * CALIB_BATCH * 784};
  qc_err e = {0};
  qc_graph *g = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_onnx_load(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &g, &e),
                        QC_OK);
  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  o.threads = 2;
  CU_ASSERT_EQUAL(qc_quantize_uniform(g, &o, calib, N_CALIB / CALIB_BATCH, NULL, &e), QC_OK);
  if (e.code) {
    printf("\n    quantize: %s", e.msg);
    CU_FAIL_FATAL("quantization failed");
  }
  CU_ASSERT_EQUAL(qc_onnx_save(g, WORK "/w8a8.onnx", &e), QC_OK);
  if (e.code) printf("\n    export: %s", e.msg);
  float step = output_scale(g);
  CU_ASSERT_FATAL(step > 0);
  double t1 = now();
  int64_t dims[4] = {N_TEST, 1, 28, 28};
  CU_ASSERT_FATAL(write_npy(WORK "/test_in.npy", x, 4, dims));
  double t2 = now();
  float *ref = interp_logits(g, x, N_TEST, 500);
  double t3 = now();
  CU_ASSERT_PTR_NOT_NULL(ref);
  int64_t odims[2] = {N_TEST, 10};
  if (ref) write_npy(WORK "/w8a8_quantc.npy", ref, 2, odims);
  qc_tensor lab;
  qc_err le = {0};
  int have_lab = qc_idx_read(FASHION "/t10k-labels-idx1-ubyte.gz", &lab, &le) == QC_OK;
  int64_t acc_q = 0;
  for (int64_t i = 0; ref && have_lab && i < N_TEST; i++)
    acc_q += argmax10(ref + i * 10) == ((uint8_t *)lab.data)[i];
  printf("\n    W8A8, %d test images, output step %.4g; quantize %.1fs, quantc interpreter "
         "%.1fs, top-1 accuracy %.2f%%",
         N_TEST, (double)step, t1 - t0, t3 - t2, 100.0 * (double)acc_q / N_TEST);
  for (int lv = 0; lv < 2 && ref; lv++) {
    char out[256];
    snprintf(out, sizeof out, WORK "/w8a8_ort_%s.npy", levels[lv]);
    double ta = now();
    CU_ASSERT_FATAL(ort_run(WORK "/w8a8.onnx", WORK "/test_in.npy", out, 500, levels[lv]));
    double tb = now();
    float *y = read_out(out, N_TEST * 10);
    CU_ASSERT_PTR_NOT_NULL(y);
    if (!y) continue;
    int64_t same = 0, within = 0, exact = 0, acc_o = 0;
    double mx = 0;
    for (int64_t i = 0; i < N_TEST; i++) {
      int a = argmax10(ref + i * 10), b = argmax10(y + i * 10);
      same += a == b;
      if (have_lab) acc_o += b == ((uint8_t *)lab.data)[i];
      for (int k = 0; k < 10; k++) {
        double d = fabs((double)y[i * 10 + k] - ref[i * 10 + k]) / step;
        mx = fmax(mx, d);
        within += d <= 1.0 + 1e-3;
        exact += d < 0.5;
      }
    }
    double f_same = (double)same / N_TEST, f_within = (double)within / (N_TEST * 10);
    printf("\n    ORT level %s%s:"
           "\n      same top-1: %lld (%.2f%%)"
           "\n      logits within 1 step: %.3f%%, identical: %.3f%%, max %.3g steps"
           "\n      ORT top-1 accuracy %.2f%%, ORT time %.1fs",
           levels[lv], lv ? " (not asserted: int8 kernels, see docs/onnx-export.md)" : "",
           (long long)same, 100 * f_same, 100 * f_within, 100.0 * (double)exact / (N_TEST * 10),
           mx, 100.0 * (double)acc_o / N_TEST, tb - ta);
    if (lv == 0) {
      CU_ASSERT(f_same >= 0.998);
      CU_ASSERT(f_within >= 0.999);
    }
    free(y);
  }
  if (have_lab) free(lab.data);
  free(ref);
  free(x);
  free(cx);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"fp32 example model: ORT vs interpreter", test_fp32_example},
    {"hand-built integer graphs in QDQ form", test_int_graphs},
    {"W8A8 example model on the test set", test_w8a8_example},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"ort", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
  const char *dir = getenv("QC_ORT_DIR");
  mkdir(WORK, 0755);
  if (dir && *dir) {
    snprintf(ort_dir, sizeof ort_dir, "%s", dir);
  } else {
    snprintf(ort_dir, sizeof ort_dir, "%s/ort", QC_BINARY_DIR);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/scripts/install-ort.sh %s >%s/install.log 2>&1", QC_SOURCE_DIR,
             ort_dir, WORK);
    if (system(cmd) != 0) {
      printf("SKIPPED: ort/test_ort: scripts/install-ort.sh could not install onnxruntime-node "
             "(see %s/install.log)\n", WORK);
      return 77;
    }
  }
  if (system("node --version >/dev/null 2>&1") != 0) {
    printf("SKIPPED: ort/test_ort: node is not on PATH\n");
    return 77;
  }
  struct stat st;
  if (stat(FASHION "/t10k-images-idx3-ubyte.gz", &st) != 0) {
    printf("SKIPPED: ort/test_ort: Fashion-MNIST not found in %s\n", FASHION);
    return 77;
  }
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  if (CU_register_suites(suites) != CUE_SUCCESS) {
    CU_cleanup_registry();
    return 2;
  }
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  CU_cleanup_registry();
  return failed ? 1 : 0;
}
