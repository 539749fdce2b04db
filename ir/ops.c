/* The op table built from QC_OPS, lookup by ONNX name, and attribute access with the schema's
   defaults. */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

#define QC_X(id, dom, i0, i1, o0, o1, inf, attrs)                                            \
  qc_status inf(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,   \
                qc_err *e);
QC_OPS(QC_X)
#undef QC_X

const qc_op_info qc_ops[QC_OP_COUNT] = {
    [QC_OP_NONE] = {"<none>", "", 0, 0, 0, 0, "", NULL},
#define QC_X(id, dom, i0, i1, o0, o1, inf, attrs) [QC_OP_##id] = {#id, dom, i0, i1, o0, o1, attrs, inf},
    QC_OPS(QC_X)
#undef QC_X
};

const char *qc_op_name(qc_op op)
{
  return (unsigned)op < QC_OP_COUNT ? qc_ops[op].name : "<invalid op>";
}

qc_op qc_op_lookup(const char *domain, const char *name)
{
  if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
  for (int op = 1; op < QC_OP_COUNT; op++)
    if (strcmp(qc_ops[op].name, name) == 0 && strcmp(qc_ops[op].domain, domain) == 0)
      return (qc_op)op;
  return QC_OP_NONE;
}

static qc_attr_kind kind_from_code(const char *s, size_t n)
{
  static const struct { const char *code; qc_attr_kind kind; } codes[] = {
      {"f", QC_ATTR_FLOAT},    {"i", QC_ATTR_INT},      {"s", QC_ATTR_STRING},
      {"t", QC_ATTR_TENSOR},   {"g", QC_ATTR_GRAPH},    {"fs", QC_ATTR_FLOATS},
      {"is", QC_ATTR_INTS},    {"ss", QC_ATTR_STRINGS}, {"ts", QC_ATTR_TENSORS},
      {"gs", QC_ATTR_GRAPHS},
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (strlen(codes[i].code) == n && memcmp(codes[i].code, s, n) == 0) return codes[i].kind;
  return QC_ATTR_UNDEF;
}

bool qc_op_attr_spec(qc_op op, const char *name, qc_attr_spec *out)
{
  if ((unsigned)op >= QC_OP_COUNT) return false;
  size_t name_len = strlen(name);
  for (const char *p = qc_ops[op].attrs; *p;) {
    while (*p == ' ') p++;
    const char *end = p + strcspn(p, " ");
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (colon && (size_t)(colon - p) == name_len && memcmp(p, name, name_len) == 0) {
      const char *k = colon + 1;
      const char *eq = memchr(k, '=', (size_t)(end - k));
      const char *kend = eq ? eq : end;
      bool req = kend > k && kend[-1] == '!';
      if (req) kend--;
      memset(out, 0, sizeof *out);
      out->kind = kind_from_code(k, (size_t)(kend - k));
      out->required = req;
      if (eq) {
        size_t len = (size_t)(end - eq - 1);
        if (len >= sizeof out->dflt) len = sizeof out->dflt - 1;
        memcpy(out->dflt, eq + 1, len);
        out->has_default = true;
      }
      return true;
    }
    p = end;
  }
  return false;
}

const qc_attr *qc_node_attr(const qc_node *n, const char *name)
{
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t qc_attr_i(const qc_node *n, const char *name, int64_t dflt)
{
  const qc_attr *a = qc_node_attr(n, name);
  if (a && a->kind == QC_ATTR_INT) return a->i;
  qc_attr_spec s;
  if (qc_op_attr_spec(n->op, name, &s) && s.has_default) return strtoll(s.dflt, NULL, 10);
  return dflt;
}

float qc_attr_f(const qc_node *n, const char *name, float dflt)
{
  const qc_attr *a = qc_node_attr(n, name);
  if (a && a->kind == QC_ATTR_FLOAT) return a->f;
  qc_attr_spec s;
  if (qc_op_attr_spec(n->op, name, &s) && s.has_default) return strtof(s.dflt, NULL);
  return dflt;
}

const char *qc_attr_s(const qc_node *n, const char *name, const char *dflt)
{
  const qc_attr *a = qc_node_attr(n, name);
  if (a && a->kind == QC_ATTR_STRING) return a->s;
  /* String defaults live in the (static) schema text; return a pointer into it would need a
     terminator, so callers pass the same default the schema states. */
  return dflt;
}

int64_t qc_attr_ints(const qc_node *n, const char *name, const int64_t **out)
{
  const qc_attr *a = qc_node_attr(n, name);
  if (a && a->kind == QC_ATTR_INTS) {
    *out = a->ints;
    return a->n;
  }
  *out = NULL;
  return -1;
}

int64_t qc_attr_floats(const qc_node *n, const char *name, const float **out)
{
  const qc_attr *a = qc_node_attr(n, name);
  if (a && a->kind == QC_ATTR_FLOATS) {
    *out = a->floats;
    return a->n;
  }
  *out = NULL;
  return -1;
}

qc_status qc_infer_node(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e)
{
  if ((unsigned)n->op >= QC_OP_COUNT || !qc_ops[n->op].infer)
    return qc_node_err(e, n, QC_ERR_INTERNAL, "op has no shape inference");
  return qc_ops[n->op].infer(n, in, n_in, out, n_out, e);
}

void qc_tinfo_set(qc_tinfo *o, qc_dtype dtype, int rank, const int64_t *dims)
{
  o->dtype = dtype;
  o->rank = rank;
  o->data = NULL;
  for (int i = 0; i < QC_MAX_RANK; i++) o->dims[i] = i < rank && dims ? dims[i] : QC_DIM_UNKNOWN;
}

const qc_tinfo *qc_tinfo_opt(const qc_tinfo *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF ? &in[i] : NULL;
}
