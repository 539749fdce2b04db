/* STUB until the driver lands (owner: cgcore helper). */
#include <string.h>

#include "codegen.h"

qc_status qc_compile(const qc_graph *g, const qc_cg_options *o, const char *out_dir,
                     qc_cg_report *rep, qc_err *e)
{
  (void)g; (void)o; (void)out_dir; (void)rep;
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "compile is not implemented yet");
}

void qc_cg_host_cpu(char *cpu, size_t cpu_len, char *features, size_t features_len)
{
  if (cpu_len) cpu[0] = 0;
  if (features_len) features[0] = 0;
}
