/* Graph construction: values and nodes in growable arrays, everything else in the arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

qc_graph *qc_graph_new(void)
{
  qc_graph *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->arena = qc_arena_new();
  if (!g->arena) {
    free(g);
    return NULL;
  }
  g->name = "";
  g->opset = 17;
  return g;
}

void qc_graph_free(qc_graph *g)
{
  if (!g) return;
  qc_arena_free(g->arena);
  free(g->values);
  free(g->nodes);
  free(g->syms);
  free(g->hash);
  free(g);
}

static bool grow(void **arr, int32_t *cap, int32_t need, size_t elem)
{
  if (need <= *cap) return true;
  if (need > (1 << 28)) return false;
  int32_t ncap = *cap ? *cap : 16;
  while (ncap < need) ncap *= 2;
  void *p = realloc(*arr, (size_t)ncap * elem);
  if (!p) return false;
  *arr = p;
  *cap = ncap;
  return true;
}

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Open addressing over value ids; rebuilt whenever the table would be more than half full. */
static bool hash_insert(qc_graph *g, int32_t id)
{
  if ((g->hash_n + 1) * 2 > g->hash_cap) {
    int32_t cap = g->hash_cap ? g->hash_cap * 2 : 64;
    int32_t *h = malloc((size_t)cap * sizeof *h);
    if (!h) return false;
    for (int32_t i = 0; i < cap; i++) h[i] = -1;
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    g->hash_n = 0;
    for (int32_t v = 0; v < g->n_values; v++)
      if (v != id) {
        uint32_t k = hash_str(g->values[v].name) & (uint32_t)(cap - 1);
        while (h[k] >= 0) k = (k + 1) & (uint32_t)(cap - 1);
        h[k] = v;
        g->hash_n++;
      }
  }
  uint32_t k = hash_str(g->values[id].name) & (uint32_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) k = (k + 1) & (uint32_t)(g->hash_cap - 1);
  g->hash[k] = id;
  g->hash_n++;
  return true;
}

int32_t qc_graph_find_value(qc_graph *g, const char *name)
{
  if (!g->hash_cap || !name) return -1;
  uint32_t k = hash_str(name) & (uint32_t)(g->hash_cap - 1);
  for (; g->hash[k] >= 0; k = (k + 1) & (uint32_t)(g->hash_cap - 1))
    if (strcmp(g->values[g->hash[k]].name, name) == 0) return g->hash[k];
  return -1;
}

int32_t qc_graph_add_value(qc_graph *g, const char *name, qc_dtype dtype, int rank,
                           const int64_t *dims, qc_err *e)
{
  char fresh[32];
  if (!name || !*name) {
    snprintf(fresh, sizeof fresh, "%%%d", g->n_values);
    name = fresh;
  }
  if (qc_graph_find_value(g, name) >= 0) {
    qc_err_set(e, QC_ERR_INVALID, "value '%s' is defined twice", name);
    return -1;
  }
  if (rank > QC_MAX_RANK) {
    qc_err_set(e, QC_ERR_UNSUPPORTED, "value '%s' has rank %d; at most %d is supported", name,
               rank, QC_MAX_RANK);
    return -1;
  }
  if (!grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(qc_value))) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding value '%s'", name);
    return -1;
  }
  qc_value *v = &g->values[g->n_values];
  memset(v, 0, sizeof *v);
  v->name = qc_arena_strdup(g->arena, name);
  if (!v->name) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding value '%s'", name);
    return -1;
  }
  v->dtype = dtype;
  v->rank = rank < 0 ? -1 : rank;
  for (int i = 0; i < rank; i++) v->dims[i] = dims ? dims[i] : QC_DIM_UNKNOWN;
  v->producer = -1;
  int32_t id = g->n_values++;
  if (!hash_insert(g, id)) {
    g->n_values--;
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding value '%s'", name);
    return -1;
  }
  return id;
}

int32_t qc_graph_add_const(qc_graph *g, const char *name, qc_dtype dtype, int rank,
                           const int64_t *dims, const void *data, qc_err *e)
{
  int64_t bytes = qc_dtype_bytes(dtype, qc_shape_elems(rank, dims));
  if (bytes < 0) {
    qc_err_set(e, QC_ERR_INVALID, "constant '%s' has an invalid or too large shape",
               name ? name : "");
    return -1;
  }
  int32_t id = qc_graph_add_value(g, name, dtype, rank, dims, e);
  if (id < 0) return -1;
  void *copy = qc_arena_alloc(g->arena, (size_t)bytes);
  if (!copy) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory for constant '%s' (%lld bytes)",
               g->values[id].name, (long long)bytes);
    return -1;
  }
  if (bytes) memcpy(copy, data, (size_t)bytes);
  g->values[id].data = copy;
  g->values[id].flags |= QC_VAL_CONST;
  return id;
}

int32_t qc_graph_add_node(qc_graph *g, qc_op op, const char *name, int32_t n_in,
                          const int32_t *in, int32_t n_out, const int32_t *out, qc_err *e)
{
  char fresh[32];
  if (!name || !*name) {
    snprintf(fresh, sizeof fresh, "%s_%d", qc_op_name(op), g->n_nodes);
    name = fresh;
  }
  if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(qc_node))) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding node '%s'", name);
    return -1;
  }
  qc_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = qc_arena_strdup(g->arena, name);
  n->in = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_in + 1));
  n->out = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n_out + 1));
  if (!n->name || !n->in || !n->out) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding node '%s'", name);
    return -1;
  }
  n->n_in = n_in;
  n->n_out = n_out;
  if (n_in) memcpy(n->in, in, sizeof(int32_t) * (size_t)n_in);
  if (n_out) memcpy(n->out, out, sizeof(int32_t) * (size_t)n_out);
  int32_t id = g->n_nodes++;
  for (int i = 0; i < n_out; i++)
    if (out[i] >= 0 && out[i] < g->n_values) g->values[out[i]].producer = id;
  return id;
}

qc_attr *qc_node_add_attr(qc_graph *g, int32_t node, const char *name, qc_attr_kind kind,
                          qc_err *e)
{
  qc_node *n = &g->nodes[node];
  qc_attr *a = qc_arena_alloc(g->arena, sizeof(qc_attr) * (size_t)(n->n_attrs + 1));
  const char *nm = qc_arena_strdup(g->arena, name);
  if (!a || !nm) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    return NULL;
  }
  if (n->n_attrs) memcpy(a, n->attrs, sizeof(qc_attr) * (size_t)n->n_attrs);
  n->attrs = a;
  a = &n->attrs[n->n_attrs++];
  a->name = nm;
  a->kind = kind;
  return a;
}

static qc_status set_list(qc_graph *g, int32_t **dst, int32_t *n_dst, int32_t n,
                          const int32_t *ids, uint32_t flag, qc_err *e)
{
  int32_t *arr = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(n + 1));
  if (!arr) return qc_err_set(e, QC_ERR_NOMEM, "out of memory setting graph inputs/outputs");
  for (int32_t i = 0; i < *n_dst; i++) g->values[(*dst)[i]].flags &= ~flag;
  for (int32_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= g->n_values)
      return qc_err_set(e, QC_ERR_INTERNAL, "graph input/output id %d out of range", ids[i]);
    arr[i] = ids[i];
    g->values[ids[i]].flags |= flag;
  }
  *dst = arr;
  *n_dst = n;
  return QC_OK;
}

qc_status qc_graph_set_inputs(qc_graph *g, int32_t n, const int32_t *ids, qc_err *e)
{
  return set_list(g, &g->inputs, &g->n_inputs, n, ids, QC_VAL_INPUT, e);
}

qc_status qc_graph_set_outputs(qc_graph *g, int32_t n, const int32_t *ids, qc_err *e)
{
  return set_list(g, &g->outputs, &g->n_outputs, n, ids, QC_VAL_OUTPUT, e);
}

int32_t qc_graph_add_sym(qc_graph *g, const char *name, qc_err *e)
{
  for (int32_t i = 0; i < g->n_syms; i++)
    if (strcmp(g->syms[i], name) == 0) return i;
  if (!grow((void **)&g->syms, &g->cap_syms, g->n_syms + 1, sizeof(char *))) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding dimension '%s'", name);
    return -1;
  }
  const char *s = qc_arena_strdup(g->arena, name);
  if (!s) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory adding dimension '%s'", name);
    return -1;
  }
  g->syms[g->n_syms] = s;
  return g->n_syms++;
}

/* Kahn's algorithm, taking ready nodes in their original order so that an already sorted
   graph is unchanged. */
qc_status qc_graph_toposort(qc_graph *g, qc_err *e)
{
  int32_t nn = g->n_nodes, nv = g->n_values;
  int32_t *pending = calloc((size_t)nn + 1, sizeof *pending);   /* unmet inputs per node */
  int32_t *order = malloc(((size_t)nn + 1) * sizeof *order);
  int32_t *first_use = malloc(((size_t)nv + 1) * sizeof *first_use); /* users as linked lists */
  int32_t *next_use = NULL, *use_node = NULL;
  qc_status st = QC_OK;
  int64_t n_uses = 0;
  for (int32_t i = 0; i < nn; i++) n_uses += g->nodes[i].n_in;
  use_node = malloc(((size_t)n_uses + 1) * sizeof *use_node);
  next_use = malloc(((size_t)n_uses + 1) * sizeof *next_use);
  if (!pending || !order || !first_use || !next_use || !use_node) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory sorting the graph");
    goto done;
  }
  for (int32_t v = 0; v < nv; v++) first_use[v] = -1;
  int64_t u = 0;
  for (int32_t i = 0; i < nn; i++) {
    const qc_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      int32_t v = n->in[k];
      if (v < 0 || v >= nv || g->values[v].producer < 0) continue;
      pending[i]++;
      use_node[u] = i;
      next_use[u] = first_use[v];
      first_use[v] = (int32_t)u++;
    }
  }
  /* A min-ordered ready list keeps original order: scan position advances monotonically
     unless a freed node precedes it, in which case we restart from there. */
  int32_t done_n = 0;
  char *emitted = calloc((size_t)nn + 1, 1);
  if (!emitted) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory sorting the graph");
    goto done;
  }
  int32_t scan = 0;
  while (done_n < nn) {
    while (scan < nn && (emitted[scan] || pending[scan] > 0)) scan++;
    if (scan >= nn) break;
    int32_t i = scan;
    emitted[i] = 1;
    order[done_n++] = i;
    int32_t low = nn;
    for (int k = 0; k < g->nodes[i].n_out; k++) {
      int32_t v = g->nodes[i].out[k];
      if (v < 0 || v >= nv) continue;
      for (int32_t x = first_use[v]; x >= 0; x = next_use[x])
        if (--pending[use_node[x]] == 0 && use_node[x] < low) low = use_node[x];
    }
    if (low < scan) scan = low;
  }
  if (done_n < nn) {
    int32_t bad = 0;
    while (bad < nn && emitted[bad]) bad++;
    st = qc_err_set(e, QC_ERR_INVALID,
                    "graph has a cycle (or an input produced by no node): node '%s' (%s) "
                    "can never run",
                    g->nodes[bad].name, qc_op_name(g->nodes[bad].op));
    free(emitted);
    goto done;
  }
  free(emitted);
  qc_node *sorted = malloc(((size_t)nn + 1) * sizeof *sorted);
  if (!sorted) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory sorting the graph");
    goto done;
  }
  for (int32_t i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
  if (nn > 0) memcpy(g->nodes, sorted, sizeof *sorted * (size_t)nn); /* nodes may be NULL */
  free(sorted);
  for (int32_t i = 0; i < nn; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++)
      if (g->nodes[i].out[k] >= 0) g->values[g->nodes[i].out[k]].producer = i;
done:
  free(pending);
  free(order);
  free(first_use);
  free(next_use);
  free(use_node);
  return st;
}

void qc_graph_compact(qc_graph *g)
{
  int32_t w = 0;
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op != QC_OP_NONE) g->nodes[w++] = g->nodes[i];
  g->n_nodes = w;
  for (int32_t v = 0; v < g->n_values; v++) g->values[v].producer = -1;
  for (int32_t i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++)
      if (g->nodes[i].out[k] >= 0) g->values[g->nodes[i].out[k]].producer = i;
}

static void *dup(qc_arena *a, const void *p, size_t bytes, bool *ok)
{
  if (!p) return NULL;
  void *d = qc_arena_alloc(a, bytes ? bytes : 1);
  if (!d) {
    *ok = false;
    return NULL;
  }
  memcpy(d, p, bytes);
  return d;
}

static void *dup_str(qc_arena *a, const char *s, bool *ok)
{
  return s ? dup(a, s, strlen(s) + 1, ok) : NULL;
}

static qc_tensor *dup_tensors(qc_arena *a, const qc_tensor *t, int64_t n, bool *ok)
{
  if (!t) return NULL;
  qc_tensor *d = dup(a, t, sizeof *t * (size_t)n, ok);
  if (!d) return NULL;
  for (int64_t i = 0; i < n; i++) {
    int64_t bytes = qc_tensor_bytes(&t[i]);
    d[i].data = dup(a, t[i].data, bytes > 0 ? (size_t)bytes : 0, ok);
  }
  return d;
}

qc_graph *qc_graph_clone(const qc_graph *g, qc_err *e)
{
  qc_graph *c = qc_graph_new();
  if (!c) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory copying the graph");
    return NULL;
  }
  bool ok = true;
  qc_arena *a = c->arena;
  c->name = dup_str(a, g->name, &ok);
  c->opset = g->opset;
  for (int32_t i = 0; i < g->n_syms && ok; i++) ok = qc_graph_add_sym(c, g->syms[i], e) >= 0;
  for (int32_t v = 0; v < g->n_values && ok; v++) {
    const qc_value *src = &g->values[v];
    int32_t id = qc_graph_add_value(c, src->name, src->dtype, src->rank, src->dims, e);
    if (id < 0) {
      ok = false;
      break;
    }
    qc_value *dst = &c->values[id];
    dst->flags = src->flags;
    dst->producer = src->producer;
    if (src->data) {
      int64_t bytes = qc_dtype_bytes(src->dtype, qc_shape_elems(src->rank, src->dims));
      dst->data = dup(a, src->data, bytes > 0 ? (size_t)bytes : 0, &ok);
    }
    if (src->q) {
      const qc_qparams *q = src->q;
      qc_qparams *dq = dup(a, q, sizeof *q, &ok);
      if (dq) {
        dq->scale = dup(a, q->scale, sizeof(float) * (size_t)q->n, &ok);
        dq->zero_point = dup(a, q->zero_point, sizeof(int32_t) * (size_t)q->n, &ok);
        dq->mult = dup(a, q->mult, sizeof(int32_t) * (size_t)q->n, &ok);
        dq->shift = dup(a, q->shift, sizeof(int32_t) * (size_t)q->n, &ok);
      }
      dst->q = dq;
    }
  }
  for (int32_t i = 0; i < g->n_nodes && ok; i++) {
    const qc_node *n = &g->nodes[i];
    int32_t id = qc_graph_add_node(c, n->op, n->name, n->n_in, n->in, n->n_out, n->out, e);
    if (id < 0) {
      ok = false;
      break;
    }
    qc_node *d = &c->nodes[id];
    d->n_attrs = n->n_attrs;
    d->attrs = dup(a, n->attrs, sizeof(qc_attr) * (size_t)n->n_attrs, &ok);
    for (int k = 0; k < n->n_attrs && ok; k++) {
      const qc_attr *s = &n->attrs[k];
      qc_attr *t = &d->attrs[k];
      t->name = dup_str(a, s->name, &ok);
      t->s = s->s ? dup(a, s->s, (size_t)s->s_len + 1, &ok) : NULL;
      t->ints = dup(a, s->ints, sizeof(int64_t) * (size_t)s->n, &ok);
      t->floats = dup(a, s->floats, sizeof(float) * (size_t)s->n, &ok);
      if (s->strings) {
        t->strings = dup(a, s->strings, sizeof(char *) * (size_t)s->n, &ok);
        for (int64_t j = 0; j < s->n && ok; j++) t->strings[j] = dup_str(a, s->strings[j], &ok);
      }
      t->tensors = dup_tensors(a, s->tensors, s->kind == QC_ATTR_TENSORS ? s->n : 1, &ok);
    }
  }
  if (ok) ok = qc_graph_set_inputs(c, g->n_inputs, g->inputs, e) == QC_OK;
  if (ok) ok = qc_graph_set_outputs(c, g->n_outputs, g->outputs, e) == QC_OK;
  if (!ok) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory copying the graph");
    qc_graph_free(c);
    return NULL;
  }
  return c;
}
