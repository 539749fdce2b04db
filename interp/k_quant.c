/* Reference kernels of the quant ops, exact integer semantics per the ONNX spec. The arithmetic
 * (rounding, saturation, requantization, the int32 GEMM) lives in qmath.h/qmath.c; this file
 * only walks tensors. Shapes were checked by ir/infer_quant.c; kernels re-check what they index
 * so that a kernel called on inconsistent tensors errs instead of reading out of bounds. */
#include <string.h>
#include "infer_nn.h"
#include "kernels.h"
#include "qmath.h"

/* Scale and zero point of a quantized tensor: n entries (1: per tensor). */
typedef struct {
  int64_t n;
  const float *scale;    /* NULL: no scale (integer-only ops) */
  const void *zp;        /* NULL: zero */
  qc_dtype zp_t;
} qparams;

static float qp_scale(const qparams *q, int64_t i) { return q->scale[q->n == 1 ? 0 : i]; }
static int32_t qp_zp(const qparams *q, int64_t i)
{
  return q->zp ? qc_qload(q->zp, q->zp_t, q->n == 1 ? 0 : i) : 0;
}

static bool has(const qc_tensor *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF && in[i].data;
}

/* Reads (scale, zero point) from inputs si/zi (-1: none); their element counts must agree and be
   1 or `want`. */
static qc_status get_qparams(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in, int si,
                             int zi, int64_t want, const char *what, qparams *q)
{
  memset(q, 0, sizeof *q);
  int64_t ns = -1, nz = -1;
  if (si >= 0) {
    if (!has(in, n_in, si) || in[si].dtype != QC_DT_F32 || in[si].rank > 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "%s scale must be an f32 scalar or vector",
                         what);
    ns = qc_tensor_elems(&in[si]);
    q->scale = in[si].data;
  }
  if (zi >= 0 && has(in, n_in, zi)) {
    int32_t lo, hi;
    if (!qc_qrange(in[zi].dtype, &lo, &hi) || in[zi].rank > 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "%s zero point must be a scalar or vector",
                         what);
    nz = qc_tensor_elems(&in[zi]);
    q->zp = in[zi].data;
    q->zp_t = in[zi].dtype;
  }
  q->n = ns >= 0 ? ns : nz >= 0 ? nz : 1;
  if ((ns >= 0 && nz >= 0 && ns != nz) || (q->n != 1 && q->n != want))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "%s scale/zero point have %lld/%lld entries, "
                       "expected 1 or %lld", what, (long long)ns, (long long)nz, (long long)want);
  return QC_OK;
}

static bool same_shape(const qc_tensor *a, const qc_tensor *b)
{
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* ---- QuantizeLinear / DequantizeLinear ---------------------------------------------------- */

/* Elementwise over [total) with parameters indexed by the channel (i / inner) % channels. */
typedef struct {
  const qc_tensor *x;
  qc_tensor *y;
  const qparams *q;
  int64_t inner, channels;
  int32_t lo, hi;
} elem_job;

static void quantize_task(void *arg, int64_t begin, int64_t end, int worker)
{
  const elem_job *j = arg;
  const void *x = j->x->data;
  for (int64_t i = begin; i < end;) {
    int64_t c = (i / j->inner) % j->channels, run_end = (i / j->inner + 1) * j->inner;
    if (run_end > end) run_end = end;
    float s = qp_scale(j->q, c);
    int32_t zp = qp_zp(j->q, c);
    for (; i < run_end; i++) {
      float v = j->x->dtype == QC_DT_F32 ? ((const float *)x)[i] : (float)((const int32_t *)x)[i];
      qc_qstore(j->y->data, j->y->dtype, i, qc_quantize(v, s, zp, j->lo, j->hi));
    }
  }
}

static void dequantize_task(void *arg, int64_t begin, int64_t end, int worker)
{
  const elem_job *j = arg;
  float *y = j->y->data;
  for (int64_t i = begin; i < end;) {
    int64_t c = (i / j->inner) % j->channels, run_end = (i / j->inner + 1) * j->inner;
    if (run_end > end) run_end = end;
    float s = qp_scale(j->q, c);
    int32_t zp = qp_zp(j->q, c);
    for (; i < run_end; i++) y[i] = qc_dequantize(qc_qload(j->x->data, j->x->dtype, i), zp, s);
  }
}

/* Shared by both: per-axis layout (opset 13 `axis`, default 1) when the scale has > 1 entry. */
static qc_status run_linear(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, qc_task_fn fn)
{
  const qc_tensor *x = &in[0];
  if (!same_shape(x, &out[0]))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output shape differs from the input's");
  int64_t axis = qc_attr_i(n, "axis", 1), channels = 1, inner = 1;
  if (in[1].rank == 1 && in[1].dims[0] != 1) {
    if (axis < -x->rank || axis >= x->rank)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "axis %lld out of range for rank %d",
                         (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    channels = x->dims[axis];
    for (int i = (int)axis + 1; i < x->rank; i++) inner *= x->dims[i];
  }
  qparams q;
  qc_status s = get_qparams(k, n, in, n_in, 1, 2, channels, "input", &q);
  if (s != QC_OK) return s;
  elem_job j = {x, &out[0], &q, inner ? inner : 1, channels ? channels : 1, 0, 0};
  if (fn == quantize_task && !qc_qrange(out[0].dtype, &j.lo, &j.hi))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output dtype %s", qc_dtype_name(out[0].dtype));
  qc_pool_run(k->pool, qc_tensor_elems(x), 1 << 15, fn, &j);
  return QC_OK;
}

static qc_status k_quantize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  if (in[0].dtype != QC_DT_F32 && in[0].dtype != QC_DT_I32)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "input dtype %s", qc_dtype_name(in[0].dtype));
  return run_linear(k, n, in, n_in, out, quantize_task);
}

static qc_status k_dequantize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                              qc_tensor *out, int n_out)
{
  int32_t lo, hi;
  if (!qc_qrange(in[0].dtype, &lo, &hi) || out[0].dtype != QC_DT_F32)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "dtypes %s -> %s", qc_dtype_name(in[0].dtype),
                       qc_dtype_name(out[0].dtype));
  return run_linear(k, n, in, n_in, out, dequantize_task);
}

/* DynamicQuantizeLinear (opset 11), as its function body in the spec, all in float32:
   scale = (max(x_max, 0) - min(x_min, 0)) / 255, zp = round_half_even(clip(0 - x_min' / scale,
   0, 255)), y = QuantizeLinear(x, scale, zp). NaNs are skipped by the min/max; an all-zero x
   (scale 0) gets zero point 0 and y = 0. */
static qc_status k_dynamic_quantize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                    qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  if (x->dtype != QC_DT_F32 || out[0].dtype != QC_DT_U8 || !same_shape(x, &out[0]))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "expects f32 in, u8 out of the same shape");
  const float *xd = x->data;
  int64_t cnt = qc_tensor_elems(x);
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < cnt; i++) {
    if (xd[i] < lo) lo = xd[i];
    if (xd[i] > hi) hi = xd[i];
  }
  float scale = (hi - lo) / 255.0f;
  int32_t zp = 0;
  if (scale != 0.0f) {
    float z = 0.0f - lo / scale;
    z = z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z;
    zp = (int32_t)qc_round_half_even(z);
  }
  uint8_t *y = out[0].data;
  for (int64_t i = 0; i < cnt; i++)
    y[i] = (uint8_t)(scale != 0.0f ? qc_quantize(xd[i], scale, zp, 0, 255) : 0);
  if (n_out > 1 && out[1].data) *(float *)out[1].data = scale;
  if (n_out > 2 && out[2].data) *(uint8_t *)out[2].data = (uint8_t)zp;
  return QC_OK;
}

/* ---- MatMulInteger / QLinearMatMul -------------------------------------------------------- */

/* Packs rows [0, M) of a row-major M x K 8-bit matrix minus per-row zero points, rows padded to
   qc_igemm_kp(K) with zeros as qc_igemm_s16 wants. */
static void pack_a(const void *src, qc_dtype t, int64_t off, int64_t M, int64_t K,
                   const qparams *q, int16_t *dst)
{
  int64_t kp = qc_igemm_kp(K);
  for (int64_t m = 0; m < M; m++) {
    int32_t zp = qp_zp(q, m);
    for (int64_t kk = 0; kk < K; kk++)
      dst[m * kp + kk] = (int16_t)(qc_qload(src, t, off + m * K + kk) - zp);
    if (kp > K) dst[m * kp + K] = 0;
  }
}

/* What the epilogue does with one M x N int32 block. */
typedef struct {
  bool requant;           /* false: store the int32 accumulators */
  const qparams *a, *b, *y;
  int32_t lo, hi;
} mm_epilogue;

/* numpy.matmul over 8-bit operands with zero points a_q (per row) and b_q (per column); ep says
   how results are stored. */
static qc_status run_qmatmul(qc_kctx *k, const qc_node *n, const qc_tensor *a,
                             const qc_tensor *b, const qparams *aq, const qparams *bq,
                             const mm_epilogue *ep, qc_tensor *y)
{
  if (a->rank < 1 || b->rank < 1)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "matmul operands must have rank >= 1");
  int64_t M = a->rank > 1 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
  int64_t N = b->rank > 1 ? b->dims[b->rank - 1] : 1, Kb = b->dims[b->rank > 1 ? b->rank - 2 : 0];
  if (K != Kb) return qc_node_err(k->err, n, QC_ERR_INVALID, "inner dims differ");
  /* Batch dims, right-aligned and broadcast; a stride of 0 repeats an operand. */
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  int nb = ba > bb ? ba : bb;
  int64_t bdims[QC_MAX_RANK], sa[QC_MAX_RANK], sb[QC_MAX_RANK], batches = 1;
  int64_t stride_a = M * K, stride_b = K * N;
  for (int i = nb - 1; i >= 0; i--) {
    int ia = i - (nb - ba), ib = i - (nb - bb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "batch dims do not broadcast");
    bdims[i] = da > db ? da : db;
    sa[i] = da == 1 ? 0 : stride_a;
    sb[i] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
    batches *= bdims[i];
  }
  if (qc_tensor_elems(y) != batches * M * N)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output has %lld elements, expected %lld",
                       (long long)qc_tensor_elems(y), (long long)(batches * M * N));
  if (aq->n != 1 && aq->n != M) return qc_node_err(k->err, n, QC_ERR_INVALID, "a params");
  if (bq->n != 1 && bq->n != N) return qc_node_err(k->err, n, QC_ERR_INVALID, "b params");
  if (batches * M * N == 0) return QC_OK;
  int64_t a_elems = M * qc_igemm_kp(K), b_elems = qc_igemm_packed_elems(K, N);
  size_t bytes = (size_t)(a_elems + b_elems) * sizeof(int16_t) + 64 +
                 (ep->requant ? (size_t)(M * N) * sizeof(int32_t) : 0);
  char *buf = k->scratch(k, bytes);
  if (!buf) return qc_node_err(k->err, n, QC_ERR_NOMEM, "no scratch for %zu bytes", bytes);
  int16_t *A16 = (int16_t *)buf, *B16 = A16 + a_elems;
  int32_t *acc = (int32_t *)(buf + (((size_t)(a_elems + b_elems) * sizeof(int16_t) + 63) & ~(size_t)63));
  int64_t idx[QC_MAX_RANK] = {0}, prev_a = -1, prev_b = -1;
  for (int64_t t = 0; t < batches; t++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < nb; i++) oa += idx[i] * sa[i], ob += idx[i] * sb[i];
    if (oa != prev_a) pack_a(a->data, a->dtype, oa, M, K, aq, A16);
    if (ob != prev_b) {
      size_t eb = (size_t)(qc_dtypes[b->dtype].bits / 8);
      qc_igemm_pack_b((const char *)b->data + (size_t)ob * eb, b->dtype, K, N, N, bq->zp,
                      bq->zp_t, bq->n, B16);
    }
    prev_a = oa, prev_b = ob;
    int32_t *dst = ep->requant ? acc : (int32_t *)y->data + t * M * N;
    qc_igemm_s16(k->pool, M, N, K, A16, qc_igemm_kp(K), B16, dst, N);
    if (ep->requant) {
      int32_t yzp = qp_zp(ep->y, 0);
      float ys = qp_scale(ep->y, 0);
      for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < N; j++) {
          float mult = qc_requant_mult(qp_scale(ep->a, m), qp_scale(ep->b, j), ys);
          qc_qstore(y->data, y->dtype, t * M * N + m * N + j,
                    qc_requant(acc[m * N + j], mult, yzp, ep->lo, ep->hi));
        }
    }
    for (int i = nb - 1; i >= 0; i--) {
      if (++idx[i] < bdims[i]) break;
      idx[i] = 0;
    }
  }
  return QC_OK;
}

static int64_t rows_of(const qc_tensor *a) { return a->rank > 1 ? a->dims[a->rank - 2] : 1; }
static int64_t cols_of(const qc_tensor *b) { return b->rank > 1 ? b->dims[b->rank - 1] : 1; }

static qc_status k_matmul_integer(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                  qc_tensor *out, int n_out)
{
  if (out[0].dtype != QC_DT_I32) return qc_node_err(k->err, n, QC_ERR_INVALID, "output not i32");
  qparams aq, bq;
  qc_status s = get_qparams(k, n, in, n_in, -1, 2, rows_of(&in[0]), "A", &aq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, -1, 3, cols_of(&in[1]), "B", &bq);
  if (s != QC_OK) return s;
  mm_epilogue ep = {false, NULL, NULL, NULL, 0, 0};
  return run_qmatmul(k, n, &in[0], &in[1], &aq, &bq, &ep, &out[0]);
}

static qc_status k_qlinear_matmul(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                  qc_tensor *out, int n_out)
{
  qparams aq, bq, yq;
  qc_status s = get_qparams(k, n, in, n_in, 1, 2, rows_of(&in[0]), "a", &aq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, 4, 5, cols_of(&in[3]), "b", &bq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, 6, 7, 1, "y", &yq);
  if (s != QC_OK) return s;
  mm_epilogue ep = {true, &aq, &bq, &yq, 0, 0};
  if (!qc_qrange(out[0].dtype, &ep.lo, &ep.hi) || out[0].dtype == QC_DT_I32)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output dtype %s", qc_dtype_name(out[0].dtype));
  return run_qmatmul(k, n, &in[0], &in[3], &aq, &bq, &ep, &out[0]);
}

/* ---- ConvInteger / QLinearConv ------------------------------------------------------------ */

typedef struct {
  int sd;                                   /* spatial dims */
  int64_t in[QC_MAX_RANK], ks[QC_MAX_RANK], os[QC_MAX_RANK];
  int64_t st[QC_MAX_RANK], dl[QC_MAX_RANK], pb[QC_MAX_RANK], in_stride[QC_MAX_RANK];
  int64_t cg, K, P;                         /* channels per group, rows and columns of im2col */
  const void *x;                            /* one image, one group: cg x in[] */
  qc_dtype xt;
  int32_t xzp;
  int16_t *dst;                             /* packed panels, K x P */
} im2col_job;

/* n values of an 8-bit row at src with the given element stride, minus zp, to every other
   int16 of d (the packed layout interleaves pairs of rows). */
static void gather_row(int16_t *d, int64_t n, const void *src, qc_dtype t, int64_t off,
                       int64_t stride, int32_t zp)
{
  if (t == QC_DT_U8) {
    const uint8_t *s = (const uint8_t *)src + off;
    for (int64_t i = 0; i < n; i++) d[2 * i] = (int16_t)(s[i * stride] - zp);
  } else {
    const int8_t *s = (const int8_t *)src + off;
    for (int64_t i = 0; i < n; i++) d[2 * i] = (int16_t)(s[i * stride] - zp);
  }
}

/* Rows [begin, end) of im2col: row r = (c, kernel offset), column p = output position; the
   value is x - x_zp at the input position, 0 where it falls in the padding (the spec pads with
   the zero point). Written straight into the GEMM's packed panels. */
static void im2col_task(void *arg, int64_t begin, int64_t end, int worker)
{
  const im2col_job *j = arg;
  int sd = j->sd, last = sd - 1;
  int64_t ksz = j->K / j->cg, in_sz = j->in_stride[0] * j->in[0], olast = j->os[last];
  int64_t s_last = j->st[last], in_last = j->in[last], kp = qc_igemm_kp(j->K);
  for (int64_t r = begin; r < end; r++) {
    int64_t c = r / ksz, kr = r % ksz, koff[QC_MAX_RANK], o[QC_MAX_RANK] = {0};
    for (int d = sd - 1; d >= 0; d--) koff[d] = kr % j->ks[d], kr /= j->ks[d];
    /* Along the last dim the input index is ol * s + off; in range for ol in [lo, hi). */
    int64_t off = koff[last] * j->dl[last] - j->pb[last];
    int64_t lo = off >= 0 ? 0 : (-off + s_last - 1) / s_last;
    int64_t hi = in_last - off <= 0 ? 0 : (in_last - off + s_last - 1) / s_last;
    if (hi > olast) hi = olast;
    if (lo > hi) lo = hi;
    for (int64_t p = 0; p < j->P; p += olast) {
      int64_t base = c * in_sz;
      bool valid = true;
      for (int d = 0; d < last; d++) {
        int64_t i = o[d] * j->st[d] + koff[d] * j->dl[d] - j->pb[d];
        if (i < 0 || i >= j->in[d]) valid = false;
        base += i * j->in_stride[d];
      }
      int64_t vlo = valid ? lo : olast, vhi = valid ? hi : olast;
      /* Segments that stay inside one panel. */
      for (int64_t ol = 0; ol < olast;) {
        int64_t pp = p + ol, seg = QC_IGEMM_NC - pp % QC_IGEMM_NC;
        if (seg > olast - ol) seg = olast - ol;
        int16_t *d16 = j->dst + qc_igemm_b_index(kp, r, pp);
        int64_t a0 = vlo > ol ? (vlo < ol + seg ? vlo : ol + seg) : ol;
        int64_t a1 = vhi < ol + seg ? (vhi > a0 ? vhi : a0) : ol + seg;
        for (int64_t q = ol; q < a0; q++) d16[2 * (q - ol)] = 0;
        if (a1 > a0)
          gather_row(d16 + 2 * (a0 - ol), a1 - a0, j->x, j->xt, base + a0 * s_last + off, s_last,
                     j->xzp);
        for (int64_t q = a1; q < ol + seg; q++) d16[2 * (q - ol)] = 0;
        ol += seg;
      }
      for (int d = last - 1; d >= 0; d--) {
        if (++o[d] < j->os[d]) break;
        o[d] = 0;
      }
    }
    /* Zero the padding columns of the last panel. */
    for (int64_t pp = j->P; pp % QC_IGEMM_NC; pp++) j->dst[qc_igemm_b_index(kp, r, pp)] = 0;
  }
}

/* x [N, C, D...] (*) w [M, C/group, K...] -> [N, M, O...] with zero points xq (per tensor) and
   wq (per output channel); requantized with yq and bias when ep->requant. */
static qc_status run_qconv(qc_kctx *k, const qc_node *n, const qc_tensor *x, const qc_tensor *w,
                           const qparams *xq, const qparams *wq, const qparams *yq,
                           const int32_t *bias, bool requant, qc_tensor *y)
{
  int rank = x->rank, sd = rank - 2;
  if (rank < 3 || w->rank != rank || y->rank != rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "x, w and y must share a rank >= 3");
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], group = qc_attr_i(n, "group", 1);
  if (group < 1 || C % group || M % group || w->dims[1] != C / group || y->dims[0] != N ||
      y->dims[1] != M)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "channel counts do not match group %lld",
                       (long long)group);
  if (xq->n != 1 || (wq->n != 1 && wq->n != M))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "bad zero point counts");
  /* The geometry shape inference used (infer_nn.h): pads resolved for auto_pad. */
  qc_tinfo xt = {x->dtype, x->rank, {0}, NULL}, wt = {w->dtype, w->rank, {0}, NULL};
  memcpy(xt.dims, x->dims, sizeof xt.dims);
  memcpy(wt.dims, w->dims, sizeof wt.dims);
  qc_window win;
  qc_status st = qc_conv_window(n, &xt, &wt, &win, k->err);
  if (st != QC_OK) return st;
  im2col_job j;
  memset(&j, 0, sizeof j);
  j.sd = sd;
  j.cg = C / group;
  int64_t ksz = 1, P = 1;
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
    ksz *= j.ks[d];
    P *= j.os[d];
  }
  j.K = j.cg * ksz;
  j.P = P;
  j.xt = x->dtype;
  j.xzp = qp_zp(xq, 0);
  int64_t mg = M / group, K = j.K;
  int64_t b_elems = qc_igemm_packed_elems(K, P);
  if (N * M * P == 0) return QC_OK;
  size_t a_bytes = ((size_t)(M * qc_igemm_kp(K)) * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t b_bytes = ((size_t)b_elems * sizeof(int16_t) + 63) & ~(size_t)63;
  size_t bytes = a_bytes + b_bytes + (requant ? (size_t)(mg * P) * sizeof(int32_t) : 0);
  char *buf = k->scratch(k, bytes);
  if (!buf) return qc_node_err(k->err, n, QC_ERR_NOMEM, "no scratch for %zu bytes", bytes);
  int16_t *W16 = (int16_t *)buf;
  j.dst = (int16_t *)(buf + a_bytes);
  int32_t *acc = (int32_t *)(buf + a_bytes + b_bytes);
  /* Weights minus their per-output-channel zero points, all groups: row m has K entries. */
  pack_a(w->data, w->dtype, 0, M, K, wq, W16);
  int64_t in_sz = 1;
  for (int d = sd - 1; d >= 0; d--) j.in_stride[d] = in_sz, in_sz *= j.in[d];
  int64_t x_img = C * in_sz, y_img = M * P;
  size_t xb = (size_t)(qc_dtypes[x->dtype].bits / 8);
  float xs = requant ? qp_scale(xq, 0) : 0.0f, ys = requant ? qp_scale(yq, 0) : 0.0f;
  int32_t yzp = requant ? qp_zp(yq, 0) : 0, lo = 0, hi = 0;
  if (requant) qc_qrange(y->dtype, &lo, &hi);
  if (K & 1) /* row K pairs with the last row; im2col never writes it */
    for (int64_t pp = 0; pp < P + (-P & (QC_IGEMM_NC - 1)); pp++)
      j.dst[qc_igemm_b_index(K + 1, K, pp)] = 0;
  for (int64_t b = 0; b < N; b++)
    for (int64_t g = 0; g < group; g++) {
      j.x = (const char *)x->data + (size_t)(b * x_img + g * j.cg * in_sz) * xb;
      qc_pool_run(k->pool, K, 16, im2col_task, &j);
      int64_t m0 = g * mg;
      int32_t *dst = requant ? acc : (int32_t *)y->data + b * y_img + m0 * P;
      qc_igemm_s16(k->pool, mg, P, K, W16 + m0 * qc_igemm_kp(K), qc_igemm_kp(K), j.dst, dst, P);
      if (!requant) continue;
      for (int64_t m = 0; m < mg; m++) {
        float mult = qc_requant_mult(xs, qp_scale(wq, m0 + m), ys);
        int32_t bm = bias ? bias[m0 + m] : 0;
        for (int64_t p = 0; p < P; p++) {
          /* Bias is int32 at scale x_scale * w_scale: added to the accumulator, wrapping. */
          int32_t v = (int32_t)((uint32_t)acc[m * P + p] + (uint32_t)bm);
          qc_qstore(y->data, y->dtype, b * y_img + (m0 + m) * P + p,
                    qc_requant(v, mult, yzp, lo, hi));
        }
      }
    }
  return QC_OK;
}

static qc_status k_conv_integer(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                qc_tensor *out, int n_out)
{
  if (out[0].dtype != QC_DT_I32) return qc_node_err(k->err, n, QC_ERR_INVALID, "output not i32");
  int64_t m = in[1].rank >= 1 ? in[1].dims[0] : 1;
  qparams xq, wq;
  qc_status s = get_qparams(k, n, in, n_in, -1, 2, 1, "x", &xq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, -1, 3, m, "w", &wq);
  if (s != QC_OK) return s;
  return run_qconv(k, n, &in[0], &in[1], &xq, &wq, NULL, NULL, false, &out[0]);
}

static qc_status k_qlinear_conv(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                qc_tensor *out, int n_out)
{
  int64_t m = in[3].rank >= 1 ? in[3].dims[0] : 1;
  qparams xq, wq, yq;
  qc_status s = get_qparams(k, n, in, n_in, 1, 2, 1, "x", &xq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, 4, 5, m, "w", &wq);
  if (s == QC_OK) s = get_qparams(k, n, in, n_in, 6, 7, 1, "y", &yq);
  if (s != QC_OK) return s;
  int32_t lo, hi;
  if (!qc_qrange(out[0].dtype, &lo, &hi) || out[0].dtype == QC_DT_I32)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "output dtype %s", qc_dtype_name(out[0].dtype));
  const int32_t *bias = NULL;
  if (has(in, n_in, 8)) {
    if (in[8].dtype != QC_DT_I32 || qc_tensor_elems(&in[8]) != m)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "bias must be i32 with %lld entries",
                         (long long)m);
    bias = in[8].data;
  }
  return run_qconv(k, n, &in[0], &in[3], &xq, &wq, &yq, bias, true, &out[0]);
}

const qc_kernel_row qc_kernels_quant[] = {
    {QC_OP_QuantizeLinear, k_quantize},
    {QC_OP_DequantizeLinear, k_dequantize},
    {QC_OP_DynamicQuantizeLinear, k_dynamic_quantize},
    {QC_OP_MatMulInteger, k_matmul_integer},
    {QC_OP_QLinearMatMul, k_qlinear_matmul},
    {QC_OP_ConvInteger, k_conv_integer},
    {QC_OP_QLinearConv, k_qlinear_conv},
    {QC_OP_NONE, NULL},
};
