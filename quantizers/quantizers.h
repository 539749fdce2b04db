/* Quantization methods: passes over the IR that may calibrate (and later train) through the
   interpreter. Public API of qc_quantizers. */
#ifndef QC_QUANTIZERS_H
#define QC_QUANTIZERS_H

#include "ir.h"

/* ---- calibration of activation ranges -------------------------------------------------- */

typedef enum {
  QC_CALIB_MINMAX,     /* running min/max */
  QC_CALIB_PERCENTILE, /* |x| percentile of each batch (e.g. 99.99) */
  QC_CALIB_MSE,        /* clipping threshold minimizing the quantization MSE at the target bits */
} qc_calib_method;

typedef struct {
  qc_calib_method method;
  double percentile;   /* for QC_CALIB_PERCENTILE, in (0, 100] */
  double ema_momentum; /* range_new = m * range_old + (1 - m) * batch_range (HAWQ's
                          act_range_momentum); 0 keeps the overall min/max */
} qc_calib_opts;

/* ---- uniform integer-only quantization (HAWQ-V3) ----------------------------------------- */

typedef struct {
  int w_bits, a_bits;        /* defaults for every layer: 8/8, 4/8, 4/4 */
  const char *config_path;   /* per-layer bits (docs/quantize.md), NULL for none */
  bool first_last_8bit;      /* keep the first conv and the last FC at 8 bits (HAWQ) */
  bool unsigned_after_relu;  /* ReLU outputs on an unsigned grid (a free bit) */
  qc_calib_opts calib;
  int threads;               /* for calibration runs; <= 0: one per CPU */
} qc_uniform_opts;

void qc_uniform_opts_default(qc_uniform_opts *o);

/* One quantized layer in the report. Sizes count the way HAWQ-V3's tables do: model size
   = sum of params x bits; BOPS = sum of MACs x b_w x b_a. */
typedef struct {
  const char *name;  /* the original node's name */
  const char *op;    /* "Conv", "Gemm" */
  int w_bits, a_bits;
  int64_t params;    /* weights (and bias) elements */
  int64_t macs;      /* per image (batch 1) */
  int64_t bits;      /* params x bits (bias at 32 bits) */
  double bops;       /* macs x w_bits x a_bits */
} qc_layer_report;

typedef struct {
  qc_layer_report *layers;
  int32_t n_layers;
  int64_t fp32_bytes;   /* every parameter at 32 bits */
  int64_t quant_bytes;  /* quantized layers at their bits, the rest at 32 */
  double bops, fp32_bops;
} qc_quant_report;

/* Rewrites fp32 graph g in place into integer-only form: BN folded, weights per-channel
   symmetric, activations per-tensor from calibration over the n_calib input batches (each a
   tensor shaped like g's single input), dyadic requantization, ReLU as a clamp, residual adds
   rescaled in integers. rep (may be NULL) is filled; free it with qc_quant_report_free.
   On error g is left unchanged. */
qc_status qc_quantize_uniform(qc_graph *g, const qc_uniform_opts *o, const qc_tensor *calib,
                              int n_calib, qc_quant_report *rep, qc_err *e);
void qc_quant_report_free(qc_quant_report *rep);

#endif
