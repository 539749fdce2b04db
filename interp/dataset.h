/* Training data: image decoding, datasets (IDX, NPY, ImageNet-layout folders), seeded
 * augmentation and a threaded batch loader.
 *
 * Determinism: every random choice comes from a qc_rng seeded by (seed, epoch, index) --
 * the shuffle from index QC_RNG_SHUFFLE, each sample's augmentation from its dataset index --
 * so batches are identical across runs and worker-thread counts. No global state. */
#ifndef QC_DATASET_H
#define QC_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ir.h"

/* ---- RNG: splitmix64 (Steele, Lea, Flood 2014), one 64-bit state ------------------------ */
typedef struct {
  uint64_t s;
} qc_rng;
#define QC_RNG_SHUFFLE UINT64_MAX
qc_rng qc_rng_derive(uint64_t seed, uint64_t epoch, uint64_t index);
uint64_t qc_rng_next(qc_rng *r);
double qc_rng_uniform(qc_rng *r);            /* [0, 1), 53 bits */
uint64_t qc_rng_below(qc_rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */

/* ---- images: 8-bit, HWC, 1 (gray) or 3 (RGB) channels ------------------------------------ */
typedef struct {
  int h, w, c;
  uint8_t *px; /* malloc'd h*w*c bytes */
} qc_image;

/* Decodes a JPEG (libjpeg-turbo) or PNG (libpng; gray, RGB, RGBA, palette, 1..16-bit; alpha
   dropped, 16-bit keeps the high byte), detected from its magic bytes. channels: 0 keeps the
   file's (1 or 3), 1 converts to gray with ITU-R 601-2 luma like PIL's convert("L"), 3 to RGB.
   Corrupt or truncated files (libjpeg warnings included) are QC_ERR_FORMAT naming the file. */
qc_status qc_image_decode(const char *path, int channels, qc_image *img, qc_err *e);
qc_status qc_image_decode_buffer(const void *buf, size_t len, const char *name, int channels,
                                 qc_image *img, qc_err *e);
void qc_image_free(qc_image *img);
/* Bilinear resize with half-pixel centres (torch's interpolate, align_corners=False, no
   antialias), rounded to 8 bits. */
qc_status qc_image_resize(const qc_image *src, int h, int w, qc_image *dst, qc_err *e);
/* torchvision's eval Resize(short) + CenterCrop(crop_h, crop_w): the shorter side becomes
   short_side (the other scaled, truncated like torchvision), then the centre is cropped. */
qc_status qc_image_resize_crop(const qc_image *src, int short_side, int crop_h, int crop_w,
                               qc_image *dst, qc_err *e);

/* ---- datasets ------------------------------------------------------------------------------
   A dataset yields samples as float CHW in [0, 1] (u8 data / 255; float data as stored) with an
   int64 label (-1 when the dataset has none). qc_dataset_get is safe from many threads. */
typedef struct qc_dataset qc_dataset;

/* MNIST / Fashion-MNIST: dir holds {train,t10k}-{images-idx3,labels-idx1}-ubyte, gz or raw. */
qc_dataset *qc_dataset_open_idx(const char *dir, bool train, qc_err *e);
/* inputs: NPY [N, C, H, W], [N, H, W] (one channel) or [N, D] (1x1xD); u8 or f32 or f64.
   labels (may be NULL): integer NPY [N]. */
qc_dataset *qc_dataset_open_npy(const char *inputs, const char *labels, qc_err *e);
/* root/<class>/<file>.{jpg,jpeg,png} (case-insensitive); classes sorted by name give labels
   0.., files sorted by name. Every image becomes channels x height x width: with short_side > 0
   resized so its shorter side is short_side then centre-cropped, else resized to height x
   width. A class folder without images, or a root without classes, is QC_ERR_INVALID. */
typedef struct {
  int channels; /* 1 or 3 */
  int height, width;
  int short_side;
} qc_folder_opts;
qc_dataset *qc_dataset_open_folder(const char *root, const qc_folder_opts *o, qc_err *e);
void qc_dataset_free(qc_dataset *ds);

int64_t qc_dataset_len(const qc_dataset *ds);
/* Sample shape (C, H, W). */
void qc_dataset_shape(const qc_dataset *ds, int64_t chw[3]);
int qc_dataset_classes(const qc_dataset *ds);              /* 0 if unknown */
const char *qc_dataset_class_name(const qc_dataset *ds, int k); /* folders only, else NULL */
const char *qc_dataset_sample_path(const qc_dataset *ds, int64_t i); /* folders only */
/* out: C*H*W floats. */
qc_status qc_dataset_get(const qc_dataset *ds, int64_t i, float *out, int64_t *label, qc_err *e);

/* ---- transforms, applied in order: random crop with zero padding, horizontal flip, then
   per-channel normalisation (x - mean) / std. ---------------------------------------------- */
typedef struct {
  int pad;      /* > 0: pad by pad zeros on each side, crop back to H x W at a random offset */
  bool hflip;   /* flip with probability 1/2 */
  int n_norm;   /* 0: none; else C (or 1: same for all channels) */
  float mean[4], std[4];
} qc_transform;
/* x: one CHW sample, modified in place; scratch holds C*H*W floats. */
qc_status qc_transform_apply(const qc_transform *t, const int64_t chw[3], float *x,
                             float *scratch, qc_rng *r, qc_err *e);

/* ---- loader --------------------------------------------------------------------------------- */
typedef struct {
  int64_t batch;
  bool shuffle, drop_last;
  uint64_t seed;
  int threads;  /* worker threads; 0 decodes on the caller's thread */
  int prefetch; /* batches decoded ahead; <= 0: 2 per worker */
  qc_transform tf;
} qc_loader_opts;

typedef struct {
  int64_t n;   /* samples in this batch */
  qc_tensor x; /* f32 [n, C, H, W] */
  qc_tensor y; /* i64 [n] */
  const int64_t *index; /* dataset index of each sample */
} qc_batch;

typedef struct qc_loader qc_loader;
qc_loader *qc_loader_new(const qc_dataset *ds, const qc_loader_opts *o, qc_err *e);
int64_t qc_loader_batches(const qc_loader *l);
/* Starts (or restarts) epoch `epoch`; stops any epoch in flight. */
qc_status qc_loader_start(qc_loader *l, int64_t epoch, qc_err *e);
/* Next batch of the epoch: *done is set at its end. The batch's memory belongs to the loader
   and stays valid until the next call. A sample that fails to load fails its batch. */
qc_status qc_loader_next(qc_loader *l, qc_batch *b, bool *done, qc_err *e);
void qc_loader_free(qc_loader *l);

#endif
