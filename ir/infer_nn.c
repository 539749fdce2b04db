/* Shape inference for the nn ops. Placeholder: each returns "not implemented". */
#include "ir.h"

qc_status qc_infer_batchnorm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_conv(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_conv_transpose(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_gemm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_global_pool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_layernorm(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_matmul(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_pool(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

