/* What the subcommands share: exit codes, error printing, strict option parsing, loading. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int qc_cli_exit_code(qc_status s)
{
  switch (s) {
  case QC_OK: return QC_EXIT_OK;
  case QC_ERR_USAGE: return QC_EXIT_USAGE;
  case QC_ERR_FORMAT:
  case QC_ERR_INVALID: return QC_EXIT_INPUT;
  case QC_ERR_NOMEM: /* a size limit exceeded, or memory: too large for quantc */
  case QC_ERR_UNSUPPORTED: return QC_EXIT_UNSUPPORTED;
  case QC_ERR_IO: return QC_EXIT_IO;
  case QC_ERR_INTERNAL: return QC_EXIT_INTERNAL;
  }
  return QC_EXIT_INTERNAL;
}

int qc_cli_fail(const qc_err *e)
{
  if (e->code == QC_OK) {
    fputs("quantc: error: internal error: failure without a status\n", stderr);
    return QC_EXIT_INTERNAL;
  }
  fprintf(stderr, "quantc: error: %s\n", e->msg[0] ? e->msg : qc_status_name(e->code));
  return qc_cli_exit_code(e->code);
}

int qc_cli_usage_error(const char *cmd, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cmd)
    fprintf(stderr, "quantc: error: %s: %s\nTry 'quantc %s --help'.\n", cmd, msg, cmd);
  else
    fprintf(stderr, "quantc: error: %s\nTry 'quantc --help'.\n", msg);
  return QC_EXIT_USAGE;
}

int qc_cli_bad_option(const char *cmd, int c, char **argv)
{
  /* getopt_long has moved optind past the offending argument. */
  const char *arg = optind > 0 ? argv[optind - 1] : "?";
  char name[128];
  if (strncmp(arg, "--", 2) == 0) {
    snprintf(name, sizeof name, "%s", arg);
    char *eq = strchr(name, '=');
    if (eq) {
      *eq = 0;
      if (c == '?' && optopt)
        return qc_cli_usage_error(cmd, "option '%s' takes no value", name);
    }
  } else {
    snprintf(name, sizeof name, "-%c", optopt ? optopt : '?');
  }
  if (c == ':') return qc_cli_usage_error(cmd, "option '%s' needs a value", name);
  return qc_cli_usage_error(cmd, "unknown option '%s'", name);
}

bool qc_cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                       long *out, int *rc)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno == ERANGE || s[0] == ' ') {
    *rc = qc_cli_usage_error(cmd, "%s: '%s' is not an integer", opt, s);
    return false;
  }
  if (v < min || v > max) {
    *rc = qc_cli_usage_error(cmd, "%s: %ld is out of range (%ld..%ld)", opt, v, min, max);
    return false;
  }
  *out = v;
  return true;
}

bool qc_cli_parse_double(const char *cmd, const char *opt, const char *s, double *out, int *rc)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno == ERANGE || !isfinite(v) || s[0] == ' ') {
    *rc = qc_cli_usage_error(cmd, "%s: '%s' is not a finite number", opt, s);
    return false;
  }
  *out = v;
  return true;
}

void qc_cli_shape_str(const qc_graph *g, int rank, const int64_t *dims, char *buf, size_t cap)
{
  size_t n = 0;
  if (cap == 0) return;
  buf[0] = 0;
  if (rank < 0) {
    snprintf(buf, cap, "[?]");
    return;
  }
  n += (size_t)snprintf(buf + n, cap - n, "[");
  for (int i = 0; i < rank && n < cap; i++) {
    const char *sep = i ? "," : "";
    int64_t d = dims[i];
    if (d >= 0)
      n += (size_t)snprintf(buf + n, cap - n, "%s%lld", sep, (long long)d);
    else if (d <= -2 && QC_DIM_SYM_INDEX(d) < g->n_syms)
      n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, g->syms[QC_DIM_SYM_INDEX(d)]);
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s?", sep);
  }
  if (n < cap) snprintf(buf + n, cap - n, "]");
}
