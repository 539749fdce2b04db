/* Tensor kernels: constants, shapes, Cast, reshaping, Transpose, Concat/Split, Slice, Gather,
 * Pad, Expand, Tile, Range, DepthToSpace/SpaceToDepth, Trilu. Data movement is dtype-generic
 * (elements are copied by size); reductions, ArgMax/ArgMin and CumSum live in k_reduce.c.
 *
 * Most movement ops are one "mapped copy": out[i0, .., ik] = in[map0[i0] + .. + mapk[ik]],
 * with per-dim tables of input offsets (-1 marks a padded position). Transpose, Slice, Expand,
 * Tile, Pad, Gather and the space/depth shuffles only differ in how they fill the tables. */
#include <string.h>

#include "convert.h"
#include "infer_tensor.h"
#include "kernels.h"
#include "reduce.h"

#define GRAIN 16384
#define CHUNK 256

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

/* ---- mapped copy ------------------------------------------------------------------------ */

typedef struct {
  int rank;
  int64_t dims[QC_MAX_RANK];
  int64_t *map[QC_MAX_RANK];
  const char *in;
  char *out;
  int es;
  const void *fill; /* es bytes, for -1 entries */
  bool contig;      /* the innermost map is base + j with no -1 */
  int64_t rows, inner;
} mcopy;

/* Allocates the tables (one scratch block) for an output of the given shape. */
static qc_status mcopy_init(qc_kctx *k, const qc_node *n, mcopy *m, int rank,
                            const int64_t *dims, const void *in, void *out, int es)
{
  memset(m, 0, sizeof *m);
  if (rank == 0) { /* a scalar is a one-element row */
    m->rank = 1;
    m->dims[0] = 1;
  } else {
    m->rank = rank;
    memcpy(m->dims, dims, sizeof(int64_t) * (size_t)rank);
  }
  int64_t total = 0;
  for (int d = 0; d < m->rank; d++) total += m->dims[d];
  int64_t *p;
  qc_status st = need_scratch(k, n, (size_t)total * sizeof(int64_t), (void **)&p);
  if (st) return st;
  for (int d = 0; d < m->rank; d++) {
    m->map[d] = p;
    p += m->dims[d];
  }
  if (rank == 0) m->map[0][0] = 0;
  m->in = in;
  m->out = out;
  m->es = es;
  return QC_OK;
}

static void copy_elem(char *dst, const char *src, int es)
{
  switch (es) {
  case 1: memcpy(dst, src, 1); break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  case 8: memcpy(dst, src, 8); break;
  default: memcpy(dst, src, (size_t)es); break;
  }
}

static void mcopy_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const mcopy *m = arg;
  int r = m->rank, es = m->es;
  int64_t idx[QC_MAX_RANK] = {0}, row = begin;
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = row % m->dims[d];
    row /= m->dims[d];
  }
  const int64_t *im = m->map[r - 1];
  for (int64_t rw = begin; rw < end; rw++) {
    int64_t base = 0;
    for (int d = 0; d < r - 1 && base >= 0; d++)
      base = m->map[d][idx[d]] < 0 ? -1 : base + m->map[d][idx[d]];
    char *o = m->out + rw * m->inner * es;
    if (base < 0) {
      for (int64_t j = 0; j < m->inner; j++) copy_elem(o + j * es, m->fill, es);
    } else if (m->contig) {
      memcpy(o, m->in + (base + im[0]) * es, (size_t)(m->inner * es));
    } else {
      switch (es) {
#define MC_LOOP(T)                                                                           \
  {                                                                                          \
    const T *src = (const T *)m->in + base;                                                  \
    T *dst = (T *)o;                                                                         \
    T fv;                                                                                    \
    memcpy(&fv, m->fill ? m->fill : (const void *)"\0\0\0\0\0\0\0\0", sizeof fv);           \
    for (int64_t j = 0; j < m->inner; j++) dst[j] = im[j] < 0 ? fv : src[im[j]];            \
  }                                                                                          \
  break;
      case 1: MC_LOOP(uint8_t)
      case 2: MC_LOOP(uint16_t)
      case 4: MC_LOOP(uint32_t)
      case 8: MC_LOOP(uint64_t)
#undef MC_LOOP
      default:
        for (int64_t j = 0; j < m->inner; j++)
          copy_elem(o + j * es, im[j] < 0 ? (const char *)m->fill : m->in + (base + im[j]) * es,
                    es);
      }
    }
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < m->dims[d]) break;
      idx[d] = 0;
    }
  }
}

/* A transpose whose input unit-stride dim q is not the output's innermost one: copied in
   TILE x TILE blocks of (q, innermost), so that both sides stay in cache lines. Tasks are the
   combinations of the other dims. */
#define TILE 32

typedef struct {
  const mcopy *m;
  int q;
  int64_t ostr[QC_MAX_RANK]; /* output element strides */
  int64_t outer;
} tcopy;

static void tcopy_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const tcopy *t = arg;
  const mcopy *m = t->m;
  int r = m->rank, q = t->q, es = m->es;
  int64_t dq = m->dims[q], dl = m->dims[r - 1], sq = t->ostr[q];
  const int64_t *mq = m->map[q], *ml = m->map[r - 1];
  for (int64_t o = begin; o < end; o++) {
    int64_t rem = o, base = 0, obase = 0;
    for (int d = r - 2; d >= 0; d--) {
      if (d == q) continue;
      int64_t i = rem % m->dims[d];
      rem /= m->dims[d];
      base += m->map[d][i];
      obase += i * t->ostr[d];
    }
    const char *src = m->in + (base + mq[0]) * es;
    char *dst = m->out + obase * es;
    for (int64_t i0 = 0; i0 < dq; i0 += TILE)
      for (int64_t j0 = 0; j0 < dl; j0 += TILE) {
        int64_t i1 = i0 + TILE < dq ? i0 + TILE : dq, j1 = j0 + TILE < dl ? j0 + TILE : dl;
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++)
            copy_elem(dst + (i * sq + j) * es, src + (i + ml[j]) * es, es);
      }
  }
}

static bool tcopy_try(qc_kctx *k, const mcopy *m)
{
  int r = m->rank, q = -1;
  if (r < 2 || m->contig || m->inner < 8) return false;
  for (int d = 0; d < r - 1 && q < 0; d++) {
    bool unit = m->dims[d] >= 8 && m->map[d][0] >= 0;
    for (int64_t i = 1; i < m->dims[d] && unit; i++) unit = m->map[d][i] == m->map[d][0] + i;
    if (unit) q = d;
  }
  if (q < 0) return false;
  for (int64_t j = 0; j < m->inner; j++)
    if (m->map[r - 1][j] < 0) return false;
  for (int d = 0; d < r - 1; d++)
    for (int64_t i = 0; i < m->dims[d]; i++)
      if (m->map[d][i] < 0) return false;
  tcopy t = {m, q, {0}, 1};
  strides_of(r, m->dims, t.ostr);
  for (int d = 0; d < r - 1; d++)
    if (d != q) t.outer *= m->dims[d];
  qc_pool_run(k->pool, t.outer, GRAIN / (m->dims[q] * m->inner) + 1, tcopy_task, &t);
  return true;
}

static void mcopy_run(qc_kctx *k, mcopy *m)
{
  int r = m->rank;
  m->inner = m->dims[r - 1];
  m->rows = 1;
  for (int d = 0; d < r - 1; d++) m->rows *= m->dims[d];
  if (m->rows == 0 || m->inner == 0) return;
  const int64_t *im = m->map[r - 1];
  m->contig = im[0] >= 0;
  for (int64_t j = 1; j < m->inner && m->contig; j++) m->contig = im[j] == im[0] + j;
  if (tcopy_try(k, m)) return;
  qc_pool_run(k->pool, m->rows, GRAIN / m->inner + 1, mcopy_task, m);
}

/* Element size of a dtype the movement kernels handle. */
static qc_status elem_size(qc_kctx *k, const qc_node *n, qc_dtype t, int *es)
{
  *es = qc_dtype_elem_bytes(t);
  return *es ? QC_OK : bad_dtype(k, n, t);
}

/* ---- constants and shapes --------------------------------------------------------------- */

static qc_status k_constant(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  int64_t bytes = qc_tensor_bytes(&out[0]);
  const void *src = NULL;
  for (int i = 0; i < n->n_attrs && !src; i++) {
    const qc_attr *a = &n->attrs[i];
    if (strcmp(a->name, "value") == 0 && a->kind == QC_ATTR_TENSOR && a->tensors) {
      if (qc_tensor_bytes(&a->tensors[0]) != bytes) break;
      src = a->tensors[0].data;
    } else if (strcmp(a->name, "value_float") == 0 && a->kind == QC_ATTR_FLOAT) {
      src = &a->f;
    } else if (strcmp(a->name, "value_int") == 0 && a->kind == QC_ATTR_INT) {
      src = &a->i;
    } else if (strcmp(a->name, "value_floats") == 0 && a->kind == QC_ATTR_FLOATS) {
      src = a->floats;
    } else if (strcmp(a->name, "value_ints") == 0 && a->kind == QC_ATTR_INTS) {
      src = a->ints;
    }
  }
  if (!src && bytes > 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "no value attribute matching the output");
  if (bytes > 0) memcpy(out[0].data, src, (size_t)bytes);
  return QC_OK;
}

static qc_status k_constant_of_shape(qc_kctx *k, const qc_node *n, const qc_tensor *in,
                                     int n_in, qc_tensor *out, int n_out)
{
  int es;
  qc_status st = elem_size(k, n, out[0].dtype, &es);
  if (st) return st;
  const qc_attr *v = qc_node_attr(n, "value");
  char zero[8] = {0};
  const char *val = zero;
  if (v && v->kind == QC_ATTR_TENSOR && v->tensors && v->tensors[0].dtype == out[0].dtype)
    val = v->tensors[0].data;
  int64_t total = qc_tensor_elems(&out[0]);
  char *o = out[0].data;
  for (int64_t i = 0; i < total; i++) copy_elem(o + i * es, val, es);
  return QC_OK;
}

static qc_status k_shape(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  int r = in[0].rank;
  int64_t start = qc_attr_i(n, "start", 0), end = qc_attr_i(n, "end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  int64_t *o = out[0].data;
  for (int64_t i = start; i < end; i++) o[i - start] = in[0].dims[i];
  return QC_OK;
}

static qc_status k_size(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  *(int64_t *)out[0].data = qc_tensor_elems(&in[0]);
  return QC_OK;
}

/* ---- Cast ------------------------------------------------------------------------------- */

typedef struct {
  qc_dtype from, to;
  const void *in;
  void *out;
  bool ints; /* integer/bool to integer/bool: through int64, exact */
} cast_job;

static void cast_task(void *arg, int64_t b, int64_t e, int worker)
{
  (void)worker;
  const cast_job *j = arg;
  for (int64_t i = b; i < e; i += CHUNK) {
    int64_t m = e - i < CHUNK ? e - i : CHUNK;
    if (j->ints) {
      int64_t buf[CHUNK];
      qc_load_i64(j->from, j->in, i, m, buf);
      qc_store_i64(j->to, j->out, i, m, buf);
    } else {
      double buf[CHUNK];
      qc_load_f64(j->from, j->in, i, m, buf);
      qc_store_f64(j->to, j->out, i, m, buf);
    }
  }
}

static qc_status k_cast(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  qc_dtype from = in[0].dtype, to = out[0].dtype;
  if (!qc_dtype_elem_bytes(from)) return bad_dtype(k, n, from);
  if (!qc_dtype_elem_bytes(to)) return bad_dtype(k, n, to);
  int64_t total = qc_tensor_elems(&in[0]);
  if (from == to) {
    if (out[0].data != in[0].data && total)
      memcpy(out[0].data, in[0].data, (size_t)qc_tensor_bytes(&in[0]));
    return QC_OK;
  }
  cast_job j = {from, to, in[0].data, out[0].data, !qc_dtype_is_float(from) && !qc_dtype_is_float(to)};
  qc_pool_run(k->pool, total, GRAIN, cast_task, &j);
  return QC_OK;
}

/* ---- reshaping -------------------------------------------------------------------------- */

/* Reshape, Flatten, Squeeze, Unsqueeze: the bytes stay as they are. */
static qc_status k_copy(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  int64_t bytes = qc_tensor_bytes(&in[0]);
  if (bytes < 0 || bytes != qc_tensor_bytes(&out[0]))
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "output size does not match the input");
  if (bytes && out[0].data != in[0].data) memcpy(out[0].data, in[0].data, (size_t)bytes);
  return QC_OK;
}

static qc_status k_transpose(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  int es, r = in[0].rank;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  const int64_t *perm;
  int64_t np = qc_attr_ints(n, "perm", &perm);
  if (np >= 0 && np != r)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "perm has %lld entries for a rank-%d input",
                       (long long)np, r);
  int64_t str[QC_MAX_RANK];
  strides_of(r, in[0].dims, str);
  mcopy m;
  if ((st = mcopy_init(k, n, &m, r, out[0].dims, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < r; d++) {
    int64_t p = np >= 0 ? perm[d] : r - 1 - d;
    if (p < 0 || p >= r)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "perm is not a permutation of 0..%d", r - 1);
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = i * str[p];
  }
  mcopy_run(k, &m);
  return QC_OK;
}

/* ---- Concat, Split ---------------------------------------------------------------------- */

static qc_status k_concat(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  int es, r = out[0].rank, axis;
  qc_status st = elem_size(k, n, out[0].dtype, &es);
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t outer = 1, inner = es;
  for (int d = 0; d < axis; d++) outer *= out[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= out[0].dims[d];
  char *o = out[0].data;
  for (int64_t i = 0; i < outer; i++)
    for (int t = 0; t < n_in; t++) {
      int64_t block = in[t].dims[axis] * inner;
      if (block) memcpy(o, (const char *)in[t].data + i * block, (size_t)block);
      o += block;
    }
  return QC_OK;
}

static qc_status k_split(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  int es, r = in[0].rank, axis;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t outer = 1, inner = es;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  const char *src = in[0].data;
  for (int64_t i = 0; i < outer; i++)
    for (int t = 0; t < n_out; t++) {
      if (out[t].dtype == QC_DT_UNDEF) continue;
      int64_t block = out[t].dims[axis] * inner;
      if (block) memcpy((char *)out[t].data + i * block, src, (size_t)block);
      src += block;
    }
  return QC_OK;
}

/* ---- Slice, Pad, Expand, Tile ----------------------------------------------------------- */

static qc_status k_slice(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  int es, r = in[0].rank;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  qc_tinfo ti[5];
  to_tinfo(in, n_in < 5 ? n_in : 5, ti);
  int64_t start[QC_MAX_RANK], step[QC_MAX_RANK], len[QC_MAX_RANK], str[QC_MAX_RANK];
  if ((st = qc_slice_resolve(n, ti, n_in < 5 ? n_in : 5, start, step, len, k->err))) return st;
  strides_of(r, in[0].dims, str);
  mcopy m;
  if ((st = mcopy_init(k, n, &m, r, out[0].dims, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < r; d++)
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = (start[d] + i * step[d]) * str[d];
  mcopy_run(k, &m);
  return QC_OK;
}

static qc_status k_pad(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  int es, r = in[0].rank, mode;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  qc_tinfo ti[4];
  to_tinfo(in, n_in < 4 ? n_in : 4, ti);
  int64_t before[QC_MAX_RANK], after[QC_MAX_RANK], str[QC_MAX_RANK];
  if ((st = qc_pad_resolve(n, ti, n_in < 4 ? n_in : 4, before, after, &mode, k->err))) return st;
  strides_of(r, in[0].dims, str);
  mcopy m;
  if ((st = mcopy_init(k, n, &m, r, out[0].dims, in[0].data, out[0].data, es))) return st;
  char zero[8] = {0};
  m.fill = n_in > 2 && in[2].dtype == in[0].dtype && qc_tensor_elems(&in[2]) == 1 ? in[2].data
                                                                                     : zero;
  for (int d = 0; d < r; d++) {
    int64_t dim = in[0].dims[d];
    for (int64_t i = 0; i < m.dims[d]; i++) {
      int64_t s = i - before[d];
      if (s < 0 || s >= dim) {
        if (mode == 0) {
          m.map[d][i] = -1;
          continue;
        }
        if (mode == 1) s = s < 0 ? -s : 2 * (dim - 1) - s; /* reflect, edge not repeated */
        else s = s < 0 ? 0 : dim - 1;                      /* edge */
      }
      m.map[d][i] = s * str[d];
    }
  }
  mcopy_run(k, &m);
  return QC_OK;
}

static qc_status k_expand(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  int es, r = out[0].rank, ri = in[0].rank;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  int64_t str[QC_MAX_RANK];
  strides_of(ri, in[0].dims, str);
  mcopy m;
  if ((st = mcopy_init(k, n, &m, r, out[0].dims, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < r; d++) {
    int di = d - (r - ri);
    bool bc = di < 0 || in[0].dims[di] == 1;
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = bc ? 0 : i * str[di];
  }
  mcopy_run(k, &m);
  return QC_OK;
}

static qc_status k_tile(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  int es, r = in[0].rank;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  int64_t str[QC_MAX_RANK];
  strides_of(r, in[0].dims, str);
  mcopy m;
  if ((st = mcopy_init(k, n, &m, r, out[0].dims, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < r; d++)
    for (int64_t i = 0; i < m.dims[d]; i++) m.map[d][i] = (i % in[0].dims[d]) * str[d];
  mcopy_run(k, &m);
  return QC_OK;
}

/* ---- Gather, GatherElements ------------------------------------------------------------- */

/* Index t of an i32/i64 tensor, made non-negative against dim; false when out of range. */
static bool index_at(const qc_tensor *t, int64_t i, int64_t dim, int64_t *out)
{
  int64_t v = t->dtype == QC_DT_I32 ? ((const int32_t *)t->data)[i]
                                    : ((const int64_t *)t->data)[i];
  if (v < -dim || v >= dim) {
    *out = v;
    return false;
  }
  *out = v < 0 ? v + dim : v;
  return true;
}

static qc_status k_gather(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  int es, r = in[0].rank, axis;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t str[QC_MAX_RANK], nidx = qc_tensor_elems(&in[1]), dim = in[0].dims[axis];
  strides_of(r, in[0].dims, str);
  /* The output seen as data.dims[:axis] + [nidx] + data.dims[axis+1:]. */
  int64_t od[QC_MAX_RANK];
  int ro = 0;
  for (int d = 0; d < axis; d++) od[ro++] = in[0].dims[d];
  od[ro++] = nidx;
  for (int d = axis + 1; d < r; d++) od[ro++] = in[0].dims[d];
  mcopy m;
  if ((st = mcopy_init(k, n, &m, ro, od, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < ro; d++) {
    for (int64_t i = 0; i < m.dims[d]; i++) {
      if (d != axis) {
        m.map[d][i] = i * str[d]; /* other dims line up with the data's */
        continue;
      }
      int64_t v;
      if (!index_at(&in[1], i, dim, &v))
        return qc_node_err(k->err, n, QC_ERR_INVALID,
                           "index %lld out of range for axis of size %lld", (long long)v,
                           (long long)dim);
      m.map[d][i] = v * str[axis];
    }
  }
  mcopy_run(k, &m);
  return QC_OK;
}

static qc_status k_gather_elements(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                   qc_tensor *out, int n_out)
{
  int es, r = in[0].rank, axis;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t str[QC_MAX_RANK], idx[QC_MAX_RANK] = {0}, total = qc_tensor_elems(&out[0]),
                            dim = in[0].dims[axis];
  strides_of(r, in[0].dims, str);
  for (int d = 0; d < r; d++)
    if (d != axis && in[1].dims[d] > in[0].dims[d])
      return qc_node_err(k->err, n, QC_ERR_INVALID,
                         "indices dim %d of size %lld exceeds the data's %lld", d,
                         (long long)in[1].dims[d], (long long)in[0].dims[d]);
  const char *src = in[0].data;
  char *o = out[0].data;
  for (int64_t i = 0; i < total; i++) {
    int64_t v, off = 0;
    if (!index_at(&in[1], i, dim, &v))
      return qc_node_err(k->err, n, QC_ERR_INVALID,
                         "index %lld out of range for axis of size %lld", (long long)v,
                         (long long)dim);
    for (int d = 0; d < r; d++) off += (d == axis ? v : idx[d]) * str[d];
    copy_elem(o + i * es, src + off * es, es);
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < in[1].dims[d]) break;
      idx[d] = 0;
    }
  }
  return QC_OK;
}

/* ---- Range ------------------------------------------------------------------------------ */

static qc_status k_range(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  int64_t len = qc_tensor_elems(&out[0]);
  switch (out[0].dtype) {
  case QC_DT_F32: {
    float s = *(const float *)in[0].data, d = *(const float *)in[2].data, *o = out[0].data;
    for (int64_t i = 0; i < len; i++) o[i] = s + (float)i * d;
    break;
  }
  case QC_DT_F64: {
    double s = *(const double *)in[0].data, d = *(const double *)in[2].data, *o = out[0].data;
    for (int64_t i = 0; i < len; i++) o[i] = s + (double)i * d;
    break;
  }
  case QC_DT_I16: case QC_DT_I32: case QC_DT_I64: {
    int64_t sd[2];
    qc_load_i64(in[0].dtype, in[0].data, 0, 1, &sd[0]);
    qc_load_i64(in[2].dtype, in[2].data, 0, 1, &sd[1]);
    for (int64_t i = 0; i < len; i += CHUNK) {
      int64_t buf[CHUNK], m = len - i < CHUNK ? len - i : CHUNK;
      for (int64_t j = 0; j < m; j++)
        buf[j] = (int64_t)((uint64_t)sd[0] + (uint64_t)(i + j) * (uint64_t)sd[1]);
      qc_store_i64(out[0].dtype, out[0].data, i, m, buf);
    }
    break;
  }
  default:
    return bad_dtype(k, n, out[0].dtype);
  }
  return QC_OK;
}

/* ---- DepthToSpace, SpaceToDepth --------------------------------------------------------- */

/* Both are transposes of a 6-D view: the output is walked as 6 dims, each mapped to an
   offset in the NCHW input (ONNX's reshape/transpose/reshape definitions). */
static qc_status k_space_depth(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                               qc_tensor *out, int n_out)
{
  int es;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  int64_t b = qc_attr_i(n, "blocksize", 1);
  const int64_t *x = in[0].dims;
  int64_t sN = x[1] * x[2] * x[3], sC = x[2] * x[3], sH = x[3];
  int64_t od[6], mul[6];
  if (n->op == QC_OP_DepthToSpace) {
    /* output (n, c, h, bh, w, bw) */
    int64_t c2 = x[1] / (b * b);
    bool crd = strcmp(qc_attr_s(n, "mode", "DCR"), "CRD") == 0;
    int64_t d6[6] = {x[0], c2, x[2], b, x[3], b};
    int64_t m6[6] = {sN, crd ? b * b * sC : sC, sH, crd ? b * sC : b * c2 * sC, 1,
                     crd ? sC : c2 * sC};
    memcpy(od, d6, sizeof od);
    memcpy(mul, m6, sizeof mul);
  } else {
    /* output (n, bh, bw, c, h, w) */
    int64_t d6[6] = {x[0], b, b, x[1], x[2] / b, x[3] / b};
    int64_t m6[6] = {sN, sH, 1, sC, b * sH, b};
    memcpy(od, d6, sizeof od);
    memcpy(mul, m6, sizeof mul);
  }
  mcopy m;
  if ((st = mcopy_init(k, n, &m, 6, od, in[0].data, out[0].data, es))) return st;
  for (int d = 0; d < 6; d++)
    for (int64_t i = 0; i < od[d]; i++) m.map[d][i] = i * mul[d];
  mcopy_run(k, &m);
  return QC_OK;
}

/* ---- Trilu ------------------------------------------------------------------------------ */

static qc_status k_trilu(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  int es, r = in[0].rank;
  qc_status st = elem_size(k, n, in[0].dtype, &es);
  if (st) return st;
  if (r < 2) return qc_node_err(k->err, n, QC_ERR_INVALID, "input must have rank >= 2");
  int64_t kk = 0;
  if (n_in > 1 && in[1].dtype != QC_DT_UNDEF) {
    if ((in[1].dtype != QC_DT_I64 && in[1].dtype != QC_DT_I32) || qc_tensor_elems(&in[1]) != 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "k must be an i64 scalar");
    qc_load_i64(in[1].dtype, in[1].data, 0, 1, &kk);
  }
  bool upper = qc_attr_i(n, "upper", 1) != 0;
  int64_t rows = in[0].dims[r - 2], cols = in[0].dims[r - 1];
  int64_t mats = rows > 0 && cols > 0 ? qc_tensor_elems(&in[0]) / (rows * cols) : 0;
  const char *src = in[0].data;
  char *o = out[0].data;
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++) {
        int64_t off = ((m * rows + i) * cols + j) * es;
        bool keep = upper ? j - i >= kk : j - i <= kk;
        if (keep) copy_elem(o + off, src + off, es);
        else memset(o + off, 0, (size_t)es);
      }
  return QC_OK;
}

const qc_kernel_row qc_kernels_tensor[] = {
    {QC_OP_Constant, k_constant},
    {QC_OP_ConstantOfShape, k_constant_of_shape},
    {QC_OP_Shape, k_shape},
    {QC_OP_Size, k_size},
    {QC_OP_Cast, k_cast},
    {QC_OP_CastLike, k_cast},
    {QC_OP_Reshape, k_copy},
    {QC_OP_Flatten, k_copy},
    {QC_OP_Squeeze, k_copy},
    {QC_OP_Unsqueeze, k_copy},
    {QC_OP_Transpose, k_transpose},
    {QC_OP_Concat, k_concat},
    {QC_OP_Split, k_split},
    {QC_OP_Slice, k_slice},
    {QC_OP_Gather, k_gather},
    {QC_OP_GatherElements, k_gather_elements},
    {QC_OP_Pad, k_pad},
    {QC_OP_Expand, k_expand},
    {QC_OP_Tile, k_tile},
    {QC_OP_Range, k_range},
    {QC_OP_DepthToSpace, k_space_depth},
    {QC_OP_SpaceToDepth, k_space_depth},
    {QC_OP_Trilu, k_trilu},
    {QC_OP_CumSum, qc_k_cumsum},
    {QC_OP_ReduceMean, qc_k_reduce},
    {QC_OP_ReduceMax, qc_k_reduce},
    {QC_OP_ReduceMin, qc_k_reduce},
    {QC_OP_ReduceProd, qc_k_reduce},
    {QC_OP_ReduceL1, qc_k_reduce},
    {QC_OP_ReduceL2, qc_k_reduce},
    {QC_OP_ReduceLogSum, qc_k_reduce},
    {QC_OP_ReduceLogSumExp, qc_k_reduce},
    {QC_OP_ReduceSumSquare, qc_k_reduce},
    {QC_OP_ReduceSum, qc_k_reduce},
    {QC_OP_ArgMax, qc_k_argreduce},
    {QC_OP_ArgMin, qc_k_argreduce},
    {QC_OP_NONE, NULL},
};
