/* quantc verify: runs a compiled artifact and the reference interpreter on the same inputs and
   compares every step's output with the interpreter's value of the same name: integer tensors
   bit for bit, float32 by max|diff| / max|reference| against a tolerance. The reference is
   DIR/reference.onnx, the exact graph `quantc compile` compiled. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "artifact.h"
#include "cli.h"
#include "data.h"
#include "interp.h"
#include "onnx.h"

#define DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define DEFAULT_N 100
#define DEFAULT_TOL 1e-4

static const char usage[] =
    "usage: quantc verify DIR --data fashion-mnist|X.npy [-n N] [--mean M --std S]\n"
    "                     [--data-dir DIR] [--tolerance T] [--threads N] [--json FILE]\n"
    "\n"
    "Runs the artifact DIR (from 'quantc compile') and the reference interpreter on the\n"
    "graph DIR/reference.onnx on the same inputs, and compares each compiled step's output\n"
    "with the interpreter's value of the same name: integer tensors must be bit-identical,\n"
    "float32 ones within max|diff| / max|reference| <= T. Prints one row per step and the\n"
    "first mismatching step.\n"
    "\n"
    "options:\n"
    "  -d, --data D          fashion-mnist (test images, (pixel/255 - M) / S), or an NPY file\n"
    "                        [rows, ...] shaped like the artifact's input but for dim 0\n"
    "  -n, --limit N         inputs to compare (default 100 for fashion-mnist, all rows of an\n"
    "                        NPY file); run in batches of the artifact's batch size, the last\n"
    "                        padded with zeros\n"
    "      --mean M, --std S fashion-mnist normalization (default 0, 1)\n"
    "      --data-dir DIR    folder with t10k-images-idx3-ubyte[.gz] (default\n"
    "                        " DEFAULT_DATA_DIR ")\n"
    "      --tolerance T     float32 tolerance, > 0 (default 1e-4)\n"
    "  -t, --threads N       threads of the artifact and of the interpreter, 1..1024\n"
    "                        (default 1)\n"
    "      --json FILE       also write the results as JSON\n"
    "  -h, --help            this text\n"
    "\n"
    "exit codes: 0 every step bit-exact (integer) or within tolerance (float32), 1 a mismatch\n"
    "(or a usage error), 2 invalid artifact or data, 3 unsupported (e.g. an artifact for\n"
    "another CPU architecture), 4 I/O, 5 internal.\n";

typedef struct {
  const char *name, *op; /* step (layer) name and op; value name */
  const char *value;
  qcrt_tensor_info info;
  int32_t vid;           /* the value in the reference graph, -1 if none */
  const char *problem;   /* why the step cannot be compared, NULL if it can */
  void *ref;             /* the interpreter's value in this batch */
  bool seen;
  int64_t elems, mismatches;
  double max_abs, max_ref, max_rel;
} step_cmp;

typedef struct {
  step_cmp *s;
  int n;
  int32_t *val2step;     /* reference value id -> step, -1 */
  int32_t n_values;
  const qc_graph *g;
  double tol;
  qc_err *e;             /* first internal problem in a callback */
} verify_ctx;

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The interpreter's observer: keeps a copy of every value a step also writes. */
static void observe(void *user, int32_t node, const qc_tensor *outs, int n_out)
{
  verify_ctx *c = user;
  const qc_node *nd = &c->g->nodes[node];
  for (int i = 0; i < n_out && i < nd->n_out; i++) {
    int32_t v = nd->out[i];
    if (v < 0 || v >= c->n_values || c->val2step[v] < 0) continue;
    step_cmp *s = &c->s[c->val2step[v]];
    int64_t bytes = qc_tensor_bytes(&outs[i]);
    if (s->problem) continue;
    if (outs[i].dtype != qc_cli_qca_to_dtype(s->info.dtype) || bytes != (int64_t)s->info.bytes) {
      s->problem = "reference value has another dtype or shape";
      continue;
    }
    memcpy(s->ref, outs[i].data, (size_t)bytes);
    s->seen = true;
  }
}

static double elem(const void *p, qc_dtype dt, int64_t i)
{
  switch (dt) {
  case QC_DT_F32: return ((const float *)p)[i];
  case QC_DT_U8: return ((const uint8_t *)p)[i];
  case QC_DT_I8: return ((const int8_t *)p)[i];
  case QC_DT_I16: return ((const int16_t *)p)[i];
  case QC_DT_U16: return ((const uint16_t *)p)[i];
  case QC_DT_I32: return ((const int32_t *)p)[i];
  case QC_DT_I64: return (double)((const int64_t *)p)[i];
  default: return 0;
  }
}

/* Compares one step's artifact output with the reference copy. */
static void compare(step_cmp *s, const void *got, double tol)
{
  qc_dtype dt = qc_cli_qca_to_dtype(s->info.dtype);
  size_t es = qc_cli_qca_to_dtype(s->info.dtype) ? qca_dtype_size(s->info.dtype) : 1;
  int64_t n = (int64_t)(s->info.bytes / es);
  s->elems += n;
  if (dt == QC_DT_F32) {
    const float *a = got, *r = s->ref;
    double mref = 0, mabs = 0;
    for (int64_t i = 0; i < n; i++) {
      double x = fabs((double)r[i]);
      if (x > mref || isnan(x)) mref = x;
    }
    double lim = tol * (mref > 1e-30 ? mref : 1e-30);
    for (int64_t i = 0; i < n; i++) {
      double d = fabs((double)a[i] - (double)r[i]);
      if (isnan(a[i]) != isnan(r[i])) d = INFINITY;
      else if (isnan(a[i])) d = 0;
      if (d > mabs) mabs = d;
      if (d > lim) s->mismatches++;
    }
    if (mabs > s->max_abs) s->max_abs = mabs;
    if (mref > s->max_ref) s->max_ref = mref;
    double rel = mabs / (mref > 1e-30 ? mref : 1e-30);
    if (rel > s->max_rel) s->max_rel = rel;
    return;
  }
  if (memcmp(got, s->ref, s->info.bytes) == 0) return;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs(elem(got, dt, i) - elem(s->ref, dt, i));
    if (d != 0) s->mismatches++;
    if (d > s->max_abs) s->max_abs = d;
  }
}

static int hook(void *user, int step, const void *out, uint64_t ns)
{
  (void)ns;
  verify_ctx *c = user;
  if (step < 0 || step >= c->n) return 0;
  step_cmp *s = &c->s[step];
  if (s->problem) return 0;
  if (!s->seen) {
    s->problem = "the interpreter did not compute this value";
    return 0;
  }
  compare(s, out, c->tol);
  return 0;
}

static bool step_ok(const step_cmp *s, double tol)
{
  if (s->problem) return false;
  if (s->info.dtype == QCA_F32) return s->max_rel <= tol;
  return s->mismatches == 0;
}

static void json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static qc_status find_file(const char *dir, const char *base, char *buf, size_t cap, qc_err *e)
{
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return qc_err_set(e, QC_ERR_IO, "%s: data folder not found", dir);
  snprintf(buf, cap, "%s/%s.gz", dir, base);
  if (stat(buf, &st) == 0) return QC_OK;
  snprintf(buf, cap, "%s/%s", dir, base);
  if (stat(buf, &st) == 0) return QC_OK;
  return qc_err_set(e, QC_ERR_IO, "%s: neither %s.gz nor %s found", dir, base, base);
}

static qc_status write_json(const char *path, const char *dir, int64_t n_inputs, int batches,
                            const step_cmp *s, int n, const step_cmp *o, int no, double tol,
                            int first_bad, qc_err *e)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot write", path);
  fputs("{\"artifact\": ", f);
  json_str(f, dir);
  fprintf(f, ", \"inputs\": %lld, \"batches\": %d, \"tolerance\": %.9g, \"ok\": %s,\n",
          (long long)n_inputs, batches, tol, first_bad < 0 ? "true" : "false");
  fputs(" \"first_mismatch\": ", f);
  if (first_bad < 0) fputs("null", f);
  else json_str(f, first_bad < n ? s[first_bad].name : o[first_bad - n].name);
  fputs(",\n \"steps\": [", f);
  for (int k = 0; k < n + no; k++) {
    const step_cmp *c = k < n ? &s[k] : &o[k - n];
    if (k == n) fputs("],\n \"outputs\": [", f);
    fputs(k == 0 || k == n ? "\n  {\"name\": " : ",\n  {\"name\": ", f);
    json_str(f, c->name);
    fputs(", \"op\": ", f);
    json_str(f, c->op);
    fputs(", \"value\": ", f);
    json_str(f, c->value);
    fputs(", \"dtype\": ", f);
    json_str(f, qcrt_dtype_name(c->info.dtype));
    fprintf(f,
            ", \"elements\": %lld, \"mismatches\": %lld, \"max_abs_diff\": %.9g, "
            "\"max_rel_err\": %.9g, \"ok\": %s",
            (long long)c->elems, (long long)c->mismatches, c->max_abs, c->max_rel,
            step_ok(c, tol) ? "true" : "false");
    if (c->problem) {
      fputs(", \"problem\": ", f);
      json_str(f, c->problem);
    }
    fputc('}', f);
  }
  if (no == 0) fputs("],\n \"outputs\": [", f);
  fputs("]}\n", f);
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return qc_err_set(e, QC_ERR_IO, "%s: write failed", path);
  }
  return QC_OK;
}

int qc_cmd_verify(int argc, char **argv)
{
  enum { O_MEAN = 256, O_STD, O_DIR, O_TOL, O_JSON };
  static const struct option longopts[] = {
      {"data", required_argument, NULL, 'd'},      {"limit", required_argument, NULL, 'n'},
      {"mean", required_argument, NULL, O_MEAN},   {"std", required_argument, NULL, O_STD},
      {"data-dir", required_argument, NULL, O_DIR}, {"tolerance", required_argument, NULL, O_TOL},
      {"threads", required_argument, NULL, 't'},   {"json", required_argument, NULL, O_JSON},
      {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
  };
  const char *data = NULL, *data_dir = DEFAULT_DATA_DIR, *json = NULL;
  double mean = 0, std = 1, tol = DEFAULT_TOL;
  bool norm = false;
  long limit = 0, threads = 1;
  int c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hd:n:t:", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': data = optarg; break;
    case 'n':
      if (!qc_cli_parse_long("verify", "--limit", optarg, 1, 1000000000L, &limit, &rc)) return rc;
      break;
    case O_MEAN:
      if (!qc_cli_parse_double("verify", "--mean", optarg, &mean, &rc)) return rc;
      norm = true;
      break;
    case O_STD:
      if (!qc_cli_parse_double("verify", "--std", optarg, &std, &rc)) return rc;
      if (!(std > 0)) return qc_cli_usage_error("verify", "--std: %s must be > 0", optarg);
      norm = true;
      break;
    case O_DIR: data_dir = optarg; break;
    case O_TOL:
      if (!qc_cli_parse_double("verify", "--tolerance", optarg, &tol, &rc)) return rc;
      if (!(tol > 0)) return qc_cli_usage_error("verify", "--tolerance: %s must be > 0", optarg);
      break;
    case 't':
      if (!qc_cli_parse_long("verify", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case O_JSON:
      if (!*optarg) return qc_cli_usage_error("verify", "--json: empty path");
      json = optarg;
      break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("verify", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("verify", "missing DIR");
  if (optind + 1 < argc)
    return qc_cli_usage_error("verify", "unexpected argument '%s'", argv[optind + 1]);
  if (!data) return qc_cli_usage_error("verify", "missing --data (fashion-mnist or X.npy)");
  bool fashion = strcmp(data, "fashion-mnist") == 0;
  if (!fashion && norm)
    return qc_cli_usage_error("verify", "--mean/--std apply to --data fashion-mnist only");
  const char *dir = argv[optind];
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "quantc: error: %s: not an artifact folder (from 'quantc compile -o DIR')\n",
            dir);
    return QC_EXIT_IO;
  }

  qc_err e = {0};
  qcrt_err re = {0};
  qcrt_model *m = NULL;
  qc_graph *g = NULL;
  qc_interp *it = NULL;
  qc_tensor src = {0}, batch_t = {0};
  step_cmp *steps = NULL, *outs = NULL;
  void **art_out = NULL;
  verify_ctx vc = {0};
  int ns = 0, no = 0;
  rc = qc_cli_artifact_load(dir, (int)threads, &m);
  if (rc) return rc;
  rc = QC_EXIT_OK;
  if (qcrt_num_inputs(m) != 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "verify needs an artifact with one input; %s has %d", dir,
               qcrt_num_inputs(m));
    goto fail;
  }
  qcrt_tensor_info in;
  if (qcrt_input_info(m, 0, &in, &re)) goto rt_fail;
  char in_sh[256];
  qc_cli_rt_shape_str(&in, in_sh, sizeof in_sh);
  if (in.rank < 1 || in.dims[0] < 1) {
    qc_err_set(&e, QC_ERR_UNSUPPORTED, "input '%s' %s has no batch dim", in.name, in_sh);
    goto fail;
  }
  int64_t B = in.dims[0], per = (int64_t)(in.bytes / qca_dtype_size(in.dtype)) / B;

  /* The reference graph. */
  {
    char ref[4200];
    snprintf(ref, sizeof ref, "%s/reference.onnx", dir);
    if (qc_onnx_load(ref, &g, &e)) goto fail;
    const char *names[] = {"infer-shapes"};
    if (qc_cli_run_passes(g, names, 1, &e)) goto fail;
    if (g->n_inputs != 1 || g->n_outputs != qcrt_num_outputs(m)) {
      qc_err_set(&e, QC_ERR_FORMAT, "%s: %d inputs and %d outputs; the artifact has 1 and %d",
                 ref, g->n_inputs, g->n_outputs, qcrt_num_outputs(m));
      goto fail;
    }
  }

  /* The inputs: rows of per values each. */
  int64_t rows = 0;
  if (fashion) {
    char img[4200];
    if (find_file(data_dir, "t10k-images-idx3-ubyte", img, sizeof img, &e)) goto fail;
    qc_tensor raw = {0};
    if (qc_idx_read(img, &raw, &e)) goto fail;
    rows = raw.rank >= 1 ? raw.dims[0] : 0;
    if (raw.dtype != QC_DT_U8 || raw.rank < 2 || rows == 0 ||
        qc_tensor_elems(&raw) / rows != per || in.dtype != QCA_F32) {
      free(raw.data);
      qc_err_set(&e, QC_ERR_INVALID,
                 "%s: images of %lld values do not fit the artifact's input '%s' (%s %s)", img,
                 rows ? (long long)(qc_tensor_elems(&raw) / rows) : 0LL, in.name,
                 qcrt_dtype_name(in.dtype), in_sh);
      goto fail;
    }
    if (!limit) limit = DEFAULT_N;
    if (rows > limit) rows = limit;
    float *x = malloc((size_t)(rows * per) * sizeof *x);
    if (!x) {
      free(raw.data);
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory for %lld images", (long long)rows);
      goto fail;
    }
    float lut[256];
    for (int p = 0; p < 256; p++) lut[p] = ((float)p / 255.0f - (float)mean) / (float)std;
    const uint8_t *px = raw.data;
    for (int64_t i = 0; i < rows * per; i++) x[i] = lut[px[i]];
    free(raw.data);
    src.dtype = QC_DT_F32;
    src.rank = 2;
    src.dims[0] = rows;
    src.dims[1] = per;
    src.data = x;
  } else {
    if (qc_npy_read(data, &src, &e)) goto fail;
    char got[256];
    qc_cli_shape_str(g, src.rank, src.dims, got, sizeof got);
    bool fit = src.dtype == qc_cli_qca_to_dtype(in.dtype) && src.rank == in.rank && src.rank >= 1;
    for (int i = 1; fit && i < in.rank; i++) fit = src.dims[i] == in.dims[i];
    if (!fit || src.dims[0] < 1) {
      qc_err_set(&e, QC_ERR_INVALID,
                 "%s holds %s %s; the artifact's input '%s' is %s %s (any number >= 1 of rows)",
                 data, qc_dtype_name(src.dtype), got, in.name, qcrt_dtype_name(in.dtype), in_sh);
      goto fail;
    }
    rows = src.dims[0];
    if (limit && rows > limit) rows = limit;
  }

  /* Steps and their reference values. */
  ns = qcrt_num_steps(m);
  no = qcrt_num_outputs(m);
  steps = calloc((size_t)ns + 1, sizeof *steps);
  outs = calloc((size_t)no + 1, sizeof *outs);
  art_out = calloc((size_t)no + 1, sizeof *art_out);
  vc.val2step = malloc(((size_t)g->n_values + 1) * sizeof *vc.val2step);
  if (!steps || !outs || !art_out || !vc.val2step) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int32_t v = 0; v < g->n_values; v++) vc.val2step[v] = -1;
  for (int k = 0; k < ns; k++) {
    step_cmp *s = &steps[k];
    qcrt_step_info si;
    if (qcrt_step_info_get(m, k, &si, &re)) goto rt_fail;
    s->name = si.name;
    s->op = si.op;
    s->info = si.out;
    s->value = si.out.name;
    s->vid = qc_graph_find_value(g, si.out.name);
    if (s->vid < 0) s->problem = "no value of this name in reference.onnx";
    else if (vc.val2step[s->vid] >= 0) s->problem = "another step writes the same value";
    else vc.val2step[s->vid] = k;
    s->ref = malloc(s->info.bytes ? s->info.bytes : 1);
    if (!s->ref) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
      goto fail;
    }
  }
  for (int k = 0; k < no; k++) {
    step_cmp *s = &outs[k];
    if (qcrt_output_info(m, k, &s->info, &re)) goto rt_fail;
    s->name = s->value = s->info.name;
    s->op = "output";
    s->vid = g->outputs[k];
    s->ref = malloc(s->info.bytes ? s->info.bytes : 1);
    art_out[k] = malloc(s->info.bytes ? s->info.bytes : 1);
    if (!s->ref || !art_out[k]) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (strcmp(g->values[s->vid].name, s->info.name) != 0)
      s->problem = "reference.onnx names this output differently";
  }
  vc.s = steps;
  vc.n = ns;
  vc.n_values = g->n_values;
  vc.g = g;
  vc.tol = tol;
  vc.e = &e;
  if (qc_interp_new(g, (int)threads, &it, &e)) goto fail;
  qc_interp_set_observer(it, observe, &vc);

  batch_t.dtype = qc_cli_qca_to_dtype(in.dtype);
  batch_t.rank = in.rank;
  for (int i = 0; i < in.rank; i++) batch_t.dims[i] = in.dims[i];
  size_t es = qca_dtype_size(in.dtype);
  batch_t.data = calloc(1, in.bytes ? in.bytes : 1);
  if (!batch_t.data) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  int batches = 0;
  double t0 = now_s(), t_ref = 0, t_art = 0;
  for (int64_t start = 0; start < rows; start += B, batches++) {
    int64_t mrows = rows - start < B ? rows - start : B;
    memset(batch_t.data, 0, in.bytes);
    memcpy(batch_t.data, (const uint8_t *)src.data + (size_t)(start * per) * es,
           (size_t)(mrows * per) * es);
    for (int k = 0; k < ns; k++) steps[k].seen = false;
    double ta = now_s();
    if (qc_interp_run(it, &batch_t, 1, &e)) goto fail;
    t_ref += now_s() - ta;
    for (int k = 0; k < no; k++) {
      const qc_tensor *t = qc_interp_output(it, k);
      if (!t || qc_tensor_bytes(t) != (int64_t)outs[k].info.bytes ||
          t->dtype != qc_cli_qca_to_dtype(outs[k].info.dtype)) {
        outs[k].problem = "reference output has another dtype or shape";
        continue;
      }
      memcpy(outs[k].ref, t->data, outs[k].info.bytes);
      outs[k].seen = true;
    }
    const void *ip[1] = {batch_t.data};
    ta = now_s();
    if (qcrt_run_hooked(m, ip, art_out, hook, &vc, &re)) goto rt_fail;
    t_art += now_s() - ta;
    for (int k = 0; k < no; k++)
      if (!outs[k].problem) compare(&outs[k], art_out[k], tol);
  }

  /* The report. */
  int w = 5;
  for (int k = 0; k < ns; k++) {
    int l = (int)strlen(steps[k].name);
    if (l > w) w = l;
  }
  if (w > 40) w = 40;
  printf("verify %s: %lld input%s in %d batch%s of %lld, artifact %s vs interpreter "
         "(reference.onnx)\n",
         dir, (long long)rows, rows == 1 ? "" : "s", batches, batches == 1 ? "" : "es",
         (long long)B, qcrt_target(m));
  printf("%4s  %-*s  %-18s  %-5s  %-18s  %14s  %12s  %10s  %s\n", "#", w, "layer", "op", "dtype",
         "shape", "mismatch/elems", "max|diff|", "rel.err", "");
  int first_bad = -1, n_ok = 0, n_int = 0, n_f32 = 0;
  for (int k = 0; k < ns + no; k++) {
    const step_cmp *s = k < ns ? &steps[k] : &outs[k - ns];
    bool ok = step_ok(s, tol);
    if (ok) n_ok++;
    else if (first_bad < 0) first_bad = k;
    if (s->info.dtype == QCA_F32) n_f32++;
    else n_int++;
    char sh[256], mm[64], rel[32];
    qc_cli_rt_shape_str(&s->info, sh, sizeof sh);
    snprintf(mm, sizeof mm, "%lld/%lld", (long long)s->mismatches, (long long)s->elems);
    if (s->info.dtype == QCA_F32) snprintf(rel, sizeof rel, "%.3g", s->max_rel);
    else snprintf(rel, sizeof rel, "-");
    char label[16];
    if (k < ns) snprintf(label, sizeof label, "%d", k);
    else snprintf(label, sizeof label, "out%d", k - ns);
    printf("%4s  %-*.*s  %-18.18s  %-5s  %-18.18s  %14s  %12.6g  %10s  %s%s%s\n", label, w, w,
           s->name, s->op, qcrt_dtype_name(s->info.dtype), sh, mm, s->max_abs, rel,
           ok ? (s->info.dtype == QCA_F32 ? "ok" : "exact") : "MISMATCH",
           s->problem ? ": " : "", s->problem ? s->problem : "");
  }
  printf("steps: %d (%d integer, %d float32 incl. outputs), %d agree; reference %.2f s, "
         "artifact %.2f s, total %.2f s\n",
         ns + no, n_int, n_f32, n_ok, t_ref, t_art, now_s() - t0);
  if (first_bad >= 0) {
    const step_cmp *s = first_bad < ns ? &steps[first_bad] : &outs[first_bad - ns];
    printf("FAIL: first mismatch at %s %d '%s' (%s, value '%s'): %s\n",
           first_bad < ns ? "step" : "output", first_bad < ns ? first_bad : first_bad - ns,
           s->name, s->op, s->value,
           s->problem ? s->problem
           : s->info.dtype == QCA_F32 ? "float32 relative error above the tolerance"
                                      : "integer values differ");
  } else {
    printf("OK: all %d integer steps bit-exact, all %d float32 steps within %.3g\n", n_int, n_f32,
           tol);
  }
  if (json && write_json(json, dir, rows, batches, steps, ns, outs, no, tol, first_bad, &e))
    goto fail;
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  if (first_bad >= 0) {
    const step_cmp *s = first_bad < ns ? &steps[first_bad] : &outs[first_bad - ns];
    fprintf(stderr, "quantc: error: verify: %s: first mismatch at '%s' (%s)\n", dir, s->name,
            s->op);
    rc = QC_EXIT_USAGE; /* 1: the artifact does not match */
  }
  goto done;
rt_fail:
  rc = qc_cli_rt_fail(&re);
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  for (int k = 0; steps && k < ns; k++) free(steps[k].ref);
  for (int k = 0; outs && k < no; k++) free(outs[k].ref);
  for (int k = 0; art_out && k < no; k++) free(art_out[k]);
  free(steps);
  free(outs);
  free(art_out);
  free(vc.val2step);
  free(src.data);
  free(batch_t.data);
  if (it) qc_interp_free(it);
  qc_graph_free(g);
  qcrt_free(m);
  return rc;
}
