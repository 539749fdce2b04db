/* The quantization step shared by `quantc quantize` and `quantc compile --scheme`: options,
   calibration data and the call into quantizers/uniform (see quant_cli.h). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "data.h"
#include "quant_cli.h"

#define CALIB_BATCH 256
#define MAX_NPY 4096

/* ---- calibration data ------------------------------------------------------------------- */

typedef struct {
  qc_tensor *t;
  int n;
} calib_set;

static void calib_free(calib_set *c)
{
  for (int i = 0; i < c->n; i++) free(c->t[i].data);
  free(c->t);
  c->t = NULL;
  c->n = 0;
}

/* splitmix64: a small seeded generator, the same subset on every platform. */
static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static qc_status find_file(const char *dir, const char *base, char *buf, size_t cap, qc_err *e)
{
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return qc_err_set(e, QC_ERR_IO, "%s: data folder not found", dir);
  snprintf(buf, cap, "%s/%s.gz", dir, base);
  if (stat(buf, &st) == 0) return QC_OK;
  snprintf(buf, cap, "%s/%s", dir, base);
  if (stat(buf, &st) == 0) return QC_OK;
  return qc_err_set(e, QC_ERR_IO, "%s: neither %s.gz nor %s found", dir, base, base);
}

/* n images drawn without replacement (partial Fisher-Yates, seeded) from the training set,
   normalized like eval, in batches of the model's fixed batch dim or CALIB_BATCH. */
static qc_status calib_fashion(const qc_value *in, const char *dir, long n, uint64_t seed,
                               double mean, double std, calib_set *c, qc_err *e)
{
  char path[4096];
  qc_tensor img = {0};
  int32_t *idx = NULL;
  qc_status st = find_file(dir, "train-images-idx3-ubyte", path, sizeof path, e);
  if (!st) st = qc_idx_read(path, &img, e);
  if (st) return st;
  int64_t per_image = 1;
  for (int i = 1; i < in->rank; i++) per_image *= in->dims[i];
  int64_t n_img = img.rank >= 1 ? img.dims[0] : 0;
  if (img.dtype != QC_DT_U8 || img.rank < 2 || n_img == 0) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: expected unsigned byte images [N, rows, cols]",
                    path);
    goto out;
  }
  if (qc_tensor_elems(&img) / n_img != per_image) {
    st = qc_err_set(e, QC_ERR_INVALID,
                    "calibration: model input '%s' takes %lld values per image; %s holds %lld",
                    in->name, (long long)per_image, path,
                    (long long)(qc_tensor_elems(&img) / n_img));
    goto out;
  }
  if (n > n_img) n = (long)n_img;
  idx = malloc((size_t)n_img * sizeof *idx);
  if (!idx) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for the calibration subset");
    goto out;
  }
  for (int64_t i = 0; i < n_img; i++) idx[i] = (int32_t)i;
  uint64_t s = seed;
  for (int64_t i = 0; i < n; i++) {
    int64_t j = i + (int64_t)(splitmix(&s) % (uint64_t)(n_img - i));
    int32_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  int64_t B = in->dims[0] > 0 ? in->dims[0] : CALIB_BATCH;
  int nb = (int)((n + B - 1) / B);
  c->t = calloc((size_t)nb, sizeof *c->t);
  if (!c->t) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for calibration batches");
    goto out;
  }
  float lut[256];
  for (int p = 0; p < 256; p++) lut[p] = ((float)p / 255.0f - (float)mean) / (float)std;
  const uint8_t *px = img.data;
  for (int b = 0; b < nb; b++) {
    int64_t start = (int64_t)b * B, m = n - start < B ? n - start : B;
    /* A fixed batch dim takes B images: the last batch repeats images of the subset. */
    int64_t rows = in->dims[0] > 0 ? B : m;
    qc_tensor *t = &c->t[b];
    t->dtype = QC_DT_F32;
    t->rank = in->rank;
    memcpy(t->dims, in->dims, sizeof t->dims);
    t->dims[0] = rows;
    float *x = malloc((size_t)(rows * per_image) * sizeof *x);
    if (!x) {
      st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for calibration batches");
      goto out;
    }
    t->data = x;
    c->n = b + 1;
    for (int64_t r = 0; r < rows; r++) {
      const uint8_t *src = px + (int64_t)idx[start + r % m] * per_image;
      for (int64_t k = 0; k < per_image; k++) x[r * per_image + k] = lut[src[k]];
    }
  }
out:
  if (st) calib_free(c);
  free(idx);
  free(img.data);
  return st;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf)
{
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

/* The list of .npy files DATA names: one file, a folder (sorted), or "a.npy,b.npy". */
static qc_status npy_list(const char *data, char ***out, int *n_out, qc_err *e)
{
  char **v = calloc(MAX_NPY, sizeof *v);
  int n = 0;
  qc_status st = QC_OK;
  if (!v) return qc_err_set(e, QC_ERR_NOMEM, "out of memory");
  struct stat sb;
  if (!strchr(data, ',') && stat(data, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(data);
    if (!d) {
      free(v);
      return qc_err_set(e, QC_ERR_IO, "%s: cannot open the calibration folder", data);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !st) {
      if (de->d_name[0] == '.' || !ends_with(de->d_name, ".npy")) continue;
      if (n == MAX_NPY) {
        st = qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: more than %d .npy files", data, MAX_NPY);
        break;
      }
      size_t len = strlen(data) + strlen(de->d_name) + 2;
      v[n] = malloc(len);
      if (!v[n]) {
        st = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
        break;
      }
      snprintf(v[n++], len, "%s/%s", data, de->d_name);
    }
    closedir(d);
    if (!st && n == 0)
      st = qc_err_set(e, QC_ERR_INVALID, "calibration: %s holds no .npy files", data);
    if (!st) qsort(v, (size_t)n, sizeof *v, cmp_str);
  } else {
    const char *p = data;
    while (!st) {
      const char *q = strchr(p, ',');
      size_t len = q ? (size_t)(q - p) : strlen(p);
      if (len == 0) {
        st = qc_err_set(e, QC_ERR_USAGE, "--calib: empty file name in '%s'", data);
        break;
      }
      if (n == MAX_NPY) {
        st = qc_err_set(e, QC_ERR_UNSUPPORTED, "--calib: more than %d files", MAX_NPY);
        break;
      }
      v[n] = malloc(len + 1);
      if (!v[n]) {
        st = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
        break;
      }
      memcpy(v[n], p, len);
      v[n++][len] = 0;
      if (!q) break;
      p = q + 1;
    }
  }
  if (st) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
    return st;
  }
  *out = v;
  *n_out = n;
  return QC_OK;
}

/* Checks one NPY batch against the model input: float32, same rank, fixed dims equal,
   at least one row. */
static qc_status check_batch(const qc_graph *g, const qc_value *in, const char *file,
                             const qc_tensor *t, qc_err *e)
{
  char want[256], got[256];
  qc_cli_shape_str(g, in->rank, in->dims, want, sizeof want);
  qc_cli_shape_str(g, t->rank, t->dims, got, sizeof got);
  if (t->dtype != QC_DT_F32)
    return qc_err_set(e, QC_ERR_INVALID,
                      "calibration: %s holds %s %s; model input '%s' is float32 %s", file,
                      qc_dtype_name(t->dtype), got, in->name, want);
  if (t->rank != in->rank)
    return qc_err_set(e, QC_ERR_INVALID,
                      "calibration: %s has shape %s; model input '%s' is %s (rank %d)", file,
                      got, in->name, want, in->rank);
  for (int i = 0; i < in->rank; i++)
    if (in->dims[i] >= 0 && t->dims[i] != in->dims[i])
      return qc_err_set(e, QC_ERR_INVALID,
                        "calibration: %s has shape %s; model input '%s' is %s (dim %d)", file,
                        got, in->name, want, i);
  if (qc_tensor_elems(t) == 0)
    return qc_err_set(e, QC_ERR_INVALID, "calibration: %s is empty (shape %s)", file, got);
  return QC_OK;
}

static qc_status calib_npy(const qc_graph *g, const qc_value *in, const char *data, long limit,
                           calib_set *c, qc_err *e)
{
  char **files = NULL;
  int n = 0;
  qc_status st = npy_list(data, &files, &n, e);
  if (st) return st;
  if (limit > 0 && limit < n) {
    for (int i = (int)limit; i < n; i++) free(files[i]);
    n = (int)limit;
  }
  c->t = calloc((size_t)n, sizeof *c->t);
  if (!c->t) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
  for (int i = 0; i < n && !st; i++) {
    st = qc_npy_read(files[i], &c->t[i], e);
    if (st) break;
    c->n = i + 1;
    st = check_batch(g, in, files[i], &c->t[i], e);
  }
  for (int i = 0; i < n; i++) free(files[i]);
  free(files);
  if (st) calib_free(c);
  return st;
}

/* ---- options ---------------------------------------------------------------------------- */

void qc_cli_quant_args_init(qc_cli_quant_args *q)
{
  memset(q, 0, sizeof *q);
  q->data_dir = QC_CLI_DEFAULT_DATA_DIR;
  q->method = "percentile";
  q->std = 1;
  q->pct = 99.99;
  q->first_last_8 = true;
}

int qc_cli_quant_opt(const char *cmd, qc_cli_quant_args *q, int c, const char *arg, int *rc)
{
  switch (c) {
  case 's': q->scheme = arg; return 1;
  case 'c': q->calib = arg; return 1;
  case 'n':
    return qc_cli_parse_long(cmd, "--calib-n", arg, 1, 60000, &q->calib_n, rc) ? 1 : -1;
  case QC_QO_METHOD:
    if (strcmp(arg, "minmax") && strcmp(arg, "percentile") && strcmp(arg, "mse")) {
      *rc = qc_cli_usage_error(cmd, "--calib-method: '%s' is not minmax, percentile or mse",
                               arg);
      return -1;
    }
    q->method = arg;
    return 1;
  case QC_QO_PCT:
    if (!qc_cli_parse_double(cmd, "--percentile", arg, &q->pct, rc)) return -1;
    if (!(q->pct > 0 && q->pct <= 100)) {
      *rc = qc_cli_usage_error(cmd, "--percentile: %s is not in (0, 100]", arg);
      return -1;
    }
    q->have_pct = true;
    return 1;
  case QC_QO_SEED:
    return qc_cli_parse_long(cmd, "--seed", arg, 0, 2147483647L, &q->seed, rc) ? 1 : -1;
  case QC_QO_MEAN:
    if (!qc_cli_parse_double(cmd, "--mean", arg, &q->mean, rc)) return -1;
    q->norm = true;
    return 1;
  case QC_QO_STD:
    if (!qc_cli_parse_double(cmd, "--std", arg, &q->std, rc)) return -1;
    if (!(q->std > 0)) {
      *rc = qc_cli_usage_error(cmd, "--std: %s must be > 0", arg);
      return -1;
    }
    q->norm = true;
    return 1;
  case QC_QO_DIR: q->data_dir = arg; return 1;
  case QC_QO_FL:
    if (strcmp(arg, "8") == 0) q->first_last_8 = true;
    else if (strcmp(arg, "same") == 0) q->first_last_8 = false;
    else {
      *rc = qc_cli_usage_error(cmd, "--first-last: '%s' is not 8 or same", arg);
      return -1;
    }
    return 1;
  default: return 0;
  }
}

bool qc_cli_quant_finish(const char *cmd, const qc_cli_quant_args *q, int threads,
                         qc_uniform_opts *o, int *rc)
{
  const char *scheme = q->scheme;
  if (!*scheme) {
    *rc = qc_cli_usage_error(cmd, "--scheme: empty");
    return false;
  }
  if (!q->calib) {
    *rc = qc_cli_usage_error(cmd, "missing --calib (fashion-mnist or .npy batches)");
    return false;
  }
  if (!*q->calib) {
    *rc = qc_cli_usage_error(cmd, "--calib: empty");
    return false;
  }
  if (q->have_pct && strcmp(q->method, "percentile") != 0) {
    *rc = qc_cli_usage_error(cmd, "--percentile needs --calib-method percentile");
    return false;
  }
  if (strcmp(q->calib, "fashion-mnist") != 0 && q->norm) {
    *rc = qc_cli_usage_error(cmd,
                             "--mean/--std apply to --calib fashion-mnist only (NPY batches "
                             "are used as they are)");
    return false;
  }
  qc_uniform_opts_default(o);
  if (strcmp(scheme, "w8a8") == 0) o->w_bits = 8, o->a_bits = 8;
  else if (strcmp(scheme, "w4a8") == 0) o->w_bits = 4, o->a_bits = 8;
  else if (strcmp(scheme, "w4a4") == 0) o->w_bits = 4, o->a_bits = 4;
  else {
    struct stat sb;
    if (stat(scheme, &sb) != 0) {
      *rc = qc_cli_usage_error(cmd,
                               "--scheme: '%s' is not w8a8, w4a8, w4a4 or an existing config "
                               "file",
                               scheme);
      return false;
    }
    o->config_path = scheme;
  }
  o->first_last_8bit = q->first_last_8;
  o->calib.method = strcmp(q->method, "minmax") == 0 ? QC_CALIB_MINMAX
                    : strcmp(q->method, "mse") == 0  ? QC_CALIB_MSE
                                                     : QC_CALIB_PERCENTILE;
  o->calib.percentile = q->pct;
  o->threads = threads;
  return true;
}

/* ---- the step --------------------------------------------------------------------------- */

qc_status qc_cli_quantize(qc_graph *g, const char *path, const qc_cli_quant_args *q,
                          const qc_uniform_opts *o, qc_quant_report *rep, long *samples,
                          int *batches, qc_err *e)
{
  calib_set cs = {0};
  memset(rep, 0, sizeof *rep);
  if (g->n_inputs != 1)
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "quantize needs a model with one input; this one has %d",
                      g->n_inputs);
  const qc_value *in = &g->values[g->inputs[0]];
  char sh[256];
  qc_cli_shape_str(g, in->rank, in->dims, sh, sizeof sh);
  if (in->dtype != QC_DT_F32 || in->rank < 1)
    return qc_err_set(e, QC_ERR_UNSUPPORTED,
                      "quantize needs a float32 input [batch, ...]; '%s' is %s %s", in->name,
                      qc_dtype_name(in->dtype), sh);
  for (int i = 1; i < in->rank; i++)
    if (in->dims[i] < 0)
      return qc_err_set(e, QC_ERR_UNSUPPORTED,
                        "model input '%s' %s: quantize needs every dim but the batch dim fixed",
                        in->name, sh);
  qc_status st;
  if (strcmp(q->calib, "fashion-mnist") == 0)
    st = calib_fashion(in, q->data_dir, q->calib_n ? q->calib_n : QC_CLI_DEFAULT_CALIB_N,
                       (uint64_t)q->seed, q->mean, q->std, &cs, e);
  else
    st = calib_npy(g, in, q->calib, q->calib_n, &cs, e);
  if (st) return st;
  long n = 0;
  for (int i = 0; i < cs.n; i++) n += (long)cs.t[i].dims[0];
  *samples = n;
  *batches = cs.n;
  st = qc_quantize_uniform(g, o, cs.t, cs.n, rep, e);
  calib_free(&cs);
  if (st) return st;
  if (rep->n_layers <= 0) {
    qc_quant_report_free(rep);
    memset(rep, 0, sizeof *rep);
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: no layer to quantize (no Conv, Gemm or MatMul)",
                      path);
  }
  return QC_OK;
}
