/* Uniform integer-only quantization (HAWQ-V3). Placeholder until the quantizer lands. */
#include <string.h>
#include "quantizers.h"

void qc_uniform_opts_default(qc_uniform_opts *o)
{
  memset(o, 0, sizeof *o);
  o->w_bits = 8;
  o->a_bits = 8;
  o->first_last_8bit = true;
  o->unsigned_after_relu = true;
  o->calib.method = QC_CALIB_PERCENTILE;
  o->calib.percentile = 99.99;
  o->calib.ema_momentum = 0.0;
}

qc_status qc_quantize_uniform(qc_graph *g, const qc_uniform_opts *o, const qc_tensor *calib,
                              int n_calib, qc_quant_report *rep, qc_err *e)
{
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "uniform quantization is not implemented yet");
}

void qc_quant_report_free(qc_quant_report *rep) { (void)rep; }
