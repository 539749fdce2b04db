/* The nn kernels against PyTorch/numpy: tests/interp/nn_ref.py writes ~100 single-op cases
   (inputs, attributes, expected outputs); each runs here as a one-node graph through the
   interpreter (input 0 a graph input, the rest constants), so shape inference, the window
   geometry and the kernel are checked together. Skipped (exit 77) without python3 + torch. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "interp.h"
#include "testutil.h"

#define MAX_IO 8

typedef struct {
  char name[64];
  qc_attr_kind kind;
  int64_t i, n, ints[16];
  float f;
  char s[64];
} ref_attr;

typedef struct {
  char name[128], op[64];
  int n_in, n_out;
  qc_tensor in[MAX_IO], out[MAX_IO]; /* dtype UNDEF: omitted */
  ref_attr attrs[12];
  int n_attrs;
} ref_case;

static const char *dir;

static void *load(const char *file, int64_t bytes)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "rb");
  void *p = malloc((size_t)bytes + 1);
  if (!f || !p || fread(p, 1, (size_t)bytes, f) != (size_t)bytes) {
    fprintf(stderr, "cannot read %s\n", path);
    if (f) fclose(f);
    free(p);
    return NULL;
  }
  fclose(f);
  return p;
}

/* "DTYPE RANK DIMS... FILE" or "-" after the keyword. */
static bool parse_tensor(char *rest, qc_tensor *t)
{
  memset(t, 0, sizeof *t);
  char *tok = strtok(rest, " \n");
  if (!tok || strcmp(tok, "-") == 0) return true;
  t->dtype = qc_dtype_from_name(tok);
  t->rank = atoi(strtok(NULL, " \n"));
  for (int i = 0; i < t->rank; i++) t->dims[i] = atoll(strtok(NULL, " \n"));
  t->data = load(strtok(NULL, " \n"), qc_tensor_bytes(t));
  return t->data != NULL;
}

static void free_case(ref_case *c)
{
  for (int i = 0; i < c->n_in; i++) free(c->in[i].data);
  for (int i = 0; i < c->n_out; i++) free(c->out[i].data);
  memset(c, 0, sizeof *c);
}

/* Reads the next case; false at the end of the file. */
static bool next_case(FILE *f, ref_case *c)
{
  char line[1024];
  memset(c, 0, sizeof *c);
  bool in_case = false;
  while (fgets(line, sizeof line, f)) {
    char *kw = strtok(line, " \n");
    if (!kw) continue;
    char *rest = kw + strlen(kw) + 1;
    if (strcmp(kw, "case") == 0) {
      snprintf(c->name, sizeof c->name, "%s", strtok(NULL, " \n"));
      snprintf(c->op, sizeof c->op, "%s", strtok(NULL, " \n"));
      in_case = true;
    } else if (strcmp(kw, "end") == 0) {
      return in_case;
    } else if (strcmp(kw, "in") == 0) {
      parse_tensor(rest, &c->in[c->n_in++]);
    } else if (strcmp(kw, "out") == 0) {
      parse_tensor(rest, &c->out[c->n_out++]);
    } else {
      ref_attr *a = &c->attrs[c->n_attrs++];
      snprintf(a->name, sizeof a->name, "%s", strtok(NULL, " \n"));
      if (strcmp(kw, "ai") == 0) {
        a->kind = QC_ATTR_INT;
        a->i = atoll(strtok(NULL, " \n"));
      } else if (strcmp(kw, "af") == 0) {
        a->kind = QC_ATTR_FLOAT;
        a->f = strtof(strtok(NULL, " \n"), NULL);
      } else if (strcmp(kw, "as") == 0) {
        a->kind = QC_ATTR_STRING;
        snprintf(a->s, sizeof a->s, "%s", strtok(NULL, " \n"));
      } else {
        a->kind = QC_ATTR_INTS;
        for (char *t; (t = strtok(NULL, " \n"));) a->ints[a->n++] = atoll(t);
      }
    }
  }
  return false;
}

static int compare(const ref_case *c, int k, const qc_tensor *got)
{
  const qc_tensor *want = &c->out[k];
  if (!got || got->dtype != want->dtype || got->rank != want->rank ||
      memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)want->rank) != 0) {
    fprintf(stderr, "  %s: output %d has the wrong dtype or shape\n", c->name, k);
    return 1;
  }
  int64_t n = qc_tensor_elems(want);
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    double g, w;
    switch (want->dtype) {
    case QC_DT_F32: g = ((float *)got->data)[i], w = ((float *)want->data)[i]; break;
    case QC_DT_I64:
      g = (double)((int64_t *)got->data)[i], w = (double)((int64_t *)want->data)[i];
      break;
    case QC_DT_U8: g = ((uint8_t *)got->data)[i], w = ((uint8_t *)want->data)[i]; break;
    default: g = ((int8_t *)got->data)[i], w = ((int8_t *)want->data)[i]; break;
    }
    double tol = want->dtype == QC_DT_F32 ? 1e-4 + 1e-4 * fabs(w) : 0;
    if (!(fabs(g - w) <= tol)) {
      if (bad < 3)
        fprintf(stderr, "  %s: output %d [%lld] = %.7g, want %.7g\n", c->name, k, (long long)i,
                g, w);
      bad++;
    }
  }
  return bad != 0;
}

/* Builds the one-node graph, runs it and compares; returns 0 on success. */
static int run_case(const ref_case *c)
{
  qc_err e = {0};
  qc_graph *g = qc_graph_new();
  int32_t ins[MAX_IO], outs[MAX_IO], gouts[MAX_IO], n_gout = 0;
  char nm[32];
  for (int i = 0; i < c->n_in; i++) {
    const qc_tensor *t = &c->in[i];
    snprintf(nm, sizeof nm, "in%d", i);
    if (t->dtype == QC_DT_UNDEF) ins[i] = -1;
    else if (i == 0) ins[i] = qc_graph_add_value(g, nm, t->dtype, t->rank, t->dims, &e);
    else ins[i] = qc_graph_add_const(g, nm, t->dtype, t->rank, t->dims, t->data, &e);
  }
  for (int i = 0; i < c->n_out; i++) {
    snprintf(nm, sizeof nm, "out%d", i);
    outs[i] = c->out[i].dtype == QC_DT_UNDEF
                  ? -1
                  : qc_graph_add_value(g, nm, QC_DT_UNDEF, -1, NULL, &e);
    if (outs[i] >= 0) gouts[n_gout++] = outs[i];
  }
  int32_t node = qc_graph_add_node(g, qc_op_lookup("", c->op), c->name, c->n_in, ins, c->n_out,
                                   outs, &e);
  for (int i = 0; i < c->n_attrs; i++) {
    qc_attr *a = qc_node_add_attr(g, node, c->attrs[i].name, c->attrs[i].kind, &e);
    a->i = c->attrs[i].i;
    a->f = c->attrs[i].f;
    if (a->kind == QC_ATTR_STRING) {
      a->s = qc_arena_strdup(g->arena, c->attrs[i].s);
      a->s_len = (int64_t)strlen(a->s);
    }
    if (a->kind == QC_ATTR_INTS) {
      a->n = c->attrs[i].n;
      a->ints = qc_arena_alloc(g->arena, sizeof(int64_t) * (size_t)(a->n + 1));
      memcpy(a->ints, c->attrs[i].ints, sizeof(int64_t) * (size_t)a->n);
    }
  }
  qc_graph_set_inputs(g, 1, &ins[0], &e);
  qc_graph_set_outputs(g, n_gout, gouts, &e);
  int fail = 0;
  qc_interp *it = NULL;
  if (e.code || qc_interp_new(g, 2, &it, &e) || qc_interp_run(it, &c->in[0], 1, &e)) {
    fprintf(stderr, "  %s: %s\n", c->name, e.msg);
    fail = 1;
  } else {
    for (int i = 0, k = 0; i < c->n_out; i++)
      if (c->out[i].dtype != QC_DT_UNDEF) fail |= compare(c, i, qc_interp_output(it, k++));
  }
  qc_interp_free(it);
  qc_graph_free(g);
  return fail;
}

static void test_against_torch(void)
{
  static char path[512];
  snprintf(path, sizeof path, "%s/tests/nn_ref", QC_BINARY_DIR);
  mkdir(path, 0755);
  dir = path;
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/interp/nn_ref.py %s >/dev/null",
           QC_SOURCE_DIR, path);
  if (system(cmd) != 0) {
    printf("SKIPPED: /usr/bin/python3 with torch and numpy could not generate references\n");
    exit(77);
  }
  char list[600];
  snprintf(list, sizeof list, "%s/cases.txt", path);
  FILE *f = fopen(list, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  ref_case c;
  int n = 0, failed = 0;
  while (next_case(f, &c)) {
    n++;
    failed += run_case(&c);
    free_case(&c);
  }
  fclose(f);
  printf("\n  %d cases, %d failed\n", n, failed);
  CU_ASSERT(n >= 100);
  CU_ASSERT_EQUAL(failed, 0);
}

static CU_TestInfo tests[] = {
    {"single-op graphs vs PyTorch/numpy", test_against_torch},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"nn kernels", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
