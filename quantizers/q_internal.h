/* Pieces of the uniform quantizer shared between its files and its tests. Private to
   quantizers/ (tests include it directly). */
#ifndef QC_Q_INTERNAL_H
#define QC_Q_INTERNAL_H

#include "quantizers.h"

/* ---- calibration (calibrate.c) ---------------------------------------------------------- */

/* One quantization point: a value of the (fp32) graph whose range is observed. */
typedef struct {
  int32_t value;     /* value id: a graph input or a node output */
  int bits;          /* target bits (for the MSE search) */
  bool is_unsigned;  /* grid [0, 2^b - 1] on x (else symmetric on |x|) */
  /* results */
  double min, max;   /* observed range (EMA over batches when ema_momentum > 0) */
  double thresh;     /* clipping threshold T > 0: S = T / levels */
} qc_calib_point;

/* Number of positive levels of a grid: 2^b - 1 unsigned, 2^(b-1) - 1 signed symmetric. */
static inline int32_t qc_q_levels(int bits, bool is_unsigned)
{
  return is_unsigned ? (int32_t)((1u << bits) - 1) : (int32_t)((1u << (bits - 1)) - 1);
}

/* Runs g (f32, one input) on each batch in the interpreter and fills each point's min, max and
   thresh per o (docs/quantize.md, "Calibration"). Percentile and MSE without EMA take a second
   pass over the batches (histograms over the range seen in the first). */
qc_status qc_calibrate(const qc_graph *g, const qc_calib_opts *o, const qc_tensor *batches,
                       int n_batches, qc_calib_point *pts, int n_pts, int threads, qc_err *e);

/* Threshold from a histogram of nb bins over [0, range] (zeros counted apart in n_zero):
   the percentile (p in (0, 100]) of all elements, or the T minimizing the expected
   quantization MSE at levels positive levels (clipping error above T, step^2/12 below). */
double qc_calib_hist_percentile(const double *hist, int nb, double range, double n_zero,
                                double p);
double qc_calib_hist_mse(const double *hist, int nb, double range, int32_t levels);

/* ---- planning shared with QAT (uniform.c) ------------------------------------------------- */

typedef struct {
  int32_t value;       /* value id in the prepared graph */
  int bits;
  bool is_unsigned;
  int32_t qmin, qmax;  /* the integer grid */
} qc_qpoint;

typedef struct {
  int32_t node;        /* the Conv/Gemm/MatMul node */
  int w_bits;
} qc_qlayer;

/* Prepares f in place (BN folded, constants folded, shapes inferred) and returns the points
   and layers that qc_quantize_uniform would use on it (*pts, *layers malloc'd). */
qc_status qc_uniform_plan(qc_graph *f, const qc_uniform_opts *o, qc_qpoint **pts, int *n_pts,
                          qc_qlayer **layers, int *n_layers, qc_err *e);

/* ---- per-layer bits config (config.c) --------------------------------------------------- */

typedef struct {
  char *name;        /* layer (node) name */
  int w_bits, a_bits; /* -1 when the line leaves it out */
  int line;
} qc_bits_entry;

/* Parses config text (path names it in messages): lines `LAYER w=BITS a=BITS` (either key
   may be left out, not both), '#' starts a comment, blank lines skipped. Errors:
   "PATH:LINE: ..." for a malformed line, bits outside 2..8, a repeated layer. *out is
   malloc'd; free with qc_bits_config_free. */
qc_status qc_bits_config_parse(const char *text, const char *path, qc_bits_entry **out,
                               int *n, qc_err *e);
/* Reads and parses the file at path. */
qc_status qc_bits_config_load(const char *path, qc_bits_entry **out, int *n, qc_err *e);
void qc_bits_config_free(qc_bits_entry *v, int n);

#endif
