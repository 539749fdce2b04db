/* The reference interpreter: runs a graph on concrete tensors, fp32 and exact integer semantics.
   It never depends on codegen/; compiled code is checked against it. */
#ifndef QC_INTERP_H
#define QC_INTERP_H

#include "ir.h"

typedef struct qc_interp qc_interp;

/* Prepares g for running (g must outlive the interpreter and stay unchanged). Fails with
   QC_ERR_UNSUPPORTED naming the node and op when an op has no kernel. threads <= 0: one per CPU. */
qc_status qc_interp_new(const qc_graph *g, int threads, qc_interp **out, qc_err *e);
void qc_interp_free(qc_interp *it);

/* Runs the graph on n_in tensors given in the order of g->inputs. Each is checked against the
   graph input's dtype, rank and known dims (QC_ERR_INVALID naming the input on mismatch). */
qc_status qc_interp_run(qc_interp *it, const qc_tensor *inputs, int n_in, qc_err *e);
/* The i-th graph output of the last run; owned by the interpreter, valid until the next run. */
const qc_tensor *qc_interp_output(const qc_interp *it, int i);

/* Called after each node with its outputs (e.g. for calibration and `verify`). */
typedef void (*qc_interp_observer)(void *user, int32_t node, const qc_tensor *outs, int n_out);
void qc_interp_set_observer(qc_interp *it, qc_interp_observer fn, void *user);

#endif
