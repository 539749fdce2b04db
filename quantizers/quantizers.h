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

/* A given clipping threshold T (S = T / levels) for the activation value named value, e.g. the
   EMA ranges that quantization-aware training learned. */
typedef struct {
  const char *value;
  double thresh;
} qc_act_range;

typedef struct {
  int w_bits, a_bits;        /* defaults for every layer: 8/8, 4/8, 4/4 */
  const char *config_path;   /* per-layer bits (docs/quantize.md), NULL for none */
  bool first_last_8bit;      /* keep the first conv and the last FC at 8 bits (HAWQ) */
  bool unsigned_after_relu;  /* ReLU outputs on an unsigned grid (a free bit) */
  qc_calib_opts calib;
  int threads;               /* for calibration runs; <= 0: one per CPU */
  /* When n_ranges > 0: every quantization point's threshold comes from ranges (by value name)
     and no calibration runs (calib may be NULL); a point without a range is an error. */
  const qc_act_range *ranges;
  int n_ranges;
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

/* ---- quantization-aware training (qat.c, docs/quantize.md "QAT") ----------------------- */

typedef struct {
  qc_uniform_opts u;         /* bits, config, first/last policy, signedness; u.calib sets the
                                initial ranges */
  double act_range_momentum; /* EMA of each batch's min/max (HAWQ: 0.99) */
} qc_qat_opts;

void qc_qat_opts_default(qc_qat_opts *o);

typedef struct qc_qat qc_qat;
struct qc_ad;

/* Rewrites fp32 graph g in place into a QAT training graph: BatchNormalization folded into the
   layers (statistics frozen, as HAWQ's fix-BN fine-tuning), a QcFakeQuant on each quantized
   layer's weights (per output channel, symmetric) and one on each activation the integer graph
   quantizes (per tensor, the PTQ grid: unsigned after ReLU). Initial ranges: calibration of
   the n_calib batches with o->u.calib. A g that already holds QcFakeQuant nodes (a QAT
   checkpoint) keeps their ranges; calib may then be NULL. On error g is unchanged. */
qc_status qc_qat_new(qc_graph *g, const qc_qat_opts *o, const qc_tensor *calib, int n_calib,
                     qc_qat **out, qc_err *e);
void qc_qat_free(qc_qat *q);
/* Number of activation ranges, and the i-th: value name (in the fp32 graph) and threshold. */
int qc_qat_n_ranges(const qc_qat *q);
qc_act_range qc_qat_range(const qc_qat *q, int i);
/* Sets range i's threshold (tests; ranges otherwise move only through qc_qat_observe). */
qc_status qc_qat_set_range(qc_qat *q, int i, double thresh, qc_err *e);
/* After a training forward of ad (built on the QAT graph): each range moves by
   T = m T + (1 - m) T_batch with T_batch the batch's max (unsigned) or max|x| (signed). */
qc_status qc_qat_observe(qc_qat *q, const struct qc_ad *ad, qc_err *e);
/* The exact integer model of the current weights and ranges: the fp32 graph without the
   QcFakeQuant nodes, converted by qc_quantize_uniform with the ranges (no calibration). *out
   is a new graph; rep (may be NULL) as qc_quantize_uniform's. */
qc_status qc_qat_convert(const qc_qat *q, qc_graph **out, qc_quant_report *rep, qc_err *e);

#endif
