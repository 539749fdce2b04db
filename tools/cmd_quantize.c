/* quantc quantize: post-training integer-only quantization (HAWQ-V3 uniform scheme) of an fp32
   model, calibrated on Fashion-MNIST training images or on NPY batches. Writes standard ONNX
   (QDQ form), a JSON report and optionally the exact integer IR as text. Nothing is written
   unless every step succeeded: each output goes to a temporary file in its own folder and is
   renamed into place at the end. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "onnx.h"
#include "quant_cli.h"

#define DEFAULT_DATA_DIR QC_CLI_DEFAULT_DATA_DIR

static const char usage[] =
    "usage: quantc quantize MODEL --scheme w8a8|w4a8|w4a4|CONFIG --calib DATA -o OUT.onnx\n"
    "                       [--calib-n N] [--calib-method minmax|percentile|mse]\n"
    "                       [--percentile P] [--seed S] [--mean M --std S] [--data-dir DIR]\n"
    "                       [--first-last 8|same] [--threads N] [--report REPORT.json]\n"
    "                       [--ir OUT.qc]\n"
    "\n"
    "Post-training integer-only quantization (HAWQ-V3): BatchNorm folded, weights symmetric per\n"
    "output channel, activations per tensor from calibration, int32 accumulators, dyadic\n"
    "requantization. Writes OUT.onnx (standard ONNX, QuantizeLinear/DequantizeLinear form) and\n"
    "a JSON report (per layer bits, params, bytes, MACs, BOPS; totals and compression ratio).\n"
    "\n"
    "options:\n"
    "  -s, --scheme S          w8a8, w4a8 or w4a4 (weight/activation bits of every layer), or a\n"
    "                          per-layer config file: lines 'LAYER w=4 a=8', '#' comments;\n"
    "                          layers it does not name get 8/8\n"
    "  -c, --calib DATA        fashion-mnist (a seeded random subset of the 60,000 training\n"
    "                          images), or NPY batches shaped like the model input: one .npy\n"
    "                          file, a folder of them (sorted by name) or a comma-separated list\n"
    "  -n, --calib-n N         fashion-mnist: images to calibrate on, 1..60000 (default 1024);\n"
    "                          NPY: use the first N files only\n"
    "      --calib-method M    minmax, percentile (default) or mse\n"
    "      --percentile P      for percentile: |x| percentile in (0, 100] (default 99.99)\n"
    "      --seed S            seed of the fashion-mnist subset (default 0)\n"
    "      --mean M, --std S   fashion-mnist normalization (x/255 - M) / S (default 0, 1)\n"
    "      --data-dir DIR      folder with train-images-idx3-ubyte[.gz] (default\n"
    "                          " DEFAULT_DATA_DIR ")\n"
    "      --first-last B      8: first conv and last FC stay 8-bit (default, as HAWQ-V3);\n"
    "                          same: they take the scheme's bits too\n"
    "  -t, --threads N         calibration threads, 1..1024 (default: one per CPU)\n"
    "  -o, --output OUT.onnx   the quantized model\n"
    "      --report FILE       the JSON report (default: OUT with .json for .onnx)\n"
    "      --ir FILE.qc        also write the exact integer IR as text; 'quantc eval' and\n"
    "                          'quantc run' take it as MODEL\n"
    "      --no-fold           skip constant folding and dead-code removal before quantizing\n"
    "  -h, --help              this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid model, config or calibration data (unknown layer,\n"
    "bits outside 2..8, empty or mismatched calibration set), 3 unsupported (e.g. no layer to\n"
    "quantize), 4 I/O, 5 internal. On any error nothing is written.\n";

static bool ends_with(const char *s, const char *suf)
{
  size_t n = strlen(s), k = strlen(suf);
  return n >= k && strcmp(s + n - k, suf) == 0;
}

/* ---- outputs ---------------------------------------------------------------------------- */

/* A temporary file next to final (same file system, so rename is atomic). */
static qc_status make_temp(const char *final, char *buf, size_t cap, qc_err *e)
{
  if ((size_t)snprintf(buf, cap, "%s.tmpXXXXXX", final) >= cap)
    return qc_err_set(e, QC_ERR_USAGE, "%s: path too long", final);
  int fd = mkstemp(buf);
  if (fd < 0) {
    buf[0] = 0;
    return qc_err_set(e, QC_ERR_IO, "%s: cannot create a file in its folder", final);
  }
  /* mkstemp creates 0600; give the file the mode a plain fopen would. */
  mode_t mask = umask(0);
  umask(mask);
  bool ok = fchmod(fd, 0666 & ~mask) == 0;
  close(fd);
  if (!ok) {
    unlink(buf);
    buf[0] = 0;
    return qc_err_set(e, QC_ERR_IO, "%s: cannot set the file mode", final);
  }
  return QC_OK;
}

static qc_status write_text(const char *path, const char *final, const char *text, qc_err *e)
{
  FILE *f = fopen(path, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot write", final);
  size_t n = strlen(text);
  bool ok = fwrite(text, 1, n, f) == n;
  ok = (fclose(f) == 0) && ok;
  return ok ? QC_OK : qc_err_set(e, QC_ERR_IO, "%s: write failed", final);
}

/* JSON string with the escapes RFC 8259 requires. */
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

static int64_t layer_bytes(const qc_layer_report *l) { return (l->bits + 7) / 8; }

typedef struct {
  const char *model, *scheme, *calib, *method;
  long calib_n;
  int n_batches;
  double percentile;
  bool first_last_8;
} report_meta;

static qc_status write_report(const char *path, const char *final, const report_meta *m,
                              const qc_quant_report *r, qc_err *e)
{
  FILE *f = fopen(path, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot write", final);
  fputs("{\"model\": ", f);
  json_str(f, m->model);
  fputs(", \"scheme\": ", f);
  json_str(f, m->scheme);
  fputs(", \"first_last_8bit\": ", f);
  fputs(m->first_last_8 ? "true" : "false", f);
  fputs(",\n \"calibration\": {\"data\": ", f);
  json_str(f, m->calib);
  fprintf(f, ", \"samples\": %ld, \"batches\": %d, \"method\": ", m->calib_n, m->n_batches);
  json_str(f, m->method);
  if (strcmp(m->method, "percentile") == 0) fprintf(f, ", \"percentile\": %.9g", m->percentile);
  fputs("},\n \"layers\": [", f);
  for (int32_t i = 0; i < r->n_layers; i++) {
    const qc_layer_report *l = &r->layers[i];
    fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
    json_str(f, l->name);
    fputs(", \"op\": ", f);
    json_str(f, l->op);
    fprintf(f,
            ", \"w_bits\": %d, \"a_bits\": %d, \"params\": %lld, \"macs\": %lld, "
            "\"bits\": %lld, \"bytes\": %lld, \"bops\": %.17g}",
            l->w_bits, l->a_bits, (long long)l->params, (long long)l->macs, (long long)l->bits,
            (long long)layer_bytes(l), l->bops);
  }
  double ratio = r->quant_bytes > 0 ? (double)r->fp32_bytes / (double)r->quant_bytes : 0;
  fprintf(f,
          "],\n \"totals\": {\"layers\": %d, \"fp32_bytes\": %lld, \"quant_bytes\": %lld, "
          "\"compression_ratio\": %.17g, \"bops\": %.17g, \"fp32_bops\": %.17g, "
          "\"gbops\": %.17g, \"fp32_gbops\": %.17g}}\n",
          (int)r->n_layers, (long long)r->fp32_bytes, (long long)r->quant_bytes, ratio, r->bops,
          r->fp32_bops, r->bops * 1e-9, r->fp32_bops * 1e-9);
  bool ok = !ferror(f);
  ok = (fclose(f) == 0) && ok;
  return ok ? QC_OK : qc_err_set(e, QC_ERR_IO, "%s: write failed", final);
}

static void print_summary(const qc_quant_report *r, const char *out, const char *report,
                          const char *ir)
{
  int w = 4;
  for (int32_t i = 0; i < r->n_layers; i++) {
    int k = (int)strlen(r->layers[i].name ? r->layers[i].name : "?");
    if (k > w) w = k;
  }
  if (w > 60) w = 60;
  printf("%-*s  %-5s  %3s  %3s  %10s  %12s  %10s  %10s\n", w, "layer", "op", "w", "a", "params",
         "MACs", "bytes", "MBOPS");
  for (int32_t i = 0; i < r->n_layers; i++) {
    const qc_layer_report *l = &r->layers[i];
    printf("%-*.*s  %-5s  %3d  %3d  %10lld  %12lld  %10lld  %10.2f\n", w, w,
           l->name ? l->name : "?", l->op ? l->op : "?", l->w_bits, l->a_bits,
           (long long)l->params, (long long)l->macs, (long long)layer_bytes(l), l->bops * 1e-6);
  }
  double ratio = r->quant_bytes > 0 ? (double)r->fp32_bytes / (double)r->quant_bytes : 0;
  printf("size: %lld bytes fp32 -> %lld bytes quantized (%.2fx smaller)\n",
         (long long)r->fp32_bytes, (long long)r->quant_bytes, ratio);
  printf("BOPS: %.3f G fp32 -> %.3f G quantized\n", r->fp32_bops * 1e-9, r->bops * 1e-9);
  printf("wrote %s, %s%s%s\n", out, report, ir ? ", " : "", ir ? ir : "");
}

/* ---- the command ------------------------------------------------------------------------ */

int qc_cmd_quantize(int argc, char **argv)
{
  enum { O_REPORT = 256, O_IR, O_NO_FOLD };
  static const struct option longopts[] = {
      QC_CLI_QUANT_LONGOPTS,
      {"threads", required_argument, NULL, 't'},   {"output", required_argument, NULL, 'o'},
      {"report", required_argument, NULL, O_REPORT}, {"ir", required_argument, NULL, O_IR},
      {"no-fold", no_argument, NULL, O_NO_FOLD},   {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *report = NULL, *ir = NULL;
  long threads = 0;
  qc_cli_quant_args qa;
  qc_cli_quant_args_init(&qa);
  qc_cli_load_opts lo = {true, 0};
  int c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":hs:c:n:t:o:", longopts, NULL)) != -1) {
    int k = qc_cli_quant_opt("quantize", &qa, c, optarg, &rc);
    if (k < 0) return rc;
    if (k > 0) continue;
    switch (c) {
    case 't':
      if (!qc_cli_parse_long("quantize", "--threads", optarg, 1, 1024, &threads, &rc))
        return rc;
      break;
    case 'o':
      if (!*optarg) return qc_cli_usage_error("quantize", "--output: empty path");
      out = optarg;
      break;
    case O_REPORT:
      if (!*optarg) return qc_cli_usage_error("quantize", "--report: empty path");
      report = optarg;
      break;
    case O_IR:
      if (!*optarg) return qc_cli_usage_error("quantize", "--ir: empty path");
      ir = optarg;
      break;
    case O_NO_FOLD: lo.optimize = false; break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("quantize", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("quantize", "missing MODEL");
  if (optind + 1 < argc)
    return qc_cli_usage_error("quantize", "unexpected argument '%s'", argv[optind + 1]);
  if (!qa.scheme)
    return qc_cli_usage_error("quantize", "missing --scheme (w8a8, w4a8, w4a4 or a config file)");
  if (qa.scheme[0] && qa.calib && qa.calib[0] && !out)
    return qc_cli_usage_error("quantize", "missing -o OUT.onnx");
  qc_uniform_opts o;
  if (!qc_cli_quant_finish("quantize", &qa, (int)threads, &o, &rc)) return rc;
  if (!out) return qc_cli_usage_error("quantize", "missing -o OUT.onnx");
  const char *path = argv[optind];
  lo.threads = (int)threads;

  /* Default report: OUT with .onnx replaced by .json (or .json appended). */
  char report_buf[4096];
  if (!report) {
    size_t n = strlen(out);
    if (ends_with(out, ".onnx")) n -= 5;
    if (n + 6 > sizeof report_buf) return qc_cli_usage_error("quantize", "-o: path too long");
    memcpy(report_buf, out, n);
    memcpy(report_buf + n, ".json", 6);
    report = report_buf;
  }
  if (strcmp(report, out) == 0 || (ir && (strcmp(ir, out) == 0 || strcmp(ir, report) == 0)))
    return qc_cli_usage_error("quantize", "-o, --report and --ir must be different files");

  qc_err e = {0};
  qc_graph *g = NULL;
  qc_quant_report rep = {0};
  bool have_rep = false;
  char *ir_text = NULL;
  char t_out[4200] = "", t_rep[4200] = "", t_ir[4200] = "";
  long samples = 0;
  int n_batches = 0;
  rc = QC_EXIT_OK;
  if (qc_cli_load_model(path, &lo, &g, &e)) goto fail;
  if (qc_cli_quantize(g, path, &qa, &o, &rep, &samples, &n_batches, &e)) goto fail;
  have_rep = true;

  /* Everything goes to temporary files first; renamed only when all are complete. */
  if (make_temp(out, t_out, sizeof t_out, &e)) goto fail;
  if (qc_onnx_save(g, t_out, &e)) goto fail;
  report_meta meta = {path, qa.scheme, qa.calib, qa.method, samples, n_batches, qa.pct,
                      qa.first_last_8};
  if (make_temp(report, t_rep, sizeof t_rep, &e)) goto fail;
  if (write_report(t_rep, report, &meta, &rep, &e)) goto fail;
  if (ir) {
    ir_text = qc_print(g, true);
    if (!ir_text) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory printing the integer IR");
      goto fail;
    }
    if (make_temp(ir, t_ir, sizeof t_ir, &e)) goto fail;
    if (write_text(t_ir, ir, ir_text, &e)) goto fail;
  }
  if (rename(t_out, out) != 0) {
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", out);
    goto fail;
  }
  t_out[0] = 0;
  if (rename(t_rep, report) != 0) {
    unlink(out); /* all or nothing */
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", report);
    goto fail;
  }
  t_rep[0] = 0;
  if (ir && rename(t_ir, ir) != 0) {
    unlink(out);
    unlink(report);
    qc_err_set(&e, QC_ERR_IO, "%s: cannot write", ir);
    goto fail;
  }
  t_ir[0] = 0;
  print_summary(&rep, out, report, ir);
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  if (t_out[0]) unlink(t_out);
  if (t_rep[0]) unlink(t_rep);
  if (t_ir[0]) unlink(t_ir);
  free(ir_text);
  if (have_rep) qc_quant_report_free(&rep);
  qc_graph_free(g);
  return rc;
}
