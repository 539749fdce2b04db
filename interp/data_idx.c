/* IDX reader and writer (the MNIST / Fashion-MNIST file format), raw or gzip-compressed.
 *
 * Layout (all big-endian): magic 0x0000TTNN (TT: element type, NN: number of dims), NN u32
 * dims, then the elements row-major. zlib's gz* functions read raw files transparently, so one
 * path serves both; offsets in messages count decompressed bytes. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "data.h"

static const struct {
  unsigned code;
  qc_dtype dt;
} idx_types[] = {{0x08, QC_DT_U8},  {0x09, QC_DT_I8},  {0x0B, QC_DT_I16},
                 {0x0C, QC_DT_I32}, {0x0D, QC_DT_F32}, {0x0E, QC_DT_F64}};

static bool host_is_le(void)
{
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* Reads up to n bytes; returns the count read, or -1 on a stream error (e set). */
static int64_t gz_read_all(gzFile gz, void *buf, int64_t n, const char *path, int64_t at,
                           qc_err *e)
{
  int64_t got = 0;
  while (got < n) {
    int64_t want = n - got;
    if (want > (1 << 30)) want = 1 << 30;
    int r = gzread(gz, (unsigned char *)buf + got, (unsigned)want);
    if (r < 0) {
      int zerr;
      const char *msg = gzerror(gz, &zerr);
      size_t pl = strlen(path); /* zlib prefixes its message with the path */
      if (strncmp(msg, path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0) msg += pl + 2;
      qc_err_set(e, zerr == Z_ERRNO ? QC_ERR_IO : QC_ERR_FORMAT,
                 "%s: corrupt gzip stream near decompressed byte %lld: %s", path,
                 (long long)(at + got), zerr == Z_ERRNO ? strerror(errno) : msg);
      return -1;
    }
    if (r == 0) break;
    got += r;
  }
  return got;
}

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static qc_status idx_read(gzFile gz, const char *path, qc_tensor *t, qc_err *e)
{
  unsigned char hdr[4 + 4 * 255];
  int64_t got = gz_read_all(gz, hdr, 4, path, 0, e);
  if (got < 0) return e ? e->code : QC_ERR_FORMAT;
  if (got == 0) return qc_err_set(e, QC_ERR_FORMAT, "%s: empty file (not an IDX file)", path);
  if (got < 4)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: truncated IDX magic: file ends at byte %lld", path,
                      (long long)got);
  qc_dtype dt = QC_DT_UNDEF;
  for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
    if (hdr[2] == idx_types[i].code) dt = idx_types[i].dt;
  if (hdr[0] != 0 || hdr[1] != 0 || dt == QC_DT_UNDEF)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: bad IDX magic 0x%08x at byte 0 (expected 0x0000TTNN with type TT in "
                      "08 09 0B 0C 0D 0E)",
                      path, (unsigned)be32(hdr));
  int rank = hdr[3];
  if (rank < 1 || rank > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: IDX rank %d at byte 3 is outside 1..%d", path, rank,
                      QC_MAX_RANK);
  got = gz_read_all(gz, hdr + 4, 4 * rank, path, 4, e);
  if (got < 0) return e ? e->code : QC_ERR_FORMAT;
  if (got < 4 * rank)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: truncated IDX header: %d dims declared, file ends at byte %lld", path,
                      rank, (long long)(4 + got));
  memset(t, 0, sizeof *t);
  t->dtype = dt;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = be32(hdr + 4 + 4 * i);
  int64_t elems = qc_shape_elems(rank, t->dims);
  if (elems < 0)
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: IDX dims (header bytes 4..%d) exceed the limit of %lld elements", path,
                      3 + 4 * rank, (long long)QC_MAX_ELEMS);
  int64_t bytes = qc_dtype_bytes(dt, elems);
  int64_t at = 4 + 4 * (int64_t)rank;
  void *data = malloc(bytes ? (size_t)bytes : 1);
  if (!data)
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %lld bytes of IDX data", path,
                      (long long)bytes);
  got = gz_read_all(gz, data, bytes, path, at, e);
  if (got < 0) {
    free(data);
    return e ? e->code : QC_ERR_FORMAT;
  }
  if (got < bytes) {
    free(data);
    return qc_err_set(e, QC_ERR_FORMAT,
                      "%s: truncated IDX data: %lld bytes expected from byte %lld, file ends at "
                      "byte %lld",
                      path, (long long)bytes, (long long)at, (long long)(at + got));
  }
  unsigned char extra;
  got = gz_read_all(gz, &extra, 1, path, at + bytes, e);
  if (got != 0) {
    free(data);
    if (got < 0) return e ? e->code : QC_ERR_FORMAT;
    return qc_err_set(e, QC_ERR_FORMAT, "%s: trailing bytes after the IDX data at byte %lld",
                      path, (long long)(at + bytes));
  }
  int size = qc_dtypes[dt].bits / 8;
  if (size > 1 && host_is_le()) {
    unsigned char *p = data;
    for (int64_t i = 0; i < elems; i++, p += size)
      for (int a = 0, b = size - 1; a < b; a++, b--) {
        unsigned char c = p[a];
        p[a] = p[b];
        p[b] = c;
      }
  }
  t->data = data;
  return QC_OK;
}

qc_status qc_idx_read(const char *path, qc_tensor *t, qc_err *e)
{
  memset(t, 0, sizeof *t);
  struct stat st;
  if (stat(path, &st) != 0)
    return qc_err_set(e, QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return qc_err_set(e, QC_ERR_IO, "%s: is a directory, not a file", path);
  gzFile gz = gzopen(path, "rb");
  if (!gz) return qc_err_set(e, QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  qc_status s = idx_read(gz, path, t, e);
  gzclose(gz);
  if (s) memset(t, 0, sizeof *t);
  return s;
}

qc_status qc_idx_write(const char *path, const qc_tensor *t, bool gz, qc_err *e)
{
  unsigned code = 0;
  for (size_t i = 0; i < sizeof idx_types / sizeof idx_types[0]; i++)
    if (idx_types[i].dt == t->dtype) code = idx_types[i].code;
  if (!code)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: dtype %s has no IDX equivalent", path,
                      qc_dtype_name(t->dtype));
  int64_t elems = qc_tensor_elems(t);
  if (t->rank < 1 || t->rank > QC_MAX_RANK || elems < 0)
    return qc_err_set(e, QC_ERR_INTERNAL, "%s: invalid tensor shape for IDX", path);
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] > UINT32_MAX)
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: IDX dims must fit in 32 bits", path);
  gzFile f = gzopen(path, gz ? "wb6" : "wbT");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
  unsigned char hdr[4 + 4 * QC_MAX_RANK] = {0, 0, (unsigned char)code, (unsigned char)t->rank};
  for (int i = 0; i < t->rank; i++) {
    uint32_t d = (uint32_t)t->dims[i];
    hdr[4 + 4 * i] = (unsigned char)(d >> 24);
    hdr[5 + 4 * i] = (unsigned char)(d >> 16);
    hdr[6 + 4 * i] = (unsigned char)(d >> 8);
    hdr[7 + 4 * i] = (unsigned char)d;
  }
  bool ok = gzwrite(f, hdr, (unsigned)(4 + 4 * t->rank)) == 4 + 4 * t->rank;
  int size = qc_dtypes[t->dtype].bits / 8;
  const unsigned char *p = t->data;
  unsigned char buf[8];
  if (size == 1)
    for (int64_t off = 0; ok && off < elems; off += 1 << 30) {
      unsigned n = (unsigned)(elems - off < (1 << 30) ? elems - off : 1 << 30);
      ok = gzwrite(f, p + off, n) == (int)n;
    }
  for (int64_t i = 0; size > 1 && ok && i < elems; i++, p += size) {
    for (int b = 0; b < size; b++) buf[b] = host_is_le() ? p[size - 1 - b] : p[b];
    ok = gzwrite(f, buf, (unsigned)size) == size;
  }
  if (gzclose(f) != Z_OK) ok = false;
  if (!ok) return qc_err_set(e, QC_ERR_IO, "%s: write failed", path);
  return QC_OK;
}
