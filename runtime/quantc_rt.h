/* quantc runtime: loads a compiled artifact and runs it. Plain C11 + pthreads (+ dlopen for
 * qcrt_load); no LLVM, no protobuf, nothing else of quantc's: it ships alone with an artifact.
 *
 * Loading verifies the blob (magic, version, sizes, both CRCs, every offset and size in bounds,
 * code hash and kernel count against the library) and allocates everything once: the activation
 * arena, one scratch area per thread, the thread pool. qcrt_run allocates nothing.
 * Every function returns a qcrt_status and, on failure, fills err (when not NULL) with a message
 * naming the file, field or byte offset at fault. */
#ifndef QUANTC_RT_H
#define QUANTC_RT_H

#include <stddef.h>
#include <stdint.h>

#include "qc_artifact.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QCRT_OK = 0,
  QCRT_ERR_USAGE,    /* bad argument (NULL pointer, index out of range, threads < 1) */
  QCRT_ERR_IO,       /* a file cannot be opened or read, dlopen failed */
  QCRT_ERR_FORMAT,   /* corrupted, truncated or mismatched artifact */
  QCRT_ERR_NOMEM,
  QCRT_ERR_THREAD,   /* a worker thread could not be started */
} qcrt_status;

typedef struct {
  qcrt_status code;
  char msg[512];
} qcrt_err;

typedef struct qcrt_model qcrt_model;

typedef struct {
  const char *name;        /* valid while the model is loaded */
  uint32_t dtype;          /* QCA_* */
  int rank;
  int64_t dims[QCA_MAX_RANK];
  size_t bytes;
  float scale;             /* 0 for float tensors */
} qcrt_tensor_info;

typedef struct {
  const char *name;        /* layer name */
  const char *op;          /* e.g. "QcConv+QcAdd" */
  uint64_t macs;
  uint64_t n_tasks;
  qcrt_tensor_info out;    /* the value the step writes */
} qcrt_step_info;

/* DIR/model.so (dlopen) + DIR/weights.bin. threads >= 1 (the caller's thread counts as one). */
qcrt_status qcrt_load(const char *dir, int threads, qcrt_model **out, qcrt_err *err);
/* Static linking: the kernel table and constants a model.o exports (see model.h), and the blob
   bytes (copied into 64-aligned memory if blob is not 64-aligned; otherwise used in place and
   must outlive the model). */
qcrt_status qcrt_load_static(const qca_kernel_fn *kernels, uint32_t n_kernels, uint64_t code_hash,
                             const void *blob, size_t blob_bytes, int threads, qcrt_model **out,
                             qcrt_err *err);
void qcrt_free(qcrt_model *m);

int qcrt_num_inputs(const qcrt_model *m);
int qcrt_num_outputs(const qcrt_model *m);
int qcrt_num_steps(const qcrt_model *m);
qcrt_status qcrt_input_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err);
qcrt_status qcrt_output_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err);
qcrt_status qcrt_step_info_get(const qcrt_model *m, int i, qcrt_step_info *info, qcrt_err *err);
const char *qcrt_target(const qcrt_model *m);   /* "x86-64" or "aarch64" */
uint64_t qcrt_arena_bytes(const qcrt_model *m); /* arena + all threads' scratch */

/* inputs[i] points at qcrt_input_info(i).bytes bytes (copied in); outputs[i] receives
   qcrt_output_info(i).bytes bytes. Not reentrant on one model; distinct models are
   independent. */
qcrt_status qcrt_run(qcrt_model *m, const void *const *inputs, void *const *outputs,
                     qcrt_err *err);

/* As qcrt_run, calling hook after every step with that step's output (in the arena, valid only
   during the call) and the step's wall time in nanoseconds. A non-zero return from the hook
   stops the run (qcrt_run_hooked then returns QCRT_OK). For `quantc verify` and `quantc bench`. */
typedef int (*qcrt_step_hook)(void *user, int step, const void *out_data, uint64_t ns);
qcrt_status qcrt_run_hooked(qcrt_model *m, const void *const *inputs, void *const *outputs,
                            qcrt_step_hook hook, void *user, qcrt_err *err);

const char *qcrt_status_name(qcrt_status s);
const char *qcrt_dtype_name(uint32_t dtype);

#ifdef __cplusplus
}
#endif
#endif
