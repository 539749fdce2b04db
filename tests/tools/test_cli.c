/* The `quantc` command as a user sees it: help texts, exit codes and exact error messages,
   `run` against NumPy, `inspect` MACs computed by hand, `eval` on a tiny IDX set with a known
   accuracy, and the bundled example model when it is present. */
#include <stdarg.h>
#include "testutil.h"
#include "tools_util.h"

#define quantc(p, ...) qc_run_quantc(p, 120, __VA_ARGS__)

static const char *dir;
static char sd[512]; /* copy of dir: qc_scratch_dir's buffer is static */

/* Python writes the models and data; references come from NumPy. */
static const char gen[] =
    "import numpy as np, gzip, struct, os\n"
    "from onnx import helper, numpy_helper, TensorProto as T\n"
    "def vi(n, s, t=T.FLOAT): return helper.make_tensor_value_info(n, t, s)\n"
    "def save(name, nodes, ins, outs, inits):\n"
    "    g = helper.make_graph(nodes, 'g', ins, outs, initializer=inits)\n"
    "    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])\n"
    "    m.ir_version = 8\n"
    "    open(name, 'wb').write(m.SerializeToString())\n"
    "rng = np.random.default_rng(7)\n"
    "W = rng.standard_normal((3, 4)).astype(np.float32)\n"
    "b = rng.standard_normal(4).astype(np.float32)\n"
    "save('small.onnx', [helper.make_node('MatMul', ['x', 'W'], ['m'], name='mm'),\n"
    "                    helper.make_node('Add', ['m', 'b'], ['a'], name='add'),\n"
    "                    helper.make_node('Relu', ['a'], ['y'], name='relu'),\n"
    "                    helper.make_node('Neg', ['x'], ['z'], name='neg')],\n"
    "     [vi('x', ['N', 3])], [vi('y', ['N', 4]), vi('z', ['N', 3])],\n"
    "     [numpy_helper.from_array(W, 'W'), numpy_helper.from_array(b, 'b')])\n"
    "x = rng.standard_normal((2, 3)).astype(np.float32)\n"
    "np.save('x.npy', x)\n"
    "np.save('x_bad.npy', np.zeros((2, 4), np.float32))\n"
    "np.save('y_ref.npy', np.maximum(x @ W + b, 0))\n"
    "np.save('z_ref.npy', -x)\n"
    "# Conv -> grouped strided Conv -> Flatten -> Gemm: MACs by hand in the test.\n"
    "save('conv.onnx', [\n"
    "    helper.make_node('Conv', ['x', 'W1', 'B1'], ['c1'], name='conv1', pads=[1, 1, 1, 1]),\n"
    "    helper.make_node('Conv', ['c1', 'W2'], ['c2'], name='conv2', group=4, strides=[2, 2],\n"
    "                     pads=[1, 1, 1, 1]),\n"
    "    helper.make_node('Flatten', ['c2'], ['f'], name='flat'),\n"
    "    helper.make_node('Gemm', ['f', 'Wf', 'Bf'], ['y'], name='fc', transB=1)],\n"
    "    [vi('x', ['batch', 3, 32, 32])], [vi('y', ['batch', 10])],\n"
    "    [numpy_helper.from_array(np.ones((16, 3, 3, 3), np.float32), 'W1'),\n"
    "     numpy_helper.from_array(np.ones(16, np.float32), 'B1'),\n"
    "     numpy_helper.from_array(np.ones((16, 4, 3, 3), np.float32), 'W2'),\n"
    "     numpy_helper.from_array(np.ones((10, 4096), np.float32), 'Wf'),\n"
    "     numpy_helper.from_array(np.ones(10, np.float32), 'Bf')])\n"
    "# A constant subgraph (Constant -> Mul) that folding reduces to one initializer.\n"
    "save('fold.onnx', [\n"
    "    helper.make_node('Constant', [], ['c'], name='const',\n"
    "                     value=numpy_helper.from_array(np.array([[1.5, -2]], np.float32))),\n"
    "    helper.make_node('Mul', ['c', 'k'], ['m'], name='scale'),\n"
    "    helper.make_node('Add', ['x', 'm'], ['y'], name='add')],\n"
    "    [vi('x', [3, 2])], [vi('y', [3, 2])],\n"
    "    [numpy_helper.from_array(np.array([4, 0.5], np.float32), 'k')])\n"
    "np.save('xf.npy', np.arange(6, dtype=np.float32).reshape(3, 2))\n"
    "# Fake Fashion-MNIST: image i lights pixel (i % 10); 15 of 20 labels agree.\n"
    "n = 20\n"
    "img = np.zeros((n, 28, 28), np.uint8)\n"
    "for i in range(n): img[i, 0, i % 10] = 255\n"
    "lab = np.array([i % 10 for i in range(n)], np.uint8)\n"
    "for i in (3, 7, 11, 12, 19): lab[i] = (lab[i] + 1) % 10\n"
    "ih = struct.pack('>IIII', 0x803, n, 28, 28); lh = struct.pack('>II', 0x801, n)\n"
    "os.makedirs('fm_gz'); os.makedirs('fm_raw')\n"
    "gzip.open('fm_gz/t10k-images-idx3-ubyte.gz', 'wb').write(ih + img.tobytes())\n"
    "gzip.open('fm_gz/t10k-labels-idx1-ubyte.gz', 'wb').write(lh + lab.tobytes())\n"
    "open('fm_raw/t10k-images-idx3-ubyte', 'wb').write(ih + img.tobytes())\n"
    "open('fm_raw/t10k-labels-idx1-ubyte', 'wb').write(lh + lab.tobytes())\n"
    "P = np.zeros((784, 10), np.float32); P[np.arange(10), np.arange(10)] = 1\n"
    "for name, batch in (('pick.onnx', 'N'), ('pick4.onnx', 4)):\n"
    "    save(name, [helper.make_node('Flatten', ['x'], ['f'], name='flat'),\n"
    "                helper.make_node('MatMul', ['f', 'P'], ['y'], name='pick')],\n"
    "         [vi('x', [batch, 1, 28, 28])], [vi('y', [batch, 10])],\n"
    "         [numpy_helper.from_array(P, 'P')])\n";

static int setup(void)
{
  const char *d = qc_scratch_dir("cli");
  if (!d) return 1;
  snprintf(sd, sizeof sd, "%s", d);
  dir = sd;
  return qc_python(dir, gen);
}


static const char *f(const char *name)
{
  static char buf[8][700];
  static int k;
  k = (k + 1) % 8;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}


#define EXPECT QC_EXPECT

static void test_help(void)
{
  qc_proc p;
  quantc(&p, "--help", NULL);
  EXPECT(&p, 0, out, "usage: quantc [--help] [--version] COMMAND [ARGS]");
  EXPECT(&p, 0, out, "  2  input error (malformed or invalid model or data file)\n");
  EXPECT(&p, 0, out, "  5  internal error");
  qc_proc_free(&p);
  quantc(&p, "--version", NULL);
  EXPECT(&p, 0, out, "quantc 0.1.0\n");
  qc_proc_free(&p);

  static const struct {
    const char *cmd;
    const char *frags[8];
  } cmds[] = {
      {"inspect", {"usage: quantc inspect MODEL", "--json", "--no-fold", NULL}},
      {"run", {"usage: quantc run MODEL", "--input [NAME=]FILE", "--output PATH", "--threads N",
               NULL}},
      {"eval", {"usage: quantc eval MODEL --data fashion-mnist", "--data-dir DIR", "--mean M",
                "--std S", "--limit N", "--batch B", "--threads N", "--progress"}},
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    quantc(&p, cmds[i].cmd, "--help", NULL);
    for (int k = 0; k < 8 && cmds[i].frags[k]; k++) EXPECT(&p, 0, out, cmds[i].frags[k]);
    EXPECT(&p, 0, out, "exit codes:");
    qc_proc q;
    quantc(&q, "help", cmds[i].cmd, NULL);
    CU_ASSERT_EQUAL(q.exit_code, 0);
    CU_ASSERT_STRING_EQUAL(q.out, p.out);
    qc_proc_free(&q);
    quantc(&q, cmds[i].cmd, "-h", NULL);
    CU_ASSERT_STRING_EQUAL(q.out, p.out);
    qc_proc_free(&q);
    qc_proc_free(&p);
  }
}

static void test_usage_errors(void)
{
  static const struct {
    const char *args[6];
    const char *msg;
  } cases[] = {
      {{NULL}, "usage: quantc"},
      {{"frobnicate"}, "quantc: error: unknown command 'frobnicate'\nTry 'quantc --help'.\n"},
      {{"--frob"}, "quantc: error: unknown option '--frob'"},
      {{"help", "nope"}, "quantc: error: unknown command 'nope'"},
      {{"inspect"}, "quantc: error: inspect: missing MODEL\nTry 'quantc inspect --help'.\n"},
      {{"inspect", "--frob", "m.onnx"}, "quantc: error: inspect: unknown option '--frob'\n"},
      {{"inspect", "-x", "m.onnx"}, "quantc: error: inspect: unknown option '-x'\n"},
      {{"inspect", "--json=1", "m.onnx"}, "quantc: error: inspect: option '--json' takes no value"},
      {{"inspect", "a.onnx", "b.onnx"}, "quantc: error: inspect: unexpected argument 'b.onnx'"},
      {{"run", "m.onnx", "--threads", "0"},
       "quantc: error: run: --threads: 0 is out of range (1..1024)\n"},
      {{"run", "m.onnx", "--threads", "-3"}, "run: --threads: -3 is out of range (1..1024)"},
      {{"run", "m.onnx", "--threads", "abc"}, "run: --threads: 'abc' is not an integer"},
      {{"run", "m.onnx", "--threads", "4x"}, "run: --threads: '4x' is not an integer"},
      {{"run", "m.onnx", "--threads", ""}, "run: --threads: '' is not an integer"},
      {{"run", "m.onnx", "--threads", "99999999999999999999"},
       "run: --threads: '99999999999999999999' is not an integer"},
      {{"run", "m.onnx", "--threads"}, "quantc: error: run: option '--threads' needs a value"},
      {{"run", "m.onnx", "-t"}, "quantc: error: run: option '-t' needs a value"},
      {{"run", "m.onnx", "-o", ""}, "quantc: error: run: --output: empty path"},
      {{"run", "m.onnx", "--input="}, "quantc: error: run: --input: empty path"},
      {{"eval", "m.onnx"}, "eval: missing --data (known: fashion-mnist)"},
      {{"eval", "m.onnx", "--data", "mnist"},
       "eval: --data: unknown data set 'mnist' (known: fashion-mnist)"},
      {{"eval", "m.onnx", "--data", "fashion-mnist", "--limit", "0"},
       "eval: --limit: 0 is out of range (1..1000000000)"},
      {{"eval", "m.onnx", "--data", "fashion-mnist", "--std", "0"}, "eval: --std: 0 must be > 0"},
      {{"eval", "m.onnx", "--data", "fashion-mnist", "--mean", "nan"},
       "eval: --mean: 'nan' is not a finite number"},
      {{"eval", "m.onnx", "--data", "fashion-mnist", "--batch", "70000"},
       "eval: --batch: 70000 is out of range (1..65536)"},
      {{"eval", "m.onnx", "--data", "fashion-mnist", "--split", "val"},
       "eval: --split: 'val' is not test or train"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *argv[8] = {(char *)QC_QUANTC};
    int n = 1;
    for (int k = 0; k < 6 && cases[i].args[k]; k++) argv[n++] = (char *)cases[i].args[k];
    argv[n] = NULL;
    qc_proc p;
    CU_ASSERT_FATAL(qc_run_proc(argv, 60, &p));
    EXPECT(&p, 1, err, cases[i].msg);
    CU_ASSERT_STRING_EQUAL(p.out, "");
    qc_proc_free(&p);
  }
}

static void test_run(void)
{
  qc_proc p;
  quantc(&p, "run", f("small.onnx"), "--input", f("x.npy"), "--output", f("y.npy"), "--output",
         f("z.npy"), "--threads", "2", NULL);
  EXPECT(&p, 0, err, "");
  CU_ASSERT_STRING_EQUAL(p.err, "");
  qc_proc_free(&p);
  /* Folder mode, input bound by name. */
  quantc(&p, "run", f("small.onnx"), "-i", "x=" /* NAME=FILE */, "-o", f("outdir/"), NULL);
  EXPECT(&p, 1, err, "quantc: error: run: --input x=: missing file name\n");
  qc_proc_free(&p);
  char named[800];
  snprintf(named, sizeof named, "x=%s", f("x.npy"));
  quantc(&p, "run", f("small.onnx"), "-i", named, "-o", f("outdir/"), NULL);
  EXPECT(&p, 0, out, "");
  qc_proc_free(&p);
  CU_ASSERT_EQUAL(qc_python(dir, "import numpy as np\n"
                                 "for a, b in (('y.npy', 'y_ref.npy'), ('z.npy', 'z_ref.npy'),\n"
                                 "             ('outdir/y.npy', 'y_ref.npy'),\n"
                                 "             ('outdir/z.npy', 'z_ref.npy')):\n"
                                 "    u, v = np.load(a), np.load(b)\n"
                                 "    assert u.dtype == np.float32 and u.shape == v.shape, a\n"
                                 "    assert np.allclose(u, v, rtol=1e-6, atol=1e-6), (a, u, v)\n"),
                  0);
  /* Without --output: a summary on stdout. */
  quantc(&p, "run", f("small.onnx"), "--input", f("x.npy"), NULL);
  EXPECT(&p, 0, out, "y: f32 [2,4] =");
  EXPECT(&p, 0, out, "z: f32 [2,3] =");
  qc_proc_free(&p);

  /* Mismatches name the input and the file. */
  char msg[1200];
  quantc(&p, "run", f("small.onnx"), "--input", f("x_bad.npy"), NULL);
  snprintf(msg, sizeof msg,
           "quantc: error: input 'x' (%s): dim 1 is 4, the model expects 3 (shape [N,3], file "
           "[2,4])\n",
           f("x_bad.npy"));
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "run", f("small.onnx"), "--input", f("x.npy"), "--input", f("x.npy"), NULL);
  EXPECT(&p, 1, err, "quantc: error: run: the model has 1 input but 2 --input given");
  qc_proc_free(&p);
  quantc(&p, "run", f("small.onnx"), NULL);
  EXPECT(&p, 1, err, "quantc: error: run: missing --input for model input 'x' (f32 [N,3])");
  qc_proc_free(&p);
  quantc(&p, "run", f("small.onnx"), "--input", f("x.npy"), "--output", f("only.npy"), NULL);
  EXPECT(&p, 1, err,
         "run: the model has 2 outputs but 1 --output given (give one per output, or a folder)");
  qc_proc_free(&p);
  quantc(&p, "run", f("small.onnx"), "--input", f("nope.npy"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: %s: cannot open: No such file or directory\n",
           f("nope.npy"));
  EXPECT(&p, 4, err, msg);
  qc_proc_free(&p);
  quantc(&p, "run", f("small.onnx"), "--input", f("x.npy"), "-o", "/nonexistent/dir/y.npy", "-o",
         f("z.npy"), NULL);
  EXPECT(&p, 4, err, "quantc: error: /nonexistent/dir/y.npy: cannot create: No such file");
  qc_proc_free(&p);
}

static void test_inspect(void)
{
  /* conv1: 1*16*32*32 * 3*3*3 = 442368; conv2 (group 4, stride 2): 1*16*16*16 * 4*3*3 = 147456;
     fc: 1*10*4096 = 40960; total 630784. Params: 432+16, 576, 40960+10 = 41994. */
  qc_proc p;
  quantc(&p, "inspect", f("conv.onnx"), NULL);
  EXPECT(&p, 0, out, "442,368");
  EXPECT(&p, 0, out, "147,456");
  EXPECT(&p, 0, out, "40,960");
  EXPECT(&p, 0, out, "total: 4 layers, 41,994 params, 0.0006 GMACs (630,784 MACs), weight "
                     "bytes 167976 (164.0 KiB)");
  EXPECT(&p, 0, out, "inputs:\n  x     f32   [batch,3,32,32]\n");
  EXPECT(&p, 0, out, "outputs:\n  y     f32   [batch,10]\n");
  EXPECT(&p, 0, out, "[batch,16,32,32]");
  EXPECT(&p, 0, out, "[batch,4096]");
  qc_proc_free(&p);
  quantc(&p, "inspect", "--json", f("conv.onnx"), NULL);
  EXPECT(&p, 0, out, "\"macs\": 442368");
  qc_proc_free(&p);
  /* The JSON parses and adds up. */
  char cmd[2000];
  snprintf(cmd, sizeof cmd,
           "import json, subprocess\n"
           "r = subprocess.run(['%s', 'inspect', '--json', 'conv.onnx'],\n"
           "                   capture_output=True, check=True)\n"
           "assert b'Sanitizer' not in r.stderr and b'runtime error' not in r.stderr\n"
           "j = json.loads(r.stdout)\n"
           "L = {l['name']: l for l in j['layers']}\n"
           "assert L['conv1']['macs'] == 442368 and L['conv2']['macs'] == 147456\n"
           "assert L['fc']['macs'] == 40960 and L['flat']['macs'] == 0\n"
           "assert L['conv1']['params'] == 448 and L['conv1']['param_bytes'] == 1792\n"
           "assert L['conv2']['outputs'] == [['batch', 16, 16, 16]]\n"
           "assert j['totals'] == {'layers': 4, 'params': 41994, 'param_bytes': 167976,\n"
           "  'macs': 630784, 'macs_complete': True,\n"
           "  'act_bytes': 4 * (16*32*32 + 16*16*16 + 4096 + 10)}, j['totals']\n"
           "assert j['inputs'] == [{'name': 'x', 'dtype': 'f32', 'shape': ['batch', 3, 32, 32]}]\n",
           QC_QUANTC);
  CU_ASSERT_EQUAL(qc_python(dir, cmd), 0);
}

/* Constant folding runs the interpreter's Mul on Constant's output: one layer remains. */
static void test_fold(void)
{
  qc_proc p;
  quantc(&p, "inspect", f("fold.onnx"), NULL);
  EXPECT(&p, 0, out, "(graph 'g', opset 17, 1 layers)");
  EXPECT(&p, 0, out, "total: 1 layers, 2 params,");
  qc_proc_free(&p);
  quantc(&p, "inspect", "--no-fold", f("fold.onnx"), NULL);
  EXPECT(&p, 0, out, "(graph 'g', opset 17, 3 layers)");
  qc_proc_free(&p);
  /* y = x + [1.5*4, -2*0.5] = x + [6, -1], either way. */
  static const char *const want = "y: f32 [3,2] = 6 0 8 2 10 4\n";
  quantc(&p, "run", f("fold.onnx"), "-i", f("xf.npy"), NULL);
  EXPECT(&p, 0, out, want);
  qc_proc_free(&p);
  quantc(&p, "run", f("fold.onnx"), "-i", f("xf.npy"), "--no-fold", NULL);
  EXPECT(&p, 0, out, want);
  qc_proc_free(&p);
}

static void test_eval(void)
{
  qc_proc p;
  quantc(&p, "eval", f("pick.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_gz"), NULL);
  EXPECT(&p, 0, out, "top-1: 75.00% (15/20)\ntime: ");
  EXPECT(&p, 0, out, "images/s (batch 100)\n");
  CU_ASSERT_STRING_EQUAL(p.err, ""); /* no progress bar: stderr is not a terminal */
  qc_proc_free(&p);
  quantc(&p, "eval", f("pick.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_raw"),
         "--mean", "0.5", "--std", "0.25", "--batch", "3", "--threads", "1", "--progress", NULL);
  EXPECT(&p, 0, out, "top-1: 75.00% (15/20)\n");
  EXPECT(&p, 0, out, "(batch 3)");
  EXPECT(&p, 0, err, "] 20/20 100% ");
  qc_proc_free(&p);
  /* First 8 images: 3 and 7 are wrong. */
  quantc(&p, "eval", f("pick.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_gz"),
         "--limit", "8", NULL);
  EXPECT(&p, 0, out, "top-1: 75.00% (6/8)\n");
  qc_proc_free(&p);
  /* A fixed batch of 4 over 7 images: the last batch is padded. */
  quantc(&p, "eval", f("pick4.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_gz"),
         "--limit", "7", NULL);
  EXPECT(&p, 0, out, "top-1: 85.71% (6/7)\n");
  EXPECT(&p, 0, out, "(batch 4)");
  qc_proc_free(&p);
  quantc(&p, "eval", f("pick4.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_gz"),
         "--batch", "8", NULL);
  EXPECT(&p, 1, err, "quantc: error: eval: --batch 8, but the model's batch dim is fixed at 4");
  qc_proc_free(&p);
  quantc(&p, "eval", f("small.onnx"), "--data", "fashion-mnist", "--data-dir", f("fm_gz"), NULL);
  EXPECT(&p, 2, err,
         "quantc: error: model input 'x' [N,3] takes 3 values per image; the images hold 784 "
         "(28x28)");
  qc_proc_free(&p);
  quantc(&p, "eval", f("pick.onnx"), "--data", "fashion-mnist", "--data-dir", f("nowhere"),
         NULL);
  EXPECT(&p, 4, err, "nowhere: data folder not found");
  qc_proc_free(&p);
  quantc(&p, "eval", f("pick.onnx"), "--data", "fashion-mnist", "--data-dir", dir, NULL);
  EXPECT(&p, 4, err, "neither t10k-images-idx3-ubyte.gz nor t10k-images-idx3-ubyte found");
  qc_proc_free(&p);
}

/* The bundled example: its accuracy on the first 500 test images is within 3 points of
   PyTorch's on the whole test set (fp32_top1 in the model's JSON, a fraction or a percent). */
static void test_example_model(void)
{
  char model[600], meta[600];
  snprintf(model, sizeof model, "%s/examples/fashion_resnet.onnx", QC_SOURCE_DIR);
  snprintf(meta, sizeof meta, "%s/examples/fashion_resnet.json", QC_SOURCE_DIR);
  if (access(model, R_OK) != 0 || access(meta, R_OK) != 0 ||
      access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
    fprintf(stderr, "\n  SKIPPED: examples/fashion_resnet.onnx/.json or Fashion-MNIST absent ");
    return;
  }
  char code[4000];
  snprintf(code, sizeof code,
           "import json, re, subprocess, sys\n"
           "m = json.load(open('%s'))\n"
           "r = subprocess.run(['%s', 'eval', '%s', '--data', 'fashion-mnist', '--mean',\n"
           "                    str(m['mean']), '--std', str(m['std']), '--limit', '500'],\n"
           "                   capture_output=True, text=True, timeout=600)\n"
           "print(r.stdout, r.stderr)\n"
           "assert r.returncode == 0, r.returncode\n"
           "assert 'Sanitizer' not in r.stderr and 'runtime error' not in r.stderr\n"
           "k = int(re.search(r'top-1: [0-9.]+%% \\((\\d+)/500\\)', r.stdout).group(1))\n"
           "ref = m['fp32_top1'] * (100 if m['fp32_top1'] <= 1 else 1)  # percent\n"
           "assert 500 * ref / 100 - 15 <= k <= 500, (k, ref)\n",
           meta, QC_QUANTC, model);
  CU_ASSERT_EQUAL(qc_python(dir, code), 0);
}

static CU_TestInfo tests[] = {
    {"--help and --version for quantc and each command", test_help},
    {"usage errors: exit 1, exact messages", test_usage_errors},
    {"run: NPY in, NPY out, against NumPy; mismatches", test_run},
    {"inspect: MACs and params of a known conv net, JSON", test_inspect},
    {"constant folding through the interpreter's kernels", test_fold},
    {"eval: known accuracy on a tiny IDX set", test_eval},
    {"eval: bundled example model, 500 images", test_example_model},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cli", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
