/* ONNX import: ModelProto files to IR graphs, and TensorProto files to tensors.
 *
 * Models of ai.onnx opsets 6..17 are read (earlier opsets for ops unchanged since then);
 * legacy forms are rewritten on import into the opset-17 meaning the op list gives each op.
 * Errors name the file and byte offset (malformed protobuf), the node, attribute or tensor. */
#ifndef QC_ONNX_H
#define QC_ONNX_H

#include "ir.h"

/* Loads a model file; external tensor data is read relative to the model's folder and never
   from outside it. On success *out is a new graph the caller frees with qc_graph_free. */
qc_status qc_onnx_load(const char *path, qc_graph **out, qc_err *e);

/* The same from bytes in memory; base_dir is the folder for external data (NULL: a model
   with external data is refused). */
qc_status qc_onnx_load_buffer(const void *buf, size_t len, const char *base_dir, qc_graph **out,
                              qc_err *e);

/* Imports into g, which must be empty (fresh from qc_graph_new). On failure g holds a partial
   graph that the caller frees; this form lets tests inject allocation failures into g's
   arena. */
qc_status qc_onnx_load_buffer_into(const void *buf, size_t len, const char *base_dir,
                                   qc_graph *g, qc_err *e);

/* Reads a serialized TensorProto (.pb, as in ONNX test data test_data_set_N/input_M.pb).
   out->data is allocated in a; the tensor's name is copied to name_buf (truncated, NUL
   terminated) when name_buf is not NULL. */
qc_status qc_onnx_read_tensor_file(const char *path, qc_arena *a, qc_tensor *out,
                                   char *name_buf, size_t name_len, qc_err *e);

/* Writes t as a serialized TensorProto with raw little-endian data. */
qc_status qc_onnx_save_tensor_file(const char *path, const qc_tensor *t, const char *name,
                                   qc_err *e);

/* ---- export (frontend/onnx_export.c, docs/onnx-export.md) ------------------------------- */

typedef struct {
  /* Write quantc's integer ops (QcConv, ...) verbatim in domain "quantc" (readable by quantc
     only) instead of lowering them to standard QDQ form. */
  bool keep_int_ops;
} qc_onnx_export_opts;

/* Writes g as an ONNX model: ir_version 8, ai.onnx opset 17, initializers as raw
   little-endian data, value_info for every value of known dtype, symbolic dims as dim_param.
   Integer-only graphs are written in QDQ form ONNX Runtime runs: QuantizeLinear /
   DequantizeLinear at each value's scale (its qparams), int8 weights with per-channel scales,
   int32 bias, float Conv/Gemm/Add, Clip/Relu for clamps narrower than the 8-bit dtype. The
   file is written to a temporary name in the same folder and renamed, so a failure never
   leaves a partial file at path. */
qc_status qc_onnx_save(const qc_graph *g, const char *path, qc_err *e);
/* The same into a malloc'd buffer the caller frees. */
qc_status qc_onnx_save_buffer(const qc_graph *g, void **buf, size_t *len, qc_err *e);
/* With options (o may be NULL: the defaults above). */
qc_status qc_onnx_save_ex(const qc_graph *g, const qc_onnx_export_opts *o, const char *path,
                          qc_err *e);
qc_status qc_onnx_save_buffer_ex(const qc_graph *g, const qc_onnx_export_opts *o, void **buf,
                                 size_t *len, qc_err *e);

#endif
