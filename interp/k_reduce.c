/* Reductions: Reduce* over any set of axes, ArgMax/ArgMin, CumSum.
 *
 * Floats accumulate in double and integers in int64 (wrapping), whatever the element type, so
 * f16/bf16 and f32 sums lose nothing to the accumulator; results round once when stored.
 * Reduce* first collapses the input into alternating runs of kept and reduced dims, then walks
 * it in rows of the innermost run, folding each row into one accumulator (reduced) or adding it
 * to a row of accumulators (kept). ReduceLogSumExp takes the max first so exp never overflows. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* see k_elementwise.c */
#endif

#include <math.h>
#include <string.h>

#include "convert.h"
#include "infer_tensor.h"
#include "reduce.h"

#define CHUNK 256

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LSE, R_SUMSQ } rkind;

static const struct {
  qc_op op;
  rkind kind;
  bool int_acc; /* integer inputs accumulate exactly in int64 */
} reduce_rows[] = {
    {QC_OP_ReduceSum, R_SUM, true},      {QC_OP_ReduceMean, R_MEAN, true},
    {QC_OP_ReduceMax, R_MAX, true},      {QC_OP_ReduceMin, R_MIN, true},
    {QC_OP_ReduceProd, R_PROD, true},    {QC_OP_ReduceL1, R_L1, true},
    {QC_OP_ReduceL2, R_L2, false},       {QC_OP_ReduceLogSum, R_LOGSUM, false},
    {QC_OP_ReduceLogSumExp, R_LSE, false}, {QC_OP_ReduceSumSquare, R_SUMSQ, true},
};

typedef struct {
  rkind kind; /* R_MAX in the first pass of R_LSE */
  bool ints;
  qc_dtype dt;
  const void *x;
  int rank;
  int64_t dims[QC_MAX_RANK];
  bool red[QC_MAX_RANK];
  int64_t ostr[QC_MAX_RANK]; /* accumulator strides, 0 along reduced dims */
  int64_t inner;
  double *acc;
  int64_t *iacc;
  const double *mx; /* per-output max, second pass of R_LSE */
  bool bias;        /* u64 max/min: compared as int64 after flipping the top bit */
} rjob;

/* acc = f(acc, x) over a run; FOLD: x[0..m) into one accumulator, else elementwise. */
#define R_APPLY(ACC, BUF, M, FOLD, EXPR)                                                     \
  do {                                                                                       \
    if (FOLD) {                                                                              \
      __typeof__(*(ACC)) a = *(ACC);                                                         \
      for (int64_t t = 0; t < (M); t++) {                                                    \
        __typeof__(*(BUF)) x = (BUF)[t];                                                     \
        a = (EXPR);                                                                          \
      }                                                                                      \
      *(ACC) = a;                                                                            \
    } else {                                                                                 \
      for (int64_t t = 0; t < (M); t++) {                                                    \
        __typeof__(*(ACC)) a = (ACC)[t];                                                     \
        __typeof__(*(BUF)) x = (BUF)[t];                                                     \
        (ACC)[t] = (EXPR);                                                                   \
      }                                                                                      \
    }                                                                                        \
  } while (0)

static void fold_f64(rkind kind, double *acc, const double *buf, int64_t m, bool fold,
                     double mx)
{
  switch (kind) {
  case R_SUM: case R_MEAN: case R_LOGSUM: R_APPLY(acc, buf, m, fold, a + x); break;
  case R_PROD: R_APPLY(acc, buf, m, fold, a * x); break;
  case R_MAX: R_APPLY(acc, buf, m, fold, x > a || x != x ? x : a); break;
  case R_MIN: R_APPLY(acc, buf, m, fold, x < a || x != x ? x : a); break;
  case R_L1: R_APPLY(acc, buf, m, fold, a + fabs(x)); break;
  case R_L2: case R_SUMSQ: R_APPLY(acc, buf, m, fold, a + x * x); break;
  case R_LSE: R_APPLY(acc, buf, m, fold, a + exp(x - mx)); break;
  }
}

/* Integer accumulation wraps like the element type would (computed in uint64). */
static void fold_i64(rkind kind, int64_t *acc, const int64_t *buf, int64_t m, bool fold)
{
  switch (kind) {
  case R_SUM: case R_MEAN: R_APPLY(acc, buf, m, fold, (int64_t)((uint64_t)a + (uint64_t)x)); break;
  case R_PROD: R_APPLY(acc, buf, m, fold, (int64_t)((uint64_t)a * (uint64_t)x)); break;
  case R_MAX: R_APPLY(acc, buf, m, fold, x > a ? x : a); break;
  case R_MIN: R_APPLY(acc, buf, m, fold, x < a ? x : a); break;
  case R_L1: R_APPLY(acc, buf, m, fold, (int64_t)((uint64_t)a + (uint64_t)(x < 0 ? -(uint64_t)x : (uint64_t)x))); break;
  case R_SUMSQ: R_APPLY(acc, buf, m, fold, (int64_t)((uint64_t)a + (uint64_t)x * (uint64_t)x)); break;
  default: break;
  }
}

static void reduce_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const rjob *j = arg;
  int r = j->rank;
  int64_t idx[QC_MAX_RANK] = {0}, row = begin, o = 0;
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = row % j->dims[d];
    row /= j->dims[d];
    o += idx[d] * j->ostr[d];
  }
  bool fold = j->red[r - 1];
  for (int64_t rw = begin; rw < end; rw++) {
    for (int64_t i = 0; i < j->inner; i += CHUNK) {
      int64_t m = j->inner - i < CHUNK ? j->inner - i : CHUNK, oo = fold ? o : o + i;
      if (j->ints) {
        int64_t buf[CHUNK];
        qc_load_i64(j->dt, j->x, rw * j->inner + i, m, buf);
        if (j->bias)
          for (int64_t t = 0; t < m; t++) buf[t] = (int64_t)((uint64_t)buf[t] ^ (1ull << 63));
        fold_i64(j->kind, j->iacc + oo, buf, m, fold);
      } else {
        double buf[CHUNK];
        qc_load_f64(j->dt, j->x, rw * j->inner + i, m, buf);
        if (j->mx && !fold) { /* each accumulator has its own max */
          for (int64_t t = 0; t < m; t++) j->acc[oo + t] += exp(buf[t] - j->mx[oo + t]);
        } else {
          fold_f64(j->kind, j->acc + oo, buf, m, fold, j->mx ? j->mx[oo] : 0);
        }
      }
    }
    for (int d = r - 2; d >= 0; d--) {
      o += j->ostr[d];
      if (++idx[d] < j->dims[d]) break;
      o -= j->ostr[d] * j->dims[d];
      idx[d] = 0;
    }
  }
}

static void reduce_pass(qc_kctx *k, rjob *j, int64_t out_elems, int64_t rows)
{
  for (int64_t i = 0; i < out_elems; i++) {
    if (j->ints) j->iacc[i] = j->kind == R_PROD ? 1 : j->kind == R_MAX ? INT64_MIN
                              : j->kind == R_MIN ? INT64_MAX : 0;
    else j->acc[i] = j->kind == R_PROD ? 1 : j->kind == R_MAX ? -INFINITY
                     : j->kind == R_MIN ? INFINITY : 0;
  }
  /* Rows write disjoint accumulators unless an outer dim is reduced. */
  bool disjoint = true;
  for (int d = 0; d < j->rank - 1; d++) disjoint &= !j->red[d];
  qc_pool_run(disjoint ? k->pool : NULL, rows, 16384 / (j->inner + 1) + 1, reduce_task, j);
}

qc_status qc_k_reduce(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                      qc_tensor *out, int n_out)
{
  rjob j;
  memset(&j, 0, sizeof j);
  size_t ri = 0;
  while (ri < sizeof reduce_rows / sizeof reduce_rows[0] && reduce_rows[ri].op != n->op) ri++;
  if (ri == sizeof reduce_rows / sizeof reduce_rows[0])
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "not a reduction");
  qc_dtype dt = in[0].dtype;
  if (!qc_dtype_is_float(dt) && !qc_dtype_is_int(dt))
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                       qc_dtype_name(dt));
  j.kind = reduce_rows[ri].kind;
  j.ints = qc_dtype_is_int(dt) && reduce_rows[ri].int_acc;
  j.bias = dt == QC_DT_U64 && (j.kind == R_MAX || j.kind == R_MIN);
  j.dt = dt;
  j.x = in[0].data;
  qc_tinfo ti[2];
  int nt = n_in < 2 ? n_in : 2;
  for (int i = 0; i < nt; i++) {
    ti[i].dtype = in[i].dtype;
    ti[i].rank = in[i].rank;
    memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
    ti[i].data = in[i].data;
  }
  bool mask[QC_MAX_RANK], known;
  qc_status st = qc_reduce_resolve(n, ti, nt, mask, &known, k->err);
  if (st) return st;
  /* Collapse: drop size-1 dims, merge neighbours of the same kind. */
  int r = in[0].rank;
  int64_t count = 1;
  for (int d = 0; d < r; d++) {
    if (mask[d]) count *= in[0].dims[d];
    if (in[0].dims[d] == 1) continue;
    if (j.rank > 0 && j.red[j.rank - 1] == mask[d]) {
      j.dims[j.rank - 1] *= in[0].dims[d];
    } else {
      j.dims[j.rank] = in[0].dims[d];
      j.red[j.rank++] = mask[d];
    }
  }
  if (j.rank == 0) {
    j.rank = 1;
    j.dims[0] = 1;
  }
  int64_t s = 1, rows = 1;
  for (int d = j.rank - 1; d >= 0; d--) {
    j.ostr[d] = j.red[d] ? 0 : s;
    if (!j.red[d]) s *= j.dims[d];
  }
  for (int d = 0; d < j.rank - 1; d++) rows *= j.dims[d];
  j.inner = j.dims[j.rank - 1];
  int64_t oe = qc_tensor_elems(&out[0]);
  if (oe != s && qc_tensor_elems(&in[0]) != 0)
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "output size does not match the reduction");
  if (oe == 0) return QC_OK;
  if (qc_tensor_elems(&in[0]) == 0) rows = 0;
  size_t bytes = (size_t)oe * sizeof(double) * (j.kind == R_LSE ? 2 : 1);
  void *mem = k->scratch ? k->scratch(k, bytes) : NULL;
  if (!mem) return qc_node_err(k->err, n, QC_ERR_NOMEM, "out of scratch memory (%zu bytes)", bytes);
  j.acc = mem;
  j.iacc = mem;
  if (j.kind == R_LSE) {
    j.kind = R_MAX;
    j.acc = (double *)mem + oe;
    reduce_pass(k, &j, oe, rows);
    j.mx = j.acc;
    j.acc = mem;
    j.kind = R_LSE;
  }
  reduce_pass(k, &j, oe, rows);
  /* Finish in place, then store in the output type. */
  for (int64_t i = 0; i < oe; i++) {
    if (j.ints) {
      if (j.kind == R_MEAN) j.iacc[i] = count ? j.iacc[i] / count : 0;
      if (j.bias) j.iacc[i] = (int64_t)((uint64_t)j.iacc[i] ^ (1ull << 63));
      continue;
    }
    double a = j.acc[i];
    switch (j.kind) {
    case R_MEAN: a /= (double)count; break;
    case R_L2: a = sqrt(a); break;
    case R_LOGSUM: a = log(a); break;
    case R_LSE: a = isinf(j.mx[i]) ? j.mx[i] : j.mx[i] + log(a); break;
    default: break;
    }
    j.acc[i] = a;
  }
  if (j.ints) qc_store_i64(dt, out[0].data, 0, oe, j.iacc);
  else qc_store_f64(dt, out[0].data, 0, oe, j.acc);
  return QC_OK;
}

/* ---- ArgMax, ArgMin --------------------------------------------------------------------- */

/* First (or last) index of the max/min along an axis; a NaN counts as the extreme, as in
   numpy.argmax. The input is [outer, D, inner], scanned a chunk of inner at a time. */
#define ARG_SCAN(T, LOAD, BETTER)                                                            \
  for (int64_t o = 0; o < outer; o++)                                                        \
    for (int64_t i = 0; i < inner; i += CHUNK) {                                             \
      int64_t m = inner - i < CHUNK ? inner - i : CHUNK, bi[CHUNK];                          \
      T best[CHUNK], buf[CHUNK];                                                             \
      LOAD(dt, in[0].data, o * D * inner + i, m, best);                                      \
      for (int64_t t = 0; t < m; t++) bi[t] = 0;                                             \
      for (int64_t d = 1; d < D; d++) {                                                      \
        LOAD(dt, in[0].data, (o * D + d) * inner + i, m, buf);                               \
        for (int64_t t = 0; t < m; t++) {                                                    \
          T x = buf[t], b = best[t];                                                         \
          if (BETTER) {                                                                      \
            best[t] = x;                                                                     \
            bi[t] = d;                                                                       \
          }                                                                                  \
        }                                                                                    \
      }                                                                                      \
      memcpy(y + o * inner + i, bi, (size_t)m * sizeof(int64_t));                           \
    }

qc_status qc_k_argreduce(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  qc_dtype dt = in[0].dtype;
  int r = in[0].rank, axis;
  if (!qc_dtype_is_float(dt) && !qc_dtype_is_int(dt))
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                       qc_dtype_name(dt));
  if (!qc_axis_norm(qc_attr_i(n, "axis", 0), r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", r);
  int64_t outer = 1, inner = 1, D = in[0].dims[axis];
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  if (D == 0) return qc_node_err(k->err, n, QC_ERR_INVALID, "cannot reduce the empty axis %d", axis);
  bool mx = n->op == QC_OP_ArgMax, last = qc_attr_i(n, "select_last_index", 0) != 0;
  int64_t *y = out[0].data;
  if (dt == QC_DT_U64) { /* unsigned order: compare in double, exact below 2^53 */
    if (mx && last) ARG_SCAN(double, qc_load_f64, x >= b)
    else if (mx) ARG_SCAN(double, qc_load_f64, x > b)
    else if (last) ARG_SCAN(double, qc_load_f64, x <= b)
    else ARG_SCAN(double, qc_load_f64, x < b)
  } else if (qc_dtype_is_int(dt)) {
    if (mx && last) ARG_SCAN(int64_t, qc_load_i64, x >= b)
    else if (mx) ARG_SCAN(int64_t, qc_load_i64, x > b)
    else if (last) ARG_SCAN(int64_t, qc_load_i64, x <= b)
    else ARG_SCAN(int64_t, qc_load_i64, x < b)
  } else {
    if (mx && last) ARG_SCAN(double, qc_load_f64, x >= b || (x != x))
    else if (mx) ARG_SCAN(double, qc_load_f64, x > b || (x != x && b == b))
    else if (last) ARG_SCAN(double, qc_load_f64, x <= b || (x != x))
    else ARG_SCAN(double, qc_load_f64, x < b || (x != x && b == b))
  }
  return QC_OK;
}

/* ---- CumSum ----------------------------------------------------------------------------- */

#define CUM_SCAN(T, LOAD, STORE, ADD)                                                        \
  for (int64_t o = 0; o < outer; o++)                                                        \
    for (int64_t i = 0; i < inner; i += CHUNK) {                                             \
      int64_t m = inner - i < CHUNK ? inner - i : CHUNK;                                     \
      T acc[CHUNK] = {0}, buf[CHUNK], res[CHUNK];                                            \
      for (int64_t s = 0; s < D; s++) {                                                      \
        int64_t off = (o * D + (rev ? D - 1 - s : s)) * inner + i;                           \
        LOAD(dt, in[0].data, off, m, buf);                                                   \
        for (int64_t t = 0; t < m; t++) {                                                    \
          T a = acc[t], x = buf[t];                                                          \
          acc[t] = (ADD);                                                                    \
          res[t] = excl ? a : acc[t];                                                        \
        }                                                                                    \
        STORE(dt, out[0].data, off, m, res);                                                 \
      }                                                                                      \
    }

qc_status qc_k_cumsum(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                      qc_tensor *out, int n_out)
{
  qc_dtype dt = in[0].dtype;
  int r = in[0].rank, axis;
  if (!qc_dtype_is_float(dt) && !qc_dtype_is_int(dt))
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                       qc_dtype_name(dt));
  if ((in[1].dtype != QC_DT_I32 && in[1].dtype != QC_DT_I64) || qc_tensor_elems(&in[1]) != 1)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis must be an i32 or i64 scalar");
  int64_t av;
  qc_load_i64(in[1].dtype, in[1].data, 0, 1, &av);
  if (!qc_axis_norm(av, r, &axis))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis %lld is out of range for rank %d",
                       (long long)av, r);
  int64_t outer = 1, inner = 1, D = in[0].dims[axis];
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < r; d++) inner *= in[0].dims[d];
  bool excl = qc_attr_i(n, "exclusive", 0) != 0, rev = qc_attr_i(n, "reverse", 0) != 0;
  if (qc_dtype_is_int(dt)) CUM_SCAN(int64_t, qc_load_i64, qc_store_i64, (int64_t)((uint64_t)a + (uint64_t)x))
  else CUM_SCAN(double, qc_load_f64, qc_store_f64, a + x)
  return QC_OK;
}
