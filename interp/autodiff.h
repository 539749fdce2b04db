/* Reverse-mode autodiff over a graph: a forward run that keeps every activation, then a
   backward sweep through the ops' vector-Jacobian products (interp/kernels.h). Parameters are
   the graph's f32 constants, updated in place by the optimizers (interp/optim.h), so a trained
   graph exports as it is. */
#ifndef QC_AUTODIFF_H
#define QC_AUTODIFF_H

#include "ir.h"

typedef struct qc_ad qc_ad;

/* training: BatchNormalization uses batch statistics and updates its running mean/var in g
   (momentum from the node); Dropout stays identity. Fails naming the node when a
   differentiable path crosses an op without a VJP. threads <= 0: one per CPU. */
qc_status qc_ad_new(qc_graph *g, int threads, bool training, qc_ad **out, qc_err *e);
void qc_ad_free(qc_ad *ad);
void qc_ad_set_training(qc_ad *ad, bool training);

/* The trainable parameters: f32 constants feeding a differentiable input of a node (weights,
   biases, BN scale and bias; not BN running statistics, not shapes). Value ids, in graph order. */
int32_t qc_ad_n_params(const qc_ad *ad);
int32_t qc_ad_param(const qc_ad *ad, int32_t i);

/* Forward on inputs in the order of g->inputs; keeps activations for backward. */
qc_status qc_ad_forward(qc_ad *ad, const qc_tensor *inputs, int n_in, qc_err *e);
const qc_tensor *qc_ad_output(const qc_ad *ad, int i);
/* Any value's tensor in the last successful forward (e.g. QAT's range observers); NULL if
   none. Owned by ad, valid until the next forward. */
const qc_tensor *qc_ad_value(const qc_ad *ad, int32_t value_id);

/* Backward from d_outputs (one per graph output; a tensor with data NULL counts as zero).
   Gradients are overwritten on each call, not accumulated across calls. */
qc_status qc_ad_backward(qc_ad *ad, const qc_tensor *d_outputs, int n_out, qc_err *e);
/* Gradient of a parameter or graph input after backward; NULL if none flowed. */
const qc_tensor *qc_ad_grad(const qc_ad *ad, int32_t value_id);

/* ---- losses: mean over the batch; the gradient output may be NULL ---------------------- */

/* logits [N, C], labels N class indices in [0, C). */
qc_status qc_loss_cross_entropy(const qc_tensor *logits, const int64_t *labels, double *loss,
                                qc_tensor *d_logits, qc_err *e);
qc_status qc_loss_mse(const qc_tensor *pred, const qc_tensor *target, double *loss,
                      qc_tensor *d_pred, qc_err *e);
/* Hinton distillation: T^2 * KL(softmax(teacher/T) || softmax(student/T)), mean over N. */
qc_status qc_loss_kl_distill(const qc_tensor *student, const qc_tensor *teacher, float T,
                             double *loss, qc_tensor *d_student, qc_err *e);

#endif
