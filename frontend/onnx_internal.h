/* Private to frontend/: the generated protobuf-c types and what the importer's files share. */
#ifndef QC_ONNX_INTERNAL_H
#define QC_ONNX_INTERNAL_H

#include <protobuf-c/protobuf-c.h>
#include "onnx.h"
#include "onnx.pb-c.h"

/* Protobuf messages are limited to 2 GiB; larger files must keep weights in external data. */
#define QC_ONNX_MAX_FILE_BYTES ((size_t)INT32_MAX)

/* Walks the wire format of buf as message d (recursing into known sub-messages) and reports
   the byte offset of the first bad tag, varint or length, or nesting deeper than protobuf-c
   can safely recurse. file names the source in the message. */
qc_status qc_onnx_wire_check(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *d,
                             const char *file, qc_err *e);

/* Reads a whole file (at most QC_ONNX_MAX_FILE_BYTES) into a malloc'd buffer. */
qc_status qc_onnx_read_file(const char *path, uint8_t **buf, size_t *len, qc_err *e);

/* Folder part of path ("." when it has none), malloc'd; NULL when out of memory. */
char *qc_onnx_dir_of(const char *path);

/* Converts a TensorProto into a tensor whose data lives in a. what names the tensor in
   messages ("tensor 'W'"); base_dir is the folder external data must stay in (NULL: none). */
qc_status qc_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                    qc_arena *a, qc_tensor *out, const char *what, qc_err *e);

/* Maps an ONNX data type to a dtype, or fails with QC_ERR_UNSUPPORTED naming what. */
qc_status qc_onnx_dtype(int onnx_type, const char *what, qc_dtype *out, qc_err *e);

/* Rewrites the nodes of a freshly imported graph (topologically sorted) written for an older
   ai.onnx opset into the opset-17 forms of the op list. Nodes it adds are appended; the caller
   sorts again. */
qc_status qc_onnx_upgrade(qc_graph *g, int64_t opset, qc_err *e);

#endif
