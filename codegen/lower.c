/* Lowering: walks the graph's nodes in order and forms kernel groups. A conv or gemm absorbs
 * the residual Add / QcAdd and the activation that are its result's only consumers; shape-only
 * ops become aliases; everything else is one node per kernel (emit_simple.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_pipeline.h"
#include "infer_nn.h"

typedef struct {
  const qc_graph *g;
  cg_program *p;
  int32_t *n_uses;   /* per value: node inputs + graph outputs */
  int32_t *use_node; /* per value: the last consuming node */
  int32_t *use_slot; /* its input index there */
  bool *taken;       /* node already in a group */
  qc_err *e;
} lower_ctx;

int64_t cg_value_bytes(const qc_value *v)
{
  if (v->dtype == QC_DT_UNDEF || v->rank < 0) return -1;
  int64_t n = qc_shape_elems(v->rank, v->dims);
  return n < 0 ? -1 : qc_dtype_bytes(v->dtype, n);
}

static bool is_const(const qc_graph *g, int32_t v)
{
  return v >= 0 && (g->values[v].flags & QC_VAL_CONST) && g->values[v].data;
}

static bool same_shape(const qc_value *a, const qc_value *b)
{
  if (a->rank != b->rank) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] != b->dims[d]) return false;
  return true;
}

/* The single consumer node of v (and the input slot), or -1: v must have exactly one use and
   not be a graph output. */
static int32_t sole_consumer(const lower_ctx *c, int32_t v, int *slot)
{
  if (v < 0 || c->n_uses[v] != 1 || (c->g->values[v].flags & QC_VAL_OUTPUT)) return -1;
  if (c->taken[c->use_node[v]]) return -1;
  *slot = c->use_slot[v];
  return c->use_node[v];
}

/* Whether value r is available before node `at` runs (a graph input or produced earlier). */
static bool computed_before(const qc_graph *g, int32_t r, int32_t at)
{
  const qc_value *v = &g->values[r];
  if (v->flags & QC_VAL_CONST) return false;
  if (v->producer < 0) return (v->flags & QC_VAL_INPUT) != 0;
  return v->producer < at;
}

static void add_name(char *op, size_t n, const char *s)
{
  size_t l = strlen(op);
  snprintf(op + l, n - l, "%s%s", l ? "+" : "", s);
}

static cg_group *new_group(lower_ctx *c, cg_group_kind kind, int32_t node)
{
  cg_group *gr = &c->p->groups[c->p->n_groups++];
  memset(gr, 0, sizeof *gr);
  gr->kind = kind;
  gr->nodes[0] = node;
  gr->n_nodes = 1;
  gr->x = gr->res = -1;
  gr->kernel = -1;
  c->taken[node] = true;
  add_name(gr->op, sizeof gr->op, qc_op_name(c->g->nodes[node].op));
  return gr;
}

static void absorb(lower_ctx *c, cg_group *gr, int32_t node)
{
  gr->nodes[gr->n_nodes++] = node;
  c->taken[node] = true;
  add_name(gr->op, sizeof gr->op, qc_op_name(c->g->nodes[node].op));
}

static void *arena_copy(lower_ctx *c, const void *src, size_t bytes)
{
  void *d = qc_arena_alloc(c->p->arena, bytes ? bytes : 1);
  if (!d) {
    qc_err_set(c->e, QC_ERR_NOMEM, "out of memory while lowering");
    return NULL;
  }
  if (src && bytes) memcpy(d, src, bytes);
  return d;
}

/* A const scalar f32 value (Clip's min/max), or dflt when the input is omitted. False when the
   input exists but is not a constant scalar. */
static bool const_scalar(const qc_graph *g, const qc_node *n, int i, float dflt, float *out)
{
  if (i >= n->n_in || n->in[i] < 0) {
    *out = dflt;
    return true;
  }
  const qc_value *v = &g->values[n->in[i]];
  if (!is_const(g, n->in[i]) || v->dtype != QC_DT_F32 || qc_shape_elems(v->rank, v->dims) != 1)
    return false;
  *out = *(const float *)v->data;
  return true;
}

/* Float epilogue: Relu or Clip(const, const) as the single consumer of *out. */
static void fuse_activation(lower_ctx *c, cg_group *gr)
{
  int slot;
  int32_t nx = sole_consumer(c, gr->out, &slot);
  if (nx < 0) return;
  const qc_node *n = &c->g->nodes[nx];
  if (slot != 0 || n->n_out < 1 || n->out[0] < 0) return;
  float lo = -INFINITY, hi = INFINITY;
  if (n->op == QC_OP_Relu) {
    lo = 0.0f;
  } else if (n->op == QC_OP_Clip) {
    if (!const_scalar(c->g, n, 1, -INFINITY, &lo) || !const_scalar(c->g, n, 2, INFINITY, &hi))
      return;
    /* numpy.clip order: max then min; lo > hi gives hi, which the epilogue's order also gives. */
    if (lo != lo || hi != hi) return;
  } else {
    return;
  }
  gr->spec.lo = lo > gr->spec.lo ? lo : gr->spec.lo;
  gr->spec.hi = hi < gr->spec.hi ? hi : gr->spec.hi;
  gr->out = n->out[0];
  absorb(c, gr, nx);
}

/* Residual add: the single consumer of the conv result, with the other operand already computed
   and of the same shape. Returns the Add node's slot of the conv result, or -1. */
static int fuse_residual(lower_ctx *c, cg_group *gr, qc_op add_op, int32_t at)
{
  int slot;
  int32_t nx = sole_consumer(c, gr->out, &slot);
  if (nx < 0) return -1;
  const qc_node *n = &c->g->nodes[nx];
  if (n->op != add_op || n->n_in != 2 || n->out[0] < 0) return -1;
  int32_t r = n->in[1 - slot];
  if (r < 0 || r == gr->out || !computed_before(c->g, r, at)) return -1;
  const qc_value *rv = &c->g->values[r], *ov = &c->g->values[n->out[0]];
  if (!same_shape(rv, &c->g->values[gr->out]) || !same_shape(ov, rv)) return -1;
  if (add_op == QC_OP_Add && rv->dtype != QC_DT_F32) return -1;
  if (add_op == QC_OP_QcAdd && rv->dtype != QC_DT_U8 && rv->dtype != QC_DT_I8 &&
      rv->dtype != QC_DT_I16 && rv->dtype != QC_DT_I32)
    return -1;
  gr->res = r;
  gr->out = n->out[0];
  absorb(c, gr, nx);
  return slot;
}

static int32_t *ints32(lower_ctx *c, const qc_node *n, const char *name, int64_t want)
{
  const int64_t *v;
  int64_t k = qc_attr_ints(n, name, &v);
  if (k != want) {
    qc_node_err(c->e, n, QC_ERR_INVALID, "attribute '%s' has %lld entries, expected %lld", name,
                (long long)k, (long long)want);
    return NULL;
  }
  int32_t *o = arena_copy(c, NULL, (size_t)(want ? want : 1) * sizeof(int32_t));
  if (!o) return NULL;
  for (int64_t i = 0; i < want; i++) o[i] = (int32_t)v[i];
  return o;
}

static void set_tinfo(const qc_value *v, qc_tinfo *t)
{
  memset(t, 0, sizeof *t);
  t->dtype = v->dtype;
  t->rank = v->rank;
  for (int d = 0; d < v->rank; d++) t->dims[d] = v->dims[d];
  t->data = v->data;
}

/* Conv / QcConv with a constant weight on a 4-D input. Returns 1 when lowered, 0 when the node
   falls through to the generic path, -1 on error. */
static int lower_conv(lower_ctx *c, int32_t id)
{
  const qc_graph *g = c->g;
  const qc_node *n = &g->nodes[id];
  bool integer = n->op == QC_OP_QcConv;
  if (n->n_in < 2 || n->in[0] < 0 || !is_const(g, n->in[1])) return 0;
  if (n->n_in > 2 && n->in[2] >= 0 && !is_const(g, n->in[2])) return 0;
  const qc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]],
                 *y = &g->values[n->out[0]];
  if (x->rank != 4 || w->rank != 4 || is_const(g, n->in[0])) return 0;
  if (!integer && (x->dtype != QC_DT_F32 || w->dtype != QC_DT_F32)) return 0;
  if (integer && ((x->dtype != QC_DT_U8 && x->dtype != QC_DT_I8) ||
                  (w->dtype != QC_DT_I8 && w->dtype != QC_DT_I4)))
    return 0;
  qc_tinfo xi, wi;
  set_tinfo(x, &xi);
  set_tinfo(w, &wi);
  qc_window win;
  if (qc_conv_window(n, &xi, &wi, &win, c->e)) return -1;
  cg_group *gr = new_group(c, CG_GROUP_CONV, id);
  cg_conv_spec *s = &gr->spec;
  s->name = n->name;
  s->n = x->dims[0], s->c_in = x->dims[1], s->h = x->dims[2], s->w = x->dims[3];
  s->c_out = y->dims[1], s->oh = y->dims[2], s->ow = y->dims[3];
  s->kh = win.kernel[0], s->kw = win.kernel[1];
  s->stride_h = win.stride[0], s->stride_w = win.stride[1];
  s->dil_h = win.dilation[0], s->dil_w = win.dilation[1];
  s->pad_t = win.pad_begin[0], s->pad_l = win.pad_begin[1];
  s->group = win.group;
  s->x_dt = x->dtype, s->w_dt = w->dtype, s->y_dt = y->dtype, s->out_dt = y->dtype;
  s->wt = w->data;
  s->bias = n->n_in > 2 && n->in[2] >= 0 ? g->values[n->in[2]].data : NULL;
  s->lo = -INFINITY, s->hi = INFINITY;
  gr->x = n->in[0];
  gr->out = n->out[0];
  gr->weight_bits = qc_dtypes[w->dtype].bits;
  gr->act_bits = qc_dtypes[x->dtype].bits;
  gr->weight_bytes = cg_value_bytes(w);
  if (integer) {
    if (!(s->mult = ints32(c, n, "mult", s->c_out)) || !(s->shift = ints32(c, n, "shift", s->c_out)))
      return -1;
    s->qmin = (int32_t)qc_attr_i(n, "qmin", 0), s->qmax = (int32_t)qc_attr_i(n, "qmax", 0);
    int slot = fuse_residual(c, gr, QC_OP_QcAdd, id);
    if (slot >= 0) {
      const qc_node *a = &g->nodes[gr->nodes[1]];
      const int64_t *am, *as;
      if (qc_attr_ints(a, "mult", &am) != 2 || qc_attr_ints(a, "shift", &as) != 2) {
        qc_node_err(c->e, a, QC_ERR_INVALID, "needs exactly two mult and shift entries");
        return -1;
      }
      /* rmult[0]/rshift[0] belong to the conv branch, whichever input of QcAdd it is. */
      s->rmult[0] = (int32_t)am[slot], s->rshift[0] = (int32_t)as[slot];
      s->rmult[1] = (int32_t)am[1 - slot], s->rshift[1] = (int32_t)as[1 - slot];
      s->rqmin = (int32_t)qc_attr_i(a, "qmin", 0), s->rqmax = (int32_t)qc_attr_i(a, "qmax", 0);
      s->has_res = true;
      s->res_dt = g->values[gr->res].dtype;
      s->out_dt = g->values[gr->out].dtype;
    }
  } else {
    if (fuse_residual(c, gr, QC_OP_Add, id) >= 0) {
      s->has_res = true;
      s->res_dt = QC_DT_F32;
    }
    fuse_activation(c, gr);
  }
  return 1;
}

/* Gemm / MatMul / QcGemm with a constant weight: a 1x1 conv over rows. */
static int lower_gemm(lower_ctx *c, int32_t id)
{
  const qc_graph *g = c->g;
  const qc_node *n = &g->nodes[id];
  if (n->n_in < 2 || n->in[0] < 0 || is_const(g, n->in[0]) || !is_const(g, n->in[1])) return 0;
  const qc_value *x = &g->values[n->in[0]], *w = &g->values[n->in[1]],
                 *y = &g->values[n->out[0]];
  bool integer = n->op == QC_OP_QcGemm;
  int32_t bias_id = n->n_in > 2 ? n->in[2] : -1;
  if (bias_id >= 0 && !is_const(g, bias_id)) return 0;
  if (w->rank != 2 || x->rank < 2) return 0;
  if (integer) {
    if ((x->dtype != QC_DT_U8 && x->dtype != QC_DT_I8) ||
        (w->dtype != QC_DT_I8 && w->dtype != QC_DT_I4) || x->rank != 2)
      return 0;
  } else if (x->dtype != QC_DT_F32 || w->dtype != QC_DT_F32) {
    return 0;
  }
  if (n->op == QC_OP_Gemm && (qc_attr_i(n, "transA", 0) != 0 || x->rank != 2)) return 0;
  bool tb = n->op == QC_OP_Gemm ? qc_attr_i(n, "transB", 0) != 0 : integer;
  int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
  int64_t rows = qc_shape_elems(x->rank - 1, x->dims);
  if (x->dims[x->rank - 1] != K || rows < 0) return 0;
  float alpha = n->op == QC_OP_Gemm ? qc_attr_f(n, "alpha", 1.0f) : 1.0f;
  float beta = n->op == QC_OP_Gemm ? qc_attr_f(n, "beta", 1.0f) : 1.0f;
  const float *cbias = NULL;
  if (!integer && bias_id >= 0) {
    const qc_value *b = &g->values[bias_id];
    int64_t be = qc_shape_elems(b->rank, b->dims);
    /* C broadcasts along rows only when it is [N] / [1, N]; a scalar is expanded. */
    if (b->dtype != QC_DT_F32 || (be != N && be != 1) || (b->rank == 2 && b->dims[0] != 1))
      return 0;
    cbias = b->data;
    if (be == 1 && N != 1) {
      float *e = arena_copy(c, NULL, (size_t)N * sizeof(float));
      if (!e) return -1;
      for (int64_t i = 0; i < N; i++) e[i] = cbias[0];
      cbias = e;
    }
  }
  cg_group *gr = new_group(c, CG_GROUP_CONV, id);
  cg_conv_spec *s = &gr->spec;
  s->name = n->name;
  s->n = rows, s->c_in = K, s->h = s->w = 1, s->c_out = N, s->oh = s->ow = 1;
  s->kh = s->kw = s->stride_h = s->stride_w = s->dil_h = s->dil_w = s->group = 1;
  s->x_dt = x->dtype, s->w_dt = w->dtype, s->y_dt = y->dtype, s->out_dt = y->dtype;
  s->lo = -INFINITY, s->hi = INFINITY;
  gr->x = n->in[0];
  gr->out = n->out[0];
  gr->weight_bits = qc_dtypes[w->dtype].bits;
  gr->act_bits = qc_dtypes[x->dtype].bits;
  gr->weight_bytes = cg_value_bytes(w);
  if (integer) {
    s->wt = w->data; /* already [M, K] */
    s->bias = bias_id >= 0 ? g->values[bias_id].data : NULL;
    if (!(s->mult = ints32(c, n, "mult", N)) || !(s->shift = ints32(c, n, "shift", N))) return -1;
    s->qmin = (int32_t)qc_attr_i(n, "qmin", 0), s->qmax = (int32_t)qc_attr_i(n, "qmax", 0);
    return 1;
  }
  /* Weight to [N, K] scaled by alpha; bias scaled by beta (folded at compile time). */
  float *wt = arena_copy(c, NULL, (size_t)(N * K) * sizeof(float));
  if (!wt) return -1;
  const float *wsrc = w->data;
  for (int64_t o = 0; o < N; o++)
    for (int64_t k = 0; k < K; k++)
      wt[o * K + k] = alpha * (tb ? wsrc[o * K + k] : wsrc[k * N + o]);
  s->wt = wt;
  if (cbias) {
    float *b = arena_copy(c, NULL, (size_t)N * sizeof(float));
    if (!b) return -1;
    for (int64_t i = 0; i < N; i++) b[i] = beta * cbias[i];
    s->bias = b;
  }
  /* MatMul + Add(const [N]) is the usual exported Linear: take the Add as the bias. */
  int slot;
  int32_t nx = n->op == QC_OP_MatMul ? sole_consumer(c, gr->out, &slot) : -1;
  if (nx >= 0 && g->nodes[nx].op == QC_OP_Add && g->nodes[nx].n_in == 2) {
    const qc_node *a = &g->nodes[nx];
    int32_t bid = a->in[1 - slot];
    const qc_value *b = bid >= 0 ? &g->values[bid] : NULL;
    if (b && is_const(g, bid) && b->dtype == QC_DT_F32 && qc_shape_elems(b->rank, b->dims) == N &&
        b->rank >= 1 && b->dims[b->rank - 1] == N && same_shape(&g->values[a->out[0]], y)) {
      s->bias = b->data;
      gr->out = a->out[0];
      absorb(c, gr, nx);
    }
  }
  fuse_activation(c, gr);
  return 1;
}

static bool is_alias_op(qc_op op)
{
  return op == QC_OP_Flatten || op == QC_OP_Reshape || op == QC_OP_Squeeze ||
         op == QC_OP_Unsqueeze || op == QC_OP_Identity || op == QC_OP_Dropout;
}

static qc_status add_inputs(lower_ctx *c, cg_group *gr, const qc_node *n)
{
  gr->in = qc_arena_alloc(c->p->arena, (size_t)(n->n_in + 1) * sizeof(int32_t));
  if (!gr->in) return qc_err_set(c->e, QC_ERR_NOMEM, "out of memory while lowering");
  for (int i = 0; i < n->n_in; i++)
    if (n->in[i] >= 0 && !is_const(c->g, n->in[i])) gr->in[gr->n_in++] = n->in[i];
  return QC_OK;
}

qc_status cg_lower(const qc_graph *g, cg_program *p, qc_err *e)
{
  lower_ctx c = {g, p, NULL, NULL, NULL, NULL, e};
  size_t nv = (size_t)g->n_values + 1, nn = (size_t)g->n_nodes + 1;
  c.n_uses = qc_arena_alloc(p->arena, nv * sizeof(int32_t));
  c.use_node = qc_arena_alloc(p->arena, nv * sizeof(int32_t));
  c.use_slot = qc_arena_alloc(p->arena, nv * sizeof(int32_t));
  c.taken = qc_arena_alloc(p->arena, nn * sizeof(bool));
  p->groups = qc_arena_alloc(p->arena, nn * sizeof(cg_group));
  if (!c.n_uses || !c.use_node || !c.use_slot || !c.taken || !p->groups)
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory while lowering");
  for (int32_t i = 0; i < g->n_nodes; i++) {
    const qc_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] >= 0) {
        c.n_uses[n->in[k]]++;
        c.use_node[n->in[k]] = i;
        c.use_slot[n->in[k]] = k;
      }
  }
  for (int32_t i = 0; i < g->n_outputs; i++) c.n_uses[g->outputs[i]]++;
  p->n_groups = 0;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    if (c.taken[i]) continue;
    const qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE) continue;
    int r = 0;
    if (n->op == QC_OP_Conv || n->op == QC_OP_QcConv) r = lower_conv(&c, i);
    else if (n->op == QC_OP_Gemm || n->op == QC_OP_MatMul || n->op == QC_OP_QcGemm) r = lower_gemm(&c, i);
    if (r < 0) return e->code ? e->code : QC_ERR_INTERNAL;
    if (r > 0) {
      cg_group *gr = &p->groups[p->n_groups - 1];
      gr->in = qc_arena_alloc(p->arena, 2 * sizeof(int32_t));
      if (!gr->in) return qc_err_set(e, QC_ERR_NOMEM, "out of memory while lowering");
      gr->in[gr->n_in++] = gr->x;
      if (gr->res >= 0) gr->in[gr->n_in++] = gr->res;
      continue;
    }
    if (n->n_out < 1 || n->out[0] < 0)
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "not supported by compile (no output)");
    bool alias = is_alias_op(n->op) && n->n_in >= 1 && n->in[0] >= 0 && !is_const(g, n->in[0]) &&
                 g->values[n->in[0]].dtype == g->values[n->out[0]].dtype &&
                 cg_value_bytes(&g->values[n->in[0]]) == cg_value_bytes(&g->values[n->out[0]]);
    /* Dropout's mask output would need a kernel. */
    if (alias && n->op == QC_OP_Dropout && n->n_out > 1 && n->out[1] >= 0) alias = false;
    cg_group *gr = new_group(&c, alias ? CG_GROUP_ALIAS : CG_GROUP_NODE, i);
    gr->out = n->out[0];
    if (alias) {
      gr->in = qc_arena_alloc(p->arena, sizeof(int32_t));
      if (!gr->in) return qc_err_set(e, QC_ERR_NOMEM, "out of memory while lowering");
      gr->in[gr->n_in++] = n->in[0];
      continue;
    }
    qc_status s = add_inputs(&c, gr, n);
    if (s) return s;
    if (n->n_out > 1)
      for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0 && c.n_uses[n->out[k]] > 0)
          return qc_node_err(e, n, QC_ERR_UNSUPPORTED,
                             "not supported by compile (output %d is used)", k);
  }
  return QC_OK;
}
