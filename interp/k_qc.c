/* Kernels of quantc's integer-only ops (domain "quantc"), exact per docs/integer-semantics.md:
 * int32 accumulators, per-channel dyadic requantization y = clamp((v * mult + 2^(shift-1)) >>
 * shift, qmin, qmax) in int64 (qmath.h), zero points 0. ir/infer_qc.c validated the attributes;
 * kernels re-check what they index so inconsistent tensors err instead of reading out of bounds. */
#include <string.h>
#include "broadcast.h"
#include "infer_nn.h"
#include "kernels.h"
#include "qmath.h"

/* Element i of an integer activation (u8, i8, u16, i16, i32). */
static inline int32_t ld(const void *p, qc_dtype t, int64_t i)
{
  switch (t) {
  case QC_DT_U8: return ((const uint8_t *)p)[i];
  case QC_DT_I8: return ((const int8_t *)p)[i];
  case QC_DT_U16: return ((const uint16_t *)p)[i];
  case QC_DT_I16: return ((const int16_t *)p)[i];
  default: return ((const int32_t *)p)[i];
  }
}

/* Stores v, already clamped to the dtype's range. */
static inline void st(void *p, qc_dtype t, int64_t i, int64_t v)
{
  switch (t) {
  case QC_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
  case QC_DT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
  case QC_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
  case QC_DT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
  default: ((int32_t *)p)[i] = (int32_t)v; break;
  }
}

static bool is_act(qc_dtype t)
{
  return t == QC_DT_U8 || t == QC_DT_I8 || t == QC_DT_U16 || t == QC_DT_I16 || t == QC_DT_I32;
}

static bool has(const qc_tensor *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF && in[i].data;
}

/* Element i of a weight tensor (i8, or i4 packed low nibble first). */
static inline int32_t ldw(const void *p, qc_dtype t, int64_t i)
{
  return t == QC_DT_I4 ? qc_i4_get(p, i) : ((const int8_t *)p)[i];
}

/* The requantization of one node: per-channel (mult, shift) and the clamp range. */
typedef struct {
  int64_t n;
  const int64_t *mult, *shift;
  int64_t lo, hi;
} rq_t;

static qc_status get_rq(qc_kctx *k, const qc_node *n, int64_t want, qc_dtype yt, rq_t *q)
{
  q->n = qc_attr_ints(n, "mult", &q->mult);
  int64_t ns = qc_attr_ints(n, "shift", &q->shift);
  q->lo = qc_attr_i(n, "qmin", 0);
  q->hi = qc_attr_i(n, "qmax", 0);
  if (q->n != want || ns != want)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "mult and shift have %lld and %lld entries, "
                       "expected %lld", (long long)q->n, (long long)ns, (long long)want);
  for (int64_t i = 0; i < want; i++)
    if (q->mult[i] < 1 || q->mult[i] >= ((int64_t)1 << 31) || q->shift[i] < 1 ||
        q->shift[i] > 62)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "mult/shift[%lld] out of range",
                         (long long)i);
  int64_t tlo, thi;
  switch (yt) {
  case QC_DT_U8: tlo = 0, thi = 255; break;
  case QC_DT_I8: tlo = -128, thi = 127; break;
  case QC_DT_I16: tlo = INT16_MIN, thi = INT16_MAX; break;
  case QC_DT_I32: tlo = INT32_MIN, thi = INT32_MAX; break;
  default: tlo = 1, thi = 0; break;
  }
  if (q->lo > q->hi || q->lo < tlo || q->hi > thi)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "[qmin, qmax] = [%lld, %lld] does not fit "
                       "the output dtype %s", (long long)q->lo, (long long)q->hi,
                       qc_dtype_name(yt));
  return QC_OK;
}

/* Accumulator plus bias in int32 (wrapping mod 2^32 outside the exactness bound, as the GEMM
   does), then the dyadic requantization and the clamp. */
static inline int64_t rq_out(uint32_t acc, int32_t bias, const rq_t *q, int64_t c)
{
  int32_t v = (int32_t)(acc + (uint32_t)bias);
  return qc_clamp64(qc_requant_dyadic(v, (int32_t)q->mult[c], (int32_t)q->shift[c]), q->lo,
                    q->hi);
}

/* Inputs the int16 GEMM takes exactly: with |x| <= 32768 and |w| <= 128 (i8/i4 weights) each
   vpmaddwd pair sum x0 * w0 + x1 * w1 stays below 2^23, and the int32 sums wrap as the portable
   kernel's do, so the bits are those of the definition (modulo 2^32). */
static bool gemm_s16_input(qc_dtype t) { return t == QC_DT_U8 || t == QC_DT_I8 || t == QC_DT_I16; }

/* ---- QcQuantize / QcDequantize ------------------------------------------------------------ */

typedef struct {
  const void *x;
  void *y;
  qc_dtype yt, xt;
  float scale;
  int64_t lo, hi;
} elem_job;

static void quantize_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const elem_job *j = arg;
  const float *x = j->x;
  double lo = (double)j->lo, hi = (double)j->hi;
  for (int64_t i = begin; i < end; i++) {
    /* A true division as QuantizeLinear; the clamp in double (exact for int32 bounds) before
       any conversion, so infinities saturate; NaN quantizes to 0 clamped. */
    double r = qc_round_half_even(x[i] / j->scale);
    if (r != r) r = 0.0;
    r = r < lo ? lo : r > hi ? hi : r;
    st(j->y, j->yt, i, (int64_t)r);
  }
}

static void dequantize_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const elem_job *j = arg;
  float *y = j->y;
  for (int64_t i = begin; i < end; i++) y[i] = qc_dequantize(ld(j->x, j->xt, i), 0, j->scale);
}

static qc_status k_qc_quantize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                               qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int64_t cnt = qc_tensor_elems(&in[0]);
  if (in[0].dtype != QC_DT_F32 || qc_tensor_elems(&out[0]) != cnt)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "expects f32 input and an output of its size");
  elem_job j = {in[0].data, out[0].data, out[0].dtype, QC_DT_F32, qc_attr_f(n, "scale", 1.0f),
                qc_attr_i(n, "qmin", 0), qc_attr_i(n, "qmax", 0)};
  if (!is_act(out[0].dtype) || !(j.scale > 0.0f) || j.lo > j.hi)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "bad scale, clamp range or output dtype");
  qc_pool_run(k->pool, cnt, 1 << 15, quantize_task, &j);
  return QC_OK;
}

static qc_status k_qc_dequantize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                 qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int64_t cnt = qc_tensor_elems(&in[0]);
  if (!is_act(in[0].dtype) || out[0].dtype != QC_DT_F32 || qc_tensor_elems(&out[0]) != cnt)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "expects an integer input and f32 output");
  elem_job j = {in[0].data, out[0].data, QC_DT_F32, in[0].dtype, qc_attr_f(n, "scale", 1.0f),
                0, 0};
  qc_pool_run(k->pool, cnt, 1 << 15, dequantize_task, &j);
  return QC_OK;
}

/* ---- QcConv ------------------------------------------------------------------------------- */

typedef struct {
  int sd;                                 /* spatial dims */
  int64_t in[QC_MAX_RANK], ks[QC_MAX_RANK], os[QC_MAX_RANK];
  int64_t st[QC_MAX_RANK], dl[QC_MAX_RANK], pb[QC_MAX_RANK], in_stride[QC_MAX_RANK];
  int64_t cg, ksz, K, P, M, mg, group, C;
  const void *x;                          /* im2col: one image, one group */
  qc_dtype xt, wt, yt;
  int16_t *dst;                           /* packed panels, K x P */
  /* epilogue / direct path */
  const int32_t *acc;
  const void *w;
  const int32_t *bias;
  const rq_t *q;
  void *y;
  int64_t m0, y_off;                      /* first output channel, offset of this image */
  const void *xall;
} conv_job;

/* im2col rows [begin, end): row r = (channel, kernel offset), column p = output position, value
   x at the input position. Only in-bounds entries are written: the buffer was zeroed once, and
   the padding positions are the same for every image and group. */
static void im2col_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const conv_job *j = arg;
  int sd = j->sd, last = sd - 1;
  int64_t kp = qc_igemm_kp(j->K), in_sz = j->in_stride[0] * j->in[0], olast = j->os[last];
  int64_t s_last = j->st[last], in_last = j->in[last];
  for (int64_t r = begin; r < end; r++) {
    int64_t c = r / j->ksz, kr = r % j->ksz, koff[QC_MAX_RANK], o[QC_MAX_RANK] = {0};
    for (int d = sd - 1; d >= 0; d--) koff[d] = kr % j->ks[d], kr /= j->ks[d];
    /* Along the last dim the input index is ol * s + off: in range for ol in [lo, hi). */
    int64_t off = koff[last] * j->dl[last] - j->pb[last];
    int64_t lo = off >= 0 ? 0 : (-off + s_last - 1) / s_last;
    int64_t hi = in_last - off <= 0 ? 0 : (in_last - off + s_last - 1) / s_last;
    if (hi > olast) hi = olast;
    for (int64_t p = 0; p < j->P; p += olast) {
      int64_t base = c * in_sz;
      bool valid = true;
      for (int d = 0; d < last; d++) {
        int64_t i = o[d] * j->st[d] + koff[d] * j->dl[d] - j->pb[d];
        if (i < 0 || i >= j->in[d]) valid = false;
        base += i * j->in_stride[d];
      }
      if (valid) {
        int64_t src = base + off;
        if (j->xt == QC_DT_U8) {
          const uint8_t *x = j->x;
          for (int64_t ol = lo; ol < hi; ol++)
            j->dst[qc_igemm_b_index(kp, r, p + ol)] = (int16_t)x[src + ol * s_last];
        } else if (j->xt == QC_DT_I8) {
          const int8_t *x = j->x;
          for (int64_t ol = lo; ol < hi; ol++)
            j->dst[qc_igemm_b_index(kp, r, p + ol)] = (int16_t)x[src + ol * s_last];
        } else {
          const int16_t *x = j->x;
          for (int64_t ol = lo; ol < hi; ol++)
            j->dst[qc_igemm_b_index(kp, r, p + ol)] = x[src + ol * s_last];
        }
      }
      for (int d = last - 1; d >= 0; d--) {
        if (++o[d] < j->os[d]) break;
        o[d] = 0;
      }
    }
  }
}

/* Requantizes rows [begin, end) of one group's mg x P accumulator block. */
static void conv_epilogue_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const conv_job *j = arg;
  for (int64_t m = begin; m < end; m++) {
    int64_t c = j->m0 + m;
    int32_t b = j->bias ? j->bias[c] : 0;
    const int32_t *a = j->acc + m * j->P;
    int64_t o = j->y_off + c * j->P;
    for (int64_t p = 0; p < j->P; p++) st(j->y, j->yt, o + p, rq_out((uint32_t)a[p], b, j->q, c));
  }
}

/* Direct convolution for u16 and i32 inputs, which int16 panels cannot hold: tasks are (image,
   output channel) pairs; products in int64, summed in uint32 (int32 wrapping). */
static void conv_direct_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const conv_job *j = arg;
  int sd = j->sd;
  int64_t in_sz = j->in_stride[0] * j->in[0];
  for (int64_t t = begin; t < end; t++) {
    int64_t b = t / j->M, m = t % j->M, g = m / j->mg;
    int64_t o[QC_MAX_RANK] = {0};
    for (int64_t p = 0; p < j->P; p++) {
      uint32_t acc = 0;
      for (int64_t r = 0; r < j->K; r++) {
        int64_t c = g * j->cg + r / j->ksz, kr = r % j->ksz, xi = 0;
        bool valid = true;
        for (int d = sd - 1; d >= 0; d--) {
          int64_t kd = kr % j->ks[d];
          kr /= j->ks[d];
          int64_t i = o[d] * j->st[d] + kd * j->dl[d] - j->pb[d];
          if (i < 0 || i >= j->in[d]) valid = false;
          xi += i * j->in_stride[d];
        }
        if (!valid) continue;
        int64_t xv = ld(j->xall, j->xt, (b * j->C + c) * in_sz + xi);
        acc += (uint32_t)(xv * ldw(j->w, j->wt, m * j->K + r));
      }
      st(j->y, j->yt, (b * j->M + m) * j->P + p, rq_out(acc, j->bias ? j->bias[m] : 0, j->q, m));
      for (int d = sd - 1; d >= 0; d--) {
        if (++o[d] < j->os[d]) break;
        o[d] = 0;
      }
    }
  }
}

static qc_status k_qc_conv(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  (void)n_out;
  const qc_tensor *x = &in[0], *w = &in[1];
  qc_tensor *y = &out[0];
  int rank = x->rank, sd = rank - 2;
  if (!is_act(x->dtype) || (w->dtype != QC_DT_I8 && w->dtype != QC_DT_I4))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "x must be an integer tensor and w i8 or i4");
  if (rank < 3 || w->rank != rank || y->rank != rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "x, w and y must share a rank >= 3");
  conv_job j;
  memset(&j, 0, sizeof j);
  j.C = x->dims[1];
  j.M = w->dims[0];
  j.group = qc_attr_i(n, "group", 1);
  if (j.group < 1 || j.C % j.group || j.M % j.group || w->dims[1] != j.C / j.group ||
      y->dims[0] != x->dims[0] || y->dims[1] != j.M)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "channel counts do not match group %lld",
                       (long long)j.group);
  rq_t q;
  qc_status s = get_rq(k, n, j.M, y->dtype, &q);
  if (s) return s;
  const int32_t *bias = NULL;
  if (has(in, n_in, 2)) {
    if (in[2].dtype != QC_DT_I32 || qc_tensor_elems(&in[2]) != j.M)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "bias must be i32 with %lld entries",
                         (long long)j.M);
    bias = in[2].data;
  }
  /* The geometry shape inference used (infer_nn.h): pads resolved for auto_pad. */
  qc_tinfo xt = {x->dtype, x->rank, {0}, NULL}, wt = {w->dtype, w->rank, {0}, NULL};
  memcpy(xt.dims, x->dims, sizeof xt.dims);
  memcpy(wt.dims, w->dims, sizeof wt.dims);
  qc_window win;
  if ((s = qc_conv_window(n, &xt, &wt, &win, k->err))) return s;
  j.sd = sd;
  j.cg = j.C / j.group;
  j.mg = j.M / j.group;
  j.ksz = 1;
  j.P = 1;
  for (int d = 0; d < sd; d++) {
    if (win.out[d] != y->dims[2 + d])
      return qc_node_err(k->err, n, QC_ERR_INVALID, "output dim %d is %lld, expected %lld",
                         2 + d, (long long)y->dims[2 + d], (long long)win.out[d]);
    j.in[d] = x->dims[2 + d];
    j.ks[d] = w->dims[2 + d];
    j.os[d] = y->dims[2 + d];
    j.st[d] = win.stride[d];
    j.dl[d] = win.dilation[d];
    j.pb[d] = win.pad_begin[d];
    j.ksz *= j.ks[d];
    j.P *= j.os[d];
  }
  j.K = j.cg * j.ksz;
  int64_t in_sz = 1;
  for (int d = sd - 1; d >= 0; d--) j.in_stride[d] = in_sz, in_sz *= j.in[d];
  j.xt = x->dtype;
  j.wt = w->dtype;
  j.yt = y->dtype;
  j.w = w->data;
  j.bias = bias;
  j.q = &q;
  j.y = y->data;
  j.xall = x->data;
  int64_t N = x->dims[0];
  if (N * j.M * j.P == 0) return QC_OK;
  if (j.K == 0 || !gemm_s16_input(x->dtype)) {
    qc_pool_run(k->pool, N * j.M, 1, conv_direct_task, &j);
    return QC_OK;
  }
  /* im2col into int16 panels and the int16 GEMM. */
  int64_t kp = qc_igemm_kp(j.K), b_elems = qc_igemm_packed_elems(j.K, j.P);
  if (b_elems < 0) return qc_node_err(k->err, n, QC_ERR_NOMEM, "im2col too large");
  size_t a_bytes = ((size_t)(j.M * kp) * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t b_bytes = ((size_t)b_elems * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t bytes = a_bytes + b_bytes + (size_t)(j.mg * j.P) * sizeof(int32_t);
  char *buf = k->scratch(k, bytes);
  if (!buf) return qc_node_err(k->err, n, QC_ERR_NOMEM, "no scratch for %zu bytes", bytes);
  int16_t *W16 = (int16_t *)buf;
  j.dst = (int16_t *)(buf + a_bytes);
  int32_t *acc = (int32_t *)(buf + a_bytes + b_bytes);
  j.acc = acc;
  /* Weights, i4 unpacked here: row m holds its K = C/group * kernel entries. */
  for (int64_t m = 0; m < j.M; m++) {
    for (int64_t r = 0; r < j.K; r++)
      W16[m * kp + r] = (int16_t)ldw(w->data, w->dtype, m * j.K + r);
    if (kp > j.K) W16[m * kp + j.K] = 0;
  }
  memset(j.dst, 0, (size_t)b_elems * sizeof(int16_t));
  size_t xb = x->dtype == QC_DT_I16 ? 2 : 1;
  for (int64_t b = 0; b < N; b++)
    for (int64_t g = 0; g < j.group; g++) {
      j.x = (const char *)x->data + (size_t)((b * j.C + g * j.cg) * in_sz) * xb;
      qc_pool_run(k->pool, j.K, 16, im2col_task, &j);
      j.m0 = g * j.mg;
      j.y_off = b * j.M * j.P;
      qc_igemm_s16(k->pool, j.mg, j.P, j.K, W16 + j.m0 * kp, kp, j.dst, acc, j.P);
      qc_pool_run(k->pool, j.mg, 4, conv_epilogue_task, &j);
    }
  return QC_OK;
}

/* ---- QcGemm ------------------------------------------------------------------------------- */

typedef struct {
  int64_t N, M, K;
  const void *x, *w;
  qc_dtype xt, wt, yt;
  const int32_t *bias, *acc;
  const rq_t *q;
  void *y;
} gemm_job;

static void gemm_epilogue_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const gemm_job *j = arg;
  for (int64_t r = begin; r < end; r++)
    for (int64_t m = 0; m < j->M; m++)
      st(j->y, j->yt, r * j->M + m,
         rq_out((uint32_t)j->acc[r * j->M + m], j->bias ? j->bias[m] : 0, j->q, m));
}

static void gemm_direct_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const gemm_job *j = arg;
  for (int64_t r = begin; r < end; r++)
    for (int64_t m = 0; m < j->M; m++) {
      uint32_t acc = 0;
      for (int64_t kk = 0; kk < j->K; kk++)
        acc += (uint32_t)((int64_t)ld(j->x, j->xt, r * j->K + kk) *
                          ldw(j->w, j->wt, m * j->K + kk));
      st(j->y, j->yt, r * j->M + m, rq_out(acc, j->bias ? j->bias[m] : 0, j->q, m));
    }
}

static qc_status k_qc_gemm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  (void)n_out;
  const qc_tensor *x = &in[0], *w = &in[1];
  qc_tensor *y = &out[0];
  if (!is_act(x->dtype) || (w->dtype != QC_DT_I8 && w->dtype != QC_DT_I4) || x->rank != 2 ||
      w->rank != 2 || y->rank != 2 || x->dims[1] != w->dims[1] || y->dims[0] != x->dims[0] ||
      y->dims[1] != w->dims[0])
    return qc_node_err(k->err, n, QC_ERR_INVALID, "expects x [N, K] integer, w [M, K] i8/i4, "
                       "y [N, M]");
  gemm_job j = {x->dims[0], w->dims[0], x->dims[1], x->data, w->data, x->dtype, w->dtype,
                y->dtype, NULL, NULL, NULL, y->data};
  rq_t q;
  qc_status s = get_rq(k, n, j.M, y->dtype, &q);
  if (s) return s;
  j.q = &q;
  if (has(in, n_in, 2)) {
    if (in[2].dtype != QC_DT_I32 || qc_tensor_elems(&in[2]) != j.M)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "bias must be i32 with %lld entries",
                         (long long)j.M);
    j.bias = in[2].data;
  }
  if (j.N * j.M == 0) return QC_OK;
  if (j.K == 0 || !gemm_s16_input(x->dtype)) {
    qc_pool_run(k->pool, j.N, 1, gemm_direct_task, &j);
    return QC_OK;
  }
  /* y = x w^T: A = x (N x K rows), B = w^T (K x M) packed into panels. */
  int64_t kp = qc_igemm_kp(j.K), b_elems = qc_igemm_packed_elems(j.K, j.M);
  if (b_elems < 0) return qc_node_err(k->err, n, QC_ERR_NOMEM, "weights too large");
  size_t a_bytes = ((size_t)(j.N * kp) * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t b_bytes = ((size_t)b_elems * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t bytes = a_bytes + b_bytes + (size_t)(j.N * j.M) * sizeof(int32_t);
  char *buf = k->scratch(k, bytes);
  if (!buf) return qc_node_err(k->err, n, QC_ERR_NOMEM, "no scratch for %zu bytes", bytes);
  int16_t *A16 = (int16_t *)buf, *B16 = (int16_t *)(buf + a_bytes);
  int32_t *acc = (int32_t *)(buf + a_bytes + b_bytes);
  for (int64_t r = 0; r < j.N; r++) {
    for (int64_t kk = 0; kk < j.K; kk++)
      A16[r * kp + kk] = (int16_t)ld(x->data, x->dtype, r * j.K + kk);
    if (kp > j.K) A16[r * kp + j.K] = 0;
  }
  memset(B16, 0, (size_t)b_elems * sizeof(int16_t));
  for (int64_t m = 0; m < j.M; m++)
    for (int64_t kk = 0; kk < j.K; kk++)
      B16[qc_igemm_b_index(kp, kk, m)] = (int16_t)ldw(w->data, w->dtype, m * j.K + kk);
  qc_igemm_s16(k->pool, j.N, j.M, j.K, A16, kp, B16, acc, j.M);
  j.acc = acc;
  qc_pool_run(k->pool, j.N, 4, gemm_epilogue_task, &j);
  return QC_OK;
}

/* ---- QcAdd -------------------------------------------------------------------------------- */

typedef struct {
  qc_bcast b;
  const void *a, *c;
  qc_dtype at, ct, yt;
  void *y;
  int32_t ma, sa, mb, sb;
  int64_t lo, hi;
} add_job;

static void add_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const add_job *j = arg;
  qc_bcast_it it;
  qc_bcast_seek(&j->b, &it, begin);
  int64_t n = j->b.inner, s0 = qc_bcast_inner_stride(&j->b, 0),
          s1 = qc_bcast_inner_stride(&j->b, 1);
  for (int64_t r = begin; r < end; r++) {
    for (int64_t i = 0; i < n; i++) {
      /* Each branch requantized to the output scale on its own, summed unclamped, clamped once. */
      int64_t va = qc_requant_dyadic(ld(j->a, j->at, it.off[0] + i * s0), j->ma, j->sa);
      int64_t vb = qc_requant_dyadic(ld(j->c, j->ct, it.off[1] + i * s1), j->mb, j->sb);
      st(j->y, j->yt, r * n + i, qc_clamp64(va + vb, j->lo, j->hi));
    }
    qc_bcast_next(&j->b, &it);
  }
}

static qc_status k_qc_add(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  if (!is_act(in[0].dtype) || !is_act(in[1].dtype))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "a and b must be integer tensors");
  rq_t q;
  qc_status s = get_rq(k, n, 2, out[0].dtype, &q);
  if (s) return s;
  /* Operand dims must be 1 or the output's, right-aligned (shape inference checked it). */
  for (int t = 0; t < 2; t++) {
    if (in[t].rank > out[0].rank)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "input rank exceeds the output's");
    for (int d = 0; d < in[t].rank; d++) {
      int64_t od = out[0].dims[out[0].rank - in[t].rank + d];
      if (in[t].dims[d] != 1 && in[t].dims[d] != od)
        return qc_node_err(k->err, n, QC_ERR_INVALID, "inputs do not broadcast to the output");
    }
  }
  add_job j;
  memset(&j, 0, sizeof j);
  const qc_tensor *ops[2] = {&in[0], &in[1]};
  qc_bcast_init_tensors(&j.b, &out[0], 2, ops);
  j.a = in[0].data, j.c = in[1].data, j.at = in[0].dtype, j.ct = in[1].dtype;
  j.yt = out[0].dtype, j.y = out[0].data;
  j.ma = (int32_t)q.mult[0], j.sa = (int32_t)q.shift[0];
  j.mb = (int32_t)q.mult[1], j.sb = (int32_t)q.shift[1];
  j.lo = q.lo, j.hi = q.hi;
  if (qc_tensor_elems(&out[0]) == 0) return QC_OK;
  int64_t grain = j.b.inner >= (1 << 14) ? 1 : (1 << 14) / j.b.inner;
  qc_pool_run(k->pool, j.b.rows, grain, add_task, &j);
  return QC_OK;
}

/* ---- QcGlobalAveragePool ------------------------------------------------------------------ */

typedef struct {
  const void *x;
  void *y;
  qc_dtype t;
  int64_t S;
} gap_job;

static void gap_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const gap_job *j = arg;
  for (int64_t c = begin; c < end; c++) {
    int64_t sum = 0;
    for (int64_t i = 0; i < j->S; i++) sum += ld(j->x, j->t, c * j->S + i);
    /* floor(sum / S): C's division truncates, so step down for an inexact negative quotient. */
    int64_t q = sum / j->S;
    if (sum % j->S != 0 && sum < 0) q--;
    st(j->y, j->t, c, q);
  }
}

static qc_status k_qc_global_pool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                  qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  const qc_tensor *x = &in[0];
  if (!is_act(x->dtype) || out[0].dtype != x->dtype || x->rank < 3 || out[0].rank != x->rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "expects an integer x [N, C, ...] and y alike");
  int64_t nc = x->dims[0] * x->dims[1], S = 1;
  for (int d = 2; d < x->rank; d++) S *= x->dims[d];
  if (qc_tensor_elems(&out[0]) != nc)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output must be [N, C, 1, ...]");
  if (nc == 0) return QC_OK;
  if (S == 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "cannot average over an empty spatial extent");
  gap_job j = {x->data, out[0].data, x->dtype, S};
  qc_pool_run(k->pool, nc, S >= 4096 ? 1 : 4096 / S, gap_task, &j);
  return QC_OK;
}

const qc_kernel_row qc_kernels_qc[] = {
    {QC_OP_QcQuantize, k_qc_quantize},
    {QC_OP_QcDequantize, k_qc_dequantize},
    {QC_OP_QcConv, k_qc_conv},
    {QC_OP_QcGemm, k_qc_gemm},
    {QC_OP_QcAdd, k_qc_add},
    {QC_OP_QcGlobalAveragePool, k_qc_global_pool},
    {QC_OP_NONE, NULL},
};
