/* examples/classify_fashion end to end, on artifacts built here: a nearest-centroid classifier
 * (class means from tests/runtime/centroid_ref.py) as a model.so + weights.bin, once with an f32
 * input and f32 logits and once with an int8 input (scale 0.02, quantized by the example) and
 * int32 logits. The example's accuracy and first predictions must equal numpy's text exactly.
 * Skipped (exit 77) without the data set or /usr/bin/python3 with numpy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quantc_rt.h"
#include "runtime/rt_blob.h"
#include "testutil.h"

#define DATA "/usr/share/datasets/fashion-mnist/"
#define BATCH 32
#define IN_SCALE 0.02f

static char tmpdir[256];

static int sh(const char *cmd)
{
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "\n  command failed (%d): %s\n", rc, cmd);
  return rc;
}

/* The kernel: one task per image, logits[b][c] = -sum_k (x[b][k] - mu[c][k])^2 in double. */
static const char kernel_src[] =
    "#include <math.h>\n#include <stdint.h>\n#include \"qc_artifact.h\"\n"
    "static void k(uint8_t *arena, const uint8_t *w, uint8_t *scratch, int64_t t0, int64_t t1)\n"
    "{\n"
    "  const float *mu = (const float *)(const void *)w;\n"
    "  (void)scratch;\n"
    "  for (int64_t b = t0; b < t1; b++)\n"
    "    for (int c = 0; c < 10; c++) {\n"
    "      double acc = 0;\n"
    "      for (int i = 0; i < 784; i++) {\n"
    "#if INT_MODEL\n"
    "        double x = ((const int8_t *)arena)[b * 784 + i] * (double)SCALE;\n"
    "#else\n"
    "        double x = ((const float *)(const void *)arena)[b * 784 + i];\n"
    "#endif\n"
    "        double d = x - mu[c * 784 + i];\n"
    "        acc += d * d;\n"
    "      }\n"
    "#if INT_MODEL\n"
    "      ((int32_t *)(void *)(arena + OUT_OFF))[b * 10 + c] = (int32_t)nearbyint(-acc * 100);\n"
    "#else\n"
    "      ((float *)(void *)(arena + OUT_OFF))[b * 10 + c] = (float)-acc;\n"
    "#endif\n"
    "    }\n"
    "}\n"
    "const qca_kernel_fn qc_model_kernels[1] = {k};\n"
    "const uint32_t qc_model_n_kernels = 1;\n"
    "const uint64_t qc_model_code_hash = 7;\n";

/* Writes DIR/model.so and DIR/weights.bin for the f32 (int_model 0) or int8 variant. */
static int build_artifact(const char *dir, int int_model)
{
  char path[600], cmd[2048];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  if (sh(cmd)) return -1;
  snprintf(path, sizeof path, "%s/kernel.c", dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fputs(kernel_src, f);
  fclose(f);
  uint64_t in_bytes = (uint64_t)BATCH * 784 * (int_model ? 1 : 4), out_bytes = BATCH * 10 * 4;
  snprintf(cmd, sizeof cmd, "cc -std=c11 -O2 -shared -fPIC -I%s/runtime -DINT_MODEL=%d "
           "-DSCALE=%.9gf -DOUT_OFF=%llu -o %s/model.so %s -lm", QC_SOURCE_DIR, int_model,
           (double)IN_SCALE, (unsigned long long)in_bytes, dir, path);
  if (sh(cmd)) return -1;

  static float mu[10 * 784];
  snprintf(path, sizeof path, "%s/mu.f32", tmpdir);
  f = fopen(path, "rb");
  if (!f) return -1;
  size_t got = fread(mu, sizeof(float), 10 * 784, f);
  fclose(f);
  if (got != 10 * 784) return -1;

  tb_model tm;
  memset(&tm, 0, sizeof tm);
  memcpy(tm.h.magic, QCA_MAGIC, 8);
  tm.h.version = QCA_VERSION;
  tm.h.header_bytes = sizeof(qca_header);
  tm.h.code_hash = 7;
  snprintf(tm.h.prefix, sizeof tm.h.prefix, "qc_model");
  snprintf(tm.h.target, sizeof tm.h.target, "x86-64");
  tm.h.n_kernels = tm.h.n_steps = tm.h.n_inputs = tm.h.n_outputs = 1;
  tm.h.arena_bytes = in_bytes + out_bytes;
  tm.strings_bytes = 1;
  qca_tensor *in = &tm.tensors[0], *out = &tm.tensors[1];
  in->name = tb_str(&tm, "input");
  in->dtype = int_model ? QCA_I8 : QCA_F32;
  in->rank = 4;
  in->dims[0] = BATCH, in->dims[1] = 1, in->dims[2] = 28, in->dims[3] = 28;
  in->bytes = in_bytes;
  in->scale = int_model ? IN_SCALE : 0;
  out->name = tb_str(&tm, "logits");
  out->dtype = int_model ? QCA_I32 : QCA_F32;
  out->rank = 2;
  out->dims[0] = BATCH, out->dims[1] = 10;
  out->arena_off = in_bytes;
  out->bytes = out_bytes;
  tm.tensors[2] = *out;
  tm.steps[0] = tb_step(&tm, 0, BATCH, "centroids", "NearestCentroid");
  tm.wext = mu;
  tm.weights_bytes = sizeof mu;
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  snprintf(path, sizeof path, "%s/weights.bin", dir);
  f = fopen(path, "wb");
  int rc = f && fwrite(b, 1, n, f) == n ? 0 : -1;
  if (f) fclose(f);
  free(b);
  return rc;
}

static void run_variant(const char *name, int int_model, int threads)
{
  char dir[400], cmd[2048];
  snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
  CU_ASSERT_EQUAL_FATAL(build_artifact(dir, int_model), 0);
  /* The example's output without its timing and model lines must equal numpy's text. */
  snprintf(cmd, sizeof cmd, "%s/classify_fashion %s --threads %d > %s/got_%s.txt && "
           "grep -v -e '^model:' -e '^time:' %s/got_%s.txt | diff - %s/expect_%s.txt",
           tmpdir, dir, threads, tmpdir, name, tmpdir, name, tmpdir, name);
  CU_ASSERT_EQUAL(sh(cmd), 0);
}

static void test_f32(void) { run_variant("f32", 0, 3); }
static void test_i8(void) { run_variant("i8", 1, 1); }

static void test_bad_dir(void)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s/classify_fashion %s/none 2> %s/err.txt; test $? = 1 && "
           "grep -q 'classify_fashion: I/O error: %s/none/weights.bin: cannot open' %s/err.txt",
           tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
  CU_ASSERT_EQUAL(sh(cmd), 0);
}

static int suite_init(void)
{
  if (access(DATA "t10k-images-idx3-ubyte.gz", R_OK) != 0 ||
      system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    printf("\n  SKIPPED: needs " DATA " and /usr/bin/python3 with numpy\n");
    fflush(stdout);
    exit(77);
  }
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qc_rt_example_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/runtime/centroid_ref.py %s 0.286 0.353 %.9g",
           QC_SOURCE_DIR, tmpdir, (double)IN_SCALE);
  if (sh(cmd)) return -1;
  snprintf(cmd, sizeof cmd, "cc -std=c11 -O2 -Wall -Wextra -Werror -I%s/runtime -o "
           "%s/classify_fashion %s/examples/classify_fashion.c %s/runtime/*.c -lz -lm -lpthread "
           "-ldl", QC_SOURCE_DIR, tmpdir, QC_SOURCE_DIR, QC_SOURCE_DIR);
  return sh(cmd) ? -1 : 0;
}

static int suite_clean(void)
{
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static CU_TestInfo tests[] = {
    {"f32 artifact, 3 threads: accuracy and predictions = numpy", test_f32},
    {"int8-input artifact: accuracy and predictions = numpy", test_i8},
    {"missing artifact is an exact error", test_bad_dir},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"runtime-example", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
