/* End to end on real networks: torchvision ResNet-18 and ResNet-50 (seeded random weights,
 * non-trivial BatchNorm statistics; tests/models/export_torchvision.py, cached in
 * QC_BINARY_DIR/models-cache) through `quantc compile` (fp32, and W8A8 calibrated on seeded
 * random NPY batches) and `quantc verify` against the reference interpreter on random inputs
 * and, for ResNet-18, image-like inputs (smooth random fields normalised like ImageNet):
 * every integer step must be bit-identical, every float32 step within 1e-4 (max|diff| /
 * max|ref|). The fp32 artifact's output is also checked against PyTorch's (output.npy).
 * Compile times are printed, not asserted (target: ResNet-50 under 10 s on an idle machine).
 *
 * Skips (exit 77) without /usr/bin/python3 + torch + torchvision + onnx + numpy.
 * QC_E2E_MODELS=resnet18 limits the models (default: resnet18,resnet50). */
#include <errno.h>
#include <stdarg.h>
#include "testutil.h"
#include "tools/tools_util.h"

#define PYTHON "/usr/bin/python3"
#define CACHE QC_BINARY_DIR "/models-cache"
#define SKIP_CODE 77

static char sd[400];

static const char *f(const char *name)
{
  static char buf[8][700];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", sd, name);
  return buf[k];
}

static bool wanted(const char *name)
{
  const char *s = getenv("QC_E2E_MODELS");
  if (!s || !*s) return true;
  size_t n = strlen(name);
  for (const char *p = strstr(s, name); p; p = strstr(p + 1, name))
    if ((p == s || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
  return false;
}

/* Inputs: calibration batches, 3 random inputs (+ the exporter's own), image-like ones. */
static const char gen[] =
    "import numpy as np, os\n"
    "rng = np.random.default_rng(2024)\n"
    "os.makedirs('calib', exist_ok=True)\n"
    "for i in range(2):\n"
    "    np.save('calib/b%d.npy' % i, rng.standard_normal((1, 3, 224, 224)).astype(np.float32))\n"
    "np.save('random3.npy', rng.standard_normal((3, 3, 224, 224)).astype(np.float32))\n"
    "# image-like: a smooth random field in [0,1] (bilinear upsampling of 7x7 noise plus a\n"
    "# little pixel noise), normalised with ImageNet's mean and std\n"
    "def smooth(n):\n"
    "    lo = rng.random((n, 3, 8, 8))\n"
    "    t = np.linspace(0, 7, 224)\n"
    "    i0 = np.floor(t).astype(int); i1 = np.minimum(i0 + 1, 7); w = t - i0\n"
    "    a = lo[:, :, i0, :] * (1 - w)[None, None, :, None] + lo[:, :, i1, :] * w[None, None, :, None]\n"
    "    b = a[:, :, :, i0] * (1 - w) + a[:, :, :, i1] * w\n"
    "    return np.clip(b + 0.02 * rng.standard_normal(b.shape), 0, 1)\n"
    "mean = np.array([0.485, 0.456, 0.406])[None, :, None, None]\n"
    "std = np.array([0.229, 0.224, 0.225])[None, :, None, None]\n"
    "np.save('imagelike2.npy', ((smooth(2) - mean) / std).astype(np.float32))\n";

static double compile_seconds(const char *out)
{
  const char *p = out ? strstr(out, "  compile    ") : NULL;
  return p ? atof(p + 13) : -1;
}

static double compile_cpu_seconds(const char *out)
{
  const char *p = out ? strstr(out, "; CPU ") : NULL;
  return p ? atof(p + 6) : -1;
}

static void compile_and_verify(const char *name, const char *scheme, bool imagelike)
{
  char model[600], dir[700], torch_in[600], torch_out[600];
  snprintf(model, sizeof model, "%s/%s/model.onnx", CACHE, name);
  snprintf(torch_in, sizeof torch_in, "%s/%s/input.npy", CACHE, name);
  snprintf(torch_out, sizeof torch_out, "%s/%s/output.npy", CACHE, name);
  snprintf(dir, sizeof dir, "%s/%s_%s", sd, name, scheme ? scheme : "fp32");
  qc_proc p;
  if (scheme)
    qc_run_quantc(&p, 900, "compile", model, "--scheme", scheme, "--calib", f("calib"), "-o", dir,
                  NULL);
  else
    qc_run_quantc(&p, 900, "compile", model, "-o", dir, NULL);
  QC_EXPECT(&p, 0, out, "compiled");
  printf("\n    %s %s: compile %.2f s wall, %.2f s CPU (total with load%s %.2f s)", name,
         scheme ? scheme : "fp32", compile_seconds(p.out), compile_cpu_seconds(p.out),
         scheme ? ", calibration" : "",
         p.out && strstr(p.out, "total ") ? atof(strstr(p.out, "total ") + 6) : -1.0);
  bool ok = p.exit_code == 0;
  qc_proc_free(&p);
  if (!ok) return;
  const char *expect = scheme ? "integer steps bit-exact" : "OK: all 0 integer steps";
  qc_run_quantc(&p, 900, "verify", dir, "--data", f("random3.npy"), "--threads", "2", NULL);
  QC_EXPECT(&p, 0, out, expect);
  CU_ASSERT_PTR_NOT_NULL(p.out ? strstr(p.out, "3 inputs in 3 batches of 1") : NULL);
  CU_ASSERT_PTR_NULL(p.out ? strstr(p.out, "MISMATCH") : "");
  if (p.out) {
    const char *s = strstr(p.out, "steps: ");
    if (s) printf("\n    %s %s verify (random): %.*s", name, scheme ? scheme : "fp32",
                  (int)strcspn(s, "\n"), s);
  }
  qc_proc_free(&p);
  if (imagelike) {
    qc_run_quantc(&p, 900, "verify", dir, "--data", f("imagelike2.npy"), "--threads", "2", NULL);
    QC_EXPECT(&p, 0, out, expect);
    qc_proc_free(&p);
  }
  if (!scheme) {
    /* The compiled fp32 network against PyTorch itself. */
    char y[700], code[2400];
    snprintf(y, sizeof y, "%s/%s_y.npy", sd, name);
    qc_run_quantc(&p, 900, "run", dir, "--input", torch_in, "--output", y, NULL);
    QC_EXPECT(&p, 0, err, "");
    qc_proc_free(&p);
    snprintf(code, sizeof code,
             "import numpy as np\n"
             "a, b = np.load('%s'), np.load('%s')\n"
             "r = np.abs(a - b).max() / np.abs(b).max()\n"
             "print('    %s fp32 artifact vs torch: rel. diff %%.3g' %% r)\n"
             "assert a.shape == b.shape and r <= 1e-4, r\n",
             y, torch_out, name);
    fflush(stdout);
    CU_ASSERT_EQUAL(qc_python(sd, code), 0);
  }
}

static void resnet18(void)
{
  if (!wanted("resnet18")) return;
  compile_and_verify("resnet18", NULL, true);
  compile_and_verify("resnet18", "w8a8", true);
}

static void resnet50(void)
{
  if (!wanted("resnet50")) return;
  compile_and_verify("resnet50", NULL, false);
  compile_and_verify("resnet50", "w8a8", false);
}

static int setup(void)
{
  const char *d = qc_scratch_dir("e2e_resnet");
  if (!d || strlen(d) >= sizeof sd) return 1;
  memcpy(sd, d, strlen(d) + 1);
  if (qc_python(sd, gen) != 0) return 1;
  char cmd[1200];
  int n = snprintf(cmd, sizeof cmd, "%s %s/tests/models/export_torchvision.py %s", PYTHON,
                   QC_SOURCE_DIR, CACHE);
  if (wanted("resnet18")) n += snprintf(cmd + n, sizeof cmd - (size_t)n, " resnet18");
  if (wanted("resnet50")) n += snprintf(cmd + n, sizeof cmd - (size_t)n, " resnet50");
  snprintf(cmd + n, sizeof cmd - (size_t)n, " >/dev/null");
  fflush(stdout);
  return system(cmd) == 0 ? 0 : 1;
}

static CU_TestInfo tests[] = {
    {"ResNet-18 fp32 + W8A8", resnet18},
    {"ResNet-50 fp32 + W8A8", resnet50},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"e2e_resnet", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
  if (access(PYTHON, X_OK) != 0 ||
      system(PYTHON " -c 'import torch, torchvision, onnx, numpy' >/dev/null 2>&1") != 0) {
    printf("SKIPPED: codegen/test_e2e_resnet: " PYTHON
           " cannot import torch, torchvision, onnx, numpy\n");
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
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                    CU_get_number_of_suites_failed();
  CU_cleanup_registry();
  return failed ? 1 : 0;
}
