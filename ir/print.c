/* The IR text printer (grammar in docs/ir-text.md). Canonical: qc_parse reads it back to a
   graph that prints the same. Works on invalid graphs too (for error reports), printing what
   it cannot name as <...>, which the parser rejects. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

/* Data of at most this many elements prints as a list, larger as hex bytes. */
#define LIST_MAX_ELEMS 64

typedef struct {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(sbuf *b, const char *fmt, ...) QC_PRINTF(2, 3);
static void putf(sbuf *b, const char *fmt, ...)
{
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static bool name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.';
}

/* A quoted string: printable ASCII and UTF-8 bytes as is, the rest as \xHH. */
static void put_quoted(sbuf *b, const char *s, size_t n)
{
  puts_(b, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      put(b, esc, 2);
    } else if (c == '\n') {
      puts_(b, "\\n");
    } else if (c == '\t') {
      puts_(b, "\\t");
    } else if (c < 0x20 || c == 0x7f) {
      putf(b, "\\x%02x", c);
    } else {
      put(b, (const char *)&c, 1);
    }
  }
  puts_(b, "\"");
}

/* Value and node names: plain when every byte is [A-Za-z0-9_.], else quoted. */
static void put_name(sbuf *b, const char *sigil, const char *name)
{
  puts_(b, sigil);
  if (!name) {
    puts_(b, "<null>");
    return;
  }
  bool plain = *name != 0;
  for (const char *c = name; *c && plain; c++) plain = name_char(*c);
  if (plain) puts_(b, name);
  else put_quoted(b, name, strlen(name));
}

/* Symbols and attribute names: identifiers ([A-Za-z_] first), else quoted. */
static void put_ident(sbuf *b, const char *s)
{
  if (!s) {
    puts_(b, "<null>");
    return;
  }
  bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_';
  for (const char *c = s; *c && plain; c++) plain = name_char(*c);
  if (plain) puts_(b, s);
  else put_quoted(b, s, strlen(s));
}

static bool looks_float(const char *s) { return strpbrk(s, ".eni") != NULL; }

/* Shortest decimal that reads back (strtof) to the same float; NaN payloads are not kept. */
static void put_float(sbuf *b, float f)
{
  char tmp[48];
  if (isnan(f)) {
    puts_(b, signbit(f) ? "-nan" : "nan");
    return;
  }
  if (isinf(f)) {
    puts_(b, f < 0 ? "-inf" : "inf");
    return;
  }
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, (double)f);
    if (strtof(tmp, NULL) == f) break;
  }
  puts_(b, tmp);
  if (!looks_float(tmp)) puts_(b, ".0");
}

static void put_double(sbuf *b, double f)
{
  char tmp[48];
  if (isnan(f)) {
    puts_(b, signbit(f) ? "-nan" : "nan");
    return;
  }
  if (isinf(f)) {
    puts_(b, f < 0 ? "-inf" : "inf");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, f);
    if (strtod(tmp, NULL) == f) break;
  }
  puts_(b, tmp);
  if (!looks_float(tmp)) puts_(b, ".0");
}

static float half_to_float(uint16_t h)
{
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
  float f;
  if (exp == 0) {
    f = ldexpf((float)man, -24); /* zero or subnormal */
    return sign ? -f : f;
  }
  uint32_t bits = sign | (exp == 31 ? 0xff << 23 | man << 13 : (exp + 112) << 23 | man << 13);
  memcpy(&f, &bits, 4);
  return f;
}

static float bf16_to_float(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* Reads element i of a list-printable dtype as float (is_float) or integer. */
static bool elem_float(qc_dtype t, const void *data, int64_t i, double *out)
{
  switch (t) {
  case QC_DT_F32: {
    float f;
    memcpy(&f, (const char *)data + 4 * i, 4);
    *out = f;
    return true;
  }
  case QC_DT_F64: memcpy(out, (const char *)data + 8 * i, 8); return true;
  case QC_DT_F16:
  case QC_DT_BF16: {
    uint16_t h;
    memcpy(&h, (const char *)data + 2 * i, 2);
    *out = t == QC_DT_F16 ? half_to_float(h) : bf16_to_float(h);
    return true;
  }
  default: return false;
  }
}

static void put_int_elem(sbuf *b, qc_dtype t, const void *data, int64_t i)
{
  const char *p = data;
  switch (t) {
  case QC_DT_U8:
  case QC_DT_BOOL:
  case QC_DT_CB8: putf(b, "%u", (unsigned)((const uint8_t *)p)[i]); break;
  case QC_DT_I8: putf(b, "%d", (int)((const int8_t *)p)[i]); break;
  case QC_DT_U16:
  case QC_DT_CB16: {
    uint16_t x;
    memcpy(&x, p + 2 * i, 2);
    putf(b, "%u", (unsigned)x);
    break;
  }
  case QC_DT_I16: {
    int16_t x;
    memcpy(&x, p + 2 * i, 2);
    putf(b, "%d", (int)x);
    break;
  }
  case QC_DT_I32: {
    int32_t x;
    memcpy(&x, p + 4 * i, 4);
    putf(b, "%d", (int)x);
    break;
  }
  case QC_DT_U32: {
    uint32_t x;
    memcpy(&x, p + 4 * i, 4);
    putf(b, "%u", (unsigned)x);
    break;
  }
  case QC_DT_I64: {
    int64_t x;
    memcpy(&x, p + 8 * i, 8);
    putf(b, "%lld", (long long)x);
    break;
  }
  case QC_DT_U64: {
    uint64_t x;
    memcpy(&x, p + 8 * i, 8);
    putf(b, "%llu", (unsigned long long)x);
    break;
  }
  default: break;
  }
}

static bool int_listable(qc_dtype t)
{
  return t != QC_DT_UNDEF && t < QC_DT_COUNT &&
         !(qc_dtypes[t].flags & (QC_DTF_FLOAT | QC_DTF_PACKED));
}

/* Contents of a tensor of elems elements: a list when small and exact, else hex bytes. */
static void put_data(sbuf *b, qc_dtype t, int64_t elems, const void *data, bool with_data)
{
  int64_t bytes = qc_dtype_bytes(t, elems);
  if (!data || !with_data || bytes < 0) {
    puts_(b, "...");
    return;
  }
  bool list = elems <= LIST_MAX_ELEMS;
  bool is_float = (unsigned)t < QC_DT_COUNT && (qc_dtypes[t].flags & QC_DTF_FLOAT);
  if (list && is_float) {
    for (int64_t i = 0; i < elems && list; i++) {
      double d;
      list = elem_float(t, data, i, &d) && !isnan(d);
    }
  } else if (list) {
    list = int_listable(t);
  }
  if (list) {
    puts_(b, "[");
    for (int64_t i = 0; i < elems; i++) {
      if (i) puts_(b, ", ");
      double d;
      if (!is_float) put_int_elem(b, t, data, i);
      else if (elem_float(t, data, i, &d) && t == QC_DT_F64) put_double(b, d);
      else put_float(b, (float)d);
    }
    puts_(b, "]");
    return;
  }
  static const char hex[] = "0123456789abcdef";
  puts_(b, "hex\"");
  const unsigned char *p = data;
  char chunk[128];
  size_t k = 0;
  for (int64_t i = 0; i < bytes; i++) {
    chunk[k++] = hex[p[i] >> 4];
    chunk[k++] = hex[p[i] & 15];
    if (k == sizeof chunk) {
      put(b, chunk, k);
      k = 0;
    }
  }
  put(b, chunk, k);
  puts_(b, "\"");
}

static void put_dtype(sbuf *b, qc_dtype t)
{
  if (t == QC_DT_UNDEF) puts_(b, "?");
  else if ((unsigned)t < QC_DT_COUNT) puts_(b, qc_dtypes[t].name);
  else putf(b, "<dtype %d>", (int)t);
}

static void put_dims(sbuf *b, const qc_graph *g, int rank, const int64_t *dims)
{
  puts_(b, "[");
  if (rank < 0) puts_(b, "*");
  for (int i = 0; i < rank && i < QC_MAX_RANK; i++) {
    if (i) puts_(b, ",");
    int64_t d = dims[i];
    if (d >= 0) putf(b, "%lld", (long long)d);
    else if (d == QC_DIM_UNKNOWN) puts_(b, "?");
    else if (-2 - d < (int64_t)g->n_syms) put_ident(b, g->syms[-2 - d]);
    else putf(b, "<dim %lld>", (long long)d);
  }
  if (rank > QC_MAX_RANK) putf(b, "<rank %d>", rank);
  puts_(b, "]");
}

static void put_int32_list(sbuf *b, const int32_t *x, int32_t n)
{
  puts_(b, "[");
  for (int32_t i = 0; i < n; i++) putf(b, i ? ", %d" : "%d", (int)x[i]);
  puts_(b, "]");
}

static void put_valref(sbuf *b, const qc_graph *g, int32_t v)
{
  if (v < 0) puts_(b, "_");
  else if (v >= g->n_values) putf(b, "%%<value %d>", (int)v);
  else put_name(b, "%", g->values[v].name);
}

static void put_qparams(sbuf *b, const qc_graph *g, const qc_qparams *q)
{
  putf(b, " q(bits=%d, axis=%d", q->bits, q->axis);
  int32_t n = q->n > 0 ? q->n : 0;
  if (q->scale) {
    puts_(b, ", scale=[");
    for (int32_t i = 0; i < n; i++) {
      if (i) puts_(b, ", ");
      put_float(b, q->scale[i]);
    }
    puts_(b, "]");
  }
  if (q->zero_point) {
    puts_(b, ", zp=");
    put_int32_list(b, q->zero_point, n);
  }
  if (q->mult) {
    puts_(b, ", mult=");
    put_int32_list(b, q->mult, n);
  }
  if (q->shift) {
    puts_(b, ", shift=");
    put_int32_list(b, q->shift, n);
  }
  if (q->codebook >= 0) {
    puts_(b, ", codebook=");
    put_valref(b, g, q->codebook);
  }
  puts_(b, ")");
}

/* ": dtype[dims] q(...)", or nothing when neither dtype nor shape nor qparams are known. */
static void put_type(sbuf *b, const qc_graph *g, const qc_value *v)
{
  if (v->dtype == QC_DT_UNDEF && v->rank < 0 && !v->q) return;
  puts_(b, ": ");
  put_dtype(b, v->dtype);
  put_dims(b, g, v->rank, v->dims);
  if (v->q) put_qparams(b, g, v->q);
}

static void put_tensor(sbuf *b, const qc_graph *g, const qc_tensor *t, bool with_data)
{
  put_dtype(b, t->dtype);
  put_dims(b, g, t->rank, t->dims);
  puts_(b, " ");
  int64_t elems = qc_tensor_elems(t);
  if (elems < 0) puts_(b, "...");
  else put_data(b, t->dtype, elems, t->data, with_data);
}

static void put_attr(sbuf *b, const qc_graph *g, const qc_attr *a, bool with_data)
{
  put_ident(b, a->name);
  puts_(b, "=");
  int64_t n = a->n > 0 ? a->n : 0;
  switch (a->kind) {
  case QC_ATTR_INT: putf(b, "%lld", (long long)a->i); break;
  case QC_ATTR_FLOAT: put_float(b, a->f); break;
  case QC_ATTR_STRING:
    if (a->s) put_quoted(b, a->s, a->s_len > 0 ? (size_t)a->s_len : 0);
    else puts_(b, "<null>");
    break;
  case QC_ATTR_TENSOR:
    if (a->tensors) put_tensor(b, g, a->tensors, with_data);
    else puts_(b, "<null>");
    break;
  case QC_ATTR_INTS:
    puts_(b, "[");
    for (int64_t i = 0; i < n && a->ints; i++) putf(b, i ? ", %lld" : "%lld", (long long)a->ints[i]);
    puts_(b, "]");
    break;
  case QC_ATTR_FLOATS:
    puts_(b, n ? "[" : "floats[");
    for (int64_t i = 0; i < n && a->floats; i++) {
      if (i) puts_(b, ", ");
      put_float(b, a->floats[i]);
    }
    puts_(b, "]");
    break;
  case QC_ATTR_STRINGS:
    puts_(b, n ? "[" : "strings[");
    for (int64_t i = 0; i < n && a->strings; i++) {
      if (i) puts_(b, ", ");
      if (a->strings[i]) put_quoted(b, a->strings[i], strlen(a->strings[i]));
      else puts_(b, "<null>");
    }
    puts_(b, "]");
    break;
  case QC_ATTR_TENSORS:
    puts_(b, n ? "[" : "tensors[");
    for (int64_t i = 0; i < n && a->tensors; i++) {
      if (i) puts_(b, ", ");
      put_tensor(b, g, &a->tensors[i], with_data);
    }
    puts_(b, "]");
    break;
  case QC_ATTR_GRAPH: puts_(b, "<graph>"); break;
  case QC_ATTR_GRAPHS: puts_(b, "<graphs>"); break;
  case QC_ATTR_SPARSE_TENSOR: puts_(b, "<sparse_tensor>"); break;
  case QC_ATTR_SPARSE_TENSORS: puts_(b, "<sparse_tensors>"); break;
  case QC_ATTR_TYPE_PROTO: puts_(b, "<type_proto>"); break;
  case QC_ATTR_TYPE_PROTOS: puts_(b, "<type_protos>"); break;
  default: putf(b, "<kind %d>", (int)a->kind); break;
  }
}

static void put_node(sbuf *b, const qc_graph *g, int32_t id, bool with_data)
{
  const qc_node *n = &g->nodes[id];
  puts_(b, "  ");
  for (int32_t k = 0; k < n->n_out; k++) {
    if (k) puts_(b, ", ");
    int32_t v = n->out[k];
    put_valref(b, g, v);
    if (v >= 0 && v < g->n_values) put_type(b, g, &g->values[v]);
  }
  if (!n->n_out) puts_(b, "()"); /* no outputs: "() = Op(...)" */
  puts_(b, " = ");
  if ((unsigned)n->op >= QC_OP_COUNT || n->op == QC_OP_NONE) {
    putf(b, "<op %d>", (int)n->op);
  } else {
    if (*qc_ops[n->op].domain) {
      puts_(b, qc_ops[n->op].domain);
      puts_(b, ".");
    }
    puts_(b, qc_ops[n->op].name);
  }
  puts_(b, "(");
  for (int32_t k = 0; k < n->n_in; k++) {
    if (k) puts_(b, ", ");
    put_valref(b, g, n->in[k]);
  }
  puts_(b, ")");
  if (n->n_attrs > 0 && n->attrs) {
    puts_(b, " {");
    for (int32_t k = 0; k < n->n_attrs; k++) {
      if (k) puts_(b, ", ");
      put_attr(b, g, &n->attrs[k], with_data);
    }
    puts_(b, "}");
  }
  /* The parser names an unnamed node "<Op>_<index>"; print only other names. */
  char dflt[96];
  snprintf(dflt, sizeof dflt, "%s_%d", qc_op_name(n->op), (int)id);
  if (!n->name || strcmp(n->name, dflt) != 0) {
    puts_(b, " ");
    put_name(b, "@", n->name);
  }
  puts_(b, "\n");
}

enum { USED = 1, BY_NODE = 2, LISTED_INPUT = 4 };

char *qc_print(const qc_graph *g, bool with_const_data)
{
  sbuf b = {0};
  int32_t nv = g->n_values;
  uint8_t *st = calloc((size_t)nv + 1, 1);
  if (!st) return NULL;
#define MARK(v, f) \
  do { \
    if ((v) >= 0 && (v) < nv) st[v] |= (f); \
  } while (0)
  for (int32_t i = 0; i < g->n_nodes; i++) {
    const qc_node *n = &g->nodes[i];
    for (int32_t k = 0; k < n->n_in; k++) MARK(n->in[k], USED);
    for (int32_t k = 0; k < n->n_out; k++) MARK(n->out[k], BY_NODE);
  }
  for (int32_t i = 0; i < g->n_outputs; i++) MARK(g->outputs[i], USED);
  for (int32_t i = 0; i < g->n_inputs; i++) MARK(g->inputs[i], LISTED_INPUT);
  /* A printed value's codebook is used too. */
  for (int32_t v = 0; v < nv; v++)
    if (st[v] && g->values[v].q) MARK(g->values[v].q->codebook, USED);

  puts_(&b, "graph ");
  put_quoted(&b, g->name ? g->name : "", g->name ? strlen(g->name) : 0);
  putf(&b, " opset %lld {\n", (long long)g->opset);
  for (int32_t i = 0; i < g->n_syms; i++) {
    puts_(&b, "  sym ");
    put_ident(&b, g->syms[i]);
    puts_(&b, "\n");
  }
  for (int32_t i = 0; i < g->n_inputs; i++) {
    int32_t v = g->inputs[i];
    puts_(&b, "  input ");
    put_valref(&b, g, v);
    if (v >= 0 && v < nv) {
      const qc_value *val = &g->values[v];
      put_type(&b, g, val);
      if (val->flags & QC_VAL_CONST) {
        puts_(&b, " = ");
        put_data(&b, val->dtype, qc_shape_elems(val->rank, val->dims), val->data,
                 with_const_data);
      }
    }
    puts_(&b, "\n");
  }
  for (int32_t v = 0; v < nv; v++) {
    const qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST) || (st[v] & LISTED_INPUT) || !(st[v] & (USED | BY_NODE)))
      continue;
    puts_(&b, "  const ");
    put_name(&b, "%", val->name);
    put_type(&b, g, val);
    puts_(&b, " = ");
    put_data(&b, val->dtype, qc_shape_elems(val->rank, val->dims), val->data, with_const_data);
    puts_(&b, "\n");
  }
  for (int32_t v = 0; v < nv; v++) {
    const qc_value *val = &g->values[v];
    if (st[v] != USED || (val->flags & QC_VAL_CONST)) continue;
    puts_(&b, "  value ");
    put_name(&b, "%", val->name);
    put_type(&b, g, val);
    puts_(&b, "\n");
  }
  for (int32_t i = 0; i < g->n_nodes; i++) put_node(&b, g, i, with_const_data);
  for (int32_t i = 0; i < g->n_outputs; i++) {
    puts_(&b, "  output ");
    put_valref(&b, g, g->outputs[i]);
    puts_(&b, "\n");
  }
  puts_(&b, "}\n");
#undef MARK
  free(st);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}
