/* STUB until the conv/GEMM emitter lands (owner: cgconv helper). */
#include "cg.h"

qc_status cg_emit_conv(cg_module *m, const cg_conv_spec *s, cg_kernel *k, qc_err *e)
{
  (void)m; (void)k;
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "node '%s': conv lowering is not implemented yet", s->name);
}
