/* ONNX ModelProto -> IR graph.
 *
 * Order: wire check, unpack, opset, initializers, graph inputs, every node's outputs (so an
 * input may name a value produced later: the graph is sorted afterwards and a cycle is an
 * error), nodes with their attributes, value_info, outputs, sort, legacy-opset upgrade,
 * then each node against its op's schema (attributes, kinds, arity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnx_internal.h"

#define QC_ONNX_MAX_OPSET 17

typedef struct {
  qc_graph *g;
  const char *base_dir;
  qc_err *e;
  const char *file;
  int64_t opset; /* ai.onnx opset, 0 when the model imports none */
} importer;

/* The name messages use for node idx: its own, else what qc_graph_add_node would give it. */
static const char *node_label(const Onnx__NodeProto *np, int32_t idx, char *buf, size_t n)
{
  if (np->name && *np->name) return np->name;
  snprintf(buf, n, "%s_%d", np->op_type ? np->op_type : "?", idx);
  return buf;
}

/* ---- types and shapes ------------------------------------------------------------------- */

/* How strictly a TypeProto is read: value_info of other kinds than tensors is ignored, a
   graph output must be a tensor if typed at all, a graph input a tensor of a known type. */
enum { TYPE_HINT, TYPE_OUTPUT, TYPE_INPUT };

/* A value's type from its TypeProto; ok=false when there is nothing to take from it. */
static qc_status parse_type(importer *im, const Onnx__TypeProto *tp, const char *what, int need,
                            qc_dtype *dt, int *rank, int64_t *dims, bool *ok)
{
  *dt = QC_DT_UNDEF;
  *rank = -1;
  *ok = false;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
    bool untyped = !tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET;
    if (need == TYPE_HINT || (need == TYPE_OUTPUT && untyped)) return QC_OK;
    if (untyped) return qc_err_set(im->e, QC_ERR_INVALID, "%s has no type", what);
    return qc_err_set(im->e, QC_ERR_UNSUPPORTED,
                      "%s is not a tensor (sequence, map, optional and sparse types are not "
                      "supported)",
                      what);
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  int et = tt->has_elem_type ? tt->elem_type : 0;
  if (et != 0 || need == TYPE_INPUT) {
    qc_status st = qc_onnx_dtype(et, what, dt, im->e);
    if (st) return st;
  }
  if (tt->shape) {
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (sp->n_dim > QC_MAX_RANK)
      return qc_err_set(im->e, QC_ERR_UNSUPPORTED, "%s has rank %zu; at most %d is supported",
                        what, sp->n_dim, QC_MAX_RANK);
    for (size_t i = 0; i < sp->n_dim; i++) {
      const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
      dims[i] = QC_DIM_UNKNOWN;
      if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
        if (d->dim_value < 0)
          return qc_err_set(im->e, QC_ERR_INVALID, "%s: dimension %zu is negative (%lld)", what,
                            i, (long long)d->dim_value);
        if (d->dim_value > QC_MAX_ELEMS)
          return qc_err_set(im->e, QC_ERR_UNSUPPORTED,
                            "%s: dimension %zu is %lld; at most %lld is supported", what, i,
                            (long long)d->dim_value, (long long)QC_MAX_ELEMS);
        dims[i] = d->dim_value;
      } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                 d->dim_param && *d->dim_param) {
        int32_t k = qc_graph_add_sym(im->g, d->dim_param, im->e);
        if (k < 0) return im->e->code;
        dims[i] = QC_DIM_SYM(k);
      }
    }
    *rank = (int)sp->n_dim;
  }
  *ok = true;
  return QC_OK;
}

/* Gives a node output the dtype and shape its value_info (or graph output entry) states. */
static qc_status apply_value_info(importer *im, const Onnx__ValueInfoProto *vi, int need,
                                  const char *kind)
{
  int32_t v = qc_graph_find_value(im->g, vi->name);
  if (v < 0) return QC_OK;
  char what[300];
  snprintf(what, sizeof what, "%s '%s'", kind, vi->name);
  qc_dtype dt;
  int rank;
  int64_t dims[QC_MAX_RANK];
  bool ok;
  qc_status st = parse_type(im, vi->type, what, need, &dt, &rank, dims, &ok);
  if (st || !ok) return st;
  qc_value *val = &im->g->values[v];
  if (val->flags & (QC_VAL_CONST | QC_VAL_INPUT)) return QC_OK; /* already exact */
  if (dt != QC_DT_UNDEF) val->dtype = dt;
  if (rank >= 0) {
    val->rank = rank;
    memcpy(val->dims, dims, sizeof(int64_t) * (size_t)rank);
  }
  return QC_OK;
}

/* ---- attributes ------------------------------------------------------------------------- */

static qc_attr_kind infer_kind(const Onnx__AttributeProto *ap)
{
  if (ap->has_f) return QC_ATTR_FLOAT;
  if (ap->has_i) return QC_ATTR_INT;
  if (ap->has_s) return QC_ATTR_STRING;
  if (ap->t) return QC_ATTR_TENSOR;
  if (ap->g) return QC_ATTR_GRAPH;
  if (ap->sparse_tensor) return QC_ATTR_SPARSE_TENSOR;
  if (ap->tp) return QC_ATTR_TYPE_PROTO;
  if (ap->n_floats) return QC_ATTR_FLOATS;
  if (ap->n_ints) return QC_ATTR_INTS;
  if (ap->n_strings) return QC_ATTR_STRINGS;
  if (ap->n_tensors) return QC_ATTR_TENSORS;
  if (ap->n_graphs) return QC_ATTR_GRAPHS;
  if (ap->n_sparse_tensors) return QC_ATTR_SPARSE_TENSORS;
  if (ap->n_type_protos) return QC_ATTR_TYPE_PROTOS;
  return QC_ATTR_UNDEF;
}

static qc_status nomem(importer *im, int32_t node)
{
  return qc_node_err(im->e, &im->g->nodes[node], QC_ERR_NOMEM, "out of memory");
}

static qc_status convert_attr(importer *im, int32_t node, const Onnx__AttributeProto *ap)
{
  qc_graph *g = im->g;
  const char *name = ap->name ? ap->name : "";
  if (!*name)
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID, "attribute without a name");
  if (qc_node_attr(&g->nodes[node], name))
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID, "attribute '%s' is given twice",
                       name);
  if (ap->ref_attr_name && *ap->ref_attr_name)
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID,
                       "attribute '%s' refers to a function attribute ('%s') outside a function",
                       name, ap->ref_attr_name);
  qc_attr_kind kind = ap->has_type && ap->type ? (qc_attr_kind)ap->type : infer_kind(ap);
  switch (kind) {
  case QC_ATTR_SPARSE_TENSOR:
  case QC_ATTR_SPARSE_TENSORS:
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_UNSUPPORTED,
                       "attribute '%s' holds a sparse tensor; sparse tensors are not supported",
                       name);
  case QC_ATTR_TYPE_PROTO:
  case QC_ATTR_TYPE_PROTOS:
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_UNSUPPORTED,
                       "attribute '%s' holds a type; type attributes are not supported", name);
  case QC_ATTR_UNDEF:
    return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID, "attribute '%s' has no value",
                       name);
  default:
    if ((int)kind > QC_ATTR_TYPE_PROTOS)
      return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID,
                         "attribute '%s' has unknown type %d", name, (int)kind);
    break;
  }
  qc_attr *a = qc_node_add_attr(g, node, name, kind, im->e);
  if (!a) return QC_ERR_NOMEM;
  qc_arena *ar = g->arena;
  char what[400];
  switch (kind) {
  case QC_ATTR_FLOAT: a->f = ap->f; break;
  case QC_ATTR_INT: a->i = ap->i; break;
  case QC_ATTR_STRING:
    a->s = qc_arena_strndup(ar, ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
    a->s_len = (int64_t)ap->s.len;
    if (!a->s) return nomem(im, node);
    break;
  case QC_ATTR_FLOATS:
    a->n = (int64_t)ap->n_floats;
    a->floats = qc_arena_alloc(ar, sizeof(float) * (ap->n_floats + 1));
    if (!a->floats) return nomem(im, node);
    if (ap->n_floats) memcpy(a->floats, ap->floats, sizeof(float) * ap->n_floats);
    break;
  case QC_ATTR_INTS:
    a->n = (int64_t)ap->n_ints;
    a->ints = qc_arena_alloc(ar, sizeof(int64_t) * (ap->n_ints + 1));
    if (!a->ints) return nomem(im, node);
    if (ap->n_ints) memcpy(a->ints, ap->ints, sizeof(int64_t) * ap->n_ints);
    break;
  case QC_ATTR_STRINGS:
    a->n = (int64_t)ap->n_strings;
    a->strings = qc_arena_alloc(ar, sizeof(char *) * (ap->n_strings + 1));
    if (!a->strings) return nomem(im, node);
    for (size_t i = 0; i < ap->n_strings; i++) {
      const ProtobufCBinaryData *s = &ap->strings[i];
      a->strings[i] = qc_arena_strndup(ar, s->data ? (const char *)s->data : "", s->len);
      if (!a->strings[i]) return nomem(im, node);
    }
    break;
  case QC_ATTR_TENSOR:
  case QC_ATTR_TENSORS: {
    size_t n = kind == QC_ATTR_TENSOR ? 1 : ap->n_tensors;
    if (kind == QC_ATTR_TENSOR && !ap->t)
      return qc_node_err(im->e, &g->nodes[node], QC_ERR_INVALID,
                         "attribute '%s' has no tensor", name);
    if (kind == QC_ATTR_TENSORS) a->n = (int64_t)n;
    a->tensors = qc_arena_alloc(ar, sizeof(qc_tensor) * (n + 1));
    if (!a->tensors) return nomem(im, node);
    for (size_t i = 0; i < n; i++) {
      const qc_node *nd = &g->nodes[node];
      if (kind == QC_ATTR_TENSOR)
        snprintf(what, sizeof what, "node '%s' (%s): attribute '%s'", nd->name,
                 qc_op_name(nd->op), name);
      else
        snprintf(what, sizeof what, "node '%s' (%s): attribute '%s' tensor %zu", nd->name,
                 qc_op_name(nd->op), name, i);
      const Onnx__TensorProto *tp = kind == QC_ATTR_TENSOR ? ap->t : ap->tensors[i];
      qc_status st = qc_onnx_tensor_from_proto(tp, im->base_dir, ar, &a->tensors[i], what, im->e);
      if (st) return st;
    }
    break;
  }
  case QC_ATTR_GRAPHS: a->n = (int64_t)ap->n_graphs; break;
  default: break; /* GRAPH: recorded by kind; no registered op takes a subgraph */
  }
  return QC_OK;
}

/* ---- validation against the op list ----------------------------------------------------- */

static const char *kind_name(qc_attr_kind k)
{
  static const char *names[] = {"undefined", "float",  "int",     "string",  "tensor",
                                "graph",     "floats", "ints",    "strings", "tensors",
                                "graphs",    "sparse tensor", "sparse tensors", "type",
                                "types"};
  return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* Sets the Constant's output dtype and shape from its one value attribute. */
static qc_status check_constant(importer *im, int32_t id)
{
  qc_graph *g = im->g;
  const qc_node *n = &g->nodes[id];
  if (n->n_attrs != 1)
    return qc_node_err(im->e, n, QC_ERR_INVALID, "needs exactly one value attribute, has %d",
                       n->n_attrs);
  const qc_attr *a = &n->attrs[0];
  qc_dtype dt = QC_DT_UNDEF;
  int rank = 0;
  int64_t dims[QC_MAX_RANK] = {0};
  if (strcmp(a->name, "value") == 0) {
    dt = a->tensors[0].dtype;
    rank = a->tensors[0].rank;
    memcpy(dims, a->tensors[0].dims, sizeof dims);
  } else if (strcmp(a->name, "value_float") == 0) {
    dt = QC_DT_F32;
  } else if (strcmp(a->name, "value_int") == 0) {
    dt = QC_DT_I64;
  } else if (strcmp(a->name, "value_floats") == 0 || strcmp(a->name, "value_ints") == 0) {
    dt = a->name[6] == 'f' ? QC_DT_F32 : QC_DT_I64;
    rank = 1;
    dims[0] = a->n;
  } else if (strcmp(a->name, "value_string") == 0 || strcmp(a->name, "value_strings") == 0) {
    return qc_node_err(im->e, n, QC_ERR_UNSUPPORTED, "string tensors are not supported");
  } else {
    return qc_node_err(im->e, n, QC_ERR_UNSUPPORTED, "attribute '%s' is not supported",
                       a->name);
  }
  qc_value *v = &g->values[n->out[0]];
  v->dtype = dt;
  v->rank = rank;
  memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  return QC_OK;
}

static qc_status validate_node(importer *im, int32_t id)
{
  const qc_node *n = &im->g->nodes[id];
  const qc_op_info *info = &qc_ops[n->op];
  for (int k = 0; k < n->n_attrs; k++) {
    const qc_attr *a = &n->attrs[k];
    qc_attr_spec spec;
    if (!qc_op_attr_spec(n->op, a->name, &spec))
      return qc_node_err(im->e, n, QC_ERR_INVALID, "unknown attribute '%s'", a->name);
    if (spec.kind != a->kind)
      return qc_node_err(im->e, n, QC_ERR_INVALID, "attribute '%s' is %s; %s expects %s",
                         a->name, kind_name(a->kind), info->name, kind_name(spec.kind));
  }
  /* Required attributes: walk the schema text. */
  for (const char *p = info->attrs; *p;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, " ");
    const char *colon = memchr(p, ':', len);
    if (colon && memchr(p, '!', len)) {
      char name[64];
      size_t nl = (size_t)(colon - p) < sizeof name - 1 ? (size_t)(colon - p) : sizeof name - 1;
      memcpy(name, p, nl);
      name[nl] = 0;
      if (!qc_node_attr(n, name))
        return qc_node_err(im->e, n, QC_ERR_INVALID, "required attribute '%s' is missing", name);
    }
    p += len;
  }
  if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in)) {
    if (info->max_in < 0)
      return qc_node_err(im->e, n, QC_ERR_INVALID, "has %d inputs; %s takes at least %d",
                         n->n_in, info->name, info->min_in);
    return qc_node_err(im->e, n, QC_ERR_INVALID, "has %d inputs; %s takes %d to %d", n->n_in,
                       info->name, info->min_in, info->max_in);
  }
  if (n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out)) {
    if (info->max_out < 0)
      return qc_node_err(im->e, n, QC_ERR_INVALID, "has %d outputs; %s gives at least %d",
                         n->n_out, info->name, info->min_out);
    return qc_node_err(im->e, n, QC_ERR_INVALID, "has %d outputs; %s gives %d to %d", n->n_out,
                       info->name, info->min_out, info->max_out);
  }
  for (int k = 0; k < info->min_in && k < n->n_in; k++)
    if (n->in[k] < 0) return qc_node_err(im->e, n, QC_ERR_INVALID, "input %d is required", k);
  for (int k = 0; k < info->min_out && k < n->n_out; k++)
    if (n->out[k] < 0) return qc_node_err(im->e, n, QC_ERR_INVALID, "output %d is required", k);
  if (n->op == QC_OP_Constant) return check_constant(im, id);
  return QC_OK;
}

/* ---- the model ---------------------------------------------------------------------------- */

static qc_status read_opset(importer *im, const Onnx__ModelProto *m, const char *file,
                            int64_t *opset)
{
  *opset = 0;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *os = m->opset_import[i];
    const char *d = os->domain ? os->domain : "";
    if (*d == 0 || strcmp(d, "ai.onnx") == 0) *opset = os->has_version ? os->version : 0;
  }
  if (*opset == 0) return QC_OK; /* fine while no node uses ai.onnx */
  if (*opset < 1 || *opset > QC_ONNX_MAX_OPSET)
    return qc_err_set(im->e, QC_ERR_UNSUPPORTED,
                      "%s: ai.onnx opset %lld is not supported (quantc reads opsets 1 to %d)",
                      file, (long long)*opset, QC_ONNX_MAX_OPSET);
  return QC_OK;
}

static qc_status import_initializers(importer *im, const Onnx__GraphProto *gp)
{
  qc_graph *g = im->g;
  if (gp->n_sparse_initializer) {
    const Onnx__SparseTensorProto *sp = gp->sparse_initializer[0];
    const char *nm = sp->values && sp->values->name ? sp->values->name : "";
    return qc_err_set(im->e, QC_ERR_UNSUPPORTED, "sparse initializer '%s' is not supported", nm);
  }
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !*tp->name)
      return qc_err_set(im->e, QC_ERR_INVALID, "initializer %zu has no name", i);
    if (qc_graph_find_value(g, tp->name) >= 0)
      return qc_err_set(im->e, QC_ERR_INVALID, "initializer '%s' is defined twice", tp->name);
    char what[300];
    snprintf(what, sizeof what, "tensor '%s'", tp->name);
    qc_tensor t;
    qc_status st = qc_onnx_tensor_from_proto(tp, im->base_dir, g->arena, &t, what, im->e);
    if (st) return st;
    int32_t v = qc_graph_add_value(g, tp->name, t.dtype, t.rank, t.dims, im->e);
    if (v < 0) return im->e->code;
    g->values[v].data = t.data;
    g->values[v].flags |= QC_VAL_CONST;
  }
  return QC_OK;
}

static qc_status import_inputs(importer *im, const Onnx__GraphProto *gp)
{
  qc_graph *g = im->g;
  int32_t *ids = malloc(sizeof(int32_t) * (gp->n_input + 1));
  if (!ids) return qc_err_set(im->e, QC_ERR_NOMEM, "out of memory reading graph inputs");
  int32_t n = 0;
  qc_status st = QC_OK;
  for (size_t i = 0; i < gp->n_input && !st; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    const char *name = vi->name ? vi->name : "";
    if (!*name) {
      st = qc_err_set(im->e, QC_ERR_INVALID, "graph input %zu has no name", i);
      break;
    }
    int32_t v = qc_graph_find_value(g, name);
    if (v >= 0) {
      if (g->values[v].flags & QC_VAL_CONST) continue; /* an initializer's default */
      st = qc_err_set(im->e, QC_ERR_INVALID, "graph input '%s' is listed twice", name);
      break;
    }
    char what[300];
    snprintf(what, sizeof what, "graph input '%s'", name);
    qc_dtype dt;
    int rank;
    int64_t dims[QC_MAX_RANK];
    bool ok;
    if ((st = parse_type(im, vi->type, what, TYPE_INPUT, &dt, &rank, dims, &ok))) break;
    v = qc_graph_add_value(g, name, dt, rank, dims, im->e);
    if (v < 0) {
      st = im->e->code;
      break;
    }
    g->values[v].flags |= QC_VAL_INPUT;
    ids[n++] = v;
  }
  if (!st) st = qc_graph_set_inputs(g, n, ids, im->e);
  free(ids);
  return st;
}

/* Creates every node output first so that a node may read a value produced further down. */
static qc_status declare_outputs(importer *im, const Onnx__GraphProto *gp)
{
  qc_graph *g = im->g;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    char lb[160];
    const char *label = node_label(np, (int32_t)i, lb, sizeof lb);
    const char *dom = np->domain && *np->domain ? np->domain : "ai.onnx";
    if (!np->op_type || !*np->op_type)
      return qc_err_set(im->e, QC_ERR_INVALID, "node '%s' has no op type", label);
    if (qc_op_lookup(np->domain, np->op_type) == QC_OP_NONE)
      return qc_err_set(im->e, QC_ERR_UNSUPPORTED,
                        "node '%s': op '%s' (domain '%s') is not supported", label, np->op_type,
                        dom);
    if (im->opset == 0 && strcmp(dom, "ai.onnx") == 0)
      return qc_err_set(im->e, QC_ERR_INVALID,
                        "%s: node '%s' uses ai.onnx, but the model imports no ai.onnx opset",
                        im->file, label);
    for (size_t k = 0; k < np->n_output; k++) {
      const char *o = np->output[k];
      if (!o || !*o) continue;
      int32_t v = qc_graph_find_value(g, o);
      if (v >= 0) {
        const qc_value *val = &g->values[v];
        if (val->flags & QC_VAL_CONST)
          return qc_err_set(im->e, QC_ERR_INVALID,
                            "node '%s' output '%s' redefines an initializer", label, o);
        if (val->flags & QC_VAL_INPUT)
          return qc_err_set(im->e, QC_ERR_INVALID,
                            "node '%s' output '%s' redefines a graph input", label, o);
        return qc_err_set(im->e, QC_ERR_INVALID,
                          "value '%s' is produced twice (again by node '%s')", o, label);
      }
      if (qc_graph_add_value(g, o, QC_DT_UNDEF, -1, NULL, im->e) < 0)
        return im->e->code;
    }
  }
  return QC_OK;
}

static qc_status import_nodes(importer *im, const Onnx__GraphProto *gp)
{
  qc_graph *g = im->g;
  size_t cap = 16;
  int32_t *ids = malloc(sizeof(int32_t) * cap);
  qc_status st = ids ? QC_OK : qc_err_set(im->e, QC_ERR_NOMEM, "out of memory reading nodes");
  for (size_t i = 0; i < gp->n_node && !st; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    char lb[160];
    const char *label = node_label(np, (int32_t)i, lb, sizeof lb);
    size_t need = np->n_input + np->n_output + 1;
    if (need > cap) {
      int32_t *p = realloc(ids, sizeof(int32_t) * need);
      if (!p) {
        st = qc_err_set(im->e, QC_ERR_NOMEM, "out of memory reading node '%s'", label);
        break;
      }
      ids = p;
      cap = need;
    }
    /* Omitted optional inputs/outputs are "" (-1); trailing ones are dropped. */
    size_t n_in = np->n_input, n_out = np->n_output;
    while (n_in && (!np->input[n_in - 1] || !*np->input[n_in - 1])) n_in--;
    while (n_out && (!np->output[n_out - 1] || !*np->output[n_out - 1])) n_out--;
    int32_t *in = ids, *out = ids + n_in;
    for (size_t k = 0; k < n_in && !st; k++) {
      const char *s = np->input[k];
      in[k] = s && *s ? qc_graph_find_value(g, s) : -1;
      if (s && *s && in[k] < 0)
        st = qc_err_set(im->e, QC_ERR_INVALID, "node '%s' input '%s' is not defined", label, s);
    }
    for (size_t k = 0; k < n_out; k++)
      out[k] = np->output[k] && *np->output[k] ? qc_graph_find_value(g, np->output[k]) : -1;
    if (st) break;
    qc_op op = qc_op_lookup(np->domain, np->op_type);
    int32_t id = qc_graph_add_node(g, op, np->name && *np->name ? np->name : NULL, (int32_t)n_in,
                                   in, (int32_t)n_out, out, im->e);
    if (id < 0) {
      st = im->e->code;
      break;
    }
    for (size_t k = 0; k < np->n_attribute && !st; k++)
      st = convert_attr(im, id, np->attribute[k]);
  }
  free(ids);
  return st;
}

static qc_status import_outputs(importer *im, const Onnx__GraphProto *gp)
{
  qc_graph *g = im->g;
  int32_t *ids = malloc(sizeof(int32_t) * (gp->n_output + 1));
  if (!ids) return qc_err_set(im->e, QC_ERR_NOMEM, "out of memory reading graph outputs");
  qc_status st = QC_OK;
  for (size_t i = 0; i < gp->n_output && !st; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    const char *name = vi->name ? vi->name : "";
    ids[i] = qc_graph_find_value(g, name);
    if (ids[i] < 0)
      st = qc_err_set(im->e, QC_ERR_INVALID, "graph output '%s' is not defined", name);
    else
      st = apply_value_info(im, vi, TYPE_OUTPUT, "graph output");
  }
  if (!st) st = qc_graph_set_outputs(g, (int32_t)gp->n_output, ids, im->e);
  free(ids);
  return st;
}

static qc_status import_model(importer *im, const Onnx__ModelProto *m, const char *file)
{
  qc_graph *g = im->g;
  int64_t opset;
  qc_status st = read_opset(im, m, file, &opset);
  if (st) return st;
  const Onnx__GraphProto *gp = m->graph;
  if (!gp) return qc_err_set(im->e, QC_ERR_INVALID, "%s: the model has no graph", file);
  im->opset = opset;
  if (opset) g->opset = opset;
  if (gp->name && *gp->name) {
    g->name = qc_arena_strdup(g->arena, gp->name);
    if (!g->name) return qc_err_set(im->e, QC_ERR_NOMEM, "out of memory");
  }
  if ((st = import_initializers(im, gp))) return st;
  if ((st = import_inputs(im, gp))) return st;
  if ((st = declare_outputs(im, gp))) return st;
  if ((st = import_nodes(im, gp))) return st;
  for (size_t i = 0; i < gp->n_value_info; i++)
    if ((st = apply_value_info(im, gp->value_info[i], TYPE_HINT, "value"))) return st;
  if ((st = import_outputs(im, gp))) return st;
  if (g->n_nodes && (st = qc_graph_toposort(g, im->e))) return st;
  int32_t n_before = g->n_nodes;
  if (opset && (st = qc_onnx_upgrade(g, opset, im->e))) return st;
  if (g->n_nodes != n_before && (st = qc_graph_toposort(g, im->e))) return st;
  for (int32_t i = 0; i < g->n_nodes; i++)
    if ((st = validate_node(im, i))) return st;
  return QC_OK;
}

/* owned: buf itself when the caller hands it over, freed as soon as it is unpacked (protobuf-c
   copies what it keeps), so a large model is not held three times over. */
static qc_status load_into(const void *buf, size_t len, void *owned, const char *base_dir,
                           const char *file, qc_graph *g, qc_err *e)
{
  qc_status st = QC_OK;
  Onnx__ModelProto *m = NULL;
  if (g->n_values || g->n_nodes)
    st = qc_err_set(e, QC_ERR_USAGE, "%s: the graph to import into is not empty", file);
  else if (len > QC_ONNX_MAX_FILE_BYTES)
    st = qc_err_set(e, QC_ERR_UNSUPPORTED,
                    "%s: %.1f GiB is over the 2 GiB limit of a protobuf file; keep the "
                    "weights in external data",
                    file, (double)len / (1024.0 * 1024.0 * 1024.0));
  if (!st) st = qc_onnx_wire_check(buf, len, &onnx__model_proto__descriptor, file, e);
  if (!st && !(m = onnx__model_proto__unpack(NULL, len, buf)))
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: not a valid ONNX ModelProto (protobuf parse failed)",
                    file);
  free(owned);
  if (st) return st;
  importer im = {g, base_dir, e, file, 0};
  st = import_model(&im, m, file);
  protobuf_c_message_free_unpacked(&m->base, NULL);
  return st;
}

qc_status qc_onnx_load_buffer_into(const void *buf, size_t len, const char *base_dir,
                                   qc_graph *g, qc_err *e)
{
  qc_err local = {0};
  return load_into(buf, len, NULL, base_dir, "<buffer>", g, e ? e : &local);
}

static qc_status load_new(const void *buf, size_t len, void *owned, const char *base_dir,
                          const char *file, qc_graph **out, qc_err *e)
{
  *out = NULL;
  qc_graph *g = qc_graph_new();
  if (!g) {
    free(owned);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", file);
  }
  qc_status st = load_into(buf, len, owned, base_dir, file, g, e);
  if (st) qc_graph_free(g);
  else *out = g;
  return st;
}

qc_status qc_onnx_load_buffer(const void *buf, size_t len, const char *base_dir, qc_graph **out,
                              qc_err *e)
{
  qc_err local = {0};
  return load_new(buf, len, NULL, base_dir, "<buffer>", out, e ? e : &local);
}

qc_status qc_onnx_load(const char *path, qc_graph **out, qc_err *e)
{
  qc_err local = {0};
  if (!e) e = &local;
  *out = NULL;
  uint8_t *buf;
  size_t len;
  qc_status st = qc_onnx_read_file(path, &buf, &len, e);
  if (st) return st;
  char *dir = qc_onnx_dir_of(path);
  if (!dir) {
    free(buf);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  }
  st = load_new(buf, len, buf, dir, path, out, e);
  free(dir);
  return st;
}
