/* Runs single-node cases through shape inference and the interpreter's kernels, the way the
 * executor does: infer with every input known, allocate the outputs, call the kernel.
 *
 * Cases come as text (written by tests/interp/kcases.py from ONNX's node tests or from numpy):
 *   case NAME | op OPTYPE | attr NAME KIND VALUE.. | in DTYPE RANK DIMS.. HEX | in - |
 *   out DTYPE RANK DIMS.. HEX | outskip DTYPE RANK DIMS.. | tol RTOL ATOL | err MESSAGE | end
 * HEX is the raw little-endian bytes ("-" when empty). Each case is also inferred statically
 * (data unknown; then the data input's dims symbolic) and must agree with the final shapes. */
#ifndef QC_KTEST_H
#define QC_KTEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "ir.h"
#include "kernels.h"
#include "pool.h"
#include "testutil.h"

#define KT_MAX_IO 16

typedef struct {
  void *blocks[64];
  int n;
} kt_scratch;

static void *kt_scratch_fn(qc_kctx *k, size_t bytes)
{
  kt_scratch *s = k->scratch_owner;
  if (s->n >= 64) return NULL;
  void *p = malloc(bytes ? bytes : 1);
  if (p) {
    memset(p, 0xa5, bytes); /* kernels must not rely on zeroed scratch */
    s->blocks[s->n++] = p;
  }
  return p;
}

static void kt_scratch_free(kt_scratch *s)
{
  for (int i = 0; i < s->n; i++) free(s->blocks[i]);
  s->n = 0;
}

typedef struct {
  char name[128];
  char op[64];
  qc_graph *g;
  int32_t node;
  int n_in, n_out;
  qc_tensor in[KT_MAX_IO], want[KT_MAX_IO];
  bool skip_out[KT_MAX_IO];
  double rtol, atol;
  char err[1024];
} kt_case;

static char *kt_tok(char **p)
{
  while (**p == ' ') (*p)++;
  if (!**p) return NULL;
  char *s = *p;
  while (**p && **p != ' ') (*p)++;
  if (**p) *(*p)++ = 0;
  return s;
}

static int kt_hex(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

/* DTYPE RANK DIMS.. [HEX] into t (data malloc'd); false on a parse error. */
static bool kt_parse_tensor(char **p, qc_tensor *t, bool with_data)
{
  memset(t, 0, sizeof *t);
  char *dt = kt_tok(p), *rk = kt_tok(p);
  if (!dt || !rk) return false;
  t->dtype = qc_dtype_from_name(dt);
  t->rank = atoi(rk);
  if (t->dtype == QC_DT_UNDEF || t->rank < 0 || t->rank > QC_MAX_RANK) return false;
  for (int i = 0; i < t->rank; i++) {
    char *d = kt_tok(p);
    if (!d) return false;
    t->dims[i] = atoll(d);
  }
  if (!with_data) return true;
  char *hx = kt_tok(p);
  if (!hx) return false;
  int64_t bytes = qc_tensor_bytes(t);
  t->data = calloc(1, (size_t)(bytes > 0 ? bytes : 1));
  if (strcmp(hx, "-") == 0) return bytes == 0;
  if ((int64_t)strlen(hx) != 2 * bytes) return false;
  unsigned char *b = t->data;
  for (int64_t i = 0; i < bytes; i++) b[i] = (unsigned char)(kt_hex(hx[2 * i]) << 4 | kt_hex(hx[2 * i + 1]));
  return true;
}

static bool kt_parse_attr(kt_case *c, char *p)
{
  char *name = kt_tok(&p), *kind = kt_tok(&p);
  if (!name || !kind) return false;
  qc_err e = {0};
  qc_attr_kind k = strcmp(kind, "i") == 0    ? QC_ATTR_INT
                   : strcmp(kind, "f") == 0  ? QC_ATTR_FLOAT
                   : strcmp(kind, "s") == 0  ? QC_ATTR_STRING
                   : strcmp(kind, "is") == 0 ? QC_ATTR_INTS
                   : strcmp(kind, "fs") == 0 ? QC_ATTR_FLOATS
                   : strcmp(kind, "t") == 0  ? QC_ATTR_TENSOR
                                             : QC_ATTR_UNDEF;
  if (k == QC_ATTR_UNDEF) return false;
  qc_attr *a = qc_node_add_attr(c->g, c->node, name, k, &e);
  if (!a) return false;
  qc_arena *ar = c->g->arena;
  switch (k) {
  case QC_ATTR_INT: a->i = atoll(kt_tok(&p)); break;
  case QC_ATTR_FLOAT: a->f = strtof(kt_tok(&p), NULL); break;
  case QC_ATTR_STRING: {
    char *s = kt_tok(&p);
    a->s = qc_arena_strdup(ar, s ? s : "");
    a->s_len = (int64_t)strlen(a->s);
    break;
  }
  case QC_ATTR_INTS:
  case QC_ATTR_FLOATS: {
    a->n = atoll(kt_tok(&p));
    a->ints = qc_arena_alloc(ar, sizeof(int64_t) * (size_t)(a->n + 1));
    a->floats = qc_arena_alloc(ar, sizeof(float) * (size_t)(a->n + 1));
    for (int64_t i = 0; i < a->n; i++) {
      char *v = kt_tok(&p);
      if (!v) return false;
      if (k == QC_ATTR_INTS) a->ints[i] = atoll(v);
      else a->floats[i] = strtof(v, NULL);
    }
    if (k == QC_ATTR_INTS) a->floats = NULL;
    else a->ints = NULL;
    break;
  }
  case QC_ATTR_TENSOR: {
    qc_tensor t;
    if (!kt_parse_tensor(&p, &t, true)) return false;
    a->tensors = qc_arena_alloc(ar, sizeof(qc_tensor));
    *a->tensors = t;
    int64_t bytes = qc_tensor_bytes(&t);
    a->tensors->data = qc_arena_alloc(ar, (size_t)(bytes > 0 ? bytes : 1));
    if (bytes > 0) memcpy(a->tensors->data, t.data, (size_t)bytes);
    free(t.data);
    break;
  }
  default: return false;
  }
  return true;
}

static void kt_case_free(kt_case *c)
{
  for (int i = 0; i < c->n_in; i++) free(c->in[i].data);
  for (int i = 0; i < c->n_out; i++) free(c->want[i].data);
  qc_graph_free(c->g);
  memset(c, 0, sizeof *c);
}

static void kt_to_tinfo(const qc_tensor *t, qc_tinfo *ti)
{
  ti->dtype = t->dtype;
  ti->rank = t->rank;
  memcpy(ti->dims, t->dims, sizeof ti->dims);
  ti->data = t->data;
}

/* Static inference must never contradict the run-time shapes. syms: input 0's dims are
   QC_DIM_SYM(i) and stand for in[0].dims[i]. */
static bool kt_static_ok(kt_case *c, const qc_node *nd, const qc_tinfo *fin, bool syms,
                         char *why, size_t cap)
{
  qc_tinfo ti[KT_MAX_IO], to[KT_MAX_IO];
  memset(to, 0, sizeof to);
  for (int i = 0; i < c->n_in; i++) {
    kt_to_tinfo(&c->in[i], &ti[i]);
    if (!syms || i == 0) ti[i].data = NULL;
    if (syms && i == 0)
      for (int d = 0; d < ti[0].rank; d++) ti[0].dims[d] = QC_DIM_SYM(d);
  }
  qc_err e = {0};
  if (qc_infer_node(nd, ti, c->n_in, to, c->n_out, &e)) {
    snprintf(why, cap, "static inference (%s) failed: %s", syms ? "symbolic" : "no data", e.msg);
    return false;
  }
  for (int o = 0; o < c->n_out; o++) {
    if (to[o].dtype != QC_DT_UNDEF && to[o].dtype != fin[o].dtype) {
      snprintf(why, cap, "static dtype of output %d is %s, run time %s", o,
               qc_dtype_name(to[o].dtype), qc_dtype_name(fin[o].dtype));
      return false;
    }
    if (to[o].rank < 0) continue;
    if (to[o].rank != fin[o].rank) {
      snprintf(why, cap, "static rank of output %d is %d, run time %d (%s)", o, to[o].rank,
               fin[o].rank, syms ? "symbolic" : "no data");
      return false;
    }
    for (int d = 0; d < to[o].rank; d++) {
      int64_t s = to[o].dims[d], f = fin[o].dims[d];
      if (s <= -2 && syms && c->in[0].rank > QC_DIM_SYM_INDEX(s)) s = c->in[0].dims[QC_DIM_SYM_INDEX(s)];
      if (s >= 0 && s != f) {
        snprintf(why, cap, "static dim %d of output %d is %lld, run time %lld (%s)", d, o,
                 (long long)s, (long long)f, syms ? "symbolic" : "no data");
        return false;
      }
    }
  }
  return true;
}

static bool kt_close(double a, double w, double rtol, double atol)
{
  if (isnan(w)) return isnan(a);
  if (isinf(w)) return a == w;
  return fabs(a - w) <= atol + rtol * fabs(w);
}

/* Runs one parsed case; returns NULL on success or a malloc'd failure description. */
static char *kt_run(kt_case *c, qc_pool *pool)
{
  char *why = calloc(1, 4096);
  qc_node *nd = &c->g->nodes[c->node];
  qc_tinfo ti[KT_MAX_IO], to[KT_MAX_IO];
  memset(to, 0, sizeof to);
  for (int i = 0; i < c->n_in; i++) kt_to_tinfo(&c->in[i], &ti[i]);
  qc_err e = {0};
  qc_tensor out[KT_MAX_IO];
  memset(out, 0, sizeof out);
  kt_scratch sc = {{0}, 0};
  qc_kctx k = {pool, &e, kt_scratch_fn, &sc};
  qc_kernel_fn table[QC_OP_COUNT];
  qc_kernels_collect(table);
  qc_status st = qc_infer_node(nd, ti, c->n_in, to, c->n_out, &e);
  if (!st) {
    for (int o = 0; o < c->n_out; o++) {
      if (to[o].rank < 0 || qc_shape_elems(to[o].rank, to[o].dims) < 0) {
        snprintf(why, 4096, "output %d has an unknown shape after full inference", o);
        goto done;
      }
    }
    if (!kt_static_ok(c, nd, to, false, why, 4096) || !kt_static_ok(c, nd, to, true, why, 4096))
      goto done;
    for (int o = 0; o < c->n_out; o++) {
      out[o].dtype = to[o].dtype;
      out[o].rank = to[o].rank;
      memcpy(out[o].dims, to[o].dims, sizeof out[o].dims);
      int64_t bytes = qc_tensor_bytes(&out[o]);
      out[o].data = malloc((size_t)(bytes > 0 ? bytes : 1));
      memset(out[o].data, 0xa5, (size_t)(bytes > 0 ? bytes : 1)); /* garbage, not zeros */
    }
    if (!table[nd->op]) {
      snprintf(why, 4096, "no kernel for %s", c->op);
      goto done;
    }
    st = table[nd->op](&k, nd, c->in, c->n_in, out, c->n_out);
  }
  if (c->err[0]) {
    if (!st) snprintf(why, 4096, "expected error '%s', got success", c->err);
    else if (strcmp(e.msg, c->err) != 0)
      snprintf(why, 4096, "expected error '%s', got '%s'", c->err, e.msg);
    if (!why[0]) {
      free(why);
      why = NULL;
    }
    goto done;
  }
  if (st) {
    snprintf(why, 4096, "failed: %s", e.msg);
    goto done;
  }
  for (int o = 0; o < c->n_out; o++) {
    const qc_tensor *w = &c->want[o], *a = &out[o];
    if (w->dtype != a->dtype || w->rank != a->rank ||
        memcmp(w->dims, a->dims, sizeof(int64_t) * (size_t)w->rank) != 0) {
      snprintf(why, 4096, "output %d is %s rank %d [%lld %lld ..], expected %s rank %d [%lld %lld ..]",
               o, qc_dtype_name(a->dtype), a->rank, (long long)a->dims[0], (long long)a->dims[1],
               qc_dtype_name(w->dtype), w->rank, (long long)w->dims[0], (long long)w->dims[1]);
      goto done;
    }
    if (c->skip_out[o]) continue;
    int64_t n = qc_tensor_elems(w);
    if (qc_dtype_is_float(w->dtype)) {
      for (int64_t i = 0; i < n; i++) {
        double av, wv;
        qc_load_f64(w->dtype, a->data, i, 1, &av);
        qc_load_f64(w->dtype, w->data, i, 1, &wv);
        if (!kt_close(av, wv, c->rtol, c->atol)) {
          snprintf(why, 4096, "output %d element %lld is %.9g, expected %.9g", o, (long long)i,
                   av, wv);
          goto done;
        }
      }
    } else {
      int es = qc_dtype_elem_bytes(w->dtype);
      for (int64_t i = 0; i < n; i++)
        if (memcmp((char *)a->data + i * es, (char *)w->data + i * es, (size_t)es) != 0) {
          int64_t av = 0, wv = 0;
          qc_load_i64(w->dtype, a->data, i, 1, &av);
          qc_load_i64(w->dtype, w->data, i, 1, &wv);
          snprintf(why, 4096, "output %d element %lld is %lld, expected %lld", o, (long long)i,
                   (long long)av, (long long)wv);
          goto done;
        }
    }
  }
  free(why);
  why = NULL;
done:
  kt_scratch_free(&sc);
  for (int o = 0; o < c->n_out; o++) free(out[o].data);
  return why;
}

/* Runs every case in a file; failures are printed and counted. *total gets the case count. */
static int kt_run_file(const char *path, qc_pool *pool, int *total)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  size_t cap = 1 << 20;
  char *line = malloc(cap);
  int fails = 0;
  *total = 0;
  kt_case c;
  memset(&c, 0, sizeof c);
  bool bad = false;
  qc_err e = {0};
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = 0;
    char *p = line, *kw = kt_tok(&p);
    if (!kw) continue;
    if (strcmp(kw, "case") == 0) {
      memset(&c, 0, sizeof c);
      snprintf(c.name, sizeof c.name, "%s", kt_tok(&p));
      c.rtol = 1e-3;
      c.atol = 1e-7;
      c.g = qc_graph_new();
      c.node = -1;
      bad = false;
    } else if (strcmp(kw, "op") == 0) {
      snprintf(c.op, sizeof c.op, "%s", kt_tok(&p));
      qc_op op = qc_op_lookup("", c.op);
      int32_t ins[1] = {0}, outs[1] = {0};
      c.node = qc_graph_add_node(c.g, op, c.name, 0, ins, 0, outs, &e);
      bad |= op == QC_OP_NONE || c.node < 0;
    } else if (strcmp(kw, "attr") == 0) {
      bad |= c.node < 0 || !kt_parse_attr(&c, p);
    } else if (strcmp(kw, "in") == 0) {
      if (strcmp(p, "-") == 0) memset(&c.in[c.n_in], 0, sizeof c.in[0]);
      else bad |= !kt_parse_tensor(&p, &c.in[c.n_in], true);
      c.n_in++;
    } else if (strcmp(kw, "out") == 0 || strcmp(kw, "outskip") == 0) {
      c.skip_out[c.n_out] = kw[3] == 's';
      bad |= !kt_parse_tensor(&p, &c.want[c.n_out], kw[3] != 's');
      c.n_out++;
    } else if (strcmp(kw, "tol") == 0) {
      c.rtol = atof(kt_tok(&p));
      c.atol = atof(kt_tok(&p));
    } else if (strcmp(kw, "err") == 0) {
      snprintf(c.err, sizeof c.err, "%s", p);
    } else if (strcmp(kw, "end") == 0) {
      (*total)++;
      if (bad) {
        printf("\n  case %s: cannot parse", c.name);
        fails++;
      } else {
        qc_node *nd = &c.g->nodes[c.node];
        nd->n_in = c.n_in;
        nd->n_out = c.n_out;
        char *why = kt_run(&c, pool);
        if (why) {
          printf("\n  case %s (%s): %s", c.name, c.op, why);
          fails++;
          free(why);
        }
      }
      kt_case_free(&c);
    }
  }
  free(line);
  fclose(f);
  return fails;
}

/* Generates a case file with a python script from tests/interp and runs it. */
static void kt_run_script(const char *script, const char *args, const char *out_name)
{
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/interp/%s %s > %s", QC_SOURCE_DIR,
           script, args, out_name);
  int rc = system(cmd);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  qc_err e = {0};
  qc_pool *pool = qc_pool_new(2, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
  int total = 0;
  int fails = kt_run_file(out_name, pool, &total);
  printf("\n  %s: %d cases, %d failed ", out_name, total, fails);
  CU_ASSERT(total > 0);
  CU_ASSERT_EQUAL(fails, 0);
  qc_pool_free(pool);
}

#endif
