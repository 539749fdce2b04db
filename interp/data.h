/* Tensor files: NumPy .npy arrays and IDX (MNIST-style) files, read with strict validation.
 *
 * Readers never trust a length field: every header is bounded, every size is checked against
 * QC_MAX_ELEMS before it is multiplied, and a short or overlong file is QC_ERR_FORMAT naming the
 * file and the byte offset where the data stops or should have stopped. */
#ifndef QC_DATA_H
#define QC_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include "ir.h"

/* NumPy caps header dicts at 10000 bytes when loading untrusted files; so does quantc. */
#define QC_NPY_MAX_HEADER 10000

/* Reads an .npy file (format 1.0, 2.0 or 3.0) in C order. On success t->data is malloc'd
   (the caller frees it; a zero-element array still gets a non-NULL 1-byte block) and the
   bytes are in host (little-endian) order. Big-endian files are byte-swapped.
   QC_ERR_IO: cannot open/read; QC_ERR_FORMAT: bad magic, truncated, malformed header, size
   mismatch; QC_ERR_UNSUPPORTED: fortran_order, a dtype quantc has no row for, rank > 8. */
qc_status qc_npy_read(const char *path, qc_tensor *t, qc_err *e);
/* Same from memory; name is used in messages. */
qc_status qc_npy_read_buffer(const void *buf, size_t len, const char *name, qc_tensor *t,
                             qc_err *e);
/* Writes t as format 1.0, little-endian, C order. Packed/codebook dtypes and bf16 have no
   NumPy equivalent: QC_ERR_UNSUPPORTED. */
qc_status qc_npy_write(const char *path, const qc_tensor *t, qc_err *e);

/* Reads an IDX file (magic 0x0000TTNN: type TT, NN dims, big-endian u32 dims), either raw or
   gzip-compressed (detected from its content, not its name). Types: 0x08 u8, 0x09 i8, 0x0B i16,
   0x0C i32, 0x0D f32, 0x0E f64; data converted to host order, t->data malloc'd. Byte offsets in
   messages count decompressed bytes. */
qc_status qc_idx_read(const char *path, qc_tensor *t, qc_err *e);
/* Writes t as IDX; gzip when gz is true. Dtypes u8, i8, i16, i32, f32, f64 only. */
qc_status qc_idx_write(const char *path, const qc_tensor *t, bool gz, qc_err *e);

#endif
