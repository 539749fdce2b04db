/* The constant-folding callback: evaluates one node with the interpreter's kernels by running
   it as a one-node graph whose inputs are constants. passes/ cannot link interp/, so tools/
   joins them here. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "interp.h"
#include "onnx.h"
#include "passes.h"

static qc_status eval_node(void *user, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out, qc_err *e)
{
  (void)user;
  qc_err le = {0};
  qc_graph *g = qc_graph_new();
  qc_interp *it = NULL;
  int32_t *ids = calloc((size_t)(n_in + n_out) + 1, sizeof *ids);
  if (!g || !ids) {
    free(ids);
    qc_graph_free(g);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory while folding constants");
  }
  int32_t *oids = ids + n_in, node = -1, n_graph_out = 0;
  qc_status st = QC_OK;
  for (int i = 0; i < n_in && !st; i++) {
    ids[i] = -1;
    if (in[i].dtype == QC_DT_UNDEF) continue;
    ids[i] = qc_graph_add_const(g, NULL, in[i].dtype, in[i].rank, in[i].dims, in[i].data, &le);
    if (ids[i] < 0) st = le.code ? le.code : QC_ERR_NOMEM;
  }
  for (int i = 0; i < n_out && !st; i++) {
    oids[i] = -1;
    if (i >= n->n_out || n->out[i] < 0) continue;
    oids[i] = qc_graph_add_value(g, NULL, QC_DT_UNDEF, -1, NULL, &le);
    if (oids[i] < 0) st = le.code ? le.code : QC_ERR_NOMEM;
  }
  if (!st) {
    node = qc_graph_add_node(g, n->op, n->name, n_in, ids, n_out, oids, &le);
    if (node < 0) st = le.code ? le.code : QC_ERR_NOMEM;
  }
  /* Attributes are shared, not copied: g lives only for this call. */
  for (int k = 0; !st && k < n->n_attrs; k++) {
    qc_attr *a = qc_node_add_attr(g, node, n->attrs[k].name, n->attrs[k].kind, &le);
    if (!a) st = le.code ? le.code : QC_ERR_NOMEM;
    else *a = n->attrs[k];
  }
  for (int i = 0; i < n_out; i++)
    if (oids[i] >= 0) ids[n_graph_out++] = oids[i]; /* inputs' ids are no longer needed */
  if (!st) st = qc_graph_set_outputs(g, n_graph_out, ids, &le);
  if (!st) st = qc_interp_new(g, 1, &it, &le);
  if (!st) st = qc_interp_run(it, NULL, 0, &le);
  for (int i = 0, k = 0; !st && i < n_out; i++) {
    if (oids[i] < 0) continue;
    const qc_tensor *t = qc_interp_output(it, k++);
    int64_t bytes = t ? qc_tensor_bytes(t) : -1;
    if (bytes < 0) {
      st = qc_err_set(&le, QC_ERR_INTERNAL, "node '%s': folded output %d missing",
                      n->name ? n->name : "?", i);
      break;
    }
    out[i].dtype = t->dtype;
    out[i].rank = t->rank;
    memcpy(out[i].dims, t->dims, sizeof out[i].dims);
    out[i].data = malloc(bytes ? (size_t)bytes : 1);
    if (!out[i].data) {
      st = qc_err_set(&le, QC_ERR_NOMEM, "out of memory while folding constants");
      break;
    }
    memcpy(out[i].data, t->data, (size_t)bytes);
  }
  if (st) /* the pass owns only what we return on success */
    for (int i = 0; i < n_out; i++) {
      free(out[i].data);
      out[i].data = NULL;
    }
  if (it) qc_interp_free(it);
  qc_graph_free(g);
  free(ids);
  /* No kernel: decline quietly and leave the node in the graph. */
  if (st == QC_ERR_UNSUPPORTED) return st;
  if (st) return qc_err_set(e, st, "%s", le.msg);
  return QC_OK;
}

/* IR text (docs/ir-text.md), e.g. the integer model `quantc quantize --ir` writes. */
static qc_status load_ir_text(const char *path, qc_graph **out, qc_err *e)
{
  FILE *f = fopen(path, "rb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: cannot open", path);
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return qc_err_set(e, QC_ERR_IO, "%s: cannot read (not a regular file?)", path);
  }
  char *buf = (uint64_t)size < ((uint64_t)1 << 34) ? malloc((size_t)size + 1) : NULL;
  size_t n = buf ? fread(buf, 1, (size_t)size, f) : 0;
  bool bad = ferror(f) != 0 || (buf && n != (size_t)size);
  fclose(f);
  if (!buf) return qc_err_set(e, QC_ERR_NOMEM, "%s: too large to read", path);
  if (bad) {
    free(buf);
    return qc_err_set(e, QC_ERR_IO, "%s: read error", path);
  }
  buf[n] = 0;
  size_t nul = strlen(buf);
  if (nul != n) {
    free(buf);
    return qc_err_set(e, QC_ERR_FORMAT, "%s: IR text holds a NUL byte at byte %zu", path, nul);
  }
  qc_err pe = {0};
  qc_status st = qc_parse(buf, out, &pe);
  free(buf);
  if (st) return qc_err_set(e, st, "%s: %s", path, pe.msg);
  return QC_OK;
}

qc_status qc_cli_load_model(const char *path, const qc_cli_load_opts *opts, qc_graph **out,
                            qc_err *e)
{
  *out = NULL;
  qc_graph *g = NULL;
  size_t len = strlen(path);
  qc_status st = len > 3 && strcmp(path + len - 3, ".qc") == 0 ? load_ir_text(path, &g, e)
                                                               : qc_onnx_load(path, &g, e);
  if (st) {
    qc_graph_free(g);
    return st;
  }
  qc_fold_opts fold = {eval_node, NULL, 0};
  const char *names[] = {"infer-shapes", "fold-constants", "infer-shapes", "dce",
                         "eliminate-identity", "prune-values"};
  void *ctxs[] = {NULL, &fold, NULL, NULL, NULL, NULL};
  int n = opts->optimize ? 6 : 1;
  qc_pass pipeline[6];
  for (int i = 0; i < n && !st; i++) st = qc_pass_builtin(names[i], ctxs[i], &pipeline[i], e);
  if (!st) st = qc_pass_run_pipeline(g, pipeline, n, true, e);
  if (st) {
    qc_graph_free(g);
    return st;
  }
  *out = g;
  return QC_OK;
}

qc_status qc_cli_run_passes(qc_graph *g, const char *const *names, int n, qc_err *e)
{
  qc_fold_opts fold = {eval_node, NULL, 0};
  qc_pass pipeline[16];
  if (n > 16) return qc_err_set(e, QC_ERR_INTERNAL, "too many passes (%d)", n);
  for (int i = 0; i < n; i++) {
    void *ctx = strcmp(names[i], "fold-constants") == 0 ? &fold : NULL;
    qc_status st = qc_pass_builtin(names[i], ctx, &pipeline[i], e);
    if (st) return st;
  }
  return qc_pass_run_pipeline(g, pipeline, n, true, e);
}
