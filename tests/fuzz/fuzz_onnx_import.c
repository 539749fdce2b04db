/* libFuzzer target: bytes -> ONNX importer -> verifier -> shape inference, constant folding
   (built-in ops only) and dead-code removal -> printer.
   Every failure must come back as a status with a message; anything else (a crash, a
   sanitizer report, a leak, a failure without a message) is a bug the fuzzer reports. */
#include <stdint.h>
#include <stdlib.h>
#include "ir.h"
#include "onnx.h"
#include "passes.h"

static void check(qc_status st, const qc_err *e)
{
  if (st != QC_OK && (e->code != st || !e->msg[0])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_onnx_load_buffer(data, size, NULL, &g, &e);
  check(st, &e);
  if (st == QC_OK) {
    qc_err_clear(&e);
    st = qc_verify(g, &e);
    check(st, &e);
    if (st == QC_OK) {
      qc_err_clear(&e);
      st = qc_pass_infer_shapes(g, NULL, &e);
      check(st, &e);
    }
    if (st == QC_OK) {
      qc_err_clear(&e);
      st = qc_pass_fold_constants(g, NULL, &e);
      check(st, &e);
    }
    if (st == QC_OK) {
      qc_err_clear(&e);
      st = qc_pass_dce(g, &e);
      check(st, &e);
    }
    if (st == QC_OK) free(qc_print(g, false));
  }
  qc_graph_free(g);
  return 0;
}
