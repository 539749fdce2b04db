/* Robustness of the ops of QC_MORE_OPS: random dtypes, shapes, contents and attribute values
   (the strings each op understands among them). Inference may reject a node; when it accepts
   one, the kernel runs on outputs of the inferred shape and either succeeds or says why.
   Nothing may crash or touch memory it does not own (checked under -DQC_SANITIZE=ON). Same
   scheme as test_tensor_fuzz.c, over this op group. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "ir.h"
#include "kernels.h"
#include "testutil.h"

static uint64_t rng_state = 1234567891011ull;

static uint64_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int64_t pick(const int64_t *v, int n) { return v[rnd() % (uint64_t)n]; }

static const int64_t interesting[] = {0, 1, 2, 3, -1, -2, -3, 4, 5, 7, 100, -100, INT64_MAX,
                                      INT64_MIN, 1LL << 40, 16, 8, 10};
#define N_INTERESTING ((int)(sizeof interesting / sizeof interesting[0]))

static const qc_dtype dtypes[] = {QC_DT_F32, QC_DT_F32, QC_DT_F32, QC_DT_I64, QC_DT_I64,
                                  QC_DT_I32, QC_DT_BOOL, QC_DT_U8, QC_DT_F16, QC_DT_F64,
                                  QC_DT_I8, QC_DT_U64};

static void *scratch(qc_kctx *k, size_t bytes)
{
  void **slot = k->scratch_owner;
  free(*slot);
  *slot = malloc(bytes ? bytes : 1);
  return *slot;
}

/* A random tensor; integer inputs after the first hold small values (axes, shapes, pads). */
static void rand_tensor(qc_tensor *t, int idx)
{
  memset(t, 0, sizeof *t);
  t->dtype = dtypes[rnd() % (sizeof dtypes / sizeof dtypes[0])];
  if (idx > 0 && rnd() % 2) t->dtype = QC_DT_I64;
  t->rank = (int)(rnd() % 5);
  if (idx > 0 && rnd() % 2) t->rank = (int)(rnd() % 2);
  for (int d = 0; d < t->rank; d++) t->dims[d] = (int64_t)(rnd() % 5);
  int64_t n = qc_tensor_elems(t), bytes = qc_tensor_bytes(t);
  t->data = malloc((size_t)(bytes > 0 ? bytes : 1));
  for (int64_t i = 0; i < n; i++) {
    int64_t v = (int64_t)(rnd() % 9) - 3;
    if (rnd() % 16 == 0) v = pick(interesting, N_INTERESTING);
    double dv = (double)v * 0.75;
    if (qc_dtype_is_float(t->dtype)) qc_store_f64(t->dtype, t->data, i, 1, &dv);
    else qc_store_i64(t->dtype, t->data, i, 1, &v);
  }
}

/* Random values for each attribute of the op's schema (and sometimes none). */
static void rand_attrs(qc_graph *g, int32_t id)
{
  static const char *strs[] = {
      "nearest", "linear", "cubic", "half_pixel", "align_corners", "asymmetric",
      "tf_crop_and_resize", "pytorch_half_pixel", "floor", "ceil", "round_prefer_ceil", "none",
      "add", "mul", "sum", "mean", "LEFT", "RIGHT", "forward", "reverse", "bidirectional",
      "avg", "max", "TF", "IDF", "TFIDF", "bilinear", "bicubic", "zeros", "border",
      "reflection", "standard", "nesterov", "ij,jk->ik", "...ii->...i", "i,i", "ij->", "", "x"};
#define N_STRS ((int)(sizeof strs / sizeof strs[0]))
  const char *schema = qc_ops[g->nodes[id].op].attrs;
  char name[64];
  for (const char *p = schema; *p;) {
    while (*p == ' ') p++;
    size_t len = strcspn(p, ":");
    if (!*p || len >= sizeof name) break;
    memcpy(name, p, len);
    name[len] = 0;
    p += strcspn(p, " ");
    if (rnd() % 3 == 0) continue;
    qc_attr_spec spec;
    if (!qc_op_attr_spec(g->nodes[id].op, name, &spec)) continue;
    qc_err e = {0};
    qc_attr *a = qc_node_add_attr(g, id, name, spec.kind, &e);
    if (!a) continue;
    switch (spec.kind) {
    case QC_ATTR_INT: a->i = rnd() % 2 ? (int64_t)(rnd() % 7) - 3 : pick(interesting, N_INTERESTING); break;
    case QC_ATTR_FLOAT: a->f = (float)((int)(rnd() % 9) - 4) * 0.25f; break;
    case QC_ATTR_STRING: a->s = strs[rnd() % N_STRS]; a->s_len = (int64_t)strlen(a->s); break;
    case QC_ATTR_STRINGS:
      a->n = (int64_t)(rnd() % 7);
      a->strings = qc_arena_alloc(g->arena, sizeof(char *) * 8);
      for (int i = 0; i < a->n; i++) a->strings[i] = rnd() % 2 ? "Tanh" : strs[rnd() % N_STRS];
      break;
    case QC_ATTR_INTS:
    case QC_ATTR_FLOATS:
      a->n = (int64_t)(rnd() % 6);
      a->ints = qc_arena_alloc(g->arena, sizeof(int64_t) * 8);
      a->floats = qc_arena_alloc(g->arena, sizeof(float) * 8);
      for (int i = 0; i < a->n; i++) {
        a->ints[i] = rnd() % 2 ? (int64_t)(rnd() % 7) - 3 : pick(interesting, N_INTERESTING);
        a->floats[i] = (float)a->ints[i];
      }
      if (spec.kind == QC_ATTR_INTS) a->floats = NULL;
      else a->ints = NULL;
      break;
    case QC_ATTR_TENSOR: {
      qc_tensor t;
      rand_tensor(&t, 0);
      if (rnd() % 2) {
        int64_t had = qc_tensor_elems(&t);
        t.rank = 1;
        t.dims[0] = had ? 1 : 0;
      }
      a->tensors = qc_arena_alloc(g->arena, sizeof(qc_tensor));
      *a->tensors = t;
      int64_t bytes = qc_tensor_bytes(&t);
      a->tensors->data = qc_arena_alloc(g->arena, (size_t)(bytes > 0 ? bytes : 1));
      if (bytes > 0) memcpy(a->tensors->data, t.data, (size_t)bytes);
      free(t.data);
      break;
    }
    default: break;
    }
  }
}

static void test_fuzz(void)
{
  qc_kernel_fn table[QC_OP_COUNT];
  qc_kernels_collect(table);
  int ran = 0, accepted = 0;
  for (int op = (int)QC_OP_Resize; op <= (int)QC_OP_MelWeightMatrix; op++)
      for (int iter = 0; iter < 1000; iter++) {
        const qc_op_info *info = &qc_ops[op];
        int n_in = info->min_in + (int)(rnd() % (uint64_t)((info->max_in < 0 ? info->min_in + 4 : info->max_in) - info->min_in + 1));
        int n_out = info->min_out + (int)(rnd() % (uint64_t)((info->max_out < 0 ? info->min_out + 3 : info->max_out) - info->min_out + 1));
        qc_graph *g = qc_graph_new();
        int32_t none[1] = {0};
        qc_err e = {0};
        int32_t id = qc_graph_add_node(g, (qc_op)op, "f", 0, none, 0, none, &e);
        rand_attrs(g, id);
        qc_node *nd = &g->nodes[id];
        nd->n_in = n_in;
        nd->n_out = n_out;
        qc_tensor in[16], out[16];
        qc_tinfo ti[16], to[16];
        memset(in, 0, sizeof in);
        memset(out, 0, sizeof out);
        memset(to, 0, sizeof to);
        for (int i = 0; i < n_in; i++) {
          if (i >= info->min_in && rnd() % 4 == 0) { /* omitted optional input */
            memset(&ti[i], 0, sizeof ti[i]);
            continue;
          }
          rand_tensor(&in[i], i);
          ti[i].dtype = in[i].dtype;
          ti[i].rank = in[i].rank;
          memcpy(ti[i].dims, in[i].dims, sizeof ti[i].dims);
          ti[i].data = in[i].data;
        }
        ran++;
        bool ok = qc_infer_node(nd, ti, n_in, to, n_out, &e) == QC_OK;
        for (int o = 0; o < n_out && ok; o++) {
          int64_t elems = qc_shape_elems(to[o].rank, to[o].dims);
          ok = to[o].rank >= 0 && elems >= 0 && elems <= 100000 && to[o].dtype != QC_DT_UNDEF &&
               qc_dtype_bytes(to[o].dtype, elems) >= 0;
          if (!ok) break;
          out[o].dtype = to[o].dtype;
          out[o].rank = to[o].rank;
          memcpy(out[o].dims, to[o].dims, sizeof out[o].dims);
          int64_t bytes = qc_tensor_bytes(&out[o]);
          out[o].data = malloc((size_t)(bytes > 0 ? bytes : 1));
        }
        if (ok && table[op]) {
          void *slot = NULL;
          qc_kctx k = {NULL, &e, scratch, &slot};
          accepted++;
          qc_status st = table[op](&k, nd, in, n_in, out, n_out);
          CU_ASSERT(st == QC_OK || e.msg[0] != 0); /* a failure always says why */
          free(slot);
        }
        for (int i = 0; i < 16; i++) {
          free(in[i].data);
          free(out[i].data);
        }
        qc_graph_free(g);
      }
  printf("\n  %d random nodes, %d accepted by inference and run ", ran, accepted);
  CU_ASSERT(accepted > ran / 20);
}

static CU_TestInfo tests[] = {
    {"random nodes never crash", test_fuzz},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"more_fuzz", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
