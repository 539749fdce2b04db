/* `quantc quantize` as a user sees it: usage errors and bad input (unknown layer in a config,
   bits outside 2..8, empty or mismatched calibration data, no quantizable layer) by exact
   message and exit code with nothing written; a W8A8 quantization of the bundled example model
   whose ONNX loads in the onnx package, whose JSON totals are consistent, and whose exact
   integer IR (.qc) evaluates within 1 point of fp32 on the same 500 test images. */
#include <dirent.h>
#include <stdarg.h>
#include "testutil.h"
#include "tools_util.h"

#define quantc(p, ...) qc_run_quantc(p, 600, __VA_ARGS__)

static const char *dir;
static char sd[512];
static char example[600], meta[600];
static bool have_example;

/* Python writes the small models and NPY batches. */
static const char gen[] =
    "import numpy as np, os\n"
    "from onnx import helper, numpy_helper, TensorProto as T\n"
    "def vi(n, s, t=T.FLOAT): return helper.make_tensor_value_info(n, t, s)\n"
    "def save(name, nodes, ins, outs, inits):\n"
    "    g = helper.make_graph(nodes, 'g', ins, outs, initializer=inits)\n"
    "    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])\n"
    "    m.ir_version = 8\n"
    "    open(name, 'wb').write(m.SerializeToString())\n"
    "rng = np.random.default_rng(3)\n"
    "# No Conv, Gemm or MatMul: nothing to quantize.\n"
    "save('relu.onnx', [helper.make_node('Relu', ['x'], ['y'], name='relu')],\n"
    "     [vi('x', ['N', 1, 28, 28])], [vi('y', ['N', 1, 28, 28])], [])\n"
    "os.makedirs('batches'); os.makedirs('nobatches'); os.makedirs('mixed')\n"
    "for i in range(2):\n"
    "    np.save('batches/b%d.npy' % i, rng.standard_normal((8, 1, 28, 28)).astype(np.float32))\n"
    "np.save('mixed/a.npy', np.zeros((4, 1, 28, 28), np.float32))\n"
    "np.save('mixed/b.npy', np.zeros((4, 1, 28, 27), np.float32))\n"
    "np.save('empty.npy', np.zeros((0, 1, 28, 28), np.float32))\n"
    "np.save('f64.npy', np.zeros((4, 1, 28, 28), np.float64))\n"
    "np.save('rank3.npy', np.zeros((4, 28, 28), np.float32))\n"
    "open('nobatches/readme.txt', 'w').write('no npy here\\n')\n"
    "open('unknown_layer.cfg', 'w').write('# per-layer bits\\nno_such_layer w=4 a=8\\n')\n";

static int setup(void)
{
  const char *d = qc_scratch_dir("quantize");
  if (!d) return 1;
  snprintf(sd, sizeof sd, "%s", d);
  dir = sd;
  snprintf(example, sizeof example, "%s/examples/fashion_resnet.onnx", QC_SOURCE_DIR);
  snprintf(meta, sizeof meta, "%s/examples/fashion_resnet.json", QC_SOURCE_DIR);
  have_example = access(example, R_OK) == 0 && access(meta, R_OK) == 0 &&
                 access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) == 0;
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

/* Nothing in the scratch folder whose name starts with "out" (outputs and their temps). */
static void expect_nothing_written(void)
{
  DIR *d = opendir(dir);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    bool bad = strncmp(de->d_name, "out", 3) == 0;
    CU_ASSERT_FALSE(bad);
    if (bad) fprintf(stderr, "\n  left behind: %s\n", de->d_name);
  }
  closedir(d);
}

static void test_help(void)
{
  qc_proc p;
  quantc(&p, "quantize", "--help", NULL);
  EXPECT(&p, 0, out, "usage: quantc quantize MODEL --scheme w8a8|w4a8|w4a4|CONFIG --calib DATA");
  EXPECT(&p, 0, out, "--calib-method M");
  qc_proc_free(&p);
  quantc(&p, "--help", NULL);
  EXPECT(&p, 0, out, "  quantize MODEL ");
  qc_proc_free(&p);
}

static void test_usage(void)
{
  static const struct {
    const char *args[12];
    const char *msg;
  } cases[] = {
      {{"m.onnx", "--calib", "fashion-mnist", "-o", "out.onnx"},
       "quantc: error: quantize: missing --scheme (w8a8, w4a8, w4a4 or a config file)\n"
       "Try 'quantc quantize --help'.\n"},
      {{"m.onnx", "--scheme", "w8a8", "-o", "out.onnx"},
       "quantc: error: quantize: missing --calib (fashion-mnist or .npy batches)\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist"},
       "quantc: error: quantize: missing -o OUT.onnx\n"},
      {{"--scheme", "w8a8", "--calib", "fashion-mnist", "-o", "out.onnx"},
       "quantc: error: quantize: missing MODEL\n"},
      {{"m.onnx", "--scheme", "w3a3", "--calib", "fashion-mnist", "-o", "out.onnx"},
       "quantc: error: quantize: --scheme: 'w3a3' is not w8a8, w4a8, w4a4 or an existing "
       "config file\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "--calib-n", "0", "-o", "o"},
       "quantc: error: quantize: --calib-n: 0 is out of range (1..60000)\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "--calib-method", "kl", "-o",
        "o"},
       "quantc: error: quantize: --calib-method: 'kl' is not minmax, percentile or mse\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "--percentile", "0", "-o",
        "o"},
       "quantc: error: quantize: --percentile: 0 is not in (0, 100]\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "--calib-method", "mse",
        "--percentile", "99", "-o", "o"},
       "quantc: error: quantize: --percentile needs --calib-method percentile\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "--first-last", "4", "-o",
        "o"},
       "quantc: error: quantize: --first-last: '4' is not 8 or same\n"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "x.npy", "--mean", "0.2", "-o", "o"},
       "quantc: error: quantize: --mean/--std apply to --calib fashion-mnist only"},
      {{"m.onnx", "--scheme", "w8a8", "--calib", "fashion-mnist", "-o", "o.onnx", "--report",
        "o.onnx"},
       "quantc: error: quantize: -o, --report and --ir must be different files\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)QC_QUANTC;
    argv[n++] = "quantize";
    for (int k = 0; k < 12 && cases[i].args[k]; k++) argv[n++] = (char *)cases[i].args[k];
    argv[n] = NULL;
    qc_proc p;
    CU_ASSERT_TRUE_FATAL(qc_run_proc_in(dir, argv, 60, &p));
    EXPECT(&p, 1, err, cases[i].msg);
    CU_ASSERT_STRING_EQUAL(p.out, "");
    qc_proc_free(&p);
  }
  expect_nothing_written();
}

/* Bad calibration data and models: exit 2/3/4, exact message, nothing written. */
static void test_bad_input(void)
{
  if (!have_example) {
    fprintf(stderr, "\n  SKIPPED: examples/fashion_resnet.onnx or Fashion-MNIST absent ");
    return;
  }
  qc_proc p;
  char msg[1400];
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("mixed"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg,
           "quantc: error: calibration: %s/mixed/b.npy has shape [4,1,28,27]; model input "
           "'input' is [N,1,28,28] (dim 3)\n",
           dir);
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("empty.npy"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: calibration: %s/empty.npy is empty (shape [0,1,28,28])\n",
           dir);
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("f64.npy"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg,
           "quantc: error: calibration: %s/f64.npy holds f64 [4,1,28,28]; model input 'input' "
           "is float32 [N,1,28,28]\n",
           dir);
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("rank3.npy"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg,
           "quantc: error: calibration: %s/rank3.npy has shape [4,28,28]; model input 'input' "
           "is [N,1,28,28] (rank 4)\n",
           dir);
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("nobatches"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: calibration: %s/nobatches holds no .npy files\n",
           dir);
  EXPECT(&p, 2, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", f("missing.npy"), "-o",
         f("out.onnx"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: %s/missing.npy: cannot open", dir);
  EXPECT(&p, 4, err, msg);
  qc_proc_free(&p);
  quantc(&p, "quantize", example, "--scheme", "w8a8", "--calib", "fashion-mnist",
         "--data-dir", f("nowhere"), "-o", f("out.onnx"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: %s/nowhere: data folder not found\n", dir);
  EXPECT(&p, 4, err, msg);
  qc_proc_free(&p);
  /* The quantizer's own checks: a layer the model does not have, bits outside 2..8. */
  quantc(&p, "quantize", example, "--scheme", f("unknown_layer.cfg"), "--calib",
         f("batches"), "-o", f("out.onnx"), NULL);
  snprintf(msg, sizeof msg,
           "quantc: error: %s/unknown_layer.cfg:2: unknown layer 'no_such_layer' (not a "
           "Conv/Gemm/MatMul node of the model)\n",
           dir);
  EXPECT(&p, 2, err, msg);
  CU_ASSERT_STRING_EQUAL(p.out, "");
  qc_proc_free(&p);
  quantc(&p, "quantize", f("relu.onnx"), "--scheme", "w8a8", "--calib", f("batches"), "-o",
         f("out.onnx"), NULL);
  EXPECT(&p, 3, err, "quantc: error: no Conv/Gemm/MatMul layer to quantize\n");
  CU_ASSERT_STRING_EQUAL(p.out, "");
  qc_proc_free(&p);
  expect_nothing_written();
}

/* Bits outside 2..8 in a config naming a real layer (the first Conv of the example). */
static void test_bad_bits(void)
{
  if (!have_example) return;
  static const char *const lines[] = {"w=9 a=8", "w=8 a=1", "w=0 a=8", "w=4 a=16"};
  static const char *const bad[] = {"w=9", "a=1", "w=0", "a=16"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    char code[1200];
    snprintf(code, sizeof code,
             "import onnx\n"
             "m = onnx.load('%s')\n"
             "conv = [n.name for n in m.graph.node if n.op_type == 'Conv'][1]\n"
             "open('bits.cfg', 'w').write('%%s %s\\n' %% conv)\n",
             example, lines[i]);
    CU_ASSERT_EQUAL_FATAL(qc_python(dir, code), 0);
    qc_proc p;
    quantc(&p, "quantize", example, "--scheme", f("bits.cfg"), "--calib", f("batches"), "-o",
           f("out.onnx"), NULL);
    char msg[800];
    snprintf(msg, sizeof msg, "quantc: error: %s/bits.cfg:1: %s: bits must be in 2..8\n", dir,
             bad[i]);
    EXPECT(&p, 2, err, msg);
    qc_proc_free(&p);
  }
  expect_nothing_written();
}

/* W8A8 of the example model on 256 training images: ONNX loads, report consistent, the
   integer IR within 1 point of fp32 on 500 test images; the QDQ ONNX evaluates too. */
static void test_example_w8a8(void)
{
  if (!have_example) {
    fprintf(stderr, "\n  SKIPPED: examples/fashion_resnet.onnx or Fashion-MNIST absent ");
    return;
  }
  char code[6000];
  snprintf(code, sizeof code,
           "import json, math, os, re, subprocess\n"
           "import onnx\n"
           "Q, M = '%s', '%s'\n"
           "m = json.load(open('%s'))\n"
           "norm = ['--mean', str(m['mean']), '--std', str(m['std'])]\n"
           "def run(*a):\n"
           "    r = subprocess.run([Q] + list(a), capture_output=True, text=True, timeout=900)\n"
           "    print(r.stdout, r.stderr)\n"
           "    assert r.returncode == 0, r.returncode\n"
           "    assert 'Sanitizer' not in r.stderr and 'runtime error' not in r.stderr\n"
           "    return r.stdout\n"
           "out = run('quantize', M, '--scheme', 'w8a8', '--calib', 'fashion-mnist',\n"
           "          '--calib-n', '256', '--seed', '5', *norm, '-o', 'q8.onnx', '--ir', 'q8.qc')\n"
           "assert 'size: ' in out and 'x smaller' in out, out\n"
           "assert os.path.exists('q8.json') and os.path.exists('q8.qc')\n"
           "assert not [f for f in os.listdir('.') if '.tmp' in f]\n"
           "# Deterministic: the same seed gives the same subset and byte-identical files.\n"
           "run('quantize', M, '--scheme', 'w8a8', '--calib', 'fashion-mnist',\n"
           "    '--calib-n', '256', '--seed', '5', *norm, '-o', 'q8b.onnx', '--ir', 'q8b.qc')\n"
           "assert open('q8.onnx', 'rb').read() == open('q8b.onnx', 'rb').read()\n"
           "assert open('q8.qc', 'rb').read() == open('q8b.qc', 'rb').read()\n"
           "onnx.checker.check_model(onnx.load('q8.onnx'))\n"
           "ops = {n.op_type for n in onnx.load('q8.onnx').graph.node}\n"
           "assert 'QuantizeLinear' in ops or 'QLinearConv' in ops, ops\n"
           "r = json.load(open('q8.json'))\n"
           "L, t = r['layers'], r['totals']\n"
           "assert len(L) == t['layers'] >= 8, len(L)\n"
           "for l in L:\n"
           "    assert l['op'] in ('Conv', 'Gemm', 'MatMul'), l\n"
           "    assert l['w_bits'] == 8 and l['a_bits'] == 8, l\n"
           "    assert l['bops'] == l['macs'] * l['w_bits'] * l['a_bits'], l\n"
           "    assert l['bytes'] == (l['bits'] + 7) // 8, l\n"
           "    assert l['params'] * 8 <= l['bits'] <= l['params'] * 32, l\n"
           "assert math.isclose(t['compression_ratio'], t['fp32_bytes'] / t['quant_bytes'],\n"
           "                    rel_tol=1e-12)\n"
           "assert 3.5 < t['compression_ratio'] < 4.01, t\n"
           "assert math.isclose(t['bops'], sum(l['bops'] for l in L), rel_tol=1e-12)\n"
           "assert math.isclose(t['fp32_bops'], 1024 * sum(l['macs'] for l in L), rel_tol=1e-12)\n"
           "assert math.isclose(t['gbops'], t['bops'] * 1e-9, rel_tol=1e-12)\n"
           "assert t['quant_bytes'] >= sum(l['bytes'] for l in L) - len(L)\n"
           "assert t['fp32_bytes'] >= 4 * sum(l['params'] for l in L)\n"
           "assert r['calibration']['samples'] == 256, r['calibration']\n"
           "def top1(model):\n"
           "    s = run('eval', model, '--data', 'fashion-mnist', *norm, '--limit', '500')\n"
           "    return int(re.search(r'top-1: [0-9.]+%% \\((\\d+)/500\\)', s).group(1))\n"
           "fp, iq, qdq = top1(M), top1('q8.qc'), top1('q8.onnx')\n"
           "print('fp32', fp, 'int8 IR', iq, 'QDQ onnx', qdq)\n"
           "assert abs(fp - iq) <= 5, (fp, iq)\n"
           "assert abs(fp - qdq) <= 5, (fp, qdq)\n",
           QC_QUANTC, example, meta);
  CU_ASSERT_EQUAL(qc_python(dir, code), 0);
}

/* NPY batches as calibration, a 4-bit config; `run` takes the .qc IR. */
static void test_npy_calib_and_run(void)
{
  if (!have_example) return;
  char code[3000];
  snprintf(code, sizeof code,
           "import json, subprocess, numpy as np\n"
           "Q, M = '%s', '%s'\n"
           "def run(*a):\n"
           "    r = subprocess.run([Q] + list(a), capture_output=True, text=True, timeout=600)\n"
           "    print(r.stdout, r.stderr)\n"
           "    assert r.returncode == 0, r.returncode\n"
           "    assert 'Sanitizer' not in r.stderr and 'runtime error' not in r.stderr\n"
           "    return r.stdout\n"
           "run('quantize', M, '--scheme', 'w4a8', '--calib', 'batches', '-o', 'q4.onnx',\n"
           "    '--report', 'q4report.json', '--ir', 'q4.qc', '--calib-method', 'minmax')\n"
           "r = json.load(open('q4report.json'))\n"
           "assert r['calibration']['samples'] == 16 and r['calibration']['batches'] == 2\n"
           "bits = [(l['w_bits'], l['a_bits']) for l in r['layers']]\n"
           "assert bits[0] == (8, 8) and bits[-1] == (8, 8), bits\n"
           "assert all(b == (4, 8) for b in bits[1:-1]), bits\n"
           "assert 6 < r['totals']['compression_ratio'] < 8.01, r['totals']\n"
           "x = np.load('batches/b0.npy')[:2]\n"
           "np.save('x2.npy', x)\n"
           "run('run', 'q4.qc', '--input', 'x2.npy', '--output', 'y_int.npy')\n"
           "run('run', M, '--input', 'x2.npy', '--output', 'y_fp.npy')\n"
           "a, b = np.load('y_int.npy'), np.load('y_fp.npy')\n"
           "assert a.shape == b.shape == (2, 10) and a.dtype == np.float32, (a.shape, a.dtype)\n"
           "assert np.linalg.norm(a - b) / np.linalg.norm(b) < 0.5, (a, b)\n",
           QC_QUANTC, example);
  CU_ASSERT_EQUAL(qc_python(dir, code), 0);
}

/* eval/run read MODEL as IR text by its .qc extension; errors name the file and position. */
static void test_qc_errors(void)
{
  CU_ASSERT_TRUE_FATAL(qc_write_file(f("bad.qc"), "garbage\n", 8));
  qc_proc p;
  char msg[800];
  quantc(&p, "eval", f("bad.qc"), "--data", "fashion-mnist", NULL);
  snprintf(msg, sizeof msg, "quantc: error: %s/bad.qc: ir text 1:1: expected 'graph'\n", dir);
  EXPECT(&p, 2, err, msg);
  CU_ASSERT_STRING_EQUAL(p.out, "");
  qc_proc_free(&p);
  quantc(&p, "run", f("none.qc"), "--input", f("empty.npy"), NULL);
  snprintf(msg, sizeof msg, "quantc: error: %s/none.qc: cannot open\n", dir);
  EXPECT(&p, 4, err, msg);
  qc_proc_free(&p);
}

static CU_TestInfo tests[] = {
    {"eval/run on malformed or missing .qc IR text", test_qc_errors},
    {"--help", test_help},
    {"usage errors: exit 1, exact messages, nothing written", test_usage},
    {"bad calibration data, unknown layer, no layer: nothing written", test_bad_input},
    {"bits outside 2..8 in a config: nothing written", test_bad_bits},
    {"example model W8A8: ONNX, report totals, .qc eval within 1 point", test_example_w8a8},
    {"NPY calibration, W4A8 with first/last 8-bit, run on .qc", test_npy_calib_and_run},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"quantize", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
