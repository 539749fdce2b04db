/* quantc's integer-only ops, pinned by hand-computed numbers: dyadic multipliers, round-half-up
 * requantization ties of both signs, clamping at both ends, per-channel requantization, QcAdd's
 * separate branch requantization with a single clamp, floor pooling of negatives, QcQuantize's
 * ties to even and saturation, 4-bit packing, and the exact error messages of shape inference. */
#include "interp.h"
#include "test_int.h"

/* ---- dyadic multipliers ------------------------------------------------------------------- */

static void test_dyadic_from_real(void)
{
  /* M -> (mult, shift), from frexp by hand: 0.5 = 0.5 * 2^0, 1 = 0.5 * 2^1, 0.75 = 0.75 * 2^0,
     3e-4 = 0.6144 * 2^-11 (0.6144 * 2^31 = 1319413953.33), 1 - 2^-33 = f * 2^0 with f * 2^31 =
     2^31 - 1/4 rounding up to 2^31: halved, exponent + 1; 2^-k = 0.5 * 2^(1-k): shift 30 + k. */
  const double M[] = {0.5, 1.0, 0.75, 3e-4, 1.0 - 0x1p-33, 0x1p29, 0x1p-32};
  const int32_t want_m[] = {1 << 30, 1 << 30, 1610612736, 1319413953, 1 << 30, 1 << 30, 1 << 30};
  const int32_t want_s[] = {31, 30, 31, 42, 30, 1, 62};
  for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
    int32_t m = 0, s = 0;
    qc_err e = {0};
    CU_ASSERT_EQUAL(qc_dyadic_from_real(M[i], &m, &s, &e), QC_OK);
    CU_ASSERT_EQUAL(m, want_m[i]);
    CU_ASSERT_EQUAL(s, want_s[i]);
  }
  /* Relative error of mult / 2^shift at most 2^-31 (|f * 2^31 - mult| <= 1/2, mult >= 2^30). */
  for (double x = 1e-7; x < 1e3; x *= 1.37) {
    int32_t m, s;
    CU_ASSERT_EQUAL_FATAL(qc_dyadic_from_real(x, &m, &s, NULL), QC_OK);
    CU_ASSERT(m >= (1 << 30) && m <= INT32_MAX);
    CU_ASSERT(fabs(ldexp((double)m, -s) - x) <= x * 0x1p-31);
  }
  qc_err e = {0};
  int32_t m, s;
  CU_ASSERT_EQUAL(qc_dyadic_from_real(0.0, &m, &s, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "requantization multiplier 0 is not a positive number");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_dyadic_from_real(0x1p30, &m, &s, &e), QC_ERR_INVALID); /* shift 0 */
  CU_ASSERT_STRING_EQUAL(e.msg,
                         "requantization multiplier 1.07374e+09 needs a shift of 0, outside 1..62");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_dyadic_from_real(0x1p-33, &m, &s, &e), QC_ERR_INVALID); /* shift 63 */
  CU_ASSERT_EQUAL(qc_dyadic_from_real(-1.0, &m, &s, NULL), QC_ERR_INVALID);
  CU_ASSERT_EQUAL(qc_dyadic_from_real(NAN, &m, &s, NULL), QC_ERR_INVALID);
}

static void test_requant_ties(void)
{
  /* M = 1/2: v / 2 rounded half up (toward +inf): -2.5 -> -2, not -3 (half away) nor -2 by
     accident of truncation: -1.5 -> -1, -0.5 -> 0, 2.5 -> 3, 1.5 -> 2. */
  const int64_t v[] = {5, -5, 3, -3, 1, -1, 7, -7, 4, -4};
  const int64_t want[] = {3, -2, 2, -1, 1, 0, 4, -3, 2, -2};
  for (int i = 0; i < 10; i++) {
    CU_ASSERT_EQUAL(qc_requant_dyadic(v[i], 1 << 30, 31), want[i]);
    CU_ASSERT_EQUAL(ref_rq(v[i], 1 << 30, 31), want[i]);
  }
  /* Extremes stay exact in int64: (2^31 - 1) * (2^31 - 1) + 2^61. */
  CU_ASSERT_EQUAL(qc_requant_dyadic(INT32_MAX, INT32_MAX, 62), 1); /* ~ 2^62 / 2^62 */
  CU_ASSERT_EQUAL(qc_requant_dyadic(INT32_MIN, INT32_MAX, 62), -1);
  CU_ASSERT_EQUAL(qc_requant_dyadic(INT32_MIN, 1 << 30, 1), (int64_t)INT32_MIN * ((int64_t)1 << 29));

  /* The same ties through the QcGemm kernel: x [10, 1] times w = [[1]]. */
  int8_t x[10];
  for (int i = 0; i < 10; i++) x[i] = (int8_t)v[i];
  const int8_t w[] = {1};
  tnode t = mk(QC_OP_QcGemm, 2, 1);
  attr_rq(&t, 1, I64(1 << 30), I64(31), -128, 127);
  qc_tensor in[2] = {tens(QC_DT_I8, 2, I64(10, 1), x), tens(QC_DT_I8, 2, I64(1, 1), w)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[i]);
  free_outs(out, 1);
  done(&t);
}

/* ---- QcGemm ------------------------------------------------------------------------------- */

static void test_gemm_clamp(void)
{
  /* acc = [254, -254, 127 - 200] at M = 1: clamped to [-128, 127], then ReLU-folded [0, 255]. */
  const int8_t x[] = {127, 127}, w[] = {1, 1, -1, -1, 0, 1};
  const int32_t b[] = {0, 0, -200};
  qc_tensor in[3] = {tens(QC_DT_I8, 2, I64(1, 2), x), tens(QC_DT_I8, 2, I64(3, 2), w),
                     tens(QC_DT_I32, 1, I64(3), b)};
  const int64_t lo[] = {-128, 0}, hi[] = {127, 255};
  const int64_t want[2][3] = {{127, -128, -73}, {254, 0, 0}};
  const qc_dtype want_t[] = {QC_DT_I8, QC_DT_U8};
  for (int c = 0; c < 2; c++) {
    tnode t = mk(QC_OP_QcGemm, 3, 1);
    attr_rq(&t, 3, I64(1 << 30, 1 << 30, 1 << 30), I64(30, 30, 30), lo[c], hi[c]);
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(out[0].dtype, want_t[c]);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[c][i]);
    free_outs(out, 1);
    done(&t);
  }
}

static void test_gemm_per_channel(void)
{
  /* x [[1,2,3],[-4,5,-6]], w [[1,0,-1],[2,1,1]]: acc [[-2,7],[2,-9]], + b [10,-3] =
     [[8,4],[12,-12]]; channel 0 at M = 0.5, channel 1 at M = 0.75: [[4,3],[6,-9]]. The i4 form
     of w, packed by hand (low nibble first): 0x01, 0x2F, 0x11. */
  const int8_t x[] = {1, 2, 3, -4, 5, -6}, w8[] = {1, 0, -1, 2, 1, 1};
  const uint8_t w4[] = {0x01, 0x2F, 0x11};
  const int32_t b[] = {10, -3};
  const int64_t want[] = {4, 3, 6, -9};
  for (int wi = 0; wi < 2; wi++)
    for (int th = 0; th <= 2; th += 2) {
      tnode t = mk(QC_OP_QcGemm, 3, 1);
      attr_rq(&t, 2, I64(1 << 30, 1610612736), I64(31, 31), -128, 127);
      qc_tensor in[3] = {tens(QC_DT_I8, 2, I64(2, 3), x),
                         wi ? tens(QC_DT_I4, 2, I64(2, 3), w4) : tens(QC_DT_I8, 2, I64(2, 3), w8),
                         tens(QC_DT_I32, 1, I64(2), b)};
      qc_tensor out[1];
      qc_err e = {0};
      CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, out, 1, th, &e), QC_OK);
      CU_ASSERT_EQUAL(out[0].rank, 2);
      CU_ASSERT_EQUAL(out[0].dims[0], 2);
      CU_ASSERT_EQUAL(out[0].dims[1], 2);
      for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[i]);
      free_outs(out, 1);
      done(&t);
    }
  /* Without bias, and with a 16-bit input (the direct path): x16 = 100 * x. acc = 100 * [[-2,7],
     [2,-9]] at M = 0.5 / 0.75: [[-100, 525], [100, -675]]. */
  int16_t x16[6];
  for (int i = 0; i < 6; i++) x16[i] = (int16_t)(100 * x[i]);
  tnode t = mk(QC_OP_QcGemm, 2, 1);
  attr_rq(&t, 2, I64(1 << 30, 1610612736), I64(31, 31), -1000, 1000);
  qc_tensor in[2] = {tens(QC_DT_I16, 2, I64(2, 3), x16), tens(QC_DT_I8, 2, I64(2, 3), w8)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I16);
  const int64_t want16[] = {-100, 525, 100, -675};
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want16[i]);
  free_outs(out, 1);
  done(&t);
}

/* ---- QcAdd -------------------------------------------------------------------------------- */

static void test_add_scales(void)
{
  /* a [[10,-10],[3,100]] at M_a = 0.5 -> [[5,-5],[2,50]] (1.5 rounds up); b [4,-7] broadcast
     along rows at M_b = 1.5 -> [6, -10] (-10.5 rounds up). Sum [[11,-15],[8,40]]; clamped to a
     4-bit unsigned range [0, 15]: [[11,0],[8,15]]. */
  const int8_t a[] = {10, -10, 3, 100}, b[] = {4, -7};
  const int64_t want[2][4] = {{11, -15, 8, 40}, {11, 0, 8, 15}};
  const int64_t lo[] = {-128, 0}, hi[] = {127, 15};
  for (int c = 0; c < 2; c++) {
    tnode t = mk(QC_OP_QcAdd, 2, 1);
    attr_rq(&t, 2, I64(1 << 30, 1610612736), I64(31, 30), lo[c], hi[c]);
    qc_tensor in[2] = {tens(QC_DT_I8, 2, I64(2, 2), a), tens(QC_DT_I8, 1, I64(2), b)};
    qc_tensor out[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 2, &e), QC_OK);
    CU_ASSERT_EQUAL(out[0].dtype, c ? QC_DT_U8 : QC_DT_I8);
    CU_ASSERT_EQUAL(out[0].rank, 2);
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[c][i]);
    free_outs(out, 1);
    done(&t);
  }
  /* Branches are not clamped before the sum: rq(400 at 0.5) = 200 > 127, plus rq(-100 at 1) =
     -100, gives 100 (clamping each branch first would give 27). b broadcasts from [1] to [3, 1]
     against a [1, 1]... here a [3, 1] and b [1, 2] -> [3, 2]. */
  const int16_t a16[] = {400, 0, -400};
  const int8_t b8[] = {-100, 7};
  tnode t = mk(QC_OP_QcAdd, 2, 1);
  attr_rq(&t, 2, I64(1 << 30, 1 << 30), I64(31, 30), -128, 127);
  qc_tensor in[2] = {tens(QC_DT_I16, 2, I64(3, 1), a16), tens(QC_DT_I8, 2, I64(1, 2), b8)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 2, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dims[0], 3);
  CU_ASSERT_EQUAL(out[0].dims[1], 2);
  const int64_t want2[] = {100, 127, -100, 7, -128, -128 /* -200 + 7 = -193 */};
  for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want2[i]);
  free_outs(out, 1);
  done(&t);
}

/* ---- QcGlobalAveragePool ------------------------------------------------------------------ */

static void test_global_pool_floor(void)
{
  /* Sums -3, -4, 3, -1 over 2 elements: floor(-1.5) = -2 (truncation would give -1), -2, 1,
     floor(-0.5) = -1. */
  const int8_t x[] = {-3, 0, -4, 0, 3, 0, -1, 0};
  tnode t = mk(QC_OP_QcGlobalAveragePool, 1, 1);
  qc_tensor in[1] = {tens(QC_DT_I8, 4, I64(1, 4, 1, 2), x)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(out[0].rank, 4);
  CU_ASSERT_EQUAL(out[0].dims[1], 4);
  CU_ASSERT_EQUAL(out[0].dims[2], 1);
  CU_ASSERT_EQUAL(out[0].dims[3], 1);
  const int64_t want[] = {-2, -2, 1, -1};
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[i]);
  free_outs(out, 1);
  done(&t);
  /* u8 [2, 1, 2, 2]: 10 / 4 = 2.5 -> 2, 1020 / 4 = 255. */
  const uint8_t xu[] = {1, 2, 3, 4, 255, 255, 255, 255};
  t = mk(QC_OP_QcGlobalAveragePool, 1, 1);
  in[0] = tens(QC_DT_U8, 4, I64(2, 1, 2, 2), xu);
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 2, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_U8);
  CU_ASSERT_EQUAL(tget(&out[0], 0), 2);
  CU_ASSERT_EQUAL(tget(&out[0], 1), 255);
  free_outs(out, 1);
  done(&t);
}

/* ---- QcQuantize / QcDequantize ------------------------------------------------------------ */

static void test_quantize(void)
{
  /* x / 0.5: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2 (ties to even), 2000 and -2000 saturate, NaN -> 0,
     0.52 -> 1, +inf saturates. */
  const float x[] = {1.25f, 1.75f, -1.25f, 0.0f, 1000.0f, -1000.0f, NAN, 0.26f, INFINITY};
  const int64_t want[] = {2, 4, -2, 0, 127, -128, 0, 1, 127};
  tnode t = mk(QC_OP_QcQuantize, 1, 1);
  attr_f(&t, "scale", 0.5f);
  attr_i(&t, "qmin", -128);
  attr_i(&t, "qmax", 127);
  qc_tensor in[1] = {tens(QC_DT_F32, 1, I64(9), x)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I8);
  for (int i = 0; i < 9; i++) CU_ASSERT_EQUAL(tget(&out[0], i), want[i]);
  free_outs(out, 1);
  done(&t);
  /* Output dtype from [qmin, qmax]. */
  const int64_t ranges[][2] = {{0, 255}, {0, 15}, {-8, 7}, {-128, 127}, {-129, 127},
                               {0, 256}, {-40000, 0}, {-32768, 32767}};
  const qc_dtype dts[] = {QC_DT_U8, QC_DT_U8, QC_DT_I8, QC_DT_I8,
                          QC_DT_I16, QC_DT_I16, QC_DT_I32, QC_DT_I16};
  for (int i = 0; i < 8; i++) {
    t = mk(QC_OP_QcQuantize, 1, 1);
    attr_f(&t, "scale", 0.5f);
    attr_i(&t, "qmin", ranges[i][0]);
    attr_i(&t, "qmax", ranges[i][1]);
    qc_tinfo o;
    CU_ASSERT_EQUAL(infer(&t, in, 1, &o, &e), QC_OK);
    CU_ASSERT_EQUAL(o.dtype, dts[i]);
    done(&t);
  }
  /* Wide range: -2000 stays, i32 output. */
  t = mk(QC_OP_QcQuantize, 1, 1);
  attr_f(&t, "scale", 0.5f);
  attr_i(&t, "qmin", -40000);
  attr_i(&t, "qmax", 40000);
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_I32);
  CU_ASSERT_EQUAL(tget(&out[0], 4), 2000);
  CU_ASSERT_EQUAL(tget(&out[0], 5), -2000);
  CU_ASSERT_EQUAL(tget(&out[0], 8), 40000);
  free_outs(out, 1);
  done(&t);
}

static void test_dequantize(void)
{
  const int8_t x[] = {-128, 0, 5, 127};
  const float want[] = {-32.0f, 0.0f, 1.25f, 31.75f};
  tnode t = mk(QC_OP_QcDequantize, 1, 1);
  attr_f(&t, "scale", 0.25f);
  qc_tensor in[1] = {tens(QC_DT_I8, 2, I64(2, 2), x)};
  qc_tensor out[1];
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(out[0].dtype, QC_DT_F32);
  CU_ASSERT_EQUAL(out[0].rank, 2);
  for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(((float *)out[0].data)[i], want[i]);
  free_outs(out, 1);
  const int32_t x32[] = {-1000000, 3};
  in[0] = tens(QC_DT_I32, 1, I64(2), x32);
  CU_ASSERT_EQUAL_FATAL(run(&t, in, 1, out, 1, 0, &e), QC_OK);
  CU_ASSERT_EQUAL(((float *)out[0].data)[0], -250000.0f);
  CU_ASSERT_EQUAL(((float *)out[0].data)[1], 0.75f);
  free_outs(out, 1);
  done(&t);
}

/* ---- 4-bit packing ------------------------------------------------------------------------ */

static void test_i4_pack(void)
{
  int8_t v[16], back[17];
  uint8_t p[9];
  for (int i = 0; i < 16; i++) v[i] = (int8_t)(i - 8);
  CU_ASSERT_TRUE(qc_pack_i4(v, 16, p));
  /* Byte j: low nibble element 2j, high nibble 2j + 1, two's complement: [-8, -7] -> 0x98,
     [-2, -1] -> 0xFE, [0, 1] -> 0x10, [6, 7] -> 0x76. */
  CU_ASSERT_EQUAL(p[0], 0x98);
  CU_ASSERT_EQUAL(p[3], 0xFE);
  CU_ASSERT_EQUAL(p[4], 0x10);
  CU_ASSERT_EQUAL(p[7], 0x76);
  memset(back, 99, sizeof back);
  qc_unpack_i4(p, 16, back);
  for (int i = 0; i < 16; i++) {
    CU_ASSERT_EQUAL(back[i], v[i]);
    CU_ASSERT_EQUAL(qc_i4_get(p, i), v[i]);
  }
  CU_ASSERT_EQUAL(back[16], 99);
  /* Every odd count: the last high nibble is 0 and nothing past (n + 1) / 2 bytes is touched. */
  for (int n = 1; n <= 15; n += 2) {
    memset(p, 0xAA, sizeof p);
    CU_ASSERT_TRUE(qc_pack_i4(v + 16 - n, n, p));
    CU_ASSERT_EQUAL(p[n / 2] >> 4, 0);
    CU_ASSERT_EQUAL(p[(n + 1) / 2], 0xAA);
    qc_unpack_i4(p, n, back);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(back[i], v[16 - n + i]);
  }
  const int8_t three[] = {7, -1, -2};
  CU_ASSERT_TRUE(qc_pack_i4(three, 3, p));
  CU_ASSERT_EQUAL(p[0], 0xF7);
  CU_ASSERT_EQUAL(p[1], 0x0E);
  /* set keeps the other nibble. */
  qc_i4_set(p, 1, 3);
  CU_ASSERT_EQUAL(p[0], 0x37);
  qc_i4_set(p, 0, -8);
  CU_ASSERT_EQUAL(p[0], 0x38);
  CU_ASSERT_EQUAL(qc_i4_get(p, 0), -8);
  CU_ASSERT_EQUAL(qc_i4_get(p, 1), 3);
  /* Out of range: reported, low bits stored. */
  const int8_t bad[] = {8, 0};
  CU_ASSERT_FALSE(qc_pack_i4(bad, 2, p));
  CU_ASSERT_EQUAL(qc_i4_get(p, 0), -8);
  CU_ASSERT_EQUAL(qc_dtype_bytes(QC_DT_I4, 5), 3);
}

/* ---- shape inference: shapes and exact errors --------------------------------------------- */

typedef struct {
  qc_op op;
  int n_in;
  qc_tensor in[3];
  int n_rq;
  int64_t mult[4], shift[4], qmin, qmax;
  const char *msg;
} err_case;

static void test_infer_errors(void)
{
  const int64_t M30 = 1 << 30;
  const err_case cases[] = {
      {QC_OP_QcConv, 2, {tens(QC_DT_I8, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_I8, 4, I64(4, 2, 1, 1), NULL)},
       3, {M30, M30, M30}, {31, 31, 31}, -128, 127,
       "node 'q' (QcConv): mult and shift have 3 and 3 entries, expected 4 (one per output channel)"},
      {QC_OP_QcConv, 2, {tens(QC_DT_I8, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_I8, 4, I64(2, 2, 1, 1), NULL)},
       2, {M30, M30}, {31, 0}, -128, 127, "node 'q' (QcConv): shift[1] = 0 is outside [1, 62]"},
      {QC_OP_QcConv, 2, {tens(QC_DT_I8, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_I8, 4, I64(2, 2, 1, 1), NULL)},
       2, {M30, M30}, {63, 1}, -128, 127, "node 'q' (QcConv): shift[0] = 63 is outside [1, 62]"},
      {QC_OP_QcGemm, 2, {tens(QC_DT_I8, 2, I64(1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 3), NULL)},
       1, {(int64_t)1 << 31}, {31}, -128, 127,
       "node 'q' (QcGemm): mult[0] = 2147483648 is outside [1, 2^31)"},
      {QC_OP_QcGemm, 2, {tens(QC_DT_I8, 2, I64(1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 3), NULL)},
       1, {0}, {31}, -128, 127, "node 'q' (QcGemm): mult[0] = 0 is outside [1, 2^31)"},
      {QC_OP_QcAdd, 2, {tens(QC_DT_I8, 1, I64(3), NULL), tens(QC_DT_I8, 1, I64(3), NULL)},
       2, {M30, M30}, {31, 31}, 5, 4, "node 'q' (QcAdd): qmin 5 > qmax 4"},
      {QC_OP_QcAdd, 2, {tens(QC_DT_I8, 1, I64(3), NULL), tens(QC_DT_I8, 1, I64(3), NULL)},
       1, {M30}, {31}, -128, 127,
       "node 'q' (QcAdd): mult and shift have 1 and 1 entries, expected 2 (one per input)"},
      {QC_OP_QcAdd, 2, {tens(QC_DT_I8, 2, I64(2, 3), NULL), tens(QC_DT_I8, 1, I64(4), NULL)},
       2, {M30, M30}, {31, 31}, -128, 127,
       "node 'q' (QcAdd): a and b do not broadcast: dim 1 of the result is 3 vs 4"},
      {QC_OP_QcAdd, 2, {tens(QC_DT_F32, 1, I64(3), NULL), tens(QC_DT_I8, 1, I64(3), NULL)},
       2, {M30, M30}, {31, 31}, -128, 127,
       "node 'q' (QcAdd): a must be an integer tensor (u8, i8, u16, i16, i32), is f32"},
      {QC_OP_QcConv, 2, {tens(QC_DT_I8, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_U8, 4, I64(2, 2, 1, 1), NULL)},
       2, {M30, M30}, {31, 31}, -128, 127, "node 'q' (QcConv): weight must be i8 or i4, is u8"},
      {QC_OP_QcConv, 2, {tens(QC_DT_F32, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_I8, 4, I64(2, 2, 1, 1), NULL)},
       2, {M30, M30}, {31, 31}, -128, 127,
       "node 'q' (QcConv): x must be an integer tensor (u8, i8, u16, i16, i32), is f32"},
      {QC_OP_QcConv, 3, {tens(QC_DT_I8, 4, I64(1, 2, 3, 3), NULL), tens(QC_DT_I8, 4, I64(2, 2, 1, 1), NULL),
                         tens(QC_DT_I32, 1, I64(3), NULL)},
       2, {M30, M30}, {31, 31}, -128, 127,
       "node 'q' (QcConv): bias must be 1-D with 2 entries (one per output channel)"},
      {QC_OP_QcGemm, 3, {tens(QC_DT_I8, 2, I64(1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 3), NULL),
                         tens(QC_DT_I8, 1, I64(1), NULL)},
       1, {M30}, {31}, -128, 127, "node 'q' (QcGemm): bias must be i32, is i8"},
      {QC_OP_QcGemm, 2, {tens(QC_DT_I8, 2, I64(1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 4), NULL)},
       1, {M30}, {31}, -128, 127, "node 'q' (QcGemm): x has K = 3 but w has K = 4"},
      {QC_OP_QcGemm, 2, {tens(QC_DT_I8, 3, I64(1, 1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 3), NULL)},
       1, {M30}, {31}, -128, 127, "node 'q' (QcGemm): x must be 2-D [N, K], has rank 3"},
      {QC_OP_QcGemm, 2, {tens(QC_DT_I8, 2, I64(1, 3), NULL), tens(QC_DT_I8, 2, I64(1, 3), NULL)},
       1, {M30}, {31}, 0, (int64_t)1 << 31,
       "node 'q' (QcGemm): [qmin, qmax] = [0, 2147483648] exceeds int32"},
      {QC_OP_QcGlobalAveragePool, 1, {tens(QC_DT_I8, 2, I64(1, 3), NULL)}, 0, {0}, {0}, 0, 0,
       "node 'q' (QcGlobalAveragePool): x must have rank >= 3 [N, C, ...], has 2"},
      {QC_OP_QcGlobalAveragePool, 1, {tens(QC_DT_I4, 3, I64(1, 3, 2), NULL)}, 0, {0}, {0}, 0, 0,
       "node 'q' (QcGlobalAveragePool): x must be an integer tensor (u8, i8, u16, i16, i32), is i4"},
      {QC_OP_QcDequantize, 1, {tens(QC_DT_F32, 1, I64(3), NULL)}, 0, {0}, {0}, 0, 0,
       "node 'q' (QcDequantize): input must be an integer tensor (u8, i8, u16, i16, i32), is f32"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const err_case *c = &cases[i];
    tnode t = mk(c->op, c->n_in, 1);
    if (c->op == QC_OP_QcDequantize) attr_f(&t, "scale", 1.0f);
    else if (c->n_rq) attr_rq(&t, c->n_rq, c->mult, c->shift, c->qmin, c->qmax);
    qc_tinfo o;
    qc_err e = {0};
    CU_ASSERT_EQUAL(infer(&t, c->in, c->n_in, &o, &e), QC_ERR_INVALID);
    if (strcmp(e.msg, c->msg) != 0) printf("\ncase %zu: got '%s'\n", i, e.msg);
    CU_ASSERT_STRING_EQUAL(e.msg, c->msg);
    done(&t);
  }
  /* QcQuantize: f32 input, a positive finite scale. */
  const qc_tensor xi8 = tens(QC_DT_I8, 1, I64(3), NULL), xf = tens(QC_DT_F32, 1, I64(3), NULL);
  const float scales[] = {1.0f, 0.0f, -1.0f, INFINITY};
  const char *msgs[] = {"node 'q' (QcQuantize): input must be f32, is i8",
                        "node 'q' (QcQuantize): scale must be positive and finite, is 0",
                        "node 'q' (QcQuantize): scale must be positive and finite, is -1",
                        "node 'q' (QcQuantize): scale must be positive and finite, is inf"};
  for (int i = 0; i < 4; i++) {
    tnode t = mk(QC_OP_QcQuantize, 1, 1);
    attr_f(&t, "scale", scales[i]);
    attr_i(&t, "qmin", 0);
    attr_i(&t, "qmax", 255);
    qc_tinfo o;
    qc_err e = {0};
    CU_ASSERT_EQUAL(infer(&t, i ? &xf : &xi8, 1, &o, &e), QC_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(e.msg, msgs[i]);
    done(&t);
  }
}

static void test_infer_shapes(void)
{
  /* Static inference: a symbolic batch and unknown spatial dims pass through Conv's geometry. */
  tnode t = mk(QC_OP_QcConv, 3, 1);
  attr_rq(&t, 4, I64(1 << 30, 1 << 30, 1 << 30, 1 << 30), I64(31, 31, 31, 31), 0, 15);
  attr_ints(&t, "strides", 2, I64(2, 2));
  attr_ints(&t, "pads", 4, I64(1, 1, 1, 1));
  qc_tensor in[3] = {tens(QC_DT_U8, 4, I64(QC_DIM_SYM(0), 2, 7, -1), NULL),
                     tens(QC_DT_I4, 4, I64(4, 1, 3, 3), NULL), tens(QC_DT_I32, 1, I64(4), NULL)};
  attr_i(&t, "group", 2);
  qc_tinfo o;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(infer(&t, in, 3, &o, &e), QC_OK);
  CU_ASSERT_EQUAL(o.dtype, QC_DT_U8);
  CU_ASSERT_EQUAL(o.rank, 4);
  CU_ASSERT_EQUAL(o.dims[0], QC_DIM_SYM(0));
  CU_ASSERT_EQUAL(o.dims[1], 4);
  CU_ASSERT_EQUAL(o.dims[2], 4); /* (7 + 2 - 3) / 2 + 1 */
  CU_ASSERT_EQUAL(o.dims[3], -1);
  done(&t);
  /* QcGemm [N?, 5] x [3, 5] -> [N?, 3]; QcAdd broadcast [2, 1, 4] + [3, 1] -> [2, 3, 4]. */
  t = mk(QC_OP_QcGemm, 2, 1);
  attr_rq(&t, 3, I64(1 << 30, 1 << 30, 1 << 30), I64(31, 31, 31), -8, 7);
  in[0] = tens(QC_DT_I8, 2, I64(-1, 5), NULL);
  in[1] = tens(QC_DT_I8, 2, I64(3, 5), NULL);
  CU_ASSERT_EQUAL_FATAL(infer(&t, in, 2, &o, &e), QC_OK);
  CU_ASSERT_EQUAL(o.dtype, QC_DT_I8);
  CU_ASSERT_EQUAL(o.rank, 2);
  CU_ASSERT_EQUAL(o.dims[0], -1);
  CU_ASSERT_EQUAL(o.dims[1], 3);
  done(&t);
  t = mk(QC_OP_QcAdd, 2, 1);
  attr_rq(&t, 2, I64(1 << 30, 1 << 30), I64(31, 31), -300, 300);
  in[0] = tens(QC_DT_I8, 3, I64(2, 1, 4), NULL);
  in[1] = tens(QC_DT_U8, 2, I64(3, 1), NULL);
  CU_ASSERT_EQUAL_FATAL(infer(&t, in, 2, &o, &e), QC_OK);
  CU_ASSERT_EQUAL(o.dtype, QC_DT_I16);
  CU_ASSERT_EQUAL(o.rank, 3);
  CU_ASSERT_EQUAL(o.dims[0], 2);
  CU_ASSERT_EQUAL(o.dims[1], 3);
  CU_ASSERT_EQUAL(o.dims[2], 4);
  done(&t);
}

/* ---- a whole integer network through the IR text, the verifier and the interpreter ------- */

static void test_network(void)
{
  /* x / 0.5 = [2, -3, 4.5, 1] -> [2, -3, 4, 1] (ties to even). 1x1 conv with i4 w = [1, -1]
     (byte 0xF1), b = [0, 4], M = 1, ReLU folded (qmin 0): ch0 [2, 0, 4, 1], ch1 [2, 7, 0, 3].
     Pool: floor(7 / 4) = 1, floor(12 / 4) = 3. Gemm [[1,0],[0,1],[1,1]] at M = 0.5:
     [0.5, 1.5, 2] -> [1, 2, 2]; dequantized at 0.25: [0.25, 0.5, 0.5]. */
  const char *text =
      "graph \"int\" opset 17 {\n"
      "  input %x: f32[1,1,2,2]\n"
      "  const %w: i4[2,1,1,1] = hex\"f1\"\n"
      "  const %b: i32[2] = [0, 4]\n"
      "  const %wf: i8[3,2] = [1, 0, 0, 1, 1, 1]\n"
      "  %q = quantc.QcQuantize(%x) {scale=0.5, qmin=-128, qmax=127}\n"
      "  %c = quantc.QcConv(%q, %w, %b) {kernel_shape=[1, 1], mult=[1073741824, 1073741824], "
      "shift=[30, 30], qmin=0, qmax=255}\n"
      "  %p = quantc.QcGlobalAveragePool(%c)\n"
      "  %f = Flatten(%p)\n"
      "  %g = quantc.QcGemm(%f, %wf) {mult=[1073741824, 1073741824, 1073741824], "
      "shift=[31, 31, 31], qmin=-128, qmax=127}\n"
      "  %d = quantc.QcDequantize(%g) {scale=0.25}\n"
      "  output %d\n"
      "}\n";
  qc_graph *g = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_parse(text, &g, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_verify(g, &e), QC_OK);
  if (e.code) printf("\n%s\n", e.msg);
  qc_interp *it = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 2, &it, &e), QC_OK);
  const float x[] = {1.0f, -1.5f, 2.25f, 0.5f};
  qc_tensor in = tens(QC_DT_F32, 4, I64(1, 1, 2, 2), x);
  qc_status s = qc_interp_run(it, &in, 1, &e);
  if (s) printf("\n%s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(s, QC_OK);
  const qc_tensor *y = qc_interp_output(it, 0);
  CU_ASSERT_EQUAL(y->dtype, QC_DT_F32);
  CU_ASSERT_EQUAL(qc_tensor_elems(y), 3);
  const float want[] = {0.25f, 0.5f, 0.5f};
  for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(((const float *)y->data)[i], want[i]);
  qc_interp_free(it);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"dyadic_from_real", test_dyadic_from_real},
    {"requant_ties", test_requant_ties},
    {"gemm_clamp", test_gemm_clamp},
    {"gemm_per_channel", test_gemm_per_channel},
    {"add_scales", test_add_scales},
    {"global_pool_floor", test_global_pool_floor},
    {"quantize", test_quantize},
    {"dequantize", test_dequantize},
    {"i4_pack", test_i4_pack},
    {"infer_errors", test_infer_errors},
    {"infer_shapes", test_infer_shapes},
    {"network", test_network},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"int_ops", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
