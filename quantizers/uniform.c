/* Uniform integer-only quantization (HAWQ-V3), docs/quantize.md.
 *
 * fp32 graph -> (fold BN, infer shapes, fold constants, DCE) -> plan: which nodes become integer
 * ops, which values are quantization points and at how many bits -> calibration of the points
 * -> a new graph built op by op: QcQuantize at the input, QcConv/QcGemm with per-channel
 * symmetric weights and int32 bias, QcAdd, QcGlobalAveragePool, integer MaxPool/Flatten/Reshape/
 * Relu, fp32 islands (QcDequantize before, QcQuantize after) for everything else, QcDequantize at
 * the outputs. Works on a clone; the caller's graph is replaced only on success. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "passes.h"
#include "q_internal.h"
#include "qmath.h"

void qc_uniform_opts_default(qc_uniform_opts *o)
{
  memset(o, 0, sizeof *o);
  o->w_bits = 8;
  o->a_bits = 8;
  o->first_last_8bit = true;
  o->unsigned_after_relu = true;
  o->calib.method = QC_CALIB_PERCENTILE;
  o->calib.percentile = 99.99;
  o->calib.ema_momentum = 0.0;
}

void qc_quant_report_free(qc_quant_report *rep)
{
  if (!rep) return;
  for (int32_t i = 0; i < rep->n_layers; i++) free((char *)rep->layers[i].name);
  free(rep->layers);
  memset(rep, 0, sizeof *rep);
}

/* ---- planning ----------------------------------------------------------------------------- */

typedef enum { R_FLOAT, R_FUSED, R_CONV, R_GEMM, R_MATMUL, R_ADD, R_PASS, R_GAP } role_t;

typedef struct {
  role_t r;
  int32_t relu;  /* fused Relu node, -1 */
  int32_t add;   /* MatMul's bias Add node, -1 */
  int32_t out;   /* the value the group produces */
  int layer;     /* index into the layer table, -1 */
} group_t;

typedef struct {
  int32_t node;
  int w_bits, a_bits;
  int a_bits_in;     /* bits of its actual input (report) */
} layer_t;

typedef struct {
  const qc_uniform_opts *o;
  qc_graph *f;       /* folded fp32 graph */
  qc_graph *ng;      /* integer graph under construction */
  group_t *grp;      /* per node of f */
  int32_t *uses;     /* per value of f: node-input uses */
  bool *is_int;      /* per value of f: integer in the new graph */
  int32_t *src;      /* per value: value whose scale it shares (pass-through), else itself */
  int32_t *point;    /* per value: calibration point index, -1 */
  int *req;          /* per value: bits its consumers need (0: none) */
  qc_calib_point *pts;
  int n_pts;
  layer_t *layers;
  int n_layers;
  /* per value of f, in ng: */
  int32_t *ival, *fval;
  float *scale;      /* activation scale of integer values */
  int32_t *qmin, *qmax;
  int *bits;
} ctx_t;

static bool is_const(const qc_graph *g, int32_t v)
{
  return v >= 0 && (g->values[v].flags & QC_VAL_CONST) && g->values[v].data;
}

static bool const_f32(const qc_graph *g, int32_t v)
{
  return is_const(g, v) && g->values[v].dtype == QC_DT_F32 &&
         qc_shape_elems(g->values[v].rank, g->values[v].dims) >= 0;
}

static int64_t elems(const qc_graph *g, int32_t v)
{
  return qc_shape_elems(g->values[v].rank, g->values[v].dims);
}

/* A scalar f32 constant's value into *x. */
static bool const_scalar(const qc_graph *g, int32_t v, float *x)
{
  if (!const_f32(g, v) || elems(g, v) != 1) return false;
  *x = *(const float *)g->values[v].data;
  return true;
}

/* Relu, or Clip(x, 0, max > 0) such as ReLU6: as a fused activation both are a clamp at 0 on
   top; Clip's upper bound needs no clamp of its own since calibration never sees a value above
   it, so T <= max and qmax * S = T. */
static bool relu_like(const qc_graph *g, const qc_node *n)
{
  if (n->op == QC_OP_Relu) return true;
  if (n->op != QC_OP_Clip || n->n_in < 2 || n->in[1] < 0) return false;
  float lo, hi;
  if (!const_scalar(g, n->in[1], &lo) || lo != 0) return false;
  return n->n_in < 3 || n->in[2] < 0 || (const_scalar(g, n->in[2], &hi) && hi > 0);
}

/* The single consumer of v (v used once, not an output) when it is op (Relu: relu_like),
   else -1. */
static int32_t sole_consumer(const ctx_t *c, int32_t v, qc_op op)
{
  if (c->uses[v] != 1 || (c->f->values[v].flags & QC_VAL_OUTPUT)) return -1;
  for (int32_t i = 0; i < c->f->n_nodes; i++) {
    const qc_node *n = &c->f->nodes[i];
    for (int32_t k = 0; k < n->n_in; k++)
      if (n->in[k] == v) {
        bool ok = op == QC_OP_Relu ? relu_like(c->f, n) && n->in[0] == v : n->op == op;
        return ok && c->grp[i].r != R_FUSED ? i : -1;
      }
  }
  return -1;
}

static void fuse_relu(ctx_t *c, int32_t i, int32_t v)
{
  int32_t r = sole_consumer(c, v, QC_OP_Relu);
  c->grp[i].out = v;
  if (r >= 0) {
    c->grp[i].relu = r;
    c->grp[r].r = R_FUSED;
    c->grp[i].out = c->f->nodes[r].out[0];
  }
}

static bool only_first_output(const qc_graph *g, const qc_node *n, const int32_t *uses)
{
  for (int32_t k = 1; k < n->n_out; k++)
    if (n->out[k] >= 0 && (uses[n->out[k]] || (g->values[n->out[k]].flags & QC_VAL_OUTPUT)))
      return false;
  return true;
}

/* Assigns roles to the nodes of f in order. */
static void assign_roles(ctx_t *c)
{
  qc_graph *f = c->f;
  for (int32_t i = 0; i < f->n_nodes; i++) c->grp[i] = (group_t){R_FLOAT, -1, -1, -1, -1};
  for (int32_t i = 0; i < f->n_nodes; i++) {
    const qc_node *n = &f->nodes[i];
    group_t *gr = &c->grp[i];
    if (gr->r == R_FUSED || n->n_out < 1) continue;
    int32_t y = n->out[0];
    switch (n->op) {
    case QC_OP_Conv: {
      const qc_value *w = const_f32(f, n->in[1]) ? &f->values[n->in[1]] : NULL;
      if (!w || w->rank < 3 || is_const(f, n->in[0]) || n->n_out != 1) break;
      if (n->n_in >= 3 && n->in[2] >= 0 &&
          !(const_f32(f, n->in[2]) && elems(f, n->in[2]) == w->dims[0]))
        break;
      gr->r = R_CONV;
      fuse_relu(c, i, y);
      break;
    }
    case QC_OP_Gemm: {
      const qc_value *w = const_f32(f, n->in[1]) ? &f->values[n->in[1]] : NULL;
      const qc_value *x = &f->values[n->in[0]];
      if (!w || w->rank != 2 || x->rank != 2 || qc_attr_i(n, "transA", 0) != 0 ||
          is_const(f, n->in[0]))
        break;
      int64_t m = qc_attr_i(n, "transB", 0) ? w->dims[0] : w->dims[1];
      if (n->n_in >= 3 && n->in[2] >= 0 && !(const_f32(f, n->in[2]) && elems(f, n->in[2]) == m))
        break;
      gr->r = R_GEMM;
      fuse_relu(c, i, y);
      break;
    }
    case QC_OP_MatMul: {
      const qc_value *w = const_f32(f, n->in[1]) ? &f->values[n->in[1]] : NULL;
      const qc_value *x = &f->values[n->in[0]];
      if (!w || w->rank != 2 || x->rank != 2 || is_const(f, n->in[0])) break;
      gr->r = R_MATMUL;
      int32_t a = sole_consumer(c, y, QC_OP_Add);
      if (a >= 0) {
        const qc_node *an = &f->nodes[a];
        int32_t bv = an->in[0] == y ? an->in[1] : an->in[0];
        if (const_f32(f, bv) && elems(f, bv) == w->dims[1] && f->values[bv].rank <= 2 &&
            (f->values[bv].rank < 2 || f->values[bv].dims[0] == 1)) {
          gr->add = a;
          c->grp[a].r = R_FUSED;
          y = an->out[0];
        }
      }
      fuse_relu(c, i, y);
      break;
    }
    case QC_OP_Add:
      if (is_const(f, n->in[0]) || is_const(f, n->in[1])) break;
      gr->r = R_ADD;
      fuse_relu(c, i, y);
      break;
    case QC_OP_MaxPool:
      if (only_first_output(f, n, c->uses)) gr->r = R_PASS, gr->out = y;
      break;
    case QC_OP_Flatten:
    case QC_OP_Relu:
      gr->r = R_PASS, gr->out = y;
      break;
    case QC_OP_Reshape:
      if (is_const(f, n->in[1])) gr->r = R_PASS, gr->out = y;
      break;
    case QC_OP_GlobalAveragePool:
      gr->r = R_GAP, gr->out = y;
      break;
    default:
      break;
    }
  }
}

static bool is_layer(role_t r) { return r == R_CONV || r == R_GEMM || r == R_MATMUL; }

static int add_point(ctx_t *c, int32_t v, bool uns)
{
  if (c->point[v] >= 0) return c->point[v];
  c->pts[c->n_pts] = (qc_calib_point){.value = v, .is_unsigned = uns};
  c->point[v] = c->n_pts;
  return c->n_pts++;
}

/* Which values are integer, and which need calibrating. */
static void plan_ints(ctx_t *c)
{
  qc_graph *f = c->f;
  for (int32_t i = 0; i < f->n_nodes; i++) {
    const qc_node *n = &f->nodes[i];
    group_t *gr = &c->grp[i];
    switch (gr->r) {
    case R_CONV:
    case R_GEMM:
    case R_MATMUL:
    case R_ADD: {
      int n_act = gr->r == R_ADD ? 2 : 1;
      for (int k = 0; k < n_act; k++) {
        int32_t x = n->in[k];
        if (!c->is_int[x]) {
          int32_t p = f->values[x].producer;
          bool uns = c->o->unsigned_after_relu && p >= 0 && relu_like(f, &f->nodes[p]);
          add_point(c, x, uns);
        }
      }
      c->is_int[gr->out] = true;
      add_point(c, gr->out, gr->relu >= 0 && c->o->unsigned_after_relu);
      break;
    }
    case R_PASS:
    case R_GAP:
      if (c->is_int[n->in[0]]) {
        c->is_int[gr->out] = true;
        c->src[gr->out] = c->src[n->in[0]];
      }
      break;
    default:
      break;
    }
  }
}

/* Bits of every integer value from what its consumers need (reverse order): a layer needs its
   a_bits on its input, an Add or pass-through op the bits of its own output; values leaving the
   integer domain (graph outputs, fp32 islands) get 8. */
static void plan_bits(ctx_t *c)
{
  qc_graph *f = c->f;
  for (int32_t k = 0; k < f->n_outputs; k++) c->req[f->outputs[k]] = 8;
  for (int32_t i = f->n_nodes - 1; i >= 0; i--) {
    const qc_node *n = &f->nodes[i];
    const group_t *gr = &c->grp[i];
    if (gr->r == R_FUSED) continue;
    int need_out = gr->out >= 0 && c->req[gr->out] ? c->req[gr->out] : c->o->a_bits;
    if (is_layer(gr->r)) {
      int b = c->layers[gr->layer].a_bits;
      if (c->req[n->in[0]] < b) c->req[n->in[0]] = b;
    } else if (gr->r == R_ADD || ((gr->r == R_PASS || gr->r == R_GAP) && c->is_int[gr->out])) {
      int na = gr->r == R_ADD ? 2 : 1;
      for (int k = 0; k < na; k++)
        if (c->req[n->in[k]] < need_out) c->req[n->in[k]] = need_out;
    } else {
      for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && c->req[n->in[k]] < 8) c->req[n->in[k]] = 8;
    }
  }
  for (int k = 0; k < c->n_pts; k++) {
    int r = c->req[c->pts[k].value];
    c->pts[k].bits = r ? r : c->o->a_bits;
  }
}

/* ---- building the integer graph ------------------------------------------------------------ */

static qc_dtype act_dtype(int64_t qmin, int64_t qmax)
{
  if (qmin >= 0 && qmax <= 255) return QC_DT_U8;
  if (qmin >= -128 && qmax <= 127) return QC_DT_I8;
  if (qmin >= -32768 && qmax <= 32767) return QC_DT_I16;
  return QC_DT_I32;
}

/* A value name in ng: base + suffix, made unique. */
static const char *uniq(ctx_t *c, const char *base, const char *suffix, char *buf, size_t cap)
{
  /* an over-long name is cut; uniqueness is still checked on what remains */
  if (snprintf(buf, cap, "%s%s", base, suffix) >= (int)cap) buf[cap - 1] = 0;
  for (int k = 1; qc_graph_find_value(c->ng, buf) >= 0; k++)
    if (snprintf(buf, cap, "%.400s%s_%d", base, suffix, k) >= (int)cap) buf[cap - 1] = 0;
  return buf;
}

static qc_qparams *qparams(qc_graph *g, int bits, int32_t n, const float *scale, qc_err *e)
{
  qc_qparams *q = qc_arena_alloc(g->arena, sizeof *q);
  float *s = qc_arena_alloc(g->arena, sizeof(float) * (size_t)n);
  int32_t *zp = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)n);
  if (!q || !s || !zp) {
    qc_err_set(e, QC_ERR_NOMEM, "out of memory building the integer graph");
    return NULL;
  }
  memcpy(s, scale, sizeof(float) * (size_t)n);
  *q = (qc_qparams){.bits = bits, .axis = n > 1 ? 0 : -1, .n = n, .scale = s, .zero_point = zp,
                    .codebook = -1};
  return q;
}

static qc_status set_attr_i(ctx_t *c, int32_t nid, const char *name, int64_t v, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(c->ng, nid, name, QC_ATTR_INT, e);
  if (!a) return e && e->code ? e->code : QC_ERR_NOMEM;
  a->i = v;
  return QC_OK;
}

static qc_status set_attr_f(ctx_t *c, int32_t nid, const char *name, float v, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(c->ng, nid, name, QC_ATTR_FLOAT, e);
  if (!a) return e && e->code ? e->code : QC_ERR_NOMEM;
  a->f = v;
  return QC_OK;
}

static qc_status set_attr_ints(ctx_t *c, int32_t nid, const char *name, const int32_t *v,
                               int64_t n, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(c->ng, nid, name, QC_ATTR_INTS, e);
  int64_t *d = a ? qc_arena_alloc(c->ng->arena, sizeof(int64_t) * (size_t)(n ? n : 1)) : NULL;
  if (!d) return qc_err_set(e, QC_ERR_NOMEM, "out of memory building the integer graph");
  for (int64_t i = 0; i < n; i++) d[i] = v[i];
  a->ints = d;
  a->n = n;
  return QC_OK;
}

/* Copies every attribute of f's node src onto ng's node nid. */
static qc_status copy_attrs(ctx_t *c, const qc_node *src, int32_t nid, qc_err *e)
{
  for (int32_t k = 0; k < src->n_attrs; k++) {
    const qc_attr *s = &src->attrs[k];
    qc_attr *a = qc_node_add_attr(c->ng, nid, s->name, s->kind, e);
    if (!a) return e && e->code ? e->code : QC_ERR_NOMEM;
    const char *nm = a->name;
    *a = *s;
    a->name = nm;
    qc_arena *ar = c->ng->arena;
    bool ok = true;
    if (s->s) {
      char *d = qc_arena_alloc(ar, (size_t)s->s_len + 1);
      if ((ok = d != NULL)) memcpy(d, s->s, (size_t)s->s_len), a->s = d;
    }
    if (ok && s->ints) {
      int64_t *d = qc_arena_alloc(ar, sizeof(int64_t) * (size_t)(s->n ? s->n : 1));
      if ((ok = d != NULL)) memcpy(d, s->ints, sizeof(int64_t) * (size_t)s->n), a->ints = d;
    }
    if (ok && s->floats) {
      float *d = qc_arena_alloc(ar, sizeof(float) * (size_t)(s->n ? s->n : 1));
      if ((ok = d != NULL)) memcpy(d, s->floats, sizeof(float) * (size_t)s->n), a->floats = d;
    }
    if (ok && (s->strings || s->tensors))
      return qc_node_err(e, src, QC_ERR_UNSUPPORTED, "cannot copy attribute '%s'", s->name);
    if (!ok) return qc_err_set(e, QC_ERR_NOMEM, "out of memory building the integer graph");
  }
  return QC_OK;
}

static int32_t get_float(ctx_t *c, int32_t v, qc_err *e);

/* An integer value in ng for v: v's own, or a QcQuantize of its float form. */
static int32_t get_int(ctx_t *c, int32_t v, qc_err *e)
{
  if (c->ival[v] >= 0) return c->ival[v];
  int p = c->point[v];
  if (p < 0) {
    qc_err_set(e, QC_ERR_INTERNAL, "value '%s' has no calibrated scale", c->f->values[v].name);
    return -1;
  }
  int32_t x = get_float(c, v, e);
  if (x < 0) return -1;
  char buf[512];
  const char *nm = uniq(c, c->f->values[v].name, "_q", buf, sizeof buf);
  int32_t y = qc_graph_add_value(c->ng, nm, act_dtype(c->qmin[v], c->qmax[v]), -1, NULL, e);
  if (y < 0) return -1;
  int32_t nid = qc_graph_add_node(c->ng, QC_OP_QcQuantize, nm, 1, &x, 1, &y, e);
  if (nid < 0 || set_attr_f(c, nid, "scale", c->scale[v], e) ||
      set_attr_i(c, nid, "qmin", c->qmin[v], e) || set_attr_i(c, nid, "qmax", c->qmax[v], e))
    return -1;
  if (!(c->ng->values[y].q = qparams(c->ng, c->bits[v], 1, &c->scale[v], e))) return -1;
  c->ival[v] = y;
  return y;
}

/* A float value in ng for v: a copied constant, v's float form, or a QcDequantize. */
static int32_t get_float(ctx_t *c, int32_t v, qc_err *e)
{
  if (c->fval[v] >= 0) return c->fval[v];
  const qc_value *fv = &c->f->values[v];
  char buf[512];
  if (is_const(c->f, v)) {
    int32_t id = qc_graph_add_const(c->ng, uniq(c, fv->name, "", buf, sizeof buf), fv->dtype,
                                    fv->rank, fv->dims, fv->data, e);
    return c->fval[v] = id;
  }
  if (c->ival[v] < 0) {
    qc_err_set(e, QC_ERR_INTERNAL, "value '%s' was not computed", fv->name);
    return -1;
  }
  bool out = (fv->flags & QC_VAL_OUTPUT) != 0;
  const char *nm = out ? fv->name : uniq(c, fv->name, "_deq", buf, sizeof buf);
  int32_t y = qc_graph_add_value(c->ng, nm, QC_DT_F32, -1, NULL, e);
  if (y < 0) return -1;
  int32_t x = c->ival[v];
  char nn[512];
  if (snprintf(nn, sizeof nn, "%s_dequantize", fv->name) >= (int)sizeof nn) nn[sizeof nn - 1] = 0;
  int32_t nid = qc_graph_add_node(c->ng, QC_OP_QcDequantize, nn, 1, &x, 1, &y, e);
  if (nid < 0 || set_attr_f(c, nid, "scale", c->scale[v], e)) return -1;
  return c->fval[v] = y;
}

/* The integer output value for f's value v (the group's result). */
static int32_t new_int_value(ctx_t *c, int32_t v, qc_dtype dt, qc_err *e)
{
  const qc_value *fv = &c->f->values[v];
  char buf[512];
  const char *nm = uniq(c, fv->name, (fv->flags & QC_VAL_OUTPUT) ? "_int" : "", buf, sizeof buf);
  int32_t y = qc_graph_add_value(c->ng, nm, dt, -1, NULL, e);
  if (y < 0) return -1;
  if (!(c->ng->values[y].q = qparams(c->ng, c->bits[v], 1, &c->scale[v], e))) return -1;
  c->ival[v] = y;
  return y;
}

/* Per-channel symmetric weights (w is [C, E] row-major, f32) and int32 bias; mult/shift for
   M_c = fp32(S_in * S_w[c]) / S_out. Adds the constants to ng. */
static qc_status quant_layer(ctx_t *c, const char *lname, const float *w, int64_t C, int64_t E,
                             int wrank, const int64_t *wdims, const float *b, float s_in,
                             float s_out, int w_bits, int32_t *wid, int32_t *bid, int32_t *mult,
                             int32_t *shift, qc_err *e)
{
  int32_t L = qc_q_levels(w_bits, false);
  int64_t nw = C * E;
  int8_t *q = malloc((size_t)nw + 1);
  float *sw = malloc(sizeof(float) * (size_t)C);
  float *sb = malloc(sizeof(float) * (size_t)C);
  int32_t *bq = malloc(sizeof(int32_t) * (size_t)C);
  uint8_t *packed = w_bits <= 4 ? malloc((size_t)(nw + 1) / 2 + 1) : NULL;
  qc_status st = QC_OK;
  if (!q || !sw || !sb || !bq || (w_bits <= 4 && !packed)) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory quantizing '%s'", lname);
    goto out;
  }
  for (int64_t ch = 0; ch < C; ch++) {
    const float *wc = w + ch * E;
    double m = 0;
    for (int64_t j = 0; j < E; j++) m = fmax(m, fabs(wc[j]));
    /* an all-zero channel: any scale; pick M = 1 */
    sw[ch] = m > 0 ? (float)(m / L) : s_out / s_in;
    for (int64_t j = 0; j < E; j++) {
      float r = qc_round_half_even(wc[j] / sw[ch]);
      q[ch * E + j] = (int8_t)(r > L ? L : r < -L ? -L : r);
    }
    float sacc = s_in * sw[ch];
    sb[ch] = sacc;
    double bv = b ? rint((double)b[ch] / (double)sacc) : 0;
    bq[ch] = (int32_t)(bv > 2147483647.0 ? 2147483647.0 : bv < -2147483647.0 ? -2147483647.0 : bv);
    double M = (double)sacc / (double)s_out;
    if (M < ldexp(1.0, -31)) M = ldexp(1.0, -31); /* outputs round to 0 either way */
    qc_err tmp = {0};
    if (qc_dyadic_from_real(M, &mult[ch], &shift[ch], &tmp)) {
      st = qc_err_set(e, QC_ERR_UNSUPPORTED, "layer '%s' channel %lld: %s", lname,
                      (long long)ch, tmp.msg);
      goto out;
    }
  }
  char buf[512], nb[512];
  if (snprintf(nb, sizeof nb, "%s_wq", lname) >= (int)sizeof nb) nb[sizeof nb - 1] = 0;
  if (w_bits <= 4) {
    qc_pack_i4(q, nw, packed);
    *wid = qc_graph_add_const(c->ng, uniq(c, nb, "", buf, sizeof buf), QC_DT_I4, wrank, wdims,
                              packed, e);
  } else {
    *wid = qc_graph_add_const(c->ng, uniq(c, nb, "", buf, sizeof buf), QC_DT_I8, wrank, wdims, q,
                              e);
  }
  if (*wid < 0 || !(c->ng->values[*wid].q = qparams(c->ng, w_bits, (int32_t)C, sw, e))) {
    st = e && e->code ? e->code : QC_ERR_NOMEM;
    goto out;
  }
  *bid = -1;
  if (b) {
    if (snprintf(nb, sizeof nb, "%s_bq", lname) >= (int)sizeof nb) nb[sizeof nb - 1] = 0;
    int64_t bd[1] = {C};
    *bid = qc_graph_add_const(c->ng, uniq(c, nb, "", buf, sizeof buf), QC_DT_I32, 1, bd, bq, e);
    if (*bid < 0 || !(c->ng->values[*bid].q = qparams(c->ng, 32, (int32_t)C, sb, e))) {
      st = e && e->code ? e->code : QC_ERR_NOMEM;
      goto out;
    }
  }
out:
  free(q), free(sw), free(sb), free(bq), free(packed);
  return st;
}

static qc_status emit_layer(ctx_t *c, int32_t i, qc_err *e)
{
  const qc_node *n = &c->f->nodes[i];
  const group_t *gr = &c->grp[i];
  const layer_t *ly = &c->layers[gr->layer];
  int32_t x = get_int(c, n->in[0], e);
  if (x < 0) return e->code;
  const qc_value *wv = &c->f->values[n->in[1]];
  const float *w = wv->data;
  int64_t C, E;
  float *wt = NULL, *bt = NULL;
  const float *b = NULL;
  int wrank = wv->rank;
  int64_t wdims[QC_MAX_RANK];
  memcpy(wdims, wv->dims, sizeof wdims);
  qc_status st = QC_OK;
  if (gr->r == R_CONV) {
    C = wv->dims[0];
    E = elems(c->f, n->in[1]) / (C ? C : 1);
    if (n->n_in >= 3 && n->in[2] >= 0) b = c->f->values[n->in[2]].data;
  } else {
    /* Gemm / MatMul: weights into [M, K] (transB layout), alpha and beta folded in */
    bool tb = gr->r == R_GEMM && qc_attr_i(n, "transB", 0) != 0;
    int64_t K = tb ? wv->dims[1] : wv->dims[0], M = tb ? wv->dims[0] : wv->dims[1];
    double alpha = gr->r == R_GEMM ? qc_attr_f(n, "alpha", 1.0f) : 1.0;
    double beta = gr->r == R_GEMM ? qc_attr_f(n, "beta", 1.0f) : 1.0;
    C = M, E = K;
    wt = malloc(sizeof(float) * (size_t)(M * K + 1));
    bt = malloc(sizeof(float) * (size_t)(M + 1));
    if (!wt || !bt) {
      free(wt), free(bt);
      return qc_err_set(e, QC_ERR_NOMEM, "out of memory quantizing '%s'", n->name);
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t k = 0; k < K; k++)
        wt[m * K + k] = (float)(alpha * (tb ? w[m * K + k] : w[k * M + m]));
    int32_t bvid = -1;
    if (gr->r == R_GEMM && n->n_in >= 3) bvid = n->in[2];
    if (gr->r == R_MATMUL && gr->add >= 0) {
      const qc_node *an = &c->f->nodes[gr->add];
      bvid = an->in[0] == n->out[0] ? an->in[1] : an->in[0];
    }
    if (bvid >= 0) {
      const float *bd = c->f->values[bvid].data;
      for (int64_t m = 0; m < M; m++) bt[m] = (float)((gr->r == R_GEMM ? beta : 1.0) * bd[m]);
      b = bt;
    }
    w = wt;
    wrank = 2, wdims[0] = M, wdims[1] = K;
  }
  int32_t *mult = malloc(sizeof(int32_t) * (size_t)(C + 1));
  int32_t *shift = malloc(sizeof(int32_t) * (size_t)(C + 1));
  int32_t wid = -1, bid = -1, y = -1;
  int32_t yv = gr->out;
  if (!mult || !shift) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory quantizing '%s'", n->name);
    goto out;
  }
  if ((st = quant_layer(c, n->name, w, C, E, wrank, wdims, b, c->scale[n->in[0]], c->scale[yv],
                        ly->w_bits, &wid, &bid, mult, shift, e)))
    goto out;
  if ((y = new_int_value(c, yv, act_dtype(c->qmin[yv], c->qmax[yv]), e)) < 0) {
    st = e->code;
    goto out;
  }
  int32_t ins[3] = {x, wid, bid};
  qc_op op = gr->r == R_CONV ? QC_OP_QcConv : QC_OP_QcGemm;
  int32_t nid = qc_graph_add_node(c->ng, op, n->name, bid >= 0 ? 3 : 2, ins, 1, &y, e);
  if (nid < 0) {
    st = e->code;
    goto out;
  }
  if (gr->r == R_CONV && (st = copy_attrs(c, n, nid, e))) goto out;
  if ((st = set_attr_ints(c, nid, "mult", mult, C, e)) ||
      (st = set_attr_ints(c, nid, "shift", shift, C, e)) ||
      (st = set_attr_i(c, nid, "qmin", c->qmin[yv], e)) ||
      (st = set_attr_i(c, nid, "qmax", c->qmax[yv], e)))
    goto out;
out:
  free(wt), free(bt), free(mult), free(shift);
  return st;
}

static qc_status emit_add(ctx_t *c, int32_t i, qc_err *e)
{
  const qc_node *n = &c->f->nodes[i];
  int32_t yv = c->grp[i].out;
  int32_t a = get_int(c, n->in[0], e);
  int32_t b = a < 0 ? -1 : get_int(c, n->in[1], e);
  if (b < 0) return e->code;
  int32_t mult[2], shift[2];
  for (int k = 0; k < 2; k++) {
    double M = (double)c->scale[n->in[k]] / (double)c->scale[yv];
    qc_err tmp = {0};
    if (qc_dyadic_from_real(M, &mult[k], &shift[k], &tmp))
      return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "input %d: %s", k, tmp.msg);
  }
  int32_t y = new_int_value(c, yv, act_dtype(c->qmin[yv], c->qmax[yv]), e);
  if (y < 0) return e->code;
  int32_t ins[2] = {a, b};
  int32_t nid = qc_graph_add_node(c->ng, QC_OP_QcAdd, n->name, 2, ins, 1, &y, e);
  qc_status st;
  if (nid < 0) return e->code;
  if ((st = set_attr_ints(c, nid, "mult", mult, 2, e)) ||
      (st = set_attr_ints(c, nid, "shift", shift, 2, e)) ||
      (st = set_attr_i(c, nid, "qmin", c->qmin[yv], e)) ||
      (st = set_attr_i(c, nid, "qmax", c->qmax[yv], e)))
    return st;
  return QC_OK;
}

/* MaxPool, Flatten, Reshape, Relu, GlobalAveragePool on integers: same scale and dtype. */
static qc_status emit_pass(ctx_t *c, int32_t i, qc_err *e)
{
  const qc_node *n = &c->f->nodes[i];
  int32_t x = get_int(c, n->in[0], e);
  if (x < 0) return e->code;
  int32_t ins[2] = {x, -1};
  int n_in = 1;
  if (n->op == QC_OP_Reshape) {
    if ((ins[1] = get_float(c, n->in[1], e)) < 0) return e->code;
    n_in = 2;
  }
  int32_t yv = n->out[0];
  int32_t y = new_int_value(c, yv, c->ng->values[x].dtype, e);
  if (y < 0) return e->code;
  qc_op op = c->grp[i].r == R_GAP ? QC_OP_QcGlobalAveragePool : n->op;
  int32_t nid = qc_graph_add_node(c->ng, op, n->name, n_in, ins, 1, &y, e);
  if (nid < 0) return e->code;
  return op == QC_OP_QcGlobalAveragePool ? QC_OK : copy_attrs(c, n, nid, e);
}

/* Any other node, in fp32. */
static qc_status emit_float(ctx_t *c, int32_t i, qc_err *e)
{
  const qc_node *n = &c->f->nodes[i];
  int32_t ins[16], outs[16];
  if (n->n_in > 16 || n->n_out > 16) return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "too many inputs");
  for (int32_t k = 0; k < n->n_in; k++)
    if ((ins[k] = n->in[k] < 0 ? -1 : get_float(c, n->in[k], e)) < 0 && n->in[k] >= 0)
      return e->code;
  char buf[512];
  for (int32_t k = 0; k < n->n_out; k++) {
    outs[k] = -1;
    if (n->out[k] < 0) continue;
    const qc_value *fv = &c->f->values[n->out[k]];
    outs[k] = qc_graph_add_value(c->ng, uniq(c, fv->name, "", buf, sizeof buf), fv->dtype,
                                 fv->rank, fv->dims, e);
    if (outs[k] < 0) return e->code;
    c->fval[n->out[k]] = outs[k];
  }
  int32_t nid = qc_graph_add_node(c->ng, n->op, n->name, n->n_in, ins, n->n_out, outs, e);
  if (nid < 0) return e->code;
  return copy_attrs(c, n, nid, e);
}

static qc_status build(ctx_t *c, qc_err *e)
{
  qc_graph *f = c->f, *ng = c->ng;
  ng->name = f->name ? qc_arena_strdup(ng->arena, f->name) : NULL;
  ng->opset = f->opset;
  for (int32_t s = 0; s < f->n_syms; s++)
    if (qc_graph_add_sym(ng, f->syms[s], e) < 0) return e->code;
  int32_t in_ids[64];
  if (f->n_inputs > 64) return qc_err_set(e, QC_ERR_UNSUPPORTED, "more than 64 graph inputs");
  for (int32_t k = 0; k < f->n_inputs; k++) {
    const qc_value *v = &f->values[f->inputs[k]];
    in_ids[k] = qc_graph_add_value(ng, v->name, v->dtype, v->rank, v->dims, e);
    if (in_ids[k] < 0) return e->code;
    c->fval[f->inputs[k]] = in_ids[k];
  }
  qc_status st;
  if ((st = qc_graph_set_inputs(ng, f->n_inputs, in_ids, e))) return st;
  for (int32_t i = 0; i < f->n_nodes; i++) {
    const group_t *gr = &c->grp[i];
    switch (gr->r) {
    case R_FUSED: st = QC_OK; break;
    case R_CONV:
    case R_GEMM:
    case R_MATMUL: st = emit_layer(c, i, e); break;
    case R_ADD: st = emit_add(c, i, e); break;
    case R_PASS:
    case R_GAP:
      st = c->is_int[gr->out] ? emit_pass(c, i, e) : emit_float(c, i, e);
      break;
    default: st = emit_float(c, i, e); break;
    }
    if (st) return st;
  }
  int32_t *outs = malloc(sizeof(int32_t) * (size_t)(f->n_outputs + 1));
  if (!outs) return qc_err_set(e, QC_ERR_NOMEM, "out of memory building the integer graph");
  for (int32_t k = 0; k < f->n_outputs && st == QC_OK; k++)
    if ((outs[k] = get_float(c, f->outputs[k], e)) < 0) st = e->code;
  if (st == QC_OK) st = qc_graph_set_outputs(ng, f->n_outputs, outs, e);
  free(outs);
  return st;
}

/* ---- report -------------------------------------------------------------------------------- */

static qc_status fill_report(ctx_t *c, qc_quant_report *rep, qc_err *e)
{
  qc_graph *f = c->f;
  memset(rep, 0, sizeof *rep);
  rep->layers = calloc((size_t)c->n_layers + 1, sizeof *rep->layers);
  if (!rep->layers) return qc_err_set(e, QC_ERR_NOMEM, "out of memory for the report");
  int64_t bits_total = 0, params_total = 0;
  bool *counted = calloc((size_t)f->n_values + 1, 1);
  if (!counted) return qc_err_set(e, QC_ERR_NOMEM, "out of memory for the report");
  for (int l = 0; l < c->n_layers; l++) {
    const layer_t *ly = &c->layers[l];
    const qc_node *n = &f->nodes[ly->node];
    const group_t *gr = &c->grp[ly->node];
    qc_layer_report *r = &rep->layers[rep->n_layers++];
    char *nm = malloc(strlen(n->name) + 1);
    if (!nm) {
      free(counted);
      return qc_err_set(e, QC_ERR_NOMEM, "out of memory for the report");
    }
    strcpy(nm, n->name);
    r->name = nm;
    r->op = gr->r == R_CONV ? "Conv" : gr->r == R_GEMM ? "Gemm" : "MatMul";
    r->w_bits = ly->w_bits;
    r->a_bits = ly->a_bits_in;
    const qc_value *w = &f->values[n->in[1]];
    int64_t nw = elems(f, n->in[1]), nb = 0;
    counted[n->in[1]] = true;
    int32_t bv = -1;
    if ((gr->r == R_CONV || gr->r == R_GEMM) && n->n_in >= 3) bv = n->in[2];
    if (gr->r == R_MATMUL && gr->add >= 0) {
      const qc_node *an = &f->nodes[gr->add];
      bv = an->in[0] == n->out[0] ? an->in[1] : an->in[0];
    }
    if (bv >= 0) nb = elems(f, bv), counted[bv] = true;
    r->params = nw + nb;
    r->bits = nw * ly->w_bits + nb * 32;
    /* MACs per image: output elements per image x weight elements per output */
    const qc_value *y = &f->values[n->out[0]];
    int64_t per = 1;
    for (int d = 1; d < y->rank; d++) per *= y->dims[d] > 0 ? y->dims[d] : 1;
    int64_t cout = gr->r == R_CONV ? w->dims[0] : y->rank >= 2 ? y->dims[y->rank - 1] : 1;
    r->macs = per * (nw / (cout > 0 ? cout : 1));
    r->bops = (double)r->macs * ly->w_bits * ly->a_bits_in;
    rep->bops += r->bops;
    rep->fp32_bops += (double)r->macs * 32 * 32;
    bits_total += r->bits;
    params_total += r->params;
  }
  /* f32 parameters the integer path leaves in fp32 islands count at 32 bits in both */
  for (int32_t i = 0; i < f->n_nodes; i++) {
    const qc_node *n = &f->nodes[i];
    if (c->grp[i].r != R_FLOAT && c->grp[i].r != R_FUSED) continue;
    for (int32_t k = 0; k < n->n_in; k++) {
      int32_t v = n->in[k];
      if (v < 0 || counted[v] || !const_f32(f, v)) continue;
      counted[v] = true;
      params_total += elems(f, v);
      bits_total += elems(f, v) * 32;
    }
  }
  free(counted);
  rep->fp32_bytes = params_total * 4;
  rep->quant_bytes = (bits_total + 7) / 8;
  return QC_OK;
}

/* ---- driver -------------------------------------------------------------------------------- */

static void fmt_shape(const qc_graph *g, int rank, const int64_t *dims, char *buf, size_t cap)
{
  size_t k = 0;
  k += (size_t)snprintf(buf + k, cap - k, "[");
  for (int d = 0; d < rank && k < cap; d++) {
    if (dims[d] >= 0) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? "," : "", (long long)dims[d]);
    else if (dims[d] <= -2 && QC_DIM_SYM_INDEX(dims[d]) < g->n_syms)
      k += (size_t)snprintf(buf + k, cap - k, "%s%s", d ? "," : "", g->syms[QC_DIM_SYM_INDEX(dims[d])]);
    else k += (size_t)snprintf(buf + k, cap - k, "%s?", d ? "," : "");
  }
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

static qc_status check_calib(const qc_graph *g, const qc_tensor *calib, int n_calib, qc_err *e)
{
  if (n_calib <= 0 || !calib) return qc_err_set(e, QC_ERR_USAGE, "empty calibration set");
  if (g->n_inputs != 1)
    return qc_err_set(e, QC_ERR_UNSUPPORTED,
                      "quantization needs a model with one input, this one has %d", g->n_inputs);
  const qc_value *in = &g->values[g->inputs[0]];
  for (int b = 0; b < n_calib; b++) {
    const qc_tensor *t = &calib[b];
    bool ok = t->dtype == in->dtype && (in->rank < 0 || t->rank == in->rank) && t->data;
    for (int d = 0; ok && in->rank >= 0 && d < in->rank; d++)
      ok = in->dims[d] < 0 || in->dims[d] == t->dims[d];
    if (!ok || qc_tensor_elems(t) <= 0) {
      char ts[160], is[160];
      fmt_shape(g, t->rank, t->dims, ts, sizeof ts);
      fmt_shape(g, in->rank, in->dims, is, sizeof is);
      return qc_err_set(e, QC_ERR_INVALID,
                        "calibration batch %d is %s%s but input '%s' is %s%s", b,
                        qc_dtype_name(t->dtype), ts, in->name, qc_dtype_name(in->dtype), is);
    }
  }
  return QC_OK;
}

static qc_status prepare(qc_graph *f, qc_err *e)
{
  const char *names[] = {"infer-shapes", "fold-constants", "eliminate-identity",
                         "fold-batchnorm", "fold-constants", "dce", "infer-shapes"};
  qc_pass rows[7];
  for (int i = 0; i < 7; i++)
    if (qc_pass_builtin(names[i], NULL, &rows[i], e)) return e->code;
  return qc_pass_run_pipeline(f, rows, 7, false, e);
}

/* Layer bits: defaults, then the first/last policy, then the config file's lines. */
static qc_status assign_layer_bits(ctx_t *c, qc_err *e)
{
  const qc_uniform_opts *o = c->o;
  for (int l = 0; l < c->n_layers; l++) {
    c->layers[l].w_bits = o->w_bits;
    c->layers[l].a_bits = o->a_bits;
    if (o->first_last_8bit && (l == 0 || l == c->n_layers - 1))
      c->layers[l].w_bits = c->layers[l].a_bits = 8;
  }
  if (!o->config_path) return QC_OK;
  qc_bits_entry *ent = NULL;
  int n = 0;
  qc_status st = qc_bits_config_load(o->config_path, &ent, &n, e);
  if (st) return st;
  for (int k = 0; k < n && st == QC_OK; k++) {
    int l = 0;
    for (; l < c->n_layers; l++)
      if (strcmp(c->f->nodes[c->layers[l].node].name, ent[k].name) == 0) break;
    if (l == c->n_layers) {
      st = qc_err_set(e, QC_ERR_INVALID,
                      "%s:%d: unknown layer '%s' (not a Conv/Gemm/MatMul node of the model)",
                      o->config_path, ent[k].line, ent[k].name);
      break;
    }
    if (ent[k].w_bits > 0) c->layers[l].w_bits = ent[k].w_bits;
    if (ent[k].a_bits > 0) c->layers[l].a_bits = ent[k].a_bits;
  }
  qc_bits_config_free(ent, n);
  return st;
}

/* Prepares c->f (a clone) and plans it: roles, layers and their bits, integer values and the
   quantization points with their bits. */
static qc_status plan(ctx_t *c, qc_err *e)
{
  qc_status st;
  if ((st = prepare(c->f, e))) return st;
  qc_graph *f = c->f;
  size_t nv = (size_t)f->n_values + 1, nn = (size_t)f->n_nodes + 1;
  c->grp = calloc(nn, sizeof *c->grp);
  c->uses = calloc(nv, sizeof *c->uses);
  c->is_int = calloc(nv, sizeof *c->is_int);
  c->src = calloc(nv, sizeof *c->src);
  c->point = calloc(nv, sizeof *c->point);
  c->req = calloc(nv, sizeof *c->req);
  c->pts = calloc(nv, sizeof *c->pts);
  c->layers = calloc(nn, sizeof *c->layers);
  c->ival = calloc(nv, sizeof *c->ival);
  c->fval = calloc(nv, sizeof *c->fval);
  c->scale = calloc(nv, sizeof *c->scale);
  c->qmin = calloc(nv, sizeof *c->qmin);
  c->qmax = calloc(nv, sizeof *c->qmax);
  c->bits = calloc(nv, sizeof *c->bits);
  if (!c->grp || !c->uses || !c->is_int || !c->src || !c->point || !c->req || !c->pts ||
      !c->layers || !c->ival || !c->fval || !c->scale || !c->qmin || !c->qmax || !c->bits)
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory planning the quantization");
  for (int32_t v = 0; v < f->n_values; v++)
    c->src[v] = v, c->point[v] = c->ival[v] = c->fval[v] = -1;
  for (int32_t i = 0; i < f->n_nodes; i++)
    for (int32_t k = 0; k < f->nodes[i].n_in; k++)
      if (f->nodes[i].in[k] >= 0) c->uses[f->nodes[i].in[k]]++;
  assign_roles(c);
  for (int32_t i = 0; i < f->n_nodes; i++)
    if (is_layer(c->grp[i].r)) {
      c->grp[i].layer = c->n_layers;
      c->layers[c->n_layers++].node = i;
    }
  if (c->n_layers == 0)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "no Conv/Gemm/MatMul layer to quantize");
  if ((st = assign_layer_bits(c, e))) return st;
  plan_ints(c);
  plan_bits(c);
  return QC_OK;
}

static void ctx_free(ctx_t *c)
{
  qc_graph_free(c->ng);
  qc_graph_free(c->f);
  free(c->grp), free(c->uses), free(c->is_int), free(c->src), free(c->point), free(c->req);
  free(c->pts), free(c->layers), free(c->ival), free(c->fval), free(c->scale), free(c->qmin);
  free(c->qmax), free(c->bits);
}

/* The grid of point p: qmin/qmax from its bits, sign and a producing Relu. */
static void point_grid(const ctx_t *c, const qc_calib_point *p, int32_t *qmin, int32_t *qmax)
{
  int32_t L = qc_q_levels(p->bits, p->is_unsigned);
  /* a group ending in a fused Relu clamps at 0 even on a signed grid */
  int32_t pr = c->f->values[p->value].producer;
  bool relu = pr >= 0 && relu_like(c->f, &c->f->nodes[pr]);
  *qmin = p->is_unsigned || relu ? 0 : -L;
  *qmax = L;
}

/* Thresholds from o->ranges (QAT) instead of calibration. */
static qc_status apply_ranges(ctx_t *c, qc_err *e)
{
  const qc_uniform_opts *o = c->o;
  for (int k = 0; k < c->n_pts; k++) {
    const char *nm = c->f->values[c->pts[k].value].name;
    int r = 0;
    while (r < o->n_ranges && strcmp(o->ranges[r].value, nm) != 0) r++;
    if (r == o->n_ranges)
      return qc_err_set(e, QC_ERR_INVALID, "no activation range given for value '%s'", nm);
    if (!(o->ranges[r].thresh > 0 && isfinite(o->ranges[r].thresh)))
      return qc_err_set(e, QC_ERR_INVALID, "activation range of '%s' is %g; must be > 0", nm,
                        o->ranges[r].thresh);
    c->pts[k].thresh = o->ranges[r].thresh;
  }
  return QC_OK;
}

qc_status qc_uniform_plan(qc_graph *f, const qc_uniform_opts *o, qc_qpoint **pts, int *n_pts,
                          qc_qlayer **layers, int *n_layers, qc_err *e)
{
  *pts = NULL, *layers = NULL, *n_pts = *n_layers = 0;
  qc_uniform_opts dflt;
  if (!o) qc_uniform_opts_default(&dflt), o = &dflt;
  ctx_t c = {.o = o, .f = f};
  qc_status st = plan(&c, e);
  if (st == QC_OK) {
    *pts = calloc((size_t)c.n_pts + 1, sizeof **pts);
    *layers = calloc((size_t)c.n_layers + 1, sizeof **layers);
    if (!*pts || !*layers) {
      free(*pts), free(*layers);
      *pts = NULL, *layers = NULL;
      st = qc_err_set(e, QC_ERR_NOMEM, "out of memory planning the quantization");
    }
  }
  if (st == QC_OK) {
    for (int k = 0; k < c.n_pts; k++) {
      qc_qpoint *p = &(*pts)[k];
      p->value = c.pts[k].value;
      p->bits = c.pts[k].bits;
      p->is_unsigned = c.pts[k].is_unsigned;
      point_grid(&c, &c.pts[k], &p->qmin, &p->qmax);
    }
    for (int l = 0; l < c.n_layers; l++)
      (*layers)[l] = (qc_qlayer){c.layers[l].node, c.layers[l].w_bits};
    *n_pts = c.n_pts, *n_layers = c.n_layers;
  }
  c.f = NULL; /* the caller's */
  ctx_free(&c);
  return st;
}

qc_status qc_quantize_uniform(qc_graph *g, const qc_uniform_opts *o, const qc_tensor *calib,
                              int n_calib, qc_quant_report *rep, qc_err *e)
{
  if (rep) memset(rep, 0, sizeof *rep);
  qc_uniform_opts dflt;
  if (!o) qc_uniform_opts_default(&dflt), o = &dflt;
  if (o->w_bits < 2 || o->w_bits > 8 || o->a_bits < 2 || o->a_bits > 8)
    return qc_err_set(e, QC_ERR_USAGE, "bits w=%d a=%d: each must be in 2..8", o->w_bits,
                      o->a_bits);
  qc_status st = o->n_ranges > 0 ? QC_OK : check_calib(g, calib, n_calib, e);
  if (st) return st;
  ctx_t c = {.o = o};
  c.f = qc_graph_clone(g, e);
  if (!c.f) return e && e->code ? e->code : QC_ERR_NOMEM;
  if ((st = plan(&c, e))) goto out;
  qc_graph *f = c.f;
  if ((st = o->n_ranges > 0 ? apply_ranges(&c, e)
                            : qc_calibrate(f, &o->calib, calib, n_calib, c.pts, c.n_pts,
                                           o->threads, e)))
    goto out;
  for (int k = 0; k < c.n_pts; k++) {
    const qc_calib_point *p = &c.pts[k];
    int32_t L = qc_q_levels(p->bits, p->is_unsigned);
    int32_t v = p->value;
    c.scale[v] = (float)(p->thresh / L);
    if (!(c.scale[v] > 0)) c.scale[v] = 1e-30f;
    c.bits[v] = p->bits;
    point_grid(&c, p, &c.qmin[v], &c.qmax[v]);
  }
  /* pass-through values share their source's scale and grid */
  for (int32_t v = 0; v < f->n_values; v++)
    if (c.is_int[v] && c.src[v] != v) {
      int32_t s = c.src[v];
      c.scale[v] = c.scale[s], c.bits[v] = c.bits[s], c.qmin[v] = c.qmin[s], c.qmax[v] = c.qmax[s];
    }
  for (int l = 0; l < c.n_layers; l++)
    c.layers[l].a_bits_in = c.bits[c.src[f->nodes[c.layers[l].node].in[0]]];
  if (!(c.ng = qc_graph_new())) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory building the integer graph");
    goto out;
  }
  if ((st = build(&c, e))) goto out;
  qc_infer_opts io = {false};
  if ((st = qc_pass_infer_shapes(c.ng, &io, e))) goto out;
  if ((st = qc_verify(c.ng, e))) goto out;
  if (rep && (st = fill_report(&c, rep, e))) goto out;
  /* success: g takes the new graph's contents, ng the old ones (freed below) */
  qc_graph tmp = *g;
  *g = *c.ng;
  *c.ng = tmp;
out:
  if (st && rep) qc_quant_report_free(rep);
  ctx_free(&c);
  return st;
}
