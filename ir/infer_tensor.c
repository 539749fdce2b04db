/* Shape inference for the elementwise and tensor ops (ONNX opset 17 semantics).
 *
 * Dims are known (>= 0), unknown (-1) or symbolic (<= -2). A dim that passes through unchanged
 * keeps its symbol; a dim computed from unknown or symbolic ones becomes unknown. Ops whose
 * output shape depends on an input's contents (Reshape, Slice, ...) compute it exactly when
 * that input's data is known and otherwise keep what they can (the rank, or nothing). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "infer_tensor.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void set_unknown_dims(qc_tinfo *o, qc_dtype dt, int rank)
{
  qc_tinfo_set(o, dt, rank, NULL);
}

/* Every function checks the counts it indexes, so a malformed node never reads past the
   arrays (the verifier reports arity problems with better context). */
static qc_status check_arity(const qc_node *n, int n_in, int need_in, int n_out, int need_out,
                             qc_err *e)
{
  if (n_in < need_in)
    return qc_node_err(e, n, QC_ERR_INVALID, "needs at least %d inputs, has %d", need_in, n_in);
  if (n_out < need_out)
    return qc_node_err(e, n, QC_ERR_INVALID, "needs at least %d outputs, has %d", need_out,
                       n_out);
  return QC_OK;
}

static qc_status check_rank(const qc_node *n, int rank, qc_err *e)
{
  if (rank > QC_MAX_RANK)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "output rank %d exceeds the maximum of %d",
                       rank, QC_MAX_RANK);
  return QC_OK;
}

static const char *fmt_dims(char *buf, size_t cap, int rank, const int64_t *dims)
{
  size_t k = 0;
  buf[k++] = '[';
  for (int i = 0; i < rank && k + 24 < cap; i++) {
    if (dims[i] >= 0)
      k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", dims[i]);
    else
      k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? ", " : "");
  }
  snprintf(buf + k, cap - k, "]");
  return buf;
}

static const char *fmt_ints(char *buf, size_t cap, int64_t count, const int64_t *v)
{
  size_t k = 0;
  buf[k++] = '[';
  for (int64_t i = 0; i < count && k + 24 < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? ", " : "", v[i]);
  snprintf(buf + k, cap - k, "]");
  return buf;
}

bool qc_axis_norm(int64_t axis, int rank, int *out)
{
  if (axis < -(int64_t)rank || axis >= rank) return false;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

int64_t qc_tinfo_int(const qc_tinfo *t, int64_t i)
{
  if (t->dtype == QC_DT_I32) return ((const int32_t *)t->data)[i];
  return ((const int64_t *)t->data)[i];
}

/* Contents of a 0-D or 1-D integer input, up to cap values. *count = -1 when unknown
   (no data, or an unknown length). */
static qc_status read_ints(const qc_node *n, const qc_tinfo *t, const char *what, int64_t *v,
                           int64_t cap, int64_t *count, qc_err *e)
{
  *count = -1;
  if (!t) return QC_OK;
  if (t->dtype != QC_DT_I64 && t->dtype != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s must be i64, not %s", what,
                       qc_dtype_name(t->dtype));
  if (t->rank > 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s must be 1-D, has rank %d", what, t->rank);
  if (!t->data || t->rank < 0 || (t->rank == 1 && t->dims[0] < 0)) return QC_OK;
  int64_t len = t->rank == 0 ? 1 : t->dims[0];
  if (len > cap)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has %" PRId64 " entries, at most %" PRId64
                       " are allowed", what, len, cap);
  for (int64_t i = 0; i < len; i++) v[i] = qc_tinfo_int(t, i);
  *count = len;
  return QC_OK;
}

/* Length of a 1-D input when known from its shape alone, else -1. */
static int64_t len_1d(const qc_tinfo *t)
{
  if (!t || t->rank < 0) return -1;
  if (t->rank == 0) return 1;
  return t->rank == 1 ? t->dims[0] : -1;
}

/* Product of dims[lo:hi): known product, a lone symbol, or unknown. */
static int64_t dims_product(const int64_t *dims, int lo, int hi)
{
  if (hi - lo == 1) return dims[lo];
  int64_t p = 1;
  bool unknown = false;
  for (int i = lo; i < hi; i++) {
    if (dims[i] == 0) return 0;
    if (dims[i] < 0) unknown = true;
    else if (p > QC_MAX_ELEMS / dims[i]) unknown = true;
    else p *= dims[i];
  }
  return unknown ? QC_DIM_UNKNOWN : p;
}

/* a * b for positive a, b, saturating just above QC_MAX_ELEMS. */
static int64_t mul_cap(int64_t a, int64_t b)
{
  return a > (QC_MAX_ELEMS + 1) / b ? QC_MAX_ELEMS + 1 : a * b;
}

/* numpy broadcasting of one dim pair; false when both are known and incompatible. Equal dims
   (symbols included) stay, 1 yields the other, a known dim wins over an unknown one (they must
   agree or the unknown one is 1), and two different symbols give unknown. */
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

static qc_status bcast_shapes(const qc_node *n, int ra, const int64_t *a, int rb,
                              const int64_t *b, int *rr, int64_t *r, qc_err *e)
{
  int rank = ra > rb ? ra : rb;
  int64_t tmp[QC_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    int ia = i - (rank - ra), ib = i - (rank - rb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (!bcast_dim(da, db, &tmp[i])) {
      char sa[200], sb[200];
      return qc_node_err(e, n, QC_ERR_INVALID, "shapes %s and %s do not broadcast",
                         fmt_dims(sa, sizeof sa, ra, a), fmt_dims(sb, sizeof sb, rb, b));
    }
  }
  memcpy(r, tmp, sizeof(int64_t) * (size_t)rank);
  *rr = rank;
  return QC_OK;
}

/* Broadcast of inputs [first, first + count); rank -1 when any rank is unknown. */
static qc_status bcast_inputs(const qc_node *n, const qc_tinfo *in, int first, int count,
                              int *rank, int64_t *dims, qc_err *e)
{
  *rank = 0;
  for (int i = first; i < first + count; i++) {
    if (in[i].rank < 0) {
      *rank = -1;
      return QC_OK;
    }
    if (in[i].rank > QC_MAX_RANK) return check_rank(n, in[i].rank, e);
  }
  *rank = in[first].rank;
  memcpy(dims, in[first].dims, sizeof(int64_t) * (size_t)*rank);
  for (int i = first + 1; i < first + count; i++) {
    qc_status st = bcast_shapes(n, *rank, dims, in[i].rank, in[i].dims, rank, dims, e);
    if (st) return st;
  }
  return QC_OK;
}

static bool is_float(qc_dtype t)
{
  return (unsigned)t < QC_DT_COUNT && (qc_dtypes[t].flags & QC_DTF_FLOAT);
}

/* ---- elementwise ------------------------------------------------------------------------ */

qc_status qc_infer_same(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  qc_tinfo_set(&out[0], in[0].dtype, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_broadcast(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  /* Pow's exponent may have its own type; every other op needs one type throughout. */
  if (n->op != QC_OP_Pow)
    for (int i = 1; i < n_in; i++)
      if (in[i].dtype != in[0].dtype)
        return qc_node_err(e, n, QC_ERR_INVALID, "input %d has dtype %s, expected %s", i,
                           qc_dtype_name(in[i].dtype), qc_dtype_name(in[0].dtype));
  if (n->op == QC_OP_Mod && is_float(in[0].dtype) && qc_attr_i(n, "fmod", 0) != 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "fmod must be 1 for %s inputs",
                       qc_dtype_name(in[0].dtype));
  int rank;
  int64_t dims[QC_MAX_RANK];
  if ((st = bcast_inputs(n, in, 0, n_in, &rank, dims, e))) return st;
  qc_tinfo_set(&out[0], in[0].dtype, rank, dims);
  return QC_OK;
}

qc_status qc_infer_compare(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (in[1].dtype != in[0].dtype)
    return qc_node_err(e, n, QC_ERR_INVALID, "input 1 has dtype %s, expected %s",
                       qc_dtype_name(in[1].dtype), qc_dtype_name(in[0].dtype));
  bool logic = n->op == QC_OP_And || n->op == QC_OP_Or || n->op == QC_OP_Xor;
  if (logic && in[0].dtype != QC_DT_BOOL)
    return qc_node_err(e, n, QC_ERR_INVALID, "inputs must be bool, not %s",
                       qc_dtype_name(in[0].dtype));
  int rank;
  int64_t dims[QC_MAX_RANK];
  if ((st = bcast_inputs(n, in, 0, 2, &rank, dims, e))) return st;
  qc_tinfo_set(&out[0], QC_DT_BOOL, rank, dims);
  return QC_OK;
}

qc_status qc_infer_where(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  if (in[0].dtype != QC_DT_BOOL)
    return qc_node_err(e, n, QC_ERR_INVALID, "condition must be bool, not %s",
                       qc_dtype_name(in[0].dtype));
  if (in[2].dtype != in[1].dtype)
    return qc_node_err(e, n, QC_ERR_INVALID, "input 2 has dtype %s, expected %s",
                       qc_dtype_name(in[2].dtype), qc_dtype_name(in[1].dtype));
  int rank;
  int64_t dims[QC_MAX_RANK];
  if ((st = bcast_inputs(n, in, 0, 3, &rank, dims, e))) return st;
  qc_tinfo_set(&out[0], in[1].dtype, rank, dims);
  return QC_OK;
}

qc_status qc_infer_is_class(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                            int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  if (in[0].dtype != QC_DT_UNDEF && !is_float(in[0].dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "input must be floating point, not %s",
                       qc_dtype_name(in[0].dtype));
  qc_tinfo_set(&out[0], QC_DT_BOOL, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_dropout(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  const qc_tinfo *ratio = qc_tinfo_opt(in, n_in, 1), *train = qc_tinfo_opt(in, n_in, 2);
  if (ratio && !is_float(ratio->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "ratio must be floating point, not %s",
                       qc_dtype_name(ratio->dtype));
  if (train && train->dtype != QC_DT_BOOL)
    return qc_node_err(e, n, QC_ERR_INVALID, "training_mode must be bool, not %s",
                       qc_dtype_name(train->dtype));
  qc_tinfo_set(&out[0], in[0].dtype, in[0].rank, in[0].dims);
  if (n_out > 1) qc_tinfo_set(&out[1], QC_DT_BOOL, in[0].rank, in[0].dims);
  return QC_OK;
}

/* ---- constants and shapes --------------------------------------------------------------- */

qc_status qc_infer_constant(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                            int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 0, n_out, 1, e);
  if (st) return st;
  const qc_attr *found = NULL;
  int n_found = 0;
  for (int i = 0; i < n->n_attrs; i++) {
    const char *nm = n->attrs[i].name;
    if (strncmp(nm, "value", 5) == 0 || strcmp(nm, "sparse_value") == 0) {
      found = &n->attrs[i];
      n_found++;
    }
  }
  if (n_found != 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "needs exactly one value attribute, has %d",
                       n_found);
  const char *nm = found->name;
  if (strcmp(nm, "value") == 0 && found->kind == QC_ATTR_TENSOR && found->tensors) {
    const qc_tensor *t = &found->tensors[0];
    if (t->dtype == QC_DT_UNDEF || t->rank < 0 || t->rank > QC_MAX_RANK)
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "value tensor has an unsupported type");
    qc_tinfo_set(&out[0], t->dtype, t->rank, t->dims);
  } else if (strcmp(nm, "value_float") == 0 && found->kind == QC_ATTR_FLOAT) {
    qc_tinfo_set(&out[0], QC_DT_F32, 0, NULL);
  } else if (strcmp(nm, "value_int") == 0 && found->kind == QC_ATTR_INT) {
    qc_tinfo_set(&out[0], QC_DT_I64, 0, NULL);
  } else if (strcmp(nm, "value_floats") == 0 && found->kind == QC_ATTR_FLOATS) {
    int64_t d = found->n;
    qc_tinfo_set(&out[0], QC_DT_F32, 1, &d);
  } else if (strcmp(nm, "value_ints") == 0 && found->kind == QC_ATTR_INTS) {
    int64_t d = found->n;
    qc_tinfo_set(&out[0], QC_DT_I64, 1, &d);
  } else if (strcmp(nm, "sparse_value") == 0 || strcmp(nm, "value_string") == 0 ||
             strcmp(nm, "value_strings") == 0) {
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "attribute '%s' is not supported", nm);
  } else {
    return qc_node_err(e, n, QC_ERR_INVALID, "attribute '%s' has the wrong kind", nm);
  }
  return QC_OK;
}

/* A shape given as the contents of an i64 input: dims into d, rank into *rank (-1 unknown).
   Negative entries are rejected. */
static qc_status shape_input(const qc_node *n, const qc_tinfo *t, const char *what, int *rank,
                             int64_t *d, qc_err *e)
{
  int64_t count;
  int64_t v[QC_MAX_RANK];
  qc_status st = read_ints(n, t, what, v, QC_MAX_RANK, &count, e);
  if (st) return st;
  if (count < 0) {
    int64_t len = len_1d(t);
    if (len > QC_MAX_RANK) return check_rank(n, (int)(len > 1000 ? 1000 : len), e);
    *rank = (int)len;
    for (int i = 0; i < *rank; i++) d[i] = QC_DIM_UNKNOWN;
    return QC_OK;
  }
  for (int64_t i = 0; i < count; i++) {
    if (v[i] < 0 || v[i] > QC_MAX_ELEMS) {
      char buf[300];
      return qc_node_err(e, n, QC_ERR_INVALID, "%s %s has an invalid dim", what,
                         fmt_ints(buf, sizeof buf, count, v));
    }
    d[i] = v[i];
  }
  *rank = (int)count;
  return QC_OK;
}

qc_status qc_infer_constant_of_shape(const qc_node *n, const qc_tinfo *in, int n_in,
                                     qc_tinfo *out, int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  qc_dtype dt = QC_DT_F32;
  const qc_attr *v = qc_node_attr(n, "value");
  if (v) {
    if (v->kind != QC_ATTR_TENSOR || !v->tensors || qc_tensor_elems(&v->tensors[0]) != 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "value must be a tensor of one element");
    dt = v->tensors[0].dtype;
  }
  int rank;
  int64_t d[QC_MAX_RANK];
  if ((st = shape_input(n, &in[0], "shape", &rank, d, e))) return st;
  bool known = rank >= 0;
  for (int i = 0; i < rank; i++) known &= d[i] >= 0;
  if (known && qc_shape_elems(rank, d) < 0)
    return qc_node_err(e, n, QC_ERR_NOMEM, "output is too large");
  qc_tinfo_set(&out[0], dt, rank, d);
  return QC_OK;
}

qc_status qc_infer_shape(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t len = QC_DIM_UNKNOWN;
  int r = in[0].rank;
  if (r >= 0) {
    int64_t start = qc_attr_i(n, "start", 0), end = qc_attr_i(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    len = end > start ? end - start : 0;
  }
  qc_tinfo_set(&out[0], QC_DT_I64, 1, &len);
  return QC_OK;
}

qc_status qc_infer_size(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  qc_tinfo_set(&out[0], QC_DT_I64, 0, NULL);
  return QC_OK;
}

static qc_status check_castable(const qc_node *n, qc_dtype t, const char *what, qc_err *e)
{
  if (t == QC_DT_UNDEF) return QC_OK;
  if ((unsigned)t >= QC_DT_COUNT || (qc_dtypes[t].flags & (QC_DTF_PACKED | QC_DTF_CODEBOOK)))
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "cannot cast %s %s", what, qc_dtype_name(t));
  return QC_OK;
}

qc_status qc_infer_cast(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t to = qc_attr_i(n, "to", 0);
  qc_dtype dt = to > 0 && to < 1000 ? qc_dtype_from_onnx((int)to) : QC_DT_UNDEF;
  if (dt == QC_DT_UNDEF)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "cast to ONNX type %" PRId64 "%s is not supported",
                       to, to == 8 ? " (string)" : "");
  if ((st = check_castable(n, in[0].dtype, "from", e))) return st;
  qc_tinfo_set(&out[0], dt, in[0].rank, in[0].dims);
  return QC_OK;
}

qc_status qc_infer_cast_like(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if ((st = check_castable(n, in[0].dtype, "from", e))) return st;
  if ((st = check_castable(n, in[1].dtype, "to", e))) return st;
  qc_tinfo_set(&out[0], in[1].dtype, in[0].rank, in[0].dims);
  return QC_OK;
}

/* ---- reshaping -------------------------------------------------------------------------- */

qc_status qc_infer_reshape(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int64_t req[QC_MAX_RANK], count;
  if ((st = read_ints(n, &in[1], "shape", req, QC_MAX_RANK, &count, e))) return st;
  qc_dtype dt = in[0].dtype;
  if (count < 0) {
    int64_t len = len_1d(&in[1]);
    if (len > QC_MAX_RANK) return check_rank(n, (int)(len > 1000 ? 1000 : len), e);
    set_unknown_dims(&out[0], dt, (int)len);
    return QC_OK;
  }
  bool allowzero = qc_attr_i(n, "allowzero", 0) != 0;
  const int r_in = in[0].rank;
  const int64_t *din = in[0].dims;
  char buf[300];
  int infer_at = -1;
  bool has_zero = false;
  int64_t d[QC_MAX_RANK];
  for (int i = 0; i < count; i++) {
    if (req[i] == -1) {
      if (infer_at >= 0)
        return qc_node_err(e, n, QC_ERR_INVALID, "shape %s has more than one -1",
                           fmt_ints(buf, sizeof buf, count, req));
      infer_at = i;
      d[i] = QC_DIM_UNKNOWN;
    } else if (req[i] < -1) {
      return qc_node_err(e, n, QC_ERR_INVALID, "shape %s has a negative dim",
                         fmt_ints(buf, sizeof buf, count, req));
    } else if (req[i] == 0 && !allowzero) {
      if (r_in >= 0 && i >= r_in)
        return qc_node_err(e, n, QC_ERR_INVALID,
                           "shape %s copies dim %d of a rank-%d input", fmt_ints(buf, sizeof buf,
                           count, req), i, r_in);
      d[i] = r_in >= 0 ? din[i] : QC_DIM_UNKNOWN;
    } else {
      has_zero |= req[i] == 0;
      d[i] = req[i];
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "shape %s has both 0 and -1 with allowzero",
                       fmt_ints(buf, sizeof buf, count, req));
  if (r_in < 0) {
    qc_tinfo_set(&out[0], dt, (int)count, d);
    return QC_OK;
  }
  /* Known parts of both sides; unknown and symbolic dims cancel when the same symbol appears
     on both sides (e.g. [N, 3, 4] -> [0, -1] gives [N, 12]). */
  int64_t in_known = 1, out_known = 1;
  int64_t in_syms[QC_MAX_RANK], out_syms[QC_MAX_RANK];
  int n_in_syms = 0, n_out_syms = 0;
  bool in_zero = false, out_zero = false;
  for (int i = 0; i < r_in; i++) {
    if (din[i] < 0) in_syms[n_in_syms++] = din[i];
    else if (din[i] == 0) in_zero = true;
    else in_known = mul_cap(in_known, din[i]);
  }
  for (int i = 0; i < count; i++) {
    if (i == infer_at) continue;
    if (d[i] < 0) out_syms[n_out_syms++] = d[i];
    else if (d[i] == 0) out_zero = true;
    else out_known = mul_cap(out_known, d[i]);
  }
  for (int i = 0; i < n_in_syms; i++)
    for (int j = 0; j < n_out_syms; j++)
      if (in_syms[i] <= -2 && in_syms[i] == out_syms[j]) {
        in_syms[i] = out_syms[j] = 0;
        break;
      }
  bool open_in = false, open_out = false;
  for (int i = 0; i < n_in_syms; i++) open_in |= in_syms[i] != 0;
  for (int i = 0; i < n_out_syms; i++) open_out |= out_syms[i] != 0;
  if (in_known > QC_MAX_ELEMS || out_known > QC_MAX_ELEMS)
    return qc_node_err(e, n, QC_ERR_NOMEM, "shape %s is too large",
                       fmt_ints(buf, sizeof buf, count, req));
  if (!open_in && !open_out) {
    int64_t total = in_zero ? 0 : in_known;
    if (infer_at >= 0) {
      if (out_zero || total % out_known != 0)
        return qc_node_err(e, n, QC_ERR_INVALID, "cannot reshape %" PRId64 " elements to %s",
                           total, fmt_ints(buf, sizeof buf, count, req));
      d[infer_at] = total / out_known;
    } else if ((out_zero ? 0 : out_known) != total) {
      return qc_node_err(e, n, QC_ERR_INVALID, "cannot reshape %" PRId64 " elements to %s",
                         total, fmt_ints(buf, sizeof buf, count, req));
    }
  }
  qc_tinfo_set(&out[0], dt, (int)count, d);
  return QC_OK;
}

qc_status qc_infer_flatten(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (r < 0) {
    set_unknown_dims(&out[0], in[0].dtype, 2);
    return QC_OK;
  }
  int64_t axis = qc_attr_i(n, "axis", 1);
  if (axis < -(int64_t)r || axis > r)
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                       axis, r);
  int a = (int)(axis < 0 ? axis + r : axis);
  int64_t d[2] = {dims_product(in[0].dims, 0, a), dims_product(in[0].dims, a, r)};
  if (a == 0) d[0] = 1;
  if (a == r) d[1] = 1;
  qc_tinfo_set(&out[0], in[0].dtype, 2, d);
  return QC_OK;
}

qc_status qc_infer_transpose(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  const int64_t *perm;
  int64_t np = qc_attr_ints(n, "perm", &perm);
  int r = in[0].rank;
  if (np >= 0) {
    if (np > QC_MAX_RANK) return check_rank(n, (int)(np > 1000 ? 1000 : np), e);
    if (r >= 0 && np != r)
      return qc_node_err(e, n, QC_ERR_INVALID, "perm has %" PRId64 " entries for a rank-%d input",
                         np, r);
    bool seen[QC_MAX_RANK] = {false};
    for (int i = 0; i < np; i++) {
      if (perm[i] < 0 || perm[i] >= np || seen[perm[i]])
        return qc_node_err(e, n, QC_ERR_INVALID, "perm is not a permutation of 0..%d",
                           (int)np - 1);
      seen[perm[i]] = true;
    }
  }
  if (r < 0) {
    set_unknown_dims(&out[0], in[0].dtype, np >= 0 ? (int)np : -1);
    return QC_OK;
  }
  int64_t d[QC_MAX_RANK];
  for (int i = 0; i < r; i++) d[i] = in[0].dims[np >= 0 ? perm[i] : r - 1 - i];
  qc_tinfo_set(&out[0], in[0].dtype, r, d);
  return QC_OK;
}

/* Axes from an input, normalized against rank; duplicates rejected. *count -1 when unknown. */
static qc_status axes_input(const qc_node *n, const qc_tinfo *t, int rank, int *axes,
                            int64_t *count, qc_err *e)
{
  int64_t v[QC_MAX_RANK];
  qc_status st = read_ints(n, t, "axes", v, QC_MAX_RANK, count, e);
  if (st || *count < 0) return st;
  bool seen[QC_MAX_RANK] = {false};
  for (int64_t i = 0; i < *count; i++) {
    if (!qc_axis_norm(v[i], rank, &axes[i]))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                         v[i], rank);
    if (seen[axes[i]])
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is repeated", v[i]);
    seen[axes[i]] = true;
  }
  return QC_OK;
}

qc_status qc_infer_squeeze(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                           int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  const qc_tinfo *ax = qc_tinfo_opt(in, n_in, 1);
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  if (r < 0) {
    set_unknown_dims(&out[0], dt, -1);
    return QC_OK;
  }
  bool drop[QC_MAX_RANK] = {false};
  if (ax) {
    int axes[QC_MAX_RANK];
    int64_t count;
    if ((st = axes_input(n, ax, r, axes, &count, e))) return st;
    if (count < 0) {
      int64_t len = len_1d(ax);
      set_unknown_dims(&out[0], dt, len >= 0 && len <= r ? r - (int)len : -1);
      return QC_OK;
    }
    for (int i = 0; i < count; i++) {
      int64_t dim = in[0].dims[axes[i]];
      if (dim >= 0 && dim != 1)
        return qc_node_err(e, n, QC_ERR_INVALID, "axis %d has size %" PRId64 ", cannot squeeze",
                           axes[i], dim);
      drop[axes[i]] = true;
    }
  } else {
    for (int i = 0; i < r; i++) {
      if (in[0].dims[i] < 0) { /* an unknown dim may or may not be 1 */
        set_unknown_dims(&out[0], dt, -1);
        return QC_OK;
      }
      drop[i] = in[0].dims[i] == 1;
    }
  }
  int64_t d[QC_MAX_RANK];
  int k = 0;
  for (int i = 0; i < r; i++)
    if (!drop[i]) d[k++] = in[0].dims[i];
  qc_tinfo_set(&out[0], dt, k, d);
  return QC_OK;
}

qc_status qc_infer_unsqueeze(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  qc_dtype dt = in[0].dtype;
  int64_t len = len_1d(&in[1]);
  int r = in[0].rank;
  if (r < 0 || len < 0) {
    set_unknown_dims(&out[0], dt, r >= 0 && len >= 0 ? r + (int)len : -1);
    return check_rank(n, out[0].rank, e);
  }
  if (r + len > QC_MAX_RANK) return check_rank(n, (int)(r + len > 1000 ? 1000 : r + len), e);
  int ro = r + (int)len;
  int axes[QC_MAX_RANK];
  int64_t count;
  if ((st = axes_input(n, &in[1], ro, axes, &count, e))) return st;
  if (count < 0) {
    set_unknown_dims(&out[0], dt, ro);
    return QC_OK;
  }
  bool ins[QC_MAX_RANK] = {false};
  for (int i = 0; i < count; i++) ins[axes[i]] = true;
  int64_t d[QC_MAX_RANK];
  for (int i = 0, k = 0; i < ro; i++) d[i] = ins[i] ? 1 : in[0].dims[k++];
  qc_tinfo_set(&out[0], dt, ro, d);
  return QC_OK;
}

/* ---- joining and splitting -------------------------------------------------------------- */

qc_status qc_infer_concat(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = -1, first = -1;
  for (int i = 0; i < n_in; i++) {
    if (in[i].dtype != in[0].dtype)
      return qc_node_err(e, n, QC_ERR_INVALID, "input %d has dtype %s, expected %s", i,
                         qc_dtype_name(in[i].dtype), qc_dtype_name(in[0].dtype));
    if (in[i].rank < 0) continue;
    if (r < 0) {
      r = in[i].rank;
      first = i;
    } else if (in[i].rank != r) {
      return qc_node_err(e, n, QC_ERR_INVALID, "input %d has rank %d, expected %d", i,
                         in[i].rank, r);
    }
  }
  if (r < 0) {
    set_unknown_dims(&out[0], in[0].dtype, -1);
    return QC_OK;
  }
  if (r > QC_MAX_RANK) return check_rank(n, r, e);
  int axis;
  int64_t a = qc_attr_i(n, "axis", 0);
  if (!qc_node_attr(n, "axis"))
    return qc_node_err(e, n, QC_ERR_INVALID, "attribute 'axis' is required");
  if (!qc_axis_norm(a, r, &axis))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", a,
                       r);
  int64_t d[QC_MAX_RANK];
  memcpy(d, in[first].dims, sizeof(int64_t) * (size_t)r);
  int64_t sum = 0;
  bool all_known = true;
  for (int i = 0; i < n_in; i++) {
    if (in[i].rank < 0) {
      all_known = false;
      continue;
    }
    for (int k = 0; k < r; k++) {
      int64_t dk = in[i].dims[k];
      if (k == axis) {
        if (dk < 0) all_known = false;
        else if (dk > QC_MAX_ELEMS || (sum += dk) > QC_MAX_ELEMS)
          return qc_node_err(e, n, QC_ERR_NOMEM, "output dim %d is too large", axis);
      } else if (dk >= 0 && d[k] >= 0 && dk != d[k]) {
        return qc_node_err(e, n, QC_ERR_INVALID,
                           "input %d has dim %d of size %" PRId64 ", expected %" PRId64, i, k,
                           dk, d[k]);
      } else if (d[k] < 0 && (dk >= 0 || d[k] == QC_DIM_UNKNOWN)) {
        d[k] = dk; /* the dims must agree: a known one or any symbol is what they all are */
      }
    }
  }
  d[axis] = n_in == 1 ? in[0].dims[axis] : all_known ? sum : QC_DIM_UNKNOWN;
  qc_tinfo_set(&out[0], in[0].dtype, r, d);
  return QC_OK;
}

qc_status qc_infer_split(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  if (r < 0) {
    for (int i = 0; i < n_out; i++) set_unknown_dims(&out[i], dt, -1);
    return QC_OK;
  }
  int axis;
  int64_t a = qc_attr_i(n, "axis", 0);
  if (!qc_axis_norm(a, r, &axis))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", a,
                       r);
  int64_t dim = in[0].dims[axis];
  const qc_tinfo *sp = qc_tinfo_opt(in, n_in, 1);
  int64_t count = -1;
  int64_t sizes[64];
  if (sp) {
    if ((st = read_ints(n, sp, "split", sizes, 64, &count, e))) return st;
    if (count >= 0) {
      if (count != n_out)
        return qc_node_err(e, n, QC_ERR_INVALID, "split has %" PRId64 " entries for %d outputs",
                           count, n_out);
      int64_t sum = 0;
      for (int i = 0; i < count; i++) {
        if (sizes[i] < 0 || sizes[i] > QC_MAX_ELEMS)
          return qc_node_err(e, n, QC_ERR_INVALID, "split entry %d is %" PRId64, i, sizes[i]);
        sum += sizes[i];
      }
      if (dim >= 0 && sum != dim)
        return qc_node_err(e, n, QC_ERR_INVALID,
                           "split sums to %" PRId64 " but axis %d has size %" PRId64, sum, axis,
                           dim);
    }
  } else if (dim >= 0) {
    if (dim % n_out != 0)
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "axis %d of size %" PRId64 " does not split into %d equal parts", axis,
                         dim, n_out);
    count = n_out;
    for (int i = 0; i < n_out && i < 64; i++) sizes[i] = dim / n_out;
    if (n_out > 64) count = -1;
  }
  for (int i = 0; i < n_out; i++) {
    qc_tinfo_set(&out[i], dt, r, in[0].dims);
    out[i].dims[axis] = count >= 0 ? sizes[i] : QC_DIM_UNKNOWN;
  }
  return QC_OK;
}

/* ---- indexing --------------------------------------------------------------------------- */

qc_status qc_slice_resolve(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *start,
                           int64_t *step, int64_t *len, qc_err *e)
{
  int r = in[0].rank;
  int64_t starts[QC_MAX_RANK], ends[QC_MAX_RANK], axv[QC_MAX_RANK], steps[QC_MAX_RANK];
  int64_t ns, ne, na = -1, nst = -1;
  qc_status st;
  if ((st = read_ints(n, &in[1], "starts", starts, QC_MAX_RANK, &ns, e))) return st;
  if ((st = read_ints(n, &in[2], "ends", ends, QC_MAX_RANK, &ne, e))) return st;
  const qc_tinfo *ta = qc_tinfo_opt(in, n_in, 3), *ts = qc_tinfo_opt(in, n_in, 4);
  if ((st = read_ints(n, ta, "axes", axv, QC_MAX_RANK, &na, e))) return st;
  if ((st = read_ints(n, ts, "steps", steps, QC_MAX_RANK, &nst, e))) return st;
  if (ns < 0 || ne < 0 || (ta && na < 0) || (ts && nst < 0))
    return qc_node_err(e, n, QC_ERR_INTERNAL, "slice parameters are not known");
  if (ne != ns || (ta && na != ns) || (ts && nst != ns))
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "starts, ends, axes and steps must have the same length");
  for (int i = 0; i < r; i++) {
    start[i] = 0;
    step[i] = 1;
    len[i] = in[0].dims[i];
  }
  bool seen[QC_MAX_RANK] = {false};
  for (int i = 0; i < ns; i++) {
    int axis;
    int64_t av = ta ? axv[i] : i;
    if (!qc_axis_norm(av, r, &axis))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                         av, r);
    if (seen[axis]) return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is repeated", av);
    seen[axis] = true;
    int64_t s = starts[i], en = ends[i], p = ts ? steps[i] : 1, dim = in[0].dims[axis];
    if (p == 0) return qc_node_err(e, n, QC_ERR_INVALID, "step for axis %d is 0", axis);
    step[axis] = p;
    if (dim < 0) {
      /* The whole axis keeps the dim (and its symbol); anything else is unknown. */
      bool whole = p == 1 && s == 0 && en >= QC_MAX_ELEMS;
      len[axis] = whole ? dim : QC_DIM_UNKNOWN;
      continue;
    }
    /* ONNX: negative indices count from the end, then clamp to [0, dim] (forward) or
       [-1, dim - 1] for ends / [0, dim - 1] for starts (backward). */
    if (s < 0) s += dim;
    if (en < 0) en += dim;
    if (p > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      en = en < 0 ? 0 : en > dim ? dim : en;
      len[axis] = en > s ? (en - s - 1) / p + 1 : 0;
    } else {
      s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
      en = en < -1 ? -1 : en > dim - 1 ? dim - 1 : en;
      int64_t q = -(p == INT64_MIN ? INT64_MAX : p);
      len[axis] = s > en ? (s - en - 1) / q + 1 : 0;
    }
    start[axis] = s;
  }
  return QC_OK;
}

qc_status qc_infer_slice(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  const qc_tinfo *ta = qc_tinfo_opt(in, n_in, 3), *ts = qc_tinfo_opt(in, n_in, 4);
  bool known = in[1].data && in[2].data && (!ta || ta->data) && (!ts || ts->data);
  if (r < 0 || !known) {
    set_unknown_dims(&out[0], dt, r);
    return QC_OK;
  }
  if (r > QC_MAX_RANK) return check_rank(n, r, e);
  int64_t start[QC_MAX_RANK], step[QC_MAX_RANK], len[QC_MAX_RANK];
  if ((st = qc_slice_resolve(n, in, n_in, start, step, len, e))) return st;
  qc_tinfo_set(&out[0], dt, r, len);
  return QC_OK;
}

qc_status qc_infer_gather(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (in[1].dtype != QC_DT_I64 && in[1].dtype != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_INVALID, "indices must be i32 or i64, not %s",
                       qc_dtype_name(in[1].dtype));
  int r = in[0].rank, q = in[1].rank;
  qc_dtype dt = in[0].dtype;
  int axis = 0;
  int64_t a = qc_attr_i(n, "axis", 0);
  if (r >= 0) {
    if (r == 0) return qc_node_err(e, n, QC_ERR_INVALID, "data must have rank >= 1");
    if (!qc_axis_norm(a, r, &axis))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                         a, r);
  }
  if (r < 0 || q < 0) {
    set_unknown_dims(&out[0], dt, -1);
    return QC_OK;
  }
  if ((st = check_rank(n, q + r - 1, e))) return st;
  int64_t d[QC_MAX_RANK];
  int k = 0;
  for (int i = 0; i < axis; i++) d[k++] = in[0].dims[i];
  for (int i = 0; i < q; i++) d[k++] = in[1].dims[i];
  for (int i = axis + 1; i < r; i++) d[k++] = in[0].dims[i];
  qc_tinfo_set(&out[0], dt, k, d);
  return QC_OK;
}

qc_status qc_infer_gather_elements(const qc_node *n, const qc_tinfo *in, int n_in,
                                   qc_tinfo *out, int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  if (in[1].dtype != QC_DT_I64 && in[1].dtype != QC_DT_I32)
    return qc_node_err(e, n, QC_ERR_INVALID, "indices must be i32 or i64, not %s",
                       qc_dtype_name(in[1].dtype));
  int r = in[0].rank;
  if (r >= 0 && in[1].rank >= 0) {
    if (in[1].rank != r)
      return qc_node_err(e, n, QC_ERR_INVALID, "indices have rank %d, data has rank %d",
                         in[1].rank, r);
    int axis;
    int64_t a = qc_attr_i(n, "axis", 0);
    if (r == 0 || !qc_axis_norm(a, r, &axis))
      return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                         a, r);
  }
  qc_tinfo_set(&out[0], in[0].dtype, in[1].rank, in[1].dims);
  return QC_OK;
}

qc_status qc_pad_resolve(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *before,
                         int64_t *after, int *mode, qc_err *e)
{
  int r = in[0].rank;
  const char *m = qc_attr_s(n, "mode", "constant");
  if (strcmp(m, "constant") == 0) *mode = 0;
  else if (strcmp(m, "reflect") == 0) *mode = 1;
  else if (strcmp(m, "edge") == 0) *mode = 2;
  else return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "mode '%s' is not supported", m);
  int64_t pads[2 * QC_MAX_RANK], np;
  qc_status st = read_ints(n, &in[1], "pads", pads, 2 * QC_MAX_RANK, &np, e);
  if (st) return st;
  const qc_tinfo *ta = qc_tinfo_opt(in, n_in, 3);
  int axes[QC_MAX_RANK];
  int64_t na = r;
  if (ta) {
    if ((st = axes_input(n, ta, r, axes, &na, e))) return st;
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (np < 0 || na < 0) return qc_node_err(e, n, QC_ERR_INTERNAL, "pads are not known");
  if (np != 2 * na)
    return qc_node_err(e, n, QC_ERR_INVALID, "pads has %" PRId64 " entries, expected %" PRId64,
                       np, 2 * na);
  for (int i = 0; i < r; i++) before[i] = after[i] = 0;
  for (int i = 0; i < na; i++) {
    int ax = axes[i];
    int64_t b = pads[i], a = pads[i + na], dim = in[0].dims[ax];
    if (b < -QC_MAX_ELEMS || b > QC_MAX_ELEMS || a < -QC_MAX_ELEMS || a > QC_MAX_ELEMS)
      return qc_node_err(e, n, QC_ERR_INVALID, "pads for axis %d are out of range", ax);
    before[ax] = b;
    after[ax] = a;
    if (dim < 0) continue;
    if (dim + b + a < 0)
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "pads %" PRId64 ", %" PRId64 " remove more than axis %d's %" PRId64
                         " elements", b, a, ax, dim);
    if (*mode == 1 && (b > dim - 1 || a > dim - 1) && (b > 0 || a > 0))
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "reflect pads %" PRId64 ", %" PRId64 " need axis %d larger than %" PRId64,
                         b, a, ax, dim);
    if (*mode == 2 && dim == 0 && (b > 0 || a > 0))
      return qc_node_err(e, n, QC_ERR_INVALID, "edge mode cannot pad the empty axis %d", ax);
  }
  return QC_OK;
}

qc_status qc_infer_pad(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                       int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  const qc_tinfo *cv = qc_tinfo_opt(in, n_in, 2), *ta = qc_tinfo_opt(in, n_in, 3);
  if (cv && cv->dtype != dt)
    return qc_node_err(e, n, QC_ERR_INVALID, "constant_value has dtype %s, expected %s",
                       qc_dtype_name(cv->dtype), qc_dtype_name(dt));
  if (r < 0 || !in[1].data || (ta && !ta->data)) {
    set_unknown_dims(&out[0], dt, r);
    return QC_OK;
  }
  if (r > QC_MAX_RANK) return check_rank(n, r, e);
  int64_t b[QC_MAX_RANK], a[QC_MAX_RANK], d[QC_MAX_RANK];
  int mode;
  if ((st = qc_pad_resolve(n, in, n_in, b, a, &mode, e))) return st;
  for (int i = 0; i < r; i++) {
    int64_t dim = in[0].dims[i];
    d[i] = b[i] == 0 && a[i] == 0 ? dim : dim >= 0 ? dim + b[i] + a[i] : QC_DIM_UNKNOWN;
  }
  qc_tinfo_set(&out[0], dt, r, d);
  return QC_OK;
}

qc_status qc_infer_expand(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int rs;
  int64_t ds[QC_MAX_RANK];
  /* shape entries may be 1 where the input is larger; 0 is a legal (empty) dim. */
  if ((st = shape_input(n, &in[1], "shape", &rs, ds, e))) return st;
  qc_dtype dt = in[0].dtype;
  if (rs < 0 || in[0].rank < 0) {
    int rank = rs >= 0 && in[0].rank >= 0 ? (rs > in[0].rank ? rs : in[0].rank) : -1;
    set_unknown_dims(&out[0], dt, rank);
    return QC_OK;
  }
  if (in[0].rank > QC_MAX_RANK) return check_rank(n, in[0].rank, e);
  int rank;
  int64_t d[QC_MAX_RANK];
  if ((st = bcast_shapes(n, in[0].rank, in[0].dims, rs, ds, &rank, d, e))) return st;
  qc_tinfo_set(&out[0], dt, rank, d);
  return QC_OK;
}

qc_status qc_infer_tile(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 2, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  int64_t rep[QC_MAX_RANK], count;
  if ((st = read_ints(n, &in[1], "repeats", rep, QC_MAX_RANK, &count, e))) return st;
  if (r < 0 || count < 0) {
    set_unknown_dims(&out[0], dt, r);
    return QC_OK;
  }
  if (count != r)
    return qc_node_err(e, n, QC_ERR_INVALID, "repeats has %" PRId64 " entries for rank %d",
                       count, r);
  int64_t d[QC_MAX_RANK];
  for (int i = 0; i < r; i++) {
    if (rep[i] < 0)
      return qc_node_err(e, n, QC_ERR_INVALID, "repeat %" PRId64 " for axis %d is negative",
                         rep[i], i);
    int64_t dim = in[0].dims[i];
    if (rep[i] == 1) d[i] = dim;
    else if (rep[i] == 0 || dim == 0) d[i] = 0;
    else if (dim < 0) d[i] = QC_DIM_UNKNOWN;
    else if (dim > QC_MAX_ELEMS / rep[i])
      return qc_node_err(e, n, QC_ERR_NOMEM, "output is too large");
    else d[i] = dim * rep[i];
  }
  qc_tinfo_set(&out[0], dt, r, d);
  return QC_OK;
}

qc_status qc_infer_range(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                         int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 3, n_out, 1, e);
  if (st) return st;
  qc_dtype dt = in[0].dtype;
  static const char *names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    if (in[i].dtype != dt)
      return qc_node_err(e, n, QC_ERR_INVALID, "%s has dtype %s, expected %s", names[i],
                         qc_dtype_name(in[i].dtype), qc_dtype_name(dt));
    if (in[i].rank > 0 && !(in[i].rank == 1 && in[i].dims[0] == 1))
      return qc_node_err(e, n, QC_ERR_INVALID, "%s must be a scalar", names[i]);
  }
  if (dt != QC_DT_F32 && dt != QC_DT_F64 && dt != QC_DT_I16 && dt != QC_DT_I32 &&
      dt != QC_DT_I64)
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                       qc_dtype_name(dt));
  int64_t len = QC_DIM_UNKNOWN;
  if (in[0].data && in[1].data && in[2].data) {
    if (dt == QC_DT_F32 || dt == QC_DT_F64) {
      double v[3];
      for (int i = 0; i < 3; i++)
        v[i] = dt == QC_DT_F32 ? *(const float *)in[i].data : *(const double *)in[i].data;
      if (v[2] == 0) return qc_node_err(e, n, QC_ERR_INVALID, "delta is 0");
      double c = ceil((v[1] - v[0]) / v[2]);
      if (!(c <= (double)QC_MAX_ELEMS)) /* also catches NaN */
        return qc_node_err(e, n, QC_ERR_INVALID, "range has too many elements");
      len = c > 0 ? (int64_t)c : 0;
    } else {
      int64_t v[3];
      for (int i = 0; i < 3; i++)
        v[i] = dt == QC_DT_I16 ? *(const int16_t *)in[i].data
               : dt == QC_DT_I32 ? *(const int32_t *)in[i].data
                                 : *(const int64_t *)in[i].data;
      if (v[2] == 0) return qc_node_err(e, n, QC_ERR_INVALID, "delta is 0");
      int64_t diff;
      if (__builtin_sub_overflow(v[1], v[0], &diff))
        return qc_node_err(e, n, QC_ERR_INVALID, "range has too many elements");
      /* ceil(diff / delta) with C's truncating division */
      int64_t q = diff / v[2], rem = diff % v[2];
      if (rem != 0 && ((rem > 0) == (v[2] > 0))) q++;
      if (q > QC_MAX_ELEMS)
        return qc_node_err(e, n, QC_ERR_INVALID, "range has too many elements");
      len = q > 0 ? q : 0;
    }
  }
  qc_tinfo_set(&out[0], dt, 1, &len);
  return QC_OK;
}

/* ---- space/depth ------------------------------------------------------------------------ */

static qc_status block_size(const qc_node *n, const qc_tinfo *in, int64_t *b, qc_err *e)
{
  *b = qc_attr_i(n, "blocksize", 0);
  if (*b <= 0 || *b > 65536)
    return qc_node_err(e, n, QC_ERR_INVALID, "blocksize %" PRId64 " is invalid", *b);
  if (in[0].rank >= 0 && in[0].rank != 4)
    return qc_node_err(e, n, QC_ERR_INVALID, "input must have rank 4, has %d", in[0].rank);
  return QC_OK;
}

qc_status qc_infer_depth_to_space(const qc_node *n, const qc_tinfo *in, int n_in,
                                  qc_tinfo *out, int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t b;
  if ((st = block_size(n, in, &b, e))) return st;
  const char *mode = qc_attr_s(n, "mode", "DCR");
  if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "mode '%s' is not DCR or CRD", mode);
  if (in[0].rank < 0) {
    set_unknown_dims(&out[0], in[0].dtype, 4);
    return QC_OK;
  }
  const int64_t *x = in[0].dims;
  if (x[1] >= 0 && x[1] % (b * b) != 0)
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "channels %" PRId64 " are not divisible by blocksize^2 = %" PRId64, x[1],
                       b * b);
  int64_t d[4] = {x[0], x[1] >= 0 ? x[1] / (b * b) : QC_DIM_UNKNOWN,
                  x[2] >= 0 ? x[2] * b : QC_DIM_UNKNOWN, x[3] >= 0 ? x[3] * b : QC_DIM_UNKNOWN};
  qc_tinfo_set(&out[0], in[0].dtype, 4, d);
  return QC_OK;
}

qc_status qc_infer_space_to_depth(const qc_node *n, const qc_tinfo *in, int n_in,
                                  qc_tinfo *out, int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int64_t b;
  if ((st = block_size(n, in, &b, e))) return st;
  if (in[0].rank < 0) {
    set_unknown_dims(&out[0], in[0].dtype, 4);
    return QC_OK;
  }
  const int64_t *x = in[0].dims;
  for (int i = 2; i < 4; i++)
    if (x[i] >= 0 && x[i] % b != 0)
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "dim %d of size %" PRId64 " is not divisible by blocksize %" PRId64, i,
                         x[i], b);
  int64_t d[4] = {x[0], x[1] >= 0 ? x[1] * b * b : QC_DIM_UNKNOWN,
                  x[2] >= 0 ? x[2] / b : QC_DIM_UNKNOWN, x[3] >= 0 ? x[3] / b : QC_DIM_UNKNOWN};
  qc_tinfo_set(&out[0], in[0].dtype, 4, d);
  return QC_OK;
}

/* ---- reductions ------------------------------------------------------------------------- */

qc_status qc_reduce_resolve(const qc_node *n, const qc_tinfo *in, int n_in, bool *mask,
                            bool *known, qc_err *e)
{
  int r = in[0].rank;
  int axes[QC_MAX_RANK];
  int64_t count = 0;
  bool noop_empty = false;
  qc_status st;
  *known = true;
  if (n->op == QC_OP_ReduceSum) {
    noop_empty = qc_attr_i(n, "noop_with_empty_axes", 0) != 0;
    const qc_tinfo *ta = qc_tinfo_opt(in, n_in, 1);
    if (ta) {
      if ((st = axes_input(n, ta, r, axes, &count, e))) return st;
      if (count < 0) {
        *known = false;
        count = 0;
      }
    }
  } else {
    const int64_t *av;
    count = qc_attr_ints(n, "axes", &av);
    if (count > r)
      return qc_node_err(e, n, QC_ERR_INVALID, "%" PRId64 " axes for rank %d", count, r);
    bool seen[QC_MAX_RANK] = {false};
    for (int64_t i = 0; i < count; i++) {
      if (!qc_axis_norm(av[i], r, &axes[i]))
        return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d",
                           av[i], r);
      if (seen[axes[i]])
        return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is repeated", av[i]);
      seen[axes[i]] = true;
    }
    if (count < 0) count = 0;
  }
  for (int i = 0; i < r; i++) mask[i] = count == 0 && !noop_empty && *known;
  for (int i = 0; i < count; i++) mask[axes[i]] = true;
  return QC_OK;
}

qc_status qc_infer_reduce(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  qc_dtype dt = in[0].dtype;
  bool keep = qc_attr_i(n, "keepdims", 1) != 0;
  if (r < 0) {
    set_unknown_dims(&out[0], dt, -1);
    return QC_OK;
  }
  if (r > QC_MAX_RANK) return check_rank(n, r, e);
  bool mask[QC_MAX_RANK], known;
  if ((st = qc_reduce_resolve(n, in, n_in, mask, &known, e))) return st;
  if (!known) {
    int64_t len = len_1d(qc_tinfo_opt(in, n_in, 1));
    bool noop = qc_attr_i(n, "noop_with_empty_axes", 0) != 0;
    int rank = -1;
    if (keep) rank = r;
    else if (len == 0) rank = noop ? r : 0;
    else if (len > 0 && len <= r) rank = r - (int)len;
    set_unknown_dims(&out[0], dt, rank);
    return QC_OK;
  }
  int64_t d[QC_MAX_RANK];
  int k = 0;
  for (int i = 0; i < r; i++) {
    if (!mask[i]) d[k++] = in[0].dims[i];
    else if (keep) d[k++] = 1;
  }
  qc_tinfo_set(&out[0], dt, k, d);
  return QC_OK;
}

qc_status qc_infer_argreduce(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st = check_arity(n, n_in, 1, n_out, 1, e);
  if (st) return st;
  int r = in[0].rank;
  if (r < 0) {
    set_unknown_dims(&out[0], QC_DT_I64, -1);
    return QC_OK;
  }
  if (r > QC_MAX_RANK) return check_rank(n, r, e);
  int axis;
  int64_t a = qc_attr_i(n, "axis", 0);
  if (r == 0 || !qc_axis_norm(a, r, &axis))
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", a,
                       r);
  if (in[0].dims[axis] == 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "cannot reduce the empty axis %d", axis);
  bool keep = qc_attr_i(n, "keepdims", 1) != 0;
  int64_t d[QC_MAX_RANK];
  int k = 0;
  for (int i = 0; i < r; i++) {
    if (i != axis) d[k++] = in[0].dims[i];
    else if (keep) d[k++] = 1;
  }
  qc_tinfo_set(&out[0], QC_DT_I64, k, d);
  return QC_OK;
}
