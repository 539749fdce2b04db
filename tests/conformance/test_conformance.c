/* The ONNX conformance runner: every test folder of libonnx-testdata's node, pytorch-converted,
 * pytorch-operator and simple suites (model.onnx + test_data_set_N/{input,output}_M.pb) is
 * imported, run through the reference interpreter and compared with ONNX's tolerances.
 *
 * A test is skipped when the importer refuses it as unsupported (an op quantc does not register,
 * a dtype or attribute it does not take) or an op has no reference kernel; excluded when listed
 * in exclusions.txt; otherwise it must pass. Each test runs in a forked child so that a crash or
 * a hang is one failure, not the end of the run. docs/conformance.md describes the policy.
 *
 * Environment: QC_CONFORMANCE_FILTER  comma-separated globs over "suite/test" or "test"
 *              QC_CONFORMANCE_VERBOSE  1: a line per test
 *              QC_CONFORMANCE_NOFORK   1: run in-process (for a debugger)
 *              QC_CONFORMANCE_THREADS  interpreter threads (default 1)
 *              QC_CONFORMANCE_TIMEOUT  seconds per test (default 60)
 *              QC_ONNX_TESTDATA        data root (default /usr/share/libonnx-testdata/data) */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "convert.h"
#include "interp.h"
#include "onnx.h"
#include "testutil.h"

#define RTOL 1e-3
#define ATOL 1e-7

static const char *const SUITES[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

typedef enum { R_PASS, R_FAIL, R_SKIP, R_EXCLUDED, R_BAD_EXCLUSION } rkind;

/* What a child reports about one test. */
typedef struct {
  int kind;          /* rkind */
  char ops[256];     /* the model's op types, for triage */
  char msg[1536];    /* failure text, or the grouped skip reason */
} result;

/* ---- helpers ------------------------------------------------------------------------------ */

/* snprintf for messages and paths where truncation is acceptable. */
static void sfmt(char *buf, size_t len, const char *fmt, ...) QC_PRINTF(3, 4);
static void sfmt(char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

static const char *env_or(const char *name, const char *dflt)
{
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of dir's entries starting with prefix; *n set; NULL when dir cannot be read. */
static char **list_dir(const char *dir, const char *prefix, int *n)
{
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = NULL;
  int cap = 0;
  for (struct dirent *de; (de = readdir(d));) {
    if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || de->d_name[0] == '.') continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, sizeof *names * (size_t)cap);
    }
    names[(*n)++] = strdup(de->d_name);
  }
  closedir(d);
  if (*n) qsort(names, (size_t)*n, sizeof *names, cmp_str);
  return names;
}

static void free_list(char **l, int n)
{
  for (int i = 0; i < n; i++) free(l[i]);
  free(l);
}

static bool file_exists(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0;
}

/* The importer's and interpreter's refusals, grouped by what is missing: the op for unknown ops
   and missing kernels, else the message without node names and paths. */
static void skip_reason(const char *msg, char *out, size_t len)
{
  const char *p = strstr(msg, "op '");
  if (p && strstr(msg, "is not supported")) {
    const char *q = strchr(p + 4, '\'');
    int oplen = q ? (int)(q - p - 4) : 0;
    snprintf(out, len, "op '%.*s' not supported", oplen, p + 4);
    return;
  }
  /* "node 'NAME' (OP): text" */
  if (strncmp(msg, "node '", 6) == 0 && (p = strstr(msg, "' (")) && strstr(p, "): ")) {
    const char *op = p + 3, *q = strstr(p, "): ");
    if (strstr(q, "no reference kernel")) {
      snprintf(out, len, "op '%.*s' has no kernel", (int)(q - op), op);
      return;
    }
    snprintf(out, len, "%.*s: %s", (int)(q - op), op, q + 3);
    return;
  }
  /* "/path/file.pb: text" */
  if (msg[0] == '/' && (p = strstr(msg, ": "))) msg = p + 2;
  /* Drop quoted value names ("graph input 'x' is ...") so that one reason is one group. */
  size_t o = 0;
  for (const char *c = msg; *c && o + 1 < len; c++) {
    const char *q;
    if (c[0] == ' ' && c[1] == '\'' && (q = strchr(c + 2, '\''))) {
      c = q;
      continue;
    }
    out[o++] = *c;
  }
  out[o] = 0;
}

static void fmt_shape(const qc_tensor *t, char *out, size_t len)
{
  size_t o = (size_t)snprintf(out, len, "[");
  for (int i = 0; i < t->rank && o < len; i++)
    o += (size_t)snprintf(out + o, len - o, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  if (o < len) snprintf(out + o, len - o, "]");
}

/* ONNX's check: |got - want| <= atol + rtol * |want| for floats (NaN matches NaN, infinities
   must be equal), exact equality for integers and bools; shapes and dtypes must match. */
static bool compare(const qc_tensor *got, const qc_tensor *want, char *msg, size_t len)
{
  if (got->dtype != want->dtype) {
    snprintf(msg, len, "dtype %s, expected %s", qc_dtype_name(got->dtype),
             qc_dtype_name(want->dtype));
    return false;
  }
  bool same = got->rank == want->rank;
  for (int i = 0; same && i < got->rank; i++) same = got->dims[i] == want->dims[i];
  if (!same) {
    char a[128], b[128];
    fmt_shape(got, a, sizeof a);
    fmt_shape(want, b, sizeof b);
    snprintf(msg, len, "shape %s, expected %s", a, b);
    return false;
  }
  int64_t n = qc_tensor_elems(want);
  enum { CHUNK = 4096 };
  if (qc_dtype_is_float(want->dtype)) {
    double a[CHUNK], b[CHUNK];
    for (int64_t o = 0; o < n; o += CHUNK) {
      int64_t c = n - o < CHUNK ? n - o : CHUNK;
      qc_load_f64(got->dtype, got->data, o, c, a);
      qc_load_f64(want->dtype, want->data, o, c, b);
      for (int64_t i = 0; i < c; i++) {
        bool ok = isnan(b[i]) ? isnan(a[i])
                  : isinf(b[i]) ? a[i] == b[i]
                                : fabs(a[i] - b[i]) <= ATOL + RTOL * fabs(b[i]);
        if (!ok) {
          snprintf(msg, len, "element %lld: got %.9g, expected %.9g", (long long)(o + i), a[i],
                   b[i]);
          return false;
        }
      }
    }
    return true;
  }
  if (qc_dtype_is_int(want->dtype) || want->dtype == QC_DT_BOOL) {
    int64_t a[CHUNK], b[CHUNK];
    for (int64_t o = 0; o < n; o += CHUNK) {
      int64_t c = n - o < CHUNK ? n - o : CHUNK;
      qc_load_i64(got->dtype, got->data, o, c, a);
      qc_load_i64(want->dtype, want->data, o, c, b);
      for (int64_t i = 0; i < c; i++)
        if (a[i] != b[i]) {
          snprintf(msg, len, "element %lld: got %lld, expected %lld", (long long)(o + i),
                   (long long)a[i], (long long)b[i]);
          return false;
        }
    }
    return true;
  }
  int64_t bytes = qc_tensor_bytes(want);
  if (bytes > 0 && memcmp(got->data, want->data, (size_t)bytes) != 0) {
    snprintf(msg, len, "bytes differ");
    return false;
  }
  return true;
}

/* ---- one test ----------------------------------------------------------------------------- */

static void set_result(result *r, rkind k, const char *fmt, ...) QC_PRINTF(3, 4);
static void set_result(result *r, rkind k, const char *fmt, ...)
{
  r->kind = k;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
}

/* Refusals by the importer or the interpreter's setup are skips; anything else a failure. */
static void setup_error(result *r, const char *stage, const qc_err *e)
{
  if (e->code == QC_ERR_UNSUPPORTED) {
    r->kind = R_SKIP;
    skip_reason(e->msg, r->msg, sizeof r->msg);
  } else {
    set_result(r, R_FAIL, "%s: %s: %s", stage, qc_status_name(e->code), e->msg);
  }
}

static void list_ops(const qc_graph *g, char *out, size_t len)
{
  out[0] = 0;
  size_t o = 0;
  bool seen[QC_OP_COUNT] = {false};
  for (int32_t i = 0; i < g->n_nodes && o < len; i++) {
    qc_op op = g->nodes[i].op;
    if ((unsigned)op >= QC_OP_COUNT || seen[op]) continue;
    seen[op] = true;
    o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", qc_op_name(op));
  }
}

/* Runs data set dir against it; true when every output matches. numpy has no bfloat16, so
   ONNX's test data stores bf16 tensors as uint16 bit patterns (data_type UINT16): a u16 file
   for a bf16 input or output is read as the bf16 it encodes. */
static bool run_data_set(const qc_graph *g, qc_interp *it, const char *dir, result *r)
{
  int n_in = 0, n_out = 0;
  char **ins = list_dir(dir, "input_", &n_in), **outs = list_dir(dir, "output_", &n_out);
  qc_arena *a = qc_arena_new();
  qc_tensor *feed = calloc((size_t)g->n_inputs + 1, sizeof *feed);
  bool *fed = calloc((size_t)g->n_inputs + 1, sizeof *fed);
  bool ok = false;
  char path[4096], name[256];
  qc_err e = {0};
  if (n_in > g->n_inputs) {
    set_result(r, R_FAIL, "%s: %d input files for %d graph inputs", dir, n_in, g->n_inputs);
    goto out;
  }
  /* input_M.pb is graph input M, or the graph input its tensor names. */
  for (int i = 0; i < n_in; i++) {
    int idx = -1;
    sfmt(path, sizeof path, "%s/input_%d.pb", dir, i);
    qc_tensor t;
    if (qc_onnx_read_tensor_file(path, a, &t, name, sizeof name, &e) != QC_OK) {
      setup_error(r, "input", &e);
      goto out;
    }
    for (int32_t k = 0; name[0] && k < g->n_inputs; k++)
      if (strcmp(g->values[g->inputs[k]].name, name) == 0) idx = k;
    if (idx < 0) idx = i;
    if (t.dtype == QC_DT_U16 && g->values[g->inputs[idx]].dtype == QC_DT_BF16)
      t.dtype = QC_DT_BF16; /* see bf16_as_u16 */
    if (fed[idx]) {
      set_result(r, R_FAIL, "%s: graph input %d fed twice", path, idx);
      goto out;
    }
    feed[idx] = t;
    fed[idx] = true;
  }
  for (int32_t k = 0; k < g->n_inputs; k++)
    if (!fed[k]) {
      set_result(r, R_FAIL, "%s: graph input '%s' has no data", dir, g->values[g->inputs[k]].name);
      goto out;
    }
  if (qc_interp_run(it, feed, g->n_inputs, &e) != QC_OK) {
    set_result(r, R_FAIL, "run: %s: %s", qc_status_name(e.code), e.msg);
    goto out;
  }
  if (n_out != g->n_outputs) {
    set_result(r, R_FAIL, "%d output files for %d graph outputs", n_out, g->n_outputs);
    goto out;
  }
  for (int i = 0; i < n_out; i++) {
    sfmt(path, sizeof path, "%s/output_%d.pb", dir, i);
    qc_tensor want;
    if (qc_onnx_read_tensor_file(path, a, &want, NULL, 0, &e) != QC_OK) {
      setup_error(r, "expected output", &e);
      goto out;
    }
    char why[512];
    const qc_tensor *got = qc_interp_output(it, i);
    if (want.dtype == QC_DT_U16 && got->dtype == QC_DT_BF16) want.dtype = QC_DT_BF16;
    if (!compare(got, &want, why, sizeof why)) {
      const char *slash = strrchr(dir, '/');
      set_result(r, R_FAIL, "%s output %d ('%s'): %s", slash ? slash + 1 : dir, i,
                 g->values[g->outputs[i]].name, why);
      goto out;
    }
  }
  ok = true;
out:
  free(feed);
  free(fed);
  qc_arena_free(a);
  free_list(ins, n_in);
  free_list(outs, n_out);
  return ok;
}

/* Imports, prepares and (unless check_only) runs every data set of the test in dir. */
static void run_test(const char *dir, int threads, result *r)
{
  memset(r, 0, sizeof *r);
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_err e = {0};
  if (!file_exists(path)) {
    set_result(r, R_FAIL, "no model.onnx");
    return;
  }
  if (qc_onnx_load(path, &g, &e) != QC_OK) {
    setup_error(r, "import", &e);
    qc_graph_free(g);
    return;
  }
  list_ops(g, r->ops, sizeof r->ops);
  if (qc_interp_new(g, threads, &it, &e) != QC_OK) {
    setup_error(r, "interp", &e);
    qc_graph_free(g);
    return;
  }
  int n_sets = 0;
  char **sets = list_dir(dir, "test_data_set_", &n_sets);
  bool ok = n_sets > 0;
  if (!ok) set_result(r, R_FAIL, "no test_data_set_*");
  for (int i = 0; ok && i < n_sets; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, sets[i]);
    ok = run_data_set(g, it, path, r);
  }
  if (ok) r->kind = R_PASS;
  free_list(sets, n_sets);
  qc_interp_free(it);
  qc_graph_free(g);
}

/* Runs run_test in a child with a time limit; a crash or timeout is a failure. */
static void run_isolated(const char *dir, int threads, int timeout_s, result *r)
{
  if (getenv("QC_CONFORMANCE_NOFORK")) {
    run_test(dir, threads, r);
    return;
  }
  memset(r, 0, sizeof *r);
  int fds[2];
  if (pipe(fds) != 0) {
    set_result(r, R_FAIL, "pipe: %s", strerror(errno));
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    set_result(r, R_FAIL, "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    alarm((unsigned)timeout_s);
    result cr;
    run_test(dir, threads, &cr);
    const char *p = (const char *)&cr;
    for (size_t left = sizeof cr; left;) {
      ssize_t w = write(fds[1], p, left);
      if (w <= 0) break;
      p += w, left -= (size_t)w;
    }
#ifdef __SANITIZE_ADDRESS__
    __lsan_do_leak_check(); /* _exit skips the exit-time check; a leak exits non-zero */
#endif
    _exit(0);
  }
  close(fds[1]);
  size_t got = 0;
  char *p = (char *)r;
  while (got < sizeof *r) {
    ssize_t n = read(fds[0], p + got, sizeof *r - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (got == sizeof *r && r->kind != R_FAIL && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    set_result(r, R_FAIL, "child exited with status %d after its result (sanitizer report?)",
               WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  } else if (got != sizeof *r) {
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
      set_result(r, R_FAIL, "timed out after %d s", timeout_s);
    else if (WIFSIGNALED(st))
      set_result(r, R_FAIL, "crashed: %s", strsignal(WTERMSIG(st)));
    else
      set_result(r, R_FAIL, "child exited with status %d without a result", WEXITSTATUS(st));
  }
}

/* ---- exclusions --------------------------------------------------------------------------- */

typedef struct {
  char key[256];    /* suite/test */
  char reason[512];
  bool used;
} exclusion;

/* Parses `suite/test  reason` lines (# comments, blank lines); a line without a reason is an
   error counted in *bad. */
static exclusion *load_exclusions(const char *path, int *n, int *bad)
{
  *n = 0;
  *bad = 0;
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  exclusion *ex = NULL;
  int cap = 0;
  char line[1024];
  for (int ln = 1; fgets(line, sizeof line, f); ln++) {
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    s[strcspn(s, "\r\n")] = 0;
    if (!*s || *s == '#') continue;
    char *sp = s + strcspn(s, " \t");
    char *reason = sp;
    while (*reason == ' ' || *reason == '\t') reason++;
    *sp = 0;
    if (!*reason || !strchr(s, '/')) {
      printf("exclusions.txt:%d: expected `suite/test  reason`\n", ln);
      (*bad)++;
      continue;
    }
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      ex = realloc(ex, sizeof *ex * (size_t)cap);
    }
    memset(&ex[*n], 0, sizeof ex[*n]);
    sfmt(ex[*n].key, sizeof ex[*n].key, "%s", s);
    snprintf(ex[*n].reason, sizeof ex[*n].reason, "%s", reason);
    (*n)++;
  }
  fclose(f);
  return ex;
}

static exclusion *find_exclusion(exclusion *ex, int n, const char *key)
{
  for (int i = 0; i < n; i++)
    if (strcmp(ex[i].key, key) == 0) return &ex[i];
  return NULL;
}

static bool filter_match(const char *filter, const char *key, const char *name)
{
  if (!filter) return true;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", filter);
  for (char *save = NULL, *pat = strtok_r(buf, ", ", &save); pat; pat = strtok_r(NULL, ", ", &save))
    if (fnmatch(pat, key, 0) == 0 || fnmatch(pat, name, 0) == 0) return true;
  return false;
}

/* ---- the run ------------------------------------------------------------------------------ */

typedef struct {
  char reason[512];
  int count;
} reason_count;

static int cmp_reason(const void *a, const void *b)
{
  const reason_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->reason, y->reason);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_conformance(void)
{
  const char *root = env_or("QC_ONNX_TESTDATA", "/usr/share/libonnx-testdata/data");
  const char *filter = getenv("QC_CONFORMANCE_FILTER");
  bool verbose = getenv("QC_CONFORMANCE_VERBOSE") != NULL;
  int threads = atoi(env_or("QC_CONFORMANCE_THREADS", "1"));
  int timeout_s = atoi(env_or("QC_CONFORMANCE_TIMEOUT", "60"));
  printf("\n");
  if (!file_exists(root)) {
    printf("conformance: %s not found (install libonnx-testdata): SKIPPED\n", root);
    CU_FAIL("ONNX test data missing");
    return;
  }
  int n_ex = 0, bad_ex = 0;
  exclusion *ex = load_exclusions(QC_SOURCE_DIR "/tests/conformance/exclusions.txt", &n_ex, &bad_ex);
  int passed = 0, failed = 0, skipped = 0, excluded = 0, bad_exclusions = bad_ex;
  reason_count *reasons = NULL;
  int n_reasons = 0, cap_reasons = 0;
  struct { char key[256]; double s; } slow[3] = {{"", 0}, {"", 0}, {"", 0}};
  double t0 = now_s();
  for (size_t si = 0; si < sizeof SUITES / sizeof SUITES[0]; si++) {
    char sdir[4096];
    snprintf(sdir, sizeof sdir, "%s/%s", root, SUITES[si]);
    int n = 0;
    char **tests = list_dir(sdir, "test_", &n);
    for (int ti = 0; ti < n; ti++) {
      char key[512], dir[4096];
      snprintf(key, sizeof key, "%s/%s", SUITES[si], tests[ti]);
      if (!filter_match(filter, key, tests[ti])) continue;
      sfmt(dir, sizeof dir, "%s/%s", sdir, tests[ti]);
      exclusion *x = find_exclusion(ex, n_ex, key);
      result r;
      double ts = now_s();
      run_isolated(dir, threads, timeout_s, &r);
      double dt = now_s() - ts;
      for (int k = 0; k < 3; k++)
        if (dt > slow[k].s) {
          memmove(&slow[k + 1], &slow[k], sizeof slow[0] * (size_t)(2 - k));
          sfmt(slow[k].key, sizeof slow[k].key, "%s", key);
          slow[k].s = dt;
          break;
        }
      if (x) {
        x->used = true;
        /* An exclusion must name a test that runs and fails; anything else is stale. */
        if (r.kind == R_FAIL) {
          excluded++;
          if (verbose) printf("EXCLUDED %s: %s\n", key, x->reason);
          continue;
        }
        printf("BAD EXCLUSION %s: the test %s\n", key,
               r.kind == R_PASS ? "passes now" : "is skipped anyway (its ops are not supported)");
        bad_exclusions++;
      }
      if (r.kind == R_PASS) {
        passed++;
        if (verbose) printf("PASS %s (%.2f s)\n", key, dt);
      } else if (r.kind == R_SKIP) {
        skipped++;
        if (verbose) printf("SKIP %s: %s\n", key, r.msg);
        int k = 0;
        while (k < n_reasons && strcmp(reasons[k].reason, r.msg) != 0) k++;
        if (k == n_reasons) {
          if (n_reasons == cap_reasons) {
            cap_reasons = cap_reasons ? cap_reasons * 2 : 32;
            reasons = realloc(reasons, sizeof *reasons * (size_t)cap_reasons);
          }
          sfmt(reasons[k].reason, sizeof reasons[k].reason, "%s", r.msg);
          reasons[k].count = 0;
          n_reasons++;
        }
        reasons[k].count++;
      } else {
        failed++;
        printf("FAIL %s [%s]: %s\n", key, r.ops, r.msg);
      }
      fflush(stdout);
    }
    free_list(tests, n);
  }
  for (int i = 0; i < n_ex; i++)
    if (!ex[i].used && !filter) {
      printf("BAD EXCLUSION %s: no such test\n", ex[i].key);
      bad_exclusions++;
    }
  printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (n_reasons) qsort(reasons, (size_t)n_reasons, sizeof *reasons, cmp_reason);
  for (int i = 0; i < n_reasons; i++)
    printf("  skipped: %s (x%d)\n", reasons[i].reason, reasons[i].count);
  printf("  excluded: %d (tests/conformance/exclusions.txt)\n", excluded);
  if (bad_exclusions) printf("  bad exclusions: %d\n", bad_exclusions);
  printf("  time: %.1f s; slowest:", now_s() - t0);
  for (int k = 0; k < 3 && slow[k].key[0]; k++) printf(" %s (%.2f s)", slow[k].key, slow[k].s);
  printf("\n");
  fflush(stdout);
  CU_ASSERT_EQUAL(failed, 0);
  CU_ASSERT_EQUAL(bad_exclusions, 0);
  free(reasons);
  free(ex);
}

/* The runner's own pieces: ONNX's tolerance at its boundary, NaN/inf rules, exact integers,
   dtype and shape mismatches, and the grouping of skip reasons. */
static void test_runner_self_check(void)
{
  float want[] = {1000.0f, NAN, INFINITY, 0.0f};
  float got[] = {1001.0f, NAN, INFINITY, 5e-8f};
  qc_tensor w = {QC_DT_F32, 1, {4}, want}, g = {QC_DT_F32, 1, {4}, got};
  char msg[256];
  CU_ASSERT_TRUE(compare(&g, &w, msg, sizeof msg)); /* |1| <= 1e-7 + 1e-3 * 1000 */
  got[0] = 1001.01f;
  CU_ASSERT_FALSE(compare(&g, &w, msg, sizeof msg));
  CU_ASSERT_STRING_EQUAL(msg, "element 0: got 1001.01001, expected 1000");
  got[0] = 1000.0f;
  got[1] = 0.0f;
  CU_ASSERT_FALSE(compare(&g, &w, msg, sizeof msg)); /* NaN only matches NaN */
  got[1] = NAN;
  got[2] = -INFINITY;
  CU_ASSERT_FALSE(compare(&g, &w, msg, sizeof msg));
  got[2] = INFINITY;
  got[3] = 2.1e-7f;
  CU_ASSERT_FALSE(compare(&g, &w, msg, sizeof msg)); /* atol 1e-7 at 0 */
  int32_t iw[] = {5, -3}, ig[] = {5, -2};
  qc_tensor wi = {QC_DT_I32, 1, {2}, iw}, gi = {QC_DT_I32, 1, {2}, ig};
  CU_ASSERT_FALSE(compare(&gi, &wi, msg, sizeof msg));
  CU_ASSERT_STRING_EQUAL(msg, "element 1: got -2, expected -3");
  qc_tensor gs = {QC_DT_I32, 2, {1, 2}, ig};
  CU_ASSERT_FALSE(compare(&gs, &wi, msg, sizeof msg));
  CU_ASSERT_STRING_EQUAL(msg, "shape [1, 2], expected [2]");
  qc_tensor gd = {QC_DT_I64, 1, {2}, ig};
  CU_ASSERT_FALSE(compare(&gd, &wi, msg, sizeof msg));
  CU_ASSERT_STRING_EQUAL(msg, "dtype i64, expected i32");

  skip_reason("node 'n3' (abc): op 'LSTM' (domain 'ai.onnx') is not supported", msg, sizeof msg);
  CU_ASSERT_STRING_EQUAL(msg, "op 'LSTM' not supported");
  skip_reason("node 'lstm_0': op 'LSTM' (domain 'ai.onnx') is not supported", msg, sizeof msg);
  CU_ASSERT_STRING_EQUAL(msg, "op 'LSTM' not supported");
  skip_reason("node 'x' (Range): no reference kernel", msg, sizeof msg);
  CU_ASSERT_STRING_EQUAL(msg, "op 'Range' has no kernel");
  skip_reason("graph input 'x': string tensors are not supported", msg, sizeof msg);
  CU_ASSERT_STRING_EQUAL(msg, "graph input: string tensors are not supported");
}

static CU_TestInfo tests[] = {
    {"runner self-check", test_runner_self_check},
    {"onnx conformance suites", test_conformance},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"conformance", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
