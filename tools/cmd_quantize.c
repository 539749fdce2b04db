/* quantc quantize: post-training integer-only quantization (HAWQ-V3 uniform scheme) of an fp32
   model, calibrated on Fashion-MNIST training images or on NPY batches. Writes standard ONNX
   (QDQ form), a JSON report and optionally the exact integer IR as text. Nothing is written
   unless every step succeeded: each output goes to a temporary file in its own folder and is
   renamed into place at the end. */
#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "data.h"
#include "onnx.h"
#include "quantizers.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_CALIB_N 1024
#define CALIB_BATCH 256
#define MAX_NPY 4096

static const char usage[] =
    "usage: quantc quantize MODEL --scheme w8a8|w4a8|w4a4|CONFIG --calib DATA -o OUT.onnx\n"
    "                       [--calib-n N] [--calib-method minmax|percentile|mse]\n"
    "                       [--percentile P] [--seed S] [--mean M --std S] [--data-dir DIR]\n"
    "                       [--first-last 8|same] [--threads N] [--report REPORT.json]\n"
    "                       [--ir OUT.qc]\n"
    "\n"
    "Post-training integer-only quantization (HAWQ-V3): BatchNorm folded, weights symmetric per\n"
    "output channel, activations per tensor from calibration, int32 accumulators, dyadic\n"
    "requantization. Writes OUT.onnx (standard ONNX, QuantizeLinear/DequantizeLinear form) and\n"
    "a JSON report (per layer bits, params, bytes, MACs, BOPS; totals and compression ratio).\n"
    "\n"
    "options:\n"
    "  -s, --scheme S          w8a8, w4a8 or w4a4 (weight/activation bits of every layer), or a\n"
    "                          per-layer config file: lines 'LAYER w=4 a=8', '#' comments;\n"
    "                          layers it does not name get 8/8\n"
    "  -c, --calib DATA        fashion-mnist (a seeded random subset of the 60,000 training\n"
    "                          images), or NPY batches shaped like the model input: one .npy\n"
    "                          file, a folder of them (sorted by name) or a comma-separated list\n"
    "  -n, --calib-n N         fashion-mnist: images to calibrate on, 1..60000 (default 1024);\n"
    "                          NPY: use the first N files only\n"
    "      --calib-method M    minmax, percentile (default) or mse\n"
    "      --percentile P      for percentile: |x| percentile in (0, 100] (default 99.99)\n"
    "      --seed S            seed of the fashion-mnist subset (default 0)\n"
    "      --mean M, --std S   fashion-mnist normalization (x/255 - M) / S (default 0, 1)\n"
    "      --data-dir DIR      folder with train-images-idx3-ubyte[.gz] (default\n"
    "                          " DEFAULT_DATA_DIR ")\n"
    "      --first-last B      8: first conv and last FC stay 8-bit (default, as HAWQ-V3);\n"
    "                          same: they take the scheme's bits too\n"
    "  -t, --threads N         calibration threads, 1..1024 (default: one per CPU)\n"
    "  -o, --output OUT.onnx   the quantized model\n"
    "      --report FILE       the JSON report (default: OUT with .json for .onnx)\n"
    "      --ir FILE.qc        also write the exact integer IR as text; 'quantc eval' and\n"
    "                          'quantc run' take it as MODEL\n"
    "      --no-fold           skip constant folding and dead-code removal before quantizing\n"
    "  -h, --help              this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid model, config or calibration data (unknown layer,\n"
    "bits outside 2..8, empty or mismatched calibration set), 3 unsupported (e.g. no layer to\n"
    "quantize), 4 I/O, 5 internal. On any error nothing is written.\n";

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

/* ---- outputs ---------------------------------------------------------------------------- */

/* A temporary file next to final (same file system, so rename is atomic). */
static qc_status make_temp(const char *final, char *buf, size_t cap, qc_err *e)
{
  if ((size_t)snprintf(buf, cap, "%s.tmpXXXXXX", final) >= cap)
    return qc_err_set(e, QC_ERR_USAGE, "%s: path too long", final);
  int fd = mkstemp(buf);
  if (fd < 0) {
    buf[0] = 0;
    return qc_err_set(e, QC_ERR_IO, "%s: cannot create a file in its folder", final);
  }
  /* mkstemp creates 0600; give the file the mode a plain fopen would. */
  mode_t mask = umask(0);
  umask(mask);
  bool ok = fchmod(fd, 0666 & ~mask) == 0;
  close(fd);
  if (!ok) {
    unlink(buf);
    buf[0] = 0;
    return qc_err_set(e, QC_ERR_IO, "%s: cannot set the file mode", final);
  }
  return QC_OK;
}

static qc_status write_text(const char *path, const char *final, const char *text, qc_err *e)
{
  FILE *f = fopen(path, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot write", final);
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, f) == n;
  ok = (fclose(f) == 0) && ok;
  return ok ? QC_OK : qc_err_set(e, QC_ERR_IO, "%s: write failed", final);
}

/* JSON string with the escapes RFC 8259 requires. */
static void json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static int64_t layer_bytes(const qc_layer_report *l) { return (l->bits + 7) / 8; }

typedef struct {
  const char *model, *scheme, *calib, *method;
  long calib_n;
  int n_batches;
  double percentile;
  bool first_last_8;
} report_meta;

static qc_status write_report(const char *path, const char *final, const report_meta *m,
                              const qc_quant_report *r, qc_err *e)
{
  FILE *f = fopen(path, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot write", final);
  fputs("{\"model\": ", f);
  json_str(f, m->model);
  fputs(", \"scheme\": ", f);
  json_str(f, m->scheme);
  fputs(", \"first_last_8bit\": ", f);
  fputs(m->first_last_8 ? "true" : "false", f);
  fputs(",\n \"calibration\": {\"data\": ", f);
  json_str(f, m->calib);
  fprintf(f, ", \"samples\": %ld, \"batches\": %d, \"method\": ", m->calib_n, m->n_batches);
  json_str(f, m->method);
  if (strcmp(m->method, "percentile") == 0) fprintf(f, ", \"percentile\": %.9g", m->percentile);
  fputs("},\n \"layers\": [", f);
  for (int32_t i = 0; i < r->n_layers; i++) {
    const qc_layer_report *l = &r->layers[i];
    fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
    json_str(f, l->name);
    fputs(", \"op\": ", f);
    json_str(f, l->op);
    fprintf(f,
            ", \"w_bits\": %d, \"a_bits\": %d, \"params\": %lld, \"macs\": %lld, "
            "\"bits\": %lld, \"bytes\": %lld, \"bops\": %.17g}",
            l->w_bits, l->a_bits, (long long)l->params, (long long)l->macs, (long long)l->bits,
            (long long)layer_bytes(l), l->bops);
  }
  double ratio = r->quant_bytes > 0 ? (double)r->fp32_bytes / (double)r->quant_bytes : 0;
  fprintf(f,
          "],\n \"totals\": {\"layers\": %d, \"fp32_bytes\": %lld, \"quant_bytes\": %lld, "
          "\"compression_ratio\": %.17g, \"bops\": %.17g, \"fp32_bops\": %.17g, "
          "\"gbops\": %.17g, \"fp32_gbops\": %.17g}}\n",
          (int)r->n_layers, (long long)r->fp32_bytes, (long long)r->quant_bytes, ratio, r->bops,
          r->fp32_bops, r->bops * 1e-9, r->fp32_bops * 1e-9);
  bool ok = !ferror(f);
  ok = (fclose(f) == 0) && ok;
  return ok ? QC_OK : qc_err_set(e, QC_ERR_IO, "%s: write failed", final);
}

static void print_summary(const qc_quant_report *r, const char *out, const char *report,
                          const char *ir)
{
  int w = 4;
  for (int32_t i = 0; i < r->n_layers; i++) {
    int k = (int)strlen(r->layers[i].name ? r->layers[i].name : "?");
    if (k > w) w = k;
  }
  if (w > 60) w = 60;
  printf("%-*s  %-5s  %3s  %3s  %10s  %12s  %10s  %10s\n", w, "layer", "op", "w", "a", "params",
         "MACs", "bytes", "MBOPS");
  for (int32_t i = 0; i < r->n_layers; i++) {
    const qc_layer_report *l = &r->layers[i];
    printf("%-*.*s  %-5s  %3d  %3d  %10lld  %12lld  %10lld  %10.2f\n", w, w,
           l->name ? l->name : "?", l->op ? l->op : "?", l->w_bits, l->a_bits,
           (long long)l->params, (long long)l->macs, (long long)layer_bytes(l), l->bops * 1e-6);
  }
  double ratio = r->quant_bytes > 0 ? (double)r->fp32_bytes / (double)r->quant_bytes : 0;
  printf("size: %lld bytes fp32 -> %lld bytes quantized (%.2fx smaller)\n",
         (long long)r->fp32_bytes, (long long)r->quant_bytes, ratio);
  printf("BOPS: %.3f G fp32 -> %.3f G quantized\n", r->fp32_bops * 1e-9, r->bops * 1e-9);
  printf("wrote %s, %s%s%s\n", out, report, ir ? ", " : "", ir ? ir : "");
}

/* ---- the command ------------------------------------------------------------------------ */

int qc_cmd_quantize(int argc, char **argv)
{
  enum {
    O_METHOD = 256, O_PCT, O_SEED, O_MEAN, O_STD, O_DIR, O_FL, O_REPORT, O_IR, O_NO_FOLD
  };
  static const struct option longopts[] = {
      {"scheme", required_argument, NULL, 's'},    {"calib", required_argument, NULL, 'c'},
      {"calib-n", required_argument, NULL, 'n'},   {"calib-method", required_argument, NULL, O_METHOD},
      {"percentile", required_argument, NULL, O_PCT}, {"seed", required_argument, NULL, O_SEED},
      {"mean", required_argument, NULL, O_MEAN},   {"std", required_argument, NULL, O_STD},
      {"data-dir", required_argument, NULL, O_DIR}, {"first-last", required_argument, NULL, O_FL},
      {"threads", required_argument, NULL, 't'},   {"output", required_argument, NULL, 'o'},
      {"report", required_argument, NULL, O_REPORT}, {"ir", required_argument, NULL, O_IR},
      {"no-fold", no_argument, NULL, O_NO_FOLD},   {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *scheme = NULL, *calib = NULL, *out = NULL, *report = NULL, *ir = NULL;
  const char *dir = DEFAULT_DATA_DIR, *method = "percentile";
  long calib_n = 0, threads = 0, seed = 0;
  double mean = 0, std = 1, pct = 99.99;
  bool have_pct = false, norm = false, first_last_8 = true;
  qc_cli_load_opts lo = {true, 0};
  int c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hs:c:n:t:o:", longopts, NULL)) != -1) {
    switch (c) {
    case 's': scheme = optarg; break;
    case 'c': calib = optarg; break;
    case 'n':
      if (!qc_cli_parse_long("quantize", "--calib-n", optarg, 1, 60000, &calib_n, &rc))
        return rc;
      break;
    case O_METHOD:
      if (strcmp(optarg, "minmax") && strcmp(optarg, "percentile") && strcmp(optarg, "mse"))
        return qc_cli_usage_error("quantize",
                                  "--calib-method: '%s' is not minmax, percentile or mse",
                                  optarg);
      method = optarg;
      break;
    case O_PCT:
      if (!qc_cli_parse_double("quantize", "--percentile", optarg, &pct, &rc)) return rc;
      if (!(pct > 0 && pct <= 100))
        return qc_cli_usage_error("quantize", "--percentile: %s is not in (0, 100]", optarg);
      have_pct = true;
      break;
    case O_SEED:
      if (!qc_cli_parse_long("quantize", "--seed", optarg, 0, 2147483647L, &seed, &rc))
        return rc;
      break;
    case O_MEAN:
      if (!qc_cli_parse_double("quantize", "--mean", optarg, &mean, &rc)) return rc;
      norm = true;
      break;
    case O_STD:
      if (!qc_cli_parse_double("quantize", "--std", optarg, &std, &rc)) return rc;
      if (!(std > 0)) return qc_cli_usage_error("quantize", "--std: %s must be > 0", optarg);
      norm = true;
      break;
    case O_DIR: dir = optarg; break;
    case O_FL:
      if (strcmp(optarg, "8") == 0) first_last_8 = true;
      else if (strcmp(optarg, "same") == 0) first_last_8 = false;
      else return qc_cli_usage_error("quantize", "--first-last: '%s' is not 8 or same", optarg);
      break;
    case 't':
      if (!qc_cli_parse_long("quantize", "--threads", optarg, 1, 1024, &threads, &rc))
        return rc;
      break;
    case 'o':
      if (!*optarg) return qc_cli_usage_error("quantize", "--output: empty path");
      out = optarg;
      break;
    case O_REPORT:
      if (!*optarg) return qc_cli_usage_error("quantize", "--report: empty path");
      report = optarg;
      break;
    case O_IR:
      if (!*optarg) return qc_cli_usage_error("quantize", "--ir: empty path");
      ir = optarg;
      break;
    case O_NO_FOLD: lo.optimize = false; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("quantize", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("quantize", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("quantize", "unexpected argument '%s'", argv[optind + 1]);
  if (!scheme)
    return qc_cli_usage_error("quantize", "missing --scheme (w8a8, w4a8, w4a4 or a config file)");
  if (!*scheme) return qc_cli_usage_error("quantize", "--scheme: empty");
  if (!calib)
    return qc_cli_usage_error("quantize", "missing --calib (fashion-mnist or .npy batches)");
  if (!*calib) return qc_cli_usage_error("quantize", "--calib: empty");
  if (!out) return qc_cli_usage_error("quantize", "missing -o OUT.onnx");
  if (have_pct && strcmp(method, "percentile") != 0)
    return qc_cli_usage_error("quantize", "--percentile needs --calib-method percentile");
  bool fashion = strcmp(calib, "fashion-mnist") == 0;
  if (!fashion && norm)
    return qc_cli_usage_error("quantize",
                              "--mean/--std apply to --calib fashion-mnist only (NPY batches "
                              "are used as they are)");
  const char *path = argv[optind];

  qc_uniform_opts o;
  qc_uniform_opts_default(&o);
  if (strcmp(scheme, "w8a8") == 0) o.w_bits = 8, o.a_bits = 8;
  else if (strcmp(scheme, "w4a8") == 0) o.w_bits = 4, o.a_bits = 8;
  else if (strcmp(scheme, "w4a4") == 0) o.w_bits = 4, o.a_bits = 4;
  else {
    struct stat sb;
    if (stat(scheme, &sb) != 0)
      return qc_cli_usage_error("quantize",
                                "--scheme: '%s' is not w8a8, w4a8, w4a4 or an existing config "
                                "file",
                                scheme);
    o.config_path = scheme;
  }
  o.first_last_8bit = first_last_8;
  o.calib.method = strcmp(method, "minmax") == 0 ? QC_CALIB_MINMAX
                   : strcmp(method, "mse") == 0  ? QC_CALIB_MSE
                                                 : QC_CALIB_PERCENTILE;
  o.calib.percentile = pct;
  o.threads = (int)threads;
  lo.threads = (int)threads;

  /* Default report: OUT with .onnx replaced by .json (or .json appended). */
  char report_buf[4096];
  if (!report) {
    size_t n = strlen(out);
    if (ends_with(out, ".onnx")) n -= 5;
    if (n + 6 > sizeof report_buf) return qc_cli_usage_error("quantize", "-o: path too long");
    memcpy(report_buf, out, n);
    memcpy(report_buf + n, ".json", 6);
    report = report_buf;
  }
  if (strcmp(report, out) == 0 || (ir && (strcmp(ir, out) == 0 || strcmp(ir, report) == 0)))
    return qc_cli_usage_error("quantize", "-o, --report and --ir must be different files");

  qc_err e = {0};
  qc_graph *g = NULL;
  calib_set cs = {0};
  qc_quant_report rep = {0};
  bool have_rep = false;
  char *ir_text = NULL;
  char t_out[4200] = "", t_rep[4200] = "", t_ir[4200] = "";
  rc = QC_EXIT_OK;
  if (qc_cli_load_model(path, &lo, &g, &e)) goto fail;
  if (g->n_inputs != 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED,
               "quantize needs a model with one input; this one has %d", g->n_inputs);
    goto fail;
  }
  const qc_value *in = &g->values[g->inputs[0]];
  char sh[256];
  qc_cli_shape_str(g, in->rank, in->dims, sh, sizeof sh);
  if (in->dtype != QC_DT_F32 || in->rank < 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "quantize needs a float32 input [batch, ...]; '%s' is %s %s",
               in->name, qc_dtype_name(in->dtype), sh);
    goto fail;
  }
  for (int i = 1; i < in->rank; i++)
    if (in->dims[i] < 0) {
      qc_err_set(&e, QC_ERR_UNSUPPORTED,
                 "model input '%s' %s: quantize needs every dim but the batch dim fixed",
                 in->name, sh);
      goto fail;
    }

  if (fashion) {
    if (calib_fashion(in, dir, calib_n ? calib_n : DEFAULT_CALIB_N, (uint64_t)seed, mean, std,
                      &cs, &e))
      goto fail;
  } else if (calib_npy(g, in, calib, calib_n, &cs, &e)) {
    goto fail;
  }
  long samples = 0;
  for (int i = 0; i < cs.n; i++) samples += (long)cs.t[i].dims[0];

  if (qc_quantize_uniform(g, &o, cs.t, cs.n, &rep, &e)) goto fail;
  have_rep = true;
  if (rep.n_layers <= 0) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "%s: no layer to quantize (no Conv, Gemm or MatMul)",
               path);
    goto fail;
  }

  /* Everything goes to temporary files first; renamed only when all are complete. */
  if (make_temp(out, t_out, sizeof t_out, &e)) goto fail;
  if (qc_onnx_save(g, t_out, &e)) goto fail;
  report_meta meta = {path, scheme, calib, method, samples, cs.n, pct, first_last_8};
  if (make_temp(report, t_rep, sizeof t_rep, &e)) goto fail;
  if (write_report(t_rep, report, &meta, &rep, &e)) goto fail;
  if (ir) {
    ir_text = qc_print(g, true);
    if (!ir_text) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory printing the integer IR");
      goto fail;
    }
    if (make_temp(ir, t_ir, sizeof t_ir, &e)) goto fail;
    if (write_text(t_ir, ir, ir_text, &e)) goto fail;
  }
  if (rename(t_out, out) != 0) {
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", out);
    goto fail;
  }
  t_out[0] = 0;
  if (rename(t_rep, report) != 0) {
    unlink(out); /* all or nothing */
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", report);
    goto fail;
  }
  t_rep[0] = 0;
  if (ir && rename(t_ir, ir) != 0) {
    unlink(out);
    unlink(report);
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", ir);
    goto fail;
  }
  t_ir[0] = 0;
  print_summary(&rep, out, report, ir);
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  if (t_out[0]) unlink(t_out);
  if (t_rep[0]) unlink(t_rep);
  if (t_ir[0]) unlink(t_ir);
  free(ir_text);
  if (have_rep) qc_quant_report_free(&rep);
  calib_free(&cs);
  qc_graph_free(g);
  return rc;
}
