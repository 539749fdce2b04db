/* `quantc compile`, `run DIR`, `verify` and `bench` as a user sees them, on the bundled example
   model: fp32 and W8A8 artifacts verify against the interpreter (every integer step
   bit-identical, float32 within 1e-4); `run DIR` agrees with `quantc run MODEL`; compiling
   twice gives byte-identical files; corrupted artifacts (a flipped byte, truncation, a missing
   library) and bad options fail with the exit codes and messages of docs/cli.md, and a failed
   compile writes nothing. */
#include <dirent.h>
#include "testutil.h"
#include "tools_util.h"

#define quantc(p, ...) qc_run_quantc(p, 600, __VA_ARGS__)
#define EXPECT QC_EXPECT

static char sd[400], example[600], mean[32], std_[32];
static bool have_example, have_fp32, have_w8a8;

static const char gen[] =
    "import numpy as np, json, sys\n"
    "from onnx import helper, TensorProto as T\n"
    "rng = np.random.default_rng(5)\n"
    "np.save('x1.npy', rng.standard_normal((1, 1, 28, 28)).astype(np.float32))\n"
    "np.save('x5.npy', rng.standard_normal((5, 1, 28, 28)).astype(np.float32))\n"
    "np.save('bad.npy', rng.standard_normal((1, 1, 27, 28)).astype(np.float32))\n"
    "m = json.load(open(sys.argv[1] if len(sys.argv) > 1 else '%s'))\n"
    "open('norm.txt', 'w').write('%%r %%r\\n' %% (m['mean'], m['std']))\n"
    "# TopK has no lowering: compile must say so and write nothing.\n"
    "k = helper.make_tensor('k', T.INT64, [1], [2])\n"
    "n = helper.make_node('TopK', ['x', 'k'], ['v', 'i'], name='topk')\n"
    "g = helper.make_graph([n], 'g', [helper.make_tensor_value_info('x', T.FLOAT, [1, 8])],\n"
    "    [helper.make_tensor_value_info('v', T.FLOAT, [1, 2]),\n"
    "     helper.make_tensor_value_info('i', T.INT64, [1, 2])], initializer=[k])\n"
    "mm = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])\n"
    "mm.ir_version = 8\n"
    "open('topk.onnx', 'wb').write(mm.SerializeToString())\n";

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
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool exists(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0;
}

static int setup(void)
{
  const char *d = qc_scratch_dir("compile");
  if (!d || strlen(d) >= sizeof sd) return 1;
  memcpy(sd, d, strlen(d) + 1);
  snprintf(example, sizeof example, "%s/examples/fashion_resnet.onnx", QC_SOURCE_DIR);
  have_example = access(example, R_OK) == 0 &&
                 access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) == 0;
  char code[sizeof gen + 700];
  snprintf(code, sizeof code, gen, QC_SOURCE_DIR "/examples/fashion_resnet.json");
  if (qc_python(sd, code) != 0) return 1;
  FILE *nf = fopen(f("norm.txt"), "r");
  if (!nf) return 1;
  int ok = fscanf(nf, "%31s %31s", mean, std_) == 2;
  fclose(nf);
  return ok ? 0 : 1;
}

static void compile_fp32(void)
{
  if (!have_example) return;
  qc_proc p;
  quantc(&p, "compile", example, "-o", f("fp32"), NULL);
  EXPECT(&p, 0, out, "scheme     fp32");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "target     x86-64"));
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "int8 path"));
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "compile "));
  have_fp32 = p.exit_code == 0;
  qc_proc_free(&p);
  const char *files[] = {"model.so", "model.o", "model.h", "weights.bin", "manifest.json",
                         "reference.onnx"};
  for (int i = 0; i < 6; i++) {
    char q[800];
    snprintf(q, sizeof q, "%s/%s", f("fp32"), files[i]);
    CU_ASSERT_TRUE(exists(q));
  }
  /* No temporary folder left next to DIR. */
  DIR *dd = opendir(sd);
  struct dirent *de;
  while (dd && (de = readdir(dd)) != NULL) CU_ASSERT_PTR_NULL(strstr(de->d_name, ".tmp"));
  if (dd) closedir(dd);
}

static void verify_fp32(void)
{
  if (!have_fp32) return;
  qc_proc p;
  quantc(&p, "verify", f("fp32"), "--data", "fashion-mnist", "-n", "200", "--mean", mean,
         "--std", std_, "--json", f("verify_fp32.json"), NULL);
  EXPECT(&p, 0, out, "OK: all 0 integer steps bit-exact");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "200 inputs in 200 batches of 1"));
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "Conv+Add+Relu")); /* a fused residual step */
  qc_proc_free(&p);
  /* The JSON parses and agrees. */
  char code[1200];
  snprintf(code, sizeof code,
           "import json\n"
           "r = json.load(open('verify_fp32.json'))\n"
           "assert r['ok'] and r['inputs'] == 200 and r['first_mismatch'] is None, r\n"
           "assert all(s['max_rel_err'] <= 1e-4 for s in r['steps'] + r['outputs'])\n"
           "assert r['outputs'][0]['elements'] == 2000\n");
  CU_ASSERT_EQUAL(qc_python(sd, code), 0);
}

static void compile_verify_w8a8(void)
{
  if (!have_example) return;
  qc_proc p;
  quantc(&p, "compile", example, "--scheme", "w8a8", "--calib", "fashion-mnist", "--calib-n",
         "64", "--mean", mean, "--std", std_, "-o", f("w8a8"), NULL);
  EXPECT(&p, 0, out, "scheme     w8a8");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "quantize "));
  have_w8a8 = p.exit_code == 0;
  qc_proc_free(&p);
  if (!have_w8a8) return;
  quantc(&p, "verify", f("w8a8"), "--data", "fashion-mnist", "-n", "200", "--mean", mean,
         "--std", std_, "--threads", "2", NULL);
  EXPECT(&p, 0, out, "OK: all 12 integer steps bit-exact");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "QcConv+QcAdd"));
  CU_ASSERT_PTR_NULL(strstr(p.out, "MISMATCH"));
  qc_proc_free(&p);
  /* The same quantization as `quantc quantize` (shared code): the compiled reference holds the
     same integer graph as quantize's --ir output, but for the batch dim fixed to 1. */
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", "fashion-mnist", "--calib-n",
         "64", "--mean", mean, "--std", std_, "-o", f("q.onnx"), "--ir", f("q.qc"), NULL);
  EXPECT(&p, 0, out, "wrote");
  qc_proc_free(&p);
  quantc(&p, "run", f("q.qc"), "--input", f("x1.npy"), "--output", f("y_qc.npy"), NULL);
  EXPECT(&p, 0, err, "");
  qc_proc_free(&p);
  quantc(&p, "run", f("w8a8"), "--input", f("x1.npy"), "--output", f("y_w8a8.npy"), NULL);
  EXPECT(&p, 0, err, "");
  qc_proc_free(&p);
  /* Integer model: the artifact's logits equal the interpreter's bit for bit. */
  CU_ASSERT_EQUAL(sh("cmp -s '%s' '%s'", f("y_qc.npy"), f("y_w8a8.npy")), 0);
  /* eval DIR: the same accuracy as the integer IR in the interpreter, image for image. */
  quantc(&p, "eval", f("q.qc"), "--data", "fashion-mnist", "--limit", "300", "--mean", mean,
         "--std", std_, NULL);
  EXPECT(&p, 0, out, "top-1: ");
  char want[64] = "";
  if (p.out) snprintf(want, sizeof want, "%.*s", (int)strcspn(p.out, "\n"), p.out);
  qc_proc_free(&p);
  quantc(&p, "eval", f("w8a8"), "--data", "fashion-mnist", "--limit", "300", "--mean", mean,
         "--std", std_, NULL);
  EXPECT(&p, 0, out, want[0] ? want : "top-1: ");
  CU_ASSERT_PTR_NOT_NULL(p.out ? strstr(p.out, "compiled x86-64") : NULL);
  qc_proc_free(&p);
}

static void run_dir_matches_interpreter(void)
{
  if (!have_fp32) return;
  qc_proc p;
  quantc(&p, "run", example, "--input", f("x1.npy"), "--output", f("y_ref.npy"), NULL);
  EXPECT(&p, 0, err, "");
  qc_proc_free(&p);
  quantc(&p, "run", f("fp32"), "--input", f("x1.npy"), "--output", f("y_art.npy"), NULL);
  EXPECT(&p, 0, err, "");
  qc_proc_free(&p);
  quantc(&p, "run", f("fp32"), "--input", f("x1.npy"), "--output", f("outdir/"), "--threads",
         "2", NULL);
  EXPECT(&p, 0, err, "");
  qc_proc_free(&p);
  CU_ASSERT_EQUAL(qc_python(sd,
                            "import numpy as np\n"
                            "a, b = np.load('y_ref.npy'), np.load('y_art.npy')\n"
                            "c = np.load('outdir/logits.npy')\n"
                            "assert a.shape == b.shape == (1, 10) and b.dtype == np.float32\n"
                            "assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max(), (a, b)\n"
                            "assert (b == c).all()\n"),
                  0);
  /* Summary without --output; a wrong input shape is exit 2 naming the input. */
  quantc(&p, "run", f("fp32"), "--input", f("x1.npy"), NULL);
  EXPECT(&p, 0, out, "logits: f32 [1,10] =");
  qc_proc_free(&p);
  quantc(&p, "run", f("fp32"), "--input", f("bad.npy"), NULL);
  EXPECT(&p, 2, err, "input 'input' (");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "expected f32 [1,1,28,28]"));
  qc_proc_free(&p);
  quantc(&p, "run", f("fp32"), "--input", f("x1.npy"), "--input", f("x1.npy"), NULL);
  EXPECT(&p, 1, err, "the model has 1 input but 2 --input given");
  qc_proc_free(&p);
  /* verify on NPY rows: 5 rows in 5 batches. */
  quantc(&p, "verify", f("fp32"), "--data", f("x5.npy"), NULL);
  EXPECT(&p, 0, out, "5 inputs in 5 batches of 1");
  qc_proc_free(&p);
}

static void deterministic(void)
{
  if (!have_fp32) return;
  qc_proc p;
  quantc(&p, "compile", example, "-o", f("fp32_again/"), NULL);
  EXPECT(&p, 0, out, "compiled");
  qc_proc_free(&p);
  const char *files[] = {"model.so", "model.o", "model.h", "weights.bin", "manifest.json",
                         "reference.onnx"};
  for (int i = 0; i < 6; i++) {
    int rc = sh("cmp '%s/%s' '%s/%s'", f("fp32"), files[i], f("fp32_again"), files[i]);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) fprintf(stderr, "\n  %s differs between two compiles\n", files[i]);
  }
  /* Compiling into an existing folder replaces the artifact's files and keeps the others. */
  CU_ASSERT_TRUE(qc_write_file(f("fp32_again/keep.txt"), "x", 1));
  CU_ASSERT_EQUAL(sh("cp '%s/weights.bin' '%s/weights.old'", f("fp32"), f("fp32_again")), 0);
  CU_ASSERT_EQUAL(sh("printf garbage > '%s/weights.bin'", f("fp32_again")), 0);
  quantc(&p, "compile", example, "-o", f("fp32_again"), NULL);
  EXPECT(&p, 0, out, "compiled");
  qc_proc_free(&p);
  CU_ASSERT_TRUE(exists(f("fp32_again/keep.txt")));
  CU_ASSERT_EQUAL(sh("cmp -s '%s/weights.bin' '%s/weights.old'", f("fp32_again"), f("fp32_again")),
                  0);
}

static void corrupted(void)
{
  if (!have_fp32) return;
  qc_proc p;
  /* A flipped byte in the weights section: the body CRC catches it. */
  CU_ASSERT_EQUAL(sh("rm -rf '%s' && cp -r '%s' '%s'", f("c1"), f("fp32"), f("c1")), 0);
  CU_ASSERT_EQUAL(qc_python(sd,
                            "b = bytearray(open('c1/weights.bin', 'rb').read())\n"
                            "b[len(b) - 100] ^= 0x10\n"
                            "open('c1/weights.bin', 'wb').write(b)\n"),
                  0);
  quantc(&p, "run", f("c1"), "--input", f("x1.npy"), NULL);
  EXPECT(&p, 2, err, "CRC");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "weights.bin"));
  CU_ASSERT_STRING_EQUAL(p.out, "");
  qc_proc_free(&p);
  quantc(&p, "verify", f("c1"), "--data", f("x5.npy"), NULL);
  EXPECT(&p, 2, err, "CRC");
  qc_proc_free(&p);
  quantc(&p, "bench", f("c1"), NULL);
  EXPECT(&p, 2, err, "CRC");
  qc_proc_free(&p);
  /* Truncated. */
  CU_ASSERT_EQUAL(sh("rm -rf '%s' && cp -r '%s' '%s' && truncate -s 1000 '%s/weights.bin'",
                     f("c2"), f("fp32"), f("c2"), f("c2")),
                  0);
  quantc(&p, "run", f("c2"), "--input", f("x1.npy"), NULL);
  EXPECT(&p, 2, err, "truncated");
  qc_proc_free(&p);
  /* The library missing: an I/O error naming it. */
  CU_ASSERT_EQUAL(sh("rm -rf '%s' && cp -r '%s' '%s' && rm '%s/model.so'", f("c3"), f("fp32"),
                     f("c3"), f("c3")),
                  0);
  quantc(&p, "run", f("c3"), "--input", f("x1.npy"), NULL);
  EXPECT(&p, 4, err, "model.so");
  qc_proc_free(&p);
  /* The library of another artifact: code hash or kernel count differ. */
  if (have_w8a8) {
    CU_ASSERT_EQUAL(sh("cp '%s/model.so' '%s/model.so'", f("w8a8"), f("c3")), 0);
    quantc(&p, "run", f("c3"), "--input", f("x1.npy"), NULL);
    EXPECT(&p, 2, err, "weights.bin");
    qc_proc_free(&p);
  }
  /* verify without reference.onnx. */
  CU_ASSERT_EQUAL(sh("rm -rf '%s' && cp -r '%s' '%s' && rm '%s/reference.onnx'", f("c4"),
                     f("fp32"), f("c4"), f("c4")),
                  0);
  quantc(&p, "verify", f("c4"), "--data", f("x5.npy"), NULL);
  EXPECT(&p, 4, err, "reference.onnx");
  qc_proc_free(&p);
}

static void bench(void)
{
  if (!have_w8a8) return;
  qc_proc p;
  quantc(&p, "bench", f("w8a8"), "--iters", "5", "--warmup", "1", "--json", f("bench.json"),
         NULL);
  EXPECT(&p, 0, out, "latency: median ");
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "QcConv+QcAdd"));
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "GMAC/s"));
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "peak RSS"));
  qc_proc_free(&p);
  CU_ASSERT_EQUAL(qc_python(sd,
                            "import json\n"
                            "r = json.load(open('bench.json'))\n"
                            "assert r['iters'] == 5 and len(r['steps']) == 13, r\n"
                            "assert r['macs'] == sum(s['macs'] for s in r['steps']) > 0\n"),
                  0);
}

static void bad_options(void)
{
  qc_proc p;
  quantc(&p, "compile", example, "-o", f("out_t"), "--target", "sparc", NULL);
  EXPECT(&p, 1, err, "compile: --target: 'sparc' is not x86-64 or aarch64");
  qc_proc_free(&p);
  quantc(&p, "compile", example, NULL);
  EXPECT(&p, 1, err, "compile: missing -o DIR");
  qc_proc_free(&p);
  quantc(&p, "compile", example, "-o", f("out_b"), "--batch", "0", NULL);
  EXPECT(&p, 1, err, "--batch: 0 is out of range (1..65536)");
  qc_proc_free(&p);
  quantc(&p, "compile", example, "-o", f("out_c"), "--calib", "fashion-mnist", NULL);
  EXPECT(&p, 1, err, "quantization options (--calib, ...) need --scheme");
  qc_proc_free(&p);
  quantc(&p, "compile", example, "-o", f("out_s"), "--scheme", "w8a8", NULL);
  EXPECT(&p, 1, err, "compile: missing --calib (fashion-mnist or .npy batches)");
  qc_proc_free(&p);
  quantc(&p, "compile", example, "-o", f("out_p"), "--prefix", "9lives", NULL);
  EXPECT(&p, 1, err, "--prefix: '9lives' is not a C identifier");
  qc_proc_free(&p);
  quantc(&p, "compile", example, "-o", f("x1.npy"), NULL);
  EXPECT(&p, 1, err, "exists and is not a folder");
  qc_proc_free(&p);
  if (have_example) {
    quantc(&p, "compile", example, "-o", f("out_cpu"), "--cpu", "pentium-nonsense", NULL);
    EXPECT(&p, 1, err, "--cpu: ");
    CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "pentium-nonsense"));
    qc_proc_free(&p);
  }
  /* An op the compiler does not lower: exit 3 naming it, nothing written. */
  quantc(&p, "compile", f("topk.onnx"), "-o", f("out_topk"), NULL);
  EXPECT(&p, 3, err, "TopK");
  qc_proc_free(&p);
  quantc(&p, "verify", f("fp32"), NULL);
  EXPECT(&p, 1, err, "verify: missing --data");
  qc_proc_free(&p);
  quantc(&p, "verify", f("fp32"), "--data", f("x5.npy"), "--mean", "0.5", NULL);
  EXPECT(&p, 1, err, "--mean/--std apply to --data fashion-mnist only");
  qc_proc_free(&p);
  quantc(&p, "verify", f("no_such_dir"), "--data", f("x5.npy"), NULL);
  EXPECT(&p, 4, err, "not an artifact folder");
  qc_proc_free(&p);
  quantc(&p, "bench", f("fp32"), "--iters", "0", NULL);
  EXPECT(&p, 1, err, "bench: --iters: 0 is out of range");
  qc_proc_free(&p);
  quantc(&p, "bench", f("no_such_dir"), NULL);
  EXPECT(&p, 4, err, "not an artifact folder");
  qc_proc_free(&p);
  /* Nothing named out_* was left behind by the failures. */
  DIR *dd = opendir(sd);
  struct dirent *de;
  while (dd && (de = readdir(dd)) != NULL) {
    bool bad = strncmp(de->d_name, "out_", 4) == 0;
    CU_ASSERT_FALSE(bad);
    if (bad) fprintf(stderr, "\n  left behind: %s\n", de->d_name);
  }
  if (dd) closedir(dd);
}

static CU_TestInfo tests[] = {
    {"compile fp32", compile_fp32},
    {"verify fp32 on 200 test images", verify_fp32},
    {"compile + verify W8A8 (bit-exact), same as quantize", compile_verify_w8a8},
    {"run DIR matches the interpreter", run_dir_matches_interpreter},
    {"deterministic, replaces in place", deterministic},
    {"corrupted artifacts", corrupted},
    {"bench", bench},
    {"bad options and unsupported ops", bad_options},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"compile", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
