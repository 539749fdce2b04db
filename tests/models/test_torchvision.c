/* Whole models through quantc's fp32 interpreter, checked against PyTorch.
 *
 * Five torchvision classifiers with seeded random weights and non-trivial BatchNorm statistics
 * (tests/models/export_torchvision.py), and the example Fashion-MNIST ResNet on 100 test images
 * (tests/models/export_example_ref.py). The Python scripts write model.onnx, input.npy and
 * PyTorch's output.npy into QC_BINARY_DIR/models-cache (cached by script hash); this test loads
 * the ONNX file, runs it and requires max|quantc - torch| / max|torch| <= 1e-4.
 *
 * Without /usr/bin/python3 + torch + torchvision + onnx the test prints "SKIPPED: ..." and exits
 * with 77, which tests/CMakeLists.txt declares as ctest's skip code, so it never passes silently.
 *
 * Environment (used by benchmarks/interp_time.sh):
 *   QC_MODELS=resnet50,example   only these cases (default: all)
 *   QC_MODEL_RUNS=5              timed runs per model, the median is printed (default 1)
 *   QC_THREADS=n                 interpreter threads (default 0: one per CPU)
 *   QC_PYTHON=path               the Python to use (default /usr/bin/python3) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"
#include "interp.h"
#include "ir.h"
#include "onnx.h"
#include "passes.h"

#define PYTHON_DEFAULT "/usr/bin/python3"
#define CACHE QC_BINARY_DIR "/models-cache"
#define TOLERANCE 1e-4
#define SKIP_CODE 77

/* ---- a tiny independent NPY reader (little-endian f4/i8, C order, format 1.x/2.x) -------- */

typedef struct {
  char descr[8];
  int rank;
  int64_t dims[QC_MAX_RANK];
  int64_t elems;
  void *data; /* malloc'd */
} npy;

static int npy_load(const char *path, npy *a)
{
  memset(a, 0, sizeof *a);
  FILE *f = fopen(path, "rb");
  if (!f) {
    printf("\n    cannot open %s: %s", path, strerror(errno));
    return 0;
  }
  unsigned char pre[12];
  int ok = 0;
  char *hdr = NULL;
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) goto done;
  size_t hlen;
  if (pre[6] == 1) {
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  } else if (pre[6] == 2 || pre[6] == 3) {
    if (fread(pre + 10, 1, 2, f) != 2) goto done;
    hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
  } else {
    goto done;
  }
  if (hlen > 10000) goto done;
  hdr = calloc(1, hlen + 1);
  if (!hdr || fread(hdr, 1, hlen, f) != hlen) goto done;
  const char *d = strstr(hdr, "'descr':");
  const char *fo = strstr(hdr, "'fortran_order':");
  const char *sh = strstr(hdr, "'shape':");
  if (!d || !fo || !sh) goto done;
  const char *fv = fo + 16;
  while (*fv == ' ') fv++;
  if (strncmp(fv, "False", 5) != 0) goto done;
  if (sscanf(d + 8, " '%7[^']'", a->descr) != 1) goto done;
  size_t esz;
  if (strcmp(a->descr, "<f4") == 0) esz = 4;
  else if (strcmp(a->descr, "<i8") == 0) esz = 8;
  else goto done;
  const char *p = strchr(sh, '(');
  if (!p) goto done;
  p++;
  a->elems = 1;
  while (*p && *p != ')') {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p) {
      p++;
      continue;
    }
    if (a->rank == QC_MAX_RANK || v < 0) goto done;
    a->dims[a->rank++] = v;
    a->elems *= v;
    p = end;
  }
  a->data = malloc((size_t)a->elems * esz + 1);
  if (!a->data || fread(a->data, esz, (size_t)a->elems, f) != (size_t)a->elems) goto done;
  if (fgetc(f) != EOF) goto done; /* trailing bytes: not what the header says */
  ok = 1;
done:
  if (!ok) {
    printf("\n    %s: not a little-endian f4/i8 C-order .npy file", path);
    free(a->data);
    a->data = NULL;
  }
  free(hdr);
  fclose(f);
  return ok;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int env_int(const char *name, int dflt)
{
  const char *s = getenv(name);
  return s && *s ? atoi(s) : dflt;
}

static int wanted(const char *name)
{
  const char *s = getenv("QC_MODELS");
  if (!s || !*s) return 1;
  size_t n = strlen(name);
  for (const char *p = s; (p = strstr(p, name)) != NULL; p += n)
    if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
  return 0;
}

static const char *python(void)
{
  const char *s = getenv("QC_PYTHON");
  return s && *s ? s : PYTHON_DEFAULT;
}

static int run_script(const char *cmd)
{
  fflush(stdout);
  int rc = system(cmd);
  if (rc != 0) printf("\n    command failed (status %d): %s", rc, cmd);
  return rc == 0;
}

/* max|a - b| / max|b| over n floats (max|a - b| when b is all zeros); NaN when any difference
   is NaN. *worst gets the index of the largest difference (or of the NaN), *maxref max|b|. */
static double rel_max_diff(const float *a, const float *b, int64_t n, int64_t *worst,
                           double *maxref)
{
  double maxdiff = 0, mr = 0;
  *worst = -1;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (isnan(d)) {
      *worst = i;
      *maxref = mr;
      return NAN;
    }
    if (d > maxdiff || *worst < 0) {
      maxdiff = d;
      *worst = i;
    }
    if (fabs((double)b[i]) > mr) mr = fabs((double)b[i]);
  }
  *maxref = mr;
  return mr > 0 ? maxdiff / mr : maxdiff;
}

/* Loads model, runs it on in (QC_MODEL_RUNS times), compares output 0 with ref. Prints the
   ratio and the median run time; returns 1 on success. When copy is not NULL, output 0 is
   copied there (ref->elems floats). */
static int check_model(const char *label, const char *model_path, const npy *in, const npy *ref,
                       float *copy)
{
  qc_err e = {0};
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  int ok = 0;
  double t0 = now_s();
  if (qc_onnx_load(model_path, &g, &e) != QC_OK) {
    printf("\n    %s: load failed: %s", label, e.msg);
    goto out;
  }
  double t_load = now_s() - t0;
  /* The interpreter infers shapes from data and needs no passes, but the models must also
     survive the standard cleanup pipeline (verified after each pass) and still match. */
  static const char *const pipeline[] = {"infer-shapes", "fold-constants", "eliminate-identity",
                                         "dce"};
  qc_pass passes[4];
  for (int i = 0; i < 4; i++) {
    if (qc_pass_builtin(pipeline[i], NULL, &passes[i], &e) != QC_OK) {
      printf("\n    %s: %s", label, e.msg);
      goto out;
    }
  }
  if (qc_pass_run_pipeline(g, passes, 4, true, &e) != QC_OK) {
    printf("\n    %s: passes failed: %s", label, e.msg);
    goto out;
  }
  int threads = env_int("QC_THREADS", 0);
  if (qc_interp_new(g, threads, &it, &e) != QC_OK) {
    printf("\n    %s: interp_new failed: %s", label, e.msg);
    goto out;
  }
  qc_tensor x = {.dtype = QC_DT_F32, .rank = in->rank, .data = in->data};
  memcpy(x.dims, in->dims, sizeof x.dims);
  int runs = env_int("QC_MODEL_RUNS", 1);
  if (runs < 1) runs = 1;
  if (runs > 100) runs = 100;
  double times[100];
  for (int r = 0; r < runs; r++) {
    double t = now_s();
    if (qc_interp_run(it, &x, 1, &e) != QC_OK) {
      printf("\n    %s: run failed: %s", label, e.msg);
      goto out;
    }
    times[r] = now_s() - t;
  }
  qsort(times, (size_t)runs, sizeof times[0], cmp_double);

  const qc_tensor *y = qc_interp_output(it, 0);
  if (!y || y->dtype != QC_DT_F32 || y->rank != ref->rank ||
      memcmp(y->dims, ref->dims, sizeof(int64_t) * (size_t)ref->rank) != 0) {
    printf("\n    %s: output 0 is not f32 of the reference's shape", label);
    goto out;
  }
  const float *a = y->data, *b = ref->data;
  int64_t bad;
  double maxref;
  double ratio = rel_max_diff(a, b, ref->elems, &bad, &maxref);
  printf("\n    %-14s max|diff|/max|ref| = %.3g (max|ref| %.4g), load %.3f s, interp %.4f s "
         "(median of %d, threads %d)",
         label, ratio, maxref, t_load, times[runs / 2], runs, threads);
  ok = ratio <= TOLERANCE; /* false for NaN */
  if (copy) memcpy(copy, a, sizeof(float) * (size_t)ref->elems);
  if (!ok && bad >= 0)
    printf("\n    %s: worst element %lld: quantc %.9g, torch %.9g", label, (long long)bad,
           (double)a[bad], (double)b[bad]);
out:
  qc_interp_free(it);
  qc_graph_free(g);
  fflush(stdout);
  return ok;
}

/* ---- the comparison, on numbers worked out by hand ----------------------------------------- */

static void test_rel_max_diff(void)
{
  const float ref[4] = {1.0f, -4.0f, 2.0f, 0.5f};
  const float got[4] = {1.0f, -4.001953125f, 2.0009765625f, 0.5f}; /* exact in binary */
  int64_t worst;
  double maxref;
  /* max|diff| = 2^-9 at index 1, max|ref| = 4: 2^-11 = 0.00048828125 */
  CU_ASSERT_DOUBLE_EQUAL(rel_max_diff(got, ref, 4, &worst, &maxref), 0.00048828125, 0);
  CU_ASSERT_EQUAL(worst, 1);
  CU_ASSERT_DOUBLE_EQUAL(maxref, 4.0, 0);
  CU_ASSERT_DOUBLE_EQUAL(rel_max_diff(ref, ref, 4, &worst, &maxref), 0.0, 0);
  const float nan_got[4] = {1.0f, NAN, 2.0f, 0.5f};
  double r = rel_max_diff(nan_got, ref, 4, &worst, &maxref);
  CU_ASSERT(!(r <= TOLERANCE));
  CU_ASSERT_EQUAL(worst, 1);
  const float zeros[2] = {0, 0}, small[2] = {0, 3e-5f};
  CU_ASSERT_DOUBLE_EQUAL(rel_max_diff(small, zeros, 2, &worst, &maxref), 3e-5, 1e-10);
}

/* ---- torchvision models ------------------------------------------------------------------ */

static const char *const torchvision_models[] = {"resnet18", "resnet50", "mobilenet_v2",
                                                  "squeezenet1_1", "densenet121"};

/* One Python run exports (or finds cached) every selected model: importing torch costs seconds.
   Returns 1 on success; runs once, later calls return the first result. */
static int export_torchvision(void)
{
  static int done = -1;
  if (done >= 0) return done;
  char cmd[1024];
  int len = snprintf(cmd, sizeof cmd, "%s %s/tests/models/export_torchvision.py %s", python(),
                     QC_SOURCE_DIR, CACHE);
  for (size_t i = 0; i < sizeof torchvision_models / sizeof *torchvision_models; i++)
    if (wanted(torchvision_models[i]))
      len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", torchvision_models[i]);
  snprintf(cmd + len, sizeof cmd - (size_t)len, " >/dev/null");
  done = run_script(cmd);
  return done;
}

static void torchvision_case(const char *name)
{
  if (!wanted(name)) {
    printf("\n    %s: not selected by QC_MODELS\n  ", name);
    return;
  }
  CU_ASSERT_FATAL(export_torchvision());
  char model[512], in_path[512], out_path[512];
  snprintf(model, sizeof model, "%s/%s/model.onnx", CACHE, name);
  snprintf(in_path, sizeof in_path, "%s/%s/input.npy", CACHE, name);
  snprintf(out_path, sizeof out_path, "%s/%s/output.npy", CACHE, name);
  npy in, ref;
  int have_in = npy_load(in_path, &in);
  int have_ref = npy_load(out_path, &ref);
  CU_ASSERT_FATAL(have_in && have_ref);
  CU_ASSERT(strcmp(in.descr, "<f4") == 0 && strcmp(ref.descr, "<f4") == 0);
  CU_ASSERT(in.rank == 4 && in.dims[0] == 1 && in.dims[1] == 3 && in.dims[2] == 224);
  CU_ASSERT(ref.rank == 2 && ref.dims[0] == 1 && ref.dims[1] == 1000);
  CU_ASSERT(check_model(name, model, &in, &ref, NULL));
  free(in.data);
  free(ref.data);
  printf("\n  ");
}

static void test_resnet18(void) { torchvision_case("resnet18"); }
static void test_resnet50(void) { torchvision_case("resnet50"); }
static void test_mobilenet_v2(void) { torchvision_case("mobilenet_v2"); }
static void test_squeezenet1_1(void) { torchvision_case("squeezenet1_1"); }
static void test_densenet121(void) { torchvision_case("densenet121"); }

/* ---- the example Fashion-MNIST ResNet ---------------------------------------------------- */

static void test_example(void)
{
  if (!wanted("example")) {
    printf("\n    example: not selected by QC_MODELS\n  ");
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "%s %s/tests/models/export_example_ref.py %s/fashion_resnet 100 >/dev/null",
           python(), QC_SOURCE_DIR, CACHE);
  CU_ASSERT_FATAL(run_script(cmd));
  npy in, ref, lab;
  int have = npy_load(CACHE "/fashion_resnet/input.npy", &in);
  have &= npy_load(CACHE "/fashion_resnet/output.npy", &ref);
  have &= npy_load(CACHE "/fashion_resnet/labels.npy", &lab);
  CU_ASSERT_FATAL(have);
  CU_ASSERT_FATAL(in.rank == 4 && in.dims[0] == 100 && in.dims[1] == 1 && in.dims[2] == 28);
  CU_ASSERT_FATAL(ref.rank == 2 && ref.dims[0] == 100 && ref.dims[1] == 10);
  CU_ASSERT_FATAL(strcmp(lab.descr, "<i8") == 0 && lab.elems == 100);
  static float got[100 * 10];
  CU_ASSERT(check_model("fashion_resnet", QC_SOURCE_DIR "/examples/fashion_resnet.onnx", &in,
                        &ref, got));
  /* Top-1 of both on these 100 images: shows the model is a real one and that the small
     numeric differences change no prediction. */
  const float *r = ref.data;
  const int64_t *l = lab.data;
  int correct_torch = 0, correct_qc = 0, agree = 0;
  for (int i = 0; i < 100; i++) {
    int bt = 0, bq = 0;
    for (int c = 1; c < 10; c++) {
      if (r[i * 10 + c] > r[i * 10 + bt]) bt = c;
      if (got[i * 10 + c] > got[i * 10 + bq]) bq = c;
    }
    correct_torch += bt == l[i];
    correct_qc += bq == l[i];
    agree += bt == bq;
  }
  printf("\n    fashion_resnet: top-1 on these 100 images: PyTorch %d%%, quantc %d%%, "
         "same prediction on %d",
         correct_torch, correct_qc, agree);
  CU_ASSERT(correct_torch >= 80);
  CU_ASSERT_EQUAL(agree, 100);
  /* The comparison itself must be able to fail: one logit off by 2e-4 of max|ref|. */
  int64_t worst;
  double maxref;
  rel_max_diff(r, r, 1000, &worst, &maxref);
  got[537] = (float)(r[537] + 2e-4 * maxref);
  double ratio = rel_max_diff(got, r, 1000, &worst, &maxref);
  CU_ASSERT(ratio > TOLERANCE);
  CU_ASSERT_EQUAL(worst, 537);
  printf("\n  ");
  free(in.data);
  free(ref.data);
  free(lab.data);
}

static CU_TestInfo tests[] = {
    {"rel_max_diff", test_rel_max_diff},
    {"example_fashion_resnet", test_example},
    {"resnet18", test_resnet18},
    {"resnet50", test_resnet50},
    {"mobilenet_v2", test_mobilenet_v2},
    {"squeezenet1_1", test_squeezenet1_1},
    {"densenet121", test_densenet121},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"models", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
  struct stat st;
  if (stat(python(), &st) != 0) {
    printf("SKIPPED: models/test_torchvision: %s not found\n", python());
    return SKIP_CODE;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s -c 'import torch, torchvision, onnx, numpy' >/dev/null 2>&1",
           python());
  if (system(cmd) != 0) {
    printf("SKIPPED: models/test_torchvision: %s cannot import torch, torchvision, onnx, numpy\n",
           python());
    return SKIP_CODE;
  }
  if (mkdir(CACHE, 0777) != 0 && errno != EEXIST) {
    printf("cannot create %s: %s\n", CACHE, strerror(errno));
    return 1;
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
