/* Constant folding: nodes whose outputs are known at compile time become constant values.
   Constant, Shape, Size and Identity fold here; every other op folds through the caller's
   evaluation callback (passes/ cannot reach the interpreter, see docs/design.md). */
#include <stdlib.h>
#include <string.h>
#include "pass_util.h"

static void free_outs(qc_tensor *out, int n)
{
  for (int k = 0; k < n; k++) {
    free(out[k].data);
    out[k].data = NULL;
  }
}

/* A malloc'd copy of bytes (at least one byte, so that empty tensors have data). */
static void *copy_bytes(const void *src, int64_t bytes)
{
  void *p = malloc(bytes > 0 ? (size_t)bytes : 1);
  if (p && bytes > 0) memcpy(p, src, (size_t)bytes);
  return p;
}

static bool set_i64(qc_tensor *t, int rank, const int64_t *vals, int64_t n)
{
  t->dtype = QC_DT_I64;
  t->rank = rank;
  if (rank == 1) t->dims[0] = n;
  t->data = copy_bytes(vals, n * 8);
  return t->data != NULL;
}

/* Folds Constant, Shape, Size and Identity. *done false: not foldable here (or now). */
static qc_status fold_native(const qc_graph *g, const qc_node *n, qc_tensor *out, bool *done,
                             qc_err *e)
{
  *done = false;
  const qc_value *x = n->n_in > 0 && n->in[0] >= 0 ? &g->values[n->in[0]] : NULL;
  switch (n->op) {
  case QC_OP_Constant: {
    if (n->n_attrs != 1)
      return qc_node_err(e, n, QC_ERR_INVALID, "needs exactly one value attribute, has %d",
                         (int)n->n_attrs);
    const qc_attr *a = &n->attrs[0];
    bool ok = true;
    if (strcmp(a->name, "value") == 0 && a->kind == QC_ATTR_TENSOR && a->tensors &&
        a->tensors->data) {
      const qc_tensor *t = a->tensors;
      *out = *t;
      out->data = copy_bytes(t->data, qc_tensor_bytes(t));
      ok = out->data != NULL;
    } else if (strcmp(a->name, "value_float") == 0 && a->kind == QC_ATTR_FLOAT) {
      out->dtype = QC_DT_F32;
      out->rank = 0;
      ok = (out->data = copy_bytes(&a->f, 4)) != NULL;
    } else if (strcmp(a->name, "value_floats") == 0 && a->kind == QC_ATTR_FLOATS) {
      out->dtype = QC_DT_F32;
      out->rank = 1;
      out->dims[0] = a->n;
      ok = (out->data = copy_bytes(a->floats, a->n * 4)) != NULL;
    } else if (strcmp(a->name, "value_int") == 0 && a->kind == QC_ATTR_INT) {
      ok = set_i64(out, 0, &a->i, 1);
    } else if (strcmp(a->name, "value_ints") == 0 && a->kind == QC_ATTR_INTS) {
      ok = set_i64(out, 1, a->ints, a->n);
    } else {
      return QC_OK; /* strings, sparse tensors, elided data: not a quantc tensor */
    }
    if (!ok) return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory folding");
    *done = true;
    return QC_OK;
  }
  case QC_OP_Shape: {
    if (!x || x->rank < 0) return QC_OK;
    int64_t r = x->rank, start = qc_attr_i(n, "start", 0), end = r;
    const qc_attr *ea = qc_node_attr(n, "end");
    if (ea && ea->kind == QC_ATTR_INT) end = ea->i;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    for (int64_t i = start; i < start + len; i++)
      if (x->dims[i] < 0) return QC_OK;
    if (!set_i64(out, 1, x->dims + start, len))
      return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory folding");
    *done = true;
    return QC_OK;
  }
  case QC_OP_Size: {
    int64_t elems = x ? qc_shape_elems(x->rank, x->dims) : -1;
    if (elems < 0) return QC_OK;
    if (!set_i64(out, 0, &elems, 1)) return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory folding");
    *done = true;
    return QC_OK;
  }
  case QC_OP_Identity: {
    if (!x || !(x->flags & QC_VAL_CONST) || !x->data || x->rank < 0) return QC_OK;
    out->dtype = x->dtype;
    out->rank = x->rank;
    memcpy(out->dims, x->dims, sizeof out->dims);
    out->data = copy_bytes(x->data, qc_dtype_bytes(x->dtype, qc_shape_elems(x->rank, x->dims)));
    if (!out->data) return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory folding");
    *done = true;
    return QC_OK;
  }
  default: return QC_OK;
  }
}

/* Inputs all constant (at least one present): fill in[] and preset out[] from inference. */
static bool prepare_eval(const qc_graph *g, const qc_node *n, qc_tensor *in, qc_tinfo *ti,
                         qc_tensor *out, qc_tinfo *to)
{
  int present = 0;
  for (int32_t k = 0; k < n->n_in; k++) {
    memset(&in[k], 0, sizeof in[k]);
    memset(&ti[k], 0, sizeof ti[k]);
    ti[k].rank = -1;
    int32_t v = n->in[k];
    if (v < 0) continue;
    const qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST) || !val->data || val->rank < 0) return false;
    in[k].dtype = ti[k].dtype = val->dtype;
    in[k].rank = ti[k].rank = val->rank;
    memcpy(in[k].dims, val->dims, sizeof in[k].dims);
    memcpy(ti[k].dims, val->dims, sizeof ti[k].dims);
    in[k].data = val->data;
    ti[k].data = val->data;
    present++;
  }
  if (!present) return false;
  for (int32_t k = 0; k < n->n_out; k++) {
    memset(&to[k], 0, sizeof to[k]);
    to[k].rank = -1;
  }
  qc_err tmp = {0};
  bool inferred = qc_infer_node(n, ti, n->n_in, to, n->n_out, &tmp) == QC_OK;
  for (int32_t k = 0; k < n->n_out; k++) {
    memset(&out[k], 0, sizeof out[k]);
    out[k].rank = -1;
    if (inferred && to[k].rank >= 0 && to[k].rank <= QC_MAX_RANK &&
        qc_shape_elems(to[k].rank, to[k].dims) >= 0) {
      out[k].dtype = to[k].dtype;
      out[k].rank = to[k].rank;
      memcpy(out[k].dims, to[k].dims, sizeof out[k].dims);
    }
  }
  return true;
}

qc_status qc_pass_fold_constants(qc_graph *g, const qc_fold_opts *o, qc_err *e)
{
  int64_t max_bytes = o && o->max_bytes > 0 ? o->max_bytes : QC_FOLD_MAX_BYTES_DEFAULT;
  int32_t max_in = 1, max_out = 1;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].n_in > max_in) max_in = g->nodes[i].n_in;
    if (g->nodes[i].n_out > max_out) max_out = g->nodes[i].n_out;
  }
  qc_tensor *in = calloc((size_t)max_in, sizeof *in), *out = calloc((size_t)max_out, sizeof *out);
  qc_tinfo *ti = calloc((size_t)max_in, sizeof *ti), *to = calloc((size_t)max_out, sizeof *to);
  void **dst = calloc((size_t)max_out, sizeof *dst);
  qc_status st = QC_OK;
  bool folded_any = false;
  if (!in || !out || !ti || !to || !dst) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory folding constants");
  for (int32_t i = 0; i < g->n_nodes && st == QC_OK; i++) {
    qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE || n->n_out < 1) continue;
    bool skip = false;
    for (int32_t k = 0; k < n->n_out; k++)
      if (n->out[k] >= 0 && (g->values[n->out[k]].flags & (QC_VAL_CONST | QC_VAL_INPUT)))
        skip = true;
    if (skip) continue;
    memset(out, 0, sizeof *out * (size_t)n->n_out);
    bool done = false;
    if (n->n_out == 1) st = fold_native(g, n, &out[0], &done, e);
    if (st != QC_OK) break;
    if (!done && o && o->eval && prepare_eval(g, n, in, ti, out, to)) {
      bool too_big = false;
      for (int32_t k = 0; k < n->n_out; k++)
        if (out[k].rank >= 0 && qc_tensor_bytes(&out[k]) > max_bytes) too_big = true;
      if (too_big) continue;
      qc_err tmp = {0};
      st = o->eval(o->user, n, in, n->n_in, out, n->n_out, &tmp);
      if (st == QC_ERR_UNSUPPORTED) {
        free_outs(out, n->n_out);
        st = QC_OK;
        continue;
      }
      if (st != QC_OK) {
        free_outs(out, n->n_out);
        st = qc_err_set(e, st, "%s", tmp.msg[0] ? tmp.msg : qc_status_name(st));
        break;
      }
      done = true;
    }
    if (!done) continue;
    /* every present output must be a concrete tensor within the size limit */
    bool keep = true;
    for (int32_t k = 0; k < n->n_out && st == QC_OK; k++) {
      if (n->out[k] < 0) continue;
      qc_tensor *t = &out[k];
      int64_t bytes = t->rank >= 0 && t->rank <= QC_MAX_RANK ? qc_tensor_bytes(t) : -1;
      if (t->dtype == QC_DT_UNDEF || bytes < 0 || !t->data)
        st = qc_node_err(e, n, QC_ERR_INTERNAL, "folding gave no valid tensor for output %d",
                         (int)k);
      else if (bytes > max_bytes) keep = false;
    }
    /* types first (compatible refinements only), then data, then flags: a failure leaves
       no output half-constant */
    for (int32_t k = 0; k < n->n_out && st == QC_OK && keep; k++)
      if (n->out[k] >= 0)
        st = qc_pass_merge_type(g, n->out[k], out[k].dtype, out[k].rank, out[k].dims, n,
                                "folded", e);
    for (int32_t k = 0; k < n->n_out && st == QC_OK && keep; k++) {
      dst[k] = NULL;
      if (n->out[k] < 0) continue;
      int64_t bytes = qc_tensor_bytes(&out[k]);
      dst[k] = qc_arena_alloc(g->arena, (size_t)bytes);
      if (!dst[k]) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory folding '%s'", g->values[n->out[k]].name);
      else if (bytes) memcpy(dst[k], out[k].data, (size_t)bytes);
    }
    for (int32_t k = 0; k < n->n_out && st == QC_OK && keep; k++)
      if (n->out[k] >= 0) {
        g->values[n->out[k]].data = dst[k];
        g->values[n->out[k]].flags |= QC_VAL_CONST;
      }
    free_outs(out, n->n_out);
    if (st == QC_OK && keep) {
      n->op = QC_OP_NONE;
      folded_any = true;
    }
  }
  if (folded_any) qc_graph_compact(g);
  free(in);
  free(out);
  free(ti);
  free(to);
  free(dst);
  return st;
}
