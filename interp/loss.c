/* Losses, each the mean over the batch, with their gradients (computed in double). */
#include <math.h>
#include <stdlib.h>
#include "autodiff.h"

static qc_status check_2d(const qc_tensor *t, const char *what, qc_err *e)
{
  if (t->dtype != QC_DT_F32 || t->rank != 2 || !t->data)
    return qc_err_set(e, QC_ERR_INVALID, "%s must be an f32 tensor [N, C]", what);
  return QC_OK;
}

static qc_status check_grad(const qc_tensor *d, const qc_tensor *like, const char *what,
                            qc_err *e)
{
  if (!d) return QC_OK;
  if (d->dtype != QC_DT_F32 || !d->data || qc_tensor_elems(d) != qc_tensor_elems(like))
    return qc_err_set(e, QC_ERR_INVALID, "%s must be f32 with %lld elements", what,
                      (long long)qc_tensor_elems(like));
  return QC_OK;
}

/* log_softmax of row x (length c, scaled by 1/T) into out. */
static void log_softmax_row(const float *x, int64_t c, double inv_t, double *out)
{
  double m = -INFINITY, s = 0;
  for (int64_t j = 0; j < c; j++) m = fmax(m, x[j] * inv_t);
  for (int64_t j = 0; j < c; j++) s += exp(x[j] * inv_t - m);
  double lse = m + log(s);
  for (int64_t j = 0; j < c; j++) out[j] = x[j] * inv_t - lse;
}

/* L = -mean_n log softmax(x_n)[y_n]; dL/dx_n = (softmax(x_n) - onehot(y_n)) / N. */
qc_status qc_loss_cross_entropy(const qc_tensor *logits, const int64_t *labels, double *loss,
                                qc_tensor *d_logits, qc_err *e)
{
  qc_status st;
  if ((st = check_2d(logits, "logits", e)) || (st = check_grad(d_logits, logits, "d_logits", e)))
    return st;
  int64_t N = logits->dims[0], C = logits->dims[1];
  double *lp = malloc(sizeof(double) * (size_t)(C ? C : 1));
  if (!lp) return qc_err_set(e, QC_ERR_NOMEM, "out of memory in cross-entropy");
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    if (labels[n] < 0 || labels[n] >= C) {
      free(lp);
      return qc_err_set(e, QC_ERR_INVALID, "label %lld of sample %lld is outside [0, %lld)",
                        (long long)labels[n], (long long)n, (long long)C);
    }
    const float *x = (const float *)logits->data + n * C;
    log_softmax_row(x, C, 1.0, lp);
    total -= lp[labels[n]];
    if (d_logits) {
      float *d = (float *)d_logits->data + n * C;
      for (int64_t j = 0; j < C; j++)
        d[j] = (float)((exp(lp[j]) - (j == labels[n])) / (double)N);
    }
  }
  free(lp);
  *loss = N ? total / (double)N : 0;
  return QC_OK;
}

/* L = sum (p - t)^2 / numel (PyTorch's MSELoss, reduction mean); dL/dp = 2 (p - t) / numel. */
qc_status qc_loss_mse(const qc_tensor *pred, const qc_tensor *target, double *loss,
                      qc_tensor *d_pred, qc_err *e)
{
  qc_status st;
  if (pred->dtype != QC_DT_F32 || target->dtype != QC_DT_F32 ||
      qc_tensor_elems(pred) != qc_tensor_elems(target) || !pred->data || !target->data)
    return qc_err_set(e, QC_ERR_INVALID, "pred and target must be f32 with the same size");
  if ((st = check_grad(d_pred, pred, "d_pred", e))) return st;
  int64_t ne = qc_tensor_elems(pred);
  const float *p = pred->data, *t = target->data;
  double s = 0;
  for (int64_t i = 0; i < ne; i++) {
    double d = (double)p[i] - t[i];
    s += d * d;
    if (d_pred) ((float *)d_pred->data)[i] = (float)(2 * d / (double)ne);
  }
  *loss = ne ? s / (double)ne : 0;
  return QC_OK;
}

/* L = T^2 / N * sum_n sum_j q_j (log q_j - log p_j), q = softmax(t/T), p = softmax(s/T);
   dL/ds = T / N * (p - q). */
qc_status qc_loss_kl_distill(const qc_tensor *student, const qc_tensor *teacher, float T,
                             double *loss, qc_tensor *d_student, qc_err *e)
{
  qc_status st;
  if ((st = check_2d(student, "student logits", e)) ||
      (st = check_2d(teacher, "teacher logits", e)) ||
      (st = check_grad(d_student, student, "d_student", e)))
    return st;
  if (teacher->dims[0] != student->dims[0] || teacher->dims[1] != student->dims[1])
    return qc_err_set(e, QC_ERR_INVALID, "teacher and student logits differ in shape");
  if (!(T > 0)) return qc_err_set(e, QC_ERR_INVALID, "temperature %g must be positive", (double)T);
  int64_t N = student->dims[0], C = student->dims[1];
  double *lp = malloc(sizeof(double) * 2 * (size_t)(C ? C : 1));
  if (!lp) return qc_err_set(e, QC_ERR_NOMEM, "out of memory in KL distillation");
  double *lq = lp + C, total = 0;
  for (int64_t n = 0; n < N; n++) {
    log_softmax_row((const float *)student->data + n * C, C, 1.0 / T, lp);
    log_softmax_row((const float *)teacher->data + n * C, C, 1.0 / T, lq);
    for (int64_t j = 0; j < C; j++) {
      double q = exp(lq[j]);
      total += q * (lq[j] - lp[j]);
      if (d_student)
        ((float *)d_student->data)[n * C + j] = (float)((double)T / (double)N * (exp(lp[j]) - q));
    }
  }
  free(lp);
  *loss = N ? (double)T * T * total / (double)N : 0;
  return QC_OK;
}
