/* quantc eval: top-1 accuracy of a classifier on Fashion-MNIST through the reference
   interpreter. Pixels become floats in [0,1], then (x - mean) / std. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "artifact.h"
#include "cli.h"
#include "data.h"
#include "interp.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_BATCH 100

static const char usage[] =
    "usage: quantc eval MODEL --data fashion-mnist [--data-dir DIR] [--split test|train]\n"
    "                         [--mean M] [--std S] [--limit N] [--batch B] [--threads N]\n"
    "                         [--progress | --no-progress]\n"
    "\n"
    "Top-1 accuracy of a classifier with one float32 input holding one image per batch row\n"
    "(e.g. [N,1,28,28] or [N,784]) and logits as its first output. Pixels are scaled to\n"
    "[0,1], then normalized as (x - M) / S. MODEL may be an artifact folder of 'quantc\n"
    "compile': its compiled code then runs through the runtime (its fixed batch; --threads\n"
    "default 1).\n"
    "\n"
    "options:\n"
    "  -d, --data NAME      data set: fashion-mnist (the only one so far)\n"
    "      --data-dir DIR   folder with t10k-images-idx3-ubyte[.gz] and\n"
    "                       t10k-labels-idx1-ubyte[.gz] (default " DEFAULT_DATA_DIR ")\n"
    "      --split SPLIT    test (t10k-*, the default) or train (train-*)\n"
    "      --mean M         normalization mean (default 0)\n"
    "      --std S          normalization standard deviation, > 0 (default 1)\n"
    "  -n, --limit N        evaluate the first N images only (N >= 1; more than the set holds\n"
    "                       means all of them)\n"
    "  -b, --batch B        images per run when the model's batch dim is symbolic, 1..65536\n"
    "                       (default 100); a fixed batch dim is used as it is\n"
    "  -t, --threads N      interpreter threads, 1..1024 (default: one per CPU)\n"
    "      --progress       show a progress bar on stderr even when it is not a terminal\n"
    "      --no-progress    never show it (default: shown when stderr is a terminal)\n"
    "      --no-fold        skip constant folding and dead-code removal\n"
    "  -h, --help           this text\n"
    "\n"
    "prints:  top-1: 91.23% (9123/10000)\n"
    "         time: 4.20 s, 2380.9 images/s (batch 100)\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid model or data file, 3 unsupported, 4 I/O,\n"
    "5 internal.\n";

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* DIR/BASE.gz if it exists, else DIR/BASE; I/O error naming both when neither does. */
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

static void progress(int64_t done, int64_t total, double t0)
{
  const int width = 30;
  int fill = total ? (int)(width * done / total) : width;
  double dt = now_s() - t0;
  fprintf(stderr, "\r[");
  for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
  fprintf(stderr, "] %lld/%lld %3d%% %.0f img/s", (long long)done, (long long)total,
          total ? (int)(100 * done / total) : 100, dt > 0 ? (double)done / dt : 0.0);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

int qc_cmd_eval(int argc, char **argv)
{
  enum { O_DIR = 256, O_SPLIT, O_MEAN, O_STD, O_PROGRESS, O_NO_PROGRESS, O_NO_FOLD };
  static const struct option longopts[] = {
      {"data", required_argument, NULL, 'd'},    {"data-dir", required_argument, NULL, O_DIR},
      {"split", required_argument, NULL, O_SPLIT}, {"mean", required_argument, NULL, O_MEAN},
      {"std", required_argument, NULL, O_STD},   {"limit", required_argument, NULL, 'n'},
      {"batch", required_argument, NULL, 'b'},   {"threads", required_argument, NULL, 't'},
      {"progress", no_argument, NULL, O_PROGRESS},
      {"no-progress", no_argument, NULL, O_NO_PROGRESS},
      {"no-fold", no_argument, NULL, O_NO_FOLD}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *data = NULL, *dir = DEFAULT_DATA_DIR, *split = "test";
  double mean = 0, std = 1;
  long limit = 0, batch = 0, threads = 0;
  int show = isatty(2) ? 1 : 0, c, rc;
  qc_cli_load_opts lo = {true, 0};
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hd:n:b:t:", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': data = optarg; break;
    case O_DIR: dir = optarg; break;
    case O_SPLIT: split = optarg; break;
    case O_MEAN:
      if (!qc_cli_parse_double("eval", "--mean", optarg, &mean, &rc)) return rc;
      break;
    case O_STD:
      if (!qc_cli_parse_double("eval", "--std", optarg, &std, &rc)) return rc;
      if (!(std > 0)) return qc_cli_usage_error("eval", "--std: %s must be > 0", optarg);
      break;
    case 'n':
      if (!qc_cli_parse_long("eval", "--limit", optarg, 1, 1000000000L, &limit, &rc)) return rc;
      break;
    case 'b':
      if (!qc_cli_parse_long("eval", "--batch", optarg, 1, 65536, &batch, &rc)) return rc;
      break;
    case 't':
      if (!qc_cli_parse_long("eval", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case O_PROGRESS: show = 1; break;
    case O_NO_PROGRESS: show = 0; break;
    case O_NO_FOLD: lo.optimize = false; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("eval", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("eval", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("eval", "unexpected argument '%s'", argv[optind + 1]);
  if (!data) return qc_cli_usage_error("eval", "missing --data (known: fashion-mnist)");
  if (strcmp(data, "fashion-mnist") != 0)
    return qc_cli_usage_error("eval", "--data: unknown data set '%s' (known: fashion-mnist)",
                              data);
  const char *prefix = strcmp(split, "test") == 0    ? "t10k"
                       : strcmp(split, "train") == 0 ? "train"
                                                     : NULL;
  if (!prefix)
    return qc_cli_usage_error("eval", "--split: '%s' is not test or train", split);
  const char *path = argv[optind];
  lo.threads = (int)threads;

  qc_err e = {0};
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_tensor images = {0}, labels = {0};
  float *x = NULL;
  rc = QC_EXIT_OK;
  char img_path[4096], lab_path[4096], base[64];
  snprintf(base, sizeof base, "%s-images-idx3-ubyte", prefix);
  if (find_file(dir, base, img_path, sizeof img_path, &e)) goto fail;
  snprintf(base, sizeof base, "%s-labels-idx1-ubyte", prefix);
  if (find_file(dir, base, lab_path, sizeof lab_path, &e)) goto fail;
  /* A compiled artifact (quantc compile -o DIR) runs through the runtime. */
  if (qc_cli_is_artifact(path))
    return qc_cli_eval_artifact(path, img_path, lab_path, mean, std, limit, (int)threads);
  if (qc_cli_load_model(path, &lo, &g, &e)) goto fail;

  /* The model: one f32 input [batch, per-image dims...], logits as output 0. */
  if (g->n_inputs != 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "eval needs a model with one input; this one has %d",
               g->n_inputs);
    goto fail;
  }
  const qc_value *in = &g->values[g->inputs[0]];
  char sh[256];
  qc_cli_shape_str(g, in->rank, in->dims, sh, sizeof sh);
  if (in->dtype != QC_DT_F32) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "eval feeds float32 images; model input '%s' is %s %s",
               in->name, qc_dtype_name(in->dtype), sh);
    goto fail;
  }
  if (in->rank < 2) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED,
               "model input '%s' %s has no batch dim (eval needs rank >= 2: [batch, ...])",
               in->name, sh);
    goto fail;
  }
  int64_t per_image = 1;
  for (int i = 1; i < in->rank; i++) {
    if (in->dims[i] < 0) {
      qc_err_set(&e, QC_ERR_UNSUPPORTED,
                 "model input '%s' %s: eval needs every dim but the batch dim fixed", in->name,
                 sh);
      goto fail;
    }
    per_image *= in->dims[i];
    if (per_image > QC_MAX_ELEMS) break;
  }
  int64_t B = batch ? batch : DEFAULT_BATCH;
  if (in->dims[0] >= 0) {
    if (batch && batch != in->dims[0]) {
      rc = qc_cli_usage_error("eval", "--batch %ld, but the model's batch dim is fixed at %lld",
                              batch, (long long)in->dims[0]);
      goto done;
    }
    B = in->dims[0];
    if (B == 0) {
      qc_err_set(&e, QC_ERR_UNSUPPORTED, "model input '%s' %s has batch dim 0", in->name, sh);
      goto fail;
    }
  }

  /* The data: u8 images [N, 28, 28] and u8 labels [N]. */
  if (qc_idx_read(img_path, &images, &e) || qc_idx_read(lab_path, &labels, &e)) goto fail;
  if (images.dtype != QC_DT_U8 || images.rank < 2) {
    qc_err_set(&e, QC_ERR_FORMAT, "%s: expected unsigned byte images [N, rows, cols], got %s "
               "rank %d", img_path, qc_dtype_name(images.dtype), images.rank);
    goto fail;
  }
  if (labels.dtype != QC_DT_U8 || labels.rank != 1) {
    qc_err_set(&e, QC_ERR_FORMAT, "%s: expected unsigned byte labels [N], got %s rank %d",
               lab_path, qc_dtype_name(labels.dtype), labels.rank);
    goto fail;
  }
  int64_t n_img = images.dims[0];
  if (labels.dims[0] != n_img) {
    qc_err_set(&e, QC_ERR_FORMAT, "%s holds %lld labels but %s holds %lld images", lab_path,
               (long long)labels.dims[0], img_path, (long long)n_img);
    goto fail;
  }
  int64_t img_elems = qc_tensor_elems(&images) / (n_img ? n_img : 1);
  if (img_elems != per_image) {
    qc_err_set(&e, QC_ERR_INVALID,
               "model input '%s' %s takes %lld values per image; the images hold %lld (%lldx%lld)",
               in->name, sh, (long long)per_image, (long long)img_elems,
               (long long)images.dims[1], (long long)(images.rank > 2 ? images.dims[2] : 1));
    goto fail;
  }
  if (n_img == 0) {
    qc_err_set(&e, QC_ERR_FORMAT, "%s holds no images", img_path);
    goto fail;
  }
  int64_t total = limit && limit < n_img ? limit : n_img;

  if (qc_interp_new(g, lo.threads, &it, &e)) goto fail;
  x = malloc((size_t)(B * per_image) * sizeof *x);
  if (!x) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory for a batch of %lld images", (long long)B);
    goto fail;
  }
  qc_tensor t = {QC_DT_F32, in->rank, {0}, x};
  memcpy(t.dims, in->dims, sizeof t.dims);
  t.dims[0] = B;
  const uint8_t *px = images.data, *lab = labels.data;
  /* Exactly torchvision's ToTensor + Normalize in float32: (p / 255 - mean) / std. */
  float lut[256];
  for (int p = 0; p < 256; p++) lut[p] = ((float)p / 255.0f - (float)mean) / (float)std;
  int64_t correct = 0, classes = -1;
  double t0 = now_s();
  for (int64_t start = 0; start < total; start += B) {
    int64_t m = total - start < B ? total - start : B;
    /* A fixed batch dim takes B images; the tail is padded with zeros and ignored. */
    for (int64_t i = 0; i < m * per_image; i++)
      x[i] = lut[px[start * per_image + i]];
    for (int64_t i = m * per_image; i < B * per_image; i++) x[i] = 0;
    if (in->dims[0] < 0) t.dims[0] = m;
    if (qc_interp_run(it, &t, 1, &e)) goto fail;
    const qc_tensor *y = qc_interp_output(it, 0);
    int64_t ye = y ? qc_tensor_elems(y) : -1;
    if (!y || y->dtype != QC_DT_F32 || y->rank < 1 || y->dims[0] != t.dims[0] || ye <= 0) {
      char ysh[256] = "?";
      if (y) qc_cli_shape_str(g, y->rank, y->dims, ysh, sizeof ysh);
      qc_err_set(&e, QC_ERR_UNSUPPORTED,
                 "eval needs float32 logits [batch, classes] as output 0; '%s' is %s %s",
                 g->values[g->outputs[0]].name, y ? qc_dtype_name(y->dtype) : "?", ysh);
      goto fail;
    }
    classes = ye / t.dims[0];
    const float *logits = y->data;
    for (int64_t i = 0; i < m; i++) {
      int64_t label = lab[start + i];
      if (label >= classes) {
        qc_err_set(&e, QC_ERR_INVALID,
                   "%s: label %lld of image %lld (byte %lld) is outside the model's %lld "
                   "classes",
                   lab_path, (long long)label, (long long)(start + i), (long long)(8 + start + i),
                   (long long)classes);
        goto fail;
      }
      /* argmax, first maximum wins */
      const float *r = logits + i * classes;
      int64_t best = 0;
      for (int64_t k = 1; k < classes; k++)
        if (r[k] > r[best]) best = k;
      correct += best == label;
    }
    if (show) progress(start + m, total, t0);
  }
  double dt = now_s() - t0;
  printf("top-1: %.2f%% (%lld/%lld)\n", 100.0 * (double)correct / (double)total,
         (long long)correct, (long long)total);
  printf("time: %.2f s, %.1f images/s (batch %lld)\n", dt, dt > 0 ? (double)total / dt : 0.0,
         (long long)B);
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  free(x);
  free(images.data);
  free(labels.data);
  if (it) qc_interp_free(it);
  qc_graph_free(g);
  return rc;
}
