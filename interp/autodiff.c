/* Reverse-mode autodiff: a forward executor that keeps every activation (one buffer per value),
   then a reverse sweep over the nodes calling each op's VJP (kernels.h). Gradient buffers are
   allocated zeroed per value on each backward; VJPs add into them, so fan-out sums. */
#include "autodiff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

struct qc_ad {
  qc_graph *g;
  qc_pool *pool;
  bool training;
  qc_kernel_fn kern[QC_OP_COUNT];
  qc_vjp_fn vjp[QC_OP_COUNT];
  qc_tensor *vals;  /* per value: its tensor in the last forward */
  uint8_t *owned;   /* per value: vals[v].data was allocated here */
  uint8_t *needs;   /* per value: a gradient flows to it */
  qc_tensor *grads; /* per value: its gradient after backward (data NULL when none) */
  int32_t *params, n_params;
  qc_node *bn_train; /* per node: BatchNormalization copy with training_mode = 1, else op NONE */
  qc_node *bn_eval;  /* the same with training_mode = 0 (a model exported in training mode) */
  int32_t max_io;
  qc_tinfo *tin, *tout;
  qc_tensor *kin, *kout, *kdout, *kdin;
  void *scratch;
  size_t scratch_bytes;
  const qc_node *cur;
  bool fwd_ok;
};

static void *scratch(qc_kctx *k, size_t bytes)
{
  qc_ad *ad = k->scratch_owner;
  if (bytes <= ad->scratch_bytes) return ad->scratch;
  free(ad->scratch);
  size_t need = (bytes + 63) & ~(size_t)63;
  ad->scratch = aligned_alloc(64, need);
  ad->scratch_bytes = ad->scratch ? need : 0;
  if (!ad->scratch)
    qc_node_err(k->err, ad->cur, QC_ERR_NOMEM, "out of memory for %zu bytes of scratch", bytes);
  return ad->scratch;
}

/* Inputs that carry no gradient whatever their dtype: statistics, shapes, bounds, indices. */
static bool diff_slot(qc_op op, int slot)
{
  switch (op) {
  case QC_OP_BatchNormalization: return slot < 3;
  case QC_OP_Clip:
  case QC_OP_Reshape:
  case QC_OP_Expand:
  case QC_OP_Tile:
  case QC_OP_Slice:
  case QC_OP_Pad:
  case QC_OP_Resize:
  case QC_OP_Unsqueeze:
  case QC_OP_Squeeze:
  case QC_OP_Dropout:
  case QC_OP_ReduceSum:
  case QC_OP_ReduceMean:
  case QC_OP_Gather:
  case QC_OP_Split: return slot == 0;
  default: return true;
  }
}

static bool is_float(const qc_value *v) { return v->dtype == QC_DT_F32 || v->dtype == QC_DT_UNDEF; }

static void free_grads(qc_ad *ad)
{
  if (!ad->grads) return;
  for (int32_t v = 0; v < ad->g->n_values; v++) {
    free(ad->grads[v].data);
    ad->grads[v].data = NULL;
  }
}

static void free_vals(qc_ad *ad)
{
  if (!ad->vals) return;
  for (int32_t v = 0; v < ad->g->n_values; v++)
    if (ad->owned[v]) {
      free(ad->vals[v].data);
      ad->vals[v].data = NULL;
      ad->owned[v] = 0;
    }
}

void qc_ad_free(qc_ad *ad)
{
  if (!ad) return;
  free_grads(ad);
  if (ad->owned) free_vals(ad);
  for (int32_t i = 0; ad->bn_train && ad->bn_eval && i < ad->g->n_nodes; i++) {
    if (ad->bn_train[i].op != QC_OP_NONE) free(ad->bn_train[i].attrs);
    if (ad->bn_eval[i].op != QC_OP_NONE) free(ad->bn_eval[i].attrs);
  }
  free(ad->bn_train);
  free(ad->bn_eval);
  free(ad->vals);
  free(ad->owned);
  free(ad->needs);
  free(ad->grads);
  free(ad->params);
  free(ad->tin);
  free(ad->tout);
  free(ad->kin);
  free(ad->kout);
  free(ad->kdout);
  free(ad->kdin);
  free(ad->scratch);
  qc_pool_free(ad->pool);
  free(ad);
}

void qc_ad_set_training(qc_ad *ad, bool training) { ad->training = training; }

int32_t qc_ad_n_params(const qc_ad *ad) { return ad->n_params; }
int32_t qc_ad_param(const qc_ad *ad, int32_t i)
{
  return i >= 0 && i < ad->n_params ? ad->params[i] : -1;
}

/* A copy of BatchNormalization node n with this training_mode (attrs copied, not shared). */
static qc_status make_bn(const qc_node *n, int64_t mode, qc_node *c, qc_err *e)
{
  *c = *n;
  c->attrs = calloc((size_t)n->n_attrs + 1, sizeof *c->attrs);
  if (!c->attrs) return qc_err_set(e, QC_ERR_NOMEM, "out of memory preparing autodiff");
  int32_t k = 0;
  for (int32_t i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, "training_mode")) c->attrs[k++] = n->attrs[i];
  c->attrs[k++] = (qc_attr){.name = "training_mode", .kind = QC_ATTR_INT, .i = mode};
  c->n_attrs = k;
  return QC_OK;
}

qc_status qc_ad_new(qc_graph *g, int threads, bool training, qc_ad **out, qc_err *e)
{
  *out = NULL;
  qc_ad *ad = calloc(1, sizeof *ad);
  if (!ad) return qc_err_set(e, QC_ERR_NOMEM, "out of memory creating autodiff");
  ad->g = g;
  ad->training = training;
  qc_kernels_collect(ad->kern);
  qc_vjps_collect(ad->vjp);
  size_t nv = (size_t)g->n_values + 1;
  ad->vals = calloc(nv, sizeof *ad->vals);
  ad->owned = calloc(nv, 1);
  ad->needs = calloc(nv, 1);
  ad->grads = calloc(nv, sizeof *ad->grads);
  ad->params = calloc(nv, sizeof *ad->params);
  ad->bn_train = calloc((size_t)g->n_nodes + 1, sizeof *ad->bn_train);
  ad->bn_eval = calloc((size_t)g->n_nodes + 1, sizeof *ad->bn_eval);
  uint8_t *reach = calloc(nv, 1);
  qc_status st = QC_OK;
  if (!ad->vals || !ad->owned || !ad->needs || !ad->grads || !ad->params || !ad->bn_train ||
      !ad->bn_eval || !reach) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory creating autodiff");
    goto fail;
  }
  for (int32_t ni = 0; ni < g->n_nodes; ni++) {
    const qc_node *n = &g->nodes[ni];
    ad->bn_train[ni].op = ad->bn_eval[ni].op = QC_OP_NONE;
    if (n->op == QC_OP_NONE) continue;
    if ((unsigned)n->op >= QC_OP_COUNT || !ad->kern[n->op]) {
      st = qc_node_err(e, n, QC_ERR_UNSUPPORTED, "no reference kernel");
      goto fail;
    }
    if (n->n_in > ad->max_io) ad->max_io = n->n_in;
    if (n->n_out > ad->max_io) ad->max_io = n->n_out;
    if (n->op == QC_OP_BatchNormalization &&
        ((st = make_bn(n, 1, &ad->bn_train[ni], e)) || (st = make_bn(n, 0, &ad->bn_eval[ni], e))))
      goto fail;
  }
  /* Values reaching a graph output, backwards. */
  for (int32_t i = 0; i < g->n_outputs; i++) reach[g->outputs[i]] = 1;
  for (int32_t ni = g->n_nodes - 1; ni >= 0; ni--) {
    const qc_node *n = &g->nodes[ni];
    if (n->op == QC_OP_NONE) continue;
    bool r = false;
    for (int32_t i = 0; i < n->n_out; i++) r |= n->out[i] >= 0 && reach[n->out[i]];
    if (r)
      for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && diff_slot(n->op, i)) reach[n->in[i]] = 1;
  }
  /* Gradients flow from float graph inputs and parameters forwards. */
  for (int32_t i = 0; i < g->n_inputs; i++)
    if (is_float(&g->values[g->inputs[i]])) ad->needs[g->inputs[i]] = reach[g->inputs[i]];
  uint8_t *isparam = reach; /* reuse: mark params with 2 */
  for (int32_t ni = 0; ni < g->n_nodes; ni++) {
    const qc_node *n = &g->nodes[ni];
    if (n->op == QC_OP_NONE) continue;
    for (int32_t i = 0; i < n->n_in; i++) {
      int32_t v = n->in[i];
      if (v < 0 || !diff_slot(n->op, i) || !reach[v]) continue;
      const qc_value *val = &g->values[v];
      if ((val->flags & QC_VAL_CONST) && val->dtype == QC_DT_F32 && val->data) {
        ad->needs[v] = 1;
        isparam[v] = 2;
      }
    }
    bool any = false;
    for (int32_t i = 0; i < n->n_in; i++)
      any |= n->in[i] >= 0 && diff_slot(n->op, i) && ad->needs[n->in[i]];
    if (!any) continue;
    bool flows = false;
    for (int32_t i = 0; i < n->n_out; i++) {
      int32_t v = n->out[i];
      if (v >= 0 && reach[v] && is_float(&g->values[v])) {
        ad->needs[v] = 1;
        flows = true;
      }
    }
    if (flows && !ad->vjp[n->op]) {
      st = qc_node_err(e, n, QC_ERR_UNSUPPORTED, "no vector-Jacobian product for %s",
                       qc_op_name(n->op));
      goto fail;
    }
  }
  for (int32_t v = 0; v < g->n_values; v++)
    if (isparam[v] == 2) ad->params[ad->n_params++] = v;
  free(reach);
  reach = NULL;
  size_t m = (size_t)ad->max_io + 1;
  ad->tin = calloc(m, sizeof *ad->tin);
  ad->tout = calloc(m, sizeof *ad->tout);
  ad->kin = calloc(m, sizeof *ad->kin);
  ad->kout = calloc(m, sizeof *ad->kout);
  ad->kdout = calloc(m, sizeof *ad->kdout);
  ad->kdin = calloc(m, sizeof *ad->kdin);
  if (!ad->tin || !ad->tout || !ad->kin || !ad->kout || !ad->kdout || !ad->kdin) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory creating autodiff");
    goto fail;
  }
  ad->pool = qc_pool_new(threads, e);
  if (!ad->pool) {
    st = e ? e->code : QC_ERR_NOMEM;
    goto fail;
  }
  *out = ad;
  return QC_OK;
fail:
  free(reach);
  qc_ad_free(ad);
  return st;
}

/* ---- forward ---------------------------------------------------------------------------- */

static void to_tinfo(const qc_tensor *t, qc_tinfo *ti)
{
  ti->dtype = t->dtype;
  ti->rank = t->rank;
  memcpy(ti->dims, t->dims, sizeof ti->dims);
  ti->data = t->data;
}

/* Training-mode running statistics, PyTorch's rule: running = running * m + batch * (1 - m)
   with the unbiased batch variance (ONNX momentum m is 1 - PyTorch's momentum). */
static void bn_update_running(qc_ad *ad, const qc_node *n)
{
  qc_graph *g = ad->g;
  const qc_tensor *x = &ad->vals[n->in[0]];
  if (n->n_in < 5 || n->in[3] < 0 || n->in[4] < 0) return;
  qc_value *rm = &g->values[n->in[3]], *rv = &g->values[n->in[4]];
  if (!(rm->flags & QC_VAL_CONST) || !(rv->flags & QC_VAL_CONST) || rm->dtype != QC_DT_F32 ||
      rv->dtype != QC_DT_F32)
    return;
  int64_t N = x->dims[0], C = x->dims[1], plane = 1;
  for (int i = 2; i < x->rank; i++) plane *= x->dims[i];
  double cnt = (double)(N * plane);
  float mom = qc_attr_f(n, "momentum", 0.9f);
  const float *xd = x->data;
  float *mean = rm->data, *var = rv->data;
  for (int64_t c = 0; c < C; c++) {
    double s = 0, sq = 0;
    for (int64_t b = 0; b < N; b++)
      for (int64_t i = 0; i < plane; i++) s += xd[(b * C + c) * plane + i];
    double mu = s / cnt;
    for (int64_t b = 0; b < N; b++)
      for (int64_t i = 0; i < plane; i++) {
        double d = xd[(b * C + c) * plane + i] - mu;
        sq += d * d;
      }
    double uv = cnt > 1 ? sq / (cnt - 1) : sq;
    mean[c] = (float)(mean[c] * mom + mu * (1 - mom));
    var[c] = (float)(var[c] * mom + uv * (1 - mom));
  }
}

static const qc_node *node_for(const qc_ad *ad, int32_t ni)
{
  const qc_node *n = &ad->g->nodes[ni];
  if (n->op == QC_OP_BatchNormalization)
    return ad->training ? &ad->bn_train[ni] : &ad->bn_eval[ni];
  return n;
}

qc_status qc_ad_forward(qc_ad *ad, const qc_tensor *inputs, int n_in, qc_err *e)
{
  qc_graph *g = ad->g;
  qc_err local;
  if (!e) {
    qc_err_clear(&local);
    e = &local;
  }
  ad->fwd_ok = false;
  free_grads(ad);
  free_vals(ad);
  if (n_in != g->n_inputs)
    return qc_err_set(e, QC_ERR_INVALID, "expected %d inputs, got %d", g->n_inputs, n_in);
  if (n_in > 0 && !inputs)
    return qc_err_set(e, QC_ERR_USAGE, "%d inputs given as a NULL array", n_in);
  for (int32_t v = 0; v < g->n_values; v++) {
    const qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST)) continue;
    qc_tensor *t = &ad->vals[v];
    t->dtype = val->dtype;
    t->rank = val->rank;
    memcpy(t->dims, val->dims, sizeof t->dims);
    t->data = val->data;
  }
  for (int32_t i = 0; i < g->n_inputs; i++) {
    const qc_value *val = &g->values[g->inputs[i]];
    if (val->dtype != QC_DT_UNDEF && inputs[i].dtype != val->dtype)
      return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected dtype %s, got %s", val->name,
                        qc_dtype_name(val->dtype), qc_dtype_name(inputs[i].dtype));
    if (val->rank >= 0 && inputs[i].rank != val->rank)
      return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected rank %d, got %d", val->name,
                        val->rank, inputs[i].rank);
    for (int d = 0; val->rank >= 0 && d < val->rank; d++)
      if (val->dims[d] >= 0 && inputs[i].dims[d] != val->dims[d])
        return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected dim %d to be %lld, got %lld",
                          val->name, d, (long long)val->dims[d], (long long)inputs[i].dims[d]);
    if (qc_tensor_bytes(&inputs[i]) < 0 || (qc_tensor_bytes(&inputs[i]) > 0 && !inputs[i].data))
      return qc_err_set(e, QC_ERR_INVALID, "input '%s': data is NULL or too large", val->name);
    ad->vals[g->inputs[i]] = inputs[i];
  }
  qc_kctx kc = {.pool = ad->pool, .err = e, .scratch = scratch, .scratch_owner = ad};
  for (int32_t ni = 0; ni < g->n_nodes; ni++) {
    const qc_node *n = node_for(ad, ni);
    if (n->op == QC_OP_NONE) continue;
    ad->cur = n;
    for (int32_t i = 0; i < n->n_in; i++) {
      if (n->in[i] < 0) {
        memset(&ad->tin[i], 0, sizeof ad->tin[i]);
        memset(&ad->kin[i], 0, sizeof ad->kin[i]);
        continue;
      }
      ad->kin[i] = ad->vals[n->in[i]];
      to_tinfo(&ad->kin[i], &ad->tin[i]);
    }
    for (int32_t i = 0; i < n->n_out; i++) {
      memset(&ad->tout[i], 0, sizeof ad->tout[i]);
      ad->tout[i].rank = -1;
    }
    qc_status st = qc_infer_node(n, ad->tin, n->n_in, ad->tout, n->n_out, e);
    if (st) return st;
    for (int32_t i = 0; i < n->n_out; i++) {
      int32_t v = n->out[i];
      qc_tensor *t = &ad->kout[i];
      memset(t, 0, sizeof *t);
      if (v < 0) continue;
      const qc_tinfo *to = &ad->tout[i];
      if (to->dtype == QC_DT_UNDEF || to->rank < 0)
        return qc_node_err(e, n, QC_ERR_INTERNAL, "output '%s' has no dtype or rank at run time",
                           g->values[v].name);
      for (int d = 0; d < to->rank; d++)
        if (to->dims[d] < 0)
          return qc_node_err(e, n, QC_ERR_INTERNAL, "dim %d of output '%s' unknown at run time",
                             d, g->values[v].name);
      t->dtype = to->dtype;
      t->rank = to->rank;
      memcpy(t->dims, to->dims, sizeof t->dims);
      int64_t bytes = qc_tensor_bytes(t);
      if (bytes < 0)
        return qc_node_err(e, n, QC_ERR_NOMEM, "output '%s' has too many elements",
                           g->values[v].name);
      t->data = calloc(1, (size_t)bytes + 1);
      if (!t->data)
        return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory for output '%s'",
                           g->values[v].name);
      ad->vals[v] = *t;
      ad->owned[v] = 1;
    }
    st = ad->kern[n->op](&kc, n, ad->kin, n->n_in, ad->kout, n->n_out);
    if (st) {
      if (e->code == QC_OK) qc_node_err(e, n, st, "kernel failed");
      return e->code;
    }
    if (n->op == QC_OP_BatchNormalization && ad->training) bn_update_running(ad, n);
  }
  ad->fwd_ok = true;
  return QC_OK;
}

const qc_tensor *qc_ad_output(const qc_ad *ad, int i)
{
  if (!ad->fwd_ok || i < 0 || i >= ad->g->n_outputs) return NULL;
  return &ad->vals[ad->g->outputs[i]];
}

const qc_tensor *qc_ad_value(const qc_ad *ad, int32_t value_id)
{
  if (!ad->fwd_ok || value_id < 0 || value_id >= ad->g->n_values || !ad->vals[value_id].data)
    return NULL;
  return &ad->vals[value_id];
}

/* ---- backward --------------------------------------------------------------------------- */

qc_status qc_ad_backward(qc_ad *ad, const qc_tensor *d_outputs, int n_out, qc_err *e)
{
  qc_graph *g = ad->g;
  qc_err local;
  if (!e) {
    qc_err_clear(&local);
    e = &local;
  }
  if (!ad->fwd_ok) return qc_err_set(e, QC_ERR_USAGE, "backward without a successful forward");
  if (n_out != g->n_outputs)
    return qc_err_set(e, QC_ERR_INVALID, "expected %d output gradients, got %d", g->n_outputs,
                      n_out);
  if (n_out > 0 && !d_outputs)
    return qc_err_set(e, QC_ERR_USAGE, "%d output gradients given as a NULL array", n_out);
  free_grads(ad);
  for (int32_t v = 0; v < g->n_values; v++) {
    if (!ad->needs[v]) continue;
    qc_tensor *t = &ad->grads[v];
    *t = ad->vals[v];
    t->data = calloc(1, (size_t)qc_tensor_bytes(t) + 1);
    if (!t->data) return qc_err_set(e, QC_ERR_NOMEM, "out of memory for gradients");
  }
  for (int32_t i = 0; i < g->n_outputs; i++) {
    int32_t v = g->outputs[i];
    const qc_tensor *d = &d_outputs[i];
    if (!d->data || !ad->needs[v]) continue;
    if (d->dtype != QC_DT_F32 || qc_tensor_elems(d) != qc_tensor_elems(&ad->vals[v]))
      return qc_err_set(e, QC_ERR_INVALID,
                        "gradient of output '%s' must be f32 with %lld elements",
                        g->values[v].name, (long long)qc_tensor_elems(&ad->vals[v]));
    float *gd = ad->grads[v].data;
    const float *dd = d->data;
    for (int64_t k = 0, ne = qc_tensor_elems(d); k < ne; k++) gd[k] += dd[k];
  }
  qc_kctx kc = {.pool = ad->pool, .err = e, .scratch = scratch, .scratch_owner = ad};
  for (int32_t ni = g->n_nodes - 1; ni >= 0; ni--) {
    const qc_node *n = node_for(ad, ni);
    if (n->op == QC_OP_NONE) continue;
    bool flows = false, wants = false;
    for (int32_t i = 0; i < n->n_out; i++) flows |= n->out[i] >= 0 && ad->needs[n->out[i]];
    for (int32_t i = 0; i < n->n_in; i++)
      wants |= n->in[i] >= 0 && diff_slot(n->op, i) && ad->needs[n->in[i]];
    if (!flows || !wants) continue;
    ad->cur = n;
    for (int32_t i = 0; i < n->n_in; i++) {
      int32_t v = n->in[i];
      memset(&ad->kin[i], 0, sizeof ad->kin[i]);
      memset(&ad->kdin[i], 0, sizeof ad->kdin[i]);
      if (v < 0) continue;
      ad->kin[i] = ad->vals[v];
      ad->kdin[i] = ad->vals[v];
      ad->kdin[i].data = diff_slot(n->op, i) && ad->needs[v] ? ad->grads[v].data : NULL;
    }
    for (int32_t i = 0; i < n->n_out; i++) {
      int32_t v = n->out[i];
      memset(&ad->kout[i], 0, sizeof ad->kout[i]);
      memset(&ad->kdout[i], 0, sizeof ad->kdout[i]);
      if (v < 0) continue;
      ad->kout[i] = ad->vals[v];
      ad->kdout[i] = ad->vals[v];
      ad->kdout[i].data = ad->needs[v] ? ad->grads[v].data : NULL;
    }
    qc_status st =
        ad->vjp[n->op](&kc, n, ad->kin, n->n_in, ad->kout, n->n_out, ad->kdout, ad->kdin);
    if (st) {
      if (e->code == QC_OK) qc_node_err(e, n, st, "vector-Jacobian product failed");
      return e->code;
    }
  }
  return QC_OK;
}

const qc_tensor *qc_ad_grad(const qc_ad *ad, int32_t value_id)
{
  if (value_id < 0 || value_id >= ad->g->n_values || !ad->grads[value_id].data) return NULL;
  return &ad->grads[value_id];
}
