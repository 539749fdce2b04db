/* 4-bit packing (QC_DT_I4): two elements per byte, element 2j in the low nibble of byte j and
   element 2j+1 in the high nibble, each a two's complement nibble in [-8, 7]. An odd count
   leaves the last byte's high nibble zero. */
#include "ir.h"

int32_t qc_i4_get(const uint8_t *p, int64_t i)
{
  int32_t nib = (p[i >> 1] >> ((i & 1) * 4)) & 15;
  return (nib ^ 8) - 8; /* sign-extend bit 3 */
}

void qc_i4_set(uint8_t *p, int64_t i, int32_t v)
{
  unsigned sh = (unsigned)(i & 1) * 4;
  p[i >> 1] = (uint8_t)((p[i >> 1] & ~(15u << sh)) | (((unsigned)v & 15u) << sh));
}

bool qc_pack_i4(const int8_t *src, int64_t n, uint8_t *dst)
{
  bool ok = true;
  for (int64_t j = 0; j < n / 2; j++) {
    int8_t a = src[2 * j], b = src[2 * j + 1];
    ok &= a >= -8 && a <= 7 && b >= -8 && b <= 7;
    dst[j] = (uint8_t)(((unsigned)a & 15u) | (((unsigned)b & 15u) << 4));
  }
  if (n & 1) {
    int8_t a = src[n - 1];
    ok &= a >= -8 && a <= 7;
    dst[n / 2] = (uint8_t)((unsigned)a & 15u);
  }
  return ok;
}

void qc_unpack_i4(const uint8_t *src, int64_t n, int8_t *dst)
{
  for (int64_t i = 0; i < n; i++) dst[i] = (int8_t)qc_i4_get(src, i);
}
