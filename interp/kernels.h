/* The interpreter's kernel tables: per op, an fp32/generic reference kernel and, later, an exact
   integer kernel and a vector-Jacobian product, keyed by the op ids of ir/ops.h.
   Private to interp/. */
#ifndef QC_KERNELS_H
#define QC_KERNELS_H

#include "ir.h"
#include "pool.h"

typedef struct qc_kctx {
  qc_pool *pool;     /* may be NULL: run serially */
  qc_err *err;
  /* Scratch memory owned by the interpreter, reused across kernels; valid until the kernel
     returns. Returns NULL (and sets err) on OOM. */
  void *(*scratch)(struct qc_kctx *k, size_t bytes);
  void *scratch_owner;
} qc_kctx;

/* in[i].dtype is QC_DT_UNDEF (data NULL) for an omitted optional input. The interpreter has
   allocated every out[i] with the dtype and shape that the op's shape inference gave for these
   inputs; an omitted optional output has dtype QC_DT_UNDEF. Kernels allocate nothing but
   scratch and report errors through k->err naming the node (qc_node_err). */
typedef qc_status (*qc_kernel_fn)(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                  qc_tensor *out, int n_out);

typedef struct {
  qc_op op;
  qc_kernel_fn fwd;
} qc_kernel_row;

/* Each kernel file contributes one table ending with a row whose op is QC_OP_NONE. */
extern const qc_kernel_row qc_kernels_elementwise[];
extern const qc_kernel_row qc_kernels_tensor[];
extern const qc_kernel_row qc_kernels_nn[];
extern const qc_kernel_row qc_kernels_quant[];
extern const qc_kernel_row qc_kernels_more[];
extern const qc_kernel_row qc_kernels_qc[]; /* quantc's integer-only ops (k_qc.c) */
extern const qc_kernel_row qc_kernels_fakequant[]; /* QAT's fake quantization (k_fakequant.c) */

/* Fills table[QC_OP_COUNT] from the contributed tables (NULL where an op has no kernel). */
void qc_kernels_collect(qc_kernel_fn table[QC_OP_COUNT]);

/* ---- vector-Jacobian products (autodiff.c) ---------------------------------------------
 * Given a node's forward inputs and outputs and dout[i], the loss gradient for each output
 * (data NULL: no gradient flows there, treat as zero), ADDS (+=) the gradient for each input
 * into din[i]. din[i].data is NULL for inputs that need no gradient (integer inputs, shapes,
 * frozen constants); otherwise the caller allocated it zeroed with the input's shape. */
typedef qc_status (*qc_vjp_fn)(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                               const qc_tensor *out, int n_out, const qc_tensor *dout,
                               qc_tensor *din);

typedef struct {
  qc_op op;
  qc_vjp_fn vjp;
} qc_vjp_row;

extern const qc_vjp_row qc_vjps_nn[];          /* conv, gemm, matmul, norms, pools, softmax */
extern const qc_vjp_row qc_vjps_elementwise[]; /* activations, arithmetic, shape ops */
extern const qc_vjp_row qc_vjps_fakequant[];   /* QcFakeQuant's straight-through estimator */

/* Fills table[QC_OP_COUNT] from the VJP tables (NULL where an op has none). */
void qc_vjps_collect(qc_vjp_fn table[QC_OP_COUNT]);

#endif
