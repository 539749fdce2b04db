/* Reduction kernels (Reduce*, ArgMax/ArgMin, CumSum), listed in k_tensor.c's table.
   Private to interp/. */
#ifndef QC_REDUCE_H
#define QC_REDUCE_H

#include "kernels.h"

qc_status qc_k_reduce(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                      qc_tensor *out, int n_out);
qc_status qc_k_argreduce(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out);
qc_status qc_k_cumsum(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                      qc_tensor *out, int n_out);

#endif
