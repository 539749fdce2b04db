/* NumPy .npy reader and writer (format spec: numpy/lib/format.py, versions 1.0-3.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0), a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} padded with spaces
 * and ending in '\n', then the raw array bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "data.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_PREFIX_MAX 12 /* magic + version + u32 length */

typedef struct {
  qc_dtype dtype;
  int rank;
  int64_t dims[QC_MAX_RANK];
  bool swap;          /* file byte order differs from the host's */
  size_t data_offset; /* first byte of the array data */
  int64_t data_bytes;
} npy_header;

static bool host_is_le(void)
{
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* ---- header dict parser ---------------------------------------------------------------- */

typedef struct {
  const char *s;
  size_t n, i;
  size_t base; /* file offset of s[0] */
  const char *name;
  qc_err *e;
} dict_parser;

static qc_status dp_err(dict_parser *p, const char *what)
{
  return qc_err_set(p->e, QC_ERR_FORMAT, "%s: malformed NPY header at byte %zu: %s", p->name,
                    p->base + p->i, what);
}

static void dp_ws(dict_parser *p)
{
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                         p->s[p->i] == '\r'))
    p->i++;
}

static bool dp_eat(dict_parser *p, char c)
{
  dp_ws(p);
  if (p->i < p->n && p->s[p->i] == c) {
    p->i++;
    return true;
  }
  return false;
}

/* A quoted string without escapes (NumPy never writes any in these headers). */
static qc_status dp_string(dict_parser *p, char *out, size_t cap)
{
  dp_ws(p);
  if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"'))
    return dp_err(p, "expected a quoted string");
  char q = p->s[p->i++];
  size_t k = 0;
  while (p->i < p->n && p->s[p->i] != q) {
    if (p->s[p->i] == '\\' || k + 1 >= cap) return dp_err(p, "string too long or escaped");
    out[k++] = p->s[p->i++];
  }
  if (p->i >= p->n) return dp_err(p, "unterminated string");
  p->i++;
  out[k] = 0;
  return QC_OK;
}

static bool dp_word(dict_parser *p, const char *w)
{
  dp_ws(p);
  size_t len = strlen(w);
  if (p->n - p->i >= len && memcmp(p->s + p->i, w, len) == 0) {
    p->i += len;
    return true;
  }
  return false;
}

static qc_status dp_shape(dict_parser *p, npy_header *h)
{
  if (!dp_eat(p, '(')) return dp_err(p, "'shape' must be a tuple");
  h->rank = 0;
  for (;;) {
    if (dp_eat(p, ')')) return QC_OK;
    dp_ws(p);
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
      return dp_err(p, "expected a non-negative integer dimension");
    int64_t d = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
      if (d > (QC_MAX_ELEMS - 9) / 10)
        return qc_err_set(p->e, QC_ERR_FORMAT,
                          "%s: NPY dimension at byte %zu exceeds the limit of %lld elements",
                          p->name, p->base + p->i, (long long)QC_MAX_ELEMS);
      d = d * 10 + (p->s[p->i++] - '0');
    }
    if (p->i < p->n && p->s[p->i] == 'L') p->i++; /* Python 2 long */
    if (h->rank == QC_MAX_RANK)
      return qc_err_set(p->e, QC_ERR_UNSUPPORTED,
                        "%s: NPY arrays of rank > %d are not supported", p->name, QC_MAX_RANK);
    h->dims[h->rank++] = d;
    if (dp_eat(p, ',')) continue;
    if (dp_eat(p, ')')) return QC_OK;
    return dp_err(p, "expected ',' or ')' in 'shape'");
  }
}

/* Maps a descr such as '<f4' to a dtype; sets *swap for the non-host byte order. */
static qc_status parse_descr(const char *d, npy_header *h, const char *name, qc_err *e)
{
  char order = d[0];
  const char *k = d + 1;
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    order = '=';
    k = d;
  }
  static const struct {
    const char *code;
    qc_dtype dt;
  } map[] = {{"b1", QC_DT_BOOL}, {"u1", QC_DT_U8},  {"i1", QC_DT_I8},  {"u2", QC_DT_U16},
             {"i2", QC_DT_I16},  {"u4", QC_DT_U32}, {"i4", QC_DT_I32}, {"u8", QC_DT_U64},
             {"i8", QC_DT_I64},  {"f2", QC_DT_F16}, {"f4", QC_DT_F32}, {"f8", QC_DT_F64}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(k, map[i].code) == 0) {
      h->dtype = map[i].dt;
      bool one_byte = qc_dtypes[map[i].dt].bits == 8;
      h->swap = !one_byte && ((order == '<' && !host_is_le()) || (order == '>' && host_is_le()));
      return QC_OK;
    }
  return qc_err_set(e, QC_ERR_UNSUPPORTED,
                    "%s: NPY dtype '%s' is not supported (use bool, int8-64, uint8-64, "
                    "float16/32/64)",
                    name, d);
}

/* Parses the fixed prefix and the dict from the first avail bytes of a file of file_len bytes
   and checks that the file holds exactly the array's bytes. */
static qc_status parse_header(const unsigned char *b, size_t avail, int64_t file_len,
                              const char *name, npy_header *h, qc_err *e)
{
  memset(h, 0, sizeof *h);
  if (file_len == 0) return qc_err_set(e, QC_ERR_FORMAT, "%s: empty file (not an NPY file)", name);
  if (avail < 6 || memcmp(b, NPY_MAGIC, 6) != 0)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: bad NPY magic at byte 0 (expected \\x93NUMPY; not an NPY file)", name);
  if (avail < 8)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: truncated NPY header at byte %zu", name, avail);
  int major = b[6], minor = b[7];
  if (major < 1 || major > 3 || minor != 0)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: unsupported NPY format version %d.%d at byte 6",
                      name, major, minor);
  size_t len_bytes = major == 1 ? 2 : 4;
  if (avail < 8 + len_bytes)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: truncated NPY header at byte %zu", name, avail);
  uint32_t hlen = b[8] | (uint32_t)b[9] << 8;
  if (len_bytes == 4) hlen |= (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
  if (hlen > QC_NPY_MAX_HEADER)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: NPY header length %u at byte 8 exceeds the limit of %d bytes", name,
                      (unsigned)hlen, QC_NPY_MAX_HEADER);
  size_t start = 8 + len_bytes;
  if ((int64_t)(start + hlen) > file_len || start + hlen > avail)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: truncated NPY header: %u header bytes declared at byte 8, file ends "
                      "at byte %lld",
                      name, (unsigned)hlen, (long long)file_len);

  dict_parser p = {(const char *)b + start, hlen, 0, start, name, e};
  for (size_t i = 0; i < hlen; i++)
    if (p.s[i] == 0) {
      p.i = i;
      return dp_err(&p, "NUL byte in header");
    }
  if (!dp_eat(&p, '{')) return dp_err(&p, "expected '{'");
  bool seen_descr = false, seen_order = false, seen_shape = false;
  qc_status st;
  while (!dp_eat(&p, '}')) {
    char key[32], descr[32];
    size_t key_at = p.i;
    if ((st = dp_string(&p, key, sizeof key))) return st;
    if (!dp_eat(&p, ':')) return dp_err(&p, "expected ':'");
    if (strcmp(key, "descr") == 0 && !seen_descr) {
      seen_descr = true;
      dp_ws(&p);
      if (p.i < p.n && p.s[p.i] == '[')
        return qc_err_set(e, QC_ERR_UNSUPPORTED,
                          "%s: structured NPY dtypes are not supported (byte %zu)", name,
                          start + p.i);
      if ((st = dp_string(&p, descr, sizeof descr))) return st;
      if ((st = parse_descr(descr, h, name, e))) return st;
    } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
      seen_order = true;
      dp_ws(&p);
      size_t at = p.i;
      if (dp_word(&p, "True"))
        return qc_err_set(e, QC_ERR_UNSUPPORTED,
                          "%s: fortran_order NPY arrays are not supported (byte %zu); save a "
                          "C-ordered array (numpy.ascontiguousarray)",
                          name, start + at);
      if (!dp_word(&p, "False")) return dp_err(&p, "'fortran_order' must be True or False");
    } else if (strcmp(key, "shape") == 0 && !seen_shape) {
      seen_shape = true;
      if ((st = dp_shape(&p, h))) return st;
    } else {
      p.i = key_at;
      return dp_err(&p, "unknown or repeated key");
    }
    if (!dp_eat(&p, ',')) {
      if (dp_eat(&p, '}')) break;
      return dp_err(&p, "expected ',' or '}'");
    }
  }
  dp_ws(&p);
  if (p.i != p.n) return dp_err(&p, "trailing characters after the dict");
  if (!seen_descr || !seen_order || !seen_shape)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: NPY header at byte %zu lacks '%s'", name, start,
                      !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");

  int64_t elems = qc_shape_elems(h->rank, h->dims);
  if (elems < 0)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: NPY shape has more than %lld elements", name,
                      (long long)QC_MAX_ELEMS);
  h->data_offset = start + hlen;
  h->data_bytes = qc_dtype_bytes(h->dtype, elems);
  int64_t have = file_len - (int64_t)h->data_offset;
  if (have < h->data_bytes)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: truncated NPY data: %lld bytes expected from byte %zu, file has %lld",
                      name, (long long)h->data_bytes, h->data_offset, (long long)have);
  if (have > h->data_bytes)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: %lld trailing bytes after the NPY data at byte %lld", name,
                      (long long)(have - h->data_bytes),
                      (long long)(h->data_offset + h->data_bytes));
  return QC_OK;
}

static void swap_bytes(void *data, int64_t elems, int size)
{
  unsigned char *p = data;
  for (int64_t i = 0; i < elems; i++, p += size)
    for (int a = 0, b = size - 1; a < b; a++, b--) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

static qc_status finish(npy_header *h, void *data, qc_tensor *t)
{
  if (h->swap) swap_bytes(data, h->data_bytes / (qc_dtypes[h->dtype].bits / 8),
                          qc_dtypes[h->dtype].bits / 8);
  t->dtype = h->dtype;
  t->rank = h->rank;
  memcpy(t->dims, h->dims, sizeof t->dims);
  t->data = data;
  return QC_OK;
}

qc_status qc_npy_read_buffer(const void *buf, size_t len, const char *name, qc_tensor *t,
                             qc_err *e)
{
  memset(t, 0, sizeof *t);
  npy_header h;
  qc_status st = parse_header(buf, len, (int64_t)len, name, &h, e);
  if (st) return st;
  void *data = malloc(h.data_bytes ? (size_t)h.data_bytes : 1);
  if (!data) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for NPY data", name);
  memcpy(data, (const unsigned char *)buf + h.data_offset, (size_t)h.data_bytes);
  return finish(&h, data, t);
}

/* Opens path for reading, refusing directories and other non-regular files. */
static FILE *open_regular(const char *path, int64_t *size, qc_err *e)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    qc_err_set(e, QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    fclose(f);
    qc_err_set(e, QC_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    qc_err_set(e, QC_ERR_IO, "%s: %s", path,
               S_ISDIR(st.st_mode) ? "is a directory, not a file" : "not a regular file");
    return NULL;
  }
  *size = (int64_t)st.st_size;
  return f;
}

qc_status qc_npy_read(const char *path, qc_tensor *t, qc_err *e)
{
  memset(t, 0, sizeof *t);
  int64_t size;
  FILE *f = open_regular(path, &size, e);
  if (!f) return e ? e->code : QC_ERR_IO;
  unsigned char *head = malloc(NPY_PREFIX_MAX + QC_NPY_MAX_HEADER);
  if (!head) {
    fclose(f);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  }
  size_t avail = fread(head, 1, NPY_PREFIX_MAX + QC_NPY_MAX_HEADER, f);
  npy_header h;
  qc_status st = parse_header(head, avail, size, path, &h, e);
  free(head);
  if (st) {
    fclose(f);
    return st;
  }
  void *data = malloc(h.data_bytes ? (size_t)h.data_bytes : 1);
  if (!data) {
    fclose(f);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %lld bytes of NPY data", path,
                      (long long)h.data_bytes);
  }
  if (fseek(f, (long)h.data_offset, SEEK_SET) != 0 ||
      fread(data, 1, (size_t)h.data_bytes, f) != (size_t)h.data_bytes) {
    fclose(f);
    free(data);
    return qc_err_set(e, QC_ERR_IO, "%s: read error in NPY data after byte %zu", path,
                      h.data_offset);
  }
  fclose(f);
  return finish(&h, data, t);
}

static const char *npy_descr(qc_dtype t)
{
  switch (t) {
  case QC_DT_BOOL: return "|b1";
  case QC_DT_U8: return "|u1";
  case QC_DT_I8: return "|i1";
  case QC_DT_U16: return "<u2";
  case QC_DT_I16: return "<i2";
  case QC_DT_U32: return "<u4";
  case QC_DT_I32: return "<i4";
  case QC_DT_U64: return "<u8";
  case QC_DT_I64: return "<i8";
  case QC_DT_F16: return "<f2";
  case QC_DT_F32: return "<f4";
  case QC_DT_F64: return "<f8";
  default: return NULL;
  }
}

qc_status qc_npy_write(const char *path, const qc_tensor *t, qc_err *e)
{
  const char *descr = npy_descr(t->dtype);
  if (!descr)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: dtype %s has no NPY equivalent", path,
                      qc_dtype_name(t->dtype));
  if (!host_is_le())
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: NPY writing needs a little-endian host", path);
  int64_t bytes = qc_tensor_bytes(t);
  if (bytes < 0 || t->rank < 0 || t->rank > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_INTERNAL, "%s: invalid tensor shape", path);
  char hdr[512];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->rank; i++)
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)t->dims[i],
                  t->rank == 1 || i + 1 < t->rank ? ", " : "");
  if (t->rank == 1) n -= 1; /* "(5,)" */
  n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
  /* Pad with spaces so that the data starts on a 64-byte boundary, as NumPy does. */
  int total = 10 + n + 1;
  int pad = (64 - total % 64) % 64;
  memset(hdr + n, ' ', (size_t)pad);
  n += pad;
  hdr[n++] = '\n';
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff),
                           (unsigned char)(n >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre &&
            fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
            (bytes == 0 || fwrite(t->data, 1, (size_t)bytes, f) == (size_t)bytes);
  if (fclose(f) != 0) ok = false;
  if (!ok) return qc_err_set(e, QC_ERR_IO, "%s: write failed: %s", path, strerror(errno));
  return QC_OK;
}
