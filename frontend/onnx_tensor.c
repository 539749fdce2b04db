/* TensorProto <-> qc_tensor: typed fields, little-endian raw data, external data confined to
 * the model's folder, and the .pb tensor files of ONNX test data. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "onnx_internal.h"

static const char *onnx_type_name(int t)
{
  static const char *names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",
                                "INT16",     "INT32",  "INT64",     "STRING",     "BOOL",
                                "FLOAT16",   "DOUBLE", "UINT32",    "UINT64",     "COMPLEX64",
                                "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
                                "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4"};
  return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

qc_status qc_onnx_dtype(int onnx_type, const char *what, qc_dtype *out, qc_err *e)
{
  *out = qc_dtype_from_onnx(onnx_type);
  if (*out != QC_DT_UNDEF) return QC_OK;
  if (onnx_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
  if (onnx_type == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED)
    return qc_err_set(e, QC_ERR_INVALID, "%s has no data type", what);
  return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: ONNX data type %d (%s) is not supported", what,
                    onnx_type, onnx_type_name(onnx_type));
}

/* Copies n little-endian elements of size bytes each into host order; dst may equal src. */
static void copy_le(void *dst, const void *src, size_t n, size_t size)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  const uint8_t *s = src;
  uint8_t *d = dst;
  for (size_t i = 0; i < n; i++) {
    uint8_t tmp[8];
    memcpy(tmp, s + i * size, size);
    for (size_t b = 0; b < size; b++) d[i * size + b] = tmp[size - 1 - b];
  }
#else
  if (dst != src) memcpy(dst, src, n * size);
#endif
}

/* Element size for byte swapping; packed and codebook types never come from ONNX. */
static size_t elem_size(qc_dtype t) { return (size_t)(qc_dtypes[t].bits / 8); }

/* ---- external data -------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return true;
}

/* A relative path whose '..' components never climb above its starting folder. */
static bool stays_inside(const char *loc)
{
  int depth = 0;
  for (const char *p = loc; *p;) {
    const char *end = strchr(p, '/');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) return false;
    } else if (n && !(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
    while (*p == '/') p++;
  }
  return true;
}

/* Reads bytes of external data into a buffer from a, allocated only once the file is known
   to hold them. */
static qc_status read_external(const Onnx__TensorProto *tp, const char *base_dir, qc_arena *a,
                               size_t bytes, void **dst, const char *what, qc_err *e)
{
  const char *loc = NULL;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *kv = tp->external_data[i];
    const char *k = kv->key ? kv->key : "";
    if (strcmp(k, "location") == 0) {
      loc = kv->value;
    } else if (strcmp(k, "offset") == 0) {
      if (!parse_u64(kv->value, &offset))
        return qc_err_set(e, QC_ERR_FORMAT, "%s: external data offset '%s' is not a number",
                          what, kv->value ? kv->value : "");
    } else if (strcmp(k, "length") == 0) {
      if (!parse_u64(kv->value, &length))
        return qc_err_set(e, QC_ERR_FORMAT, "%s: external data length '%s' is not a number",
                          what, kv->value ? kv->value : "");
      has_length = true;
    }
  }
  if (!loc || !*loc) return qc_err_set(e, QC_ERR_FORMAT, "%s: external data has no location", what);
  if (!base_dir)
    return qc_err_set(e, QC_ERR_USAGE,
                      "%s: external data '%s' needs the model's folder, and none was given",
                      what, loc);
  if (loc[0] == '/')
    return qc_err_set(e, QC_ERR_INVALID,
                      "%s: external data path '%s' is absolute; it must be relative to the "
                      "model's folder",
                      what, loc);
  if (!stays_inside(loc))
    return qc_err_set(e, QC_ERR_INVALID,
                      "%s: external data path '%s' leaves the model's folder", what, loc);
  if (has_length && length != bytes)
    return qc_err_set(e, QC_ERR_INVALID,
                      "%s: external data length %llu does not match its shape (%zu bytes)",
                      what, (unsigned long long)length, bytes);

  size_t plen = strlen(base_dir) + strlen(loc) + 2;
  char *path = malloc(plen);
  char *real_dir = realpath(base_dir, NULL);
  char *real_file = NULL;
  FILE *f = NULL;
  qc_status st = QC_OK;
  if (!path) {
    st = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", what);
    goto done;
  }
  snprintf(path, plen, "%s/%s", base_dir, loc);
  if (!real_dir) {
    st = qc_err_set(e, QC_ERR_IO, "%s: cannot open the model's folder '%s': %s", what, base_dir,
                    strerror(errno));
    goto done;
  }
  real_file = realpath(path, NULL);
  if (!real_file) {
    st = qc_err_set(e, QC_ERR_IO, "%s: cannot open external data file '%s': %s", what, path,
                    strerror(errno));
    goto done;
  }
  size_t dl = strlen(real_dir);
  bool inside = strncmp(real_file, real_dir, dl) == 0 &&
                (real_file[dl] == '/' || (dl == 1 && real_dir[0] == '/'));
  if (!inside) {
    st = qc_err_set(e, QC_ERR_INVALID,
                    "%s: external data path '%s' resolves outside the model's folder (through "
                    "a symbolic link)",
                    what, loc);
    goto done;
  }
  f = fopen(real_file, "rb");
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) != 0) {
    st = qc_err_set(e, QC_ERR_IO, "%s: cannot open external data file '%s': %s", what, path,
                    strerror(errno));
    goto done;
  }
  if (!S_ISREG(sb.st_mode)) {
    st = qc_err_set(e, QC_ERR_IO, "%s: external data '%s' is not a regular file", what, path);
    goto done;
  }
  if (offset > (uint64_t)sb.st_size || bytes > (uint64_t)sb.st_size - offset) {
    st = qc_err_set(e, QC_ERR_FORMAT,
                    "%s: external data file '%s' has %lld bytes; the tensor needs %zu bytes "
                    "at offset %llu",
                    what, path, (long long)sb.st_size, bytes, (unsigned long long)offset);
    goto done;
  }
  *dst = qc_arena_alloc(a, bytes ? bytes : 1);
  if (!*dst) {
    st = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
    goto done;
  }
  if (offset > (uint64_t)LLONG_MAX || fseeko(f, (off_t)offset, SEEK_SET) != 0 ||
      fread(*dst, 1, bytes, f) != bytes) {
    st = qc_err_set(e, QC_ERR_IO, "%s: cannot read %zu bytes at offset %llu of '%s'", what,
                    bytes, (unsigned long long)offset, path);
    goto done;
  }
done:
  if (f) fclose(f);
  free(real_file);
  free(real_dir);
  free(path);
  return st;
}

/* ---- TensorProto -> qc_tensor --------------------------------------------------------- */

/* Fills *out (elems elements of t, bytes long, allocated here) from the typed field ONNX uses
   for t. */
static qc_status copy_typed(const Onnx__TensorProto *tp, qc_dtype t, qc_arena *a, void **out,
                            size_t elems, size_t bytes, const char *what, qc_err *e)
{
  size_t have = 0;
  const char *field = "";
  switch (t) {
  case QC_DT_F32: have = tp->n_float_data, field = "float_data"; break;
  case QC_DT_F64: have = tp->n_double_data, field = "double_data"; break;
  case QC_DT_I64: have = tp->n_int64_data, field = "int64_data"; break;
  case QC_DT_U32:
  case QC_DT_U64: have = tp->n_uint64_data, field = "uint64_data"; break;
  default: have = tp->n_int32_data, field = "int32_data"; break;
  }
  size_t total = tp->n_float_data + tp->n_double_data + tp->n_int64_data + tp->n_uint64_data +
                 tp->n_int32_data;
  if (total != have)
    return qc_err_set(e, QC_ERR_INVALID, "%s: %s data is stored outside %s", what,
                      qc_dtype_name(t), field);
  if (have != elems)
    return qc_err_set(e, QC_ERR_INVALID, "%s: shape has %zu elements but %s holds %zu", what,
                      elems, field, have);
  void *dst = *out = qc_arena_alloc(a, bytes ? bytes : 1);
  if (!dst) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
  for (size_t i = 0; i < elems; i++) {
    switch (t) {
    case QC_DT_F32: ((float *)dst)[i] = tp->float_data[i]; break;
    case QC_DT_F64: ((double *)dst)[i] = tp->double_data[i]; break;
    case QC_DT_I64: ((int64_t *)dst)[i] = tp->int64_data[i]; break;
    case QC_DT_U64: ((uint64_t *)dst)[i] = tp->uint64_data[i]; break;
    case QC_DT_U32: ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i]; break;
    case QC_DT_I32: ((int32_t *)dst)[i] = tp->int32_data[i]; break;
    case QC_DT_BOOL: ((uint8_t *)dst)[i] = tp->int32_data[i] != 0; break;
    case QC_DT_I8:
    case QC_DT_U8: ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i]; break;
    default: /* 16-bit types, f16 and bf16 as their bit patterns */
      ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
      break;
    }
  }
  return QC_OK;
}

qc_status qc_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                    qc_arena *a, qc_tensor *out, const char *what, qc_err *e)
{
  memset(out, 0, sizeof *out);
  if (tp->segment)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
  qc_dtype t;
  qc_status st = qc_onnx_dtype(tp->has_data_type ? tp->data_type : 0, what, &t, e);
  if (st) return st;
  if (tp->n_dims > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s has rank %zu; at most %d is supported", what,
                      tp->n_dims, QC_MAX_RANK);
  for (size_t i = 0; i < tp->n_dims; i++)
    if (tp->dims[i] < 0)
      return qc_err_set(e, QC_ERR_INVALID, "%s: dimension %zu is negative (%lld)", what, i,
                        (long long)tp->dims[i]);
  out->dtype = t;
  out->rank = (int)tp->n_dims;
  for (int i = 0; i < out->rank; i++) out->dims[i] = tp->dims[i];
  int64_t elems = qc_tensor_elems(out);
  if (elems < 0)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s has more than %lld elements", what,
                      (long long)QC_MAX_ELEMS);
  size_t bytes = (size_t)qc_tensor_bytes(out);

  /* Sizes are checked against the data actually present before anything is allocated, so a
     shape claiming 2^36 elements costs nothing. */
  bool typed = tp->n_float_data || tp->n_double_data || tp->n_int64_data ||
               tp->n_uint64_data || tp->n_int32_data;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    if (typed || tp->has_raw_data)
      return qc_err_set(e, QC_ERR_INVALID, "%s: external data but also data in the file", what);
    if ((st = read_external(tp, base_dir, a, bytes, &out->data, what, e))) return st;
    copy_le(out->data, out->data, bytes / elem_size(t), elem_size(t));
    return QC_OK;
  }
  if (tp->has_raw_data) {
    if (typed)
      return qc_err_set(e, QC_ERR_INVALID, "%s: data in both raw_data and a typed field", what);
    if (tp->raw_data.len != bytes)
      return qc_err_set(e, QC_ERR_INVALID,
                        "%s: raw_data has %zu bytes but its shape needs %zu", what,
                        tp->raw_data.len, bytes);
    if (!(out->data = qc_arena_alloc(a, bytes ? bytes : 1)))
      return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %zu bytes", what, bytes);
    if (bytes) copy_le(out->data, tp->raw_data.data, bytes / elem_size(t), elem_size(t));
    return QC_OK;
  }
  if (!typed) {
    if (elems == 0 && (out->data = qc_arena_alloc(a, 1))) return QC_OK;
    if (elems == 0) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", what);
    return qc_err_set(e, QC_ERR_INVALID, "%s: shape has %lld elements but no data", what,
                      (long long)elems);
  }
  return copy_typed(tp, t, a, &out->data, (size_t)elems, bytes, what, e);
}

/* ---- files ------------------------------------------------------------------------------ */

qc_status qc_onnx_read_file(const char *path, uint8_t **buf, size_t *len, qc_err *e)
{
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return qc_err_set(e, QC_ERR_IO, "'%s' is not a regular file", path);
  }
  if ((uint64_t)sb.st_size > QC_ONNX_MAX_FILE_BYTES) {
    fclose(f);
    return qc_err_set(e, QC_ERR_UNSUPPORTED,
                      "%s: %.1f GiB is over the 2 GiB limit of a protobuf file; keep the "
                      "weights in external data",
                      path, (double)sb.st_size / (1024.0 * 1024.0 * 1024.0));
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *b = malloc(n ? n : 1);
  if (!b) {
    fclose(f);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  }
  if (fread(b, 1, n, f) != n) {
    fclose(f);
    free(b);
    return qc_err_set(e, QC_ERR_IO, "%s: read error", path);
  }
  fclose(f);
  *buf = b;
  *len = n;
  return QC_OK;
}

char *qc_onnx_dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

qc_status qc_onnx_read_tensor_file(const char *path, qc_arena *a, qc_tensor *out,
                                   char *name_buf, size_t name_len, qc_err *e)
{
  memset(out, 0, sizeof *out);
  if (name_buf && name_len) name_buf[0] = 0;
  uint8_t *buf;
  size_t len;
  qc_status st = qc_onnx_read_file(path, &buf, &len, e);
  if (st) return st;
  st = qc_onnx_wire_check(buf, len, &onnx__tensor_proto__descriptor, path, e);
  Onnx__TensorProto *tp = NULL;
  if (!st) {
    tp = onnx__tensor_proto__unpack(NULL, len, buf);
    if (!tp)
      st = qc_err_set(e, QC_ERR_FORMAT, "%s: not a valid ONNX TensorProto (protobuf parse failed)",
                      path);
  }
  free(buf);
  if (st) return st;
  char *dir = qc_onnx_dir_of(path);
  char what[300];
  snprintf(what, sizeof what, "%s: tensor '%s'", path, tp->name ? tp->name : "");
  if (!dir) st = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  else st = qc_onnx_tensor_from_proto(tp, dir, a, out, what, e);
  if (!st && name_buf && name_len) snprintf(name_buf, name_len, "%s", tp->name ? tp->name : "");
  free(dir);
  protobuf_c_message_free_unpacked(&tp->base, NULL);
  return st;
}

qc_status qc_onnx_save_tensor_file(const char *path, const qc_tensor *t, const char *name,
                                   qc_err *e)
{
  if ((unsigned)t->dtype >= QC_DT_COUNT || !qc_dtypes[t->dtype].onnx ||
      (qc_dtypes[t->dtype].flags & (QC_DTF_PACKED | QC_DTF_CODEBOOK)))
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: dtype %s has no ONNX equivalent", path,
                      qc_dtype_name(t->dtype));
  int64_t bytes = qc_tensor_bytes(t);
  if (bytes < 0 || t->rank < 0 || t->rank > QC_MAX_RANK)
    return qc_err_set(e, QC_ERR_INVALID, "%s: tensor has an invalid shape", path);
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t dims[QC_MAX_RANK];
  for (int i = 0; i < t->rank; i++) dims[i] = t->dims[i];
  tp.n_dims = (size_t)t->rank;
  tp.dims = dims;
  tp.has_data_type = 1;
  tp.data_type = qc_dtypes[t->dtype].onnx;
  tp.name = (char *)(name ? name : "");
  uint8_t *raw = malloc(bytes ? (size_t)bytes : 1);
  if (!raw) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  if (bytes) copy_le(raw, t->data, (size_t)bytes / elem_size(t->dtype), elem_size(t->dtype));
  tp.has_raw_data = 1;
  tp.raw_data.len = (size_t)bytes;
  tp.raw_data.data = raw;
  size_t n = protobuf_c_message_get_packed_size(&tp.base);
  uint8_t *out = malloc(n ? n : 1);
  qc_status st = QC_OK;
  if (!out) {
    st = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  } else {
    protobuf_c_message_pack(&tp.base, out);
    FILE *f = fopen(path, "wb");
    if (!f) {
      st = qc_err_set(e, QC_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    } else {
      bool ok = fwrite(out, 1, n, f) == n;
      if (fclose(f) != 0) ok = false;
      if (!ok) st = qc_err_set(e, QC_ERR_IO, "%s: write error", path);
    }
  }
  free(out);
  free(raw);
  return st;
}
