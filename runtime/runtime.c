/* STUB until the runtime lands (owner: runtime helper). */
#include <stdio.h>
#include <string.h>

#include "quantc_rt.h"

static qcrt_status nyi(qcrt_err *err)
{
  if (err) {
    err->code = QCRT_ERR_USAGE;
    snprintf(err->msg, sizeof err->msg, "the runtime is not implemented yet");
  }
  return QCRT_ERR_USAGE;
}

qcrt_status qcrt_load(const char *dir, int threads, qcrt_model **out, qcrt_err *err)
{ (void)dir; (void)threads; *out = NULL; return nyi(err); }
qcrt_status qcrt_load_static(const qca_kernel_fn *kernels, uint32_t n_kernels, uint64_t code_hash,
                             const void *blob, size_t blob_bytes, int threads, qcrt_model **out,
                             qcrt_err *err)
{ (void)kernels; (void)n_kernels; (void)code_hash; (void)blob; (void)blob_bytes; (void)threads; *out = NULL; return nyi(err); }
void qcrt_free(qcrt_model *m) { (void)m; }
int qcrt_num_inputs(const qcrt_model *m) { (void)m; return 0; }
int qcrt_num_outputs(const qcrt_model *m) { (void)m; return 0; }
int qcrt_num_steps(const qcrt_model *m) { (void)m; return 0; }
qcrt_status qcrt_input_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err)
{ (void)m; (void)i; (void)info; return nyi(err); }
qcrt_status qcrt_output_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err)
{ (void)m; (void)i; (void)info; return nyi(err); }
qcrt_status qcrt_step_info_get(const qcrt_model *m, int i, qcrt_step_info *info, qcrt_err *err)
{ (void)m; (void)i; (void)info; return nyi(err); }
const char *qcrt_target(const qcrt_model *m) { (void)m; return ""; }
uint64_t qcrt_arena_bytes(const qcrt_model *m) { (void)m; return 0; }
qcrt_status qcrt_run(qcrt_model *m, const void *const *inputs, void *const *outputs, qcrt_err *err)
{ (void)m; (void)inputs; (void)outputs; return nyi(err); }
qcrt_status qcrt_run_hooked(qcrt_model *m, const void *const *inputs, void *const *outputs,
                            qcrt_step_hook hook, void *user, qcrt_err *err)
{ (void)m; (void)inputs; (void)outputs; (void)hook; (void)user; return nyi(err); }
const char *qcrt_status_name(qcrt_status s) { (void)s; return "?"; }
const char *qcrt_dtype_name(uint32_t dtype) { (void)dtype; return "?"; }
