/* The verifier: every invariant that passes, the interpreter and code generation rely on,
   checked in one place. Stops at the first problem and names the node or value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

static const char *kind_name(qc_attr_kind k)
{
  static const char *names[] = {"undefined",     "float",          "int",        "string",
                                "tensor",        "graph",          "floats",     "ints",
                                "strings",       "tensors",        "graphs",     "sparse tensor",
                                "sparse tensors", "type proto",    "type protos"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "invalid";
}

static const char *vname(const qc_graph *g, int32_t v)
{
  return g->values[v].name ? g->values[v].name : "?";
}

static const char *plural(int64_t n) { return n == 1 ? "" : "s"; }

static qc_status check_dims(const qc_graph *g, const char *what, const char *name, int rank,
                            const int64_t *dims, qc_err *e)
{
  if (rank < -1 || rank > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_INVALID, "%s '%s' has rank %d (at most %d)", what, name, rank,
                      QC_MAX_RANK);
  for (int i = 0; i < rank; i++)
    if (dims[i] < QC_DIM_UNKNOWN && -2 - dims[i] >= (int64_t)g->n_syms)
      return qc_err_set(e, QC_ERR_INVALID,
                        "%s '%s': dimension %d is %lld, not one of the graph's %d symbols", what,
                        name, i, (long long)dims[i], (int)g->n_syms);
  return QC_OK;
}

static qc_status check_qparams(const qc_graph *g, int32_t id, qc_err *e)
{
  const qc_value *v = &g->values[id];
  const qc_qparams *q = v->q;
  const char *nm = vname(g, id);
  if (q->n < 1)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': qparams have no scales", nm);
  if (!q->scale || !q->zero_point)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': qparams lack scales or zero points", nm);
  if (!q->mult != !q->shift)
    return qc_err_set(e, QC_ERR_INVALID,
                      "value '%s': qparams have multipliers without shifts or the reverse", nm);
  if (q->bits < 1 || q->bits > 32)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': qparams bits %d outside 1..32", nm,
                      q->bits);
  if (q->axis < -1 || (v->rank >= 0 && q->axis >= v->rank))
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': qparams axis %d out of range for rank %d",
                      nm, q->axis, v->rank);
  if (q->axis == -1 && q->n != 1)
    return qc_err_set(e, QC_ERR_INVALID,
                      "value '%s': per-tensor qparams (axis -1) need 1 scale, found %d", nm,
                      (int)q->n);
  if (q->axis >= 0 && v->rank >= 0 && v->dims[q->axis] >= 0 && q->n != v->dims[q->axis])
    return qc_err_set(e, QC_ERR_INVALID,
                      "value '%s': qparams have %d scales but axis %d has %lld channels", nm,
                      (int)q->n, q->axis, (long long)v->dims[q->axis]);
  bool cb_dtype = (unsigned)v->dtype < QC_DT_COUNT && (qc_dtypes[v->dtype].flags & QC_DTF_CODEBOOK);
  if (q->codebook >= g->n_values || q->codebook < -1)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': codebook id %d out of range", nm,
                      (int)q->codebook);
  if (cb_dtype && q->codebook < 0)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': codebook-indexed %s without a codebook",
                      nm, qc_dtype_name(v->dtype));
  if (!cb_dtype && q->codebook >= 0)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s': codebook given for dtype %s", nm,
                      qc_dtype_name(v->dtype));
  return QC_OK;
}

static qc_status check_value(const qc_graph *g, int32_t id, qc_err *e)
{
  const qc_value *v = &g->values[id];
  if (!v->name) return qc_err_set(e, QC_ERR_INVALID, "value %d has no name", (int)id);
  if ((unsigned)v->dtype >= QC_DT_COUNT)
    return qc_err_set(e, QC_ERR_INVALID, "value '%s' has invalid dtype %d", v->name,
                      (int)v->dtype);
  qc_status st = check_dims(g, "value", v->name, v->rank, v->dims, e);
  if (st != QC_OK) return st;
  if (v->flags & QC_VAL_CONST) {
    if (v->dtype == QC_DT_UNDEF)
      return qc_err_set(e, QC_ERR_INVALID, "constant '%s' has no dtype", v->name);
    if (qc_shape_elems(v->rank, v->dims) < 0)
      return qc_err_set(e, QC_ERR_INVALID, "constant '%s' has no fully known shape", v->name);
    if (!v->data) return qc_err_set(e, QC_ERR_INVALID, "constant '%s' has no data", v->name);
  }
  if (v->q) return check_qparams(g, id, e);
  return QC_OK;
}

/* Value names must be unique (printing and lookup by name depend on it). */
static qc_status check_unique_names(const qc_graph *g, qc_err *e)
{
  int32_t n = g->n_values;
  if (n < 2) return QC_OK;
  int32_t cap = 1;
  while (cap < 2 * n) cap *= 2;
  int32_t *tab = malloc(sizeof(int32_t) * (size_t)cap);
  if (!tab) return qc_err_set(e, QC_ERR_NOMEM, "out of memory verifying the graph");
  for (int32_t i = 0; i < cap; i++) tab[i] = -1;
  qc_status st = QC_OK;
  for (int32_t v = 0; v < n && st == QC_OK; v++) {
    uint32_t h = 2166136261u;
    for (const char *s = g->values[v].name; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    uint32_t k = h & (uint32_t)(cap - 1);
    for (; tab[k] >= 0; k = (k + 1) & (uint32_t)(cap - 1))
      if (strcmp(g->values[tab[k]].name, g->values[v].name) == 0) {
        st = qc_err_set(e, QC_ERR_INVALID, "two values are named '%s'", g->values[v].name);
        break;
      }
    tab[k] = v;
  }
  free(tab);
  return st;
}

/* Checks attributes against the op's schema: known names, kinds, payloads, required ones. */
static qc_status check_attrs(const qc_graph *g, const qc_node *n, qc_err *e)
{
  if (n->n_attrs < 0 || (n->n_attrs > 0 && !n->attrs))
    return qc_node_err(e, n, QC_ERR_INVALID, "bad attribute array");
  for (int32_t k = 0; k < n->n_attrs; k++) {
    const qc_attr *a = &n->attrs[k];
    if (!a->name) return qc_node_err(e, n, QC_ERR_INVALID, "attribute %d has no name", (int)k);
    for (int32_t j = 0; j < k; j++)
      if (n->attrs[j].name && strcmp(n->attrs[j].name, a->name) == 0)
        return qc_node_err(e, n, QC_ERR_INVALID, "duplicate attribute '%s'", a->name);
    qc_attr_spec spec;
    if (!qc_op_attr_spec(n->op, a->name, &spec))
      return qc_node_err(e, n, QC_ERR_INVALID, "unknown attribute '%s'", a->name);
    if (spec.kind != a->kind)
      return qc_node_err(e, n, QC_ERR_INVALID, "attribute '%s' is %s, expected %s", a->name,
                         kind_name(a->kind), kind_name(spec.kind));
    bool bad = false;
    switch (a->kind) {
    case QC_ATTR_STRING: bad = !a->s || a->s_len < 0; break;
    case QC_ATTR_INTS: bad = a->n < 0 || (a->n > 0 && !a->ints); break;
    case QC_ATTR_FLOATS: bad = a->n < 0 || (a->n > 0 && !a->floats); break;
    case QC_ATTR_STRINGS:
      bad = a->n < 0 || (a->n > 0 && !a->strings);
      for (int64_t i = 0; i < a->n && !bad; i++) bad = !a->strings[i];
      break;
    case QC_ATTR_TENSOR:
    case QC_ATTR_TENSORS: {
      int64_t cnt = a->kind == QC_ATTR_TENSOR ? 1 : a->n;
      bad = cnt < 0 || (cnt > 0 && !a->tensors);
      for (int64_t i = 0; i < cnt && !bad; i++) {
        const qc_tensor *t = &a->tensors[i];
        int64_t bytes = t->rank >= 0 && t->rank <= QC_MAX_RANK ? qc_tensor_bytes(t) : -1;
        if (t->dtype == QC_DT_UNDEF || bytes < 0)
          return qc_node_err(e, n, QC_ERR_INVALID,
                             "attribute '%s': tensor has an invalid dtype or shape", a->name);
        if (!t->data)
          return qc_node_err(e, n, QC_ERR_INVALID, "attribute '%s': tensor has no data",
                             a->name);
      }
      break;
    }
    default: break;
    }
    if (bad) return qc_node_err(e, n, QC_ERR_INVALID, "attribute '%s' has no data", a->name);
  }
  /* required attributes: walk the schema text ("name:kind!" marks one) */
  for (const char *p = qc_ops[n->op].attrs; *p;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, " ");
    const char *colon = memchr(p, ':', len);
    if (colon && memchr(colon, '!', len - (size_t)(colon - p))) {
      char name[64];
      size_t nl = (size_t)(colon - p) < sizeof name - 1 ? (size_t)(colon - p) : sizeof name - 1;
      memcpy(name, p, nl);
      name[nl] = 0;
      if (!qc_node_attr(n, name))
        return qc_node_err(e, n, QC_ERR_INVALID, "missing required attribute '%s'", name);
    }
    p += len;
  }
  (void)g;
  return QC_OK;
}

static qc_status check_arity(const qc_node *n, qc_err *e)
{
  const qc_op_info *o = &qc_ops[n->op];
  struct {
    const char *what;
    int32_t got;
    int lo, hi;
  } io[2] = {{"input", n->n_in, o->min_in, o->max_in}, {"output", n->n_out, o->min_out, o->max_out}};
  for (int i = 0; i < 2; i++) {
    int32_t got = io[i].got;
    int lo = io[i].lo, hi = io[i].hi;
    if (got >= lo && (hi < 0 || got <= hi)) continue;
    if (hi < 0)
      return qc_node_err(e, n, QC_ERR_INVALID, "expected at least %d %s%s, got %d", lo,
                         io[i].what, plural(lo), (int)got);
    if (lo == hi)
      return qc_node_err(e, n, QC_ERR_INVALID, "expected %d %s%s, got %d", lo, io[i].what,
                         plural(lo), (int)got);
    return qc_node_err(e, n, QC_ERR_INVALID, "expected %d to %d %ss, got %d", lo, hi,
                       io[i].what, (int)got);
  }
  if ((n->n_in > 0 && !n->in) || (n->n_out > 0 && !n->out))
    return qc_node_err(e, n, QC_ERR_INVALID, "missing input or output array");
  return QC_OK;
}

/* On a use before definition: a cycle if Kahn's algorithm cannot order the nodes, else just
   a wrong order. For a cycle, walks producers back from a stuck node until one repeats and
   names the nodes on that loop in data-flow order. */
static qc_status report_order(const qc_graph *g, const int32_t *prod, int32_t user,
                              int32_t v, qc_err *e)
{
  int32_t nn = g->n_nodes;
  int32_t *pending = calloc((size_t)nn + 1, sizeof *pending);
  int32_t *stack = malloc(sizeof(int32_t) * ((size_t)nn + 1));
  int32_t *seen = malloc(sizeof(int32_t) * ((size_t)nn + 1));
  qc_status st = QC_OK;
  if (!pending || !stack || !seen) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory verifying the graph");
    goto done;
  }
  /* pending[i]: inputs of node i produced by a node not yet ordered; a quadratic relaxation
     is fine on this error path. */
  bool progress = true;
  char *ordered = (char *)seen; /* reuse as flags first */
  memset(ordered, 0, (size_t)nn + 1);
  while (progress) {
    progress = false;
    for (int32_t i = 0; i < nn; i++) {
      if (ordered[i]) continue;
      const qc_node *n = &g->nodes[i];
      bool ready = true;
      for (int32_t k = 0; k < n->n_in && ready; k++) {
        int32_t u = n->in[k];
        if (u >= 0 && u < g->n_values && prod[u] >= 0 && !ordered[prod[u]]) ready = false;
      }
      if (ready) ordered[i] = 1, progress = true;
    }
  }
  int32_t stuck = -1;
  for (int32_t i = 0; i < nn && stuck < 0; i++)
    if (!ordered[i]) stuck = i;
  if (stuck < 0) {
    st = qc_node_err(e, &g->nodes[user], QC_ERR_INVALID,
                     "input '%s' is used before node '%s' (%s) defines it (nodes are not in "
                     "topological order)",
                     vname(g, v), g->nodes[prod[v]].name, qc_op_name(g->nodes[prod[v]].op));
    goto done;
  }
  /* walk back through unordered producers; the first node seen twice is on a cycle */
  for (int32_t i = 0; i < nn; i++) pending[i] = -1; /* position in stack */
  int32_t depth = 0, cur = stuck;
  while (cur >= 0 && pending[cur] < 0) {
    pending[cur] = depth;
    stack[depth++] = cur;
    const qc_node *n = &g->nodes[cur];
    int32_t nxt = -1;
    for (int32_t k = 0; k < n->n_in && nxt < 0; k++) {
      int32_t u = n->in[k];
      if (u >= 0 && u < g->n_values && prod[u] >= 0 && !ordered[prod[u]]) nxt = prod[u];
    }
    cur = nxt;
  }
  if (cur < 0) cur = stuck; /* cannot happen: a stuck node waits on another stuck node */
  char msg[600];
  size_t len = 0;
  msg[0] = 0;
  for (int32_t i = depth - 1; i >= pending[cur]; i--) {
    const char *nm = g->nodes[stack[i]].name ? g->nodes[stack[i]].name : "?";
    int w = snprintf(msg + len, sizeof msg - len, "'%s' -> ", nm);
    if (w < 0 || (size_t)w >= sizeof msg - len) break;
    len += (size_t)w;
  }
  st = qc_err_set(e, QC_ERR_INVALID, "graph has a cycle: %s'%s'", msg,
                  g->nodes[stack[depth - 1]].name ? g->nodes[stack[depth - 1]].name : "?");
done:
  free(pending);
  free(stack);
  free(seen);
  return st;
}

qc_status qc_verify(const qc_graph *g, qc_err *e)
{
  int32_t nv = g->n_values, nn = g->n_nodes;
  qc_status st = QC_OK;
  for (int32_t v = 0; v < nv && st == QC_OK; v++) st = check_value(g, v, e);
  for (int32_t i = 0; i < g->n_syms && st == QC_OK; i++)
    if (!g->syms[i]) st = qc_err_set(e, QC_ERR_INVALID, "dimension symbol %d has no name", (int)i);
  if (st == QC_OK) st = check_unique_names(g, e);
  if (st != QC_OK) return st;

  /* def[v]: 0 undefined so far, 1 graph input, 2 constant, 3 node output.
     prod[v]: the (first) node listing v as an output, over the whole graph. */
  uint8_t *def = calloc((size_t)nv + 1, 1);
  int32_t *prod = malloc(sizeof(int32_t) * ((size_t)nv + 1));
  if (!def || !prod) {
    free(def);
    free(prod);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory verifying the graph");
  }
  for (int32_t v = 0; v < nv; v++) prod[v] = -1;
  for (int32_t i = 0; i < nn && st == QC_OK; i++) {
    const qc_node *n = &g->nodes[i];
    for (int32_t k = 0; k < n->n_out && n->out && st == QC_OK; k++) {
      int32_t v = n->out[k];
      if (v < 0 || v >= nv) continue;
      if (prod[v] < 0) {
        prod[v] = i;
        continue;
      }
      const qc_node *first = &g->nodes[prod[v]];
      st = qc_err_set(e, QC_ERR_INVALID, "value '%s' is produced by node '%s' (%s) and node '%s' (%s)",
                      vname(g, v), first->name ? first->name : "?", qc_op_name(first->op),
                      n->name ? n->name : "?", qc_op_name(n->op));
    }
  }
  for (int32_t i = 0; i < g->n_inputs && st == QC_OK; i++) {
    int32_t v = g->inputs[i];
    if (v < 0 || v >= nv) {
      st = qc_err_set(e, QC_ERR_INVALID, "graph input %d refers to value id %d (graph has %d)",
                      (int)i, (int)v, (int)nv);
    } else if (def[v]) {
      st = qc_err_set(e, QC_ERR_INVALID, "value '%s' is listed twice as a graph input",
                      vname(g, v));
    } else if (g->values[v].dtype == QC_DT_UNDEF) {
      st = qc_err_set(e, QC_ERR_INVALID, "graph input '%s' has no dtype", vname(g, v));
    } else {
      def[v] = 1;
    }
  }
  for (int32_t v = 0; v < nv && st == QC_OK; v++)
    if ((g->values[v].flags & QC_VAL_CONST) && !def[v]) def[v] = 2;

  for (int32_t i = 0; i < nn && st == QC_OK; i++) {
    const qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE) {
      st = qc_node_err(e, n, QC_ERR_INVALID, "deleted node left in the graph (not compacted)");
      break;
    }
    if ((unsigned)n->op >= QC_OP_COUNT) {
      st = qc_node_err(e, n, QC_ERR_INVALID, "invalid op id %d", (int)n->op);
      break;
    }
    if ((st = check_arity(n, e)) != QC_OK || (st = check_attrs(g, n, e)) != QC_OK) break;
    for (int32_t k = 0; k < n->n_in && st == QC_OK; k++) {
      int32_t v = n->in[k];
      if (v == -1) {
        if (k < qc_ops[n->op].min_in)
          st = qc_node_err(e, n, QC_ERR_INVALID, "required input %d is omitted", (int)k);
      } else if (v < 0 || v >= nv) {
        st = qc_node_err(e, n, QC_ERR_INVALID, "input %d refers to value id %d (graph has %d)",
                         (int)k, (int)v, (int)nv);
      } else if (!def[v]) {
        if (prod[v] < 0)
          st = qc_node_err(e, n, QC_ERR_INVALID, "input '%s' is never defined", vname(g, v));
        else if (prod[v] == i)
          st = qc_node_err(e, n, QC_ERR_INVALID, "input '%s' is its own output (a cycle)",
                           vname(g, v));
        else st = report_order(g, prod, i, v, e);
      }
    }
    for (int32_t k = 0; k < n->n_out && st == QC_OK; k++) {
      int32_t v = n->out[k];
      if (v == -1) {
        if (k < qc_ops[n->op].min_out)
          st = qc_node_err(e, n, QC_ERR_INVALID, "required output %d is omitted", (int)k);
      } else if (v < 0 || v >= nv) {
        st = qc_node_err(e, n, QC_ERR_INVALID, "output %d refers to value id %d (graph has %d)",
                         (int)k, (int)v, (int)nv);
      } else if (def[v] == 1) {
        st = qc_node_err(e, n, QC_ERR_INVALID, "output '%s' is a graph input", vname(g, v));
      } else if (def[v] == 2) {
        st = qc_node_err(e, n, QC_ERR_INVALID, "output '%s' is a constant", vname(g, v));
      } else if (g->values[v].producer != i) {
        st = qc_node_err(e, n, QC_ERR_INVALID, "output '%s' records producer %d, not %d",
                         vname(g, v), (int)g->values[v].producer, (int)i);
      } else {
        def[v] = 3;
      }
    }
  }
  for (int32_t v = 0; v < nv && st == QC_OK; v++) {
    int32_t p = g->values[v].producer;
    if (p >= 0 && def[v] != 3)
      st = qc_err_set(e, QC_ERR_INVALID, "value '%s' records producer %d, which does not produce it",
                      vname(g, v), (int)p);
  }
  for (int32_t i = 0; i < g->n_outputs && st == QC_OK; i++) {
    int32_t v = g->outputs[i];
    if (v < 0 || v >= nv)
      st = qc_err_set(e, QC_ERR_INVALID, "graph output %d refers to value id %d (graph has %d)",
                      (int)i, (int)v, (int)nv);
    else if (!def[v])
      st = qc_err_set(e, QC_ERR_INVALID, "graph output '%s' is never defined", vname(g, v));
  }
  free(def);
  free(prod);
  return st;
}
