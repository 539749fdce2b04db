/* Shape inference for quantc's integer-only ops. Placeholder until the integer kernels land. */
#include "ir.h"

#define QC_STUB(fn)                                                                        \
  qc_status fn(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,    \
               qc_err *e)                                                                  \
  {                                                                                        \
    return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");        \
  }
QC_STUB(qc_infer_qc_quantize)
QC_STUB(qc_infer_qc_dequantize)
QC_STUB(qc_infer_qc_conv)
QC_STUB(qc_infer_qc_gemm)
QC_STUB(qc_infer_qc_add)
QC_STUB(qc_infer_qc_global_pool)
