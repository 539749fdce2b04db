/* quantc's integer arithmetic, defined once: rounding, saturation, quantization, float
 * requantization of int32 accumulators, and the integer GEMM every integer kernel reuses.
 * docs/conformance.md ("Integer semantics") states the same rules in prose; compiled targets
 * must reproduce them bit for bit. Private to interp/. */
#ifndef QC_QMATH_H
#define QC_QMATH_H

#include <math.h>
#include <stdint.h>
#include "ir.h"
#include "pool.h"

/* Round to nearest, ties to even (ONNX QuantizeLinear, numpy.rint), computed in integers so it
   neither reads the floating-point environment nor calls libm: below 2^23 the truncation and
   x - trunc(x) are exact; at or above it every float is already an integer. NaN and +-inf are
   returned as they are; the result's sign of zero is unspecified. */
static inline float qc_round_half_even(float x)
{
  if (!(fabsf(x) < 8388608.0f)) return x;
  int32_t i = (int32_t)x;
  float d = x - (float)i;
  /* Branch-free: data-dependent ties and fractions mispredict. */
  int odd = i & 1;
  i += ((d > 0.5f) | ((d == 0.5f) & odd)) - ((d < -0.5f) | ((d == -0.5f) & odd));
  return (float)i;
}

/* The integer range of a quantized dtype (u8, i8, i32); 0 for any other dtype. */
static inline int qc_qrange(qc_dtype t, int32_t *lo, int32_t *hi)
{
  switch (t) {
  case QC_DT_U8: *lo = 0; *hi = 255; return 1;
  case QC_DT_I8: *lo = -128; *hi = 127; return 1;
  case QC_DT_I32: *lo = INT32_MIN; *hi = INT32_MAX; return 1;
  default: return 0;
  }
}

/* saturate(round_half_even(v) + zp) into [lo, hi] for an 8-bit range. NaN quantizes to the zero
   point (ONNX leaves it undefined). The clamp happens in float before any conversion, so huge
   values and infinities saturate instead of overflowing. */
static inline int32_t qc_quant_round(float v, int32_t zp, int32_t lo, int32_t hi)
{
  float r = qc_round_half_even(v);
  r = r == r ? r : 0.0f;
  /* lo - zp and hi - zp are small integers for 8-bit ranges, exact in float. */
  float flo = (float)((int64_t)lo - zp), fhi = (float)((int64_t)hi - zp);
  r = r < flo ? flo : r;
  r = r > fhi ? fhi : r;
  return (int32_t)r + zp;
}

/* QuantizeLinear of one element: saturate(round_half_even(x / scale) + zp). A true division,
   as the spec and its numpy reference write it (x * (1/scale) differs in the last bit). */
static inline int32_t qc_quantize(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
  return qc_quant_round(x / scale, zp, lo, hi);
}

/* DequantizeLinear of one element: (x - zp) * scale, the difference exact in int64 and rounded
   once to float (exact for 8-bit inputs). */
static inline float qc_dequantize(int32_t x, int32_t zp, float scale)
{
  return (float)((int64_t)x - zp) * scale;
}

/* The requantization multiplier of QLinearConv/QLinearMatMul: M = fp32(s_in * s_w) / s_out,
   each step rounded to float32. */
static inline float qc_requant_mult(float s_in, float s_w, float s_out)
{
  float p = s_in * s_w;
  return p / s_out;
}

/* Requantizes an int32 accumulator: saturate(round_half_even(fp32(acc) * M) + zp), the product
   rounded to float32. fp32(acc) is exact for |acc| <= 2^24 and correctly rounded beyond. */
static inline int32_t qc_requant(int32_t acc, float mult, int32_t zp, int32_t lo, int32_t hi)
{
  return qc_quant_round((float)acc * mult, zp, lo, hi);
}

/* Stores v (already within the dtype's range) as element i of a u8/i8/i32 buffer. */
static inline void qc_qstore(void *dst, qc_dtype t, int64_t i, int32_t v)
{
  if (t == QC_DT_U8) ((uint8_t *)dst)[i] = (uint8_t)v;
  else if (t == QC_DT_I8) ((int8_t *)dst)[i] = (int8_t)v;
  else ((int32_t *)dst)[i] = v;
}

/* Element i of a u8/i8/i32 buffer. */
static inline int32_t qc_qload(const void *src, qc_dtype t, int64_t i)
{
  if (t == QC_DT_U8) return ((const uint8_t *)src)[i];
  if (t == QC_DT_I8) return ((const int8_t *)src)[i];
  return ((const int32_t *)src)[i];
}

/* ---- integer GEMM ------------------------------------------------------------------------
 * C[m][n] = sum_k A[m][k] * B[k][n] over int16 operands whose zero points are already
 * subtracted (8-bit inputs give values in [-255, 255]).
 *
 * Accumulation is int32, wrapping modulo 2^32 (done in uint32, so never undefined behaviour);
 * wrapping cannot change a result that fits int32, so the result is exact whenever
 * K * max|a| * max|b| < 2^31: K <= 33025 for full-range u8 x u8 with zero points (255 * 255 per
 * term), K <= 131071 for int8 without zero points (-128 * -128). Real layers stay far below: a
 * 3x3 conv over 512 channels has K = 4608, VGG's first FC K = 25088. qc_igemm_k_exact() gives
 * the bound.
 *
 * B is packed in panels of QC_IGEMM_NC columns and pairs of rows (so that one multiply-add
 * instruction takes two k at once): with Kp = K rounded up to even, element (k, n) lives at
 * qc_igemm_b_index(); row K (when K is odd) and columns past N are zero. im2col writes this
 * layout directly. */
#define QC_IGEMM_NC 64

static inline int64_t qc_igemm_kp(int64_t K) { return K + (K & 1); }
static inline int64_t qc_igemm_b_index(int64_t Kp, int64_t k, int64_t n)
{
  return ((n / QC_IGEMM_NC) * Kp + (k & ~(int64_t)1)) * QC_IGEMM_NC + (n % QC_IGEMM_NC) * 2 +
         (k & 1);
}

/* Elements of a packed B (K x N); -1 on overflow. */
int64_t qc_igemm_packed_elems(int64_t K, int64_t N);
/* Packs a row-major K x N matrix of an 8-bit dtype, minus per-column zero points (zp of dtype
   zp_t with n_zp entries, 1 or N; NULL: zero), into panels, padding included. Values must fit int16 after subtraction
   (8-bit inputs do). */
void qc_igemm_pack_b(const void *src, qc_dtype t, int64_t K, int64_t N, int64_t ld,
                     const void *zp, qc_dtype zp_t, int64_t n_zp, int16_t *dst);
/* Largest K for which the accumulation above is exact given max|a| and max|b|. */
int64_t qc_igemm_k_exact(int32_t max_abs_a, int32_t max_abs_b);

/* A is M x K, row-major with an even row stride lda >= qc_igemm_kp(K) and, when K is odd, a
   zero at A[m][K] (the kernels read k in pairs); Bp is packed (see above); C is M x N with row
   stride ldc, overwritten. Tiles of rows x panels are spread over the pool (p may be NULL).
   On x86-64 CPUs with AVX2 the micro-kernel uses vpmaddwd (exact here: |a|, |b| <= 255, so
   a0 * b0 + a1 * b1 cannot overflow int32) and wrapping vpaddd, giving the same bits as the
   portable path. */
void qc_igemm_s16(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A, int64_t lda,
                  const int16_t *Bp, int32_t *C, int64_t ldc);
/* The same with the portable micro-kernel forced (tests compare the two). */
void qc_igemm_s16_portable(qc_pool *p, int64_t M, int64_t N, int64_t K, const int16_t *A,
                           int64_t lda, const int16_t *Bp, int32_t *C, int64_t ldc);
/* "avx2" or "generic": the micro-kernel qc_igemm_s16 picks on this CPU. */
const char *qc_igemm_kernel_name(void);

/* ---- dyadic requantization (HAWQ-V3 integer-only inference) -------------------------------
 * A positive real M is approximated as mult / 2^shift with mult in [2^30, 2^31): frexp gives
 * M = f * 2^exp with f in [0.5, 1), mult = round(f * 2^31) and shift = 31 - exp (HAWQ-V3's own
 * construction, which its float64 emulation reproduces bit for bit). The quantizer derives
 * every multiplier with qc_dyadic_from_real; kernels apply it with qc_requant_dyadic. */

/* QC_ERR_INVALID when M is not a positive finite number or the shift would leave [1, 62]. */
qc_status qc_dyadic_from_real(double M, int32_t *mult, int32_t *shift, qc_err *e);

/* (v * mult + 2^(shift-1)) >> shift in int64 with an arithmetic shift: rounds half up
   (toward +inf). Exact for |v| < 2^31 and shift in [1, 62]. */
static inline int64_t qc_requant_dyadic(int64_t v, int32_t mult, int32_t shift)
{
  int64_t p = v * (int64_t)mult + ((int64_t)1 << (shift - 1));
  /* >> of a negative int64 is implementation-defined in C; gcc and clang shift arithmetically,
     and this form states the floor division explicitly for any compiler. */
  return p >= 0 ? p >> shift : -((-p - 1) >> shift) - 1;
}

static inline int64_t qc_clamp64(int64_t v, int64_t lo, int64_t hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

#endif
