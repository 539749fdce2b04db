/* Optimizers, LR schedules and gradient clipping (interp/optim.h) against torch.optim:
   tests/interp/optim_ref.py runs torch on fixed parameters with fixed synthetic gradients, the
   tests replay the same gradients here and compare trajectories (relative error <= 1e-5), LR
   sequences (<= 1e-6) and clipping. Skipped (exit 77) without python3 + torch. */
#include "optim.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define STEPS 20
#define NP 3
#define TOTAL 24
static const int64_t SIZES[NP] = {5, 12, 7};
static char dir[512];

static void *load(const char *name, size_t bytes)
{
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *p = malloc(bytes);
  size_t got = p ? fread(p, 1, bytes, f) : 0;
  fclose(f);
  if (got != bytes) {
    free(p);
    return NULL;
  }
  return p;
}

static int gen_refs(void)
{
  snprintf(dir, sizeof dir, "%s/tests/optim_ref", QC_BINARY_DIR);
  mkdir(dir, 0755);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/interp/optim_ref.py %s >/dev/null 2>&1",
           QC_SOURCE_DIR, dir);
  if (system(cmd) != 0) {
    printf("SKIPPED: /usr/bin/python3 with torch and numpy could not generate references\n");
    exit(77);
  }
  return 0;
}

/* Params laid out in one buffer: p0 [5], p1 [12] (group 0), p2 [7] (group 1). */
typedef struct {
  float data[TOTAL];
  qc_opt_param p[NP];
  qc_optim *o;
} rig;

static void rig_init(rig *r, qc_opt_kind kind, const qc_opt_group *groups, int n_groups)
{
  float *init = load("init.f32", sizeof r->data);
  CU_ASSERT_PTR_NOT_NULL_FATAL(init);
  memcpy(r->data, init, sizeof r->data);
  free(init);
  int64_t off = 0;
  for (int i = 0; i < NP; i++) {
    r->p[i] = (qc_opt_param){r->data + off, SIZES[i], i < 2 ? 0 : (n_groups > 1 ? 1 : 0)};
    off += SIZES[i];
  }
  qc_err e = {0};
  r->o = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_optim_new(kind, groups, n_groups, r->p, NP, &r->o, &e), QC_OK);
}

/* One step with the gradients of step t; skip = param whose grad is NULL (or -1). */
static void rig_step(rig *r, const float *grads, int t, int skip)
{
  const float *g[NP];
  int64_t off = 0;
  for (int i = 0; i < NP; i++) {
    g[i] = i == skip ? NULL : grads + (size_t)t * TOTAL + off;
    off += SIZES[i];
  }
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_optim_step(r->o, g, &e), QC_OK);
}

/* Elementwise relative error; elements below 0.01 in magnitude are compared absolutely (at
   1e-7 for a 1e-5 bound): a parameter that passes near zero by cancellation keeps the f32
   rounding of its O(1) terms, which is no relative bound of its own. */
static double max_rel(const float *a, const float *b, int n)
{
  double m = 0;
  for (int i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), 1e-2);
    if (!(d <= m)) m = d; /* NaN propagates as a failure */
  }
  return m;
}

/* Replays a reference trajectory; sched drives the lr (set before each step) if given. */
static void replay(const char *name, qc_opt_kind kind, const qc_opt_group *groups, int n_groups,
                   int skip_t, int skip_p, const qc_sched *sched)
{
  char f[64];
  snprintf(f, sizeof f, "%s.f32", name);
  float *grads = load("grads.f32", sizeof(float) * STEPS * TOTAL);
  float *ref = load(f, sizeof(float) * STEPS * TOTAL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(grads);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
  rig r;
  rig_init(&r, kind, groups, n_groups);
  double worst = 0;
  for (int t = 0; t < STEPS; t++) {
    if (sched) qc_optim_set_lr_scaled(r.o, qc_sched_lr(sched, t));
    rig_step(&r, grads, t, t == skip_t ? skip_p : -1);
    double d = max_rel(r.data, ref + (size_t)t * TOTAL, TOTAL);
    if (!(d <= worst)) worst = d;
  }
  if (!(worst <= 1e-5)) printf("\n%s: worst relative error %g\n", name, worst);
  CU_ASSERT(worst <= 1e-5);
  CU_ASSERT_EQUAL(qc_optim_steps(r.o), STEPS);
  qc_optim_free(r.o);
  free(grads);
  free(ref);
}

static qc_opt_group sgd(double lr, double mom, double wd, bool nest)
{
  qc_opt_group g = qc_opt_group_default(QC_OPT_SGD, lr);
  g.momentum = mom;
  g.weight_decay = wd;
  g.nesterov = nest;
  return g;
}

static void test_sgd(void)
{
  qc_opt_group mom[2] = {sgd(0.1, 0.9, 0.01, false), sgd(0.03, 0.9, 0.01, false)};
  replay("sgd_mom", QC_OPT_SGD, mom, 2, -1, -1, NULL);
  qc_opt_group nest[2] = {sgd(0.05, 0.8, 1e-3, true), sgd(0.2, 0.8, 0, true)};
  replay("sgd_nest", QC_OPT_SGD, nest, 2, -1, -1, NULL);
  qc_opt_group plain[2] = {sgd(0.1, 0, 0, false), sgd(0.01, 0, 0.1, false)};
  replay("sgd_plain", QC_OPT_SGD, plain, 2, 4, 1, NULL);
}

static void test_adam(void)
{
  qc_opt_group g[2] = {qc_opt_group_default(QC_OPT_ADAM, 1e-2),
                       qc_opt_group_default(QC_OPT_ADAM, 5e-3)};
  g[1].weight_decay = 0.1;
  g[1].beta1 = 0.8;
  g[1].beta2 = 0.99;
  g[1].eps = 1e-6;
  replay("adam", QC_OPT_ADAM, g, 2, 3, 1, NULL);
}

static void test_adamw(void)
{
  qc_opt_group g[2] = {qc_opt_group_default(QC_OPT_ADAMW, 1e-2),
                       qc_opt_group_default(QC_OPT_ADAMW, 3e-2)};
  g[0].weight_decay = 0.05;
  g[1].weight_decay = 0.2;
  g[1].beta1 = 0.85;
  g[1].beta2 = 0.995;
  replay("adamw", QC_OPT_ADAMW, g, 2, -1, -1, NULL);
}

static void test_sgd_with_steplr(void)
{
  qc_opt_group g = sgd(0.2, 0.9, 0, false);
  qc_sched s = {.kind = QC_SCHED_STEP, .base_lr = 0.2, .step_size = 3, .gamma = 0.5};
  replay("sgd_step", QC_OPT_SGD, &g, 1, -1, -1, &s);
}

static void check_lrs(const char *name, const qc_sched *s)
{
  char f[64];
  snprintf(f, sizeof f, "%s.f64", name);
  double *ref = load(f, sizeof(double) * STEPS);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_sched_check(s, &e), QC_OK);
  for (int t = 0; t < STEPS; t++) {
    double lr = qc_sched_lr(s, t);
    double d = fabs(lr - ref[t]) / fmax(fabs(ref[t]), 1e-12);
    if (!(d <= 1e-6)) printf("\n%s step %d: %.12g, torch %.12g\n", name, t, lr, ref[t]);
    CU_ASSERT(d <= 1e-6);
  }
  free(ref);
}

static void test_schedules(void)
{
  qc_sched st = {.kind = QC_SCHED_STEP, .base_lr = 0.1, .step_size = 3, .gamma = 0.5};
  check_lrs("lr_step", &st);
  int64_t ms[] = {4, 9, 15};
  qc_sched mst = {.kind = QC_SCHED_MULTISTEP, .base_lr = 0.1, .gamma = 0.3, .milestones = ms,
                  .n_milestones = 3};
  check_lrs("lr_multistep", &mst);
  qc_sched cs = {.kind = QC_SCHED_COSINE, .base_lr = 0.1, .t_max = 8, .eta_min = 1e-4};
  check_lrs("lr_cosine", &cs);
  qc_sched oc = {.kind = QC_SCHED_ONECYCLE, .max_lr = 0.5, .total_steps = STEPS,
                 .pct_start = 0.3, .div_factor = 25, .final_div_factor = 1e4};
  check_lrs("lr_onecycle", &oc);
}

static void test_warmup_and_constant(void)
{
  /* By hand: warmup over 4 steps from 0.25 of the inner schedule's first lr, then StepLR
     restarted at step 0. */
  qc_sched s = {.kind = QC_SCHED_STEP, .base_lr = 0.1, .step_size = 2, .gamma = 0.1,
                .warmup_steps = 4, .warmup_start = 0.25};
  double want[] = {0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1, 0.01, 0.01, 0.001};
  for (int t = 0; t < 9; t++) CU_ASSERT_DOUBLE_EQUAL(qc_sched_lr(&s, t), want[t], 1e-12);
  qc_sched c = {.kind = QC_SCHED_CONSTANT, .base_lr = 0.3};
  CU_ASSERT_DOUBLE_EQUAL(qc_sched_lr(&c, 0), 0.3, 0);
  CU_ASSERT_DOUBLE_EQUAL(qc_sched_lr(&c, 1000), 0.3, 0);
  /* OneCycle past its end holds the final lr: max_lr / div / final_div. */
  qc_sched oc = {.kind = QC_SCHED_ONECYCLE, .max_lr = 0.5, .total_steps = 10, .pct_start = 0.3,
                 .div_factor = 25, .final_div_factor = 1e4};
  CU_ASSERT_DOUBLE_EQUAL(qc_sched_lr(&oc, 9), 0.5 / 25 / 1e4, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(qc_sched_lr(&oc, 50), 0.5 / 25 / 1e4, 1e-15);
  qc_err e = {0};
  qc_sched bad = {.kind = QC_SCHED_COSINE, .base_lr = 0.1, .t_max = 0};
  CU_ASSERT_EQUAL(qc_sched_check(&bad, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "schedule cosine: t_max 0 must be > 0");
  int64_t ms[] = {5, 3};
  qc_sched bad2 = {.kind = QC_SCHED_MULTISTEP, .base_lr = 0.1, .gamma = 0.1, .milestones = ms,
                   .n_milestones = 2};
  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_sched_check(&bad2, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "schedule multistep: milestones not ascending at 1");
}

static void test_clip(void)
{
  float *grads = load("grads.f32", sizeof(float) * TOTAL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(grads);
  const char *names[] = {"clip_norm", "clip_norm_big"};
  double maxn[] = {1.0, 100.0};
  for (int k = 0; k < 2; k++) {
    float g[TOTAL];
    memcpy(g, grads, sizeof g);
    float *gp[NP] = {g, g + 5, g + 17};
    char f[64];
    snprintf(f, sizeof f, "%s.f32", names[k]);
    float *ref = load(f, sizeof g);
    snprintf(f, sizeof f, "%s.f64", names[k]);
    double *rn = load(f, sizeof(double));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rn);
    double norm = 0;
    qc_err e = {0};
    CU_ASSERT_EQUAL(qc_clip_grad_norm(gp, SIZES, NP, maxn[k], &norm, &e), QC_OK);
    CU_ASSERT(fabs(norm - rn[0]) / rn[0] <= 1e-6);
    CU_ASSERT(max_rel(g, ref, TOTAL) <= 1e-6);
    free(ref);
    free(rn);
  }
  float g[TOTAL];
  memcpy(g, grads, sizeof g);
  float *gp[NP] = {g, g + 5, g + 17};
  float *ref = load("clip_value.f32", sizeof g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
  qc_clip_grad_value(gp, SIZES, NP, 0.5f);
  CU_ASSERT(memcmp(g, ref, sizeof g) == 0);
  free(ref);
  /* Non-finite norm: error, grads untouched. */
  g[3] = INFINITY;
  float before[TOTAL];
  memcpy(before, g, sizeof g);
  double norm = 0;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_clip_grad_norm(gp, SIZES, NP, 1.0, &norm, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "clip_grad_norm: the total gradient norm is inf");
  CU_ASSERT(memcmp(g, before, sizeof g) == 0);
  free(grads);
}

/* Save after 8 steps, continue a fresh optimizer from the saved state: identical trajectory. */
static void roundtrip(qc_opt_kind kind, const qc_opt_group *groups, int n_groups)
{
  float *grads = load("grads.f32", sizeof(float) * STEPS * TOTAL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(grads);
  rig a, b;
  rig_init(&a, kind, groups, n_groups);
  rig_init(&b, kind, groups, n_groups);
  for (int t = 0; t < 8; t++) rig_step(&a, grads, t, t == 2 ? 1 : -1);
  qc_opt_group *g0 = qc_optim_group(a.o, 0);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g0);
  g0->lr *= 0.5; /* a changed lr travels with the state */
  size_t n = qc_optim_state_size(a.o);
  uint8_t *buf = malloc(n);
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_optim_state_save(a.o, buf, n, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_optim_state_save(a.o, buf, n - 1, &e), QC_ERR_USAGE);
  e = (qc_err){0};
  CU_ASSERT_EQUAL_FATAL(qc_optim_state_load(b.o, buf, n, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_optim_steps(b.o), 8);
  memcpy(b.data, a.data, sizeof a.data); /* parameters are checkpointed with the graph */
  for (int t = 8; t < STEPS; t++) {
    rig_step(&a, grads, t, -1);
    rig_step(&b, grads, t, -1);
  }
  CU_ASSERT(memcmp(a.data, b.data, sizeof a.data) == 0);
  qc_optim_free(a.o);
  qc_optim_free(b.o);
  free(buf);
  free(grads);
}

static void test_state_roundtrip(void)
{
  qc_opt_group s[2] = {sgd(0.1, 0.9, 0.01, true), sgd(0.05, 0, 0, false)};
  roundtrip(QC_OPT_SGD, s, 2);
  qc_opt_group a[2] = {qc_opt_group_default(QC_OPT_ADAM, 1e-2),
                       qc_opt_group_default(QC_OPT_ADAM, 5e-3)};
  roundtrip(QC_OPT_ADAM, a, 2);
  qc_opt_group w = qc_opt_group_default(QC_OPT_ADAMW, 1e-2);
  roundtrip(QC_OPT_ADAMW, &w, 1);
}

static void test_state_errors(void)
{
  rig a, b, c;
  qc_opt_group g = qc_opt_group_default(QC_OPT_ADAM, 1e-2);
  rig_init(&a, QC_OPT_ADAM, &g, 1);
  rig_init(&b, QC_OPT_ADAM, &g, 1);
  qc_opt_group s = sgd(0.1, 0.9, 0, false);
  rig_init(&c, QC_OPT_SGD, &s, 1);
  size_t n = qc_optim_state_size(a.o);
  uint8_t *buf = malloc(n);
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_optim_state_save(a.o, buf, n, &e), QC_OK);

  buf[100] ^= 0x40; /* one flipped bit in a moment */
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, n, &e), QC_ERR_FORMAT);
  CU_ASSERT(strstr(e.msg, "optimizer state: checksum mismatch at byte ") == e.msg);
  CU_ASSERT(strstr(e.msg, "corrupt or truncated") != NULL);
  buf[100] ^= 0x40;

  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, n - 8, &e), QC_ERR_FORMAT);
  CU_ASSERT(strstr(e.msg, "checksum mismatch") != NULL);

  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, 10, &e), QC_ERR_FORMAT);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer state: 10 bytes, shorter than the 36-byte header");

  e = (qc_err){0};
  buf[0] = 'X';
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, n, &e), QC_ERR_FORMAT);
  CU_ASSERT_STRING_EQUAL(e.msg,
                         "optimizer state: bad magic at byte 0 (not a quantc optimizer state)");
  buf[0] = 'Q';

  e = (qc_err){0};
  buf[8] = 9;
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, n, &e), QC_ERR_FORMAT);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer state: version 9 at byte 8, expected 1");
  buf[8] = 1;

  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_optim_state_load(c.o, buf, n, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer state: saved from kind 1 (byte 12), this optimizer "
                                "is SGD");
  /* Intact buffer still loads after all the failed attempts. */
  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_optim_state_load(b.o, buf, n, &e), QC_OK);
  qc_optim_free(a.o);
  qc_optim_free(b.o);
  qc_optim_free(c.o);
  free(buf);
}

static void test_setup_errors(void)
{
  float x[4] = {0};
  qc_opt_param p = {x, 4, 1};
  qc_opt_group g = sgd(0.1, 0, 0, true);
  qc_optim *o = NULL;
  qc_err e = {0};
  CU_ASSERT_EQUAL(qc_optim_new(QC_OPT_SGD, &g, 1, &p, 1, &o, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer group 0: Nesterov needs momentum > 0 and dampening 0");
  g.nesterov = false;
  e = (qc_err){0};
  CU_ASSERT_EQUAL(qc_optim_new(QC_OPT_SGD, &g, 1, &p, 1, &o, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer param 0: group 1 out of range [0, 1)");
  CU_ASSERT_PTR_NULL(o);
  p.group = 0;
  e = (qc_err){0};
  CU_ASSERT_EQUAL_FATAL(qc_optim_new(QC_OPT_SGD, &g, 1, &p, 1, &o, &e), QC_OK);
  qc_optim_group(o, 0)->momentum = 0.9; /* no buffer was allocated at setup */
  float gr[4] = {1, 1, 1, 1};
  const float *gs[1] = {gr};
  CU_ASSERT_EQUAL(qc_optim_step(o, gs, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "optimizer param 0: group 0 has momentum but had none at setup "
                                "(no buffer)");
  CU_ASSERT(x[0] == 0);
  CU_ASSERT_PTR_NULL(qc_optim_group(o, 1));
  qc_optim_free(o);
}

static CU_TestInfo tests[] = {
    {"SGD (momentum, Nesterov, weight decay, groups) vs torch", test_sgd},
    {"Adam (groups, betas, eps, wd, skipped grad) vs torch", test_adam},
    {"AdamW (decoupled wd, groups) vs torch", test_adamw},
    {"SGD + StepLR vs torch", test_sgd_with_steplr},
    {"StepLR, MultiStepLR, CosineAnnealingLR, OneCycleLR vs torch", test_schedules},
    {"warmup, constant, one-cycle tail, schedule errors", test_warmup_and_constant},
    {"clip_grad_norm_ and clip_grad_value_ vs torch", test_clip},
    {"state save/load continues identically", test_state_roundtrip},
    {"corrupt or mismatched state: clear errors", test_state_errors},
    {"setup and step errors", test_setup_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"optim", gen_refs, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
