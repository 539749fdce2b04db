/* Whole-network gradients against PyTorch: tests/interp/ad_resnet.py exports a small ResNet
   (conv-bn-relu, residual adds, max pool, global average pool, fc) and one batch with the
   cross-entropy loss, every parameter gradient and the BN running statistics after one train-mode
   step; quantc imports the ONNX file, runs qc_ad in training mode and must match the loss and
   each gradient to max|diff| / max|ref| <= 1e-4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autodiff.h"
#include "data.h"
#include "onnx.h"
#include "testutil.h"

#define DIR QC_BINARY_DIR "/ad_resnet"

static int generated = -1; /* 1 made, 0 no torch */

static bool make_reference(void)
{
  if (generated < 0) {
    int rc = system("/usr/bin/python3 -c 'import torch, onnx' >/dev/null 2>&1");
    if (rc != 0) {
      generated = 0;
    } else {
      rc = system("/usr/bin/python3 " QC_SOURCE_DIR "/tests/interp/ad_resnet.py " DIR
                  " >/dev/null 2>&1");
      CU_ASSERT_EQUAL_FATAL(rc, 0);
      generated = 1;
    }
  }
  return generated == 1;
}

static qc_tensor npy(const char *name)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s.npy", DIR, name);
  qc_tensor t = {0};
  qc_err e = {0};
  qc_status st = qc_npy_read(path, &t, &e);
  if (st) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  return t;
}

/* max|a - b| / max|b|; a reference that is zero but for rounding (a conv bias before BN has
   an exact zero gradient) is compared against 1e-2 instead, i.e. an absolute 1e-6. */
static double rel_err(const float *a, const float *b, int64_t n)
{
  double md = 0, mr = 0;
  for (int64_t i = 0; i < n; i++) {
    md = fmax(md, fabs((double)a[i] - b[i]));
    mr = fmax(mr, fabs((double)b[i]));
  }
  return md / fmax(mr, 1e-2);
}

static void test_resnet(void)
{
  if (!make_reference()) {
    /* ctest counts exit code 77 as skipped, so a missing reference never passes. */
    printf("\n  SKIPPED: /usr/bin/python3 with torch and onnx is not available\n");
    fflush(stdout);
    exit(77);
  }
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_onnx_load(DIR "/model.onnx", &g, &e);
  if (st) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  qc_ad *ad = NULL;
  st = qc_ad_new(g, 2, true, &ad, &e);
  if (st) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  qc_tensor x = npy("x"), labels = npy("labels"), ref_loss = npy("loss");
  CU_ASSERT_EQUAL_FATAL(labels.dtype, QC_DT_I64);
  st = qc_ad_forward(ad, &x, 1, &e);
  if (st) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  const qc_tensor *logits = qc_ad_output(ad, 0);
  qc_tensor d = *logits;
  d.data = calloc((size_t)qc_tensor_elems(logits), sizeof(float));
  double loss = 0;
  CU_ASSERT_EQUAL_FATAL(qc_loss_cross_entropy(logits, labels.data, &loss, &d, &e), QC_OK);
  double want = ((const double *)ref_loss.data)[0];
  printf("\n  loss %.8f, torch %.8f, rel err %.2e\n", loss, want, fabs(loss - want) / want);
  CU_ASSERT(fabs(loss - want) <= 1e-4 * fabs(want));
  st = qc_ad_backward(ad, &d, 1, &e);
  if (st) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);

  FILE *f = fopen(DIR "/params.txt", "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  char name[256];
  int n = 0;
  double worst = 0;
  while (fscanf(f, "%255s", name) == 1) {
    n++;
    int32_t v = qc_graph_find_value(g, name);
    CU_ASSERT_TRUE_FATAL(v >= 0);
    bool is_param = false;
    for (int i = 0; i < qc_ad_n_params(ad); i++) is_param |= qc_ad_param(ad, i) == v;
    CU_ASSERT_TRUE(is_param);
    const qc_tensor *gr = qc_ad_grad(ad, v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gr);
    char file[300];
    snprintf(file, sizeof file, "grad_%s", name);
    qc_tensor ref = npy(file);
    CU_ASSERT_EQUAL_FATAL(qc_tensor_elems(&ref), qc_tensor_elems(gr));
    double r = rel_err(gr->data, ref.data, qc_tensor_elems(&ref));
    printf("  %-22s grad rel err %.2e\n", name, r);
    CU_ASSERT(r <= 1e-4);
    worst = fmax(worst, r);
    free(ref.data);
  }
  fclose(f);
  printf("  worst gradient rel err %.2e over %d parameters\n", worst, n);
  CU_ASSERT_EQUAL(n, qc_ad_n_params(ad));
  CU_ASSERT_EQUAL(n, 21);

  /* running statistics after this one step, PyTorch's update (momentum 0.1, unbiased var) */
  const char *bns[] = {"bn", "l1.b1", "l1.b2", "l2.b1", "l2.b2", "l2.short.1"};
  for (int i = 0; i < 6; i++)
    for (int k = 0; k < 2; k++) {
      char vn[128], file[160];
      snprintf(vn, sizeof vn, "%s.running_%s", bns[i], k ? "var" : "mean");
      snprintf(file, sizeof file, "running_%s", vn);
      int32_t v = qc_graph_find_value(g, vn);
      CU_ASSERT_TRUE_FATAL(v >= 0);
      qc_tensor ref = npy(file);
      double r = rel_err(g->values[v].data, ref.data, qc_tensor_elems(&ref));
      if (r > 1e-5) printf("  %s rel err %.2e\n", vn, r);
      CU_ASSERT(r <= 1e-5);
      free(ref.data);
    }
  free(d.data);
  free(x.data);
  free(labels.data);
  free(ref_loss.data);
  qc_ad_free(ad);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"resnet_vs_torch", test_resnet},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"autodiff_resnet", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
