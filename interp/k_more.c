/* Reference kernels for the ops of QC_MORE_OPS (ONNX opset 17): Resize/Upsample, TopK,
 * OneHot, GatherND, Scatter*, the losses, EyeLike, Compress, NonZero, NonMaxSuppression,
 * RoiAlign, MaxUnpool, ReverseSequence, BitShift, Det, Einsum, Unique, the windows and
 * MeanVarianceNormalization. Written for clarity over speed: they serve conformance, training
 * losses and the detectors' post-processing, none of which is a hot loop. Arithmetic runs in
 * double and rounds once to the output dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "infer_more.h"
#include "kernels.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static qc_status bad_dtype(qc_kctx *k, const qc_node *n, qc_dtype t)
{
  return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                     qc_dtype_name(t));
}

static void to_tinfo(const qc_tensor *t, int n, qc_tinfo *ti)
{
  for (int i = 0; i < n; i++) {
    ti[i].dtype = t[i].dtype;
    ti[i].rank = t[i].rank;
    memcpy(ti[i].dims, t[i].dims, sizeof ti[i].dims);
    ti[i].data = t[i].data;
  }
}

static void strides_of(int rank, const int64_t *dims, int64_t *str)
{
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    str[d] = s;
    s *= dims[d];
  }
}

static qc_status need_scratch(qc_kctx *k, const qc_node *n, size_t bytes, void **p)
{
  *p = k->scratch ? k->scratch(k, bytes ? bytes : 1) : NULL;
  if (!*p)
    return qc_node_err(k->err, n, QC_ERR_NOMEM, "out of scratch memory (%zu bytes)", bytes);
  return QC_OK;
}

static qc_status elem_bytes(qc_kctx *k, const qc_node *n, qc_dtype t, int *es)
{
  *es = qc_dtype_elem_bytes(t);
  return *es ? QC_OK : bad_dtype(k, n, t);
}

static qc_status need_float(qc_kctx *k, const qc_node *n, qc_dtype t)
{
  return t == QC_DT_F32 || t == QC_DT_F64 ? QC_OK : bad_dtype(k, n, t);
}

/* Element i of an f32/f64 tensor, and its store. */
static inline double ldf(const qc_tensor *t, int64_t i)
{
  return t->dtype == QC_DT_F32 ? (double)((const float *)t->data)[i]
                               : ((const double *)t->data)[i];
}

static inline void stf(qc_tensor *t, int64_t i, double v)
{
  if (t->dtype == QC_DT_F32) ((float *)t->data)[i] = (float)v;
  else ((double *)t->data)[i] = v;
}

static inline int64_t ldi(const qc_tensor *t, int64_t i)
{
  return t->dtype == QC_DT_I32 ? ((const int32_t *)t->data)[i]
                               : ((const int64_t *)t->data)[i];
}

/* Index v against dim, negative counting from the end; false when out of range. */
static bool norm_index(int64_t v, int64_t dim, int64_t *out)
{
  if (v < -dim || v >= dim) return false;
  *out = v < 0 ? v + dim : v;
  return true;
}

static bool norm_axis(int64_t axis, int rank, int *out)
{
  if (axis < -(int64_t)rank || axis >= rank) return false;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

/* ---- Resize, Upsample ------------------------------------------------------------------- */

/* Cubic convolution weights for the 4 taps around ratio (Keys 1981, a = A). */
static void cubic_coeffs(double r, double A, double *c)
{
  double r1 = r + 1, s = 1 - r, s1 = s + 1;
  c[0] = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A;
  c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  c[2] = ((A + 2) * s - (A + 3)) * s * s + 1;
  c[3] = ((A * s1 - 5 * A) * s1 + 8 * A) * s1 - 4 * A;
}

/* Per output coordinate of one axis: up to 4 (input index, weight) taps, or extrapolation. */
typedef struct {
  int64_t idx[4];
  double w[4];
  int nt;       /* taps with nonzero weight */
  bool outside; /* tf_crop_and_resize sampled outside the input */
} rtap;

static qc_status k_resize(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)n_out;
  int r = in[0].rank;
  qc_tinfo ti[4];
  to_tinfo(in, n_in < 4 ? n_in : 4, ti);
  double scales[QC_MAX_RANK];
  int64_t od[QC_MAX_RANK];
  bool kn;
  qc_status st = qc_resize_resolve(n, ti, n_in, scales, od, &kn, k->err);
  if (st) return st;
  bool up = n->op == QC_OP_Upsample;
  const char *mode = qc_attr_s(n, "mode", "nearest");
  const char *ctm = up ? "asymmetric" : qc_attr_s(n, "coordinate_transformation_mode",
                                                   "half_pixel");
  const char *nm = up ? "floor" : qc_attr_s(n, "nearest_mode", "round_prefer_floor");
  double A = qc_attr_f(n, "cubic_coeff_a", -0.75f);
  bool excl = !up && qc_attr_i(n, "exclude_outside", 0) != 0;
  double extra = qc_attr_f(n, "extrapolation_value", 0.f);
  int taps = strcmp(mode, "nearest") == 0 ? 1 : strcmp(mode, "linear") == 0 ? 2
             : strcmp(mode, "cubic") == 0 ? 4 : 0;
  if (!taps) return qc_node_err(k->err, n, QC_ERR_INVALID, "unknown mode '%s'", mode);
  if (taps > 1 && (st = need_float(k, n, in[0].dtype))) return st;
  int es;
  if ((st = elem_bytes(k, n, in[0].dtype, &es))) return st;
  bool crop = strcmp(ctm, "tf_crop_and_resize") == 0;
  const qc_tensor *roi = !up && n_in > 1 && in[1].dtype != QC_DT_UNDEF ? &in[1] : NULL;
  if (crop && (!roi || qc_tensor_elems(roi) != 2 * r || (roi->dtype != QC_DT_F32 &&
                                                          roi->dtype != QC_DT_F64)))
    return qc_node_err(k->err, n, QC_ERR_INVALID,
                       "tf_crop_and_resize needs a float roi of %d entries", 2 * r);
  int64_t tot = 0;
  for (int d = 0; d < r; d++) tot += out[0].dims[d];
  rtap *tp;
  if ((st = need_scratch(k, n, sizeof(rtap) * (size_t)(tot + 1), (void **)&tp))) return st;
  rtap *axis_taps[QC_MAX_RANK];
  for (int d = 0, o = 0; d < r; o += (int)out[0].dims[d], d++) {
    axis_taps[d] = tp + o;
    int64_t len_in = in[0].dims[d], len_out = out[0].dims[d];
    double s = scales[d], wout = s * (double)len_in; /* the reference's float output length */
    for (int64_t x = 0; x < len_out; x++) {
      rtap *t = &axis_taps[d][x];
      double xo;
      memset(t, 0, sizeof *t);
      if (strcmp(ctm, "half_pixel") == 0) {
        xo = ((double)x + 0.5) / s - 0.5;
      } else if (strcmp(ctm, "pytorch_half_pixel") == 0) {
        xo = wout > 1 ? ((double)x + 0.5) / s - 0.5 : 0;
      } else if (strcmp(ctm, "align_corners") == 0) {
        xo = wout == 1 ? 0 : (double)x * (double)(len_in - 1) / (wout - 1);
      } else if (strcmp(ctm, "asymmetric") == 0) {
        xo = (double)x / s;
      } else if (strcmp(ctm, "tf_half_pixel_for_nn") == 0) {
        xo = ((double)x + 0.5) / s;
      } else if (crop) {
        double a = ldf(roi, d), b = ldf(roi, d + r);
        xo = wout == 1 ? (b - a) * (double)(len_in - 1) / 2
                       : (double)x * (b - a) * (double)(len_in - 1) / (wout - 1);
        xo += a * (double)(len_in - 1);
        if (xo < 0 || xo > (double)(len_in - 1)) {
          t->outside = true;
          continue;
        }
      } else {
        return qc_node_err(k->err, n, QC_ERR_INVALID,
                           "unknown coordinate_transformation_mode '%s'", ctm);
      }
      if (taps == 1) {
        double f = floor(xo), fr = xo - f;
        int64_t i;
        if (strcmp(nm, "round_prefer_floor") == 0) i = (int64_t)(fr <= 0.5 ? f : f + 1);
        else if (strcmp(nm, "round_prefer_ceil") == 0) i = (int64_t)(fr < 0.5 ? f : f + 1);
        else if (strcmp(nm, "floor") == 0) i = (int64_t)f;
        else if (strcmp(nm, "ceil") == 0) i = (int64_t)ceil(xo);
        else return qc_node_err(k->err, n, QC_ERR_INVALID, "unknown nearest_mode '%s'", nm);
        t->idx[0] = i < 0 ? 0 : i >= len_in ? len_in - 1 : i;
        t->w[0] = 1;
        t->nt = 1;
        continue;
      }
      /* Taps around base = ceil(x) - 1 with ratio in (0, 1]: the reference prefers the pixel on
         the left, so an integral x weights its own pixel by 1 as the right-hand tap. */
      double base = ceil(xo) - 1, ratio = xo - base, c[4];
      int64_t first;
      if (taps == 2) {
        c[0] = 1 - ratio, c[1] = ratio;
        first = (int64_t)base;
      } else {
        cubic_coeffs(ratio, A, c);
        first = (int64_t)base - 1;
      }
      if (excl) {
        double sum = 0;
        for (int j = 0; j < taps; j++) {
          if (first + j < 0 || first + j >= len_in) c[j] = 0;
          sum += c[j];
        }
        for (int j = 0; j < taps; j++) c[j] = sum != 0 ? c[j] / sum : 0;
      }
      for (int j = 0; j < taps; j++) {
        if (c[j] == 0) continue;
        int64_t i = first + j;
        t->idx[t->nt] = i < 0 ? 0 : i >= len_in ? len_in - 1 : i; /* edge padding */
        t->w[t->nt++] = c[j];
      }
    }
  }
  int64_t str[QC_MAX_RANK], total = qc_tensor_elems(&out[0]);
  strides_of(r, in[0].dims, str);
  int64_t idx[QC_MAX_RANK] = {0};
  for (int64_t o = 0; o < total; o++) {
    bool outside = false;
    for (int d = 0; d < r; d++) outside |= axis_taps[d][idx[d]].outside;
    if (outside) {
      if (taps == 1 && in[0].dtype != QC_DT_F32 && in[0].dtype != QC_DT_F64)
        qc_store_f64(out[0].dtype, out[0].data, o, 1, &extra);
      else stf(&out[0], o, extra);
    } else if (taps == 1) {
      int64_t off = 0;
      for (int d = 0; d < r; d++) off += axis_taps[d][idx[d]].idx[0] * str[d];
      memcpy((char *)out[0].data + o * es, (const char *)in[0].data + off * es, (size_t)es);
    } else {
      /* Sum over the product of every axis's taps (the separable interpolation). */
      int ti_[QC_MAX_RANK] = {0};
      double acc = 0;
      for (;;) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < r; d++) {
          const rtap *t = &axis_taps[d][idx[d]];
          w *= t->w[ti_[d]];
          off += t->idx[ti_[d]] * str[d];
        }
        acc += w * ldf(&in[0], off);
        int d = r - 1;
        for (; d >= 0; d--) {
          if (++ti_[d] < axis_taps[d][idx[d]].nt) break;
          ti_[d] = 0;
        }
        if (d < 0) break;
      }
      stf(&out[0], o, acc);
    }
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < out[0].dims[d]) break;
      idx[d] = 0;
    }
  }
  return QC_OK;
}

/* ---- TopK ------------------------------------------------------------------------------- */

typedef struct {
  double v;
  int64_t i;
} vi;

/* Ties keep the lower index first (the spec's order for equal values). */
static int cmp_desc(const void *a, const void *b)
{
  const vi *x = a, *y = b;
  if (x->v != y->v) return x->v > y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_asc(const void *a, const void *b)
{
  const vi *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static qc_status k_topk(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int r = in[0].rank, axis, es;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st) return st;
  if (!qc_dtype_is_float(in[0].dtype) && !qc_dtype_is_int(in[0].dtype))
    return bad_dtype(k, n, in[0].dtype);
  if (!norm_axis(qc_attr_i(n, "axis", -1), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  bool largest = qc_attr_i(n, "largest", 1) != 0;
  int64_t dim = in[0].dims[axis], kk = out[0].dims[axis], outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  vi *buf;
  if ((st = need_scratch(k, n, sizeof(vi) * (size_t)(dim + 1), (void **)&buf))) return st;
  int64_t *oi = out[1].data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++) {
      for (int64_t i = 0; i < dim; i++) {
        qc_load_f64(in[0].dtype, in[0].data, (o * dim + i) * inner + j, 1, &buf[i].v);
        buf[i].i = i;
      }
      qsort(buf, (size_t)dim, sizeof *buf, largest ? cmp_desc : cmp_asc);
      for (int64_t i = 0; i < kk; i++) {
        int64_t dst = (o * kk + i) * inner + j, src = (o * dim + buf[i].i) * inner + j;
        memcpy((char *)out[0].data + dst * es, (const char *)in[0].data + src * es, (size_t)es);
        oi[dst] = buf[i].i;
      }
    }
  return QC_OK;
}

/* ---- OneHot, EyeLike, windows ----------------------------------------------------------- */

static qc_status k_onehot(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es, axis, r = in[0].rank;
  qc_status st = elem_bytes(k, n, out[0].dtype, &es);
  if (st) return st;
  if (!norm_axis(qc_attr_i(n, "axis", -1), r + 1, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r + 1);
  if (!qc_dtype_is_float(in[0].dtype) && !qc_dtype_is_int(in[0].dtype))
    return bad_dtype(k, n, in[0].dtype);
  int64_t depth = out[0].dims[axis], outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis; d < r; d++) inner *= in[0].dims[d];
  const char *off = in[2].data, *on = (const char *)in[2].data + es;
  char *o = out[0].data;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t j = 0; j < inner; j++) {
      double v;
      qc_load_f64(in[0].dtype, in[0].data, a * inner + j, 1, &v);
      int64_t hot = -1;
      if (isfinite(v)) {
        int64_t iv = (int64_t)v; /* truncated, as a cast to int64 */
        if (!norm_index(iv, depth, &hot)) hot = -1;
      }
      for (int64_t d = 0; d < depth; d++)
        memcpy(o + ((a * depth + d) * inner + j) * es, d == hot ? on : off, (size_t)es);
    }
  return QC_OK;
}

static qc_status k_eyelike(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  (void)in, (void)n_in, (void)n_out;
  int es;
  qc_status st = elem_bytes(k, n, out[0].dtype, &es);
  if (st) return st;
  int64_t rows = out[0].dims[0], cols = out[0].dims[1], kd = qc_attr_i(n, "k", 0);
  memset(out[0].data, 0, (size_t)(rows * cols * es));
  if (kd <= -rows || kd >= cols) return QC_OK; /* the diagonal misses the matrix */
  double one = 1;
  for (int64_t i = 0; i < rows; i++)
    if (i + kd >= 0 && i + kd < cols)
      qc_store_f64(out[0].dtype, out[0].data, i * cols + i + kd, 1, &one);
  return QC_OK;
}

static qc_status k_window(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)in, (void)n_in, (void)n_out;
  if (!qc_dtype_is_float(out[0].dtype) && !qc_dtype_is_int(out[0].dtype))
    return bad_dtype(k, n, out[0].dtype);
  int64_t len = out[0].dims[0];
  /* Periodic windows are the first len points of a symmetric window of len + 1. */
  double den = qc_attr_i(n, "periodic", 1) ? (double)len : (double)(len - 1);
  for (int64_t i = 0; i < len; i++) {
    double x = den > 0 ? 2 * M_PI * (double)i / den : 0, v;
    if (n->op == QC_OP_HannWindow) v = 0.5 - 0.5 * cos(x);
    else if (n->op == QC_OP_HammingWindow) v = 25.0 / 46.0 - (1 - 25.0 / 46.0) * cos(x);
    else v = 0.42 - 0.5 * cos(x) + 0.08 * cos(2 * x);
    qc_store_f64(out[0].dtype, out[0].data, i, 1, &v);
  }
  return QC_OK;
}

/* ---- GatherND, Scatter* ----------------------------------------------------------------- */

static qc_status k_gather_nd(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es, r = in[0].rank, q = in[1].rank;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st) return st;
  int b = (int)qc_attr_i(n, "batch_dims", 0);
  int64_t last = in[1].dims[q - 1], str[QC_MAX_RANK], nb = 1, nt = 1, slice = 1;
  strides_of(r, in[0].dims, str);
  for (int d = 0; d < b; d++) nb *= in[0].dims[d];
  for (int d = b; d < q - 1; d++) nt *= in[1].dims[d];
  for (int d = b + (int)last; d < r; d++) slice *= in[0].dims[d];
  int64_t bstride = b > 0 ? str[b - 1] : 0;
  char *o = out[0].data;
  for (int64_t bi = 0; bi < nb; bi++)
    for (int64_t t = 0; t < nt; t++) {
      int64_t off = bi * bstride, row = (bi * nt + t) * last;
      for (int64_t j = 0; j < last; j++) {
        int64_t v = ldi(&in[1], row + j), dim = in[0].dims[b + j], w;
        if (!norm_index(v, dim, &w))
          return qc_node_err(k->err, n, QC_ERR_INVALID,
                             "index %lld out of range for axis %d of size %lld", (long long)v,
                             b + (int)j, (long long)dim);
        off += w * str[b + j];
      }
      memcpy(o + (bi * nt + t) * slice * es, (const char *)in[0].data + off * es,
             (size_t)(slice * es));
    }
  return QC_OK;
}

typedef enum { RED_NONE, RED_ADD, RED_MUL } red_kind;

static qc_status red_of(qc_kctx *k, const qc_node *n, qc_dtype t, red_kind *rk)
{
  const char *s = n->op == QC_OP_Scatter ? "none" : qc_attr_s(n, "reduction", "none");
  *rk = strcmp(s, "add") == 0 ? RED_ADD : strcmp(s, "mul") == 0 ? RED_MUL : RED_NONE;
  if (*rk == RED_NONE && strcmp(s, "none"))
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "reduction '%s' is not supported", s);
  if (*rk != RED_NONE && t != QC_DT_F32 && t != QC_DT_F64 && t != QC_DT_I32 && t != QC_DT_I64)
    return bad_dtype(k, n, t);
  return QC_OK;
}

/* dst[i] (op)= src[j] for one element. */
static void red_apply(qc_dtype t, red_kind rk, void *dst, int64_t i, const void *src, int64_t j,
                      int es)
{
  if (rk == RED_NONE) {
    memcpy((char *)dst + i * es, (const char *)src + j * es, (size_t)es);
    return;
  }
#define RED_CASE(DT, T)                                                   \
  case DT: {                                                              \
    T *d = (T *)dst + i, s = ((const T *)src)[j];                         \
    if (rk == RED_ADD) *d = (T)(*d + s);                                  \
    else *d = (T)(*d * s);                                                \
    break;                                                                \
  }
  switch (t) {
    RED_CASE(QC_DT_F32, float)
    RED_CASE(QC_DT_F64, double)
    case QC_DT_I32: { /* wrap rather than overflow */
      int32_t *d = (int32_t *)dst + i, s = ((const int32_t *)src)[j];
      *d = (int32_t)(rk == RED_ADD ? (uint32_t)*d + (uint32_t)s : (uint32_t)*d * (uint32_t)s);
      break;
    }
    case QC_DT_I64: {
      int64_t *d = (int64_t *)dst + i, s = ((const int64_t *)src)[j];
      *d = (int64_t)(rk == RED_ADD ? (uint64_t)*d + (uint64_t)s : (uint64_t)*d * (uint64_t)s);
      break;
    }
    default: break;
  }
#undef RED_CASE
}

static qc_status k_scatter_nd(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                              qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es, r = in[0].rank, q = in[1].rank;
  red_kind rk;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st || (st = red_of(k, n, in[0].dtype, &rk))) return st;
  int64_t last = q > 0 ? in[1].dims[q - 1] : 0;
  if (q < 1 || last < 1 || last > r)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "indices' last dim must be in [1, %d]", r);
  /* updates.shape == indices.shape[:-1] + data.shape[last:] */
  int ur = q - 1 + r - (int)last;
  bool ok = in[2].rank == ur;
  for (int d = 0; ok && d < q - 1; d++) ok = in[2].dims[d] == in[1].dims[d];
  for (int d = (int)last; ok && d < r; d++) ok = in[2].dims[q - 1 + d - last] == in[0].dims[d];
  if (!ok)
    return qc_node_err(k->err, n, QC_ERR_INVALID,
                       "updates must have shape indices.shape[:-1] + data.shape[%lld:]",
                       (long long)last);
  int64_t str[QC_MAX_RANK], nu = 1, slice = 1;
  strides_of(r, in[0].dims, str);
  for (int d = 0; d < q - 1; d++) nu *= in[1].dims[d];
  for (int d = (int)last; d < r; d++) slice *= in[0].dims[d];
  memcpy(out[0].data, in[0].data, (size_t)qc_tensor_bytes(&in[0]));
  for (int64_t u = 0; u < nu; u++) {
    int64_t off = 0;
    for (int64_t j = 0; j < last; j++) {
      int64_t v = ldi(&in[1], u * last + j), w;
      if (!norm_index(v, in[0].dims[j], &w))
        return qc_node_err(k->err, n, QC_ERR_INVALID,
                           "index %lld out of range for axis %d of size %lld", (long long)v,
                           (int)j, (long long)in[0].dims[j]);
      off += w * str[j];
    }
    for (int64_t s = 0; s < slice; s++)
      red_apply(in[0].dtype, rk, out[0].data, off + s, in[2].data, u * slice + s, es);
  }
  return QC_OK;
}

static qc_status k_scatter_elements(qc_kctx *k, const qc_node *n, const qc_tensor *in,
                                    int n_in, qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es, r = in[0].rank, axis;
  red_kind rk;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st || (st = red_of(k, n, in[0].dtype, &rk))) return st;
  if (!norm_axis(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  for (int d = 0; d < r; d++)
    if (in[1].dims[d] != in[2].dims[d] || (d != axis && in[1].dims[d] > in[0].dims[d]))
      return qc_node_err(k->err, n, QC_ERR_INVALID,
                         "indices and updates must have one shape within the data's");
  int64_t str[QC_MAX_RANK], idx[QC_MAX_RANK] = {0}, total = qc_tensor_elems(&in[1]);
  strides_of(r, in[0].dims, str);
  memcpy(out[0].data, in[0].data, (size_t)qc_tensor_bytes(&in[0]));
  for (int64_t i = 0; i < total; i++) {
    int64_t v = ldi(&in[1], i), w, off = 0;
    if (!norm_index(v, in[0].dims[axis], &w))
      return qc_node_err(k->err, n, QC_ERR_INVALID,
                         "index %lld out of range for axis %d of size %lld", (long long)v, axis,
                         (long long)in[0].dims[axis]);
    for (int d = 0; d < r; d++) off += (d == axis ? w : idx[d]) * str[d];
    red_apply(in[0].dtype, rk, out[0].data, off, in[2].data, i, es);
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < in[1].dims[d]) break;
      idx[d] = 0;
    }
  }
  return QC_OK;
}

/* ---- losses ----------------------------------------------------------------------------- */

/* NLL over log-probabilities lp ([N, C, D] flattened): loss[n, d] = -lp[n, t, d] * w[t], with
   ignored targets contributing neither loss nor weight; "mean" divides by the summed weights. */
static qc_status nll(qc_kctx *k, const qc_node *n, const qc_tensor *lp, const qc_tensor *tgt,
                     const qc_tensor *wt, qc_tensor *out)
{
  int64_t N = lp->dims[0], C = lp->dims[1], D = 1;
  for (int d = 2; d < lp->rank; d++) D *= lp->dims[d];
  const qc_attr *ia = qc_node_attr(n, "ignore_index");
  int64_t ii = ia ? qc_attr_i(n, "ignore_index", 0) : 0;
  const char *red = qc_attr_s(n, "reduction", "mean");
  bool none = strcmp(red, "none") == 0, mean = strcmp(red, "mean") == 0;
  double sum = 0, wsum = 0;
  for (int64_t b = 0; b < N; b++)
    for (int64_t d = 0; d < D; d++) {
      int64_t t = ldi(tgt, b * D + d);
      double loss = 0, w = 0;
      if (!(ia && t == ii)) {
        if (t < 0 || t >= C)
          return qc_node_err(k->err, n, QC_ERR_INVALID,
                             "target %lld is out of range for %lld classes", (long long)t,
                             (long long)C);
        w = wt ? ldf(wt, t) : 1;
        loss = -ldf(lp, (b * C + t) * D + d) * w;
      }
      if (none) stf(out, b * D + d, loss);
      sum += loss;
      wsum += w;
    }
  if (!none) stf(out, 0, mean ? sum / wsum : sum);
  return QC_OK;
}

static qc_status loss_check(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            const qc_tensor **wt)
{
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  if (in[1].dtype != QC_DT_I64 && in[1].dtype != QC_DT_I32) return bad_dtype(k, n, in[1].dtype);
  *wt = n_in > 2 && in[2].dtype != QC_DT_UNDEF ? &in[2] : NULL;
  return QC_OK;
}

static qc_status k_nll(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_out;
  const qc_tensor *wt = NULL;
  qc_status st = loss_check(k, n, in, n_in, &wt);
  return st ? st : nll(k, n, &in[0], &in[1], wt, &out[0]);
}

static qc_status k_sce(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  const qc_tensor *wt = NULL;
  qc_status st = loss_check(k, n, in, n_in, &wt);
  if (st) return st;
  qc_tensor lp = in[0];
  if (n_out > 1 && out[1].dtype != QC_DT_UNDEF) {
    lp.data = out[1].data;
  } else if ((st = need_scratch(k, n, (size_t)qc_tensor_bytes(&in[0]), &lp.data))) {
    return st;
  }
  /* log_softmax over axis 1: x - max - log(sum(exp(x - max))) */
  int64_t N = in[0].dims[0], C = in[0].dims[1], D = 1;
  for (int d = 2; d < in[0].rank; d++) D *= in[0].dims[d];
  for (int64_t b = 0; b < N; b++)
    for (int64_t d = 0; d < D; d++) {
      double mx = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; c++) mx = fmax(mx, ldf(&in[0], (b * C + c) * D + d));
      for (int64_t c = 0; c < C; c++) s += exp(ldf(&in[0], (b * C + c) * D + d) - mx);
      double ls = log(s);
      for (int64_t c = 0; c < C; c++)
        stf(&lp, (b * C + c) * D + d, ldf(&in[0], (b * C + c) * D + d) - mx - ls);
    }
  return nll(k, n, &lp, &in[1], wt, &out[0]);
}

/* ---- Compress, NonZero, ReverseSequence ------------------------------------------------- */

static qc_status k_compress(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es, axis = -1, r = in[0].rank;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st) return st;
  int64_t outer = 1, dim = qc_tensor_elems(&in[0]), inner = 1;
  if (qc_node_attr(n, "axis")) {
    if (!norm_axis(qc_attr_i(n, "axis", 0), r, &axis))
      return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
    dim = in[0].dims[axis];
    for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
    for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  }
  const uint8_t *c = in[1].data;
  int64_t nc = qc_tensor_elems(&in[1]), kept = 0;
  for (int64_t i = 0; i < nc && i < dim; i++) kept += c[i] != 0;
  char *o = out[0].data;
  for (int64_t a = 0; a < outer; a++) {
    int64_t j = 0;
    for (int64_t i = 0; i < nc && i < dim; i++)
      if (c[i])
        memcpy(o + ((a * kept + j++) * inner) * es,
               (const char *)in[0].data + ((a * dim + i) * inner) * es, (size_t)(inner * es));
  }
  return QC_OK;
}

static qc_status k_nonzero(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  if (in[0].dtype != QC_DT_BOOL && !qc_dtype_is_float(in[0].dtype) &&
      !qc_dtype_is_int(in[0].dtype))
    return bad_dtype(k, n, in[0].dtype);
  int r = in[0].rank;
  int64_t total = qc_tensor_elems(&in[0]), cnt = out[0].dims[1], j = 0, idx[QC_MAX_RANK] = {0};
  int64_t *o = out[0].data;
  for (int64_t i = 0; i < total; i++) {
    double v;
    qc_load_f64(in[0].dtype, in[0].data, i, 1, &v);
    if (v != 0 && j < cnt) {
      if (r == 0) o[j] = 0;
      for (int d = 0; d < r; d++) o[d * cnt + j] = idx[d];
      j++;
    }
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < in[0].dims[d]) break;
      idx[d] = 0;
    }
  }
  return QC_OK;
}

static qc_status k_reverse_sequence(qc_kctx *k, const qc_node *n, const qc_tensor *in,
                                    int n_in, qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st) return st;
  int ba = (int)qc_attr_i(n, "batch_axis", 1), ta = (int)qc_attr_i(n, "time_axis", 0);
  int64_t nb = in[0].dims[ba], nt = in[0].dims[ta], inner = 1;
  for (int d = 2; d < in[0].rank; d++) inner *= in[0].dims[d];
  if (qc_tensor_elems(&in[1]) != nb)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "sequence_lens has %lld entries for a batch "
                       "of %lld", (long long)qc_tensor_elems(&in[1]), (long long)nb);
  memcpy(out[0].data, in[0].data, (size_t)qc_tensor_bytes(&in[0]));
  for (int64_t b = 0; b < nb; b++) {
    int64_t len = ldi(&in[1], b);
    if (len < 0 || len > nt)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "sequence length %lld is out of [0, %lld]",
                         (long long)len, (long long)nt);
    for (int64_t t = 0; t < len; t++) {
      int64_t dst = ta == 0 ? t * nb + b : b * nt + t;
      int64_t src = ta == 0 ? (len - 1 - t) * nb + b : b * nt + (len - 1 - t);
      memcpy((char *)out[0].data + dst * inner * es, (const char *)in[0].data + src * inner * es,
             (size_t)(inner * es));
    }
  }
  return QC_OK;
}

/* ---- NonMaxSuppression, RoiAlign, MaxUnpool --------------------------------------------- */

static qc_status k_nms(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_out;
  qc_tinfo ti[5];
  to_tinfo(in, n_in < 5 ? n_in : 5, ti);
  int64_t cnt;
  qc_status st = qc_nms_select(n, ti, n_in, out[0].data, &cnt, k->err);
  if (st) return st;
  if (cnt != out[0].dims[0])
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "selected %lld boxes, inferred %lld",
                       (long long)cnt, (long long)out[0].dims[0]);
  return QC_OK;
}

static qc_status k_roi_align(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st || (st = need_float(k, n, in[1].dtype))) return st;
  int64_t N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
  int64_t R = in[1].dims[0], PH = out[0].dims[2], PW = out[0].dims[3];
  if ((H < 1 || W < 1) && R > 0 && C > 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "X has an empty spatial dim");
  if (qc_tensor_elems(&in[2]) != R)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "batch_indices has %lld entries for %lld rois",
                       (long long)qc_tensor_elems(&in[2]), (long long)R);
  bool half = strcmp(qc_attr_s(n, "coordinate_transformation_mode", "half_pixel"),
                     "half_pixel") == 0;
  bool avg = strcmp(qc_attr_s(n, "mode", "avg"), "avg") == 0;
  double scale = qc_attr_f(n, "spatial_scale", 1.f), off = half ? 0.5 : 0;
  int64_t sr = qc_attr_i(n, "sampling_ratio", 0);
  for (int64_t ri = 0; ri < R; ri++) {
    int64_t b = ldi(&in[2], ri);
    if (b < 0 || b >= N)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "batch index %lld is out of range for %lld "
                         "images", (long long)b, (long long)N);
    double x0 = ldf(&in[1], ri * 4) * scale - off, y0 = ldf(&in[1], ri * 4 + 1) * scale - off;
    double x1 = ldf(&in[1], ri * 4 + 2) * scale - off, y1 = ldf(&in[1], ri * 4 + 3) * scale - off;
    double rw = x1 - x0, rh = y1 - y0;
    if (!half) rw = fmax(rw, 1), rh = fmax(rh, 1); /* legacy: at least one pixel */
    double bh = rh / (double)PH, bw = rw / (double)PW;
    int64_t gh = sr > 0 ? sr : (int64_t)ceil(rh / (double)PH);
    int64_t gw = sr > 0 ? sr : (int64_t)ceil(rw / (double)PW);
    if (gh < 0) gh = 0;
    if (gw < 0) gw = 0;
    double count = (double)(gh * gw > 1 ? gh * gw : 1);
    for (int64_t c = 0; c < C; c++) {
      const int64_t plane = (b * C + c) * H * W;
      for (int64_t ph = 0; ph < PH; ph++)
        for (int64_t pw = 0; pw < PW; pw++) {
          double acc = 0;
          bool first = true;
          for (int64_t iy = 0; iy < gh; iy++)
            for (int64_t ix = 0; ix < gw; ix++) {
              /* Bilinear sample at the sub-bin centre (Mask R-CNN's RoIAlign). */
              double y = y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
              double x = x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
              double v[4] = {0, 0, 0, 0}, w[4] = {0, 0, 0, 0};
              if (!(y < -1.0 || y > (double)H || x < -1.0 || x > (double)W)) {
                if (y <= 0) y = 0;
                if (x <= 0) x = 0;
                int64_t yl = (int64_t)y, xl = (int64_t)x, yh, xh;
                if (yl >= H - 1) yh = yl = H - 1, y = (double)yl;
                else yh = yl + 1;
                if (xl >= W - 1) xh = xl = W - 1, x = (double)xl;
                else xh = xl + 1;
                double ly = y - (double)yl, lx = x - (double)xl, hy = 1 - ly, hx = 1 - lx;
                w[0] = hy * hx, w[1] = hy * lx, w[2] = ly * hx, w[3] = ly * lx;
                v[0] = ldf(&in[0], plane + yl * W + xl), v[1] = ldf(&in[0], plane + yl * W + xh);
                v[2] = ldf(&in[0], plane + yh * W + xl), v[3] = ldf(&in[0], plane + yh * W + xh);
              }
              if (avg) {
                acc += w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + w[3] * v[3];
              } else {
                double m = fmax(fmax(w[0] * v[0], w[1] * v[1]), fmax(w[2] * v[2], w[3] * v[3]));
                acc = first ? m : fmax(acc, m);
                first = false;
              }
            }
          stf(&out[0], ((ri * C + c) * PH + ph) * PW + pw, avg ? acc / count : acc);
        }
    }
  }
  return QC_OK;
}

static qc_status k_max_unpool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                              qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int es;
  qc_status st = elem_bytes(k, n, in[0].dtype, &es);
  if (st) return st;
  int64_t total = qc_tensor_elems(&in[0]);
  if (qc_tensor_elems(&in[1]) != total)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "indices must have X's shape");
  /* Indices address the unpooled shape that kernel, strides and pads imply (MaxPool's input);
     an explicit output_shape only pads that shape at the end of each axis. */
  int r = in[0].rank;
  const int64_t *ks, *pads, *strides;
  int64_t nk = qc_attr_ints(n, "kernel_shape", &ks), np = qc_attr_ints(n, "pads", &pads),
          ns = qc_attr_ints(n, "strides", &strides);
  if (nk != r - 2 || (np >= 0 && np != 2 * nk) || (ns >= 0 && ns != nk))
    return qc_node_err(k->err, n, QC_ERR_INVALID,
                       "kernel_shape, pads and strides must match the %d spatial dims", r - 2);
  int64_t def[QC_MAX_RANK], on = 1;
  def[0] = in[0].dims[0], def[1] = in[0].dims[1];
  for (int d = 0; d < nk; d++)
    def[d + 2] = (in[0].dims[d + 2] - 1) * (ns >= 0 ? strides[d] : 1) + ks[d] -
                 (np >= 0 ? pads[d] + pads[d + nk] : 0);
  for (int d = 0; d < r; d++) {
    if (def[d] < 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "the unpooled shape is empty along axis %d", d);
    if (def[d] > out[0].dims[d])
      return qc_node_err(k->err, n, QC_ERR_INVALID, "output_shape is smaller than the "
                         "unpooled shape along axis %d", d);
    on *= def[d];
  }
  int64_t ostr[QC_MAX_RANK];
  strides_of(r, out[0].dims, ostr);
  memset(out[0].data, 0, (size_t)qc_tensor_bytes(&out[0]));
  for (int64_t i = 0; i < total; i++) {
    int64_t j = ldi(&in[1], i), off = 0;
    if (j < 0 || j >= on)
      return qc_node_err(k->err, n, QC_ERR_INVALID,
                         "index %lld is out of range for an output of %lld elements",
                         (long long)j, (long long)on);
    for (int d = r - 1; d >= 0; d--) off += (j % def[d]) * ostr[d], j /= def[d];
    memcpy((char *)out[0].data + off * es, (const char *)in[0].data + i * es, (size_t)es);
  }
  return QC_OK;
}

/* ---- BitShift, Det ---------------------------------------------------------------------- */

/* Element offset in an input right-aligned to the output index, broadcasting size-1 dims. */
static int64_t bcast_off(const qc_tensor *t, int orank, const int64_t *idx)
{
  int64_t off = 0, s = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    int od = d + orank - t->rank;
    if (t->dims[d] != 1) off += idx[od] * s;
    s *= t->dims[d];
  }
  return off;
}

static qc_status k_bitshift(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_dtype t = in[0].dtype;
  if (t != QC_DT_U8 && t != QC_DT_U16 && t != QC_DT_U32 && t != QC_DT_U64)
    return bad_dtype(k, n, t);
  const char *dir = qc_attr_s(n, "direction", "");
  bool left = strcmp(dir, "LEFT") == 0;
  if (!left && strcmp(dir, "RIGHT"))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "direction '%s' must be LEFT or RIGHT", dir);
  int bits = qc_dtypes[t].bits, r = out[0].rank;
  int64_t total = qc_tensor_elems(&out[0]), idx[QC_MAX_RANK] = {0};
  for (int64_t i = 0; i < total; i++) {
    int64_t x, y;
    qc_load_i64(t, in[0].data, bcast_off(&in[0], r, idx), 1, &x);
    qc_load_i64(t, in[1].data, bcast_off(&in[1], r, idx), 1, &y);
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y, v;
    if (uy >= (uint64_t)bits) v = 0; /* shifting every bit out (C leaves it undefined) */
    else v = left ? ux << uy : ux >> uy;
    int64_t sv = (int64_t)v;
    qc_store_i64(t, out[0].data, i, 1, &sv);
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < out[0].dims[d]) break;
      idx[d] = 0;
    }
  }
  return QC_OK;
}

static qc_status k_det(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  int r = in[0].rank;
  int64_t m = in[0].dims[r - 1], nm = qc_tensor_elems(&out[0]);
  double *a;
  if ((st = need_scratch(k, n, sizeof(double) * (size_t)(m * m), (void **)&a))) return st;
  for (int64_t b = 0; b < nm; b++) {
    for (int64_t i = 0; i < m * m; i++) a[i] = ldf(&in[0], b * m * m + i);
    /* LU with partial pivoting: det = sign * prod(diag U). */
    double det = 1;
    for (int64_t c = 0; c < m && det != 0; c++) {
      int64_t p = c;
      for (int64_t i = c + 1; i < m; i++)
        if (fabs(a[i * m + c]) > fabs(a[p * m + c])) p = i;
      if (a[p * m + c] == 0) {
        det = 0;
        break;
      }
      if (p != c) {
        for (int64_t j = 0; j < m; j++) {
          double t = a[c * m + j];
          a[c * m + j] = a[p * m + j], a[p * m + j] = t;
        }
        det = -det;
      }
      det *= a[c * m + c];
      for (int64_t i = c + 1; i < m; i++) {
        double f = a[i * m + c] / a[c * m + c];
        for (int64_t j = c; j < m; j++) a[i * m + j] -= f * a[c * m + j];
      }
    }
    stf(&out[0], b, det);
  }
  return QC_OK;
}

/* ---- Einsum ----------------------------------------------------------------------------- */

static qc_status k_einsum(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)n_out;
  qc_status st = need_float(k, n, out[0].dtype);
  if (st) return st;
  if (n_in > 8) return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "at most 8 operands");
  qc_tinfo ti[8];
  to_tinfo(in, n_in, ti);
  qc_einsum_plan p;
  if ((st = qc_einsum_parse(n, ti, n_in, &p, k->err))) return st;
  /* Loop labels: the output's, then the summed ones. */
  int loop[QC_EINSUM_LABELS], nl = 0;
  bool used[QC_EINSUM_LABELS] = {false};
  for (int i = 0; i < p.out_rank; i++) loop[nl++] = p.out_lab[i], used[p.out_lab[i]] = true;
  for (int l = 0; l < QC_EINSUM_LABELS; l++)
    if (p.dim[l] >= 0 && !used[l]) loop[nl++] = l;
  /* Per operand and loop label: the element stride (a repeated label walks a diagonal; a
     broadcast ellipsis dim of size 1 does not move). */
  int64_t lstr[8][QC_EINSUM_LABELS];
  for (int t = 0; t < n_in; t++) {
    int64_t str[QC_MAX_RANK];
    strides_of(in[t].rank, in[t].dims, str);
    for (int j = 0; j < nl; j++) {
      lstr[t][j] = 0;
      for (int i = 0; i < p.rank[t]; i++)
        if (p.lab[t][i] == loop[j] && in[t].dims[i] != 1) lstr[t][j] += str[i];
    }
  }
  int64_t total = qc_tensor_elems(&out[0]), inner = 1;
  for (int j = p.out_rank; j < nl; j++) inner *= p.dim[loop[j]];
  int64_t idx[QC_EINSUM_LABELS] = {0};
  for (int64_t o = 0; o < total; o++) {
    double acc = 0;
    for (int j = p.out_rank; j < nl; j++) idx[j] = 0;
    for (int64_t s = 0; s < inner; s++) {
      double prod = 1;
      for (int t = 0; t < n_in; t++) {
        int64_t off = 0;
        for (int j = 0; j < nl; j++) off += idx[j] * lstr[t][j];
        prod *= ldf(&in[t], off);
      }
      acc += prod;
      for (int j = nl - 1; j >= p.out_rank; j--) {
        if (++idx[j] < p.dim[loop[j]]) break;
        idx[j] = 0;
      }
    }
    stf(&out[0], o, acc);
    for (int j = p.out_rank - 1; j >= 0; j--) {
      if (++idx[j] < p.dim[loop[j]]) break;
      idx[j] = 0;
    }
  }
  return QC_OK;
}

/* ---- Unique, MeanVarianceNormalization -------------------------------------------------- */

static qc_status k_unique(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  (void)n_in;
  int axis = -1;
  if (qc_node_attr(n, "axis") && !norm_axis(qc_attr_i(n, "axis", 0), in[0].rank, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d",
                       in[0].rank);
  if (!qc_dtype_elem_bytes(in[0].dtype)) return bad_dtype(k, n, in[0].dtype);
  qc_tinfo ti;
  to_tinfo(in, 1, &ti);
  void *o[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < n_out && i < 4; i++)
    if (out[i].dtype != QC_DT_UNDEF) o[i] = out[i].data;
  int64_t cnt;
  return qc_unique_compute(n, &ti, axis, &cnt, o[0], o[1], o[2], o[3], k->err);
}

static qc_status k_mvn(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  int r = in[0].rank;
  bool red[QC_MAX_RANK] = {false};
  const int64_t *ax;
  int64_t na = qc_attr_ints(n, "axes", &ax);
  static const int64_t dflt[] = {0, 2, 3};
  if (na < 0) ax = dflt, na = 3;
  for (int64_t i = 0; i < na; i++) {
    int a;
    if (!norm_axis(ax[i], r, &a))
      return qc_node_err(k->err, n, QC_ERR_INVALID, "axis %lld is out of range for rank %d",
                         (long long)ax[i], r);
    red[a] = true;
  }
  /* Group id of an element: its index over the kept axes. */
  int64_t groups = 1, total = qc_tensor_elems(&in[0]), gstr[QC_MAX_RANK];
  for (int d = r - 1; d >= 0; d--) {
    gstr[d] = red[d] ? 0 : groups;
    if (!red[d]) groups *= in[0].dims[d];
  }
  double *acc;
  if ((st = need_scratch(k, n, sizeof(double) * 2 * (size_t)groups, (void **)&acc))) return st;
  memset(acc, 0, sizeof(double) * 2 * (size_t)groups);
  double per = (double)total / (double)groups;
  for (int pass = 0; pass < 2; pass++) {
    int64_t idx[QC_MAX_RANK] = {0};
    for (int64_t i = 0; i < total; i++) {
      int64_t g = 0;
      for (int d = 0; d < r; d++) g += idx[d] * gstr[d];
      double x = ldf(&in[0], i);
      if (pass == 0) {
        acc[2 * g] += x, acc[2 * g + 1] += x * x;
      } else {
        /* As the ONNX function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9). */
        double mu = acc[2 * g] / per, var = acc[2 * g + 1] / per - mu * mu;
        stf(&out[0], i, (x - mu) / (sqrt(var > 0 ? var : 0) + 1e-9));
      }
      for (int d = r - 1; d >= 0; d--) {
        if (++idx[d] < in[0].dims[d]) break;
        idx[d] = 0;
      }
    }
  }
  return QC_OK;
}

/* ---- GridSample ------------------------------------------------------------------------- */

/* Reflects x into [lo2 / 2, hi2 / 2] (bounds given doubled, as PyTorch's grid_sample). */
static double reflect(double x, double lo2, double hi2)
{
  if (lo2 == hi2) return 0;
  double mn = lo2 / 2, span = (hi2 - lo2) / 2;
  x = fabs(x - mn);
  double extra = fmod(x, span), flips = floor(x / span);
  return fmod(flips, 2) == 0 ? extra + mn : span - extra + mn;
}

typedef struct {
  int pad; /* 0 zeros, 1 border, 2 reflection */
  bool align;
} gs_mode;

/* A source coordinate under the padding mode (border and reflection land inside). */
static double gs_pad(const gs_mode *m, double x, int64_t size)
{
  if (m->pad == 1) return fmin(fmax(x, 0), (double)(size - 1));
  if (m->pad == 2) {
    x = m->align ? reflect(x, 0, 2.0 * (double)(size - 1)) : reflect(x, -1, 2.0 * (double)size - 1);
    return fmin(fmax(x, 0), (double)(size - 1));
  }
  return x;
}

/* Pixel (y, x) of a plane, 0 outside. */
static double gs_at(const qc_tensor *t, int64_t plane, int64_t H, int64_t W, int64_t y, int64_t x)
{
  return y < 0 || y >= H || x < 0 || x >= W ? 0 : ldf(t, plane + y * W + x);
}

static double cc1(double x, double A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static double cc2(double x, double A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static qc_status k_grid_sample(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                               qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  const char *mode = qc_attr_s(n, "mode", "bilinear"), *pm = qc_attr_s(n, "padding_mode", "zeros");
  int im = strcmp(mode, "bilinear") == 0 ? 0 : strcmp(mode, "nearest") == 0 ? 1
           : strcmp(mode, "bicubic") == 0 ? 2 : -1;
  gs_mode m = {strcmp(pm, "zeros") == 0 ? 0 : strcmp(pm, "border") == 0 ? 1
               : strcmp(pm, "reflection") == 0 ? 2 : -1, qc_attr_i(n, "align_corners", 0) != 0};
  if (im < 0 || m.pad < 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "unknown mode '%s' or padding_mode '%s'", mode,
                       pm);
  int64_t N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
  int64_t HO = out[0].dims[2], WO = out[0].dims[3];
  if (in[1].dims[0] != N)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "grid has batch %lld, X %lld",
                       (long long)in[1].dims[0], (long long)N);
  for (int64_t b = 0; b < N; b++)
    for (int64_t oy = 0; oy < HO; oy++)
      for (int64_t ox = 0; ox < WO; ox++) {
        int64_t g = ((b * HO + oy) * WO + ox) * 2;
        double gx = ldf(&in[1], g), gy = ldf(&in[1], g + 1);
        /* Normalized [-1, 1] to pixel coordinates: corners' centres or the outer edges. */
        double x = m.align ? (gx + 1) / 2 * (double)(W - 1) : ((gx + 1) * (double)W - 1) / 2;
        double y = m.align ? (gy + 1) / 2 * (double)(H - 1) : ((gy + 1) * (double)H - 1) / 2;
        if (im != 2) x = gs_pad(&m, x, W), y = gs_pad(&m, y, H);
        for (int64_t c = 0; c < C; c++) {
          int64_t plane = (b * C + c) * H * W;
          double v = 0;
          if (im == 1) {
            v = gs_at(&in[0], plane, H, W, (int64_t)nearbyint(y), (int64_t)nearbyint(x));
          } else if (im == 0) {
            double x0 = floor(x), y0 = floor(y), lx = x - x0, ly = y - y0;
            int64_t xi = (int64_t)x0, yi = (int64_t)y0;
            v = gs_at(&in[0], plane, H, W, yi, xi) * (1 - ly) * (1 - lx) +
                gs_at(&in[0], plane, H, W, yi, xi + 1) * (1 - ly) * lx +
                gs_at(&in[0], plane, H, W, yi + 1, xi) * ly * (1 - lx) +
                gs_at(&in[0], plane, H, W, yi + 1, xi + 1) * ly * lx;
          } else {
            /* Bicubic (A = -0.75) over 4 x 4 taps, each tap padded on its own. */
            double x0 = floor(x), y0 = floor(y), tx = x - x0, ty = y - y0, A = -0.75;
            double wx[4] = {cc2(tx + 1, A), cc1(tx, A), cc1(1 - tx, A), cc2(2 - tx, A)};
            double wy[4] = {cc2(ty + 1, A), cc1(ty, A), cc1(1 - ty, A), cc2(2 - ty, A)};
            for (int i = 0; i < 4; i++)
              for (int j = 0; j < 4; j++) {
                double py = gs_pad(&m, y0 - 1 + i, H), px = gs_pad(&m, x0 - 1 + j, W);
                v += wy[i] * wx[j] * gs_at(&in[0], plane, H, W, (int64_t)py, (int64_t)px);
              }
          }
          stf(&out[0], ((b * C + c) * HO + oy) * WO + ox, v);
        }
      }
  return QC_OK;
}

/* ---- training optimizers ---------------------------------------------------------------- */

/* The update rules of ONNX's preview training ops, per element, with G_reg = G + lambda * X:
   Adagrad: H' = H + G_reg^2, X' = X - R / (1 + T * decay) * G_reg / (sqrt(H') + eps);
   Momentum: V' = alpha * V + (T > 0 ? beta : 1) * G_reg, X' = X - R * V' (standard) or
     X - R * (G_reg + alpha * V') (nesterov);
   Adam: V' = alpha V + (1 - alpha) G_reg, H' = beta H + (1 - beta) G_reg^2,
     X' = (1 - lambda_post) (X - R_adj V' / (sqrt(H') + eps)),
     R_adj = R sqrt(1 - beta^T) / (1 - alpha^T) when T > 0. */
static qc_status k_optimizer(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  (void)n_out;
  int kk = n->op == QC_OP_Adam ? 4 : 3, m = (n_in - 2) / kk;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  if (in[1].dtype != QC_DT_I64) return bad_dtype(k, n, in[1].dtype);
  double R = ldf(&in[0], 0), T = (double)((const int64_t *)in[1].data)[0];
  double lam = qc_attr_f(n, "norm_coefficient", 0.f), eps = qc_attr_f(n, "epsilon", 0.f);
  double alpha = qc_attr_f(n, "alpha", 0.9f), beta = qc_attr_f(n, "beta", 0.999f);
  bool nesterov = false;
  if (n->op == QC_OP_Momentum) {
    const char *mode = qc_attr_s(n, "mode", "standard");
    nesterov = strcmp(mode, "nesterov") == 0;
    if (!nesterov && strcmp(mode, "standard"))
      return qc_node_err(k->err, n, QC_ERR_INVALID, "mode '%s' must be standard or nesterov",
                         mode);
  }
  double r = R;
  if (n->op == QC_OP_Adagrad) r = R / (1 + T * qc_attr_f(n, "decay_factor", 0.f));
  if (n->op == QC_OP_Adam && T > 0) r = R * sqrt(1 - pow(beta, T)) / (1 - pow(alpha, T));
  double post = qc_attr_f(n, "norm_coefficient_post", 0.f);
  for (int j = 0; j < m; j++) {
    const qc_tensor *x = &in[2 + j], *g = &in[2 + m + j], *s1 = &in[2 + 2 * m + j];
    int64_t cnt = qc_tensor_elems(x);
    for (int64_t i = 0; i < cnt; i++) {
      double gr = ldf(g, i) + lam * ldf(x, i), xv = ldf(x, i);
      if (n->op == QC_OP_Adagrad) {
        double h = ldf(s1, i) + gr * gr;
        stf(&out[j], i, xv - r * gr / (sqrt(h) + eps));
        stf(&out[m + j], i, h);
      } else if (n->op == QC_OP_Momentum) {
        double v = alpha * ldf(s1, i) + (T > 0 ? beta : 1) * gr;
        stf(&out[j], i, nesterov ? xv - R * (gr + alpha * v) : xv - R * v);
        stf(&out[m + j], i, v);
      } else {
        double v = alpha * ldf(s1, i) + (1 - alpha) * gr;
        double h = beta * ldf(&in[2 + 3 * m + j], i) + (1 - beta) * gr * gr;
        stf(&out[j], i, (1 - post) * (xv - r * (v / (sqrt(h) + eps))));
        stf(&out[m + j], i, v);
        stf(&out[2 * m + j], i, h);
      }
    }
  }
  return QC_OK;
}

/* ---- RNN, GRU, LSTM ---------------------------------------------------------------------- */

typedef enum { ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_AFFINE, ACT_LEAKY, ACT_THRESH, ACT_SCALED_TANH,
               ACT_HARD_SIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS } act_kind;

typedef struct {
  act_kind k;
  double a, b;
} act_fn;

static double act_apply(const act_fn *f, double x)
{
  switch (f->k) {
  case ACT_SIGMOID: return 1 / (1 + exp(-x));
  case ACT_TANH: return tanh(x);
  case ACT_RELU: return x > 0 ? x : 0;
  case ACT_AFFINE: return f->a * x + f->b;
  case ACT_LEAKY: return x >= 0 ? x : f->a * x;
  case ACT_THRESH: return x > f->a ? x : 0;
  case ACT_SCALED_TANH: return f->a * tanh(f->b * x);
  case ACT_HARD_SIGMOID: return fmax(0, fmin(1, f->a * x + f->b));
  case ACT_ELU: return x >= 0 ? x : f->a * (exp(x) - 1);
  case ACT_SOFTSIGN: return x / (1 + fabs(x));
  default: return log1p(exp(x));
  }
}

/* The activations attribute (per direction: f, g[, h]) with the ops' defaults, alpha/beta taken
   in order by the functions that use them (ONNX's defaults where not given). */
static qc_status rnn_acts(qc_kctx *k, const qc_node *n, int per_dir, int dirs, act_fn *acts)
{
  static const struct { const char *name; act_kind k; int params; double a, b; } tab[] = {
      {"Sigmoid", ACT_SIGMOID, 0, 0, 0},      {"Tanh", ACT_TANH, 0, 0, 0},
      {"Relu", ACT_RELU, 0, 0, 0},            {"Affine", ACT_AFFINE, 2, 1, 0},
      {"LeakyRelu", ACT_LEAKY, 1, 0.01, 0},   {"ThresholdedRelu", ACT_THRESH, 1, 1, 0},
      {"ScaledTanh", ACT_SCALED_TANH, 2, 1, 1}, {"HardSigmoid", ACT_HARD_SIGMOID, 2, 0.2, 0.5},
      {"Elu", ACT_ELU, 1, 1, 0},              {"Softsign", ACT_SOFTSIGN, 0, 0, 0},
      {"Softplus", ACT_SOFTPLUS, 0, 0, 0},
  };
  const qc_attr *a = qc_node_attr(n, "activations");
  const float *al = NULL, *be = NULL;
  int64_t nal = qc_attr_floats(n, "activation_alpha", &al), nbe = qc_attr_floats(n, "activation_beta", &be);
  int ia = 0, ib = 0;
  for (int i = 0; i < per_dir * dirs; i++) {
    const char *name = i % per_dir == 0 && n->op != QC_OP_RNN ? "Sigmoid" : "Tanh";
    if (a && a->kind == QC_ATTR_STRINGS) {
      if (a->n != per_dir * dirs)
        return qc_node_err(k->err, n, QC_ERR_INVALID, "activations has %lld entries, expected %d",
                           (long long)a->n, per_dir * dirs);
      name = a->strings[i];
    }
    size_t j = 0;
    while (j < sizeof tab / sizeof tab[0] && strcmp(tab[j].name, name)) j++;
    if (j == sizeof tab / sizeof tab[0])
      return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "activation '%s' is not supported", name);
    acts[i] = (act_fn){tab[j].k, tab[j].a, tab[j].b};
    if (tab[j].params >= 1 && ia < nal) acts[i].a = al[ia++];
    if (tab[j].params >= 2 && ib < nbe) acts[i].b = be[ib++];
  }
  return QC_OK;
}

static qc_status k_rnn(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  int G = n->op == QC_OP_LSTM ? 4 : n->op == QC_OP_GRU ? 3 : 1, per_dir = n->op == QC_OP_LSTM ? 3
          : n->op == QC_OP_GRU ? 2 : 1;
  const char *dir = qc_attr_s(n, "direction", "forward");
  int dirs = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
  bool rev = strcmp(dir, "reverse") == 0, bm = qc_attr_i(n, "layout", 0) != 0;
  bool lbr = qc_attr_i(n, "linear_before_reset", 0) != 0, couple = qc_attr_i(n, "input_forget", 0) != 0;
  bool has_clip = qc_node_attr(n, "clip") != NULL;
  double clip = qc_attr_f(n, "clip", 0.f);
  act_fn acts[6];
  if ((st = rnn_acts(k, n, per_dir, dirs, acts))) return st;
  int64_t S = in[0].dims[bm ? 1 : 0], Bn = in[0].dims[bm ? 0 : 1], I = in[0].dims[2];
  int64_t H = in[2].dims[2];
  if (in[1].dims[0] != dirs || in[1].dims[1] != G * H || in[1].dims[2] != I ||
      in[2].dims[0] != dirs || in[2].dims[1] != G * H)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "W or R has the wrong shape");
  for (int o = 0; o < n_out && o < 3; o++)
    if (out[o].dtype != QC_DT_UNDEF && out[o].dims[out[o].rank - 1] != H)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "output %d is not %lld wide", o, (long long)H);
  const qc_tensor *B = n_in > 3 && in[3].dtype != QC_DT_UNDEF ? &in[3] : NULL;
  const qc_tensor *SL = n_in > 4 && in[4].dtype != QC_DT_UNDEF ? &in[4] : NULL;
  const qc_tensor *H0 = n_in > 5 && in[5].dtype != QC_DT_UNDEF ? &in[5] : NULL;
  const qc_tensor *C0 = n_in > 6 && in[6].dtype != QC_DT_UNDEF ? &in[6] : NULL;
  const qc_tensor *P = n_in > 7 && in[7].dtype != QC_DT_UNDEF ? &in[7] : NULL;
  if ((B && qc_tensor_elems(B) != dirs * 2 * G * H) || (SL && qc_tensor_elems(SL) != Bn) ||
      (H0 && qc_tensor_elems(H0) != dirs * Bn * H) || (C0 && qc_tensor_elems(C0) != dirs * Bn * H) ||
      (P && qc_tensor_elems(P) != dirs * 3 * H))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "B, sequence_lens, initial_h, initial_c or P "
                       "has the wrong size");
  /* State per (dir, batch): h, c; gate pre-activations g[G * H]; the recurrent product. */
  double *h, *c, *gx, *gh;
  size_t state = (size_t)(dirs * Bn * H);
  if ((st = need_scratch(k, n, sizeof(double) * (2 * state + 2 * (size_t)(G * H)), (void **)&h)))
    return st;
  c = h + state, gx = c + state, gh = gx + G * H;
  for (size_t i = 0; i < state; i++) {
    h[i] = H0 ? ldf(H0, (int64_t)i) : 0;
    c[i] = C0 ? ldf(C0, (int64_t)i) : 0;
  }
  qc_tensor *Y = n_out > 0 && out[0].dtype != QC_DT_UNDEF ? &out[0] : NULL;
  if (Y) memset(Y->data, 0, (size_t)qc_tensor_bytes(Y));
#define CLIP(v) (has_clip ? fmax(-clip, fmin(clip, (v))) : (v))
  for (int d = 0; d < dirs; d++) {
    bool back = rev || d == 1;
    const act_fn *f = &acts[d * per_dir], *g = per_dir > 1 ? &acts[d * per_dir + 1] : f,
                 *hf = per_dir > 2 ? &acts[d * per_dir + 2] : f;
    for (int64_t b = 0; b < Bn; b++) {
      int64_t len = SL ? ldi(SL, b) : S;
      if (len < 0 || len > S)
        return qc_node_err(k->err, n, QC_ERR_INVALID, "sequence length %lld is out of [0, %lld]",
                           (long long)len, (long long)S);
      double *hv = h + (d * Bn + b) * H, *cv = c + (d * Bn + b) * H;
      for (int64_t step = 0; step < len; step++) {
        int64_t t = back ? len - 1 - step : step;
        int64_t xoff = (bm ? b * S + t : t * Bn + b) * I;
        /* gx = W x + Wb (+ Rb, except GRU's h gate with linear_before_reset); gh = R h + Rb */
        for (int64_t r = 0; r < G * H; r++) {
          double sx = B ? ldf(B, d * 2 * G * H + r) : 0, sh = B ? ldf(B, d * 2 * G * H + G * H + r) : 0;
          for (int64_t i = 0; i < I; i++) sx += ldf(&in[1], (d * G * H + r) * I + i) * ldf(&in[0], xoff + i);
          gx[r] = sx;
          gh[r] = sh;
          if (n->op == QC_OP_GRU && r >= 2 * H) continue; /* needs r_t first */
          for (int64_t i = 0; i < H; i++) gh[r] += ldf(&in[2], (d * G * H + r) * H + i) * hv[i];
        }
        if (n->op == QC_OP_RNN) {
          for (int64_t i = 0; i < H; i++) hv[i] = act_apply(f, CLIP(gx[i] + gh[i]));
        } else if (n->op == QC_OP_GRU) {
          /* Gates z, r, h (ONNX order); h's recurrent term sees r * h_prev or r * (R h + Rb). */
          double *zr = gx; /* reuse: z in [0, H), r in [H, 2H) after activation */
          for (int64_t i = 0; i < 2 * H; i++) zr[i] = act_apply(f, CLIP(gx[i] + gh[i]));
          for (int64_t i = 0; i < H; i++) {
            double acc = 0;
            const int64_t row = (d * G * H + 2 * H + i) * H;
            if (lbr) {
              for (int64_t j = 0; j < H; j++) acc += ldf(&in[2], row + j) * hv[j];
              acc = zr[H + i] * (acc + gh[2 * H + i]);
            } else {
              for (int64_t j = 0; j < H; j++) acc += ldf(&in[2], row + j) * zr[H + j] * hv[j];
              acc += gh[2 * H + i];
            }
            gh[2 * H + i] = act_apply(g, CLIP(gx[2 * H + i] + acc)); /* candidate */
          }
          for (int64_t i = 0; i < H; i++) hv[i] = (1 - zr[i]) * gh[2 * H + i] + zr[i] * hv[i];
        } else {
          /* Gates i, o, f, c; peepholes P = [Pi, Po, Pf]. */
          for (int64_t i = 0; i < H; i++) {
            double pi = P ? ldf(P, d * 3 * H + i) : 0, po = P ? ldf(P, d * 3 * H + H + i) : 0,
                   pf = P ? ldf(P, d * 3 * H + 2 * H + i) : 0;
            double ig = act_apply(f, CLIP(gx[i] + gh[i] + pi * cv[i]));
            double fg = couple ? 1 - ig : act_apply(f, CLIP(gx[2 * H + i] + gh[2 * H + i] + pf * cv[i]));
            double cc = act_apply(g, CLIP(gx[3 * H + i] + gh[3 * H + i]));
            cv[i] = fg * cv[i] + ig * cc;
            double og = act_apply(f, CLIP(gx[H + i] + gh[H + i] + po * cv[i]));
            gx[i] = og * act_apply(hf, cv[i]); /* new h, written back below */
          }
          for (int64_t i = 0; i < H; i++) hv[i] = gx[i];
        }
        if (Y)
          for (int64_t i = 0; i < H; i++)
            stf(Y, (bm ? (b * S + t) * dirs + d : (t * dirs + d) * Bn + b) * H + i, hv[i]);
      }
    }
  }
#undef CLIP
  for (int o = 1; o < n_out && o < 3; o++) {
    if (out[o].dtype == QC_DT_UNDEF) continue;
    const double *src = o == 1 ? h : c;
    for (int d = 0; d < dirs; d++)
      for (int64_t b = 0; b < Bn; b++)
        for (int64_t i = 0; i < H; i++)
          stf(&out[o], (bm ? b * dirs + d : d * Bn + b) * H + i, src[(d * Bn + b) * H + i]);
  }
  return QC_OK;
}

/* ---- DFT, STFT -------------------------------------------------------------------------- */

/* out[k] = sum_j x[j] e^(-+2 pi i k j / len) for k < bins, x read at stride xs (complex when
   cplx), zero past xn (padding); the inverse divides by len. */
static void dft_1d(const qc_tensor *x, int64_t xoff, int64_t xs, int64_t xn, bool cplx,
                   const qc_tensor *win, int64_t len, int64_t bins, bool inverse, qc_tensor *y,
                   int64_t yoff, int64_t ys)
{
  double sgn = inverse ? 1 : -1;
  for (int64_t kk = 0; kk < bins; kk++) {
    double re = 0, im = 0;
    for (int64_t j = 0; j < xn && j < len; j++) {
      double w = win ? ldf(win, j) : 1;
      double a = ldf(x, xoff + j * xs) * w, b = cplx ? ldf(x, xoff + j * xs + 1) * w : 0;
      double th = sgn * 2 * M_PI * (double)((kk * j) % len) / (double)len; /* exact phase */
      double c = cos(th), s = sin(th);
      re += a * c - b * s;
      im += a * s + b * c;
    }
    if (inverse) re /= (double)len, im /= (double)len;
    stf(y, yoff + kk * ys, re);
    stf(y, yoff + kk * ys + 1, im);
  }
}

static qc_status k_dft(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  qc_status st = need_float(k, n, in[0].dtype);
  if (st) return st;
  int r = in[0].rank;
  bool cplx = in[0].dims[r - 1] == 2;
  if (n->op == QC_OP_STFT) {
    const qc_tensor *win = n_in > 2 && in[2].dtype != QC_DT_UNDEF ? &in[2] : NULL;
    if (win && (st = need_float(k, n, win->dtype))) return st;
    int64_t B = out[0].dims[0], F = out[0].dims[1], bins = out[0].dims[2];
    int64_t step = ldi(&in[1], 0), L = in[0].dims[1], c = in[0].dims[2];
    bool has_len = n_in > 3 && in[3].dtype != QC_DT_UNDEF;
    if (!has_len && !win)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "needs a window or a frame_length");
    int64_t flen = has_len ? ldi(&in[3], 0) : win->dims[0];
    for (int64_t b = 0; b < B; b++)
      for (int64_t f = 0; f < F; f++)
        dft_1d(&in[0], (b * L + f * step) * c, c, flen, cplx, win, flen, bins, false, &out[0],
               ((b * F + f) * bins) * 2, 2);
    return QC_OK;
  }
  int axis;
  if (!norm_axis(qc_attr_i(n, "axis", 1), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t len = n_in > 1 && in[1].dtype != QC_DT_UNDEF ? ldi(&in[1], 0) : in[0].dims[axis];
  int64_t outer = 1, inner = 1, xn = in[0].dims[axis], bins = out[0].dims[axis];
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r - 1; d++) inner *= in[0].dims[d];
  int64_t c = in[0].dims[r - 1];
  bool inv = qc_attr_i(n, "inverse", 0) != 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      dft_1d(&in[0], (o * xn * inner + j) * c, inner * c, xn, cplx, NULL, len, bins, inv,
             &out[0], (o * bins * inner + j) * 2, inner * 2);
  return QC_OK;
}

/* ---- TfIdfVectorizer ---------------------------------------------------------------------- */

/* Counts, per row, the pool's n-grams (min..max length) whose items sit skip + 1 apart, for
   every skip up to max_skip_count (unigrams once); mode TF gives counts, IDF the weight of
   each n-gram seen, TFIDF count * weight. */
static qc_status k_tfidf(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  const int64_t *cnts, *idx, *pool;
  const float *wts;
  int64_t nc = qc_attr_ints(n, "ngram_counts", &cnts), ni = qc_attr_ints(n, "ngram_indexes", &idx);
  int64_t np = qc_attr_ints(n, "pool_int64s", &pool), nw = qc_attr_floats(n, "weights", &wts);
  int64_t mn = qc_attr_i(n, "min_gram_length", 1), mx = qc_attr_i(n, "max_gram_length", 1);
  int64_t skips = qc_attr_i(n, "max_skip_count", 0);
  const char *mode = qc_attr_s(n, "mode", "TF");
  int m = strcmp(mode, "TF") == 0 ? 0 : strcmp(mode, "IDF") == 0 ? 1 : strcmp(mode, "TFIDF") == 0 ? 2 : -1;
  if (m < 0) return qc_node_err(k->err, n, QC_ERR_INVALID, "mode '%s' must be TF, IDF or TFIDF", mode);
  if (np < 0) return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "needs pool_int64s");
  if (mn < 1 || mx < mn || mx > nc || skips < 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "gram lengths %lld..%lld do not fit %lld "
                       "ngram_counts", (long long)mn, (long long)mx, (long long)nc);
  if (nw >= 0 && nw != ni)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "weights must match ngram_indexes");
  int64_t rows = in[0].rank == 2 ? in[0].dims[0] : 1, C = in[0].dims[in[0].rank - 1];
  int64_t W = out[0].dims[out[0].rank - 1];
  double *cnt;
  qc_status st = need_scratch(k, n, sizeof(double) * (size_t)(W + 1), (void **)&cnt);
  if (st) return st;
  for (int64_t row = 0; row < rows; row++) {
    memset(cnt, 0, sizeof(double) * (size_t)W);
    int64_t before = 0; /* n-grams of shorter lengths in the pool */
    for (int64_t len = 1; len <= mx; len++) {
      int64_t start = cnts[len - 1], end = len < nc ? cnts[len] : np;
      if (start < 0 || end > np || end < start || (end - start) % len)
        return qc_node_err(k->err, n, QC_ERR_INVALID, "ngram_counts do not cut the pool into "
                           "%lld-grams", (long long)len);
      int64_t ng = (end - start) / len;
      if (before + ng > ni)
        return qc_node_err(k->err, n, QC_ERR_INVALID, "ngram_indexes is too short");
      if (len >= mn)
        for (int64_t s = 0; s <= (len == 1 ? 0 : skips); s++)
          for (int64_t p = 0; p + (len - 1) * (s + 1) < C; p++)
            for (int64_t g = 0; g < ng; g++) {
              bool hit = true;
              for (int64_t j = 0; j < len && hit; j++)
                hit = ldi(&in[0], row * C + p + j * (s + 1)) == pool[start + g * len + j];
              if (hit) cnt[idx[before + g]] += 1;
            }
      before += ng;
    }
    for (int64_t o = 0; o < W; o++) stf(&out[0], row * W + o, 0); /* unmapped columns */
    for (int64_t i = 0; i < ni; i++) {
      int64_t o = idx[i];
      double w = nw >= 0 ? wts[i] : 1, v = cnt[o];
      stf(&out[0], row * W + o, m == 0 ? v : m == 1 ? (v > 0 ? w : 0) : v * w);
    }
  }
  return QC_OK;
}

/* Triangular mel filters as ONNX's reference builds them: num_mel_bins + 2 points evenly
   spaced in mel (m = 2595 log10(1 + f / 700)), floored to DFT bins (dft_length + 1) f / rate;
   filter i rises from point i to i + 1 and falls to i + 2. */
static qc_status k_mel(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  if (!qc_dtype_is_float(out[0].dtype) && !qc_dtype_is_int(out[0].dtype))
    return bad_dtype(k, n, out[0].dtype);
  int64_t nb = out[0].dims[1], ns = out[0].dims[0], len = ldi(&in[1], 0), rate = ldi(&in[2], 0);
  double lo, hi;
  if (!qc_dtype_is_float(in[3].dtype) || !qc_dtype_is_float(in[4].dtype) ||
      qc_tensor_elems(&in[3]) != 1 || qc_tensor_elems(&in[4]) != 1)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "the edge frequencies must be float scalars");
  qc_load_f64(in[3].dtype, in[3].data, 0, 1, &lo);
  qc_load_f64(in[4].dtype, in[4].data, 0, 1, &hi);
  int64_t *pts;
  double *w;
  qc_status st = need_scratch(k, n, sizeof(int64_t) * (size_t)(nb + 2) + sizeof(double) *
                              (size_t)(ns * nb), (void **)&pts);
  if (st) return st;
  w = (double *)(pts + nb + 2);
  memset(w, 0, sizeof(double) * (size_t)(ns * nb));
  float lm = 2595.f * log10f(1 + (float)lo / 700), hm = 2595.f * log10f(1 + (float)hi / 700);
  double step = (double)((hm - lm) / (float)(nb + 2));
  for (int64_t i = 0; i < nb + 2; i++) {
    double f = 700 * (pow(10, ((double)i * step + (double)lm) / 2595) - 1);
    pts[i] = (int64_t)floor((double)(len + 1) * f / (double)rate);
  }
  for (int64_t i = 0; i < nb; i++) {
    int64_t l = pts[i], c = pts[i + 1], h = pts[i + 2];
    if (l < 0 || c < l || h < c || h > ns || (c == l && c >= ns))
      return qc_node_err(k->err, n, QC_ERR_INVALID, "mel filter %lld spans bins %lld..%lld, "
                         "outside the %lld spectrogram bins", (long long)i, (long long)l,
                         (long long)h, (long long)ns);
    if (c == l) w[c * nb + i] = 1;
    else
      for (int64_t j = l; j <= c && j < ns; j++) w[j * nb + i] = (double)(j - l) / (double)(c - l);
    if (h > c)
      for (int64_t j = c; j < h; j++) w[j * nb + i] = (double)(h - j) / (double)(h - c);
  }
  qc_store_f64(out[0].dtype, out[0].data, 0, ns * nb, w);
  return QC_OK;
}

const qc_kernel_row qc_kernels_more[] = {
    {QC_OP_Resize, k_resize},
    {QC_OP_Upsample, k_resize},
    {QC_OP_TopK, k_topk},
    {QC_OP_OneHot, k_onehot},
    {QC_OP_GatherND, k_gather_nd},
    {QC_OP_ScatterND, k_scatter_nd},
    {QC_OP_ScatterElements, k_scatter_elements},
    {QC_OP_Scatter, k_scatter_elements},
    {QC_OP_NegativeLogLikelihoodLoss, k_nll},
    {QC_OP_SoftmaxCrossEntropyLoss, k_sce},
    {QC_OP_EyeLike, k_eyelike},
    {QC_OP_Compress, k_compress},
    {QC_OP_NonZero, k_nonzero},
    {QC_OP_NonMaxSuppression, k_nms},
    {QC_OP_RoiAlign, k_roi_align},
    {QC_OP_MaxUnpool, k_max_unpool},
    {QC_OP_ReverseSequence, k_reverse_sequence},
    {QC_OP_BitShift, k_bitshift},
    {QC_OP_Det, k_det},
    {QC_OP_Einsum, k_einsum},
    {QC_OP_Unique, k_unique},
    {QC_OP_HannWindow, k_window},
    {QC_OP_HammingWindow, k_window},
    {QC_OP_BlackmanWindow, k_window},
    {QC_OP_MeanVarianceNormalization, k_mvn},
    {QC_OP_GridSample, k_grid_sample},
    {QC_OP_Adagrad, k_optimizer},
    {QC_OP_Momentum, k_optimizer},
    {QC_OP_Adam, k_optimizer},
    {QC_OP_RNN, k_rnn},
    {QC_OP_GRU, k_rnn},
    {QC_OP_LSTM, k_rnn},
    {QC_OP_DFT, k_dft},
    {QC_OP_STFT, k_dft},
    {QC_OP_TfIdfVectorizer, k_tfidf},
    {QC_OP_MelWeightMatrix, k_mel},
    {QC_OP_NONE, NULL},
};
