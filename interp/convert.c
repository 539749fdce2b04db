/* dtype conversions; see convert.h. Half/bfloat16 rounding is round to nearest, ties to even,
   the IEEE default that numpy and PyTorch use. */
#include "convert.h"

#include <math.h>
#include <string.h>

float qc_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
  if (e == 0x1f) {
    bits = sign | 0x7f800000u | (m << 13); /* inf, NaN keeps its payload */
  } else if (e == 0) {
    float f = ldexpf((float)m, -24); /* subnormal (or zero): exact */
    return sign ? -f : f;
  } else {
    bits = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t qc_f64_to_f16(double d)
{
  uint16_t sign = signbit(d) ? 0x8000 : 0;
  double a = fabs(d);
  if (isnan(d)) return sign | 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00; /* 65504 + half an ulp rounds up to inf */
  if (a < 0x1p-14) {
    /* subnormal: units of 2^-24; rint rounds ties to even, 1024 carries into the exponent */
    return sign | (uint16_t)rint(a * 0x1p24);
  }
  int ex;
  double f = frexp(a, &ex); /* a = f * 2^ex, f in [0.5, 1) */
  int e = ex - 1;
  uint32_t m = (uint32_t)rint((f * 2.0 - 1.0) * 1024.0);
  if (m == 1024) {
    m = 0;
    e++;
  }
  return sign | (uint16_t)((uint32_t)(e + 15) << 10 | m);
}

float qc_bf16_to_f32(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t qc_f32_to_bf16(float f)
{
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if (isnan(f)) return (uint16_t)((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return (uint16_t)(bits >> 16);
}

int qc_dtype_elem_bytes(qc_dtype t)
{
  if ((unsigned)t >= QC_DT_COUNT || t == QC_DT_UNDEF) return 0;
  if (qc_dtypes[t].flags & (QC_DTF_PACKED | QC_DTF_CODEBOOK)) return 0;
  return qc_dtypes[t].bits / 8;
}

bool qc_dtype_is_float(qc_dtype t)
{
  return t == QC_DT_F32 || t == QC_DT_F64 || t == QC_DT_F16 || t == QC_DT_BF16;
}

bool qc_dtype_is_int(qc_dtype t)
{
  switch (t) {
  case QC_DT_I8: case QC_DT_I16: case QC_DT_I32: case QC_DT_I64:
  case QC_DT_U8: case QC_DT_U16: case QC_DT_U32: case QC_DT_U64:
    return true;
  default:
    return false;
  }
}

#define QC_LOAD_CASES(DST_T)                                                                   \
  case QC_DT_F32: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const float *)src)[off + i]; break; \
  case QC_DT_F64: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const double *)src)[off + i]; break; \
  case QC_DT_F16: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)qc_f16_to_f32(((const uint16_t *)src)[off + i]); break; \
  case QC_DT_BF16: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)qc_bf16_to_f32(((const uint16_t *)src)[off + i]); break; \
  case QC_DT_I8: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const int8_t *)src)[off + i]; break; \
  case QC_DT_I16: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const int16_t *)src)[off + i]; break; \
  case QC_DT_I32: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const int32_t *)src)[off + i]; break; \
  case QC_DT_I64: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const int64_t *)src)[off + i]; break; \
  case QC_DT_U8: case QC_DT_BOOL: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const uint8_t *)src)[off + i]; break; \
  case QC_DT_U16: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const uint16_t *)src)[off + i]; break; \
  case QC_DT_U32: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const uint32_t *)src)[off + i]; break; \
  case QC_DT_U64: for (int64_t i = 0; i < n; i++) dst[i] = (DST_T)((const uint64_t *)src)[off + i]; break; \
  default: for (int64_t i = 0; i < n; i++) dst[i] = 0; break;

void qc_load_f64(qc_dtype t, const void *src, int64_t off, int64_t n, double *dst)
{
  switch (t) { QC_LOAD_CASES(double) }
}

void qc_load_f32(qc_dtype t, const void *src, int64_t off, int64_t n, float *dst)
{
  switch (t) { QC_LOAD_CASES(float) }
}

/* Truncation toward zero through int64, saturating instead of the undefined out-of-range
   conversion; NaN gives 0. */
static inline int64_t to_i64(double v)
{
  if (!(v == v)) return 0;
  if (v >= 0x1p63) return INT64_MAX;
  if (v <= -0x1p63) return INT64_MIN;
  return (int64_t)v;
}

static inline uint64_t to_u64(double v)
{
  if (v >= 0x1p64) return UINT64_MAX;
  if (v >= 0x1p63) return (uint64_t)v;
  return (uint64_t)to_i64(v);
}

#define QC_STORE_FLOAT_CASES(SRC_T)                                                            \
  case QC_DT_F32: for (int64_t i = 0; i < n; i++) ((float *)dst)[off + i] = (float)src[i]; break; \
  case QC_DT_F64: for (int64_t i = 0; i < n; i++) ((double *)dst)[off + i] = (double)src[i]; break; \
  case QC_DT_F16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = qc_f64_to_f16((double)src[i]); break; \
  case QC_DT_BF16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = qc_f32_to_bf16((float)src[i]); break; \
  case QC_DT_I8: for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[off + i] = (int8_t)to_i64(src[i]); break; \
  case QC_DT_I16: for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[off + i] = (int16_t)to_i64(src[i]); break; \
  case QC_DT_I32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[off + i] = (int32_t)to_i64(src[i]); break; \
  case QC_DT_I64: for (int64_t i = 0; i < n; i++) ((int64_t *)dst)[off + i] = to_i64(src[i]); break; \
  case QC_DT_U8: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[off + i] = (uint8_t)to_i64(src[i]); break; \
  case QC_DT_U16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = (uint16_t)to_i64(src[i]); break; \
  case QC_DT_U32: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[off + i] = (uint32_t)to_i64(src[i]); break; \
  case QC_DT_U64: for (int64_t i = 0; i < n; i++) ((uint64_t *)dst)[off + i] = to_u64(src[i]); break; \
  case QC_DT_BOOL: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[off + i] = src[i] != 0; break; \
  default: break;

void qc_store_f64(qc_dtype t, void *dst, int64_t off, int64_t n, const double *src)
{
  switch (t) { QC_STORE_FLOAT_CASES(double) }
}

void qc_store_f32(qc_dtype t, void *dst, int64_t off, int64_t n, const float *src)
{
  switch (t) { QC_STORE_FLOAT_CASES(float) }
}

void qc_load_i64(qc_dtype t, const void *src, int64_t off, int64_t n, int64_t *dst)
{
  switch (t) {
  case QC_DT_U64: memcpy(dst, (const uint64_t *)src + off, (size_t)n * 8); break;
  case QC_DT_F32: case QC_DT_F64: case QC_DT_F16: case QC_DT_BF16: {
    double buf[256];
    for (int64_t b = 0; b < n; b += 256) {
      int64_t m = n - b < 256 ? n - b : 256;
      qc_load_f64(t, src, off + b, m, buf);
      for (int64_t i = 0; i < m; i++) dst[b + i] = to_i64(buf[i]);
    }
    break;
  }
  default: switch (t) { QC_LOAD_CASES(int64_t) } break;
  }
}

void qc_store_i64(qc_dtype t, void *dst, int64_t off, int64_t n, const int64_t *src)
{
  switch (t) {
  case QC_DT_I8: for (int64_t i = 0; i < n; i++) ((int8_t *)dst)[off + i] = (int8_t)src[i]; break;
  case QC_DT_I16: for (int64_t i = 0; i < n; i++) ((int16_t *)dst)[off + i] = (int16_t)src[i]; break;
  case QC_DT_I32: for (int64_t i = 0; i < n; i++) ((int32_t *)dst)[off + i] = (int32_t)src[i]; break;
  case QC_DT_I64: case QC_DT_U64: memcpy((int64_t *)dst + off, src, (size_t)n * 8); break;
  case QC_DT_U8: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[off + i] = (uint8_t)src[i]; break;
  case QC_DT_U16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = (uint16_t)src[i]; break;
  case QC_DT_U32: for (int64_t i = 0; i < n; i++) ((uint32_t *)dst)[off + i] = (uint32_t)src[i]; break;
  case QC_DT_BOOL: for (int64_t i = 0; i < n; i++) ((uint8_t *)dst)[off + i] = src[i] != 0; break;
  case QC_DT_F32: for (int64_t i = 0; i < n; i++) ((float *)dst)[off + i] = (float)src[i]; break;
  case QC_DT_F64: for (int64_t i = 0; i < n; i++) ((double *)dst)[off + i] = (double)src[i]; break;
  case QC_DT_F16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = qc_f64_to_f16((double)src[i]); break;
  case QC_DT_BF16: for (int64_t i = 0; i < n; i++) ((uint16_t *)dst)[off + i] = qc_f32_to_bf16((float)src[i]); break;
  default: break;
  }
}
