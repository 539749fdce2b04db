/* AArch64 artifacts under qemu: the example model compiled with --target aarch64 (fp32 and
 * W8A8; default CPU cortex-a76, int8 through sdot), linked statically with the runtime and a
 * small runner (tests/codegen/aarch64_runner.c) by aarch64-linux-gnu-gcc, run by
 * qemu-aarch64 -cpu max on 8 inputs (4 Fashion-MNIST test images, 4 random), and compared
 * with the x86-64 artifact of the same model run by the same runner built natively: W8A8
 * outputs bit-identical, fp32 within 1e-4 (max|diff| / max|x86|). Also: `quantc run` on an
 * aarch64 artifact on this host is exit 3 pointing at qemu.
 *
 * Skips (exit 77) without qemu-aarch64, aarch64-linux-gnu-gcc, /usr/bin/python3 + numpy, the
 * example model or the Fashion-MNIST data. */
#include "testutil.h"
#include "tools/tools_util.h"

#define SKIP_CODE 77
#define FASHION "/usr/share/datasets/fashion-mnist"

static char sd[400];
static char example[600];

static const char *f(const char *name)
{
  static char buf[8][700];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", sd, name);
  return buf[k];
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  fflush(stdout);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static const char gen[] =
    "import numpy as np, gzip, json\n"
    "m = json.load(open('" QC_SOURCE_DIR "/examples/fashion_resnet.json'))\n"
    "raw = gzip.open('" FASHION "/t10k-images-idx3-ubyte.gz').read()\n"
    "img = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:4]\n"
    "real = ((img.astype(np.float32) / 255 - m['mean']) / m['std']).astype(np.float32)\n"
    "rnd = np.random.default_rng(7).standard_normal((4, 1, 28, 28)).astype(np.float32)\n"
    "np.save('x8.npy', np.concatenate([real, rnd]))\n"
    "open('norm.txt', 'w').write('%r %r\\n' % (m['mean'], m['std']))\n";

static char mean[32], std_[32];

static int setup(void)
{
  const char *d = qc_scratch_dir("aarch64");
  if (!d || strlen(d) >= sizeof sd) return 1;
  memcpy(sd, d, strlen(d) + 1);
  snprintf(example, sizeof example, "%s/examples/fashion_resnet.onnx", QC_SOURCE_DIR);
  if (qc_python(sd, gen) != 0) return 1;
  FILE *nf = fopen(f("norm.txt"), "r");
  if (!nf) return 1;
  int ok = fscanf(nf, "%31s %31s", mean, std_) == 2;
  fclose(nf);
  return ok ? 0 : 1;
}

/* Compiles the example for target into NAME (scheme NULL: fp32), builds the runner for it and
   runs it on x8.npy into NAME.npy. */
static bool build_and_run(const char *name, const char *target, const char *scheme)
{
  qc_proc p;
  const char *dir = f(name);
  if (scheme)
    qc_run_quantc(&p, 600, "compile", example, "--target", target, "--scheme", scheme, "--calib",
                  "fashion-mnist", "--calib-n", "64", "--mean", mean, "--std", std_, "-o", dir,
                  NULL);
  else
    qc_run_quantc(&p, 600, "compile", example, "--target", target, "-o", dir, NULL);
  QC_EXPECT(&p, 0, out, "compiled");
  bool a64 = strcmp(target, "aarch64") == 0;
  if (a64) {
    CU_ASSERT_PTR_NOT_NULL(p.out ? strstr(p.out, "target     aarch64, cpu cortex-a76") : NULL);
    CU_ASSERT_PTR_NOT_NULL(p.out ? strstr(p.out, "int8 path  neon-sdot") : NULL);
  }
  bool ok = p.exit_code == 0;
  qc_proc_free(&p);
  if (!ok) return false;
  int rc = sh("cd '%s' && %s -std=c11 -O2 %s -I'%s/runtime' '%s/tests/codegen/aarch64_runner.c' "
              "'%s'/runtime/*.c '%s/model.o' -o '%s.runner' -lpthread 2>'%s.build.log'",
              sd, a64 ? "aarch64-linux-gnu-gcc" : "cc", a64 ? "-static" : "", QC_SOURCE_DIR,
              QC_SOURCE_DIR, QC_SOURCE_DIR, dir, dir, dir);
  CU_ASSERT_EQUAL(rc, 0);
  if (rc) {
    sh("cat '%s.build.log' >&2", dir);
    return false;
  }
  rc = sh("cd '%s' && %s './%s.runner' '%s/weights.bin' x8.npy '%s.npy' >'%s.run.log' 2>&1", sd,
          a64 ? "qemu-aarch64 -cpu max" : "", name, dir, name, dir);
  CU_ASSERT_EQUAL(rc, 0);
  if (rc) sh("cat '%s.run.log' >&2", dir);
  else sh("sed 's/^/\\n    /' '%s.run.log' | tr -d '\\n'", dir);
  return rc == 0;
}

static void fp32(void)
{
  if (!build_and_run("x86_fp32", "x86-64", NULL) || !build_and_run("a64_fp32", "aarch64", NULL))
    return;
  CU_ASSERT_EQUAL(qc_python(sd,
                            "import numpy as np\n"
                            "a, b = np.load('a64_fp32.npy'), np.load('x86_fp32.npy')\n"
                            "r = np.abs(a - b).max() / np.abs(b).max()\n"
                            "print('    fp32 aarch64 vs x86-64: rel. diff %.3g' % r)\n"
                            "assert a.shape == b.shape == (8, 10) and r <= 1e-4, r\n"),
                  0);
}

static void w8a8(void)
{
  if (!build_and_run("x86_w8a8", "x86-64", "w8a8") ||
      !build_and_run("a64_w8a8", "aarch64", "w8a8"))
    return;
  /* Integer arithmetic: the same bits (the files, header included). */
  CU_ASSERT_EQUAL(sh("cmp '%s' '%s'", f("a64_w8a8.npy"), f("x86_w8a8.npy")), 0);
  CU_ASSERT_EQUAL(qc_python(sd,
                            "import numpy as np\n"
                            "a = np.load('a64_w8a8.npy')\n"
                            "assert a.shape == (8, 10) and np.isfinite(a).all() and a.std() > 0\n"),
                  0);
}

static void host_refuses(void)
{
  qc_proc p;
  qc_run_quantc(&p, 60, "run", f("a64_fp32"), "--input", f("x8.npy"), NULL);
  QC_EXPECT(&p, 3, err, "the artifact is for aarch64; this host is x86-64");
  CU_ASSERT_PTR_NOT_NULL(p.err ? strstr(p.err, "qemu-aarch64") : NULL);
  qc_proc_free(&p);
}

static CU_TestInfo tests[] = {
    {"fp32: aarch64 under qemu vs x86-64", fp32},
    {"W8A8: aarch64 under qemu bit-identical to x86-64", w8a8},
    {"run on the wrong host: exit 3", host_refuses},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"aarch64", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
#if !defined(__x86_64__)
  printf("SKIPPED: codegen/test_aarch64: compares against an x86-64 host build\n");
  return SKIP_CODE;
#endif
  const char *need[] = {"qemu-aarch64", "aarch64-linux-gnu-gcc"};
  for (int i = 0; i < 2; i++) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", need[i]);
    if (system(cmd) != 0) {
      printf("SKIPPED: codegen/test_aarch64: %s not found (scripts/install-deps.sh installs "
             "qemu-user and gcc-aarch64-linux-gnu)\n",
             need[i]);
      return SKIP_CODE;
    }
  }
  if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0 ||
      access(QC_SOURCE_DIR "/examples/fashion_resnet.onnx", R_OK) != 0 ||
      access(FASHION "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
    printf("SKIPPED: codegen/test_aarch64: needs /usr/bin/python3 with numpy, the example "
           "model and " FASHION "\n");
    return SKIP_CODE;
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
