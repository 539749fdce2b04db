/* Vector-Jacobian products of the nn ops: each ADDS the loss gradient of its inputs into din[i]
   (kernels.h), skipping inputs whose din[i].data is NULL. Window geometry comes from the same
   functions the forward kernels use (ir/infer_nn.h), so the pads match. */
#include <math.h>
#include <stdlib.h>
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

static bool want(const qc_tensor *din, int n_in, int i) { return i < n_in && din[i].data; }

static int64_t prod(const int64_t *d, int from, int to)
{
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= d[i];
  return p;
}

static qc_status need_f32(qc_kctx *k, const qc_node *n, const qc_tensor *t, const char *what)
{
  if (t->dtype != QC_DT_F32)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED,
                       "%s has dtype %s; gradients are computed in f32 only", what,
                       qc_dtype_name(t->dtype));
  return QC_OK;
}

static void to_tinfo(const qc_tensor *t, qc_tinfo *ti)
{
  memset(ti, 0, sizeof *ti);
  ti->dtype = t->dtype;
  ti->rank = t->rank;
  memcpy(ti->dims, t->dims, sizeof ti->dims);
  ti->data = t->data;
}

/* Workspace for one qc_sgemm call of these sizes, from the kernel scratch. */
static void *gemm_ws(qc_kctx *k, int64_t m, int64_t n, int64_t kk)
{
  return k->scratch(k, qc_sgemm_ws_bytes(m, n, kk));
}

/* ---- Gemm ------------------------------------------------------------------------------- */

/* Y = alpha op(A) op(B) + beta C: dop(A) = alpha dY op(B)^T, dop(B) = alpha op(A)^T dY,
   dC = beta dY summed over C's broadcast axes. */
static qc_status v_gemm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        const qc_tensor *out, int n_out, const qc_tensor *dout, qc_tensor *din)
{
  const qc_tensor *a = &in[0], *b = &in[1];
  if (!dout[0].data) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, a, "A")) || (st = need_f32(k, n, b, "B"))) return st;
  bool ta = qc_attr_i(n, "transA", 0) != 0, tb = qc_attr_i(n, "transB", 0) != 0;
  float alpha = qc_attr_f(n, "alpha", 1.0f), beta = qc_attr_f(n, "beta", 1.0f);
  int64_t M = out[0].dims[0], N = out[0].dims[1], K = ta ? a->dims[0] : a->dims[1];
  const float *dy = CF32(&dout[0]);
  if (want(din, n_in, 0)) {
    void *ws = gemm_ws(k, ta ? K : M, ta ? M : K, N);
    if (!ws) return k->err->code;
    if (!ta)
      qc_sgemm(k->pool, false, !tb, M, K, N, alpha, dy, N, CF32(b), b->dims[1], 1.0f,
               F32(&din[0]), K, ws);
    else
      qc_sgemm(k->pool, tb, true, K, M, N, alpha, CF32(b), b->dims[1], dy, N, 1.0f,
               F32(&din[0]), M, ws);
  }
  if (want(din, n_in, 1)) {
    void *ws = gemm_ws(k, tb ? N : K, tb ? K : N, M);
    if (!ws) return k->err->code;
    if (!tb)
      qc_sgemm(k->pool, !ta, false, K, N, M, alpha, CF32(a), a->dims[1], dy, N, 1.0f,
               F32(&din[1]), N, ws);
    else
      qc_sgemm(k->pool, true, ta, N, K, M, alpha, dy, N, CF32(a), a->dims[1], 1.0f,
               F32(&din[1]), K, ws);
  }
  if (present(in, n_in, 2) && want(din, n_in, 2)) {
    const qc_tensor *c = &in[2];
    int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    float *dc = F32(&din[2]);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++)
        dc[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] += beta * dy[i * N + j];
  }
  return QC_OK;
}

/* ---- MatMul ----------------------------------------------------------------------------- */

/* numpy matmul: 1-D A is [1, K], 1-D B is [K, 1]; batch axes broadcast. Each output batch adds
   dY_b B_b^T into dA at A's (broadcast) batch and A_b^T dY_b into dB, which sums over the
   broadcast axes. */
static qc_status v_matmul(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          const qc_tensor *out, int n_out, const qc_tensor *dout, qc_tensor *din)
{
  const qc_tensor *a = &in[0], *b = &in[1];
  if (!dout[0].data) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, a, "A")) || (st = need_f32(k, n, b, "B"))) return st;
  int64_t M = a->rank >= 2 ? a->dims[a->rank - 2] : 1, K = a->dims[a->rank - 1];
  int64_t N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
  int ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
  int rbat = ra > rb ? ra : rb;
  int64_t bd[QC_MAX_RANK], sa[QC_MAX_RANK], sb[QC_MAX_RANK];
  int64_t stride_a = 1, stride_b = 1;
  for (int i = rbat - 1; i >= 0; i--) {
    int ia = i - (rbat - ra), ib = i - (rbat - rb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    bd[i] = da > db ? da : db;
    sa[i] = da == 1 ? 0 : stride_a;
    sb[i] = db == 1 ? 0 : stride_b;
    stride_a *= da;
    stride_b *= db;
  }
  int64_t nb = prod(bd, 0, rbat);
  const float *dy = CF32(&dout[0]);
  bool wa = want(din, n_in, 0), wb = want(din, n_in, 1);
  size_t wsb = qc_sgemm_ws_bytes(M, K, N), wsb2 = qc_sgemm_ws_bytes(K, N, M);
  void *ws = k->scratch(k, wsb > wsb2 ? wsb : wsb2);
  if (!ws) return k->err->code;
  for (int64_t t = 0; t < nb; t++) {
    int64_t ia = 0, ib = 0, r = t;
    for (int i = rbat - 1; i >= 0; i--) {
      int64_t x = r % bd[i];
      r /= bd[i];
      ia += x * sa[i];
      ib += x * sb[i];
    }
    const float *ab = CF32(a) + ia * M * K, *bb = CF32(b) + ib * K * N, *g = dy + t * M * N;
    if (wa)
      qc_sgemm(k->pool, false, true, M, K, N, 1.0f, g, N, bb, N, 1.0f,
               F32(&din[0]) + ia * M * K, K, ws);
    if (wb)
      qc_sgemm(k->pool, true, false, K, N, M, 1.0f, ab, K, g, N, 1.0f,
               F32(&din[1]) + ib * K * N, N, ws);
  }
  return QC_OK;
}

/* ---- Conv ------------------------------------------------------------------------------- */

/* Geometry padded to three spatial axes (missing ones have extent 1). */
typedef struct {
  int64_t in[3], out[3], k[3], s[3], d[3], p[3];
} geo3;

static void to_geo3(const qc_window *w, geo3 *g)
{
  int off = 3 - w->nsp;
  for (int a = 0; a < 3; a++) {
    int i = a - off;
    bool have = i >= 0;
    g->in[a] = have ? w->in[i] : 1;
    g->out[a] = have ? w->out[i] : 1;
    g->k[a] = have ? w->kernel[i] : 1;
    g->s[a] = have ? w->stride[i] : 1;
    g->d[a] = have ? w->dilation[i] : 1;
    g->p[a] = have ? w->pad_begin[i] : 0;
  }
}

/* Row r = c * ksz + tap of the column matrix [Cg * ksz, outsp]: x at the tap's input position
   for each output position, 0 in the padding. */
static void im2col(const geo3 *g, const float *x, int64_t cg, float *col)
{
  int64_t ksz = g->k[0] * g->k[1] * g->k[2], outsp = g->out[0] * g->out[1] * g->out[2];
  for (int64_t r = 0; r < cg * ksz; r++) {
    int64_t c = r / ksz, t = r % ksz;
    int64_t kz = t / (g->k[1] * g->k[2]), ky = t / g->k[2] % g->k[1], kx = t % g->k[2];
    const float *xc = x + c * g->in[0] * g->in[1] * g->in[2];
    float *o = col + r * outsp;
    for (int64_t oz = 0; oz < g->out[0]; oz++) {
      int64_t iz = oz * g->s[0] - g->p[0] + kz * g->d[0];
      for (int64_t oy = 0; oy < g->out[1]; oy++) {
        int64_t iy = oy * g->s[1] - g->p[1] + ky * g->d[1];
        bool row_ok = iz >= 0 && iz < g->in[0] && iy >= 0 && iy < g->in[1];
        const float *xr = xc + (iz * g->in[1] + iy) * g->in[2];
        for (int64_t ox = 0; ox < g->out[2]; ox++, o++) {
          int64_t ix = ox * g->s[2] - g->p[2] + kx * g->d[2];
          *o = row_ok && ix >= 0 && ix < g->in[2] ? xr[ix] : 0.0f;
        }
      }
    }
  }
}

/* The adjoint of im2col: adds each column entry back into dx at its tap's input position. */
static void col2im_add(const geo3 *g, const float *col, int64_t cg, float *dx)
{
  int64_t ksz = g->k[0] * g->k[1] * g->k[2], outsp = g->out[0] * g->out[1] * g->out[2];
  for (int64_t r = 0; r < cg * ksz; r++) {
    int64_t c = r / ksz, t = r % ksz;
    int64_t kz = t / (g->k[1] * g->k[2]), ky = t / g->k[2] % g->k[1], kx = t % g->k[2];
    float *dc = dx + c * g->in[0] * g->in[1] * g->in[2];
    const float *o = col + r * outsp;
    for (int64_t oz = 0; oz < g->out[0]; oz++) {
      int64_t iz = oz * g->s[0] - g->p[0] + kz * g->d[0];
      for (int64_t oy = 0; oy < g->out[1]; oy++, o += g->out[2]) {
        int64_t iy = oy * g->s[1] - g->p[1] + ky * g->d[1];
        if (iz < 0 || iz >= g->in[0] || iy < 0 || iy >= g->in[1]) continue;
        float *dr = dc + (iz * g->in[1] + iy) * g->in[2];
        for (int64_t ox = 0; ox < g->out[2]; ox++) {
          int64_t ix = ox * g->s[2] - g->p[2] + kx * g->d[2];
          if (ix >= 0 && ix < g->in[2]) dr[ix] += o[ox];
        }
      }
    }
  }
}

/* Per image and group, with col = im2col(x) [Kg, outsp] and dY [Mg, outsp]:
   dW += dY col^T and dcol = W^T dY, which col2im adds into dX. dB sums dY. */
static qc_status v_conv(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        const qc_tensor *out, int n_out, const qc_tensor *dout, qc_tensor *din)
{
  const qc_tensor *x = &in[0], *w = &in[1];
  if (!dout[0].data) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, x, "X")) || (st = need_f32(k, n, w, "W"))) return st;
  qc_tinfo xi, wi;
  to_tinfo(x, &xi);
  to_tinfo(w, &wi);
  qc_window win;
  if ((st = qc_conv_window(n, &xi, &wi, &win, k->err))) return st;
  if (win.nsp < 1 || win.nsp > 3)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED,
                       "gradients of %d-D convolutions are not supported", win.nsp);
  geo3 g;
  to_geo3(&win, &g);
  int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], grp = win.group;
  int64_t cg = C / grp, mg = M / grp, insp = prod(x->dims, 2, x->rank),
          outsp = prod(out[0].dims, 2, out[0].rank), ksz = prod(w->dims, 2, w->rank),
          kg = cg * ksz;
  float *dx = want(din, n_in, 0) ? F32(&din[0]) : NULL;
  float *dw = want(din, n_in, 1) ? F32(&din[1]) : NULL;
  const float *dy = CF32(&dout[0]);
  if (dx || dw) {
    size_t colb = sizeof(float) * (size_t)(kg * outsp);
    colb = (colb + 63) & ~(size_t)63;
    size_t w1 = qc_sgemm_ws_bytes(mg, kg, outsp), w2 = qc_sgemm_ws_bytes(kg, outsp, mg);
    char *ws = k->scratch(k, colb + (w1 > w2 ? w1 : w2));
    if (!ws) return k->err->code;
    float *col = (float *)ws;
    void *gws = ws + colb;
    for (int64_t b = 0; b < N; b++)
      for (int64_t gi = 0; gi < grp; gi++) {
        const float *dyg = dy + (b * M + gi * mg) * outsp;
        const float *wg = CF32(w) + gi * mg * kg;
        if (dw) {
          im2col(&g, CF32(x) + (b * C + gi * cg) * insp, cg, col);
          qc_sgemm(k->pool, false, true, mg, kg, outsp, 1.0f, dyg, outsp, col, outsp, 1.0f,
                   dw + gi * mg * kg, kg, gws);
        }
        if (dx) {
          qc_sgemm(k->pool, true, false, kg, outsp, mg, 1.0f, wg, kg, dyg, outsp, 0.0f, col,
                   outsp, gws);
          col2im_add(&g, col, cg, dx + (b * C + gi * cg) * insp);
        }
      }
  }
  if (present(in, n_in, 2) && want(din, n_in, 2)) {
    float *db = F32(&din[2]);
    for (int64_t b = 0; b < N; b++)
      for (int64_t m = 0; m < M; m++) {
        const float *d = dy + (b * M + m) * outsp;
        double s = 0;
        for (int64_t i = 0; i < outsp; i++) s += d[i];
        db[m] += (float)s;
      }
  }
  return QC_OK;
}

/* ---- BatchNormalization ----------------------------------------------------------------- */

typedef struct {
  bool training;
  float eps;
  int64_t N, C, plane;
  const float *xd, *dy, *gam, *rmean, *rvar;
  float *dx, *dgam, *dbeta;
} bn_job;

/* Channels [c0, c1): each channel's sums and gradients are independent. */
static void bn_channels(void *arg, int64_t c0, int64_t c1, int worker)
{
  const bn_job *J = arg;
  bool training = J->training;
  float eps = J->eps;
  int64_t N = J->N, C = J->C, plane = J->plane;
  double cnt = (double)(N * plane);
  const float *xd = J->xd, *dy = J->dy, *gam = J->gam;
  for (int64_t c = c0; c < c1; c++) {
    double mu, var;
    if (training) {
      double s = 0, sq = 0;
      for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < plane; i++) s += xd[(b * C + c) * plane + i];
      mu = s / cnt;
      for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < plane; i++) {
          double d = xd[(b * C + c) * plane + i] - mu;
          sq += d * d;
        }
      var = sq / cnt;
    } else {
      mu = J->rmean[c];
      var = J->rvar[c];
    }
    double inv = 1.0 / sqrt(var + eps), sdy = 0, sdyx = 0;
    for (int64_t b = 0; b < N; b++)
      for (int64_t i = 0; i < plane; i++) {
        int64_t o = (b * C + c) * plane + i;
        sdy += dy[o];
        sdyx += dy[o] * (xd[o] - mu) * inv;
      }
    if (J->dgam) J->dgam[c] += (float)sdyx;
    if (J->dbeta) J->dbeta[c] += (float)sdy;
    if (!J->dx) continue;
    float *dx = J->dx;
    double gi = gam[c] * inv;
    for (int64_t b = 0; b < N; b++)
      for (int64_t i = 0; i < plane; i++) {
        int64_t o = (b * C + c) * plane + i;
        if (training) {
          double xh = (xd[o] - mu) * inv;
          dx[o] += (float)(gi / cnt * (cnt * dy[o] - sdy - xh * sdyx));
        } else {
          dx[o] += (float)(gi * dy[o]);
        }
      }
  }
}

/* Training mode (batch statistics, xh = (x - mu) / sigma, y = gamma xh + beta):
   dx = gamma / (sigma cnt) (cnt dy - sum dy - xh sum(dy xh)); inference mode (given mean and
   var): dx = gamma / sqrt(var + eps) dy. Both: dgamma = sum dy xh, dbeta = sum dy. */
static qc_status v_batchnorm(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                             const qc_tensor *out, int n_out, const qc_tensor *dout,
                             qc_tensor *din)
{
  const qc_tensor *x = &in[0];
  if (!dout[0].data) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, x, "X"))) return st;
  for (int i = 1; i < 5; i++)
    if ((st = need_f32(k, n, &in[i], "BatchNormalization parameter"))) return st;
  bn_job J = {qc_attr_i(n, "training_mode", 0) != 0,
              qc_attr_f(n, "epsilon", 1e-5f),
              x->dims[0],
              x->dims[1],
              prod(x->dims, 2, x->rank),
              CF32(x),
              CF32(&dout[0]),
              CF32(&in[1]),
              CF32(&in[3]),
              CF32(&in[4]),
              want(din, n_in, 0) ? F32(&din[0]) : NULL,
              want(din, n_in, 1) ? F32(&din[1]) : NULL,
              want(din, n_in, 2) ? F32(&din[2]) : NULL};
  qc_pool_run(k->pool, J.C, 1, bn_channels, &J);
  return QC_OK;
}

/* ---- pools ------------------------------------------------------------------------------ */

typedef struct {
  const geo3 *g;
  int64_t pe[3];
  bool is_max, incl;
  int64_t insp, outsp;
  const float *x, *dy;
  float *dx;
} pool_job;

/* Planes [p0, p1) (batch * channel): windows never cross planes. */
static void pool_planes(void *arg, int64_t p0, int64_t p1, int worker)
{
  const pool_job *J = arg;
  const geo3 *g = J->g;
  const int64_t *pe = J->pe;
  bool is_max = J->is_max, incl = J->incl;
  int64_t insp = J->insp, outsp = J->outsp;
  for (int64_t p = p0; p < p1; p++) {
    const float *xp = J->x + p * insp, *dy = J->dy + p * outsp;
    float *dx = J->dx + p * insp;
    for (int64_t oz = 0; oz < g->out[0]; oz++)
      for (int64_t oy = 0; oy < g->out[1]; oy++)
        for (int64_t ox = 0; ox < g->out[2]; ox++) {
          int64_t o = (oz * g->out[1] + oy) * g->out[2] + ox, pos[3] = {oz, oy, ox};
          int64_t best_at = -1, count = 0, padded = 1;
          float best = 0;
          for (int a = 0; a < 3; a++) {
            int64_t s = pos[a] * g->s[a] - g->p[a], c = 0;
            for (int64_t j = 0; j < g->k[a]; j++) {
              int64_t i = s + j * g->d[a];
              c += i >= -g->p[a] && i < g->in[a] + pe[a];
            }
            padded *= c;
          }
          for (int pass = 0; pass < 2; pass++) /* avg: count, then spread */
            for (int64_t kz = 0; kz < g->k[0]; kz++) {
              int64_t iz = oz * g->s[0] - g->p[0] + kz * g->d[0];
              if (iz < 0 || iz >= g->in[0]) continue;
              for (int64_t ky = 0; ky < g->k[1]; ky++) {
                int64_t iy = oy * g->s[1] - g->p[1] + ky * g->d[1];
                if (iy < 0 || iy >= g->in[1]) continue;
                for (int64_t kx = 0; kx < g->k[2]; kx++) {
                  int64_t ix = ox * g->s[2] - g->p[2] + kx * g->d[2];
                  if (ix < 0 || ix >= g->in[2]) continue;
                  int64_t off = (iz * g->in[1] + iy) * g->in[2] + ix;
                  if (is_max) {
                    if (pass == 0 && (best_at < 0 || xp[off] > best)) {
                      best = xp[off];
                      best_at = off;
                    }
                  } else if (pass == 0) {
                    count++;
                  } else {
                    int64_t div = incl ? padded : count;
                    if (div) dx[off] += dy[o] / (float)div;
                  }
                }
              }
            }
          if (is_max && best_at >= 0) dx[best_at] += dy[o];
        }
  }
}

/* MaxPool routes dy to the first maximum of each window (as the forward kernel picks it);
   AveragePool spreads dy / divisor over the window's taps inside the input. */
static qc_status v_pool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        const qc_tensor *out, int n_out, const qc_tensor *dout, qc_tensor *din)
{
  const qc_tensor *x = &in[0];
  if (!dout[0].data || !want(din, n_in, 0)) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, x, "X"))) return st;
  qc_tinfo xi;
  to_tinfo(x, &xi);
  qc_window win;
  if ((st = qc_pool_window(n, &xi, &win, k->err))) return st;
  if (win.nsp < 1 || win.nsp > 3)
    return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED,
                       "gradients of %d-D pools are not supported", win.nsp);
  geo3 g;
  to_geo3(&win, &g);
  int64_t pe[3];
  for (int a = 0; a < 3; a++) {
    int i = a - (3 - win.nsp);
    pe[a] = i >= 0 ? win.pad_end[i] : 0;
  }
  bool is_max = n->op == QC_OP_MaxPool;
  bool incl = qc_attr_i(n, "count_include_pad", 0) != 0;
  int64_t planes = x->dims[0] * x->dims[1], insp = prod(x->dims, 2, x->rank),
          outsp = prod(out[0].dims, 2, out[0].rank);
  pool_job J = {&g, {pe[0], pe[1], pe[2]}, is_max, incl, insp, outsp, CF32(x), CF32(&dout[0]),
                F32(&din[0])};
  qc_pool_run(k->pool, planes, 1, pool_planes, &J);
  return QC_OK;
}

static qc_status v_global_avg_pool(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                                   const qc_tensor *out, int n_out, const qc_tensor *dout,
                                   qc_tensor *din)
{
  const qc_tensor *x = &in[0];
  if (!dout[0].data || !want(din, n_in, 0)) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, x, "X"))) return st;
  int64_t planes = x->dims[0] * x->dims[1], plane = prod(x->dims, 2, x->rank);
  const float *dy = CF32(&dout[0]);
  float *dx = F32(&din[0]);
  for (int64_t p = 0; p < planes; p++) {
    float v = dy[p] / (float)plane;
    for (int64_t i = 0; i < plane; i++) dx[p * plane + i] += v;
  }
  return QC_OK;
}

/* ---- Softmax, LogSoftmax ---------------------------------------------------------------- */

/* Along axis (outer x len x inner): softmax dx = y (dy - sum dy y); log-softmax
   dx = dy - exp(y) sum dy. */
static qc_status v_softmax(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           const qc_tensor *out, int n_out, const qc_tensor *dout,
                           qc_tensor *din)
{
  const qc_tensor *y = &out[0];
  if (!dout[0].data || !want(din, n_in, 0)) return QC_OK;
  qc_status st;
  if ((st = need_f32(k, n, y, "output"))) return st;
  int64_t axis = qc_attr_i(n, "axis", -1);
  if (axis < 0) axis += y->rank;
  if (axis < 0 || axis >= y->rank)
    return qc_node_err(k->err, n, QC_ERR_INVALID, "axis is out of range for rank %d", y->rank);
  int64_t outer = prod(y->dims, 0, (int)axis), len = y->dims[axis],
          inner = prod(y->dims, (int)axis + 1, y->rank);
  bool log_sm = n->op == QC_OP_LogSoftmax;
  const float *yd = CF32(y), *dy = CF32(&dout[0]);
  float *dx = F32(&din[0]);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i;
      double s = 0;
      for (int64_t j = 0; j < len; j++) {
        int64_t at = base + j * inner;
        s += log_sm ? dy[at] : (double)dy[at] * yd[at];
      }
      for (int64_t j = 0; j < len; j++) {
        int64_t at = base + j * inner;
        dx[at] += log_sm ? (float)(dy[at] - exp((double)yd[at]) * s)
                         : (float)(yd[at] * (dy[at] - s));
      }
    }
  return QC_OK;
}

const qc_vjp_row qc_vjps_nn[] = {
    {QC_OP_Gemm, v_gemm},
    {QC_OP_MatMul, v_matmul},
    {QC_OP_Conv, v_conv},
    {QC_OP_BatchNormalization, v_batchnorm},
    {QC_OP_MaxPool, v_pool},
    {QC_OP_AveragePool, v_pool},
    {QC_OP_GlobalAveragePool, v_global_avg_pool},
    {QC_OP_Softmax, v_softmax},
    {QC_OP_LogSoftmax, v_softmax},
    {QC_OP_NONE, NULL},
};
