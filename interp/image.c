/* JPEG (libjpeg-turbo) and PNG (libpng) decoding, gray/RGB conversion, bilinear resize.
 *
 * Both libraries report fatal errors by calling a handler that must not return; ours longjmp
 * back to the decode function's setjmp with the message stored, so a corrupt file is an error
 * status, never an exit. Locals changed between setjmp and longjmp are volatile (C11 7.13.2.1). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <png.h>
#include "dataset.h"

#define IMG_MAX_BYTES ((long)1 << 30)
#define IMG_MAX_PIXELS ((int64_t)1 << 28)

void qc_image_free(qc_image *img)
{
  if (!img) return;
  free(img->px);
  img->px = NULL;
}

static qc_status image_alloc(qc_image *img, int h, int w, int c, const char *name, qc_err *e)
{
  img->h = h, img->w = w, img->c = c, img->px = NULL;
  if (h <= 0 || w <= 0 || (int64_t)h * w > IMG_MAX_PIXELS)
    return qc_err_set(e, QC_ERR_FORMAT, "%s: image size %dx%d outside 1..%lld pixels", name, w,
                      h, (long long)IMG_MAX_PIXELS);
  img->px = malloc((size_t)h * w * c);
  if (!img->px)
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for a %dx%dx%d image", name, w, h, c);
  return QC_OK;
}

/* In-place channel change: 3 -> 1 by PIL's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16
   (ITU-R 601-2 in 16-bit fixed point); 1 -> 3 by replication. */
static qc_status image_channels(qc_image *img, int c, const char *name, qc_err *e)
{
  if (c == 0 || c == img->c) return QC_OK;
  int64_t n = (int64_t)img->h * img->w;
  if (c == 1) {
    for (int64_t i = 0; i < n; i++) {
      const uint8_t *p = img->px + 3 * i;
      img->px[i] = (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
    }
    img->c = 1;
    return QC_OK;
  }
  uint8_t *px = malloc((size_t)n * 3);
  if (!px) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory converting to RGB", name);
  for (int64_t i = 0; i < n; i++) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = img->px[i];
  free(img->px);
  img->px = px;
  img->c = 3;
  return QC_OK;
}

/* ---- JPEG ------------------------------------------------------------------------------- */
typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr cinfo)
{
  jpeg_err *je = (jpeg_err *)cinfo->err;
  je->mgr.format_message(cinfo, je->msg);
  longjmp(je->jb, 1);
}

/* Warnings (level -1) mean corrupt data that libjpeg would paper over with gray: fatal, like
   PIL's "image file is truncated". Trace messages (level >= 0) are ignored. */
static void jpeg_message(j_common_ptr cinfo, int level)
{
  if (level < 0) jpeg_fail(cinfo);
}

static qc_status jpeg_decode(const unsigned char *buf, size_t len, const char *name,
                             qc_image *img, qc_err *e)
{
  struct jpeg_decompress_struct ci;
  jpeg_err je;
  unsigned char *volatile px = NULL;
  memset(&ci, 0, sizeof ci);
  ci.err = jpeg_std_error(&je.mgr);
  je.mgr.error_exit = jpeg_fail;
  je.mgr.emit_message = jpeg_message;
  je.msg[0] = 0;
  if (setjmp(je.jb)) {
    jpeg_destroy_decompress(&ci);
    free(px);
    img->px = NULL;
    return qc_err_set(e, QC_ERR_FORMAT, "%s: corrupt JPEG: %s", name, je.msg);
  }
  jpeg_create_decompress(&ci);
  jpeg_mem_src(&ci, buf, (unsigned long)len);
  jpeg_read_header(&ci, TRUE);
  if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&ci);
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s: CMYK JPEG is not supported", name);
  }
  int c = ci.num_components == 1 ? 1 : 3;
  ci.out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&ci);
  int w = (int)ci.output_width, h = (int)ci.output_height;
  if (w <= 0 || h <= 0 || (int64_t)w * h > IMG_MAX_PIXELS) {
    jpeg_destroy_decompress(&ci);
    return qc_err_set(e, QC_ERR_FORMAT, "%s: JPEG size %dx%d outside 1..%lld pixels", name, w, h,
                      (long long)IMG_MAX_PIXELS);
  }
  px = malloc((size_t)w * h * c);
  if (!px) {
    jpeg_destroy_decompress(&ci);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for a %dx%d JPEG", name, w, h);
  }
  while (ci.output_scanline < ci.output_height) {
    JSAMPROW row = px + (size_t)ci.output_scanline * w * c;
    jpeg_read_scanlines(&ci, &row, 1);
  }
  jpeg_finish_decompress(&ci);
  jpeg_destroy_decompress(&ci);
  img->h = h, img->w = w, img->c = c, img->px = px;
  return QC_OK;
}

/* ---- PNG -------------------------------------------------------------------------------- */
typedef struct {
  jmp_buf jb;
  char msg[256];
  const unsigned char *buf;
  size_t len, at;
} png_ctx;

static void png_fail(png_structp png, png_const_charp msg)
{
  png_ctx *pc = png_get_error_ptr(png);
  snprintf(pc->msg, sizeof pc->msg, "%s", msg);
  longjmp(pc->jb, 1);
}

static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
  png_ctx *pc = png_get_io_ptr(png);
  if (n > pc->len - pc->at) png_error(png, "file is truncated");
  memcpy(out, pc->buf + pc->at, n);
  pc->at += n;
}

static qc_status png_decode(const unsigned char *buf, size_t len, const char *name,
                            qc_image *img, qc_err *e)
{
  png_ctx pc = {.buf = buf, .len = len};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &pc, png_fail, png_warn);
  if (!png) return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory starting libpng", name);
  png_infop info = png_create_info_struct(png);
  unsigned char *volatile px = NULL;
  png_bytep *volatile rows = NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory starting libpng", name);
  }
  if (setjmp(pc.jb)) {
    png_destroy_read_struct(&png, &info, NULL);
    free(px);
    free(rows);
    return qc_err_set(e, QC_ERR_FORMAT, "%s: corrupt PNG: %s", name, pc.msg);
  }
  png_set_read_fn(png, &pc, png_read_mem);
  png_read_info(png, info);
  int ct = png_get_color_type(png, info);
  /* Everything becomes 8-bit gray or RGB: palette expands, low depths widen, alpha goes. */
  if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int c = png_get_channels(png, info);
  int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
  if (c != 1 && c != 3) png_error(png, "unexpected channel count after conversion");
  if (w <= 0 || h <= 0 || (int64_t)w * h > IMG_MAX_PIXELS) png_error(png, "image too large");
  px = malloc((size_t)w * h * c);
  rows = malloc(sizeof(png_bytep) * (size_t)h);
  if (!px || !rows) png_error(png, "out of memory");
  for (int y = 0; y < h; y++) rows[y] = px + (size_t)y * w * c;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  free(rows);
  img->h = h, img->w = w, img->c = c, img->px = px;
  return QC_OK;
}

qc_status qc_image_decode_buffer(const void *buf, size_t len, const char *name, int channels,
                                 qc_image *img, qc_err *e)
{
  const unsigned char *p = buf;
  img->px = NULL;
  if (channels != 0 && channels != 1 && channels != 3)
    return qc_err_set(e, QC_ERR_USAGE, "%s: channels must be 0, 1 or 3, not %d", name, channels);
  qc_status s;
  if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
    s = jpeg_decode(p, len, name, img, e);
  else if (len >= 8 && !png_sig_cmp(p, 0, 8))
    s = png_decode(p, len, name, img, e);
  else
    return qc_err_set(e, QC_ERR_FORMAT, "%s: not a JPEG or PNG file (bad magic bytes)", name);
  if (s != QC_OK) return s;
  s = image_channels(img, channels, name, e);
  if (s != QC_OK) qc_image_free(img);
  return s;
}

qc_status qc_image_decode(const char *path, int channels, qc_image *img, qc_err *e)
{
  img->px = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return qc_err_set(e, QC_ERR_IO, "%s: cannot seek", path);
  }
  if (n > IMG_MAX_BYTES) {
    fclose(f);
    return qc_err_set(e, QC_ERR_FORMAT, "%s: %ld bytes exceeds the image limit of %ld", path, n,
                      IMG_MAX_BYTES);
  }
  unsigned char *buf = malloc(n ? (size_t)n : 1);
  if (!buf) {
    fclose(f);
    return qc_err_set(e, QC_ERR_NOMEM, "%s: out of memory for %ld bytes", path, n);
  }
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  if (got != (size_t)n) {
    free(buf);
    return qc_err_set(e, QC_ERR_IO, "%s: short read (%zu of %ld bytes)", path, got, n);
  }
  qc_status s = qc_image_decode_buffer(buf, (size_t)n, path, channels, img, e);
  free(buf);
  return s;
}

/* ---- resize ----------------------------------------------------------------------------- */
/* Source coordinate of output pixel o: (o + 0.5) * in/out - 0.5, clamped at 0 (torch's
   area_pixel_compute_source_index for align_corners=False). */
static void bilinear_taps(int in, int out, int *i0, int *i1, float *f)
{
  float scale = (float)in / (float)out;
  for (int o = 0; o < out; o++) {
    float x = ((float)o + 0.5f) * scale - 0.5f;
    if (x < 0) x = 0;
    int a = (int)x;
    if (a > in - 1) a = in - 1;
    i0[o] = a;
    i1[o] = a < in - 1 ? a + 1 : a;
    f[o] = x - (float)a;
  }
}

qc_status qc_image_resize(const qc_image *src, int h, int w, qc_image *dst, qc_err *e)
{
  qc_status s = image_alloc(dst, h, w, src->c, "resize", e);
  if (s != QC_OK) return s;
  int *ix = malloc(sizeof(int) * 2 * ((size_t)w + h));
  float *fx = malloc(sizeof(float) * ((size_t)w + h));
  if (!ix || !fx) {
    free(ix), free(fx), qc_image_free(dst);
    return qc_err_set(e, QC_ERR_NOMEM, "resize: out of memory");
  }
  int *x0 = ix, *x1 = ix + w, *y0 = ix + 2 * w, *y1 = ix + 2 * w + h;
  float *wx = fx, *wy = fx + w;
  bilinear_taps(src->w, w, x0, x1, wx);
  bilinear_taps(src->h, h, y0, y1, wy);
  int c = src->c;
  for (int y = 0; y < h; y++) {
    const uint8_t *r0 = src->px + (size_t)y0[y] * src->w * c;
    const uint8_t *r1 = src->px + (size_t)y1[y] * src->w * c;
    for (int x = 0; x < w; x++)
      for (int k = 0; k < c; k++) {
        float top = r0[x0[x] * c + k] + wx[x] * (float)(r0[x1[x] * c + k] - r0[x0[x] * c + k]);
        float bot = r1[x0[x] * c + k] + wx[x] * (float)(r1[x1[x] * c + k] - r1[x0[x] * c + k]);
        float v = top + wy[y] * (bot - top);
        dst->px[((size_t)y * w + x) * c + k] = (uint8_t)lrintf(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  }
  free(ix), free(fx);
  return QC_OK;
}

qc_status qc_image_resize_crop(const qc_image *src, int short_side, int crop_h, int crop_w,
                               qc_image *dst, qc_err *e)
{
  if (short_side <= 0 || crop_h <= 0 || crop_w <= 0)
    return qc_err_set(e, QC_ERR_USAGE, "resize: sizes must be positive");
  /* torchvision: the long side is int(short_side * long / short), truncated. */
  int h, w;
  if (src->h <= src->w)
    h = short_side, w = (int)((int64_t)short_side * src->w / src->h);
  else
    w = short_side, h = (int)((int64_t)short_side * src->h / src->w);
  qc_image mid;
  qc_status s = qc_image_resize(src, h, w, &mid, e);
  if (s != QC_OK) return s;
  s = image_alloc(dst, crop_h, crop_w, src->c, "crop", e);
  if (s != QC_OK) {
    qc_image_free(&mid);
    return s;
  }
  /* CenterCrop: top = round((h - crop_h) / 2), Python's round (ties to even, as rint); regions
     outside the image are zero-padded. */
  int top = (int)rint((h - crop_h) / 2.0), left = (int)rint((w - crop_w) / 2.0);
  int c = src->c;
  for (int y = 0; y < crop_h; y++)
    for (int x = 0; x < crop_w; x++)
      for (int k = 0; k < c; k++) {
        int sy = y + top, sx = x + left;
        dst->px[((size_t)y * crop_w + x) * c + k] =
            sy >= 0 && sy < h && sx >= 0 && sx < w ? mid.px[((size_t)sy * w + sx) * c + k] : 0;
      }
  qc_image_free(&mid);
  return QC_OK;
}
