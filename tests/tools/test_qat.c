/* quantc finetune --qat: a short W4A4 run writes an integer model (ONNX + report + IR text)
   that `quantc eval` accepts with a sane accuracy; bad QAT options fail with exact messages
   and write nothing. */
#include <stdarg.h>
#include "testutil.h"
#include "tools_util.h"

#define quantc(p, ...) qc_run_quantc(p, 120, __VA_ARGS__)

#define EXAMPLE QC_SOURCE_DIR "/examples/fashion_resnet.onnx"
#define NORM "--mean", "0.286", "--std", "0.353"

static const char *dir;

static char *f(const char *name) { return qc_path_in(dir, name); }


static int setup(void)
{
  dir = qc_scratch_dir("qat");
  if (!dir) return 1;
  const char *code =
      "import gzip, numpy as np\n"
      "d='/usr/share/datasets/fashion-mnist/'\n"
      "x=np.frombuffer(gzip.open(d+'train-images-idx3-ubyte.gz').read(),np.uint8,offset=16)\n"
      "y=np.frombuffer(gzip.open(d+'train-labels-idx1-ubyte.gz').read(),np.uint8,offset=8)\n"
      "np.save('x.npy', x[:256*784].reshape(256,28,28))\n"
      "np.save('y.npy', y[:256].astype(np.int64))\n"
      "open('bits.txt','w').write('/layer1/layer1.0/conv1/Conv w=4 a=4\\n')\n";
  return qc_python(dir, code) != 0;
}

static double top1_of(const char *out)
{
  const char *p = out ? strstr(out, "top-1: ") : NULL;
  return p ? atof(p + 7) : -1;
}

static void test_short_run_evals(void)
{
  char data[1300];
  snprintf(data, sizeof data, "%s,%s", f("x.npy"), f("y.npy"));
  qc_proc p;
  quantc(&p, "finetune", EXAMPLE, "--qat", "w4a4", "--freeze-bn", "--data", data, "--epochs",
         "1", "--batch", "64", "--lr", "0.002", "--calib-n", "128", NORM, "--threads", "2",
         "--no-progress", "-o", f("q.onnx"), "--ir", f("q.qc"), NULL);
  if (p.exit_code != 0) fprintf(stderr, "%s%s", qc_nz(p.out), qc_nz(p.err));
  CU_ASSERT_EQUAL_FATAL(p.exit_code, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "wrote "));
  qc_proc_free(&p);
  CU_ASSERT_TRUE(qc_exists(f("q.onnx")));
  CU_ASSERT_TRUE(qc_exists(f("q.json")));
  /* the report: scheme, 10 layers with the first conv and last FC at 8 bits */
  FILE *fp = fopen(f("q.json"), "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
  char rep[8192] = "";
  size_t n = fread(rep, 1, sizeof rep - 1, fp);
  rep[n] = 0;
  fclose(fp);
  CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"scheme\": \"w4a4\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"act_range_momentum\": 0.99"));
  CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"layers\": 10"));
  /* the exact integer model (IR text) and the ONNX file both evaluate */
  quantc(&p, "eval", f("q.qc"), "--data", "fashion-mnist", "--limit", "300", NORM, "--threads",
         "2", "--no-progress", NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  double acc = top1_of(p.out);
  printf("\n    W4A4 QAT (256 images, 1 epoch), exact integer model: top-1 %.2f%% on 300\n", acc);
  CU_ASSERT(acc >= 80.0);
  qc_proc_free(&p);
  quantc(&p, "eval", f("q.onnx"), "--data", "fashion-mnist", "--limit", "200", NORM,
         "--threads", "2", "--no-progress", NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  CU_ASSERT(top1_of(p.out) >= 50.0);
  qc_proc_free(&p);
  /* a per-layer config file as the scheme */
  quantc(&p, "finetune", EXAMPLE, "--qat", f("bits.txt"), "--data", data, "--max-steps", "1",
         "--batch", "64", "--lr", "0.001", "--calib-n", "64", NORM, "--threads", "2",
         "--no-progress", "-o", f("c.onnx"), "--report", f("c_report.json"), NULL);
  if (p.exit_code != 0) fprintf(stderr, "%s%s", qc_nz(p.out), qc_nz(p.err));
  CU_ASSERT_EQUAL(p.exit_code, 0);
  qc_proc_free(&p);
  CU_ASSERT_TRUE(qc_exists(f("c_report.json")));
}

static bool same_file(const char *a, const char *b)
{
  FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
  bool same = x && y;
  while (same) {
    int c = fgetc(x), d = fgetc(y);
    same = c == d;
    if (c == EOF) break;
  }
  if (x) fclose(x);
  if (y) fclose(y);
  return same;
}

/* Two epochs straight == one epoch, checkpoint, --resume: the checkpoint carries the ranges. */
static void test_resume_equals_straight(void)
{
  char data[1300];
  snprintf(data, sizeof data, "%s,%s", f("x.npy"), f("y.npy"));
  qc_proc p;
#define RUN(...)                                                                              \
  quantc(&p, "finetune", EXAMPLE, "--qat", "w4a4", "--data", data, "--batch", "64", "--lr",    \
         "0.002", "--calib-n", "64", "--limit", "128", NORM, "--no-progress", __VA_ARGS__,      \
         NULL);                                                                               \
  if (p.exit_code != 0) fprintf(stderr, "%s%s", qc_nz(p.out), qc_nz(p.err));                 \
  CU_ASSERT_EQUAL_FATAL(p.exit_code, 0);                                                      \
  qc_proc_free(&p)
  RUN("--epochs", "2", "-o", f("straight.onnx"));
  RUN("--epochs", "1", "--checkpoint", f("r.ckpt"), "-o", f("half.onnx"));
  RUN("--epochs", "2", "--resume", f("r.ckpt"), "-o", f("resumed.onnx"));
#undef RUN
  CU_ASSERT_TRUE(same_file(f("straight.onnx"), f("resumed.onnx")));
  CU_ASSERT_FALSE(same_file(f("half.onnx"), f("resumed.onnx")));
}

static void test_errors(void)
{
  static const struct {
    const char *a[6];
    const char *msg;
  } cases[] = {
      {{"--qat", "w9a4"}, "finetune: --qat w9a4: bits must be in 2..8"},
      {{"--qat", "bogus"},
       "finetune: --qat bogus: not wNaM (e.g. w4a4) and not a readable config file"},
      {{"--qat", "w4a4", "--freeze-bn", "2"},
       "finetune: --freeze-bn 2: QAT folds BN into the layers before training, so BN is frozen "
       "from epoch 0"},
      {{"--qat", "w4a4", "--act-momentum", "1"}, "finetune: --act-momentum: 1 must be in [0, 1)"},
      {{"--report", "r.json"}, "finetune: --report needs --qat"},
      {{"--ir", "r.qc"}, "finetune: --ir needs --qat"},
  };
  qc_proc p;
  char data[1300];
  snprintf(data, sizeof data, "%s,%s", f("x.npy"), f("y.npy"));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *argv[20];
    int n = 0;
    argv[n++] = (char *)QC_QUANTC;
    argv[n++] = "finetune";
    argv[n++] = (char *)EXAMPLE;
    argv[n++] = "--data";
    argv[n++] = data;
    argv[n++] = "-o";
    argv[n++] = f("never.onnx");
    for (int k = 0; k < 6 && cases[i].a[k]; k++) argv[n++] = (char *)cases[i].a[k];
    argv[n] = NULL;
    CU_ASSERT_TRUE_FATAL(qc_run_proc(argv, 60, &p));
    CU_ASSERT_EQUAL(p.exit_code, 1);
    char msg[600];
    snprintf(msg, sizeof msg, "quantc: error: %s\nTry 'quantc finetune --help'.\n",
             cases[i].msg);
    if (strcmp(p.err, msg) != 0) fprintf(stderr, "\ngot  %swant %s", p.err, msg);
    CU_ASSERT_STRING_EQUAL(p.err, msg);
    qc_proc_free(&p);
  }
  CU_ASSERT_FALSE(qc_exists(f("never.onnx")));
  CU_ASSERT_FALSE(qc_exists(f("never.json")));
}

static CU_TestInfo tests[] = {
    {"short W4A4 QAT run: integer model, report, eval", test_short_run_evals},
    {"resume from a QAT checkpoint == straight run", test_resume_equals_straight},
    {"bad QAT options: exact messages, nothing written", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qat cli", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
