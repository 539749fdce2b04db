/* codegen/ internals: the module being built, targets, the weights section, and the emitters'
 * specs. Not installed; tools/ uses codegen.h only.
 *
 * Every kernel has the ABI of runtime/qc_artifact.h:
 *   void k(i8* arena, i8* weights, i8* scratch, i64 t0, i64 t1)
 * All shapes, arena offsets and weight offsets are compile-time constants inside the kernel;
 * the kernel does tasks [t0, t1) of its n_tasks (tasks never write the same bytes). Layout is
 * NCHW row-major dense, exactly as the interpreter's tensors. */
#ifndef QC_CG_H
#define QC_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "../runtime/qc_artifact.h"
#include "ir.h"

/* ---- targets (one file each: target_x86.c, target_aarch64.c) ---------------------------- */

typedef enum {
  CG_I8_SCALAR,      /* portable LLVM vector code, no dot-product instruction */
  CG_I8_AVX2_S16,    /* x86: int16 operands, vpmaddwd pair sums (exact, no u8*s8 saturation) */
  CG_I8_AVX_VNNI,    /* x86: vpdpbusd on ymm (AVX-VNNI) */
  CG_I8_AVX512_VNNI, /* x86: vpdpbusd on zmm (AVX-512 VNNI) */
  CG_I8_NEON_SDOT,   /* aarch64: sdot (FEAT_DotProd) */
  CG_I8_NEON,        /* aarch64 without dot products: smull/sadalp style widening */
} cg_i8_path;

typedef struct cg_target {
  const char *name;        /* "x86-64" / "aarch64" */
  const char *triple;      /* "x86_64-pc-linux-gnu" / "aarch64-unknown-linux-gnu" */
  char cpu[64];            /* resolved: "native" replaced by the host's name */
  char features[1024];     /* resolved LLVM feature string */
  int f32_lanes;           /* float lanes of the widest vector the kernels use (4, 8 or 16) */
  int vec_bytes;           /* 16, 32 or 64 */
  cg_i8_path i8;           /* chosen from cpu + features */
  const char *i8_name;     /* "avx2-s16", "avx-vnni", "avx512-vnni", "neon-sdot", "neon", "scalar" */
  LLVMTargetMachineRef tm; /* owned; PIC, opt level as asked */
  bool generic_dot;        /* tests: the i8 path's layouts with generic IR instead of its
                              dot-product instruction (runs vpdpbusd/sdot layouts on any host) */
} cg_target;

/* cpu NULL/"native" = host (x86-64 only); features may be NULL. The target machine is created
   with LLVMRelocPIC and LLVMCodeModelDefault. */
qc_status cg_target_x86_64(const char *cpu, const char *features, int opt_level, cg_target *t,
                           qc_err *e);
qc_status cg_target_aarch64(const char *cpu, const char *features, int opt_level, cg_target *t,
                            qc_err *e);
void cg_target_dispose(cg_target *t);

/* Feature resolution shared by the target files: each row is one LLVM feature and the mask of
   every feature it implies (itself included, transitively). Applying "+x" sets x's mask, "-x"
   clears x and every feature whose mask contains x (LLVM's own implication rule). Returns the
   set reached from base after the comma-separated list (NULL or "" = none); items without a
   leading '+'/'-' are QC_ERR_INVALID. */
typedef struct {
  const char *name;
  uint32_t implies;
} cg_feature;
qc_status cg_features_resolve(const cg_feature *tab, int n, uint32_t base, const char *features,
                              uint32_t *out, qc_err *e);
/* opt_level 0..3 (< 0 or > 3: 3) as LLVM's code generation level. */
LLVMCodeGenOptLevel cg_opt_level(int opt_level);

/* ---- the module (cg_module.c) ------------------------------------------------------------ */

typedef struct {
  uint8_t *data;
  size_t len, cap;
} cg_bytes;

typedef struct cg_module {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  const cg_target *t;
  cg_bytes weights;        /* the weights section being built; offsets are from its start */
  LLVMTypeRef i1, i8, i16, i32, i64, f32, ptr; /* ptr = i8* in address space 0 */
  LLVMTypeRef kernel_ty;   /* void(i8*, i8*, i8*, i64, i64) */
  int n_fns;               /* for unique names */
} cg_module;

qc_status cg_module_init(cg_module *m, const cg_target *t, const char *module_name, qc_err *e);
void cg_module_dispose(cg_module *m);

/* Appends bytes to the weights section at an offset aligned to align (a power of two, <= 64),
   zero padding; returns the offset, or -1 with e set (QC_ERR_NOMEM). Identical inputs give
   identical sections (determinism). */
int64_t cg_weights_add(cg_module *m, const void *data, size_t bytes, size_t align, qc_err *e);

/* Starts a kernel: adds a function "qck_<n>_<sanitized name>" with the kernel ABI (internal
   linkage, nounwind, the args marked noalias and the pointers 64-aligned), creates its entry
   block and positions m->b there. params receive arena, weights, scratch, t0, t1. */
LLVMValueRef cg_kernel_begin(cg_module *m, const char *name, LLVMValueRef params[5]);

/* i8* + constant byte offset, cast to elem_ty* (helpers the emitters share). */
LLVMValueRef cg_ptr_at(cg_module *m, LLVMValueRef base, int64_t byte_off, LLVMTypeRef elem_ty);
/* A counted loop: for (i = lo; i < hi; i += step) { body }. cg_loop_begin positions the builder
   in the body and returns i; cg_loop_end closes it and positions after the loop. */
typedef struct {
  LLVMBasicBlockRef head, body, exit;
  LLVMValueRef i, next;
  LLVMValueRef step;
} cg_loop;
LLVMValueRef cg_loop_begin(cg_module *m, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi,
                           int64_t step, const char *name);
void cg_loop_end(cg_module *m, cg_loop *l);
LLVMValueRef cg_i64c(cg_module *m, int64_t v);
LLVMValueRef cg_i32c(cg_module *m, int32_t v);
LLVMValueRef cg_f32c(cg_module *m, float v);
/* Integer semantics of docs/integer-semantics.md on one i32 (or vector of i32) value v:
   (sext64(v) * mult + 2^(shift-1)) >> shift (arithmetic), as i64 / vector of i64. mult and
   shift may be scalars or vectors matching v. */
LLVMValueRef cg_requant(cg_module *m, LLVMValueRef v, LLVMValueRef mult, LLVMValueRef shift);

/* What an emitter produces. */
typedef struct {
  LLVMValueRef fn;
  int64_t n_tasks;         /* >= 1 */
  int64_t scratch_bytes;   /* per thread; 0 if none */
  uint64_t macs;
} cg_kernel;

/* ---- convolution and GEMM (emit_conv*.c, target-specific inner loops) --------------------- */

/* One fused conv group: y = epilogue(conv(x, w) + b) [+ residual]. A Gemm/MatMul with a constant
   [K, N] or [N, K] weight is a conv with h = w = kh = kw = 1, n = rows, c_in = K, c_out = N. */
typedef struct {
  const char *name;                       /* layer name (errors, function name) */
  int64_t n, c_in, h, w, c_out, oh, ow;   /* x is [n, c_in, h, w], y is [n, c_out, oh, ow] */
  int64_t kh, kw, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l, group;
  qc_dtype x_dt;                          /* F32, or U8 / I8 (I16 may be QC_ERR_UNSUPPORTED) */
  qc_dtype w_dt;                          /* F32, or I8 / I4 (packed as ir/pack.c) */
  qc_dtype y_dt;                          /* dtype of the conv result (F32, U8, I8, I16, I32) */
  int64_t x_off, y_off;                   /* arena byte offsets */
  const void *wt;                         /* weights, logical [c_out, c_in / group, kh, kw] */
  const void *bias;                       /* NULL, f32[c_out] (float) or i32[c_out] (int) */
  /* float epilogue: y = min(max(acc + bias [+ res], lo), hi); no clamp: -INFINITY, INFINITY */
  float lo, hi;
  /* integer epilogue: yq = clamp(rq(int32(acc + bias), mult[c], shift[c]), qmin, qmax) */
  const int32_t *mult, *shift;
  int32_t qmin, qmax;
  /* fused residual (the Add / QcAdd that is the conv result's only consumer):
     float: res is added to acc + bias before the clamp above (res_dt F32).
     integer (QcAdd): z = clamp(rq(yq, rmult[0], rshift[0]) + rq(r, rmult[1], rshift[1]),
                                rqmin, rqmax), written as out_dt; yq itself is not stored.
     res has y's shape [n, c_out, oh, ow] (no broadcasting). */
  bool has_res;
  int64_t res_off;
  qc_dtype res_dt;
  int32_t rmult[2], rshift[2], rqmin, rqmax;
  qc_dtype out_dt;                        /* what is stored at y_off: y_dt, or QcAdd's dtype */
} cg_conv_spec;

qc_status cg_emit_conv(cg_module *m, const cg_conv_spec *s, cg_kernel *k, qc_err *e);

/* ---- everything else (emit_simple.c): pooling, elementwise, quantize, QcAdd, ... ---------- */

typedef struct {
  int64_t off;             /* arena byte offset */
  qc_dtype dt;
  int rank;
  int64_t dims[QC_MAX_RANK];
  float scale;             /* integer values: their scale (0 if none) */
} cg_buf;

/* Emits node nd (all its input and output shapes known; inputs that are constants are passed
   with off = -1 and looked up by the emitter in g). QC_ERR_UNSUPPORTED for a node this file
   does not lower. */
qc_status cg_emit_node(cg_module *m, const qc_graph *g, const qc_node *nd, const cg_buf *in,
                       int n_in, const cg_buf *out, int n_out, cg_kernel *k, qc_err *e);

#endif
