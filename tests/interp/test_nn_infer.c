/* Shape inference of the nn ops (ir/infer_nn.c): output shapes with unknown and symbolic dims,
   and every validation by its exact message. */
#include <string.h>
#include "ir.h"
#include "testutil.h"

#define S0 QC_DIM_SYM(0)
#define S1 QC_DIM_SYM(1)
#define U (QC_DIM_UNKNOWN)

static qc_tinfo mk(qc_dtype dt, int rank, const int64_t *dims)
{
  qc_tinfo t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

#define NDIMS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define SHAPE(dt, ...) mk(dt, NDIMS(__VA_ARGS__), (int64_t[]){__VA_ARGS__})
#define F(...) SHAPE(QC_DT_F32, __VA_ARGS__)
#define UNRANKED(dt) mk(dt, -1, NULL)
#define NONE ((qc_tinfo){QC_DT_UNDEF, -1, {0}, NULL})
#define INTS(nm, ...)                                                                           \
  ((qc_attr){.name = nm, .kind = QC_ATTR_INTS,                                               \
             .n = sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t),                        \
             .ints = (int64_t[]){__VA_ARGS__}})
#define INT(nm, v) ((qc_attr){.name = nm, .kind = QC_ATTR_INT, .i = (v)})
#define STR(nm, v) ((qc_attr){.name = nm, .kind = QC_ATTR_STRING, .s = (v), .s_len = sizeof(v) - 1})

static qc_err err;
static qc_tinfo out[3];

/* Runs op's inference on inputs in[0..n_in) with attributes a[0..n_a); outputs in out[]. */
static qc_status infer(qc_op op, const qc_attr *a, int n_a, const qc_tinfo *in, int n_in,
                       int n_out)
{
  qc_node n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.name = "n";
  n.n_in = n_in;
  n.n_out = n_out;
  n.n_attrs = n_a;
  n.attrs = (qc_attr *)a;
  qc_err_clear(&err);
  for (int i = 0; i < 3; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].rank = -1;
  }
  return qc_infer_node(&n, in, n_in, out, n_out, &err);
}

static bool shape_eq(const qc_tinfo *t, qc_dtype dt, int rank, const int64_t *dims)
{
  if (t->dtype != dt || t->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t->dims[i] != dims[i]) return false;
  return true;
}

#define IS(t, dt, ...) shape_eq(t, dt, NDIMS(__VA_ARGS__), (int64_t[]){__VA_ARGS__})

#define EXPECT_ERR(status, text)                                                               \
  do {                                                                                         \
    CU_ASSERT_EQUAL(status, QC_ERR_INVALID);                                                   \
    CU_ASSERT_STRING_EQUAL(err.msg, text);                                                     \
  } while (0)

static void test_conv_shapes(void)
{
  qc_attr a[] = {INTS("strides", 2, 2), INTS("pads", 3, 3, 3, 3)};
  qc_tinfo in[] = {F(S0, 3, 224, 224), F(64, 3, 7, 7)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, a, 2, in, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 64, 112, 112));

  /* 3x3, pad 1, stride 1 keeps symbolic and unknown spatial dims; stride 2 cannot */
  qc_attr b[] = {INTS("pads", 1, 1, 1, 1)};
  qc_tinfo in2[] = {F(S0, 3, U, S1), F(8, 3, 3, 3), F(8)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, b, 1, in2, 3, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 8, U, S1));
  qc_attr c[] = {INTS("pads", 1, 1, 1, 1), INTS("strides", 1, 2)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, c, 2, in2, 3, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 8, U, U));

  /* SAME_UPPER: ceil(in / stride); a symbol survives stride 1 */
  qc_attr d[] = {STR("auto_pad", "SAME_UPPER"), INTS("strides", 1, 3)};
  qc_tinfo in3[] = {F(1, 2, S1, 10), F(4, 2, 4, 4)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, d, 2, in3, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 1, 4, S1, 4));

  /* group, dilation, VALID */
  qc_attr e[] = {INT("group", 2), INTS("dilations", 2, 1), STR("auto_pad", "VALID")};
  qc_tinfo in4[] = {F(1, 4, 9, 8), F(6, 2, 3, 3)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, e, 3, in4, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 1, 6, 5, 6));

  /* unknown X rank: rank from W */
  qc_tinfo in5[] = {UNRANKED(QC_DT_F32), F(5, 3, 3)};
  CU_ASSERT_EQUAL(infer(QC_OP_Conv, NULL, 0, in5, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, U, 5, U));
}

static void test_conv_errors(void)
{
  qc_tinfo x = F(1, 4, 5, 5);
  qc_tinfo w = F(2, 4, 3, 3);
  qc_tinfo in[3] = {F(1, 4), w};
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 2, 1),
             "node 'n' (Conv): X has rank 2; expected at least 3 (N, C, spatial...)");
  in[0] = x;
  in[1] = F(2, 4, 3);
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 2, 1),
             "node 'n' (Conv): W has rank 3 but X has rank 4");
  in[1] = F(2, 3, 3, 3);
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 2, 1),
             "node 'n' (Conv): X has 4 channels but W.shape[1] * group = 3 * 1");
  in[1] = w;
  qc_attr g3[] = {INT("group", 2)};
  in[1] = F(3, 2, 3, 3);
  EXPECT_ERR(infer(QC_OP_Conv, g3, 1, in, 2, 1),
             "node 'n' (Conv): W.shape[0] = 3 is not divisible by group 2");
  qc_attr g0[] = {INT("group", 0)};
  EXPECT_ERR(infer(QC_OP_Conv, g0, 1, in, 2, 1), "node 'n' (Conv): group = 0 must be positive");
  in[1] = w;
  qc_attr neg[] = {INTS("pads", 0, -1, 0, 0)};
  EXPECT_ERR(infer(QC_OP_Conv, neg, 1, in, 2, 1), "node 'n' (Conv): pads[1] = -1 is negative");
  qc_attr len[] = {INTS("pads", 1, 1)};
  EXPECT_ERR(infer(QC_OP_Conv, len, 1, in, 2, 1),
             "node 'n' (Conv): pads has 2 entries; expected 4");
  qc_attr st[] = {INTS("strides", 0, 1)};
  EXPECT_ERR(infer(QC_OP_Conv, st, 1, in, 2, 1),
             "node 'n' (Conv): strides[0] = 0 must be positive");
  qc_attr ap[] = {STR("auto_pad", "SAME")};
  EXPECT_ERR(infer(QC_OP_Conv, ap, 1, in, 2, 1),
             "node 'n' (Conv): auto_pad 'SAME' is not one of NOTSET, SAME_UPPER, SAME_LOWER, "
             "VALID");
  qc_attr ks[] = {INTS("kernel_shape", 3, 2)};
  EXPECT_ERR(infer(QC_OP_Conv, ks, 1, in, 2, 1),
             "node 'n' (Conv): kernel_shape[1] = 2 but W has 3 there");
  qc_attr dil[] = {INTS("dilations", 1, 3)};
  EXPECT_ERR(infer(QC_OP_Conv, dil, 1, in, 2, 1),
             "node 'n' (Conv): kernel extent 7 is larger than the padded input 5 on spatial axis "
             "1");
  in[2] = F(3);
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 3, 1), "node 'n' (Conv): B has 3 elements; expected 2");
  in[0] = SHAPE(QC_DT_I32, 1, 4, 5, 5);
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 2, 1),
             "node 'n' (Conv): X has dtype i32; a float type is needed");
  in[0] = x;
  in[1] = NONE;
  EXPECT_ERR(infer(QC_OP_Conv, NULL, 0, in, 2, 1), "node 'n' (Conv): input 1 (W) is missing");
}

static void test_conv_transpose(void)
{
  qc_tinfo in[] = {F(S0, 4, 3, 3), F(4, 3, 3, 3)};
  qc_attr a[] = {INTS("strides", 2, 2), INTS("pads", 1, 1, 1, 1), INTS("output_padding", 1, 1),
                 INT("group", 2)};
  CU_ASSERT_EQUAL(infer(QC_OP_ConvTranspose, a, 4, in, 2, 1), QC_OK);
  /* 2 * (3 - 1) + 1 + 3 - 2 = 6; channels W.shape[1] * group */
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 6, 6, 6));
  qc_attr b[] = {INTS("output_shape", 10, 8), INTS("strides", 3, 2)};
  CU_ASSERT_EQUAL(infer(QC_OP_ConvTranspose, b, 2, in, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 3, 10, 8));
  qc_attr c[] = {STR("auto_pad", "SAME_LOWER"), INTS("strides", 2, 3)};
  CU_ASSERT_EQUAL(infer(QC_OP_ConvTranspose, c, 2, in, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 3, 6, 9));
  in[1] = F(5, 3, 3, 3);
  EXPECT_ERR(infer(QC_OP_ConvTranspose, NULL, 0, in, 2, 1),
             "node 'n' (ConvTranspose): X has 4 channels but W.shape[0] = 5");
  in[1] = F(4, 3, 3, 3);
  qc_attr p[] = {INTS("pads", 3, 0, 3, 0)};
  EXPECT_ERR(infer(QC_OP_ConvTranspose, p, 1, in, 2, 1),
             "node 'n' (ConvTranspose): pads 3 + 3 leave no output on spatial axis 0 (full size "
             "5)");
  qc_attr os[] = {INTS("output_shape", 10)};
  EXPECT_ERR(infer(QC_OP_ConvTranspose, os, 1, in, 2, 1),
             "node 'n' (ConvTranspose): output_shape has 1 entries; expected 2");
}

static void test_pools(void)
{
  qc_tinfo in[] = {F(S0, 64, 112, 112)};
  qc_attr a[] = {INTS("kernel_shape", 3, 3), INTS("strides", 2, 2), INTS("pads", 1, 1, 1, 1)};
  CU_ASSERT_EQUAL(infer(QC_OP_MaxPool, a, 3, in, 1, 2), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 64, 56, 56));
  CU_ASSERT(IS(&out[1], QC_DT_I64, S0, 64, 56, 56));
  /* ceil_mode: 5x5, k2 s2 p1 -> ceil(5/2) + 1 = 4, but the 4th window starts in the padding */
  qc_tinfo in2[] = {F(1, 1, 5, 6)};
  qc_attr c[] = {INTS("kernel_shape", 2, 2), INTS("strides", 2, 2), INTS("pads", 1, 1, 1, 1),
                 INT("ceil_mode", 1)};
  CU_ASSERT_EQUAL(infer(QC_OP_AveragePool, c, 4, in2, 1, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 1, 1, 3, 4));
  qc_attr same[] = {INTS("kernel_shape", 3, 3),
                    STR("auto_pad", "SAME_LOWER"), INTS("strides", 2, 2)};
  CU_ASSERT_EQUAL(infer(QC_OP_LpPool, same, 3, in2, 1, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 1, 1, 3, 3));
  in2[0] = SHAPE(QC_DT_U8, 1, 1, 5, 6);
  CU_ASSERT_EQUAL(infer(QC_OP_MaxPool, c, 3, in2, 1, 1), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_U8);
  EXPECT_ERR(infer(QC_OP_AveragePool, c, 3, in2, 1, 1),
             "node 'n' (AveragePool): X has dtype u8; a float type is needed");
  EXPECT_ERR(infer(QC_OP_MaxPool, NULL, 0, in, 1, 1),
             "node 'n' (MaxPool): kernel_shape is missing");
  qc_attr k1[] = {INTS("kernel_shape", 3)};
  EXPECT_ERR(infer(QC_OP_MaxPool, k1, 1, in, 1, 1),
             "node 'n' (MaxPool): kernel_shape has 1 entries but X has 2 spatial axes");
  qc_attr big[] = {INTS("kernel_shape", 8, 8)};
  in2[0] = F(1, 1, 5, 6);
  EXPECT_ERR(infer(QC_OP_MaxPool, big, 1, in2, 1, 1),
             "node 'n' (MaxPool): kernel extent 8 is larger than the padded input 5 on spatial "
             "axis 0");

  qc_tinfo g[] = {F(S0, 2048, 7, U)};
  CU_ASSERT_EQUAL(infer(QC_OP_GlobalAveragePool, NULL, 0, g, 1, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 2048, 1, 1));
  g[0] = F(3);
  EXPECT_ERR(infer(QC_OP_GlobalMaxPool, NULL, 0, g, 1, 1),
             "node 'n' (GlobalMaxPool): X has rank 1; expected at least 2 (N, C, ...)");
}

static void test_gemm_matmul(void)
{
  qc_attr t[] = {INT("transA", 1), INT("transB", 1)};
  qc_tinfo in[] = {F(7, S0), F(5, 7), F(5)};
  CU_ASSERT_EQUAL(infer(QC_OP_Gemm, t, 2, in, 3, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 5));
  in[1] = F(5, 6);
  EXPECT_ERR(infer(QC_OP_Gemm, t, 2, in, 3, 1),
             "node 'n' (Gemm): inner dimensions differ: op(A) is [?, 7], op(B) is [6, 5]");
  in[0] = F(3, 6);
  in[1] = F(6, 5);
  in[2] = F(3, 4);
  EXPECT_ERR(infer(QC_OP_Gemm, NULL, 0, in, 3, 1),
             "node 'n' (Gemm): C has shape [3, 4], which does not broadcast to [3, 5]");
  in[0] = F(1, 3, 6);
  EXPECT_ERR(infer(QC_OP_Gemm, NULL, 0, in, 2, 1), "node 'n' (Gemm): A has rank 3; expected 2");

  qc_tinfo m[] = {F(2, 1, 3, 4), F(5, 4, 6)};
  CU_ASSERT_EQUAL(infer(QC_OP_MatMul, NULL, 0, m, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 2, 5, 3, 6));
  m[0] = F(4);
  CU_ASSERT_EQUAL(infer(QC_OP_MatMul, NULL, 0, m, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, 5, 6));
  m[0] = F(S0, S1, 4);
  m[1] = F(4);
  CU_ASSERT_EQUAL(infer(QC_OP_MatMul, NULL, 0, m, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, S1));
  m[1] = F(U, 4, 2);
  CU_ASSERT_EQUAL(infer(QC_OP_MatMul, NULL, 0, m, 2, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, U, S1, 2));
  m[0] = F(3, 2, 4);
  m[1] = F(2, 4, 2);
  EXPECT_ERR(infer(QC_OP_MatMul, NULL, 0, m, 2, 1),
             "node 'n' (MatMul): batch dimensions do not broadcast: A is [3, 2, 4], B is [2, 4, "
             "2]");
  m[1] = F(3, 2);
  EXPECT_ERR(infer(QC_OP_MatMul, NULL, 0, m, 2, 1),
             "node 'n' (MatMul): inner dimensions differ: A is [3, 2, 4], B is [3, 2]");
  m[1] = SHAPE(QC_DT_I64, 4, 2);
  EXPECT_ERR(infer(QC_OP_MatMul, NULL, 0, m, 2, 1),
             "node 'n' (MatMul): B has dtype i64 but A has f32");
}

static void test_norms(void)
{
  qc_tinfo in[] = {F(S0, 3, 4, 5), F(3), F(3), F(3), F(3)};
  CU_ASSERT_EQUAL(infer(QC_OP_BatchNormalization, NULL, 0, in, 5, 1), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 3, 4, 5));
  in[3] = F(4);
  EXPECT_ERR(infer(QC_OP_BatchNormalization, NULL, 0, in, 5, 1),
             "node 'n' (BatchNormalization): input_mean has 4 elements; expected 3");

  qc_attr ax[] = {INT("axis", -2)};
  qc_tinfo ln[] = {F(S0, 4, 5), F(4, 5), F(5)};
  CU_ASSERT_EQUAL(infer(QC_OP_LayerNormalization, ax, 1, ln, 3, 3), QC_OK);
  CU_ASSERT(IS(&out[0], QC_DT_F32, S0, 4, 5));
  CU_ASSERT(IS(&out[1], QC_DT_F32, S0, 1, 1));
  CU_ASSERT(IS(&out[2], QC_DT_F32, S0, 1, 1));
  qc_attr bad[] = {INT("axis", 3)};
  EXPECT_ERR(infer(QC_OP_LayerNormalization, bad, 1, ln, 3, 1),
             "node 'n' (LayerNormalization): axis 3 is out of range for rank 3");
  ln[1] = F(4);
  EXPECT_ERR(infer(QC_OP_LayerNormalization, ax, 1, ln, 3, 1),
             "node 'n' (LayerNormalization): Scale has shape [4], which does not broadcast to "
             "the normalized shape [4, 5]");
}

static CU_TestInfo tests[] = {
    {"Conv shapes: strides, pads, symbols, SAME, VALID, unknown rank", test_conv_shapes},
    {"Conv errors by message", test_conv_errors},
    {"ConvTranspose shapes and errors", test_conv_transpose},
    {"pools and global pools", test_pools},
    {"Gemm and MatMul broadcasting", test_gemm_matmul},
    {"BatchNormalization, LayerNormalization", test_norms},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"nn shape inference", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
