/* Private to tools/: the post-training quantization step that `quantize` and `compile --scheme`
   share: their options, the calibration data (Fashion-MNIST or NPY batches) and the call into
   quantizers/uniform. Messages name the command given as cmd. */
#ifndef QC_QUANT_CLI_H
#define QC_QUANT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include "ir.h"
#include "quantizers.h"

#define QC_CLI_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define QC_CLI_DEFAULT_CALIB_N 1024

/* getopt codes of the long-only options (short ones: -s --scheme, -c --calib, -n --calib-n). */
enum {
  QC_QO_METHOD = 0x1000,
  QC_QO_PCT,
  QC_QO_SEED,
  QC_QO_MEAN,
  QC_QO_STD,
  QC_QO_DIR,
  QC_QO_FL,
};

/* The rows of a struct option array for these options. */
#define QC_CLI_QUANT_LONGOPTS                                                                  \
  {"scheme", required_argument, NULL, 's'}, {"calib", required_argument, NULL, 'c'},           \
      {"calib-n", required_argument, NULL, 'n'},                                               \
      {"calib-method", required_argument, NULL, QC_QO_METHOD},                                 \
      {"percentile", required_argument, NULL, QC_QO_PCT},                                      \
      {"seed", required_argument, NULL, QC_QO_SEED},                                           \
      {"mean", required_argument, NULL, QC_QO_MEAN},                                           \
      {"std", required_argument, NULL, QC_QO_STD},                                             \
      {"data-dir", required_argument, NULL, QC_QO_DIR},                                        \
      {"first-last", required_argument, NULL, QC_QO_FL}

typedef struct {
  const char *scheme, *calib, *data_dir, *method;
  long calib_n, seed;
  double mean, std, pct;
  bool have_pct, norm, first_last_8;
} qc_cli_quant_args;

void qc_cli_quant_args_init(qc_cli_quant_args *q);
/* Takes getopt's return c when it is one of the options above: 1 taken, 0 not one of them,
   -1 a usage error (printed; *rc holds the exit code). */
int qc_cli_quant_opt(const char *cmd, qc_cli_quant_args *q, int c, const char *arg, int *rc);
/* After parsing, with q->scheme set: the cross-option checks (--calib given, --percentile only
   with percentile, --mean/--std only with fashion-mnist) and the quantizer options. false
   with *rc set on a usage error. */
bool qc_cli_quant_finish(const char *cmd, const qc_cli_quant_args *q, int threads,
                         qc_uniform_opts *o, int *rc);
/* Checks g's input (one float32 [batch, fixed dims...]), reads the calibration set and
   quantizes g in place; *samples and *batches describe the set. rep is filled on success (the
   caller frees it) and freed here on failure. A model with no quantizable layer is
   QC_ERR_UNSUPPORTED. */
qc_status qc_cli_quantize(qc_graph *g, const char *path, const qc_cli_quant_args *q,
                          const qc_uniform_opts *o, qc_quant_report *rep, long *samples,
                          int *batches, qc_err *e);

#endif
