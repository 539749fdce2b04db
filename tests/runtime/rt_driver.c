/* A stand-alone program run by test_cross (natively and under qemu-aarch64): loads DIR
 * (model.so + weights.bin of the demo model in rt_blob.h) with qcrt_load and the same blob with
 * qcrt_load_static, runs both on THREADS threads and compares with the reference.
 * usage: rt_driver DIR THREADS; prints "ok" and exits 0 when every output matches.
 * Built with -DRT_STATIC_BLOB it is statically linked with model.o and the blob (blob.S,
 * .incbin) instead, and runs those. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantc_rt.h"
#include "rt_blob.h"

static int check(qcrt_model *m, int runs, const char *what)
{
  static float x[TB_N], y_ref[TB_N], y[TB_N];
  static int32_t count[TB_N];
  float s_ref, s;
  tb_reference(x, y_ref, &s_ref);
  const void *in[1] = {x};
  void *out[3] = {y, count, &s};
  qcrt_err e = {0};
  for (int r = 1; r <= runs; r++) {
    if (qcrt_run(m, in, out, &e) != QCRT_OK) {
      fprintf(stderr, "%s: run: %s\n", what, e.msg);
      return 1;
    }
  }
  int bad = memcmp(y, y_ref, sizeof y) != 0 || memcmp(&s, &s_ref, sizeof s) != 0;
  for (int i = 0; i < TB_N; i++) bad |= count[i] != runs;
  if (bad) fprintf(stderr, "%s: wrong results\n", what);
  return bad;
}

#ifdef RT_STATIC_BLOB
extern const qca_kernel_fn qc_model_kernels[];
extern const uint32_t qc_model_n_kernels;
extern const uint64_t qc_model_code_hash;
extern const uint8_t qc_blob[], qc_blob_end[];

int main(int argc, char **argv)
{
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  if (argc != 2) return 2;
  if ((uintptr_t)qc_blob % 64 != 0) {
    fprintf(stderr, "the linked blob is not 64-aligned\n");
    return 1;
  }
  if (qcrt_load_static(qc_model_kernels, qc_model_n_kernels, qc_model_code_hash, qc_blob,
                       (size_t)(qc_blob_end - qc_blob), atoi(argv[1]), &m, &e) != QCRT_OK) {
    fprintf(stderr, "qcrt_load_static: %s\n", e.msg);
    return 1;
  }
  int bad = check(m, 2, "linked");
  qcrt_free(m);
  if (!bad) printf("ok\n");
  return bad;
}
#else
int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: rt_driver DIR THREADS\n");
    return 2;
  }
  int threads = atoi(argv[2]);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  if (qcrt_load(argv[1], threads, &m, &e) != QCRT_OK) {
    fprintf(stderr, "qcrt_load: %s\n", e.msg);
    return 1;
  }
  int bad = check(m, 2, "dynamic");
  if (strcmp(qcrt_target(m), "aarch64") != 0) bad = 1;
  qcrt_free(m);

  char path[1024];
  snprintf(path, sizeof path, "%s/weights.bin", argv[1]);
  FILE *f = fopen(path, "rb");
  static uint8_t blob[1 << 16];
  size_t n = f ? fread(blob, 1, sizeof blob, f) : 0;
  if (f) fclose(f);
  if (qcrt_load_static(tb_kernels, 3, TB_CODE_HASH, blob, n, threads, &m, &e) != QCRT_OK) {
    fprintf(stderr, "qcrt_load_static: %s\n", e.msg);
    return 1;
  }
  bad |= check(m, 3, "static");
  qcrt_free(m);
  if (!bad) printf("ok\n");
  return bad;
}
#endif
