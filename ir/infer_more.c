/* Shape inference for the ops of QC_MORE_OPS (ONNX opset 17 semantics): resizing, TopK,
 * indexing (OneHot, GatherND, Scatter*, Compress, NonZero), losses, detector ops (NMS,
 * RoiAlign), MaxUnpool, Einsum, Det, Unique, windows. Conventions as in infer_tensor.c: dims
 * known (>= 0), unknown (-1) or symbolic (<= -2); contents-dependent shapes are exact when the
 * contents are known (always at run time). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "infer_more.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static qc_status arity(const qc_node *n, int n_in, int need_in, int n_out, int need_out,
                       qc_err *e)
{
  if (n_in < need_in)
    return qc_node_err(e, n, QC_ERR_INVALID, "needs at least %d inputs, has %d", need_in, n_in);
  if (n_out < need_out)
    return qc_node_err(e, n, QC_ERR_INVALID, "needs at least %d outputs, has %d", need_out,
                       n_out);
  return QC_OK;
}

static bool norm_axis(int64_t axis, int rank, int *out)
{
  if (axis < -(int64_t)rank || axis >= rank) return false;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

static bool is_int_index(qc_dtype t) { return t == QC_DT_I64 || t == QC_DT_I32; }

static bool is_flt(qc_dtype t)
{
  return (unsigned)t < QC_DT_COUNT && (qc_dtypes[t].flags & QC_DTF_FLOAT);
}

/* Element i of a numeric tensor's contents as double (f32, f64, plain integers). */
static bool elem_f64(const qc_tinfo *t, int64_t i, double *v)
{
  const void *d = t->data;
  switch (t->dtype) {
  case QC_DT_F32: *v = ((const float *)d)[i]; return true;
  case QC_DT_F64: *v = ((const double *)d)[i]; return true;
  case QC_DT_I64: *v = (double)((const int64_t *)d)[i]; return true;
  case QC_DT_I32: *v = ((const int32_t *)d)[i]; return true;
  case QC_DT_I16: *v = ((const int16_t *)d)[i]; return true;
  case QC_DT_I8: *v = ((const int8_t *)d)[i]; return true;
  case QC_DT_U8: *v = ((const uint8_t *)d)[i]; return true;
  case QC_DT_U16: *v = ((const uint16_t *)d)[i]; return true;
  case QC_DT_U32: *v = ((const uint32_t *)d)[i]; return true;
  case QC_DT_U64: *v = (double)((const uint64_t *)d)[i]; return true;
  default: return false;
  }
}

static int64_t elem_i64(const qc_tinfo *t, int64_t i)
{
  return t->dtype == QC_DT_I32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

static int64_t elems_of(const qc_tinfo *t)
{
  if (t->rank < 0) return -1;
  int64_t c = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0) return -1;
    c *= t->dims[i];
  }
  return c;
}

static bool known(const qc_tinfo *t) { return t && t->data && elems_of(t) >= 0; }

/* ---- Resize, Upsample ------------------------------------------------------------------- */

qc_status qc_resize_resolve(const qc_node *n, const qc_tinfo *in, int n_in, double *scales,
                            int64_t *out_dims, bool *kn, qc_err *e)
{
  int r = in[0].rank;
  bool up = n->op == QC_OP_Upsample;
  const qc_tinfo *sc = qc_tinfo_opt(in, n_in, up ? 1 : 2), *sz = up ? NULL : qc_tinfo_opt(in, n_in, 3);
  *kn = false;
  if (sc && elems_of(sc) == 0) sc = NULL; /* an empty scales input means "use sizes" */
  if (!sc == !sz)
    return qc_node_err(e, n, QC_ERR_INVALID, "exactly one of scales and sizes must be given");
  const qc_tinfo *t = sc ? sc : sz;
  int64_t len = elems_of(t);
  if (len >= 0 && len != r)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has %" PRId64 " entries for a rank-%d input",
                       sc ? "scales" : "sizes", len, r);
  if (sc && !is_flt(sc->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "scales must be float, not %s",
                       qc_dtype_name(sc->dtype));
  if (sz && !is_int_index(sz->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "sizes must be i64, not %s",
                       qc_dtype_name(sz->dtype));
  if (!known(t)) return QC_OK;
  for (int d = 0; d < r; d++) {
    if (in[0].dims[d] == 0 && (sc || elem_i64(sz, d) != 0))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %d is empty and cannot be resized", d);
    if (sc) {
      double s;
      elem_f64(sc, d, &s);
      if (!(s > 0) || !isfinite(s))
        return qc_node_err(e, n, QC_ERR_INVALID, "scale %g of axis %d must be positive", s, d);
      scales[d] = s;
      out_dims[d] = in[0].dims[d] >= 0 ? (int64_t)floor((double)in[0].dims[d] * s) : -1;
    } else {
      int64_t v = elem_i64(sz, d);
      if (v < 0)
        return qc_node_err(e, n, QC_ERR_INVALID, "size %" PRId64 " of axis %d is negative", v,
                           d);
      out_dims[d] = v;
      scales[d] = in[0].dims[d] > 0 ? (double)v / (double)in[0].dims[d] : 1.0;
    }
  }
  *kn = true;
  return QC_OK;
}

qc_status qc_infer_resize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, n->op == QC_OP_Upsample ? 2 : 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
    return QC_OK;
  }
  double scales[QC_MAX_RANK];
  int64_t d[QC_MAX_RANK];
  bool kn;
  if ((st = qc_resize_resolve(n, in, n_in, scales, d, &kn, e))) return st;
  qc_tinfo_set(&out[0], in[0].dtype, r, kn ? d : NULL);
  return QC_OK;
}

/* ---- TopK ------------------------------------------------------------------------------- */

qc_status qc_infer_topk(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 2, e);
  if (st) return st;
  int r = in[0].rank, axis = 0;
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
    qc_tinfo_set(&out[1], QC_DT_I64, -1, NULL);
    return QC_OK;
  }
  int64_t a = qc_attr_i(n, "axis", -1);
  if (r == 0 || !norm_axis(a, r, &axis))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", a,
                       r);
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "K must be i64, not %s",
                       qc_dtype_name(in[1].dtype));
  int64_t d[QC_MAX_RANK];
  memcpy(d, in[0].dims, sizeof d);
  d[axis] = -1;
  if (known(&in[1])) {
    if (elems_of(&in[1]) != 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "K must hold one value, has %" PRId64,
                         elems_of(&in[1]));
    int64_t k = elem_i64(&in[1], 0);
    if (k < 0) return qc_node_err(e, n, QC_ERR_INVALID, "K = %" PRId64 " is negative", k);
    if (in[0].dims[axis] >= 0 && k > in[0].dims[axis])
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "K = %" PRId64 " exceeds the size %" PRId64 " of axis %d", k,
                         in[0].dims[axis], axis);
    d[axis] = k;
  }
  qc_tinfo_set(&out[0], in[0].dtype, r, d);
  qc_tinfo_set(&out[1], QC_DT_I64, r, d);
  return QC_OK;
}

/* ---- OneHot, EyeLike, windows ----------------------------------------------------------- */

qc_status qc_infer_onehot(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (r < 0) {
    qc_tinfo_set(&out[0], in[2].dtype, -1, NULL);
    return QC_OK;
  }
  if (r + 1 > QC_MAX_RANK)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output rank %d exceeds the maximum of %d",
                       r + 1, QC_MAX_RANK);
  int axis;
  int64_t a = qc_attr_i(n, "axis", -1);
  if (!norm_axis(a, r + 1, &axis))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", a,
                       r + 1);
  if (in[2].rank >= 0 && elems_of(&in[2]) >= 0 && elems_of(&in[2]) != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "values must hold [off_value, on_value]");
  int64_t depth = -1;
  if (known(&in[1])) {
    double v;
    if (elems_of(&in[1]) != 1 || !elem_f64(&in[1], 0, &v))
      return qc_node_err(e, n, QC_ERR_INVALID, "depth must be a numeric scalar");
    if (!(v >= 1) || v > (double)QC_MAX_ELEMS)
      return qc_node_err(e, n, QC_ERR_INVALID, "depth %g must be at least 1", v);
    depth = (int64_t)v;
  }
  int64_t d[QC_MAX_RANK];
  for (int i = 0, k = 0; i <= r; i++) d[i] = i == axis ? depth : in[0].dims[k++];
  qc_tinfo_set(&out[0], in[2].dtype, r + 1, d);
  return QC_OK;
}

qc_status qc_infer_eyelike(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  qc_dtype dt = in[0].dtype;
  if (qc_node_attr(n, "dtype")) {
    int64_t v = qc_attr_i(n, "dtype", 0);
    dt = qc_dtype_from_onnx((int)v);
    if (dt == QC_DT_UNDEF)
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "dtype %" PRId64 " is not supported", v);
  }
  if (in[0].rank >= 0 && in[0].rank != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be 2-D, has rank %d", in[0].rank);
  qc_tinfo_set(&out[0], dt, 2, in[0].rank == 2 ? in[0].dims : NULL);
  return QC_OK;
}

qc_status qc_infer_window(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t v = qc_attr_i(n, "output_datatype", 1);
  qc_dtype dt = qc_dtype_from_onnx((int)v);
  if (dt == QC_DT_UNDEF)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output_datatype %" PRId64
                       " is not supported", v);
  if (!is_int_index(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "size must be i32 or i64, not %s",
                       qc_dtype_name(in[0].dtype));
  int64_t len = -1;
  if (known(&in[0])) {
    if (elems_of(&in[0]) != 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "size must be a scalar");
    len = elem_i64(&in[0], 0);
    if (len < 0 || len > QC_MAX_ELEMS)
      return qc_node_err(e, n, QC_ERR_INVALID, "size %" PRId64 " is out of range", len);
  }
  qc_tinfo_set(&out[0], dt, 1, &len);
  return QC_OK;
}

/* ---- GatherND, Scatter*, Compress, NonZero, ReverseSequence ----------------------------- */

qc_status qc_infer_gather_nd(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "indices must be i64, not %s",
                       qc_dtype_name(in[1].dtype));
  int r = in[0].rank, q = in[1].rank;
  int64_t b = qc_attr_i(n, "batch_dims", 0);
  if (r == 0 || q == 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "data and indices need rank >= 1");
  if (r < 0 || q < 0 || in[1].dims[q - 1] < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
    return QC_OK;
  }
  if (b < 0 || b >= q || b >= r)
    return qc_node_err(e, n, QC_ERR_INVALID, "batch_dims %" PRId64
                       " must be below the ranks of data (%d) and indices (%d)", b, r, q);
  int64_t last = in[1].dims[q - 1];
  if (last < 1 || last > r - b)
    return qc_node_err(e, n, QC_ERR_INVALID, "indices' last dim %" PRId64
                       " must be in [1, %" PRId64 "]", last, r - b);
  for (int i = 0; i < b; i++)
    if (in[0].dims[i] >= 0 && in[1].dims[i] >= 0 && in[0].dims[i] != in[1].dims[i])
      return qc_node_err(e, n, QC_ERR_INVALID, "batch dim %d differs: %" PRId64 " vs %" PRId64,
                         i, in[0].dims[i], in[1].dims[i]);
  int64_t d[QC_MAX_RANK];
  int k = 0;
  int orank = q - 1 + r - (int)b - (int)last;
  if (orank > QC_MAX_RANK)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output rank %d exceeds the maximum of %d",
                       orank, QC_MAX_RANK);
  for (int i = 0; i < q - 1; i++) d[k++] = in[1].dims[i];
  for (int i = (int)(b + last); i < r; i++) d[k++] = in[0].dims[i];
  qc_tinfo_set(&out[0], in[0].dtype, k, d);
  return QC_OK;
}

qc_status qc_infer_scatter(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "indices must be i32 or i64, not %s",
                       qc_dtype_name(in[1].dtype));
  if (in[2].dtype != in[0].dtype)
    return qc_node_err(e, n, QC_ERR_INVALID, "updates have dtype %s, data %s",
                       qc_dtype_name(in[2].dtype), qc_dtype_name(in[0].dtype));
  const char *red = qc_attr_s(n, "reduction", "none");
  if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul"))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "reduction '%s' is not supported", red);
  int r = in[0].rank;
  if (n->op != QC_OP_ScatterND && r >= 0 && in[1].rank >= 0) {
    int axis;
    if (in[1].rank != r || in[2].rank != in[1].rank)
      return qc_node_err(e, n, QC_ERR_INVALID, "data, indices and updates need one rank");
    for (int i = 0; i < r; i++)
      if (in[1].dims[i] >= 0 && in[2].dims[i] >= 0 && in[1].dims[i] != in[2].dims[i])
        return qc_node_err(e, n, QC_ERR_INVALID, "indices and updates differ in shape");
    if (r == 0 || !norm_axis(qc_attr_i(n, "axis", 0), r, &axis))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  }
  qc_tinfo_set(&out[0], in[0].dtype, r, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_compress(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                            int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (in[1].dtype != QC_DT_BOOL)
    return qc_node_err(e, n, QC_ERR_INVALID, "condition must be bool, not %s",
                       qc_dtype_name(in[1].dtype));
  if (in[1].rank >= 0 && in[1].rank != 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "condition must be 1-D, has rank %d", in[1].rank);
  int r = in[0].rank, axis = -1;
  bool has_axis = qc_node_attr(n, "axis") != NULL;
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, has_axis ? -1 : 1, NULL);
    return QC_OK;
  }
  if (has_axis && (r == 0 || !norm_axis(qc_attr_i(n, "axis", 0), r, &axis)))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t len = has_axis ? in[0].dims[axis] : elems_of(&in[0]);
  int64_t cnt = -1;
  if (known(&in[1]) && len >= 0) {
    int64_t c = elems_of(&in[1]);
    if (c > len)
      return qc_node_err(e, n, QC_ERR_INVALID, "condition has %" PRId64
                         " entries, the axis only %" PRId64, c, len);
    cnt = 0;
    for (int64_t i = 0; i < c; i++) cnt += ((const uint8_t *)in[1].data)[i] != 0;
  }
  if (!has_axis) {
    qc_tinfo_set(&out[0], in[0].dtype, 1, &cnt);
    return QC_OK;
  }
  int64_t d[QC_MAX_RANK];
  memcpy(d, in[0].dims, sizeof d);
  d[axis] = cnt;
  qc_tinfo_set(&out[0], in[0].dtype, r, d);
  return QC_OK;
}

qc_status qc_infer_nonzero(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t d[2] = {in[0].rank >= 0 ? (in[0].rank ? in[0].rank : 1) : -1, -1};
  if (known(&in[0])) {
    int64_t c = elems_of(&in[0]), cnt = 0;
    for (int64_t i = 0; i < c; i++) {
      double v;
      if (in[0].dtype == QC_DT_BOOL) v = ((const uint8_t *)in[0].data)[i];
      else if (!elem_f64(&in[0], i, &v))
        return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                           qc_dtype_name(in[0].dtype));
      cnt += v != 0;
    }
    d[1] = cnt;
  }
  qc_tinfo_set(&out[0], QC_DT_I64, 2, d);
  return QC_OK;
}

qc_status qc_infer_reverse_sequence(const qc_node *n, const qc_tinfo *in, int n_in,
                                    qc_tinfo *out, int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int64_t ba = qc_attr_i(n, "batch_axis", 1), ta = qc_attr_i(n, "time_axis", 0);
  if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
    return qc_node_err(e, n, QC_ERR_INVALID, "batch_axis and time_axis must be 0 and 1");
  if (in[0].rank >= 0 && in[0].rank < 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "input needs rank >= 2, has %d", in[0].rank);
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "sequence_lens must be i64, not %s",
                       qc_dtype_name(in[1].dtype));
  if (in[0].rank >= 0 && in[1].rank == 1 && in[1].dims[0] >= 0 && in[0].dims[ba] >= 0 &&
      in[1].dims[0] != in[0].dims[ba])
    return qc_node_err(e, n, QC_ERR_INVALID, "sequence_lens has %" PRId64
                       " entries for a batch of %" PRId64, in[1].dims[0], in[0].dims[ba]);
  qc_tinfo_set(&out[0], in[0].dtype, in[0].rank, in[0].dims);
  return QC_OK;
}

/* ---- losses ----------------------------------------------------------------------------- */

/* NegativeLogLikelihoodLoss (input [N, C, d...], target [N, d...]) and SoftmaxCrossEntropyLoss
   (scores, labels, optional log_prob output shaped as scores). */
qc_status qc_infer_loss(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (!is_flt(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be float, not %s",
                       qc_dtype_name(in[0].dtype));
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "target must be i32 or i64, not %s",
                       qc_dtype_name(in[1].dtype));
  const char *red = qc_attr_s(n, "reduction", "mean");
  bool none = strcmp(red, "none") == 0;
  if (!none && strcmp(red, "sum") && strcmp(red, "mean"))
    return qc_node_err(e, n, QC_ERR_INVALID, "reduction '%s' must be none, sum or mean", red);
  int r = in[0].rank;
  if (r >= 0 && r < 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "input needs rank >= 2, has %d", r);
  if (r >= 0 && in[1].rank >= 0) {
    if (in[1].rank != r - 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "target has rank %d, expected %d", in[1].rank,
                         r - 1);
    for (int i = 0; i < r - 1; i++) {
      int64_t a = in[0].dims[i ? i + 1 : 0], b = in[1].dims[i];
      if (a >= 0 && b >= 0 && a != b)
        return qc_node_err(e, n, QC_ERR_INVALID, "target dim %d is %" PRId64
                           ", input's is %" PRId64, i, b, a);
    }
  }
  const qc_tinfo *w = qc_tinfo_opt(in, n_in, 2);
  if (w && (w->dtype != in[0].dtype || w->rank != 1))
    return qc_node_err(e, n, QC_ERR_INVALID, "weight must be 1-D of the input's dtype");
  if (w && r >= 0 && w->dims[0] >= 0 && in[0].dims[1] >= 0 && w->dims[0] != in[0].dims[1])
    return qc_node_err(e, n, QC_ERR_INVALID, "weight has %" PRId64 " entries for %" PRId64
                       " classes", w->dims[0], in[0].dims[1]);
  if (none) qc_tinfo_set(&out[0], in[0].dtype, in[1].rank, in[1].dims);
  else qc_tinfo_set(&out[0], in[0].dtype, 0, NULL);
  if (n_out > 1) qc_tinfo_set(&out[1], in[0].dtype, r, in[0].dims);
  return QC_OK;
}

/* ---- NonMaxSuppression, RoiAlign, MaxUnpool --------------------------------------------- */

typedef struct {
  float score;
  int64_t box;
} scored;

static int cmp_scored(const void *a, const void *b)
{
  const scored *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->box < y->box ? -1 : x->box > y->box;
}

/* Corners (y1, x1, y2, x2) with y1 <= y2, x1 <= x2. */
static void nms_corners(const float *b, bool center, float *c)
{
  if (center) {
    c[0] = b[1] - b[3] / 2, c[1] = b[0] - b[2] / 2;
    c[2] = b[1] + b[3] / 2, c[3] = b[0] + b[2] / 2;
  } else {
    c[0] = fminf(b[0], b[2]), c[2] = fmaxf(b[0], b[2]);
    c[1] = fminf(b[1], b[3]), c[3] = fmaxf(b[1], b[3]);
  }
}

static float nms_iou(const float *a, const float *b)
{
  float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  if (ih <= 0 || iw <= 0) return 0;
  float inter = ih * iw;
  float uni = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return uni > 0 ? inter / uni : 0;
}

qc_status qc_nms_select(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *sel,
                        int64_t *count, qc_err *e)
{
  *count = 0;
  const qc_tinfo *bx = &in[0], *sc = &in[1];
  if (bx->dtype != QC_DT_F32 || sc->dtype != QC_DT_F32)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "boxes and scores must be f32");
  if (bx->rank != 3 || bx->dims[2] != 4 || sc->rank != 3 || sc->dims[0] != bx->dims[0] ||
      sc->dims[2] != bx->dims[1])
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]");
  int64_t max_out = 0;
  float iou_t = 0, score_t = -INFINITY;
  const qc_tinfo *t;
  if ((t = qc_tinfo_opt(in, n_in, 2)) && elems_of(t) > 0) {
    if (!is_int_index(t->dtype))
      return qc_node_err(e, n, QC_ERR_INVALID, "max_output_boxes_per_class must be i64");
    max_out = elem_i64(t, 0);
  }
  double v;
  if ((t = qc_tinfo_opt(in, n_in, 3)) && elems_of(t) > 0 && elem_f64(t, 0, &v)) iou_t = (float)v;
  if ((t = qc_tinfo_opt(in, n_in, 4)) && elems_of(t) > 0 && elem_f64(t, 0, &v)) score_t = (float)v;
  if (iou_t < 0 || iou_t > 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "iou_threshold %g must be in [0, 1]", iou_t);
  bool center = qc_attr_i(n, "center_point_box", 0) != 0;
  int64_t nb = bx->dims[0], nbox = bx->dims[1], nc = sc->dims[1];
  if (max_out <= 0 || nbox == 0) return QC_OK;
  scored *cand = malloc(sizeof *cand * (size_t)nbox);
  int64_t *kept = malloc(sizeof *kept * (size_t)nbox);
  if (!cand || !kept) {
    free(cand), free(kept);
    return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory for %" PRId64 " boxes", nbox);
  }
  const float *boxes = bx->data, *scores = sc->data;
  for (int64_t b = 0; b < nb; b++)
    for (int64_t c = 0; c < nc; c++) {
      const float *s = scores + (b * nc + c) * nbox;
      int64_t m = 0, nk = 0;
      for (int64_t i = 0; i < nbox; i++)
        if (s[i] > score_t) cand[m++] = (scored){s[i], i};
      qsort(cand, (size_t)m, sizeof *cand, cmp_scored);
      /* Greedy: keep the best remaining box unless it overlaps a kept one by more than iou_t. */
      for (int64_t i = 0; i < m && nk < max_out; i++) {
        float ci[4], ck[4];
        nms_corners(boxes + (b * nbox + cand[i].box) * 4, center, ci);
        bool keep = true;
        for (int64_t j = 0; j < nk && keep; j++) {
          nms_corners(boxes + (b * nbox + kept[j]) * 4, center, ck);
          if (nms_iou(ci, ck) > iou_t) keep = false;
        }
        if (!keep) continue;
        kept[nk++] = cand[i].box;
        if (sel) {
          sel[*count * 3] = b, sel[*count * 3 + 1] = c, sel[*count * 3 + 2] = cand[i].box;
        }
        (*count)++;
      }
    }
  free(cand);
  free(kept);
  return QC_OK;
}

qc_status qc_infer_nms(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int64_t d[2] = {-1, 3};
  bool all = known(&in[0]) && known(&in[1]);
  for (int i = 2; i < n_in && all; i++)
    if (qc_tinfo_opt(in, n_in, i) && !known(&in[i])) all = false;
  if (all && (st = qc_nms_select(n, in, n_in, NULL, &d[0], e))) return st;
  qc_tinfo_set(&out[0], QC_DT_I64, 2, d);
  return QC_OK;
}

qc_status qc_infer_roi_align(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  if (in[0].rank >= 0 && in[0].rank != 4)
    return qc_node_err(e, n, QC_ERR_INVALID, "X must be [N, C, H, W], has rank %d", in[0].rank);
  if (in[1].rank >= 0 && (in[1].rank != 2 || (in[1].dims[1] >= 0 && in[1].dims[1] != 4)))
    return qc_node_err(e, n, QC_ERR_INVALID, "rois must be [num_rois, 4]");
  if (!is_int_index(in[2].dtype) || in[2].rank != 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "batch_indices must be 1-D i64");
  const char *mode = qc_attr_s(n, "mode", "avg");
  if (strcmp(mode, "avg") && strcmp(mode, "max"))
    return qc_node_err(e, n, QC_ERR_INVALID, "mode '%s' must be avg or max", mode);
  int64_t oh = qc_attr_i(n, "output_height", 1), ow = qc_attr_i(n, "output_width", 1);
  if (oh < 1 || ow < 1 || oh > 65536 || ow > 65536)
    return qc_node_err(e, n, QC_ERR_INVALID, "output_height and output_width must be >= 1");
  int64_t d[4] = {in[1].rank == 2 ? in[1].dims[0] : -1, in[0].rank == 4 ? in[0].dims[1] : -1,
                  oh, ow};
  qc_tinfo_set(&out[0], in[0].dtype, 4, d);
  return QC_OK;
}

qc_status qc_infer_max_unpool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                              int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (!is_int_index(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "indices must be i64, not %s",
                       qc_dtype_name(in[1].dtype));
  if (r >= 0) {
    /* The attributes also place the indices when output_shape is given: check them always. */
    const int64_t *ks, *pads, *strides;
    int64_t nk = qc_attr_ints(n, "kernel_shape", &ks), np = qc_attr_ints(n, "pads", &pads),
            ns = qc_attr_ints(n, "strides", &strides);
    if (r < 3 || nk != r - 2 || (np >= 0 && np != 2 * nk) || (ns >= 0 && ns != nk))
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "kernel_shape, pads and strides must match the %d spatial dims", r - 2);
    for (int i = 0; i < nk; i++)
      if (ks[i] < 1 || ks[i] > 65536 || (ns >= 0 && (strides[i] < 1 || strides[i] > 65536)) ||
          (np >= 0 && (pads[i] < 0 || pads[i] > 65536 || pads[i + nk] < 0 ||
                       pads[i + nk] > 65536)))
        return qc_node_err(e, n, QC_ERR_INVALID, "kernel_shape, strides or pads out of range");
  }
  const qc_tinfo *os = qc_tinfo_opt(in, n_in, 2);
  if (os) {
    int64_t d[QC_MAX_RANK];
    int64_t c = elems_of(os);
    if (!known(os)) {
      qc_tinfo_set(&out[0], in[0].dtype, c > 0 ? (int)c : -1, NULL);
      return QC_OK;
    }
    if (!is_int_index(os->dtype) || c != r)
      return qc_node_err(e, n, QC_ERR_INVALID, "output_shape must hold %d i64 values", r);
    for (int i = 0; i < r; i++) d[i] = elem_i64(os, i);
    qc_tinfo_set(&out[0], in[0].dtype, r, d);
    return QC_OK;
  }
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
    return QC_OK;
  }
  const int64_t *ks, *pads, *strides;
  int64_t nk = qc_attr_ints(n, "kernel_shape", &ks), np = qc_attr_ints(n, "pads", &pads),
          ns = qc_attr_ints(n, "strides", &strides);
  int64_t d[QC_MAX_RANK];
  d[0] = in[0].dims[0], d[1] = in[0].dims[1];
  for (int i = 0; i < nk; i++) {
    int64_t x = in[0].dims[i + 2], s = ns >= 0 ? strides[i] : 1;
    if (x > (int64_t)1 << 24)
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "spatial dim %" PRId64 " is too large", x);
    int64_t p = np >= 0 ? pads[i] + pads[i + nk] : 0;
    d[i + 2] = x >= 0 ? (x - 1) * s + ks[i] - p : -1;
    if (x >= 0 && d[i + 2] < 0)
      return qc_node_err(e, n, QC_ERR_INVALID, "output dim %d is negative", i + 2);
  }
  qc_tinfo_set(&out[0], in[0].dtype, r, d);
  return QC_OK;
}

qc_status qc_infer_grid_sample(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                               int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (in[0].rank >= 0 && in[0].rank != 4)
    return qc_node_err(e, n, QC_ERR_INVALID, "X must be [N, C, H, W], has rank %d", in[0].rank);
  if (in[1].rank >= 0 && (in[1].rank != 4 || (in[1].dims[3] >= 0 && in[1].dims[3] != 2)))
    return qc_node_err(e, n, QC_ERR_INVALID, "grid must be [N, H_out, W_out, 2]");
  if (in[1].dtype != in[0].dtype)
    return qc_node_err(e, n, QC_ERR_INVALID, "grid has dtype %s, X %s",
                       qc_dtype_name(in[1].dtype), qc_dtype_name(in[0].dtype));
  int64_t d[4] = {in[0].rank == 4 ? in[0].dims[0] : -1, in[0].rank == 4 ? in[0].dims[1] : -1,
                  in[1].rank == 4 ? in[1].dims[1] : -1, in[1].rank == 4 ? in[1].dims[2] : -1};
  qc_tinfo_set(&out[0], in[0].dtype, 4, d);
  return QC_OK;
}

/* ---- training optimizers (ai.onnx.preview.training) ------------------------------------ */

/* Inputs R, T, then k groups of n tensors (X, G, and the op's state); outputs the updated X
   and state, each shaped as its X. k is 3 (Adagrad, Momentum) or 4 (Adam). */
qc_status qc_infer_optimizer(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  int k = n->op == QC_OP_Adam ? 4 : 3;
  if (n_in < 2 + k || (n_in - 2) % k != 0 || n_out != (n_in - 2) / k * (k - 1))
    return qc_node_err(e, n, QC_ERR_INVALID, "needs R, T and %d groups of tensors, and %d "
                       "groups of outputs", k, k - 1);
  int m = (n_in - 2) / k;
  for (int i = 0; i < 2; i++)
    if (in[i].rank > 0 && elems_of(&in[i]) != 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "%s must be a scalar", i ? "T" : "R");
  for (int j = 0; j < m; j++) {
    const qc_tinfo *x = &in[2 + j];
    if (!is_flt(x->dtype))
      return qc_node_err(e, n, QC_ERR_INVALID, "X%d must be float, not %s", j,
                         qc_dtype_name(x->dtype));
    for (int g = 1; g < k; g++) {
      const qc_tinfo *y = &in[2 + g * m + j];
      bool same = y->dtype == x->dtype && (y->rank < 0 || x->rank < 0 || y->rank == x->rank);
      for (int d = 0; same && d < x->rank && d < y->rank; d++)
        same = x->dims[d] < 0 || y->dims[d] < 0 || x->dims[d] == y->dims[d];
      if (!same)
        return qc_node_err(e, n, QC_ERR_INVALID, "input %d must match X%d's dtype and shape",
                           2 + g * m + j, j);
    }
  }
  for (int i = 0; i < n_out; i++) qc_tinfo_set(&out[i], in[2 + i % m].dtype, in[2 + i % m].rank,
                                          in[2 + i % m].dims);
  return QC_OK;
}

/* ---- RNN, GRU, LSTM --------------------------------------------------------------------- */

qc_status qc_infer_rnn(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 3, n_out, 0, e);
  if (st) return st;
  int gates = n->op == QC_OP_LSTM ? 4 : n->op == QC_OP_GRU ? 3 : 1;
  const char *dir = qc_attr_s(n, "direction", "forward");
  int64_t dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
  if (dirs == 1 && strcmp(dir, "forward") && strcmp(dir, "reverse"))
    return qc_node_err(e, n, QC_ERR_INVALID, "direction '%s' must be forward, reverse or "
                       "bidirectional", dir);
  bool bm = qc_attr_i(n, "layout", 0) != 0;
  if (!is_flt(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "X must be float, not %s", qc_dtype_name(in[0].dtype));
  if ((in[0].rank >= 0 && in[0].rank != 3) || (in[1].rank >= 0 && in[1].rank != 3) ||
      (in[2].rank >= 0 && in[2].rank != 3))
    return qc_node_err(e, n, QC_ERR_INVALID, "X, W and R must be 3-D");
  int64_t hs = qc_node_attr(n, "hidden_size") ? qc_attr_i(n, "hidden_size", 0) : -1;
  if (in[2].rank == 3 && in[2].dims[2] >= 0) {
    if (hs >= 0 && hs != in[2].dims[2])
      return qc_node_err(e, n, QC_ERR_INVALID, "hidden_size %" PRId64 " differs from R's %" PRId64,
                         hs, in[2].dims[2]);
    hs = in[2].dims[2];
  }
  if (in[1].rank == 3 && in[1].dims[0] >= 0 && in[1].dims[0] != dirs)
    return qc_node_err(e, n, QC_ERR_INVALID, "W has %" PRId64 " directions, expected %" PRId64,
                       in[1].dims[0], dirs);
  if (in[1].rank == 3 && hs >= 0 && in[1].dims[1] >= 0 && in[1].dims[1] != gates * hs)
    return qc_node_err(e, n, QC_ERR_INVALID, "W has %" PRId64 " rows, expected %" PRId64,
                       in[1].dims[1], gates * hs);
  int64_t seq = in[0].rank == 3 ? in[0].dims[bm ? 1 : 0] : -1;
  int64_t batch = in[0].rank == 3 ? in[0].dims[bm ? 0 : 1] : -1;
  int64_t y[4] = {seq, dirs, batch, hs}, yb[4] = {batch, seq, dirs, hs};
  int64_t h[3] = {dirs, batch, hs}, hb[3] = {batch, dirs, hs};
  if (n_out > 0) qc_tinfo_set(&out[0], in[0].dtype, 4, bm ? yb : y);
  for (int i = 1; i < n_out; i++) qc_tinfo_set(&out[i], in[0].dtype, 3, bm ? hb : h);
  return QC_OK;
}

/* ---- DFT, STFT ------------------------------------------------------------------------- */

/* A scalar (or one-element) integer input's value, or -1 when absent or unknown. */
static qc_status int_scalar(const qc_node *n, const qc_tinfo *in, int n_in, int i,
                            const char *what, int64_t *v, qc_err *e)
{
  const qc_tinfo *t = qc_tinfo_opt(in, n_in, i);
  *v = -1;
  if (!t) return QC_OK;
  if (!is_int_index(t->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "%s must be i64, not %s", what,
                       qc_dtype_name(t->dtype));
  if (!known(t)) return QC_OK;
  if (elems_of(t) != 1) return qc_node_err(e, n, QC_ERR_INVALID, "%s must be a scalar", what);
  *v = elem_i64(t, 0);
  if (*v < 1 || *v > QC_MAX_ELEMS)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s %" PRId64 " must be positive", what, *v);
  return QC_OK;
}

/* DFT: in[0] [..., N, ..., 1 or 2] (real or complex in the last dim), output complex.
   STFT: signal [batch, length, 1 or 2] to [batch, frames, bins, 2]. */
qc_status qc_infer_dft(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (!is_flt(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be float, not %s",
                       qc_dtype_name(in[0].dtype));
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, n->op == QC_OP_STFT ? 4 : -1, NULL);
    return QC_OK;
  }
  if (r < 2 || (in[0].dims[r - 1] >= 0 && in[0].dims[r - 1] != 1 && in[0].dims[r - 1] != 2))
    return qc_node_err(e, n, QC_ERR_INVALID, "input's last dim must be 1 (real) or 2 (complex)");
  bool one = qc_attr_i(n, "onesided", n->op == QC_OP_STFT) != 0;
  int64_t d[QC_MAX_RANK];
  if (n->op == QC_OP_DFT) {
    int axis;
    int64_t a = qc_attr_i(n, "axis", 1), len;
    if (!norm_axis(a, r, &axis) || axis == r - 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                         a, r);
    if ((st = int_scalar(n, in, n_in, 1, "dft_length", &len, e))) return st;
    if (!qc_tinfo_opt(in, n_in, 1)) len = in[0].dims[axis];
    memcpy(d, in[0].dims, sizeof d);
    d[axis] = len < 0 ? -1 : one ? len / 2 + 1 : len;
    d[r - 1] = 2;
    qc_tinfo_set(&out[0], in[0].dtype, r, d);
    return QC_OK;
  }
  if (r != 3) return qc_node_err(e, n, QC_ERR_INVALID, "signal must be [batch, length, 1 or 2]");
  int64_t step, flen;
  if ((st = int_scalar(n, in, n_in, 1, "frame_step", &step, e))) return st;
  if ((st = int_scalar(n, in, n_in, 3, "frame_length", &flen, e))) return st;
  const qc_tinfo *w = qc_tinfo_opt(in, n_in, 2);
  if (w && w->rank != 1) return qc_node_err(e, n, QC_ERR_INVALID, "window must be 1-D");
  if (!qc_tinfo_opt(in, n_in, 3)) {
    if (!w) return qc_node_err(e, n, QC_ERR_INVALID, "needs a window or a frame_length");
    flen = w->dims[0];
  } else if (w && flen >= 0 && w->dims[0] >= 0 && w->dims[0] != flen) {
    return qc_node_err(e, n, QC_ERR_INVALID, "window has %" PRId64 " entries, frame_length is %"
                       PRId64, w->dims[0], flen);
  }
  int64_t L = in[0].dims[1];
  if (flen >= 0 && L >= 0 && flen > L)
    return qc_node_err(e, n, QC_ERR_INVALID, "frame_length %" PRId64 " exceeds the signal's %"
                       PRId64, flen, L);
  d[0] = in[0].dims[0];
  d[1] = flen >= 0 && L >= 0 && step > 0 ? 1 + (L - flen) / step : -1;
  d[2] = flen < 0 ? -1 : one ? flen / 2 + 1 : flen;
  d[3] = 2;
  qc_tinfo_set(&out[0], in[0].dtype, 4, d);
  return QC_OK;
}

/* ---- TfIdfVectorizer ------------------------------------------------------------------- */

qc_status qc_infer_tfidf(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  if (!is_int_index(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "input must be i32 or i64 (strings are not "
                       "supported), not %s", qc_dtype_name(in[0].dtype));
  const int64_t *idx;
  int64_t ni = qc_attr_ints(n, "ngram_indexes", &idx), width = 0;
  for (int64_t i = 0; i < ni; i++) {
    if (idx[i] < 0 || idx[i] >= QC_MAX_ELEMS)
      return qc_node_err(e, n, QC_ERR_INVALID, "ngram_indexes holds %" PRId64, idx[i]);
    if (idx[i] + 1 > width) width = idx[i] + 1;
  }
  int r = in[0].rank;
  if (r == 0 || r > 2) return qc_node_err(e, n, QC_ERR_INVALID, "input must be [C] or [N, C]");
  int64_t d[2] = {r == 2 ? in[0].dims[0] : width, width};
  qc_tinfo_set(&out[0], QC_DT_F32, r == 2 ? 2 : 1, d);
  return QC_OK;
}

qc_status qc_infer_mel(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 5, n_out, 1, e);
  if (st) return st;
  int64_t v = qc_attr_i(n, "output_datatype", 1);
  qc_dtype dt = qc_dtype_from_onnx((int)v);
  if (dt == QC_DT_UNDEF)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output_datatype %" PRId64
                       " is not supported", v);
  int64_t bins, len, rate;
  if ((st = int_scalar(n, in, n_in, 0, "num_mel_bins", &bins, e)) ||
      (st = int_scalar(n, in, n_in, 1, "dft_length", &len, e)) ||
      (st = int_scalar(n, in, n_in, 2, "sample_rate", &rate, e)))
    return st;
  int64_t d[2] = {len < 0 ? -1 : len / 2 + 1, bins};
  qc_tinfo_set(&out[0], dt, 2, d);
  return QC_OK;
}

/* ---- Det, MeanVarianceNormalization ----------------------------------------------------- */

qc_status qc_infer_det(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
    return QC_OK;
  }
  if (r < 2 || (in[0].dims[r - 1] >= 0 && in[0].dims[r - 2] >= 0 &&
                in[0].dims[r - 1] != in[0].dims[r - 2]))
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be [..., M, M]");
  qc_tinfo_set(&out[0], in[0].dtype, r - 2, in[0].dims);
  return QC_OK;
}

/* ---- Unique ----------------------------------------------------------------------------- */

typedef struct {
  const double *v; /* the input as doubles */
  int64_t len;     /* elements per slice */
  int64_t inner, dim; /* slice i is at (o * dim + i) * inner + j for o < outer, j < inner */
  int64_t outer;
} uctx;

static int ucmp(const uctx *u, int64_t a, int64_t b)
{
  for (int64_t o = 0; o < u->outer; o++)
    for (int64_t j = 0; j < u->inner; j++) {
      double x = u->v[(o * u->dim + a) * u->inner + j], y = u->v[(o * u->dim + b) * u->inner + j];
      if (x != y) return x < y ? -1 : 1;
    }
  return 0;
}

/* Merge sort of slice ids (stable, so equal slices keep first-occurrence order). */
static void usort(const uctx *u, int64_t *a, int64_t *tmp, int64_t n)
{
  if (n < 2) return;
  int64_t h = n / 2;
  usort(u, a, tmp, h);
  usort(u, a + h, tmp, n - h);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = ucmp(u, a[j], a[i]) < 0 ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, sizeof *a * (size_t)n);
}

qc_status qc_unique_compute(const qc_node *n, const qc_tinfo *x, int axis, int64_t *count,
                            void *y, int64_t *first, int64_t *inverse, int64_t *counts,
                            qc_err *e)
{
  int64_t total = elems_of(x);
  uctx u = {0};
  if (axis < 0) {
    u.dim = total, u.inner = 1, u.outer = 1;
  } else {
    u.dim = x->dims[axis], u.inner = 1, u.outer = 1;
    for (int d = 0; d < axis; d++) u.outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) u.inner *= x->dims[d];
  }
  int64_t m = u.dim;
  double *v = malloc(sizeof *v * (size_t)(total + 1));
  int64_t *ord = malloc(sizeof *ord * (size_t)(4 * m + 1));
  if (!v || !ord) {
    free(v), free(ord);
    return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory for %" PRId64 " elements", total);
  }
  for (int64_t i = 0; i < total; i++)
    if (!elem_f64(x, i, &v[i])) {
      free(v), free(ord);
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                         qc_dtype_name(x->dtype));
    }
  u.v = v;
  int64_t *tmp = ord + m, *grp = ord + 2 * m, *rep = ord + 3 * m;
  for (int64_t i = 0; i < m; i++) ord[i] = i;
  usort(&u, ord, tmp, m);
  /* Groups of equal slices in sorted order; rep[g] is the group's first occurrence. */
  int64_t ng = 0;
  for (int64_t i = 0; i < m; i++) {
    if (i == 0 || ucmp(&u, ord[i - 1], ord[i]) != 0) rep[ng++] = ord[i];
    grp[ord[i]] = ng - 1;
  }
  /* Output order: sorted groups, or groups by first occurrence. */
  bool sorted = qc_attr_i(n, "sorted", 1) != 0;
  int64_t *pos = tmp; /* group -> output position */
  if (sorted) {
    for (int64_t g = 0; g < ng; g++) pos[g] = g;
  } else {
    int64_t k = 0;
    for (int64_t g = 0; g < ng; g++) pos[g] = -1;
    for (int64_t i = 0; i < m; i++)
      if (pos[grp[i]] < 0) pos[grp[i]] = k++;
  }
  *count = ng;
  int es = (int)(qc_dtypes[x->dtype].bits / 8);
  for (int64_t g = 0; g < ng; g++) {
    int64_t p = pos[g], src = rep[g];
    if (first) first[p] = src;
    if (counts) counts[p] = 0;
    if (y)
      for (int64_t o = 0; o < u.outer; o++)
        memcpy((char *)y + ((o * ng + p) * u.inner) * es,
               (const char *)x->data + ((o * u.dim + src) * u.inner) * es,
               (size_t)(u.inner * es));
  }
  for (int64_t i = 0; i < m; i++) {
    if (inverse) inverse[i] = pos[grp[i]];
    if (counts) counts[pos[grp[i]]]++;
  }
  free(v);
  free(ord);
  return QC_OK;
}

qc_status qc_infer_unique(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank, axis = -1;
  bool has_axis = qc_node_attr(n, "axis") != NULL;
  if (has_axis && r >= 0 && (r == 0 || !norm_axis(qc_attr_i(n, "axis", 0), r, &axis)))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t cnt = -1;
  if (known(&in[0]) && (st = qc_unique_compute(n, &in[0], axis, &cnt, NULL, NULL, NULL, NULL,
                                               e)))
    return st;
  if (!has_axis) {
    qc_tinfo_set(&out[0], in[0].dtype, 1, &cnt);
  } else if (r < 0) {
    qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
  } else {
    int64_t d[QC_MAX_RANK];
    memcpy(d, in[0].dims, sizeof d);
    d[axis] = cnt;
    qc_tinfo_set(&out[0], in[0].dtype, r, d);
  }
  int64_t m = has_axis ? (r >= 0 ? in[0].dims[axis] : -1) : elems_of(&in[0]);
  for (int i = 1; i < n_out && i < 4; i++) qc_tinfo_set(&out[i], QC_DT_I64, 1, i == 2 ? &m : &cnt);
  return QC_OK;
}

/* ---- Einsum ----------------------------------------------------------------------------- */

static int label_of(char c)
{
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + c - 'A';
  return -1;
}

/* One term: letters and at most one "..." (ell dims, right-aligned). */
static qc_status parse_term(const qc_node *n, const char *s, const char *end, int rank,
                            int *lab, int *out_rank, int *ell_here, qc_err *e)
{
  int k = 0, nlet = 0;
  const char *ell = NULL;
  for (const char *p = s; p < end; p++) {
    if (*p == ' ') continue;
    if (*p == '.') {
      if (ell || end - p < 3 || p[1] != '.' || p[2] != '.')
        return qc_node_err(e, n, QC_ERR_INVALID, "malformed ellipsis in equation");
      ell = p;
      p += 2;
    } else if (label_of(*p) < 0) {
      return qc_node_err(e, n, QC_ERR_INVALID, "bad character '%c' in equation", *p);
    } else {
      nlet++;
    }
  }
  int nell = ell ? (rank >= 0 ? rank - nlet : 0) : 0;
  if (nell < 0 || (!ell && rank >= 0 && rank != nlet))
    return qc_node_err(e, n, QC_ERR_INVALID, "equation term has %d labels for a rank-%d input",
                       nlet, rank);
  for (const char *p = s; p < end; p++) {
    if (*p == ' ') continue;
    if (*p == '.') {
      for (int i = 0; i < nell; i++) lab[k++] = 52 + (QC_MAX_RANK - nell) + i;
      p += 2;
    } else {
      if (k >= QC_MAX_RANK) return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "term is too long");
      lab[k++] = label_of(*p);
    }
  }
  *out_rank = k;
  *ell_here = ell ? nell : -1;
  return QC_OK;
}

qc_status qc_einsum_parse(const qc_node *n, const qc_tinfo *in, int n_in, qc_einsum_plan *p,
                          qc_err *e)
{
  const char *eq = qc_attr_s(n, "equation", "");
  memset(p, 0, sizeof *p);
  for (int i = 0; i < QC_EINSUM_LABELS; i++) p->dim[i] = -2;
  if (n_in > 8) return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "at most 8 operands are supported");
  p->n_in = n_in;
  const char *arrow = strstr(eq, "->"), *lhs_end = arrow ? arrow : eq + strlen(eq);
  const char *s = eq;
  int max_ell = 0;
  qc_status st;
  int cnt[QC_EINSUM_LABELS] = {0};
  for (int t = 0; t < n_in; t++) {
    const char *c = memchr(s, ',', (size_t)(lhs_end - s));
    const char *te = c ? c : lhs_end;
    if (!c && t + 1 < n_in)
      return qc_node_err(e, n, QC_ERR_INVALID, "equation has fewer terms than %d inputs", n_in);
    int ell;
    if ((st = parse_term(n, s, te, in[t].rank, p->lab[t], &p->rank[t], &ell, e))) return st;
    if (ell > max_ell) max_ell = ell;
    for (int i = 0; i < p->rank[t]; i++) {
      int l = p->lab[t][i];
      int64_t d = in[t].rank >= 0 ? in[t].dims[i] : -1;
      if (d < 0) d = -1;
      cnt[l]++;
      int64_t cur = p->dim[l];
      if (cur < 0 || (l >= 52 && cur == 1)) {
        if (cur == -2 || d != -1) p->dim[l] = d;
      } else if (d >= 0 && d != cur && !(l >= 52 && d == 1)) {
        return qc_node_err(e, n, QC_ERR_INVALID, "label dims disagree: %" PRId64 " vs %" PRId64,
                           cur, d);
      }
    }
    s = te + 1;
    if (!c && s <= lhs_end) s = lhs_end;
  }
  if (s < lhs_end) return qc_node_err(e, n, QC_ERR_INVALID, "equation has more terms than inputs");
  if (arrow) {
    int ell;
    const char *o = arrow + 2;
    /* The output's ellipsis stands for the broadcast ellipsis dims. */
    if ((st = parse_term(n, o, o + strlen(o), -1, p->out_lab, &p->out_rank, &ell, e))) return st;
    int k = 0, tmp[QC_MAX_RANK];
    for (const char *q = o; *q; q++) {
      if (*q == ' ') continue;
      if (*q == '.') {
        for (int i = 0; i < max_ell; i++) tmp[k++] = 52 + QC_MAX_RANK - max_ell + i;
        q += 2;
      } else {
        if (k >= QC_MAX_RANK) return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output is too long");
        tmp[k++] = label_of(*q);
      }
    }
    memcpy(p->out_lab, tmp, sizeof tmp);
    p->out_rank = k;
    for (int i = 0; i < k; i++)
      if (p->dim[tmp[i]] == -2)
        return qc_node_err(e, n, QC_ERR_INVALID, "output label does not occur in the inputs");
  } else {
    /* Implicit: ellipsis dims, then labels seen once, in alphabetical order. */
    int k = 0;
    for (int i = 0; i < max_ell; i++) p->out_lab[k++] = 52 + QC_MAX_RANK - max_ell + i;
    for (int l = 0; l < 52; l++)
      if (cnt[l] == 1) {
        if (k >= QC_MAX_RANK) return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output is too long");
        p->out_lab[k++] = l;
      }
    p->out_rank = k;
  }
  return QC_OK;
}

qc_status qc_infer_einsum(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  for (int i = 0; i < n_in; i++) {
    if (in[i].rank < 0) {
      qc_tinfo_set(&out[0], in[0].dtype, -1, NULL);
      return QC_OK;
    }
    if (in[i].dtype != in[0].dtype)
      return qc_node_err(e, n, QC_ERR_INVALID, "input %d has dtype %s, expected %s", i,
                         qc_dtype_name(in[i].dtype), qc_dtype_name(in[0].dtype));
  }
  qc_einsum_plan p;
  if ((st = qc_einsum_parse(n, in, n_in, &p, e))) return st;
  int64_t d[QC_MAX_RANK];
  for (int i = 0; i < p.out_rank; i++) d[i] = p.dim[p.out_lab[i]];
  qc_tinfo_set(&out[0], in[0].dtype, p.out_rank, d);
  return QC_OK;
}
