/* Private to tools/: what `run DIR`, `verify` and `bench` share about compiled artifacts
   (quantc_rt.h underneath): recognising one, loading it with CLI error handling, dtypes. */
#ifndef QC_TOOLS_ARTIFACT_H
#define QC_TOOLS_ARTIFACT_H

#include <stdbool.h>
#include "ir.h"
#include "quantc_rt.h"

/* The architecture this quantc was built for, as artifacts name it ("x86-64", "aarch64"). */
const char *qc_cli_host_target(void);

/* A folder holding weights.bin or manifest.json. */
bool qc_cli_is_artifact(const char *path);

/* Exit code for a runtime status (docs/cli.md: format 2, I/O 4, ...). */
int qc_cli_rt_exit_code(qcrt_status s);
/* Prints "quantc: error: MSG" for err and returns its exit code. */
int qc_cli_rt_fail(const qcrt_err *err);

/* qcrt_load with the CLI's errors: an artifact built for another architecture is exit 3 with a
   hint about qemu; anything else as qc_cli_rt_fail. Returns 0 and sets *m, or the exit code
   (printed). */
int qc_cli_artifact_load(const char *dir, int threads, qcrt_model **m);

/* QCA_* <-> qc_dtype; QC_DT_UNDEF / 0 when there is none. */
qc_dtype qc_cli_qca_to_dtype(uint32_t qca);
uint32_t qc_cli_dtype_to_qca(qc_dtype dt);

/* "[1,3,224,224]" */
void qc_cli_rt_shape_str(const qcrt_tensor_info *t, char *buf, size_t cap);

/* `quantc run DIR`: inputs as [NAME=]FILE (NPY) in order or by name, outputs as FILEs or one
   folder (same rules as the interpreter path). */
int qc_cli_run_artifact(const char *dir, const char *const *in_args, int n_in,
                        const char *const *out_args, int n_out, int threads);

/* `quantc eval DIR`: top-1 accuracy of the artifact on IDX images/labels, normalised as
   (pixel/255 - mean) / std, in batches of the artifact's batch (the last padded with zeros). */
int qc_cli_eval_artifact(const char *dir, const char *img_path, const char *lab_path, double mean,
                         double std, long limit, int threads);

#endif
