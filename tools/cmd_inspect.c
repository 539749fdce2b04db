/* quantc inspect: per-layer shapes, parameters, MACs and bytes of a model after shape inference,
   constant folding and dead-code removal.
 *
 * MACs (multiply-accumulates), with Y the node's output and W its weight:
 *   Conv, ConvInteger, QLinearConv   elems(Y) * Cin/group * prod(kernel)  = N*Cout*H'*W'*Cin/g*kh*kw
 *   ConvTranspose                    elems(X) * Cout/group * prod(kernel)
 *   Gemm, MatMul (+ integer forms)   elems(Y) * K                         = batch*M*N*K
 *   every other op                   0 (elementwise work is not counted)
 * Symbolic dims count as 1. Parameters are the elements of a node's constant inputs except int64
 * ones (shapes, axes, indices); a constant shared by several nodes counts once in the totals. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char usage[] =
    "usage: quantc inspect MODEL [--json] [--no-fold]\n"
    "\n"
    "Loads an ONNX model, runs shape inference, constant folding and dead-code removal, and\n"
    "prints one row per layer: index, name, op, input shape(s), output shape(s), parameter\n"
    "count, MACs, parameter bytes and activation (output) bytes; then totals and the model's\n"
    "inputs and outputs with dtypes and shapes (symbolic dims by name).\n"
    "\n"
    "MACs: Conv = N*Cout*Hout*Wout*(Cin/group)*kh*kw, Gemm/MatMul = batch*M*N*K; every other op\n"
    "counts 0. Symbolic dims count as 1. Parameters: elements of constant inputs, except int64\n"
    "ones (shapes, axes, indices).\n"
    "\n"
    "options:\n"
    "  --json       machine-readable output (one JSON object on stdout)\n"
    "  --no-fold    skip constant folding and dead-code removal\n"
    "  -h, --help   this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid model, 3 unsupported, 4 I/O, 5 internal.\n";

typedef struct {
  char *name, *op, *in, *out;
  int64_t params, param_bytes;
  double macs, act_bytes; /* -1: unknown */
} row;

/* Dims with symbols as 1; -1 when some dim or the rank is unknown. */
static double elems_eff(const qc_value *v)
{
  if (v->rank < 0) return -1;
  double n = 1;
  for (int i = 0; i < v->rank; i++) {
    int64_t d = v->dims[i];
    if (d == QC_DIM_UNKNOWN) return -1;
    n *= d >= 0 ? (double)d : 1.0;
  }
  return n;
}

static const qc_value *in_val(const qc_graph *g, const qc_node *n, int i)
{
  return i < n->n_in && n->in[i] >= 0 ? &g->values[n->in[i]] : NULL;
}

static double node_macs(const qc_graph *g, const qc_node *n)
{
  const qc_value *y = n->n_out > 0 && n->out[0] >= 0 ? &g->values[n->out[0]] : NULL;
  const qc_value *x = in_val(g, n, 0), *w = NULL, *a = x;
  switch (n->op) {
  case QC_OP_Conv:
  case QC_OP_ConvInteger:
  case QC_OP_ConvTranspose:
    w = in_val(g, n, 1);
    break;
  case QC_OP_QLinearConv: w = in_val(g, n, 3); break;
  case QC_OP_Gemm:
  case QC_OP_MatMul:
  case QC_OP_MatMulInteger:
  case QC_OP_QLinearMatMul: break;
  default: return 0;
  }
  if (!y || !x) return -1;
  if (w) { /* convolutions: per output (or input) element, one weight slice */
    double we = elems_eff(w);
    if (we < 0 || w->rank < 1 || w->dims[0] < 0) return -1;
    double slice = w->dims[0] ? we / (double)w->dims[0] : 0;
    double base = elems_eff(n->op == QC_OP_ConvTranspose ? x : y);
    return base < 0 ? -1 : base * slice;
  }
  if (a->rank < 1) return -1;
  int64_t k;
  if (n->op == QC_OP_Gemm && qc_attr_i(n, "transA", 0)) k = a->rank >= 2 ? a->dims[0] : -1;
  else k = a->dims[a->rank - 1];
  if (k == QC_DIM_UNKNOWN) return -1;
  double ye = elems_eff(y);
  return ye < 0 ? -1 : ye * (double)(k >= 0 ? k : 1);
}

static bool counts_as_param(const qc_value *v)
{
  return (v->flags & QC_VAL_CONST) && v->dtype != QC_DT_I64;
}

static char *shapes_of(const qc_graph *g, const int32_t *ids, int n, bool skip_const)
{
  size_t cap = 64 + (size_t)n * 96, len = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  s[0] = 0;
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0) continue;
    const qc_value *v = &g->values[ids[i]];
    if (skip_const && (v->flags & QC_VAL_CONST)) continue;
    char sh[96];
    qc_cli_shape_str(g, v->rank, v->dims, sh, sizeof sh);
    len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? " " : "", sh);
  }
  if (!len) snprintf(s, cap, "-");
  return s;
}

static void fmt_count(double v, char *buf, size_t cap)
{
  if (v < 0) {
    snprintf(buf, cap, "?");
    return;
  }
  char digits[64];
  snprintf(digits, sizeof digits, "%.0f", v);
  size_t n = strlen(digits), k = 0;
  for (size_t i = 0; i < n && k + 2 < cap; i++) {
    if (i && (n - i) % 3 == 0) buf[k++] = ',';
    buf[k++] = digits[i];
  }
  buf[k] = 0;
}

static void fmt_bytes(double b, char *buf, size_t cap)
{
  if (b < 0) snprintf(buf, cap, "?");
  else if (b < 1024) snprintf(buf, cap, "%.0f B", b);
  else if (b < 1024.0 * 1024) snprintf(buf, cap, "%.1f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024) snprintf(buf, cap, "%.1f MiB", b / (1024.0 * 1024));
  else snprintf(buf, cap, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

static void json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void json_shape(FILE *f, const qc_graph *g, const qc_value *v)
{
  if (v->rank < 0) {
    fputs("null", f);
    return;
  }
  fputc('[', f);
  for (int i = 0; i < v->rank; i++) {
    int64_t d = v->dims[i];
    if (i) fputs(", ", f);
    if (d >= 0) fprintf(f, "%lld", (long long)d);
    else if (d <= -2 && QC_DIM_SYM_INDEX(d) < g->n_syms) json_str(f, g->syms[QC_DIM_SYM_INDEX(d)]);
    else fputs("null", f);
  }
  fputc(']', f);
}

static void json_values(FILE *f, const qc_graph *g, const int32_t *ids, int n)
{
  fputc('[', f);
  for (int i = 0, k = 0; i < n; i++) {
    if (ids[i] < 0) continue;
    const qc_value *v = &g->values[ids[i]];
    fprintf(f, "%s{\"name\": ", k++ ? ", " : "");
    json_str(f, v->name);
    fputs(", \"dtype\": ", f);
    json_str(f, qc_dtype_name(v->dtype));
    fputs(", \"shape\": ", f);
    json_shape(f, g, v);
    fputs("}", f);
  }
  fputc(']', f);
}

static void json_shapes(FILE *f, const qc_graph *g, const int32_t *ids, int n, bool skip_const)
{
  fputc('[', f);
  for (int i = 0, k = 0; i < n; i++) {
    if (ids[i] < 0) continue;
    const qc_value *v = &g->values[ids[i]];
    if (skip_const && (v->flags & QC_VAL_CONST)) continue;
    if (k++) fputs(", ", f);
    json_shape(f, g, v);
  }
  fputc(']', f);
}

static void print_io(const qc_graph *g, const char *title, const int32_t *ids, int n, size_t w)
{
  printf("%s:\n", title);
  for (int i = 0; i < n; i++) {
    const qc_value *v = &g->values[ids[i]];
    char sh[256];
    qc_cli_shape_str(g, v->rank, v->dims, sh, sizeof sh);
    printf("  %-*s  %-5s %s\n", (int)w, v->name, qc_dtype_name(v->dtype), sh);
  }
}

int qc_cmd_inspect(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'},
      {"no-fold", no_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool json = false;
  qc_cli_load_opts lo = {true, 1};
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'j': json = true; break;
    case 'F': lo.optimize = false; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("inspect", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("inspect", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("inspect", "unexpected argument '%s'", argv[optind + 1]);
  const char *path = argv[optind];

  qc_err e = {0};
  qc_graph *g;
  if (qc_cli_load_model(path, &lo, &g, &e)) return qc_cli_fail(&e);

  row *rows = calloc((size_t)g->n_nodes + 1, sizeof *rows);
  bool *counted = calloc((size_t)g->n_values + 1, 1);
  if (!rows || !counted) {
    free(rows);
    free(counted);
    qc_graph_free(g);
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    return qc_cli_fail(&e);
  }
  int n_rows = 0;
  int64_t tot_params = 0, tot_pbytes = 0;
  double tot_macs = 0, tot_act = 0;
  bool macs_unknown = false, act_unknown = false;
  for (int32_t i = 0; i < g->n_nodes; i++) {
    const qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE) continue;
    row *r = &rows[n_rows++];
    r->name = (char *)(n->name ? n->name : "");
    r->op = (char *)qc_op_name(n->op);
    r->in = shapes_of(g, n->in, n->n_in, true);
    r->out = shapes_of(g, n->out, n->n_out, false);
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] < 0 || !counts_as_param(&g->values[n->in[k]])) continue;
      const qc_value *v = &g->values[n->in[k]];
      int64_t el = qc_shape_elems(v->rank, v->dims);
      int64_t by = qc_dtype_bytes(v->dtype, el);
      if (el < 0 || by < 0) continue;
      r->params += el;
      r->param_bytes += by;
      if (!counted[n->in[k]]) {
        counted[n->in[k]] = true;
        tot_params += el;
        tot_pbytes += by;
      }
    }
    r->macs = node_macs(g, n);
    if (r->macs < 0) macs_unknown = true;
    else tot_macs += r->macs;
    double act = 0;
    for (int k = 0; k < n->n_out; k++) {
      if (n->out[k] < 0) continue;
      const qc_value *v = &g->values[n->out[k]];
      double el = elems_eff(v);
      if (el < 0 || v->dtype == QC_DT_UNDEF) {
        act = -1;
        break;
      }
      act += el * qc_dtypes[v->dtype].bits / 8.0;
    }
    r->act_bytes = act;
    if (act < 0) act_unknown = true;
    else tot_act += act;
  }

  if (json) {
    printf("{\"model\": ");
    json_str(stdout, path);
    printf(", \"graph\": ");
    json_str(stdout, g->name ? g->name : "");
    printf(", \"opset\": %lld,\n \"inputs\": ", (long long)g->opset);
    json_values(stdout, g, g->inputs, g->n_inputs);
    printf(",\n \"outputs\": ");
    json_values(stdout, g, g->outputs, g->n_outputs);
    printf(",\n \"layers\": [");
    for (int i = 0, k = 0; i < g->n_nodes; i++) {
      const qc_node *n = &g->nodes[i];
      if (n->op == QC_OP_NONE) continue;
      const row *r = &rows[k];
      printf("%s\n  {\"index\": %d, \"name\": ", k ? "," : "", k);
      json_str(stdout, r->name);
      printf(", \"op\": ");
      json_str(stdout, r->op);
      printf(", \"inputs\": ");
      json_shapes(stdout, g, n->in, n->n_in, true);
      printf(", \"outputs\": ");
      json_shapes(stdout, g, n->out, n->n_out, false);
      printf(", \"params\": %lld, \"param_bytes\": %lld, ", (long long)r->params,
             (long long)r->param_bytes);
      if (r->macs < 0) printf("\"macs\": null, ");
      else printf("\"macs\": %.0f, ", r->macs);
      if (r->act_bytes < 0) printf("\"act_bytes\": null}");
      else printf("\"act_bytes\": %.0f}", r->act_bytes);
      k++;
    }
    printf("],\n \"totals\": {\"layers\": %d, \"params\": %lld, \"param_bytes\": %lld, ", n_rows,
           (long long)tot_params, (long long)tot_pbytes);
    printf("\"macs\": %.0f, \"macs_complete\": %s, \"act_bytes\": %.0f}}\n", tot_macs,
           macs_unknown ? "false" : "true", tot_act);
  } else {
    const char *head[] = {"#", "name", "op", "input shapes", "output shapes",
                          "params", "MACs", "param bytes", "act bytes"};
    enum { NCOL = 9 };
    char *(*cells)[NCOL] = calloc((size_t)n_rows + 1, sizeof *cells);
    size_t w[NCOL];
    for (int k = 0; k < NCOL; k++) w[k] = strlen(head[k]);
    for (int i = 0; cells && i < n_rows; i++) {
      char buf[5][64];
      snprintf(buf[0], sizeof buf[0], "%d", i);
      fmt_count((double)rows[i].params, buf[1], sizeof buf[1]);
      fmt_count(rows[i].macs, buf[2], sizeof buf[2]);
      fmt_bytes((double)rows[i].param_bytes, buf[3], sizeof buf[3]);
      fmt_bytes(rows[i].act_bytes, buf[4], sizeof buf[4]);
      const char *vals[NCOL] = {buf[0], rows[i].name, rows[i].op, rows[i].in, rows[i].out,
                                buf[1], buf[2], buf[3], buf[4]};
      for (int k = 0; k < NCOL; k++) {
        cells[i][k] = strdup(vals[k] ? vals[k] : "");
        if (cells[i][k] && strlen(cells[i][k]) > w[k]) w[k] = strlen(cells[i][k]);
      }
    }
    printf("model: %s (graph '%s', opset %lld, %d layers)\n", path, g->name ? g->name : "",
           (long long)g->opset, n_rows);
    size_t iw = 4;
    for (int i = 0; i < g->n_inputs; i++)
      if (strlen(g->values[g->inputs[i]].name) > iw) iw = strlen(g->values[g->inputs[i]].name);
    for (int i = 0; i < g->n_outputs; i++)
      if (strlen(g->values[g->outputs[i]].name) > iw) iw = strlen(g->values[g->outputs[i]].name);
    print_io(g, "inputs", g->inputs, g->n_inputs, iw);
    print_io(g, "outputs", g->outputs, g->n_outputs, iw);
    putchar('\n');
    /* Numbers right-aligned, text left-aligned. */
    static const bool right[NCOL] = {true, false, false, false, false, true, true, true, true};
    for (int k = 0; k < NCOL; k++)
      printf("%s%*s%s", k ? "  " : "", right[k] ? (int)w[k] : -(int)w[k], head[k],
             k == NCOL - 1 ? "\n" : "");
    for (int i = 0; cells && i < n_rows; i++)
      for (int k = 0; k < NCOL; k++)
        printf("%s%*s%s", k ? "  " : "", right[k] ? (int)w[k] : -(int)w[k],
               cells[i][k] ? cells[i][k] : "", k == NCOL - 1 ? "\n" : "");
    char p[64], m[64], pb[64], ab[64];
    fmt_count((double)tot_params, p, sizeof p);
    fmt_count(tot_macs, m, sizeof m);
    fmt_bytes((double)tot_pbytes, pb, sizeof pb);
    fmt_bytes(tot_act, ab, sizeof ab);
    printf("\ntotal: %d layers, %s params, %.4f GMACs (%s MACs%s), weight bytes %lld (%s), "
           "activation bytes %.0f (%s%s)\n",
           n_rows, p, tot_macs / 1e9, m, macs_unknown ? ", some layers unknown" : "",
           (long long)tot_pbytes, pb, tot_act, ab, act_unknown ? ", some layers unknown" : "");
    for (int i = 0; cells && i < n_rows; i++)
      for (int k = 0; k < NCOL; k++) free(cells[i][k]);
    free(cells);
  }
  for (int i = 0; i < n_rows; i++) {
    free(rows[i].in);
    free(rows[i].out);
  }
  free(rows);
  free(counted);
  qc_graph_free(g);
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    return qc_cli_fail(&e);
  }
  return QC_EXIT_OK;
}
