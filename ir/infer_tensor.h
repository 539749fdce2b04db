/* Parameters of the tensor ops resolved from attributes and constant inputs. Shape inference and
   the interpreter's kernels both call these, so the two read an op's inputs the same way. */
#ifndef QC_INFER_TENSOR_H
#define QC_INFER_TENSOR_H

#include "ir.h"

/* axis in [-rank, rank) to [0, rank); false when out of range. */
bool qc_axis_norm(int64_t axis, int rank, int *out);

/* Element i of an integer (i32/i64) tensor's contents. */
int64_t qc_tinfo_int(const qc_tinfo *t, int64_t i);

/* Slice on in[0] (known rank r): for each of its axes the first index, the step and the output
   length; axes not sliced get (0, 1, dim). Needs the contents of starts/ends/axes/steps; where a
   sliced dim is unknown, len is -1 (or the dim itself when the slice is the whole axis). */
qc_status qc_slice_resolve(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *start,
                           int64_t *step, int64_t *len, qc_err *e);

/* Pad on in[0] (known rank): pads before and after each axis (negative crops); *mode is
   0 constant, 1 reflect, 2 edge. Needs the contents of pads (and axes when given). */
qc_status qc_pad_resolve(const qc_node *n, const qc_tinfo *in, int n_in, int64_t *before,
                         int64_t *after, int *mode, qc_err *e);

/* Reduce*: which axes of in[0] (known rank) are reduced. *known is false when ReduceSum's axes
   input has unknown contents; a no-op reduction (noop_with_empty_axes) marks none. */
qc_status qc_reduce_resolve(const qc_node *n, const qc_tinfo *in, int n_in, bool *mask,
                            bool *known, qc_err *e);

#endif
