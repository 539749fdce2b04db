/* Shape inference for quantc's integer-only ops (docs/integer-semantics.md). Besides shapes, it
 * checks every attribute the kernels' arithmetic relies on, so that a kernel may assume: shift
 * in [1, 62], mult in [1, 2^31), qmin <= qmax within int32, one (mult, shift) pair per output
 * channel (QcConv, QcGemm) or per input (QcAdd), integer inputs, i8/i4 weights, i32 bias. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "infer_nn.h"
#include "ir.h"

static bool known(int64_t d) { return d >= 0; }

static qc_status arity_err(const qc_node *n, qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_INVALID, "wrong number of inputs or outputs");
}

/* Activation dtypes the integer kernels read. */
static bool is_int_act(qc_dtype t)
{
  return t == QC_DT_U8 || t == QC_DT_I8 || t == QC_DT_U16 || t == QC_DT_I16 || t == QC_DT_I32;
}

static bool present(const qc_tinfo *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF;
}

/* The narrowest dtype holding [qmin, qmax]: u8, i8, i16, else i32. */
static qc_status clamp_dtype(const qc_node *n, qc_dtype *t, int64_t *qmin, int64_t *qmax,
                             qc_err *e)
{
  int64_t lo = qc_attr_i(n, "qmin", 0), hi = qc_attr_i(n, "qmax", 0);
  if (lo > hi)
    return qc_node_err(e, n, QC_ERR_INVALID, "qmin %lld > qmax %lld", (long long)lo,
                       (long long)hi);
  if (lo < INT32_MIN || hi > INT32_MAX)
    return qc_node_err(e, n, QC_ERR_INVALID, "[qmin, qmax] = [%lld, %lld] exceeds int32",
                       (long long)lo, (long long)hi);
  if (lo >= 0 && hi <= 255) *t = QC_DT_U8;
  else if (lo >= -128 && hi <= 127) *t = QC_DT_I8;
  else if (lo >= INT16_MIN && hi <= INT16_MAX) *t = QC_DT_I16;
  else *t = QC_DT_I32;
  if (qmin) *qmin = lo;
  if (qmax) *qmax = hi;
  return QC_OK;
}

/* mult/shift: `want` entries each (-1: not known statically, any count >= 1), within range. */
static qc_status check_dyadic(const qc_node *n, int64_t want, const char *per, qc_err *e)
{
  const int64_t *m, *s;
  int64_t nm = qc_attr_ints(n, "mult", &m), ns = qc_attr_ints(n, "shift", &s);
  if (nm < 0 || ns < 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "missing attribute %s", nm < 0 ? "mult" : "shift");
  if (nm != ns || (want >= 0 && nm != want) || nm < 1) {
    if (want >= 0)
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "mult and shift have %lld and %lld entries, expected %lld (%s)",
                         (long long)nm, (long long)ns, (long long)want, per);
    return qc_node_err(e, n, QC_ERR_INVALID, "mult and shift have %lld and %lld entries",
                       (long long)nm, (long long)ns);
  }
  for (int64_t i = 0; i < nm; i++) {
    if (m[i] < 1 || m[i] >= ((int64_t)1 << 31))
      return qc_node_err(e, n, QC_ERR_INVALID, "mult[%lld] = %lld is outside [1, 2^31)",
                         (long long)i, (long long)m[i]);
    if (s[i] < 1 || s[i] > 62)
      return qc_node_err(e, n, QC_ERR_INVALID, "shift[%lld] = %lld is outside [1, 62]",
                         (long long)i, (long long)s[i]);
  }
  return QC_OK;
}

static qc_status check_act(const qc_node *n, const qc_tinfo *t, const char *what, qc_err *e)
{
  if (!is_int_act(t->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "%s must be an integer tensor (u8, i8, u16, i16, i32), is %s", what,
                       qc_dtype_name(t->dtype));
  return QC_OK;
}

static qc_status check_weight(const qc_node *n, const qc_tinfo *w, qc_err *e)
{
  if (w->dtype != QC_DT_I8 && w->dtype != QC_DT_I4)
    return qc_node_err(e, n, QC_ERR_INVALID, "weight must be i8 or i4, is %s",
                       qc_dtype_name(w->dtype));
  return QC_OK;
}

/* Optional bias (input 2): i32, 1-D with c_out entries. */
static qc_status check_bias(const qc_node *n, const qc_tinfo *in, int n_in, int64_t c_out,
                            qc_err *e)
{
  if (!present(in, n_in, 2)) return QC_OK;
  const qc_tinfo *b = &in[2];
  if (b->dtype != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_INVALID, "bias must be i32, is %s", qc_dtype_name(b->dtype));
  if (b->rank >= 0 &&
      (b->rank != 1 || (known(c_out) && known(b->dims[0]) && b->dims[0] != c_out)))
    return qc_node_err(e, n, QC_ERR_INVALID, "bias must be 1-D with %lld entries (one per "
                       "output channel)", (long long)c_out);
  return QC_OK;
}

qc_status qc_infer_qc_quantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                               int n_out, qc_err *e)
{
  if (n_in < 1 || n_out < 1) return arity_err(n, e);
  if (in[0].dtype != QC_DT_F32)
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be f32, is %s",
                       qc_dtype_name(in[0].dtype));
  float s = qc_attr_f(n, "scale", 0.0f);
  if (!(s > 0.0f) || !isfinite(s))
    return qc_node_err(e, n, QC_ERR_INVALID, "scale must be positive and finite, is %g",
                       (double)s);
  qc_dtype t;
  qc_status st = clamp_dtype(n, &t, NULL, NULL, e);
  if (st) return st;
  qc_tinfo_set(&out[0], t, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_qc_dequantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                 int n_out, qc_err *e)
{
  if (n_in < 1 || n_out < 1) return arity_err(n, e);
  qc_status st = check_act(n, &in[0], "input", e);
  if (st) return st;
  float s = qc_attr_f(n, "scale", 0.0f);
  if (!(s > 0.0f) || !isfinite(s))
    return qc_node_err(e, n, QC_ERR_INVALID, "scale must be positive and finite, is %g",
                       (double)s);
  qc_tinfo_set(&out[0], QC_DT_F32, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_qc_conv(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  qc_dtype t;
  qc_status st;
  if ((st = check_act(n, &in[0], "x", e)) || (st = check_weight(n, &in[1], e)) ||
      (st = clamp_dtype(n, &t, NULL, NULL, e)))
    return st;
  qc_window g;
  if ((st = qc_conv_window(n, &in[0], &in[1], &g, e))) return st;
  int64_t c_out = g.nsp >= 0 ? g.c_out : (in[1].rank >= 1 ? in[1].dims[0] : QC_DIM_UNKNOWN);
  if ((st = check_dyadic(n, known(c_out) ? c_out : -1, "one per output channel", e)) ||
      (st = check_bias(n, in, n_in, c_out, e)))
    return st;
  if (g.nsp < 0) {
    qc_tinfo_set(&out[0], t, -1, NULL);
    return QC_OK;
  }
  int64_t dims[QC_MAX_RANK];
  dims[0] = in[0].rank >= 0 ? in[0].dims[0] : QC_DIM_UNKNOWN;
  dims[1] = g.c_out;
  for (int i = 0; i < g.nsp; i++) dims[2 + i] = g.out[i];
  qc_tinfo_set(&out[0], t, g.nsp + 2, dims);
  return QC_OK;
}

qc_status qc_infer_qc_gemm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  qc_dtype t;
  qc_status st;
  const qc_tinfo *x = &in[0], *w = &in[1];
  if ((st = check_act(n, x, "x", e)) || (st = check_weight(n, w, e)) ||
      (st = clamp_dtype(n, &t, NULL, NULL, e)))
    return st;
  if (x->rank >= 0 && x->rank != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "x must be 2-D [N, K], has rank %d", x->rank);
  if (w->rank >= 0 && w->rank != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "w must be 2-D [M, K], has rank %d", w->rank);
  int64_t kx = x->rank == 2 ? x->dims[1] : QC_DIM_UNKNOWN;
  int64_t kw = w->rank == 2 ? w->dims[1] : QC_DIM_UNKNOWN;
  int64_t m = w->rank == 2 ? w->dims[0] : QC_DIM_UNKNOWN;
  if (known(kx) && known(kw) && kx != kw)
    return qc_node_err(e, n, QC_ERR_INVALID, "x has K = %lld but w has K = %lld", (long long)kx,
                       (long long)kw);
  if ((st = check_dyadic(n, known(m) ? m : -1, "one per output channel", e)) ||
      (st = check_bias(n, in, n_in, m, e)))
    return st;
  int64_t dims[2] = {x->rank == 2 ? x->dims[0] : QC_DIM_UNKNOWN, m};
  qc_tinfo_set(&out[0], t, 2, dims);
  return QC_OK;
}

/* numpy broadcasting of one dim pair, as Add: equal dims stay, 1 yields the other, a known dim
   wins over an unknown one, two different symbols give unknown. */
static bool bcast_dim(int64_t a, int64_t b, int64_t *r)
{
  if (a == b) *r = a;
  else if (a == 1) *r = b;
  else if (b == 1) *r = a;
  else if (a >= 0 && b >= 0) return false;
  else if (a >= 0) *r = a;
  else if (b >= 0) *r = b;
  else *r = QC_DIM_UNKNOWN;
  return true;
}

qc_status qc_infer_qc_add(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  if (n_in < 2 || n_out < 1) return arity_err(n, e);
  qc_dtype t;
  qc_status st;
  if ((st = check_act(n, &in[0], "a", e)) || (st = check_act(n, &in[1], "b", e)) ||
      (st = clamp_dtype(n, &t, NULL, NULL, e)) ||
      (st = check_dyadic(n, 2, "one per input", e)))
    return st;
  if (in[0].rank < 0 || in[1].rank < 0) {
    qc_tinfo_set(&out[0], t, -1, NULL);
    return QC_OK;
  }
  int ra = in[0].rank, rb = in[1].rank, rank = ra > rb ? ra : rb;
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    int ia = i - (rank - ra), ib = i - (rank - rb);
    int64_t da = ia >= 0 ? in[0].dims[ia] : 1, db = ib >= 0 ? in[1].dims[ib] : 1;
    if (!bcast_dim(da, db, &dims[i]))
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "a and b do not broadcast: dim %d of the result is %lld vs %lld", i,
                         (long long)da, (long long)db);
  }
  qc_tinfo_set(&out[0], t, rank, dims);
  return QC_OK;
}

qc_status qc_infer_qc_global_pool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                  int n_out, qc_err *e)
{
  if (n_in < 1 || n_out < 1) return arity_err(n, e);
  qc_status st = check_act(n, &in[0], "x", e);
  if (st) return st;
  if (in[0].rank >= 0 && in[0].rank < 3)
    return qc_node_err(e, n, QC_ERR_INVALID, "x must have rank >= 3 [N, C, ...], has %d",
                       in[0].rank);
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < in[0].rank; i++) dims[i] = i < 2 ? in[0].dims[i] : 1;
  qc_tinfo_set(&out[0], in[0].dtype, in[0].rank, dims);
  return QC_OK;
}
