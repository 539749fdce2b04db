/* Gathers the kernel files' tables into one array indexed by op id. */
#include "kernels.h"

void qc_kernels_collect(qc_kernel_fn table[QC_OP_COUNT])
{
  static const qc_kernel_row *const parts[] = {qc_kernels_elementwise, qc_kernels_tensor,
                                               qc_kernels_nn, qc_kernels_quant,
                                               qc_kernels_qc, qc_kernels_more,
                                               qc_kernels_fakequant};
  for (int op = 0; op < QC_OP_COUNT; op++) table[op] = NULL;
  for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
    for (const qc_kernel_row *r = parts[p]; r->op != QC_OP_NONE; r++) table[r->op] = r->fwd;
}

void qc_vjps_collect(qc_vjp_fn table[QC_OP_COUNT])
{
  static const qc_vjp_row *const parts[] = {qc_vjps_nn, qc_vjps_elementwise,
                                             qc_vjps_fakequant};
  for (int op = 0; op < QC_OP_COUNT; op++) table[op] = NULL;
  for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
    for (const qc_vjp_row *r = parts[p]; r->op != QC_OP_NONE; r++) table[r->op] = r->vjp;
}
