/* Parameters of the ops of QC_MORE_OPS resolved from attributes and inputs, shared by shape
   inference and the interpreter's kernels (interp/k_more.c), so both read an op the same way.
   Ops whose output shape depends on input contents (NonMaxSuppression, Unique) compute their
   result here: inference needs it for the shape, the kernel for the values. */
#ifndef QC_INFER_MORE_H
#define QC_INFER_MORE_H

#include "ir.h"

/* Resize/Upsample on in[0] (known rank r): per axis the scale used by the coordinate transform
   and the output length. Needs the contents of scales or sizes; *known is false otherwise. */
qc_status qc_resize_resolve(const qc_node *n, const qc_tinfo *in, int n_in, double *scales,
                            int64_t *out_dims, bool *known, qc_err *e);

/* NonMaxSuppression over known inputs: the selected [batch, class, box] triples, written to sel
   (3 * count entries) when sel is not NULL; *count gets their number. */
qc_status qc_nms_select(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *sel,
                        int64_t *count, qc_err *e);

/* Unique over known x (axis < 0: flattened). *count gets the number of unique elements (or
   slices); y, first, inverse, counts are filled when not NULL (y in x's dtype). */
qc_status qc_unique_compute(const qc_node *n, const qc_tinfo *x, int axis, int64_t *count,
                            void *y, int64_t *first, int64_t *inverse, int64_t *counts,
                            qc_err *e);

/* Einsum: labels 0..51 are letters, 52.. the dims an ellipsis stands for. */
#define QC_EINSUM_LABELS 64
typedef struct {
  int n_in;
  int rank[8];
  int lab[8][QC_MAX_RANK];
  int out_rank;
  int out_lab[QC_MAX_RANK];
  int64_t dim[QC_EINSUM_LABELS]; /* -1 unknown, -2 unused */
} qc_einsum_plan;

qc_status qc_einsum_parse(const qc_node *n, const qc_tinfo *in, int n_in, qc_einsum_plan *p,
                          qc_err *e);

#endif
