/* The compiler driver: target, shape check, lowering, memory plan, emission, LLVM's optimiser,
 * the object, the shared library and the artifact's other files (codegen.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "cg_pipeline.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void qc_cg_host_cpu(char *cpu, size_t cpu_len, char *features, size_t features_len)
{
  char *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
  if (cpu_len) snprintf(cpu, cpu_len, "%s", c ? c : "");
  if (features_len) snprintf(features, features_len, "%s", f ? f : "");
  LLVMDisposeMessage(c);
  LLVMDisposeMessage(f);
}

static bool valid_prefix(const char *p)
{
  size_t n = strlen(p);
  if (n == 0 || n >= sizeof(((qca_header *)0)->prefix) - 12) return false;
  if (!(isalpha((unsigned char)p[0]) || p[0] == '_')) return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)p[i]) || p[i] == '_')) return false;
  return true;
}

/* Every value a kernel touches must have a known dtype and shape. */
static qc_status check_shapes(const qc_graph *g, qc_err *e)
{
  for (int32_t i = 0; i < g->n_nodes; i++) {
    const qc_node *n = &g->nodes[i];
    if (n->op == QC_OP_NONE) continue;
    for (int side = 0; side < 2; side++) {
      int32_t cnt = side ? n->n_out : n->n_in;
      const int32_t *ids = side ? n->out : n->in;
      for (int32_t k = 0; k < cnt; k++) {
        if (ids[k] < 0) continue;
        const qc_value *v = &g->values[ids[k]];
        bool ok = v->dtype != QC_DT_UNDEF && v->rank >= 0;
        for (int d = 0; ok && d < v->rank; d++) ok = v->dims[d] >= 0;
        if (!ok)
          return qc_err_set(e, QC_ERR_INVALID,
                            "value '%s' has an unknown dtype or dimension: compile needs every "
                            "shape known (give symbolic dims a value and run infer-shapes)",
                            v->name);
      }
    }
  }
  for (int32_t i = 0; i < g->n_inputs + g->n_outputs; i++) {
    const qc_value *v = &g->values[i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs]];
    bool ok = v->dtype != QC_DT_UNDEF && v->rank >= 0;
    for (int d = 0; ok && d < v->rank; d++) ok = v->dims[d] >= 0;
    if (!ok)
      return qc_err_set(e, QC_ERR_INVALID,
                        "value '%s' has an unknown dtype or dimension: compile needs every "
                        "shape known (give symbolic dims a value and run infer-shapes)",
                        v->name);
    if (!cg_qca_dtype(v->dtype))
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "%s '%s' has dtype %s, which an artifact cannot carry",
                        i < g->n_inputs ? "input" : "output", v->name, qc_dtype_name(v->dtype));
    if (v->rank > QCA_MAX_RANK)
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "value '%s' has rank %d", v->name, v->rank);
  }
  return QC_OK;
}

static void fill_buf(const qc_graph *g, const cg_program *p, int32_t v, cg_buf *b)
{
  memset(b, 0, sizeof *b);
  b->off = -1;
  if (v < 0) return;
  const qc_value *val = &g->values[v];
  b->off = (val->flags & QC_VAL_CONST) ? -1 : p->off[v];
  b->dt = val->dtype;
  b->rank = val->rank;
  for (int d = 0; d < val->rank && d < QC_MAX_RANK; d++) b->dims[d] = val->dims[d];
  b->scale = val->q && val->q->n >= 1 && val->q->scale ? val->q->scale[0] : 0.0f;
}

static qc_status emit_all(const qc_graph *g, cg_program *p, cg_module *m, LLVMValueRef *fns,
                          int *n_fns, qc_err *e)
{
  *n_fns = 0;
  for (int s = 0; s < p->n_groups; s++) {
    cg_group *gr = &p->groups[s];
    if (gr->kind == CG_GROUP_ALIAS) continue;
    cg_kernel k;
    memset(&k, 0, sizeof k);
    qc_status st;
    if (gr->kind == CG_GROUP_CONV) {
      st = cg_emit_conv(m, &gr->spec, &k, e);
    } else {
      const qc_node *nd = &g->nodes[gr->nodes[0]];
      cg_buf in[CG_MAX_NODE_INPUTS], out[1];
      if (!cg_qca_dtype(g->values[gr->out].dtype))
        return qc_node_err(e, nd, QC_ERR_UNSUPPORTED, "not supported by compile (dtype %s)",
                           qc_dtype_name(g->values[gr->out].dtype));
      if (nd->n_in > CG_MAX_NODE_INPUTS)
        return qc_node_err(e, nd, QC_ERR_UNSUPPORTED, "not supported by compile (%d inputs)",
                           (int)nd->n_in);
      for (int i = 0; i < nd->n_in; i++) fill_buf(g, p, nd->in[i], &in[i]);
      fill_buf(g, p, gr->out, &out[0]);
      st = cg_emit_node(m, g, nd, in, nd->n_in, out, 1, &k, e);
    }
    if (st) return st;
    if (!k.fn || k.n_tasks < 1)
      return qc_err_set(e, QC_ERR_INTERNAL, "step '%s' produced no kernel", g->nodes[gr->nodes[0]].name);
    gr->kernel = *n_fns;
    gr->n_tasks = k.n_tasks;
    gr->scratch_bytes = k.scratch_bytes;
    gr->macs = k.macs;
    fns[(*n_fns)++] = k.fn;
  }
  return QC_OK;
}

static LLVMValueRef add_global(cg_module *m, const char *prefix, const char *suffix,
                               LLVMTypeRef t, LLVMValueRef init)
{
  char name[96];
  snprintf(name, sizeof name, "%s%s", prefix, suffix);
  LLVMValueRef gv = LLVMAddGlobal(m->mod, t, name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMExternalLinkage);
  LLVMSetVisibility(gv, LLVMDefaultVisibility);
  return gv;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
  const uint8_t *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static qc_status make_dir(const char *dir, qc_err *e)
{
  if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return QC_OK;
  }
  return qc_err_set(e, QC_ERR_IO, "cannot create directory '%s': %s", dir, strerror(errno));
}

static qc_status compile_in(const qc_graph *g, const qc_cg_options *o, const char *dir,
                            qc_cg_report *rep, cg_target *t, cg_program *p, cg_module *m,
                            qc_err *e)
{
  const char *prefix = o->prefix ? o->prefix : "qc_model";
  double t_start = now_s();
  qc_status st;
  if ((st = check_shapes(g, e)) || (st = cg_lower(g, p, e)) || (st = cg_plan(g, p, e)) ||
      (st = cg_plan_check(g, p, e)))
    return st;
  if ((st = cg_module_init(m, t, "quantc", e))) return st;
  LLVMValueRef *fns = qc_arena_alloc(p->arena, (size_t)(p->n_groups + 1) * sizeof *fns);
  if (!fns) return qc_err_set(e, QC_ERR_NOMEM, "out of memory");
  int n_fns = 0;
  if ((st = emit_all(g, p, m, fns, &n_fns, e))) return st;
  /* The exported table and count; the hash is added after optimisation. */
  LLVMTypeRef fp = LLVMPointerType(m->kernel_ty, 0);
  LLVMTypeRef arr = LLVMArrayType(fp, (unsigned)n_fns);
  add_global(m, prefix, "_kernels", arr, LLVMConstArray(fp, fns, (unsigned)n_fns));
  add_global(m, prefix, "_n_kernels", m->i32, cg_i32c(m, n_fns));
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    qc_err_set(e, QC_ERR_INTERNAL, "LLVM module does not verify: %.800s", msg ? msg : "");
    LLVMDisposeMessage(msg);
    return QC_ERR_INTERNAL;
  }
  LLVMDisposeMessage(msg);
  double t_lowered = now_s();
  int lvl = o->opt_level < 0 || o->opt_level > 3 ? 3 : o->opt_level;
  char passes[32];
  snprintf(passes, sizeof passes, "default<O%d>", lvl);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(po, lvl >= 2);
  LLVMPassBuilderOptionsSetSLPVectorization(po, lvl >= 2);
  LLVMErrorRef err = LLVMRunPasses(m->mod, passes, t->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (err) {
    char *em = LLVMGetErrorMessage(err);
    qc_err_set(e, QC_ERR_INTERNAL, "LLVM optimiser failed: %s", em);
    LLVMDisposeErrorMessage(em);
    return QC_ERR_INTERNAL;
  }
  /* code_hash: FNV-1a 64 of the optimised IR (without the hash) and the weights. */
  char *ir = LLVMPrintModuleToString(m->mod);
  uint64_t h = fnv1a(0xcbf29ce484222325ull, ir, strlen(ir));
  LLVMDisposeMessage(ir);
  h = fnv1a(h, m->weights.data ? (const void *)m->weights.data : "", m->weights.len);
  add_global(m, prefix, "_code_hash", m->i64, cg_i64c(m, (int64_t)h));
  LLVMMemoryBufferRef obj = NULL;
  char *emsg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(t->tm, m->mod, LLVMObjectFile, &emsg, &obj)) {
    qc_err_set(e, QC_ERR_INTERNAL, "LLVM code generation failed: %s", emsg ? emsg : "");
    LLVMDisposeMessage(emsg);
    return QC_ERR_INTERNAL;
  }
  double t_llvm = now_s();
  /* Report. */
  memset(rep, 0, sizeof *rep);
  snprintf(rep->target, sizeof rep->target, "%s", t->name);
  snprintf(rep->cpu, sizeof rep->cpu, "%s", t->cpu);
  snprintf(rep->features, sizeof rep->features, "%s", t->features);
  snprintf(rep->int8_path, sizeof rep->int8_path, "%s", t->i8_name ? t->i8_name : "scalar");
  for (int s = 0; s < p->n_groups; s++) {
    const cg_group *gr = &p->groups[s];
    if (gr->kind == CG_GROUP_ALIAS) continue;
    rep->n_steps++;
    uint64_t sb = (uint64_t)(gr->scratch_bytes + QCA_ALIGN - 1) / QCA_ALIGN * QCA_ALIGN;
    if (sb > rep->scratch_bytes) rep->scratch_bytes = sb;
  }
  rep->n_kernels = n_fns;
  rep->arena_bytes = p->arena_bytes;
  rep->weights_bytes = m->weights.len;
  rep->seconds_lower = t_lowered - t_start;
  rep->seconds_llvm = t_llvm - t_lowered;
  /* Files: model.o, weights.bin, model.h, model.so, manifest.json (last, with the others' CRCs). */
  cg_artifact_in a = {g, p, o, rep, prefix, t, m->weights.data, m->weights.len, h, n_fns};
  uint8_t *blob = NULL;
  char *hdr = NULL, *man = NULL;
  cg_file_info files[4];
  static const char *const names[5] = {"model.o", "weights.bin", "model.h", "model.so",
                                       "manifest.json"};
  if ((st = make_dir(dir, e))) goto out;
  const void *od = LLVMGetBufferStart(obj);
  size_t ol = LLVMGetBufferSize(obj);
  files[1] = (cg_file_info){"model.o", ol, cg_crc32(0, od, ol)};
  if ((st = cg_write_file(dir, "model.o", od, ol, e))) goto out;
  size_t bl = 0;
  if ((st = cg_blob_build(&a, &blob, &bl, e))) goto out;
  files[3] = (cg_file_info){"weights.bin", bl, cg_crc32(0, blob, bl)};
  if ((st = cg_write_file(dir, "weights.bin", blob, bl, e))) goto out;
  if ((st = cg_header_build(&a, &hdr, e))) goto out;
  files[2] = (cg_file_info){"model.h", strlen(hdr), cg_crc32(0, hdr, strlen(hdr))};
  if ((st = cg_write_file(dir, "model.h", hdr, strlen(hdr), e))) goto out;
  double t_link = now_s();
  const char *linker = o->linker ? o->linker : strcmp(t->name, "aarch64") ? "cc" : "aarch64-linux-gnu-gcc";
  if ((st = cg_link_shared(dir, linker, e))) goto out;
  rep->seconds_link = now_s() - t_link;
  {
    char path[4096];
    snprintf(path, sizeof path, "%s/model.so.tmp", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
      st = qc_err_set(e, QC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
      goto out;
    }
    uint8_t buf[65536];
    uint32_t crc = 0;
    uint64_t n = 0;
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) crc = cg_crc32(crc, buf, r), n += r;
    fclose(f);
    files[0] = (cg_file_info){"model.so", n, crc};
  }
  if ((st = cg_manifest_build(&a, files, 4, &man, e))) goto out;
  if ((st = cg_write_file(dir, "manifest.json", man, strlen(man), e))) goto out;
  st = cg_commit_files(dir, names, 5, e);
out:
  if (st) cg_discard_files(dir, names, 5);
  free(blob);
  free(hdr);
  free(man);
  LLVMDisposeMemoryBuffer(obj);
  return st;
}

qc_status qc_compile(const qc_graph *g, const qc_cg_options *opts, const char *out_dir,
                     qc_cg_report *rep, qc_err *e)
{
  qc_cg_options o0;
  memset(&o0, 0, sizeof o0);
  const qc_cg_options *o = opts ? opts : &o0;
  qc_cg_report rep0;
  if (!rep) rep = &rep0;
  if (!g || !out_dir) return qc_err_set(e, QC_ERR_USAGE, "compile needs a graph and an output directory");
  if (o->prefix && !valid_prefix(o->prefix))
    return qc_err_set(e, QC_ERR_USAGE, "prefix '%s' is not a C identifier of at most 19 characters",
                      o->prefix);
  const char *tn = o->target ? o->target : "x86-64";
  cg_target t;
  memset(&t, 0, sizeof t);
  qc_status st;
  if (!strcmp(tn, "x86-64") || !strcmp(tn, "x86_64"))
    st = cg_target_x86_64(o->cpu, o->features, o->opt_level, &t, e);
  else if (!strcmp(tn, "aarch64") || !strcmp(tn, "arm64"))
    st = cg_target_aarch64(o->cpu, o->features, o->opt_level, &t, e);
  else
    return qc_err_set(e, QC_ERR_USAGE, "unknown target '%s' (x86-64 or aarch64)", tn);
  if (st) {
    cg_target_dispose(&t);
    return st;
  }
  cg_program p;
  memset(&p, 0, sizeof p);
  cg_module m;
  memset(&m, 0, sizeof m);
  p.arena = qc_arena_new();
  if (!p.arena) st = qc_err_set(e, QC_ERR_NOMEM, "out of memory");
  else st = compile_in(g, o, out_dir, rep, &t, &p, &m, e);
  cg_module_dispose(&m);
  qc_arena_free(p.arena);
  cg_target_dispose(&t);
  return st;
}
