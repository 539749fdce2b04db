// classify_fashion: runs a compiled quantc artifact over the Fashion-MNIST test set with nothing
// but the runtime (runtime/*.c) and zlib (to read the .gz IDX files; the runtime itself does not
// use zlib).
//
// Build (from the repository root):
//   cc -std=c11 -O2 -Iruntime examples/classify_fashion.c runtime/*.c -lz -lm -lpthread -ldl -o classify_fashion
// Run:
//   quantc compile examples/fashion_resnet.onnx --batch 32 -o out/fashion
//   ./classify_fashion out/fashion [--threads N] [--mean 0.286] [--std 0.353] [--limit N]
//
// The model's first input is [B,1,28,28] (or any shape of B*784 elements) and its first output
// [B,10] logits; B, the batch, comes from the artifact. The input is normally f32 (an int8
// artifact quantizes in its first step); an integer input with a scale is quantized here
// (round half to even, saturating). Integer logits are compared as integers.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "quantc_rt.h"

#define DATA "/usr/share/datasets/fashion-mnist/"

static const char *const class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a gzip'd IDX file (magic 0x801 labels or 0x803 images); returns the payload. */
static unsigned char *read_idx(const char *path, uint32_t magic, uint32_t *count, uint32_t *rows,
                               uint32_t *cols)
{
  gzFile f = gzopen(path, "rb");
  if (!f) {
    fprintf(stderr, "classify_fashion: cannot open %s\n", path);
    return NULL;
  }
  unsigned char hdr[16];
  int hbytes = magic == 0x803 ? 16 : 8;
  unsigned char *data = NULL;
  if (gzread(f, hdr, (unsigned)hbytes) != hbytes || be32(hdr) != magic) {
    fprintf(stderr, "classify_fashion: %s: not an IDX file with magic 0x%x\n", path, magic);
    goto done;
  }
  *count = be32(hdr + 4);
  *rows = magic == 0x803 ? be32(hdr + 8) : 1;
  *cols = magic == 0x803 ? be32(hdr + 12) : 1;
  if (*count > 1000000 || *rows > 4096 || *cols > 4096) {
    fprintf(stderr, "classify_fashion: %s: implausible sizes\n", path);
    goto done;
  }
  size_t n = (size_t)*count * *rows * *cols;
  data = malloc(n ? n : 1);
  if (!data || gzread(f, data, (unsigned)n) != (int)n) {
    fprintf(stderr, "classify_fashion: %s: short read\n", path);
    free(data);
    data = NULL;
  }
done:
  gzclose(f);
  return data;
}

/* Stores v as element i of a tensor of dtype dt; integers are quantized with scale. */
static void store(void *base, uint32_t dt, float scale, size_t i, float v)
{
  if (dt == QCA_F32) {
    ((float *)base)[i] = v;
    return;
  }
  double q = nearbyint(v / scale);   /* default rounding mode: half to even */
  double lo = 0, hi = 0;
  switch (dt) {
  case QCA_U8: lo = 0, hi = 255; break;
  case QCA_I8: lo = -128, hi = 127; break;
  case QCA_I16: lo = -32768, hi = 32767; break;
  case QCA_U16: lo = 0, hi = 65535; break;
  default: lo = -2147483648.0, hi = 2147483647.0; break;
  }
  q = q < lo ? lo : q > hi ? hi : q;
  switch (dt) {
  case QCA_U8: ((uint8_t *)base)[i] = (uint8_t)q; break;
  case QCA_I8: ((int8_t *)base)[i] = (int8_t)q; break;
  case QCA_I16: ((int16_t *)base)[i] = (int16_t)q; break;
  case QCA_U16: ((uint16_t *)base)[i] = (uint16_t)q; break;
  case QCA_I32: ((int32_t *)base)[i] = (int32_t)q; break;
  default: ((int64_t *)base)[i] = (int64_t)q; break;
  }
}

/* Element i of a tensor as a double (the argmax needs only the order, so no scale). */
static double load(const void *base, uint32_t dt, size_t i)
{
  switch (dt) {
  case QCA_F32: return ((const float *)base)[i];
  case QCA_U8: return ((const uint8_t *)base)[i];
  case QCA_I8: return ((const int8_t *)base)[i];
  case QCA_I16: return ((const int16_t *)base)[i];
  case QCA_U16: return ((const uint16_t *)base)[i];
  case QCA_I32: return ((const int32_t *)base)[i];
  default: return (double)((const int64_t *)base)[i];
  }
}

static void usage(void)
{
  fprintf(stderr, "usage: classify_fashion DIR [--threads N] [--mean M] [--std S] [--limit N]\n"
                  "                        [--images IDX.gz] [--labels IDX.gz]\n");
}

int main(int argc, char **argv)
{
  const char *dir = NULL, *images = DATA "t10k-images-idx3-ubyte.gz",
             *labels = DATA "t10k-labels-idx1-ubyte.gz";
  double mean = 0.286, stdev = 0.353;   /* examples/fashion_resnet.json */
  int threads = 1;
  long limit = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-') {
      if (dir) { usage(); return 2; }
      dir = a;
      continue;
    }
    if (!v) { usage(); return 2; }
    i++;
    if (!strcmp(a, "--threads")) threads = atoi(v);
    else if (!strcmp(a, "--mean")) mean = atof(v);
    else if (!strcmp(a, "--std")) stdev = atof(v);
    else if (!strcmp(a, "--limit")) limit = atol(v);
    else if (!strcmp(a, "--images")) images = v;
    else if (!strcmp(a, "--labels")) labels = v;
    else { usage(); return 2; }
  }
  if (!dir || threads < 1 || !(stdev > 0)) { usage(); return 2; }

  qcrt_model *m = NULL;
  qcrt_err e = {0};
  if (qcrt_load(dir, threads, &m, &e) != QCRT_OK) {
    fprintf(stderr, "classify_fashion: %s: %s\n", qcrt_status_name(e.code), e.msg);
    return 1;
  }
  qcrt_tensor_info in, out;
  qcrt_input_info(m, 0, &in, &e);
  qcrt_output_info(m, 0, &out, &e);
  uint32_t in_es = qca_dtype_size(in.dtype), out_es = qca_dtype_size(out.dtype);
  int64_t batch = in.rank > 0 ? in.dims[0] : 1;
  size_t in_elems = in.bytes / in_es, out_elems = out.bytes / out_es;
  if (qcrt_num_inputs(m) != 1 || qcrt_num_outputs(m) < 1 || batch < 1 ||
      in_elems != (size_t)batch * 784 || out_elems != (size_t)batch * 10 ||
      (in.dtype != QCA_F32 && !(in.scale > 0))) {
    fprintf(stderr, "classify_fashion: %s: expected one input of [B,1,28,28] (f32, or integer with "
            "a scale) and logits [B,10] first; got input '%s' %s (%zu elements), output '%s' %s "
            "(%zu elements)\n", dir, in.name, qcrt_dtype_name(in.dtype), in_elems, out.name,
            qcrt_dtype_name(out.dtype), out_elems);
    qcrt_free(m);
    return 1;
  }

  uint32_t n_img, rows, cols, n_lab, one;
  unsigned char *px = read_idx(images, 0x803, &n_img, &rows, &cols);
  unsigned char *lab = read_idx(labels, 0x801, &n_lab, &one, &one);
  if (!px || !lab || n_img != n_lab || rows * cols != 784) {
    if (px && lab) fprintf(stderr, "classify_fashion: images and labels do not match\n");
    free(px);
    free(lab);
    qcrt_free(m);
    return 1;
  }
  size_t n = n_img;
  if (limit >= 0 && (size_t)limit < n) n = (size_t)limit;

  /* Every other output gets a buffer too (the runtime writes all of them). */
  int n_out = qcrt_num_outputs(m);
  void **outs = calloc((size_t)n_out, sizeof *outs);
  void *xin = malloc(in.bytes);
  int ok = outs && xin;
  for (int o = 0; ok && o < n_out; o++) {
    qcrt_tensor_info oi;
    qcrt_output_info(m, o, &oi, &e);
    ok = (outs[o] = malloc(oi.bytes ? oi.bytes : 1)) != NULL;
  }
  int *pred = malloc(n * sizeof *pred);
  if (!ok || !pred) {
    fprintf(stderr, "classify_fashion: out of memory\n");
    return 1;
  }

  size_t correct = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t first = 0; first < n; first += (size_t)batch) {
    size_t nb = n - first < (size_t)batch ? n - first : (size_t)batch;
    memset(xin, 0, in.bytes);   /* a short last batch is padded with zeros */
    for (size_t b = 0; b < nb; b++)
      for (size_t k = 0; k < 784; k++) {
        float v = (float)((px[(first + b) * 784 + k] / 255.0 - mean) / stdev);
        store(xin, in.dtype, in.scale, b * 784 + k, v);
      }
    const void *ins[1] = {xin};
    if (qcrt_run(m, ins, outs, &e) != QCRT_OK) {
      fprintf(stderr, "classify_fashion: run: %s\n", e.msg);
      return 1;
    }
    for (size_t b = 0; b < nb; b++) {
      int best = 0;
      for (int c = 1; c < 10; c++)   /* first maximum wins, as numpy's argmax */
        if (load(outs[0], out.dtype, b * 10 + c) > load(outs[0], out.dtype, b * 10 + best))
          best = c;
      pred[first + b] = best;
      correct += best == lab[first + b];
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

  printf("model: %s (%s), input '%s' %s, batch %lld, %d thread%s\n", dir, qcrt_target(m), in.name,
         qcrt_dtype_name(in.dtype), (long long)batch, threads, threads == 1 ? "" : "s");
  printf("accuracy: %zu / %zu = %.4f\n", correct, n, n ? (double)correct / (double)n : 0.0);
  printf("time: %.3f s, %.0f images/s\n", secs, secs > 0 ? (double)n / secs : 0.0);
  printf("first predictions:\n");
  for (size_t i = 0; i < n && i < 10; i++)
    printf("  %zu: %-11s (label %-11s)%s\n", i, class_names[pred[i]], class_names[lab[i]],
           pred[i] == lab[i] ? "" : "  wrong");

  for (int o = 0; o < n_out; o++) free(outs[o]);
  free(outs);
  free(xin);
  free(pred);
  free(px);
  free(lab);
  qcrt_free(m);
  return 0;
}
