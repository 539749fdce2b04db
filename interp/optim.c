/* Optimizers, LR schedules and gradient clipping (interp/optim.h). Per-element arithmetic is
   f32 in the order of torch 1.13's _single_tensor_sgd/_adam/_adamw, with the Python-float
   (double) scalars rounded to f32 where torch's kernels round them. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "QCOPTIM"
#define STATE_VERSION 1u
#define HEADER_BYTES 32u
#define GROUP_BYTES (7u * 8u + 4u)
#define PARAM_BYTES (8u + 8u + 4u)

enum { F_INIT = 1, F_BUF0 = 2, F_BUF1 = 4 };

typedef struct {
  float *buf0; /* SGD momentum buffer, Adam exp_avg */
  float *buf1; /* Adam exp_avg_sq */
  int64_t step; /* Adam's per-parameter step count */
  bool init;    /* SGD: the momentum buffer holds a value (torch's "buffer is None" test) */
} pstate;

struct qc_optim {
  qc_opt_kind kind;
  int n_groups, n_params;
  qc_opt_group *groups;
  double *base_lr; /* each group's lr at setup, for qc_optim_set_lr_scaled */
  qc_opt_param *params;
  pstate *st;
  int64_t steps;
};

qc_opt_group qc_opt_group_default(qc_opt_kind kind, double lr)
{
  qc_opt_group g = {.lr = lr};
  if (kind != QC_OPT_SGD) {
    g.beta1 = 0.9;
    g.beta2 = 0.999;
    g.eps = 1e-8;
    g.weight_decay = kind == QC_OPT_ADAMW ? 0.01 : 0.0;
  }
  return g;
}

static const char *kind_name(qc_opt_kind k)
{
  return k == QC_OPT_SGD ? "SGD" : k == QC_OPT_ADAM ? "Adam" : "AdamW";
}

static qc_status check_group(qc_opt_kind kind, const qc_opt_group *g, int i, qc_err *e)
{
  double v[] = {g->lr, g->weight_decay, g->momentum, g->dampening, g->beta1, g->beta2, g->eps};
  for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
    if (!isfinite(v[k]))
      return qc_err_set(e, QC_ERR_USAGE, "optimizer group %d: non-finite hyperparameter", i);
  if (g->lr < 0 || g->weight_decay < 0)
    return qc_err_set(e, QC_ERR_USAGE, "optimizer group %d: lr %g and weight_decay %g must be >= 0",
                      i, g->lr, g->weight_decay);
  if (kind == QC_OPT_SGD) {
    if (g->momentum < 0)
      return qc_err_set(e, QC_ERR_USAGE, "optimizer group %d: momentum %g must be >= 0", i,
                        g->momentum);
    if (g->nesterov && (g->momentum <= 0 || g->dampening != 0))
      return qc_err_set(e, QC_ERR_USAGE,
                        "optimizer group %d: Nesterov needs momentum > 0 and dampening 0", i);
  } else {
    if (!(g->beta1 >= 0 && g->beta1 < 1 && g->beta2 >= 0 && g->beta2 < 1))
      return qc_err_set(e, QC_ERR_USAGE, "optimizer group %d: betas (%g, %g) must be in [0, 1)",
                        i, g->beta1, g->beta2);
    if (g->eps < 0)
      return qc_err_set(e, QC_ERR_USAGE, "optimizer group %d: eps %g must be >= 0", i, g->eps);
  }
  return QC_OK;
}

void qc_optim_free(qc_optim *o)
{
  if (!o) return;
  if (o->st)
    for (int i = 0; i < o->n_params; i++) {
      free(o->st[i].buf0);
      free(o->st[i].buf1);
    }
  free(o->st);
  free(o->params);
  free(o->groups);
  free(o->base_lr);
  free(o);
}

qc_status qc_optim_new(qc_opt_kind kind, const qc_opt_group *groups, int n_groups,
                       const qc_opt_param *params, int n_params, qc_optim **out, qc_err *e)
{
  *out = NULL;
  if (kind != QC_OPT_SGD && kind != QC_OPT_ADAM && kind != QC_OPT_ADAMW)
    return qc_err_set(e, QC_ERR_USAGE, "optimizer: unknown kind %d", (int)kind);
  if (n_groups <= 0 || n_params < 0 || (n_params > 0 && !params))
    return qc_err_set(e, QC_ERR_USAGE, "optimizer: needs at least one group (got %d groups, %d params)",
                      n_groups, n_params);
  for (int i = 0; i < n_groups; i++)
    if (check_group(kind, &groups[i], i, e)) return e ? e->code : QC_ERR_USAGE;
  for (int i = 0; i < n_params; i++) {
    if (params[i].group < 0 || params[i].group >= n_groups)
      return qc_err_set(e, QC_ERR_USAGE, "optimizer param %d: group %d out of range [0, %d)", i,
                        params[i].group, n_groups);
    if (params[i].n < 0 || (params[i].n > 0 && !params[i].data))
      return qc_err_set(e, QC_ERR_USAGE, "optimizer param %d: no data for %lld elements", i,
                        (long long)params[i].n);
  }
  qc_optim *o = calloc(1, sizeof *o);
  if (!o) return qc_err_set(e, QC_ERR_NOMEM, "optimizer: out of memory");
  o->kind = kind;
  o->n_groups = n_groups;
  o->n_params = n_params;
  o->groups = malloc((size_t)n_groups * sizeof *o->groups);
  o->base_lr = malloc((size_t)n_groups * sizeof *o->base_lr);
  o->params = malloc((size_t)(n_params ? n_params : 1) * sizeof *o->params);
  o->st = calloc((size_t)(n_params ? n_params : 1), sizeof *o->st);
  if (!o->groups || !o->base_lr || !o->params || !o->st) goto nomem;
  memcpy(o->groups, groups, (size_t)n_groups * sizeof *groups);
  for (int i = 0; i < n_groups; i++) o->base_lr[i] = groups[i].lr;
  if (n_params) memcpy(o->params, params, (size_t)n_params * sizeof *params);
  for (int i = 0; i < n_params; i++) {
    size_t bytes = (size_t)(params[i].n ? params[i].n : 1) * sizeof(float);
    bool two = kind != QC_OPT_SGD;
    if (two || groups[params[i].group].momentum != 0) {
      if (!(o->st[i].buf0 = calloc(1, bytes))) goto nomem;
    }
    if (two && !(o->st[i].buf1 = calloc(1, bytes))) goto nomem;
  }
  *out = o;
  return QC_OK;
nomem:
  qc_optim_free(o);
  return qc_err_set(e, QC_ERR_NOMEM, "optimizer: out of memory for the state of %d params",
                    n_params);
}

int qc_optim_n_groups(const qc_optim *o) { return o->n_groups; }

qc_opt_group *qc_optim_group(qc_optim *o, int group)
{
  return group >= 0 && group < o->n_groups ? &o->groups[group] : NULL;
}

void qc_optim_set_lr_scaled(qc_optim *o, double lr)
{
  for (int i = 0; i < o->n_groups; i++)
    o->groups[i].lr = o->base_lr[0] != 0 ? lr * (o->base_lr[i] / o->base_lr[0]) : lr;
}

int64_t qc_optim_steps(const qc_optim *o) { return o->steps; }

/* torch _single_tensor_sgd: d = g + wd p; buf = d (first) or mom buf + (1 - damp) d;
   d = d + mom buf (Nesterov) or buf; p += -lr d. */
static void sgd_param(const qc_opt_group *g, pstate *s, float *p, const float *gr, int64_t n)
{
  float wd = (float)g->weight_decay, mom = (float)g->momentum, damp1 = (float)(1 - g->dampening);
  float nlr = (float)-g->lr;
  bool first = !s->init;
  for (int64_t i = 0; i < n; i++) {
    float d = gr[i];
    if (g->weight_decay != 0) d = d + wd * p[i];
    if (g->momentum != 0) {
      float b = first ? d : s->buf0[i] * mom + damp1 * d;
      s->buf0[i] = b;
      d = g->nesterov ? d + mom * b : b;
    }
    p[i] = p[i] + nlr * d;
  }
  if (g->momentum != 0) s->init = true;
}

/* torch _single_tensor_adam(w): AdamW first scales p by 1 - lr wd; Adam adds wd p to the grad.
   m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
   with bc_i = 1 - b_i^step (Kingma & Ba 2015, Alg. 1 with the eps placement of torch). */
static void adam_param(bool decoupled, const qc_opt_group *g, pstate *s, float *p, const float *gr,
                       int64_t n)
{
  s->step++;
  double bc1 = 1 - pow(g->beta1, (double)s->step), bc2 = 1 - pow(g->beta2, (double)s->step);
  float b1 = (float)g->beta1, b2 = (float)g->beta2, a1 = (float)(1 - g->beta1),
        a2 = (float)(1 - g->beta2), wd = (float)g->weight_decay, eps = (float)g->eps;
  float nstep = (float)(-(g->lr / bc1)), bc2s = (float)sqrt(bc2);
  float decay = (float)(1 - g->lr * g->weight_decay);
  for (int64_t i = 0; i < n; i++) {
    float x = gr[i];
    if (decoupled)
      p[i] = p[i] * decay;
    else if (g->weight_decay != 0)
      x = x + wd * p[i];
    float m = s->buf0[i] * b1 + a1 * x;
    float v = s->buf1[i] * b2 + a2 * x * x;
    s->buf0[i] = m;
    s->buf1[i] = v;
    float denom = sqrtf(v) / bc2s + eps;
    p[i] = p[i] + nstep * (m / denom);
  }
}

qc_status qc_optim_step(qc_optim *o, const float *const *grads, qc_err *e)
{
  for (int i = 0; i < o->n_groups; i++)
    if (check_group(o->kind, &o->groups[i], i, e)) return e ? e->code : QC_ERR_USAGE;
  if (o->kind == QC_OPT_SGD)
    for (int i = 0; i < o->n_params; i++)
      if (o->groups[o->params[i].group].momentum != 0 && !o->st[i].buf0)
        return qc_err_set(e, QC_ERR_USAGE,
                          "optimizer param %d: group %d has momentum but had none at setup "
                          "(no buffer)", i, o->params[i].group);
  for (int i = 0; grads && i < o->n_params; i++) {
    if (!grads[i]) continue;
    const qc_opt_group *g = &o->groups[o->params[i].group];
    if (o->kind == QC_OPT_SGD)
      sgd_param(g, &o->st[i], o->params[i].data, grads[i], o->params[i].n);
    else
      adam_param(o->kind == QC_OPT_ADAMW, g, &o->st[i], o->params[i].data, grads[i],
                 o->params[i].n);
  }
  o->steps++;
  return QC_OK;
}

/* ---- state save/load -------------------------------------------------------------------- */

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Host byte order is little-endian on every target quantc supports (x86-64, aarch64). */
static uint8_t *put(uint8_t *w, const void *v, size_t n)
{
  memcpy(w, v, n);
  return w + n;
}
static uint8_t *put_u32(uint8_t *w, uint32_t v) { return put(w, &v, 4); }
static uint8_t *put_u64(uint8_t *w, uint64_t v) { return put(w, &v, 8); }
static uint8_t *put_f64(uint8_t *w, double v) { return put(w, &v, 8); }
static uint32_t get_u32(const uint8_t *r)
{
  uint32_t v;
  memcpy(&v, r, 4);
  return v;
}
static uint64_t get_u64(const uint8_t *r)
{
  uint64_t v;
  memcpy(&v, r, 8);
  return v;
}
static double get_f64(const uint8_t *r)
{
  double v;
  memcpy(&v, r, 8);
  return v;
}

static uint32_t pflags(const pstate *s)
{
  return (s->init ? F_INIT : 0) | (s->buf0 ? F_BUF0 : 0) | (s->buf1 ? F_BUF1 : 0);
}

size_t qc_optim_state_size(const qc_optim *o)
{
  size_t n = HEADER_BYTES + (size_t)o->n_groups * GROUP_BYTES + 4;
  for (int i = 0; i < o->n_params; i++) {
    n += PARAM_BYTES;
    size_t b = (size_t)o->params[i].n * sizeof(float);
    n += (o->st[i].buf0 ? b : 0) + (o->st[i].buf1 ? b : 0);
  }
  return n;
}

qc_status qc_optim_state_save(const qc_optim *o, uint8_t *buf, size_t cap, qc_err *e)
{
  size_t need = qc_optim_state_size(o);
  if (!buf || cap < need)
    return qc_err_set(e, QC_ERR_USAGE, "optimizer state: buffer of %zu bytes, needs %zu", cap,
                      need);
  uint8_t *w = put(buf, STATE_MAGIC, 8);
  w = put_u32(w, STATE_VERSION);
  w = put_u32(w, (uint32_t)o->kind);
  w = put_u32(w, (uint32_t)o->n_groups);
  w = put_u32(w, (uint32_t)o->n_params);
  w = put_u64(w, (uint64_t)o->steps);
  for (int i = 0; i < o->n_groups; i++) {
    const qc_opt_group *g = &o->groups[i];
    w = put_f64(w, g->lr);
    w = put_f64(w, g->weight_decay);
    w = put_f64(w, g->momentum);
    w = put_f64(w, g->dampening);
    w = put_f64(w, g->beta1);
    w = put_f64(w, g->beta2);
    w = put_f64(w, g->eps);
    w = put_u32(w, g->nesterov ? 1u : 0u);
  }
  for (int i = 0; i < o->n_params; i++) {
    const pstate *s = &o->st[i];
    size_t b = (size_t)o->params[i].n * sizeof(float);
    w = put_u64(w, (uint64_t)o->params[i].n);
    w = put_u64(w, (uint64_t)s->step);
    w = put_u32(w, pflags(s));
    if (s->buf0) w = put(w, s->buf0, b);
    if (s->buf1) w = put(w, s->buf1, b);
  }
  put_u32(w, fnv1a(buf, (size_t)(w - buf)));
  return QC_OK;
}

qc_status qc_optim_state_load(qc_optim *o, const uint8_t *buf, size_t len, qc_err *e)
{
  if (!buf || len < HEADER_BYTES + 4)
    return qc_err_set(e, QC_ERR_FORMAT, "optimizer state: %zu bytes, shorter than the %u-byte header",
                      buf ? len : 0, HEADER_BYTES + 4);
  if (memcmp(buf, STATE_MAGIC, 8) != 0)
    return qc_err_set(e, QC_ERR_FORMAT, "optimizer state: bad magic at byte 0 (not a quantc "
                                        "optimizer state)");
  uint32_t version = get_u32(buf + 8);
  if (version != STATE_VERSION)
    return qc_err_set(e, QC_ERR_FORMAT, "optimizer state: version %u at byte 8, expected %u",
                      version, STATE_VERSION);
  uint32_t sum = get_u32(buf + len - 4), want = fnv1a(buf, len - 4);
  if (sum != want)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "optimizer state: checksum mismatch at byte %zu (0x%08x, content gives "
                      "0x%08x): corrupt or truncated", len - 4, sum, want);
  uint32_t kind = get_u32(buf + 12), ng = get_u32(buf + 16), np = get_u32(buf + 20);
  if (kind != (uint32_t)o->kind)
    return qc_err_set(e, QC_ERR_INVALID, "optimizer state: saved from kind %u (byte 12), this "
                                         "optimizer is %s", kind, kind_name(o->kind));
  if (ng != (uint32_t)o->n_groups || np != (uint32_t)o->n_params)
    return qc_err_set(e, QC_ERR_INVALID, "optimizer state: %u groups and %u params (byte 16), this "
                                         "optimizer has %d and %d", ng, np, o->n_groups,
                      o->n_params);
  size_t need = qc_optim_state_size(o);
  if (len != need)
    return qc_err_set(e, QC_ERR_INVALID, "optimizer state: %zu bytes, this optimizer's state is %zu",
                      len, need);
  /* Validate every parameter record before changing anything. */
  const uint8_t *r = buf + HEADER_BYTES;
  for (int i = 0; i < o->n_groups; i++) {
    qc_opt_group g = {.lr = get_f64(r), .weight_decay = get_f64(r + 8), .momentum = get_f64(r + 16),
                      .dampening = get_f64(r + 24), .beta1 = get_f64(r + 32),
                      .beta2 = get_f64(r + 40), .eps = get_f64(r + 48),
                      .nesterov = get_u32(r + 56) != 0};
    qc_err sub = {0};
    if (check_group(o->kind, &g, i, &sub))
      return qc_err_set(e, QC_ERR_FORMAT, "optimizer state: byte %zu: %s",
                        (size_t)(r - buf), sub.msg);
    r += GROUP_BYTES;
  }
  for (int i = 0; i < o->n_params; i++) {
    uint64_t n = get_u64(r);
    int64_t step = (int64_t)get_u64(r + 8);
    uint32_t fl = get_u32(r + 16);
    uint32_t have = pflags(&o->st[i]) & (F_BUF0 | F_BUF1);
    if (n != (uint64_t)o->params[i].n)
      return qc_err_set(e, QC_ERR_INVALID, "optimizer state: param %d (byte %zu) has %llu elements, "
                                           "this optimizer's has %lld", i, (size_t)(r - buf),
                        (unsigned long long)n, (long long)o->params[i].n);
    if ((fl & ~(uint32_t)(F_INIT | F_BUF0 | F_BUF1)) || (fl & (F_BUF0 | F_BUF1)) != have ||
        step < 0)
      return qc_err_set(e, QC_ERR_INVALID, "optimizer state: param %d (byte %zu) flags 0x%x, "
                                           "step %lld do not fit this optimizer's buffers 0x%x",
                        i, (size_t)(r - buf), fl, (long long)step, have);
    r += PARAM_BYTES + (size_t)n * sizeof(float) * ((fl & F_BUF0 ? 1 : 0) + (fl & F_BUF1 ? 1 : 0));
  }
  /* Apply. */
  o->steps = (int64_t)get_u64(buf + 24);
  r = buf + HEADER_BYTES;
  for (int i = 0; i < o->n_groups; i++, r += GROUP_BYTES) {
    qc_opt_group *g = &o->groups[i];
    g->lr = get_f64(r);
    g->weight_decay = get_f64(r + 8);
    g->momentum = get_f64(r + 16);
    g->dampening = get_f64(r + 24);
    g->beta1 = get_f64(r + 32);
    g->beta2 = get_f64(r + 40);
    g->eps = get_f64(r + 48);
    g->nesterov = get_u32(r + 56) != 0;
  }
  for (int i = 0; i < o->n_params; i++) {
    pstate *s = &o->st[i];
    size_t b = (size_t)o->params[i].n * sizeof(float);
    s->step = (int64_t)get_u64(r + 8);
    s->init = (get_u32(r + 16) & F_INIT) != 0;
    r += PARAM_BYTES;
    if (s->buf0) {
      memcpy(s->buf0, r, b);
      r += b;
    }
    if (s->buf1) {
      memcpy(s->buf1, r, b);
      r += b;
    }
  }
  return QC_OK;
}

/* ---- schedules -------------------------------------------------------------------------- */

qc_status qc_sched_check(const qc_sched *s, qc_err *e)
{
  if (!isfinite(s->base_lr) || s->base_lr < 0)
    return qc_err_set(e, QC_ERR_USAGE, "schedule: base_lr %g must be finite and >= 0", s->base_lr);
  if (s->warmup_steps < 0 || !(s->warmup_start >= 0 && s->warmup_start <= 1))
    return qc_err_set(e, QC_ERR_USAGE, "schedule: warmup_steps %lld must be >= 0 and warmup_start "
                                       "%g in [0, 1]", (long long)s->warmup_steps, s->warmup_start);
  switch (s->kind) {
  case QC_SCHED_CONSTANT: return QC_OK;
  case QC_SCHED_STEP:
    if (s->step_size <= 0)
      return qc_err_set(e, QC_ERR_USAGE, "schedule step: step_size %lld must be > 0",
                        (long long)s->step_size);
    if (!isfinite(s->gamma))
      return qc_err_set(e, QC_ERR_USAGE, "schedule step: gamma is not finite");
    return QC_OK;
  case QC_SCHED_MULTISTEP:
    if (!isfinite(s->gamma))
      return qc_err_set(e, QC_ERR_USAGE, "schedule multistep: gamma is not finite");
    if (s->n_milestones < 0 || (s->n_milestones > 0 && !s->milestones))
      return qc_err_set(e, QC_ERR_USAGE, "schedule multistep: no milestones array");
    for (int i = 1; i < s->n_milestones; i++)
      if (s->milestones[i] < s->milestones[i - 1])
        return qc_err_set(e, QC_ERR_USAGE, "schedule multistep: milestones not ascending at %d", i);
    return QC_OK;
  case QC_SCHED_COSINE:
    if (s->t_max <= 0)
      return qc_err_set(e, QC_ERR_USAGE, "schedule cosine: t_max %lld must be > 0",
                        (long long)s->t_max);
    if (!isfinite(s->eta_min))
      return qc_err_set(e, QC_ERR_USAGE, "schedule cosine: eta_min is not finite");
    return QC_OK;
  case QC_SCHED_ONECYCLE:
    if (s->total_steps <= 0)
      return qc_err_set(e, QC_ERR_USAGE, "schedule onecycle: total_steps %lld must be > 0",
                        (long long)s->total_steps);
    if (!(s->pct_start > 0 && s->pct_start < 1))
      return qc_err_set(e, QC_ERR_USAGE, "schedule onecycle: pct_start %g must be in (0, 1)",
                        s->pct_start);
    if (!(s->pct_start * (double)s->total_steps - 1 > 0 &&
          s->pct_start * (double)s->total_steps - 1 < (double)s->total_steps - 1))
      return qc_err_set(e, QC_ERR_USAGE, "schedule onecycle: pct_start %g leaves an empty phase "
                                         "over %lld steps", s->pct_start,
                        (long long)s->total_steps);
    if (!(isfinite(s->max_lr) && s->max_lr > 0 && s->div_factor > 0 && s->final_div_factor > 0))
      return qc_err_set(e, QC_ERR_USAGE, "schedule onecycle: max_lr, div_factor and "
                                         "final_div_factor must be > 0");
    return QC_OK;
  }
  return qc_err_set(e, QC_ERR_USAGE, "schedule: unknown kind %d", (int)s->kind);
}

static double cos_anneal(double start, double end, double pct)
{
  return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1);
}

static double inner_lr(const qc_sched *s, int64_t step)
{
  switch (s->kind) {
  case QC_SCHED_CONSTANT: return s->base_lr;
  case QC_SCHED_STEP: return s->base_lr * pow(s->gamma, (double)(step / s->step_size));
  case QC_SCHED_MULTISTEP: {
    int k = 0;
    while (k < s->n_milestones && s->milestones[k] <= step) k++;
    return s->base_lr * pow(s->gamma, k);
  }
  case QC_SCHED_COSINE:
    return s->eta_min + (s->base_lr - s->eta_min) *
                            (1 + cos(M_PI * (double)step / (double)s->t_max)) / 2;
  case QC_SCHED_ONECYCLE: {
    /* torch OneCycleLR, two phases: [0, pct T - 1] initial -> max, then -> min at T - 1. */
    double initial = s->max_lr / s->div_factor, min_lr = initial / s->final_div_factor;
    double end1 = s->pct_start * (double)s->total_steps - 1, end2 = (double)s->total_steps - 1;
    double t = (double)(step < s->total_steps ? step : s->total_steps - 1);
    if (t <= end1) return cos_anneal(initial, s->max_lr, t / end1);
    return cos_anneal(s->max_lr, min_lr, (t - end1) / (end2 - end1));
  }
  }
  return s->base_lr;
}

double qc_sched_lr(const qc_sched *s, int64_t step)
{
  if (step < 0) step = 0;
  if (step < s->warmup_steps)
    return inner_lr(s, 0) * (s->warmup_start + (1 - s->warmup_start) * (double)step /
                                                   (double)s->warmup_steps);
  return inner_lr(s, step - s->warmup_steps);
}

/* ---- clipping --------------------------------------------------------------------------- */

qc_status qc_clip_grad_norm(float *const *grads, const int64_t *lens, int n, double max_norm,
                            double *norm, qc_err *e)
{
  double ss = 0;
  for (int i = 0; i < n; i++)
    for (int64_t j = 0; grads[i] && j < lens[i]; j++) ss += (double)grads[i][j] * grads[i][j];
  double total = sqrt(ss);
  if (norm) *norm = total;
  if (!isfinite(total))
    return qc_err_set(e, QC_ERR_INVALID, "clip_grad_norm: the total gradient norm is %g", total);
  float coef = (float)(max_norm / (total + 1e-6));
  if (coef < 1.0f)
    for (int i = 0; i < n; i++)
      for (int64_t j = 0; grads[i] && j < lens[i]; j++) grads[i][j] *= coef;
  return QC_OK;
}

void qc_clip_grad_value(float *const *grads, const int64_t *lens, int n, float clip)
{
  for (int i = 0; i < n; i++)
    for (int64_t j = 0; grads[i] && j < lens[i]; j++) {
      float v = grads[i][j];
      grads[i][j] = v > clip ? clip : v < -clip ? -clip : v;
    }
}
