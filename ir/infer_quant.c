/* Shape and dtype inference for the quant ops (ai.onnx opset 13 QuantizeLinear/DequantizeLinear,
 * opset 10/11 QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, DynamicQuantizeLinear).
 * Unknown or symbolic dims propagate; what is known is checked, so the interpreter, which knows
 * everything, gets every inconsistency as an error here before a kernel runs. */
#include <string.h>
#include "infer_nn.h"
#include "ir.h"

static bool present(const qc_tinfo *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF;
}

static qc_status arity_err(const qc_node *n, qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_INVALID, "wrong number of inputs or outputs");
}

static bool is_q8(qc_dtype t) { return t == QC_DT_U8 || t == QC_DT_I8; }

/* A scale or zero point: a scalar, or a 1-D tensor of `want` entries (want < 0: unknown yet).
   Size-1 vectors count as scalars. */
static qc_status check_param(const qc_node *n, const qc_tinfo *p, const char *what, int64_t want,
                             bool allow_vector, qc_err *e)
{
  if (p->rank < 0 || p->rank == 0) return QC_OK;
  if (p->rank > 1) return qc_node_err(e, n, QC_ERR_INVALID, "%s must be a scalar or 1-D, has rank %d",
                                      what, p->rank);
  int64_t d = p->dims[0];
  if (d == 1 || d < 0) return QC_OK;
  if (!allow_vector)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "%s must be per-tensor (a scalar), has %lld entries",
                       what, (long long)d);
  if (want >= 0 && d != want)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has %lld entries, expected 1 or %lld", what,
                       (long long)d, (long long)want);
  return QC_OK;
}

/* A zero point's dtype must be the quantized tensor's. */
static qc_status check_zp_dtype(const qc_node *n, const qc_tinfo *in, int n_in, int zp, qc_dtype t,
                                const char *what, qc_err *e)
{
  if (present(in, n_in, zp) && in[zp].dtype != t)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s zero point is %s, its tensor is %s", what,
                       qc_dtype_name(in[zp].dtype), qc_dtype_name(t));
  return QC_OK;
}

static qc_status check_scale_dtype(const qc_node *n, const qc_tinfo *s, const char *what, qc_err *e)
{
  if (s->dtype != QC_DT_F32)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "%s must be f32, is %s", what,
                       qc_dtype_name(s->dtype));
  return QC_OK;
}

/* Per-axis parameters of QuantizeLinear/DequantizeLinear: axis in [-r, r), and the scale's and
   zero point's length equal to x's dim on it. */
static qc_status check_axis_params(const qc_node *n, const qc_tinfo *in, int n_in, qc_err *e)
{
  const qc_tinfo *x = &in[0];
  int64_t want = -1;
  bool vec = in[1].rank == 1 && in[1].dims[0] != 1;
  if (vec && x->rank >= 0) {
    int64_t axis = qc_attr_i(n, "axis", 1);
    if (axis < -x->rank || axis >= x->rank)
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %lld out of range for rank %d",
                         (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    want = x->dims[axis] >= 0 ? x->dims[axis] : -1;
  }
  qc_status s = check_param(n, &in[1], "scale", want, true, e);
  if (s == QC_OK && present(in, n_in, 2)) s = check_param(n, &in[2], "zero point", want, true, e);
  if (s == QC_OK && present(in, n_in, 2) && in[1].rank >= 0 && in[2].rank >= 0) {
    int64_t ls = in[1].rank == 0 ? 1 : in[1].dims[0], lz = in[2].rank == 0 ? 1 : in[2].dims[0];
    if (ls >= 0 && lz >= 0 && ls != lz)
      return qc_node_err(e, n, QC_ERR_INVALID, "scale has %lld entries, zero point %lld",
                         (long long)ls, (long long)lz);
  }
  return s;
}

qc_status qc_infer_quantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                            int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  if (in[0].dtype != QC_DT_F32 && in[0].dtype != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "input must be f32 or i32, is %s",
                       qc_dtype_name(in[0].dtype));
  qc_status s = check_scale_dtype(n, &in[1], "scale", e);
  qc_dtype t = present(in, n_in, 2) ? in[2].dtype : QC_DT_U8;
  if (s == QC_OK && !is_q8(t))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "zero point must be u8 or i8, is %s",
                       qc_dtype_name(t));
  if (s == QC_OK) s = check_axis_params(n, in, n_in, e);
  if (s != QC_OK) return s;
  qc_tinfo_set(&out[0], t, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_dequantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                              int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  qc_dtype t = in[0].dtype;
  if (!is_q8(t) && t != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "input must be u8, i8 or i32, is %s",
                       qc_dtype_name(t));
  qc_status s = check_scale_dtype(n, &in[1], "scale", e);
  if (s == QC_OK) s = check_zp_dtype(n, in, n_in, 2, t, "input", e);
  if (s == QC_OK) s = check_axis_params(n, in, n_in, e);
  if (s != QC_OK) return s;
  /* The spec fixes an i32 input's zero point at 0. */
  if (t == QC_DT_I32 && present(in, n_in, 2) && in[2].data && in[2].rank >= 0) {
    int64_t cnt = qc_shape_elems(in[2].rank, in[2].dims);
    for (int64_t i = 0; i < cnt; i++)
      if (((const int32_t *)in[2].data)[i] != 0)
        return qc_node_err(e, n, QC_ERR_INVALID, "an i32 input's zero point must be 0");
  }
  qc_tinfo_set(&out[0], QC_DT_F32, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_dynamic_quantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                    int n_out, qc_err *e)
{
  if (n_in < 1 || n_out < 3) return arity_err(n, e);
  if (in[0].dtype != QC_DT_F32)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "input must be f32, is %s",
                       qc_dtype_name(in[0].dtype));
  qc_tinfo_set(&out[0], QC_DT_U8, in[0].rank, in[0].dims);
  if (n_out > 1) qc_tinfo_set(&out[1], QC_DT_F32, 0, NULL);
  if (n_out > 2) qc_tinfo_set(&out[2], QC_DT_U8, 0, NULL);
  return QC_OK;
}

/* ---- matmul ------------------------------------------------------------------------------- */

/* Broadcast of two dims (numpy): equal, or one of them 1; unknown when it cannot be told. */
static qc_status bcast_dim(const qc_node *n, int64_t a, int64_t b, int64_t *o, qc_err *e)
{
  if (a == b) *o = a;
  else if (a == 1) *o = b;
  else if (b == 1) *o = a;
  else if (a >= 0 && b >= 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "batch dims %lld and %lld do not broadcast",
                       (long long)a, (long long)b);
  else if (a >= 0 || b >= 0) *o = a >= 0 ? a : b; /* the unknown one must be 1 or equal */
  else *o = QC_DIM_UNKNOWN;
  return QC_OK;
}

/* numpy.matmul's shape: 1-D operands get a dim prepended (a) / appended (b) that is dropped
   from the result; batch dims broadcast. */
static qc_status matmul_shape(const qc_node *n, const qc_tinfo *a, const qc_tinfo *b, qc_tinfo *o,
                              qc_err *e)
{
  if (a->rank < 0 || b->rank < 0) {
    o->rank = -1;
    return QC_OK;
  }
  if (a->rank == 0 || b->rank == 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "matmul operands must have rank >= 1");
  int64_t ka = a->dims[a->rank - 1], kb = b->dims[b->rank == 1 ? 0 : b->rank - 2];
  if (ka >= 0 && kb >= 0 && ka != kb)
    return qc_node_err(e, n, QC_ERR_INVALID, "inner dims differ: %lld vs %lld", (long long)ka,
                       (long long)kb);
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  int nb = ba > bb ? ba : bb;
  int r = 0;
  for (int i = 0; i < nb; i++) {
    int ia = i - (nb - ba), ib = i - (nb - bb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    qc_status s = bcast_dim(n, da, db, &o->dims[r++], e);
    if (s != QC_OK) return s;
  }
  if (a->rank > 1) o->dims[r++] = a->dims[a->rank - 2];
  if (b->rank > 1) o->dims[r++] = b->dims[b->rank - 1];
  o->rank = r;
  return QC_OK;
}

qc_status qc_infer_matmul_integer(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                  int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  if (!is_q8(in[0].dtype) || !is_q8(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "inputs must be u8 or i8, are %s and %s",
                       qc_dtype_name(in[0].dtype), qc_dtype_name(in[1].dtype));
  qc_status s = check_zp_dtype(n, in, n_in, 2, in[0].dtype, "A", e);
  if (s == QC_OK) s = check_zp_dtype(n, in, n_in, 3, in[1].dtype, "B", e);
  /* a_zero_point: per tensor or per row of A (M); b_zero_point: per tensor or per column (N). */
  int64_t m = in[0].rank >= 2 ? in[0].dims[in[0].rank - 2] : in[0].rank == 1 ? 1 : -1;
  int64_t cols = in[1].rank >= 2 ? in[1].dims[in[1].rank - 1] : in[1].rank == 1 ? 1 : -1;
  if (s == QC_OK && present(in, n_in, 2)) s = check_param(n, &in[2], "a_zero_point", m, true, e);
  if (s == QC_OK && present(in, n_in, 3))
    s = check_param(n, &in[3], "b_zero_point", cols, true, e);
  qc_tinfo o;
  memset(&o, 0, sizeof o);
  if (s == QC_OK) s = matmul_shape(n, &in[0], &in[1], &o, e);
  if (s != QC_OK) return s;
  qc_tinfo_set(&out[0], QC_DT_I32, o.rank, o.dims);
  return QC_OK;
}

qc_status qc_infer_qlinear_matmul(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                  int n_out, qc_err *e)
{
  if (n_in < 8 || n_out < 1) return arity_err(n, e);
  const qc_tinfo *a = &in[0], *b = &in[3];
  if (!is_q8(a->dtype) || !is_q8(b->dtype) || !is_q8(in[7].dtype))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "a, b and y must be u8 or i8, are %s, %s and %s",
                       qc_dtype_name(a->dtype), qc_dtype_name(b->dtype),
                       qc_dtype_name(in[7].dtype));
  qc_status s = check_zp_dtype(n, in, n_in, 2, a->dtype, "a", e);
  if (s == QC_OK) s = check_zp_dtype(n, in, n_in, 5, b->dtype, "b", e);
  for (int i = 1; s == QC_OK && i <= 6; i += (i == 1 ? 3 : 2))
    s = check_scale_dtype(n, &in[i], i == 1 ? "a_scale" : i == 4 ? "b_scale" : "y_scale", e);
  /* a's parameters per tensor or per row, b's per tensor or per column, y's per tensor. */
  int64_t m = a->rank >= 2 ? a->dims[a->rank - 2] : a->rank == 1 ? 1 : -1;
  int64_t cols = b->rank >= 2 ? b->dims[b->rank - 1] : b->rank == 1 ? 1 : -1;
  if (s == QC_OK) s = check_param(n, &in[1], "a_scale", m, true, e);
  if (s == QC_OK) s = check_param(n, &in[2], "a_zero_point", m, true, e);
  if (s == QC_OK) s = check_param(n, &in[4], "b_scale", cols, true, e);
  if (s == QC_OK) s = check_param(n, &in[5], "b_zero_point", cols, true, e);
  if (s == QC_OK) s = check_param(n, &in[6], "y_scale", 1, false, e);
  if (s == QC_OK) s = check_param(n, &in[7], "y_zero_point", 1, false, e);
  qc_tinfo o;
  memset(&o, 0, sizeof o);
  if (s == QC_OK) s = matmul_shape(n, a, b, &o, e);
  if (s != QC_OK) return s;
  qc_tinfo_set(&out[0], in[7].dtype, o.rank, o.dims);
  return QC_OK;
}

/* ---- convolution -------------------------------------------------------------------------- */

/* Conv's output shape, from the window geometry Conv itself uses (infer_nn.h), so the integer
   convolutions and Conv agree on every attribute form. */
static qc_status conv_shape(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w, qc_tinfo *o,
                            qc_err *e)
{
  qc_window g;
  qc_status s = qc_conv_window(n, x, w, &g, e);
  if (s != QC_OK) return s;
  if (g.nsp < 0) {
    o->rank = -1;
    return QC_OK;
  }
  o->rank = g.nsp + 2;
  o->dims[0] = x->rank >= 0 ? x->dims[0] : QC_DIM_UNKNOWN;
  o->dims[1] = g.c_out;
  for (int i = 0; i < g.nsp; i++) o->dims[2 + i] = g.out[i];
  return QC_OK;
}

qc_status qc_infer_conv_integer(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  if (!is_q8(in[0].dtype) || !is_q8(in[1].dtype))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "x and w must be u8 or i8, are %s and %s",
                       qc_dtype_name(in[0].dtype), qc_dtype_name(in[1].dtype));
  qc_status s = check_zp_dtype(n, in, n_in, 2, in[0].dtype, "x", e);
  if (s == QC_OK) s = check_zp_dtype(n, in, n_in, 3, in[1].dtype, "w", e);
  int64_t m = in[1].rank >= 1 ? in[1].dims[0] : -1;
  if (s == QC_OK && present(in, n_in, 2)) s = check_param(n, &in[2], "x_zero_point", 1, false, e);
  if (s == QC_OK && present(in, n_in, 3)) s = check_param(n, &in[3], "w_zero_point", m, true, e);
  qc_tinfo o;
  memset(&o, 0, sizeof o);
  if (s == QC_OK) s = conv_shape(n, &in[0], &in[1], &o, e);
  if (s != QC_OK) return s;
  qc_tinfo_set(&out[0], QC_DT_I32, o.rank, o.dims);
  return QC_OK;
}

qc_status qc_infer_qlinear_conv(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                int n_out, qc_err *e)
{
  if (n_in < 8 || n_out < 1) return arity_err(n, e);
  const qc_tinfo *x = &in[0], *w = &in[3];
  if (!is_q8(x->dtype) || !is_q8(w->dtype) || !is_q8(in[7].dtype))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "x, w and y must be u8 or i8, are %s, %s and %s",
                       qc_dtype_name(x->dtype), qc_dtype_name(w->dtype),
                       qc_dtype_name(in[7].dtype));
  qc_status s = check_zp_dtype(n, in, n_in, 2, x->dtype, "x", e);
  if (s == QC_OK) s = check_zp_dtype(n, in, n_in, 5, w->dtype, "w", e);
  for (int i = 1; s == QC_OK && i <= 6; i += (i == 1 ? 3 : 2))
    s = check_scale_dtype(n, &in[i], i == 1 ? "x_scale" : i == 4 ? "w_scale" : "y_scale", e);
  int64_t m = w->rank >= 1 ? w->dims[0] : -1;
  if (s == QC_OK) s = check_param(n, &in[1], "x_scale", 1, false, e);
  if (s == QC_OK) s = check_param(n, &in[2], "x_zero_point", 1, false, e);
  if (s == QC_OK) s = check_param(n, &in[4], "w_scale", m, true, e);
  if (s == QC_OK) s = check_param(n, &in[5], "w_zero_point", m, true, e);
  if (s == QC_OK) s = check_param(n, &in[6], "y_scale", 1, false, e);
  if (s == QC_OK) s = check_param(n, &in[7], "y_zero_point", 1, false, e);
  if (s == QC_OK && present(in, n_in, 8)) {
    const qc_tinfo *bias = &in[8];
    if (bias->dtype != QC_DT_I32)
      return qc_node_err(e, n, QC_ERR_INVALID, "bias must be i32, is %s",
                         qc_dtype_name(bias->dtype));
    if (bias->rank >= 0 && (bias->rank != 1 || (m >= 0 && bias->dims[0] >= 0 && bias->dims[0] != m)))
      return qc_node_err(e, n, QC_ERR_INVALID, "bias must be 1-D with %lld entries",
                         (long long)m);
  }
  qc_tinfo o;
  memset(&o, 0, sizeof o);
  if (s == QC_OK) s = conv_shape(n, x, w, &o, e);
  if (s != QC_OK) return s;
  qc_tinfo_set(&out[0], in[7].dtype, o.rank, o.dims);
  return QC_OK;
}
