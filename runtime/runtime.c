/* quantc runtime: loads an artifact (blob + kernel library), validates every byte of the blob
 * that it will use, allocates the arena, scratch and thread pool once, and runs the steps.
 * The blob is never trusted: each offset, size and index is checked before it is used, with
 * overflow-safe arithmetic, so a corrupted file is a QCRT_ERR_FORMAT naming what is wrong. */
/* The runtime ships alone and is built with plain -std=c11: ask for POSIX here. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

#define QCRT_MAX_BYTES ((uint64_t)1 << 40)   /* arena / scratch limit: refuse absurd plans */
#define QCRT_MAX_THREADS 1024

typedef struct {
  qca_kernel_fn fn;
  uint64_t n_tasks, macs;
  const char *name, *op;
} rt_step;

struct qcrt_model {
  void *blob_mem;             /* owned copy of the blob (NULL when used in place) */
  const uint8_t *blob;
  size_t blob_bytes;
  qca_header h;
  void *dl;                   /* dlopen handle of model.so, NULL for static */
  int threads;
  int n_inputs, n_outputs, n_steps;
  rt_step *steps;
  qcrt_tensor_info *tensors;  /* inputs, outputs, then one per step */
  uint64_t *tensor_off;       /* arena offsets, same order */
  uint8_t *arena, *scratch;   /* 64-aligned views of arena_base, scratch_base */
  void *arena_base, *scratch_base;
  size_t scratch_stride;
  qcrt_pool *pool;
};

static qcrt_status fail(qcrt_err *err, qcrt_status code, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

static uint64_t round_up64(uint64_t x)
{
  return (x + (QCA_ALIGN - 1)) & ~(uint64_t)(QCA_ALIGN - 1);
}

/* Zeroed, 64-aligned, at least one line long (so a 0-byte arena still has a valid pointer).
   calloc of a large block maps fresh zero pages without touching them; *base is what to free. */
static uint8_t *alloc_zeroed(uint64_t bytes, void **base)
{
  uint64_t n = round_up64(bytes ? bytes : 1) + QCA_ALIGN;
  *base = NULL;
  if (n > SIZE_MAX) return NULL;
  uint8_t *p = calloc(1, (size_t)n);
  if (!p) return NULL;
  *base = p;
  return p + (QCA_ALIGN - (uintptr_t)p % QCA_ALIGN) % QCA_ALIGN;
}

/* ---- validation ---- */

typedef struct {
  const char *what;
  uint64_t off, bytes, align;
} section;

/* A string offset is valid when it points inside the string section and a NUL follows it there. */
static const char *blob_string(const qcrt_model *m, uint32_t off)
{
  if (off >= m->h.strings_bytes) return NULL;
  const char *s = (const char *)m->blob + m->h.strings_off + off;
  return memchr(s, 0, (size_t)(m->h.strings_bytes - off)) ? s : NULL;
}

static int is_identifier(const char *s, size_t cap)
{
  const char *end = memchr(s, 0, cap);
  if (!end || end == s) return 0;
  for (const char *c = s; c < end; c++) {
    int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
    if (!alpha && !(c > s && *c >= '0' && *c <= '9')) return 0;
  }
  return 1;
}

static qcrt_status check_header(qcrt_model *m, const char *file, qcrt_err *err)
{
  const qca_header *h = &m->h;
  if (m->blob_bytes < sizeof(qca_header))
    return fail(err, QCRT_ERR_FORMAT, "%s: truncated: %zu bytes, the header alone needs %zu", file,
                m->blob_bytes, sizeof(qca_header));
  memcpy(&m->h, m->blob, sizeof m->h);
  if (memcmp(h->magic, QCA_MAGIC, sizeof h->magic) != 0)
    return fail(err, QCRT_ERR_FORMAT, "%s: bad magic: not a quantc artifact", file);
  if (h->version != QCA_VERSION)
    return fail(err, QCRT_ERR_FORMAT, "%s: version %u, this runtime reads version %u", file,
                h->version, QCA_VERSION);
  if (h->header_bytes != sizeof(qca_header))
    return fail(err, QCRT_ERR_FORMAT, "%s: header_bytes is %u, expected %zu", file, h->header_bytes,
                sizeof(qca_header));
  if (h->file_bytes > m->blob_bytes)
    return fail(err, QCRT_ERR_FORMAT, "%s: truncated: header says %llu bytes, file has %zu", file,
                (unsigned long long)h->file_bytes, m->blob_bytes);
  if (h->file_bytes < m->blob_bytes)
    return fail(err, QCRT_ERR_FORMAT, "%s: file_bytes: header says %llu bytes, file has %zu", file,
                (unsigned long long)h->file_bytes, m->blob_bytes);
  qca_header z = *h;
  z.header_crc = 0;
  uint32_t crc = qcrt_crc32(0, &z, sizeof z);
  if (crc != h->header_crc)
    return fail(err, QCRT_ERR_FORMAT, "%s: header CRC mismatch: stored 0x%08x, computed 0x%08x",
                file, h->header_crc, crc);
  crc = qcrt_crc32(0, m->blob + sizeof z, m->blob_bytes - sizeof z);
  if (crc != h->body_crc)
    return fail(err, QCRT_ERR_FORMAT, "%s: body CRC mismatch: stored 0x%08x, computed 0x%08x",
                file, h->body_crc, crc);
  for (int i = 0; i < 4; i++)
    if (h->reserved[i] != 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: header: reserved[%d] is not 0", file, i);
  if (!is_identifier(h->prefix, sizeof h->prefix))
    return fail(err, QCRT_ERR_FORMAT, "%s: header: prefix is not a NUL-terminated C identifier",
                file);
  if (!memchr(h->target, 0, sizeof h->target) || h->target[0] == 0)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: target is empty or not NUL-terminated", file);
  if (h->arena_bytes > QCRT_MAX_BYTES)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: arena_bytes %llu exceeds 2^40", file,
                (unsigned long long)h->arena_bytes);
  if (h->scratch_bytes > QCRT_MAX_BYTES)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: scratch_bytes %llu exceeds 2^40", file,
                (unsigned long long)h->scratch_bytes);
  if (h->n_steps > INT32_MAX / 4 || h->n_inputs > INT32_MAX / 4 || h->n_outputs > INT32_MAX / 4)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: n_steps %u, n_inputs %u, n_outputs %u: too many",
                file, h->n_steps, h->n_inputs, h->n_outputs);

  /* Counts are < 2^29, so these products cannot overflow 64 bits. */
  uint64_t n_tensors = (uint64_t)h->n_inputs + h->n_outputs + h->n_steps;
  section sec[4] = {
    {"steps", h->steps_off, (uint64_t)h->n_steps * sizeof(qca_step), 8},
    {"tensors", h->tensors_off, n_tensors * sizeof(qca_tensor), 8},
    {"strings", h->strings_off, h->strings_bytes, 1},
    {"weights", h->weights_off, h->weights_bytes, QCA_ALIGN},
  };
  for (int i = 0; i < 4; i++) {
    const section *s = &sec[i];
    if (s->off % s->align != 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: %s section: offset %llu is not %llu-byte aligned",
                  file, s->what, (unsigned long long)s->off, (unsigned long long)s->align);
    if (s->off > h->file_bytes || s->bytes > h->file_bytes - s->off)
      return fail(err, QCRT_ERR_FORMAT,
                  "%s: %s section: offset %llu + %llu bytes runs past the end of the file (%llu "
                  "bytes)",
                  file, s->what, (unsigned long long)s->off, (unsigned long long)s->bytes,
                  (unsigned long long)h->file_bytes);
    if (s->bytes > 0 && s->off < h->header_bytes)
      return fail(err, QCRT_ERR_FORMAT, "%s: %s section: offset %llu overlaps the header", file,
                  s->what, (unsigned long long)s->off);
  }
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++) {
      const section *a = &sec[i], *b = &sec[j];
      if (a->bytes && b->bytes && a->off < b->off + b->bytes && b->off < a->off + a->bytes)
        return fail(err, QCRT_ERR_FORMAT, "%s: %s section [%llu, %llu) overlaps %s section "
                    "[%llu, %llu)", file, a->what, (unsigned long long)a->off,
                    (unsigned long long)(a->off + a->bytes), b->what, (unsigned long long)b->off,
                    (unsigned long long)(b->off + b->bytes));
    }
  m->n_inputs = (int)h->n_inputs;
  m->n_outputs = (int)h->n_outputs;
  m->n_steps = (int)h->n_steps;
  return QCRT_OK;
}

/* Describes tensor i for messages: "input 0", "output 1", "step 3 output". */
static void tensor_role(const qcrt_model *m, uint64_t i, char *buf, size_t cap)
{
  if (i < (uint64_t)m->n_inputs)
    snprintf(buf, cap, "input %llu", (unsigned long long)i);
  else if (i < (uint64_t)m->n_inputs + (uint64_t)m->n_outputs)
    snprintf(buf, cap, "output %llu", (unsigned long long)(i - (uint64_t)m->n_inputs));
  else
    snprintf(buf, cap, "step %llu output",
             (unsigned long long)(i - (uint64_t)m->n_inputs - (uint64_t)m->n_outputs));
}

static qcrt_status check_tensors(qcrt_model *m, const char *file, qcrt_err *err)
{
  size_t n = (size_t)m->n_inputs + (size_t)m->n_outputs + (size_t)m->n_steps;
  m->tensors = calloc(n ? n : 1, sizeof *m->tensors);
  m->tensor_off = calloc(n ? n : 1, sizeof *m->tensor_off);
  if (!m->tensors || !m->tensor_off)
    return fail(err, QCRT_ERR_NOMEM, "out of memory loading %s", file);
  for (size_t i = 0; i < n; i++) {
    qca_tensor t;
    uint64_t at = m->h.tensors_off + i * sizeof t;
    memcpy(&t, m->blob + at, sizeof t);
    char role[48];
    tensor_role(m, i, role, sizeof role);
    const char *name = blob_string(m, t.name);
    if (!name)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s) at byte %llu: name offset %u is "
                  "outside the string section or not NUL-terminated there (%llu bytes)", file, i,
                  role, (unsigned long long)at, t.name, (unsigned long long)m->h.strings_bytes);
    uint32_t esize = qca_dtype_size(t.dtype);
    if (esize == 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): unknown dtype code %u", file, i,
                  role, name, t.dtype);
    if (t.rank > QCA_MAX_RANK)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): rank %u exceeds %d", file, i,
                  role, name, t.rank, QCA_MAX_RANK);
    if (t.reserved != 0 || t.reserved2 != 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): reserved field is not 0", file,
                  i, role, name);
    uint64_t elems = 1;
    int overflow = 0;
    for (uint32_t d = 0; d < QCA_MAX_RANK; d++) {
      int64_t dim = t.dims[d];
      if (d >= t.rank) {
        if (dim != 0)
          return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): dims[%u] = %lld beyond rank "
                      "%u is not 0", file, i, role, name, d, (long long)dim, t.rank);
        continue;
      }
      if (dim < 0)
        return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): dims[%u] = %lld is negative",
                    file, i, role, name, d, (long long)dim);
      if (dim > 0 && elems > UINT64_MAX / (uint64_t)dim) overflow = 1;
      else elems *= (uint64_t)dim;
    }
    if (overflow || elems > UINT64_MAX / esize)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): element count overflows", file,
                  i, role, name);
    if (t.bytes != elems * esize)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): bytes is %llu, dims and dtype "
                  "give %llu", file, i, role, name, (unsigned long long)t.bytes,
                  (unsigned long long)(elems * esize));
    if (t.arena_off > m->h.arena_bytes || t.bytes > m->h.arena_bytes - t.arena_off)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): arena_off %llu + %llu bytes "
                  "exceeds arena_bytes %llu", file, i, role, name, (unsigned long long)t.arena_off,
                  (unsigned long long)t.bytes, (unsigned long long)m->h.arena_bytes);
    if (!isfinite(t.scale) || t.scale < 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: tensor %zu (%s '%s'): scale %g is not a finite "
                  "value >= 0", file, i, role, name, (double)t.scale);
    qcrt_tensor_info *ti = &m->tensors[i];
    ti->name = name;
    ti->dtype = t.dtype;
    ti->rank = (int)t.rank;
    memcpy(ti->dims, t.dims, sizeof ti->dims);
    ti->bytes = (size_t)t.bytes;   /* <= arena_bytes <= 2^40 */
    ti->scale = t.scale;
    m->tensor_off[i] = t.arena_off;
  }
  return QCRT_OK;
}

static qcrt_status check_steps(qcrt_model *m, const qca_kernel_fn *kernels, const char *file,
                               qcrt_err *err)
{
  m->steps = calloc(m->n_steps ? (size_t)m->n_steps : 1, sizeof *m->steps);
  if (!m->steps) return fail(err, QCRT_ERR_NOMEM, "out of memory loading %s", file);
  for (int i = 0; i < m->n_steps; i++) {
    qca_step s;
    memcpy(&s, m->blob + m->h.steps_off + (uint64_t)i * sizeof s, sizeof s);
    if (s.kernel >= m->h.n_kernels)
      return fail(err, QCRT_ERR_FORMAT, "%s: step %d: kernel %u out of range (library has %u)",
                  file, i, s.kernel, m->h.n_kernels);
    if (s.flags != 0)
      return fail(err, QCRT_ERR_FORMAT, "%s: step %d: flags 0x%x, expected 0", file, i, s.flags);
    if (s.n_tasks < 1 || s.n_tasks > (uint64_t)INT64_MAX)
      return fail(err, QCRT_ERR_FORMAT, "%s: step %d: n_tasks %llu out of range [1, 2^63)", file,
                  i, (unsigned long long)s.n_tasks);
    const char *name = blob_string(m, s.name), *op = blob_string(m, s.op);
    if (!name || !op)
      return fail(err, QCRT_ERR_FORMAT, "%s: step %d: %s offset %u is outside the string section "
                  "or not NUL-terminated there (%llu bytes)", file, i, name ? "op" : "name",
                  name ? s.op : s.name, (unsigned long long)m->h.strings_bytes);
    m->steps[i] = (rt_step){kernels[s.kernel], s.n_tasks, s.macs, name, op};
  }
  return QCRT_OK;
}

/* Everything after the blob bytes are in m->blob: validate, then allocate and start threads. */
static qcrt_status finish_load(qcrt_model *m, const qca_kernel_fn *kernels, uint32_t n_kernels,
                               uint64_t code_hash, int header_checked, const char *file,
                               qcrt_err *err)
{
  qcrt_status st = header_checked ? QCRT_OK : check_header(m, file, err);
  if (st != QCRT_OK) return st;
  if (m->h.n_kernels != n_kernels)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: n_kernels %u, library has %u", file,
                m->h.n_kernels, n_kernels);
  if (m->h.code_hash != code_hash)
    return fail(err, QCRT_ERR_FORMAT, "%s: header: code_hash 0x%016llx does not match the "
                "library's 0x%016llx", file, (unsigned long long)m->h.code_hash,
                (unsigned long long)code_hash);
  if (n_kernels > 0 && !kernels)
    return fail(err, QCRT_ERR_USAGE, "kernel table is NULL");
  for (uint32_t k = 0; k < n_kernels; k++)
    if (!kernels[k]) return fail(err, QCRT_ERR_FORMAT, "library: kernel %u is NULL", k);
  if ((st = check_tensors(m, file, err)) != QCRT_OK) return st;
  if ((st = check_steps(m, kernels, file, err)) != QCRT_OK) return st;

  /* threads <= 1024 and scratch <= 2^40 (rounded), so the product fits in 64 bits. */
  m->arena = alloc_zeroed(m->h.arena_bytes, &m->arena_base);
  m->scratch_stride = (size_t)round_up64(m->h.scratch_bytes ? m->h.scratch_bytes : 1);
  m->scratch = alloc_zeroed((uint64_t)m->scratch_stride * (uint64_t)m->threads, &m->scratch_base);
  if (!m->arena || !m->scratch)
    return fail(err, QCRT_ERR_NOMEM, "out of memory: arena %llu bytes, scratch %d x %llu bytes",
                (unsigned long long)m->h.arena_bytes, m->threads,
                (unsigned long long)m->h.scratch_bytes);
  return qcrt_pool_start(m->threads, m->scratch, m->scratch_stride, &m->pool, err);
}

static qcrt_status new_model(int threads, qcrt_model **out, qcrt_err *err)
{
  if (threads < 1 || threads > QCRT_MAX_THREADS)
    return fail(err, QCRT_ERR_USAGE, "threads is %d, must be in [1, %d]", threads,
                QCRT_MAX_THREADS);
  qcrt_model *m = calloc(1, sizeof *m);
  if (!m) return fail(err, QCRT_ERR_NOMEM, "out of memory allocating the model");
  m->threads = threads;
  *out = m;
  return QCRT_OK;
}

qcrt_status qcrt_load_static(const qca_kernel_fn *kernels, uint32_t n_kernels, uint64_t code_hash,
                             const void *blob, size_t blob_bytes, int threads, qcrt_model **out,
                             qcrt_err *err)
{
  if (!out) return fail(err, QCRT_ERR_USAGE, "out is NULL");
  *out = NULL;
  qcrt_model *m;
  qcrt_status st = new_model(threads, &m, err);
  if (st != QCRT_OK) return st;
  if (!blob) {
    free(m);
    return fail(err, QCRT_ERR_USAGE, "blob is NULL");
  }
  if ((uintptr_t)blob % QCA_ALIGN == 0) {
    m->blob = blob;
  } else {
    /* Kernels assume the weights section is 64-aligned in memory. */
    uint8_t *copy = alloc_zeroed(blob_bytes, &m->blob_mem);
    if (!copy) {
      free(m);
      return fail(err, QCRT_ERR_NOMEM, "out of memory copying a %zu-byte blob", blob_bytes);
    }
    if (blob_bytes) memcpy(copy, blob, blob_bytes);
    m->blob = copy;
  }
  m->blob_bytes = blob_bytes;
  st = finish_load(m, kernels, n_kernels, code_hash, 0, "blob", err);
  if (st != QCRT_OK) {
    qcrt_free(m);
    return st;
  }
  *out = m;
  return QCRT_OK;
}

/* Reads the whole file into 64-aligned memory; *base is what to free. */
static qcrt_status read_file(const char *path, void **base, const uint8_t **data, size_t *bytes,
                             qcrt_err *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, QCRT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    int e = errno;
    close(fd);
    return fail(err, QCRT_ERR_IO, "%s: not a regular file%s%s", path, e ? ": " : "",
                e ? strerror(e) : "");
  }
  if ((uint64_t)sb.st_size > QCRT_MAX_BYTES) {
    close(fd);
    return fail(err, QCRT_ERR_FORMAT, "%s: %llu bytes, more than 2^40", path,
                (unsigned long long)sb.st_size);
  }
  size_t n = (size_t)sb.st_size, got = 0;
  uint8_t *buf = alloc_zeroed(n, base);
  if (!buf) {
    close(fd);
    return fail(err, QCRT_ERR_NOMEM, "out of memory reading %s (%zu bytes)", path, n);
  }
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      close(fd);
      free(*base);
      *base = NULL;
      return fail(err, QCRT_ERR_IO, "%s: read failed at byte %zu: %s", path, got,
                  e ? strerror(e) : "file shrank while reading");
    }
    got += (size_t)r;
  }
  close(fd);
  *data = buf;
  *bytes = n;
  return QCRT_OK;
}

qcrt_status qcrt_load(const char *dir, int threads, qcrt_model **out, qcrt_err *err)
{
  if (!out) return fail(err, QCRT_ERR_USAGE, "out is NULL");
  *out = NULL;
  qcrt_model *m;
  qcrt_status st = new_model(threads, &m, err);
  if (st != QCRT_OK) return st;
  if (!dir) {
    free(m);
    return fail(err, QCRT_ERR_USAGE, "dir is NULL");
  }
  size_t dl = strlen(dir);
  char *path = malloc(dl + 16);
  if (!path) {
    free(m);
    return fail(err, QCRT_ERR_NOMEM, "out of memory");
  }
  snprintf(path, dl + 16, "%s/weights.bin", dir);
  st = read_file(path, &m->blob_mem, &m->blob, &m->blob_bytes, err);
  if (st == QCRT_OK) {
    /* The prefix comes from the header: check it first, then bind the library. */
    st = check_header(m, path, err);
  }
  if (st == QCRT_OK) {
    snprintf(path, dl + 16, "%s/model.so", dir);
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
      const char *why = dlerror();
      st = fail(err, QCRT_ERR_IO, "%s: cannot load: %s", path, why ? why : "dlopen failed");
    }
  }
  const void *syms[3] = {NULL, NULL, NULL};
  if (st == QCRT_OK) {
    static const char *const suffix[3] = {"_kernels", "_n_kernels", "_code_hash"};
    char sym[64];
    for (int i = 0; i < 3 && st == QCRT_OK; i++) {
      snprintf(sym, sizeof sym, "%s%s", m->h.prefix, suffix[i]);
      syms[i] = dlsym(m->dl, sym);
      if (!syms[i]) st = fail(err, QCRT_ERR_FORMAT, "%s: symbol %s not found", path, sym);
    }
  }
  if (st == QCRT_OK) {
    snprintf(path, dl + 16, "%s/weights.bin", dir);
    st = finish_load(m, (const qca_kernel_fn *)syms[0], *(const uint32_t *)syms[1],
                     *(const uint64_t *)syms[2], 1, path, err);
  }
  free(path);
  if (st != QCRT_OK) {
    qcrt_free(m);
    return st;
  }
  *out = m;
  return QCRT_OK;
}

void qcrt_free(qcrt_model *m)
{
  if (!m) return;
  qcrt_pool_stop(m->pool);
  free(m->arena_base);
  free(m->scratch_base);
  free(m->steps);
  free(m->tensors);
  free(m->tensor_off);
  free(m->blob_mem);
  if (m->dl) dlclose(m->dl);
  free(m);
}

/* ---- queries ---- */

int qcrt_num_inputs(const qcrt_model *m) { return m ? m->n_inputs : 0; }
int qcrt_num_outputs(const qcrt_model *m) { return m ? m->n_outputs : 0; }
int qcrt_num_steps(const qcrt_model *m) { return m ? m->n_steps : 0; }
const char *qcrt_target(const qcrt_model *m) { return m ? m->h.target : ""; }

uint64_t qcrt_arena_bytes(const qcrt_model *m)
{
  return m ? m->h.arena_bytes + (uint64_t)m->threads * m->h.scratch_bytes : 0;
}

static qcrt_status get_info(const qcrt_model *m, const char *what, int i, int n, int base,
                            qcrt_tensor_info *info, qcrt_err *err)
{
  if (!m || !info) return fail(err, QCRT_ERR_USAGE, "%s", !m ? "model is NULL" : "info is NULL");
  if (i < 0 || i >= n)
    return fail(err, QCRT_ERR_USAGE, "%s %d out of range (model has %d)", what, i, n);
  *info = m->tensors[base + i];
  return QCRT_OK;
}

qcrt_status qcrt_input_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err)
{
  return get_info(m, "input", i, m ? m->n_inputs : 0, 0, info, err);
}

qcrt_status qcrt_output_info(const qcrt_model *m, int i, qcrt_tensor_info *info, qcrt_err *err)
{
  return get_info(m, "output", i, m ? m->n_outputs : 0, m ? m->n_inputs : 0, info, err);
}

qcrt_status qcrt_step_info_get(const qcrt_model *m, int i, qcrt_step_info *info, qcrt_err *err)
{
  qcrt_tensor_info out;
  qcrt_status st = get_info(m, "step", i, m ? m->n_steps : 0,
                            m ? m->n_inputs + m->n_outputs : 0, &out, err);
  if (st != QCRT_OK) return st;
  const rt_step *s = &m->steps[i];
  info->name = s->name;
  info->op = s->op;
  info->macs = s->macs;
  info->n_tasks = s->n_tasks;
  info->out = out;
  return QCRT_OK;
}

/* ---- running ---- */

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nothing in here allocates: the arena, scratch and pool were set up by the load. */
qcrt_status qcrt_run_hooked(qcrt_model *m, const void *const *inputs, void *const *outputs,
                            qcrt_step_hook hook, void *user, qcrt_err *err)
{
  if (!m) return fail(err, QCRT_ERR_USAGE, "model is NULL");
  if (m->n_inputs > 0 && !inputs) return fail(err, QCRT_ERR_USAGE, "inputs is NULL");
  if (m->n_outputs > 0 && !outputs) return fail(err, QCRT_ERR_USAGE, "outputs is NULL");
  for (int i = 0; i < m->n_inputs; i++)
    if (!inputs[i])
      return fail(err, QCRT_ERR_USAGE, "input %d ('%s') is NULL", i, m->tensors[i].name);
  for (int i = 0; i < m->n_outputs; i++)
    if (!outputs[i])
      return fail(err, QCRT_ERR_USAGE, "output %d ('%s') is NULL", i,
                  m->tensors[m->n_inputs + i].name);
  const uint8_t *weights = m->blob + m->h.weights_off;
  for (int i = 0; i < m->n_inputs; i++)
    memcpy(m->arena + m->tensor_off[i], inputs[i], m->tensors[i].bytes);
  int first_step_tensor = m->n_inputs + m->n_outputs;
  for (int s = 0; s < m->n_steps; s++) {
    const rt_step *st = &m->steps[s];
    uint64_t t0 = hook ? now_ns() : 0;
    qcrt_pool_run(m->pool, st->fn, m->arena, weights, st->n_tasks);
    if (hook) {
      uint64_t ns = now_ns() - t0;
      if (hook(user, s, m->arena + m->tensor_off[first_step_tensor + s], ns) != 0)
        return QCRT_OK;   /* stopped early: outputs are not written */
    }
  }
  for (int i = 0; i < m->n_outputs; i++) {
    int t = m->n_inputs + i;
    memcpy(outputs[i], m->arena + m->tensor_off[t], m->tensors[t].bytes);
  }
  return QCRT_OK;
}

qcrt_status qcrt_run(qcrt_model *m, const void *const *inputs, void *const *outputs,
                     qcrt_err *err)
{
  return qcrt_run_hooked(m, inputs, outputs, NULL, NULL, err);
}

/* ---- names ---- */

const char *qcrt_status_name(qcrt_status s)
{
  switch (s) {
  case QCRT_OK: return "ok";
  case QCRT_ERR_USAGE: return "usage error";
  case QCRT_ERR_IO: return "I/O error";
  case QCRT_ERR_FORMAT: return "format error";
  case QCRT_ERR_NOMEM: return "out of memory";
  case QCRT_ERR_THREAD: return "thread error";
  }
  return "unknown status";
}

const char *qcrt_dtype_name(uint32_t dtype)
{
  switch (dtype) {
  case QCA_F32: return "f32";
  case QCA_U8: return "u8";
  case QCA_I8: return "i8";
  case QCA_I16: return "i16";
  case QCA_I32: return "i32";
  case QCA_I64: return "i64";
  case QCA_U16: return "u16";
  default: return "?";
  }
}
