/* The pass manager and the table of built-in passes. */
#include <string.h>
#include "passes.h"

qc_status qc_pass_run_pipeline(qc_graph *g, const qc_pass *passes, int n, bool verify_each,
                               qc_err *e)
{
  qc_err tmp = {0};
  if (verify_each && qc_verify(g, &tmp) != QC_OK)
    return qc_err_set(e, tmp.code, "graph invalid before the first pass: %s", tmp.msg);
  for (int i = 0; i < n; i++) {
    const char *name = passes[i].name ? passes[i].name : "?";
    if (!passes[i].fn) return qc_err_set(e, QC_ERR_USAGE, "pass '%s' has no function", name);
    qc_err_clear(&tmp);
    qc_status st = passes[i].fn(g, passes[i].ctx, &tmp);
    if (st != QC_OK)
      return qc_err_set(e, st, "pass '%s': %s", name, tmp.msg[0] ? tmp.msg : qc_status_name(st));
    if (verify_each && qc_verify(g, &tmp) != QC_OK)
      return qc_err_set(e, tmp.code, "graph invalid after pass '%s': %s", name, tmp.msg);
  }
  return QC_OK;
}

static qc_status run_infer(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_pass_infer_shapes(g, ctx, e);
}

static qc_status run_fold(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_pass_fold_constants(g, ctx, e);
}

static qc_status run_dce(qc_graph *g, void *ctx, qc_err *e) { return qc_pass_dce(g, e); }

static qc_status run_identity(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_pass_eliminate_identity(g, e);
}

static qc_status run_prune(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_pass_prune_values(g, e);
}

static qc_status run_bn_fold(qc_graph *g, void *ctx, qc_err *e)
{
  return qc_pass_fold_batchnorm(g, e);
}

static const qc_pass builtin[] = {
    {"infer-shapes", run_infer, NULL},
    {"fold-constants", run_fold, NULL},
    {"dce", run_dce, NULL},
    {"eliminate-identity", run_identity, NULL},
    {"prune-values", run_prune, NULL},
    {"fold-batchnorm", run_bn_fold, NULL},
};

qc_status qc_pass_builtin(const char *name, void *ctx, qc_pass *out, qc_err *e)
{
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    if (strcmp(builtin[i].name, name) == 0) {
      *out = builtin[i];
      out->ctx = ctx;
      return QC_OK;
    }
  return qc_err_set(e, QC_ERR_USAGE, "unknown pass '%s'", name);
}
