/* Harness shared by the integer-op tests (test_int*.c): one node in a graph, run through shape
 * inference and its kernel, plus the independent int64 references the tests compare against. */
#ifndef QC_TEST_INT_H
#define QC_TEST_INT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "qmath.h"
#include "testutil.h"

typedef struct {
  qc_graph *g;
  int32_t node;
} tnode;

static inline tnode mk(qc_op op, int n_in, int n_out)
{
  tnode t = {qc_graph_new(), -1};
  int32_t in[16], out[4];
  char name[32];
  for (int i = 0; i < n_in; i++) {
    snprintf(name, sizeof name, "in%d", i);
    in[i] = qc_graph_add_value(t.g, name, QC_DT_UNDEF, -1, NULL, NULL);
  }
  for (int i = 0; i < n_out; i++) {
    snprintf(name, sizeof name, "out%d", i);
    out[i] = qc_graph_add_value(t.g, name, QC_DT_UNDEF, -1, NULL, NULL);
  }
  t.node = qc_graph_add_node(t.g, op, "q", n_in, in, n_out, out, NULL);
  CU_ASSERT_FATAL(t.node >= 0);
  return t;
}

static inline void attr_i(tnode *t, const char *name, int64_t v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_INT, NULL);
  a->i = v;
}

static inline void attr_f(tnode *t, const char *name, float v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_FLOAT, NULL);
  a->f = v;
}

static inline void attr_ints(tnode *t, const char *name, int n, const int64_t *v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_INTS, NULL);
  a->ints = qc_arena_alloc(t->g->arena, sizeof(int64_t) * (size_t)(n ? n : 1));
  if (n) memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  a->n = n;
}

static inline void attr_s(tnode *t, const char *name, const char *v)
{
  qc_attr *a = qc_node_add_attr(t->g, t->node, name, QC_ATTR_STRING, NULL);
  a->s = qc_arena_strdup(t->g->arena, v);
  a->s_len = (int64_t)strlen(v);
}

/* mult, shift (n entries each) and the clamp range. */
static inline void attr_rq(tnode *t, int n, const int64_t *mult, const int64_t *shift, int64_t qmin,
                    int64_t qmax)
{
  attr_ints(t, "mult", n, mult);
  attr_ints(t, "shift", n, shift);
  attr_i(t, "qmin", qmin);
  attr_i(t, "qmax", qmax);
}

static inline qc_tensor tens(qc_dtype dt, int rank, const int64_t *dims, const void *data)
{
  qc_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = (void *)data;
  return t;
}

#define NONE_T ((qc_tensor){QC_DT_UNDEF, 0, {0}, NULL})

typedef struct {
  void *buf;
  size_t cap;
} scratch_buf;

static inline void *tscratch(qc_kctx *k, size_t bytes)
{
  scratch_buf *s = k->scratch_owner;
  if (bytes > s->cap) {
    free(s->buf);
    s->cap = (bytes + 63) & ~(size_t)63;
    s->buf = aligned_alloc(64, s->cap);
    memset(s->buf, 0xa5, s->cap); /* kernels must not rely on zeroed scratch */
  }
  return s->buf;
}

/* Infers, allocates outputs (garbage-filled; freed by free_outs), runs the kernel with a pool of
   `threads` (0: none). */
static inline qc_status run(tnode *t, const qc_tensor *in, int n_in, qc_tensor *out, int n_out,
                     int threads, qc_err *e)
{
  const qc_node *n = &t->g->nodes[t->node];
  qc_tinfo ti[16], to[4];
  memset(ti, 0, sizeof ti);
  memset(to, 0, sizeof to);
  for (int i = 0; i < n_in; i++) {
    ti[i].dtype = in[i].dtype;
    ti[i].rank = in[i].rank;
    memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
    ti[i].data = in[i].data;
  }
  qc_status s = qc_infer_node(n, ti, n_in, to, n_out, e);
  if (s != QC_OK) return s;
  for (int i = 0; i < n_out; i++) {
    out[i] = tens(to[i].dtype, to[i].rank, to[i].dims, NULL);
    int64_t b = qc_tensor_bytes(&out[i]);
    out[i].data = malloc(b > 0 ? (size_t)b : 1);
    memset(out[i].data, 0x5a, b > 0 ? (size_t)b : 1);
  }
  qc_kernel_fn table[QC_OP_COUNT];
  qc_kernels_collect(table);
  CU_ASSERT_FATAL(table[n->op] != NULL);
  scratch_buf sb = {NULL, 0};
  qc_kctx k = {threads ? qc_pool_new(threads, NULL) : NULL, e, tscratch, &sb};
  s = table[n->op](&k, n, in, n_in, out, n_out);
  if (k.pool) qc_pool_free(k.pool);
  free(sb.buf);
  return s;
}

/* Shape inference only; returns the status, *o the single output. */
static inline qc_status infer(tnode *t, const qc_tensor *in, int n_in, qc_tinfo *o, qc_err *e)
{
  qc_tinfo ti[16];
  memset(ti, 0, sizeof ti);
  memset(o, 0, sizeof *o);
  for (int i = 0; i < n_in; i++) {
    ti[i].dtype = in[i].dtype;
    ti[i].rank = in[i].rank;
    memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
    ti[i].data = in[i].data;
  }
  return qc_infer_node(&t->g->nodes[t->node], ti, n_in, o, 1, e);
}

static inline void free_outs(qc_tensor *out, int n)
{
  for (int i = 0; i < n; i++) free(out[i].data);
}

static inline void done(tnode *t) { qc_graph_free(t->g); }

#define I64(...) ((const int64_t[]){__VA_ARGS__})

/* Element i of an integer tensor of any dtype the tests use. */
static inline int64_t tget(const qc_tensor *t, int64_t i)
{
  switch (t->dtype) {
  case QC_DT_U8: return ((const uint8_t *)t->data)[i];
  case QC_DT_I8: return ((const int8_t *)t->data)[i];
  case QC_DT_U16: return ((const uint16_t *)t->data)[i];
  case QC_DT_I16: return ((const int16_t *)t->data)[i];
  case QC_DT_I32: return ((const int32_t *)t->data)[i];
  case QC_DT_I4: {
    /* Own decoding, independent of ir/pack.c: low nibble first, two's complement. */
    int v = (((const uint8_t *)t->data)[i / 2] >> (4 * (i % 2))) & 15;
    return v >= 8 ? v - 16 : v;
  }
  default: return 0x7fffffff;
  }
}

/* floor((v * m) / 2^s + 1/2) from its definition, with division instead of shifts:
   |v * m| < 2^62 for |v| < 2^31, m < 2^31. */
static inline int64_t ref_rq(int64_t v, int64_t m, int64_t s)
{
  int64_t p = v * m + ((int64_t)1 << (s - 1)), d = (int64_t)1 << s;
  int64_t q = p / d;
  if (p % d != 0 && p < 0) q--;
  return q;
}

static inline int64_t ref_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}
/* Uniform in [lo, hi]. */
static inline int64_t rnd_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1)); }

#endif
