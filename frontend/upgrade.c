/* Opset upgrade: rewrites the legacy forms of older ai.onnx opsets into the opset-17 meaning
 * that the op list gives each op, so later stages see one form per op.
 *
 * Attributes that later became inputs turn into constant inputs; legacy broadcasting
 * (`broadcast` + `axis`, opset < 7) and PRelu's channel slope become an explicit reshape of
 * the second operand; Softmax's 2-D coercion (opset < 13) becomes Flatten -> op -> Reshape.
 * Where a rewrite needs a rank or dtype not known at import, it builds the shape at run time
 * (Shape/ConstantOfShape/Concat) or converts with CastLike, which constant folding removes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onnx_internal.h"

typedef struct {
  qc_graph *g;
  int64_t opset;
  qc_err *e;
  int32_t n_known;  /* values with entries in rank/dtype (those that existed at the start) */
  int *rank;        /* rank as far as propagated here; -1 unknown */
  qc_dtype *dtype;
} upgrader;

/* ---- what is known of a value ------------------------------------------------------------ */

static int rank_of(const upgrader *u, int32_t v)
{
  if (v < 0) return -1;
  return v < u->n_known ? u->rank[v] : u->g->values[v].rank;
}

static qc_dtype dtype_of(const upgrader *u, int32_t v)
{
  if (v < 0) return QC_DT_UNDEF;
  return v < u->n_known ? u->dtype[v] : u->g->values[v].dtype;
}

/* Length of a constant 1-D i64 input (axes, shape), or -1. */
static int64_t const_len(const upgrader *u, int32_t v)
{
  if (v < 0) return -1;
  const qc_value *val = &u->g->values[v];
  if (!(val->flags & QC_VAL_CONST) || val->rank != 1 || val->dtype != QC_DT_I64) return -1;
  return val->dims[0];
}

static int64_t ints_len(const qc_node *n, const char *name)
{
  const int64_t *p;
  return qc_attr_ints(n, name, &p);
}

/* Output ranks and dtypes of node id from its inputs', in the node's legacy form (run before
   the node is rewritten). Only what the rewrites below consult needs to be exact; unknown is
   always safe. */
static void propagate(upgrader *u, int32_t id)
{
  const qc_node *n = &u->g->nodes[id];
  int r0 = n->n_in > 0 ? rank_of(u, n->in[0]) : -1;
  int r1 = n->n_in > 1 ? rank_of(u, n->in[1]) : -1;
  qc_dtype d = n->n_in > 0 ? dtype_of(u, n->in[0]) : QC_DT_UNDEF;
  int r = -1;
  int64_t k;
  switch (n->op) {
  case QC_OP_Add: case QC_OP_Sub: case QC_OP_Mul: case QC_OP_Div: case QC_OP_Pow:
  case QC_OP_Mod: case QC_OP_PRelu: case QC_OP_Max: case QC_OP_Min: case QC_OP_Sum:
  case QC_OP_Mean: case QC_OP_Where:
  case QC_OP_Equal: case QC_OP_Less: case QC_OP_LessOrEqual: case QC_OP_Greater:
  case QC_OP_GreaterOrEqual: case QC_OP_And: case QC_OP_Or: case QC_OP_Xor:
    r = r0;
    for (int i = 1; i < n->n_in && r >= 0; i++) {
      int ri = rank_of(u, n->in[i]);
      r = ri < 0 ? -1 : (ri > r ? ri : r);
    }
    if (u->opset < 7 && qc_attr_i(n, "broadcast", 0)) r = r0; /* B never widens A then */
    if (n->op == QC_OP_Where) d = n->n_in > 1 ? dtype_of(u, n->in[1]) : QC_DT_UNDEF;
    if (n->op >= QC_OP_Equal && n->op <= QC_OP_Xor) d = QC_DT_BOOL;
    break;
  case QC_OP_Flatten: case QC_OP_Gemm: r = 2; break;
  case QC_OP_MatMul:
    if (r0 >= 1 && r1 >= 1) r = r0 == 1 ? r1 - 1 : r1 == 1 ? r0 - 1 : (r0 > r1 ? r0 : r1);
    break;
  case QC_OP_Gather: if (r0 >= 0 && r1 >= 0) r = r0 + r1 - 1; break;
  case QC_OP_Shape: r = 1, d = QC_DT_I64; break;
  case QC_OP_Size: r = 0, d = QC_DT_I64; break;
  case QC_OP_Cast: {
    const qc_attr *a = qc_node_attr(n, "to");
    r = r0;
    d = a && a->kind == QC_ATTR_INT ? qc_dtype_from_onnx((int)a->i) : QC_DT_UNDEF;
    break;
  }
  case QC_OP_Unsqueeze:
    k = n->n_in > 1 ? const_len(u, n->in[1]) : ints_len(n, "axes");
    if (r0 >= 0 && k >= 0) r = r0 + (int)k;
    break;
  case QC_OP_Squeeze:
    k = n->n_in > 1 ? const_len(u, n->in[1]) : ints_len(n, "axes");
    if (r0 >= 0 && k >= 0) r = r0 - (int)k;
    break;
  case QC_OP_Reshape:
    k = n->n_in > 1 ? const_len(u, n->in[1]) : ints_len(n, "shape");
    if (k >= 0) r = (int)k;
    break;
  case QC_OP_ReduceMean: case QC_OP_ReduceMax: case QC_OP_ReduceMin: case QC_OP_ReduceProd:
  case QC_OP_ReduceL1: case QC_OP_ReduceL2: case QC_OP_ReduceLogSum:
  case QC_OP_ReduceLogSumExp: case QC_OP_ReduceSumSquare: case QC_OP_ReduceSum:
    k = n->n_in > 1 ? const_len(u, n->in[1]) : ints_len(n, "axes");
    if (qc_attr_i(n, "keepdims", 1)) r = r0;
    else if (k >= 0 && r0 >= 0) r = r0 - (int)k;
    else if (k < 0 && n->n_in < 2) r = 0;
    break;
  case QC_OP_ArgMax: case QC_OP_ArgMin:
    if (r0 >= 0) r = qc_attr_i(n, "keepdims", 1) ? r0 : r0 - 1;
    d = QC_DT_I64;
    break;
  case QC_OP_Constant: case QC_OP_ConstantOfShape: case QC_OP_Expand: case QC_OP_Range:
  case QC_OP_DynamicQuantizeLinear: case QC_OP_CastLike: case QC_OP_QuantizeLinear:
  case QC_OP_DequantizeLinear: case QC_OP_QLinearMatMul: case QC_OP_MatMulInteger:
  case QC_OP_IsNaN: case QC_OP_IsInf:
    d = QC_DT_UNDEF; /* dtype from elsewhere; rank not needed by any rewrite */
    break;
  default: /* the rest keep their first input's rank: elementwise, conv, pool, norm, ... */
    r = r0;
    break;
  }
  for (int i = 0; i < n->n_out; i++) {
    int32_t v = n->out[i];
    if (v < 0 || v >= u->n_known) continue;
    if (u->rank[v] < 0) u->rank[v] = r;
    if (u->dtype[v] == QC_DT_UNDEF) u->dtype[v] = d;
    if (n->op == QC_OP_BatchNormalization || n->op == QC_OP_Dropout) break; /* extras differ */
  }
}

/* ---- editing nodes ------------------------------------------------------------------------ */

static qc_node *node(upgrader *u, int32_t id) { return &u->g->nodes[id]; }

static void drop_attr(upgrader *u, int32_t id, const char *name)
{
  qc_node *n = node(u, id);
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      memmove(&n->attrs[i], &n->attrs[i + 1], sizeof(qc_attr) * (size_t)(n->n_attrs - i - 1));
      n->n_attrs--;
      return;
    }
}

static qc_status set_attr_i(upgrader *u, int32_t id, const char *name, int64_t v)
{
  drop_attr(u, id, name);
  qc_attr *a = qc_node_add_attr(u->g, id, name, QC_ATTR_INT, u->e);
  if (!a) return u->e->code;
  a->i = v;
  return QC_OK;
}

/* Replaces the node's inputs; trailing omitted (-1) inputs are dropped. */
static qc_status set_inputs(upgrader *u, int32_t id, int n_in, const int32_t *in)
{
  while (n_in > 0 && in[n_in - 1] < 0) n_in--;
  int32_t *arr = qc_arena_alloc(u->g->arena, sizeof(int32_t) * (size_t)(n_in + 1));
  if (!arr) return qc_node_err(u->e, node(u, id), QC_ERR_NOMEM, "out of memory");
  memcpy(arr, in, sizeof(int32_t) * (size_t)n_in);
  node(u, id)->in = arr;
  node(u, id)->n_in = n_in;
  return QC_OK;
}

/* Adds an input at the end (or at position pos, padding omitted inputs with -1). */
static qc_status put_input(upgrader *u, int32_t id, int pos, int32_t v)
{
  const qc_node *n = node(u, id);
  int32_t in[16];
  int m = n->n_in > pos + 1 ? n->n_in : pos + 1;
  if (m > 16) return qc_node_err(u->e, n, QC_ERR_INTERNAL, "too many inputs to rewrite");
  for (int i = 0; i < m; i++) in[i] = i < n->n_in ? n->in[i] : -1;
  in[pos] = v;
  return set_inputs(u, id, m, in);
}

/* A value name "<base>_<suffix>" not yet taken. */
static int32_t fresh_value(upgrader *u, int32_t id, const char *suffix, qc_dtype dt, int rank,
                           const int64_t *dims)
{
  char name[256];
  const char *base = node(u, id)->name;
  snprintf(name, sizeof name, "%s_%s", base, suffix);
  for (int k = 1; qc_graph_find_value(u->g, name) >= 0; k++)
    snprintf(name, sizeof name, "%s_%s_%d", base, suffix, k);
  return qc_graph_add_value(u->g, name, dt, rank, dims, u->e);
}

static int32_t const_value(upgrader *u, int32_t id, const char *suffix, qc_dtype dt, int rank,
                           const int64_t *dims, const void *data)
{
  int32_t v = fresh_value(u, id, suffix, dt, rank, dims);
  if (v < 0) return -1;
  int64_t bytes = qc_dtype_bytes(dt, qc_shape_elems(rank, dims));
  void *p = qc_arena_alloc(u->g->arena, bytes > 0 ? (size_t)bytes : 1);
  if (!p) {
    qc_node_err(u->e, node(u, id), QC_ERR_NOMEM, "out of memory");
    return -1;
  }
  if (bytes > 0) memcpy(p, data, (size_t)bytes);
  u->g->values[v].data = p;
  u->g->values[v].flags |= QC_VAL_CONST;
  return v;
}

static int32_t const_ints(upgrader *u, int32_t id, const char *suffix, int64_t n,
                          const int64_t *vals)
{
  return const_value(u, id, suffix, QC_DT_I64, 1, &n, vals);
}

/* Appends a node named "<base>/<suffix>" with one fresh output; returns the output's id. */
static int32_t add_node1(upgrader *u, int32_t base, qc_op op, const char *suffix, int n_in,
                         const int32_t *in, qc_dtype dt)
{
  int32_t out = fresh_value(u, base, suffix, dt, -1, NULL);
  if (out < 0) return -1;
  char name[256];
  snprintf(name, sizeof name, "%s/%s", node(u, base)->name, suffix);
  if (qc_graph_add_node(u->g, op, name, n_in, in, 1, &out, u->e) < 0) return -1;
  return out;
}

/* v converted to an integer type's range [lo, hi] (saturating; NaN -> 0): a C cast of an
   out-of-range double is undefined. */
static double clamp(double v, double lo, double hi)
{
  return v != v ? 0 : v < lo ? lo : v > hi ? hi : v;
}

/* A scalar constant of x's dtype holding v: typed when x's dtype is known and exactly
   representable by a plain conversion, else an f32 constant through CastLike(x). */
static int32_t scalar_like(upgrader *u, int32_t id, const char *suffix, double v, int32_t x)
{
  qc_dtype dt = dtype_of(u, x);
  union {
    float f;
    double d;
    int64_t i64;
    int32_t i32;
    int16_t i16;
    int8_t i8;
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
    uint8_t u8;
  } s;
  memset(&s, 0, sizeof s);
  switch (dt) {
  case QC_DT_F32: s.f = (float)v; break;
  case QC_DT_F64: s.d = v; break;
  case QC_DT_I64: s.i64 = (int64_t)clamp(v, -9223372036854775808.0, 9223372036854774784.0); break;
  case QC_DT_I32: s.i32 = (int32_t)clamp(v, INT32_MIN, INT32_MAX); break;
  case QC_DT_I16: s.i16 = (int16_t)clamp(v, INT16_MIN, INT16_MAX); break;
  case QC_DT_I8: s.i8 = (int8_t)clamp(v, INT8_MIN, INT8_MAX); break;
  case QC_DT_U64: s.u64 = (uint64_t)clamp(v, 0, 18446744073709549568.0); break;
  case QC_DT_U32: s.u32 = (uint32_t)clamp(v, 0, UINT32_MAX); break;
  case QC_DT_U16: s.u16 = (uint16_t)clamp(v, 0, UINT16_MAX); break;
  case QC_DT_U8: s.u8 = (uint8_t)clamp(v, 0, UINT8_MAX); break;
  case QC_DT_BOOL: s.u8 = v != 0; break;
  default: {
    float f = (float)v;
    int32_t c = const_value(u, id, suffix, QC_DT_F32, 0, NULL, &f);
    if (c < 0) return -1;
    int32_t in[2] = {c, x};
    char sfx[64];
    snprintf(sfx, sizeof sfx, "%s_cast", suffix);
    return add_node1(u, id, QC_OP_CastLike, sfx, 2, in, QC_DT_UNDEF);
  }
  }
  return const_value(u, id, suffix, dt, 0, NULL, &s);
}

/* Moves an INTS attribute to input position pos as a 1-D i64 constant; absent: no input
   (nor when empty and skip_empty, for Squeeze where no axes means all unit axes). */
static qc_status ints_to_input(upgrader *u, int32_t id, const char *name, int pos,
                               bool skip_empty)
{
  const int64_t *vals;
  int64_t n = qc_attr_ints(node(u, id), name, &vals);
  if (n < 0) {
    if (qc_node_attr(node(u, id), name))
      return qc_node_err(u->e, node(u, id), QC_ERR_INVALID, "attribute '%s' should be ints",
                         name);
    return QC_OK;
  }
  if (n == 0 && skip_empty) {
    drop_attr(u, id, name);
    return QC_OK;
  }
  int32_t c = const_ints(u, id, name, n, vals);
  if (c < 0) return u->e->code;
  drop_attr(u, id, name);
  return put_input(u, id, pos, c);
}

/* Is value v read by any node or a graph output? */
static bool used(const upgrader *u, int32_t v)
{
  if (v < 0) return false;
  if (u->g->values[v].flags & QC_VAL_OUTPUT) return true;
  for (int32_t i = 0; i < u->g->n_nodes; i++)
    for (int k = 0; k < u->g->nodes[i].n_in; k++)
      if (u->g->nodes[i].in[k] == v) return true;
  return false;
}

/* Drops outputs from index keep on; each must be unused. */
static qc_status trim_outputs(upgrader *u, int32_t id, int keep, const char *why)
{
  qc_node *n = node(u, id);
  for (int k = keep; k < n->n_out; k++)
    if (used(u, n->out[k]))
      return qc_node_err(u->e, n, QC_ERR_UNSUPPORTED, "output %d ('%s') %s", k,
                         u->g->values[n->out[k]].name, why);
  for (int k = keep; k < n->n_out; k++)
    if (n->out[k] >= 0) u->g->values[n->out[k]].producer = -1;
  if (n->n_out > keep) n->n_out = keep;
  while (n->n_out > 0 && n->out[n->n_out - 1] < 0) n->n_out--;
  return QC_OK;
}

/* ---- the rewrites -------------------------------------------------------------------------- */

/* Reshapes b so that it gains trailing 1-dims up to rank(a) with its own dims starting at
   axis `lead` of a: the legacy "broadcast B into A at axis" as numpy broadcasting. Returns
   the value to use in b's place. */
static int32_t align_at(upgrader *u, int32_t id, int32_t a, int32_t b, int64_t lead)
{
  int ra = rank_of(u, a), rb = rank_of(u, b);
  if (ra >= 0 && rb >= 0) {
    int64_t k = ra - lead - rb;
    if (lead < 0 || k < 0) {
      qc_node_err(u->e, node(u, id), QC_ERR_INVALID,
                  "legacy broadcast of a rank-%d operand at axis %lld into rank %d does not fit",
                  rb, (long long)lead, ra);
      return -1;
    }
    if (k == 0) return b;
    int64_t axes[QC_MAX_RANK];
    for (int64_t i = 0; i < k; i++) axes[i] = rb + i;
    int32_t c = const_ints(u, id, "axes", k, axes);
    if (c < 0) return -1;
    int32_t in[2] = {b, c};
    return add_node1(u, id, QC_OP_Unsqueeze, "unsqueeze", 2, in, dtype_of(u, b));
  }
  if (lead < 0) {
    qc_node_err(u->e, node(u, id), QC_ERR_UNSUPPORTED,
                "legacy broadcast with negative axis %lld and unknown ranks", (long long)lead);
    return -1;
  }
  /* Run-time shape: concat(shape(b), ones(rank(a) - lead - rank(b))). */
  int32_t sa = add_node1(u, id, QC_OP_Shape, "shape_a", 1, &a, QC_DT_I64);
  int32_t ra_v = sa < 0 ? -1 : add_node1(u, id, QC_OP_Shape, "rank_a", 1, &sa, QC_DT_I64);
  int32_t sb = ra_v < 0 ? -1 : add_node1(u, id, QC_OP_Shape, "shape_b", 1, &b, QC_DT_I64);
  int32_t rb_v = sb < 0 ? -1 : add_node1(u, id, QC_OP_Shape, "rank_b", 1, &sb, QC_DT_I64);
  if (rb_v < 0) return -1;
  int32_t lc = const_ints(u, id, "lead", 1, &lead);
  if (lc < 0) return -1;
  int32_t in[2] = {rb_v, lc};
  int32_t used_v = add_node1(u, id, QC_OP_Add, "used", 2, in, QC_DT_I64);
  if (used_v < 0) return -1;
  in[0] = ra_v, in[1] = used_v;
  int32_t cnt = add_node1(u, id, QC_OP_Sub, "n_ones", 2, in, QC_DT_I64);
  if (cnt < 0) return -1;
  int32_t ones = add_node1(u, id, QC_OP_ConstantOfShape, "ones", 1, &cnt, QC_DT_I64);
  if (ones < 0) return -1;
  qc_attr *val = qc_node_add_attr(u->g, u->g->n_nodes - 1, "value", QC_ATTR_TENSOR, u->e);
  if (!val) return -1;
  val->tensors = qc_arena_alloc(u->g->arena, sizeof(qc_tensor));
  int64_t *one = qc_arena_alloc(u->g->arena, sizeof(int64_t));
  if (!val->tensors || !one) {
    qc_node_err(u->e, node(u, id), QC_ERR_NOMEM, "out of memory");
    return -1;
  }
  *one = 1;
  val->tensors->dtype = QC_DT_I64;
  val->tensors->rank = 1;
  val->tensors->dims[0] = 1;
  val->tensors->data = one;
  in[0] = sb, in[1] = ones;
  int32_t shp = add_node1(u, id, QC_OP_Concat, "bshape", 2, in, QC_DT_I64);
  if (shp < 0) return -1;
  if (set_attr_i(u, u->g->n_nodes - 1, "axis", 0)) return -1;
  in[0] = b, in[1] = shp;
  return add_node1(u, id, QC_OP_Reshape, "reshape", 2, in, dtype_of(u, b));
}

/* opset < 7 Add/Sub/Mul/Div/Pow/compare/logic: `broadcast` + `axis`. */
static qc_status legacy_broadcast(upgrader *u, int32_t id)
{
  const qc_node *n = node(u, id);
  const qc_attr *ax = qc_node_attr(n, "axis");
  bool bc = qc_attr_i(n, "broadcast", 0) != 0;
  int64_t axis = ax && ax->kind == QC_ATTR_INT ? ax->i : 0;
  drop_attr(u, id, "broadcast");
  drop_attr(u, id, "axis");
  /* broadcast=0 needs equal shapes and no axis is a suffix match: numpy rules agree. */
  if (!bc || !ax || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) return QC_OK;
  int32_t b = align_at(u, id, n->in[0], n->in[1], axis);
  if (b < 0) return u->e->code;
  return put_input(u, id, 1, b);
}

/* opset < 7 PRelu: a 1-D slope of C values applies along axis 1 (channels). */
static qc_status legacy_prelu(upgrader *u, int32_t id)
{
  const qc_node *n = node(u, id);
  if (n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) return QC_OK;
  int32_t s = n->in[1];
  if (rank_of(u, s) != 1) return QC_OK;
  const qc_value *sv = &u->g->values[s];
  if (sv->rank == 1 && sv->dims[0] == 1) return QC_OK; /* one shared slope */
  int rx = rank_of(u, n->in[0]);
  if (rx >= 0 && rx <= 2) return QC_OK; /* [N, C]: channels are already last */
  int32_t b = align_at(u, id, n->in[0], s, 1);
  if (b < 0) return u->e->code;
  return put_input(u, id, 1, b);
}

/* opset < 13 Softmax/LogSoftmax/Hardmax: the input is coerced to 2-D at `axis` (default 1)
   and normalized over the flattened tail. */
static qc_status legacy_softmax(upgrader *u, int32_t id)
{
  qc_node *n = node(u, id);
  if (n->n_in != 1 || n->n_out != 1) return QC_OK; /* the arity check reports it */
  int64_t axis = qc_node_attr(n, "axis") ? qc_attr_i(n, "axis", 1) : 1;
  int32_t x = n->in[0], y = n->out[0];
  int r = rank_of(u, x);
  if (axis == -1 || (r >= 0 && axis == r - 1)) return set_attr_i(u, id, "axis", -1);
  int32_t f = add_node1(u, id, QC_OP_Flatten, "flatten", 1, &x, dtype_of(u, x));
  if (f < 0) return u->e->code;
  if (set_attr_i(u, u->g->n_nodes - 1, "axis", axis)) return u->e->code;
  int32_t shape = add_node1(u, id, QC_OP_Shape, "shape", 1, &x, QC_DT_I64);
  if (shape < 0) return u->e->code;
  int32_t s = fresh_value(u, id, "2d", dtype_of(u, x), -1, NULL);
  if (s < 0) return u->e->code;
  n = node(u, id);
  n->in[0] = f;
  n->out[0] = s;
  u->g->values[s].producer = id;
  if (set_attr_i(u, id, "axis", -1)) return u->e->code;
  int32_t in[2] = {s, shape};
  char name[256];
  snprintf(name, sizeof name, "%s/reshape", node(u, id)->name);
  if (qc_graph_add_node(u->g, QC_OP_Reshape, name, 2, in, 1, &y, u->e) < 0) return u->e->code;
  return QC_OK;
}

/* opset < 11 Clip: min/max attributes (absent: unbounded). */
static qc_status legacy_clip(upgrader *u, int32_t id)
{
  if (node(u, id)->n_in != 1) return QC_OK; /* the arity check reports it */
  const char *names[2] = {"min", "max"};
  for (int i = 0; i < 2; i++) {
    const qc_attr *a = qc_node_attr(node(u, id), names[i]);
    if (!a) continue;
    if (a->kind != QC_ATTR_FLOAT)
      return qc_node_err(u->e, node(u, id), QC_ERR_INVALID, "attribute '%s' should be float",
                         names[i]);
    int32_t c = scalar_like(u, id, names[i], a->f, node(u, id)->in[0]);
    if (c < 0) return u->e->code;
    drop_attr(u, id, names[i]);
    qc_status st = put_input(u, id, 1 + i, c);
    if (st) return st;
  }
  return QC_OK;
}

/* opset < 11 Pad: pads (opset 1: paddings) and value attributes. */
static qc_status legacy_pad(upgrader *u, int32_t id)
{
  if (node(u, id)->n_in != 1) return QC_OK; /* the arity check reports it */
  const char *pads = qc_node_attr(node(u, id), "paddings") ? "paddings" : "pads";
  if (!qc_node_attr(node(u, id), pads))
    return qc_node_err(u->e, node(u, id), QC_ERR_INVALID, "required attribute 'pads' is missing");
  qc_status st = ints_to_input(u, id, pads, 1, false);
  if (st) return st;
  const qc_attr *va = qc_node_attr(node(u, id), "value");
  if (!va) return QC_OK;
  float value = va->kind == QC_ATTR_FLOAT ? va->f : 0.0f;
  const char *mode = qc_attr_s(node(u, id), "mode", "constant");
  drop_attr(u, id, "value");
  if (strcmp(mode, "constant") != 0 || value == 0.0f) return QC_OK; /* the default */
  int32_t c = scalar_like(u, id, "value", value, node(u, id)->in[0]);
  if (c < 0) return u->e->code;
  return put_input(u, id, 2, c);
}

/* opset < 14 BatchNormalization: is_test, spatial, consumed_inputs, and training signalled
   by extra outputs (saved mean/var are gone from opset 14). */
static qc_status legacy_batchnorm(upgrader *u, int32_t id)
{
  const qc_node *n = node(u, id);
  const qc_attr *sp = qc_node_attr(n, "spatial");
  if (sp && !(sp->kind == QC_ATTR_INT && sp->i == 1))
    return qc_node_err(u->e, n, QC_ERR_UNSUPPORTED,
                       "BatchNormalization with spatial=0 (per-element statistics) is not "
                       "supported");
  bool training = n->n_out > 1;
  if (u->opset < 7) training = qc_attr_i(n, "is_test", 0) == 0;
  drop_attr(u, id, "spatial");
  drop_attr(u, id, "is_test");
  drop_attr(u, id, "consumed_inputs");
  if (!training) return trim_outputs(u, id, 1, "exists only in training mode");
  qc_status st = trim_outputs(u, id, 3, "(saved mean/variance) is not supported");
  if (st) return st;
  return set_attr_i(u, id, "training_mode", 1);
}

/* opset < 12 Dropout: ratio attribute; opset < 7: is_test (0 means training). */
static qc_status legacy_dropout(upgrader *u, int32_t id)
{
  const qc_node *n = node(u, id);
  bool training = u->opset < 7 && qc_attr_i(n, "is_test", 0) == 0;
  const qc_attr *ra = qc_node_attr(n, "ratio");
  float ratio = ra && ra->kind == QC_ATTR_FLOAT ? ra->f : 0.5f;
  drop_attr(u, id, "is_test");
  drop_attr(u, id, "ratio");
  if (ra || training) {
    int32_t c = const_value(u, id, "ratio", QC_DT_F32, 0, NULL, &ratio);
    if (c < 0) return u->e->code;
    qc_status st = put_input(u, id, 1, c);
    if (st) return st;
  }
  if (training) {
    uint8_t on = 1;
    int32_t c = const_value(u, id, "training_mode", QC_DT_BOOL, 0, NULL, &on);
    if (c < 0) return u->e->code;
    return put_input(u, id, 2, c);
  }
  return QC_OK;
}

/* opset < 6 Cast: `to` named as a string. */
static qc_status legacy_cast(upgrader *u, int32_t id)
{
  const qc_attr *a = qc_node_attr(node(u, id), "to");
  if (!a || a->kind != QC_ATTR_STRING) return QC_OK;
  static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
                                "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
                                "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  for (int t = 1; t < (int)(sizeof names / sizeof names[0]); t++)
    if (strcmp(a->s, names[t]) == 0) return set_attr_i(u, id, "to", t);
  return qc_node_err(u->e, node(u, id), QC_ERR_INVALID, "unknown type '%s' in attribute 'to'",
                     a->s);
}

/* opset < 2 LpPool/GlobalLpPool: p was a float. */
static qc_status legacy_lp(upgrader *u, int32_t id)
{
  const qc_attr *a = qc_node_attr(node(u, id), "p");
  if (!a || a->kind != QC_ATTR_FLOAT) return QC_OK;
  float p = a->f;
  if (!(p >= 1 && p <= 1024) || p != (float)(int)p)
    return qc_node_err(u->e, node(u, id), QC_ERR_UNSUPPORTED, "p = %g is not a positive integer",
                       p);
  return set_attr_i(u, id, "p", (int)p);
}

static qc_status upgrade_node(upgrader *u, int32_t id)
{
  int64_t v = u->opset;
  qc_op op = node(u, id)->op;
  if (v < 6) drop_attr(u, id, "consumed_inputs");
  switch (op) {
  case QC_OP_Add: case QC_OP_Sub: case QC_OP_Mul: case QC_OP_Div: case QC_OP_Pow:
  case QC_OP_Equal: case QC_OP_Less: case QC_OP_Greater: case QC_OP_And: case QC_OP_Or:
  case QC_OP_Xor:
    return v < 7 ? legacy_broadcast(u, id) : QC_OK;
  case QC_OP_Gemm:
    if (v < 7) drop_attr(u, id, "broadcast"); /* C broadcasts to (M, N) either way */
    return QC_OK;
  case QC_OP_PRelu: return v < 7 ? legacy_prelu(u, id) : QC_OK;
  case QC_OP_Softmax: case QC_OP_LogSoftmax: case QC_OP_Hardmax:
    return v < 13 ? legacy_softmax(u, id) : QC_OK;
  case QC_OP_Clip: return v < 11 ? legacy_clip(u, id) : QC_OK;
  case QC_OP_Pad: return v < 11 ? legacy_pad(u, id) : QC_OK;
  case QC_OP_Slice: {
    if (v >= 10) return QC_OK;
    const char *req[2] = {"starts", "ends"};
    for (int i = 0; i < 2; i++)
      if (!qc_node_attr(node(u, id), req[i]))
        return qc_node_err(u->e, node(u, id), QC_ERR_INVALID,
                           "required attribute '%s' is missing", req[i]);
    qc_status st = ints_to_input(u, id, "starts", 1, false);
    if (!st) st = ints_to_input(u, id, "ends", 2, false);
    if (!st) st = ints_to_input(u, id, "axes", 3, false);
    return st;
  }
  case QC_OP_Squeeze: return v < 13 ? ints_to_input(u, id, "axes", 1, true) : QC_OK;
  case QC_OP_Unsqueeze:
    if (v >= 13) return QC_OK;
    if (!qc_node_attr(node(u, id), "axes"))
      return qc_node_err(u->e, node(u, id), QC_ERR_INVALID,
                         "required attribute 'axes' is missing");
    return ints_to_input(u, id, "axes", 1, false);
  case QC_OP_Split:
    /* Opset 1 could already give split as a second input. */
    return v < 13 && node(u, id)->n_in < 2 ? ints_to_input(u, id, "split", 1, false) : QC_OK;
  case QC_OP_ReduceSum: return v < 13 ? ints_to_input(u, id, "axes", 1, false) : QC_OK;
  case QC_OP_Reshape: return v < 5 ? ints_to_input(u, id, "shape", 1, false) : QC_OK;
  case QC_OP_BatchNormalization: return v < 14 ? legacy_batchnorm(u, id) : QC_OK;
  case QC_OP_Dropout: return v < 12 ? legacy_dropout(u, id) : QC_OK;
  case QC_OP_Cast: return v < 6 ? legacy_cast(u, id) : QC_OK;
  case QC_OP_Concat:
    return v < 4 && !qc_node_attr(node(u, id), "axis") ? set_attr_i(u, id, "axis", 1) : QC_OK;
  case QC_OP_LpPool: case QC_OP_GlobalLpPool: return v < 2 ? legacy_lp(u, id) : QC_OK;
  case QC_OP_Tile:
    if (v < 6)
      return qc_node_err(u->e, node(u, id), QC_ERR_UNSUPPORTED,
                         "the opset-%lld form of Tile (tiles and axis inputs) is not supported",
                         (long long)v);
    return QC_OK;
  default: return QC_OK;
  }
}

qc_status qc_onnx_upgrade(qc_graph *g, int64_t opset, qc_err *e)
{
  if (opset >= 17) return QC_OK;
  upgrader u = {g, opset, e, g->n_values, NULL, NULL};
  u.rank = malloc(sizeof(int) * ((size_t)g->n_values + 1));
  u.dtype = malloc(sizeof(qc_dtype) * ((size_t)g->n_values + 1));
  qc_status st = QC_OK;
  if (!u.rank || !u.dtype) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory upgrading the model");
  for (int32_t v = 0; v < g->n_values && !st; v++) {
    u.rank[v] = g->values[v].rank;
    u.dtype[v] = g->values[v].dtype;
  }
  /* Nodes are sorted, so each sees its inputs' ranks; the nodes added go after n. */
  int32_t n = g->n_nodes;
  for (int32_t i = 0; i < n && !st; i++) {
    propagate(&u, i);
    st = upgrade_node(&u, i);
  }
  free(u.rank);
  free(u.dtype);
  return st;
}
