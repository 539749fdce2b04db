/* The artifact's files: weights.bin (runtime/qc_artifact.h), model.h, manifest.json, and the
 * link of model.so. Everything is deterministic: no timestamps, no absolute paths, fixed key
 * order, floats as %.9g. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_pipeline.h"

extern char **environ;

/* CRC-32, IEEE polynomial (reflected 0xEDB88320), zlib's convention: crc32(0, ...) and
   chaining by passing the previous result. The table is computed per call (1 KiB, cheap
   against the data), so no mutable state outlives a call. */
uint32_t cg_crc32(uint32_t crc, const void *data, size_t n)
{
  uint32_t tab[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    tab[i] = c;
  }
  const uint8_t *p = data;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t cg_qca_dtype(qc_dtype t)
{
  switch (t) {
  case QC_DT_F32: return QCA_F32;
  case QC_DT_U8: return QCA_U8;
  case QC_DT_I8: return QCA_I8;
  case QC_DT_I16: return QCA_I16;
  case QC_DT_I32: return QCA_I32;
  case QC_DT_I64: return QCA_I64;
  case QC_DT_U16: return QCA_U16;
  default: return 0;
  }
}

/* ---- a growable byte buffer ---------------------------------------------------------------- */

typedef struct {
  char *d;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_put(sbuf *s, const void *p, size_t n)
{
  if (s->oom) return;
  if (s->n + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->n + n + 1) cap *= 2;
    char *d = realloc(s->d, cap);
    if (!d) {
      s->oom = true;
      return;
    }
    s->d = d, s->cap = cap;
  }
  if (n) memcpy(s->d + s->n, p, n);
  s->n += n;
  s->d[s->n] = 0;
}

static void sb_printf(sbuf *s, const char *fmt, ...) QC_PRINTF(2, 3);
static void sb_printf(sbuf *s, const char *fmt, ...)
{
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    sb_put(s, tmp, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    s->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_put(s, big, (size_t)n);
  free(big);
}

static void sb_json_str(sbuf *s, const char *str)
{
  sb_put(s, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)(str ? str : ""); *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      sb_put(s, esc, 2);
    } else if (*p < 0x20) {
      sb_printf(s, "\\u%04x", *p);
    } else {
      sb_put(s, p, 1);
    }
  }
  sb_put(s, "\"", 1);
}

static float value_scale(const qc_value *v)
{
  return v->q && v->q->n >= 1 && v->q->scale ? v->q->scale[0] : 0.0f;
}

/* ---- weights.bin --------------------------------------------------------------------------- */

static uint32_t str_add(sbuf *s, const char *str)
{
  uint32_t off = (uint32_t)s->n;
  sb_put(s, str ? str : "", strlen(str ? str : "") + 1);
  return off;
}

static void fill_tensor(const cg_artifact_in *a, int32_t v, sbuf *strs, qca_tensor *t)
{
  const qc_value *val = &a->g->values[v];
  memset(t, 0, sizeof *t);
  t->name = str_add(strs, val->name);
  t->dtype = cg_qca_dtype(val->dtype);
  t->rank = (uint32_t)val->rank;
  for (int d = 0; d < val->rank && d < QCA_MAX_RANK; d++) t->dims[d] = val->dims[d];
  t->arena_off = (uint64_t)a->p->off[v];
  t->bytes = (uint64_t)a->p->bytes[v];
  t->scale = value_scale(val);
}

qc_status cg_blob_build(const cg_artifact_in *a, uint8_t **out, size_t *out_len, qc_err *e)
{
  const qc_graph *g = a->g;
  const cg_program *p = a->p;
  uint32_t n_steps = (uint32_t)a->rep->n_steps;
  uint32_t n_t = (uint32_t)(g->n_inputs + g->n_outputs) + n_steps;
  qca_step *steps = calloc(n_steps + 1, sizeof *steps);
  qca_tensor *ts = calloc(n_t + 1, sizeof *ts);
  sbuf strs = {0};
  sb_put(&strs, "", 1);
  if (!steps || !ts) {
    free(steps), free(ts);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory building weights.bin");
  }
  uint32_t k = 0;
  for (int32_t i = 0; i < g->n_inputs; i++) fill_tensor(a, g->inputs[i], &strs, &ts[k++]);
  for (int32_t i = 0; i < g->n_outputs; i++) fill_tensor(a, g->outputs[i], &strs, &ts[k++]);
  uint32_t si = 0;
  for (int s = 0; s < p->n_groups; s++) {
    const cg_group *gr = &p->groups[s];
    if (gr->kind == CG_GROUP_ALIAS) continue;
    qca_step *st = &steps[si++];
    st->kernel = (uint32_t)gr->kernel;
    st->n_tasks = (uint64_t)gr->n_tasks;
    st->macs = gr->macs;
    st->name = str_add(&strs, g->nodes[gr->nodes[0]].name);
    st->op = str_add(&strs, gr->op);
    fill_tensor(a, gr->out, &strs, &ts[k++]);
  }
  qca_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, QCA_MAGIC, 8);
  h.version = QCA_VERSION;
  h.header_bytes = sizeof h;
  h.code_hash = a->code_hash;
  snprintf(h.prefix, sizeof h.prefix, "%s", a->prefix);
  snprintf(h.target, sizeof h.target, "%s", a->t->name);
  h.n_kernels = (uint32_t)a->n_kernels;
  h.n_steps = n_steps;
  h.n_inputs = (uint32_t)g->n_inputs;
  h.n_outputs = (uint32_t)g->n_outputs;
  h.arena_bytes = p->arena_bytes;
  h.scratch_bytes = a->rep->scratch_bytes;
  h.steps_off = sizeof h;
  h.tensors_off = h.steps_off + (uint64_t)n_steps * sizeof(qca_step);
  h.strings_off = h.tensors_off + (uint64_t)n_t * sizeof(qca_tensor);
  h.strings_bytes = strs.n;
  h.weights_off = (h.strings_off + h.strings_bytes + QCA_ALIGN - 1) / QCA_ALIGN * QCA_ALIGN;
  h.weights_bytes = a->weights_bytes;
  h.file_bytes = h.weights_off + h.weights_bytes;
  uint8_t *b = strs.oom ? NULL : calloc(1, (size_t)h.file_bytes);
  if (!b) {
    free(steps), free(ts), free(strs.d);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory building weights.bin");
  }
  memcpy(b + h.steps_off, steps, (size_t)n_steps * sizeof(qca_step));
  memcpy(b + h.tensors_off, ts, (size_t)n_t * sizeof(qca_tensor));
  memcpy(b + h.strings_off, strs.d, strs.n);
  if (a->weights_bytes) memcpy(b + h.weights_off, a->weights, a->weights_bytes);
  h.body_crc = cg_crc32(0, b + sizeof h, (size_t)(h.file_bytes - sizeof h));
  h.header_crc = 0;
  h.header_crc = cg_crc32(0, &h, sizeof h);
  memcpy(b, &h, sizeof h);
  free(steps), free(ts), free(strs.d);
  *out = b;
  *out_len = (size_t)h.file_bytes;
  return QC_OK;
}

/* ---- model.h ------------------------------------------------------------------------------- */

static void dims_text(sbuf *s, const qc_value *v)
{
  for (int d = 0; d < v->rank; d++) sb_printf(s, "%s%lld", d ? ", " : "", (long long)v->dims[d]);
}

qc_status cg_header_build(const cg_artifact_in *a, char **out, qc_err *e)
{
  const qc_graph *g = a->g;
  char up[64];
  size_t n = strlen(a->prefix);
  for (size_t i = 0; i <= n && i < sizeof up; i++)
    up[i] = (char)(a->prefix[i] >= 'a' && a->prefix[i] <= 'z' ? a->prefix[i] - 32 : a->prefix[i]);
  up[sizeof up - 1] = 0;
  sbuf s = {0};
  sb_printf(&s,
            "/* Generated by quantc: the kernel library of one compiled model (target %s).\n"
            " * Needs runtime/qc_artifact.h and runtime/quantc_rt.h on the include path.\n"
            " *\n"
            " * Dynamic: qcrt_load(\"DIR\", threads, &model, &err) loads DIR/model.so and\n"
            " * DIR/weights.bin. Static (link model.o and -lm into the program):\n"
            " *   qcrt_model *m;\n"
            " *   qcrt_load_static(%s_kernels, %s_n_kernels, %s_code_hash,\n"
            " *                    blob, blob_bytes, threads, &m, &err);\n"
            " * where blob holds the bytes of weights.bin. */\n"
            "#ifndef %s_MODEL_H\n#define %s_MODEL_H\n\n#include <stdint.h>\n\n"
            "#include \"qc_artifact.h\"\n\n"
            "extern const qca_kernel_fn %s_kernels[];\n"
            "extern const uint32_t %s_n_kernels;\n"
            "extern const uint64_t %s_code_hash;\n\n"
            "#define %s_N_KERNELS %d\n#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n"
            "#define %s_ARENA_BYTES %lluull\n#define %s_WEIGHTS_BYTES %lluull\n",
            a->t->name, a->prefix, a->prefix, a->prefix, up, up, a->prefix, a->prefix, a->prefix,
            up, a->n_kernels, up, (int)g->n_inputs, up, (int)g->n_outputs, up,
            (unsigned long long)a->p->arena_bytes, up, (unsigned long long)a->weights_bytes);
  for (int32_t i = 0; i < g->n_inputs + g->n_outputs; i++) {
    bool is_in = i < g->n_inputs;
    int idx = is_in ? i : i - g->n_inputs;
    const qc_value *v = &g->values[is_in ? g->inputs[i] : g->outputs[idx]];
    const char *kind = is_in ? "INPUT" : "OUTPUT";
    sb_printf(&s, "\n/* %s %d: ", is_in ? "input" : "output", idx);
    sb_printf(&s, "%s ", qc_dtype_name(v->dtype));
    sb_put(&s, "[", 1);
    dims_text(&s, v);
    sb_printf(&s, "] \"");
    for (const char *c = v->name; *c; c++)
      if (*c != '*' && *c != '/' && (unsigned char)*c >= 0x20) sb_put(&s, c, 1);
    sb_printf(&s, "\" */\n#define %s_%s%d_NAME \"", up, kind, idx);
    for (const char *c = v->name; *c; c++) {
      if (*c == '"' || *c == '\\') sb_put(&s, "\\", 1);
      if ((unsigned char)*c >= 0x20) sb_put(&s, c, 1);
    }
    sb_printf(&s, "\"\n#define %s_%s%d_DTYPE %u\n#define %s_%s%d_RANK %d\n", up, kind, idx,
              cg_qca_dtype(v->dtype), up, kind, idx, v->rank);
    sb_printf(&s, "#define %s_%s%d_DIMS {", up, kind, idx);
    dims_text(&s, v);
    sb_printf(&s, "}\n#define %s_%s%d_BYTES %lldull\n", up, kind, idx, (long long)cg_value_bytes(v));
  }
  sb_printf(&s, "\n#endif\n");
  if (s.oom) {
    free(s.d);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory building model.h");
  }
  *out = s.d;
  return QC_OK;
}

/* ---- manifest.json ------------------------------------------------------------------------- */

static void json_tensor(sbuf *s, const cg_artifact_in *a, int32_t v)
{
  const qc_value *val = &a->g->values[v];
  sb_put(s, "{\"name\": ", 9);
  sb_json_str(s, val->name);
  sb_printf(s, ", \"dtype\": \"%s\", \"shape\": [", qc_dtype_name(val->dtype));
  dims_text(s, val);
  sb_printf(s, "], \"bytes\": %lld, \"arena_offset\": %lld, \"scale\": %.9g}",
            (long long)a->p->bytes[v], (long long)a->p->off[v], (double)value_scale(val));
}

qc_status cg_manifest_build(const cg_artifact_in *a, const cg_file_info *files, int n_files,
                            char **out, qc_err *e)
{
  const qc_graph *g = a->g;
  const cg_program *p = a->p;
  sbuf s = {0};
  sb_printf(&s, "{\n  \"format\": 1,\n  \"target\": ");
  sb_json_str(&s, a->t->name);
  sb_printf(&s, ",\n  \"cpu\": ");
  sb_json_str(&s, a->t->cpu);
  sb_printf(&s, ",\n  \"features\": ");
  sb_json_str(&s, a->t->features);
  sb_printf(&s, ",\n  \"int8_path\": ");
  sb_json_str(&s, a->rep->int8_path);
  sb_printf(&s, ",\n  \"scheme\": ");
  sb_json_str(&s, a->o->scheme ? a->o->scheme : "");
  /* Only the base name of the source: no absolute paths in the artifact. */
  const char *src = a->o->source ? a->o->source : "";
  const char *slash = strrchr(src, '/');
  sb_printf(&s, ",\n  \"source\": ");
  sb_json_str(&s, slash ? slash + 1 : src);
  sb_printf(&s, ",\n  \"prefix\": ");
  sb_json_str(&s, a->prefix);
  sb_printf(&s, ",\n  \"inputs\": [");
  for (int32_t i = 0; i < g->n_inputs; i++) {
    sb_printf(&s, "%s\n    ", i ? "," : "");
    json_tensor(&s, a, g->inputs[i]);
  }
  sb_printf(&s, "\n  ],\n  \"outputs\": [");
  for (int32_t i = 0; i < g->n_outputs; i++) {
    sb_printf(&s, "%s\n    ", i ? "," : "");
    json_tensor(&s, a, g->outputs[i]);
  }
  sb_printf(&s, "\n  ],\n  \"arena_bytes\": %llu,\n  \"scratch_bytes\": %llu,\n"
                "  \"weights_bytes\": %llu,\n  \"files\": {",
            (unsigned long long)p->arena_bytes, (unsigned long long)a->rep->scratch_bytes,
            (unsigned long long)a->weights_bytes);
  for (int i = 0; i < n_files; i++)
    sb_printf(&s, "%s\n    \"%s\": {\"bytes\": %llu, \"crc32\": \"%08x\"}", i ? "," : "",
              files[i].name, (unsigned long long)files[i].bytes, files[i].crc);
  sb_printf(&s, "\n  },\n  \"layers\": [");
  uint64_t tm = 0, tb = 0, tw = 0;
  int nl = 0;
  for (int gi = 0; gi < p->n_groups; gi++) {
    const cg_group *gr = &p->groups[gi];
    if (gr->kind == CG_GROUP_ALIAS) continue;
    sb_printf(&s, "%s\n    {\"name\": ", nl++ ? "," : "");
    sb_json_str(&s, g->nodes[gr->nodes[0]].name);
    sb_printf(&s, ", \"op\": ");
    sb_json_str(&s, gr->op);
    sb_printf(&s, ", \"nodes\": [");
    for (int k = 0; k < gr->n_nodes; k++) {
      if (k) sb_put(&s, ", ", 2);
      sb_json_str(&s, g->nodes[gr->nodes[k]].name);
    }
    sb_printf(&s, "],\n     \"out\": ");
    json_tensor(&s, a, gr->out);
    uint64_t bops = gr->macs * (uint64_t)gr->weight_bits * (uint64_t)gr->act_bits;
    sb_printf(&s, ",\n     \"weight_bits\": %d, \"act_bits\": %d, \"weight_bytes\": %lld, "
                  "\"macs\": %llu, \"bops\": %llu, \"n_tasks\": %lld}",
              gr->weight_bits, gr->act_bits, (long long)gr->weight_bytes,
              (unsigned long long)gr->macs, (unsigned long long)bops, (long long)gr->n_tasks);
    tm += gr->macs, tb += bops, tw += (uint64_t)gr->weight_bytes;
  }
  sb_printf(&s, "\n  ],\n  \"totals\": {\"steps\": %d, \"kernels\": %d, \"macs\": %llu, "
                "\"bops\": %llu, \"weight_bytes\": %llu}\n}\n",
            nl, a->n_kernels, (unsigned long long)tm, (unsigned long long)tb,
            (unsigned long long)tw);
  if (s.oom) {
    free(s.d);
    return qc_err_set(e, QC_ERR_NOMEM, "out of memory building manifest.json");
  }
  *out = s.d;
  return QC_OK;
}

/* ---- files --------------------------------------------------------------------------------- */

qc_status cg_write_file(const char *dir, const char *name, const void *data, size_t len, qc_err *e)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
  FILE *f = fopen(tmp, "wb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
  bool ok = fwrite(data, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  if (!ok) {
    int err = errno;
    unlink(tmp);
    return qc_err_set(e, QC_ERR_IO, "cannot write '%s': %s", tmp, strerror(err));
  }
  return QC_OK;
}

qc_status cg_commit_files(const char *dir, const char *const *names, int n, qc_err *e)
{
  for (int i = 0; i < n; i++) {
    char tmp[4200], path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (rename(tmp, path) != 0)
      return qc_err_set(e, QC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  }
  return QC_OK;
}

void cg_discard_files(const char *dir, const char *const *names, int n)
{
  for (int i = 0; i < n; i++) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, names[i]);
    unlink(tmp);
  }
}

qc_status cg_link_shared(const char *dir, const char *linker, qc_err *e)
{
  const char *ld = linker && *linker ? linker : "cc";
  char so[4096], tmp[4200], obj[4200], log[4200];
  snprintf(so, sizeof so, "%s/model.so", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", so);
  snprintf(obj, sizeof obj, "%s/model.o.tmp", dir);
  snprintf(log, sizeof log, "%s/link.log", dir);
  /* No start files (nothing runs at load), libm for the activations' expf/tanhf, a build id
     that hashes the content (deterministic). */
  char *argv[] = {(char *)ld, "-shared", "-nostartfiles", "-Wl,--build-id=sha1",
                  "-Wl,-z,noexecstack", "-o", tmp, obj, "-lm", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, ld, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    unlink(log);
    return qc_err_set(e, QC_ERR_IO, "cannot run the linker '%s': %s", ld, strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      status = -1;
      break;
    }
  if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char msg[600] = "";
    FILE *f = fopen(log, "rb");
    if (f) {
      size_t n = fread(msg, 1, sizeof msg - 1, f);
      msg[n] = 0;
      fclose(f);
    }
    unlink(log);
    unlink(tmp);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
      return qc_err_set(e, QC_ERR_IO, "cannot run the linker '%s'", ld);
    return qc_err_set(e, QC_ERR_IO, "linking '%s' with '%s' failed: %s", so, ld, msg);
  }
  unlink(log);
  return QC_OK;
}
