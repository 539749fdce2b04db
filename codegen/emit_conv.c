/* Convolution and GEMM kernels: every conv (groups, depthwise, strides, dilations, pads) and
 * every Gemm is one packed GEMM per (image, group), C[i][j] = sum_k A[i][k] * B[k][j], with
 * A broadcast one word at a time and B read as vectors of VL words:
 *
 *   conv orientation: A = weights (i = output channel, packed at compile time),
 *                     B = im2col panel of the input in scratch (j = output pixel),
 *                     C = y[c][pixel], contiguous in pixels;
 *   gemm orientation: A = input rows packed in scratch (i = row),
 *                     B = weights packed at compile time (j = output channel),
 *                     C = y[row][c], contiguous in channels (Gemm and 1x1-spatial convs).
 *
 * A "word" is 4 bytes along K: one f32, two int16 (vpmaddwd pairs), or four 8-bit values
 * (vpdpbusd / sdot quads). A register tile is MR rows x NV vectors; bias (and the compensation of
 * the u8/s8 conversion of the dot-product paths) initialises the accumulators, the epilogue
 * requantizes / clamps / adds the residual and stores. Integer arithmetic follows
 * docs/integer-semantics.md exactly (interp/k_qc.c is the reference). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "cg.h"

typedef enum {
  CV_F32,  /* fma over f32 */
  CV_S16,  /* int16 pairs, multiply-add of pairs into i32 (vpmaddwd or its generic form) */
  CV_U8Q,  /* u8 x s8 quads (vpdpbusd): activations biased to u8 */
  CV_S8Q,  /* s8 x s8 quads (sdot): activations biased to s8 */
} cv_kind;

#define CV_MAX_MR 12
#define CV_MAX_NV 4

typedef struct {
  const cg_conv_spec *s;
  cv_kind kind;
  bool gemm;         /* orientation (see the file comment) */
  bool is_int;
  int kgs;           /* K elements per word: 1, 2 or 4 */
  int VL, MR, NV, TW;/* lanes per vector, tile rows, vectors per tile row, TW = NV * VL */
  int64_t G, cin_g, cout_g, P, K, Kg;
  int64_t NB, PBn;   /* conv: pixels per block (multiple of TW) and number of blocks */
  int64_t CC, CCn;   /* channels per chunk and number of chunks */
  int64_t RB, RBn;   /* gemm: rows per block (multiple of MR) and blocks */
  int64_t Npad;      /* gemm: output channels padded to TW */
  int64_t ldb;       /* words per row of B */
  int64_t w_off;     /* packed weights (A for conv, B for gemm) in the weights section */
  int64_t bias_off, mult_off, shift_off; /* per channel arrays (padded to Npad for gemm) */
  uint8_t act_xor;   /* applied to 8-bit activations: 0 or 0x80 */
  LLVMTypeRef wt, vt;/* word type (f32 / i32) and <VL x wt> */
  LLVMValueRef arena, weights, scratch;
  /* Offsets and residual constants as the shared body's arguments (see cg_emit_conv):
     x, y, res, w, bias, mult, shift (i64), rmult[0..1], rshift[0..1] (i32). */
  LLVMValueRef ox, oy, ores, ow, obias, omult, oshift, rm[2], rs[2];
  cg_module *m;
} cv;

/* ---- small IR helpers ------------------------------------------------------------------ */

static LLVMValueRef splat(cg_module *m, LLVMValueRef x, int n)
{
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)n);
  LLVMValueRef v = LLVMBuildInsertElement(m->b, LLVMGetUndef(vt), x, cg_i32c(m, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(m->i32, (unsigned)n));
  return LLVMBuildShuffleVector(m->b, v, LLVMGetUndef(vt), zeros, "");
}

static LLVMValueRef csplat(LLVMTypeRef t, long long v, int n, bool is_float)
{
  LLVMValueRef c = is_float ? LLVMConstReal(t, (double)v) : LLVMConstInt(t, (unsigned long long)v, 1);
  LLVMValueRef e[64];
  for (int i = 0; i < n; i++) e[i] = c;
  return LLVMConstVector(e, (unsigned)n);
}

static LLVMValueRef fcsplat(LLVMTypeRef t, float v, int n)
{
  LLVMValueRef c = LLVMConstReal(t, v);
  LLVMValueRef e[64];
  for (int i = 0; i < n; i++) e[i] = c;
  return LLVMConstVector(e, (unsigned)n);
}

/* Calls a target or overloaded intrinsic by its full (mangled) name. */
static LLVMValueRef call_intr(cg_module *m, const char *name, LLVMTypeRef ret, LLVMValueRef *args,
                              unsigned n)
{
  LLVMTypeRef pt[8];
  for (unsigned i = 0; i < n; i++) pt[i] = LLVMTypeOf(args[i]);
  LLVMTypeRef ft = LLVMFunctionType(ret, pt, n, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(m->mod, name);
  if (!fn) fn = LLVMAddFunction(m->mod, name, ft);
  return LLVMBuildCall2(m->b, ft, fn, args, n, "");
}

/* Vector type suffix of intrinsic names: v8f32, v16i8, ... */
static void vsuffix(char *buf, size_t n, LLVMTypeRef vt)
{
  LLVMTypeRef et = LLVMGetElementType(vt);
  unsigned lanes = LLVMGetVectorSize(vt);
  if (LLVMGetTypeKind(et) == LLVMFloatTypeKind) snprintf(buf, n, "v%uf32", lanes);
  else snprintf(buf, n, "v%ui%u", lanes, LLVMGetIntTypeWidth(et));
}

static LLVMValueRef gep(cg_module *m, LLVMTypeRef et, LLVMValueRef p, LLVMValueRef idx)
{
  return LLVMBuildGEP2(m->b, et, p, &idx, 1, "");
}

/* Typed pointer: base (i8*) + byte offset (a value) cast to et*. */
static LLVMValueRef vptr(cg_module *m, LLVMValueRef base, LLVMValueRef off, LLVMTypeRef et)
{
  LLVMValueRef p = LLVMBuildInBoundsGEP2(m->b, m->i8, base, &off, 1, "");
  return LLVMBuildBitCast(m->b, p, LLVMPointerType(et, 0), "");
}

static LLVMValueRef load_al(cg_module *m, LLVMTypeRef t, LLVMValueRef p, unsigned align)
{
  LLVMValueRef v = LLVMBuildLoad2(m->b, t, p, "");
  LLVMSetAlignment(v, align);
  return v;
}

static void store_al(cg_module *m, LLVMValueRef v, LLVMValueRef p, unsigned align)
{
  LLVMValueRef s = LLVMBuildStore(m->b, v, p);
  LLVMSetAlignment(s, align);
}

static LLVMValueRef imin(cg_module *m, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef imax(cg_module *m, LLVMValueRef a, LLVMValueRef b)
{
  return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, a, b, ""), a, b, "");
}

static LLVMTypeRef dt_type(cg_module *m, qc_dtype t)
{
  switch (t) {
  case QC_DT_F32: return m->f32;
  case QC_DT_U8: case QC_DT_I8: return m->i8;
  case QC_DT_U16: case QC_DT_I16: return m->i16;
  default: return m->i32;
  }
}

static int dt_bytes(qc_dtype t)
{
  switch (t) {
  case QC_DT_U8: case QC_DT_I8: return 1;
  case QC_DT_U16: case QC_DT_I16: return 2;
  default: return 4;
  }
}

static bool dt_unsigned(qc_dtype t) { return t == QC_DT_U8 || t == QC_DT_U16; }

/* No unrolling for the loop whose back-edge branch is br:
   !llvm.loop !{self, !{"llvm.loop.unroll.disable"}} */
static void loop_no_unroll(cg_module *m, LLVMValueRef br)
{
  LLVMMetadataRef tmp = LLVMTemporaryMDNode(m->ctx, NULL, 0);
  LLVMMetadataRef dis = LLVMMDStringInContext2(m->ctx, "llvm.loop.unroll.disable", 24);
  LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(m->ctx, &dis, 1)};
  LLVMMetadataRef loop = LLVMMDNodeInContext2(m->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(tmp, loop);
  LLVMSetMetadata(br, LLVMGetMDKindIDInContext(m->ctx, "llvm.loop", 9), LLVMMetadataAsValue(m->ctx, loop));
}

/* cg_loop_end for a loop that must stay rolled. Every loop here is: the unroller (runtime
   unrolling of im2col copies and zero runs, epilogue rows, K) tripled the code and took about
   two thirds of the compile time, for no measurable speed (ResNet-50 fp32 latency, znver3). */
static void loop_end_rolled(cg_module *m, cg_loop *l)
{
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(m->b);
  cg_loop_end(m, l);
  loop_no_unroll(m, LLVMGetBasicBlockTerminator(latch));
}

/* ---- planning ----------------------------------------------------------------------------- */

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int32_t wget(const cg_conv_spec *s, int64_t i)
{
  if (s->w_dt == QC_DT_I4) {
    int v = (((const uint8_t *)s->wt)[i >> 1] >> ((i & 1) * 4)) & 15;
    return v >= 8 ? v - 16 : v;
  }
  return ((const int8_t *)s->wt)[i];
}

static qc_status plan(cg_module *m, const cg_conv_spec *s, cv *c, qc_err *e)
{
  memset(c, 0, sizeof *c);
  c->m = m;
  c->s = s;
  const cg_target *t = m->t;
  if (s->n < 1 || s->c_in < 1 || s->c_out < 1 || s->h < 1 || s->w < 1 || s->oh < 1 || s->ow < 1 ||
      s->kh < 1 || s->kw < 1 || s->stride_h < 1 || s->stride_w < 1 || s->dil_h < 1 ||
      s->dil_w < 1 || s->group < 1 || s->c_in % s->group || s->c_out % s->group)
    return qc_err_set(e, QC_ERR_INVALID, "node '%s': inconsistent conv geometry", s->name);
  c->is_int = s->x_dt != QC_DT_F32;
  if (c->is_int) {
    if ((s->x_dt != QC_DT_U8 && s->x_dt != QC_DT_I8) || (s->w_dt != QC_DT_I8 && s->w_dt != QC_DT_I4))
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "node '%s': integer conv of %s x %s is not compiled",
                        s->name, qc_dtype_name(s->x_dt), qc_dtype_name(s->w_dt));
    if (s->y_dt != QC_DT_U8 && s->y_dt != QC_DT_I8 && s->y_dt != QC_DT_I16 && s->y_dt != QC_DT_I32)
      return qc_err_set(e, QC_ERR_UNSUPPORTED, "node '%s': integer conv output %s", s->name,
                        qc_dtype_name(s->y_dt));
    if (!s->mult || !s->shift)
      return qc_err_set(e, QC_ERR_INVALID, "node '%s': integer conv without mult/shift", s->name);
  } else if (s->w_dt != QC_DT_F32 || s->y_dt != QC_DT_F32) {
    return qc_err_set(e, QC_ERR_UNSUPPORTED, "node '%s': float conv with %s weights", s->name,
                      qc_dtype_name(s->w_dt));
  }
  c->G = s->group;
  c->cin_g = s->c_in / s->group;
  c->cout_g = s->c_out / s->group;
  c->P = s->oh * s->ow;
  c->K = c->cin_g * s->kh * s->kw;
  c->gemm = s->h == 1 && s->w == 1 && s->oh == 1 && s->ow == 1 && s->kh == 1 && s->kw == 1 &&
            s->group == 1 && s->pad_t == 0 && s->pad_l == 0;

  c->VL = t->f32_lanes;
  if (!c->is_int) {
    c->kind = CV_F32, c->kgs = 1;
  } else {
    switch (t->i8) {
    case CG_I8_AVX512_VNNI: case CG_I8_AVX_VNNI:
      c->kind = CV_U8Q, c->kgs = 4;
      if (t->i8 == CG_I8_AVX_VNNI) c->VL = 8;
      c->act_xor = s->x_dt == QC_DT_I8 ? 0x80 : 0;
      break;
    case CG_I8_NEON_SDOT:
      c->kind = CV_S8Q, c->kgs = 4;
      c->act_xor = s->x_dt == QC_DT_U8 ? 0x80 : 0;
      break;
    default: c->kind = CV_S16, c->kgs = 2; break;
    }
  }
  /* Registers: 16 vector registers (SSE/AVX2) or 32 (AVX-512, NEON); MR x NV accumulators plus
     NV B vectors and one broadcast. */
  bool r32 = t->vec_bytes == 64 || !strcmp(t->name, "aarch64") || c->VL == 16;
  c->MR = r32 ? 8 : 6;
  c->NV = r32 ? 3 : 2;
  if (c->gemm) c->NV = r32 ? 2 : 2, c->MR = r32 ? 8 : 6;
  c->TW = c->NV * c->VL;
  c->Kg = cdiv(c->K, c->kgs);
  c->wt = c->kind == CV_F32 ? m->f32 : m->i32;
  c->vt = LLVMVectorType(c->wt, (unsigned)c->VL);

  /* Tasks: enough for 16 threads on big layers, each big enough to amortise its packing. */
  const int64_t want_tasks = 16;
  if (!c->gemm) {
    int64_t panel_words = (128 * 1024) / 4 / (c->Kg > 0 ? c->Kg : 1);
    int64_t nb = panel_words / c->TW * c->TW;
    if (nb < c->TW) nb = c->TW;
    if (nb > 16 * c->TW) nb = 16 * c->TW;
    if (nb > cdiv(c->P, c->TW) * c->TW) nb = cdiv(c->P, c->TW) * c->TW;
    c->NB = nb;
    c->PBn = cdiv(c->P, nb);
    int64_t base = s->n * c->G * c->PBn;
    int64_t tiles = cdiv(c->cout_g, c->MR);
    int64_t chunks = base >= want_tasks ? 1 : cdiv(want_tasks, base);
    int64_t min_tiles = 8; /* >= 8 * MR rows per im2col of the block */
    if (chunks > tiles / min_tiles) chunks = tiles / min_tiles;
    if (chunks < 1) chunks = 1;
    c->CC = cdiv(tiles, chunks) * c->MR;
    c->CCn = cdiv(c->cout_g, c->CC);
    c->ldb = c->NB;
  } else {
    c->Npad = cdiv(s->c_out, c->TW) * c->TW;
    c->RB = s->n <= 8 * c->MR ? cdiv(s->n, c->MR) * c->MR : 8 * c->MR;
    c->RBn = cdiv(s->n, c->RB);
    int64_t tiles = c->Npad / c->TW;
    int64_t chunks = c->RBn >= want_tasks ? 1 : cdiv(want_tasks, c->RBn);
    if (chunks > tiles / 2) chunks = tiles / 2;
    if (chunks < 1) chunks = 1;
    c->CC = cdiv(tiles, chunks) * c->TW;
    c->CCn = cdiv(c->Npad, c->CC);
    c->ldb = c->Npad;
  }
  return QC_OK;
}

/* Packs the weights (A for conv: per group, per MR-row tile [Kg][mr] words; B for gemm: [Kg][Npad]
   words) and the per-channel arrays into the weights section. */
static qc_status pack(cv *c, qc_err *e)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  int64_t K = c->K, Kg = c->Kg, kgs = c->kgs;
  int64_t nch = c->gemm ? c->Npad : s->c_out;
  size_t bytes = (size_t)(c->gemm ? Kg * c->Npad : s->c_out * Kg) * 4;
  uint8_t *buf = calloc(bytes ? bytes : 1, 1);
  int32_t *bias = calloc((size_t)nch, 4), *mult = calloc((size_t)nch, 4),
          *shift = calloc((size_t)nch, 4);
  if (!buf || !bias || !mult || !shift) {
    free(buf), free(bias), free(mult), free(shift);
    return qc_err_set(e, QC_ERR_NOMEM, "node '%s': out of memory packing weights", s->name);
  }
  for (int64_t co = 0; co < s->c_out; co++) {
    int64_t g = co / c->cout_g, cl = co % c->cout_g;
    int64_t tile = cl / c->MR, r = cl % c->MR;
    int64_t mr = c->cout_g - tile * c->MR < c->MR ? c->cout_g - tile * c->MR : c->MR;
    int64_t wsum = 0;
    for (int64_t k = 0; k < K; k++) {
      int64_t src = co * K + k;
      /* word index of (co, k) and the element inside the word */
      int64_t word = c->gemm ? (k / kgs) * c->Npad + co
                             : (g * c->cout_g + tile * c->MR) * Kg + (k / kgs) * mr + r;
      int64_t sub = k % kgs;
      if (c->kind == CV_F32) {
        ((float *)buf)[word] = ((const float *)s->wt)[src];
      } else {
        int32_t w = wget(s, src);
        wsum += w;
        if (c->kind == CV_S16) ((int16_t *)buf)[word * 2 + sub] = (int16_t)w;
        else buf[word * 4 + sub] = (uint8_t)(int8_t)w;
      }
    }
    if (c->kind == CV_F32) {
      float b = s->bias ? ((const float *)s->bias)[co] : 0.0f;
      memcpy(&bias[co], &b, 4);
    } else {
      uint32_t b = s->bias ? (uint32_t)((const int32_t *)s->bias)[co] : 0;
      /* (x + 128) * w summed = x * w + 128 * sum w, and (x - 128) likewise: the correction
         is exact in wrapping int32 arithmetic. */
      if (c->kind == CV_U8Q && c->act_xor) b -= (uint32_t)(128 * wsum);
      if (c->kind == CV_S8Q && c->act_xor) b += (uint32_t)(128 * wsum);
      bias[co] = (int32_t)b;
      mult[co] = s->mult[co];
      shift[co] = s->shift[co];
    }
  }
  for (int64_t co = s->c_out; co < nch; co++) mult[co] = 1 << 30, shift[co] = 30;
  c->w_off = cg_weights_add(m, buf, bytes, 64, e);
  c->bias_off = cg_weights_add(m, bias, (size_t)nch * 4, 64, e);
  if (c->is_int) {
    c->mult_off = cg_weights_add(m, mult, (size_t)nch * 4, 64, e);
    c->shift_off = cg_weights_add(m, shift, (size_t)nch * 4, 64, e);
  }
  free(buf), free(bias), free(mult), free(shift);
  if (c->w_off < 0 || c->bias_off < 0 || c->mult_off < 0 || c->shift_off < 0) return e->code;
  return QC_OK;
}

/* ---- activations into words --------------------------------------------------------------- */

/* One activation element (i8 value as loaded, or f32) converted to its element in a word. */
static LLVMValueRef act_elem(cv *c, LLVMValueRef x)
{
  cg_module *m = c->m;
  switch (c->kind) {
  case CV_F32: return x;
  case CV_S16:
    return c->s->x_dt == QC_DT_U8 ? LLVMBuildZExt(m->b, x, m->i16, "") : LLVMBuildSExt(m->b, x, m->i16, "");
  default:
    return c->act_xor ? LLVMBuildXor(m->b, x, LLVMConstInt(m->i8, c->act_xor, 0), "") : x;
  }
}

/* The element type inside a word and the element standing for a zero activation. */
static LLVMTypeRef elem_type(cv *c)
{
  return c->kind == CV_F32 ? c->m->f32 : c->kind == CV_S16 ? c->m->i16 : c->m->i8;
}

static LLVMValueRef zero_elem(cv *c)
{
  return act_elem(c, LLVMConstNull(c->kind == CV_F32 ? c->m->f32 : c->m->i8));
}

/* for (i = lo; i < hi; i++) dst[base + i * L] = zero activation. */
static void emit_zero_run(cv *c, LLVMValueRef dst, LLVMValueRef base, LLVMValueRef lo, LLVMValueRef hi,
                          int64_t L)
{
  cg_module *m = c->m;
  LLVMTypeRef et = elem_type(c);
  cg_loop l;
  LLVMValueRef i = cg_loop_begin(m, &l, lo, hi, 1, "z");
  LLVMValueRef di = LLVMBuildAdd(m->b, base, LLVMBuildMul(m->b, i, cg_i64c(m, L), ""), "");
  store_al(m, zero_elem(c), gep(m, et, dst, di), 1);
  loop_end_rolled(m, &l);
}

/* conv: B[kg][0..NB) for image n, group g, pixels [p0, p0 + NB) into scratch. Element (k, p)
   lives at element ((k / kgs) * NB + p) * kgs + k % kgs. Per k and output row, the pixels split
   into three runs: left padding, a strided copy of one input row, right padding; so the copy
   loop is a plain (vectorisable for stride 1) convert-and-store. Pixels past P and k past K are
   zero activations. */
static void emit_im2col(cv *c, LLVMValueRef n, LLVMValueRef g, LLVMValueRef p0)
{
  cg_module *m = c->m;
  LLVMBuilderRef b = m->b;
  const cg_conv_spec *s = c->s;
  LLVMTypeRef et = elem_type(c), xt = dt_type(m, s->x_dt);
  const int64_t L = c->kgs; /* elements between consecutive pixels of one k */
  LLVMValueRef col = LLVMBuildBitCast(b, c->scratch, LLVMPointerType(et, 0), "");
  LLVMValueRef x = vptr(m, c->arena, c->ox, xt);
  int64_t khw = s->kh * s->kw, OW = s->ow;
  LLVMValueRef I0 = cg_i64c(m, 0);
  LLVMValueRef pend = imin(m, LLVMBuildAdd(b, p0, cg_i64c(m, c->NB), ""), cg_i64c(m, c->P));
  LLVMValueRef oh_first = LLVMBuildUDiv(b, p0, cg_i64c(m, OW), "");
  LLVMValueRef oh_end = LLVMBuildAdd(b, LLVMBuildUDiv(b, LLVMBuildSub(b, pend, cg_i64c(m, 1), ""), cg_i64c(m, OW), ""), cg_i64c(m, 1), "");
  LLVMValueRef npix = LLVMBuildSub(b, pend, p0, "");
  LLVMValueRef xbase = LLVMBuildMul(b,
      LLVMBuildAdd(b, LLVMBuildMul(b, n, cg_i64c(m, s->c_in), ""), LLVMBuildMul(b, g, cg_i64c(m, c->cin_g), ""), ""),
      cg_i64c(m, s->h * s->w), "");
  cg_loop lk;
  LLVMValueRef k = cg_loop_begin(m, &lk, I0, cg_i64c(m, c->Kg * c->kgs), 1, "k");
  LLVMValueRef dk = LLVMBuildAdd(b,
      LLVMBuildMul(b, LLVMBuildUDiv(b, k, cg_i64c(m, L), ""), cg_i64c(m, c->NB * L), ""),
      LLVMBuildURem(b, k, cg_i64c(m, L), ""), "");
  /* k past K (the last word's padding): all zero */
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
  LLVMBasicBlockRef real = LLVMAppendBasicBlockInContext(m->ctx, fn, "k.real");
  LLVMBasicBlockRef pad = LLVMAppendBasicBlockInContext(m->ctx, fn, "k.pad");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(m->ctx, fn, "k.next");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, k, cg_i64c(m, c->K), ""), real, pad);
  LLVMPositionBuilderAtEnd(b, pad);
  emit_zero_run(c, col, dk, I0, cg_i64c(m, c->NB), L);
  LLVMBuildBr(b, next);
  LLVMPositionBuilderAtEnd(b, real);
  LLVMValueRef ci = LLVMBuildUDiv(b, k, cg_i64c(m, khw), "");
  LLVMValueRef rs = LLVMBuildURem(b, k, cg_i64c(m, khw), "");
  LLVMValueRef r = LLVMBuildUDiv(b, rs, cg_i64c(m, s->kw), "");
  LLVMValueRef sx = LLVMBuildURem(b, rs, cg_i64c(m, s->kw), "");
  LLVMValueRef roff = LLVMBuildSub(b, LLVMBuildMul(b, r, cg_i64c(m, s->dil_h), ""), cg_i64c(m, s->pad_t), "");
  LLVMValueRef soff = LLVMBuildSub(b, LLVMBuildMul(b, sx, cg_i64c(m, s->dil_w), ""), cg_i64c(m, s->pad_l), "");
  LLVMValueRef plane = LLVMBuildAdd(b, xbase, LLVMBuildMul(b, ci, cg_i64c(m, s->h * s->w), ""), "");
  /* ow with 0 <= ow * sw + soff < W: [lo_w, hi_w) */
  LLVMValueRef num = LLVMBuildNeg(b, soff, "");
  LLVMValueRef lo_w = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLE, num, I0, ""), I0,
      LLVMBuildSDiv(b, LLVMBuildAdd(b, num, cg_i64c(m, s->stride_w - 1), ""), cg_i64c(m, s->stride_w), ""), "");
  LLVMValueRef top = LLVMBuildSub(b, cg_i64c(m, s->w - 1), soff, "");
  LLVMValueRef hi_w = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, top, I0, ""), I0,
      LLVMBuildAdd(b, LLVMBuildSDiv(b, top, cg_i64c(m, s->stride_w), ""), cg_i64c(m, 1), ""), "");
  cg_loop lr;
  LLVMValueRef oh = cg_loop_begin(m, &lr, oh_first, oh_end, 1, "oh");
  LLVMValueRef row0 = LLVMBuildMul(b, oh, cg_i64c(m, OW), "");
  LLVMValueRef ow0 = imax(m, I0, LLVMBuildSub(b, p0, row0, ""));
  LLVMValueRef ow1 = imin(m, cg_i64c(m, OW), LLVMBuildSub(b, pend, row0, ""));
  LLVMValueRef qb = LLVMBuildAdd(b, dk, LLVMBuildMul(b, LLVMBuildSub(b, row0, p0, ""), cg_i64c(m, L), ""), "");
  LLVMValueRef ih = LLVMBuildAdd(b, LLVMBuildMul(b, oh, cg_i64c(m, s->stride_h), ""), roff, "");
  LLVMValueRef rowok = LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64c(m, s->h), "");
  LLVMValueRef ra = LLVMBuildSelect(b, rowok, imin(m, imax(m, lo_w, ow0), ow1), ow1, "");
  LLVMValueRef rb = LLVMBuildSelect(b, rowok, imin(m, imax(m, hi_w, ra), ow1), ow1, "");
  emit_zero_run(c, col, qb, ow0, ra, L);
  LLVMValueRef src = LLVMBuildAdd(b, LLVMBuildAdd(b, plane, LLVMBuildMul(b, ih, cg_i64c(m, s->w), ""), ""), soff, "");
  cg_loop lc;
  LLVMValueRef ow = cg_loop_begin(m, &lc, ra, rb, 1, "ow");
  LLVMValueRef xi = LLVMBuildAdd(b, src, LLVMBuildMul(b, ow, cg_i64c(m, s->stride_w), ""), "");
  LLVMValueRef v = act_elem(c, load_al(m, xt, gep(m, xt, x, xi), 1));
  store_al(m, v, gep(m, et, col, LLVMBuildAdd(b, qb, LLVMBuildMul(b, ow, cg_i64c(m, L), ""), "")), 1);
  loop_end_rolled(m, &lc);
  emit_zero_run(c, col, qb, rb, ow1, L);
  loop_end_rolled(m, &lr);
  /* pixels past P in the last block */
  emit_zero_run(c, col, dk, npix, cg_i64c(m, c->NB), L);
  LLVMBuildBr(b, next);
  LLVMPositionBuilderAtEnd(b, next);
  loop_end_rolled(m, &lk);
}

/* gemm: rows [r0, r0 + nrows) of x ([n, K]) into scratch as A tiles: tile t (rows t*MR ..) at
   word t * MR * Kg, laid out [Kg][mr] with mr = min(MR, nrows - t * MR). */
static void emit_pack_rows(cv *c, LLVMValueRef r0, LLVMValueRef nrows)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  LLVMTypeRef et = elem_type(c), xt = dt_type(m, s->x_dt);
  LLVMValueRef a = LLVMBuildBitCast(m->b, c->scratch, LLVMPointerType(et, 0), "");
  LLVMValueRef x = vptr(m, c->arena, c->ox, xt);
  LLVMValueRef zero = zero_elem(c);
  cg_loop li;
  LLVMValueRef i = cg_loop_begin(m, &li, cg_i64c(m, 0), nrows, 1, "i");
  LLVMValueRef tile = LLVMBuildSDiv(m->b, i, cg_i64c(m, c->MR), "");
  LLVMValueRef r = LLVMBuildSRem(m->b, i, cg_i64c(m, c->MR), "");
  LLVMValueRef mr = imin(m, cg_i64c(m, c->MR), LLVMBuildSub(m->b, nrows, LLVMBuildMul(m->b, tile, cg_i64c(m, c->MR), ""), ""));
  LLVMValueRef tbase = LLVMBuildMul(m->b, tile, cg_i64c(m, c->MR * c->Kg * c->kgs), "");
  LLVMValueRef xrow = LLVMBuildMul(m->b, LLVMBuildAdd(m->b, r0, i, ""), cg_i64c(m, c->K), "");
  cg_loop lk;
  LLVMValueRef k = cg_loop_begin(m, &lk, cg_i64c(m, 0), cg_i64c(m, c->Kg * c->kgs), 1, "k");
  LLVMValueRef kin = LLVMBuildICmp(m->b, LLVMIntSLT, k, cg_i64c(m, c->K), "");
  LLVMValueRef xi = LLVMBuildSelect(m->b, kin, LLVMBuildAdd(m->b, xrow, k, ""), cg_i64c(m, 0), "");
  LLVMValueRef v = act_elem(c, load_al(m, xt, gep(m, xt, x, xi), 1));
  v = LLVMBuildSelect(m->b, kin, v, zero, "");
  LLVMValueRef kg = LLVMBuildSDiv(m->b, k, cg_i64c(m, c->kgs), "");
  LLVMValueRef sub = LLVMBuildSRem(m->b, k, cg_i64c(m, c->kgs), "");
  LLVMValueRef word = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, kg, mr, ""), r, "");
  LLVMValueRef di = LLVMBuildAdd(m->b, tbase,
      LLVMBuildAdd(m->b, LLVMBuildMul(m->b, word, cg_i64c(m, c->kgs), ""), sub, ""), "");
  store_al(m, v, gep(m, et, a, di), 1);
  loop_end_rolled(m, &lk);
  loop_end_rolled(m, &li);
}

/* ---- the register tile ---------------------------------------------------------------------- */

/* acc + a (broadcast word) * b (vector of words), in the path's arithmetic. */
static LLVMValueRef madd(cv *c, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b)
{
  cg_module *m = c->m;
  int VL = c->VL;
  char name[64], sfx[16];
  switch (c->kind) {
  case CV_F32: {
    vsuffix(sfx, sizeof sfx, c->vt);
    /* fmuladd: fused where the target has FMA, a multiply and an add (not a libm call) otherwise */
    snprintf(name, sizeof name, "llvm.fmuladd.%s", sfx);
    LLVMValueRef args[3] = {a, b, acc};
    return call_intr(m, name, c->vt, args, 3);
  }
  case CV_S16: {
    LLVMTypeRef v16 = LLVMVectorType(m->i16, (unsigned)(2 * VL));
    LLVMValueRef a16 = LLVMBuildBitCast(m->b, a, v16, ""), b16 = LLVMBuildBitCast(m->b, b, v16, "");
    const char *in = NULL;
    if (m->t->i8 == CG_I8_AVX2_S16 && VL == 8) in = "llvm.x86.avx2.pmadd.wd";
    if (m->t->i8 == CG_I8_AVX2_S16 && VL == 16 && m->t->vec_bytes == 64) in = "llvm.x86.avx512.pmaddw.d.512";
    LLVMValueRef pr;
    if (in) {
      LLVMValueRef args[2] = {b16, a16};
      pr = call_intr(m, in, c->vt, args, 2);
    } else if (!strcmp(m->t->name, "x86-64")) {
      /* SSE2 pmaddwd on each 128-bit quarter (SSE-only and AVX-without-AVX2 CPUs). */
      LLVMTypeRef h32 = LLVMVectorType(m->i32, 4);
      LLVMValueRef parts[4] = {0};
      for (int q = 0; q < VL / 4; q++) {
        LLVMValueRef ix[8];
        for (int i = 0; i < 8; i++) ix[i] = cg_i32c(m, q * 8 + i);
        LLVMValueRef args[2] = {LLVMBuildShuffleVector(m->b, b16, LLVMGetUndef(v16), LLVMConstVector(ix, 8), ""),
                                LLVMBuildShuffleVector(m->b, a16, LLVMGetUndef(v16), LLVMConstVector(ix, 8), "")};
        parts[q] = call_intr(m, "llvm.x86.sse2.pmadd.wd", h32, args, 2);
      }
      pr = parts[0];
      if (VL >= 8) {
        LLVMValueRef ix[16];
        for (int i = 0; i < 16; i++) ix[i] = cg_i32c(m, i);
        pr = LLVMBuildShuffleVector(m->b, parts[0], parts[1], LLVMConstVector(ix, 8), "");
        if (VL == 16) {
          LLVMValueRef hi = LLVMBuildShuffleVector(m->b, parts[2], parts[3], LLVMConstVector(ix, 8), "");
          pr = LLVMBuildShuffleVector(m->b, pr, hi, LLVMConstVector(ix, 16), "");
        }
      }
    } else {
      /* Generic pair sums; x86 SSE2 and AArch64 match this to pmaddwd / smull+addp. */
      LLVMTypeRef v32 = LLVMVectorType(m->i32, (unsigned)(2 * VL));
      LLVMValueRef p = LLVMBuildMul(m->b, LLVMBuildSExt(m->b, a16, v32, ""), LLVMBuildSExt(m->b, b16, v32, ""), "");
      LLVMValueRef ev[32], od[32];
      for (int i = 0; i < VL; i++) ev[i] = cg_i32c(m, 2 * i), od[i] = cg_i32c(m, 2 * i + 1);
      LLVMValueRef pe = LLVMBuildShuffleVector(m->b, p, LLVMGetUndef(v32), LLVMConstVector(ev, (unsigned)VL), "");
      LLVMValueRef po = LLVMBuildShuffleVector(m->b, p, LLVMGetUndef(v32), LLVMConstVector(od, (unsigned)VL), "");
      pr = LLVMBuildAdd(m->b, pe, po, "");
    }
    return LLVMBuildAdd(m->b, acc, pr, "");
  }
  case CV_U8Q: case CV_S8Q:
    if (m->t->generic_dot) {
      /* sum of four (u8 or s8 activation) x s8 products per i32 lane, in plain IR */
      LLVMTypeRef v8 = LLVMVectorType(m->i8, (unsigned)(4 * VL)), v32 = LLVMVectorType(m->i32, (unsigned)(4 * VL));
      LLVMValueRef act = LLVMBuildBitCast(m->b, c->gemm ? a : b, v8, "");
      LLVMValueRef wv = LLVMBuildBitCast(m->b, c->gemm ? b : a, v8, "");
      act = c->kind == CV_U8Q ? LLVMBuildZExt(m->b, act, v32, "") : LLVMBuildSExt(m->b, act, v32, "");
      LLVMValueRef p = LLVMBuildMul(m->b, act, LLVMBuildSExt(m->b, wv, v32, ""), "");
      LLVMValueRef sum = acc;
      for (int j = 0; j < 4; j++) {
        LLVMValueRef ix[16];
        for (int i = 0; i < VL; i++) ix[i] = cg_i32c(m, 4 * i + j);
        sum = LLVMBuildAdd(m->b, sum, LLVMBuildShuffleVector(m->b, p, LLVMGetUndef(v32), LLVMConstVector(ix, (unsigned)VL), ""), "");
      }
      return sum;
    }
    if (c->kind == CV_U8Q) {
      /* vpdpbusd(acc, u8 quads, s8 quads): the activations are the unsigned operand. */
      LLVMValueRef args[3] = {acc, c->gemm ? a : b, c->gemm ? b : a};
      return call_intr(m, VL == 16 ? "llvm.x86.avx512.vpdpbusd.512" : "llvm.x86.avx512.vpdpbusd.256",
                       c->vt, args, 3);
    }
    break;
  }
  /* CV_S8Q: sdot(acc, s8 quads, s8 quads) */
  LLVMTypeRef v8 = LLVMVectorType(m->i8, (unsigned)(4 * VL));
  LLVMValueRef args[3] = {acc, LLVMBuildBitCast(m->b, a, v8, ""), LLVMBuildBitCast(m->b, b, v8, "")};
  snprintf(name, sizeof name, "llvm.aarch64.neon.sdot.v%di32.v%di8", VL, 4 * VL);
  return call_intr(m, name, c->vt, args, 3);
}

typedef struct {
  LLVMValueRef a;      /* wt*: A tile, [Kg][mr] words */
  LLVMValueRef b;      /* wt*: B at (kg = 0, j0), rows of ldb words */
  int mr;
  LLVMValueRef ybase;  /* element index of C(0, 0) in y */
  int64_t ldc;         /* elements between rows of C */
  LLVMValueRef chan;   /* channel of row 0 (conv) or of column 0 (gemm) */
  LLVMValueRef valid;  /* columns of the tile that exist (1..TW) */
} cv_tile;

/* Per channel parameter for row r / vector v: a broadcast (conv) or a vector of VL channels. */
static LLVMValueRef chan_param(cv *c, LLVMValueRef off, LLVMTypeRef et, LLVMValueRef chan, LLVMValueRef r, int v)
{
  cg_module *m = c->m;
  LLVMValueRef base = vptr(m, c->weights, off, et);
  if (c->gemm) {
    LLVMValueRef p = gep(m, et, base, LLVMBuildAdd(m->b, chan, cg_i64c(m, (int64_t)v * c->VL), ""));
    p = LLVMBuildBitCast(m->b, p, LLVMPointerType(LLVMVectorType(et, (unsigned)c->VL), 0), "");
    return load_al(m, LLVMVectorType(et, (unsigned)c->VL), p, 4);
  }
  LLVMValueRef p = gep(m, et, base, LLVMBuildAdd(m->b, chan, r, ""));
  return splat(m, load_al(m, et, p, 4), c->VL);
}

static LLVMValueRef masked_intr(cv *c, bool store, LLVMTypeRef vt, LLVMValueRef ptr, LLVMValueRef mask,
                                LLVMValueRef val)
{
  cg_module *m = c->m;
  char name[96], sfx[16];
  vsuffix(sfx, sizeof sfx, vt);
  snprintf(name, sizeof name, "llvm.masked.%s.%s.p0%s", store ? "store" : "load", sfx, sfx);
  LLVMValueRef al = cg_i32c(m, 1);
  if (store) {
    LLVMValueRef args[4] = {val, ptr, al, mask};
    return call_intr(m, name, LLVMVoidTypeInContext(m->ctx), args, 4);
  }
  LLVMValueRef args[4] = {ptr, al, mask, LLVMConstNull(vt)};
  return call_intr(m, name, vt, args, 4);
}

/* Loads VL elements of type et at element index idx of base (full or masked). */
static LLVMValueRef vload(cv *c, LLVMValueRef base, LLVMTypeRef et, LLVMValueRef idx, LLVMValueRef mask)
{
  cg_module *m = c->m;
  LLVMTypeRef vt = LLVMVectorType(et, (unsigned)c->VL);
  LLVMValueRef p = LLVMBuildBitCast(m->b, gep(m, et, base, idx), LLVMPointerType(vt, 0), "");
  return mask ? masked_intr(c, false, vt, p, mask, NULL) : load_al(m, vt, p, 1);
}

static void vstore(cv *c, LLVMValueRef v, LLVMValueRef base, LLVMTypeRef et, LLVMValueRef idx, LLVMValueRef mask)
{
  cg_module *m = c->m;
  LLVMTypeRef vt = LLVMVectorType(et, (unsigned)c->VL);
  LLVMValueRef p = LLVMBuildBitCast(m->b, gep(m, et, base, idx), LLVMPointerType(vt, 0), "");
  if (mask) masked_intr(c, true, vt, p, mask, v);
  else store_al(m, v, p, 1);
}

/* Widens a loaded vector of integer dtype dt to <VL x i32>. */
static LLVMValueRef widen32(cv *c, LLVMValueRef v, qc_dtype dt)
{
  cg_module *m = c->m;
  LLVMTypeRef v32 = LLVMVectorType(m->i32, (unsigned)c->VL);
  if (dt_bytes(dt) == 4) return v;
  return dt_unsigned(dt) ? LLVMBuildZExt(m->b, v, v32, "") : LLVMBuildSExt(m->b, v, v32, "");
}

static LLVMValueRef clamp64(cv *c, LLVMValueRef v, int64_t lo, int64_t hi)
{
  LLVMTypeRef t = LLVMTypeOf(v);
  LLVMValueRef l = csplat(LLVMGetElementType(t), lo, c->VL, false);
  LLVMValueRef h = csplat(LLVMGetElementType(t), hi, c->VL, false);
  return imin(c->m, imax(c->m, v, l), h);
}

/* The epilogue of one tile, a loop over its rows (one row of code instead of mr: the
   requantization is long); acc holds the accumulators [mr][NV]. masked: the last, partial,
   column tile. */
static void emit_epilogue(cv *c, const cv_tile *tl, LLVMValueRef acc, bool masked)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  LLVMTypeRef v32 = LLVMVectorType(m->i32, (unsigned)c->VL);
  LLVMTypeRef yt = dt_type(m, s->out_dt), rt = s->has_res ? dt_type(m, s->res_dt) : NULL;
  LLVMValueRef y = vptr(m, c->arena, c->oy, yt);
  LLVMValueRef res = s->has_res ? vptr(m, c->arena, c->ores, rt) : NULL;
  LLVMValueRef mask[CV_MAX_NV] = {0};
  if (masked) {
    LLVMValueRef lane[64];
    for (int v = 0; v < c->NV; v++) {
      for (int i = 0; i < c->VL; i++) lane[i] = cg_i64c(m, (int64_t)v * c->VL + i);
      mask[v] = LLVMBuildICmp(m->b, LLVMIntSLT, LLVMConstVector(lane, (unsigned)c->VL),
                              splat(m, tl->valid, c->VL), "");
    }
  }
  cg_loop lr;
  LLVMValueRef r = cg_loop_begin(m, &lr, cg_i64c(m, 0), cg_i64c(m, tl->mr), 1, "r");
  LLVMValueRef row = LLVMBuildAdd(m->b, tl->ybase, LLVMBuildMul(m->b, r, cg_i64c(m, tl->ldc), ""), "");
  {
    for (int v = 0; v < c->NV; v++) {
      LLVMValueRef idx = LLVMBuildAdd(m->b, row, cg_i64c(m, (int64_t)v * c->VL), "");
      LLVMValueRef ai = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, r, cg_i64c(m, c->NV), ""), cg_i64c(m, v), "");
      LLVMValueRef a = load_al(m, c->vt, gep(m, c->vt, acc, ai), (unsigned)c->VL * 4), out;
      if (!c->is_int) {
        if (s->has_res) a = LLVMBuildFAdd(m->b, a, vload(c, res, rt, idx, mask[v]), "");
        if (s->lo > -INFINITY) {
          LLVMValueRef lo = fcsplat(m->f32, s->lo, c->VL);
          a = LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOLT, a, lo, ""), lo, a, "");
        }
        if (s->hi < INFINITY) {
          LLVMValueRef hi = fcsplat(m->f32, s->hi, c->VL);
          a = LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealOGT, a, hi, ""), hi, a, "");
        }
        out = a;
      } else {
        LLVMValueRef mu = chan_param(c, c->omult, m->i32, tl->chan, r, v);
        LLVMValueRef sh = chan_param(c, c->oshift, m->i32, tl->chan, r, v);
        LLVMValueRef q = clamp64(c, cg_requant(m, a, mu, sh), s->qmin, s->qmax);
        if (s->has_res) {
          LLVMValueRef q32 = LLVMBuildTrunc(m->b, q, v32, "");
          LLVMValueRef r32 = widen32(c, vload(c, res, rt, idx, mask[v]), s->res_dt);
          LLVMValueRef za = cg_requant(m, q32, splat(m, c->rm[0], c->VL),
                                       splat(m, c->rs[0], c->VL));
          LLVMValueRef zb = cg_requant(m, r32, splat(m, c->rm[1], c->VL),
                                       splat(m, c->rs[1], c->VL));
          q = clamp64(c, LLVMBuildAdd(m->b, za, zb, ""), s->rqmin, s->rqmax);
        }
        out = LLVMBuildTrunc(m->b, q, LLVMVectorType(yt, (unsigned)c->VL), "");
      }
      vstore(c, out, y, yt, idx, mask[v]);
    }
  }
  loop_end_rolled(m, &lr);
}

static void emit_tile(cv *c, const cv_tile *tl)
{
  cg_module *m = c->m;
  const int mr = tl->mr, NV = c->NV;
  LLVMValueRef acc[CV_MAX_MR][CV_MAX_NV];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = chan_param(c, c->obias, c->wt, tl->chan, cg_i64c(m, r), v);
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(m->b));
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(m->b);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(m->ctx, fn, "k.body");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(m->ctx, fn, "k.done");
  LLVMBuildBr(m->b, body);
  LLVMPositionBuilderAtEnd(m->b, body);
  LLVMValueRef kg = LLVMBuildPhi(m->b, m->i64, "kg");
  LLVMValueRef ph[CV_MAX_MR][CV_MAX_NV];
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NV; v++) {
      ph[r][v] = LLVMBuildPhi(m->b, c->vt, "");
      LLVMAddIncoming(ph[r][v], &acc[r][v], &pre, 1);
    }
  LLVMValueRef zero = cg_i64c(m, 0);
  LLVMAddIncoming(kg, &zero, &pre, 1);
  LLVMValueRef brow = gep(m, c->wt, tl->b, LLVMBuildMul(m->b, kg, cg_i64c(m, c->ldb), ""));
  LLVMValueRef bv[CV_MAX_NV];
  for (int v = 0; v < NV; v++) {
    LLVMValueRef p = gep(m, c->wt, brow, cg_i64c(m, (int64_t)v * c->VL));
    p = LLVMBuildBitCast(m->b, p, LLVMPointerType(c->vt, 0), "");
    bv[v] = load_al(m, c->vt, p, 4);
  }
  LLVMValueRef arow = gep(m, c->wt, tl->a, LLVMBuildMul(m->b, kg, cg_i64c(m, mr), ""));
  for (int r = 0; r < mr; r++) {
    LLVMValueRef aw = splat(m, load_al(m, c->wt, gep(m, c->wt, arow, cg_i64c(m, r)), 4), c->VL);
    for (int v = 0; v < NV; v++) acc[r][v] = madd(c, ph[r][v], aw, bv[v]);
  }
  LLVMValueRef next = LLVMBuildAdd(m->b, kg, cg_i64c(m, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(m->b);
  LLVMAddIncoming(kg, &next, &latch, 1);
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NV; v++) LLVMAddIncoming(ph[r][v], &acc[r][v], &latch, 1);
  LLVMValueRef br = LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, next, cg_i64c(m, c->Kg), ""), body, done);
  /* K loops stay rolled. Integer: unrolled they measured no faster on znver3 (0-10% slower,
     accumulator spills). Float: no measurable difference in ResNet-50 latency, and rolled
     compile in a third of the time. */
  loop_no_unroll(m, br);
  LLVMPositionBuilderAtEnd(m->b, done);

  /* The accumulators go to a stack buffer (allocated in the entry block) for the row loop. */
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
  LLVMBuilderRef eb = LLVMCreateBuilderInContext(m->ctx);
  LLVMPositionBuilder(eb, entry, LLVMGetFirstInstruction(entry));
  LLVMValueRef buf = LLVMBuildAlloca(eb, LLVMArrayType(c->vt, (unsigned)(mr * NV)), "accbuf");
  LLVMSetAlignment(buf, (unsigned)c->VL * 4);
  LLVMDisposeBuilder(eb);
  buf = LLVMBuildBitCast(m->b, buf, LLVMPointerType(c->vt, 0), "");
  for (int r = 0; r < mr; r++)
    for (int v = 0; v < NV; v++)
      store_al(m, acc[r][v], gep(m, c->vt, buf, cg_i64c(m, r * NV + v)), (unsigned)c->VL * 4);
  /* Full tiles store plain vectors, the last partial one masked. */
  LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(m->ctx, fn, "epi.full");
  LLVMBasicBlockRef part = LLVMAppendBasicBlockInContext(m->ctx, fn, "epi.part");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(m->ctx, fn, "epi.join");
  LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntSGE, tl->valid, cg_i64c(m, c->TW), ""), full, part);
  LLVMPositionBuilderAtEnd(m->b, full);
  emit_epilogue(c, tl, buf, false);
  LLVMBuildBr(m->b, join);
  LLVMPositionBuilderAtEnd(m->b, part);
  emit_epilogue(c, tl, buf, true);
  LLVMBuildBr(m->b, join);
  LLVMPositionBuilderAtEnd(m->b, join);
}

/* ---- task bodies ------------------------------------------------------------------------------ */

/* conv: pixel tiles of the block for rows [co, co + mr) of group g. */
static void emit_conv_tiles(cv *c, LLVMValueRef n, LLVMValueRef g, LLVMValueRef p0, LLVMValueRef co, int mr)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  LLVMValueRef npix = imin(m, cg_i64c(m, c->NB), LLVMBuildSub(m->b, cg_i64c(m, c->P), p0, ""));
  cg_loop lp;
  LLVMValueRef pt = cg_loop_begin(m, &lp, cg_i64c(m, 0), npix, c->TW, "pt");
  LLVMValueRef chan = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, g, cg_i64c(m, c->cout_g), ""), co, "");
  cv_tile tl = {0};
  tl.mr = mr;
  tl.a = gep(m, c->wt, vptr(m, c->weights, c->ow, c->wt), LLVMBuildMul(m->b, chan, cg_i64c(m, c->Kg), ""));
  tl.b = gep(m, c->wt, LLVMBuildBitCast(m->b, c->scratch, LLVMPointerType(c->wt, 0), ""), pt);
  tl.ldc = c->P;
  tl.chan = chan;
  tl.ybase = LLVMBuildAdd(m->b,
      LLVMBuildMul(m->b, LLVMBuildAdd(m->b, LLVMBuildMul(m->b, n, cg_i64c(m, s->c_out), ""), chan, ""), cg_i64c(m, c->P), ""),
      LLVMBuildAdd(m->b, p0, pt, ""), "");
  tl.valid = LLVMBuildSub(m->b, npix, pt, "");
  emit_tile(c, &tl);
  loop_end_rolled(m, &lp);
}

static void emit_conv_task(cv *c, LLVMValueRef t)
{
  cg_module *m = c->m;
  LLVMValueRef cc = LLVMBuildURem(m->b, t, cg_i64c(m, c->CCn), "");
  t = LLVMBuildUDiv(m->b, t, cg_i64c(m, c->CCn), "");
  LLVMValueRef pb = LLVMBuildURem(m->b, t, cg_i64c(m, c->PBn), "");
  t = LLVMBuildUDiv(m->b, t, cg_i64c(m, c->PBn), "");
  LLVMValueRef g = LLVMBuildURem(m->b, t, cg_i64c(m, c->G), "");
  LLVMValueRef n = LLVMBuildUDiv(m->b, t, cg_i64c(m, c->G), "");
  LLVMValueRef p0 = LLVMBuildMul(m->b, pb, cg_i64c(m, c->NB), "");
  emit_im2col(c, n, g, p0);
  LLVMValueRef co0 = LLVMBuildMul(m->b, cc, cg_i64c(m, c->CC), "");
  LLVMValueRef co1 = imin(m, LLVMBuildAdd(m->b, co0, cg_i64c(m, c->CC), ""), cg_i64c(m, c->cout_g));
  int64_t rem = c->cout_g % c->MR;
  LLVMValueRef full_end = LLVMBuildSub(m->b, co1, cg_i64c(m, 0), "");
  if (rem) {
    /* only the last chunk holds the partial tile; it ends at cout_g */
    LLVMValueRef last = LLVMBuildICmp(m->b, LLVMIntEQ, co1, cg_i64c(m, c->cout_g), "");
    full_end = LLVMBuildSelect(m->b, last, cg_i64c(m, c->cout_g - rem), co1, "");
  }
  cg_loop lc;
  LLVMValueRef co = cg_loop_begin(m, &lc, co0, full_end, c->MR, "co");
  emit_conv_tiles(c, n, g, p0, co, c->MR);
  loop_end_rolled(m, &lc);
  if (rem) {
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(m->b));
    LLVMBasicBlockRef tail = LLVMAppendBasicBlockInContext(m->ctx, fn, "co.tail");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(m->ctx, fn, "co.done");
    LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntEQ, co1, cg_i64c(m, c->cout_g), ""), tail, done);
    LLVMPositionBuilderAtEnd(m->b, tail);
    emit_conv_tiles(c, n, g, p0, cg_i64c(m, c->cout_g - rem), (int)rem);
    LLVMBuildBr(m->b, done);
    LLVMPositionBuilderAtEnd(m->b, done);
  }
}

/* gemm: column tiles of the chunk for rows [r, r + mr) (A tile at word offset aoff of scratch). */
static void emit_gemm_tiles(cv *c, LLVMValueRef row, LLVMValueRef aword, LLVMValueRef j0, LLVMValueRef j1, int mr)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  cg_loop lj;
  LLVMValueRef j = cg_loop_begin(m, &lj, j0, j1, c->TW, "j");
  cv_tile tl = {0};
  tl.mr = mr;
  tl.a = gep(m, c->wt, LLVMBuildBitCast(m->b, c->scratch, LLVMPointerType(c->wt, 0), ""), aword);
  tl.b = gep(m, c->wt, vptr(m, c->weights, c->ow, c->wt), j);
  tl.ldc = s->c_out;
  tl.chan = j;
  tl.ybase = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, row, cg_i64c(m, s->c_out), ""), j, "");
  tl.valid = LLVMBuildSub(m->b, cg_i64c(m, s->c_out), j, "");
  emit_tile(c, &tl);
  loop_end_rolled(m, &lj);
}

static void emit_gemm_task(cv *c, LLVMValueRef t)
{
  cg_module *m = c->m;
  const cg_conv_spec *s = c->s;
  LLVMValueRef cc = LLVMBuildURem(m->b, t, cg_i64c(m, c->CCn), "");
  LLVMValueRef rb = LLVMBuildUDiv(m->b, t, cg_i64c(m, c->CCn), "");
  LLVMValueRef r0 = LLVMBuildMul(m->b, rb, cg_i64c(m, c->RB), "");
  LLVMValueRef nrows = imin(m, cg_i64c(m, c->RB), LLVMBuildSub(m->b, cg_i64c(m, s->n), r0, ""));
  emit_pack_rows(c, r0, nrows);
  LLVMValueRef j0 = LLVMBuildMul(m->b, cc, cg_i64c(m, c->CC), "");
  LLVMValueRef j1 = imin(m, LLVMBuildAdd(m->b, j0, cg_i64c(m, c->CC), ""), cg_i64c(m, c->Npad));
  int64_t rem = s->n % c->MR;
  LLVMValueRef full_rows = LLVMBuildMul(m->b, LLVMBuildSDiv(m->b, nrows, cg_i64c(m, c->MR), ""), cg_i64c(m, c->MR), "");
  cg_loop li;
  LLVMValueRef i = cg_loop_begin(m, &li, cg_i64c(m, 0), full_rows, c->MR, "i");
  emit_gemm_tiles(c, LLVMBuildAdd(m->b, r0, i, ""), LLVMBuildMul(m->b, i, cg_i64c(m, c->Kg), ""), j0, j1, c->MR);
  loop_end_rolled(m, &li);
  if (rem) {
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(m->b));
    LLVMBasicBlockRef tail = LLVMAppendBasicBlockInContext(m->ctx, fn, "row.tail");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(m->ctx, fn, "row.done");
    LLVMBuildCondBr(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, full_rows, nrows, ""), tail, done);
    LLVMPositionBuilderAtEnd(m->b, tail);
    emit_gemm_tiles(c, LLVMBuildAdd(m->b, r0, full_rows, ""), LLVMBuildMul(m->b, full_rows, cg_i64c(m, c->Kg), ""),
                    j0, j1, (int)rem);
    LLVMBuildBr(m->b, done);
    LLVMPositionBuilderAtEnd(m->b, done);
  }
}

/* The shared body's name: every spec field the code depends on, offsets and residual
   constants excepted (they are arguments). Equal names mean identical bodies. */
static void body_name(const cv *c, char *buf, size_t n)
{
  const cg_conv_spec *s = c->s;
  uint32_t lo, hi;
  memcpy(&lo, &s->lo, 4);
  memcpy(&hi, &s->hi, 4);
  snprintf(buf, n,
           "qcb_%d_%d_%d_%d_%d_%d_n%lld_c%lld_%lldx%lld_o%lld_%lldx%lld_k%lldx%lld_s%lldx%lld_d%lldx%lld_"
           "p%lldx%lld_g%lld_%08x_%08x_q%d_%d_r%d_%d",
           (int)s->x_dt, (int)s->w_dt, (int)s->y_dt, (int)s->out_dt, s->has_res ? (int)s->res_dt : -1,
           (int)c->kind, (long long)s->n, (long long)s->c_in, (long long)s->h, (long long)s->w,
           (long long)s->c_out, (long long)s->oh, (long long)s->ow, (long long)s->kh, (long long)s->kw,
           (long long)s->stride_h, (long long)s->stride_w, (long long)s->dil_h, (long long)s->dil_w,
           (long long)s->pad_t, (long long)s->pad_l, (long long)s->group, (unsigned)lo, (unsigned)hi,
           c->is_int ? s->qmin : 0, c->is_int ? s->qmax : 0, s->has_res ? s->rqmin : 0,
           s->has_res ? s->rqmax : 0);
}

#define CV_BODY_ARGS 16

/* The body: void(i8* arena, i8* weights, i8* scratch, i64 t0, i64 t1, i64 x_off, i64 y_off,
   i64 res_off, i64 w_off, i64 bias_off, i64 mult_off, i64 shift_off, i32 rmult0, i32 rmult1,
   i32 rshift0, i32 rshift1). */
static LLVMTypeRef body_type(cg_module *m)
{
  LLVMTypeRef pt[CV_BODY_ARGS];
  for (int i = 0; i < CV_BODY_ARGS; i++) pt[i] = i < 3 ? m->ptr : i < 12 ? m->i64 : m->i32;
  return LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), pt, CV_BODY_ARGS, 0);
}

static void add_enum_attr(cg_module *m, LLVMValueRef fn, unsigned idx, const char *kind, uint64_t val)
{
  unsigned k = LLVMGetEnumAttributeKindForName(kind, strlen(kind));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(m->ctx, k, val));
}

static void vec_width_attr(cg_module *m, LLVMValueRef fn)
{
  if (m->t->vec_bytes == 64) {
    /* Keep 512-bit vectors whole on CPUs tuned to prefer 256 bits (as clang does for zmm
       intrinsics). */
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(m->ctx, "min-legal-vector-width", 22, "512", 3));
  }
}

static LLVMValueRef emit_body(cv *c, const char *name)
{
  cg_module *m = c->m;
  LLVMValueRef fn = LLVMAddFunction(m->mod, name, body_type(m));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_enum_attr(m, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  /* one copy of the code however many layers call it */
  add_enum_attr(m, fn, LLVMAttributeFunctionIndex, "noinline", 0);
  for (unsigned i = 1; i <= 3; i++) {
    add_enum_attr(m, fn, i, "noalias", 0);
    add_enum_attr(m, fn, i, "align", QCA_ALIGN);
  }
  vec_width_attr(m, fn);
  LLVMPositionBuilderAtEnd(m->b, LLVMAppendBasicBlockInContext(m->ctx, fn, "entry"));
  LLVMValueRef *o[] = {&c->ox, &c->oy, &c->ores, &c->ow, &c->obias, &c->omult, &c->oshift,
                       &c->rm[0], &c->rm[1], &c->rs[0], &c->rs[1]};
  for (unsigned i = 0; i < 11; i++) *o[i] = LLVMGetParam(fn, 5 + i);
  c->arena = LLVMGetParam(fn, 0), c->weights = LLVMGetParam(fn, 1), c->scratch = LLVMGetParam(fn, 2);
  cg_loop lt;
  LLVMValueRef t = cg_loop_begin(m, &lt, LLVMGetParam(fn, 3), LLVMGetParam(fn, 4), 1, "t");
  if (c->gemm) emit_gemm_task(c, t);
  else emit_conv_task(c, t);
  loop_end_rolled(m, &lt);
  LLVMBuildRetVoid(m->b);
  return fn;
}

/* Layers with the same geometry, dtypes and epilogue share one body (ResNet-50: 53 convs, about
   20 bodies); each layer's kernel is a wrapper calling it with its offsets. LLVM's time is
   per body, so this is most of the compile time saved. */
qc_status cg_emit_conv(cg_module *m, const cg_conv_spec *s, cg_kernel *k, qc_err *e)
{
  cv c;
  qc_status st = plan(m, s, &c, e);
  if (st) return st;
  if ((st = pack(&c, e))) return st;
  char name[512];
  body_name(&c, name, sizeof name);
  LLVMValueRef body = LLVMGetNamedFunction(m->mod, name);
  if (!body) body = emit_body(&c, name);
  LLVMValueRef prm[5];
  LLVMValueRef fn = cg_kernel_begin(m, s->name, prm);
  vec_width_attr(m, fn);
  LLVMValueRef args[CV_BODY_ARGS];
  for (int i = 0; i < 5; i++) args[i] = prm[i];
  const int64_t offs[7] = {s->x_off, s->y_off, s->has_res ? s->res_off : 0, c.w_off, c.bias_off,
                           c.mult_off, c.shift_off};
  for (int i = 0; i < 7; i++) args[5 + i] = cg_i64c(m, offs[i]);
  const int32_t rc[4] = {s->rmult[0], s->rmult[1], s->rshift[0], s->rshift[1]};
  for (int i = 0; i < 4; i++) args[12 + i] = cg_i32c(m, s->has_res && c.is_int ? rc[i] : 0);
  LLVMBuildCall2(m->b, body_type(m), body, args, CV_BODY_ARGS, "");
  LLVMBuildRetVoid(m->b);
  k->fn = fn;
  if (c.gemm) {
    k->n_tasks = c.RBn * c.CCn;
    k->scratch_bytes = c.RB * c.Kg * 4;
  } else {
    k->n_tasks = s->n * c.G * c.PBn * c.CCn;
    k->scratch_bytes = c.Kg * c.NB * 4;
  }
  k->macs = (uint64_t)(s->n * s->c_out * c.P * c.K);
  return QC_OK;
}
