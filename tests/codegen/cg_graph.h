/* Shared by the codegen tests that compile IR text: a seeded xorshift and a parser that fills
 * constants elided as "..." with seeded data (f32 in [-0.5, 0.5), small integers), then verifies
 * the graph. Header-only; include after testutil.h. */
#ifndef QC_TEST_CG_GRAPH_H
#define QC_TEST_CG_GRAPH_H

#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "testutil.h"

static inline uint64_t rng_next(uint64_t *s)
{
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}


static inline qc_graph *parse(const char *text)
{
  qc_graph *g = NULL;
  qc_err e = {0};
  qc_status st = qc_parse(text, &g, &e);
  if (st) fprintf(stderr, "parse: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  /* Elided constants ("...") get seeded data: f32 in [-0.5, 0.5), integers small. */
  uint64_t seed = 0x2545F4914F6CDD1Dull;
  for (int32_t v = 0; v < g->n_values; v++) {
    qc_value *cv = &g->values[v];
    if (!(cv->flags & QC_VAL_CONST) || cv->data) continue;
    int64_t n = qc_shape_elems(cv->rank, cv->dims), bytes = qc_dtype_bytes(cv->dtype, n);
    cv->data = qc_arena_alloc(g->arena, (size_t)bytes + 1);
    for (int64_t i = 0; i < n; i++) {
      uint64_t r = rng_next(&seed);
      switch (cv->dtype) {
      case QC_DT_F32: ((float *)cv->data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5); break;
      case QC_DT_I8: ((int8_t *)cv->data)[i] = (int8_t)((int)(r % 255) - 127); break;
      case QC_DT_I32: ((int32_t *)cv->data)[i] = (int32_t)(r % 2001) - 1000; break;
      case QC_DT_I4: qc_i4_set(cv->data, i, (int32_t)(r % 15) - 7); break;
      default: memset(cv->data, 0, (size_t)bytes); break;
      }
    }
  }
  st = qc_verify(g, &e);
  if (st) fprintf(stderr, "verify: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  return g;
}

#endif
