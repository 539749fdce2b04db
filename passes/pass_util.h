/* Helpers shared by the passes. Private to passes/. */
#ifndef QC_PASS_UTIL_H
#define QC_PASS_UTIL_H

#include "passes.h"

/* "f32[N,3,?]" into buf (the IR text form of a type). */
void qc_pass_fmt_type(const qc_graph *g, qc_dtype dt, int rank, const int64_t *dims, char *buf,
                      size_t cap);

/* Merges a computed dtype/shape (from node n, by `how`: "inferred", "folded") into value id:
   what is known replaces what is not, a known dim replaces a symbol; a known declared dtype,
   rank or dim that differs is QC_ERR_INVALID naming the value and the node. */
qc_status qc_pass_merge_type(qc_graph *g, int32_t id, qc_dtype dt, int rank, const int64_t *dims,
                             const qc_node *n, const char *how, qc_err *e);

#endif
