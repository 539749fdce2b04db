/* Calibration of activation ranges: runs the fp32 graph in the interpreter with an observer
 * and records, per quantization point, min/max, a percentile of |x| (x for unsigned points) or
 * the MSE-optimal clipping threshold, optionally as an EMA across batches (HAWQ's
 * act_range_momentum: r = m * r + (1 - m) * r_batch). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "interp.h"
#include "q_internal.h"

#define NBINS 2048

double qc_calib_hist_percentile(const double *hist, int nb, double range, double n_zero,
                                double p)
{
  double total = n_zero;
  for (int i = 0; i < nb; i++) total += hist[i];
  if (total <= 0 || range <= 0) return 0;
  double target = p / 100.0 * total, cum = n_zero;
  if (cum >= target) return range / nb; /* mostly zeros: the first bin's edge */
  for (int i = 0; i < nb; i++) {
    cum += hist[i];
    if (cum >= target) return (i + 1) * range / nb;
  }
  return range;
}

/* E(T) = sum_{bins above T} h (c - T)^2 + (T / levels)^2 / 12 * count(bins at or below T), bin
   centers c; candidates T at bin edges. Suffix sums make each candidate O(1). */
double qc_calib_hist_mse(const double *hist, int nb, double range, int32_t levels)
{
  if (range <= 0) return 0;
  double w = range / nb;
  double *suf = malloc(sizeof(double) * 3 * (size_t)(nb + 1));
  if (!suf) return range;
  double *s0 = suf, *s1 = suf + nb + 1, *s2 = suf + 2 * (nb + 1);
  s0[nb] = s1[nb] = s2[nb] = 0;
  for (int i = nb - 1; i >= 0; i--) {
    double c = (i + 0.5) * w;
    s0[i] = s0[i + 1] + hist[i];
    s1[i] = s1[i + 1] + hist[i] * c;
    s2[i] = s2[i + 1] + hist[i] * c * c;
  }
  double best = INFINITY, best_t = range;
  for (int i = 1; i <= nb; i++) {
    double t = i * w, step = t / levels;
    double clip = s2[i] - 2 * t * s1[i] + t * t * s0[i];
    double err = clip + step * step / 12.0 * (s0[0] - s0[i]);
    if (err < best) best = err, best_t = t;
  }
  free(suf);
  return best_t;
}

typedef struct {
  const qc_calib_opts *o;
  qc_calib_point *pts;
  int n_pts;
  int32_t *point_of;  /* value id -> point index or -1 */
  int pass;           /* 1: ranges; 2: histograms */
  bool first_batch;
  double *hist;       /* n_pts x NBINS (pass 2, or per batch with EMA) */
  double *zeros;      /* n_pts */
  double *range;      /* n_pts: histogram range of pass 2 */
} calib_ctx;

static bool per_batch_thresh(const calib_ctx *c)
{
  return c->o->ema_momentum > 0 && c->o->method != QC_CALIB_MINMAX;
}

/* |x| for signed points, max(x, 0) for unsigned ones. */
static void fill_hist(const float *x, int64_t n, bool uns, double range, double *h, double *z)
{
  double inv = NBINS / range;
  for (int64_t i = 0; i < n; i++) {
    double v = uns ? (x[i] > 0 ? x[i] : 0) : fabs(x[i]);
    if (v == 0) {
      (*z)++;
      continue;
    }
    int b = (int)(v * inv);
    h[b >= NBINS ? NBINS - 1 : b] += 1;
  }
}

static double thresh_of(const calib_ctx *c, const qc_calib_point *p, const double *h, double z,
                        double range)
{
  if (c->o->method == QC_CALIB_PERCENTILE)
    return qc_calib_hist_percentile(h, NBINS, range, z, c->o->percentile);
  return qc_calib_hist_mse(h, NBINS, range, qc_q_levels(p->bits, p->is_unsigned));
}

static double absmax(const qc_calib_point *p, double mn, double mx)
{
  return p->is_unsigned ? fmax(mx, 0) : fmax(fabs(mn), fabs(mx));
}

static void observe(calib_ctx *c, int k, const qc_tensor *t)
{
  if (t->dtype != QC_DT_F32 || !t->data) return;
  qc_calib_point *p = &c->pts[k];
  const float *x = t->data;
  int64_t n = qc_tensor_elems(t);
  if (n <= 0) return;
  double *h = c->hist + (size_t)k * NBINS;
  if (c->pass == 2) {
    fill_hist(x, n, p->is_unsigned, c->range[k], h, &c->zeros[k]);
    return;
  }
  float mn = x[0], mx = x[0];
  for (int64_t i = 1; i < n; i++) {
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
  }
  double m = c->o->ema_momentum;
  bool ema = m > 0 && !c->first_batch;
  if (!ema && c->first_batch) p->min = mn, p->max = mx;
  else if (ema) p->min = m * p->min + (1 - m) * mn, p->max = m * p->max + (1 - m) * mx;
  else p->min = fmin(p->min, mn), p->max = fmax(p->max, mx);
  if (per_batch_thresh(c)) {
    double r = absmax(p, mn, mx), z = 0;
    double tb = 0;
    if (r > 0) {
      memset(h, 0, sizeof(double) * NBINS);
      fill_hist(x, n, p->is_unsigned, r, h, &z);
      tb = thresh_of(c, p, h, z, r);
    }
    p->thresh = ema ? m * p->thresh + (1 - m) * tb : tb;
  }
}

typedef struct {
  calib_ctx *c;
  const qc_graph *g;
} obs_ctx;

static void obs_fn(void *user, int32_t node, const qc_tensor *outs, int n_out)
{
  obs_ctx *oc = user;
  const qc_node *nd = &oc->g->nodes[node];
  for (int k = 0; k < n_out && k < nd->n_out; k++) {
    int32_t v = nd->out[k];
    if (v >= 0 && oc->c->point_of[v] >= 0) observe(oc->c, oc->c->point_of[v], &outs[k]);
  }
}

qc_status qc_calibrate(const qc_graph *g, const qc_calib_opts *o, const qc_tensor *batches,
                       int n_batches, qc_calib_point *pts, int n_pts, int threads, qc_err *e)
{
  if (n_batches <= 0 || !batches)
    return qc_err_set(e, QC_ERR_USAGE, "empty calibration set");
  if (g->n_inputs != 1)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "calibration needs a model with one input, this "
                                             "one has %d", g->n_inputs);
  if (o->method == QC_CALIB_PERCENTILE && !(o->percentile > 0 && o->percentile <= 100))
    return qc_err_set(e, QC_ERR_USAGE, "percentile %g outside (0, 100]", o->percentile);
  if (!(o->ema_momentum >= 0 && o->ema_momentum < 1))
    return qc_err_set(e, QC_ERR_USAGE, "EMA momentum %g outside [0, 1)", o->ema_momentum);
  calib_ctx c = {.o = o, .pts = pts, .n_pts = n_pts, .first_batch = true};
  c.point_of = malloc(sizeof(int32_t) * (size_t)(g->n_values + 1));
  c.hist = calloc((size_t)n_pts * NBINS + 1, sizeof(double));
  c.zeros = calloc((size_t)n_pts + 1, sizeof(double));
  c.range = calloc((size_t)n_pts + 1, sizeof(double));
  qc_interp *it = NULL;
  qc_status st = QC_OK;
  if (!c.point_of || !c.hist || !c.zeros || !c.range) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for calibration");
    goto out;
  }
  for (int32_t v = 0; v < g->n_values; v++) c.point_of[v] = -1;
  for (int k = 0; k < n_pts; k++) {
    pts[k].min = pts[k].max = pts[k].thresh = 0;
    c.point_of[pts[k].value] = k;
  }
  if ((st = qc_interp_new(g, threads, &it, e))) goto out;
  obs_ctx oc = {&c, g};
  qc_interp_set_observer(it, obs_fn, &oc);
  int32_t in_point = c.point_of[g->inputs[0]];
  bool two_pass = o->ema_momentum == 0 && o->method != QC_CALIB_MINMAX;
  for (c.pass = 1; c.pass <= (two_pass ? 2 : 1); c.pass++) {
    if (c.pass == 2)
      for (int k = 0; k < n_pts; k++) c.range[k] = absmax(&pts[k], pts[k].min, pts[k].max);
    for (int b = 0; b < n_batches; b++) {
      if (in_point >= 0) observe(&c, in_point, &batches[b]);
      qc_err tmp = {0};
      if ((st = qc_interp_run(it, &batches[b], 1, &tmp))) {
        st = qc_err_set(e, st, "calibration batch %d: %s", b, tmp.msg);
        goto out;
      }
      c.first_batch = false;
    }
  }
  for (int k = 0; k < n_pts; k++) {
    qc_calib_point *p = &pts[k];
    double r = absmax(p, p->min, p->max);
    if (o->method == QC_CALIB_MINMAX) p->thresh = r;
    else if (two_pass)
      p->thresh = r > 0 ? thresh_of(&c, p, c.hist + (size_t)k * NBINS, c.zeros[k], r) : 0;
    /* a point that never left zero still needs a positive scale */
    if (!(p->thresh > 0)) p->thresh = r > 0 ? r : 1.0;
  }
out:
  qc_interp_free(it);
  free(c.point_of), free(c.hist), free(c.zeros), free(c.range);
  return st;
}
