/* Optimizers, learning-rate schedules and gradient clipping for training (interp/autodiff.h).
   Parameters are plain f32 arrays (the graph's constants, updated in place); gradients are f32
   arrays of the same length. The update rules follow torch.optim (1.13, single-tensor path) so
   trajectories match it to float rounding. No global state. */
#ifndef QC_OPTIM_H
#define QC_OPTIM_H

#include "ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  QC_OPT_SGD,   /* torch.optim.SGD: momentum, dampening, Nesterov, coupled weight decay */
  QC_OPT_ADAM,  /* torch.optim.Adam: bias correction, coupled weight decay (L2 in the grad) */
  QC_OPT_ADAMW, /* torch.optim.AdamW: decoupled weight decay, p *= 1 - lr * wd */
} qc_opt_kind;

/* One parameter group's hyperparameters; fields unused by the kind are ignored. */
typedef struct {
  double lr; /* doubles like torch's Python floats; the arithmetic on tensors is f32 */
  double weight_decay;
  double momentum;  /* SGD; 0 disables the buffer */
  double dampening; /* SGD; torch's default 0 */
  bool nesterov;    /* SGD; needs momentum > 0 and dampening 0 */
  double beta1, beta2, eps; /* Adam/AdamW */
} qc_opt_group;

/* Group defaults as torch's: SGD lr given, the rest 0; Adam/AdamW betas (0.9, 0.999), eps 1e-8,
   weight decay 0 (Adam) or 0.01 (AdamW). */
qc_opt_group qc_opt_group_default(qc_opt_kind kind, double lr);

typedef struct {
  float *data; /* updated in place by qc_optim_step */
  int64_t n;
  int group; /* index into the groups given to qc_optim_new */
} qc_opt_param;

typedef struct qc_optim qc_optim;

/* Copies groups and params (not the data they point to) and allocates every per-parameter
   state buffer (SGD momentum where the group's momentum > 0; Adam's two moments). */
qc_status qc_optim_new(qc_opt_kind kind, const qc_opt_group *groups, int n_groups,
                       const qc_opt_param *params, int n_params, qc_optim **out, qc_err *e);
void qc_optim_free(qc_optim *o);

/* One update. grads[i] belongs to params[i]; NULL skips that parameter (torch's grad None:
   neither the parameter nor its state nor its Adam step count changes). grads may be NULL to
   skip all. Fails before touching anything on a non-finite hyperparameter or a group whose
   momentum was raised from 0 after setup (no buffer). */
qc_status qc_optim_step(qc_optim *o, const float *const *grads, qc_err *e);

int qc_optim_n_groups(const qc_optim *o);
/* The group's hyperparameters, mutable (e.g. lr from a schedule each step); NULL if out of range. */
qc_opt_group *qc_optim_group(qc_optim *o, int group);
/* Sets every group's lr to lr * (the group's lr at setup / group 0's lr at setup): one schedule
   drives all groups keeping their ratios, as torch's schedulers scale each group's base lr. */
void qc_optim_set_lr_scaled(qc_optim *o, double lr);
/* Number of steps taken (calls of qc_optim_step). */
int64_t qc_optim_steps(const qc_optim *o);

/* State checkpoint: kind, groups' hyperparameters, step counts and every state buffer.
   Format (little-endian): "QCOPTIM\0", u32 version, u32 kind, u32 n_groups, u32 n_params,
   i64 steps, groups, params (u64 n, i64 step, u32 flags, buffers), u32 FNV-1a of all before. */
size_t qc_optim_state_size(const qc_optim *o);
/* Writes qc_optim_state_size(o) bytes to buf (cap bytes available). */
qc_status qc_optim_state_save(const qc_optim *o, uint8_t *buf, size_t cap, qc_err *e);
/* Restores a state saved from an optimizer of the same kind and parameter layout; checks
   everything before changing o (QC_ERR_FORMAT naming the byte offset, QC_ERR_INVALID on a
   layout mismatch), so a failed load leaves o as it was. */
qc_status qc_optim_state_load(qc_optim *o, const uint8_t *buf, size_t len, qc_err *e);

/* ---- learning-rate schedules ------------------------------------------------------------ */

typedef enum {
  QC_SCHED_CONSTANT,
  QC_SCHED_STEP,      /* base_lr * gamma^floor(step / step_size)            (StepLR) */
  QC_SCHED_MULTISTEP, /* base_lr * gamma^#{milestones <= step}          (MultiStepLR) */
  QC_SCHED_COSINE,    /* eta_min + (base_lr - eta_min)(1 + cos(pi step / t_max)) / 2 */
  QC_SCHED_ONECYCLE,  /* OneCycleLR, two phases, anneal_strategy='cos'; base_lr unused */
} qc_sched_kind;

typedef struct {
  qc_sched_kind kind;
  double base_lr;
  int64_t step_size; /* STEP */
  double gamma;      /* STEP, MULTISTEP */
  const int64_t *milestones; /* MULTISTEP, ascending */
  int n_milestones;
  int64_t t_max;  /* COSINE */
  double eta_min; /* COSINE */
  double max_lr;  /* ONECYCLE: starts at max_lr / div_factor, peaks at max_lr at step */
  int64_t total_steps; /* pct_start * total_steps - 1, ends at start / final_div_factor */
  double pct_start, div_factor, final_div_factor;
  /* Linear warmup wrapper (any kind): for step < warmup_steps, lr = lr_inner(0) *
     (warmup_start + (1 - warmup_start) * step / warmup_steps); afterwards lr_inner(step -
     warmup_steps). warmup_steps 0 disables it. */
  int64_t warmup_steps;
  double warmup_start;
} qc_sched;

/* Checks the fields the kind uses (positive step_size / t_max / total_steps, ascending
   milestones, 0 < pct_start < 1, ...); QC_ERR_USAGE naming the field. */
qc_status qc_sched_check(const qc_sched *s, qc_err *e);
/* LR at step (0-based: the lr used by the first optimizer step is qc_sched_lr(s, 0)). Pure.
   Assumes qc_sched_check passed; steps past ONECYCLE's total_steps hold its final lr. */
double qc_sched_lr(const qc_sched *s, int64_t step);

/* ---- gradient clipping ------------------------------------------------------------------ */

/* torch.nn.utils.clip_grad_norm_ with norm_type 2: total = ||all grads||_2; if total >
   max_norm, scales every grad by max_norm / (total + 1e-6). *norm gets the pre-clip total.
   A non-finite total fails with QC_ERR_INVALID and leaves the grads unchanged. grads[i] may be
   NULL (no gradient). */
qc_status qc_clip_grad_norm(float *const *grads, const int64_t *lens, int n, double max_norm,
                            double *norm, qc_err *e);
/* torch.nn.utils.clip_grad_value_: clamps every element into [-clip, clip]. */
void qc_clip_grad_value(float *const *grads, const int64_t *lens, int n, float clip);

#endif
