/* Cross compilation: graphs compiled for AArch64 (cortex-a76: dot products; and generic
 * armv8-a without them), linked by the cross gcc, run under qemu-aarch64 by a small driver
 * built against runtime/ with the cross compiler, and compared with the interpreter on the
 * host: integer outputs bit for bit, float outputs within 1e-5 relative. Also the model.o
 * static link (model.h + qcrt_load_static). Skipped (exit 77) without the cross gcc or qemu. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "interp.h"
#include "testutil.h"

#define CROSS_CC "aarch64-linux-gnu-gcc"
#define SYSROOT "/usr/aarch64-linux-gnu"

static char base[512];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  if (rc != 0) fprintf(stderr, "\n  command failed (%d): %s\n", rc, cmd);
  return rc;
}

static uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

/* The driver: loads DIR (dynamic) or the statically linked model, reads inN.bin, runs, writes
   outN.bin. */
static const char driver_src[] =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"quantc_rt.h\"\n"
    "#ifdef STATIC\n#include \"model.h\"\n#endif\n"
    "static void *slurp(const char *p, size_t *n) {\n"
    "  FILE *f = fopen(p, \"rb\"); if (!f) return NULL; fseek(f, 0, SEEK_END); long l = ftell(f);\n"
    "  fseek(f, 0, SEEK_SET); void *b = aligned_alloc(64, ((size_t)l + 64) / 64 * 64);\n"
    "  if (fread(b, 1, (size_t)l, f) != (size_t)l) { fclose(f); return NULL; } fclose(f); *n = (size_t)l; return b; }\n"
    "int main(int argc, char **argv) {\n"
    "  if (argc < 3) return 2;\n  const char *dir = argv[1]; int threads = atoi(argv[2]);\n"
    "  qcrt_model *m = NULL; qcrt_err e = {0}; qcrt_status s;\n"
    "#ifdef STATIC\n  char bp[1024]; snprintf(bp, sizeof bp, \"%s/weights.bin\", dir); size_t bn = 0;\n"
    "  void *blob = slurp(bp, &bn); if (!blob) return 3;\n"
    "  s = qcrt_load_static(qc_model_kernels, qc_model_n_kernels, qc_model_code_hash, blob, bn, threads, &m, &e);\n"
    "#else\n  s = qcrt_load(dir, threads, &m, &e);\n#endif\n"
    "  if (s) { fprintf(stderr, \"load: %s\\n\", e.msg); return 4; }\n"
    "  const void *in[8]; void *out[8]; char p[1024];\n"
    "  for (int i = 0; i < qcrt_num_inputs(m); i++) { size_t n; snprintf(p, sizeof p, \"%s/in%d.bin\", dir, i);\n"
    "    in[i] = slurp(p, &n); if (!in[i]) return 5; }\n"
    "  for (int i = 0; i < qcrt_num_outputs(m); i++) { qcrt_tensor_info ti; qcrt_output_info(m, i, &ti, &e);\n"
    "    out[i] = calloc(ti.bytes + 1, 1); }\n"
    "  if (qcrt_run(m, in, out, &e)) { fprintf(stderr, \"run: %s\\n\", e.msg); return 6; }\n"
    "  for (int i = 0; i < qcrt_num_outputs(m); i++) { qcrt_tensor_info ti; qcrt_output_info(m, i, &ti, &e);\n"
    "    snprintf(p, sizeof p, \"%s/out%d_%s.bin\", dir, i, argv[3] ? argv[3] : \"x\");\n"
    "    FILE *f = fopen(p, \"wb\"); if (!f || fwrite(out[i], 1, ti.bytes, f) != ti.bytes) return 7; fclose(f); }\n"
    "  qcrt_free(m); return 0; }\n";

static const char *graph_text =
    "graph t opset 17 {\n input %x: f32[1,3,10,10]\n"
    " const %w1: i8[8,3,3,3] = ...\n const %b1: i32[8] = ...\n const %w2: i8[8,8,3,3] = ...\n"
    " const %wd: i8[8,1,3,3] = ...\n const %fc: i8[4,8] = ...\n const %fw: f32[6,3,3,3] = ...\n"
    " %q: i8[1,3,10,10] = quantc.QcQuantize(%x) {scale=0.02, qmin=-128, qmax=127} @quant\n"
    " %a: u8[1,8,10,10] = quantc.QcConv(%q, %w1, %b1) {pads=[1, 1, 1, 1], "
    "mult=[1500000000, 1300000000, 1200000000, 1100000000, 1600000000, 1700000000, 1800000000, 1900000000], "
    "shift=[38, 38, 38, 38, 39, 39, 39, 39], qmin=0, qmax=255} @conv1\n"
    " %b: i8[1,8,10,10] = quantc.QcConv(%a, %w2, _) {pads=[1, 1, 1, 1], "
    "mult=[1500000000, 1300000000, 1200000000, 1100000000, 1600000000, 1700000000, 1800000000, 1900000000], "
    "shift=[42, 42, 42, 42, 43, 43, 43, 43], qmin=-128, qmax=127} @conv2\n"
    " %s: i16[1,8,10,10] = quantc.QcAdd(%a, %b) {mult=[1073741824, 1610612736], shift=[31, 31], qmin=-32768, qmax=32767} @add\n"
    " %d: i8[1,8,5,5] = quantc.QcConv(%b, %wd, _) {group=8, strides=[2, 2], pads=[1, 1, 1, 1], "
    "mult=[1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824, 1073741824], "
    "shift=[37, 37, 37, 37, 37, 37, 37, 37], qmin=-128, qmax=127} @dw\n"
    " %p: i8[1,8,2,2] = MaxPool(%d) {kernel_shape=[3, 3], strides=[2, 2]} @pool\n"
    " %g: i8[1,8,1,1] = quantc.QcGlobalAveragePool(%p) @gap\n %f: i8[1,8] = Flatten(%g) @flat\n"
    " %l: i8[1,4] = quantc.QcGemm(%f, %fc, _) {mult=[1073741824, 1073741824, 1073741824, 1073741824], "
    "shift=[33, 33, 33, 33], qmin=-128, qmax=127} @fc\n"
    " %y: f32[1,4] = quantc.QcDequantize(%l) {scale=0.1} @dq\n"
    " %h: f32[1,6,10,10] = Conv(%x, %fw, _) {pads=[1, 1, 1, 1]} @fconv\n"
    " %t: f32[1,6,10,10] = Tanh(%h) @tanh\n %v: f32[1,6,5,5] = AveragePool(%t) {kernel_shape=[2, 2], strides=[2, 2]} @ap\n"
    " %z: f32[1,6,5,5] = Softmax(%v) @sm\n"
    " output %y, %s, %z\n}\n";

static qc_graph *parse(void)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_parse(graph_text, &g, &e), QC_OK);
  uint64_t seed = 0x2545F4914F6CDD1Dull;
  for (int32_t v = 0; v < g->n_values; v++) {
    qc_value *cv = &g->values[v];
    if (!(cv->flags & QC_VAL_CONST) || cv->data) continue;
    int64_t n = qc_shape_elems(cv->rank, cv->dims);
    cv->data = qc_arena_alloc(g->arena, (size_t)qc_dtype_bytes(cv->dtype, n) + 1);
    for (int64_t i = 0; i < n; i++) {
      uint64_t r = rng_next(&seed);
      if (cv->dtype == QC_DT_F32) ((float *)cv->data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5);
      else if (cv->dtype == QC_DT_I8) ((int8_t *)cv->data)[i] = (int8_t)((int)(r % 255) - 127);
      else if (cv->dtype == QC_DT_I32) ((int32_t *)cv->data)[i] = (int32_t)(r % 2001) - 1000;
    }
  }
  CU_ASSERT_EQUAL_FATAL(qc_verify(g, &e), QC_OK);
  return g;
}

static int suite_init(void)
{
  if (system("command -v " CROSS_CC " >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1")) {
    printf("SKIPPED: needs " CROSS_CC " and qemu-aarch64\n");
    exit(77);
  }
  snprintf(base, sizeof base, "%s/tests/cg_aarch64", QC_BINARY_DIR);
  return sh("mkdir -p %s", base) ? -1 : 0;
}

static int compare_file(const char *path, const qc_tensor *ref)
{
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t n = (size_t)qc_tensor_bytes(ref);
  uint8_t *b = malloc(n + 1);
  size_t got = fread(b, 1, n, f);
  fclose(f);
  int bad = got != n;
  for (int64_t i = 0; !bad && i < qc_tensor_elems(ref); i++) {
    if (ref->dtype == QC_DT_F32) {
      float a = ((const float *)ref->data)[i], c;
      memcpy(&c, b + 4 * i, 4);
      if (!(fabsf(a - c) <= 1e-5f * fabsf(a) + 1e-7f)) {
        fprintf(stderr, "%s[%lld]: want %.9g got %.9g\n", path, (long long)i, (double)a, (double)c);
        bad = 1;
      }
    }
  }
  if (!bad && ref->dtype != QC_DT_F32 && memcmp(b, ref->data, n)) {
    fprintf(stderr, "%s: integer bytes differ\n", path);
    bad = 1;
  }
  free(b);
  return bad;
}

static void run_cpu(const char *cpu, const char *name)
{
  qc_graph *g = parse();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  qc_cg_options o;
  memset(&o, 0, sizeof o);
  o.target = "aarch64";
  o.cpu = cpu;
  qc_cg_report rep;
  qc_err e = {0};
  qc_status st = qc_compile(g, &o, dir, &rep, &e);
  if (st) fprintf(stderr, "compile: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  CU_ASSERT_STRING_EQUAL(rep.target, "aarch64");
  /* Inputs, and the interpreter's outputs on the host. */
  qc_tensor in;
  const qc_value *xv = &g->values[g->inputs[0]];
  memset(&in, 0, sizeof in);
  in.dtype = QC_DT_F32, in.rank = xv->rank;
  memcpy(in.dims, xv->dims, sizeof in.dims);
  float *x = malloc((size_t)qc_tensor_bytes(&in));
  uint64_t seed = 77;
  for (int64_t i = 0; i < qc_tensor_elems(&in); i++)
    x[i] = (float)((double)(rng_next(&seed) >> 11) / 9007199254740992.0 * 4.0 - 2.0);
  in.data = x;
  char p[1200];
  snprintf(p, sizeof p, "%s/in0.bin", dir);
  FILE *f = fopen(p, "wb");
  CU_ASSERT_FATAL(f != NULL);
  fwrite(x, 1, (size_t)qc_tensor_bytes(&in), f);
  fclose(f);
  qc_interp *it = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_interp_run(it, &in, 1, &e), QC_OK);
  /* Dynamic: the driver dlopens model.so; static: model.o linked in. */
  snprintf(p, sizeof p, "%s/driver.c", dir);
  f = fopen(p, "wb");
  CU_ASSERT_FATAL(f != NULL);
  fputs(driver_src, f);
  fclose(f);
  CU_ASSERT_EQUAL_FATAL(sh("cd %s && rm -f out*.bin && " CROSS_CC " -std=c11 -O1 -I%s/runtime -o driver driver.c "
                           "%s/runtime/*.c -lpthread -ldl -lm && " CROSS_CC
                           " -std=c11 -O1 -DSTATIC -I%s/runtime -I. -o sdriver driver.c model.o "
                           "%s/runtime/*.c -lpthread -ldl -lm",
                           dir, QC_SOURCE_DIR, QC_SOURCE_DIR, QC_SOURCE_DIR, QC_SOURCE_DIR), 0);
  CU_ASSERT_EQUAL(sh("qemu-aarch64 -L " SYSROOT " %s/driver %s 3 dyn", dir, dir), 0);
  CU_ASSERT_EQUAL(sh("qemu-aarch64 -L " SYSROOT " %s/sdriver %s 1 static", dir, dir), 0);
  for (int i = 0; i < g->n_outputs; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(p, sizeof p, "%s/out%d_%s.bin", dir, i, k ? "static" : "dyn");
      CU_ASSERT_EQUAL(compare_file(p, qc_interp_output(it, i)), 0);
    }
  }
  qc_interp_free(it);
  free(x);
  qc_graph_free(g);
}

static void test_cortex_a76(void) { run_cpu(NULL, "a76"); }
static void test_generic(void) { run_cpu("generic", "generic"); }

static CU_TestInfo tests[] = {
    {"cortex-a76 (sdot) under qemu, dynamic and static", test_cortex_a76},
    {"generic armv8-a under qemu", test_generic},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"compile_aarch64", suite_init, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
