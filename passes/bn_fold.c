/* BatchNormalization folding: Conv -> BN(inference) and Gemm -> BN(1-D features) become one
 * node with scaled weights and a new bias. With s[c] = gamma[c] / sqrt(var[c] + eps):
 *   w'[c,...] = w[c,...] * s[c],   b'[c] = (b[c] - mean[c]) * s[c] + beta[c]
 * computed in double and stored as f32. The producer must feed nothing but the BN. Also
 * MatMul(x, W) -> Add(bias) -> BN over the features of a 2-D tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pass_util.h"

/* A 1-D f32 constant with n entries, else NULL. */
static const float *const_vec(const qc_graph *g, int32_t id, int64_t n)
{
  if (id < 0 || id >= g->n_values) return NULL;
  const qc_value *v = &g->values[id];
  if (!(v->flags & QC_VAL_CONST) || !v->data || v->dtype != QC_DT_F32) return NULL;
  if (qc_shape_elems(v->rank, v->dims) != n || v->rank > 1) return NULL;
  return v->data;
}

static const qc_value *const_f32(const qc_graph *g, int32_t id)
{
  if (id < 0 || id >= g->n_values) return NULL;
  const qc_value *v = &g->values[id];
  if (!(v->flags & QC_VAL_CONST) || !v->data || v->dtype != QC_DT_F32) return NULL;
  if (qc_shape_elems(v->rank, v->dims) < 0) return NULL;
  return v;
}

/* A fresh value name derived from base. */
static void fresh_name(qc_graph *g, const char *base, const char *suffix, char *buf, size_t cap)
{
  snprintf(buf, cap, "%s%s", base, suffix);
  for (int k = 1; qc_graph_find_value(g, buf) >= 0; k++)
    snprintf(buf, cap, "%s%s_%d", base, suffix, k);
}

/* Per-channel factors of the BN node bn over c channels into s (scale) and t (shift):
   y = x * s + t. false when the BN cannot be folded. */
static bool bn_factors(const qc_graph *g, const qc_node *bn, int64_t c, double *s, double *t)
{
  if (bn->n_in != 5 || qc_attr_i(bn, "training_mode", 0) != 0) return false;
  for (int32_t k = 1; k < bn->n_out; k++)
    if (bn->out[k] >= 0) return false;
  const float *gamma = const_vec(g, bn->in[1], c), *beta = const_vec(g, bn->in[2], c);
  const float *mean = const_vec(g, bn->in[3], c), *var = const_vec(g, bn->in[4], c);
  if (!gamma || !beta || !mean || !var) return false;
  double eps = qc_attr_f(bn, "epsilon", 1e-5f);
  for (int64_t i = 0; i < c; i++) {
    double d = (double)var[i] + eps;
    if (!(d > 0)) return false;
    s[i] = (double)gamma[i] / sqrt(d);
    t[i] = (double)beta[i] - (double)mean[i] * s[i];
  }
  return true;
}

/* Sets input slot k of node nid (growing its input array in the arena when needed). */
static qc_status set_input(qc_graph *g, int32_t nid, int32_t k, int32_t v, qc_err *e)
{
  qc_node *n = &g->nodes[nid];
  if (k >= n->n_in) {
    int32_t *in = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)(k + 1));
    if (!in) return qc_err_set(e, QC_ERR_NOMEM, "out of memory folding batch norm");
    for (int32_t i = 0; i <= k; i++) in[i] = i < n->n_in ? n->in[i] : -1;
    n->in = in;
    n->n_in = k + 1;
  }
  n->in[k] = v;
  return QC_OK;
}

/* Folds BN node bid into producer pid (Conv or Gemm). Returns QC_OK with *done set when it
   folded; an error only on OOM. */
static qc_status fold_one(qc_graph *g, int32_t pid, int32_t bid, bool *done, qc_err *e)
{
  *done = false;
  const qc_node *p = &g->nodes[pid], *bn = &g->nodes[bid];
  const qc_value *w = const_f32(g, p->in[1]);
  if (!w || w->rank < 2) return QC_OK;
  int64_t c, inner; /* output channels; weight elements per channel (Conv, Gemm transB) */
  bool gemm = p->op == QC_OP_Gemm;
  bool transb = false;
  if (gemm) {
    if (w->rank != 2 || qc_attr_i(p, "transA", 0) != 0) return QC_OK;
    transb = qc_attr_i(p, "transB", 0) != 0;
    c = transb ? w->dims[0] : w->dims[1];
    inner = transb ? w->dims[1] : w->dims[0];
    /* BN over a 2-D [N, M] input normalizes axis 1 = the Gemm's M */
    const qc_value *x = &g->values[bn->in[0]];
    if (x->rank != 2) return QC_OK;
  } else {
    if (qc_attr_i(p, "group", 1) < 1) return QC_OK;
    c = w->dims[0];
    inner = qc_shape_elems(w->rank - 1, w->dims + 1);
  }
  int64_t nw = qc_shape_elems(w->rank, w->dims);
  if (c <= 0 || nw <= 0) return QC_OK;
  const float *bias = NULL;
  double beta_gemm = gemm ? qc_attr_f(p, "beta", 1.0f) : 1.0;
  if (p->n_in >= 3 && p->in[2] >= 0) {
    bias = const_vec(g, p->in[2], c);
    if (!bias) return QC_OK; /* a broadcast or non-constant bias: leave it */
  }
  double *s = malloc(sizeof(double) * (size_t)c * 2);
  float *nwv = malloc(sizeof(float) * (size_t)nw);
  float *nb = malloc(sizeof(float) * (size_t)c);
  if (!s || !nwv || !nb) {
    free(s), free(nwv), free(nb);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory folding batch norm");
  }
  double *t = s + c;
  qc_status st = QC_OK;
  if (!bn_factors(g, bn, c, s, t)) goto out;
  const float *wd = w->data;
  for (int64_t i = 0; i < nw; i++) {
    int64_t ch = gemm && !transb ? i % c : i / inner;
    nwv[i] = (float)((double)wd[i] * s[ch]);
  }
  for (int64_t i = 0; i < c; i++) {
    double b = bias ? (double)bias[i] * beta_gemm : 0.0;
    nb[i] = (float)(b * s[i] + t[i]);
  }
  /* names and values before any pointer into g is reused (adding values may move them) */
  char wname[256], bname[256];
  const char *pname = p->name ? p->name : "node";
  fresh_name(g, pname, "_w_bnfold", wname, sizeof wname);
  fresh_name(g, pname, "_b_bnfold", bname, sizeof bname);
  int wrank = w->rank;
  int64_t wdims[QC_MAX_RANK];
  memcpy(wdims, w->dims, sizeof wdims);
  int32_t wid = qc_graph_add_const(g, wname, QC_DT_F32, wrank, wdims, nwv, e);
  int64_t bd[1] = {c};
  int32_t bid2 = wid < 0 ? -1 : qc_graph_add_const(g, bname, QC_DT_F32, 1, bd, nb, e);
  if (bid2 < 0) {
    st = e && e->code ? e->code : QC_ERR_NOMEM;
    goto out;
  }
  /* alpha multiplies the folded weights exactly as it did the old ones */
  g->nodes[pid].in[1] = wid;
  if ((st = set_input(g, pid, 2, bid2, e))) goto out;
  if (gemm) {
    /* the bias already holds beta * C */
    qc_node *pn = &g->nodes[pid];
    for (int32_t k = 0; k < pn->n_attrs; k++)
      if (strcmp(pn->attrs[k].name, "beta") == 0) pn->attrs[k].f = 1.0f;
  }
  /* the producer now writes the BN's output; its old output dies */
  qc_node *pn = &g->nodes[pid], *bnn = &g->nodes[bid];
  int32_t y = bnn->out[0];
  g->values[pn->out[0]].producer = -1;
  pn->out[0] = y;
  g->values[y].producer = pid;
  bnn->op = QC_OP_NONE;
  *done = true;
out:
  free(s), free(nwv), free(nb);
  return st;
}

/* MatMul(x, W [K, M]) -> Add(bias [M]) -> BN over the M features of a 2-D tensor: W's columns
   and the bias are scaled; the Add then writes the BN's output. */
static qc_status fold_matmul_add(qc_graph *g, const int32_t *uses, int32_t aid, int32_t bid,
                                 bool *done, qc_err *e)
{
  *done = false;
  const qc_node *a = &g->nodes[aid], *bn = &g->nodes[bid];
  if (a->n_in != 2 || a->n_out != 1) return QC_OK;
  if (g->values[bn->in[0]].rank != 2) return QC_OK;
  for (int side = 0; side < 2; side++) {
    int32_t mv = a->in[side], bv = a->in[1 - side];
    if (mv < 0 || bv < 0 || g->values[mv].producer < 0 || uses[mv] != 1 ||
        (g->values[mv].flags & QC_VAL_OUTPUT))
      continue;
    int32_t mid = g->values[mv].producer;
    const qc_node *mm = &g->nodes[mid];
    if (mm->op != QC_OP_MatMul || mm->n_in != 2) continue;
    const qc_value *w = const_f32(g, mm->in[1]);
    if (!w || w->rank != 2) continue;
    int64_t k = w->dims[0], c = w->dims[1];
    const float *bias = const_vec(g, bv, c);
    if (!bias || c <= 0) continue;
    double *s = malloc(sizeof(double) * (size_t)c * 2);
    float *nw = malloc(sizeof(float) * (size_t)(k * c + 1));
    float *nb = malloc(sizeof(float) * (size_t)c);
    qc_status st = QC_OK;
    if (!s || !nw || !nb) {
      free(s), free(nw), free(nb);
      return qc_err_set(e, QC_ERR_NOMEM, "out of memory folding batch norm");
    }
    if (bn_factors(g, bn, c, s, s + c)) {
      const float *wd = w->data;
      for (int64_t i = 0; i < k * c; i++) nw[i] = (float)((double)wd[i] * s[i % c]);
      for (int64_t i = 0; i < c; i++) nb[i] = (float)((double)bias[i] * s[i] + s[c + i]);
      char wname[256], bname[256];
      const char *mname = mm->name ? mm->name : "node";
      fresh_name(g, mname, "_w_bnfold", wname, sizeof wname);
      fresh_name(g, mname, "_b_bnfold", bname, sizeof bname);
      int64_t wd2[2] = {k, c}, bd[1] = {c};
      int32_t wid = qc_graph_add_const(g, wname, QC_DT_F32, 2, wd2, nw, e);
      int32_t nbid = wid < 0 ? -1 : qc_graph_add_const(g, bname, QC_DT_F32, 1, bd, nb, e);
      if (nbid < 0) {
        st = e && e->code ? e->code : QC_ERR_NOMEM;
      } else {
        g->nodes[mid].in[1] = wid;
        qc_node *an = &g->nodes[aid], *bnn = &g->nodes[bid];
        an->in[1 - side] = nbid;
        int32_t y = bnn->out[0];
        g->values[an->out[0]].producer = -1;
        an->out[0] = y;
        g->values[y].producer = aid;
        bnn->op = QC_OP_NONE;
        *done = true;
      }
    }
    free(s), free(nw), free(nb);
    return st;
  }
  return QC_OK;
}

qc_status qc_pass_fold_batchnorm(qc_graph *g, qc_err *e)
{
  int32_t *uses = calloc((size_t)g->n_values + 1, sizeof(int32_t));
  if (!uses) return qc_err_set(e, QC_ERR_NOMEM, "out of memory folding batch norm");
  for (int32_t i = 0; i < g->n_nodes; i++)
    for (int32_t k = 0; k < g->nodes[i].n_in; k++)
      if (g->nodes[i].in[k] >= 0 && g->nodes[i].in[k] < g->n_values) uses[g->nodes[i].in[k]]++;
  bool any = false;
  qc_status st = QC_OK;
  for (int32_t i = 0; i < g->n_nodes && st == QC_OK; i++) {
    const qc_node *bn = &g->nodes[i];
    if (bn->op != QC_OP_BatchNormalization || bn->n_in < 1 || bn->n_out < 1) continue;
    int32_t x = bn->in[0];
    if (x < 0 || x >= g->n_values) continue;
    const qc_value *xv = &g->values[x];
    if (uses[x] != 1 || (xv->flags & QC_VAL_OUTPUT) || xv->producer < 0) continue;
    int32_t pid = xv->producer;
    const qc_node *p = &g->nodes[pid];
    bool done = false;
    if (p->op == QC_OP_Add) {
      st = fold_matmul_add(g, uses, pid, i, &done, e);
      any |= done;
      continue;
    }
    if ((p->op != QC_OP_Conv && p->op != QC_OP_Gemm) || p->n_out != 1 || p->n_in < 2) continue;
    st = fold_one(g, pid, i, &done, e);
    any |= done;
  }
  free(uses);
  if (st == QC_OK && any) qc_graph_compact(g);
  return st;
}
