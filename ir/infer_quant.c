/* Shape inference for the quant ops. Placeholder: each returns "not implemented". */
#include "ir.h"

qc_status qc_infer_conv_integer(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_dequantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_dynamic_quantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_matmul_integer(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_qlinear_conv(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_qlinear_matmul(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_quantize(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

