/* Datasets (IDX, NPY, image folders), augmentation and the threaded batch loader.
 *
 * The loader's workers claim batches in order from a ring of `prefetch` slots; each sample is
 * decoded and augmented with an RNG derived from (seed, epoch, dataset index) alone, so which
 * thread builds a batch never changes its bytes. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "data.h"
#include "dataset.h"

/* ---- RNG -------------------------------------------------------------------------------- */
static uint64_t mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

qc_rng qc_rng_derive(uint64_t seed, uint64_t epoch, uint64_t index)
{
  /* Nested finalisers keep nearby (seed, epoch, index) triples on unrelated streams. */
  qc_rng r = {mix64(mix64(mix64(seed) ^ epoch) + 0x9E3779B97F4A7C15ull * (index + 1))};
  return r;
}

uint64_t qc_rng_next(qc_rng *r)
{
  r->s += 0x9E3779B97F4A7C15ull;
  return mix64(r->s);
}

double qc_rng_uniform(qc_rng *r) { return (double)(qc_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t qc_rng_below(qc_rng *r, uint64_t n)
{
  /* Rejection of the top partial block keeps every residue equally likely. */
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = qc_rng_next(r);
  while (x >= lim);
  return x % n;
}

/* ---- datasets --------------------------------------------------------------------------- */
typedef enum { DS_TENSOR, DS_FOLDER } ds_kind;

struct qc_dataset {
  ds_kind kind;
  int64_t n, chw[3];
  int classes;
  /* DS_TENSOR: samples row-major in x (u8, f32 or f64), labels as int64 (NULL: none). */
  qc_tensor x;
  int64_t *labels;
  /* DS_FOLDER */
  qc_folder_opts fo;
  char **class_names, **paths;
};

void qc_dataset_free(qc_dataset *ds)
{
  if (!ds) return;
  free(ds->x.data);
  free(ds->labels);
  if (ds->class_names)
    for (int i = 0; i < ds->classes; i++) free(ds->class_names[i]);
  if (ds->paths)
    for (int64_t i = 0; i < ds->n; i++) free(ds->paths[i]);
  free(ds->class_names);
  free(ds->paths);
  free(ds);
}

int64_t qc_dataset_len(const qc_dataset *ds) { return ds->n; }
void qc_dataset_shape(const qc_dataset *ds, int64_t chw[3]) { memcpy(chw, ds->chw, 3 * 8); }
int qc_dataset_classes(const qc_dataset *ds) { return ds->classes; }
const char *qc_dataset_class_name(const qc_dataset *ds, int k)
{
  return ds->kind == DS_FOLDER && k >= 0 && k < ds->classes ? ds->class_names[k] : NULL;
}
const char *qc_dataset_sample_path(const qc_dataset *ds, int64_t i)
{
  return ds->kind == DS_FOLDER && i >= 0 && i < ds->n ? ds->paths[i] : NULL;
}

static qc_dataset *ds_new(qc_err *e)
{
  qc_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) qc_err_set(e, QC_ERR_NOMEM, "dataset: out of memory");
  return ds;
}

/* Labels of any integer dtype, rank 1, length n, widened to int64; max+1 gives the classes. */
static qc_status take_labels(qc_dataset *ds, qc_tensor *t, const char *name, qc_err *e)
{
  if (t->rank != 1 || t->dims[0] != ds->n)
    return qc_err_set(e, QC_ERR_INVALID, "%s: labels must have shape [%lld] to match the inputs",
                      name, (long long)ds->n);
  ds->labels = malloc(sizeof(int64_t) * (size_t)(ds->n ? ds->n : 1));
  if (!ds->labels) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", name);
  int64_t maxl = -1;
  for (int64_t i = 0; i < ds->n; i++) {
    int64_t v;
    switch (t->dtype) {
    case QC_DT_U8: v = ((const uint8_t *)t->data)[i]; break;
    case QC_DT_I8: v = ((const int8_t *)t->data)[i]; break;
    case QC_DT_I16: v = ((const int16_t *)t->data)[i]; break;
    case QC_DT_U16: v = ((const uint16_t *)t->data)[i]; break;
    case QC_DT_I32: v = ((const int32_t *)t->data)[i]; break;
    case QC_DT_U32: v = ((const uint32_t *)t->data)[i]; break;
    case QC_DT_I64: v = ((const int64_t *)t->data)[i]; break;
    default:
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: labels must be integers, not %s", name,
                        qc_dtypes[t->dtype].name);
    }
    if (v < 0)
      return qc_err_set(e, QC_ERR_INVALID, "%s: label %lld of sample %lld is negative", name,
                        (long long)v, (long long)i);
    ds->labels[i] = v;
    if (v > maxl) maxl = v;
  }
  ds->classes = (int)(maxl + 1 < INT32_MAX ? maxl + 1 : INT32_MAX);
  return QC_OK;
}

/* Takes ownership of x (and reads then frees y): [N,C,H,W], [N,H,W] or [N,D]. */
static qc_dataset *tensor_dataset(qc_tensor *x, qc_tensor *y, const char *xname,
                                  const char *yname, qc_err *e)
{
  qc_dataset *ds = ds_new(e);
  if (!ds) goto fail;
  ds->kind = DS_TENSOR;
  ds->x = *x;
  x->data = NULL;
  if (ds->x.dtype != QC_DT_U8 && ds->x.dtype != QC_DT_F32 && ds->x.dtype != QC_DT_F64) {
    qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: inputs must be uint8, float32 or float64, not %s",
               xname, qc_dtypes[ds->x.dtype].name);
    goto fail;
  }
  int r = ds->x.rank;
  if (r < 2 || r > 4) {
    qc_err_set(e, QC_ERR_INVALID, "%s: inputs must have rank 2, 3 or 4 ([N,D], [N,H,W], "
               "[N,C,H,W]), not %d", xname, r);
    goto fail;
  }
  ds->n = ds->x.dims[0];
  ds->chw[0] = r == 4 ? ds->x.dims[1] : 1;
  ds->chw[1] = r == 2 ? 1 : ds->x.dims[r - 2];
  ds->chw[2] = ds->x.dims[r - 1];
  if (y && take_labels(ds, y, yname, e) != QC_OK) goto fail;
  if (y) free(y->data), y->data = NULL;
  return ds;
fail:
  if (x) free(x->data), x->data = NULL;
  if (y) free(y->data), y->data = NULL;
  qc_dataset_free(ds);
  return NULL;
}

/* First of dir/<stem> and dir/<stem>.gz that exists. */
static qc_status find_idx(const char *dir, const char *stem, char *out, size_t cap, qc_err *e)
{
  struct stat st;
  snprintf(out, cap, "%s/%s.gz", dir, stem);
  if (stat(out, &st) == 0) return QC_OK;
  snprintf(out, cap, "%s/%s", dir, stem);
  if (stat(out, &st) == 0) return QC_OK;
  return qc_err_set(e, QC_ERR_IO, "%s: neither %s nor %s.gz exists", dir, stem, stem);
}

qc_dataset *qc_dataset_open_idx(const char *dir, bool train, qc_err *e)
{
  char xp[4096], yp[4096];
  const char *split = train ? "train" : "t10k";
  char stem[64];
  snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
  if (find_idx(dir, stem, xp, sizeof xp, e) != QC_OK) return NULL;
  snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
  if (find_idx(dir, stem, yp, sizeof yp, e) != QC_OK) return NULL;
  qc_tensor x = {0}, y = {0};
  if (qc_idx_read(xp, &x, e) != QC_OK) return NULL;
  if (x.rank != 3 || x.dtype != QC_DT_U8) {
    free(x.data);
    qc_err_set(e, QC_ERR_INVALID, "%s: expected uint8 images [N, H, W]", xp);
    return NULL;
  }
  if (qc_idx_read(yp, &y, e) != QC_OK) {
    free(x.data);
    return NULL;
  }
  return tensor_dataset(&x, &y, xp, yp, e);
}

qc_dataset *qc_dataset_open_npy(const char *inputs, const char *labels, qc_err *e)
{
  qc_tensor x = {0}, y = {0};
  if (qc_npy_read(inputs, &x, e) != QC_OK) return NULL;
  if (labels && qc_npy_read(labels, &y, e) != QC_OK) {
    free(x.data);
    return NULL;
  }
  return tensor_dataset(&x, labels ? &y : NULL, inputs, labels, e);
}

/* ---- image folders ---------------------------------------------------------------------- */
typedef struct {
  char **v;
  size_t n, cap;
} strv;

static int strv_push(strv *s, const char *a, const char *b)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) return -1;
    s->v = v, s->cap = cap;
  }
  size_t la = strlen(a), lb = b ? strlen(b) : 0;
  char *p = malloc(la + lb + 2);
  if (!p) return -1;
  memcpy(p, a, la);
  if (b) p[la] = '/', memcpy(p + la + 1, b, lb + 1);
  else p[la] = 0;
  s->v[s->n++] = p;
  return 0;
}

static void strv_free(strv *s)
{
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_image_name(const char *n)
{
  const char *dot = strrchr(n, '.');
  return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png"));
}

/* Names in dir (no hidden ones) that are directories (want_dir) or image files, sorted. */
static qc_status list_dir(const char *dir, bool want_dir, strv *out, qc_err *e)
{
  DIR *d = opendir(dir);
  if (!d) return qc_err_set(e, QC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  struct dirent *de;
  qc_status s = QC_OK;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char *full = malloc(strlen(dir) + strlen(de->d_name) + 2);
    if (!full) {
      s = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", dir);
      break;
    }
    sprintf(full, "%s/%s", dir, de->d_name);
    struct stat st;
    bool ok = stat(full, &st) == 0 &&
              (want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && is_image_name(de->d_name));
    free(full);
    if (ok && strv_push(out, de->d_name, NULL)) {
      s = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", dir);
      break;
    }
  }
  closedir(d);
  if (s == QC_OK && out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
  return s;
}

qc_dataset *qc_dataset_open_folder(const char *root, const qc_folder_opts *o, qc_err *e)
{
  if ((o->channels != 1 && o->channels != 3) || o->height <= 0 || o->width <= 0 ||
      o->short_side < 0) {
    qc_err_set(e, QC_ERR_USAGE, "%s: folder options need channels 1 or 3 and positive sizes",
               root);
    return NULL;
  }
  qc_dataset *ds = ds_new(e);
  if (!ds) return NULL;
  ds->kind = DS_FOLDER;
  ds->fo = *o;
  ds->chw[0] = o->channels, ds->chw[1] = o->height, ds->chw[2] = o->width;
  strv classes = {0}, paths = {0}, files = {0};
  int64_t *labels = NULL;
  size_t lcap = 0;
  if (list_dir(root, true, &classes, e) != QC_OK) goto fail;
  if (classes.n == 0) {
    qc_err_set(e, QC_ERR_INVALID, "%s: no class folders (expected root/<class>/<image>)", root);
    goto fail;
  }
  if (classes.n > INT32_MAX) goto fail;
  for (size_t k = 0; k < classes.n; k++) {
    char *cdir = malloc(strlen(root) + strlen(classes.v[k]) + 2);
    if (!cdir) {
      qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", root);
      goto fail;
    }
    sprintf(cdir, "%s/%s", root, classes.v[k]);
    files.n = 0;
    qc_status s = list_dir(cdir, false, &files, e);
    if (s == QC_OK && files.n == 0)
      s = qc_err_set(e, QC_ERR_INVALID, "%s: class folder has no .jpg, .jpeg or .png files",
                     cdir);
    for (size_t i = 0; s == QC_OK && i < files.n; i++) {
      if (strv_push(&paths, cdir, files.v[i])) s = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
      if (s == QC_OK && paths.n > lcap) {
        lcap = lcap ? 2 * lcap : 256;
        int64_t *l = realloc(labels, lcap * sizeof *l);
        if (!l) s = qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory", root);
        else labels = l;
      }
      if (s == QC_OK) labels[paths.n - 1] = (int64_t)k;
    }
    for (size_t i = 0; i < files.n; i++) free(files.v[i]);
    free(cdir);
    if (s != QC_OK) goto fail;
  }
  free(files.v);
  ds->classes = (int)classes.n;
  ds->class_names = classes.v;
  ds->n = (int64_t)paths.n;
  ds->paths = paths.v;
  ds->labels = labels;
  return ds;
fail:
  strv_free(&classes);
  strv_free(&paths);
  strv_free(&files);
  free(labels);
  qc_dataset_free(ds);
  return NULL;
}

static qc_status folder_get(const qc_dataset *ds, int64_t i, float *out, qc_err *e)
{
  const qc_folder_opts *o = &ds->fo;
  qc_image img, fit;
  qc_status s = qc_image_decode(ds->paths[i], o->channels, &img, e);
  if (s != QC_OK) return s;
  if (o->short_side > 0)
    s = qc_image_resize_crop(&img, o->short_side, o->height, o->width, &fit, e);
  else if (img.h != o->height || img.w != o->width)
    s = qc_image_resize(&img, o->height, o->width, &fit, e);
  else
    fit = img, img.px = NULL;
  qc_image_free(&img);
  if (s != QC_OK) return s;
  int64_t hw = (int64_t)o->height * o->width;
  for (int k = 0; k < o->channels; k++)
    for (int64_t p = 0; p < hw; p++) out[k * hw + p] = fit.px[p * o->channels + k] / 255.0f;
  qc_image_free(&fit);
  return QC_OK;
}

qc_status qc_dataset_get(const qc_dataset *ds, int64_t i, float *out, int64_t *label, qc_err *e)
{
  if (i < 0 || i >= ds->n)
    return qc_err_set(e, QC_ERR_USAGE, "dataset: sample %lld outside 0..%lld", (long long)i,
                      (long long)ds->n - 1);
  if (label) *label = ds->labels ? ds->labels[i] : -1;
  if (ds->kind == DS_FOLDER) return folder_get(ds, i, out, e);
  int64_t m = ds->chw[0] * ds->chw[1] * ds->chw[2];
  if (ds->x.dtype == QC_DT_U8) {
    const uint8_t *p = (const uint8_t *)ds->x.data + i * m;
    for (int64_t j = 0; j < m; j++) out[j] = p[j] / 255.0f;
  } else if (ds->x.dtype == QC_DT_F32) {
    memcpy(out, (const float *)ds->x.data + i * m, sizeof(float) * (size_t)m);
  } else {
    const double *p = (const double *)ds->x.data + i * m;
    for (int64_t j = 0; j < m; j++) out[j] = (float)p[j];
  }
  return QC_OK;
}

/* ---- transforms ------------------------------------------------------------------------- */
qc_status qc_transform_apply(const qc_transform *t, const int64_t chw[3], float *x,
                             float *scratch, qc_rng *r, qc_err *e)
{
  int64_t c = chw[0], h = chw[1], w = chw[2], hw = h * w;
  if (t->n_norm != 0 && t->n_norm != 1 && t->n_norm != c)
    return qc_err_set(e, QC_ERR_USAGE, "transform: %d normalisation channels for %lld-channel "
                      "samples", t->n_norm, (long long)c);
  if (t->n_norm > 4 || (t->n_norm > 0 && c > 4 && t->n_norm != 1))
    return qc_err_set(e, QC_ERR_USAGE, "transform: at most 4 normalisation channels");
  if (t->pad > 0) {
    /* torchvision RandomCrop(size, padding=pad): offsets uniform in [0, 2 pad]. */
    int64_t dy = (int64_t)qc_rng_below(r, 2 * (uint64_t)t->pad + 1) - t->pad;
    int64_t dx = (int64_t)qc_rng_below(r, 2 * (uint64_t)t->pad + 1) - t->pad;
    memcpy(scratch, x, sizeof(float) * (size_t)(c * hw));
    for (int64_t k = 0; k < c; k++)
      for (int64_t y = 0; y < h; y++)
        for (int64_t xx = 0; xx < w; xx++) {
          int64_t sy = y + dy, sx = xx + dx;
          x[k * hw + y * w + xx] =
              sy >= 0 && sy < h && sx >= 0 && sx < w ? scratch[k * hw + sy * w + sx] : 0.0f;
        }
  }
  if (t->hflip && (qc_rng_next(r) >> 63))
    for (int64_t k = 0; k < c; k++)
      for (int64_t y = 0; y < h; y++) {
        float *row = x + k * hw + y * w;
        for (int64_t a = 0, b = w - 1; a < b; a++, b--) {
          float v = row[a];
          row[a] = row[b], row[b] = v;
        }
      }
  if (t->n_norm)
    for (int64_t k = 0; k < c; k++) {
      int j = t->n_norm == 1 ? 0 : (int)k;
      float m = t->mean[j], inv = 1.0f / t->std[j];
      for (int64_t p = 0; p < hw; p++) x[k * hw + p] = (x[k * hw + p] - m) * inv;
    }
  return QC_OK;
}

/* ---- loader ----------------------------------------------------------------------------- */
typedef struct {
  int64_t batch;  /* batch number held, -1 when free */
  bool ready;
  qc_status status;
  qc_err err;
  float *x;
  int64_t *y, *idx;
} slot;

struct qc_loader {
  const qc_dataset *ds;
  qc_loader_opts o;
  int64_t n_batches, sample_elems;
  int64_t *perm;
  int64_t epoch;
  bool started;
  /* Workers claim batch `next_claim` when it is below consumed + n_slots; consumed counts
     batches released by the caller (the one it holds, if any, is batch `consumed`). */
  pthread_mutex_t mu;
  pthread_cond_t cv_work, cv_ready;
  pthread_t *th;
  int n_th;
  bool stop;
  int64_t next_claim, consumed;
  slot *slots;
  int n_slots;
  bool holding; /* the caller holds batch `consumed` */
  float *scratch0; /* for threads == 0 */
};

static qc_status fill_batch(qc_loader *l, int64_t b, slot *s, float *scratch, qc_err *e)
{
  int64_t first = b * l->o.batch, n = l->o.batch;
  if (first + n > l->ds->n) n = l->ds->n - first;
  for (int64_t j = 0; j < n; j++) {
    int64_t i = l->perm[first + j];
    float *x = s->x + j * l->sample_elems;
    s->idx[j] = i;
    qc_status st = qc_dataset_get(l->ds, i, x, &s->y[j], e);
    if (st != QC_OK) return st;
    qc_rng r = qc_rng_derive(l->o.seed, (uint64_t)l->epoch, (uint64_t)i);
    st = qc_transform_apply(&l->o.tf, l->ds->chw, x, scratch, &r, e);
    if (st != QC_OK) return st;
  }
  return QC_OK;
}

static void *worker(void *arg)
{
  qc_loader *l = arg;
  float *scratch = malloc(sizeof(float) * (size_t)(l->sample_elems ? l->sample_elems : 1));
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->stop && !(l->next_claim < l->n_batches && l->next_claim < l->consumed + l->n_slots))
      pthread_cond_wait(&l->cv_work, &l->mu);
    if (l->stop) break;
    int64_t b = l->next_claim++;
    slot *s = &l->slots[b % l->n_slots];
    s->batch = b;
    s->ready = false;
    pthread_mutex_unlock(&l->mu);
    qc_err_clear(&s->err);
    s->status = scratch ? fill_batch(l, b, s, scratch, &s->err)
                        : qc_err_set(&s->err, QC_ERR_NOMEM, "loader: out of memory");
    pthread_mutex_lock(&l->mu);
    s->ready = true;
    pthread_cond_broadcast(&l->cv_ready);
  }
  pthread_mutex_unlock(&l->mu);
  free(scratch);
  return NULL;
}

static void stop_workers(qc_loader *l)
{
  if (!l->n_th) return;
  pthread_mutex_lock(&l->mu);
  l->stop = true;
  pthread_cond_broadcast(&l->cv_work);
  pthread_mutex_unlock(&l->mu);
  for (int i = 0; i < l->n_th; i++) pthread_join(l->th[i], NULL);
  l->n_th = 0;
  l->stop = false;
}

void qc_loader_free(qc_loader *l)
{
  if (!l) return;
  stop_workers(l);
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->cv_work);
  pthread_cond_destroy(&l->cv_ready);
  if (l->slots)
    for (int i = 0; i < l->n_slots; i++) free(l->slots[i].x), free(l->slots[i].y),
                                           free(l->slots[i].idx);
  free(l->slots);
  free(l->th);
  free(l->perm);
  free(l->scratch0);
  free(l);
}

qc_loader *qc_loader_new(const qc_dataset *ds, const qc_loader_opts *o, qc_err *e)
{
  if (o->batch <= 0 || o->threads < 0 || o->threads > 256) {
    qc_err_set(e, QC_ERR_USAGE, "loader: batch must be positive and threads in 0..256");
    return NULL;
  }
  qc_loader *l = calloc(1, sizeof *l);
  if (!l) {
    qc_err_set(e, QC_ERR_NOMEM, "loader: out of memory");
    return NULL;
  }
  l->ds = ds;
  l->o = *o;
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv_work, NULL);
  pthread_cond_init(&l->cv_ready, NULL);
  l->sample_elems = ds->chw[0] * ds->chw[1] * ds->chw[2];
  l->n_batches = o->drop_last ? ds->n / o->batch : (ds->n + o->batch - 1) / o->batch;
  l->n_slots = o->threads == 0 ? 1 : o->prefetch > 0 ? o->prefetch : 2 * o->threads;
  if (l->n_slots > 64) l->n_slots = 64;
  l->perm = malloc(sizeof(int64_t) * (size_t)(ds->n ? ds->n : 1));
  l->slots = calloc((size_t)l->n_slots, sizeof *l->slots);
  l->th = calloc((size_t)(o->threads ? o->threads : 1), sizeof *l->th);
  l->scratch0 = malloc(sizeof(float) * (size_t)(l->sample_elems ? l->sample_elems : 1));
  bool ok = l->perm && l->slots && l->th && l->scratch0;
  for (int i = 0; ok && i < l->n_slots; i++) {
    slot *s = &l->slots[i];
    s->x = malloc(sizeof(float) * (size_t)(o->batch * l->sample_elems));
    s->y = malloc(sizeof(int64_t) * (size_t)o->batch);
    s->idx = malloc(sizeof(int64_t) * (size_t)o->batch);
    ok = s->x && s->y && s->idx;
  }
  if (!ok) {
    qc_err_set(e, QC_ERR_NOMEM, "loader: out of memory for %d batches of %lld samples",
               l->n_slots, (long long)o->batch);
    qc_loader_free(l);
    return NULL;
  }
  return l;
}

int64_t qc_loader_batches(const qc_loader *l) { return l->n_batches; }

qc_status qc_loader_start(qc_loader *l, int64_t epoch, qc_err *e)
{
  stop_workers(l);
  int64_t n = l->ds->n;
  for (int64_t i = 0; i < n; i++) l->perm[i] = i;
  if (l->o.shuffle) {
    /* Fisher-Yates from the epoch's own stream. */
    qc_rng r = qc_rng_derive(l->o.seed, (uint64_t)epoch, QC_RNG_SHUFFLE);
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)qc_rng_below(&r, (uint64_t)i + 1);
      int64_t t = l->perm[i];
      l->perm[i] = l->perm[j], l->perm[j] = t;
    }
  }
  l->epoch = epoch;
  l->next_claim = l->consumed = 0;
  l->holding = false;
  l->started = true;
  for (int i = 0; i < l->n_slots; i++) l->slots[i].batch = -1, l->slots[i].ready = false;
  for (int i = 0; i < l->o.threads; i++) {
    if (pthread_create(&l->th[i], NULL, worker, l) != 0) {
      stop_workers(l);
      l->started = false;
      return qc_err_set(e, QC_ERR_INTERNAL, "loader: cannot start worker thread %d", i);
    }
    l->n_th = i + 1;
  }
  return QC_OK;
}

static void to_batch(qc_loader *l, slot *s, int64_t b, qc_batch *out)
{
  int64_t n = l->o.batch;
  if ((b + 1) * n > l->ds->n) n = l->ds->n - b * n;
  memset(out, 0, sizeof *out);
  out->n = n;
  out->x.dtype = QC_DT_F32;
  out->x.rank = 4;
  out->x.dims[0] = n;
  for (int k = 0; k < 3; k++) out->x.dims[k + 1] = l->ds->chw[k];
  out->x.data = s->x;
  out->y.dtype = QC_DT_I64;
  out->y.rank = 1;
  out->y.dims[0] = n;
  out->y.data = s->y;
  out->index = s->idx;
}

qc_status qc_loader_next(qc_loader *l, qc_batch *b, bool *done, qc_err *e)
{
  *done = false;
  if (!l->started) return qc_err_set(e, QC_ERR_USAGE, "loader: qc_loader_start not called");
  if (l->o.threads == 0) {
    if (l->consumed >= l->n_batches) return *done = true, QC_OK;
    slot *s = &l->slots[0];
    int64_t k = l->consumed++;
    qc_status st = fill_batch(l, k, s, l->scratch0, e);
    if (st != QC_OK) return st;
    to_batch(l, s, k, b);
    return QC_OK;
  }
  pthread_mutex_lock(&l->mu);
  if (l->holding) {
    /* Release the batch handed out last time: its slot may now be refilled. */
    l->slots[l->consumed % l->n_slots].batch = -1;
    l->consumed++;
    l->holding = false;
    pthread_cond_broadcast(&l->cv_work);
  }
  if (l->consumed >= l->n_batches) {
    pthread_mutex_unlock(&l->mu);
    return *done = true, QC_OK;
  }
  int64_t k = l->consumed;
  slot *s = &l->slots[k % l->n_slots];
  while (!(s->batch == k && s->ready)) pthread_cond_wait(&l->cv_ready, &l->mu);
  l->holding = true;
  pthread_mutex_unlock(&l->mu);
  if (s->status != QC_OK) return qc_err_set(e, s->status, "%s", s->err.msg);
  to_batch(l, s, k, b);
  return QC_OK;
}
