/* Shape inference for the tensor ops. Placeholder: each returns "not implemented". */
#include "ir.h"

qc_status qc_infer_argreduce(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_broadcast(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_cast(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_cast_like(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_compare(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_concat(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_constant(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_constant_of_shape(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_depth_to_space(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_dropout(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_expand(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_flatten(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_gather(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_gather_elements(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_is_class(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_pad(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_range(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_reduce(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_reshape(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_same(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_shape(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_size(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_slice(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_space_to_depth(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_split(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_squeeze(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_tile(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_transpose(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_unsqueeze(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

qc_status qc_infer_where(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
    qc_err *e)
{
  return qc_node_err(e, n, QC_ERR_UNSUPPORTED, "shape inference not implemented");
}

