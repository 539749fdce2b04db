/* quantc run: one forward pass of the reference interpreter on NPY inputs, NPY outputs. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "artifact.h"
#include "cli.h"
#include "data.h"
#include "interp.h"

static const char usage[] =
    "usage: quantc run MODEL|DIR --input [NAME=]FILE.npy [--input ...]\n"
    "                        [--output FILE.npy [--output ...] | --output DIR/] [--threads N]\n"
    "\n"
    "Runs the model once in the reference interpreter. Inputs are NPY files in C order (any\n"
    "dtype quantc knows: float16/32/64, int8-64, uint8-64, bool) and must match the model's\n"
    "inputs in dtype, rank and fixed dims; symbolic dims take the size of the data and must\n"
    "agree between inputs. DIR, an artifact of 'quantc compile', runs its compiled code through\n"
    "the runtime instead (fixed shapes; --threads default 1).\n"
    "\n"
    "options:\n"
    "  -i, --input [NAME=]FILE  an input; given in the order of the model's inputs, or bound\n"
    "                           by name with NAME=FILE (repeat once per model input)\n"
    "  -o, --output PATH        where to write the outputs as NPY: once per model output in\n"
    "                           order, or once naming a folder (an existing one, or any path\n"
    "                           ending in '/', created if needed) that receives OUTPUTNAME.npy\n"
    "                           for each output; without --output a summary is printed\n"
    "  -t, --threads N          interpreter threads, 1..1024 (default: one per CPU)\n"
    "      --no-fold            skip constant folding and dead-code removal\n"
    "  -h, --help               this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage (also a wrong number of --input/--output), 2 invalid model or\n"
    "input (also an input whose dtype or shape does not fit), 3 unsupported, 4 I/O, 5 internal.\n";

#define MAX_FILES 256

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Checks t against graph input v; symbols[k] records the size bound to symbol k (-1: none). */
static qc_status check_input(const qc_graph *g, const qc_value *v, const char *file,
                             const qc_tensor *t, int64_t *symbols, const char **sym_from,
                             qc_err *e)
{
  char want[256], got[256];
  qc_cli_shape_str(g, v->rank, v->dims, want, sizeof want);
  qc_cli_shape_str(g, t->rank, t->dims, got, sizeof got);
  if (v->dtype != QC_DT_UNDEF && t->dtype != v->dtype)
    return qc_err_set(e, QC_ERR_INVALID, "input '%s' (%s): expected %s %s, the file holds %s %s",
                      v->name, file, qc_dtype_name(v->dtype), want, qc_dtype_name(t->dtype),
                      got);
  if (v->rank >= 0 && t->rank != v->rank)
    return qc_err_set(e, QC_ERR_INVALID,
                      "input '%s' (%s): expected rank %d %s, the file holds rank %d %s", v->name,
                      file, v->rank, want, t->rank, got);
  for (int i = 0; v->rank >= 0 && i < v->rank; i++) {
    int64_t d = v->dims[i];
    if (d >= 0 && t->dims[i] != d)
      return qc_err_set(e, QC_ERR_INVALID,
                        "input '%s' (%s): dim %d is %lld, the model expects %lld (shape %s, "
                        "file %s)",
                        v->name, file, i, (long long)t->dims[i], (long long)d, want, got);
    if (d <= -2) {
      int32_t k = QC_DIM_SYM_INDEX(d);
      if (k >= g->n_syms) continue;
      if (symbols[k] >= 0 && symbols[k] != t->dims[i])
        return qc_err_set(e, QC_ERR_INVALID,
                          "input '%s' (%s): dim %d (%s) is %lld, but input '%s' set %s = %lld",
                          v->name, file, i, g->syms[k], (long long)t->dims[i], sym_from[k],
                          g->syms[k], (long long)symbols[k]);
      symbols[k] = t->dims[i];
      sym_from[k] = v->name;
    }
  }
  return QC_OK;
}

/* Output file name for a folder: the value name with anything unusual replaced by '_'. */
static void out_name(const char *dir, const char *name, int index, char *buf, size_t cap)
{
  char clean[200];
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < sizeof clean; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    clean[k++] = ok ? c : '_';
  }
  clean[k] = 0;
  if (k == 0 || clean[0] == '.') snprintf(clean, sizeof clean, "output%d", index);
  size_t dl = strlen(dir);
  snprintf(buf, cap, "%s%s%s.npy", dir, dl && dir[dl - 1] == '/' ? "" : "/", clean);
}

static void print_summary(const qc_graph *g, const qc_value *v, const qc_tensor *t)
{
  char sh[256];
  qc_cli_shape_str(g, t->rank, t->dims, sh, sizeof sh);
  printf("%s: %s %s", v->name, qc_dtype_name(t->dtype), sh);
  int64_t n = qc_tensor_elems(t);
  int64_t show = n < 16 ? n : 16;
  if (show > 0) printf(" =");
  for (int64_t i = 0; i < show; i++) {
    switch (t->dtype) {
    case QC_DT_F32: printf(" %.6g", (double)((const float *)t->data)[i]); break;
    case QC_DT_F64: printf(" %.6g", ((const double *)t->data)[i]); break;
    case QC_DT_I64: printf(" %lld", (long long)((const int64_t *)t->data)[i]); break;
    case QC_DT_I32: printf(" %d", ((const int32_t *)t->data)[i]); break;
    case QC_DT_I8: printf(" %d", ((const int8_t *)t->data)[i]); break;
    case QC_DT_U8:
    case QC_DT_BOOL: printf(" %u", ((const uint8_t *)t->data)[i]); break;
    default: i = show; printf(" ..."); break;
    }
  }
  printf("%s\n", n > show ? " ..." : "");
}

int qc_cmd_run(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"input", required_argument, NULL, 'i'},   {"output", required_argument, NULL, 'o'},
      {"threads", required_argument, NULL, 't'}, {"no-fold", no_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  const char *in_args[MAX_FILES], *out_args[MAX_FILES];
  int n_in = 0, n_out = 0, c, rc;
  long threads = 0;
  qc_cli_load_opts lo = {true, 0};
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hi:o:t:", longopts, NULL)) != -1) {
    switch (c) {
    case 'i':
      if (!*optarg) return qc_cli_usage_error("run", "--input: empty path");
      if (n_in == MAX_FILES) return qc_cli_usage_error("run", "too many --input options");
      in_args[n_in++] = optarg;
      break;
    case 'o':
      if (!*optarg) return qc_cli_usage_error("run", "--output: empty path");
      if (n_out == MAX_FILES) return qc_cli_usage_error("run", "too many --output options");
      out_args[n_out++] = optarg;
      break;
    case 't':
      if (!qc_cli_parse_long("run", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case 'F': lo.optimize = false; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("run", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("run", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("run", "unexpected argument '%s'", argv[optind + 1]);
  const char *path = argv[optind];
  lo.threads = (int)threads;
  /* A compiled artifact (quantc compile -o DIR) runs through the runtime instead. */
  if (qc_cli_is_artifact(path))
    return qc_cli_run_artifact(path, in_args, n_in, out_args, n_out, (int)threads);

  qc_err e = {0};
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_tensor *tensors = NULL;
  const char **files = NULL, **sym_from = NULL;
  int64_t *symbols = NULL;
  rc = QC_EXIT_OK;
  if (qc_cli_load_model(path, &lo, &g, &e)) return qc_cli_fail(&e);

  int ni = g->n_inputs;
  tensors = calloc((size_t)ni + 1, sizeof *tensors);
  files = calloc((size_t)ni + 1, sizeof *files);
  symbols = malloc(((size_t)g->n_syms + 1) * sizeof *symbols);
  sym_from = calloc((size_t)g->n_syms + 1, sizeof *sym_from);
  if (!tensors || !files || !symbols || !sym_from) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int k = 0; k < g->n_syms; k++) symbols[k] = -1;

  /* Bind NAME=FILE arguments first, then the rest in order. */
  bool *named = calloc((size_t)n_in, sizeof *named);
  if (!named) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int a = 0; a < n_in; a++) {
    const char *eq = strchr(in_args[a], '=');
    if (!eq) continue;
    for (int k = 0; k < ni; k++) {
      const char *name = g->values[g->inputs[k]].name;
      if (strlen(name) == (size_t)(eq - in_args[a]) &&
          strncmp(name, in_args[a], (size_t)(eq - in_args[a])) == 0) {
        if (files[k]) {
          free(named);
          rc = qc_cli_usage_error("run", "input '%s' given twice", name);
          goto done;
        }
        if (!eq[1]) {
          free(named);
          rc = qc_cli_usage_error("run", "--input %s: missing file name", in_args[a]);
          goto done;
        }
        files[k] = eq + 1;
        named[a] = true;
      }
    }
  }
  for (int a = 0, k = 0; a < n_in; a++) {
    if (named[a]) continue;
    while (k < ni && files[k]) k++;
    if (k == ni) {
      free(named);
      rc = qc_cli_usage_error("run", "the model has %d input%s but %d --input given", ni,
                              ni == 1 ? "" : "s", n_in);
      goto done;
    }
    files[k] = in_args[a];
  }
  free(named);
  for (int k = 0; k < ni; k++)
    if (!files[k]) {
      const qc_value *v = &g->values[g->inputs[k]];
      char sh[256];
      qc_cli_shape_str(g, v->rank, v->dims, sh, sizeof sh);
      rc = qc_cli_usage_error("run", "missing --input for model input '%s' (%s %s)", v->name,
                              qc_dtype_name(v->dtype), sh);
      goto done;
    }
  bool out_dir = false;
  if (n_out == 1 && (is_dir(out_args[0]) || out_args[0][strlen(out_args[0]) - 1] == '/'))
    out_dir = true;
  else if (n_out > 0 && n_out != g->n_outputs) {
    rc = qc_cli_usage_error("run",
                            "the model has %d output%s but %d --output given (give one per "
                            "output, or a folder)",
                            g->n_outputs, g->n_outputs == 1 ? "" : "s", n_out);
    goto done;
  }

  for (int k = 0; k < ni; k++) {
    if (qc_npy_read(files[k], &tensors[k], &e)) goto fail;
    if (check_input(g, &g->values[g->inputs[k]], files[k], &tensors[k], symbols, sym_from, &e))
      goto fail;
  }
  if (qc_interp_new(g, lo.threads, &it, &e)) goto fail;
  if (qc_interp_run(it, tensors, ni, &e)) goto fail;

  if (out_dir && !is_dir(out_args[0]) && mkdir(out_args[0], 0777) != 0) {
    qc_err_set(&e, QC_ERR_IO, "%s: cannot create folder: %s", out_args[0], strerror(errno));
    goto fail;
  }
  for (int k = 0; k < g->n_outputs; k++) {
    const qc_tensor *t = qc_interp_output(it, k);
    const qc_value *v = &g->values[g->outputs[k]];
    if (!t) {
      qc_err_set(&e, QC_ERR_INTERNAL, "output '%s' missing after the run", v->name);
      goto fail;
    }
    if (n_out == 0) {
      print_summary(g, v, t);
      continue;
    }
    char buf[4096];
    const char *dest = out_args[k < n_out ? k : 0];
    if (out_dir) {
      out_name(out_args[0], v->name, k, buf, sizeof buf);
      dest = buf;
    }
    if (qc_npy_write(dest, t, &e)) goto fail;
  }
  if (fflush(stdout) != 0) qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
  if (e.code) goto fail;
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  for (int k = 0; tensors && k < ni; k++) free(tensors[k].data);
  free(tensors);
  free(files);
  free(symbols);
  free((void *)sym_from);
  if (it) qc_interp_free(it);
  qc_graph_free(g);
  return rc;
}
