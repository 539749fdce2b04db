/* quantc bench: per-layer timings of a compiled artifact through the runtime's step hook. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "artifact.h"
#include "cli.h"
#include "data.h"

static const char usage[] =
    "usage: quantc bench DIR [--threads N] [--iters N] [--warmup N] [--input X.npy]\n"
    "\n"
    "Runs the artifact DIR (from 'quantc compile') repeatedly and prints one row per step:\n"
    "median time, GMAC/s and share of the total; then the median and 90th-percentile latency\n"
    "of a whole run (without the per-step hook), peak resident memory and arena bytes.\n"
    "\n"
    "options:\n"
    "  -t, --threads N   runtime threads, 1..1024 (default 1)\n"
    "  -i, --iters N     timed runs, 1..1000000 (default 50)\n"
    "  -w, --warmup N    untimed runs first, 0..1000000 (default 5)\n"
    "      --input X     an NPY input (default: zeros; timings do not depend on values)\n"
    "      --json FILE   also write the results as JSON\n"
    "  -h, --help        this text\n"
    "\n"
    "exit codes: 0 ok, 1 usage, 2 invalid artifact or input, 3 unsupported, 4 I/O.\n";

typedef struct {
  uint64_t *ns; /* [iters][steps] */
  int n_steps, iter;
  bool record;
} bench_ctx;

static int hook(void *user, int step, const void *out, uint64_t ns)
{
  (void)out;
  bench_ctx *b = user;
  if (b->record && step >= 0 && step < b->n_steps)
    b->ns[(size_t)b->iter * (size_t)b->n_steps + (size_t)step] = ns;
  return 0;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
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

int qc_cmd_bench(int argc, char **argv)
{
  enum { O_INPUT = 256, O_JSON };
  static const struct option longopts[] = {
      {"threads", required_argument, NULL, 't'}, {"iters", required_argument, NULL, 'i'},
      {"warmup", required_argument, NULL, 'w'},  {"input", required_argument, NULL, O_INPUT},
      {"json", required_argument, NULL, O_JSON}, {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  long threads = 1, iters = 50, warmup = 5;
  const char *input = NULL, *json = NULL;
  int c, rc;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, ":ht:i:w:", longopts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (!qc_cli_parse_long("bench", "--threads", optarg, 1, 1024, &threads, &rc)) return rc;
      break;
    case 'i':
      if (!qc_cli_parse_long("bench", "--iters", optarg, 1, 1000000, &iters, &rc)) return rc;
      break;
    case 'w':
      if (!qc_cli_parse_long("bench", "--warmup", optarg, 0, 1000000, &warmup, &rc)) return rc;
      break;
    case O_INPUT:
      if (!*optarg) return qc_cli_usage_error("bench", "--input: empty path");
      input = optarg;
      break;
    case O_JSON:
      if (!*optarg) return qc_cli_usage_error("bench", "--json: empty path");
      json = optarg;
      break;
    case 'h': fputs(usage, stdout); return QC_EXIT_OK;
    default: return qc_cli_bad_option("bench", c, argv);
    }
  }
  if (optind >= argc) return qc_cli_usage_error("bench", "missing DIR");
  if (optind + 1 < argc)
    return qc_cli_usage_error("bench", "unexpected argument '%s'", argv[optind + 1]);
  const char *dir = argv[optind];
  if (!qc_cli_is_artifact(dir)) {
    fprintf(stderr, "quantc: error: %s: not an artifact folder (from 'quantc compile -o DIR')\n",
            dir);
    return QC_EXIT_IO;
  }
  qcrt_model *m = NULL;
  rc = qc_cli_artifact_load(dir, (int)threads, &m);
  if (rc) return rc;
  qc_err e = {0};
  qcrt_err re = {0};
  int ni = qcrt_num_inputs(m), no = qcrt_num_outputs(m), ns = qcrt_num_steps(m);
  void **ip = calloc((size_t)ni + 1, sizeof *ip), **op = calloc((size_t)no + 1, sizeof *op);
  uint64_t *total = calloc((size_t)iters, sizeof *total);
  uint64_t *col = calloc((size_t)iters, sizeof *col);
  uint64_t *med = calloc((size_t)ns + 1, sizeof *med);
  qcrt_step_info *si = calloc((size_t)ns + 1, sizeof *si);
  bench_ctx b = {calloc((size_t)iters * (size_t)ns + 1, sizeof(uint64_t)), ns, 0, false};
  qc_tensor x = {0};
  rc = QC_EXIT_OK;
  if (!ip || !op || !total || !col || !med || !si || !b.ns) {
    qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
    goto fail;
  }
  for (int k = 0; k < ni; k++) {
    qcrt_tensor_info t;
    if (qcrt_input_info(m, k, &t, &re)) goto rt_fail;
    ip[k] = calloc(1, t.bytes ? t.bytes : 1);
    if (!ip[k]) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
      goto fail;
    }
    if (k == 0 && input) {
      if (qc_npy_read(input, &x, &e)) goto fail;
      if (qc_tensor_bytes(&x) != (int64_t)t.bytes ||
          x.dtype != qc_cli_qca_to_dtype(t.dtype)) {
        char sh[256];
        qc_cli_rt_shape_str(&t, sh, sizeof sh);
        qc_err_set(&e, QC_ERR_INVALID, "%s: the artifact's input '%s' is %s %s", input, t.name,
                   qcrt_dtype_name(t.dtype), sh);
        goto fail;
      }
      memcpy(ip[k], x.data, t.bytes);
    }
  }
  for (int k = 0; k < no; k++) {
    qcrt_tensor_info t;
    if (qcrt_output_info(m, k, &t, &re)) goto rt_fail;
    op[k] = malloc(t.bytes ? t.bytes : 1);
    if (!op[k]) {
      qc_err_set(&e, QC_ERR_NOMEM, "out of memory");
      goto fail;
    }
  }
  for (int k = 0; k < ns; k++)
    if (qcrt_step_info_get(m, k, &si[k], &re)) goto rt_fail;

  /* Whole-run latency without the hook, then per-step timings with it. */
  for (long i = 0; i < warmup; i++)
    if (qcrt_run(m, (const void *const *)ip, op, &re)) goto rt_fail;
  for (long i = 0; i < iters; i++) {
    uint64_t t0 = now_ns();
    if (qcrt_run(m, (const void *const *)ip, op, &re)) goto rt_fail;
    total[i] = now_ns() - t0;
  }
  b.record = true;
  for (long i = 0; i < iters; i++) {
    b.iter = (int)i;
    if (qcrt_run_hooked(m, (const void *const *)ip, op, hook, &b, &re)) goto rt_fail;
  }
  uint64_t sum_med = 0, macs = 0;
  for (int k = 0; k < ns; k++) {
    for (long i = 0; i < iters; i++) col[i] = b.ns[(size_t)i * (size_t)ns + (size_t)k];
    qsort(col, (size_t)iters, sizeof *col, cmp_u64);
    med[k] = col[iters / 2];
    sum_med += med[k];
    macs += si[k].macs;
  }
  qsort(total, (size_t)iters, sizeof *total, cmp_u64);
  uint64_t lat = total[iters / 2], p90 = total[(iters * 9) / 10 < iters ? (iters * 9) / 10 : iters - 1];
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);

  int w = 5;
  for (int k = 0; k < ns; k++) {
    int l = (int)strlen(si[k].name);
    if (l > w) w = l;
  }
  if (w > 40) w = 40;
  printf("bench %s: %s, %ld thread%s, %ld runs (+%ld warm-up)\n", dir, qcrt_target(m), threads,
         threads == 1 ? "" : "s", iters, warmup);
  printf("%4s  %-*s  %-20s  %12s  %10s  %8s  %6s\n", "#", w, "layer", "op", "median us",
         "GMAC/s", "tasks", "%");
  for (int k = 0; k < ns; k++) {
    double us = (double)med[k] / 1000.0;
    double gmacs = med[k] ? (double)si[k].macs / (double)med[k] : 0;
    printf("%4d  %-*.*s  %-20.20s  %12.1f  %10.2f  %8llu  %6.2f\n", k, w, w, si[k].name, si[k].op,
           us, gmacs, (unsigned long long)si[k].n_tasks,
           sum_med ? 100.0 * (double)med[k] / (double)sum_med : 0.0);
  }
  printf("sum of step medians: %.3f ms, %.3f GMAC total, %.2f GMAC/s\n", (double)sum_med / 1e6,
         (double)macs * 1e-9, sum_med ? (double)macs / (double)sum_med : 0.0);
  printf("latency: median %.3f ms, p90 %.3f ms (whole runs, %ld threads)\n", (double)lat / 1e6,
         (double)p90 / 1e6, threads);
  printf("memory: peak RSS %.1f MiB, arena+scratch %.2f MiB\n", (double)ru.ru_maxrss / 1024.0,
         (double)qcrt_arena_bytes(m) / 1048576.0);
  if (json) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", json);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
      qc_err_set(&e, QC_ERR_IO, "%s: cannot write", json);
      goto fail;
    }
    fputs("{\"artifact\": ", f);
    json_str(f, dir);
    fputs(", \"target\": ", f);
    json_str(f, qcrt_target(m));
    fprintf(f,
            ", \"threads\": %ld, \"iters\": %ld, \"warmup\": %ld, \"latency_ms_median\": %.6f, "
            "\"latency_ms_p90\": %.6f, \"macs\": %llu, \"peak_rss_bytes\": %lld, "
            "\"arena_bytes\": %llu,\n \"steps\": [",
            threads, iters, warmup, (double)lat / 1e6, (double)p90 / 1e6,
            (unsigned long long)macs, (long long)ru.ru_maxrss * 1024,
            (unsigned long long)qcrt_arena_bytes(m));
    for (int k = 0; k < ns; k++) {
      fputs(k ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
      json_str(f, si[k].name);
      fputs(", \"op\": ", f);
      json_str(f, si[k].op);
      fprintf(f, ", \"median_us\": %.3f, \"macs\": %llu, \"n_tasks\": %llu}",
              (double)med[k] / 1000.0, (unsigned long long)si[k].macs,
              (unsigned long long)si[k].n_tasks);
    }
    fputs("]}\n", f);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, json) != 0) {
      unlink(tmp);
      qc_err_set(&e, QC_ERR_IO, "%s: write failed", json);
      goto fail;
    }
  }
  if (fflush(stdout) != 0) {
    qc_err_set(&e, QC_ERR_IO, "cannot write to stdout");
    goto fail;
  }
  goto done;
rt_fail:
  rc = qc_cli_rt_fail(&re);
  goto done;
fail:
  rc = qc_cli_fail(&e);
done:
  for (int k = 0; ip && k < ni; k++) free(ip[k]);
  for (int k = 0; op && k < no; k++) free(op[k]);
  free(ip);
  free(op);
  free(total);
  free(col);
  free(med);
  free(si);
  free(b.ns);
  free(x.data);
  qcrt_free(m);
  return rc;
}
