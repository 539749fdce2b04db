/* The malformed-input corpus (tests/corpus/files, written by tests/corpus/gen_corpus.py) through
   the real `quantc` binary: each case must end with the expected exit code and exact message,
   never with a signal, a hang or (in a -DQC_SANITIZE=ON build) a sanitizer report. */
#include "testutil.h"
#include "tools_util.h"

#define TIMEOUT_S 60

typedef struct {
  const char *args[8]; /* quantc's arguments, run inside tests/corpus/files */
  int code;
  const char *err; /* the one line on stderr after "quantc: error: " (a prefix of it) */
  const char *out; /* for the cases that succeed: a fragment of stdout */
} corpus_case;

#define INSPECT(file) {"inspect", file}
#define RUN(file, in) {"run", file, "--input", in}
#define EVAL(dir) {"eval", "eval_ok.onnx", "--data", "fashion-mnist", "--data-dir", dir}

static const corpus_case cases[] = {
    /* protobuf damage */
    {INSPECT("truncated.onnx"), 2,
     "truncated.onnx: not a valid ONNX ModelProto: byte 17: length 555 past the end (270 bytes "
     "left) in field 7 (ModelProto.graph)\n"},
    {INSPECT("wire_type.onnx"), 2,
     "wire_type.onnx: not a valid ONNX ModelProto: byte 2: wire type 0 where 2 is expected in "
     "field 7 (ModelProto.graph)\n"},
    {INSPECT("bad_length.onnx"), 2,
     "bad_length.onnx: not a valid ONNX ModelProto: byte 2: length 268435455 past the end (1 "
     "bytes left) in field 7 (ModelProto.graph)\n"},
    {INSPECT("garbage.onnx"), 2,
     "garbage.onnx: not a valid ONNX ModelProto: byte 10: group wire type (not used by ONNX) in "
     "field 1802 of ModelProto\n"},
    {INSPECT("empty.onnx"), 2, "empty.onnx: the model has no graph\n"},
    {INSPECT("."), 4, "'.' is not a regular file\n"},
    {INSPECT("nonexistent.onnx"), 4,
     "cannot open 'nonexistent.onnx': No such file or directory\n"},
    /* graph structure */
    {INSPECT("unknown_op.onnx"), 3, "node 'foo': op 'FooBar' (domain 'ai.onnx') is not supported\n"},
    {INSPECT("unknown_domain.onnx"), 3,
     "node 'r': op 'Relu' (domain 'com.example') is not supported\n"},
    {INSPECT("missing_initializer.onnx"), 2, "node 'conv0' input 'W' is not defined\n"},
    {INSPECT("undefined_input.onnx"), 2, "node 'add0' input 'ghost' is not defined\n"},
    {INSPECT("undefined_output.onnx"), 2, "graph output 'z' is not defined\n"},
    {INSPECT("cycle.onnx"), 2,
     "graph has a cycle (or an input produced by no node): node 'n1' (Add) can never run\n"},
    {INSPECT("duplicate_output.onnx"), 2, "value 'y' is produced twice (again by node 'r2')\n"},
    {INSPECT("arity.onnx"), 2, "node 'r' (Relu): has 2 inputs; Relu takes 1 to 1\n"},
    /* shapes */
    {INSPECT("conv_channel_mismatch.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): X has 3 channels but W.shape[1] * group = 5 * "
     "1\n"},
    {INSPECT("matmul_inner_mismatch.onnx"), 2,
     "pass 'infer-shapes': node 'mm' (MatMul): inner dimensions differ: A is [2, 3], B is [4, "
     "5]\n"},
    {INSPECT("add_broadcast.onnx"), 2,
     "pass 'infer-shapes': node 'add0' (Add): shapes [2, 3] and [4] do not broadcast\n"},
    {INSPECT("reshape_impossible.onnx"), 2,
     "pass 'infer-shapes': node 'rs' (Reshape): cannot reshape 6 elements to [4, 2]\n"},
    {INSPECT("conv_kernel_too_big.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): kernel extent 5 is larger than the padded input "
     "2 on spatial axis 0\n"},
    {INSPECT("conv_zero_stride.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): strides[0] = 0 must be positive\n"},
    {INSPECT("negative_pads.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): pads[0] = -1 is negative\n"},
    {INSPECT("concat_axis.onnx"), 2,
     "pass 'infer-shapes': node 'cat' (Concat): axis 5 is out of range for rank 2\n"},
    {INSPECT("transpose_perm.onnx"), 2,
     "pass 'infer-shapes': node 'tr' (Transpose): perm is not a permutation of 0..1\n"},
    /* tensors and dims */
    {INSPECT("dim_2pow40_input.onnx"), 3,
     "graph input 'x': dimension 0 is 1099511627776; at most 68719476736 is supported\n"},
    {INSPECT("dim_2pow40_init.onnx"), 3, "tensor 'W' has more than 68719476736 elements\n"},
    {INSPECT("negative_dim.onnx"), 2, "tensor 'W': dimension 0 is negative (-3)\n"},
    {INSPECT("raw_data_mismatch.onnx"), 2,
     "tensor 'W': raw_data has 10 bytes but its shape needs 432\n"},
    {INSPECT("float_data_mismatch.onnx"), 2,
     "tensor 'W': shape has 4 elements but float_data holds 3\n"},
    {INSPECT("string_tensor.onnx"), 3, "tensor 'W': string tensors are not supported\n"},
    {INSPECT("zero_size_ok.onnx"), 0, NULL, "x     f32   [0,3]\n"},
    {INSPECT("conv_zero_kernel.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): kernel extent on spatial axis 0 is 0\n"},
    /* external data */
    {INSPECT("extdata_dotdot.onnx"), 2,
     "tensor 'W': external data path '../secret.bin' leaves the model's folder\n"},
    {INSPECT("extdata_absolute.onnx"), 2,
     "tensor 'W': external data path '/etc/passwd' is absolute; it must be relative to the "
     "model's folder\n"},
    {INSPECT("extdata_missing.onnx"), 4,
     "tensor 'W': cannot open external data file './no_such_weights.bin': No such file or "
     "directory\n"},
    {INSPECT("extdata_short.onnx"), 2,
     "tensor 'W': external data file './short_weights.bin' has 8 bytes; the tensor needs 432 "
     "bytes at offset 0\n"},
    /* opsets and attributes */
    {INSPECT("opset_old.onnx"), 0, NULL, "(graph 'g', opset 1, 1 layers)"},
    {INSPECT("opset_new.onnx"), 3,
     "opset_new.onnx: ai.onnx opset 99 is not supported (quantc reads opsets 1 to 17)\n"},
    {INSPECT("attr_wrong_kind.onnx"), 2,
     "node 'conv0' (Conv): attribute 'group' is float; Conv expects int\n"},
    {INSPECT("missing_required_attr.onnx"), 2,
     "node 'mp' (MaxPool): required attribute 'kernel_shape' is missing\n"},
    {INSPECT("huge_attr_list.onnx"), 2,
     "pass 'infer-shapes': node 'conv0' (Conv): strides has 20000 entries; expected 2\n"},
    {INSPECT("cast_bad_type.onnx"), 3,
     "pass 'infer-shapes': node 'c' (Cast): cast to ONNX type 999 is not supported\n"},
    {INSPECT("no_graph.onnx"), 0, NULL, "total: 0 layers, 0 params"},
    /* run time */
    {RUN("valid_conv.onnx", "x_ok.npy"), 0, NULL, "y: f32 [1,4,8,8] = "},
    {RUN("gather.onnx", "gather_idx_ok.npy"), 0, NULL, "y: f32 [2,2] = 4 5 0 1\n"},
    {RUN("gather.onnx", "gather_idx_oob.npy"), 2,
     "node 'gather0' (Gather): index 10 out of range for axis of size 3\n"},
    {INSPECT("fold_gather_oob.onnx"), 2,
     "pass 'fold-constants': node 'gather_const' (Gather): index 10 out of range for axis of "
     "size 3\n"},
    {RUN("valid_conv.onnx", "x_rank3.npy"), 2,
     "input 'x' (x_rank3.npy): expected rank 4 [1,3,8,8], the file holds rank 3 [3,8,8]\n"},
    {RUN("valid_conv.onnx", "x_f64.npy"), 2,
     "input 'x' (x_f64.npy): expected f32 [1,3,8,8], the file holds f64 [1,3,8,8]\n"},
    {RUN("valid_conv.onnx", "x_shape.npy"), 2,
     "input 'x' (x_shape.npy): dim 2 is 9, the model expects 8 (shape [1,3,8,8], file "
     "[1,3,9,8])\n"},
    {RUN("zero_size_ok.onnx", "zero_x.npy"), 0, NULL, "y: f32 [0,3]\n"},
    {{"run", "valid_conv.onnx", "-i", "x_ok.npy", "-i", "x_ok.npy"}, 1,
     "run: the model has 1 input but 2 --input given\nTry 'quantc run --help'.\n"},
    /* NPY damage */
    {RUN("valid_conv.onnx", "npy_bad_magic.npy"), 2,
     "npy_bad_magic.npy: bad NPY magic at byte 0 (expected \\x93NUMPY; not an NPY file)\n"},
    {RUN("valid_conv.onnx", "npy_truncated.npy"), 2,
     "npy_truncated.npy: truncated NPY data: 768 bytes expected from byte 128, file has 72\n"},
    {RUN("valid_conv.onnx", "npy_header_too_long.npy"), 2,
     "npy_header_too_long.npy: NPY header length 60000 at byte 8 exceeds the limit of 10000 "
     "bytes\n"},
    {RUN("valid_conv.onnx", "npy_bad_header.npy"), 2,
     "npy_bad_header.npy: malformed NPY header at byte 51: unknown or repeated key\n"},
    {RUN("valid_conv.onnx", "npy_huge_shape.npy"), 2,
     "npy_huge_shape.npy: NPY dimension at byte 72 exceeds the limit of 68719476736 elements\n"},
    {RUN("valid_conv.onnx", "npy_empty.npy"), 2, "npy_empty.npy: empty file (not an NPY file)\n"},
    {RUN("valid_conv.onnx", "npy_fortran.npy"), 3,
     "npy_fortran.npy: fortran_order NPY arrays are not supported (byte 44); save a C-ordered "
     "array (numpy.ascontiguousarray)\n"},
    {RUN("valid_conv.onnx", "npy_complex.npy"), 3,
     "npy_complex.npy: NPY dtype '<c8' is not supported (use bool, int8-64, uint8-64, "
     "float16/32/64)\n"},
    {RUN("valid_conv.onnx", "."), 4, ".: is a directory, not a file\n"},
    {RUN("valid_conv.onnx", "missing.npy"), 4,
     "missing.npy: cannot open: No such file or directory\n"},
    /* IDX damage */
    {EVAL("idx_bad_magic"), 2,
     "idx_bad_magic/t10k-images-idx3-ubyte.gz: bad IDX magic 0x12345678 at byte 0 (expected "
     "0x0000TTNN with type TT in 08 09 0B 0C 0D 0E)\n"},
    {EVAL("idx_truncated"), 2,
     "idx_truncated/t10k-images-idx3-ubyte.gz: truncated IDX data: 3136 bytes expected from "
     "byte 16, file ends at byte 1000\n"},
    {EVAL("idx_count_mismatch"), 2,
     "idx_count_mismatch/t10k-labels-idx1-ubyte.gz holds 3 labels but "
     "idx_count_mismatch/t10k-images-idx3-ubyte.gz holds 4 images\n"},
    {EVAL("idx_bad_label"), 2,
     "idx_bad_label/t10k-labels-idx1-ubyte.gz: label 77 of image 3 (byte 11) is outside the "
     "model's 10 classes\n"},
    {EVAL("idx_not_gzip"), 2,
     "idx_not_gzip/t10k-images-idx3-ubyte.gz: corrupt gzip stream near decompressed byte 0: "
     "invalid stored block lengths\n"},
    {EVAL("idx_empty_dir"), 4,
     "idx_empty_dir: neither t10k-images-idx3-ubyte.gz nor t10k-images-idx3-ubyte found\n"},
    {EVAL("x_ok.npy"), 4, "x_ok.npy: data folder not found\n"},
    {{"eval", "valid_conv.onnx", "--data", "fashion-mnist", "--data-dir", "idx_bad_label"}, 2,
     "model input 'x' [1,3,8,8] takes 192 values per image; the images hold 784 (28x28)\n"},
};

static void run_case(const corpus_case *c, const char *files)
{
  char *argv[10] = {(char *)QC_QUANTC};
  int n = 1;
  for (int k = 0; k < 8 && c->args[k]; k++) argv[n++] = (char *)c->args[k];
  argv[n] = NULL;
  qc_proc p;
  CU_ASSERT_FATAL(qc_run_proc_in(files, argv, TIMEOUT_S, &p));
  char want[1200] = "";
  if (c->err) snprintf(want, sizeof want, "quantc: error: %s", c->err);
  bool ok = !p.timed_out && !p.signaled && p.exit_code == c->code &&
            !qc_sanitizer_report(p.err) && p.out && p.err &&
            (c->err ? strcmp(p.err, want) == 0 && p.out[0] == 0
                    : p.err[0] == 0 && (!c->out || strstr(p.out, c->out)));
  CU_ASSERT_FALSE(p.timed_out);
  CU_ASSERT_FALSE(p.signaled);
  CU_ASSERT_FALSE(qc_sanitizer_report(p.err));
  CU_ASSERT_EQUAL(p.exit_code, c->code);
  CU_ASSERT(ok);
  if (!ok) {
    fprintf(stderr, "\n  case: quantc");
    for (int k = 1; k < n; k++) fprintf(stderr, " %s", argv[k]);
    fprintf(stderr,
            "\n  exit %d (want %d)%s%s\n  stderr: %.2000s  want:   %s\n  stdout: %.300s\n",
            p.exit_code, c->code, p.timed_out ? ", TIMED OUT" : "",
            p.signaled ? ", KILLED BY A SIGNAL" : "", p.err ? p.err : "", want,
            p.out ? p.out : "");
  }
  qc_proc_free(&p);
}

static void test_corpus(void)
{
  char files[600];
  snprintf(files, sizeof files, "%s/tests/corpus/files", QC_SOURCE_DIR);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], files);
}

/* Every committed model file is exercised by some case (a new file needs a table row). */
static void test_every_file_covered(void)
{
  char cmd[800];
  snprintf(cmd, sizeof cmd, "ls '%s/tests/corpus/files'", QC_SOURCE_DIR);
  FILE *ls = popen(cmd, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
  char name[256];
  int files = 0;
  while (fgets(name, sizeof name, ls)) {
    name[strcspn(name, "\n")] = 0;
    bool used = false;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !used; i++)
      for (int k = 0; k < 8 && cases[i].args[k] && !used; k++)
        used = strcmp(cases[i].args[k], name) == 0;
    /* Helper files that cases reach indirectly. */
    used = used || strcmp(name, "short_weights.bin") == 0 || strcmp(name, "eval_ok.onnx") == 0;
    if (!used) fprintf(stderr, "\n  corpus file without a case: %s", name);
    CU_ASSERT(used);
    files++;
  }
  pclose(ls);
  CU_ASSERT(files >= 60);
}

static CU_TestInfo tests[] = {
    {"each corpus case: exit code, exact message, no signal/hang/sanitizer report",
     test_corpus},
    {"every corpus file has a case", test_every_file_covered},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"corpus", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
