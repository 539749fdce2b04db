/* quantc finetune: trains a model's f32 constants with reverse-mode autodiff (interp/autodiff.h),
   an optimizer and schedule (interp/optim.h) on a data set (interp/dataset.h). Checkpoints are
   the model as ONNX plus a state file, both written atomically (temp + fsync + rename); a resume
   replays the loader to the same batch so it continues exactly like an uninterrupted run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "autodiff.h"
#include "cli.h"
#include "dataset.h"
#include "interp.h"
#include "onnx.h"
#include "optim.h"
#include "quantizers.h"

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define CKPT_MAGIC "QCFTCKPT"
#define CKPT_VERSION 1u

static const char usage[] =
    "usage: quantc finetune MODEL --data fashion-mnist|DIR|X.npy[,Y.npy] -o OUT.onnx\n"
    "                         [--epochs E] [--lr LR] [--batch B] [--optimizer sgd|adam|adamw]\n"
    "                         [--momentum M] [--nesterov] [--weight-decay WD]\n"
    "                         [--schedule constant|step|cosine|onecycle] [--clip C]\n"
    "                         [--teacher MODEL [--temperature T] [--alpha A]]\n"
    "                         [--mean M] [--std S] [--augment] [--seed S] [--threads N]\n"
    "                         [--limit N] [--max-steps N] [--log LOG.csv]\n"
    "                         [--checkpoint CKPT] [--resume CKPT] [--progress|--no-progress]\n"
    "                         [--qat w8a8|w4a8|w4a4|wNaM|CONFIG [--freeze-bn [EPOCH]]\n"
    "                          [--act-momentum M] [--calib-n N] [--calib-method M]\n"
    "                          [--report REPORT.json] [--ir OUT.qc]]\n"
    "\n"
    "Fine-tunes every float32 constant feeding a differentiable input (weights, biases, BN\n"
    "scale/bias) with cross-entropy on the labels; with --teacher the loss is\n"
    "A * T^2 KL(teacher/T || student/T) + (1 - A) * CE. BN runs in training mode. After each\n"
    "epoch the top-1 accuracy on the test split (fashion-mnist: t10k; DIR: DIR/val or\n"
    "DIR/test when DIR/train exists; NPY: none) is printed.\n"
    "\n"
    "options:\n"
    "  -d, --data D         fashion-mnist, an image folder, or X.npy[,Y.npy]\n"
    "  -o, --output OUT     the trained model (ONNX), written atomically at the end\n"
    "  -e, --epochs E       1..100000 (default 1)\n"
    "      --lr LR          (peak) learning rate, > 0 (default 0.01)\n"
    "  -b, --batch B        1..65536 (default 32)\n"
    "      --optimizer O    sgd (default), adam or adamw\n"
    "      --momentum M     SGD momentum, 0 <= M < 1 (default 0.9)\n"
    "      --nesterov       Nesterov momentum (SGD)\n"
    "      --weight-decay W >= 0 (default 0; adamw 0.01)\n"
    "      --schedule S     constant (default), step (x0.1 every third of the run), cosine,\n"
    "                       onecycle\n"
    "      --clip C         clip the gradients' global L2 norm to C > 0\n"
    "      --teacher MODEL  distil from MODEL's logits; --temperature T > 0 (default 4),\n"
    "                       --alpha A in [0,1] (default 0.5)\n"
    "      --mean M, --std S  normalization (x - M) / S of pixels in [0,1] (default 0, 1)\n"
    "      --augment        random horizontal flip\n"
    "      --seed S         shuffle/augmentation seed, 0..2^63-1 (default 0)\n"
    "  -t, --threads N      interpreter threads, 1..1024 (default: one per CPU)\n"
    "  -n, --limit N        N shuffled training images per epoch; the first N test images\n"
    "      --max-steps N    stop after N optimizer steps in all\n"
    "      --log LOG.csv    one row per step: epoch,step,lr,loss,train_acc,test_acc,seconds\n"
    "      --checkpoint C   write C (ONNX) and C.state after each epoch and on SIGINT\n"
    "      --resume C       continue exactly from checkpoint C\n"
    "      --progress       progress on stderr even when it is not a terminal\n"
    "      --no-progress    never show it\n"
    "      --qat SCHEME     quantization-aware training for the integer scheme (HAWQ-V3):\n"
    "                       BN folded, fake-quantized weights (per channel) and activations\n"
    "                       (EMA ranges); OUT is the exact integer model (as `quantize`)\n"
    "                       and REPORT its JSON report. SCHEME: wNaM bits, or a per-layer\n"
    "                       CONFIG file (docs/quantize.md) over w8a8 defaults\n"
    "      --freeze-bn [E]  BN statistics frozen from epoch E; QAT folds BN before training,\n"
    "                       so only E = 0 (the default) is supported\n"
    "      --act-momentum M EMA momentum of the activation ranges, 0 <= M < 1 (default 0.99)\n"
    "      --calib-n N      training images for the initial ranges, 1..60000 (default 1024)\n"
    "      --calib-method M initial ranges: minmax, percentile (99.99, default) or mse\n"
    "      --report FILE    QAT report (default: OUT with .json for .onnx)\n"
    "      --ir FILE        also the exact integer model as IR text (`eval` reads .qc)\n"
    "  -h, --help           this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid model, data or checkpoint, 3 unsupported, 4 I/O,\n"
    "5 internal, 130 interrupted (after writing the checkpoint).\n";

static volatile sig_atomic_t g_stop; /* set by SIGINT; read at step boundaries */
static void on_sigint(int s)
{
  (void)s;
  g_stop = 1;
}

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}

/* Writes buf to path via path.tmp, fsync and rename: readers see the old file or the new one. */
static qc_status write_atomic(const char *path, const void *buf, size_t n, qc_err *e)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return qc_err_set(e, QC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  const uint8_t *p = buf;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int er = errno;
      close(fd);
      unlink(tmp);
      return qc_err_set(e, QC_ERR_IO, "%s: cannot write: %s", tmp, strerror(er));
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp);
    return qc_err_set(e, QC_ERR_IO, "%s: cannot sync: %s", tmp, strerror(errno));
  }
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return qc_err_set(e, QC_ERR_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
  }
  return QC_OK;
}

static qc_status read_file(const char *path, uint8_t **buf, size_t *n, qc_err *e)
{
  FILE *f = fopen(path, "rb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, len = 0;
  uint8_t *b = malloc(cap);
  while (b) {
    len += fread(b + len, 1, cap - len, f);
    if (len < cap) break;
    uint8_t *nb = realloc(b, cap *= 2);
    if (!nb) {
      free(b);
      b = NULL;
    } else {
      b = nb;
    }
  }
  bool err = ferror(f);
  fclose(f);
  if (!b) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", path);
  if (err) {
    free(b);
    return qc_err_set(e, QC_ERR_IO, "%s: read error", path);
  }
  *buf = b;
  *n = len;
  return QC_OK;
}

/* Training position and running sums, saved in the state file. */
typedef struct {
  int64_t epoch, step_in_epoch, global_step;
  double loss_sum;
  int64_t correct, seen;
} train_pos;

typedef struct {
  uint64_t seed;
  int64_t batch, limit;
  uint32_t opt_kind;
} run_key; /* options a resume must repeat */

/* State file: magic, u32 version, run_key, train_pos, u32 FNV-1a of the model file, u64
   optimizer state length, the state, u32 FNV-1a of everything before. */
static qc_status save_ckpt(const char *path, const qc_graph *g, const qc_optim *o,
                           const run_key *k, const train_pos *p, qc_err *e)
{
  void *model = NULL;
  size_t mlen = 0;
  qc_status st = qc_onnx_save_buffer(g, &model, &mlen, e);
  if (st) return st;
  size_t olen = qc_optim_state_size(o);
  size_t n = 8 + 4 + sizeof *k + sizeof *p + 4 + 8 + olen + 4;
  uint8_t *b = calloc(1, n);
  if (!b) {
    free(model);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory for a checkpoint");
  }
  size_t off = 0;
  uint32_t ver = CKPT_VERSION, mh = fnv1a(2166136261u, model, mlen);
  uint64_t ol = olen;
  memcpy(b + off, CKPT_MAGIC, 8), off += 8;
  memcpy(b + off, &ver, 4), off += 4;
  memcpy(b + off, k, sizeof *k), off += sizeof *k;
  memcpy(b + off, p, sizeof *p), off += sizeof *p;
  memcpy(b + off, &mh, 4), off += 4;
  memcpy(b + off, &ol, 8), off += 8;
  if (!(st = qc_optim_state_save(o, b + off, olen, e))) {
    off += olen;
    uint32_t h = fnv1a(2166136261u, b, off);
    memcpy(b + off, &h, 4);
    char spath[4200];
    snprintf(spath, sizeof spath, "%s.state", path);
    /* The model first: a crash between the two leaves a state whose model hash mismatches,
       which --resume reports instead of silently mixing. */
    if (!(st = write_atomic(path, model, mlen, e))) st = write_atomic(spath, b, n, e);
  }
  free(b);
  free(model);
  return st;
}

/* Reads and checks CKPT.state; the model hash must match CKPT. Fills k, p and the optimizer
   state bytes (*ost, malloc'd). */
static qc_status load_ckpt_state(const char *path, run_key *k, train_pos *p, uint8_t **ost,
                                 size_t *olen, qc_err *e)
{
  char spath[4200];
  snprintf(spath, sizeof spath, "%s.state", path);
  uint8_t *b = NULL, *m = NULL;
  size_t n = 0, mlen = 0;
  qc_status st = read_file(spath, &b, &n, e);
  if (st) return st;
  if ((st = read_file(path, &m, &mlen, e))) goto out;
  size_t hdr = 8 + 4 + sizeof *k + sizeof *p + 4 + 8;
  uint32_t ver, mh, h;
  uint64_t ol;
  if (n < hdr + 4 || memcmp(b, CKPT_MAGIC, 8) != 0) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: not a quantc finetune checkpoint state", spath);
    goto out;
  }
  memcpy(&h, b + n - 4, 4);
  if (fnv1a(2166136261u, b, n - 4) != h) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: checksum mismatch (corrupt checkpoint)", spath);
    goto out;
  }
  memcpy(&ver, b + 8, 4);
  if (ver != CKPT_VERSION) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: checkpoint version %u, expected %u", spath, ver,
                    CKPT_VERSION);
    goto out;
  }
  memcpy(k, b + 12, sizeof *k);
  memcpy(p, b + 12 + sizeof *k, sizeof *p);
  memcpy(&mh, b + 12 + sizeof *k + sizeof *p, 4);
  memcpy(&ol, b + 16 + sizeof *k + sizeof *p, 8);
  if (ol != n - hdr - 4) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s: optimizer state length %llu does not fit the file",
                    spath, (unsigned long long)ol);
    goto out;
  }
  if (fnv1a(2166136261u, m, mlen) != mh) {
    st = qc_err_set(e, QC_ERR_FORMAT, "%s does not match the model in %s (corrupt checkpoint)",
                    spath, path);
    goto out;
  }
  *ost = malloc(ol ? ol : 1);
  if (!*ost) {
    st = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
    goto out;
  }
  memcpy(*ost, b + hdr, ol);
  *olen = ol;
out:
  free(b);
  free(m);
  return st;
}

static bool ends_with(const char *s, const char *suf)
{
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Opens the train and (when there is one) test data sets named by --data. */
static qc_status open_data(const char *data, const int64_t chw[3], qc_dataset **tr,
                           qc_dataset **te, qc_err *e)
{
  *tr = *te = NULL;
  if (strcmp(data, "fashion-mnist") == 0) {
    if (!(*tr = qc_dataset_open_idx(FMNIST_DIR, true, e))) return e->code;
    if (!(*te = qc_dataset_open_idx(FMNIST_DIR, false, e))) return e->code;
    return QC_OK;
  }
  if (ends_with(data, ".npy") || strstr(data, ".npy,")) {
    char x[4096];
    snprintf(x, sizeof x, "%s", data);
    char *comma = strchr(x, ',');
    if (comma) *comma = 0;
    if (!(*tr = qc_dataset_open_npy(x, comma ? comma + 1 : NULL, e))) return e->code;
    return QC_OK;
  }
  if (!is_dir(data)) return qc_err_set(e, QC_ERR_IO, "%s: data not found", data);
  qc_folder_opts fo = {(int)chw[0], (int)chw[1], (int)chw[2], 0};
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/train", data);
  if (!is_dir(sub)) {
    if (!(*tr = qc_dataset_open_folder(data, &fo, e))) return e->code;
    return QC_OK;
  }
  if (!(*tr = qc_dataset_open_folder(sub, &fo, e))) return e->code;
  snprintf(sub, sizeof sub, "%s/val", data);
  if (!is_dir(sub)) snprintf(sub, sizeof sub, "%s/test", data);
  if (is_dir(sub) && !(*te = qc_dataset_open_folder(sub, &fo, e))) return e->code;
  return QC_OK;
}

static int64_t argmax_correct(const qc_tensor *y, const qc_tensor *lab, int64_t n)
{
  int64_t C = qc_tensor_elems(y) / (n ? n : 1), c = 0;
  const float *l = y->data;
  const int64_t *t = lab->data;
  for (int64_t i = 0; i < n; i++) {
    int64_t best = 0;
    for (int64_t k = 1; k < C; k++)
      if (l[i * C + k] > l[i * C + best]) best = k;
    c += best == t[i];
  }
  return c;
}

static int parse_choice(const char *cmd, const char *opt, const char *s, const char *const *names,
                        int n, int *out)
{
  for (int i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return -1;
    }
  char known[256] = "";
  for (int i = 0; i < n; i++) {
    strcat(known, i ? ", " : "");
    strcat(known, names[i]);
  }
  return qc_cli_usage_error(cmd, "%s: unknown value '%s' (known: %s)", opt, s, known);
}

/* ---- quantization-aware training ---------------------------------------------------------- */

/* The QAT graph: calibration batches of calib_n training images (a seeded shuffle, the
   training normalization) for the initial ranges, then qc_qat_new on g. */
static qc_status qat_setup(qc_graph *g, const qc_qat_opts *qo, qc_dataset *dtr,
                           const qc_value *in, int64_t calib_n, double mean, double std,
                           uint64_t seed, qc_qat **out, qc_err *e)
{
  bool has_fq = false;
  for (int32_t i = 0; i < g->n_nodes; i++) has_fq |= g->nodes[i].op == QC_OP_QcFakeQuant;
  if (has_fq) return qc_qat_new(g, qo, NULL, 0, out, e); /* a checkpoint: its ranges */
  int64_t cb = in->dims[0] > 0 ? in->dims[0] : 256;
  int64_t n_ds = qc_dataset_len(dtr);
  if (calib_n > n_ds) calib_n = n_ds;
  int nb = (int)((calib_n + cb - 1) / cb);
  qc_loader_opts lo = {cb, true, in->dims[0] > 0, seed ^ 0x5eedca1bULL, 1, 0, {0}};
  lo.tf.n_norm = 1;
  lo.tf.mean[0] = (float)mean;
  lo.tf.std[0] = (float)std;
  qc_loader *ld = qc_loader_new(dtr, &lo, e);
  if (!ld) return e->code;
  qc_tensor *ts = calloc((size_t)nb, sizeof *ts);
  qc_status st = ts ? qc_loader_start(ld, 0, e) : qc_err_set(e, QC_ERR_NOMEM, "out of memory");
  int got = 0;
  for (; st == QC_OK && got < nb; got++) {
    qc_batch b;
    bool end = false;
    if ((st = qc_loader_next(ld, &b, &end, e)) || end) break;
    int64_t per = qc_tensor_elems(&b.x) / (b.n ? b.n : 1);
    ts[got] = (qc_tensor){QC_DT_F32, in->rank, {0}, NULL};
    memcpy(ts[got].dims, in->dims, sizeof ts[got].dims);
    ts[got].dims[0] = b.n;
    if (!(ts[got].data = malloc(sizeof(float) * (size_t)(per * b.n)))) {
      st = qc_err_set(e, QC_ERR_NOMEM, "out of memory for calibration batches");
      break;
    }
    memcpy(ts[got].data, b.x.data, sizeof(float) * (size_t)(per * b.n));
  }
  qc_loader_free(ld);
  if (st == QC_OK) st = qc_qat_new(g, qo, ts, got, out, e);
  for (int i = 0; ts && i < nb; i++) free(ts[i].data);
  free(ts);
  return st;
}

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

/* The report of `quantize` (layers, sizes, BOPS) plus the QAT settings. */
static qc_status write_qat_report(const char *path, const char *model, const char *scheme,
                                  const qc_qat_opts *qo, const qc_quant_report *r, qc_err *e)
{
  char tmp[4200];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return qc_err_set(e, QC_ERR_USAGE, "%s: path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
  fputs("{\"model\": ", f);
  json_str(f, model);
  fputs(", \"scheme\": ", f);
  json_str(f, scheme);
  fprintf(f, ", \"first_last_8bit\": %s,\n \"qat\": {\"act_range_momentum\": %.9g, "
          "\"bn\": \"folded (frozen)\"},\n \"layers\": [",
          qo->u.first_last_8bit ? "true" : "false", qo->act_range_momentum);
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
            (long long)((l->bits + 7) / 8), l->bops);
  }
  double ratio = r->quant_bytes > 0 ? (double)r->fp32_bytes / (double)r->quant_bytes : 0;
  fprintf(f,
          "],\n \"totals\": {\"layers\": %d, \"fp32_bytes\": %lld, \"quant_bytes\": %lld, "
          "\"compression_ratio\": %.17g, \"bops\": %.17g, \"fp32_bops\": %.17g}}\n",
          (int)r->n_layers, (long long)r->fp32_bytes, (long long)r->quant_bytes, ratio, r->bops,
          r->fp32_bops);
  bool ok = !ferror(f);
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return qc_err_set(e, QC_ERR_IO, "%s: cannot write", path);
  }
  return QC_OK;
}

int qc_cmd_finetune(int argc, char **argv)
{
  enum {
    O_LR = 256, O_OPT, O_MOM, O_NEST, O_WD, O_SCHED, O_CLIP, O_TEACHER, O_TEMP, O_ALPHA,
    O_MEAN, O_STD, O_AUG, O_SEED, O_MAXSTEPS, O_LOG, O_CKPT, O_RESUME, O_PROG, O_NOPROG,
    O_QAT, O_FREEZE_BN, O_ACT_MOM, O_CALIB_N, O_REPORT, O_IR, O_CALIB_M
  };
  static const struct option longopts[] = {
      {"data", required_argument, NULL, 'd'},     {"output", required_argument, NULL, 'o'},
      {"epochs", required_argument, NULL, 'e'},   {"lr", required_argument, NULL, O_LR},
      {"batch", required_argument, NULL, 'b'},    {"optimizer", required_argument, NULL, O_OPT},
      {"momentum", required_argument, NULL, O_MOM}, {"nesterov", no_argument, NULL, O_NEST},
      {"weight-decay", required_argument, NULL, O_WD},
      {"schedule", required_argument, NULL, O_SCHED}, {"clip", required_argument, NULL, O_CLIP},
      {"teacher", required_argument, NULL, O_TEACHER},
      {"temperature", required_argument, NULL, O_TEMP},
      {"alpha", required_argument, NULL, O_ALPHA}, {"mean", required_argument, NULL, O_MEAN},
      {"std", required_argument, NULL, O_STD},    {"augment", no_argument, NULL, O_AUG},
      {"seed", required_argument, NULL, O_SEED},  {"threads", required_argument, NULL, 't'},
      {"limit", required_argument, NULL, 'n'},
      {"max-steps", required_argument, NULL, O_MAXSTEPS},
      {"log", required_argument, NULL, O_LOG},    {"checkpoint", required_argument, NULL, O_CKPT},
      {"resume", required_argument, NULL, O_RESUME}, {"progress", no_argument, NULL, O_PROG},
      {"no-progress", no_argument, NULL, O_NOPROG}, {"help", no_argument, NULL, 'h'},
      {"qat", required_argument, NULL, O_QAT},    {"freeze-bn", optional_argument, NULL, O_FREEZE_BN},
      {"act-momentum", required_argument, NULL, O_ACT_MOM},
      {"calib-n", required_argument, NULL, O_CALIB_N}, {"report", required_argument, NULL, O_REPORT},
      {"ir", required_argument, NULL, O_IR},
      {"calib-method", required_argument, NULL, O_CALIB_M},
      {NULL, 0, NULL, 0},
  };
  static const char *const opt_names[] = {"sgd", "adam", "adamw"};
  static const char *const sched_names[] = {"constant", "step", "cosine", "onecycle"};
  static const char *const calib_names[] = {"minmax", "percentile", "mse"};
  int calib_kind = 1;
  const char *data = NULL, *out = NULL, *teacher = NULL, *log_path = NULL, *ckpt = NULL,
             *resume = NULL;
  long epochs = 1, batch = 32, threads = 0, limit = 0, max_steps = 0, seed = 0;
  double lr = 0.01, momentum = 0.9, wd = -1, clip = 0, temp = 4, alpha = 0.5, mean = 0, std = 1;
  bool nesterov = false, augment = false;
  const char *qat_scheme = NULL, *report = NULL, *ir_path = NULL;
  long calib_n = 1024, freeze_bn = 0;
  double act_mom = 0.99;
  int opt_kind = 0, sched_kind = 0, show = isatty(2) ? 1 : 0, c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hd:o:e:b:t:n:", longopts, NULL)) != -1) {
    rc = -1;
    switch (c) {
    case 'd': data = optarg; break;
    case 'o': out = optarg; break;
    case 'e':
      if (!qc_cli_parse_long("finetune", "--epochs", optarg, 1, 100000, &epochs, &rc)) return rc;
      break;
    case 'b':
      if (!qc_cli_parse_long("finetune", "--batch", optarg, 1, 65536, &batch, &rc)) return rc;
      break;
    case 't':
      if (!qc_cli_parse_long("finetune", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case 'n':
      if (!qc_cli_parse_long("finetune", "--limit", optarg, 1, 1000000000L, &limit, &rc))
        return rc;
      break;
    case O_MAXSTEPS:
      if (!qc_cli_parse_long("finetune", "--max-steps", optarg, 1, 1000000000000L, &max_steps,
                             &rc))
        return rc;
      break;
    case O_SEED:
      if (!qc_cli_parse_long("finetune", "--seed", optarg, 0, INT64_MAX, &seed, &rc)) return rc;
      break;
    case O_LR:
      if (!qc_cli_parse_double("finetune", "--lr", optarg, &lr, &rc)) return rc;
      if (!(lr > 0 && isfinite(lr)))
        return qc_cli_usage_error("finetune", "--lr: %s must be > 0", optarg);
      break;
    case O_MOM:
      if (!qc_cli_parse_double("finetune", "--momentum", optarg, &momentum, &rc)) return rc;
      if (!(momentum >= 0 && momentum < 1))
        return qc_cli_usage_error("finetune", "--momentum: %s must be in [0, 1)", optarg);
      break;
    case O_WD:
      if (!qc_cli_parse_double("finetune", "--weight-decay", optarg, &wd, &rc)) return rc;
      if (!(wd >= 0 && isfinite(wd)))
        return qc_cli_usage_error("finetune", "--weight-decay: %s must be >= 0", optarg);
      break;
    case O_CLIP:
      if (!qc_cli_parse_double("finetune", "--clip", optarg, &clip, &rc)) return rc;
      if (!(clip > 0 && isfinite(clip)))
        return qc_cli_usage_error("finetune", "--clip: %s must be > 0", optarg);
      break;
    case O_TEMP:
      if (!qc_cli_parse_double("finetune", "--temperature", optarg, &temp, &rc)) return rc;
      if (!(temp > 0 && isfinite(temp)))
        return qc_cli_usage_error("finetune", "--temperature: %s must be > 0", optarg);
      break;
    case O_ALPHA:
      if (!qc_cli_parse_double("finetune", "--alpha", optarg, &alpha, &rc)) return rc;
      if (!(alpha >= 0 && alpha <= 1))
        return qc_cli_usage_error("finetune", "--alpha: %s must be in [0, 1]", optarg);
      break;
    case O_MEAN:
      if (!qc_cli_parse_double("finetune", "--mean", optarg, &mean, &rc)) return rc;
      break;
    case O_STD:
      if (!qc_cli_parse_double("finetune", "--std", optarg, &std, &rc)) return rc;
      if (!(std > 0)) return qc_cli_usage_error("finetune", "--std: %s must be > 0", optarg);
      break;
    case O_OPT: rc = parse_choice("finetune", "--optimizer", optarg, opt_names, 3, &opt_kind); break;
    case O_SCHED:
      rc = parse_choice("finetune", "--schedule", optarg, sched_names, 4, &sched_kind);
      break;
    case O_NEST: nesterov = true; break;
    case O_AUG: augment = true; break;
    case O_TEACHER: teacher = optarg; break;
    case O_LOG: log_path = optarg; break;
    case O_CKPT: ckpt = optarg; break;
    case O_RESUME: resume = optarg; break;
    case O_QAT:
      if (!*optarg) return qc_cli_usage_error("finetune", "--qat: empty scheme");
      qat_scheme = optarg;
      break;
    case O_FREEZE_BN:
      /* optional EPOCH also as the next word: --freeze-bn 0 */
      if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
        optarg = argv[optind++];
      if (optarg && !qc_cli_parse_long("finetune", "--freeze-bn", optarg, 0, 100000, &freeze_bn,
                                       &rc))
        return rc;
      if (freeze_bn != 0)
        return qc_cli_usage_error("finetune", "--freeze-bn %ld: QAT folds BN into the layers "
                                  "before training, so BN is frozen from epoch 0",
                                  freeze_bn);
      break;
    case O_ACT_MOM:
      if (!qc_cli_parse_double("finetune", "--act-momentum", optarg, &act_mom, &rc)) return rc;
      if (!(act_mom >= 0 && act_mom < 1))
        return qc_cli_usage_error("finetune", "--act-momentum: %s must be in [0, 1)", optarg);
      break;
    case O_CALIB_N:
      if (!qc_cli_parse_long("finetune", "--calib-n", optarg, 1, 60000, &calib_n, &rc)) return rc;
      break;
    case O_REPORT:
      if (!*optarg) return qc_cli_usage_error("finetune", "--report: empty path");
      report = optarg;
      break;
    case O_CALIB_M:
      rc = parse_choice("finetune", "--calib-method", optarg, calib_names, 3, &calib_kind);
      break;
    case O_IR:
      if (!*optarg) return qc_cli_usage_error("finetune", "--ir: empty path");
      ir_path = optarg;
      break;
    case O_PROG: show = 1; break;
    case O_NOPROG: show = 0; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("finetune", c, argv);
    }
    if (rc >= 0) return rc;
  }
  if (optind >= argc) return qc_cli_usage_error("finetune", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("finetune", "unexpected argument '%s'", argv[optind + 1]);
  if (!data) return qc_cli_usage_error("finetune", "missing --data");
  if (!out) return qc_cli_usage_error("finetune", "missing -o OUT.onnx");
  if (!qat_scheme && (report || ir_path))
    return qc_cli_usage_error("finetune", "%s needs --qat", report ? "--report" : "--ir");
  qc_qat_opts qo;
  qc_qat_opts_default(&qo);
  qo.act_range_momentum = act_mom;
  qo.u.calib.method = calib_kind == 0   ? QC_CALIB_MINMAX
                      : calib_kind == 1 ? QC_CALIB_PERCENTILE
                                        : QC_CALIB_MSE;
  qo.u.threads = (int)threads;
  char report_buf[4200];
  if (qat_scheme) {
    int wb = 0, ab = 0, used = 0;
    if (sscanf(qat_scheme, "w%da%d%n", &wb, &ab, &used) == 2 && qat_scheme[used] == 0) {
      if (wb < 2 || wb > 8 || ab < 2 || ab > 8)
        return qc_cli_usage_error("finetune", "--qat %s: bits must be in 2..8", qat_scheme);
      qo.u.w_bits = wb, qo.u.a_bits = ab;
    } else if (access(qat_scheme, R_OK) == 0) {
      qo.u.config_path = qat_scheme;
    } else {
      return qc_cli_usage_error("finetune",
                                "--qat %s: not wNaM (e.g. w4a4) and not a readable config file",
                                qat_scheme);
    }
    if (!report && out) {
      size_t n = strlen(out);
      if (n >= 5 && strcmp(out + n - 5, ".onnx") == 0) n -= 5;
      if (n + 6 > sizeof report_buf) return qc_cli_usage_error("finetune", "-o: path too long");
      memcpy(report_buf, out, n);
      memcpy(report_buf + n, ".json", 6);
      report = report_buf;
    }
    if (out && strcmp(report, out) == 0)
      return qc_cli_usage_error("finetune", "-o and --report must be different files");
  }
  if (nesterov && (opt_kind != 0 || momentum == 0))
    return qc_cli_usage_error("finetune", "--nesterov needs --optimizer sgd and --momentum > 0");
  const char *path = argv[optind];

  qc_err e = {0};
  qc_graph *g = NULL, *tg = NULL;
  qc_ad *ad = NULL;
  qc_interp *tit = NULL;
  qc_optim *opt = NULL;
  qc_dataset *dtr = NULL, *dte = NULL;
  qc_loader *ltr = NULL, *lte = NULL;
  qc_opt_param *params = NULL;
  qc_qat *qat = NULL;
  qc_graph *ig = NULL;
  qc_quant_report qrep = {0};
  const float **grads = NULL;
  float **gmut = NULL;
  int64_t *glens = NULL;
  float *dl = NULL, *dk = NULL;
  uint8_t *ost = NULL;
  size_t olen = 0;
  FILE *logf = NULL;
  char log_tmp[4200] = "";
  rc = QC_EXIT_OK;
  train_pos pos = {0};
  run_key key = {(uint64_t)seed, batch, limit, (uint32_t)opt_kind};
  qc_cli_load_opts lo = {false, (int)threads};

  if (resume) {
    run_key rk;
    if (load_ckpt_state(resume, &rk, &pos, &ost, &olen, &e)) goto fail;
    if (memcmp(&rk, &key, sizeof key) != 0) {
      qc_err_set(&e, QC_ERR_INVALID,
                 "%s: checkpoint was written with --seed %llu --batch %lld --limit %lld "
                 "--optimizer %s; this run differs",
                 resume, (unsigned long long)rk.seed, (long long)rk.batch, (long long)rk.limit,
                 rk.opt_kind < 3 ? opt_names[rk.opt_kind] : "?");
      goto fail;
    }
  }
  if (qc_cli_load_model(resume ? resume : path, &lo, &g, &e)) goto fail;
  if (g->n_inputs != 1 || g->n_outputs < 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "finetune needs a model with one input; this one has %d",
               g->n_inputs);
    goto fail;
  }
  const qc_value *in = &g->values[g->inputs[0]];
  char sh[256];
  qc_cli_shape_str(g, in->rank, in->dims, sh, sizeof sh);
  int64_t per = 1;
  for (int i = 1; i < in->rank; i++) per *= in->dims[i] > 0 ? in->dims[i] : -1;
  if (in->dtype != QC_DT_F32 || in->rank < 2 || per <= 0) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED,
               "model input '%s' must be float32 [batch, fixed dims...]; it is %s %s", in->name,
               qc_dtype_name(in->dtype), sh);
    goto fail;
  }
  if (in->dims[0] >= 0 && in->dims[0] != batch) {
    rc = qc_cli_usage_error("finetune", "--batch %ld, but the model's batch dim is fixed at %lld",
                            batch, (long long)in->dims[0]);
    goto done;
  }
  int64_t chw[3] = {1, 1, per};
  if (in->rank == 4) chw[0] = in->dims[1], chw[1] = in->dims[2], chw[2] = in->dims[3];
  if (open_data(data, chw, &dtr, &dte, &e)) goto fail;
  if (qat_scheme && qat_setup(g, &qo, dtr, in, (int64_t)calib_n, mean, std, (uint64_t)seed, &qat,
                              &e))
    goto fail;
  in = &g->values[g->inputs[0]]; /* QAT rebuilt g */
  if (qc_ad_new(g, (int)threads, true, &ad, &e)) goto fail;
  int np = qc_ad_n_params(ad);
  if (np == 0) {
    qc_err_set(&e, QC_ERR_INVALID, "%s: the model has no trainable parameter", path);
    goto fail;
  }
  if (teacher) {
    if (qc_cli_load_model(teacher, &lo, &tg, &e) || qc_interp_new(tg, (int)threads, &tit, &e))
      goto fail;
  }
  int64_t dchw[3];
  qc_dataset_shape(dtr, dchw);
  if (dchw[0] * dchw[1] * dchw[2] != per) {
    qc_err_set(&e, QC_ERR_INVALID,
               "%s: samples are %lldx%lldx%lld (%lld values); model input '%s' %s takes %lld",
               data, (long long)dchw[0], (long long)dchw[1], (long long)dchw[2],
               (long long)(dchw[0] * dchw[1] * dchw[2]), in->name, sh, (long long)per);
    goto fail;
  }

  /* Optimizer over every parameter, one group. */
  qc_opt_group grp = qc_opt_group_default((qc_opt_kind)opt_kind, lr);
  if (wd >= 0) grp.weight_decay = wd;
  if (opt_kind == 0) grp.momentum = momentum, grp.nesterov = nesterov;
  params = calloc((size_t)np, sizeof *params);
  grads = calloc((size_t)np, sizeof *grads);
  gmut = calloc((size_t)np, sizeof *gmut);
  glens = calloc((size_t)np, sizeof *glens);
  if (!params || !grads || !gmut || !glens) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int i = 0; i < np; i++) {
    qc_value *v = &g->values[qc_ad_param(ad, i)];
    params[i] = (qc_opt_param){v->data, qc_shape_elems(v->rank, v->dims), 0};
    glens[i] = params[i].n;
  }
  if (qc_optim_new((qc_opt_kind)opt_kind, &grp, 1, params, np, &opt, &e)) goto fail;
  if (ost && qc_optim_state_load(opt, ost, olen, &e)) goto fail;

  qc_loader_opts lopt = {batch, true, in->dims[0] >= 0, (uint64_t)seed, 1, 0, {0}};
  lopt.tf.hflip = augment;
  lopt.tf.n_norm = 1;
  lopt.tf.mean[0] = (float)mean;
  lopt.tf.std[0] = (float)std;
  if (!(ltr = qc_loader_new(dtr, &lopt, &e))) goto fail;
  qc_loader_opts topt = lopt;
  topt.shuffle = false;
  topt.tf.hflip = false;
  if (dte && !(lte = qc_loader_new(dte, &topt, &e))) goto fail;
  int64_t n_tr = qc_dataset_len(dtr), n_te = dte ? qc_dataset_len(dte) : 0;
  int64_t use_tr = limit && limit < n_tr ? limit : n_tr, use_te = limit && limit < n_te ? limit : n_te;
  int64_t steps_per_epoch = lopt.drop_last ? use_tr / batch : (use_tr + batch - 1) / batch;
  if (steps_per_epoch <= 0) {
    qc_err_set(&e, QC_ERR_INVALID, "%s: fewer samples (%lld) than one batch", data,
               (long long)use_tr);
    goto fail;
  }
  int64_t total_steps = steps_per_epoch * epochs;
  if (max_steps && max_steps < total_steps) total_steps = max_steps;
  qc_sched sc = {0};
  sc.kind = sched_kind == 0   ? QC_SCHED_CONSTANT
            : sched_kind == 1 ? QC_SCHED_STEP
            : sched_kind == 2 ? QC_SCHED_COSINE
                              : QC_SCHED_ONECYCLE;
  sc.base_lr = lr;
  sc.step_size = total_steps / 3 > 0 ? total_steps / 3 : 1;
  sc.gamma = 0.1;
  sc.t_max = steps_per_epoch * epochs;
  sc.max_lr = lr;
  sc.total_steps = steps_per_epoch * epochs;
  sc.pct_start = 0.3, sc.div_factor = 25, sc.final_div_factor = 1e4;
  if (qc_sched_check(&sc, &e)) goto fail;

  if (log_path) {
    /* Written to LOG.tmp and renamed at the end, so an error leaves no half log behind. A
       resume appends to the existing log. */
    snprintf(log_tmp, sizeof log_tmp, "%s.tmp", log_path);
    FILE *old = resume ? fopen(log_path, "rb") : NULL;
    if (!(logf = fopen(log_tmp, "wb"))) {
      if (old) fclose(old);
      qc_err_set(&e, QC_ERR_IO, "%s: cannot create: %s", log_tmp, strerror(errno));
      goto fail;
    }
    if (old) {
      char buf[8192];
      size_t r;
      while ((r = fread(buf, 1, sizeof buf, old)) > 0) fwrite(buf, 1, r, logf);
      fclose(old);
    } else {
      fprintf(logf, "epoch,step,lr,loss,train_acc,test_acc,seconds\n");
    }
  }

  struct sigaction sa = {0}, old_sa;
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_sa);
  g_stop = 0;

  double t0 = now_s();
  int64_t imgs = 0;
  bool interrupted = false;
  for (; pos.epoch < epochs && pos.global_step < total_steps; pos.epoch++) {
    if (qc_loader_start(ltr, pos.epoch, &e)) goto fail_sig;
    qc_batch b;
    bool end = false;
    /* Replay the loader up to the resumed position: the same batches in the same order. */
    for (int64_t s = 0; s < pos.step_in_epoch && !end; s++)
      if (qc_loader_next(ltr, &b, &end, &e)) goto fail_sig;
    qc_ad_set_training(ad, true);
    for (;;) {
      if (pos.step_in_epoch >= steps_per_epoch || pos.global_step >= total_steps) break;
      if (g_stop) {
        interrupted = true;
        break;
      }
      if (qc_loader_next(ltr, &b, &end, &e)) goto fail_sig;
      if (end) break;
      int64_t n = b.n;
      if (lopt.drop_last == false && n <= 0) break;
      qc_tensor x = {QC_DT_F32, in->rank, {0}, b.x.data};
      memcpy(x.dims, in->dims, sizeof x.dims);
      x.dims[0] = n;
      if (qc_ad_forward(ad, &x, 1, &e)) goto fail_sig;
      const qc_tensor *y = qc_ad_output(ad, 0);
      if (!y || y->dtype != QC_DT_F32 || y->rank != 2 || y->dims[0] != n) {
        qc_err_set(&e, QC_ERR_UNSUPPORTED, "finetune needs float32 logits [batch, classes] as "
                   "output 0");
        goto fail_sig;
      }
      int64_t ye = qc_tensor_elems(y);
      float *ndl = realloc(dl, sizeof(float) * (size_t)ye);
      if (!ndl) {
        qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
        goto fail_sig;
      }
      dl = ndl;
      qc_tensor dt = *y;
      dt.data = dl;
      double loss = 0;
      if (qc_loss_cross_entropy(y, b.y.data, &loss, &dt, &e)) goto fail_sig;
      if (tit) {
        if (qc_interp_run(tit, &x, 1, &e)) goto fail_sig;
        const qc_tensor *ty = qc_interp_output(tit, 0);
        if (!ty || qc_tensor_elems(ty) != ye) {
          qc_err_set(&e, QC_ERR_INVALID, "%s: teacher logits do not match the student's",
                     teacher);
          goto fail_sig;
        }
        float *ndk = realloc(dk, sizeof(float) * (size_t)ye);
        if (!ndk) {
          qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
          goto fail_sig;
        }
        dk = ndk;
        qc_tensor tt = *ty, dkt = *y;
        memcpy(tt.dims, y->dims, sizeof tt.dims);
        dkt.data = dk;
        double kl = 0;
        if (qc_loss_kl_distill(y, &tt, (float)temp, &kl, &dkt, &e)) goto fail_sig;
        loss = alpha * kl + (1 - alpha) * loss;
        for (int64_t i = 0; i < ye; i++)
          dl[i] = (float)(alpha * dk[i] + (1 - alpha) * dl[i]);
      }
      int64_t corr = argmax_correct(y, &b.y, n);
      qc_tensor douts[8] = {{0}};
      douts[0] = dt;
      if (g->n_outputs > 8) {
        qc_err_set(&e, QC_ERR_UNSUPPORTED, "finetune supports at most 8 model outputs");
        goto fail_sig;
      }
      if (qc_ad_backward(ad, douts, g->n_outputs, &e)) goto fail_sig;
      /* after backward: the VJPs used the ranges the forward used */
      if (qat && qc_qat_observe(qat, ad, &e)) goto fail_sig;
      for (int i = 0; i < np; i++) {
        const qc_tensor *gr = qc_ad_grad(ad, qc_ad_param(ad, i));
        grads[i] = gr ? gr->data : NULL;
        gmut[i] = gr ? gr->data : NULL;
      }
      double gnorm;
      if (clip > 0 && qc_clip_grad_norm(gmut, glens, np, clip, &gnorm, &e)) goto fail_sig;
      double cur_lr = qc_sched_lr(&sc, pos.global_step);
      qc_optim_set_lr_scaled(opt, cur_lr);
      if (qc_optim_step(opt, grads, &e)) goto fail_sig;
      pos.step_in_epoch++;
      pos.global_step++;
      pos.loss_sum += loss * (double)n;
      pos.correct += corr;
      pos.seen += n;
      imgs += n;
      double el = now_s() - t0;
      if (logf)
        fprintf(logf, "%lld,%lld,%.9g,%.9g,%.6f,,%.3f\n", (long long)pos.epoch + 1,
                (long long)pos.global_step, cur_lr, pos.loss_sum / (double)pos.seen,
                (double)pos.correct / (double)pos.seen, el);
      if (logf) fflush(logf); /* live log: one row per step */
      if (show) {
        double ips = el > 0 ? (double)imgs / el : 0;
        int64_t left = total_steps - pos.global_step;
        fprintf(stderr,
                "\rstep %lld/%lld epoch %lld/%ld loss %.4f acc %.2f%% %.0f img/s ETA %.0fs   ",
                (long long)pos.global_step, (long long)total_steps, (long long)pos.epoch + 1,
                epochs, pos.loss_sum / (double)pos.seen,
                100.0 * (double)pos.correct / (double)pos.seen, ips,
                ips > 0 ? (double)(left * batch) / ips : 0.0);
        fflush(stderr);
      }
    }
    if (show) fputc('\n', stderr);
    if (interrupted) break;
    bool epoch_done = pos.step_in_epoch >= steps_per_epoch;
    if (!epoch_done) break; /* --max-steps */
    /* Test top-1, eval mode. */
    double test_acc = -1;
    if (lte) {
      qc_ad_set_training(ad, false);
      if (qc_loader_start(lte, 0, &e)) goto fail_sig;
      int64_t corr = 0, seen = 0;
      for (;;) {
        qc_batch tb;
        bool tend = false;
        if (qc_loader_next(lte, &tb, &tend, &e)) goto fail_sig;
        if (tend || seen >= use_te) break;
        int64_t n = tb.n < use_te - seen ? tb.n : use_te - seen;
        qc_tensor x = {QC_DT_F32, in->rank, {0}, tb.x.data};
        memcpy(x.dims, in->dims, sizeof x.dims);
        x.dims[0] = tb.n;
        if (qc_ad_forward(ad, &x, 1, &e)) goto fail_sig;
        corr += argmax_correct(qc_ad_output(ad, 0), &tb.y, n);
        seen += n;
      }
      test_acc = seen ? (double)corr / (double)seen : 0;
    }
    printf("epoch %lld: loss %.4f, train top-1 %.2f%%", (long long)pos.epoch + 1,
           pos.loss_sum / (double)pos.seen, 100.0 * (double)pos.correct / (double)pos.seen);
    if (test_acc >= 0) printf(", test top-1 %.2f%%", 100.0 * test_acc);
    printf("\n");
    fflush(stdout);
    if (logf) {
      char ta[32] = "";
      if (test_acc >= 0) snprintf(ta, sizeof ta, "%.6f", test_acc);
      fprintf(logf, "%lld,%lld,%.9g,%.9g,%.6f,%s,%.3f\n", (long long)pos.epoch + 1,
              (long long)pos.global_step,
              qc_sched_lr(&sc, pos.global_step ? pos.global_step - 1 : 0),
              pos.loss_sum / (double)pos.seen, (double)pos.correct / (double)pos.seen, ta,
              now_s() - t0);
    }
    pos.step_in_epoch = 0;
    pos.loss_sum = 0;
    pos.correct = pos.seen = 0;
    if (ckpt) {
      train_pos next = pos;
      next.epoch++;
      if (save_ckpt(ckpt, g, opt, &key, &next, &e)) goto fail_sig;
    }
  }
  sigaction(SIGINT, &old_sa, NULL);
  if (interrupted || (ckpt && pos.step_in_epoch > 0)) {
    if (ckpt && save_ckpt(ckpt, g, opt, &key, &pos, &e)) goto fail;
  }
  if (logf) {
    if (fclose(logf) != 0 || rename(log_tmp, log_path) != 0) {
      logf = NULL;
      qc_err_set(&e, QC_ERR_IO, "%s: cannot write: %s", log_path, strerror(errno));
      goto fail;
    }
    logf = NULL;
  }
  if (interrupted) {
    fprintf(stderr, "quantc: interrupted at step %lld; %s%s\n", (long long)pos.global_step,
            ckpt ? "checkpoint written to " : "no --checkpoint given, nothing saved",
            ckpt ? ckpt : "");
    rc = 130;
    goto done;
  }
  if (qat) {
    if (qc_qat_convert(qat, &ig, &qrep, &e) || qc_onnx_save(ig, out, &e) ||
        write_qat_report(report, path, qat_scheme, &qo, &qrep, &e))
      goto fail;
    if (ir_path) {
      char *txt = qc_print(ig, true);
      if (!txt) {
        qc_err_set(&e, QC_ERR_NOMEM, "out of memory printing the integer IR");
        goto fail;
      }
      qc_status ist = write_atomic(ir_path, txt, strlen(txt), &e);
      free(txt);
      if (ist) goto fail;
    }
  } else if (qc_onnx_save(g, out, &e)) {
    goto fail;
  }
  double dtot = now_s() - t0;
  printf("steps: %lld, time: %.2f s, %.1f images/s\n", (long long)pos.global_step, dtot,
         dtot > 0 ? (double)imgs / dtot : 0.0);
  printf("wrote %s%s%s%s%s\n", out, qat ? ", " : "", qat ? report : "", ir_path ? ", " : "",
         ir_path ? ir_path : "");
  goto done;
fail_sig:
  sigaction(SIGINT, &old_sa, NULL);
fail:
  rc = qc_cli_fail(&e);
done:
  if (logf) {
    fclose(logf);
    unlink(log_tmp);
  }
  free(ost);
  free(params);
  free(grads);
  free(gmut);
  free(glens);
  free(dl);
  free(dk);
  qc_loader_free(ltr);
  qc_loader_free(lte);
  qc_dataset_free(dtr);
  qc_dataset_free(dte);
  qc_optim_free(opt);
  qc_ad_free(ad);
  if (tit) qc_interp_free(tit);
  qc_graph_free(g);
  qc_graph_free(tg);
  qc_graph_free(ig);
  qc_qat_free(qat);
  qc_quant_report_free(&qrep);
  return rc;
}
