/* Quantization-aware training for the HAWQ-V3 integer scheme (docs/quantize.md, "QAT").
 *
 * The training graph is the PTQ plan made differentiable: the same preparation (BN folded, so
 * its statistics are frozen as in HAWQ's fix-BN fine-tuning and the trained weights are exactly
 * the ones the integer layers quantize), the same layers and quantization points
 * (qc_uniform_plan), with a QcFakeQuant on each layer's weights (per output channel, scale from
 * max|w|, straight-through gradient) and on each point (the PTQ grid with the EMA range,
 * gradient 0 where clamped). Conversion strips the QcFakeQuant nodes and hands the trained
 * weights and ranges to qc_quantize_uniform, so QAT and PTQ share one integer code path. The
 * ranges live in the nodes' attributes (thresh, scale): a checkpoint of the training graph
 * resumes with them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "autodiff.h"
#include "passes.h"
#include "q_internal.h"

typedef struct {
  int32_t node;  /* the QcFakeQuant node in g */
  int32_t x;     /* its input value */
  int32_t L;     /* positive levels of the grid */
  bool is_unsigned;
  float thresh;
} act_t;

struct qc_qat {
  qc_graph *g;   /* the training graph (the caller's) */
  qc_qat_opts o;
  act_t *act;
  int n_act;
};

void qc_qat_opts_default(qc_qat_opts *o)
{
  memset(o, 0, sizeof *o);
  qc_uniform_opts_default(&o->u);
  o->act_range_momentum = 0.99;
}

void qc_qat_free(qc_qat *q)
{
  free(q ? q->act : NULL);
  free(q);
}

int qc_qat_n_ranges(const qc_qat *q) { return q->n_act; }

qc_act_range qc_qat_range(const qc_qat *q, int i)
{
  qc_act_range r = {NULL, 0};
  if (i < 0 || i >= q->n_act) return r;
  r.value = q->g->values[q->act[i].x].name;
  r.thresh = q->act[i].thresh;
  return r;
}

static qc_status set_f(qc_graph *g, int32_t nid, const char *name, float v, qc_err *e)
{
  qc_node *n = &g->nodes[nid];
  for (int32_t k = 0; k < n->n_attrs; k++)
    if (strcmp(n->attrs[k].name, name) == 0) {
      n->attrs[k].f = v;
      return QC_OK;
    }
  qc_attr *a = qc_node_add_attr(g, nid, name, QC_ATTR_FLOAT, e);
  if (!a) return e && e->code ? e->code : QC_ERR_NOMEM;
  a->f = v;
  return QC_OK;
}

static qc_status set_i(qc_graph *g, int32_t nid, const char *name, int64_t v, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(g, nid, name, QC_ATTR_INT, e);
  if (!a) return e && e->code ? e->code : QC_ERR_NOMEM;
  a->i = v;
  return QC_OK;
}

/* Range i to threshold t: thresh and scale = fp32(t / L), the scale PTQ derives from t. */
static qc_status put_range(qc_qat *q, int i, float t, qc_err *e)
{
  act_t *a = &q->act[i];
  if (!(t > 0)) t = 1e-30f;
  a->thresh = t;
  float s = (float)((double)t / a->L);
  if (!(s > 0)) s = 1e-30f;
  qc_status st = set_f(q->g, a->node, "thresh", t, e);
  return st ? st : set_f(q->g, a->node, "scale", s, e);
}

qc_status qc_qat_set_range(qc_qat *q, int i, double thresh, qc_err *e)
{
  if (i < 0 || i >= q->n_act) return qc_err_set(e, QC_ERR_USAGE, "no range %d", i);
  if (!(thresh > 0 && isfinite(thresh)))
    return qc_err_set(e, QC_ERR_USAGE, "range %g must be > 0", thresh);
  return put_range(q, i, (float)thresh, e);
}

/* Replaces every use of value from by to (node inputs, graph outputs), except in node skip. */
static qc_status rewire(qc_graph *g, int32_t from, int32_t to, int32_t skip, qc_err *e)
{
  for (int32_t i = 0; i < g->n_nodes; i++) {
    if (i == skip) continue;
    qc_node *n = &g->nodes[i];
    for (int32_t k = 0; k < n->n_in; k++)
      if (n->in[k] == from) n->in[k] = to;
  }
  bool any = false;
  for (int32_t k = 0; k < g->n_outputs; k++) any |= g->outputs[k] == from;
  if (!any) return QC_OK;
  int32_t *outs = malloc(sizeof(int32_t) * (size_t)g->n_outputs);
  if (!outs) return qc_err_set(e, QC_ERR_NOMEM, "out of memory rewiring outputs");
  for (int32_t k = 0; k < g->n_outputs; k++) outs[k] = g->outputs[k] == from ? to : g->outputs[k];
  g->values[from].flags &= ~QC_VAL_OUTPUT;
  qc_status st = qc_graph_set_outputs(g, g->n_outputs, outs, e);
  free(outs);
  return st;
}

/* A preset range of an existing activation QcFakeQuant (checkpoint), by input value name. */
typedef struct {
  const char *name;
  float thresh;
} preset_t;

/* Removes every QcFakeQuant of g (consumers read its input again); records the activation
   ranges in *pre (names in g's arena). */
static qc_status strip(qc_graph *g, preset_t **pre, int *n_pre, qc_err *e)
{
  if (pre) *pre = NULL, *n_pre = 0;
  int cnt = 0;
  for (int32_t i = 0; i < g->n_nodes; i++) cnt += g->nodes[i].op == QC_OP_QcFakeQuant;
  if (cnt == 0) return QC_OK;
  if (pre && !(*pre = calloc((size_t)cnt, sizeof **pre)))
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory reading the QAT graph");
  for (int32_t i = 0; i < g->n_nodes; i++) {
    qc_node *n = &g->nodes[i];
    if (n->op != QC_OP_QcFakeQuant) continue;
    int32_t x = n->in[0], y = n->out[0];
    if (pre && qc_attr_i(n, "axis", -1) < 0) {
      float t = qc_attr_f(n, "thresh", 0);
      if (!(t > 0)) t = qc_attr_f(n, "scale", 0) * (float)qc_attr_i(n, "qmax", 1);
      (*pre)[(*n_pre)++] = (preset_t){g->values[x].name, t};
    }
    n->op = QC_OP_NONE;
    qc_status st = rewire(g, y, x, i, e);
    if (st) return st;
  }
  qc_graph_compact(g);
  return QC_OK;
}

/* Adds y = QcFakeQuant(x) to g and points x's consumers (but the new node) at y. */
static int32_t add_fq(qc_graph *g, int32_t x, const char *nm, int64_t axis, int32_t qmin,
                      int32_t qmax, bool only_node, int32_t node, qc_err *e)
{
  char buf[512];
  const qc_value *xv = &g->values[x];
  snprintf(buf, sizeof buf, "%s_fq", xv->name);
  for (int k = 1; qc_graph_find_value(g, buf) >= 0; k++)
    snprintf(buf, sizeof buf, "%.400s_fq%d", g->values[x].name, k);
  int32_t y = qc_graph_add_value(g, buf, QC_DT_F32, g->values[x].rank, g->values[x].dims, e);
  if (y < 0) return -1;
  int32_t nid = qc_graph_add_node(g, QC_OP_QcFakeQuant, nm, 1, &x, 1, &y, e);
  if (nid < 0 || set_i(g, nid, "axis", axis, e) || set_i(g, nid, "qmin", qmin, e) ||
      set_i(g, nid, "qmax", qmax, e))
    return -1;
  if (only_node) {
    qc_node *n = &g->nodes[node];
    for (int32_t k = 0; k < n->n_in; k++)
      if (n->in[k] == x) n->in[k] = y;
  } else if (rewire(g, x, y, nid, e)) {
    return -1;
  }
  return nid;
}

/* The channel axis of a layer's weight: Conv and Gemm(transB) [C, ...] -> 0; Gemm, MatMul
   [K, M] -> 1. */
static int64_t weight_axis(const qc_node *n)
{
  if (n->op == QC_OP_Conv) return 0;
  if (n->op == QC_OP_Gemm && qc_attr_i(n, "transB", 0)) return 0;
  return 1;
}

qc_status qc_qat_new(qc_graph *g, const qc_qat_opts *o, const qc_tensor *calib, int n_calib,
                     qc_qat **out, qc_err *e)
{
  *out = NULL;
  qc_qat_opts dflt;
  if (!o) qc_qat_opts_default(&dflt), o = &dflt;
  if (o->u.w_bits < 2 || o->u.w_bits > 8 || o->u.a_bits < 2 || o->u.a_bits > 8)
    return qc_err_set(e, QC_ERR_USAGE, "bits w=%d a=%d: each must be in 2..8", o->u.w_bits,
                      o->u.a_bits);
  if (!(o->act_range_momentum >= 0 && o->act_range_momentum < 1))
    return qc_err_set(e, QC_ERR_USAGE, "activation range momentum %g must be in [0, 1)",
                      o->act_range_momentum);
  qc_graph *f = qc_graph_clone(g, e);
  if (!f) return e && e->code ? e->code : QC_ERR_NOMEM;
  preset_t *pre = NULL;
  int n_pre = 0;
  qc_qpoint *pts = NULL;
  qc_qlayer *lay = NULL;
  qc_calib_point *cp = NULL;
  int n_pts = 0, n_lay = 0;
  qc_qat *q = calloc(1, sizeof *q);
  qc_status st = q ? QC_OK : qc_err_set(e, QC_ERR_NOMEM, "out of memory for QAT");
  if (st || (st = strip(f, &pre, &n_pre, e))) goto out;
  if ((st = qc_uniform_plan(f, &o->u, &pts, &n_pts, &lay, &n_lay, e))) goto out;
  /* Initial ranges: a checkpoint's, else calibration like PTQ. */
  float *t0 = calloc((size_t)n_pts + 1, sizeof *t0);
  cp = calloc((size_t)n_pts + 1, sizeof *cp);
  q->act = calloc((size_t)n_pts + 1, sizeof *q->act);
  if (!t0 || !cp || !q->act) {
    free(t0);
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for QAT");
    goto out;
  }
  int n_cal = 0;
  for (int k = 0; k < n_pts; k++) {
    const char *nm = f->values[pts[k].value].name;
    for (int r = 0; r < n_pre; r++)
      if (strcmp(pre[r].name, nm) == 0) t0[k] = pre[r].thresh;
    if (!(t0[k] > 0))
      cp[n_cal++] = (qc_calib_point){.value = pts[k].value, .bits = pts[k].bits,
                                     .is_unsigned = pts[k].is_unsigned};
  }
  if (n_cal > 0) {
    if (!calib || n_calib <= 0) {
      free(t0);
      st = qc_err_set(e, QC_ERR_USAGE, "QAT needs calibration batches for the initial ranges");
      goto out;
    }
    if ((st = qc_calibrate(f, &o->u.calib, calib, n_calib, cp, n_cal, o->u.threads, e))) {
      free(t0);
      goto out;
    }
    for (int k = 0, c = 0; k < n_pts; k++)
      if (!(t0[k] > 0)) t0[k] = (float)cp[c++].thresh;
  }
  /* Weights, then activations; node ids are fixed up after the sort. */
  char nm[512];
  for (int l = 0; l < n_lay && st == QC_OK; l++) {
    const qc_node *n = &f->nodes[lay[l].node];
    snprintf(nm, sizeof nm, "%s_wfq", n->name);
    int32_t nd = lay[l].node;
    if (add_fq(f, n->in[1], nm, weight_axis(n), -qc_q_levels(lay[l].w_bits, false),
               qc_q_levels(lay[l].w_bits, false), true, nd, e) < 0)
      st = e->code;
  }
  for (int k = 0; k < n_pts && st == QC_OK; k++) {
    snprintf(nm, sizeof nm, "%s_afq", f->values[pts[k].value].name);
    int32_t nid = add_fq(f, pts[k].value, nm, -1, pts[k].qmin, pts[k].qmax, false, -1, e);
    if (nid < 0) {
      st = e->code;
      break;
    }
    q->act[q->n_act++] = (act_t){nid, pts[k].value, qc_q_levels(pts[k].bits, pts[k].is_unsigned),
                                 pts[k].is_unsigned, t0[k]};
  }
  free(t0);
  if (st || (st = qc_graph_toposort(f, e))) goto out;
  for (int a = 0; a < q->n_act; a++)
    for (int32_t i = 0; i < f->n_nodes; i++)
      if (f->nodes[i].op == QC_OP_QcFakeQuant && f->nodes[i].in[0] == q->act[a].x &&
          qc_attr_i(&f->nodes[i], "axis", -1) < 0)
        q->act[a].node = i;
  q->g = f;
  for (int a = 0; a < q->n_act && st == QC_OK; a++) st = put_range(q, a, q->act[a].thresh, e);
  qc_infer_opts io = {false};
  if (st || (st = qc_pass_infer_shapes(f, &io, e)) || (st = qc_verify(f, e))) goto out;
  /* success: g takes f's contents */
  qc_graph tmp = *g;
  *g = *f;
  *f = tmp;
  q->g = g;
  q->o = *o;
  q->o.u.ranges = NULL, q->o.u.n_ranges = 0, q->o.u.config_path = NULL;
  if (o->u.config_path) {
    /* the config was applied by the plan; conversion replans, so keep a copy of the path */
    char *p = qc_arena_strdup(g->arena, o->u.config_path);
    if (!p) {
      st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for QAT");
      goto out;
    }
    q->o.u.config_path = p;
  }
  *out = q;
  q = NULL;
out:
  if (q) qc_qat_free(q);
  qc_graph_free(f);
  free(pre), free(pts), free(lay), free(cp);
  return st;
}

qc_status qc_qat_observe(qc_qat *q, const struct qc_ad *ad, qc_err *e)
{
  double m = q->o.act_range_momentum;
  for (int a = 0; a < q->n_act; a++) {
    const qc_tensor *t = qc_ad_value(ad, q->act[a].x);
    if (!t || t->dtype != QC_DT_F32)
      return qc_err_set(e, QC_ERR_USAGE, "QAT: no float activation '%s' in the last forward",
                        q->g->values[q->act[a].x].name);
    const float *x = t->data;
    float mx = 0;
    int64_t ne = qc_tensor_elems(t);
    if (q->act[a].is_unsigned)
      for (int64_t i = 0; i < ne; i++) mx = x[i] > mx ? x[i] : mx;
    else
      for (int64_t i = 0; i < ne; i++) mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    if (!isfinite(mx)) continue; /* a diverging batch leaves the range alone */
    /* HAWQ's act_range_momentum: r = m r + (1 - m) r_batch */
    float t1 = (float)(m * q->act[a].thresh + (1 - m) * mx);
    qc_status st = put_range(q, a, t1, e);
    if (st) return st;
  }
  return QC_OK;
}

qc_status qc_qat_convert(const qc_qat *q, qc_graph **out, qc_quant_report *rep, qc_err *e)
{
  *out = NULL;
  qc_graph *f = qc_graph_clone(q->g, e);
  if (!f) return e && e->code ? e->code : QC_ERR_NOMEM;
  qc_act_range *r = calloc((size_t)q->n_act + 1, sizeof *r);
  qc_status st = r ? QC_OK : qc_err_set(e, QC_ERR_NOMEM, "out of memory converting QAT");
  if (st == QC_OK) st = strip(f, NULL, NULL, e);
  if (st == QC_OK) {
    for (int a = 0; a < q->n_act; a++)
      r[a] = (qc_act_range){f->values[q->act[a].x].name, q->act[a].thresh};
    qc_uniform_opts u = q->o.u;
    u.ranges = r;
    u.n_ranges = q->n_act;
    st = qc_quantize_uniform(f, &u, NULL, 0, rep, e);
  }
  free(r);
  if (st) {
    qc_graph_free(f);
    return st;
  }
  *out = f;
  return QC_OK;
}
