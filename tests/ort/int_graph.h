/* A small integer-only graph built by hand (no quantizer), shared by the export and ONNX
 * Runtime tests:
 *
 *   x f32 [N,3,8,8] -> QcQuantize (i8) -> QcConv 3x3 pad 1, ReLU as qmin 0 (u8 [0,255] or,
 *   with signed_relu, HAWQ's signed grid after ReLU: u8 [0,127]) -> MaxPool 2x2 -> QcConv 1x1 (w4: 4-bit packed weights,
 *   4-bit activations [0,15]) -> QcAdd with the MaxPool output (i8, no ReLU) ->
 *   QcGlobalAveragePool -> Flatten -> QcGemm 8->10 (i8) -> QcDequantize -> y f32 [N,10]
 *
 * Weights come from a seeded LCG, scales are chosen so every layer uses most of its grid, and
 * every (mult, shift) is derived from the scales with qc_dyadic_from_real, as the quantizer does.
 * Every integer value carries its qparams (scale), as the exporter requires. */
#ifndef QC_TEST_INT_GRAPH_H
#define QC_TEST_INT_GRAPH_H

#include <math.h>
#include <string.h>
#include "ir.h"
#include "qmath.h"

typedef struct {
  uint64_t s;
} ig_rng;

static inline double ig_uniform(ig_rng *r) /* [0, 1) */
{
  r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(r->s >> 11) / 9007199254740992.0;
}

static qc_qparams *ig_qparams(qc_graph *g, int32_t n, const float *scale, int bits)
{
  qc_qparams *q = qc_arena_alloc(g->arena, sizeof *q);
  if (!q) return NULL;
  q->bits = bits;
  q->axis = n > 1 ? 0 : -1;
  q->n = n;
  q->scale = qc_arena_alloc(g->arena, sizeof(float) * (size_t)n);
  q->zero_point = qc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)n);
  q->codebook = -1;
  if (!q->scale || !q->zero_point) return NULL;
  memcpy(q->scale, scale, sizeof(float) * (size_t)n);
  return q;
}

static int32_t ig_act(qc_graph *g, const char *name, qc_dtype t, int rank, const int64_t *dims,
                      float scale, int bits, qc_err *e)
{
  int32_t v = qc_graph_add_value(g, name, t, rank, dims, e);
  if (v >= 0 && !(g->values[v].q = ig_qparams(g, 1, &scale, bits))) return -1;
  return v;
}

static int ig_ints(qc_graph *g, int32_t node, const char *name, int64_t n, const int64_t *v,
                   qc_err *e)
{
  qc_attr *a = qc_node_add_attr(g, node, name, QC_ATTR_INTS, e);
  if (!a || !(a->ints = qc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)n))) return 0;
  a->n = n;
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  return 1;
}

static int ig_int(qc_graph *g, int32_t node, const char *name, int64_t v, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(g, node, name, QC_ATTR_INT, e);
  if (a) a->i = v;
  return a != NULL;
}

static int ig_float(qc_graph *g, int32_t node, const char *name, float v, qc_err *e)
{
  qc_attr *a = qc_node_add_attr(g, node, name, QC_ATTR_FLOAT, e);
  if (a) a->f = v;
  return a != NULL;
}

/* mult/shift for M[c] = fp32(s_in * s_w[c]) / s_out, c < m, plus qmin/qmax. */
static int ig_requant(qc_graph *g, int32_t node, float s_in, const float *s_w, int64_t m,
                      float s_out, int64_t qmin, int64_t qmax, qc_err *e)
{
  int64_t mult[64], shift[64];
  for (int64_t c = 0; c < m; c++) {
    int32_t mu, sh;
    float p = s_in * s_w[c];
    if (qc_dyadic_from_real((double)(p / s_out), &mu, &sh, e)) return 0;
    mult[c] = mu;
    shift[c] = sh;
  }
  return ig_ints(g, node, "mult", m, mult, e) && ig_ints(g, node, "shift", m, shift, e) &&
         ig_int(g, node, "qmin", qmin, e) && ig_int(g, node, "qmax", qmax, e);
}

/* Weights [m, k] (k elements per output channel) uniform in [-1, 1] * amp, quantized
   symmetric per channel to `bits`; returns the ints (i8, or i4 packed low nibble first when
   bits == 4) and the scales. */
static int32_t ig_weights(qc_graph *g, const char *name, int rank, const int64_t *dims,
                          int bits, double amp, ig_rng *r, float *scales, qc_err *e)
{
  int64_t m = dims[0], elems = qc_shape_elems(rank, dims), k = elems / m;
  int8_t q[4096];
  uint8_t packed[2048];
  int32_t qmax = (1 << (bits - 1)) - 1;
  for (int64_t c = 0; c < m; c++) {
    double w[512], mx = 0;
    for (int64_t i = 0; i < k; i++) {
      w[i] = (2 * ig_uniform(r) - 1) * amp;
      mx = fabs(w[i]) > mx ? fabs(w[i]) : mx;
    }
    scales[c] = (float)(mx / qmax);
    for (int64_t i = 0; i < k; i++) q[c * k + i] = (int8_t)lrint(w[i] / scales[c]);
  }
  int32_t v;
  if (bits == 4) {
    memset(packed, 0, sizeof packed);
    for (int64_t i = 0; i < elems; i++)
      packed[i >> 1] |= (uint8_t)((q[i] & 15) << ((i & 1) * 4));
    v = qc_graph_add_const(g, name, QC_DT_I4, rank, dims, packed, e);
  } else {
    v = qc_graph_add_const(g, name, QC_DT_I8, rank, dims, q, e);
  }
  if (v >= 0 && !(g->values[v].q = ig_qparams(g, (int32_t)m, scales, bits))) return -1;
  return v;
}

static int32_t ig_bias(qc_graph *g, const char *name, int64_t m, double amp, float s_in,
                       const float *s_w, ig_rng *r, qc_err *e)
{
  int32_t b[64];
  for (int64_t c = 0; c < m; c++)
    b[c] = (int32_t)lrint((2 * ig_uniform(r) - 1) * amp / (double)(s_in * s_w[c]));
  return qc_graph_add_const(g, name, QC_DT_I32, 1, &m, b, e);
}

/* Builds the graph above; NULL on failure (e set). Batch dim symbolic "N". */
static qc_graph *int_graph_build(bool w4, bool signed_relu, qc_err *e)
{
  qc_graph *g = qc_graph_new();
  if (!g) return NULL;
  ig_rng r = {20240611};
  int32_t sym = qc_graph_add_sym(g, "N", e);
  int64_t N = QC_DIM_SYM(sym);
  int64_t xd[4] = {N, 3, 8, 8}, c1d[4] = {N, 8, 8, 8}, pd[4] = {N, 8, 4, 4};
  int64_t gd[4] = {N, 8, 1, 1}, fd[2] = {N, 8}, od[2] = {N, 10};
  float sx = 4.0f / 127, s1 = 3.0f / (signed_relu ? 127 : 255), s3 = 2.5f / 15,
        s4 = 6.0f / 127, s7 = 4.0f / 127;
  float sw1[8], sw2[8], sw3[10];
  int ok = sym >= 0;
  int32_t x = qc_graph_add_value(g, "x", QC_DT_F32, 4, xd, e);
  qc_dtype t1 = QC_DT_U8;
  int32_t xq = ig_act(g, "xq", QC_DT_I8, 4, xd, sx, 8, e);
  int64_t w1d[4] = {8, 3, 3, 3}, w2d[4] = {8, 8, 1, 1}, w3d[2] = {10, 8};
  int32_t w1 = ig_weights(g, "w1", 4, w1d, 8, 0.3, &r, sw1, e);
  int32_t b1 = w1 >= 0 ? ig_bias(g, "b1", 8, 0.2, sx, sw1, &r, e) : -1;
  int32_t y1 = ig_act(g, "y1", t1, 4, c1d, s1, 8, e);
  int32_t y2 = ig_act(g, "y2", t1, 4, pd, s1, 8, e);
  int32_t w2 = ig_weights(g, "w2", 4, w2d, w4 ? 4 : 8, 0.5, &r, sw2, e);
  int32_t b2 = w2 >= 0 ? ig_bias(g, "b2", 8, 0.3, s1, sw2, &r, e) : -1;
  int32_t y3 = ig_act(g, "y3", QC_DT_U8, 4, pd, s3, 4, e);
  int32_t y4 = ig_act(g, "y4", QC_DT_I8, 4, pd, s4, 8, e);
  int32_t y5 = ig_act(g, "y5", QC_DT_I8, 4, gd, s4, 8, e);
  int32_t y6 = ig_act(g, "y6", QC_DT_I8, 2, fd, s4, 8, e);
  int32_t w3 = ig_weights(g, "w3", 2, w3d, 8, 0.6, &r, sw3, e);
  int32_t b3 = w3 >= 0 ? ig_bias(g, "b3", 10, 0.1, s4, sw3, &r, e) : -1;
  int32_t y7 = ig_act(g, "y7", QC_DT_I8, 2, od, s7, 8, e);
  int32_t y = qc_graph_add_value(g, "y", QC_DT_F32, 2, od, e);
  ok = ok && x >= 0 && xq >= 0 && b1 >= 0 && y1 >= 0 && y2 >= 0 && b2 >= 0 && y3 >= 0 &&
       y4 >= 0 && y5 >= 0 && y6 >= 0 && b3 >= 0 && y7 >= 0 && y >= 0;
  if (!ok) goto fail;
  int32_t n;
  n = qc_graph_add_node(g, QC_OP_QcQuantize, "quant", 1, &x, 1, &xq, e);
  ok = n >= 0 && ig_float(g, n, "scale", sx, e) && ig_int(g, n, "qmin", -128, e) &&
       ig_int(g, n, "qmax", 127, e);
  int32_t c1_in[3] = {xq, w1, b1};
  int64_t k3[2] = {3, 3}, p1[4] = {1, 1, 1, 1}, k2[2] = {2, 2}, k1[2] = {1, 1};
  n = ok ? qc_graph_add_node(g, QC_OP_QcConv, "conv1", 3, c1_in, 1, &y1, e) : -1;
  ok = n >= 0 && ig_ints(g, n, "kernel_shape", 2, k3, e) && ig_ints(g, n, "pads", 4, p1, e) &&
       ig_requant(g, n, sx, sw1, 8, s1, 0, signed_relu ? 127 : 255, e);
  n = ok ? qc_graph_add_node(g, QC_OP_MaxPool, "pool", 1, &y1, 1, &y2, e) : -1;
  ok = n >= 0 && ig_ints(g, n, "kernel_shape", 2, k2, e) && ig_ints(g, n, "strides", 2, k2, e);
  int32_t c2_in[3] = {y2, w2, b2};
  n = ok ? qc_graph_add_node(g, QC_OP_QcConv, "conv2", 3, c2_in, 1, &y3, e) : -1;
  ok = n >= 0 && ig_ints(g, n, "kernel_shape", 2, k1, e) &&
       ig_requant(g, n, s1, sw2, 8, s3, 0, 15, e);
  int32_t a_in[2] = {y2, y3};
  n = ok ? qc_graph_add_node(g, QC_OP_QcAdd, "add", 2, a_in, 1, &y4, e) : -1;
  float sa[2] = {s1, s3};
  if (ok && n >= 0) {
    int64_t mult[2], shift[2];
    for (int i = 0; i < 2; i++) {
      int32_t mu, sh;
      ok = ok && !qc_dyadic_from_real((double)(sa[i] / s4), &mu, &sh, e);
      mult[i] = mu;
      shift[i] = sh;
    }
    ok = ok && ig_ints(g, n, "mult", 2, mult, e) && ig_ints(g, n, "shift", 2, shift, e) &&
         ig_int(g, n, "qmin", -128, e) && ig_int(g, n, "qmax", 127, e);
  } else {
    ok = 0;
  }
  n = ok ? qc_graph_add_node(g, QC_OP_QcGlobalAveragePool, "gap", 1, &y4, 1, &y5, e) : -1;
  ok = n >= 0;
  n = ok ? qc_graph_add_node(g, QC_OP_Flatten, "flatten", 1, &y5, 1, &y6, e) : -1;
  ok = n >= 0;
  int32_t f_in[3] = {y6, w3, b3};
  n = ok ? qc_graph_add_node(g, QC_OP_QcGemm, "fc", 3, f_in, 1, &y7, e) : -1;
  ok = n >= 0 && ig_requant(g, n, s4, sw3, 10, s7, -128, 127, e);
  n = ok ? qc_graph_add_node(g, QC_OP_QcDequantize, "dequant", 1, &y7, 1, &y, e) : -1;
  ok = n >= 0 && ig_float(g, n, "scale", s7, e);
  if (!ok || qc_graph_set_inputs(g, 1, &x, e) || qc_graph_set_outputs(g, 1, &y, e) ||
      qc_verify(g, e))
    goto fail;
  return g;
fail:
  qc_graph_free(g);
  return NULL;
}

#endif
