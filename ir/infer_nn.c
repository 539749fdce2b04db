/* Shape inference for the nn ops (Conv, ConvTranspose, norms, pools, Gemm, MatMul), following
   the ONNX operator spec at opset 17. Dims >= 0 are known, -1 unknown, <= -2 symbolic: a dim
   that passes through unchanged (the batch, a 'same' convolution's spatial dims) keeps its
   symbol; a dim computed from an unknown one is unknown. */
#include <stdio.h>
#include <string.h>
#include "infer_nn.h"

static bool known(int64_t d) { return d >= 0; }

static bool is_float(qc_dtype t) { return t < QC_DT_COUNT && (qc_dtypes[t].flags & QC_DTF_FLOAT); }

/* "[2, 3, ?]" for messages. */
static const char *shape_str(int rank, const int64_t *dims, char *buf, size_t cap)
{
  size_t len = 0;
  len += (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && len < cap; i++) {
    if (known(dims[i]))
      len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)dims[i]);
    else
      len += (size_t)snprintf(buf + len, cap - len, "%s?", i ? ", " : "");
  }
  if (len < cap) snprintf(buf + len, cap - len, "]");
  return buf;
}

/* Input i must be present (required by the op, or optional but needed here). */
static qc_status need(const qc_node *n, const qc_tinfo *in, int n_in, int i, const char *what,
                      qc_err *e)
{
  if (i >= n_in || in[i].dtype == QC_DT_UNDEF)
    return qc_node_err(e, n, QC_ERR_INVALID, "input %d (%s) is missing", i, what);
  return QC_OK;
}

static qc_status need_float(const qc_node *n, const qc_tinfo *t, const char *what, qc_err *e)
{
  if (!is_float(t->dtype))
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has dtype %s; a float type is needed", what,
                       qc_dtype_name(t->dtype));
  return QC_OK;
}

static qc_status same_dtype(const qc_node *n, const qc_tinfo *t, const char *what,
                            const qc_tinfo *ref, const char *ref_what, qc_err *e)
{
  if (t->dtype != ref->dtype)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has dtype %s but %s has %s", what,
                       qc_dtype_name(t->dtype), ref_what, qc_dtype_name(ref->dtype));
  return QC_OK;
}

/* A 1-D tensor of length len (when both are known), e.g. a bias or BN statistics. */
static qc_status need_vector(const qc_node *n, const qc_tinfo *t, const char *what, int64_t len,
                             qc_err *e)
{
  if (t->rank < 0) return QC_OK;
  if (t->rank != 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has rank %d; expected 1", what, t->rank);
  if (known(t->dims[0]) && known(len) && t->dims[0] != len)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has %lld elements; expected %lld", what,
                       (long long)t->dims[0], (long long)len);
  return QC_OK;
}

/* ---- window geometry -------------------------------------------------------------------- */

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

static qc_status get_auto_pad(const qc_node *n, auto_pad *ap, qc_err *e)
{
  const char *s = qc_attr_s(n, "auto_pad", "NOTSET");
  static const char *names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) {
      *ap = (auto_pad)i;
      return QC_OK;
    }
  return qc_node_err(e, n, QC_ERR_INVALID,
                     "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
}

/* An INTS attribute of exactly count entries, each >= lo; dflt fills an absent one. */
static qc_status get_ints(const qc_node *n, const char *name, int count, int64_t dflt,
                          int64_t lo, int64_t *out, qc_err *e)
{
  const int64_t *v;
  int64_t len = qc_attr_ints(n, name, &v);
  if (len < 0) {
    for (int i = 0; i < count; i++) out[i] = dflt;
    return QC_OK;
  }
  if (len != count)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s has %lld entries; expected %d", name,
                       (long long)len, count);
  for (int i = 0; i < count; i++) {
    if (v[i] < lo)
      return qc_node_err(e, n, QC_ERR_INVALID, "%s[%d] = %lld %s", name, i, (long long)v[i],
                         lo > 0 ? "must be positive" : "is negative");
    out[i] = v[i];
  }
  return QC_OK;
}

/* Strides, dilations and explicit pads, for nsp spatial axes. */
static qc_status window_attrs(const qc_node *n, qc_window *g, qc_err *e)
{
  int64_t pads[2 * (QC_MAX_RANK - 2)];
  qc_status st;
  if ((st = get_ints(n, "strides", g->nsp, 1, 1, g->stride, e)) ||
      (st = get_ints(n, "dilations", g->nsp, 1, 1, g->dilation, e)) ||
      (st = get_ints(n, "pads", 2 * g->nsp, 0, 0, pads, e)))
    return st;
  for (int i = 0; i < g->nsp; i++) {
    g->pad_begin[i] = pads[i];
    g->pad_end[i] = pads[g->nsp + i];
  }
  return QC_OK;
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Output extent of a forward window (Conv, pools), ONNX's formulas:
     NOTSET: floor_or_ceil((in + pb + pe - ek) / s) + 1,   ek = (k - 1) * d + 1
     VALID:  floor((in - ek) / s) + 1
     SAME_*: ceil(in / s), total pad (out - 1) * s + ek - in split with the odd one at the end
             (UPPER) or the beginning (LOWER).
   With ceil_mode a last window that would start inside the end padding is dropped (as PyTorch
   does; the spec's formula would otherwise give a window with no input in it). */
static qc_status forward_out(const qc_node *n, qc_window *g, auto_pad ap, bool ceil_mode,
                             qc_err *e)
{
  for (int i = 0; i < g->nsp; i++) {
    int64_t in = g->in[i], k = g->kernel[i], s = g->stride[i];
    if (k < 0) {
      g->out[i] = QC_DIM_UNKNOWN;
      continue;
    }
    int64_t ek = (k - 1) * g->dilation[i] + 1;
    if (ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER) {
      g->pad_begin[i] = g->pad_end[i] = 0;
      if (!known(in)) {
        g->out[i] = s == 1 ? in : QC_DIM_UNKNOWN;
        continue;
      }
      int64_t out = (in + s - 1) / s;
      int64_t total = (out - 1) * s + ek - in;
      if (total < 0) total = 0;
      g->pad_begin[i] = ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
      g->pad_end[i] = total - g->pad_begin[i];
      g->out[i] = out;
      continue;
    }
    if (ap == PAD_VALID) g->pad_begin[i] = g->pad_end[i] = 0;
    int64_t pb = g->pad_begin[i], pe = g->pad_end[i];
    if (!known(in)) {
      g->out[i] = s == 1 && ek - 1 == pb + pe ? in : QC_DIM_UNKNOWN;
      continue;
    }
    int64_t span = in + pb + pe;
    if (span < ek)
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "kernel extent %lld is larger than the padded input %lld on spatial "
                         "axis %d",
                         (long long)ek, (long long)span, i);
    int64_t out = (span - ek) / s + 1;
    if (ceil_mode && (span - ek) % s != 0) {
      out++;
      if ((out - 1) * s >= in + pb) out--;
    }
    g->out[i] = out;
  }
  return QC_OK;
}

/* Kernel extents from W's dims (from axis 2) and the kernel_shape attribute. */
static qc_status conv_kernel(const qc_node *n, const qc_tinfo *w, qc_window *g, qc_err *e)
{
  int64_t ks[QC_MAX_RANK - 2];
  qc_status st = get_ints(n, "kernel_shape", g->nsp, -1, 1, ks, e);
  if (st) return st;
  for (int i = 0; i < g->nsp; i++) {
    int64_t wk = w->rank >= 0 ? w->dims[2 + i] : QC_DIM_UNKNOWN;
    if (known(wk) && ks[i] >= 0 && wk != ks[i])
      return qc_node_err(e, n, QC_ERR_INVALID, "kernel_shape[%d] = %lld but W has %lld there",
                         i, (long long)ks[i], (long long)wk);
    g->kernel[i] = ks[i] >= 0 ? ks[i] : known(wk) ? wk : -1;
    if (g->kernel[i] == 0)
      return qc_node_err(e, n, QC_ERR_INVALID, "kernel extent on spatial axis %d is 0", i);
  }
  return QC_OK;
}

/* Rank checks shared by Conv and ConvTranspose; sets nsp (-1 when no rank is known). */
static qc_status conv_ranks(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w,
                            qc_window *g, qc_err *e)
{
  if (x->rank >= 0 && x->rank < 3)
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "X has rank %d; expected at least 3 (N, C, spatial...)", x->rank);
  if (w->rank >= 0 && w->rank < 3)
    return qc_node_err(e, n, QC_ERR_INVALID, "W has rank %d; expected at least 3", w->rank);
  if (x->rank >= 0 && w->rank >= 0 && x->rank != w->rank)
    return qc_node_err(e, n, QC_ERR_INVALID, "W has rank %d but X has rank %d", w->rank,
                       x->rank);
  g->nsp = x->rank >= 0 ? x->rank - 2 : w->rank >= 0 ? w->rank - 2 : -1;
  g->group = qc_attr_i(n, "group", 1);
  if (g->group < 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "group = %lld must be positive",
                       (long long)g->group);
  for (int i = 0; i < g->nsp; i++) g->in[i] = x->rank >= 0 ? x->dims[2 + i] : QC_DIM_UNKNOWN;
  return QC_OK;
}

qc_status qc_conv_window(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w, qc_window *g,
                         qc_err *e)
{
  memset(g, 0, sizeof *g);
  qc_status st = conv_ranks(n, x, w, g, e);
  if (st || g->nsp < 0) return st;
  int64_t c = x->rank >= 0 ? x->dims[1] : QC_DIM_UNKNOWN;
  int64_t wc = w->rank >= 0 ? w->dims[1] : QC_DIM_UNKNOWN;
  int64_t m = w->rank >= 0 ? w->dims[0] : QC_DIM_UNKNOWN;
  if (known(c) && known(wc) && c != wc * g->group)
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "X has %lld channels but W.shape[1] * group = %lld * %lld", (long long)c,
                       (long long)wc, (long long)g->group);
  if (known(c) && c % g->group != 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "X has %lld channels, not divisible by group %lld",
                       (long long)c, (long long)g->group);
  if (known(m) && m % g->group != 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "W.shape[0] = %lld is not divisible by group %lld",
                       (long long)m, (long long)g->group);
  g->c_in = c;
  g->c_out = m;
  auto_pad ap;
  if ((st = get_auto_pad(n, &ap, e)) || (st = conv_kernel(n, w, g, e)) ||
      (st = window_attrs(n, g, e)))
    return st;
  return forward_out(n, g, ap, false, e);
}

/* ConvTranspose (ONNX spec): full = s * (in - 1) + output_padding + (k - 1) * d + 1;
   out = full - pb - pe with explicit pads, in * s with SAME_*, or output_shape, in which cases
   the total padding full - out is split as the spec says (SAME_UPPER puts the odd one at the
   end). With output_shape the total may be negative: the output then extends past full. */
qc_status qc_conv_transpose_window(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w,
                                   qc_window *g, qc_err *e)
{
  memset(g, 0, sizeof *g);
  qc_status st = conv_ranks(n, x, w, g, e);
  if (st || g->nsp < 0) return st;
  int64_t c = x->rank >= 0 ? x->dims[1] : QC_DIM_UNKNOWN;
  int64_t wc = w->rank >= 0 ? w->dims[0] : QC_DIM_UNKNOWN;
  int64_t mg = w->rank >= 0 ? w->dims[1] : QC_DIM_UNKNOWN;
  if (known(c) && known(wc) && c != wc)
    return qc_node_err(e, n, QC_ERR_INVALID, "X has %lld channels but W.shape[0] = %lld",
                       (long long)c, (long long)wc);
  if (known(c) && c % g->group != 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "X has %lld channels, not divisible by group %lld",
                       (long long)c, (long long)g->group);
  g->c_in = known(c) ? c : wc;
  g->c_out = known(mg) ? mg * g->group : QC_DIM_UNKNOWN;
  auto_pad ap;
  if ((st = get_auto_pad(n, &ap, e)) || (st = conv_kernel(n, w, g, e)) ||
      (st = window_attrs(n, g, e)) ||
      (st = get_ints(n, "output_padding", g->nsp, 0, 0, g->out_pad, e)))
    return st;
  const int64_t *os;
  int64_t os_len = qc_attr_ints(n, "output_shape", &os);
  if (os_len >= 0) {
    if (os_len != g->nsp && os_len != g->nsp + 2)
      return qc_node_err(e, n, QC_ERR_INVALID, "output_shape has %lld entries; expected %d",
                         (long long)os_len, g->nsp);
    os += os_len - g->nsp;
  }
  bool sized = os || ap == PAD_SAME_UPPER || ap == PAD_SAME_LOWER; /* out[] is given */
  for (int i = 0; i < g->nsp; i++) {
    int64_t in = g->in[i], k = g->kernel[i], s = g->stride[i];
    if (os) {
      if (os[i] < 1)
        return qc_node_err(e, n, QC_ERR_INVALID, "output_shape[%d] = %lld must be positive", i,
                           (long long)os[i]);
      g->out[i] = os[i];
    } else if (sized) {
      g->out[i] = known(in) ? in * s : s == 1 ? in : QC_DIM_UNKNOWN;
    }
    if (ap == PAD_VALID) g->pad_begin[i] = g->pad_end[i] = 0;
    if (k < 0 || !known(in)) { /* pads stay unresolved; only the static pass gets here */
      if (!sized) {
        bool same = k >= 0 && s == 1 &&
                    (k - 1) * g->dilation[i] + g->out_pad[i] == g->pad_begin[i] + g->pad_end[i];
        g->out[i] = same ? in : QC_DIM_UNKNOWN;
      }
      continue;
    }
    int64_t full = s * (in - 1) + g->out_pad[i] + (k - 1) * g->dilation[i] + 1;
    if (sized) {
      int64_t total = full - g->out[i];
      int64_t half = floor_div(total, 2);
      g->pad_begin[i] = ap == PAD_SAME_UPPER ? half : total - half;
      g->pad_end[i] = total - g->pad_begin[i];
    } else {
      g->out[i] = full - g->pad_begin[i] - g->pad_end[i];
      if (g->out[i] < 1)
        return qc_node_err(e, n, QC_ERR_INVALID,
                           "pads %lld + %lld leave no output on spatial axis %d (full size "
                           "%lld)",
                           (long long)g->pad_begin[i], (long long)g->pad_end[i], i,
                           (long long)full);
    }
  }
  return QC_OK;
}

qc_status qc_pool_window(const qc_node *n, const qc_tinfo *x, qc_window *g, qc_err *e)
{
  memset(g, 0, sizeof *g);
  const int64_t *ks;
  int64_t klen = qc_attr_ints(n, "kernel_shape", &ks);
  if (klen < 1)
    return qc_node_err(e, n, QC_ERR_INVALID, "kernel_shape is missing");
  if (x->rank >= 0 && x->rank < 3)
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "X has rank %d; expected at least 3 (N, C, spatial...)", x->rank);
  if (x->rank >= 0 && klen != x->rank - 2)
    return qc_node_err(e, n, QC_ERR_INVALID,
                       "kernel_shape has %lld entries but X has %d spatial axes",
                       (long long)klen, x->rank - 2);
  if (klen > QC_MAX_RANK - 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "kernel_shape has %lld entries; at most %d",
                       (long long)klen, QC_MAX_RANK - 2);
  g->nsp = (int)klen;
  g->group = 1;
  g->c_in = g->c_out = x->rank >= 0 ? x->dims[1] : QC_DIM_UNKNOWN;
  qc_status st = get_ints(n, "kernel_shape", g->nsp, 1, 1, g->kernel, e);
  if (st) return st;
  for (int i = 0; i < g->nsp; i++) g->in[i] = x->rank >= 0 ? x->dims[2 + i] : QC_DIM_UNKNOWN;
  auto_pad ap;
  if ((st = get_auto_pad(n, &ap, e)) || (st = window_attrs(n, g, e))) return st;
  return forward_out(n, g, ap, qc_attr_i(n, "ceil_mode", 0) != 0, e);
}

/* ---- inference functions ---------------------------------------------------------------- */

/* Output (N, C_out, spatial out...) of a window op. */
static void window_out(qc_tinfo *o, qc_dtype dt, const qc_tinfo *x, const qc_window *g)
{
  o->dtype = dt;
  o->data = NULL;
  if (g->nsp < 0) {
    o->rank = -1;
    return;
  }
  o->rank = g->nsp + 2;
  o->dims[0] = x->rank >= 0 ? x->dims[0] : QC_DIM_UNKNOWN;
  o->dims[1] = g->c_out;
  for (int i = 0; i < g->nsp; i++) o->dims[2 + i] = g->out[i];
}

/* X and W float of one dtype, optional bias B of length m. */
static qc_status conv_inputs(const qc_node *n, const qc_tinfo *in, int n_in, qc_err *e)
{
  qc_status st;
  if ((st = need(n, in, n_in, 0, "X", e)) || (st = need(n, in, n_in, 1, "W", e)) ||
      (st = need_float(n, &in[0], "X", e)) || (st = same_dtype(n, &in[1], "W", &in[0], "X", e)))
    return st;
  if (n_in > 2 && in[2].dtype != QC_DT_UNDEF) return same_dtype(n, &in[2], "B", &in[0], "X", e);
  return QC_OK;
}

qc_status qc_infer_conv(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_window g;
  qc_status st = conv_inputs(n, in, n_in, e);
  if (st || (st = qc_conv_window(n, &in[0], &in[1], &g, e))) return st;
  if (n_in > 2 && in[2].dtype != QC_DT_UNDEF && (st = need_vector(n, &in[2], "B", g.c_out, e)))
    return st;
  window_out(&out[0], in[0].dtype, &in[0], &g);
  return QC_OK;
}

qc_status qc_infer_conv_transpose(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                  int n_out, qc_err *e)
{
  qc_window g;
  qc_status st = conv_inputs(n, in, n_in, e);
  if (st || (st = qc_conv_transpose_window(n, &in[0], &in[1], &g, e))) return st;
  if (n_in > 2 && in[2].dtype != QC_DT_UNDEF && (st = need_vector(n, &in[2], "B", g.c_out, e)))
    return st;
  window_out(&out[0], in[0].dtype, &in[0], &g);
  return QC_OK;
}

qc_status qc_infer_batchnorm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  static const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
  qc_status st;
  for (int i = 0; i < 5; i++)
    if ((st = need(n, in, n_in, i, names[i], e)) || (st = need_float(n, &in[i], names[i], e)))
      return st;
  const qc_tinfo *x = &in[0];
  if (x->rank >= 0 && x->rank < 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "X has rank %d; expected at least 2 (N, C, ...)",
                       x->rank);
  int64_t c = x->rank >= 0 ? x->dims[1] : QC_DIM_UNKNOWN;
  for (int i = 1; i < 5; i++) {
    if ((st = need_vector(n, &in[i], names[i], c, e))) return st;
    if (!known(c) && in[i].rank == 1) c = in[i].dims[0];
  }
  qc_tinfo_set(&out[0], x->dtype, x->rank, x->dims);
  for (int i = 1; i < n_out; i++) qc_tinfo_set(&out[i], in[3].dtype, 1, &c);
  return QC_OK;
}

/* Y like X; Mean and InvStdDev keep X's dims before axis and have 1s from it. */
qc_status qc_infer_layernorm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                             int n_out, qc_err *e)
{
  qc_status st;
  if ((st = need(n, in, n_in, 0, "X", e)) || (st = need(n, in, n_in, 1, "Scale", e)) ||
      (st = need_float(n, &in[0], "X", e)) ||
      (st = same_dtype(n, &in[1], "Scale", &in[0], "X", e)))
    return st;
  bool has_b = n_in > 2 && in[2].dtype != QC_DT_UNDEF;
  if (has_b && (st = same_dtype(n, &in[2], "B", &in[0], "X", e))) return st;
  qc_dtype stash = qc_dtype_from_onnx((int)qc_attr_i(n, "stash_type", 1));
  if (!is_float(stash))
    return qc_node_err(e, n, QC_ERR_INVALID, "stash_type %lld is not a float type",
                       (long long)qc_attr_i(n, "stash_type", 1));
  const qc_tinfo *x = &in[0];
  qc_tinfo_set(&out[0], x->dtype, x->rank, x->dims);
  for (int i = 1; i < n_out; i++) qc_tinfo_set(&out[i], stash, -1, NULL);
  if (x->rank < 0) return QC_OK;
  int64_t axis = qc_attr_i(n, "axis", -1);
  if (axis < -x->rank || axis >= x->rank)
    return qc_node_err(e, n, QC_ERR_INVALID, "axis %lld is out of range for rank %d",
                       (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  /* Scale and B broadcast (numpy, right-aligned) to the normalized shape X.shape[axis:]. */
  int nr = x->rank - (int)axis;
  for (int t = 1; t < (has_b ? 3 : 2); t++) {
    const qc_tinfo *p = &in[t];
    if (p->rank < 0) continue;
    bool ok = p->rank <= nr;
    for (int i = 0; ok && i < p->rank; i++) {
      int64_t pd = p->dims[p->rank - 1 - i], xd = x->dims[x->rank - 1 - i];
      ok = !known(pd) || !known(xd) || pd == xd || pd == 1;
    }
    if (!ok) {
      char b1[160], b2[160];
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "%s has shape %s, which does not broadcast to the normalized shape %s",
                         t == 1 ? "Scale" : "B", shape_str(p->rank, p->dims, b1, sizeof b1),
                         shape_str(nr, x->dims + axis, b2, sizeof b2));
    }
  }
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < x->rank; i++) dims[i] = i < axis ? x->dims[i] : 1;
  for (int i = 1; i < n_out; i++) qc_tinfo_set(&out[i], stash, x->rank, dims);
  return QC_OK;
}

qc_status qc_infer_pool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st = need(n, in, n_in, 0, "X", e);
  if (st) return st;
  qc_dtype dt = in[0].dtype;
  bool int8 = dt == QC_DT_U8 || dt == QC_DT_I8;
  if (!is_float(dt) && !(n->op == QC_OP_MaxPool && int8))
    return qc_node_err(e, n, QC_ERR_INVALID, "X has dtype %s; a float type is needed%s",
                       qc_dtype_name(dt), n->op == QC_OP_MaxPool ? " (or u8, i8)" : "");
  qc_window g;
  if ((st = qc_pool_window(n, &in[0], &g, e))) return st;
  window_out(&out[0], dt, &in[0], &g);
  if (n_out > 1) window_out(&out[1], QC_DT_I64, &in[0], &g);
  return QC_OK;
}

qc_status qc_infer_global_pool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                               int n_out, qc_err *e)
{
  qc_status st;
  if ((st = need(n, in, n_in, 0, "X", e)) || (st = need_float(n, &in[0], "X", e))) return st;
  const qc_tinfo *x = &in[0];
  if (x->rank >= 0 && x->rank < 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "X has rank %d; expected at least 2 (N, C, ...)",
                       x->rank);
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
  qc_tinfo_set(&out[0], x->dtype, x->rank, dims);
  return QC_OK;
}

/* Y = alpha * op(A) * op(B) + beta * C, A and B matrices, C unidirectionally broadcast to
   (M, N). */
qc_status qc_infer_gemm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  qc_status st;
  if ((st = need(n, in, n_in, 0, "A", e)) || (st = need(n, in, n_in, 1, "B", e)) ||
      (st = same_dtype(n, &in[1], "B", &in[0], "A", e)))
    return st;
  const qc_tinfo *a = &in[0], *b = &in[1];
  if (a->rank >= 0 && a->rank != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "A has rank %d; expected 2", a->rank);
  if (b->rank >= 0 && b->rank != 2)
    return qc_node_err(e, n, QC_ERR_INVALID, "B has rank %d; expected 2", b->rank);
  bool ta = qc_attr_i(n, "transA", 0) != 0, tb = qc_attr_i(n, "transB", 0) != 0;
  int64_t m = a->rank == 2 ? a->dims[ta ? 1 : 0] : QC_DIM_UNKNOWN;
  int64_t ka = a->rank == 2 ? a->dims[ta ? 0 : 1] : QC_DIM_UNKNOWN;
  int64_t kb = b->rank == 2 ? b->dims[tb ? 1 : 0] : QC_DIM_UNKNOWN;
  int64_t nn = b->rank == 2 ? b->dims[tb ? 0 : 1] : QC_DIM_UNKNOWN;
  int64_t dims[2] = {m, nn};
  if (known(ka) && known(kb) && ka != kb) {
    char b1[64], b2[64];
    int64_t da[2] = {m, ka}, db[2] = {kb, nn};
    return qc_node_err(e, n, QC_ERR_INVALID, "inner dimensions differ: op(A) is %s, op(B) is %s",
                       shape_str(2, da, b1, sizeof b1), shape_str(2, db, b2, sizeof b2));
  }
  if (n_in > 2 && in[2].dtype != QC_DT_UNDEF) {
    const qc_tinfo *c = &in[2];
    if ((st = same_dtype(n, c, "C", a, "A", e))) return st;
    bool ok = c->rank <= 2;
    for (int i = 0; ok && i < c->rank; i++) {
      int64_t cd = c->dims[c->rank - 1 - i], yd = dims[1 - i];
      ok = !known(cd) || !known(yd) || cd == yd || cd == 1;
    }
    if (!ok) {
      char b1[160], b2[64];
      return qc_node_err(e, n, QC_ERR_INVALID, "C has shape %s, which does not broadcast to %s",
                         shape_str(c->rank, c->dims, b1, sizeof b1),
                         shape_str(2, dims, b2, sizeof b2));
    }
  }
  qc_tinfo_set(&out[0], a->dtype, 2, dims);
  return QC_OK;
}

/* numpy matmul: a 1-D A is a row (dropped from the result), a 1-D B a column; the batch dims
   (all but the last two) broadcast. */
qc_status qc_infer_matmul(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                          int n_out, qc_err *e)
{
  qc_status st;
  if ((st = need(n, in, n_in, 0, "A", e)) || (st = need(n, in, n_in, 1, "B", e)) ||
      (st = same_dtype(n, &in[1], "B", &in[0], "A", e)))
    return st;
  const qc_tinfo *a = &in[0], *b = &in[1];
  if (a->rank == 0 || b->rank == 0)
    return qc_node_err(e, n, QC_ERR_INVALID, "%s is a scalar; MatMul needs rank >= 1",
                       a->rank == 0 ? "A" : "B");
  qc_tinfo_set(&out[0], a->dtype, -1, NULL);
  if (a->rank < 0 || b->rank < 0) return QC_OK;
  int64_t ka = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  if (known(ka) && known(kb) && ka != kb) {
    char b1[160], b2[160];
    return qc_node_err(e, n, QC_ERR_INVALID, "inner dimensions differ: A is %s, B is %s",
                       shape_str(a->rank, a->dims, b1, sizeof b1),
                       shape_str(b->rank, b->dims, b2, sizeof b2));
  }
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  int br = ba > bb ? ba : bb;
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < br; i++) { /* right-aligned batch broadcast */
    int64_t da = i >= br - ba ? a->dims[i - (br - ba)] : 1;
    int64_t db = i >= br - bb ? b->dims[i - (br - bb)] : 1;
    if (known(da) && known(db) && da != db && da != 1 && db != 1) {
      char b1[160], b2[160];
      return qc_node_err(e, n, QC_ERR_INVALID,
                         "batch dimensions do not broadcast: A is %s, B is %s",
                         shape_str(a->rank, a->dims, b1, sizeof b1),
                         shape_str(b->rank, b->dims, b2, sizeof b2));
    }
    if (da == 1) dims[i] = db;
    else if (db == 1 || da == db) dims[i] = da;
    else if (known(da)) dims[i] = da; /* db unknown: it is 1 or da */
    else if (known(db)) dims[i] = db;
    else dims[i] = QC_DIM_UNKNOWN;
  }
  int r = br;
  if (a->rank > 1) dims[r++] = a->dims[a->rank - 2];
  if (b->rank > 1) dims[r++] = b->dims[b->rank - 1];
  qc_tinfo_set(&out[0], a->dtype, r, dims);
  return QC_OK;
}
