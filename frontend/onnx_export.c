/* IR graph -> ONNX ModelProto (ir_version 8, ai.onnx opset 17), written atomically.
 *
 * Standard ops are written as they are: the IR holds them in their opset-17 meaning already.
 * quantc's integer ops (domain "quantc") are lowered to the standard QDQ form ONNX Runtime
 * runs (docs/onnx-export.md): every integer activation keeps its name and becomes either an
 * 8-bit tensor (u8/i8, "Q8": QuantizeLinear/DequantizeLinear at its scale, zero point 0) or,
 * for wider dtypes that opset 17 cannot quantize to, a float tensor holding the integers
 * ("FQ": Round/Clip in float). Scales come from the values' qparams; pass-through ops (MaxPool,
 * Flatten, Reshape, ...) hand their input's scale on. With keep_int_ops the integer ops are
 * written verbatim in domain "quantc" instead (quantc reads them back; nothing else does).
 *
 * All protobuf structs live in one scratch arena freed after packing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "onnx_internal.h"

#define QC_ONNX_EXPORT_OPSET 17
#define QC_ONNX_EXPORT_IR_VERSION 8

enum { REP_PLAIN = 0, REP_Q8, REP_FQ }; /* how an IR value appears in the ONNX graph */

typedef struct {
  void **p;
  size_t n, cap;
} vec;

typedef struct {
  const qc_graph *g;
  const qc_onnx_export_opts *o;
  qc_arena *a;
  qc_err *e;
  vec nodes, inits, vinfo;
  char **names; /* open-addressing set of every name in use */
  size_t names_cap, names_n;
  uint8_t *rep;        /* per value */
  float *scale;        /* per value: activation scale, 0 when unknown */
  const char **dq;     /* per value: name of its dequantized float tensor, once emitted */
  const char **sc_nm;  /* per value: its scale initializer */
  const char **zp_nm;  /* per value: its zero-point initializer */
  bool *used;          /* per value: a constant some emitted node reads */
  bool any_int_op;
} exporter;

static qc_status nomem(exporter *x) { return qc_err_set(x->e, QC_ERR_NOMEM, "out of memory exporting ONNX"); }

static void *xalloc(exporter *x, size_t bytes)
{
  void *p = qc_arena_alloc(x->a, bytes ? bytes : 1);
  if (!p) nomem(x);
  return p;
}

static char *xstrdup(exporter *x, const char *s)
{
  char *p = qc_arena_strdup(x->a, s ? s : "");
  if (!p) nomem(x);
  return p;
}

static bool vpush(exporter *x, vec *v, void *item)
{
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    void **p = realloc(v->p, sizeof(void *) * cap);
    if (!p) return nomem(x), false;
    v->p = p;
    v->cap = cap;
  }
  v->p[v->n++] = item;
  return true;
}

/* ---- names ------------------------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static bool name_taken(const exporter *x, const char *s)
{
  for (size_t i = hash_str(s) & (x->names_cap - 1);; i = (i + 1) & (x->names_cap - 1)) {
    if (!x->names[i]) return false;
    if (strcmp(x->names[i], s) == 0) return true;
  }
}

/* Adds s (arena-owned) to the set; the table stays at most half full. */
static bool name_add(exporter *x, char *s)
{
  if (2 * (x->names_n + 1) > x->names_cap) {
    size_t cap = x->names_cap ? x->names_cap * 2 : 256;
    char **t = calloc(cap, sizeof(char *));
    if (!t) return nomem(x), false;
    for (size_t i = 0; i < x->names_cap; i++) {
      if (!x->names[i]) continue;
      size_t k = hash_str(x->names[i]) & (cap - 1);
      while (t[k]) k = (k + 1) & (cap - 1);
      t[k] = x->names[i];
    }
    free(x->names);
    x->names = t;
    x->names_cap = cap;
  }
  size_t k = hash_str(s) & (x->names_cap - 1);
  while (x->names[k]) {
    if (strcmp(x->names[k], s) == 0) return true;
    k = (k + 1) & (x->names_cap - 1);
  }
  x->names[k] = s;
  x->names_n++;
  return true;
}

/* A name "base_suffix" (then "base_suffix_2", ...) not used by the graph or the export. */
static const char *fresh(exporter *x, const char *base, const char *suffix)
{
  char buf[512];
  snprintf(buf, sizeof buf, "%s_%s", base, suffix);
  size_t len = strlen(buf);
  for (int k = 2; name_taken(x, buf); k++) snprintf(buf + len, sizeof buf - len, "_%d", k);
  char *s = xstrdup(x, buf);
  if (!s || !name_add(x, s)) return NULL;
  return s;
}

/* ---- tensors ---------------------------------------------------------------------------- */

/* Little-endian raw bytes of n elements of size bytes each. */
static void put_le(uint8_t *dst, const void *src, size_t n, size_t size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  const uint8_t *s = src;
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; b < size; b++) dst[i * size + b] = s[i * size + size - 1 - b];
#else
  memcpy(dst, src, n * size);
#endif
}

/* A TensorProto with raw little-endian data. Packed and codebook dtypes have no ONNX form
   here (the QDQ lowering unpacks 4-bit weights itself). */
static Onnx__TensorProto *tensor_proto(exporter *x, const char *name, qc_dtype dt, int rank,
                                       const int64_t *dims, const void *data)
{
  if ((unsigned)dt >= QC_DT_COUNT || !qc_dtypes[dt].onnx ||
      (qc_dtypes[dt].flags & (QC_DTF_PACKED | QC_DTF_CODEBOOK))) {
    qc_err_set(x->e, QC_ERR_UNSUPPORTED, "tensor '%s': dtype %s has no ONNX equivalent", name,
               qc_dtype_name(dt));
    return NULL;
  }
  int64_t elems = qc_shape_elems(rank, dims);
  int64_t bytes = qc_dtype_bytes(dt, elems);
  if (elems < 0 || bytes < 0) {
    qc_err_set(x->e, QC_ERR_INVALID, "tensor '%s' has an unknown or too large shape", name);
    return NULL;
  }
  Onnx__TensorProto *tp = xalloc(x, sizeof *tp);
  int64_t *d = xalloc(x, sizeof(int64_t) * (size_t)(rank + 1));
  uint8_t *raw = xalloc(x, (size_t)bytes);
  if (!tp || !d || !raw) return NULL;
  *tp = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
  if (rank) memcpy(d, dims, sizeof(int64_t) * (size_t)rank);
  tp->n_dims = (size_t)rank;
  tp->dims = d;
  tp->has_data_type = 1;
  tp->data_type = qc_dtypes[dt].onnx;
  tp->name = xstrdup(x, name);
  if (!tp->name) return NULL;
  if (bytes) put_le(raw, data, (size_t)elems, (size_t)bytes / (size_t)elems);
  tp->has_raw_data = 1;
  tp->raw_data.len = (size_t)bytes;
  tp->raw_data.data = raw;
  return tp;
}

static qc_status add_init(exporter *x, const char *name, qc_dtype dt, int rank,
                          const int64_t *dims, const void *data)
{
  Onnx__TensorProto *tp = tensor_proto(x, name, dt, rank, dims, data);
  if (!tp) return x->e->code;
  return vpush(x, &x->inits, tp) ? QC_OK : x->e->code;
}

/* A fresh initializer of n elements (rank 0 when n == 0 means a scalar of one element). */
static const char *new_init(exporter *x, const char *base, const char *suffix, qc_dtype dt,
                            int64_t n, const void *data)
{
  const char *nm = fresh(x, base, suffix);
  if (!nm) return NULL;
  int64_t dims[1] = {n};
  return add_init(x, nm, dt, n ? 1 : 0, dims, data) ? NULL : nm;
}

/* ---- types ------------------------------------------------------------------------------ */

static Onnx__TypeProto *type_proto(exporter *x, int elem_type, int rank, const int64_t *dims)
{
  Onnx__TypeProto *tp = xalloc(x, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = xalloc(x, sizeof *tt);
  if (!tp || !tt) return NULL;
  *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
  *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  if (elem_type) {
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
  }
  if (rank < 0) return tp;
  Onnx__TensorShapeProto *sp = xalloc(x, sizeof *sp);
  Onnx__TensorShapeProto__Dimension **dv = xalloc(x, sizeof(void *) * (size_t)(rank + 1));
  if (!sp || !dv) return NULL;
  *sp = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
  sp->n_dim = (size_t)rank;
  sp->dim = dv;
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = xalloc(x, sizeof *d);
    if (!d) return NULL;
    *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    if (dims[i] >= 0) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = dims[i];
    } else if (dims[i] <= -2 && QC_DIM_SYM_INDEX(dims[i]) < x->g->n_syms) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = xstrdup(x, x->g->syms[QC_DIM_SYM_INDEX(dims[i])]);
      if (!d->dim_param) return NULL;
    } /* unknown: a Dimension with neither field */
    dv[i] = d;
  }
  tt->shape = sp;
  return tp;
}

/* The ONNX element type value v has in the exported graph (0 when unknown). */
static int elem_type_of(const exporter *x, int32_t v)
{
  if (x->rep[v] == REP_FQ) return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  qc_dtype dt = x->g->values[v].dtype;
  return (unsigned)dt < QC_DT_COUNT ? qc_dtypes[dt].onnx : 0;
}

static Onnx__ValueInfoProto *value_info(exporter *x, int32_t v, bool need_type)
{
  const qc_value *val = &x->g->values[v];
  int et = elem_type_of(x, v);
  if (need_type && !et) {
    qc_err_set(x->e, QC_ERR_UNSUPPORTED, "value '%s': dtype %s has no ONNX equivalent",
               val->name, qc_dtype_name(val->dtype));
    return NULL;
  }
  Onnx__ValueInfoProto *vi = xalloc(x, sizeof *vi);
  if (!vi) return NULL;
  *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
  vi->name = xstrdup(x, val->name);
  if (!vi->name) return NULL;
  if (et || val->rank >= 0) {
    vi->type = type_proto(x, et, val->rank, val->dims);
    if (!vi->type) return NULL;
  }
  return vi;
}

/* ---- nodes and attributes --------------------------------------------------------------- */

static Onnx__NodeProto *new_node(exporter *x, const char *op_type, const char *domain,
                                 const char *name, int n_in, const char *const *in, int n_out,
                                 const char *const *out)
{
  Onnx__NodeProto *np = xalloc(x, sizeof *np);
  char **iv = xalloc(x, sizeof(char *) * (size_t)(n_in + 1));
  char **ov = xalloc(x, sizeof(char *) * (size_t)(n_out + 1));
  if (!np || !iv || !ov) return NULL;
  *np = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
  np->op_type = xstrdup(x, op_type);
  np->domain = domain && *domain ? xstrdup(x, domain) : NULL;
  np->name = name ? xstrdup(x, name) : NULL;
  if (!np->op_type || (domain && *domain && !np->domain) || (name && !np->name)) return NULL;
  for (int i = 0; i < n_in; i++)
    if (!(iv[i] = xstrdup(x, in[i]))) return NULL;
  for (int i = 0; i < n_out; i++)
    if (!(ov[i] = xstrdup(x, out[i]))) return NULL;
  np->n_input = (size_t)n_in;
  np->input = iv;
  np->n_output = (size_t)n_out;
  np->output = ov;
  return vpush(x, &x->nodes, np) ? np : NULL;
}

static Onnx__AttributeProto *push_attr(exporter *x, Onnx__NodeProto *np, const char *name,
                                       qc_attr_kind kind)
{
  Onnx__AttributeProto *ap = xalloc(x, sizeof *ap);
  Onnx__AttributeProto **arr = xalloc(x, sizeof(void *) * (np->n_attribute + 1));
  if (!ap || !arr) return NULL;
  *ap = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  ap->name = xstrdup(x, name);
  if (!ap->name) return NULL;
  ap->has_type = 1;
  ap->type = (Onnx__AttributeProto__AttributeType)kind;
  if (np->n_attribute) memcpy(arr, np->attribute, sizeof(void *) * np->n_attribute);
  arr[np->n_attribute++] = ap;
  np->attribute = arr; /* the old array stays in the arena; nodes have few attributes */
  return ap;
}

static qc_status attr_int(exporter *x, Onnx__NodeProto *np, const char *name, int64_t v)
{
  Onnx__AttributeProto *ap = push_attr(x, np, name, QC_ATTR_INT);
  if (!ap) return x->e->code;
  ap->has_i = 1;
  ap->i = v;
  return QC_OK;
}

/* Any attribute kind the IR holds; graphs are recorded by kind only on import, so a node with
   one cannot be written back. */
static qc_status export_attr(exporter *x, const qc_node *n, Onnx__NodeProto *np,
                             const qc_attr *a)
{
  if (a->kind == QC_ATTR_GRAPH || a->kind == QC_ATTR_GRAPHS || a->kind > QC_ATTR_TENSORS ||
      a->kind == QC_ATTR_UNDEF)
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED,
                       "attribute '%s' of kind %d cannot be exported", a->name, (int)a->kind);
  Onnx__AttributeProto *ap = push_attr(x, np, a->name, a->kind);
  if (!ap) return x->e->code;
  size_t cnt = a->n > 0 ? (size_t)a->n : 0;
  switch (a->kind) {
  case QC_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
  case QC_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
  case QC_ATTR_STRING:
    ap->has_s = 1;
    ap->s.len = a->s ? (size_t)a->s_len : 0;
    ap->s.data = (uint8_t *)(a->s ? a->s : "");
    break;
  case QC_ATTR_FLOATS: ap->n_floats = cnt; ap->floats = a->floats; break;
  case QC_ATTR_INTS: ap->n_ints = cnt; ap->ints = a->ints; break;
  case QC_ATTR_STRINGS:
    ap->n_strings = cnt;
    ap->strings = xalloc(x, sizeof(ProtobufCBinaryData) * (cnt + 1));
    if (!ap->strings) return x->e->code;
    for (size_t i = 0; i < cnt; i++) {
      ap->strings[i].data = (uint8_t *)a->strings[i];
      ap->strings[i].len = strlen(a->strings[i]);
    }
    break;
  case QC_ATTR_TENSOR:
  case QC_ATTR_TENSORS: {
    size_t k = a->kind == QC_ATTR_TENSOR ? 1 : cnt;
    Onnx__TensorProto **ts = xalloc(x, sizeof(void *) * (k + 1));
    if (!ts) return x->e->code;
    for (size_t i = 0; i < k; i++) {
      const qc_tensor *t = &a->tensors[i];
      if (!(ts[i] = tensor_proto(x, "", t->dtype, t->rank, t->dims, t->data))) return x->e->code;
    }
    if (a->kind == QC_ATTR_TENSOR) ap->t = ts[0];
    else {
      ap->n_tensors = k;
      ap->tensors = ts;
    }
    break;
  }
  default: break;
  }
  return QC_OK;
}

/* The name an IR value is read under; constants read are marked for the initializer list. */
static const char *use(exporter *x, int32_t v)
{
  if (v < 0) return "";
  if (x->g->values[v].flags & QC_VAL_CONST) x->used[v] = true;
  return x->g->values[v].name;
}

/* A node as it is in the IR: op, domain, inputs, outputs, attributes. */
static qc_status export_plain(exporter *x, int32_t id)
{
  const qc_node *n = &x->g->nodes[id];
  const char *in[64], *out[64];
  const char **iv = in, **ov = out;
  const char **heap = NULL;
  if (n->n_in > 64 || n->n_out > 64) {
    heap = malloc(sizeof(char *) * (size_t)(n->n_in + n->n_out));
    if (!heap) return nomem(x);
    iv = heap;
    ov = heap + n->n_in;
  }
  for (int i = 0; i < n->n_in; i++) iv[i] = use(x, n->in[i]);
  for (int i = 0; i < n->n_out; i++) ov[i] = n->out[i] >= 0 ? x->g->values[n->out[i]].name : "";
  Onnx__NodeProto *np = new_node(x, qc_ops[n->op].name, qc_ops[n->op].domain, n->name, n->n_in,
                                 iv, n->n_out, ov);
  free(heap);
  if (!np) return x->e->code;
  for (int k = 0; k < n->n_attrs; k++) {
    qc_status st = export_attr(x, n, np, &n->attrs[k]);
    if (st) return st;
  }
  return QC_OK;
}

/* ---- QDQ lowering of the integer ops ---------------------------------------------------- */

static bool is_int_op(qc_op op)
{
  return op == QC_OP_QcQuantize || op == QC_OP_QcDequantize || op == QC_OP_QcConv ||
         op == QC_OP_QcGemm || op == QC_OP_QcAdd || op == QC_OP_QcGlobalAveragePool;
}

static bool is_int_act(qc_dtype t)
{
  return t == QC_DT_U8 || t == QC_DT_I8 || t == QC_DT_U16 || t == QC_DT_I16 || t == QC_DT_I32;
}

/* Which values are integer activations (and how each is written), and their scales: outputs
   of the integer ops, then whatever a same-dtype op (MaxPool, Flatten, Reshape, Relu, ...)
   makes of one. Nodes are in topological order, so one forward walk suffices. */
static void classify(exporter *x)
{
  const qc_graph *g = x->g;
  for (int32_t v = 0; v < g->n_values; v++) {
    const qc_value *val = &g->values[v];
    if (val->q && val->q->n >= 1 && val->q->scale && !(val->flags & QC_VAL_CONST))
      x->scale[v] = val->q->scale[0];
  }
  for (int32_t i = 0; i < g->n_nodes; i++) {
    const qc_node *n = &g->nodes[i];
    if (n->n_out < 1 || n->out[0] < 0) continue;
    int32_t y = n->out[0];
    bool act;
    if (n->op == QC_OP_QcDequantize) act = false;
    else if (is_int_op(n->op)) act = true;
    else act = n->n_in >= 1 && n->in[0] >= 0 && x->rep[n->in[0]] != REP_PLAIN &&
               g->values[y].dtype == g->values[n->in[0]].dtype;
    if (!act || !is_int_act(g->values[y].dtype)) continue;
    qc_dtype dt = g->values[y].dtype;
    x->rep[y] = dt == QC_DT_U8 || dt == QC_DT_I8 ? REP_Q8 : REP_FQ;
    if (x->scale[y] == 0.0f) {
      if (n->op == QC_OP_QcQuantize) x->scale[y] = qc_attr_f(n, "scale", 0.0f);
      else if (!is_int_op(n->op) || n->op == QC_OP_QcGlobalAveragePool)
        x->scale[y] = x->scale[n->in[0]];
    }
  }
}

static qc_status need_scale(exporter *x, const qc_node *n, int32_t v)
{
  float s = x->scale[v];
  if (s > 0.0f && isfinite(s)) return QC_OK;
  return qc_node_err(x->e, n, QC_ERR_INVALID,
                     "value '%s' has no quantization scale (qparams); it cannot be written "
                     "in QDQ form",
                     x->g->values[v].name);
}

/* The scale and zero-point initializers of 8-bit activation v (created once). */
static qc_status q8_params(exporter *x, int32_t v)
{
  if (x->sc_nm[v]) return QC_OK;
  const char *nm = x->g->values[v].name;
  qc_dtype dt = x->g->values[v].dtype;
  int8_t zero = 0;
  x->sc_nm[v] = new_init(x, nm, "scale", QC_DT_F32, 0, &x->scale[v]);
  x->zp_nm[v] = x->sc_nm[v] ? new_init(x, nm, "zero_point", dt, 0, &zero) : NULL;
  return x->zp_nm[v] ? QC_OK : x->e->code;
}

static const char *float_const(exporter *x, const char *base, const char *suffix, float f)
{
  return new_init(x, base, suffix, QC_DT_F32, 0, &f);
}

/* Emits op(in...) -> a fresh tensor "base_suffix" (or `out` when given); returns its name. */
static const char *emit(exporter *x, const char *op, const char *base, const char *suffix,
                        const char *out, int n_in, const char *const *in,
                        Onnx__NodeProto **np_out)
{
  const char *o = out ? out : fresh(x, base, suffix);
  if (!o) return NULL;
  Onnx__NodeProto *np = new_node(x, op, "", fresh(x, base, op), n_in, in, 1, &o);
  if (np_out) *np_out = np;
  return np ? o : NULL;
}

/* The real-valued (float) tensor of activation v: DequantizeLinear for Q8, times the scale
   for FQ; emitted once per value. */
static const char *dequant(exporter *x, const qc_node *n, int32_t v)
{
  if (x->dq[v]) return x->dq[v];
  if (x->rep[v] == REP_PLAIN) {
    qc_node_err(x->e, n, QC_ERR_INVALID, "input '%s' is not an integer activation",
                x->g->values[v].name);
    return NULL;
  }
  if (need_scale(x, n, v)) return NULL;
  const char *nm = x->g->values[v].name;
  if (x->rep[v] == REP_Q8) {
    if (q8_params(x, v)) return NULL;
    const char *in[3] = {nm, x->sc_nm[v], x->zp_nm[v]};
    x->dq[v] = emit(x, "DequantizeLinear", nm, "dq", NULL, 3, in, NULL);
  } else {
    const char *s = float_const(x, nm, "scale", x->scale[v]);
    const char *in[2] = {nm, s};
    x->dq[v] = s ? emit(x, "Mul", nm, "dq", NULL, 2, in, NULL) : NULL;
  }
  return x->dq[v];
}

/* Writes the quantization of real tensor r into activation y with the clamp [lo, hi]:
   Q8: [Relu | Clip(lo*S, hi*S)] then QuantizeLinear(S, 0), the clamp only where it is
   narrower than the 8-bit dtype's own saturation (4-bit grids, ReLU on a signed grid);
   FQ: Clip(Round(r / S), lo, hi), integers in float. Round is half-to-even in both. */
static qc_status quantize_to(exporter *x, int32_t y, const char *r,
                             int64_t lo, int64_t hi, float s)
{
  const qc_value *yv = &x->g->values[y];
  const char *nm = yv->name;
  if (x->rep[y] == REP_Q8) {
    int64_t dlo = yv->dtype == QC_DT_U8 ? 0 : -128, dhi = yv->dtype == QC_DT_U8 ? 255 : 127;
    lo = lo < dlo ? dlo : lo;
    hi = hi > dhi ? dhi : hi;
    if (lo == 0 && hi == dhi && dlo < 0) {
      r = emit(x, "Relu", nm, "relu", NULL, 1, &r, NULL);
    } else if (lo > dlo || hi < dhi) {
      const char *in[3] = {r, float_const(x, nm, "clip_min", (float)lo * s),
                           float_const(x, nm, "clip_max", (float)hi * s)};
      r = in[1] && in[2] ? emit(x, "Clip", nm, "clip", NULL, 3, in, NULL) : NULL;
    }
    if (!r) return x->e->code;
    const char *sc = float_const(x, nm, "qscale", s);
    int8_t zero = 0;
    const char *zp = sc ? new_init(x, nm, "qzero_point", yv->dtype, 0, &zero) : NULL;
    const char *in[3] = {r, sc, zp};
    if (!zp || !emit(x, "QuantizeLinear", nm, "q", nm, 3, in, NULL)) return x->e->code;
    return QC_OK;
  }
  const char *sc = float_const(x, nm, "qscale", s);
  const char *in2[2] = {r, sc};
  const char *d = sc ? emit(x, "Div", nm, "div", NULL, 2, in2, NULL) : NULL;
  const char *rd = d ? emit(x, "Round", nm, "round", NULL, 1, &d, NULL) : NULL;
  const char *in3[3] = {rd, float_const(x, nm, "clip_min", (float)lo),
                        float_const(x, nm, "clip_max", (float)hi)};
  if (!rd || !in3[1] || !in3[2] || !emit(x, "Clip", nm, "clip", nm, 3, in3, NULL))
    return x->e->code;
  return QC_OK;
}

/* Weight w of a QcConv/QcGemm as int8 initializer + per-channel DequantizeLinear (axis 0);
   4-bit packed weights are unpacked to int8 values in [-8, 7]. Bias b (int32) is dequantized
   at S_in * S_w[c], the scale its integers were computed at. *wf, *bf: the float tensors. */
static qc_status weights(exporter *x, const qc_node *n, float s_in, const char **wf,
                         const char **bf)
{
  const qc_graph *g = x->g;
  const qc_value *w = &g->values[n->in[1]];
  if (!(w->flags & QC_VAL_CONST) || !w->data || w->rank < 1)
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED, "weight '%s' is not a constant", w->name);
  int64_t m = w->dims[0], elems = qc_shape_elems(w->rank, w->dims);
  if (!w->q || !w->q->scale || (w->q->n != 1 && w->q->n != m))
    return qc_node_err(x->e, n, QC_ERR_INVALID,
                       "weight '%s' has no per-channel scales (qparams); it cannot be written "
                       "in QDQ form",
                       w->name);
  if (elems < 0) return qc_node_err(x->e, n, QC_ERR_INVALID, "weight '%s' has no shape", w->name);
  int8_t *q = xalloc(x, (size_t)elems);
  int8_t *zero = xalloc(x, (size_t)m);
  float *bsc = xalloc(x, sizeof(float) * (size_t)m);
  if (!q || !zero || !bsc) return x->e->code;
  if (w->dtype == QC_DT_I4) {
    const uint8_t *p = w->data;
    for (int64_t i = 0; i < elems; i++) {
      int nib = (p[i >> 1] >> ((i & 1) * 4)) & 15; /* low nibble first */
      q[i] = (int8_t)(nib >= 8 ? nib - 16 : nib);
    }
  } else if (w->dtype == QC_DT_I8) {
    memcpy(q, w->data, (size_t)elems);
  } else {
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED, "weight '%s' is %s; i8 or i4 expected",
                       w->name, qc_dtype_name(w->dtype));
  }
  const char *wq = fresh(x, w->name, "quantized");
  if (!wq) return x->e->code;
  qc_status st = add_init(x, wq, QC_DT_I8, w->rank, w->dims, q);
  if (st) return st;
  bool per_ch = w->q->n > 1 || m == 1;
  const char *ws = new_init(x, w->name, "scale", QC_DT_F32, per_ch ? w->q->n : 0, w->q->scale);
  const char *wz = ws ? new_init(x, w->name, "zero_point", QC_DT_I8, per_ch ? w->q->n : 0, zero)
                      : NULL;
  if (!wz) return x->e->code;
  Onnx__NodeProto *np;
  const char *in[3] = {wq, ws, wz};
  *wf = emit(x, "DequantizeLinear", w->name, "dq", NULL, 3, in, &np);
  if (!*wf || (per_ch && attr_int(x, np, "axis", 0))) return x->e->code;
  *bf = "";
  if (n->n_in < 3 || n->in[2] < 0) return QC_OK;
  const qc_value *b = &g->values[n->in[2]];
  if (!(b->flags & QC_VAL_CONST) || !b->data || b->dtype != QC_DT_I32 ||
      qc_shape_elems(b->rank, b->dims) != m)
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED,
                       "bias '%s' must be a constant i32 tensor of %lld elements", b->name,
                       (long long)m);
  for (int64_t c = 0; c < m; c++) {
    float sw = w->q->scale[w->q->n > 1 ? c : 0];
    bsc[c] = b->q && b->q->scale && b->q->n == m ? b->q->scale[c] : s_in * sw;
  }
  const char *bs = new_init(x, b->name, "scale", QC_DT_F32, m, bsc);
  const char *in2[2] = {use(x, n->in[2]), bs};
  *bf = bs ? emit(x, "DequantizeLinear", b->name, "dq", NULL, 2, in2, &np) : NULL;
  if (!*bf || attr_int(x, np, "axis", 0)) return x->e->code;
  return QC_OK;
}

static qc_status lower_conv_gemm(exporter *x, int32_t id)
{
  const qc_node *n = &x->g->nodes[id];
  int32_t y = n->out[0];
  const char *xf = dequant(x, n, n->in[0]);
  if (!xf || need_scale(x, n, y)) return x->e->code;
  const char *wf = NULL, *bf = NULL;
  qc_status st = weights(x, n, x->scale[n->in[0]], &wf, &bf);
  if (st) return st;
  const char *nm = x->g->values[y].name;
  const char *in[3] = {xf, wf, bf};
  int nin = *bf ? 3 : 2;
  Onnx__NodeProto *np;
  bool conv = n->op == QC_OP_QcConv;
  const char *acc = emit(x, conv ? "Conv" : "Gemm", nm, "acc", NULL, nin, in, &np);
  if (!acc) return x->e->code;
  if (conv) {
    static const char *geo[] = {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                                "strides"};
    for (size_t k = 0; k < sizeof geo / sizeof geo[0]; k++) {
      const qc_attr *a = qc_node_attr(n, geo[k]);
      if (a && (st = export_attr(x, n, np, a))) return st;
    }
  } else if ((st = attr_int(x, np, "transB", 1))) {
    return st;
  }
  np->name = (char *)(n->name ? n->name : np->name); /* the layer keeps its name */
  return quantize_to(x, y, acc, qc_attr_i(n, "qmin", 0), qc_attr_i(n, "qmax", 0),
                     x->scale[y]);
}

/* The integers of activation v as a float tensor: Cast for Q8, v itself for FQ. */
static const char *as_float(exporter *x, int32_t v, const char *base)
{
  const char *nm = use(x, v);
  if (x->rep[v] == REP_FQ) return nm;
  Onnx__NodeProto *np;
  const char *f = emit(x, "Cast", base, "cast", NULL, 1, &nm, &np);
  if (!f || attr_int(x, np, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)) return NULL;
  return f;
}

/* HAWQ's residual add: each branch requantized to the output scale on its own, added without
   clamping, clamped once. Each branch is Floor(a * M + 0.5) (round half up, as the dyadic
   shift) with M = fp32(S_a / S_out), the real number the dyadic multiplier approximates, so
   only values within float rounding of a tie can differ;
   a DequantizeLinear-Add-QuantizeLinear chain would round once instead of twice and move
   about one output in ten by a step. Integers stay exact in float (|value| < 2^24). */
static qc_status lower_add(exporter *x, int32_t id)
{
  const qc_node *n = &x->g->nodes[id];
  int32_t y = n->out[0];
  const qc_value *yv = &x->g->values[y];
  const char *nm = yv->name, *br[2];
  if (need_scale(x, n, y)) return x->e->code;
  for (int k = 0; k < 2; k++) {
    int32_t v = n->in[k];
    if (x->rep[v] == REP_PLAIN)
      return qc_node_err(x->e, n, QC_ERR_INVALID, "input '%s' is not an integer activation",
                         x->g->values[v].name);
    if (need_scale(x, n, v)) return x->e->code;
    const char *f = as_float(x, v, nm);
    const char *in[2] = {f, float_const(x, nm, k ? "mult_b" : "mult_a",
                                        x->scale[v] / x->scale[y])};
    const char *p = f && in[1] ? emit(x, "Mul", nm, k ? "scaled_b" : "scaled_a", NULL, 2, in,
                                      NULL) : NULL;
    const char *in2[2] = {p, p ? float_const(x, nm, "half", 0.5f) : NULL};
    const char *h = in2[1] ? emit(x, "Add", nm, k ? "half_b" : "half_a", NULL, 2, in2, NULL)
                           : NULL;
    br[k] = h ? emit(x, "Floor", nm, k ? "floor_b" : "floor_a", NULL, 1, &h, NULL) : NULL;
    if (!br[k]) return x->e->code;
  }
  const char *sum = emit(x, "Add", nm, "sum", NULL, 2, br, NULL);
  int64_t lo = qc_attr_i(n, "qmin", 0), hi = qc_attr_i(n, "qmax", 0);
  const char *in3[3] = {sum, float_const(x, nm, "clip_min", (float)lo),
                        float_const(x, nm, "clip_max", (float)hi)};
  if (!sum || !in3[1] || !in3[2]) return x->e->code;
  if (x->rep[y] == REP_FQ)
    return emit(x, "Clip", nm, "clip", nm, 3, in3, NULL) ? QC_OK : x->e->code;
  const char *c = emit(x, "Clip", nm, "clip", NULL, 3, in3, NULL);
  Onnx__NodeProto *np;
  if (!c || !emit(x, "Cast", nm, "cast", nm, 1, &c, &np) ||
      attr_int(x, np, "to", qc_dtypes[yv->dtype].onnx))
    return x->e->code;
  return QC_OK;
}

/* floor(sum / count) exactly: the integers are summed in float (exact below 2^24), the one
   division is correctly rounded and cannot cross an integer (|sum| < 2^24), Floor, and back to
   the integer dtype. A DQ-GlobalAveragePool-Q chain would round to nearest instead. */
static qc_status lower_gap(exporter *x, int32_t id)
{
  const qc_node *n = &x->g->nodes[id];
  int32_t xi = n->in[0], y = n->out[0];
  const qc_value *xv = &x->g->values[xi], *yv = &x->g->values[y];
  if (xv->rank < 3)
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED, "input '%s' needs a known rank >= 3",
                       xv->name);
  int64_t count = qc_shape_elems(xv->rank - 2, xv->dims + 2);
  if (count <= 0)
    return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED,
                       "input '%s' needs known spatial dimensions", xv->name);
  const char *nm = yv->name, *f = as_float(x, xi, nm);
  Onnx__NodeProto *np;
  if (!f) return x->e->code;
  int64_t axes[QC_MAX_RANK];
  for (int i = 2; i < xv->rank; i++) axes[i - 2] = i;
  const char *ax = new_init(x, nm, "axes", QC_DT_I64, xv->rank - 2, axes);
  const char *in[2] = {f, ax};
  const char *sum = ax ? emit(x, "ReduceSum", nm, "sum", NULL, 2, in, &np) : NULL;
  if (!sum || attr_int(x, np, "keepdims", 1)) return x->e->code;
  const char *in2[2] = {sum, float_const(x, nm, "count", (float)count)};
  const char *mean = in2[1] ? emit(x, "Div", nm, "mean", NULL, 2, in2, NULL) : NULL;
  if (!mean) return x->e->code;
  if (x->rep[y] == REP_FQ)
    return emit(x, "Floor", nm, "floor", nm, 1, &mean, NULL) ? QC_OK : x->e->code;
  const char *fl = emit(x, "Floor", nm, "floor", NULL, 1, &mean, NULL);
  if (!fl || !emit(x, "Cast", nm, "cast", nm, 1, &fl, &np) ||
      attr_int(x, np, "to", qc_dtypes[yv->dtype].onnx))
    return x->e->code;
  return QC_OK;
}

static qc_status lower(exporter *x, int32_t id)
{
  const qc_node *n = &x->g->nodes[id];
  switch (n->op) {
  case QC_OP_QcQuantize: {
    int32_t y = n->out[0];
    if (x->rep[y] == REP_PLAIN)
      return qc_node_err(x->e, n, QC_ERR_UNSUPPORTED, "output dtype %s is not an integer",
                         qc_dtype_name(x->g->values[y].dtype));
    float s = qc_attr_f(n, "scale", 0.0f);
    if (!(s > 0.0f) || !isfinite(s))
      return qc_node_err(x->e, n, QC_ERR_INVALID, "scale %g is not positive", (double)s);
    return quantize_to(x, y, use(x, n->in[0]), qc_attr_i(n, "qmin", 0),
                       qc_attr_i(n, "qmax", 0), s);
  }
  case QC_OP_QcDequantize: {
    int32_t xi = n->in[0];
    const char *out = x->g->values[n->out[0]].name;
    float s = qc_attr_f(n, "scale", 0.0f);
    if (x->rep[xi] == REP_PLAIN)
      return qc_node_err(x->e, n, QC_ERR_INVALID, "input '%s' is not an integer activation",
                         x->g->values[xi].name);
    const char *sc = float_const(x, out, "scale", s);
    if (!sc) return x->e->code;
    if (x->rep[xi] == REP_FQ) {
      const char *in[2] = {use(x, xi), sc};
      return emit(x, "Mul", out, "mul", out, 2, in, NULL) ? QC_OK : x->e->code;
    }
    int8_t zero = 0;
    const char *zp = new_init(x, out, "zero_point", x->g->values[xi].dtype, 0, &zero);
    const char *in[3] = {use(x, xi), sc, zp};
    return zp && emit(x, "DequantizeLinear", out, "dq", out, 3, in, NULL) ? QC_OK : x->e->code;
  }
  case QC_OP_QcConv:
  case QC_OP_QcGemm: return lower_conv_gemm(x, id);
  case QC_OP_QcAdd: return lower_add(x, id);
  case QC_OP_QcGlobalAveragePool: return lower_gap(x, id);
  default: return export_plain(x, id);
  }
}

/* ---- the model -------------------------------------------------------------------------- */

static Onnx__OperatorSetIdProto *opset(exporter *x, const char *domain, int64_t version)
{
  Onnx__OperatorSetIdProto *os = xalloc(x, sizeof *os);
  if (!os) return NULL;
  *os = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
  os->domain = xstrdup(x, domain);
  os->has_version = 1;
  os->version = version;
  return os->domain ? os : NULL;
}

static qc_status build(exporter *x, Onnx__ModelProto *m, Onnx__GraphProto *gp)
{
  const qc_graph *g = x->g;
  for (int32_t v = 0; v < g->n_values; v++)
    if (!name_add(x, (char *)g->values[v].name)) return x->e->code;
  bool lower_int = false;
  for (int32_t i = 0; i < g->n_nodes; i++)
    if (is_int_op(g->nodes[i].op)) x->any_int_op = true;
  lower_int = x->any_int_op && !(x->o && x->o->keep_int_ops);
  if (lower_int) classify(x);
  qc_status st;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    if (g->nodes[i].op == QC_OP_NONE) continue;
    st = lower_int ? lower(x, i) : export_plain(x, i);
    if (st) return st;
  }
  gp->name = xstrdup(x, g->name && *g->name ? g->name : "quantc");
  gp->input = xalloc(x, sizeof(void *) * (size_t)(g->n_inputs + 1));
  gp->output = xalloc(x, sizeof(void *) * (size_t)(g->n_outputs + 1));
  if (!gp->name || !gp->input || !gp->output) return x->e->code;
  for (int32_t i = 0; i < g->n_inputs; i++) {
    int32_t v = g->inputs[i];
    if (x->rep[v] == REP_FQ)
      return qc_err_set(x->e, QC_ERR_UNSUPPORTED, "graph input '%s' is %s", g->values[v].name,
                        qc_dtype_name(g->values[v].dtype));
    if (!(gp->input[i] = value_info(x, v, true))) return x->e->code;
  }
  gp->n_input = (size_t)g->n_inputs;
  for (int32_t i = 0; i < g->n_outputs; i++) {
    int32_t v = g->outputs[i];
    use(x, v);
    if (!(gp->output[i] = value_info(x, v, false))) return x->e->code;
  }
  gp->n_output = (size_t)g->n_outputs;
  /* Constants in value order, only those some node (or output) reads. */
  for (int32_t v = 0; v < g->n_values; v++) {
    const qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST) || !x->used[v]) continue;
    if ((st = add_init(x, val->name, val->dtype, val->rank, val->dims, val->data))) return st;
  }
  /* Shapes and dtypes of the intermediate values quantc knows. */
  for (int32_t v = 0; v < g->n_values; v++) {
    const qc_value *val = &g->values[v];
    if (val->producer < 0 || (val->flags & (QC_VAL_CONST | QC_VAL_INPUT | QC_VAL_OUTPUT)) ||
        !elem_type_of(x, v))
      continue;
    Onnx__ValueInfoProto *vi = value_info(x, v, false);
    if (!vi || !vpush(x, &x->vinfo, vi)) return x->e->code;
  }
  gp->n_node = x->nodes.n;
  gp->node = (Onnx__NodeProto **)x->nodes.p;
  gp->n_initializer = x->inits.n;
  gp->initializer = (Onnx__TensorProto **)x->inits.p;
  gp->n_value_info = x->vinfo.n;
  gp->value_info = (Onnx__ValueInfoProto **)x->vinfo.p;
  m->graph = gp;
  m->has_ir_version = 1;
  m->ir_version = QC_ONNX_EXPORT_IR_VERSION;
  m->producer_name = "quantc";
  bool quantc_domain = x->any_int_op && !lower_int;
  m->opset_import = xalloc(x, sizeof(void *) * 2);
  if (!m->opset_import || !(m->opset_import[0] = opset(x, "", QC_ONNX_EXPORT_OPSET)))
    return x->e->code;
  m->n_opset_import = 1;
  if (quantc_domain) {
    if (!(m->opset_import[1] = opset(x, "quantc", 1))) return x->e->code;
    m->n_opset_import = 2;
  }
  return QC_OK;
}

qc_status qc_onnx_save_buffer_ex(const qc_graph *g, const qc_onnx_export_opts *o, void **buf,
                                 size_t *len, qc_err *e)
{
  qc_err local = {0};
  if (!e) e = &local;
  *buf = NULL;
  *len = 0;
  exporter x = {.g = g, .o = o, .e = e};
  size_t nv = (size_t)g->n_values + 1;
  x.a = qc_arena_new();
  x.rep = calloc(nv, 1);
  x.scale = calloc(nv, sizeof(float));
  x.dq = calloc(nv, sizeof(char *));
  x.sc_nm = calloc(nv, sizeof(char *));
  x.zp_nm = calloc(nv, sizeof(char *));
  x.used = calloc(nv, sizeof(bool));
  qc_status st;
  if (!x.a || !x.rep || !x.scale || !x.dq || !x.sc_nm || !x.zp_nm || !x.used) {
    st = nomem(&x);
  } else {
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    st = build(&x, &m, &gp);
    if (!st) {
      size_t n = protobuf_c_message_get_packed_size(&m.base);
      if (n > QC_ONNX_MAX_FILE_BYTES) {
        st = qc_err_set(e, QC_ERR_UNSUPPORTED,
                        "the model needs %.1f GiB, over the 2 GiB limit of a protobuf file",
                        (double)n / (1024.0 * 1024.0 * 1024.0));
      } else if (!(*buf = malloc(n ? n : 1))) {
        st = nomem(&x);
      } else {
        *len = protobuf_c_message_pack(&m.base, *buf);
      }
    }
  }
  free(x.nodes.p);
  free(x.inits.p);
  free(x.vinfo.p);
  free(x.names);
  free(x.rep);
  free(x.scale);
  free(x.dq);
  free(x.sc_nm);
  free(x.zp_nm);
  free(x.used);
  qc_arena_free(x.a);
  return st;
}

qc_status qc_onnx_save_buffer(const qc_graph *g, void **buf, size_t *len, qc_err *e)
{
  return qc_onnx_save_buffer_ex(g, NULL, buf, len, e);
}

/* Writes to a temporary file in the target's folder and renames it over path, so path is
   either the old file or the complete new one, never a torn write. */
qc_status qc_onnx_save_ex(const qc_graph *g, const qc_onnx_export_opts *o, const char *path,
                          qc_err *e)
{
  qc_err local = {0};
  if (!e) e = &local;
  void *buf;
  size_t len;
  qc_status st = qc_onnx_save_buffer_ex(g, o, &buf, &len, e);
  if (st) return st;
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 16);
  if (!tmp) {
    free(buf);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  }
  memcpy(tmp, path, pl);
  memcpy(tmp + pl, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    st = qc_err_set(e, QC_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
  } else {
    (void)fchmod(fd, 0644); /* mkstemp's 0600 would make the model private */
    FILE *f = fdopen(fd, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    int err = errno;
    if (f ? fclose(f) != 0 : close(fd) != 0) ok = false;
    if (!ok) st = qc_err_set(e, QC_ERR_IO, "%s: write error: %s", path, strerror(err));
    else if (rename(tmp, path) != 0)
      st = qc_err_set(e, QC_ERR_IO, "cannot replace '%s': %s", path, strerror(errno));
    if (st) unlink(tmp);
  }
  free(tmp);
  free(buf);
  return st;
}

qc_status qc_onnx_save(const qc_graph *g, const char *path, qc_err *e)
{
  return qc_onnx_save_ex(g, NULL, path, e);
}
