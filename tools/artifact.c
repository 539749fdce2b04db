/* Compiled artifacts from the command line: loading with CLI errors, dtypes, `run DIR`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "artifact.h"
#include "cli.h"
#include "data.h"

const char *qc_cli_host_target(void)
{
#if defined(__x86_64__)
  return "x86-64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool qc_cli_is_artifact(const char *path)
{
  if (!is_dir(path)) return false;
  char buf[4200];
  struct stat st;
  snprintf(buf, sizeof buf, "%s/weights.bin", path);
  if (stat(buf, &st) == 0) return true;
  snprintf(buf, sizeof buf, "%s/manifest.json", path);
  return stat(buf, &st) == 0;
}

int qc_cli_rt_exit_code(qcrt_status s)
{
  switch (s) {
  case QCRT_OK: return QC_EXIT_OK;
  case QCRT_ERR_USAGE: return QC_EXIT_USAGE;
  case QCRT_ERR_IO: return QC_EXIT_IO;
  case QCRT_ERR_FORMAT: return QC_EXIT_INPUT;
  case QCRT_ERR_NOMEM:
  case QCRT_ERR_THREAD: return QC_EXIT_UNSUPPORTED; /* resources: too large for this machine */
  }
  return QC_EXIT_INTERNAL;
}

int qc_cli_rt_fail(const qcrt_err *err)
{
  fprintf(stderr, "quantc: error: %s\n", err->msg[0] ? err->msg : qcrt_status_name(err->code));
  return qc_cli_rt_exit_code(err->code);
}

/* The target named in weights.bin's header, "" when it cannot be read (the runtime then
   reports what is wrong with the file). */
static void blob_target(const char *dir, char *out, size_t cap)
{
  char path[4200];
  qca_header h;
  out[0] = 0;
  snprintf(path, sizeof path, "%s/weights.bin", dir);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t n = fread(&h, 1, sizeof h, f);
  fclose(f);
  if (n != sizeof h || memcmp(h.magic, QCA_MAGIC, sizeof h.magic) != 0) return;
  if (!memchr(h.target, 0, sizeof h.target)) return;
  snprintf(out, cap, "%s", h.target);
}

int qc_cli_artifact_load(const char *dir, int threads, qcrt_model **m)
{
  char target[32];
  *m = NULL;
  blob_target(dir, target, sizeof target);
  const char *host = qc_cli_host_target();
  if (target[0] && strcmp(target, host) != 0 &&
      (strcmp(target, "aarch64") == 0 || strcmp(target, "x86-64") == 0)) {
    fprintf(stderr,
            "quantc: error: %s: the artifact is for %s; this host is %s. Link model.o with the "
            "runtime into a program for %s (%s) and run that, e.g. under qemu-%s (docs/cli.md, "
            "'Running an aarch64 artifact')\n",
            dir, target, host, target,
            strcmp(target, "aarch64") == 0 ? "aarch64-linux-gnu-gcc -static" : "cc",
            strcmp(target, "aarch64") == 0 ? "aarch64" : "x86_64");
    return QC_EXIT_UNSUPPORTED;
  }
  qcrt_err err = {0};
  qcrt_status st = qcrt_load(dir, threads, m, &err);
  if (st != QCRT_OK) {
    *m = NULL;
    return qc_cli_rt_fail(&err);
  }
  return QC_EXIT_OK;
}

qc_dtype qc_cli_qca_to_dtype(uint32_t qca)
{
  switch (qca) {
  case QCA_F32: return QC_DT_F32;
  case QCA_U8: return QC_DT_U8;
  case QCA_I8: return QC_DT_I8;
  case QCA_I16: return QC_DT_I16;
  case QCA_I32: return QC_DT_I32;
  case QCA_I64: return QC_DT_I64;
  case QCA_U16: return QC_DT_U16;
  default: return QC_DT_UNDEF;
  }
}

uint32_t qc_cli_dtype_to_qca(qc_dtype dt)
{
  for (uint32_t k = QCA_F32; k <= QCA_U16; k++)
    if (qc_cli_qca_to_dtype(k) == dt) return k;
  return 0;
}

void qc_cli_rt_shape_str(const qcrt_tensor_info *t, char *buf, size_t cap)
{
  size_t n = 0;
  if (!cap) return;
  n += (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->rank && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Output file name for a folder: the value name with anything unusual replaced by '_'. */
static void out_name(const char *dir, const char *name, int index, char *buf, size_t cap)
{
  char clean[200];
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < sizeof clean; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    clean[k++] = ok ? c : '_';
  }
  clean[k] = 0;
  if (k == 0 || clean[0] == '.') snprintf(clean, sizeof clean, "output%d", index);
  size_t dl = strlen(dir);
  snprintf(buf, cap, "%s%s%s.npy", dir, dl && dir[dl - 1] == '/' ? "" : "/", clean);
}

/* The NPY data t must be exactly input info (dtype and shape: an artifact has fixed dims). */
static qc_status check_input(const qcrt_tensor_info *in, const char *file, const qc_tensor *t,
                             qc_err *e)
{
  char want[256], got[256];
  qc_dtype dt = qc_cli_qca_to_dtype(in->dtype);
  qc_cli_rt_shape_str(in, want, sizeof want);
  qcrt_tensor_info ti = {0};
  ti.rank = t->rank;
  for (int i = 0; i < t->rank && i < QCA_MAX_RANK; i++) ti.dims[i] = t->dims[i];
  qc_cli_rt_shape_str(&ti, got, sizeof got);
  bool same = t->dtype == dt && t->rank == in->rank;
  for (int i = 0; same && i < t->rank; i++) same = t->dims[i] == in->dims[i];
  if (!same)
    return qc_err_set(e, QC_ERR_INVALID,
                      "input '%s' (%s): expected %s %s (the artifact's shapes are fixed), the "
                      "file holds %s %s",
                      in->name, file, qc_dtype_name(dt), want, qc_dtype_name(t->dtype), got);
  return QC_OK;
}

int qc_cli_run_artifact(const char *dir, const char *const *in_args, int n_in,
                        const char *const *out_args, int n_out, int threads)
{
  qcrt_model *m = NULL;
  int rc = qc_cli_artifact_load(dir, threads > 0 ? threads : 1, &m);
  if (rc) return rc;
  int ni = qcrt_num_inputs(m), no = qcrt_num_outputs(m);
  qc_err e = {0};
  qcrt_err re = {0};
  qc_tensor *in_t = calloc((size_t)ni + 1, sizeof *in_t);
  const char **files = calloc((size_t)ni + 1, sizeof *files);
  qcrt_tensor_info *ii = calloc((size_t)ni + 1, sizeof *ii), *oi = calloc((size_t)no + 1, sizeof *oi);
  const void **ip = calloc((size_t)ni + 1, sizeof *ip);
  void **op = calloc((size_t)no + 1, sizeof *op);
  bool *named = calloc((size_t)n_in + 1, sizeof *named);
  if (!in_t || !files || !ii || !oi || !ip || !op || !named) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int k = 0; k < ni; k++)
    if (qcrt_input_info(m, k, &ii[k], &re)) goto rt_fail;
  for (int k = 0; k < no; k++)
    if (qcrt_output_info(m, k, &oi[k], &re)) goto rt_fail;
  /* NAME=FILE first, then the rest in order. */
  for (int a = 0; a < n_in; a++) {
    const char *eq = strchr(in_args[a], '=');
    if (!eq) continue;
    for (int k = 0; k < ni; k++) {
      const char *name = ii[k].name;
      if (strlen(name) == (size_t)(eq - in_args[a]) &&
          strncmp(name, in_args[a], (size_t)(eq - in_args[a])) == 0) {
        if (files[k]) {
          rc = qc_cli_usage_error("run", "input '%s' given twice", name);
          goto done;
        }
        if (!eq[1]) {
          rc = qc_cli_usage_error("run", "--input %s: missing file name", in_args[a]);
          goto done;
        }
        files[k] = eq + 1;
        named[a] = true;
      }
    }
  }
  for (int a = 0, k = 0; a < n_in; a++) {
    if (named[a]) continue;
    while (k < ni && files[k]) k++;
    if (k == ni) {
      rc = qc_cli_usage_error("run", "the model has %d input%s but %d --input given", ni,
                              ni == 1 ? "" : "s", n_in);
      goto done;
    }
    files[k] = in_args[a];
  }
  for (int k = 0; k < ni; k++)
    if (!files[k]) {
      char sh[256];
      qc_cli_rt_shape_str(&ii[k], sh, sizeof sh);
      rc = qc_cli_usage_error("run", "missing --input for model input '%s' (%s %s)", ii[k].name,
                              qc_dtype_name(qc_cli_qca_to_dtype(ii[k].dtype)), sh);
      goto done;
    }
  bool out_dir = false;
  if (n_out == 1 && (is_dir(out_args[0]) || out_args[0][strlen(out_args[0]) - 1] == '/'))
    out_dir = true;
  else if (n_out > 0 && n_out != no) {
    rc = qc_cli_usage_error("run",
                            "the model has %d output%s but %d --output given (give one per "
                            "output, or a folder)",
                            no, no == 1 ? "" : "s", n_out);
    goto done;
  }
  for (int k = 0; k < ni; k++) {
    if (qc_npy_read(files[k], &in_t[k], &e)) goto fail;
    if (check_input(&ii[k], files[k], &in_t[k], &e)) goto fail;
    ip[k] = in_t[k].data;
  }
  for (int k = 0; k < no; k++) {
    op[k] = malloc(oi[k].bytes ? oi[k].bytes : 1);
    if (!op[k]) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory for output '%s'", oi[k].name);
      goto fail;
    }
  }
  if (qcrt_run(m, ip, (void *const *)op, &re)) goto rt_fail;
  if (out_dir && !is_dir(out_args[0]) && mkdir(out_args[0], 0777) != 0) {
    qc_err_set(&e, QC_ERR_IO, "%s: cannot create folder: %s", out_args[0], strerror(errno));
    goto fail;
  }
  for (int k = 0; k < no; k++) {
    qc_tensor t = {qc_cli_qca_to_dtype(oi[k].dtype), oi[k].rank, {0}, op[k]};
    for (int i = 0; i < oi[k].rank; i++) t.dims[i] = oi[k].dims[i];
    if (n_out == 0) {
      char sh[256];
      qc_cli_rt_shape_str(&oi[k], sh, sizeof sh);
      printf("%s: %s %s", oi[k].name, qc_dtype_name(t.dtype), sh);
      int64_t n = qc_tensor_elems(&t), show = n < 16 ? n : 16;
      if (show > 0) printf(" =");
      for (int64_t i = 0; i < show; i++) {
        switch (t.dtype) {
        case QC_DT_F32: printf(" %.6g", (double)((const float *)t.data)[i]); break;
        case QC_DT_I32: printf(" %d", ((const int32_t *)t.data)[i]); break;
        case QC_DT_I16: printf(" %d", ((const int16_t *)t.data)[i]); break;
        case QC_DT_I8: printf(" %d", ((const int8_t *)t.data)[i]); break;
        case QC_DT_U8: printf(" %u", ((const uint8_t *)t.data)[i]); break;
        case QC_DT_I64: printf(" %lld", (long long)((const int64_t *)t.data)[i]); break;
        default: i = show; printf(" ..."); break;
        }
      }
      printf("%s\n", n > show ? " ..." : "");
      continue;
    }
    char buf[4096];
    const char *dest = out_args[k < n_out ? k : 0];
    if (out_dir) {
      out_name(out_args[0], oi[k].name, k, buf, sizeof buf);
      dest = buf;
    }
    if (qc_npy_write(dest, &t, &e)) goto fail;
  }
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  rc = QC_EXIT_OK;
  goto done;
rt_fail:
  rc = qc_cli_rt_fail(&re);
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  for (int k = 0; in_t && k < ni; k++) free(in_t[k].data);
  for (int k = 0; op && k < no; k++) free(op[k]);
  free(in_t);
  free((void *)files);
  free(ii);
  free(oi);
  free((void *)ip);
  free((void *)op);
  free(named);
  qcrt_free(m);
  return rc;
}

/* ---- eval DIR ----------------------------------------------------------------------------- */

int qc_cli_eval_artifact(const char *dir, const char *img_path, const char *lab_path, double mean,
                         double std, long limit, int threads)
{
  qcrt_model *m = NULL;
  int rc = qc_cli_artifact_load(dir, threads > 0 ? threads : 1, &m);
  if (rc) return rc;
  qc_err e = {0};
  qcrt_err re = {0};
  qc_tensor images = {0}, labels = {0};
  float *x = NULL, *y = NULL;
  qcrt_tensor_info in, out;
  if (qcrt_num_inputs(m) != 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "eval needs a model with one input; %s has %d", dir,
               qcrt_num_inputs(m));
    goto fail;
  }
  if (qcrt_input_info(m, 0, &in, &re) || qcrt_output_info(m, 0, &out, &re)) goto rt_fail;
  char sh[256];
  qc_cli_rt_shape_str(&in, sh, sizeof sh);
  if (in.dtype != QCA_F32 || in.rank < 2 || in.dims[0] < 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "eval feeds float32 images [batch, ...]; input '%s' is %s %s",
               in.name, qcrt_dtype_name(in.dtype), sh);
    goto fail;
  }
  int64_t B = in.dims[0], per = (int64_t)(in.bytes / 4) / B;
  if (out.dtype != QCA_F32 || out.rank < 1 || out.dims[0] != B) {
    qc_cli_rt_shape_str(&out, sh, sizeof sh);
    qc_err_set(&e, QC_ERR_UNSUPPORTED,
               "eval needs float32 logits [batch, classes] as output 0; '%s' is %s %s", out.name,
               qcrt_dtype_name(out.dtype), sh);
    goto fail;
  }
  int64_t classes = (int64_t)(out.bytes / 4) / B;
  if (qc_idx_read(img_path, &images, &e) || qc_idx_read(lab_path, &labels, &e)) goto fail;
  int64_t n_img = images.rank >= 1 ? images.dims[0] : 0;
  if (images.dtype != QC_DT_U8 || images.rank < 2 || labels.dtype != QC_DT_U8 ||
      labels.rank != 1 || labels.dims[0] != n_img || n_img == 0) {
    qc_err_set(&e, QC_ERR_FORMAT, "%s / %s: expected u8 images [N, rows, cols] and N u8 labels",
               img_path, lab_path);
    goto fail;
  }
  if (qc_tensor_elems(&images) / n_img != per) {
    qc_err_set(&e, QC_ERR_INVALID, "input '%s' takes %lld values per image; the images hold %lld",
               in.name, (long long)per, (long long)(qc_tensor_elems(&images) / n_img));
    goto fail;
  }
  int64_t total = limit && limit < n_img ? limit : n_img;
  x = malloc(in.bytes);
  y = malloc(out.bytes);
  if (!x || !y) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  float lut[256];
  for (int p = 0; p < 256; p++) lut[p] = ((float)p / 255.0f - (float)mean) / (float)std;
  const uint8_t *px = images.data, *lab = labels.data;
  int64_t correct = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int64_t start = 0; start < total; start += B) {
    int64_t mrows = total - start < B ? total - start : B;
    for (int64_t i = 0; i < mrows * per; i++) x[i] = lut[px[start * per + i]];
    for (int64_t i = mrows * per; i < B * per; i++) x[i] = 0;
    const void *ip[1] = {x};
    void *op[1] = {y};
    if (qcrt_run(m, ip, op, &re)) goto rt_fail;
    for (int64_t i = 0; i < mrows; i++) {
      const float *r = y + i * classes;
      int64_t best = 0;
      for (int64_t k = 1; k < classes; k++)
        if (r[k] > r[best]) best = k;
      correct += best == lab[start + i];
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("top-1: %.2f%% (%lld/%lld)\n", 100.0 * (double)correct / (double)total,
         (long long)correct, (long long)total);
  printf("time: %.2f s, %.1f images/s (batch %lld, compiled %s)\n", dt,
         dt > 0 ? (double)total / dt : 0.0, (long long)B, qcrt_target(m));
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  rc = QC_EXIT_OK;
  goto done;
rt_fail:
  rc = qc_cli_rt_fail(&re);
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  free(x);
  free(y);
  free(images.data);
  free(labels.data);
  qcrt_free(m);
  return rc;
}
