/* Status codes and the first-error-wins message buffer. */
#include <stdarg.h>
#include <stdio.h>
#include "ir.h"

qc_status qc_err_set(qc_err *e, qc_status code, const char *fmt, ...)
{
  if (!e) return code;
  if (e->code != QC_OK) return e->code;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

void qc_err_clear(qc_err *e)
{
  if (!e) return;
  e->code = QC_OK;
  e->msg[0] = 0;
}

const char *qc_status_name(qc_status s)
{
  static const char *names[] = {"ok",          "usage error",    "I/O error",
                                "format error", "unsupported",    "invalid model",
                                "out of memory", "internal error"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown error";
}

qc_status qc_node_err(qc_err *e, const qc_node *n, qc_status code, const char *fmt, ...)
{
  if (!e) return code;
  if (e->code != QC_OK) return e->code;
  char body[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  return qc_err_set(e, code, "node '%s' (%s): %s", n && n->name ? n->name : "?",
                    n ? qc_op_name(n->op) : "?", body);
}
