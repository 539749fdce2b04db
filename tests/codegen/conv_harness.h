/* Harness of the conv/GEMM kernel tests (tests/codegen/test_conv_*.c): random cg_conv_specs,
 * kernels emitted into one module per batch, compiled by the target machine to an object,
 * linked with `cc -shared` and dlopen'ed; every kernel runs with its tasks split in two and is
 * compared with the interpreter running the same one-node graph (QcConv / QcGemm / Conv / Gemm,
 * then QcAdd for a fused residual). */
#ifndef QC_CONV_HARNESS_H
#define QC_CONV_HARNESS_H

#include <dlfcn.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <unistd.h>

#include "../codegen/cg.h"
#include "interp/test_int.h"

typedef struct {
  cg_conv_spec s;
  bool is_gemm;
  int64_t pads[4];
  int64_t arena_bytes;
  void *x, *w, *b, *res;
  int32_t *mult, *shift;
  /* reference output: out_dt elements */
  void *want;
  int64_t y_elems;
  cg_kernel k;
  char fname[32];
} hcase;

static inline qc_dtype h_narrow(int64_t lo, int64_t hi)
{
  if (lo >= 0 && hi <= 255) return QC_DT_U8;
  if (lo >= -128 && hi <= 127) return QC_DT_I8;
  if (lo >= INT16_MIN && hi <= INT16_MAX) return QC_DT_I16;
  return QC_DT_I32;
}

static inline int h_bytes(qc_dtype t)
{
  return t == QC_DT_U8 || t == QC_DT_I8 ? 1 : t == QC_DT_I16 || t == QC_DT_U16 ? 2 : 4;
}

static inline float h_frand(void) { return (float)((double)rnd_in(-1000000, 1000000) / 1000000.0); }

static inline int64_t h_al(int64_t v) { return (v + 63) & ~(int64_t)63; }

/* Fills a random case. kind: 0 any conv, 1 depthwise, 2 1x1, 3 gemm. */
static inline void h_random(hcase *c, int kind, bool is_int)
{
  memset(c, 0, sizeof *c);
  cg_conv_spec *s = &c->s;
  s->name = "conv";
  s->n = rnd_in(1, 2);
  if (kind == 3) {
    c->is_gemm = true;
    s->n = rnd_in(0, 3) ? rnd_in(1, 7) : rnd_in(8, 40);
    s->c_in = rnd_in(1, 70);
    s->c_out = rnd_in(1, 45);
    s->h = s->w = s->oh = s->ow = s->kh = s->kw = 1;
    s->stride_h = s->stride_w = s->dil_h = s->dil_w = s->group = 1;
  } else {
    int64_t g = kind == 1 ? rnd_in(1, 12) : rnd_in(0, 2) ? 1 : rnd_in(2, 3);
    int64_t cin_g = kind == 1 ? 1 : rnd_in(1, 9), cout_g = kind == 1 ? rnd_in(1, 2) : rnd_in(1, 15);
    s->group = g;
    s->c_in = g * cin_g;
    s->c_out = g * cout_g;
    s->h = rnd_in(1, 12);
    s->w = rnd_in(1, 12);
    if (kind == 2) {
      s->kh = s->kw = s->stride_h = s->stride_w = s->dil_h = s->dil_w = 1;
    } else {
      s->kh = rnd_in(1, 4), s->kw = rnd_in(1, 4);
      s->stride_h = rnd_in(1, 3), s->stride_w = rnd_in(1, 3);
      s->dil_h = rnd_in(1, 2), s->dil_w = rnd_in(1, 2);
      for (int i = 0; i < 4; i++) c->pads[i] = rnd_in(0, 2);
    }
    int64_t ekh = (s->kh - 1) * s->dil_h + 1, ekw = (s->kw - 1) * s->dil_w + 1;
    while (s->h + c->pads[0] + c->pads[2] < ekh) s->h++;
    while (s->w + c->pads[1] + c->pads[3] < ekw) s->w++;
    s->oh = (s->h + c->pads[0] + c->pads[2] - ekh) / s->stride_h + 1;
    s->ow = (s->w + c->pads[1] + c->pads[3] - ekw) / s->stride_w + 1;
    s->pad_t = c->pads[0], s->pad_l = c->pads[1];
  }
  int64_t nx = s->n * s->c_in * s->h * s->w, K = s->c_in / s->group * s->kh * s->kw;
  int64_t nw = s->c_out * K, ny = s->n * s->c_out * s->oh * s->ow;
  c->y_elems = ny;
  bool bias = rnd_in(0, 3) != 0;
  s->has_res = rnd_in(0, 2) == 0;
  if (!is_int) {
    s->x_dt = s->w_dt = s->y_dt = s->out_dt = QC_DT_F32;
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *b = malloc((size_t)s->c_out * 4);
    for (int64_t i = 0; i < nx; i++) x[i] = h_frand();
    for (int64_t i = 0; i < nw; i++) w[i] = h_frand();
    for (int64_t i = 0; i < s->c_out; i++) b[i] = h_frand();
    c->x = x, c->w = w, c->b = b;
    s->bias = bias ? b : NULL;
    int clampk = (int)rnd_in(0, 2);
    s->lo = clampk ? 0.0f : -INFINITY;
    s->hi = clampk == 2 ? 0.5f : INFINITY;
    if (s->has_res) {
      s->res_dt = QC_DT_F32;
      float *r = malloc((size_t)ny * 4);
      for (int64_t i = 0; i < ny; i++) r[i] = h_frand();
      c->res = r;
    }
  } else {
    s->x_dt = rnd_in(0, 1) ? QC_DT_U8 : QC_DT_I8;
    s->w_dt = rnd_in(0, 2) ? QC_DT_I8 : QC_DT_I4;
    uint8_t *x = malloc((size_t)nx), *w = calloc((size_t)nw + 2, 1);
    int32_t *b = malloc((size_t)s->c_out * 4);
    for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd_in(0, 255);
    for (int64_t i = 0; i < nw; i++) {
      if (s->w_dt == QC_DT_I4) qc_i4_set(w, i, (int32_t)rnd_in(-8, 7));
      else w[i] = (uint8_t)rnd_in(0, 255);
    }
    c->mult = malloc((size_t)s->c_out * 4), c->shift = malloc((size_t)s->c_out * 4);
    int yk = (int)rnd_in(0, 4);
    static const int64_t ranges[5][2] = {{0, 255}, {-128, 127}, {0, 15}, {-3000, 3000}, {-100000, 100000}};
    s->qmin = (int32_t)ranges[yk][0], s->qmax = (int32_t)ranges[yk][1];
    s->y_dt = h_narrow(s->qmin, s->qmax);
    for (int64_t i = 0; i < s->c_out; i++) {
      b[i] = (int32_t)rnd_in(-30000, 30000);
      c->mult[i] = (int32_t)rnd_in((int64_t)1 << 30, ((int64_t)1 << 31) - 1);
      c->shift[i] = (int32_t)(yk >= 3 ? rnd_in(28, 34) : rnd_in(31, 39));
    }
    c->x = x, c->w = w, c->b = b;
    s->bias = bias ? b : NULL;
    s->mult = c->mult, s->shift = c->shift;
    s->out_dt = s->y_dt;
    if (s->has_res) {
      static const qc_dtype rts[] = {QC_DT_U8, QC_DT_I8, QC_DT_I16, QC_DT_I32};
      s->res_dt = rts[rnd_in(0, 3)];
      int rb = h_bytes(s->res_dt);
      uint8_t *r = malloc((size_t)(ny * rb));
      for (int64_t i = 0; i < ny; i++) {
        int64_t v = s->res_dt == QC_DT_U8 ? rnd_in(0, 255) : s->res_dt == QC_DT_I8 ? rnd_in(-128, 127)
                  : s->res_dt == QC_DT_I16 ? rnd_in(-30000, 30000) : rnd_in(-1000000, 1000000);
        if (rb == 1) r[i] = (uint8_t)v;
        else if (rb == 2) ((int16_t *)r)[i] = (int16_t)v;
        else ((int32_t *)r)[i] = (int32_t)v;
      }
      c->res = r;
      for (int i = 0; i < 2; i++) {
        s->rmult[i] = (int32_t)rnd_in((int64_t)1 << 30, ((int64_t)1 << 31) - 1);
        s->rshift[i] = (int32_t)rnd_in(30, 33);
      }
      int rk = (int)rnd_in(0, 3);
      s->rqmin = (int32_t)ranges[rk][0], s->rqmax = (int32_t)ranges[rk][1];
      s->out_dt = h_narrow(s->rqmin, s->rqmax);
    }
  }
  s->wt = c->w;
  /* arena: x | res | y, each 64-aligned, plus slack that must stay untouched */
  int xb = s->x_dt == QC_DT_F32 ? 4 : 1;
  s->x_off = 64;
  s->res_off = h_al(s->x_off + nx * xb);
  s->y_off = h_al(s->res_off + (s->has_res ? ny * h_bytes(s->res_dt) : 0));
  c->arena_bytes = h_al(s->y_off + ny * h_bytes(s->out_dt)) + 64;
}

static inline void h_free(hcase *c)
{
  free(c->x), free(c->w), free(c->b), free(c->res), free(c->mult), free(c->shift), free(c->want);
}

/* Runs the interpreter on the case; c->want gets the stored output. */
static inline bool h_reference(hcase *c)
{
  cg_conv_spec *s = &c->s;
  bool is_int = s->x_dt != QC_DT_F32;
  int64_t K = s->c_in / s->group * s->kh * s->kw;
  tnode t = mk(c->is_gemm ? (is_int ? QC_OP_QcGemm : QC_OP_Gemm) : (is_int ? QC_OP_QcConv : QC_OP_Conv),
               s->bias ? 3 : 2, 1);
  int64_t mult64[256], shift64[256];
  if (is_int) {
    for (int64_t i = 0; i < s->c_out; i++) mult64[i] = s->mult[i], shift64[i] = s->shift[i];
    attr_rq(&t, (int)s->c_out, mult64, shift64, s->qmin, s->qmax);
  }
  qc_tensor in[3];
  if (c->is_gemm) {
    if (!is_int) attr_i(&t, "transB", 1);
    in[0] = tens(s->x_dt, 2, I64(s->n, s->c_in), c->x);
    in[1] = tens(s->w_dt, 2, I64(s->c_out, s->c_in), c->w);
  } else {
    attr_i(&t, "group", s->group);
    attr_ints(&t, "kernel_shape", 2, I64(s->kh, s->kw));
    attr_ints(&t, "strides", 2, I64(s->stride_h, s->stride_w));
    attr_ints(&t, "dilations", 2, I64(s->dil_h, s->dil_w));
    attr_ints(&t, "pads", 4, c->pads);
    in[0] = tens(s->x_dt, 4, I64(s->n, s->c_in, s->h, s->w), c->x);
    in[1] = tens(s->w_dt, 4, I64(s->c_out, s->c_in / s->group, s->kh, s->kw), c->w);
  }
  in[2] = tens(is_int ? QC_DT_I32 : QC_DT_F32, 1, I64(s->c_out), c->b);
  (void)K;
  qc_tensor y[1];
  qc_err e = {0};
  qc_status st = run(&t, in, s->bias ? 3 : 2, y, 1, 0, &e);
  done(&t);
  if (st != QC_OK) {
    printf("\nreference failed: %s\n", e.msg);
    return false;
  }
  if (qc_tensor_elems(&y[0]) != c->y_elems || y[0].dtype != s->y_dt) {
    printf("\nreference shape/dtype mismatch\n");
    free_outs(y, 1);
    return false;
  }
  if (!s->has_res) {
    c->want = y[0].data;
    if (!is_int) {
      float *f = c->want;
      for (int64_t i = 0; i < c->y_elems; i++) {
        float v = f[i];
        v = v < s->lo ? s->lo : v;
        f[i] = v > s->hi ? s->hi : v;
      }
    }
    return true;
  }
  if (!is_int) {
    float *f = y[0].data;
    const float *r = c->res;
    for (int64_t i = 0; i < c->y_elems; i++) {
      float v = f[i] + r[i];
      v = v < s->lo ? s->lo : v;
      f[i] = v > s->hi ? s->hi : v;
    }
    c->want = f;
    return true;
  }
  tnode a = mk(QC_OP_QcAdd, 2, 1);
  attr_rq(&a, 2, I64(s->rmult[0], s->rmult[1]), I64(s->rshift[0], s->rshift[1]), s->rqmin, s->rqmax);
  qc_tensor ain[2] = {y[0], tens(s->res_dt, 1, &c->y_elems, c->res)};
  ain[0].rank = 1;
  ain[0].dims[0] = c->y_elems;
  qc_tensor z[1];
  st = run(&a, ain, 2, z, 1, 0, &e);
  done(&a);
  free_outs(y, 1);
  if (st != QC_OK) {
    printf("\nQcAdd reference failed: %s\n", e.msg);
    return false;
  }
  c->want = z[0].data;
  return z[0].dtype == s->out_dt;
}

typedef struct {
  void *so;
  char dir[64];
} hlib;

/* Optimises m at O3, writes an object, links it and loads the kernels named by cases. */
static inline bool h_build(cg_module *m, hcase *cs, int n, hlib *lib)
{
  for (int i = 0; i < n; i++) {
    snprintf(cs[i].fname, sizeof cs[i].fname, "case_%d", i);
    LLVMSetValueName2(cs[i].k.fn, cs[i].fname, strlen(cs[i].fname));
    LLVMSetLinkage(cs[i].k.fn, LLVMExternalLinkage);
  }
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
    printf("\ninvalid module: %.2000s\n", msg);
    LLVMDisposeMessage(msg);
    return false;
  }
  LLVMDisposeMessage(msg);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(m->mod, "default<O3>", m->t->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (err) {
    char *em = LLVMGetErrorMessage(err);
    printf("\npasses failed: %s\n", em);
    LLVMDisposeErrorMessage(em);
    return false;
  }
  snprintf(lib->dir, sizeof lib->dir, "/tmp/qc_conv_XXXXXX");
  if (!mkdtemp(lib->dir)) return false;
  char obj[128], so[128], cmd[400];
  snprintf(obj, sizeof obj, "%s/k.o", lib->dir);
  snprintf(so, sizeof so, "%s/k.so", lib->dir);
  if (LLVMTargetMachineEmitToFile(m->t->tm, m->mod, obj, LLVMObjectFile, &msg)) {
    printf("\nemit failed: %s\n", msg);
    LLVMDisposeMessage(msg);
    return false;
  }
  snprintf(cmd, sizeof cmd, "cc -shared -o %s %s", so, obj);
  if (system(cmd) != 0) return false;
  lib->so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!lib->so) printf("\ndlopen: %s\n", dlerror());
  return lib->so != NULL;
}

static inline void h_unload(hlib *lib)
{
  char p[128];
  if (lib->so) dlclose(lib->so);
  snprintf(p, sizeof p, "%s/k.o", lib->dir), unlink(p);
  snprintf(p, sizeof p, "%s/k.so", lib->dir), unlink(p);
  rmdir(lib->dir);
}

typedef void (*h_fn)(uint8_t *, const uint8_t *, uint8_t *, int64_t, int64_t);

/* Runs case c's kernel with tasks [0, a) and [a, n) on separate garbage scratch; compares. */
static inline bool h_run_check(hcase *c, hlib *lib, const uint8_t *weights, const char *label)
{
  cg_conv_spec *s = &c->s;
  h_fn fn = (h_fn)dlsym(lib->so, c->fname);
  if (!fn) return false;
  uint8_t *arena = aligned_alloc(64, (size_t)c->arena_bytes);
  memset(arena, 0xa7, (size_t)c->arena_bytes);
  int64_t nx = s->n * s->c_in * s->h * s->w;
  memcpy(arena + s->x_off, c->x, (size_t)(nx * (s->x_dt == QC_DT_F32 ? 4 : 1)));
  if (s->has_res) memcpy(arena + s->res_off, c->res, (size_t)(c->y_elems * h_bytes(s->res_dt)));
  size_t sb = (size_t)h_al(c->k.scratch_bytes > 0 ? c->k.scratch_bytes : 64);
  uint8_t *s1 = aligned_alloc(64, sb), *s2 = aligned_alloc(64, sb);
  memset(s1, 0x5c, sb), memset(s2, 0xc5, sb);
  int64_t nt = c->k.n_tasks, a = (int64_t)rnd_in(0, nt);
  fn(arena, weights, s1, 0, a);
  fn(arena, weights, s2, a, nt);
  bool ok = true;
  int ob = h_bytes(s->out_dt);
  const uint8_t *got = arena + s->y_off;
  for (int64_t i = 0; i < c->y_elems && ok; i++) {
    if (s->out_dt == QC_DT_F32) {
      float g = ((const float *)got)[i], w = ((const float *)c->want)[i];
      if (!(fabsf(g - w) <= 1e-4f * (1.0f + fabsf(w)))) ok = false;
    } else if (memcmp(got + i * ob, (const uint8_t *)c->want + i * ob, (size_t)ob)) {
      ok = false;
    }
    if (!ok)
      printf("\n%s: %s n=%lld cin=%lld h=%lld w=%lld cout=%lld k=%lldx%lld s=%lldx%lld d=%lldx%lld "
             "pads=%lld,%lld,%lld,%lld g=%lld x=%s w=%s y=%s out=%s bias=%d res=%d(%s) tasks=%lld "
             "split=%lld: element %lld differs\n",
             label, c->is_gemm ? "gemm" : "conv", (long long)s->n, (long long)s->c_in, (long long)s->h,
             (long long)s->w, (long long)s->c_out, (long long)s->kh, (long long)s->kw,
             (long long)s->stride_h, (long long)s->stride_w, (long long)s->dil_h, (long long)s->dil_w,
             (long long)c->pads[0], (long long)c->pads[1], (long long)c->pads[2], (long long)c->pads[3],
             (long long)s->group, qc_dtype_name(s->x_dt), qc_dtype_name(s->w_dt), qc_dtype_name(s->y_dt),
             qc_dtype_name(s->out_dt), s->bias != NULL, s->has_res,
             s->has_res ? qc_dtype_name(s->res_dt) : "-", (long long)nt, (long long)a, (long long)i);
  }
  /* bytes outside y (and x, res) are untouched */
  for (int64_t i = 0; i < 64 && ok; i++)
    if (arena[i] != 0xa7 || arena[c->arena_bytes - 1 - i] != 0xa7) {
      printf("\n%s: kernel wrote outside its output\n", label);
      ok = false;
    }
  free(arena), free(s1), free(s2);
  return ok;
}

/* n random cases (kinds cycling) on target (cpu, features), in batches of one module each.
   Returns the number of failures. */
/* force >= 0: use that int8 path's layouts with generic IR (cg_target.generic_dot), so the
   vpdpbusd / sdot packing and compensation run on this host. */
static inline int h_random_batch_path(const char *cpu, const char *features, int force, int n,
                                      bool is_int, const char *label)
{
  cg_target t;
  qc_err e = {0};
  if (cg_target_x86_64(cpu, features, 3, &t, &e) != QC_OK) {
    printf("\ntarget: %s\n", e.msg);
    return n;
  }
  if (force >= 0) t.i8 = (cg_i8_path)force, t.generic_dot = true;
  int fails = 0;
  const int B = 25;
  for (int b0 = 0; b0 < n; b0 += B) {
    int nb = n - b0 < B ? n - b0 : B;
    hcase cs[25];
    cg_module m;
    CU_ASSERT_EQUAL_FATAL(cg_module_init(&m, &t, "conv_test", &e), QC_OK);
    for (int i = 0; i < nb; i++) {
      h_random(&cs[i], (b0 + i) % 4, is_int);
      if (cg_emit_conv(&m, &cs[i].s, &cs[i].k, &e) != QC_OK) {
        printf("\n%s: emit failed: %s\n", label, e.msg);
        fails++;
        cs[i].k.fn = NULL;
      }
    }
    hlib lib = {0};
    int nok = 0;
    for (int i = 0; i < nb; i++) nok += cs[i].k.fn != NULL;
    if (nok == nb && h_build(&m, cs, nb, &lib)) {
      uint8_t *wts = aligned_alloc(64, h_al((int64_t)m.weights.len + 64));
      memcpy(wts, m.weights.data, m.weights.len);
      for (int i = 0; i < nb; i++)
        if (!h_reference(&cs[i]) || !h_run_check(&cs[i], &lib, wts, label)) fails++;
      free(wts);
      h_unload(&lib);
    } else {
      fails += nb;
    }
    for (int i = 0; i < nb; i++) h_free(&cs[i]);
    cg_module_dispose(&m);
  }
  cg_target_dispose(&t);
  return fails;
}

static inline int h_random_batch(const char *cpu, const char *features, int n, bool is_int,
                                 const char *label)
{
  return h_random_batch_path(cpu, features, -1, n, is_int, label);
}

#endif
