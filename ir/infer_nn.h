/* Sliding-window geometry of Conv, ConvTranspose and the pools, resolved from a node's
   attributes and its inputs' shapes. Shape inference and the interpreter's kernels both use it,
   so the pads a kernel applies are the ones the output shape was computed with. Also usable by
   the integer convolutions (QLinearConv, ConvInteger), whose attributes are Conv's. */
#ifndef QC_INFER_NN_H
#define QC_INFER_NN_H

#include "ir.h"

typedef struct {
  int nsp;                            /* spatial axes: rank - 2 */
  int64_t in[QC_MAX_RANK - 2];        /* input spatial dims (any QC_DIM form statically) */
  int64_t out[QC_MAX_RANK - 2];       /* output spatial dims (unknown when not derivable) */
  int64_t kernel[QC_MAX_RANK - 2];    /* kernel extent, -1 when unknown */
  int64_t stride[QC_MAX_RANK - 2];
  int64_t dilation[QC_MAX_RANK - 2];
  int64_t pad_begin[QC_MAX_RANK - 2]; /* resolved pads; exact whenever in[] is known */
  int64_t pad_end[QC_MAX_RANK - 2];   /* (ConvTranspose: may be negative with output_shape) */
  int64_t out_pad[QC_MAX_RANK - 2];   /* ConvTranspose output_padding */
  int64_t group;
  int64_t c_in, c_out;                /* channels, QC_DIM form (W's when X's is unknown) */
} qc_window;

/* Conv with data x and weights w (M, C/group, k...). Validates ranks, channels, group, the
   attribute lists and that the dilated kernel fits the padded input; errors name the node. */
qc_status qc_conv_window(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w, qc_window *g,
                         qc_err *e);
/* ConvTranspose with x and w (C, M/group, k...); out[] honours output_shape and auto_pad. */
qc_status qc_conv_transpose_window(const qc_node *n, const qc_tinfo *x, const qc_tinfo *w,
                                   qc_window *g, qc_err *e);
/* MaxPool, AveragePool, LpPool (kernel_shape, ceil_mode where the op has it). */
qc_status qc_pool_window(const qc_node *n, const qc_tinfo *x, qc_window *g, qc_err *e);

#endif
