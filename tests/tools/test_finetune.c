/* quantc finetune: loss decreases on a fixed subset, the output reloads and evaluates, resume
   equals an uninterrupted run, corrupt checkpoints and bad options fail with exact messages and
   write nothing. */
#include <stdarg.h>
#include "testutil.h"
#include "tools_util.h"

#define quantc(p, ...) qc_run_quantc(p, 120, __VA_ARGS__)

#define EXAMPLE QC_SOURCE_DIR "/examples/fashion_resnet.onnx"
#define NORM "--mean", "0.286", "--std", "0.353"

static const char *dir;

static char *f(const char *name) { return qc_path_in(dir, name); }


/* The loss column of the CSV rows whose test_acc column is `with_test` (non-empty or empty). */
static int read_losses(const char *path, bool with_test, double *loss, int cap)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  char line[512];
  int n = 0;
  if (!fgets(line, sizeof line, fp)) n = -1;
  while (n >= 0 && n < cap && fgets(line, sizeof line, fp)) {
    int ep;
    long st;
    double lr, l, acc;
    char rest[128] = "";
    if (sscanf(line, "%d,%ld,%lf,%lf,%lf,%127s", &ep, &st, &lr, &l, &acc, rest) < 5) continue;
    bool has_test = rest[0] != ',';
    if (has_test == with_test) loss[n++] = l;
  }
  fclose(fp);
  return n;
}

static int setup(void)
{
  dir = qc_scratch_dir("finetune");
  if (!dir) return 1;
  /* 128 fixed training images as NPY: repeated epochs over them must lower the loss. */
  const char *code =
      "import gzip, numpy as np\n"
      "d='/usr/share/datasets/fashion-mnist/'\n"
      "x=np.frombuffer(gzip.open(d+'train-images-idx3-ubyte.gz').read(),np.uint8,offset=16)\n"
      "y=np.frombuffer(gzip.open(d+'train-labels-idx1-ubyte.gz').read(),np.uint8,offset=8)\n"
      "np.save('x.npy', x[:128*784].reshape(128,28,28))\n"
      "np.save('y.npy', y[:128].astype(np.int64))\n"
      "np.save('x32.npy', x[:64*32*24].reshape(64,32,24))\n"
      "import onnx\n"
      "from onnx import helper as h, TensorProto as T\n"
      "g=h.make_graph([h.make_node('Flatten',['x'],['f']),h.make_node('Relu',['f'],['y'])],'g',"
      "[h.make_tensor_value_info('x',T.FLOAT,['N',1,28,28])],"
      "[h.make_tensor_value_info('y',T.FLOAT,['N',784])])\n"
      "onnx.save(h.make_model(g,opset_imports=[h.make_opsetid('',13)]),'noparam.onnx')\n";
  return qc_python(dir, code) != 0;
}

static void test_loss_decreases_and_reloads(void)
{
  qc_proc p;
  char data[1300];
  snprintf(data, sizeof data, "%s,%s", f("x.npy"), f("y.npy"));
  quantc(&p, "finetune", EXAMPLE, "--data", data, NORM, "--epochs", "3", "--batch", "32", "--lr",
         "0.02", "--threads", "2", "--seed", "7", "--log", f("loss.csv"), "-o", f("out.onnx"),
         NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "epoch 3: loss "));
  qc_proc_free(&p);
  /* NPY has no test split: 12 step rows + 3 epoch rows, all with an empty test column. The
     epoch's running mean after its last step (steps 4, 12): epoch 3 below epoch 1. */
  double st[32];
  CU_ASSERT_EQUAL_FATAL(read_losses(f("loss.csv"), false, st, 32), 15);
  CU_ASSERT_EQUAL(st[3], st[4]);
  CU_ASSERT_TRUE(st[13] < st[3]);
  /* The trained model reloads and evaluates, still a good classifier. */
  quantc(&p, "eval", f("out.onnx"), "--data", "fashion-mnist", NORM, "--limit", "500", NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  double acc = 0;
  CU_ASSERT_TRUE(p.out && sscanf(p.out, "top-1: %lf%%", &acc) == 1);
  CU_ASSERT_TRUE(acc > 80.0);
  qc_proc_free(&p);
}

static void test_fashion_epoch_and_resume(void)
{
  qc_proc p;
  /* One epoch on 512 fashion-mnist images with test evaluation on 512 test images. */
  quantc(&p, "finetune", EXAMPLE, "--data", "fashion-mnist", NORM, "--limit", "512", "--batch",
         "64", "--lr", "0.001", "--threads", "2", "--log", f("fm.csv"), "-o", f("fm.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  CU_ASSERT_PTR_NOT_NULL(strstr(p.out, "test top-1 "));
  qc_proc_free(&p);
  CU_ASSERT_TRUE(qc_exists(f("fm.onnx")));

  /* 2 steps + resume 2 steps == 4 steps: identical weights and logged losses. */
  quantc(&p, "finetune", EXAMPLE, "--data", "fashion-mnist", NORM, "--limit", "256", "--batch",
         "32", "--lr", "0.01", "--optimizer", "adamw", "--augment", "--seed", "3", "--threads",
         "2", "--max-steps", "2", "--checkpoint", f("ck.onnx"), "--log", f("r.csv"), "-o",
         f("half.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  qc_proc_free(&p);
  CU_ASSERT_TRUE(qc_exists(f("ck.onnx")) && qc_exists(f("ck.onnx.state")));
  quantc(&p, "finetune", EXAMPLE, "--data", "fashion-mnist", NORM, "--limit", "256", "--batch",
         "32", "--lr", "0.01", "--optimizer", "adamw", "--augment", "--seed", "3", "--threads",
         "2", "--max-steps", "4", "--resume", f("ck.onnx"), "--log", f("r.csv"), "-o",
         f("resumed.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  qc_proc_free(&p);
  quantc(&p, "finetune", EXAMPLE, "--data", "fashion-mnist", NORM, "--limit", "256", "--batch",
         "32", "--lr", "0.01", "--optimizer", "adamw", "--augment", "--seed", "3", "--threads",
         "2", "--max-steps", "4", "--log", f("s.csv"), "-o", f("straight.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  qc_proc_free(&p);
  double a[8], b[8];
  CU_ASSERT_EQUAL_FATAL(read_losses(f("r.csv"), false, a, 8), 4);
  CU_ASSERT_EQUAL_FATAL(read_losses(f("s.csv"), false, b, 8), 4);
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(a[i], b[i]);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f("resumed.onnx"), f("straight.onnx"));
  CU_ASSERT_EQUAL(system(cmd), 0);
  /* A different weight vector than the start: training happened. */
  snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f("half.onnx"), f("straight.onnx"));
  CU_ASSERT_NOT_EQUAL(system(cmd), 0);

  /* Corrupt state: a clear error, no output. */
  FILE *fp = fopen(f("ck.onnx.state"), "r+b");
  CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
  fseek(fp, 30, SEEK_SET);
  fputc(0x5a, fp);
  fclose(fp);
  quantc(&p, "finetune", EXAMPLE, "--data", "fashion-mnist", NORM, "--limit", "256", "--batch",
         "32", "--lr", "0.01", "--optimizer", "adamw", "--augment", "--seed", "3", "--max-steps",
         "4", "--resume", f("ck.onnx"), "-o", f("bad.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 2);
  char msg[1400];
  snprintf(msg, sizeof msg, "quantc: error: %s.state: checksum mismatch (corrupt checkpoint)\n",
           f("ck.onnx"));
  CU_ASSERT_STRING_EQUAL(p.err, msg);
  CU_ASSERT_FALSE(qc_exists(f("bad.onnx")));
  qc_proc_free(&p);
}

static void test_errors(void)
{
  static const struct {
    const char *a[6];
    const char *msg;
  } cases[] = {
      {{"--lr", "0"}, "finetune: --lr: 0 must be > 0"},
      {{"--optimizer", "rmsprop"},
       "finetune: --optimizer: unknown value 'rmsprop' (known: sgd, adam, adamw)"},
      {{"--schedule", "linear"},
       "finetune: --schedule: unknown value 'linear' (known: constant, step, cosine, onecycle)"},
      {{"--alpha", "2"}, "finetune: --alpha: 2 must be in [0, 1]"},
      {{"--momentum", "1"}, "finetune: --momentum: 1 must be in [0, 1)"},
      {{"--optimizer", "adam", "--nesterov"},
       "finetune: --nesterov needs --optimizer sgd and --momentum > 0"},
      {{"--bogus"}, "finetune: unknown option '--bogus'"},
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
    CU_ASSERT_STRING_EQUAL(p.err, msg);
    qc_proc_free(&p);
  }
  quantc(&p, "finetune", EXAMPLE, "--data", data, NULL);
  CU_ASSERT_EQUAL(p.exit_code, 1);
  CU_ASSERT_STRING_EQUAL(p.err,
                         "quantc: error: finetune: missing -o OUT.onnx\n"
                         "Try 'quantc finetune --help'.\n");
  qc_proc_free(&p);
  /* Data that does not match the model input: 32x24 samples for a 28x28 input. */
  quantc(&p, "finetune", EXAMPLE, "--data", f("x32.npy"), "-o", f("never.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 2);
  CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "samples are 1x32x24 (768 values)"));
  qc_proc_free(&p);
  /* A model with nothing to train. */
  quantc(&p, "finetune", f("noparam.onnx"), "--data", data, "-o", f("never.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 2);
  char msg[1400];
  snprintf(msg, sizeof msg, "quantc: error: %s: the model has no trainable parameter\n",
           f("noparam.onnx"));
  CU_ASSERT_STRING_EQUAL(p.err, msg);
  qc_proc_free(&p);
  CU_ASSERT_FALSE(qc_exists(f("never.onnx")));
  CU_ASSERT_FALSE(qc_exists(f("never.onnx.tmp")));
}

/* SIGINT mid-run: exit 130 with a message, a checkpoint that resumes, no OUT. */
static void test_sigint(void)
{
  char data[1300];
  snprintf(data, sizeof data, "%s,%s", f("x.npy"), f("y.npy"));
  char *argv[] = {(char *)QC_QUANTC, "finetune", (char *)EXAMPLE, "--data", data, "--epochs",
                  "1000", "--threads", "1", "--checkpoint", f("int.onnx"), "--log",
                  f("int.csv"), "-o", f("int_out.onnx"), NULL};
  char errp[700];
  snprintf(errp, sizeof errp, "%s", f("int.err"));
  fflush(NULL);
  pid_t pid = fork();
  CU_ASSERT_FATAL(pid >= 0);
  if (pid == 0) {
    int fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    int nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    execv(argv[0], argv);
    _exit(127);
  }
  /* Wait until two step rows are in the live log (handler installed), then interrupt. */
  char tmp[700];
  snprintf(tmp, sizeof tmp, "%s", f("int.csv.tmp"));
  for (int i = 0; i < 1200; i++) {
    FILE *fp = fopen(tmp, "r");
    int lines = 0, ch;
    if (fp) {
      while ((ch = fgetc(fp)) != EOF) lines += ch == '\n';
      fclose(fp);
    }
    if (lines >= 3) break;
    usleep(50 * 1000);
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130);
  int fd = open(errp, O_RDONLY);
  char *err = slurp_fd(fd);
  close(fd);
  CU_ASSERT_PTR_NOT_NULL(err ? strstr(err, "quantc: interrupted at step ") : NULL);
  free(err);
  CU_ASSERT_FALSE(qc_exists(f("int_out.onnx")));
  CU_ASSERT_TRUE(qc_exists(f("int.onnx")) && qc_exists(f("int.onnx.state")));
  CU_ASSERT_FALSE(qc_exists(f("int.onnx.tmp")) || qc_exists(f("int.onnx.state.tmp")));
  qc_proc p;
  quantc(&p, "finetune", EXAMPLE, "--data", data, "--epochs", "1", "--threads", "1",
         "--resume", f("int.onnx"), "-o",
         f("int_out.onnx"), NULL);
  CU_ASSERT_EQUAL(p.exit_code, 0);
  qc_proc_free(&p);
}

static CU_TestInfo tests[] = {
    {"loss decreases on a fixed subset; output reloads and evals", test_loss_decreases_and_reloads},
    {"fashion-mnist epoch; resume == uninterrupted; corrupt checkpoint", test_fashion_epoch_and_resume},
    {"SIGINT: checkpoint, exit 130, resumable", test_sigint},
    {"option and data errors: exact messages, nothing written", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"finetune", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
