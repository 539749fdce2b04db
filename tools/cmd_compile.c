/* quantc compile: a model (fp32 ONNX, ONNX with quantc's integer ops, or IR text), optionally
   quantized first exactly as `quantc quantize` does, compiled by codegen/ into an artifact
   folder. Everything is written into a temporary folder next to DIR and moved into place only
   when complete, so a failure leaves DIR as it was. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "codegen.h"
#include "onnx.h"
#include "quant_cli.h"

static const char usage[] =
    "usage: quantc compile MODEL -o DIR [--target x86-64|aarch64] [--cpu NAME|native]\n"
    "                      [--features F] [--batch N] [--prefix P] [--opt-level N]\n"
    "                      [--scheme w8a8|w4a8|w4a4|CONFIG --calib DATA [--calib-n N]\n"
    "                       [--calib-method M] [--percentile P] [--seed S] [--mean M --std S]\n"
    "                       [--data-dir DIR] [--first-last 8|same]] [--threads N]\n"
    "\n"
    "Compiles MODEL (ONNX, fp32 or with quantc's integer ops, or IR text ending in .qc) to\n"
    "native code for the target and writes the artifact folder DIR: model.so, model.o,\n"
    "model.h, weights.bin (checksummed), manifest.json and reference.onnx (the exact graph\n"
    "compiled, for 'quantc verify'). With --scheme the model is quantized first, exactly as\n"
    "'quantc quantize' does (see its --help for the quantization options). Symbolic dims take\n"
    "the batch size; BatchNorm is folded into the convolutions.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR        the artifact folder (created; files of an existing one replaced)\n"
    "      --target T          x86-64 (default) or aarch64\n"
    "      --cpu NAME          LLVM CPU name, or native (x86-64 default: the host's CPU;\n"
    "                          aarch64 default: cortex-a76)\n"
    "      --features F        extra LLVM features, e.g. +avx512vnni,-avx512f\n"
    "  -b, --batch N           value of the batch (symbolic) dim, 1..65536 (default 1)\n"
    "      --prefix P          C symbol prefix of the kernels (default qc_model)\n"
    "      --opt-level N       LLVM optimisation level 0..3 (default 3)\n"
    "  -s, --scheme S          quantize first: w8a8, w4a8, w4a4 or a per-layer config file\n"
    "  -c, --calib DATA        calibration data: fashion-mnist or NPY batches (needs --scheme)\n"
    "  -t, --threads N         calibration threads, 1..1024 (default: one per CPU)\n"
    "  -h, --help              this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage (also an unknown --target or --cpu), 2 invalid model or data,\n"
    "3 unsupported (an op or dtype the compiler does not lower), 4 I/O, 5 internal. On any\n"
    "error DIR is left as it was.\n";

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of the process: on a shared machine it says more about the compiler's speed than
   the wall clock. */
static double cpu_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Gives the batch symbol (the symbolic dim 0 of the inputs) the value batch everywhere; any
   other symbolic dim of an input is unsupported. An explicit --batch (given) must agree with a
   fixed batch dim. */
static qc_status fix_batch(qc_graph *g, int64_t batch, bool given, qc_err *e)
{
  int32_t sym = -1;
  for (int k = 0; k < g->n_inputs; k++) {
    const qc_value *v = &g->values[g->inputs[k]];
    char sh[256];
    qc_cli_shape_str(g, v->rank, v->dims, sh, sizeof sh);
    if (v->rank < 0)
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "input '%s': unknown rank; compile needs shapes",
                        v->name);
    for (int i = 0; i < v->rank; i++) {
      int64_t d = v->dims[i];
      if (d == -1 || (d <= -2 && (i != 0 || (sym >= 0 && QC_DIM_SYM_INDEX(d) != sym))))
        return qc_err_set(e, QC_ERR_UNSUPPORTED,
                          "input '%s' %s: dim %d is not fixed; compile fixes only the batch "
                          "dim (dim 0)",
                          v->name, sh, i);
      if (d <= -2) sym = QC_DIM_SYM_INDEX(d);
    }
    if (given && v->rank > 0 && v->dims[0] >= 0 && v->dims[0] != batch)
      return qc_err_set(e, QC_ERR_USAGE, "--batch %lld, but input '%s' %s has a fixed batch dim",
                        (long long)batch, v->name, sh);
  }
  for (int32_t i = 0; i < g->n_values; i++) {
    qc_value *v = &g->values[i];
    for (int k = 0; k < v->rank; k++)
      if (v->dims[k] <= -2 && sym >= 0 && QC_DIM_SYM_INDEX(v->dims[k]) == sym) v->dims[k] = batch;
  }
  return QC_OK;
}

/* Normalises IR text in place for the reload check: drops the "  sym NAME" lines (the export
   writes only the symbols values still use) and the values' quantization annotations
   "] q(...)" (the quantc-domain export keeps the integer ops with all their attributes, which
   is what the arithmetic depends on, but not the scales noted on values). */
static void strip_syms(char *t)
{
  char *w = t;
  for (char *r = t; *r;) {
    char *nl = strchr(r, '\n');
    size_t len = nl ? (size_t)(nl - r + 1) : strlen(r);
    if (strncmp(r, "  sym ", 6) == 0) {
      r += len;
      continue;
    }
    char *end = r + len;
    while (r < end) {
      if (r + 4 <= end && strncmp(r, "] q(", 4) == 0) {
        char *close = memchr(r, ')', (size_t)(end - r));
        if (close) {
          *w++ = ']';
          r = close + 1;
          continue;
        }
      }
      *w++ = *r++;
    }
  }
  *w = 0;
}

/* Constants of g and r, matched by name, hold the same bytes (the IR text is compared without
   constant data: printing tens of MB of weights as hex twice cost seconds). */
static bool same_constants(const qc_graph *g, qc_graph *r, const char **bad)
{
  for (int32_t i = 0; i < g->n_values; i++) {
    const qc_value *v = &g->values[i];
    if (!(v->flags & QC_VAL_CONST)) continue;
    int32_t j = qc_graph_find_value(r, v->name);
    *bad = v->name;
    if (j < 0 || !(r->values[j].flags & QC_VAL_CONST)) return false;
    int64_t bytes = qc_dtype_bytes(v->dtype, qc_shape_elems(v->rank, v->dims));
    const qc_value *u = &r->values[j];
    if (bytes < 0 || qc_dtype_bytes(u->dtype, qc_shape_elems(u->rank, u->dims)) != bytes)
      return false;
    if (bytes && memcmp(v->data, u->data, (size_t)bytes) != 0) return false;
  }
  return true;
}

/* The graph reference.onnx holds must read back as the graph compiled. */
static qc_status check_reload(const qc_graph *g, const char *path, qc_err *e)
{
  qc_graph *r = NULL;
  qc_err le = {0};
  qc_status st = qc_onnx_load(path, &r, &le);
  if (!st) {
    const char *names[] = {"infer-shapes"};
    st = qc_cli_run_passes(r, names, 1, &le);
  }
  if (st) {
    qc_graph_free(r);
    return qc_err_set(e, QC_ERR_INTERNAL, "reference.onnx does not load back: %s", le.msg);
  }
  char *a = qc_print(g, false), *b = qc_print(r, false);
  const char *bad = NULL;
  st = QC_OK;
  if (!a || !b) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory printing the graph");
  else if (strip_syms(a), strip_syms(b), strcmp(a, b) != 0) {
    size_t i = 0, line = 1;
    while (a[i] && a[i] == b[i]) line += a[i++] == '\n';
    st = qc_err_set(e, QC_ERR_INTERNAL,
                    "reference.onnx does not load back into the graph compiled (IR text differs "
                    "at line %zu)",
                    line);
  } else if (!same_constants(g, r, &bad)) {
    st = qc_err_set(e, QC_ERR_INTERNAL,
                    "reference.onnx does not load back into the graph compiled (constant '%s' "
                    "differs)",
                    bad ? bad : "?");
  }
  free(a);
  free(b);
  qc_graph_free(r);
  return st;
}

static const char *const artifact_files[] = {"model.so", "model.o", "model.h", "weights.bin",
                                             "manifest.json", "reference.onnx"};
#define N_FILES (sizeof artifact_files / sizeof artifact_files[0])

/* Removes the temporary folder and whatever is in it (only files compile writes, plus any
   stray temporaries: it is ours). */
static void remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    char p[4400];
    while ((de = readdir(d)) != NULL) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* Moves the finished files of tmp into dir: the folder itself when dir does not exist, file by
   file (each an atomic rename) when it does. */
static qc_status install(const char *tmp, const char *dir, qc_err *e)
{
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (rename(tmp, dir) != 0)
      return qc_err_set(e, QC_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    return QC_OK;
  }
  if (!S_ISDIR(st.st_mode)) return qc_err_set(e, QC_ERR_IO, "%s: exists and is not a folder", dir);
  for (size_t i = 0; i < N_FILES; i++) {
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/%s", tmp, artifact_files[i]);
    snprintf(b, sizeof b, "%s/%s", dir, artifact_files[i]);
    if (stat(a, &st) != 0) continue;
    if (rename(a, b) != 0)
      return qc_err_set(e, QC_ERR_IO, "%s: cannot write: %s", b, strerror(errno));
  }
  return QC_OK;
}

static void human_bytes(uint64_t b, char *buf, size_t cap)
{
  if (b >= (1u << 20)) snprintf(buf, cap, "%.2f MiB (%llu bytes)", (double)b / 1048576.0, (unsigned long long)b);
  else if (b >= 1024) snprintf(buf, cap, "%.1f KiB (%llu bytes)", (double)b / 1024.0, (unsigned long long)b);
  else snprintf(buf, cap, "%llu bytes", (unsigned long long)b);
}

/* The enabled features only ("+avx2,+fma,..."): the full LLVM string lists every one. */
static void print_features(const char *f)
{
  printf("  features   ");
  int n = 0;
  for (const char *p = f; *p;) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    if (*p == '+') printf("%s%.*s", n++ ? "," : "", (int)len - 1, p + 1);
    p += len + (q ? 1 : 0);
  }
  printf("%s\n", n ? "" : "(none)");
}

static bool valid_prefix(const char *p)
{
  if (!*p || strlen(p) > 24) return false;
  for (const char *c = p; *c; c++) {
    bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_';
    if (!alpha && !(c > p && *c >= '0' && *c <= '9')) return false;
  }
  return true;
}

int qc_cmd_compile(int argc, char **argv)
{
  enum { O_TARGET = 256, O_CPU, O_FEATURES, O_PREFIX, O_OPT };
  static const struct option longopts[] = {
      QC_CLI_QUANT_LONGOPTS,
      {"output", required_argument, NULL, 'o'},     {"target", required_argument, NULL, O_TARGET},
      {"cpu", required_argument, NULL, O_CPU},      {"features", required_argument, NULL, O_FEATURES},
      {"batch", required_argument, NULL, 'b'},      {"prefix", required_argument, NULL, O_PREFIX},
      {"opt-level", required_argument, NULL, O_OPT}, {"threads", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *target = NULL, *cpu = NULL, *features = NULL, *prefix = NULL;
  long threads = 0, batch = 1, opt = 3;
  bool batch_given = false;
  qc_cli_quant_args qa;
  qc_cli_quant_args_init(&qa);
  int c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hs:c:n:t:o:b:", longopts, NULL)) != -1) {
    int k = qc_cli_quant_opt("compile", &qa, c, optarg, &rc);
    if (k < 0) return rc;
    if (k > 0) continue;
    switch (c) {
    case 'o':
      if (!*optarg) return qc_cli_usage_error("compile", "--output: empty path");
      out = optarg;
      break;
    case O_TARGET:
      if (strcmp(optarg, "x86-64") == 0 || strcmp(optarg, "x86_64") == 0) target = "x86-64";
      else if (strcmp(optarg, "aarch64") == 0 || strcmp(optarg, "arm64") == 0) target = "aarch64";
      else
        return qc_cli_usage_error("compile", "--target: '%s' is not x86-64 or aarch64", optarg);
      break;
    case O_CPU:
      if (!*optarg) return qc_cli_usage_error("compile", "--cpu: empty");
      cpu = optarg;
      break;
    case O_FEATURES: features = optarg; break;
    case 'b':
      if (!qc_cli_parse_long("compile", "--batch", optarg, 1, 65536, &batch, &rc)) return rc;
      batch_given = true;
      break;
    case O_PREFIX:
      if (!valid_prefix(optarg))
        return qc_cli_usage_error("compile",
                                  "--prefix: '%s' is not a C identifier of at most 24 characters",
                                  optarg);
      prefix = optarg;
      break;
    case O_OPT:
      if (!qc_cli_parse_long("compile", "--opt-level", optarg, 0, 3, &opt, &rc)) return rc;
      break;
    case 't':
      if (!qc_cli_parse_long("compile", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("compile", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("compile", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("compile", "unexpected argument '%s'", argv[optind + 1]);
  if (!out) return qc_cli_usage_error("compile", "missing -o DIR");
  qc_uniform_opts uo;
  bool quantize = qa.scheme != NULL;
  if (quantize) {
    if (!qc_cli_quant_finish("compile", &qa, (int)threads, &uo, &rc)) return rc;
  } else if (qa.calib || qa.calib_n || qa.norm || qa.have_pct || qa.seed ||
             strcmp(qa.method, "percentile") != 0 || !qa.first_last_8 ||
             strcmp(qa.data_dir, QC_CLI_DEFAULT_DATA_DIR) != 0) {
    return qc_cli_usage_error("compile", "quantization options (--calib, ...) need --scheme");
  }
  const char *path = argv[optind];

  /* DIR without trailing slashes; the temporary folder goes next to it. */
  char dir[4096], tmp[4200] = "";
  size_t dl = strlen(out);
  while (dl > 1 && out[dl - 1] == '/') dl--;
  if (dl >= sizeof dir) return qc_cli_usage_error("compile", "-o: path too long");
  memcpy(dir, out, dl);
  dir[dl] = 0;
  struct stat sb;
  if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
    return qc_cli_usage_error("compile", "-o %s: exists and is not a folder", dir);

  qc_err e = {0};
  qc_graph *g = NULL;
  qc_quant_report rep = {0};
  bool have_rep = false;
  qc_cli_load_opts lo = {true, (int)threads};
  double t0 = now_s(), t_quant = 0;
  rc = QC_EXIT_OK;
  if (qc_cli_load_model(path, &lo, &g, &e)) goto fail;
  if (quantize) {
    long samples = 0;
    int nb = 0;
    double tq = now_s();
    if (qc_cli_quantize(g, path, &qa, &uo, &rep, &samples, &nb, &e)) goto fail;
    have_rep = true;
    t_quant = now_s() - tq;
  }
  if (fix_batch(g, batch, batch_given, &e)) goto fail;
  {
    const char *names[] = {"infer-shapes", "fold-batchnorm", "fold-constants", "infer-shapes",
                           "dce", "eliminate-identity", "prune-values"};
    if (qc_cli_run_passes(g, names, 7, &e)) goto fail;
  }

  snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", dir);
  if (!mkdtemp(tmp)) {
    tmp[0] = 0;
    qc_err_set(&e, QC_ERR_IO, "%s: cannot create a folder next to it: %s", dir, strerror(errno));
    goto fail;
  }
  const char *base = strrchr(path, '/');
  qc_cg_options co = {target, cpu, features, prefix, (int)opt, NULL,
                      quantize ? qa.scheme : "fp32", base ? base + 1 : path};
  qc_cg_report cr;
  memset(&cr, 0, sizeof cr);
  double tc = now_s(), cc = cpu_s();
  qc_status st = qc_compile(g, &co, tmp, &cr, &e);
  double t_compile = now_s() - tc, c_compile = cpu_s() - cc;
  if (st) {
    /* An unknown CPU is a bad option value. */
    if (cpu && strstr(e.msg, "CPU") && strstr(e.msg, cpu)) {
      remove_tree(tmp);
      tmp[0] = 0;
      rc = qc_cli_usage_error("compile", "--cpu: %s", e.msg);
      goto done;
    }
    goto fail;
  }
  {
    char ref[4400];
    qc_onnx_export_opts xo = {true};
    g->opset = 17; /* the graph has opset-17 semantics (the importer rewrote older forms) */
    snprintf(ref, sizeof ref, "%s/reference.onnx", tmp);
    if (qc_onnx_save_ex(g, &xo, ref, &e)) goto fail;
    if (check_reload(g, ref, &e)) goto fail;
  }
  if (install(tmp, dir, &e)) goto fail;
  if (stat(tmp, &sb) == 0) remove_tree(tmp);
  tmp[0] = 0;

  char arena[64], scratch[64], weights[64];
  human_bytes(cr.arena_bytes, arena, sizeof arena);
  human_bytes(cr.scratch_bytes, scratch, sizeof scratch);
  human_bytes(cr.weights_bytes, weights, sizeof weights);
  printf("compiled %s -> %s/\n", path, dir);
  printf("  target     %s, cpu %s\n", cr.target, cr.cpu);
  print_features(cr.features);
  printf("  scheme     %s%s\n", quantize ? qa.scheme : "fp32",
         quantize ? "" : " (float kernels)");
  printf("  int8 path  %s\n", cr.int8_path);
  printf("  batch      %ld\n", batch);
  printf("  steps      %d (%d kernels)\n", cr.n_steps, cr.n_kernels);
  printf("  arena      %s, scratch %s per thread\n", arena, scratch);
  printf("  weights    %s\n", weights);
  if (quantize) printf("  quantize   %.2f s\n", t_quant);
  printf("  compile    %.2f s (lowering %.2f s, LLVM %.2f s, link %.2f s; CPU %.2f s); total "
         "%.2f s\n",
         t_compile, cr.seconds_lower, cr.seconds_llvm, cr.seconds_link, c_compile, now_s() - t0);
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  if (tmp[0]) remove_tree(tmp);
  if (have_rep) qc_quant_report_free(&rep);
  qc_graph_free(g);
  return rc;
}
