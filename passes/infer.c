/* Shape inference over the whole graph: each op's inference function (ir/ops.h) on what is
   known of its inputs, constants' contents included, results merged into the node outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pass_util.h"

void qc_pass_fmt_type(const qc_graph *g, qc_dtype dt, int rank, const int64_t *dims, char *buf,
                      size_t cap)
{
  size_t len = 0;
#define APPEND(...) \
  do { \
    int w_ = snprintf(buf + len, cap - len, __VA_ARGS__); \
    if (w_ < 0 || (size_t)w_ >= cap - len) return; \
    len += (size_t)w_; \
  } while (0)
  if (!cap) return;
  buf[0] = 0;
  APPEND("%s[", dt == QC_DT_UNDEF ? "?" : qc_dtype_name(dt));
  if (rank < 0) APPEND("*");
  for (int i = 0; i < rank && i < QC_MAX_RANK; i++) {
    if (i) APPEND(",");
    if (dims[i] >= 0) APPEND("%lld", (long long)dims[i]);
    else if (dims[i] == QC_DIM_UNKNOWN) APPEND("?");
    else if (-2 - dims[i] < (int64_t)g->n_syms) APPEND("%s", g->syms[-2 - dims[i]]);
    else APPEND("<dim %lld>", (long long)dims[i]);
  }
  APPEND("]");
#undef APPEND
}

qc_status qc_pass_merge_type(qc_graph *g, int32_t id, qc_dtype dt, int rank, const int64_t *dims,
                             const qc_node *n, const char *how, qc_err *e)
{
  qc_value *v = &g->values[id];
  if ((unsigned)dt >= QC_DT_COUNT || rank < -1 || rank > QC_MAX_RANK)
    return qc_node_err(e, n, QC_ERR_INTERNAL, "%s an invalid dtype or rank for '%s'", how,
                       v->name);
  for (int i = 0; i < rank; i++)
    if (dims[i] < QC_DIM_UNKNOWN && -2 - dims[i] >= (int64_t)g->n_syms)
      return qc_node_err(e, n, QC_ERR_INTERNAL, "%s an invalid dimension %lld for '%s'", how,
                         (long long)dims[i], v->name);
  bool conflict = dt != QC_DT_UNDEF && v->dtype != QC_DT_UNDEF && dt != v->dtype;
  if (rank >= 0 && v->rank >= 0) {
    conflict |= rank != v->rank;
    for (int i = 0; i < rank && !conflict; i++)
      conflict = dims[i] >= 0 && v->dims[i] >= 0 && dims[i] != v->dims[i];
  }
  if (conflict) {
    char decl[160], got[160];
    qc_pass_fmt_type(g, v->dtype, v->rank, v->dims, decl, sizeof decl);
    qc_pass_fmt_type(g, dt, rank, dims, got, sizeof got);
    return qc_err_set(e, QC_ERR_INVALID, "value '%s' (output of node '%s' (%s)): declared %s, %s %s",
                      v->name, n->name ? n->name : "?", qc_op_name(n->op), decl, how, got);
  }
  if (dt != QC_DT_UNDEF) v->dtype = dt;
  if (rank >= 0 && v->rank < 0) {
    v->rank = rank;
    memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  } else if (rank >= 0) {
    for (int i = 0; i < rank; i++)
      if (v->dims[i] < 0 && dims[i] != QC_DIM_UNKNOWN) v->dims[i] = dims[i];
  }
  return QC_OK;
}

qc_status qc_pass_infer_shapes(qc_graph *g, const qc_infer_opts *o, qc_err *e)
{
  int32_t max_in = 1, max_out = 1;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].n_in > max_in) max_in = g->nodes[i].n_in;
    if (g->nodes[i].n_out > max_out) max_out = g->nodes[i].n_out;
  }
  qc_tinfo *in = calloc((size_t)max_in, sizeof *in), *out = calloc((size_t)max_out, sizeof *out);
  qc_status st = QC_OK;
  if (!in || !out) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory inferring shapes");
  for (int32_t i = 0; i < g->n_nodes && st == QC_OK; i++) {
    const qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE) continue;
    for (int32_t k = 0; k < n->n_in; k++) {
      qc_tinfo *t = &in[k];
      memset(t, 0, sizeof *t);
      t->rank = -1;
      int32_t v = n->in[k];
      if (v < 0 || v >= g->n_values) continue;
      const qc_value *val = &g->values[v];
      t->dtype = val->dtype;
      t->rank = val->rank;
      if (val->rank > 0) memcpy(t->dims, val->dims, sizeof(int64_t) * (size_t)val->rank);
      t->data = (val->flags & QC_VAL_CONST) ? val->data : NULL;
    }
    for (int32_t k = 0; k < n->n_out; k++) {
      memset(&out[k], 0, sizeof out[k]);
      out[k].rank = -1;
    }
    qc_err tmp = {0};
    st = qc_infer_node(n, in, n->n_in, out, n->n_out, &tmp);
    if (st == QC_ERR_UNSUPPORTED && o && o->skip_unsupported) {
      st = QC_OK;
      continue;
    }
    if (st != QC_OK) {
      qc_err_set(e, st, "%s", tmp.msg[0] ? tmp.msg : qc_status_name(st));
      break;
    }
    for (int32_t k = 0; k < n->n_out && st == QC_OK; k++)
      if (n->out[k] >= 0 && n->out[k] < g->n_values)
        st = qc_pass_merge_type(g, n->out[k], out[k].dtype, out[k].rank, out[k].dims, n,
                                "inferred", e);
  }
  free(in);
  free(out);
  return st;
}
