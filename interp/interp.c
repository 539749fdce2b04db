/* The reference executor: walks the nodes in order, infers each node's output shapes from its
   concrete inputs, allocates the outputs and calls the op's kernel. Activation buffers are
   reference-counted: when a value's last consumer has run its buffer goes to a free list and is
   reused by a later output, so a deep network holds only its live activations. Constants are
   used in place; the caller's inputs are borrowed for the duration of the run. */
#include "interp.h"

#include <stdlib.h>
#include <string.h>
#include "kernels.h"

typedef struct {
  void *p;
  size_t cap;
} buf;

struct qc_interp {
  const qc_graph *g;
  qc_pool *pool;
  qc_kernel_fn kern[QC_OP_COUNT];
  qc_tensor *vals;   /* per value: its tensor in the current run (data NULL when absent) */
  size_t *cap;       /* per value: capacity of its buffer when the interpreter owns it, else 0 */
  int32_t *uses;     /* per value: consuming input slots */
  int32_t *left;     /* per value: consumers still to run */
  int64_t *bind;     /* per symbol: its size in the current run, -1 unbound */
  buf *free_bufs;    /* released buffers, reused by later outputs and runs */
  int32_t n_free, cap_free;
  buf *pinned;       /* last run's buffers that this run's inputs point into */
  int32_t n_pinned;
  int32_t max_in, max_out;
  qc_tinfo *tin, *tout;
  qc_tensor *kin, *kout;
  void *scratch;
  size_t scratch_bytes;
  const qc_node *cur; /* node being run, for scratch errors */
  qc_interp_observer obs;
  void *obs_user;
  bool ok; /* the last run completed */
};

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* ---- buffers ---------------------------------------------------------------------------- */

/* Gives value v's buffer back to the free list (or frees it when the list cannot grow). */
static void release(qc_interp *it, int32_t v)
{
  if (!it->cap[v]) return;
  if (it->n_free == it->cap_free) {
    int32_t nc = it->cap_free ? it->cap_free * 2 : 32;
    buf *nb = realloc(it->free_bufs, sizeof(buf) * (size_t)nc);
    if (!nb) {
      free(it->vals[v].data);
      goto done;
    }
    it->free_bufs = nb;
    it->cap_free = nc;
  }
  it->free_bufs[it->n_free++] = (buf){it->vals[v].data, it->cap[v]};
done:
  it->cap[v] = 0;
  it->vals[v].data = NULL;
}

/* A buffer of at least bytes: the smallest free one that is not more than twice too big, else
   a fresh one. */
static void *acquire(qc_interp *it, size_t bytes, size_t *cap)
{
  size_t need = round64(bytes ? bytes : 1);
  int32_t best = -1;
  for (int32_t i = 0; i < it->n_free; i++) {
    size_t c = it->free_bufs[i].cap;
    if (c >= need && c / 2 <= need && (best < 0 || c < it->free_bufs[best].cap)) best = i;
  }
  if (best >= 0) {
    void *p = it->free_bufs[best].p;
    *cap = it->free_bufs[best].cap;
    it->free_bufs[best] = it->free_bufs[--it->n_free];
    return p;
  }
  void *p = aligned_alloc(64, need);
  if (!p && it->n_free) { /* memory is tight: drop the cached buffers and retry */
    for (int32_t i = 0; i < it->n_free; i++) free(it->free_bufs[i].p);
    it->n_free = 0;
    p = aligned_alloc(64, need);
  }
  *cap = p ? need : 0;
  return p;
}

static bool points_into(const void *p, const void *base, size_t cap)
{
  uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
  return p && a >= b && a - b < cap;
}

/* Releases every buffer of the last run, except those the caller feeds back as inputs of this
   run (an output used as the next input): they are pinned until the run ends. */
static void release_all(qc_interp *it, const qc_tensor *inputs, int n_in)
{
  for (int32_t v = 0; v < it->g->n_values; v++) {
    bool pin = false;
    for (int i = 0; i < n_in && it->cap[v] && !pin; i++)
      pin = points_into(inputs[i].data, it->vals[v].data, it->cap[v]);
    if (pin) {
      it->pinned[it->n_pinned++] = (buf){it->vals[v].data, it->cap[v]};
      it->cap[v] = 0;
    }
    release(it, v);
    if (!(it->g->values[v].flags & QC_VAL_CONST)) it->vals[v].data = NULL;
  }
}

/* Moves the pinned buffers to the free list once the run no longer reads its inputs. */
static void unpin(qc_interp *it)
{
  for (int32_t i = 0; i < it->n_pinned; i++) {
    int32_t v = it->g->n_values; /* the spare slot past the last value */
    it->vals[v].data = it->pinned[i].p;
    it->cap[v] = it->pinned[i].cap;
    release(it, v);
  }
  it->n_pinned = 0;
}

static void *scratch(qc_kctx *k, size_t bytes)
{
  qc_interp *it = k->scratch_owner;
  if (bytes <= it->scratch_bytes) return it->scratch;
  free(it->scratch);
  size_t need = round64(bytes);
  it->scratch = aligned_alloc(64, need);
  it->scratch_bytes = it->scratch ? need : 0;
  if (!it->scratch)
    qc_node_err(k->err, it->cur, QC_ERR_NOMEM, "out of memory for %zu bytes of scratch", bytes);
  return it->scratch;
}

/* ---- setup ------------------------------------------------------------------------------ */

void qc_interp_free(qc_interp *it)
{
  if (!it) return;
  if (it->vals && it->cap) {
    release_all(it, NULL, 0);
    if (it->pinned) unpin(it);
  }
  for (int32_t i = 0; i < it->n_free; i++) free(it->free_bufs[i].p);
  free(it->free_bufs);
  free(it->pinned);
  free(it->vals);
  free(it->cap);
  free(it->uses);
  free(it->left);
  free(it->bind);
  free(it->tin);
  free(it->tout);
  free(it->kin);
  free(it->kout);
  free(it->scratch);
  qc_pool_free(it->pool);
  free(it);
}

/* Every node has a kernel and reads only values that exist by the time it runs. */
static qc_status check_graph(qc_interp *it, qc_err *e)
{
  const qc_graph *g = it->g;
  uint8_t *avail = calloc((size_t)g->n_values + 1, 1);
  if (!avail) return qc_err_set(e, QC_ERR_NOMEM, "out of memory preparing the interpreter");
  qc_status st = QC_OK;
  for (int32_t v = 0; v < g->n_values; v++)
    avail[v] = (g->values[v].flags & QC_VAL_CONST) != 0;
  for (int32_t i = 0; i < g->n_inputs; i++) avail[g->inputs[i]] = 1;
  for (int32_t ni = 0; ni < g->n_nodes && !st; ni++) {
    const qc_node *n = &g->nodes[ni];
    if (n->op == QC_OP_NONE) continue;
    if ((unsigned)n->op >= QC_OP_COUNT || !it->kern[n->op]) {
      st = qc_node_err(e, n, QC_ERR_UNSUPPORTED, "no reference kernel");
      break;
    }
    for (int32_t i = 0; i < n->n_in && !st; i++) {
      int32_t v = n->in[i];
      if (v < -1 || v >= g->n_values)
        st = qc_node_err(e, n, QC_ERR_INVALID, "input %d has an invalid value id %d", i, v);
      else if (v >= 0 && !avail[v])
        st = qc_node_err(e, n, QC_ERR_INVALID,
                         "input '%s' is not a graph input, a constant or an earlier node's "
                         "output",
                         g->values[v].name);
    }
    for (int32_t i = 0; i < n->n_out && !st; i++) {
      int32_t v = n->out[i];
      if (v < -1 || v >= g->n_values)
        st = qc_node_err(e, n, QC_ERR_INVALID, "output %d has an invalid value id %d", i, v);
      else if (v >= 0 && avail[v])
        st = qc_node_err(e, n, QC_ERR_INVALID, "output '%s' is already defined",
                         g->values[v].name);
      else if (v >= 0)
        avail[v] = 1;
    }
    if (n->n_in > it->max_in) it->max_in = n->n_in;
    if (n->n_out > it->max_out) it->max_out = n->n_out;
  }
  for (int32_t i = 0; i < g->n_outputs && !st; i++) {
    int32_t v = g->outputs[i];
    if (v < 0 || v >= g->n_values || !avail[v])
      st = qc_err_set(e, QC_ERR_INVALID, "graph output %d ('%s') is never computed", i,
                      v >= 0 && v < g->n_values ? g->values[v].name : "?");
  }
  free(avail);
  return st;
}

qc_status qc_interp_new(const qc_graph *g, int threads, qc_interp **out, qc_err *e)
{
  *out = NULL;
  qc_interp *it = calloc(1, sizeof *it);
  if (!it) return qc_err_set(e, QC_ERR_NOMEM, "out of memory creating the interpreter");
  it->g = g;
  qc_kernels_collect(it->kern);
  qc_status st = check_graph(it, e);
  if (st) {
    qc_interp_free(it);
    return st;
  }
  size_t nv = (size_t)g->n_values + 1;
  it->vals = calloc(nv, sizeof *it->vals);
  it->cap = calloc(nv, sizeof *it->cap);
  it->uses = calloc(nv, sizeof *it->uses);
  it->left = calloc(nv, sizeof *it->left);
  it->bind = calloc((size_t)g->n_syms + 1, sizeof *it->bind);
  it->pinned = calloc(nv, sizeof *it->pinned);
  it->tin = calloc((size_t)it->max_in + 1, sizeof *it->tin);
  it->kin = calloc((size_t)it->max_in + 1, sizeof *it->kin);
  it->tout = calloc((size_t)it->max_out + 1, sizeof *it->tout);
  it->kout = calloc((size_t)it->max_out + 1, sizeof *it->kout);
  if (!it->vals || !it->cap || !it->uses || !it->left || !it->bind || !it->pinned || !it->tin ||
      !it->kin || !it->tout || !it->kout) {
    qc_interp_free(it);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory creating the interpreter");
  }
  it->pool = qc_pool_new(threads, e);
  if (!it->pool) {
    qc_interp_free(it);
    return e ? e->code : QC_ERR_NOMEM;
  }
  for (int32_t v = 0; v < g->n_values; v++) {
    const qc_value *val = &g->values[v];
    if (!(val->flags & QC_VAL_CONST)) continue;
    qc_tensor *t = &it->vals[v];
    t->dtype = val->dtype;
    t->rank = val->rank;
    memcpy(t->dims, val->dims, sizeof t->dims);
    t->data = val->data;
  }
  for (int32_t ni = 0; ni < g->n_nodes; ni++) {
    const qc_node *n = &g->nodes[ni];
    if (n->op == QC_OP_NONE) continue;
    for (int32_t i = 0; i < n->n_in; i++)
      if (n->in[i] >= 0) it->uses[n->in[i]]++;
  }
  *out = it;
  return QC_OK;
}

void qc_interp_set_observer(qc_interp *it, qc_interp_observer fn, void *user)
{
  it->obs = fn;
  it->obs_user = user;
}

const qc_tensor *qc_interp_output(const qc_interp *it, int i)
{
  if (!it->ok || i < 0 || i >= it->g->n_outputs) return NULL;
  return &it->vals[it->g->outputs[i]];
}

/* ---- running ---------------------------------------------------------------------------- */

static bool is_output(const qc_graph *g, int32_t v) { return g->values[v].flags & QC_VAL_OUTPUT; }

/* One caller tensor against its graph input: dtype, rank, known dims, consistent symbols. */
static qc_status check_input(qc_interp *it, const qc_value *val, const qc_tensor *t, qc_err *e)
{
  const qc_graph *g = it->g;
  if (val->dtype != QC_DT_UNDEF && t->dtype != val->dtype)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected dtype %s, got %s", val->name,
                      qc_dtype_name(val->dtype), qc_dtype_name(t->dtype));
  if (t->dtype <= QC_DT_UNDEF || t->dtype >= QC_DT_COUNT)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': invalid dtype %d", val->name,
                      (int)t->dtype);
  if (t->rank < 0 || t->rank > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': invalid rank %d", val->name, t->rank);
  if (val->rank >= 0 && t->rank != val->rank)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected rank %d, got %d", val->name,
                      val->rank, t->rank);
  for (int i = 0; i < t->rank; i++) {
    int64_t d = t->dims[i], want = val->rank >= 0 ? val->dims[i] : QC_DIM_UNKNOWN;
    if (d < 0)
      return qc_err_set(e, QC_ERR_INVALID, "input '%s': dim %d is negative (%lld)", val->name,
                        i, (long long)d);
    if (want >= 0 && d != want)
      return qc_err_set(e, QC_ERR_INVALID, "input '%s': expected dim %d to be %lld, got %lld",
                        val->name, i, (long long)want, (long long)d);
    if (want <= -2) {
      int32_t s = QC_DIM_SYM_INDEX(want);
      if (s >= g->n_syms) continue;
      if (it->bind[s] < 0) {
        it->bind[s] = d;
      } else if (it->bind[s] != d) {
        return qc_err_set(e, QC_ERR_INVALID,
                          "input '%s': dim %d ('%s') is %lld, but an earlier input has %s = %lld",
                          val->name, i, g->syms[s], (long long)d, g->syms[s],
                          (long long)it->bind[s]);
      }
    }
  }
  int64_t bytes = qc_tensor_bytes(t);
  if (bytes < 0)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': too many elements", val->name);
  if (bytes > 0 && !t->data)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s': data is NULL", val->name);
  return QC_OK;
}

/* A graph output that is a graph input is copied, so it outlives the caller's tensor. */
static qc_status copy_passthrough(qc_interp *it, qc_err *e)
{
  const qc_graph *g = it->g;
  for (int32_t i = 0; i < g->n_outputs; i++) {
    int32_t v = g->outputs[i];
    if (!(g->values[v].flags & QC_VAL_INPUT) || it->cap[v]) continue;
    qc_tensor *t = &it->vals[v];
    size_t bytes = (size_t)qc_tensor_bytes(t);
    void *p = acquire(it, bytes, &it->cap[v]);
    if (!p)
      return qc_err_set(e, QC_ERR_NOMEM, "out of memory copying graph output '%s'",
                        g->values[v].name);
    if (bytes) memcpy(p, t->data, bytes);
    t->data = p;
  }
  return QC_OK;
}

static qc_status run_node(qc_interp *it, int32_t ni, qc_kctx *kc, qc_err *e)
{
  const qc_graph *g = it->g;
  const qc_node *n = &g->nodes[ni];
  it->cur = n;
  for (int32_t i = 0; i < n->n_in; i++) {
    int32_t v = n->in[i];
    qc_tinfo *ti = &it->tin[i];
    if (v < 0) {
      memset(ti, 0, sizeof *ti);
      memset(&it->kin[i], 0, sizeof it->kin[i]);
      continue;
    }
    it->kin[i] = it->vals[v];
    ti->dtype = it->kin[i].dtype;
    ti->rank = it->kin[i].rank;
    memcpy(ti->dims, it->kin[i].dims, sizeof ti->dims);
    ti->data = it->kin[i].data;
  }
  for (int32_t i = 0; i < n->n_out; i++) {
    memset(&it->tout[i], 0, sizeof it->tout[i]);
    it->tout[i].rank = -1;
  }
  qc_status st = qc_infer_node(n, it->tin, n->n_in, it->tout, n->n_out, e);
  if (st) return st;
  for (int32_t i = 0; i < n->n_out; i++) {
    int32_t v = n->out[i];
    qc_tensor *t = &it->kout[i];
    memset(t, 0, sizeof *t);
    if (v < 0) continue;
    const qc_tinfo *to = &it->tout[i];
    if (to->dtype == QC_DT_UNDEF || to->rank < 0 || to->rank > QC_MAX_RANK)
      return qc_node_err(e, n, QC_ERR_INTERNAL,
                         "shape inference left output '%s' without a dtype or rank at run time",
                         g->values[v].name);
    for (int d = 0; d < to->rank; d++)
      if (to->dims[d] < 0)
        return qc_node_err(e, n, QC_ERR_INTERNAL,
                           "shape inference left dim %d of output '%s' unknown at run time", d,
                           g->values[v].name);
    t->dtype = to->dtype;
    t->rank = to->rank;
    memcpy(t->dims, to->dims, sizeof t->dims);
    int64_t bytes = qc_tensor_bytes(t);
    if (bytes < 0)
      return qc_node_err(e, n, QC_ERR_NOMEM, "output '%s' has too many elements",
                         g->values[v].name);
    t->data = acquire(it, (size_t)bytes, &it->cap[v]);
    if (!t->data)
      return qc_node_err(e, n, QC_ERR_NOMEM, "out of memory for output '%s' (%lld bytes)",
                         g->values[v].name, (long long)bytes);
    it->vals[v] = *t; /* tracked from here on, so an error below leaks nothing */
  }
  st = it->kern[n->op](kc, n, it->kin, n->n_in, it->kout, n->n_out);
  if (st) {
    if (!e || e->code == QC_OK) qc_node_err(e, n, st, "kernel failed");
    return e ? e->code : st;
  }
  if (it->obs) it->obs(it->obs_user, ni, it->kout, n->n_out);
  for (int32_t i = 0; i < n->n_in; i++) {
    int32_t v = n->in[i];
    if (v >= 0 && --it->left[v] == 0 && !is_output(g, v)) release(it, v);
  }
  for (int32_t i = 0; i < n->n_out; i++) {
    int32_t v = n->out[i];
    if (v >= 0 && it->uses[v] == 0 && !is_output(g, v)) release(it, v);
  }
  return QC_OK;
}

static qc_status run_all(qc_interp *it, const qc_tensor *inputs, int n_in, qc_err *e)
{
  const qc_graph *g = it->g;
  if (n_in != g->n_inputs)
    return qc_err_set(e, QC_ERR_INVALID, "expected %d inputs, got %d", g->n_inputs, n_in);
  for (int32_t s = 0; s < g->n_syms; s++) it->bind[s] = -1;
  for (int32_t i = 0; i < g->n_inputs; i++) {
    const qc_value *val = &g->values[g->inputs[i]];
    qc_status st = check_input(it, val, &inputs[i], e);
    if (st) return st;
    it->vals[g->inputs[i]] = inputs[i];
  }
  memcpy(it->left, it->uses, sizeof *it->left * (size_t)g->n_values);
  qc_kctx kc = {.pool = it->pool, .err = e, .scratch = scratch, .scratch_owner = it};
  for (int32_t ni = 0; ni < g->n_nodes; ni++) {
    if (g->nodes[ni].op == QC_OP_NONE) continue;
    qc_status st = run_node(it, ni, &kc, e);
    if (st) return st;
  }
  return copy_passthrough(it, e);
}

qc_status qc_interp_run(qc_interp *it, const qc_tensor *inputs, int n_in, qc_err *e)
{
  qc_err local;
  if (!e) { /* kernels report through k->err; give them somewhere to write */
    qc_err_clear(&local);
    e = &local;
  }
  it->ok = false;
  if (n_in > 0 && !inputs) {
    release_all(it, NULL, 0);
    return qc_err_set(e, QC_ERR_USAGE, "%d inputs given as a NULL array", n_in);
  }
  release_all(it, inputs, n_in > 0 ? n_in : 0);
  qc_status st = run_all(it, inputs, n_in, e);
  unpin(it);
  it->ok = st == QC_OK;
  return st;
}
