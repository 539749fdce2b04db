/* The standalone runtime: load (static and from a directory), run on 1..8 threads, hooks, info
 * getters, and the loader's refusal of every corrupted, truncated or mismatched blob. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quantc_rt.h"
#include "runtime/rt_blob.h"
#include "testutil.h"

static qcrt_status load_blob(const uint8_t *b, size_t n, int threads, qcrt_model **m, qcrt_err *e)
{
  return qcrt_load_static(tb_kernels, 3, TB_CODE_HASH, b, n, threads, m, e);
}

/* Runs the demo once and checks y, count (== runs) and s against tb_reference. */
static void run_and_check(qcrt_model *m, int runs)
{
  static float x[TB_N], y_ref[TB_N];
  float s_ref, y[TB_N], s = -1;
  int32_t count[TB_N];
  tb_reference(x, y_ref, &s_ref);
  const void *in[1] = {x};
  void *out[3] = {y, count, &s};
  qcrt_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qcrt_run(m, in, out, &e), QCRT_OK);
  CU_ASSERT_EQUAL(memcmp(y, y_ref, sizeof y), 0);
  CU_ASSERT_EQUAL(memcmp(&s, &s_ref, sizeof s), 0);
  int bad = 0;
  for (int i = 0; i < TB_N; i++) bad += count[i] != runs;
  CU_ASSERT_EQUAL(bad, 0);
}

static void test_crc_reference(void)
{
  /* The writer's CRC is the zlib/IEEE one (standard check value). */
  CU_ASSERT_EQUAL(tb_crc32("123456789", 9), 0xCBF43926u);
  CU_ASSERT_EQUAL(tb_crc32("", 0), 0u);
}

static void test_run_threads(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  int threads[] = {1, 2, 3, 8};
  for (int k = 0; k < 4; k++) {
    qcrt_model *m = NULL;
    qcrt_err e = {0};
    CU_ASSERT_EQUAL_FATAL(load_blob(b, n, threads[k], &m, &e), QCRT_OK);
    for (int r = 1; r <= 3; r++) run_and_check(m, r);
    /* Many back-to-back steps: the pool's spin/sleep hand-offs must not lose or repeat one. */
    for (int r = 4; r <= 300; r++) run_and_check(m, r);
    qcrt_free(m);
  }
  free(b);
}

static void test_unaligned_blob_is_copied(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  uint8_t *shifted = malloc(n + 65);
  uint8_t *p = shifted + (64 - (uintptr_t)shifted % 64) % 64 + 1;   /* 1 past a line */
  memcpy(p, b, n);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  CU_ASSERT_EQUAL_FATAL(load_blob(p, n, 2, &m, &e), QCRT_OK);
  run_and_check(m, 1);   /* the scale kernel writes NaN if weights are not 64-aligned */
  qcrt_free(m);
  free(shifted);
  free(b);
}

typedef struct {
  int calls[8];
  int n;
  int stop_at;
  float first;
  uint64_t ns_sum;
} hook_log;

static int hook_fn(void *user, int step, const void *out, uint64_t ns)
{
  hook_log *l = user;
  if (l->n < 8) l->calls[l->n] = step;
  l->n++;
  if (step == 0) memcpy(&l->first, out, sizeof l->first);
  l->ns_sum += ns;
  return step == l->stop_at;
}

static void test_hook(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  CU_ASSERT_EQUAL_FATAL(load_blob(b, n, 3, &m, &e), QCRT_OK);
  static float x[TB_N], y_ref[TB_N];
  float s_ref, y[TB_N], s;
  int32_t count[TB_N];
  tb_reference(x, y_ref, &s_ref);
  const void *in[1] = {x};
  void *out[3] = {y, count, &s};

  hook_log l = {.stop_at = -1};
  CU_ASSERT_EQUAL(qcrt_run_hooked(m, in, out, hook_fn, &l, &e), QCRT_OK);
  CU_ASSERT_EQUAL(l.n, 3);
  CU_ASSERT(l.calls[0] == 0 && l.calls[1] == 1 && l.calls[2] == 2);
  CU_ASSERT_EQUAL(l.first, x[0] + 1.0f);   /* step 0's output is t = x + 1 */
  CU_ASSERT_EQUAL(memcmp(&s, &s_ref, sizeof s), 0);

  /* Stop after step 0: one call, outputs untouched. */
  memset(y, 0x7f, sizeof y);
  hook_log l2 = {.stop_at = 0};
  CU_ASSERT_EQUAL(qcrt_run_hooked(m, in, out, hook_fn, &l2, &e), QCRT_OK);
  CU_ASSERT_EQUAL(l2.n, 1);
  CU_ASSERT_EQUAL(((uint8_t *)y)[0], 0x7f);
  qcrt_free(m);
  free(b);
}

static void test_info(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  CU_ASSERT_EQUAL_FATAL(load_blob(b, n, 2, &m, &e), QCRT_OK);
  CU_ASSERT_EQUAL(qcrt_num_inputs(m), 1);
  CU_ASSERT_EQUAL(qcrt_num_outputs(m), 3);
  CU_ASSERT_EQUAL(qcrt_num_steps(m), 3);
  CU_ASSERT_STRING_EQUAL(qcrt_target(m), "x86-64");
  CU_ASSERT_EQUAL(qcrt_arena_bytes(m), 16192u + 2u * 64u);
  qcrt_tensor_info ti;
  CU_ASSERT_EQUAL(qcrt_input_info(m, 0, &ti, &e), QCRT_OK);
  CU_ASSERT_STRING_EQUAL(ti.name, "x");
  CU_ASSERT(ti.dtype == QCA_F32 && ti.rank == 1 && ti.dims[0] == TB_N && ti.bytes == 4000);
  CU_ASSERT_EQUAL(qcrt_output_info(m, 1, &ti, &e), QCRT_OK);
  CU_ASSERT_STRING_EQUAL(ti.name, "count");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(ti.dtype), "i32");
  CU_ASSERT_EQUAL(qcrt_output_info(m, 0, &ti, &e), QCRT_OK);
  CU_ASSERT_EQUAL(ti.scale, 0.5f);
  qcrt_step_info si;
  CU_ASSERT_EQUAL(qcrt_step_info_get(m, 1, &si, &e), QCRT_OK);
  CU_ASSERT_STRING_EQUAL(si.name, "scale3");
  CU_ASSERT_STRING_EQUAL(si.op, "Mul");
  CU_ASSERT(si.macs == 2000 && si.n_tasks == 7);
  CU_ASSERT_STRING_EQUAL(si.out.name, "y");
  CU_ASSERT_EQUAL(qcrt_step_info_get(m, 3, &si, &e), QCRT_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "step 3 out of range (model has 3)");
  CU_ASSERT_EQUAL(qcrt_input_info(m, -1, &ti, &e), QCRT_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "input -1 out of range (model has 1)");
  CU_ASSERT_EQUAL(qcrt_output_info(m, 3, &ti, &e), QCRT_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "output 3 out of range (model has 3)");

  float y[TB_N];
  void *out[3] = {y, NULL, NULL};
  static float x[TB_N];
  const void *in[1] = {x};
  CU_ASSERT_EQUAL(qcrt_run(m, in, out, &e), QCRT_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "output 1 ('count') is NULL");
  CU_ASSERT_EQUAL(qcrt_run(m, NULL, out, &e), QCRT_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "inputs is NULL");
  qcrt_free(m);

  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_F32), "f32");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_U8), "u8");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_I8), "i8");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_I16), "i16");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_U16), "u16");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(QCA_I64), "i64");
  CU_ASSERT_STRING_EQUAL(qcrt_dtype_name(99), "?");
  CU_ASSERT_STRING_EQUAL(qcrt_status_name(QCRT_OK), "ok");
  CU_ASSERT_STRING_EQUAL(qcrt_status_name(QCRT_ERR_FORMAT), "format error");
  CU_ASSERT_STRING_EQUAL(qcrt_status_name(QCRT_ERR_IO), "I/O error");

  qcrt_model *m2 = (qcrt_model *)1;
  CU_ASSERT_EQUAL(qcrt_load_static(tb_kernels, 3, TB_CODE_HASH, b, n, 0, &m2, &e), QCRT_ERR_USAGE);
  CU_ASSERT_PTR_NULL(m2);
  CU_ASSERT_STRING_EQUAL(e.msg, "threads is 0, must be in [1, 1024]");
  qcrt_free(NULL);
  free(b);
}

/* ---- corruption ---- */

/* Loads a blob that must be refused with FORMAT; returns 1 if it was. */
static int refused(const uint8_t *b, size_t n, qcrt_err *e)
{
  qcrt_model *m = NULL;
  qcrt_status st = load_blob(b, n, 1, &m, e);
  if (st == QCRT_OK) qcrt_free(m);
  return st == QCRT_ERR_FORMAT && m == NULL;
}

static void test_every_byte_flipped(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  uint8_t *c = malloc(n);
  static const uint8_t flips[] = {0x01, 0x80, 0xff};
  int bad = 0, tried = 0;
  qcrt_err e;
  for (size_t pos = 0; pos < n; pos++)
    for (int f = 0; f < 3; f++) {
      memcpy(c, b, n);
      c[pos] ^= flips[f];
      tried++;
      if (!refused(c, n, &e)) {
        if (bad < 5) fprintf(stderr, "byte %zu ^ 0x%02x was accepted\n", pos, flips[f]);
        bad++;
      }
    }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(tried > 3000);
  free(c);
  free(b);
}

/* Flips with the CRCs recomputed, so the structural checks must hold on their own: no crash, no
   read outside the blob (ASan), and either FORMAT or a model that loads. The arena and scratch
   sizes are left alone (a flip there can legally ask for a terabyte). */
static void test_flips_with_valid_crc(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  uint8_t *c = malloc(n);
  static const uint8_t flips[] = {0x01, 0x10, 0x80, 0xff};
  int other = 0, format = 0, ok = 0;
  for (size_t pos = 0; pos < n; pos++) {
    if (pos >= offsetof(qca_header, arena_bytes) && pos < offsetof(qca_header, scratch_bytes) + 8)
      continue;
    for (int f = 0; f < 4; f++) {
      memcpy(c, b, n);
      c[pos] ^= flips[f];
      tb_fix_crc(c, n);
      qcrt_model *m = NULL;
      qcrt_err e;
      qcrt_status st = load_blob(c, n, 1, &m, &e);
      if (st == QCRT_OK) {
        ok++;
        qcrt_free(m);
      } else if (st == QCRT_ERR_FORMAT) {
        format++;
      } else {
        other++;
      }
    }
  }
  CU_ASSERT_EQUAL(other, 0);
  CU_ASSERT(format > 1000);
  CU_ASSERT(ok > 0);   /* e.g. a weight value or a name's letter */
  free(c);
  free(b);
}

static void test_truncated(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  int bad = 0;
  qcrt_err e;
  for (size_t len = 0; len < n; len++)
    if (!refused(b, len, &e)) bad++;
  CU_ASSERT_EQUAL(bad, 0);
  char want[200];
  CU_ASSERT(refused(b, n - 1, &e));
  snprintf(want, sizeof want, "blob: truncated: header says %zu bytes, file has %zu", n, n - 1);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  CU_ASSERT(refused(b, 10, &e));
  CU_ASSERT_STRING_EQUAL(e.msg, "blob: truncated: 10 bytes, the header alone needs 200");
  /* One byte too many. */
  uint8_t *longer = calloc(1, n + 1);
  memcpy(longer, b, n);
  CU_ASSERT(refused(longer, n + 1, &e));
  snprintf(want, sizeof want, "blob: file_bytes: header says %zu bytes, file has %zu", n, n + 1);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  free(longer);
  free(b);
}

typedef void (*mutator)(tb_model *tm);

/* Builds the demo, applies mut before serializing (so offsets and CRCs are consistent), and
   expects FORMAT with exactly msg. */
static void expect_format(mutator mut, const char *msg)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  mut(&tm);
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  qcrt_err e = {0};
  CU_ASSERT(refused(b, n, &e));
  CU_ASSERT_STRING_EQUAL(e.msg, msg);
  if (strcmp(e.msg, msg) != 0) fprintf(stderr, "\n got: %s\nwant: %s\n", e.msg, msg);
  free(b);
}

static void m_version(tb_model *t) { t->h.version = 2; }
static void m_magic(tb_model *t) { t->h.magic[0] = 'X'; }
static void m_kernel(tb_model *t) { t->steps[1].kernel = 17; }
static void m_arena(tb_model *t) { t->tensors[1].arena_off = 16000; }
static void m_string(tb_model *t) { t->tensors[0].name = 9999; }
static void m_string_nul(tb_model *t)
{
  /* The last string runs to the end of the section without a NUL. */
  t->strings_bytes--;
  t->steps[2].op = (uint32_t)t->strings_bytes - 3;
}
static void m_hash(tb_model *t) { t->h.code_hash = 42; }
static void m_nkernels(tb_model *t) { t->h.n_kernels = 2; }
static void m_dtype(tb_model *t) { t->tensors[2].dtype = 8; }
static void m_rank(tb_model *t) { t->tensors[0].rank = 9; }
static void m_dim(tb_model *t)
{
  t->tensors[0].rank = 2;
  t->tensors[0].dims[1] = -1;
}
static void m_bytes(tb_model *t) { t->tensors[3].bytes = 8; }
static void m_tasks(tb_model *t) { t->steps[0].n_tasks = 0; }
static void m_big_arena(tb_model *t) { t->h.arena_bytes = ((uint64_t)1 << 40) + 1; }
static void m_big_scratch(tb_model *t) { t->h.scratch_bytes = (uint64_t)1 << 41; }
static void m_dims_overflow(tb_model *t)
{
  t->tensors[4].rank = 3;
  t->tensors[4].dims[1] = (int64_t)1 << 40;
  t->tensors[4].dims[2] = (int64_t)1 << 40;
}
static void m_reserved(tb_model *t) { t->h.reserved[2] = 1; }
static void m_prefix(tb_model *t) { memcpy(t->h.prefix, "9abc", 5); }
static void m_scale(tb_model *t) { t->tensors[3].scale = -1.0f; }

static void test_format_messages(void)
{
  expect_format(m_version, "blob: version 2, this runtime reads version 1");
  expect_format(m_magic, "blob: bad magic: not a quantc artifact");
  expect_format(m_kernel, "blob: step 1: kernel 17 out of range (library has 3)");
  expect_format(m_arena, "blob: tensor 1 (output 0 'y'): arena_off 16000 + 4000 bytes exceeds "
                         "arena_bytes 16192");
  expect_format(m_string, "blob: tensor 0 (input 0) at byte 296: name offset 9999 is outside the "
                          "string section or not NUL-terminated there (51 bytes)");
  expect_format(m_string_nul, "blob: step 2: op offset 47 is outside the string section or not "
                              "NUL-terminated there (50 bytes)");
  expect_format(m_hash, "blob: header: code_hash 0x000000000000002a does not match the "
                        "library's 0x0123456789abcdef");
  expect_format(m_nkernels, "blob: header: n_kernels 2, library has 3");
  expect_format(m_dtype, "blob: tensor 2 (output 1 'count'): unknown dtype code 8");
  expect_format(m_rank, "blob: tensor 0 (input 0 'x'): rank 9 exceeds 8");
  expect_format(m_dim, "blob: tensor 0 (input 0 'x'): dims[1] = -1 is negative");
  expect_format(m_bytes, "blob: tensor 3 (output 2 's'): bytes is 8, dims and dtype give 4");
  expect_format(m_tasks, "blob: step 0: n_tasks 0 out of range [1, 2^63)");
  expect_format(m_big_arena, "blob: header: arena_bytes 1099511627777 exceeds 2^40");
  expect_format(m_big_scratch, "blob: header: scratch_bytes 2199023255552 exceeds 2^40");
  expect_format(m_dims_overflow, "blob: tensor 4 (step 0 output 't'): element count overflows");
  expect_format(m_reserved, "blob: header: reserved[2] is not 0");
  expect_format(m_prefix, "blob: header: prefix is not a NUL-terminated C identifier");
  expect_format(m_scale, "blob: tensor 3 (output 2 's'): scale -1 is not a finite value >= 0");
}

/* Section offsets edited after serializing (then CRCs fixed). */
static void test_section_bounds(void)
{
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  uint8_t *c = malloc(n);
  qcrt_err e;
  char want[300];
  qca_header h;

  memcpy(c, b, n);
  memcpy(&h, c, sizeof h);
  h.strings_off = h.steps_off;   /* strings on top of steps */
  memcpy(c, &h, sizeof h);
  tb_fix_crc(c, n);
  CU_ASSERT(refused(c, n, &e));
  snprintf(want, sizeof want, "blob: steps section [200, 296) overlaps strings section [200, 251)");
  CU_ASSERT_STRING_EQUAL(e.msg, want);

  memcpy(c, b, n);
  memcpy(&h, c, sizeof h);
  h.steps_off = 64;
  memcpy(c, &h, sizeof h);
  tb_fix_crc(c, n);
  CU_ASSERT(refused(c, n, &e));
  CU_ASSERT_STRING_EQUAL(e.msg, "blob: steps section: offset 64 overlaps the header");

  memcpy(c, b, n);
  memcpy(&h, c, sizeof h);
  h.weights_bytes = UINT64_MAX - 10;   /* off + bytes wraps */
  memcpy(c, &h, sizeof h);
  tb_fix_crc(c, n);
  CU_ASSERT(refused(c, n, &e));
  snprintf(want, sizeof want,
           "blob: weights section: offset %llu + %llu bytes runs past the end of the file (%zu "
           "bytes)", (unsigned long long)h.weights_off, (unsigned long long)h.weights_bytes, n);
  CU_ASSERT_STRING_EQUAL(e.msg, want);

  memcpy(c, b, n);
  memcpy(&h, c, sizeof h);
  h.weights_off += 8;
  h.weights_bytes -= 8;
  memcpy(c, &h, sizeof h);
  tb_fix_crc(c, n);
  CU_ASSERT(refused(c, n, &e));
  snprintf(want, sizeof want, "blob: weights section: offset %llu is not 64-byte aligned",
           (unsigned long long)h.weights_off);
  CU_ASSERT_STRING_EQUAL(e.msg, want);

  /* The CRC checks themselves. */
  memcpy(c, b, n);
  c[n - 1] ^= 1;
  CU_ASSERT(refused(c, n, &e));
  CU_ASSERT(strncmp(e.msg, "blob: body CRC mismatch: stored 0x", 34) == 0);
  memcpy(c, b, n);
  c[offsetof(qca_header, target) + 1] ^= 1;
  CU_ASSERT(refused(c, n, &e));
  CU_ASSERT(strncmp(e.msg, "blob: header CRC mismatch: stored 0x", 36) == 0);
  free(c);
  free(b);
}

/* ---- qcrt_load from a directory with a model.so built here ---- */

static char tmpdir[256];

static int write_file(const char *path, const void *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, n, f);
  return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* Writes DIR/model.so (kernels under prefix) and DIR/weights.bin; 0 on success. */
static int build_dir(const char *dir, const char *prefix, const char *blob_prefix)
{
  char src[512], cmd[2048];
  mkdir(dir, 0755);
  snprintf(src, sizeof src, "%s/kernels.c", dir);
  if (tb_library_source(src, prefix, TB_CODE_HASH) != 0) return -1;
  snprintf(cmd, sizeof cmd, "cc -std=c11 -O1 -shared -fPIC -I%s/runtime -o %s/model.so %s",
           QC_SOURCE_DIR, dir, src);
  if (system(cmd) != 0) return -1;
  tb_model tm;
  tb_demo(&tm, blob_prefix);
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  snprintf(src, sizeof src, "%s/weights.bin", dir);
  int rc = write_file(src, b, n);
  free(b);
  return rc;
}

static void test_load_dir(void)
{
  char dir[400], want[1200];
  snprintf(dir, sizeof dir, "%s/ok", tmpdir);
  CU_ASSERT_EQUAL_FATAL(build_dir(dir, "my_net", "my_net"), 0);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  for (int threads = 1; threads <= 3; threads += 2) {
    CU_ASSERT_EQUAL_FATAL(qcrt_load(dir, threads, &m, &e), QCRT_OK);
    run_and_check(m, 1);
    run_and_check(m, 2);
    qcrt_free(m);
  }

  /* The blob names a prefix the library does not export. */
  snprintf(dir, sizeof dir, "%s/badsym", tmpdir);
  CU_ASSERT_EQUAL_FATAL(build_dir(dir, "my_net", "other"), 0);
  CU_ASSERT_EQUAL(qcrt_load(dir, 1, &m, &e), QCRT_ERR_FORMAT);
  snprintf(want, sizeof want, "%s/model.so: symbol other_kernels not found", dir);
  CU_ASSERT_STRING_EQUAL(e.msg, want);

  /* Missing files are I/O errors naming the path. */
  snprintf(dir, sizeof dir, "%s/ok/model.so", tmpdir);
  unlink(dir);
  snprintf(dir, sizeof dir, "%s/ok", tmpdir);
  CU_ASSERT_EQUAL(qcrt_load(dir, 1, &m, &e), QCRT_ERR_IO);
  CU_ASSERT_PTR_NULL(m);
  snprintf(want, sizeof want, "%s/model.so: cannot load: %s/model.so: cannot open shared object "
           "file: No such file or directory", dir, dir);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  snprintf(dir, sizeof dir, "%s/nothing", tmpdir);
  CU_ASSERT_EQUAL(qcrt_load(dir, 1, &m, &e), QCRT_ERR_IO);
  snprintf(want, sizeof want, "%s/weights.bin: cannot open: No such file or directory", dir);
  CU_ASSERT_STRING_EQUAL(e.msg, want);

  /* A truncated weights.bin names the file. */
  snprintf(dir, sizeof dir, "%s/badsym/weights.bin", tmpdir);
  CU_ASSERT_EQUAL_FATAL(truncate(dir, 300), 0);
  snprintf(dir, sizeof dir, "%s/badsym", tmpdir);
  CU_ASSERT_EQUAL(qcrt_load(dir, 1, &m, &e), QCRT_ERR_FORMAT);
  tb_model tm;
  tb_demo(&tm, "x");
  size_t n;
  free(tb_serialize(&tm, &n));
  snprintf(want, sizeof want, "%s/weights.bin: truncated: header says %zu bytes, file has 300",
           dir, n);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
}

/* ---- no allocation in qcrt_run ---- */

/* Counting wrappers around glibc's allocator; not under ASan or TSan, which own malloc. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TB_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TB_COUNT_MALLOC 0
#endif
#endif
#if !defined(TB_COUNT_MALLOC) && defined(__GLIBC__)
#define TB_COUNT_MALLOC 1
#endif
#ifndef TB_COUNT_MALLOC
#define TB_COUNT_MALLOC 0
#endif

#if TB_COUNT_MALLOC
#include <stdatomic.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
/* Allocation and free counts; the fail_at-th allocation (counting from 1, 0: never) fails. */
static atomic_long n_allocs, n_frees, fail_at;
static int counted_fails(void)
{
  long k = atomic_fetch_add(&n_allocs, 1) + 1;
  if (atomic_load(&fail_at) != k) return 0;
  atomic_store(&fail_at, 0);   /* one failure; and a NULL is no block */
  atomic_fetch_add(&n_frees, 1);
  return 1;
}
void *malloc(size_t n) { return counted_fails() ? NULL : __libc_malloc(n); }
void *calloc(size_t k, size_t n) { return counted_fails() ? NULL : __libc_calloc(k, n); }
void *realloc(void *p, size_t n)
{
  if (counted_fails()) return NULL;
  if (p && n == 0) atomic_fetch_add(&n_frees, 1);
  if (!p) return __libc_realloc(p, n);
  atomic_fetch_sub(&n_allocs, 1);   /* a resize is neither a new block nor a free */
  return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t a, size_t n)
{
  *p = counted_fails() ? NULL : __libc_memalign(a, n);
  return *p ? 0 : 12;
}
void *aligned_alloc(size_t a, size_t n) { return counted_fails() ? NULL : __libc_memalign(a, n); }
void free(void *p)
{
  if (p) atomic_fetch_add(&n_frees, 1);
  __libc_free(p);
}
#endif

static void test_run_allocates_nothing(void)
{
#if TB_COUNT_MALLOC
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  qcrt_model *m = NULL;
  qcrt_err e = {0};
  long before_load = atomic_load(&n_allocs);
  CU_ASSERT_EQUAL_FATAL(load_blob(b, n, 4, &m, &e), QCRT_OK);
  CU_ASSERT(atomic_load(&n_allocs) > before_load);   /* the counter works */
  static float x[TB_N], y_ref[TB_N], y[TB_N];
  float s_ref, s;
  int32_t count[TB_N];
  tb_reference(x, y_ref, &s_ref);
  const void *in[1] = {x};
  void *out[3] = {y, count, &s};
  hook_log l = {.stop_at = -1};
  qcrt_run(m, in, out, &e);   /* the first run may fault pages in, not allocate; count anyway */
  long before = atomic_load(&n_allocs);
  qcrt_status s1 = qcrt_run(m, in, out, &e);
  qcrt_status s2 = qcrt_run_hooked(m, in, out, hook_fn, &l, &e);
  long after = atomic_load(&n_allocs);
  CU_ASSERT(s1 == QCRT_OK && s2 == QCRT_OK);
  CU_ASSERT_EQUAL(after - before, 0);
  qcrt_free(m);
  free(b);
#else
  printf("SKIPPED: allocation counting needs glibc without ASan/TSan ");
#endif
}

/* SQLite's habit: make the N-th allocation of a load fail, for every N, and require a clean
   NOMEM (or THREAD, when pthread_create's own allocation failed), a NULL model and no leak. */
static void test_failing_allocator(void)
{
#if TB_COUNT_MALLOC
  tb_model tm;
  tb_demo(&tm, "qc_model");
  size_t n;
  uint8_t *b = tb_serialize(&tm, &n);
  uint8_t *odd = malloc(n + 1);   /* unaligned: the load copies it, one allocation more */
  memcpy(odd + 1, b, n);
  int threads[2] = {1, 3};
  for (int v = 0; v < 2; v++) {
    int loaded = 0, bad = 0, leaks = 0;
    for (long k = 1; k <= 200 && !loaded; k++) {
      qcrt_model *m = (qcrt_model *)1;
      qcrt_err e = {0};
      long live = atomic_load(&n_allocs) - atomic_load(&n_frees);
      atomic_store(&fail_at, atomic_load(&n_allocs) + k);
      qcrt_status st = load_blob(odd + 1, n, threads[v], &m, &e);
      atomic_store(&fail_at, 0);
      if (st == QCRT_OK) {
        loaded = 1;
        run_and_check(m, 1);
        qcrt_free(m);
      } else if (!((st == QCRT_ERR_NOMEM || st == QCRT_ERR_THREAD) && m == NULL)) {
        bad++;
      }
      if (atomic_load(&n_allocs) - atomic_load(&n_frees) != live) {
        leaks++;
        fprintf(stderr, "threads %d, allocation %ld failed (%s): %ld blocks leaked\n",
                threads[v], k, qcrt_status_name(st),
                atomic_load(&n_allocs) - atomic_load(&n_frees) - live);
      }
    }
    CU_ASSERT(loaded);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(leaks, 0);
  }
  free(odd);
  free(b);
#else
  printf("SKIPPED: the failing allocator needs glibc without ASan/TSan ");
#endif
}

static int suite_init(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/qc_rt_test_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static CU_TestInfo tests[] = {
    {"crc reference", test_crc_reference},
    {"run on 1, 2, 3, 8 threads", test_run_threads},
    {"unaligned blob is copied", test_unaligned_blob_is_copied},
    {"hook order and early stop", test_hook},
    {"info getters and usage errors", test_info},
    {"every byte flipped is refused", test_every_byte_flipped},
    {"flips with valid CRCs never crash", test_flips_with_valid_crc},
    {"every truncation is refused", test_truncated},
    {"format errors by message", test_format_messages},
    {"section bounds and CRCs", test_section_bounds},
    {"qcrt_load from a directory", test_load_dir},
    {"qcrt_run allocates nothing", test_run_allocates_nothing},
    {"N-th allocation fails: NOMEM, no leak", test_failing_allocator},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"runtime", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
