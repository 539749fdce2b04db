/* The dtype table: one row per dtype, from QC_DTYPES. */
#include <string.h>
#include "ir.h"

const qc_dtype_info qc_dtypes[QC_DT_COUNT] = {
    [QC_DT_UNDEF] = {"undef", 0, 0, 0},
#define QC_X(id, name, bits, onnx, flags) [QC_DT_##id] = {name, bits, onnx, flags},
    QC_DTYPES(QC_X)
#undef QC_X
};

const char *qc_dtype_name(qc_dtype t)
{
  return (unsigned)t < QC_DT_COUNT ? qc_dtypes[t].name : "invalid";
}

qc_dtype qc_dtype_from_name(const char *name)
{
  for (int t = 1; t < QC_DT_COUNT; t++)
    if (strcmp(qc_dtypes[t].name, name) == 0) return (qc_dtype)t;
  return QC_DT_UNDEF;
}

qc_dtype qc_dtype_from_onnx(int onnx_type)
{
  for (int t = 1; t < QC_DT_COUNT; t++)
    if (qc_dtypes[t].onnx != 0 && qc_dtypes[t].onnx == onnx_type) return (qc_dtype)t;
  return QC_DT_UNDEF;
}

int64_t qc_dtype_bytes(qc_dtype t, int64_t elems)
{
  if ((unsigned)t >= QC_DT_COUNT || t == QC_DT_UNDEF || elems < 0 || elems > QC_MAX_ELEMS)
    return -1;
  return (elems * qc_dtypes[t].bits + 7) / 8;
}

int64_t qc_shape_elems(int rank, const int64_t *dims)
{
  if (rank < 0 || rank > QC_MAX_RANK) return -1;
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0) return -1;
    if (dims[i] == 0) n = 0;
    else if (n > QC_MAX_ELEMS / dims[i]) return -1;
    else n *= dims[i];
  }
  return n;
}

int64_t qc_tensor_elems(const qc_tensor *t) { return qc_shape_elems(t->rank, t->dims); }

int64_t qc_tensor_bytes(const qc_tensor *t)
{
  return qc_dtype_bytes(t->dtype, qc_tensor_elems(t));
}
