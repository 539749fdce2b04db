/* quantc's generic graph passes and the pass manager. Uses ir/ only: anything that needs to
   run an op (constant folding of arbitrary ops) takes a callback from the caller, which tools/
   fills with the interpreter's kernels. */
#ifndef QC_PASSES_H
#define QC_PASSES_H

#include "ir.h"

/* ---- pass manager ----------------------------------------------------------------------- */

typedef qc_status (*qc_pass_fn)(qc_graph *g, void *ctx, qc_err *e);

/* One pipeline row. ctx is handed to fn (options; NULL gives a pass's defaults). */
typedef struct {
  const char *name;
  qc_pass_fn fn;
  void *ctx;
} qc_pass;

/* Runs the passes in order. With verify_each, verifies the graph before the first pass and
   after every pass; errors read "pass 'NAME': ..." when a pass fails and "graph invalid after
   pass 'NAME': ..." when it left a graph that does not verify. */
qc_status qc_pass_run_pipeline(qc_graph *g, const qc_pass *passes, int n, bool verify_each,
                               qc_err *e);

/* The built-in pass called name ("infer-shapes", "fold-constants", "dce",
   "eliminate-identity", "prune-values") with ctx as its options; QC_ERR_USAGE if unknown. */
qc_status qc_pass_builtin(const char *name, void *ctx, qc_pass *out, qc_err *e);

/* ---- shape inference -------------------------------------------------------------------- */

typedef struct {
  /* Leave a node's outputs as declared when its op has no inference (QC_ERR_UNSUPPORTED)
     instead of failing. */
  bool skip_unsupported;
} qc_infer_opts;

/* Runs each op's inference over the nodes in order (constants' contents passed as data) and
   writes dtypes and shapes to the node outputs. Declared dtypes/dims are kept where inference
   knows less, replaced where it knows more; a known declared dim, rank or dtype that differs
   from the inferred one is QC_ERR_INVALID naming the value. o may be NULL. */
qc_status qc_pass_infer_shapes(qc_graph *g, const qc_infer_opts *o, qc_err *e);

/* ---- constant folding ------------------------------------------------------------------- */

/* Evaluates node n on constant inputs (in[i].dtype QC_DT_UNDEF for an omitted one). Each
   out[i] arrives with the dtype and shape shape inference gave (rank -1 when it gave none) and
   data NULL. The callback sets dtype and shape if needed and points data at a malloc'd buffer,
   which the pass takes over and frees. Return QC_ERR_UNSUPPORTED to decline a node (it stays);
   any other error stops the pass. */
typedef qc_status (*qc_eval_fn)(void *user, const qc_node *n, const qc_tensor *in, int n_in,
                                qc_tensor *out, int n_out, qc_err *e);

#define QC_FOLD_MAX_BYTES_DEFAULT ((int64_t)64 << 20)

typedef struct {
  qc_eval_fn eval;   /* NULL: fold only Constant, Shape, Size and Identity */
  void *user;
  int64_t max_bytes; /* skip a node whose output would exceed this; 0: the default */
} qc_fold_opts;

/* Replaces nodes computable at compile time by constant values (same value ids and names):
   Constant nodes, Shape/Size of inputs whose needed dims are known, Identity of a constant,
   and, through o->eval, any node whose inputs are all constant. o may be NULL. */
qc_status qc_pass_fold_constants(qc_graph *g, const qc_fold_opts *o, qc_err *e);

/* ---- batch-norm folding ------------------------------------------------------------------ */

/* Folds each inference-mode BatchNormalization whose input comes from a Conv (any group count,
   with or without bias) or a Gemm (2-D, transA = 0) feeding nothing else, into that node:
   s = gamma / sqrt(var + eps); w' = w * s per output channel, b' = (b - mean) * s + beta
   (double arithmetic, f32 results, new constants "<node>_w_bnfold"/"<node>_b_bnfold"). The
   producer then writes the BN's output value. Also MatMul(x, W [K, M]) -> Add(bias [M]) -> BN
   over a 2-D [N, M] tensor (W's columns and the bias scaled; the Add writes the BN's output).
   BNs whose parameters are not f32 constants stay.
   Builtin name "fold-batchnorm". */
qc_status qc_pass_fold_batchnorm(qc_graph *g, qc_err *e);

/* ---- cleanup ---------------------------------------------------------------------------- */

/* Removes nodes none of whose outputs reaches a graph output. Sorts the graph first. Value
   ids stay valid (dead values stay in the table; the printer skips them). */
qc_status qc_pass_dce(qc_graph *g, qc_err *e);

/* Removes Identity nodes, and Dropout nodes that are identities (no training_mode, or a
   constant false one; the mask output unused), by rewiring consumers. Graph outputs keep their
   names: where an output comes from such a node, its input's producer writes the output value
   directly, or the node stays when that is impossible (input is a graph input, constant or
   output). */
qc_status qc_pass_eliminate_identity(qc_graph *g, qc_err *e);

/* Rebuilds the graph keeping only values that are graph inputs or outputs, node inputs or
   outputs, or codebooks of those, freeing the rest (dead constants' memory). Renumbers value
   ids: callers must not hold value ids across it. */
qc_status qc_pass_prune_values(qc_graph *g, qc_err *e);

#endif
