/* QcFakeQuant, the fake quantization of quantization-aware training (quantizers/qat.c), and its
 * straight-through gradient. The forward reproduces the integer model's own rounding: the
 * activation grid of QcQuantize (true float division, half-even, clamp) and the per-channel
 * weight scales of the HAWQ-V3 quantizer (quantizers/uniform.c: s_c = fp32(max|w_c| / qmax)),
 * so the trained graph sees exactly the values the converted integer graph computes with. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "qmath.h"

/* A view of x as [outer, C, inner] around axis (C = 1, inner = elems for per tensor). */
static void split_axis(const qc_tensor *x, int64_t axis, int64_t *outer, int64_t *C,
                       int64_t *inner)
{
  *outer = 1, *C = 1, *inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < axis) *outer *= x->dims[d];
    else if (d == axis) *C = x->dims[d];
    else *inner *= x->dims[d];
  }
}

static qc_status check(qc_kctx *k, const qc_node *n, const qc_tensor *x, int64_t *axis,
                       int64_t *qmin, int64_t *qmax, float *scale)
{
  if (x->dtype != QC_DT_F32)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "input must be float32, not %s",
                       qc_dtype_name(x->dtype));
  *axis = qc_attr_i(n, "axis", -1);
  *qmin = qc_attr_i(n, "qmin", 0);
  *qmax = qc_attr_i(n, "qmax", 0);
  *scale = qc_attr_f(n, "scale", 0);
  if (*axis >= x->rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis %lld out of range for rank %d",
                       (long long)*axis, x->rank);
  if (*qmin > *qmax || *qmax <= 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "qmin %lld and qmax %lld: need qmin <= qmax, "
                       "qmax > 0", (long long)*qmin, (long long)*qmax);
  if (*axis < 0 && !(*scale > 0 && isfinite(*scale)))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "scale %g must be > 0", (double)*scale);
  return QC_OK;
}

/* Channel c's weight scale: fp32(max|w_c| / qmax), 0 for an all-zero channel. */
static float chan_scale(const float *x, int64_t outer, int64_t C, int64_t inner, int64_t c,
                        int64_t qmax)
{
  double m = 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) m = fmax(m, fabs(x[(o * C + c) * inner + i]));
  return (float)(m / (double)qmax);
}

static inline float fq(float x, float s, float lo, float hi)
{
  float r = qc_round_half_even(x / s);
  if (r != r) r = 0;
  r = r < lo ? lo : r > hi ? hi : r;
  return r * s;
}

typedef struct {
  const float *x;
  float *y;
  float s, lo, hi;
} fq_job;

static void fq_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const fq_job *j = arg;
  for (int64_t i = begin; i < end; i++) j->y[i] = fq(j->x[i], j->s, j->lo, j->hi);
}

static qc_status k_fake_quant(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                              qc_tensor *out, int n_out)
{
  (void)n_in, (void)n_out;
  int64_t axis, qmin, qmax;
  float scale;
  qc_status st = check(k, n, &in[0], &axis, &qmin, &qmax, &scale);
  if (st) return st;
  const float *x = in[0].data;
  float *y = out[0].data;
  int64_t ne = qc_tensor_elems(&in[0]);
  if (axis < 0) {
    fq_job j = {x, y, scale, (float)qmin, (float)qmax};
    qc_pool_run(k->pool, ne, 4096, fq_task, &j);
    return QC_OK;
  }
  int64_t outer, C, inner;
  split_axis(&in[0], axis, &outer, &C, &inner);
  for (int64_t c = 0; c < C; c++) {
    float s = chan_scale(x, outer, C, inner, c, qmax);
    for (int64_t o = 0; o < outer; o++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t p = (o * C + c) * inner + i;
        y[p] = s > 0 ? fq(x[p], s, (float)-qmax, (float)qmax) : 0.0f;
      }
  }
  return QC_OK;
}

/* Straight-through estimator: weights pass the gradient unchanged (their grid covers max|w|);
   activations pass it where x lies inside the clamping range [qmin s, qmax s], 0 outside
   (the clamp's own derivative), as PACT/LSQ-style STEs do. */
static qc_status vjp_fake_quant(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                const qc_tensor *out, int n_out, const qc_tensor *dout,
                                qc_tensor *din)
{
  (void)n_in, (void)out, (void)n_out;
  if (!din[0].data || !dout[0].data) return QC_OK;
  int64_t axis, qmin, qmax;
  float scale;
  qc_status st = check(k, n, &in[0], &axis, &qmin, &qmax, &scale);
  if (st) return st;
  const float *x = in[0].data, *g = dout[0].data;
  float *dx = din[0].data;
  int64_t ne = qc_tensor_elems(&in[0]);
  if (axis >= 0) {
    for (int64_t i = 0; i < ne; i++) dx[i] += g[i];
    return QC_OK;
  }
  float lo = (float)qmin * scale, hi = (float)qmax * scale;
  for (int64_t i = 0; i < ne; i++)
    if (x[i] >= lo && x[i] <= hi) dx[i] += g[i];
  return QC_OK;
}

const qc_kernel_row qc_kernels_fakequant[] = {
    {QC_OP_QcFakeQuant, k_fake_quant},
    {QC_OP_NONE, NULL},
};

const qc_vjp_row qc_vjps_fakequant[] = {
    {QC_OP_QcFakeQuant, vjp_fake_quant},
    {QC_OP_NONE, NULL},
};
