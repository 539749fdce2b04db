/* STUB until the simple-op emitters land (owner: cgcore helper). */
#include "cg.h"

qc_status cg_emit_node(cg_module *m, const qc_graph *g, const qc_node *nd, const cg_buf *in,
                       int n_in, const cg_buf *out, int n_out, cg_kernel *k, qc_err *e)
{
  (void)m; (void)g; (void)in; (void)n_in; (void)out; (void)n_out; (void)k; (void)nd;
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "lowering is not implemented yet");
}
