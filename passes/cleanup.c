/* Cleanup passes: dead-code elimination, identity removal, pruning of unused values. */
#include <stdlib.h>
#include <string.h>
#include "pass_util.h"

qc_status qc_pass_dce(qc_graph *g, qc_err *e)
{
  qc_status st = qc_graph_toposort(g, e);
  if (st != QC_OK) return st;
  char *live = calloc((size_t)g->n_values + 1, 1);
  if (!live) return qc_err_set(e, QC_ERR_NOMEM, "out of memory in dce");
  for (int32_t i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] >= 0 && g->outputs[i] < g->n_values) live[g->outputs[i]] = 1;
  /* reverse topological order: a node is live when one of its outputs is */
  bool removed = false;
  for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
    qc_node *n = &g->nodes[i];
    bool used = false;
    for (int32_t k = 0; k < n->n_out && !used; k++)
      used = n->out[k] >= 0 && n->out[k] < g->n_values && live[n->out[k]];
    if (!used) {
      n->op = QC_OP_NONE;
      removed = true;
      continue;
    }
    for (int32_t k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0 && n->in[k] < g->n_values) live[n->in[k]] = 1;
  }
  free(live);
  if (removed) qc_graph_compact(g);
  return QC_OK;
}

/* Follows the replacement chain of v (rep[v] == v at its end). */
static int32_t find(const int32_t *rep, int32_t v)
{
  while (v >= 0 && rep[v] != v) v = rep[v];
  return v;
}

/* Identity, or a Dropout that is one: not training (no training_mode input or a constant
   false one) and its mask not wanted. */
static bool is_identity(const qc_graph *g, const qc_node *n, const int32_t *uses)
{
  if (n->op == QC_OP_Identity) return n->n_in == 1 && n->n_out == 1;
  if (n->op != QC_OP_Dropout || n->n_out < 1 || n->n_in < 1) return false;
  if (n->n_in >= 3 && n->in[2] >= 0) {
    const qc_value *t = &g->values[n->in[2]];
    if (!(t->flags & QC_VAL_CONST) || !t->data || t->dtype != QC_DT_BOOL ||
        qc_shape_elems(t->rank, t->dims) != 1 || *(const uint8_t *)t->data != 0)
      return false;
  }
  if (n->n_out >= 2 && n->out[1] >= 0 &&
      (uses[n->out[1]] > 0 || (g->values[n->out[1]].flags & QC_VAL_OUTPUT)))
    return false;
  return true;
}

/* Where dst knows less than src, takes src's dtype, shape and qparams. */
static void merge_info(qc_value *dst, const qc_value *src)
{
  if (dst->dtype == QC_DT_UNDEF) dst->dtype = src->dtype;
  if (dst->rank < 0 && src->rank >= 0) {
    dst->rank = src->rank;
    memcpy(dst->dims, src->dims, sizeof dst->dims);
  }
  if (!dst->q) dst->q = src->q;
}

qc_status qc_pass_eliminate_identity(qc_graph *g, qc_err *e)
{
  int32_t nv = g->n_values;
  int32_t *rep = malloc(sizeof(int32_t) * ((size_t)nv + 1));
  int32_t *uses = calloc((size_t)nv + 1, sizeof(int32_t));
  if (!rep || !uses) {
    free(rep);
    free(uses);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory eliminating identities");
  }
  for (int32_t v = 0; v < nv; v++) rep[v] = v;
  for (int32_t i = 0; i < g->n_nodes; i++)
    for (int32_t k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] >= 0 && g->nodes[i].in[k] < nv) uses[g->nodes[i].in[k]]++;
  bool removed = false;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    qc_node *n = &g->nodes[i];
    if (!is_identity(g, n, uses)) continue;
    int32_t x = find(rep, n->in[0]), y = n->out[0];
    if (x < 0 || y < 0) continue;
    qc_value *xv = &g->values[x], *yv = &g->values[y];
    if (!(yv->flags & QC_VAL_OUTPUT)) {
      merge_info(xv, yv);
      rep[y] = x; /* consumers of y read x */
    } else {
      /* y must keep its name: the producer of x writes y instead, if x is only an
         intermediate */
      int32_t p = xv->producer;
      if (p < 0 || p >= g->n_nodes || (xv->flags & (QC_VAL_OUTPUT | QC_VAL_INPUT | QC_VAL_CONST)))
        continue;
      qc_node *pn = &g->nodes[p];
      for (int32_t k = 0; k < pn->n_out; k++)
        if (pn->out[k] == x) pn->out[k] = y;
      merge_info(yv, xv);
      yv->producer = p;
      xv->producer = -1;
      rep[x] = y;
    }
    n->op = QC_OP_NONE;
    removed = true;
  }
  if (removed) {
    for (int32_t i = 0; i < g->n_nodes; i++) {
      qc_node *n = &g->nodes[i];
      if (n->op == QC_OP_NONE) continue;
      for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && n->in[k] < nv) n->in[k] = find(rep, n->in[k]);
    }
    for (int32_t v = 0; v < nv; v++)
      if (g->values[v].q && g->values[v].q->codebook >= 0 && g->values[v].q->codebook < nv)
        g->values[v].q->codebook = find(rep, g->values[v].q->codebook);
    qc_graph_compact(g);
  }
  free(rep);
  free(uses);
  return QC_OK;
}

/* ---- value pruning ---------------------------------------------------------------------- */

static void *dup(qc_arena *a, const void *p, size_t bytes, bool *ok)
{
  if (!p) return NULL;
  void *d = qc_arena_alloc(a, bytes ? bytes : 1);
  if (!d) {
    *ok = false;
    return NULL;
  }
  if (bytes) memcpy(d, p, bytes);
  return d;
}

static const char *dup_str(qc_arena *a, const char *s, bool *ok)
{
  return s ? dup(a, s, strlen(s) + 1, ok) : NULL;
}

static void copy_attr(qc_arena *a, qc_attr *d, const qc_attr *s, bool *ok)
{
  *d = *s;
  size_t n = s->n > 0 ? (size_t)s->n : 0;
  d->name = dup_str(a, s->name, ok);
  d->s = s->s ? dup(a, s->s, (size_t)(s->s_len > 0 ? s->s_len : 0) + 1, ok) : NULL;
  d->ints = dup(a, s->ints, sizeof(int64_t) * n, ok);
  d->floats = dup(a, s->floats, sizeof(float) * n, ok);
  if (s->strings) {
    const char **strs = dup(a, s->strings, sizeof(char *) * n, ok);
    for (size_t j = 0; strs && j < n; j++) strs[j] = dup_str(a, s->strings[j], ok);
    d->strings = strs;
  }
  if (s->tensors) {
    size_t cnt = s->kind == QC_ATTR_TENSORS ? n : 1;
    qc_tensor *t = dup(a, s->tensors, sizeof(qc_tensor) * cnt, ok);
    for (size_t j = 0; t && j < cnt; j++) {
      int64_t bytes = qc_tensor_bytes(&s->tensors[j]);
      t[j].data = dup(a, s->tensors[j].data, bytes > 0 ? (size_t)bytes : 0, ok);
    }
    d->tensors = t;
  }
}

static qc_qparams *copy_qparams(qc_arena *a, const qc_qparams *q, bool *ok)
{
  qc_qparams *d = dup(a, q, sizeof *q, ok);
  if (!d) return NULL;
  size_t n = q->n > 0 ? (size_t)q->n : 0;
  d->scale = dup(a, q->scale, sizeof(float) * n, ok);
  d->zero_point = dup(a, q->zero_point, sizeof(int32_t) * n, ok);
  d->mult = dup(a, q->mult, sizeof(int32_t) * n, ok);
  d->shift = dup(a, q->shift, sizeof(int32_t) * n, ok);
  return d;
}

static int32_t remap(const int32_t *map, int32_t nv, int32_t v)
{
  return v >= 0 && v < nv ? map[v] : v;
}

qc_status qc_pass_prune_values(qc_graph *g, qc_err *e)
{
  int32_t nv = g->n_values;
  int32_t *map = malloc(sizeof(int32_t) * ((size_t)nv + 1));
  int32_t *ids = NULL;
  if (!map) return qc_err_set(e, QC_ERR_NOMEM, "out of memory pruning values");
  for (int32_t v = 0; v < nv; v++) map[v] = -1;
#define KEEP(v) \
  do { \
    if ((v) >= 0 && (v) < nv) map[v] = 0; \
  } while (0)
  for (int32_t i = 0; i < g->n_inputs; i++) KEEP(g->inputs[i]);
  for (int32_t i = 0; i < g->n_outputs; i++) KEEP(g->outputs[i]);
  for (int32_t i = 0; i < g->n_nodes; i++) {
    for (int32_t k = 0; k < g->nodes[i].n_in; k++) KEEP(g->nodes[i].in[k]);
    for (int32_t k = 0; k < g->nodes[i].n_out; k++) KEEP(g->nodes[i].out[k]);
  }
  for (int32_t v = 0; v < nv; v++)
    if (map[v] == 0 && g->values[v].q) KEEP(g->values[v].q->codebook);
#undef KEEP
  int32_t kept = 0;
  for (int32_t v = 0; v < nv; v++)
    if (map[v] == 0) map[v] = kept++;
  if (kept == nv) {
    free(map);
    return QC_OK;
  }
  qc_graph *ng = qc_graph_new();
  bool ok = ng != NULL;
  qc_err tmp = {0};
  if (ok) {
    qc_arena *a = ng->arena;
    ng->name = dup_str(a, g->name, &ok);
    ng->opset = g->opset;
    for (int32_t i = 0; i < g->n_syms && ok; i++) ok = qc_graph_add_sym(ng, g->syms[i], &tmp) == i;
    for (int32_t v = 0; v < nv && ok; v++) {
      if (map[v] < 0) continue;
      const qc_value *s = &g->values[v];
      int32_t id = qc_graph_add_value(ng, s->name, s->dtype, s->rank, s->dims, &tmp);
      if (id != map[v]) {
        ok = false;
        break;
      }
      qc_value *d = &ng->values[id];
      d->flags = s->flags;
      if (s->data) {
        int64_t bytes = qc_dtype_bytes(s->dtype, qc_shape_elems(s->rank, s->dims));
        d->data = dup(a, s->data, bytes > 0 ? (size_t)bytes : 0, &ok);
      }
      if (s->q) {
        d->q = copy_qparams(a, s->q, &ok);
        if (d->q) d->q->codebook = remap(map, nv, s->q->codebook);
      }
    }
    int32_t max_io = 1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
      if (g->nodes[i].n_in > max_io) max_io = g->nodes[i].n_in;
      if (g->nodes[i].n_out > max_io) max_io = g->nodes[i].n_out;
    }
    if (g->n_inputs > max_io) max_io = g->n_inputs;
    if (g->n_outputs > max_io) max_io = g->n_outputs;
    ids = malloc(sizeof(int32_t) * 2 * (size_t)max_io);
    ok = ok && ids;
    for (int32_t i = 0; i < g->n_nodes && ok; i++) {
      const qc_node *s = &g->nodes[i];
      for (int32_t k = 0; k < s->n_in; k++) ids[k] = remap(map, nv, s->in[k]);
      for (int32_t k = 0; k < s->n_out; k++) ids[max_io + k] = remap(map, nv, s->out[k]);
      int32_t id = qc_graph_add_node(ng, s->op, s->name, s->n_in, ids, s->n_out, ids + max_io, &tmp);
      if (id < 0) {
        ok = false;
        break;
      }
      qc_node *d = &ng->nodes[id];
      if (s->n_attrs > 0) {
        d->attrs = qc_arena_alloc(a, sizeof(qc_attr) * (size_t)s->n_attrs);
        ok = d->attrs != NULL;
        for (int32_t k = 0; k < s->n_attrs && ok; k++) copy_attr(a, &d->attrs[k], &s->attrs[k], &ok);
        d->n_attrs = s->n_attrs;
      }
    }
    for (int32_t i = 0; i < g->n_inputs && ok; i++) ids[i] = map[g->inputs[i]];
    if (ok) ok = qc_graph_set_inputs(ng, g->n_inputs, ids, &tmp) == QC_OK;
    for (int32_t i = 0; i < g->n_outputs && ok; i++) ids[i] = map[g->outputs[i]];
    if (ok) ok = qc_graph_set_outputs(ng, g->n_outputs, ids, &tmp) == QC_OK;
  }
  free(map);
  free(ids);
  if (!ok) {
    qc_graph_free(ng);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory pruning values");
  }
  /* swap contents: callers keep their qc_graph pointer */
  qc_graph old = *g;
  *g = *ng;
  *ng = old;
  qc_graph_free(ng);
  return QC_OK;
}
