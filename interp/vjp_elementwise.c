/* Vector-Jacobian products of the elementwise and shape ops (contract: interp/kernels.h).
 * Each ADDS its input gradients into din[i] where din[i].data is set; dout[i].data NULL counts
 * as a zero gradient. Broadcast inputs get the output gradient summed over the dims they were
 * broadcast along. Derivatives at kinks follow PyTorch (Relu'(0) = 0, Clip passes at its bounds,
 * ties of Max/Min split the gradient evenly). */
#include <math.h>
#include <string.h>

#include "broadcast.h"
#include "convert.h"
#include "infer_tensor.h"
#include "kernels.h"

#define VJP_ARGS                                                                               \
  qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in, const qc_tensor *out, int n_out, \
      const qc_tensor *dout, qc_tensor *din

static qc_status need_f32(qc_kctx *k, const qc_node *n, const qc_tensor *t, const char *what)
{
  if (t->dtype != QC_DT_F32)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "gradient of a %s %s is not supported",
                       qc_dtype_name(t->dtype), what);
  return QC_OK;
}

static qc_status need_scratch(qc_kctx *k, const qc_node *n, size_t bytes, void **p)
{
  *p = k->scratch(k, bytes ? bytes : 1);
  if (!*p) return qc_node_err(k->err, n, QC_ERR_NOMEM, "out of memory for gradient scratch");
  return QC_OK;
}

/* t's contents as f32: t's own data when it is f32, else a converted scratch copy. */
static qc_status as_f32(qc_kctx *k, const qc_node *n, const qc_tensor *t, const float **p)
{
  if (t->dtype == QC_DT_F32) {
    *p = t->data;
    return QC_OK;
  }
  int64_t m = qc_tensor_elems(t);
  void *s;
  qc_status st = need_scratch(k, n, sizeof(float) * (size_t)m, &s);
  if (st) return st;
  qc_load_f32(t->dtype, t->data, 0, m, s);
  *p = s;
  return QC_OK;
}

static bool wants(const qc_tensor *din, int i, int n_in)
{
  return i < n_in && din[i].data != NULL;
}

/* ---- unary activations ------------------------------------------------------------------ */

typedef struct {
  qc_op op;
  const float *x, *y, *g;
  float *dx;
  float lo, hi, alpha, beta;
} ujob;

/* Elements [i0, m) of the job. */
static void unary_task(void *arg, int64_t i0, int64_t m, int worker)
{
  (void)worker;
  const ujob *j = arg;
  const float *x = j->x, *y = j->y, *g = j->g;
  float *dx = j->dx;
  float lo = j->lo, hi = j->hi, alpha = j->alpha, beta = j->beta;
  switch (j->op) {
  case QC_OP_Relu:
    for (int64_t i = i0; i < m; i++) dx[i] += x[i] > 0 ? g[i] : 0.0f;
    break;
  case QC_OP_LeakyRelu:
    for (int64_t i = i0; i < m; i++) dx[i] += x[i] > 0 ? g[i] : alpha * g[i];
    break;
  case QC_OP_Sigmoid:
    for (int64_t i = i0; i < m; i++) dx[i] += g[i] * y[i] * (1.0f - y[i]);
    break;
  case QC_OP_Tanh:
    for (int64_t i = i0; i < m; i++) dx[i] += g[i] * (1.0f - y[i] * y[i]);
    break;
  case QC_OP_HardSigmoid:
    for (int64_t i = i0; i < m; i++) {
      float t = alpha * x[i] + beta;
      dx[i] += t > 0 && t < 1 ? alpha * g[i] : 0.0f;
    }
    break;
  case QC_OP_HardSwish: /* x * relu6(x + 3) / 6 */
    for (int64_t i = i0; i < m; i++)
      dx[i] += x[i] < -3 ? 0.0f : x[i] <= 3 ? g[i] * (x[i] / 3 + 0.5f) : g[i];
    break;
  case QC_OP_Clip:
    for (int64_t i = i0; i < m; i++) dx[i] += x[i] >= lo && x[i] <= hi ? g[i] : 0.0f;
    break;
  case QC_OP_Elu: /* alpha (e^x - 1) below 0: derivative alpha e^x = y + alpha */
    for (int64_t i = i0; i < m; i++) dx[i] += x[i] > 0 ? g[i] : g[i] * (y[i] + alpha);
    break;
  case QC_OP_Softplus: /* log(1 + e^x)' = sigmoid(x) */
    for (int64_t i = i0; i < m; i++) dx[i] += g[i] / (1.0f + expf(-x[i]));
    break;
  case QC_OP_Exp:
    for (int64_t i = i0; i < m; i++) dx[i] += g[i] * y[i];
    break;
  case QC_OP_Log:
    for (int64_t i = i0; i < m; i++) dx[i] += g[i] / x[i];
    break;
  case QC_OP_Sqrt:
    for (int64_t i = i0; i < m; i++) dx[i] += 0.5f * g[i] / y[i];
    break;
  case QC_OP_Neg:
    for (int64_t i = i0; i < m; i++) dx[i] -= g[i];
    break;
  case QC_OP_Abs:
    for (int64_t i = i0; i < m; i++) dx[i] += x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0.0f;
    break;
  case QC_OP_Reciprocal:
    for (int64_t i = i0; i < m; i++) dx[i] -= g[i] * y[i] * y[i];
    break;
  default: break;
  }
}

static qc_status vjp_unary(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  const float *x = in[0].data, *y = out[0].data, *g = dout[0].data;
  float *dx = din[0].data;
  int64_t m = qc_tensor_elems(&in[0]);
  float lo = -INFINITY, hi = INFINITY, alpha = 0, beta = 0;
  switch (n->op) {
  case QC_OP_LeakyRelu: alpha = qc_attr_f(n, "alpha", 0.01f); break;
  case QC_OP_Elu: alpha = qc_attr_f(n, "alpha", 1.0f); break;
  case QC_OP_HardSigmoid:
    alpha = qc_attr_f(n, "alpha", 0.2f);
    beta = qc_attr_f(n, "beta", 0.5f);
    break;
  case QC_OP_Clip:
    if (n_in > 1 && in[1].data && qc_tensor_elems(&in[1]) == 1) {
      const float *v;
      if ((st = as_f32(k, n, &in[1], &v))) return st;
      lo = v[0];
    }
    if (n_in > 2 && in[2].data && qc_tensor_elems(&in[2]) == 1) {
      const float *v;
      if ((st = as_f32(k, n, &in[2], &v))) return st;
      hi = v[0];
    }
    break;
  default: break;
  }
  ujob j = {n->op, x, y, g, dx, lo, hi, alpha, beta};
  qc_pool_run(k->pool, m, 1 << 14, unary_task, &j);
  return QC_OK;
}

/* Ops that only move or relabel elements in order: Identity, Dropout (inference), Reshape,
   Flatten, Squeeze, Unsqueeze, Cast f32 -> f32. */
static qc_status vjp_copy(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (!st) st = need_f32(k, n, &out[0], "output");
  if (st) return st;
  int64_t m = qc_tensor_elems(&in[0]);
  if (m != qc_tensor_elems(&out[0]))
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "output size does not match the input");
  const float *g = dout[0].data;
  float *dx = din[0].data;
  for (int64_t i = 0; i < m; i++) dx[i] += g[i];
  return QC_OK;
}

/* ---- broadcasting arithmetic ------------------------------------------------------------ */

/* Per-element gradient of input `which` of a broadcast op; a: that input's element, b: the other
   operand's (binary ops only), y: the output, g: its gradient, c: the tie count for Max/Min. */
static inline float bgrad(qc_op op, int which, int n_in, float a, float b, float y, float g,
                          float c)
{
  switch (op) {
  case QC_OP_Add: return g;
  case QC_OP_Sum: return g;
  case QC_OP_Mean: return g / (float)n_in;
  case QC_OP_Sub: return which == 0 ? g : -g;
  case QC_OP_Mul: return g * b;
  /* a is this input's element, b the other's: for input 1, d(p/q)/dq = -p/q^2 = -y/q */
  case QC_OP_Div: return which == 0 ? g / b : -g * y / a;
  case QC_OP_Pow:
    /* d(p^q)/dp = q p^(q-1); d/dq = p^q ln p, taken as 0 where p == 0 (PyTorch) */
    if (which == 0) return b == 0 ? 0.0f : g * b * powf(a, b - 1);
    return b == 0 ? 0.0f : g * y * logf(b);
  case QC_OP_Max:
  case QC_OP_Min: return a == y ? g / c : 0.0f;
  default: return 0.0f;
  }
}

static qc_status vjp_bcast(VJP_ARGS)
{
  (void)n_out;
  if (!dout[0].data) return QC_OK;
  qc_op op = n->op;
  bool binary = op == QC_OP_Add || op == QC_OP_Sub || op == QC_OP_Mul || op == QC_OP_Div ||
                op == QC_OP_Pow;
  bool any = false;
  for (int i = 0; i < n_in; i++) any |= din[i].data != NULL;
  if (!any) return QC_OK;
  qc_status st = need_f32(k, n, &out[0], "output");
  if (st) return st;
  const float *y = out[0].data, *g = dout[0].data, *cnt = NULL;
  int64_t m = qc_tensor_elems(&out[0]);
  const float *v[2] = {NULL, NULL};
  if (binary || op == QC_OP_Max || op == QC_OP_Min) {
    for (int i = 0; i < (binary ? 2 : 0); i++)
      if ((st = as_f32(k, n, &in[i], &v[i]))) return st;
  }
  if (op == QC_OP_Max || op == QC_OP_Min) {
    /* How many inputs attain the output at each element. */
    float *c;
    if ((st = need_scratch(k, n, sizeof(float) * (size_t)m, (void **)&c))) return st;
    for (int64_t j = 0; j < m; j++) c[j] = 0;
    for (int i = 0; i < n_in; i++) {
      const float *xi;
      if ((st = as_f32(k, n, &in[i], &xi))) return st;
      const qc_tensor *ops[2] = {&out[0], &in[i]};
      qc_bcast b;
      qc_bcast_init_tensors(&b, &out[0], 2, ops);
      qc_bcast_it it;
      qc_bcast_seek(&b, &it, 0);
      int64_t s0 = qc_bcast_inner_stride(&b, 0), s1 = qc_bcast_inner_stride(&b, 1);
      for (int64_t r = 0; r < b.rows; r++) {
        for (int64_t j = 0; j < b.inner; j++)
          c[it.off[0] + j * s0] += xi[it.off[1] + j * s1] == y[it.off[0] + j * s0];
        qc_bcast_next(&b, &it);
      }
    }
    cnt = c;
  }
  for (int i = 0; i < n_in; i++) {
    if (!din[i].data) continue;
    if ((st = need_f32(k, n, &in[i], "input"))) return st;
    const float *a = binary ? v[i] : in[i].data, *bo = binary ? v[1 - i] : in[i].data;
    float *dx = din[i].data;
    const qc_tensor *ops[3] = {&out[0], &in[i], binary ? &in[1 - i] : &in[i]};
    qc_bcast b;
    qc_bcast_init_tensors(&b, &out[0], 3, ops);
    qc_bcast_it it;
    qc_bcast_seek(&b, &it, 0);
    int64_t s0 = qc_bcast_inner_stride(&b, 0), s1 = qc_bcast_inner_stride(&b, 1),
            s2 = qc_bcast_inner_stride(&b, 2);
    for (int64_t r = 0; r < b.rows; r++) {
      const float *gr = g + it.off[0], *yr = y + it.off[0], *ar = a + it.off[1],
                  *br = bo + it.off[2];
      const float *cr = cnt ? cnt + it.off[0] : NULL;
      float *dr = dx + it.off[1];
      if (op == QC_OP_Add || op == QC_OP_Sum) {
        if (s1) for (int64_t j = 0; j < b.inner; j++) dr[j] += gr[j * s0];
        else {
          float acc = 0;
          for (int64_t j = 0; j < b.inner; j++) acc += gr[j * s0];
          dr[0] += acc;
        }
      } else {
        for (int64_t j = 0; j < b.inner; j++) {
          int64_t jo = j * s0;
          dr[j * s1] += bgrad(op, i, n_in, ar[j * s1], br[j * s2], yr[jo], gr[jo],
                              cr ? cr[jo] : 1.0f);
        }
      }
      qc_bcast_next(&b, &it);
    }
  }
  return QC_OK;
}

/* Where(cond, X, Y): X's gradient where cond holds, Y's elsewhere. */
static qc_status vjp_where(VJP_ARGS)
{
  (void)n_out;
  if (!dout[0].data) return QC_OK;
  qc_status st = need_f32(k, n, &out[0], "output");
  if (st) return st;
  const float *g = dout[0].data;
  const uint8_t *cond = in[0].data;
  for (int i = 1; i < 3 && i < n_in; i++) {
    if (!din[i].data) continue;
    float *dx = din[i].data;
    const qc_tensor *ops[3] = {&out[0], &in[0], &in[i]};
    qc_bcast b;
    qc_bcast_init_tensors(&b, &out[0], 3, ops);
    qc_bcast_it it;
    qc_bcast_seek(&b, &it, 0);
    int64_t s0 = qc_bcast_inner_stride(&b, 0), s1 = qc_bcast_inner_stride(&b, 1),
            s2 = qc_bcast_inner_stride(&b, 2);
    for (int64_t r = 0; r < b.rows; r++) {
      for (int64_t j = 0; j < b.inner; j++)
        if ((cond[it.off[1] + j * s1] != 0) == (i == 1))
          dx[it.off[2] + j * s2] += g[it.off[0] + j * s0];
      qc_bcast_next(&b, &it);
    }
  }
  return QC_OK;
}

/* ---- index maps: out element -> input element ------------------------------------------- */

static void strides_of(int rank, const int64_t *dims, int64_t *str)
{
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    str[d] = s;
    s *= dims[d];
  }
}

/* map[d][i]: offset contributed by index i of the output's dim d (-1: the element has no
   source, e.g. constant padding). */
typedef struct {
  int rank;
  int64_t dims[QC_MAX_RANK];
  int64_t *map[QC_MAX_RANK];
} imap;

static qc_status imap_init(qc_kctx *k, const qc_node *n, imap *m, int rank, const int64_t *dims)
{
  m->rank = rank;
  int64_t total = 0;
  for (int d = 0; d < rank; d++) {
    m->dims[d] = dims[d];
    total += dims[d];
  }
  int64_t *p;
  qc_status st = need_scratch(k, n, sizeof(int64_t) * (size_t)(total + 1), (void **)&p);
  if (st) return st;
  for (int d = 0; d < rank; d++) {
    m->map[d] = p;
    p += dims[d];
  }
  return QC_OK;
}

/* dx[map(o)] += g[o] over every output element o, in row-major order of m->dims. */
static void imap_scatter_add(const imap *m, const float *g, float *dx)
{
  int64_t total = qc_shape_elems(m->rank, m->dims);
  if (total <= 0) return;
  if (m->rank == 0) {
    dx[0] += g[0];
    return;
  }
  int r = m->rank;
  int64_t idx[QC_MAX_RANK] = {0}, inner = m->dims[r - 1];
  const int64_t *last = m->map[r - 1];
  for (int64_t o = 0; o < total; o += inner) {
    int64_t base = 0;
    bool skip = false;
    for (int d = 0; d < r - 1; d++) {
      int64_t v = m->map[d][idx[d]];
      if (v < 0) skip = true;
      base += v;
    }
    if (!skip)
      for (int64_t j = 0; j < inner; j++)
        if (last[j] >= 0) dx[base + last[j]] += g[o + j];
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < m->dims[d]) break;
      idx[d] = 0;
    }
  }
}

static qc_status vjp_transpose(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = in[0].rank;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  const int64_t *perm;
  int64_t np = qc_attr_ints(n, "perm", &perm), str[QC_MAX_RANK];
  strides_of(r, in[0].dims, str);
  imap m;
  if ((st = imap_init(k, n, &m, r, out[0].dims))) return st;
  for (int d = 0; d < r; d++) {
    int64_t p = np == r ? perm[d] : r - 1 - d;
    if (p < 0 || p >= r)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "perm is not a permutation of 0..%d", r - 1);
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = i * str[p];
  }
  imap_scatter_add(&m, dout[0].data, din[0].data);
  return QC_OK;
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

static qc_status vjp_slice(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = in[0].rank;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  qc_tinfo ti[5];
  int ni = n_in < 5 ? n_in : 5;
  to_tinfo(in, ni, ti);
  int64_t start[QC_MAX_RANK], step[QC_MAX_RANK], len[QC_MAX_RANK], str[QC_MAX_RANK];
  if ((st = qc_slice_resolve(n, ti, ni, start, step, len, k->err))) return st;
  strides_of(r, in[0].dims, str);
  imap m;
  if ((st = imap_init(k, n, &m, r, out[0].dims))) return st;
  for (int d = 0; d < r; d++)
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = (start[d] + i * step[d]) * str[d];
  imap_scatter_add(&m, dout[0].data, din[0].data);
  return QC_OK;
}

/* Every mode: each output element read one input element (or none), so it sends its gradient
   back there. */
static qc_status vjp_pad(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = in[0].rank, mode;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  qc_tinfo ti[4];
  int ni = n_in < 4 ? n_in : 4;
  to_tinfo(in, ni, ti);
  int64_t before[QC_MAX_RANK], after[QC_MAX_RANK], str[QC_MAX_RANK];
  if ((st = qc_pad_resolve(n, ti, ni, before, after, &mode, k->err))) return st;
  strides_of(r, in[0].dims, str);
  imap m;
  if ((st = imap_init(k, n, &m, r, out[0].dims))) return st;
  for (int d = 0; d < r; d++) {
    int64_t dim = in[0].dims[d];
    for (int64_t i = 0; i < m.dims[d]; i++) {
      int64_t s = i - before[d];
      if (s < 0 || s >= dim) {
        if (mode == 0) {
          m.map[d][i] = -1;
          continue;
        }
        if (mode == 1) s = s < 0 ? -s : 2 * (dim - 1) - s;
        else s = s < 0 ? 0 : dim - 1;
      }
      m.map[d][i] = s * str[d];
    }
  }
  imap_scatter_add(&m, dout[0].data, din[0].data);
  return QC_OK;
}

static qc_status vjp_expand(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = out[0].rank, ri = in[0].rank;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  int64_t str[QC_MAX_RANK];
  strides_of(ri, in[0].dims, str);
  imap m;
  if ((st = imap_init(k, n, &m, r, out[0].dims))) return st;
  for (int d = 0; d < r; d++) {
    int di = d - (r - ri);
    bool bc = di < 0 || in[0].dims[di] == 1;
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = bc ? 0 : i * str[di];
  }
  imap_scatter_add(&m, dout[0].data, din[0].data);
  return QC_OK;
}

/* Gather: scatter-add into the data gradient (repeated indices accumulate). */
static qc_status vjp_gather(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = in[0].rank, axis;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  if (in[1].dtype != QC_DT_I32 && in[1].dtype != QC_DT_I64)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "indices must be i32 or i64");
  int64_t str[QC_MAX_RANK], nidx = qc_tensor_elems(&in[1]), dim = in[0].dims[axis];
  strides_of(r, in[0].dims, str);
  int64_t od[QC_MAX_RANK];
  int ro = 0;
  for (int d = 0; d < axis; d++) od[ro++] = in[0].dims[d];
  od[ro++] = nidx;
  for (int d = axis + 1; d < r; d++) od[ro++] = in[0].dims[d];
  imap m;
  if ((st = imap_init(k, n, &m, ro, od))) return st;
  for (int d = 0; d < ro; d++)
    for (int64_t i = 0; i < m.dims[d]; i++) {
      if (d != axis) {
        m.map[d][i] = i * str[d];
        continue;
      }
      int64_t v;
      qc_load_i64(in[1].dtype, in[1].data, i, 1, &v);
      if (v < -dim || v >= dim)
        return qc_node_err(k->err, n, QC_ERR_INVALID,
                           "index %lld out of range for axis of size %lld", (long long)v,
                           (long long)dim);
      m.map[d][i] = (v < 0 ? v + dim : v) * str[axis];
    }
  imap_scatter_add(&m, dout[0].data, din[0].data);
  return QC_OK;
}

/* ---- Concat, Split ---------------------------------------------------------------------- */

static qc_status vjp_concat(VJP_ARGS)
{
  (void)n_out;
  if (!dout[0].data) return QC_OK;
  int r = out[0].rank, axis;
  qc_status st = need_f32(k, n, &out[0], "output");
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= out[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= out[0].dims[d];
  const float *g = dout[0].data;
  for (int64_t i = 0; i < outer; i++)
    for (int t = 0; t < n_in; t++) {
      int64_t block = in[t].dims[axis] * inner;
      if (din[t].data) {
        float *dx = (float *)din[t].data + i * block;
        for (int64_t j = 0; j < block; j++) dx[j] += g[j];
      }
      g += block;
    }
  return QC_OK;
}

static qc_status vjp_split(VJP_ARGS)
{
  if (!wants(din, 0, n_in)) return QC_OK;
  int r = in[0].rank, axis;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  float *dx = din[0].data;
  for (int64_t i = 0; i < outer; i++)
    for (int t = 0; t < n_out; t++) {
      if (out[t].dtype == QC_DT_UNDEF) continue;
      int64_t block = out[t].dims[axis] * inner;
      if (dout[t].data) {
        const float *g = (const float *)dout[t].data + i * block;
        for (int64_t j = 0; j < block; j++) dx[j] += g[j];
      }
      dx += block;
    }
  return QC_OK;
}

/* ---- ReduceSum, ReduceMean -------------------------------------------------------------- */

static qc_status vjp_reduce(VJP_ARGS)
{
  (void)n_out;
  if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
  int r = in[0].rank;
  qc_status st = need_f32(k, n, &in[0], "input");
  if (st) return st;
  qc_tinfo ti[2];
  int ni = n_in < 2 ? n_in : 2;
  to_tinfo(in, ni, ti);
  bool mask[QC_MAX_RANK], known;
  if ((st = qc_reduce_resolve(n, ti, ni, mask, &known, k->err))) return st;
  if (!known) return qc_node_err(k->err, n, QC_ERR_INVALID, "reduction axes are unknown");
  /* dout seen with the input's rank, size 1 along the reduced dims. */
  int64_t kd[QC_MAX_RANK];
  for (int d = 0; d < r; d++) kd[d] = mask[d] ? 1 : in[0].dims[d];
  int64_t mi = qc_tensor_elems(&in[0]), mo = qc_shape_elems(r, kd);
  if (mo != qc_tensor_elems(&out[0]))
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "output size does not match the reduction");
  float scale = n->op == QC_OP_ReduceMean && mo > 0 ? (float)((double)mo / (double)mi) : 1.0f;
  if (mi == 0) return QC_OK;
  int ranks[2] = {r, r};
  const int64_t *shapes[2] = {in[0].dims, kd};
  qc_bcast b;
  qc_bcast_init(&b, r, in[0].dims, 2, ranks, shapes);
  qc_bcast_it it;
  qc_bcast_seek(&b, &it, 0);
  int64_t s0 = qc_bcast_inner_stride(&b, 0), s1 = qc_bcast_inner_stride(&b, 1);
  const float *g = dout[0].data;
  float *dx = din[0].data;
  for (int64_t row = 0; row < b.rows; row++) {
    for (int64_t j = 0; j < b.inner; j++) dx[it.off[0] + j * s0] += scale * g[it.off[1] + j * s1];
    qc_bcast_next(&b, &it);
  }
  return QC_OK;
}

static qc_status vjp_cast(VJP_ARGS)
{
  if (in[0].dtype != QC_DT_F32 || out[0].dtype != QC_DT_F32) {
    if (!wants(din, 0, n_in) || !dout[0].data) return QC_OK;
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "gradient of Cast from %s to %s",
                       qc_dtype_name(in[0].dtype), qc_dtype_name(out[0].dtype));
  }
  return vjp_copy(k, n, in, n_in, out, n_out, dout, din);
}

const qc_vjp_row qc_vjps_elementwise[] = {
    {QC_OP_Relu, vjp_unary},        {QC_OP_LeakyRelu, vjp_unary},
    {QC_OP_Sigmoid, vjp_unary},     {QC_OP_Tanh, vjp_unary},
    {QC_OP_HardSigmoid, vjp_unary}, {QC_OP_HardSwish, vjp_unary},
    {QC_OP_Clip, vjp_unary},        {QC_OP_Elu, vjp_unary},
    {QC_OP_Softplus, vjp_unary},    {QC_OP_Exp, vjp_unary},
    {QC_OP_Log, vjp_unary},         {QC_OP_Sqrt, vjp_unary},
    {QC_OP_Neg, vjp_unary},         {QC_OP_Abs, vjp_unary},
    {QC_OP_Reciprocal, vjp_unary},  {QC_OP_Add, vjp_bcast},
    {QC_OP_Sub, vjp_bcast},         {QC_OP_Mul, vjp_bcast},
    {QC_OP_Div, vjp_bcast},         {QC_OP_Pow, vjp_bcast},
    {QC_OP_Sum, vjp_bcast},         {QC_OP_Mean, vjp_bcast},
    {QC_OP_Max, vjp_bcast},         {QC_OP_Min, vjp_bcast},
    {QC_OP_Where, vjp_where},       {QC_OP_Identity, vjp_copy},
    {QC_OP_Dropout, vjp_copy},      {QC_OP_Reshape, vjp_copy},
    {QC_OP_Flatten, vjp_copy},      {QC_OP_Squeeze, vjp_copy},
    {QC_OP_Unsqueeze, vjp_copy},    {QC_OP_Cast, vjp_cast},
    {QC_OP_Transpose, vjp_transpose}, {QC_OP_Slice, vjp_slice},
    {QC_OP_Pad, vjp_pad},           {QC_OP_Expand, vjp_expand},
    {QC_OP_Gather, vjp_gather},     {QC_OP_Concat, vjp_concat},
    {QC_OP_Split, vjp_split},       {QC_OP_ReduceSum, vjp_reduce},
    {QC_OP_ReduceMean, vjp_reduce}, {QC_OP_NONE, NULL},
};
