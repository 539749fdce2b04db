/* A static runner for a cross-compiled artifact (tests/codegen/test_aarch64.c builds it with
 * aarch64-linux-gnu-gcc -static and runs it under qemu-aarch64):
 *
 *   aarch64-linux-gnu-gcc -std=c11 -O2 -static -I runtime tests/codegen/aarch64_runner.c \
 *       runtime/*.c DIR/model.o -o runner -lpthread
 *   qemu-aarch64 -cpu max ./runner DIR/weights.bin x.npy y.npy
 *
 * Links the kernels of model.o (symbols qc_model_*), reads weights.bin into memory, loads both
 * with qcrt_load_static, runs the rows of x.npy (float32 [R, ...], R a multiple of the model's
 * batch) batch by batch and writes all outputs of output 0 as one NPY [R/batch * dims...]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantc_rt.h"

extern const qca_kernel_fn qc_model_kernels[];
extern const uint32_t qc_model_n_kernels;
extern const uint64_t qc_model_code_hash;

static void *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static const char *npy_descr(uint32_t dt)
{
  switch (dt) {
  case QCA_F32: return "<f4";
  case QCA_U8: return "|u1";
  case QCA_I8: return "|i1";
  case QCA_I16: return "<i2";
  case QCA_U16: return "<u2";
  case QCA_I32: return "<i4";
  case QCA_I64: return "<i8";
  default: return "?";
  }
}

int main(int argc, char **argv)
{
  if (argc != 4) {
    fprintf(stderr, "usage: runner weights.bin x.npy y.npy\n");
    return 2;
  }
  size_t blob_len, x_len;
  void *blob = slurp(argv[1], &blob_len);
  unsigned char *x = slurp(argv[2], &x_len);
  if (!blob || !x) {
    fprintf(stderr, "runner: cannot read %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  qcrt_model *m;
  qcrt_err err = {0};
  if (qcrt_load_static(qc_model_kernels, qc_model_n_kernels, qc_model_code_hash, blob, blob_len,
                       2, &m, &err) != QCRT_OK) {
    fprintf(stderr, "runner: %s\n", err.msg);
    return 1;
  }
  qcrt_tensor_info in, out;
  if (qcrt_input_info(m, 0, &in, &err) || qcrt_output_info(m, 0, &out, &err)) {
    fprintf(stderr, "runner: %s\n", err.msg);
    return 1;
  }
  /* NPY v1: magic(6) ver(2) hlen(2) header; float32 C order expected. */
  if (x_len < 10 || memcmp(x, "\x93NUMPY", 6) != 0 || x[6] != 1) {
    fprintf(stderr, "runner: %s: not an NPY 1.0 file\n", argv[2]);
    return 2;
  }
  size_t hlen = (size_t)x[8] | (size_t)x[9] << 8, data_off = 10 + hlen;
  if (!strstr((const char *)x + 10, "'<f4'") || in.dtype != QCA_F32 || data_off > x_len) {
    fprintf(stderr, "runner: %s: want float32 data for a float32 input\n", argv[2]);
    return 2;
  }
  size_t rows_bytes = x_len - data_off;
  if (rows_bytes % in.bytes != 0 || rows_bytes == 0) {
    fprintf(stderr, "runner: %s: %zu data bytes, not a multiple of the input's %zu\n", argv[2],
            rows_bytes, in.bytes);
    return 2;
  }
  size_t runs = rows_bytes / in.bytes;
  unsigned char *y = malloc(runs * out.bytes);
  if (!y) return 3;
  for (size_t r = 0; r < runs; r++) {
    const void *ip[1] = {x + data_off + r * in.bytes};
    void *op[8] = {y + r * out.bytes};
    void *extra[8] = {NULL};
    int no = qcrt_num_outputs(m);
    for (int k = 1; k < no && k < 8; k++) {
      qcrt_tensor_info oi;
      if (qcrt_output_info(m, k, &oi, &err)) return 1;
      op[k] = extra[k] = malloc(oi.bytes ? oi.bytes : 1);
    }
    if (qcrt_run(m, ip, op, &err) != QCRT_OK) {
      fprintf(stderr, "runner: %s\n", err.msg);
      return 1;
    }
    for (int k = 1; k < 8; k++) free(extra[k]);
  }
  /* [runs * dims0, dims1, ...] */
  char shape[256];
  size_t n = (size_t)snprintf(shape, sizeof shape, "(%lld,",
                              (long long)(runs * (size_t)(out.rank ? out.dims[0] : 1)));
  for (int i = 1; i < out.rank; i++)
    n += (size_t)snprintf(shape + n, sizeof shape - n, " %lld,", (long long)out.dims[i]);
  snprintf(shape + n, sizeof shape - n, ")");
  char hdr[512];
  int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    npy_descr(out.dtype), shape);
  int total = 10 + hl + 1, pad = (64 - total % 64) % 64;
  FILE *f = fopen(argv[3], "wb");
  if (!f) return 2;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  pre[8] = (unsigned char)((hl + pad + 1) & 0xff);
  pre[9] = (unsigned char)((hl + pad + 1) >> 8);
  fwrite(pre, 1, 10, f);
  fwrite(hdr, 1, (size_t)hl, f);
  for (int i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  fwrite(y, 1, runs * out.bytes, f);
  if (fclose(f) != 0) return 2;
  printf("runner: %zu run%s on %s, output '%s'\n", runs, runs == 1 ? "" : "s", qcrt_target(m),
         out.name);
  qcrt_free(m);
  free(y);
  free(blob);
  free(x);
  return 0;
}
