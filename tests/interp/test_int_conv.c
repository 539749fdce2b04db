/* QcConv and QcGemm against direct-definition int64 loops written here (not im2col, not the
 * int16 GEMM): a hand-computed case, structured cases (groups, depthwise, strides, pads,
 * dilations, auto_pad, 1-D, i4 and i8 weights, u8/i8/i16 inputs) and many random shapes (u16 and
 * i32 inputs too), each run serially and on a pool. */
#include "test_int.h"

typedef struct {
  int sd;                 /* spatial dims: 1 or 2 */
  int64_t n, c, m, group; /* batch, in channels, out channels */
  int64_t in[2], k[2], st[2], dl[2], pads[4];
  const char *auto_pad;   /* NULL: explicit pads */
  qc_dtype xt, wt;
  bool bias;
  int64_t qmin, qmax;
} conv_cfg;

/* Input ranges: i16 in the int16 GEMM, u16 and i32 in the direct loop; small enough that the
   int32 accumulator stays exact for the sizes used here. */
static int64_t x_lo(qc_dtype t)
{
  return t == QC_DT_U8 || t == QC_DT_U16 ? 0 : t == QC_DT_I8 ? -128 : t == QC_DT_I16 ? -3000
                                                                                  : -100000;
}
static int64_t x_hi(qc_dtype t)
{
  return t == QC_DT_U8 ? 255 : t == QC_DT_I8 ? 127 : t == QC_DT_I16 ? 3000
                           : t == QC_DT_U16 ? 60000 : 100000;
}
static int x_bytes(qc_dtype t) { return t == QC_DT_U8 || t == QC_DT_I8 ? 1 : t == QC_DT_I32 ? 4 : 2; }
static void x_set(void *x, qc_dtype t, int64_t i, int64_t v)
{
  if (t == QC_DT_I16) ((int16_t *)x)[i] = (int16_t)v;
  else if (t == QC_DT_U16) ((uint16_t *)x)[i] = (uint16_t)v;
  else if (t == QC_DT_I32) ((int32_t *)x)[i] = (int32_t)v;
  else ((uint8_t *)x)[i] = (uint8_t)v;
}
static bool wide(qc_dtype t) { return t == QC_DT_I16 || t == QC_DT_U16 || t == QC_DT_I32; }

/* Pads and output extent of one spatial axis from the ONNX definitions. */
static void ref_geometry(const conv_cfg *c, int d, int64_t *pb, int64_t *out)
{
  int64_t in = c->in[d], ek = (c->k[d] - 1) * c->dl[d] + 1;
  if (c->auto_pad && strcmp(c->auto_pad, "VALID") == 0) {
    *pb = 0;
    *out = (in - ek) / c->st[d] + 1;
  } else if (c->auto_pad) {
    *out = (in + c->st[d] - 1) / c->st[d];
    int64_t total = (*out - 1) * c->st[d] + ek - in;
    if (total < 0) total = 0;
    *pb = strcmp(c->auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
  } else {
    *pb = c->pads[d];
    *out = (in + c->pads[d] + c->pads[c->sd + d] - ek) / c->st[d] + 1;
  }
}

/* Runs one configuration with random data; compares with the direct loop. */
static bool conv_check(const conv_cfg *c, int threads)
{
  int64_t H = c->sd == 2 ? c->in[0] : 1, W = c->in[c->sd - 1];
  int64_t KH = c->sd == 2 ? c->k[0] : 1, KW = c->k[c->sd - 1], cg = c->c / c->group;
  int64_t mg = c->m / c->group, nx = c->n * c->c * H * W, nw = c->m * cg * KH * KW;
  int64_t pb[2] = {0, 0}, out[2] = {1, 1};
  for (int d = 0; d < c->sd; d++) ref_geometry(c, d, &pb[2 - c->sd + d], &out[2 - c->sd + d]);
  int64_t sh = c->sd == 2 ? c->st[0] : 1, sw = c->st[c->sd - 1];
  int64_t dh = c->sd == 2 ? c->dl[0] : 1, dw = c->dl[c->sd - 1];
  int64_t OH = out[0], OW = out[1];
  void *x = malloc((size_t)(nx * x_bytes(c->xt) + 1));
  uint8_t *w = malloc((size_t)nw + 1);
  int32_t *b = malloc(sizeof(int32_t) * (size_t)c->m);
  int64_t *mult = malloc(sizeof(int64_t) * (size_t)c->m), *shift = malloc(sizeof(int64_t) * (size_t)c->m);
  for (int64_t i = 0; i < nx; i++) {
    x_set(x, c->xt, i, rnd_in(x_lo(c->xt), x_hi(c->xt)));
  }
  memset(w, 0, (size_t)nw + 1);
  for (int64_t i = 0; i < nw; i++) {
    if (c->wt == QC_DT_I4) qc_i4_set(w, i, (int32_t)rnd_in(-8, 7));
    else ((int8_t *)w)[i] = (int8_t)rnd_in(-128, 127);
  }
  for (int64_t m = 0; m < c->m; m++) {
    b[m] = (int32_t)rnd_in(-20000, 20000);
    mult[m] = rnd_in((int64_t)1 << 30, ((int64_t)1 << 31) - 1);
    shift[m] = rnd_in(wide(c->xt) ? 38 : 31, wide(c->xt) ? 48 : 38);
  }
  tnode t = mk(QC_OP_QcConv, c->bias ? 3 : 2, 1);
  attr_rq(&t, (int)c->m, mult, shift, c->qmin, c->qmax);
  attr_i(&t, "group", c->group);
  attr_ints(&t, "kernel_shape", c->sd, c->k);
  attr_ints(&t, "strides", c->sd, c->st);
  attr_ints(&t, "dilations", c->sd, c->dl);
  if (c->auto_pad) attr_s(&t, "auto_pad", c->auto_pad);
  else attr_ints(&t, "pads", 2 * c->sd, c->pads);
  int64_t xd[4] = {c->n, c->c, c->in[0], c->in[1]}, wd[4] = {c->m, cg, c->k[0], c->k[1]};
  qc_tensor in[3] = {tens(c->xt, 2 + c->sd, xd, x), tens(c->wt, 2 + c->sd, wd, w),
                     tens(QC_DT_I32, 1, &c->m, b)};
  qc_tensor y[1];
  qc_err e = {0};
  bool ok = true;
  qc_status s = run(&t, in, c->bias ? 3 : 2, y, 1, threads, &e);
  if (s != QC_OK) {
    printf("\nconv failed: %s\n", e.msg);
    ok = false;
  } else if (qc_tensor_elems(&y[0]) != c->n * c->m * OH * OW) {
    printf("\nconv output has %lld elements, expected %lld\n", (long long)qc_tensor_elems(&y[0]),
           (long long)(c->n * c->m * OH * OW));
    ok = false;
  }
  for (int64_t nn = 0; ok && nn < c->n; nn++)
    for (int64_t m = 0; ok && m < c->m; m++)
      for (int64_t oh = 0; ok && oh < OH; oh++)
        for (int64_t ow = 0; ok && ow < OW; ow++) {
          int64_t acc = c->bias ? b[m] : 0, g = m / mg;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t kh = 0; kh < KH; kh++)
              for (int64_t kw = 0; kw < KW; kw++) {
                int64_t ih = oh * sh + kh * dh - pb[0], iw = ow * sw + kw * dw - pb[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += tget(&in[0], ((nn * c->c + g * cg + ci) * H + ih) * W + iw) *
                       tget(&in[1], ((m * cg + ci) * KH + kh) * KW + kw);
              }
          int64_t want = ref_clamp(ref_rq(acc, mult[m], shift[m]), c->qmin, c->qmax);
          int64_t got = tget(&y[0], ((nn * c->m + m) * OH + oh) * OW + ow);
          if (got != want) {
            printf("\nconv sd=%d n=%lld c=%lld m=%lld g=%lld in=%lldx%lld k=%lldx%lld x=%s w=%s: "
                   "y[%lld,%lld,%lld,%lld] = %lld, expected %lld (acc %lld)\n",
                   c->sd, (long long)c->n, (long long)c->c, (long long)c->m, (long long)c->group,
                   (long long)H, (long long)W, (long long)KH, (long long)KW,
                   qc_dtype_name(c->xt), qc_dtype_name(c->wt), (long long)nn, (long long)m,
                   (long long)oh, (long long)ow, (long long)got, (long long)want, (long long)acc);
            ok = false;
          }
        }
  if (s == QC_OK) free_outs(y, 1);
  done(&t);
  free(x), free(w), free(b), free(mult), free(shift);
  return ok;
}

static void test_conv_hand(void)
{
  /* x = 1..9 (3x3), w = [[1,-1],[2,0]]: 1-2+8 = 7, 2-3+10 = 9, 4-5+14 = 13, 5-6+16 = 15; plus
     bias 1, at M = 0.5: 4, 5, 7, 8. The same with w as i4 (bytes 0xF1, 0x02). */
  const uint8_t x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int8_t w8[] = {1, -1, 2, 0};
  const uint8_t w4[] = {0xF1, 0x02};
  const int32_t b[] = {1};
  for (int wi = 0; wi < 2; wi++) {
    tnode t = mk(QC_OP_QcConv, 3, 1);
    attr_rq(&t, 1, I64(1 << 30), I64(31), 0, 255);
    qc_tensor in[3] = {tens(QC_DT_U8, 4, I64(1, 1, 3, 3), x),
                       wi ? tens(QC_DT_I4, 4, I64(1, 1, 2, 2), w4)
                          : tens(QC_DT_I8, 4, I64(1, 1, 2, 2), w8),
                       tens(QC_DT_I32, 1, I64(1), b)};
    qc_tensor y[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, 3, y, 1, 0, &e), QC_OK);
    CU_ASSERT_EQUAL(y[0].dtype, QC_DT_U8);
    CU_ASSERT_EQUAL(y[0].dims[2], 2);
    CU_ASSERT_EQUAL(y[0].dims[3], 2);
    const int64_t want[] = {4, 5, 7, 8};
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(tget(&y[0], i), want[i]);
    free_outs(y, 1);
    done(&t);
  }
}

static void test_conv_cases(void)
{
  const conv_cfg cases[] = {
      /* sd n c m g  in     k      st     dl     pads          auto  x  w  bias  qmin qmax */
      {2, 1, 3, 4, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 2, 3, 4, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_U8, QC_DT_I4, true, 0, 15},
      {2, 1, 4, 6, 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 0, 0, 1}, NULL, QC_DT_I8, QC_DT_I8, true, -128, 127},
      {2, 2, 6, 6, 6, {8, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 1, 4, 8, 4, {9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_U8, QC_DT_I4, false, 0, 15},
      {2, 1, 3, 2, 1, {9, 8}, {3, 2}, {1, 2}, {2, 3}, {2, 0, 1, 3}, NULL, QC_DT_I8, QC_DT_I4, true, -8, 7},
      {2, 1, 2, 3, 1, {7, 5}, {3, 3}, {2, 1}, {1, 1}, {0, 0, 0, 0}, "SAME_UPPER", QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 1, 2, 3, 1, {6, 5}, {2, 4}, {2, 3}, {1, 1}, {0, 0, 0, 0}, "SAME_LOWER", QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 1, 2, 3, 1, {7, 6}, {3, 2}, {2, 2}, {1, 2}, {0, 0, 0, 0}, "VALID", QC_DT_I8, QC_DT_I8, true, -128, 127},
      {1, 2, 3, 5, 1, {11, 0}, {3, 0}, {2, 0}, {2, 0}, {2, 1, 0, 0}, NULL, QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 1, 3, 4, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_I16, QC_DT_I8, true, -2000, 2000},
      {2, 1, 4, 4, 2, {6, 6}, {2, 2}, {2, 1}, {1, 2}, {0, 1, 1, 0}, NULL, QC_DT_I16, QC_DT_I4, true, -40000, 40000},
      /* more output positions than one 64-column panel, odd K */
      {2, 1, 3, 5, 1, {13, 11}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, QC_DT_U8, QC_DT_I8, true, 0, 255},
      {2, 1, 1, 3, 1, {20, 20}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, QC_DT_U8, QC_DT_I4, true, 0, 255},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int th = 0; th <= 2; th += 2) {
      bool ok = conv_check(&cases[i], th);
      if (!ok) printf("case %zu threads %d\n", i, th);
      CU_ASSERT_TRUE(ok);
    }
}

static void test_conv_random(void)
{
  const qc_dtype xts[] = {QC_DT_U8, QC_DT_I8, QC_DT_I16, QC_DT_U16, QC_DT_I32};
  const qc_dtype wts[] = {QC_DT_I8, QC_DT_I4};
  const int64_t ranges[][2] = {{0, 255}, {-128, 127}, {0, 15}, {-8, 7}, {0, 3}, {-1000, 1000}};
  int fails = 0, runs = 0;
  while (runs < 400 && fails < 5) {
    conv_cfg c;
    memset(&c, 0, sizeof c);
    c.sd = (int)rnd_in(1, 2);
    c.n = rnd_in(1, 2);
    c.group = rnd_in(1, 3);
    c.c = c.group * rnd_in(1, 4);
    c.m = c.group * rnd_in(1, 3);
    if (rnd_in(0, 4) == 0) c.c = c.m = c.group; /* depthwise */
    bool valid = true;
    int ap = (int)rnd_in(0, 5);
    c.auto_pad = ap == 3 ? "SAME_UPPER" : ap == 4 ? "SAME_LOWER" : ap == 5 ? "VALID" : NULL;
    for (int d = 0; d < c.sd; d++) {
      c.in[d] = rnd_in(1, 12);
      c.k[d] = rnd_in(1, 4);
      c.st[d] = rnd_in(1, 3);
      c.dl[d] = rnd_in(1, 2);
      c.pads[d] = rnd_in(0, 2);
      c.pads[c.sd + d] = rnd_in(0, 2);
      int64_t ek = (c.k[d] - 1) * c.dl[d] + 1;
      int64_t span = c.in[d] + (c.auto_pad ? 0 : c.pads[d] + c.pads[c.sd + d]);
      if ((!c.auto_pad || strcmp(c.auto_pad, "VALID") == 0) && span < ek) valid = false;
    }
    if (!valid) continue;
    c.xt = xts[rnd_in(0, 4)];
    c.wt = wts[rnd_in(0, 1)];
    c.bias = rnd_in(0, 3) != 0;
    const int64_t *r = ranges[rnd_in(0, 5)];
    c.qmin = r[0];
    c.qmax = r[1];
    bool ok = conv_check(&c, runs % 2 ? 2 : 0);
    runs++;
    if (!ok) fails++;
    CU_ASSERT_TRUE(ok);
  }
  CU_ASSERT_EQUAL(runs, 400);
}

/* QcGemm vs its definition y[n, m] = clamp(rq(sum_k x[n, k] w[m, k] + b[m])). */
static void test_gemm_random(void)
{
  const qc_dtype xts[] = {QC_DT_U8, QC_DT_I8, QC_DT_I16, QC_DT_U16, QC_DT_I32};
  const qc_dtype wts[] = {QC_DT_I8, QC_DT_I4};
  for (int it = 0; it < 150; it++) {
    int64_t N = rnd_in(1, 9), K = rnd_in(1, 150), M = rnd_in(1, 80);
    qc_dtype xt = xts[rnd_in(0, 4)], wt = wts[rnd_in(0, 1)];
    bool bias = rnd_in(0, 2) != 0;
    void *x = malloc((size_t)(N * K * x_bytes(xt)));
    uint8_t *w = calloc(1, (size_t)(M * K + 1));
    int32_t *b = malloc(sizeof(int32_t) * (size_t)M);
    int64_t *mult = malloc(sizeof(int64_t) * (size_t)M), *shift = malloc(sizeof(int64_t) * (size_t)M);
    for (int64_t i = 0; i < N * K; i++) {
      x_set(x, xt, i, rnd_in(x_lo(xt), x_hi(xt)));
    }
    for (int64_t i = 0; i < M * K; i++) {
      if (wt == QC_DT_I4) qc_i4_set(w, i, (int32_t)rnd_in(-8, 7));
      else ((int8_t *)w)[i] = (int8_t)rnd_in(-128, 127);
    }
    for (int64_t m = 0; m < M; m++) {
      b[m] = (int32_t)rnd_in(-100000, 100000);
      mult[m] = rnd_in((int64_t)1 << 30, ((int64_t)1 << 31) - 1);
      shift[m] = rnd_in(32, wide(xt) ? 50 : 44);
    }
    tnode t = mk(QC_OP_QcGemm, bias ? 3 : 2, 1);
    attr_rq(&t, (int)M, mult, shift, -128, 127);
    qc_tensor in[3] = {tens(xt, 2, I64(N, K), x), tens(wt, 2, I64(M, K), w),
                       tens(QC_DT_I32, 1, &M, b)};
    qc_tensor y[1];
    qc_err e = {0};
    CU_ASSERT_EQUAL_FATAL(run(&t, in, bias ? 3 : 2, y, 1, it % 2 ? 2 : 0, &e), QC_OK);
    int bad = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t m = 0; m < M; m++) {
        int64_t acc = bias ? b[m] : 0;
        for (int64_t k = 0; k < K; k++) acc += tget(&in[0], n * K + k) * tget(&in[1], m * K + k);
        int64_t want = ref_clamp(ref_rq(acc, mult[m], shift[m]), -128, 127);
        if (tget(&y[0], n * M + m) != want) bad++;
      }
    CU_ASSERT_EQUAL(bad, 0);
    free_outs(y, 1);
    done(&t);
    free(x), free(w), free(b), free(mult), free(shift);
  }
}

static CU_TestInfo tests[] = {
    {"conv_hand", test_conv_hand},
    {"conv_cases", test_conv_cases},
    {"conv_random", test_conv_random},
    {"gemm_random", test_gemm_random},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"int_conv", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
