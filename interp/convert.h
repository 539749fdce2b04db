/* Element conversions between quantc's dtypes: IEEE half and bfloat16 (round to nearest, ties
   to even), and chunked loads/stores through double or int64 that Cast and the kernels' generic
   paths share. Private to interp/. */
#ifndef QC_CONVERT_H
#define QC_CONVERT_H

#include <stdbool.h>
#include <stdint.h>
#include "ir.h"

float qc_f16_to_f32(uint16_t h);
uint16_t qc_f64_to_f16(double d); /* one rounding straight from double */
static inline uint16_t qc_f32_to_f16(float f) { return qc_f64_to_f16((double)f); }
float qc_bf16_to_f32(uint16_t h);
uint16_t qc_f32_to_bf16(float f);

/* Bytes per element of a dtype that is neither packed nor codebook-indexed; 0 otherwise. */
int qc_dtype_elem_bytes(qc_dtype t);
/* f32, f64, f16 or bf16. */
bool qc_dtype_is_float(qc_dtype t);
/* One of the eight plain integer types (not bool). */
bool qc_dtype_is_int(qc_dtype t);

/* n elements from src + off (in elements), converted. Integers and bool load exactly (u64 as
   its value); floats load as their value. */
void qc_load_f64(qc_dtype t, const void *src, int64_t off, int64_t n, double *dst);
void qc_load_f32(qc_dtype t, const void *src, int64_t off, int64_t n, float *dst);
/* To float types: rounded to nearest even. To integers: truncated toward zero, NaN to 0,
   saturated to the int64 range (u64: its own range) and then wrapped to the width, as a C
   conversion through int64 does. To bool: v != 0. */
void qc_store_f64(qc_dtype t, void *dst, int64_t off, int64_t n, const double *src);
void qc_store_f32(qc_dtype t, void *dst, int64_t off, int64_t n, const float *src);
/* Integers and bool through int64: u64 as its bit pattern; stores wrap (bool: v != 0). */
void qc_load_i64(qc_dtype t, const void *src, int64_t off, int64_t n, int64_t *dst);
void qc_store_i64(qc_dtype t, void *dst, int64_t off, int64_t n, const int64_t *src);

#endif
