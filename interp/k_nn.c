/* fp32 reference kernels of the nn ops: convolutions (im2col + GEMM, direct depthwise), norms,
   pools, Gemm/MatMul and the softmax family, following the ONNX operator spec at opset 17.
   Output shapes come from shape inference (ir/infer_nn.c), and the window geometry from the same
   functions, so kernels trust them; what shape inference cannot see (the ops whose outputs are
   shaped like their input) is checked here. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "gemm.h"
#include "infer_nn.h"
#include "kernels.h"

#define F32(t) ((float *)(t)->data)
#define CF32(t) ((const float *)(t)->data)

static bool present(const qc_tensor *in, int n_in, int i)
{
  return i < n_in && in[i].dtype != QC_DT_UNDEF;
}

static qc_status need_f32(qc_kctx *k, const qc_node *n, const qc_tensor *t, const char *what)
{
  if (t->dtype != QC_DT_F32)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED,
                       "%s has dtype %s; the reference kernel handles f32 only", what,
                       qc_dtype_name(t->dtype));
  return QC_OK;
}

static void to_tinfo(const qc_tensor *t, qc_tinfo *ti)
{
  ti->dtype = t->dtype;
  ti->rank = t->rank;
  memcpy(ti->dims, t->dims, sizeof ti->dims);
  ti->data = t->data;
}

static int64_t prod(const int64_t *d, int from, int to)
{
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= d[i];
  return p;
}

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* Range [lo, hi) of positions o in [0, n_out) with 0 <= o * s + base < n_in. */
static void valid_range(int64_t base, int64_t s, int64_t n_in, int64_t n_out, int64_t *lo,
                        int64_t *hi)
{
  int64_t l = base >= 0 ? 0 : (-base + s - 1) / s;
  int64_t h = n_in - 1 - base < 0 ? 0 : (n_in - 1 - base) / s + 1;
  if (h > n_out) h = n_out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* ---- Conv ------------------------------------------------------------------------------- */

typedef struct {
  const qc_window *g;
  const float *x; /* one group's input channels */
  float *col;     /* (Cg * ksz) x outsp */
  int64_t insp, outsp, ksz;
} im2col_job;

/* Rows r = (c, kernel offset) of the column matrix: col[r][o] = x[c][o * s - pb + k * d], 0 in
   the padding. The last spatial axis is done as a run so stride-1 rows are plain copies. */
static void im2col_rows(void *arg, int64_t r0, int64_t r1, int worker)
{
  const im2col_job *J = arg;
  const qc_window *g = J->g;
  int L = g->nsp - 1;
  int64_t out_l = g->out[L], in_l = g->in[L], s_l = g->stride[L];
  int64_t outer = J->outsp / out_l;
  for (int64_t r = r0; r < r1; r++) {
    int64_t c = r / J->ksz, kidx = r % J->ksz, kpos[QC_MAX_RANK], opos[QC_MAX_RANK] = {0};
    for (int a = L; a >= 0; a--) {
      kpos[a] = kidx % g->kernel[a];
      kidx /= g->kernel[a];
    }
    const float *xc = J->x + c * J->insp;
    float *dst = J->col + r * J->outsp;
    int64_t base = kpos[L] * g->dilation[L] - g->pad_begin[L], lo, hi;
    valid_range(base, s_l, in_l, out_l, &lo, &hi);
    for (int64_t o = 0; o < outer; o++) {
      float *drow = dst + o * out_l;
      int64_t off = 0;
      bool inside = true;
      for (int a = 0; a < L && inside; a++) {
        int64_t ii = opos[a] * g->stride[a] - g->pad_begin[a] + kpos[a] * g->dilation[a];
        inside = ii >= 0 && ii < g->in[a];
        off = off * g->in[a] + ii;
      }
      if (!inside) {
        memset(drow, 0, sizeof(float) * (size_t)out_l);
      } else {
        const float *xrow = xc + off * in_l;
        for (int64_t ow = 0; ow < lo; ow++) drow[ow] = 0.0f;
        if (s_l == 1)
          memcpy(drow + lo, xrow + base + lo, sizeof(float) * (size_t)(hi - lo));
        else
          for (int64_t ow = lo; ow < hi; ow++) drow[ow] = xrow[base + ow * s_l];
        for (int64_t ow = hi; ow < out_l; ow++) drow[ow] = 0.0f;
      }
      for (int a = L - 1; a >= 0; a--) { /* odometer over the outer output axes */
        if (++opos[a] < g->out[a]) break;
        opos[a] = 0;
      }
    }
  }
}

typedef struct {
  const qc_window *g;
  const float *x, *w, *b;
  float *y;
  int64_t c, m, mg; /* input channels, output channels, outputs per group */
} dw_job;

/* Depthwise 2-D convolution (one input channel per group), one output plane per item. */
static void depthwise_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const dw_job *J = arg;
  const qc_window *g = J->g;
  int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
  int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
  for (int64_t p = p0; p < p1; p++) {
    int64_t nb = p / J->m, m = p % J->m;
    const float *xp = J->x + (nb * J->c + m / J->mg) * H * W;
    const float *wp = J->w + m * KH * KW;
    float *yp = J->y + p * OH * OW;
    float bias = J->b ? J->b[m] : 0.0f;
    for (int64_t oh = 0; oh < OH; oh++) {
      float *yr = yp + oh * OW;
      for (int64_t ow = 0; ow < OW; ow++) yr[ow] = bias;
      for (int64_t kh = 0; kh < KH; kh++) {
        int64_t ih = oh * sh - g->pad_begin[0] + kh * g->dilation[0];
        if (ih < 0 || ih >= H) continue;
        const float *xr = xp + ih * W;
        for (int64_t kw = 0; kw < KW; kw++) {
          float wv = wp[kh * KW + kw];
          int64_t base = kw * g->dilation[1] - g->pad_begin[1], lo, hi;
          valid_range(base, sw, W, OW, &lo, &hi);
          if (sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[base + ow];
          else
            for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[base + ow * sw];
        }
      }
    }
  }
}

/* Each output row m of a block gets its bias (or 0 when there is none). */
static void fill_rows(float *y, const float *bias, int64_t rows, int64_t len)
{
  for (int64_t r = 0; r < rows; r++)
    for (int64_t i = 0; i < len; i++) y[r * len + i] = bias[r];
}

static qc_status k_conv(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0], *w = &in[1], *b = present(in, n_in, 2) ? &in[2] : NULL;
  qc_status st;
  if ((st = need_f32(k, n, x, "X")) || (st = need_f32(k, n, w, "W")) ||
      (b && (st = need_f32(k, n, b, "B"))))
    return st;
  qc_tinfo xi, wi;
  to_tinfo(x, &xi);
  to_tinfo(w, &wi);
  qc_window g;
  if ((st = qc_conv_window(n, &xi, &wi, &g, k->err))) return st;
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = g.group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t insp = prod(g.in, 0, g.nsp), outsp = prod(g.out, 0, g.nsp);
  int64_t ksz = prod(g.kernel, 0, g.nsp), Kg = Cg * ksz;
  const float *X = CF32(x), *Wt = CF32(w), *B = b ? CF32(b) : NULL;
  float *Y = F32(&out[0]);
  if (N == 0 || M == 0 || outsp == 0) return QC_OK;
  if (Cg == 1 && G > 1 && g.nsp == 2) {
    dw_job J = {&g, X, Wt, B, Y, C, M, Mg};
    qc_pool_run(k->pool, N * M, 1, depthwise_planes, &J);
    return QC_OK;
  }
  bool pointwise = true;
  for (int i = 0; i < g.nsp; i++)
    pointwise = pointwise && g.kernel[i] == 1 && g.stride[i] == 1 && g.pad_begin[i] == 0 &&
                g.pad_end[i] == 0;
  size_t col_bytes = pointwise ? 0 : round64(sizeof(float) * (size_t)(Kg * outsp));
  char *ws = k->scratch(k, col_bytes + qc_sgemm_ws_bytes(Mg, outsp, Kg));
  if (!ws) return k->err->code;
  float *col = (float *)ws;
  for (int64_t nb = 0; nb < N; nb++)
    for (int64_t gi = 0; gi < G; gi++) {
      const float *xg = X + (nb * C + gi * Cg) * insp;
      float *yg = Y + (nb * M + gi * Mg) * outsp;
      if (B) fill_rows(yg, B + gi * Mg, Mg, outsp);
      if (!pointwise) {
        im2col_job J = {&g, xg, col, insp, outsp, ksz};
        qc_pool_run(k->pool, Kg, 4, im2col_rows, &J);
      }
      qc_sgemm(k->pool, false, false, Mg, outsp, Kg, 1.0f, Wt + gi * Mg * Kg, Kg,
               pointwise ? xg : col, outsp, B ? 1.0f : 0.0f, yg, outsp, ws + col_bytes);
    }
  return QC_OK;
}

/* ---- ConvTranspose ---------------------------------------------------------------------- */

typedef struct {
  const qc_window *g;
  const float *col; /* (Mg * ksz) x insp for one group */
  const float *b;   /* this group's biases or NULL */
  float *y;         /* this group's first output plane */
  int64_t insp, outsp, ksz;
} col2im_job;

/* Scatter-adds the columns of output channels [m0, m1) into their planes:
   y[m][i * s - pb + k * d] += col[(m, k)][i]. */
static void col2im_planes(void *arg, int64_t m0, int64_t m1, int worker)
{
  const col2im_job *J = arg;
  const qc_window *g = J->g;
  int L = g->nsp - 1;
  int64_t in_l = g->in[L], out_l = g->out[L], s_l = g->stride[L];
  int64_t outer = J->insp / in_l;
  for (int64_t m = m0; m < m1; m++) {
    float *yp = J->y + m * J->outsp;
    float bias = J->b ? J->b[m] : 0.0f;
    for (int64_t i = 0; i < J->outsp; i++) yp[i] = bias;
    for (int64_t kidx = 0; kidx < J->ksz; kidx++) {
      int64_t kpos[QC_MAX_RANK], ipos[QC_MAX_RANK] = {0}, kk = kidx;
      for (int a = L; a >= 0; a--) {
        kpos[a] = kk % g->kernel[a];
        kk /= g->kernel[a];
      }
      const float *cr = J->col + (m * J->ksz + kidx) * J->insp;
      /* input positions i on the last axis landing inside: 0 <= i * s + base < out */
      int64_t base = kpos[L] * g->dilation[L] - g->pad_begin[L], lo, hi;
      valid_range(base, s_l, out_l, in_l, &lo, &hi);
      for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        bool inside = true;
        for (int a = 0; a < L && inside; a++) {
          int64_t oo = ipos[a] * g->stride[a] - g->pad_begin[a] + kpos[a] * g->dilation[a];
          inside = oo >= 0 && oo < g->out[a];
          off = off * g->out[a] + oo;
        }
        if (inside) {
          float *yr = yp + off * out_l;
          const float *c = cr + o * in_l;
          for (int64_t i = lo; i < hi; i++) yr[base + i * s_l] += c[i];
        }
        for (int a = L - 1; a >= 0; a--) {
          if (++ipos[a] < g->in[a]) break;
          ipos[a] = 0;
        }
      }
    }
  }
}

static qc_status k_conv_transpose(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                  qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0], *w = &in[1], *b = present(in, n_in, 2) ? &in[2] : NULL;
  qc_status st;
  if ((st = need_f32(k, n, x, "X")) || (st = need_f32(k, n, w, "W")) ||
      (b && (st = need_f32(k, n, b, "B"))))
    return st;
  qc_tinfo xi, wi;
  to_tinfo(x, &xi);
  to_tinfo(w, &wi);
  qc_window g;
  if ((st = qc_conv_transpose_window(n, &xi, &wi, &g, k->err))) return st;
  int64_t N = x->dims[0], C = x->dims[1], G = g.group, Cg = C / G, Mg = w->dims[1];
  int64_t M = Mg * G;
  int64_t insp = prod(g.in, 0, g.nsp), outsp = prod(g.out, 0, g.nsp);
  int64_t ksz = prod(g.kernel, 0, g.nsp), rows = Mg * ksz;
  float *Y = F32(&out[0]);
  if (N == 0 || M == 0 || outsp == 0) return QC_OK;
  size_t col_bytes = round64(sizeof(float) * (size_t)(rows * insp));
  char *ws = k->scratch(k, col_bytes + qc_sgemm_ws_bytes(rows, insp, Cg));
  if (!ws) return k->err->code;
  float *col = (float *)ws;
  for (int64_t nb = 0; nb < N; nb++)
    for (int64_t gi = 0; gi < G; gi++) {
      /* col = W_g^T X_g: W_g is Cg x (Mg * ksz), X_g is Cg x insp */
      qc_sgemm(k->pool, true, false, rows, insp, Cg, 1.0f, CF32(w) + gi * Cg * rows, rows,
               CF32(x) + (nb * C + gi * Cg) * insp, insp, 0.0f, col, insp, ws + col_bytes);
      col2im_job J = {&g, col, b ? CF32(b) + gi * Mg : NULL, Y + (nb * M + gi * Mg) * outsp,
                      insp, outsp, ksz};
      qc_pool_run(k->pool, Mg, 1, col2im_planes, &J);
    }
  return QC_OK;
}

/* ---- per-channel affine ops: BatchNormalization, InstanceNormalization ------------------ */

typedef struct {
  const float *x;
  float *y;
  const float *a, *b; /* y = x * a[c] + b[c] */
  int64_t c, plane;
} affine_job;

static void affine_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const affine_job *J = arg;
  for (int64_t p = p0; p < p1; p++) {
    float a = J->a[p % J->c], b = J->b[p % J->c];
    const float *x = J->x + p * J->plane;
    float *y = J->y + p * J->plane;
    for (int64_t i = 0; i < J->plane; i++) y[i] = x[i] * a + b;
  }
}

/* Checks a per-channel parameter: f32, one element per channel. */
static qc_status channel_param(qc_kctx *k, const qc_node *n, const qc_tensor *t,
                               const char *what, int64_t c)
{
  qc_status st = need_f32(k, n, t, what);
  if (st) return st;
  if (t->rank != 1 || t->dims[0] != c)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "%s must have shape [%lld]", what,
                       (long long)c);
  return QC_OK;
}

typedef struct {
  const float *x;
  double *stats; /* per channel: mean, population variance */
  int64_t n, c, plane;
} bn_stats_job;

/* Training mode's batch statistics of channels [c0, c1) over the batch and spatial axes. */
static void bn_stats(void *arg, int64_t c0, int64_t c1, int worker)
{
  const bn_stats_job *J = arg;
  double cnt = (double)(J->n * J->plane);
  for (int64_t c = c0; c < c1; c++) {
    double sum = 0, sq = 0;
    for (int64_t b = 0; b < J->n; b++) {
      const float *x = J->x + (b * J->c + c) * J->plane;
      for (int64_t i = 0; i < J->plane; i++) sum += x[i];
    }
    double mean = sum / cnt;
    for (int64_t b = 0; b < J->n; b++) {
      const float *x = J->x + (b * J->c + c) * J->plane;
      for (int64_t i = 0; i < J->plane; i++) sq += (x[i] - mean) * (x[i] - mean);
    }
    J->stats[2 * c] = mean;
    J->stats[2 * c + 1] = sq / cnt;
  }
}

/* ONNX BatchNormalization: y = (x - mean) / sqrt(var + epsilon) * scale + B, folded per channel
   into y = x * a + b. Inference uses input_mean/input_var; training_mode uses the batch's mean
   and population variance and also outputs running_mean = input_mean * momentum + mean *
   (1 - momentum), and running_var likewise. */
static qc_status k_batchnorm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  static const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
  const qc_tensor *x = &in[0];
  qc_status st = need_f32(k, n, x, "X");
  if (st) return st;
  int64_t C = x->dims[1], plane = prod(x->dims, 2, x->rank), N = x->dims[0];
  for (int i = 1; i < 5; i++)
    if ((st = channel_param(k, n, &in[i], names[i], C))) return st;
  bool training = qc_attr_i(n, "training_mode", 0) != 0;
  for (int i = 1; i < n_out; i++)
    if (out[i].dtype != QC_DT_UNDEF && (st = need_f32(k, n, &out[i], "running_mean/var")))
      return st;
  size_t ab_bytes = sizeof(float) * 2 * (size_t)(C + 1);
  char *ws = k->scratch(k, ab_bytes + sizeof(double) * 2 * (size_t)(C + 1));
  if (!ws) return k->err->code;
  float *ab = (float *)ws;
  double *stats = (double *)(ws + ab_bytes);
  float eps = qc_attr_f(n, "epsilon", 1e-5f), mom = qc_attr_f(n, "momentum", 0.9f);
  const float *scale = CF32(&in[1]), *bias = CF32(&in[2]), *mean = CF32(&in[3]),
              *var = CF32(&in[4]);
  if (training) {
    bn_stats_job S = {CF32(x), stats, N, C, plane};
    qc_pool_run(k->pool, C, 1, bn_stats, &S);
  }
  for (int64_t c = 0; c < C; c++) {
    float m = training ? (float)stats[2 * c] : mean[c];
    float v = training ? (float)stats[2 * c + 1] : var[c];
    ab[c] = scale[c] / sqrtf(v + eps);
    ab[C + c] = bias[c] - m * ab[c];
    if (training && n_out > 1 && out[1].dtype != QC_DT_UNDEF)
      F32(&out[1])[c] = mean[c] * mom + m * (1 - mom);
    if (training && n_out > 2 && out[2].dtype != QC_DT_UNDEF)
      F32(&out[2])[c] = var[c] * mom + v * (1 - mom);
  }
  if (!training)
    for (int i = 1; i < n_out; i++) /* outputs that ONNX defines only in training mode */
      if (out[i].dtype != QC_DT_UNDEF)
        memcpy(out[i].data, in[2 + i].data, sizeof(float) * (size_t)C);
  affine_job J = {CF32(x), F32(&out[0]), ab, ab + C, C, plane};
  qc_pool_run(k->pool, N * C, 1, affine_planes, &J);
  return QC_OK;
}

typedef struct {
  const float *x, *scale, *b;
  float *y;
  int64_t c, plane;
  float eps;
} inorm_job;

static void inorm_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const inorm_job *J = arg;
  for (int64_t p = p0; p < p1; p++) {
    const float *x = J->x + p * J->plane;
    float *y = J->y + p * J->plane;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < J->plane; i++) sum += x[i];
    double mean = sum / (double)J->plane;
    for (int64_t i = 0; i < J->plane; i++) sq += (x[i] - mean) * (x[i] - mean);
    double var = sq / (double)J->plane;
    float a = (float)(J->scale[p % J->c] / sqrt(var + J->eps));
    float b = J->b[p % J->c];
    for (int64_t i = 0; i < J->plane; i++) y[i] = (float)(x[i] - mean) * a + b;
  }
}

/* y = scale * (x - mean) / sqrt(var + epsilon) + B over each (n, c) plane. */
static qc_status k_instancenorm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  qc_status st = need_f32(k, n, x, "input");
  if (st) return st;
  if (x->rank < 3)
    return qc_node_err(k->err, n, QC_ERR_INVALID,
                       "input has rank %d; expected at least 3 (N, C, spatial...)", x->rank);
  int64_t C = x->dims[1];
  if ((st = channel_param(k, n, &in[1], "scale", C)) || (st = channel_param(k, n, &in[2], "B", C)))
    return st;
  inorm_job J = {CF32(x), CF32(&in[1]), CF32(&in[2]), F32(&out[0]), C,
                 prod(x->dims, 2, x->rank), qc_attr_f(n, "epsilon", 1e-5f)};
  qc_pool_run(k->pool, x->dims[0] * C, 1, inorm_planes, &J);
  return QC_OK;
}

/* ---- LayerNormalization ----------------------------------------------------------------- */

typedef struct {
  const float *x, *scale, *b; /* scale and b expanded to the normalized length */
  float *y, *mean, *inv;
  int64_t len;
  float eps;
} lnorm_job;

static void lnorm_rows(void *arg, int64_t r0, int64_t r1, int worker)
{
  const lnorm_job *J = arg;
  for (int64_t r = r0; r < r1; r++) {
    const float *x = J->x + r * J->len;
    float *y = J->y + r * J->len;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < J->len; i++) sum += x[i];
    float mean = (float)(sum / (double)J->len);
    for (int64_t i = 0; i < J->len; i++) sq += (double)(x[i] - mean) * (x[i] - mean);
    float inv = 1.0f / sqrtf((float)(sq / (double)J->len) + J->eps);
    for (int64_t i = 0; i < J->len; i++)
      y[i] = (x[i] - mean) * inv * J->scale[i] + (J->b ? J->b[i] : 0.0f);
    if (J->mean) J->mean[r] = mean;
    if (J->inv) J->inv[r] = inv;
  }
}

/* Writes t broadcast (numpy, right-aligned) to the len elements of shape dims[0..r). */
static void expand_to(const qc_tensor *t, const int64_t *dims, int r, float *dst)
{
  int64_t len = prod(dims, 0, r), idx[QC_MAX_RANK] = {0};
  const float *src = CF32(t);
  for (int64_t i = 0; i < len; i++) {
    int64_t off = 0;
    for (int a = 0; a < t->rank; a++) {
      int64_t d = t->dims[a];
      off = off * d + (d == 1 ? 0 : idx[r - t->rank + a]);
    }
    dst[i] = src[off];
    for (int a = r - 1; a >= 0; a--) {
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
}

/* ONNX LayerNormalization: over X.shape[axis:], Y = (X - mean) / sqrt(var + epsilon) * Scale
   + B, with Mean and InvStdDev as optional outputs. */
static qc_status k_layernorm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0], *b = present(in, n_in, 2) ? &in[2] : NULL;
  qc_status st;
  if ((st = need_f32(k, n, x, "X")) || (st = need_f32(k, n, &in[1], "Scale")) ||
      (b && (st = need_f32(k, n, b, "B"))))
    return st;
  for (int i = 1; i < n_out; i++)
    if (out[i].dtype != QC_DT_UNDEF && (st = need_f32(k, n, &out[i], "Mean/InvStdDev")))
      return st;
  int64_t axis = qc_attr_i(n, "axis", -1);
  if (axis < 0) axis += x->rank;
  int64_t rows = prod(x->dims, 0, (int)axis), len = prod(x->dims, (int)axis, x->rank);
  int nr = x->rank - (int)axis;
  float *sb = k->scratch(k, sizeof(float) * 2 * (size_t)(len + 1));
  if (!sb) return k->err->code;
  expand_to(&in[1], x->dims + axis, nr, sb);
  if (b) expand_to(b, x->dims + axis, nr, sb + len);
  lnorm_job J = {CF32(x), sb, b ? sb + len : NULL, F32(&out[0]),
                 n_out > 1 && out[1].dtype != QC_DT_UNDEF ? F32(&out[1]) : NULL,
                 n_out > 2 && out[2].dtype != QC_DT_UNDEF ? F32(&out[2]) : NULL, len,
                 qc_attr_f(n, "epsilon", 1e-5f)};
  qc_pool_run(k->pool, rows, 1, lnorm_rows, &J); /* len 0: NaN statistics, as 0/0 */
  return QC_OK;
}

/* ---- LRN -------------------------------------------------------------------------------- */

typedef struct {
  const float *x;
  float *y;
  int64_t c, plane, size;
  float alpha, beta, bias;
} lrn_job;

/* ONNX LRN: square_sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)],
   y = x / (bias + alpha / size * square_sum) ^ beta. The output plane holds the sum. */
static void lrn_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const lrn_job *J = arg;
  for (int64_t p = p0; p < p1; p++) {
    int64_t nb = p / J->c, c = p % J->c;
    int64_t lo = c - (J->size - 1) / 2, hi = c + J->size / 2; /* ceil((size-1)/2) = size/2 */
    if (lo < 0) lo = 0;
    if (hi > J->c - 1) hi = J->c - 1;
    float *y = J->y + p * J->plane;
    for (int64_t i = 0; i < J->plane; i++) y[i] = 0.0f;
    for (int64_t cc = lo; cc <= hi; cc++) {
      const float *xc = J->x + (nb * J->c + cc) * J->plane;
      for (int64_t i = 0; i < J->plane; i++) y[i] += xc[i] * xc[i];
    }
    const float *x = J->x + p * J->plane;
    float a = J->alpha / (float)J->size;
    for (int64_t i = 0; i < J->plane; i++) y[i] = x[i] / powf(J->bias + a * y[i], J->beta);
  }
}

static qc_status k_lrn(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                       qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  qc_status st = need_f32(k, n, x, "X");
  if (st) return st;
  if (x->rank < 2)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "X has rank %d; expected at least 2 (N, C, ...)",
                       x->rank);
  int64_t size = qc_attr_i(n, "size", 0);
  if (size < 1)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "size = %lld must be positive",
                       (long long)size);
  lrn_job J = {CF32(x), F32(&out[0]), x->dims[1], prod(x->dims, 2, x->rank), size,
               qc_attr_f(n, "alpha", 1e-4f), qc_attr_f(n, "beta", 0.75f),
               qc_attr_f(n, "bias", 1.0f)};
  qc_pool_run(k->pool, x->dims[0] * x->dims[1], 1, lrn_planes, &J);
  return QC_OK;
}

/* ---- windowed pools --------------------------------------------------------------------- */

enum { POOL_MAX, POOL_AVG, POOL_LP };

typedef struct {
  const qc_window *g;
  int kind;
  qc_dtype dt;
  const void *x;
  void *y;
  int64_t *idx; /* MaxPool Indices or NULL */
  int64_t insp, outsp;
  bool include_pad, col_major;
  float p; /* LpPool */
} pool_job;

/* For one output position along one axis: the kernel taps j in [lo, hi) that land in the
   input, and how many land in the padded extent [-pb, in + pe). */
typedef struct {
  int64_t start, lo, hi, padded;
} tap_range;

static void taps(const qc_window *g, int a, int64_t o, tap_range *t)
{
  int64_t s = o * g->stride[a] - g->pad_begin[a], d = g->dilation[a], k = g->kernel[a];
  t->start = s;
  if (d == 1) { /* the common case, without the divisions */
    int64_t plo = s >= -g->pad_begin[a] ? 0 : -g->pad_begin[a] - s;
    int64_t phi = g->in[a] + g->pad_end[a] - s;
    t->lo = s >= 0 ? 0 : -s;
    t->hi = g->in[a] - s < k ? g->in[a] - s : k;
    if (t->hi < t->lo) t->hi = t->lo = 0;
    if (phi > k) phi = k;
    t->padded = phi > plo ? phi - plo : 0;
    return;
  }
  t->lo = s >= 0 ? 0 : (-s + d - 1) / d;
  t->hi = g->in[a] - s <= 0 ? 0 : (g->in[a] - s + d - 1) / d;
  if (t->hi > k) t->hi = k;
  if (t->lo > t->hi) t->lo = t->hi;
  int64_t plo = s >= -g->pad_begin[a] ? 0 : (-g->pad_begin[a] - s + d - 1) / d;
  int64_t lim = g->in[a] + g->pad_end[a] - s;
  int64_t phi = lim <= 0 ? 0 : (lim + d - 1) / d;
  if (phi > k) phi = k;
  t->padded = phi > plo ? phi - plo : 0;
}

/* One tap of value v at flat offset off (row-major) / cm (column-major) in its plane. */
#define QC_POOL_TAP(v, off, cm)                                                               \
  do {                                                                                        \
    if (J->kind == POOL_MAX) {                                                                \
      if (best_at < 0 || (v) > best) {                                                        \
        best = (v);                                                                           \
        best_at = J->col_major ? (cm) : (off);                                                \
      }                                                                                       \
    } else if (J->kind == POOL_AVG) {                                                         \
      acc += (double)(v);                                                                     \
    } else {                                                                                  \
      acc += pow(fabs((double)(v)), J->p);                                                    \
    }                                                                                         \
  } while (0)

/* The planes [p0, p1) of a pool: 2-D windows by direct loops, others by an odometer over the
   window's axes. MaxPool keeps the first maximum, as ONNX Runtime does. */
#define QC_POOL_PLANES(NAME, T, LOWEST)                                                       \
  static void NAME(void *arg, int64_t p0, int64_t p1, int worker)                            \
  {                                                                                           \
    const pool_job *J = arg;                                                                  \
    const qc_window *g = J->g;                                                                \
    int nsp = g->nsp;                                                                         \
    for (int64_t p = p0; p < p1; p++) {                                                       \
      const T *x = (const T *)J->x + p * J->insp;                                             \
      T *y = (T *)J->y + p * J->outsp;                                                        \
      int64_t opos[QC_MAX_RANK] = {0};                                                        \
      for (int64_t o = 0; o < J->outsp; o++) {                                                \
        tap_range tr[QC_MAX_RANK];                                                            \
        int64_t count = 1, padded = 1, j[QC_MAX_RANK];                                        \
        for (int a = 0; a < nsp; a++) {                                                       \
          taps(g, a, opos[a], &tr[a]);                                                        \
          count *= tr[a].hi - tr[a].lo;                                                       \
          padded *= tr[a].padded;                                                             \
          j[a] = tr[a].lo;                                                                    \
        }                                                                                     \
        T best = LOWEST;                                                                      \
        int64_t best_at = -1;                                                                 \
        double acc = 0;                                                                       \
        if (nsp == 2) {                                                                       \
          int64_t H = g->in[0], W = g->in[1], dh = g->dilation[0], dw = g->dilation[1];      \
          for (int64_t jh = tr[0].lo; jh < tr[0].hi; jh++) {                                  \
            int64_t ih = tr[0].start + jh * dh;                                               \
            for (int64_t jw = tr[1].lo; jw < tr[1].hi; jw++) {                                \
              int64_t iw = tr[1].start + jw * dw;                                             \
              T v = x[ih * W + iw];                                                           \
              QC_POOL_TAP(v, ih * W + iw, iw * H + ih);                                       \
            }                                                                                 \
          }                                                                                   \
        } else {                                                                              \
          for (int64_t t = 0; t < count; t++) {                                               \
            int64_t off = 0, cm = 0, mul = 1;                                                 \
            for (int a = 0; a < nsp; a++) {                                                   \
              int64_t i = tr[a].start + j[a] * g->dilation[a];                                \
              off = off * g->in[a] + i;                                                       \
              cm += i * mul;                                                                  \
              mul *= g->in[a];                                                                \
            }                                                                                 \
            T v = x[off];                                                                     \
            QC_POOL_TAP(v, off, cm);                                                          \
            for (int a = nsp - 1; a >= 0; a--) {                                              \
              if (++j[a] < tr[a].hi) break;                                                   \
              j[a] = tr[a].lo;                                                                \
            }                                                                                 \
          }                                                                                   \
        }                                                                                     \
        if (J->kind == POOL_MAX) {                                                            \
          y[o] = best;                                                                        \
          if (J->idx) J->idx[p * J->outsp + o] = p * J->insp + (best_at < 0 ? 0 : best_at);   \
        } else if (J->kind == POOL_AVG) {                                                     \
          int64_t div = J->include_pad ? padded : count;                                      \
          y[o] = (T)(div ? acc / (double)div : 0.0);                                          \
        } else {                                                                              \
          y[o] = (T)pow(acc, 1.0 / J->p);                                                     \
        }                                                                                     \
        for (int a = nsp - 1; a >= 0; a--) {                                                  \
          if (++opos[a] < g->out[a]) break;                                                   \
          opos[a] = 0;                                                                        \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }

QC_POOL_PLANES(pool_planes_f32, float, -INFINITY)
QC_POOL_PLANES(pool_planes_u8, uint8_t, 0)
QC_POOL_PLANES(pool_planes_i8, int8_t, INT8_MIN)

static qc_status k_pool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  int kind = n->op == QC_OP_MaxPool ? POOL_MAX : n->op == QC_OP_AveragePool ? POOL_AVG : POOL_LP;
  qc_task_fn fn = pool_planes_f32;
  if (kind == POOL_MAX && x->dtype == QC_DT_U8) fn = pool_planes_u8;
  else if (kind == POOL_MAX && x->dtype == QC_DT_I8) fn = pool_planes_i8;
  else {
    qc_status st = need_f32(k, n, x, "X");
    if (st) return st;
  }
  qc_tinfo xi;
  to_tinfo(x, &xi);
  qc_window g;
  qc_status st = qc_pool_window(n, &xi, &g, k->err);
  if (st) return st;
  bool want_idx = n_out > 1 && out[1].dtype != QC_DT_UNDEF;
  pool_job J = {&g, kind, x->dtype, x->data, out[0].data, want_idx ? out[1].data : NULL,
                prod(g.in, 0, g.nsp), prod(g.out, 0, g.nsp),
                qc_attr_i(n, "count_include_pad", 0) != 0, qc_attr_i(n, "storage_order", 0) != 0,
                (float)qc_attr_i(n, "p", 2)};
  if (kind == POOL_LP && J.p <= 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "p = %g must be positive", (double)J.p);
  qc_pool_run(k->pool, x->dims[0] * x->dims[1], 1, fn, &J);
  return QC_OK;
}

/* ---- global pools ----------------------------------------------------------------------- */

typedef struct {
  const float *x;
  float *y;
  int64_t plane;
  int kind;
  double p;
} gpool_job;

static void gpool_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const gpool_job *J = arg;
  for (int64_t p = p0; p < p1; p++) {
    const float *x = J->x + p * J->plane;
    if (J->kind == POOL_MAX) {
      float m = -INFINITY;
      for (int64_t i = 0; i < J->plane; i++) m = x[i] > m ? x[i] : m;
      J->y[p] = m;
    } else if (J->kind == POOL_AVG) {
      double s = 0;
      for (int64_t i = 0; i < J->plane; i++) s += x[i];
      J->y[p] = (float)(s / (double)J->plane);
    } else {
      double s = 0;
      for (int64_t i = 0; i < J->plane; i++) s += pow(fabs((double)x[i]), J->p);
      J->y[p] = (float)pow(s, 1.0 / J->p);
    }
  }
}

static qc_status k_global_pool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                               qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  qc_status st = need_f32(k, n, x, "X");
  if (st) return st;
  int kind = n->op == QC_OP_GlobalMaxPool       ? POOL_MAX
             : n->op == QC_OP_GlobalAveragePool ? POOL_AVG
                                                : POOL_LP;
  gpool_job J = {CF32(x), F32(&out[0]), prod(x->dims, 2, x->rank), kind,
                 (double)qc_attr_i(n, "p", 2)};
  if (kind == POOL_LP && J.p <= 0)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "p = %g must be positive", J.p);
  qc_pool_run(k->pool, x->dims[0] * x->dims[1], 16, gpool_planes, &J);
  return QC_OK;
}

/* ---- Gemm, MatMul ----------------------------------------------------------------------- */

/* Y = alpha * op(A) * op(B) + beta * C, C broadcast to (M, N). */
static qc_status k_gemm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  const qc_tensor *a = &in[0], *b = &in[1], *c = present(in, n_in, 2) ? &in[2] : NULL;
  qc_status st;
  if ((st = need_f32(k, n, a, "A")) || (st = need_f32(k, n, b, "B")) ||
      (c && (st = need_f32(k, n, c, "C"))))
    return st;
  bool ta = qc_attr_i(n, "transA", 0) != 0, tb = qc_attr_i(n, "transB", 0) != 0;
  float alpha = qc_attr_f(n, "alpha", 1.0f), beta = qc_attr_f(n, "beta", 1.0f);
  int64_t M = out[0].dims[0], N = out[0].dims[1], K = a->dims[ta ? 0 : 1];
  float *Y = F32(&out[0]);
  bool use_c = c && beta != 0.0f;
  if (use_c) {
    int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    const float *C = CF32(c);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        Y[i * N + j] = beta * C[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
  }
  void *ws = k->scratch(k, qc_sgemm_ws_bytes(M, N, K));
  if (!ws) return k->err->code;
  qc_sgemm(k->pool, ta, tb, M, N, K, alpha, CF32(a), a->dims[1], CF32(b), b->dims[1],
           use_c ? 1.0f : 0.0f, Y, N, ws);
  return QC_OK;
}

/* numpy matmul over broadcast batch dims; one GEMM per batch entry, or one for all when B has
   no batch dims (A's batch then folds into M). */
static qc_status k_matmul(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  const qc_tensor *a = &in[0], *b = &in[1], *y = &out[0];
  qc_status st;
  if ((st = need_f32(k, n, a, "A")) || (st = need_f32(k, n, b, "B"))) return st;
  int64_t M = a->rank >= 2 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
  int64_t N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
  int br = y->rank - (a->rank > 1) - (b->rank > 1);
  int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  int64_t batch = prod(y->dims, 0, br);
  float *Y = F32(y);
  const float *A = CF32(a), *B = CF32(b);
  if (batch == 0 || M == 0 || N == 0) return QC_OK;
  if (bb == 0) { /* A's batch entries stacked are one (batch * M) x K matrix */
    void *ws = k->scratch(k, qc_sgemm_ws_bytes(batch * M, N, K));
    if (!ws) return k->err->code;
    qc_sgemm(k->pool, false, false, batch * M, N, K, 1.0f, A, K, B, N, 0.0f, Y, N, ws);
    return QC_OK;
  }
  void *ws = k->scratch(k, qc_sgemm_ws_bytes(M, N, K));
  if (!ws) return k->err->code;
  int64_t idx[QC_MAX_RANK] = {0};
  for (int64_t t = 0; t < batch; t++) {
    int64_t oa = 0, ob = 0;
    for (int i = 0; i < br; i++) {
      int ia = i - (br - ba), ib = i - (br - bb);
      if (ia >= 0) oa = oa * a->dims[ia] + (a->dims[ia] == 1 ? 0 : idx[i]);
      if (ib >= 0) ob = ob * b->dims[ib] + (b->dims[ib] == 1 ? 0 : idx[i]);
    }
    qc_sgemm(k->pool, false, false, M, N, K, 1.0f, A + oa * M * K, K, B + ob * K * N, N, 0.0f,
             Y + t * M * N, N, ws);
    for (int i = br - 1; i >= 0; i--) {
      if (++idx[i] < y->dims[i]) break;
      idx[i] = 0;
    }
  }
  return QC_OK;
}

/* ---- Softmax, LogSoftmax, Hardmax ------------------------------------------------------- */

typedef struct {
  const float *x;
  float *y;
  int64_t len, inner;
  qc_op op;
} softmax_job;

/* Lines along the axis: line l = (outer, inner) pair, elements l's base + j * inner. */
static void softmax_lines(void *arg, int64_t l0, int64_t l1, int worker)
{
  const softmax_job *J = arg;
  int64_t len = J->len, st = J->inner;
  for (int64_t l = l0; l < l1; l++) {
    int64_t base = (l / st) * len * st + l % st;
    const float *x = J->x + base;
    float *y = J->y + base;
    float mx = x[0];
    int64_t at = 0;
    for (int64_t j = 1; j < len; j++)
      if (x[j * st] > mx) {
        mx = x[j * st];
        at = j;
      }
    if (J->op == QC_OP_Hardmax) {
      for (int64_t j = 0; j < len; j++) y[j * st] = j == at ? 1.0f : 0.0f;
      continue;
    }
    double sum = 0;
    for (int64_t j = 0; j < len; j++) sum += exp((double)(x[j * st] - mx));
    if (J->op == QC_OP_Softmax) {
      float inv = (float)(1.0 / sum);
      for (int64_t j = 0; j < len; j++) y[j * st] = expf(x[j * st] - mx) * inv;
    } else {
      float ls = (float)log(sum);
      for (int64_t j = 0; j < len; j++) y[j * st] = x[j * st] - mx - ls;
    }
  }
}

static qc_status k_softmax(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  const qc_tensor *x = &in[0];
  qc_status st = need_f32(k, n, x, "input");
  if (st) return st;
  int64_t axis = qc_attr_i(n, "axis", -1);
  if (axis < -x->rank || axis >= x->rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis %lld is out of range for rank %d",
                       (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t len = x->dims[axis], inner = prod(x->dims, (int)axis + 1, x->rank);
  int64_t lines = prod(x->dims, 0, (int)axis) * inner;
  if (len == 0 || lines == 0) return QC_OK;
  softmax_job J = {CF32(x), F32(&out[0]), len, inner, n->op};
  qc_pool_run(k->pool, lines, 64, softmax_lines, &J);
  return QC_OK;
}

const qc_kernel_row qc_kernels_nn[] = {
    {QC_OP_Conv, k_conv},
    {QC_OP_ConvTranspose, k_conv_transpose},
    {QC_OP_BatchNormalization, k_batchnorm},
    {QC_OP_InstanceNormalization, k_instancenorm},
    {QC_OP_LayerNormalization, k_layernorm},
    {QC_OP_LRN, k_lrn},
    {QC_OP_MaxPool, k_pool},
    {QC_OP_AveragePool, k_pool},
    {QC_OP_LpPool, k_pool},
    {QC_OP_GlobalAveragePool, k_global_pool},
    {QC_OP_GlobalMaxPool, k_global_pool},
    {QC_OP_GlobalLpPool, k_global_pool},
    {QC_OP_Gemm, k_gemm},
    {QC_OP_MatMul, k_matmul},
    {QC_OP_Softmax, k_softmax},
    {QC_OP_LogSoftmax, k_softmax},
    {QC_OP_Hardmax, k_softmax},
    {QC_OP_NONE, NULL},
};
