/* The memory plan: one arena for every activation. Each value a kernel writes (and each graph
 * input and output) gets a 64-byte aligned range; values whose live ranges (in steps, inclusive
 * at both ends) do not intersect may share bytes. A step's inputs stay live at the step, so they
 * never overlap its output (no in-place). Aliases share their source's range and extend its
 * life. Placement is first-fit over the ranges of the values live at the same time, in order of
 * definition: the offsets depend only on the graph, so the plan is deterministic. */
#include <stdlib.h>
#include <string.h>

#include "cg_pipeline.h"

#define ALIGN_UP(x) (((x) + QCA_ALIGN - 1) / QCA_ALIGN * QCA_ALIGN)

typedef struct {
  int64_t off, end;
} span;

static int cmp_span(const void *a, const void *b)
{
  const span *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

static bool overlaps(int64_t f0, int64_t l0, int64_t f1, int64_t l1)
{
  return f0 <= l1 && f1 <= l0;
}

qc_status cg_plan(const qc_graph *g, cg_program *p, qc_err *e)
{
  size_t nv = (size_t)g->n_values + 1;
  p->root = qc_arena_alloc(p->arena, nv * sizeof(int32_t));
  p->off = qc_arena_alloc(p->arena, nv * sizeof(int64_t));
  p->bytes = qc_arena_alloc(p->arena, nv * sizeof(int64_t));
  p->first = qc_arena_alloc(p->arena, nv * sizeof(int64_t));
  p->last = qc_arena_alloc(p->arena, nv * sizeof(int64_t));
  int32_t *order = qc_arena_alloc(p->arena, nv * sizeof(int32_t));
  span *sp = qc_arena_alloc(p->arena, nv * sizeof(span));
  if (!p->root || !p->off || !p->bytes || !p->first || !p->last || !order || !sp)
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory while planning memory");
  int32_t n_roots = 0;
  for (int32_t v = 0; v < g->n_values; v++) {
    p->root[v] = v;
    p->off[v] = -1;
    p->bytes[v] = cg_value_bytes(&g->values[v]);
    p->first[v] = INT64_MAX;
    p->last[v] = -2;
  }
  /* Definitions: graph inputs before step 0, then each group's output in order. */
  for (int32_t i = 0; i < g->n_inputs; i++) {
    int32_t v = g->inputs[i];
    if (p->first[v] == INT64_MAX) {
      p->first[v] = -1;
      p->last[v] = -1;
      order[n_roots++] = v;
    }
  }
  for (int s = 0; s < p->n_groups; s++) {
    cg_group *gr = &p->groups[s];
    for (int i = 0; i < gr->n_in; i++) {
      int32_t r = p->root[gr->in[i]];
      if (p->first[r] == INT64_MAX)
        return qc_err_set(e, QC_ERR_INTERNAL, "value '%s' is read before it is written",
                          g->values[gr->in[i]].name);
      if (p->last[r] < s) p->last[r] = s;
    }
    if (gr->kind == CG_GROUP_ALIAS) {
      p->root[gr->out] = p->root[gr->in[0]];
      continue;
    }
    if (p->first[gr->out] != INT64_MAX)
      return qc_err_set(e, QC_ERR_INTERNAL, "value '%s' is written twice", g->values[gr->out].name);
    p->first[gr->out] = s;
    p->last[gr->out] = s;
    order[n_roots++] = gr->out;
  }
  for (int32_t i = 0; i < g->n_outputs; i++) {
    int32_t r = p->root[g->outputs[i]];
    if (p->first[r] == INT64_MAX)
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "output '%s' is not computed by any kernel",
                        g->values[g->outputs[i]].name);
    p->last[r] = p->n_groups;
  }
  /* First-fit: the lowest gap among the ranges of already placed values live at the same time. */
  uint64_t top = 0, sum = 0;
  for (int32_t k = 0; k < n_roots; k++) {
    int32_t v = order[k];
    if (p->bytes[v] < 0)
      return qc_err_set(e, QC_ERR_INVALID, "value '%s' has no known size", g->values[v].name);
    int64_t size = ALIGN_UP(p->bytes[v] > 0 ? p->bytes[v] : 1);
    int ns = 0;
    for (int32_t j = 0; j < k; j++) {
      int32_t u = order[j];
      if (overlaps(p->first[v], p->last[v], p->first[u], p->last[u]))
        sp[ns++] = (span){p->off[u], p->off[u] + ALIGN_UP(p->bytes[u] > 0 ? p->bytes[u] : 1)};
    }
    qsort(sp, (size_t)ns, sizeof *sp, cmp_span);
    int64_t at = 0;
    for (int j = 0; j < ns; j++) {
      if (sp[j].off - at >= size) break;
      if (sp[j].end > at) at = sp[j].end;
    }
    p->off[v] = at;
    if ((uint64_t)(at + size) > top) top = (uint64_t)(at + size);
    sum += (uint64_t)size;
  }
  for (int32_t v = 0; v < g->n_values; v++)
    if (p->root[v] != v) p->off[v] = p->off[p->root[v]];
  p->arena_bytes = top;
  p->no_reuse_bytes = sum;
  for (int s = 0; s < p->n_groups; s++) {
    cg_group *gr = &p->groups[s];
    if (gr->kind != CG_GROUP_CONV) continue;
    gr->spec.x_off = p->off[gr->x];
    gr->spec.y_off = p->off[gr->out];
    gr->spec.res_off = gr->res >= 0 ? p->off[gr->res] : 0;
  }
  return QC_OK;
}

qc_status cg_plan_check(const qc_graph *g, const cg_program *p, qc_err *e)
{
  for (int32_t a = 0; a < g->n_values; a++) {
    if (p->root[a] != a || p->off[a] < 0) continue;
    if (p->off[a] % QCA_ALIGN || (uint64_t)(p->off[a] + p->bytes[a]) > p->arena_bytes)
      return qc_err_set(e, QC_ERR_INTERNAL, "value '%s' is misplaced", g->values[a].name);
    for (int32_t b = a + 1; b < g->n_values; b++) {
      if (p->root[b] != b || p->off[b] < 0) continue;
      if (!overlaps(p->first[a], p->last[a], p->first[b], p->last[b])) continue;
      if (p->off[a] < p->off[b] + p->bytes[b] && p->off[b] < p->off[a] + p->bytes[a])
        return qc_err_set(e, QC_ERR_INTERNAL, "values '%s' and '%s' overlap in the arena",
                          g->values[a].name, g->values[b].name);
    }
  }
  return QC_OK;
}
