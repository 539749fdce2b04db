/* Test support for the runtime: a small, independent writer of qc_artifact.h blobs (bitwise
 * CRC-32, not the runtime's table) and a demo model whose kernels are plain C. The kernel code
 * is compiled into the test and also kept as text, so a test can build the same kernels into a
 * model.so (or an AArch64 library) with `cc -shared`. */
#ifndef QC_RT_BLOB_H
#define QC_RT_BLOB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc_artifact.h"

/* CRC-32 (IEEE, reflected 0xEDB88320), bit by bit: the reference the runtime's table must match.
   Check value: crc("123456789") = 0xCBF43926. */
static inline uint32_t tb_crc32(const void *data, size_t bytes)
{
  const uint8_t *p = data;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < bytes; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
  }
  return ~c;
}

/* The demo kernels. Arena plan (bytes): x f32[1000] @0, t f32[1000] @4032, y f32[1000] @8064,
   count i32[1000] @12096, s f32[1] @16128; arena_bytes 16192. Weights: f32 add @0, f32 mul @4.
     kernel 0 (1000 tasks): t = x + add; count += 1      (count checks each task runs once)
     kernel 1 (7 tasks, blocks of 143): y = t * mul; NaN if any pointer is not 64-aligned
     kernel 2 (1 task): s = sum(y), in order                                               */
#define TB_KERNELS(...)                                                                    \
  __VA_ARGS__                                                                              \
  static const char tb_kernel_src[] = #__VA_ARGS__;

TB_KERNELS(
static void tb_k_add(uint8_t *arena, const uint8_t *weights, uint8_t *scratch, int64_t t0,
                     int64_t t1)
{
  const float *x = (const float *)(void *)(arena + 0);
  float *t = (float *)(void *)(arena + 4032);
  int32_t *cnt = (int32_t *)(void *)(arena + 12096);
  float add;
  memcpy(&add, weights + 0, sizeof add);
  (void)scratch;
  for (int64_t i = t0; i < t1; i++) {
    t[i] = x[i] + add;
    cnt[i] += 1;
  }
}
static void tb_k_scale(uint8_t *arena, const uint8_t *weights, uint8_t *scratch, int64_t t0,
                       int64_t t1)
{
  const float *t = (const float *)(void *)(arena + 4032);
  float *y = (float *)(void *)(arena + 8064);
  float mul;
  memcpy(&mul, weights + 4, sizeof mul);
  int misaligned = ((uintptr_t)arena | (uintptr_t)weights | (uintptr_t)scratch) % 64 != 0;
  memcpy(scratch, &t0, sizeof t0);
  for (int64_t j = t0; j < t1; j++)
    for (int64_t i = j * 143; i < (j + 1) * 143 && i < 1000; i++)
      y[i] = misaligned ? __builtin_nanf("") : t[i] * mul;
}
static void tb_k_sum(uint8_t *arena, const uint8_t *weights, uint8_t *scratch, int64_t t0,
                     int64_t t1)
{
  const float *y = (const float *)(void *)(arena + 8064);
  float *s = (float *)(void *)(arena + 16128);
  (void)weights;
  (void)scratch;
  float acc = 0;
  if (t0 != 0 || t1 != 1) acc = -1;
  else
    for (int i = 0; i < 1000; i++) acc += y[i];
  s[0] = acc;
}
static const qca_kernel_fn tb_kernels[3] = {tb_k_add, tb_k_scale, tb_k_sum};
)

#define TB_CODE_HASH 0x0123456789abcdefull
#define TB_N 1000

typedef struct {
  qca_header h;
  qca_step steps[8];
  qca_tensor tensors[16];
  char strings[512];
  uint64_t strings_bytes;
  uint8_t weights[128];
  const void *wext;         /* when set, the weights section comes from here instead */
  uint64_t weights_bytes;
} tb_model;

static inline uint32_t tb_str(tb_model *m, const char *s)
{
  uint32_t off = (uint32_t)m->strings_bytes;
  size_t n = strlen(s) + 1;
  memcpy(m->strings + off, s, n);
  m->strings_bytes += n;
  return off;
}

static inline qca_tensor tb_tensor(tb_model *m, const char *name, uint32_t dtype, int64_t n,
                                   uint64_t off)
{
  qca_tensor t;
  memset(&t, 0, sizeof t);
  t.name = tb_str(m, name);
  t.dtype = dtype;
  t.rank = 1;
  t.dims[0] = n;
  t.arena_off = off;
  t.bytes = (uint64_t)n * qca_dtype_size(dtype);
  return t;
}

static inline qca_step tb_step(tb_model *m, uint32_t kernel, uint64_t n_tasks, const char *name,
                               const char *op)
{
  qca_step s;
  memset(&s, 0, sizeof s);
  s.kernel = kernel;
  s.n_tasks = n_tasks;
  s.macs = 1000u * (kernel + 1);
  s.name = tb_str(m, name);
  s.op = tb_str(m, op);
  return s;
}

/* The demo model: 1 input, 3 outputs (y, count, s), 3 steps. */
static inline void tb_demo(tb_model *m, const char *prefix)
{
  memset(m, 0, sizeof *m);
  memcpy(m->h.magic, QCA_MAGIC, 8);
  m->h.version = QCA_VERSION;
  m->h.header_bytes = sizeof(qca_header);
  m->h.code_hash = TB_CODE_HASH;
  snprintf(m->h.prefix, sizeof m->h.prefix, "%s", prefix);
  snprintf(m->h.target, sizeof m->h.target, "x86-64");
  m->h.n_kernels = 3;
  m->h.n_steps = 3;
  m->h.n_inputs = 1;
  m->h.n_outputs = 3;
  m->h.arena_bytes = 16192;
  m->h.scratch_bytes = 64;
  m->strings_bytes = 1;   /* offset 0 is the empty string */
  m->tensors[0] = tb_tensor(m, "x", QCA_F32, TB_N, 0);
  m->tensors[1] = tb_tensor(m, "y", QCA_F32, TB_N, 8064);
  m->tensors[2] = tb_tensor(m, "count", QCA_I32, TB_N, 12096);
  m->tensors[3] = tb_tensor(m, "s", QCA_F32, 1, 16128);
  m->tensors[4] = tb_tensor(m, "t", QCA_F32, TB_N, 4032);
  m->tensors[5] = m->tensors[1];
  m->tensors[6] = m->tensors[3];
  m->tensors[1].scale = 0.5f;   /* any finite value >= 0 is accepted */
  m->steps[0] = tb_step(m, 0, TB_N, "add1", "Add");
  m->steps[1] = tb_step(m, 1, 7, "scale3", "Mul");
  m->steps[2] = tb_step(m, 2, 1, "total", "ReduceSum");
  float w[2] = {1.0f, 3.0f};
  memcpy(m->weights, w, sizeof w);
  m->weights_bytes = 64;
}

/* Sets the two CRCs of a serialized blob. */
static inline void tb_fix_crc(uint8_t *b, size_t bytes)
{
  qca_header h;
  memcpy(&h, b, sizeof h);
  h.body_crc = tb_crc32(b + sizeof h, bytes - sizeof h);
  h.header_crc = 0;
  h.header_crc = tb_crc32(&h, sizeof h);
  memcpy(b, &h, sizeof h);
}

/* Lays out [header][steps][tensors][strings][pad to 64][weights], fills the header's offsets,
   sizes and CRCs. Returns a malloc'd buffer. */
static inline uint8_t *tb_serialize(tb_model *m, size_t *bytes)
{
  uint64_t nt = (uint64_t)m->h.n_inputs + m->h.n_outputs + m->h.n_steps;
  uint64_t off = sizeof(qca_header);
  m->h.steps_off = off;
  off += m->h.n_steps * sizeof(qca_step);
  m->h.tensors_off = off;
  off += nt * sizeof(qca_tensor);
  m->h.strings_off = off;
  m->h.strings_bytes = m->strings_bytes;
  off += m->strings_bytes;
  off = (off + 63) & ~(uint64_t)63;
  m->h.weights_off = off;
  m->h.weights_bytes = m->weights_bytes;
  off += m->weights_bytes;
  m->h.file_bytes = off;
  uint8_t *b = calloc(1, off);
  memcpy(b, &m->h, sizeof m->h);
  memcpy(b + m->h.steps_off, m->steps, m->h.n_steps * sizeof(qca_step));
  memcpy(b + m->h.tensors_off, m->tensors, nt * sizeof(qca_tensor));
  memcpy(b + m->h.strings_off, m->strings, m->strings_bytes);
  memcpy(b + m->h.weights_off, m->wext ? m->wext : m->weights, m->weights_bytes);
  tb_fix_crc(b, off);
  *bytes = off;
  return b;
}

/* The source of a kernel library exporting the demo kernels under prefix. */
static inline int tb_library_source(const char *path, const char *prefix, uint64_t code_hash)
{
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "#include <stdint.h>\n#include <string.h>\n#include \"qc_artifact.h\"\n%s\n",
          tb_kernel_src);
  fprintf(f, "const qca_kernel_fn %s_kernels[3] = {tb_k_add, tb_k_scale, tb_k_sum};\n", prefix);
  fprintf(f, "const uint32_t %s_n_kernels = 3;\n", prefix);
  fprintf(f, "const uint64_t %s_code_hash = 0x%llxull;\n", prefix, (unsigned long long)code_hash);
  return fclose(f);
}

/* Test input and the expected outputs, computed the way the kernels do. */
static inline void tb_reference(float *x, float *y, float *s)
{
  float acc = 0;
  for (int i = 0; i < TB_N; i++) {
    x[i] = (float)i * 0.5f - 100.0f;
    y[i] = (x[i] + 1.0f) * 3.0f;
    acc += y[i];
  }
  *s = acc;
}

#endif
