/* Data pipeline: Fashion-MNIST IDX, NPY, image folders (against PIL's and torch's decode and
   resize, built by dataset_ref.py), seeded augmentation and the threaded loader. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "data.h"
#include "dataset.h"
#include "testutil.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"

static char fix[512]; /* fixture folder, "" when python could not build it */

static int setup_fixtures(void)
{
  snprintf(fix, sizeof fix, "%s/dataset_fixtures_XXXXXX", QC_BINARY_DIR);
  if (!mkdtemp(fix)) return fix[0] = 0, 0;
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/interp/dataset_ref.py %s", QC_SOURCE_DIR,
           fix);
  if (system(cmd) != 0) fix[0] = 0;
  return 0;
}

static int cleanup_fixtures(void)
{
  if (fix[0]) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fix);
    if (system(cmd) != 0) return 0;
  }
  return 0;
}

static bool have_fix(void)
{
  if (!fix[0]) fprintf(stderr, "SKIPPED: /usr/bin/python3 with PIL and torch unavailable\n");
  return fix[0] != 0;
}

static bool have_fmnist(void)
{
  if (access(FMNIST "/t10k-labels-idx1-ubyte.gz", R_OK) == 0) return true;
  fprintf(stderr, "SKIPPED: " FMNIST " missing (Debian dataset-fashion-mnist)\n");
  return false;
}

/* ---- Fashion-MNIST ------------------------------------------------------------------------ */
static void test_fmnist_idx(void)
{
  if (!have_fmnist()) return;
  static const struct {
    bool train;
    int64_t n, sum0;
    int labels[10];
  } want[] = {{true, 60000, 76247, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}},
              {false, 10000, 33456, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}}};
  for (int s = 0; s < 2; s++) {
    qc_err e = {0};
    qc_dataset *ds = qc_dataset_open_idx(FMNIST, want[s].train, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
    CU_ASSERT_EQUAL(qc_dataset_len(ds), want[s].n);
    CU_ASSERT_EQUAL(qc_dataset_classes(ds), 10);
    int64_t chw[3];
    qc_dataset_shape(ds, chw);
    CU_ASSERT(chw[0] == 1 && chw[1] == 28 && chw[2] == 28);
    float x[784];
    for (int i = 0; i < 10; i++) {
      int64_t y;
      CU_ASSERT_EQUAL(qc_dataset_get(ds, i, x, &y, &e), QC_OK);
      CU_ASSERT_EQUAL(y, want[s].labels[i]);
    }
    /* Pixel sum of image 0 (python over the raw bytes), through the [0, 1] scaling. */
    int64_t y, sum = 0;
    CU_ASSERT_EQUAL(qc_dataset_get(ds, 0, x, &y, &e), QC_OK);
    for (int p = 0; p < 784; p++) sum += (int64_t)(x[p] * 255.0f + 0.5f);
    CU_ASSERT_EQUAL(sum, want[s].sum0);
    qc_dataset_free(ds);
  }
  qc_err e = {0};
  CU_ASSERT_PTR_NULL(qc_dataset_open_idx("/nonexistent", true, &e));
  CU_ASSERT_STRING_EQUAL(e.msg, "/nonexistent: neither train-images-idx3-ubyte nor "
                                "train-images-idx3-ubyte.gz exists");
}

/* ---- loader ------------------------------------------------------------------------------ */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001B3ull;
  return h;
}

/* Hash of a whole epoch's batches (data, labels, indices); counts batches and samples. */
static uint64_t epoch_hash(const qc_dataset *ds, const qc_loader_opts *o, int64_t epoch,
                           int64_t *batches, int64_t *samples)
{
  qc_err e = {0};
  qc_loader *l = qc_loader_new(ds, o, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_EQUAL(qc_loader_start(l, epoch, &e), QC_OK);
  uint64_t h = 0xCBF29CE484222325ull;
  *batches = *samples = 0;
  for (;;) {
    qc_batch b;
    bool done;
    CU_ASSERT_EQUAL_FATAL(qc_loader_next(l, &b, &done, &e), QC_OK);
    if (done) break;
    CU_ASSERT(b.x.rank == 4 && b.x.dims[0] == b.n && b.y.dims[0] == b.n);
    h = fnv(h, b.x.data, sizeof(float) * (size_t)qc_tensor_elems(&b.x));
    h = fnv(h, b.y.data, sizeof(int64_t) * (size_t)b.n);
    h = fnv(h, b.index, sizeof(int64_t) * (size_t)b.n);
    ++*batches, *samples += b.n;
  }
  qc_loader_free(l);
  return h;
}

static void test_loader_determinism(void)
{
  if (!have_fmnist()) return;
  qc_err e = {0};
  qc_dataset *ds = qc_dataset_open_idx(FMNIST, false, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
  qc_loader_opts o = {.batch = 100, .shuffle = true, .seed = 42, .threads = 1,
                      .tf = {.pad = 4, .hflip = true, .n_norm = 1, .mean = {0.286f},
                             .std = {0.353f}}};
  int64_t nb, ns;
  uint64_t h1 = epoch_hash(ds, &o, 3, &nb, &ns);
  CU_ASSERT(nb == 100 && ns == 10000);
  o.threads = 3;
  o.prefetch = 2;
  CU_ASSERT_EQUAL(epoch_hash(ds, &o, 3, &nb, &ns), h1);
  o.threads = 0;
  CU_ASSERT_EQUAL(epoch_hash(ds, &o, 3, &nb, &ns), h1);
  o.threads = 3;
  o.prefetch = 0;
  CU_ASSERT_EQUAL(epoch_hash(ds, &o, 3, &nb, &ns), h1);
  CU_ASSERT_NOT_EQUAL(epoch_hash(ds, &o, 4, &nb, &ns), h1);
  o.seed = 43;
  CU_ASSERT_NOT_EQUAL(epoch_hash(ds, &o, 3, &nb, &ns), h1);
  /* drop_last: 10000 / 96 = 104 full batches, else 105 with a last one of 16. */
  o.batch = 96;
  o.drop_last = true;
  epoch_hash(ds, &o, 0, &nb, &ns);
  CU_ASSERT(nb == 104 && ns == 9984);
  o.drop_last = false;
  epoch_hash(ds, &o, 0, &nb, &ns);
  CU_ASSERT(nb == 105 && ns == 10000);
  qc_dataset_free(ds);
}

static void test_loader_shuffle_permutation(void)
{
  if (!have_fmnist()) return;
  qc_err e = {0};
  qc_dataset *ds = qc_dataset_open_idx(FMNIST, false, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
  qc_loader_opts o = {.batch = 128, .shuffle = true, .seed = 1, .threads = 2};
  qc_loader *l = qc_loader_new(ds, &o, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  static int64_t order[2][10000];
  for (int ep = 0; ep < 2; ep++) {
    CU_ASSERT_EQUAL(qc_loader_start(l, ep, &e), QC_OK);
    static unsigned char seen[10000];
    memset(seen, 0, sizeof seen);
    int64_t k = 0, fixed = 0;
    for (;;) {
      qc_batch b;
      bool done;
      CU_ASSERT_EQUAL_FATAL(qc_loader_next(l, &b, &done, &e), QC_OK);
      if (done) break;
      float x[784];
      for (int64_t j = 0; j < b.n; j++, k++) {
        int64_t i = b.index[j], y;
        CU_ASSERT_FATAL(i >= 0 && i < 10000);
        seen[i]++;
        order[ep][k] = i;
        fixed += i == k;
        /* Without transforms the batch holds exactly the dataset's sample. */
        CU_ASSERT_EQUAL(qc_dataset_get(ds, i, x, &y, &e), QC_OK);
        CU_ASSERT_EQUAL(((int64_t *)b.y.data)[j], y);
        CU_ASSERT(memcmp((float *)b.x.data + j * 784, x, sizeof x) == 0);
      }
    }
    CU_ASSERT_EQUAL(k, 10000);
    int64_t ones = 0;
    for (int i = 0; i < 10000; i++) ones += seen[i] == 1;
    CU_ASSERT_EQUAL(ones, 10000);
    CU_ASSERT(fixed < 20); /* a random permutation fixes ~1 point */
  }
  CU_ASSERT(memcmp(order[0], order[1], sizeof order[0]) != 0);
  /* Abandoning an epoch midway and restarting it reproduces it; free joins cleanly. */
  qc_batch b;
  bool done;
  CU_ASSERT_EQUAL(qc_loader_start(l, 1, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_loader_next(l, &b, &done, &e), QC_OK);
  CU_ASSERT(!done && memcmp(b.index, order[1], 128 * sizeof(int64_t)) == 0);
  qc_loader_free(l);
  qc_dataset_free(ds);
}

/* ---- augmentation statistics ------------------------------------------------------------- */
static void test_transform_stats(void)
{
  enum { N = 20000, S = 17 };
  qc_transform tf = {.hflip = true}, tc = {.pad = 4};
  int64_t flips = 0, dx_hist[9] = {0}, dy_hist[9] = {0}, lost = 0;
  static float x[S * S], scratch[S * S];
  qc_err e = {0};
  for (int64_t i = 0; i < N; i++) {
    /* A ramp row: flipped iff its first element becomes the last value. */
    for (int p = 0; p < 8; p++) x[p] = (float)p;
    qc_rng r = qc_rng_derive(5, 0, (uint64_t)i);
    CU_ASSERT_EQUAL_FATAL(qc_transform_apply(&tf, (const int64_t[3]){1, 1, 8}, x, scratch, &r,
                                             &e), QC_OK);
    flips += x[0] == 7.0f;
    /* One hot pixel at the centre of 17 x 17 lands at (8 - dy, 8 - dx). */
    memset(x, 0, sizeof x);
    x[8 * S + 8] = 1.0f;
    r = qc_rng_derive(5, 0, (uint64_t)i);
    CU_ASSERT_EQUAL_FATAL(qc_transform_apply(&tc, (const int64_t[3]){1, S, S}, x, scratch, &r,
                                             &e), QC_OK);
    int at = -1, ones = 0;
    for (int p = 0; p < S * S; p++)
      if (x[p] != 0.0f) at = p, ones++;
    if (ones != 1 || abs(at / S - 8) > 4 || abs(at % S - 8) > 4) {
      lost++;
      continue;
    }
    dy_hist[8 - at / S + 4]++;
    dx_hist[8 - at % S + 4]++;
  }
  CU_ASSERT_EQUAL(lost, 0);
  /* Binomial(20000, 1/2): sd 71, bound 4.2 sd. Offsets uniform on 9 values: ~2222, sd 44. */
  CU_ASSERT(flips > N / 2 - 300 && flips < N / 2 + 300);
  for (int k = 0; k < 9; k++) {
    CU_ASSERT(dx_hist[k] > N / 9 - 200 && dx_hist[k] < N / 9 + 200);
    CU_ASSERT(dy_hist[k] > N / 9 - 200 && dy_hist[k] < N / 9 + 200);
  }
  /* Normalisation per channel: (x - mean) / std. */
  float v[2] = {0.5f, 0.25f};
  qc_transform tn = {.n_norm = 2, .mean = {0.5f, 0.5f}, .std = {0.5f, 0.25f}};
  qc_rng r = qc_rng_derive(0, 0, 0);
  CU_ASSERT_EQUAL(qc_transform_apply(&tn, (const int64_t[3]){2, 1, 1}, v, scratch, &r, &e),
                  QC_OK);
  CU_ASSERT(v[0] == 0.0f && v[1] == -1.0f);
}

/* ---- images ------------------------------------------------------------------------------ */
static int cmp_ref(const qc_image *img, const char *ref, int tol)
{
  char p[700];
  snprintf(p, sizeof p, "%s/ref/%s", fix, ref);
  qc_tensor t;
  qc_err e = {0};
  if (qc_npy_read(p, &t, &e) != QC_OK) return fprintf(stderr, "%s\n", e.msg), -1;
  int c = t.rank == 3 ? (int)t.dims[2] : 1;
  int bad = t.dtype != QC_DT_U8 || t.dims[0] != img->h || t.dims[1] != img->w || c != img->c;
  int64_t n = (int64_t)img->h * img->w * img->c, worst = 0;
  for (int64_t i = 0; !bad && i < n; i++) {
    int64_t d = llabs((int64_t)img->px[i] - ((uint8_t *)t.data)[i]);
    if (d > worst) worst = d;
  }
  free(t.data);
  if (bad || worst > tol) fprintf(stderr, "%s: shape mismatch %d or max diff %lld\n", ref, bad,
                                  (long long)worst);
  return bad || worst > tol ? 1 : 0;
}

static void test_image_decode_vs_pil(void)
{
  if (!have_fix()) return;
  static const struct {
    const char *rel, *name;
    int native_c;
  } im[] = {{"ant/a1.png", "a1.png", 3},  {"ant/a2.JPG", "a2.JPG", 3},
            {"cat/c1.png", "c1.png", 3},  {"cat/c2.png", "c2.png", 3},
            {"dog/d1.png", "d1.png", 1},  {"dog/d2.png", "d2.png", 1},
            {"dog/d3.jpeg", "d3.jpeg", 1}};
  for (size_t k = 0; k < sizeof im / sizeof im[0]; k++) {
    char p[700], ref[64];
    snprintf(p, sizeof p, "%s/root/%s", fix, im[k].rel);
    for (int c = 0; c <= 3; c += c == 0 ? 1 : 2) {
      qc_image img;
      qc_err e = {0};
      CU_ASSERT_EQUAL_FATAL(qc_image_decode(p, c, &img, &e), QC_OK);
      CU_ASSERT_EQUAL(img.c, c ? c : im[k].native_c);
      snprintf(ref, sizeof ref, "%s.%s.npy", im[k].name, img.c == 1 ? "l" : "rgb");
      CU_ASSERT_EQUAL(cmp_ref(&img, ref, 0), 0);
      qc_image_free(&img);
    }
  }
}

static void test_image_resize(void)
{
  if (!have_fix()) return;
  char p[700];
  snprintf(p, sizeof p, "%s/root/ant/a1.png", fix);
  qc_image img, out;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_image_decode(p, 3, &img, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_image_resize(&img, 7, 11, &out, &e), QC_OK);
  CU_ASSERT_EQUAL(cmp_ref(&out, "resize_7x11.npy", 1), 0);
  qc_image_free(&out);
  CU_ASSERT_EQUAL_FATAL(qc_image_resize_crop(&img, 6, 5, 5, &out, &e), QC_OK);
  CU_ASSERT_EQUAL(cmp_ref(&out, "crop_6_5x5.npy", 1), 0);
  qc_image_free(&out);
  qc_image_free(&img);
}

static void test_image_errors(void)
{
  if (!have_fix()) return;
  char p[700], want[1024];
  qc_image img;
  qc_err e = {0};
  snprintf(p, sizeof p, "%s/bad/k/trunc.jpg", fix);
  CU_ASSERT_EQUAL(qc_image_decode(p, 3, &img, &e), QC_ERR_FORMAT);
  snprintf(want, sizeof want, "%s: corrupt JPEG: Premature end of JPEG file", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_err_clear(&e);
  snprintf(p, sizeof p, "%s/trunc.png", fix);
  CU_ASSERT_EQUAL(qc_image_decode(p, 3, &img, &e), QC_ERR_FORMAT);
  snprintf(want, sizeof want, "%s: corrupt PNG: file is truncated", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_err_clear(&e);
  snprintf(p, sizeof p, "%s/garbage.jpg", fix);
  CU_ASSERT_EQUAL(qc_image_decode(p, 3, &img, &e), QC_ERR_FORMAT);
  snprintf(want, sizeof want, "%s: not a JPEG or PNG file (bad magic bytes)", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_err_clear(&e);
  snprintf(p, sizeof p, "%s/missing.png", fix);
  CU_ASSERT_EQUAL(qc_image_decode(p, 3, &img, &e), QC_ERR_IO);
  snprintf(want, sizeof want, "%s: cannot open: No such file or directory", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
}

/* ---- image folders ----------------------------------------------------------------------- */
static void test_folder_dataset(void)
{
  if (!have_fix()) return;
  char p[700];
  snprintf(p, sizeof p, "%s/root", fix);
  qc_err e = {0};
  qc_folder_opts fo = {.channels = 3, .height = 9, .width = 13};
  qc_dataset *ds = qc_dataset_open_folder(p, &fo, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
  CU_ASSERT_EQUAL(qc_dataset_classes(ds), 3);
  CU_ASSERT_STRING_EQUAL(qc_dataset_class_name(ds, 0), "ant");
  CU_ASSERT_STRING_EQUAL(qc_dataset_class_name(ds, 2), "dog");
  CU_ASSERT_EQUAL_FATAL(qc_dataset_len(ds), 7); /* notes.txt and .hidden are skipped */
  static const int labels[7] = {0, 0, 1, 1, 2, 2, 2};
  float x[3 * 9 * 13];
  for (int i = 0; i < 7; i++) {
    int64_t y;
    CU_ASSERT_EQUAL(qc_dataset_get(ds, i, x, &y, &e), QC_OK);
    CU_ASSERT_EQUAL(y, labels[i]);
  }
  char want[800];
  snprintf(want, sizeof want, "%s/root/cat/c2.png", fix);
  CU_ASSERT_STRING_EQUAL(qc_dataset_sample_path(ds, 3), want);
  /* a1.png already is 9 x 13: CHW floats are PIL's pixels / 255. */
  int64_t y;
  CU_ASSERT_EQUAL(qc_dataset_get(ds, 0, x, &y, &e), QC_OK);
  char rp[700];
  snprintf(rp, sizeof rp, "%s/ref/a1.png.rgb.npy", fix);
  qc_tensor t;
  CU_ASSERT_EQUAL_FATAL(qc_npy_read(rp, &t, &e), QC_OK);
  int bad = 0;
  for (int k = 0; k < 3; k++)
    for (int q = 0; q < 9 * 13; q++) bad += x[k * 117 + q] != ((uint8_t *)t.data)[q * 3 + k] / 255.0f;
  CU_ASSERT_EQUAL(bad, 0);
  free(t.data);
  /* Through the loader, threaded; every image resized to 9 x 13. */
  qc_loader_opts o = {.batch = 3, .threads = 2};
  qc_loader *l = qc_loader_new(ds, &o, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_EQUAL(qc_loader_start(l, 0, &e), QC_OK);
  int64_t seen = 0;
  for (;;) {
    qc_batch b;
    bool done;
    CU_ASSERT_EQUAL_FATAL(qc_loader_next(l, &b, &done, &e), QC_OK);
    if (done) break;
    CU_ASSERT(b.x.dims[1] == 3 && b.x.dims[2] == 9 && b.x.dims[3] == 13);
    for (int64_t j = 0; j < b.n; j++) CU_ASSERT_EQUAL(((int64_t *)b.y.data)[j], labels[seen + j]);
    seen += b.n;
  }
  CU_ASSERT_EQUAL(seen, 7);
  qc_loader_free(l);
  qc_dataset_free(ds);
}

static void test_folder_errors(void)
{
  if (!have_fix()) return;
  char p[700], want[1024];
  qc_err e = {0};
  qc_folder_opts fo = {.channels = 1, .height = 8, .width = 8, .short_side = 8};
  snprintf(p, sizeof p, "%s/empty_class", fix);
  CU_ASSERT_PTR_NULL(qc_dataset_open_folder(p, &fo, &e));
  snprintf(want, sizeof want, "%s/b: class folder has no .jpg, .jpeg or .png files", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_err_clear(&e);
  snprintf(p, sizeof p, "%s/no_classes", fix);
  CU_ASSERT_PTR_NULL(qc_dataset_open_folder(p, &fo, &e));
  snprintf(want, sizeof want, "%s: no class folders (expected root/<class>/<image>)", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_err_clear(&e);
  /* A truncated JPEG fails its batch with the file's name, on a worker thread. */
  snprintf(p, sizeof p, "%s/bad", fix);
  qc_dataset *ds = qc_dataset_open_folder(p, &fo, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
  qc_loader_opts o = {.batch = 1, .threads = 2};
  qc_loader *l = qc_loader_new(ds, &o, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(l);
  CU_ASSERT_EQUAL(qc_loader_start(l, 0, &e), QC_OK);
  qc_batch b;
  bool done;
  CU_ASSERT_EQUAL(qc_loader_next(l, &b, &done, &e), QC_OK);
  CU_ASSERT_EQUAL(qc_loader_next(l, &b, &done, &e), QC_ERR_FORMAT);
  snprintf(want, sizeof want, "%s/k/trunc.jpg: corrupt JPEG: Premature end of JPEG file", p);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  qc_loader_free(l);
  qc_dataset_free(ds);
}

/* ---- NPY --------------------------------------------------------------------------------- */
static void test_npy_dataset(void)
{
  char xp[600], yp[600];
  snprintf(xp, sizeof xp, "%s/dataset_npy_x.npy", QC_BINARY_DIR);
  snprintf(yp, sizeof yp, "%s/dataset_npy_y.npy", QC_BINARY_DIR);
  float xs[5 * 2 * 3];
  for (int i = 0; i < 30; i++) xs[i] = (float)i * 0.5f;
  int32_t ys[5] = {4, 0, 2, 1, 3};
  qc_tensor x = {.dtype = QC_DT_F32, .rank = 3, .dims = {5, 2, 3}, .data = xs};
  qc_tensor y = {.dtype = QC_DT_I32, .rank = 1, .dims = {5}, .data = ys};
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(xp, &x, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(yp, &y, &e), QC_OK);
  qc_dataset *ds = qc_dataset_open_npy(xp, yp, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
  int64_t chw[3], lab;
  qc_dataset_shape(ds, chw);
  CU_ASSERT(chw[0] == 1 && chw[1] == 2 && chw[2] == 3 && qc_dataset_len(ds) == 5);
  CU_ASSERT_EQUAL(qc_dataset_classes(ds), 5);
  float s[6];
  CU_ASSERT_EQUAL(qc_dataset_get(ds, 2, s, &lab, &e), QC_OK);
  CU_ASSERT(lab == 2 && s[0] == 6.0f && s[5] == 8.5f);
  qc_dataset_free(ds);
  /* Label count mismatch. */
  y.dims[0] = 4;
  CU_ASSERT_EQUAL_FATAL(qc_npy_write(yp, &y, &e), QC_OK);
  CU_ASSERT_PTR_NULL(qc_dataset_open_npy(xp, yp, &e));
  char want[800];
  snprintf(want, sizeof want, "%s: labels must have shape [5] to match the inputs", yp);
  CU_ASSERT_STRING_EQUAL(e.msg, want);
  remove(xp), remove(yp);
}

static CU_TestInfo tests[] = {
    {"Fashion-MNIST IDX: counts, first labels, pixels", test_fmnist_idx},
    {"loader: same seed, same batches at 0, 1, 3 threads; drop_last", test_loader_determinism},
    {"loader: shuffle is a permutation, differs per epoch", test_loader_shuffle_permutation},
    {"transforms: flip ~50%, crop offsets uniform, normalise", test_transform_stats},
    {"images: JPEG and PNG decode equal PIL's", test_image_decode_vs_pil},
    {"images: bilinear resize and resize+centre crop vs torch", test_image_resize},
    {"images: corrupt files are errors naming the file", test_image_errors},
    {"folders: classes sorted, labels, loader", test_folder_dataset},
    {"folders: empty class, no classes, corrupt image in a batch", test_folder_errors},
    {"NPY dataset: inputs and labels", test_npy_dataset},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {
    {"dataset", setup_fixtures, cleanup_fixtures, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};
QC_TEST_MAIN(suites)
