/* STUB until the x86-64 target lands (owner: cgconv helper). */
#include "cg.h"

qc_status cg_target_x86_64(const char *cpu, const char *features, int opt_level, cg_target *t,
                           qc_err *e)
{
  (void)cpu; (void)features; (void)opt_level; (void)t;
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "target x86-64 is not implemented yet");
}

void cg_target_dispose(cg_target *t)
{
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  t->tm = NULL;
}
