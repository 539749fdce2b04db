/* Kernels for every node that is not a conv group: quantize / dequantize, QcAdd, pools,
 * activations, broadcast arithmetic, Concat, Softmax, Transpose. Plain loops with the shapes
 * as constants; LLVM's O3 vectorises them. Each kernel splits its work over the outermost
 * dimension (rows, planes) into n_tasks contiguous ranges. The arithmetic is the interpreter's
 * (interp/k_*.c, interp/qmath.h, docs/integer-semantics.md), operation for operation, so float
 * results match to the last bit where libm agrees and integer results exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg_pipeline.h"
#include "infer_nn.h"
#include "infer_tensor.h"

/* Clip with constant bounds. */
typedef struct {
  bool has_lo, has_hi;
  double lo, hi;
} clip_b;

typedef struct {
  cg_module *m;
  LLVMValueRef arena, weights, t0, t1;
  qc_err *e;
  const qc_node *nd;
  clip_b clip;
} kx;

/* An operand: base pointer (arena or weights) + byte offset, its dtype and dims. */
typedef struct {
  LLVMValueRef base;
  int64_t off;
  qc_dtype dt;
  int rank;
  int64_t dims[QC_MAX_RANK];
} opnd;

static LLVMTypeRef elem_ty(cg_module *m, qc_dtype dt)
{
  switch (dt) {
  case QC_DT_F32: return m->f32;
  case QC_DT_U8: case QC_DT_I8: case QC_DT_BOOL: return m->i8;
  case QC_DT_U16: case QC_DT_I16: return m->i16;
  case QC_DT_I32: case QC_DT_U32: return m->i32;
  case QC_DT_I64: case QC_DT_U64: return m->i64;
  default: return NULL;
  }
}

static int elem_bytes(qc_dtype dt) { return dt == QC_DT_UNDEF ? 0 : qc_dtypes[dt].bits / 8; }

static bool is_int_act(qc_dtype dt)
{
  return dt == QC_DT_U8 || dt == QC_DT_I8 || dt == QC_DT_U16 || dt == QC_DT_I16 || dt == QC_DT_I32;
}

static LLVMValueRef eptr(kx *k, const opnd *o, LLVMValueRef idx)
{
  cg_module *m = k->m;
  LLVMTypeRef t = elem_ty(m, o->dt);
  LLVMValueRef p = cg_ptr_at(m, o->base, o->off, t);
  return LLVMBuildGEP2(m->b, t, p, &idx, 1, "");
}

/* Loads element idx: f32 as float, integers extended to i32 (i64 kept as i64). */
static LLVMValueRef load(kx *k, const opnd *o, LLVMValueRef idx)
{
  cg_module *m = k->m;
  LLVMTypeRef t = elem_ty(m, o->dt);
  LLVMValueRef v = LLVMBuildLoad2(m->b, t, eptr(k, o, idx), "");
  LLVMSetAlignment(v, (unsigned)elem_bytes(o->dt));
  if (o->dt == QC_DT_F32 || t == m->i32 || t == m->i64) return v;
  return (qc_dtypes[o->dt].flags & QC_DTF_SIGNED) ? LLVMBuildSExt(m->b, v, m->i32, "")
                                                   : LLVMBuildZExt(m->b, v, m->i32, "");
}

static LLVMValueRef load_raw(kx *k, const opnd *o, LLVMValueRef idx)
{
  LLVMValueRef v = LLVMBuildLoad2(k->m->b, elem_ty(k->m, o->dt), eptr(k, o, idx), "");
  LLVMSetAlignment(v, (unsigned)elem_bytes(o->dt));
  return v;
}

static void store(kx *k, const opnd *o, LLVMValueRef idx, LLVMValueRef v)
{
  cg_module *m = k->m;
  LLVMTypeRef t = elem_ty(m, o->dt);
  if (LLVMTypeOf(v) != t) v = LLVMBuildTrunc(m->b, v, t, "");
  LLVMValueRef s = LLVMBuildStore(m->b, v, eptr(k, o, idx));
  LLVMSetAlignment(s, (unsigned)elem_bytes(o->dt));
}

static LLVMValueRef get_fn(cg_module *m, const char *name, LLVMTypeRef ret, LLVMTypeRef *args,
                           unsigned n, LLVMTypeRef *fty)
{
  *fty = LLVMFunctionType(ret, args, n, 0);
  LLVMValueRef f = LLVMGetNamedFunction(m->mod, name);
  if (!f) f = LLVMAddFunction(m->mod, name, *fty);
  return f;
}

/* A unary math function of float or double: an LLVM intrinsic or libm. */
static LLVMValueRef call1(cg_module *m, const char *name, LLVMValueRef x)
{
  LLVMTypeRef t = LLVMTypeOf(x), fty;
  LLVMValueRef f = get_fn(m, name, t, &t, 1, &fty);
  return LLVMBuildCall2(m->b, fty, f, &x, 1, "");
}

/* The task's item range: [t0 * items / n, t1 * items / n). */
static void task_range(kx *k, int64_t items, int64_t n_tasks, LLVMValueRef *lo, LLVMValueRef *hi)
{
  cg_module *m = k->m;
  if (n_tasks == items) {
    *lo = k->t0, *hi = k->t1;
    return;
  }
  LLVMValueRef it = cg_i64c(m, items), nt = cg_i64c(m, n_tasks);
  *lo = LLVMBuildUDiv(m->b, LLVMBuildMul(m->b, k->t0, it, ""), nt, "");
  *hi = LLVMBuildUDiv(m->b, LLVMBuildMul(m->b, k->t1, it, ""), nt, "");
}

/* Tasks for items of work_each elements: about 32K elements a task, at most 256. */
static int64_t pick_tasks(int64_t items, int64_t work_each)
{
  if (items <= 1) return 1;
  int64_t t = items * (work_each > 0 ? work_each : 1) / 32768;
  if (t > 256) t = 256;
  if (t > items) t = items;
  return t < 1 ? 1 : t;
}

static LLVMValueRef var(kx *k, LLVMTypeRef t, LLVMValueRef init)
{
  cg_module *m = k->m;
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(m->b);
  LLVMValueRef fn = LLVMGetBasicBlockParent(cur);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  LLVMBuilderRef b2 = LLVMCreateBuilderInContext(m->ctx);
  if (first) LLVMPositionBuilderBefore(b2, first);
  else LLVMPositionBuilderAtEnd(b2, entry);
  LLVMValueRef a = LLVMBuildAlloca(b2, t, "");
  LLVMDisposeBuilder(b2);
  LLVMBuildStore(m->b, init, a);
  return a;
}

static LLVMValueRef vload(kx *k, LLVMTypeRef t, LLVMValueRef a) { return LLVMBuildLoad2(k->m->b, t, a, ""); }

static qc_status bad(kx *k, const char *why)
{
  return qc_node_err(k->e, k->nd, QC_ERR_UNSUPPORTED, "not supported by compile (%s)", why);
}

static qc_status bad_dt(kx *k, qc_dtype dt)
{
  return qc_node_err(k->e, k->nd, QC_ERR_UNSUPPORTED, "not supported by compile (dtype %s)",
                     qc_dtype_name(dt));
}

/* ---- broadcast elementwise ---------------------------------------------------------------- */

typedef LLVMValueRef (*ew_fn)(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt);

/* y = fn(x0, x1, ...) with numpy broadcasting: rows over all but the last output dim, each
   operand's offset from the row's coordinates, a unit or zero stride along the last dim. */
static qc_status emit_ew(kx *k, const opnd *x, int n, const opnd *y, ew_fn fn, cg_kernel *kr)
{
  cg_module *m = k->m;
  int R = y->rank;
  int64_t inner = R ? y->dims[R - 1] : 1, total = qc_shape_elems(R, y->dims);
  int64_t rows = inner ? total / inner : 0;
  int64_t st[8][QC_MAX_RANK];
  bool dense[8];
  for (int i = 0; i < n; i++) {
    int64_t s = 1;
    dense[i] = x[i].rank == R;
    for (int d = R - 1; d >= 0; d--) {
      int xd = d - (R - x[i].rank);
      int64_t dim = xd >= 0 ? x[i].dims[xd] : 1;
      st[i][d] = dim == 1 && y->dims[d] != 1 ? 0 : s;
      if (dim != y->dims[d]) dense[i] = false;
      s *= dim;
    }
  }
  kr->n_tasks = pick_tasks(rows, inner);
  if (total == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMValueRef lo, hi;
  task_range(k, rows, kr->n_tasks, &lo, &hi);
  cg_loop lr, li;
  LLVMValueRef r = cg_loop_begin(m, &lr, lo, hi, 1, "r");
  LLVMValueRef base[8];
  for (int i = 0; i < n; i++) {
    if (dense[i]) {
      base[i] = LLVMBuildMul(m->b, r, cg_i64c(m, inner), "");
      continue;
    }
    base[i] = cg_i64c(m, 0);
    int64_t div = 1;
    for (int d = R - 2; d >= 0; d--) {
      if (st[i][d] && y->dims[d] > 1) {
        LLVMValueRef c = LLVMBuildURem(m->b, LLVMBuildUDiv(m->b, r, cg_i64c(m, div), ""),
                                       cg_i64c(m, y->dims[d]), "");
        base[i] = LLVMBuildAdd(m->b, base[i], LLVMBuildMul(m->b, c, cg_i64c(m, st[i][d]), ""), "");
      }
      div *= y->dims[d];
    }
  }
  LLVMValueRef yb = LLVMBuildMul(m->b, r, cg_i64c(m, inner), "");
  LLVMValueRef j = cg_loop_begin(m, &li, cg_i64c(m, 0), cg_i64c(m, inner), 1, "j");
  LLVMValueRef v[8];
  for (int i = 0; i < n; i++) {
    LLVMValueRef idx = R && st[i][R - 1] ? LLVMBuildAdd(m->b, base[i], j, "") : base[i];
    v[i] = load(k, &x[i], idx);
  }
  store(k, y, LLVMBuildAdd(m->b, yb, j, ""), fn(k, k->nd, v, n, y->dt));
  cg_loop_end(m, &li);
  cg_loop_end(m, &lr);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

static LLVMValueRef fsel(cg_module *m, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b,
                         LLVMValueRef t, LLVMValueRef f)
{
  return LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, p, a, b, ""), t, f, "");
}

/* clamp as the interpreter's `v < 0 ? 0 : v > 1 ? 1 : v` */
static LLVMValueRef f01(cg_module *m, LLVMValueRef v)
{
  LLVMValueRef z = cg_f32c(m, 0), o = cg_f32c(m, 1);
  return fsel(m, LLVMRealOLT, v, z, z, fsel(m, LLVMRealOGT, v, o, o, v));
}

static LLVMValueRef ew_unary(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)n;
  cg_module *m = k->m;
  LLVMValueRef v = x[0];
  if (yt != QC_DT_F32) { /* integer Relu */
    LLVMValueRef z = LLVMConstInt(LLVMTypeOf(v), 0, 0);
    return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, v, z, ""), z, v, "");
  }
  LLVMValueRef z = cg_f32c(m, 0), one = cg_f32c(m, 1);
  switch (nd->op) {
  case QC_OP_Relu: return fsel(m, LLVMRealOLT, v, z, z, v);
  case QC_OP_Sigmoid:
    return LLVMBuildFDiv(m->b, one, LLVMBuildFAdd(m->b, one, call1(m, "llvm.exp.f32", LLVMBuildFNeg(m->b, v, "")), ""), "");
  case QC_OP_Tanh: return call1(m, "tanhf", v);
  case QC_OP_Exp: return call1(m, "llvm.exp.f32", v);
  case QC_OP_Log: return call1(m, "llvm.log.f32", v);
  case QC_OP_Sqrt: return call1(m, "llvm.sqrt.f32", v);
  case QC_OP_Abs: return call1(m, "llvm.fabs.f32", v);
  case QC_OP_Floor: return call1(m, "llvm.floor.f32", v);
  case QC_OP_Ceil: return call1(m, "llvm.ceil.f32", v);
  case QC_OP_Neg: return LLVMBuildFNeg(m->b, v, "");
  case QC_OP_Reciprocal: return LLVMBuildFDiv(m->b, one, v, "");
  case QC_OP_HardSigmoid: {
    LLVMValueRef a = cg_f32c(m, qc_attr_f(nd, "alpha", 0.2f)), b = cg_f32c(m, qc_attr_f(nd, "beta", 0.5f));
    return f01(m, LLVMBuildFAdd(m->b, LLVMBuildFMul(m->b, a, v, ""), b, ""));
  }
  case QC_OP_HardSwish: {
    LLVMValueRef t = LLVMBuildFAdd(m->b, LLVMBuildFDiv(m->b, v, cg_f32c(m, 6), ""), cg_f32c(m, 0.5f), "");
    return LLVMBuildFMul(m->b, v, f01(m, t), "");
  }
  case QC_OP_LeakyRelu: {
    LLVMValueRef a = cg_f32c(m, qc_attr_f(nd, "alpha", 0.01f));
    LLVMValueRef neg = LLVMBuildFCmp(m->b, LLVMRealOLT, v, z, "");
    LLVMValueRef pos = LLVMBuildSelect(m->b, neg, z, v, "");
    LLVMValueRef ng = LLVMBuildSelect(m->b, neg, v, z, "");
    return LLVMBuildFAdd(m->b, pos, LLVMBuildFMul(m->b, a, ng, ""), "");
  }
  default: return v;
  }
}

/* f32: IEEE; integers (same dtype): wrapping arithmetic in the loaded width, truncated to the
   dtype on store, as the interpreter's (T)((W)x op (W)z). Max/Min: NaN from either side. */
static LLVMValueRef ew_binary(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)n;
  cg_module *m = k->m;
  LLVMValueRef a = x[0], b = x[1];
  if (yt != QC_DT_F32) {
    bool sg = (qc_dtypes[yt].flags & QC_DTF_SIGNED) != 0;
    switch (nd->op) {
    case QC_OP_Add: return LLVMBuildAdd(m->b, a, b, "");
    case QC_OP_Sub: return LLVMBuildSub(m->b, a, b, "");
    case QC_OP_Mul: return LLVMBuildMul(m->b, a, b, "");
    case QC_OP_Max:
      return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, sg ? LLVMIntSGT : LLVMIntUGT, a, b, ""), a, b, "");
    default:
      return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, sg ? LLVMIntSLT : LLVMIntULT, a, b, ""), a, b, "");
    }
  }
  switch (nd->op) {
  case QC_OP_Add: return LLVMBuildFAdd(m->b, a, b, "");
  case QC_OP_Sub: return LLVMBuildFSub(m->b, a, b, "");
  case QC_OP_Mul: return LLVMBuildFMul(m->b, a, b, "");
  case QC_OP_Div: return LLVMBuildFDiv(m->b, a, b, "");
  case QC_OP_PRelu: return fsel(m, LLVMRealOLT, a, cg_f32c(m, 0), LLVMBuildFMul(m->b, b, a, ""), a);
  case QC_OP_Max:
  case QC_OP_Min: {
    LLVMValueRef nan = LLVMBuildFCmp(m->b, LLVMRealUNO, a, a, "");
    LLVMValueRef c = LLVMBuildFCmp(m->b, nd->op == QC_OP_Max ? LLVMRealOGT : LLVMRealOLT, a, b, "");
    return LLVMBuildSelect(m->b, LLVMBuildOr(m->b, nan, c, ""), a, b, "");
  }
  default: return a;
  }
}

/* Clip: x < lo ? lo : x, then v > hi ? hi : v (NaN passes through). */
static LLVMValueRef ew_clip_with(kx *k, LLVMValueRef v, qc_dtype yt, const clip_b *c)
{
  cg_module *m = k->m;
  if (yt == QC_DT_F32) {
    if (c->has_lo) v = fsel(m, LLVMRealOLT, v, cg_f32c(m, (float)c->lo), cg_f32c(m, (float)c->lo), v);
    if (c->has_hi) v = fsel(m, LLVMRealOGT, v, cg_f32c(m, (float)c->hi), cg_f32c(m, (float)c->hi), v);
    return v;
  }
  LLVMTypeRef t = LLVMTypeOf(v);
  if (c->has_lo) {
    LLVMValueRef l = LLVMConstInt(t, (unsigned long long)(int64_t)c->lo, 1);
    v = LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, v, l, ""), l, v, "");
  }
  if (c->has_hi) {
    LLVMValueRef h = LLVMConstInt(t, (unsigned long long)(int64_t)c->hi, 1);
    v = LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, v, h, ""), h, v, "");
  }
  return v;
}

/* ---- the quantc integer ops --------------------------------------------------------------- */

static LLVMValueRef ew_quantize(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)n, (void)yt;
  cg_module *m = k->m;
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
  /* rint in the default environment = round half to even; a true division as QuantizeLinear. */
  LLVMValueRef q = call1(m, "llvm.rint.f32", LLVMBuildFDiv(m->b, x[0], cg_f32c(m, qc_attr_f(nd, "scale", 1)), ""));
  LLVMValueRef d = LLVMBuildFPExt(m->b, q, f64, "");
  LLVMValueRef zero = LLVMConstReal(f64, 0);
  d = LLVMBuildSelect(m->b, LLVMBuildFCmp(m->b, LLVMRealUNO, d, d, ""), zero, d, "");
  LLVMValueRef lo = LLVMConstReal(f64, (double)qc_attr_i(nd, "qmin", 0));
  LLVMValueRef hi = LLVMConstReal(f64, (double)qc_attr_i(nd, "qmax", 0));
  d = fsel(m, LLVMRealOLT, d, lo, lo, fsel(m, LLVMRealOGT, d, hi, hi, d));
  return LLVMBuildFPToSI(m->b, d, m->i64, "");
}

static LLVMValueRef ew_dequantize(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)n, (void)yt;
  cg_module *m = k->m;
  LLVMValueRef f = LLVMBuildSIToFP(m->b, x[0], m->f32, "");
  return LLVMBuildFMul(m->b, f, cg_f32c(m, qc_attr_f(nd, "scale", 1)), "");
}

static LLVMValueRef ew_qcadd(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)n, (void)yt;
  cg_module *m = k->m;
  const int64_t *mu, *sh;
  qc_attr_ints(nd, "mult", &mu);
  qc_attr_ints(nd, "shift", &sh);
  /* Each branch requantized on its own, summed unclamped in int64, clamped once. */
  LLVMValueRef a = cg_requant(m, x[0], cg_i32c(m, (int32_t)mu[0]), cg_i32c(m, (int32_t)sh[0]));
  LLVMValueRef b = cg_requant(m, x[1], cg_i32c(m, (int32_t)mu[1]), cg_i32c(m, (int32_t)sh[1]));
  LLVMValueRef s = LLVMBuildAdd(m->b, a, b, "");
  LLVMValueRef lo = cg_i64c(m, qc_attr_i(nd, "qmin", 0)), hi = cg_i64c(m, qc_attr_i(nd, "qmax", 0));
  s = LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSLT, s, lo, ""), lo, s, "");
  return LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntSGT, s, hi, ""), hi, s, "");
}

/* ---- global pools ------------------------------------------------------------------------- */

/* GlobalAveragePool (f32: double sum / count), GlobalMaxPool (f32), QcGlobalAveragePool
   (int64 sum, floor division). One item per (n, c) plane. */
static qc_status emit_gpool(kx *k, const opnd *x, const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  int64_t planes = x->dims[0] * x->dims[1], S = qc_shape_elems(x->rank - 2, x->dims + 2);
  if (S == 0) return bad(k, "empty spatial extent");
  kr->n_tasks = pick_tasks(planes, S);
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
  LLVMValueRef lo, hi;
  task_range(k, planes, kr->n_tasks, &lo, &hi);
  bool integer = k->nd->op == QC_OP_QcGlobalAveragePool, mx = k->nd->op == QC_OP_GlobalMaxPool;
  LLVMTypeRef at = integer ? m->i64 : mx ? m->f32 : f64;
  LLVMValueRef acc = var(k, at, integer ? cg_i64c(m, 0) : LLVMConstReal(at, mx ? -INFINITY : 0));
  cg_loop lp, li;
  LLVMValueRef p = cg_loop_begin(m, &lp, lo, hi, 1, "p");
  LLVMBuildStore(m->b, integer ? cg_i64c(m, 0) : LLVMConstReal(at, mx ? -INFINITY : 0), acc);
  LLVMValueRef pb = LLVMBuildMul(m->b, p, cg_i64c(m, S), "");
  LLVMValueRef i = cg_loop_begin(m, &li, cg_i64c(m, 0), cg_i64c(m, S), 1, "i");
  LLVMValueRef v = load(k, x, LLVMBuildAdd(m->b, pb, i, ""));
  LLVMValueRef a = vload(k, at, acc);
  if (integer) a = LLVMBuildAdd(m->b, a, LLVMBuildSExt(m->b, v, m->i64, ""), "");
  else if (mx) a = fsel(m, LLVMRealOGT, v, a, v, a);
  else a = LLVMBuildFAdd(m->b, a, LLVMBuildFPExt(m->b, v, f64, ""), "");
  LLVMBuildStore(m->b, a, acc);
  cg_loop_end(m, &li);
  LLVMValueRef s = vload(k, at, acc), out;
  if (integer) {
    /* floor(sum / S): truncating division, one step down for an inexact negative quotient. */
    LLVMValueRef cS = cg_i64c(m, S), q = LLVMBuildSDiv(m->b, s, cS, "");
    LLVMValueRef r = LLVMBuildSRem(m->b, s, cS, "");
    LLVMValueRef down = LLVMBuildAnd(m->b, LLVMBuildICmp(m->b, LLVMIntNE, r, cg_i64c(m, 0), ""),
                                     LLVMBuildICmp(m->b, LLVMIntSLT, s, cg_i64c(m, 0), ""), "");
    out = LLVMBuildSub(m->b, q, LLVMBuildZExt(m->b, down, m->i64, ""), "");
  } else if (mx) {
    out = s;
  } else {
    out = LLVMBuildFPTrunc(m->b, LLVMBuildFDiv(m->b, s, LLVMConstReal(f64, (double)S), ""), m->f32, "");
  }
  store(k, y, p, out);
  cg_loop_end(m, &lp);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- windowed pools ----------------------------------------------------------------------- */

/* Per output position of one axis: window start, the taps [lo, hi) inside the input and the
   count of taps inside the padded extent (interp/k_nn.c's taps()). */
static void taps(const qc_window *g, int a, int64_t o, int32_t t[4])
{
  int64_t s = o * g->stride[a] - g->pad_begin[a], d = g->dilation[a], kk = g->kernel[a];
  int64_t lo = s >= 0 ? 0 : (-s + d - 1) / d;
  int64_t hi = g->in[a] - s <= 0 ? 0 : (g->in[a] - s + d - 1) / d;
  if (hi > kk) hi = kk;
  if (lo > hi) lo = hi;
  int64_t plo = s >= -g->pad_begin[a] ? 0 : (-g->pad_begin[a] - s + d - 1) / d;
  int64_t lim = g->in[a] + g->pad_end[a] - s;
  int64_t phi = lim <= 0 ? 0 : (lim + d - 1) / d;
  if (phi > kk) phi = kk;
  t[0] = (int32_t)s, t[1] = (int32_t)lo, t[2] = (int32_t)hi, t[3] = (int32_t)(phi > plo ? phi - plo : 0);
}

static qc_status emit_pool(kx *k, const qc_node *nd, const opnd *x, const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  bool mx = nd->op == QC_OP_MaxPool;
  if (x->rank != 4) return bad(k, "only 2-D pooling");
  if (mx ? (x->dt != QC_DT_F32 && x->dt != QC_DT_U8 && x->dt != QC_DT_I8) : x->dt != QC_DT_F32)
    return bad_dt(k, x->dt);
  qc_tinfo xi;
  memset(&xi, 0, sizeof xi);
  xi.dtype = x->dt, xi.rank = x->rank;
  memcpy(xi.dims, x->dims, sizeof xi.dims);
  qc_window g;
  qc_status st = qc_pool_window(nd, &xi, &g, k->e);
  if (st) return st;
  int64_t OH = g.out[0], OW = g.out[1], H = g.in[0], W = g.in[1];
  if (OH != y->dims[2] || OW != y->dims[3]) return bad(k, "pool output shape");
  int32_t *tab = malloc((size_t)(OH + OW) * 4 * sizeof(int32_t) + 16);
  if (!tab) return qc_err_set(k->e, QC_ERR_NOMEM, "out of memory");
  for (int64_t o = 0; o < OH; o++) taps(&g, 0, o, tab + 4 * o);
  for (int64_t o = 0; o < OW; o++) taps(&g, 1, o, tab + 4 * (OH + o));
  int64_t toff = cg_weights_add(m, tab, (size_t)(OH + OW) * 4 * sizeof(int32_t), 64, k->e);
  free(tab);
  if (toff < 0) return k->e->code;
  opnd T = {k->weights, toff, QC_DT_I32, 1, {(OH + OW) * 4}};
  int64_t planes = x->dims[0] * x->dims[1];
  kr->n_tasks = pick_tasks(planes, OH * OW * g.kernel[0] * g.kernel[1]);
  bool incl = qc_attr_i(nd, "count_include_pad", 0) != 0;
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
  bool fl = x->dt == QC_DT_F32;
  LLVMTypeRef vt = fl ? m->f32 : m->i32;
  LLVMValueRef lowest = fl ? cg_f32c(m, -INFINITY) : cg_i32c(m, x->dt == QC_DT_U8 ? 0 : -128);
  LLVMValueRef best = var(k, vt, lowest), first = var(k, m->i1, LLVMConstInt(m->i1, 1, 0));
  LLVMValueRef acc = var(k, f64, LLVMConstReal(f64, 0));
  LLVMValueRef lo, hi;
  task_range(k, planes, kr->n_tasks, &lo, &hi);
  cg_loop lp, lh, lw, ljh, ljw;
  LLVMValueRef p = cg_loop_begin(m, &lp, lo, hi, 1, "p");
  LLVMValueRef xb = LLVMBuildMul(m->b, p, cg_i64c(m, H * W), "");
  LLVMValueRef oh = cg_loop_begin(m, &lh, cg_i64c(m, 0), cg_i64c(m, OH), 1, "oh");
  LLVMValueRef th = LLVMBuildMul(m->b, oh, cg_i64c(m, 4), ""), hv[4];
  for (int i = 0; i < 4; i++)
    hv[i] = LLVMBuildSExt(m->b, load(k, &T, LLVMBuildAdd(m->b, th, cg_i64c(m, i), "")), m->i64, "");
  LLVMValueRef ow = cg_loop_begin(m, &lw, cg_i64c(m, 0), cg_i64c(m, OW), 1, "ow");
  LLVMValueRef tw = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, ow, cg_i64c(m, 4), ""), cg_i64c(m, 4 * OH), ""), wv[4];
  for (int i = 0; i < 4; i++)
    wv[i] = LLVMBuildSExt(m->b, load(k, &T, LLVMBuildAdd(m->b, tw, cg_i64c(m, i), "")), m->i64, "");
  LLVMBuildStore(m->b, lowest, best);
  LLVMBuildStore(m->b, LLVMConstInt(m->i1, 1, 0), first);
  LLVMBuildStore(m->b, LLVMConstReal(f64, 0), acc);
  LLVMValueRef jh = cg_loop_begin(m, &ljh, hv[1], hv[2], 1, "jh");
  LLVMValueRef ih = LLVMBuildAdd(m->b, hv[0], LLVMBuildMul(m->b, jh, cg_i64c(m, g.dilation[0]), ""), "");
  LLVMValueRef rowb = LLVMBuildAdd(m->b, xb, LLVMBuildMul(m->b, ih, cg_i64c(m, W), ""), "");
  LLVMValueRef jw = cg_loop_begin(m, &ljw, wv[1], wv[2], 1, "jw");
  LLVMValueRef iw = LLVMBuildAdd(m->b, wv[0], LLVMBuildMul(m->b, jw, cg_i64c(m, g.dilation[1]), ""), "");
  LLVMValueRef v = load(k, x, LLVMBuildAdd(m->b, rowb, iw, ""));
  if (mx) {
    /* The first tap, then strictly greater ones: the first maximum, NaN as the interpreter. */
    LLVMValueRef b0 = vload(k, vt, best);
    LLVMValueRef gt = fl ? LLVMBuildFCmp(m->b, LLVMRealOGT, v, b0, "") : LLVMBuildICmp(m->b, LLVMIntSGT, v, b0, "");
    LLVMValueRef take = LLVMBuildOr(m->b, gt, vload(k, m->i1, first), "");
    LLVMBuildStore(m->b, LLVMBuildSelect(m->b, take, v, b0, ""), best);
    LLVMBuildStore(m->b, LLVMConstInt(m->i1, 0, 0), first);
  } else {
    LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, vload(k, f64, acc), LLVMBuildFPExt(m->b, v, f64, ""), ""), acc);
  }
  cg_loop_end(m, &ljw);
  cg_loop_end(m, &ljh);
  LLVMValueRef yi = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, p, cg_i64c(m, OH * OW), ""),
                                 LLVMBuildAdd(m->b, LLVMBuildMul(m->b, oh, cg_i64c(m, OW), ""), ow, ""), "");
  if (mx) {
    store(k, y, yi, vload(k, vt, best));
  } else {
    LLVMValueRef div = incl ? LLVMBuildMul(m->b, hv[3], wv[3], "")
                            : LLVMBuildMul(m->b, LLVMBuildSub(m->b, hv[2], hv[1], ""),
                                           LLVMBuildSub(m->b, wv[2], wv[1], ""), "");
    LLVMValueRef q = LLVMBuildFDiv(m->b, vload(k, f64, acc), LLVMBuildSIToFP(m->b, div, f64, ""), "");
    q = LLVMBuildSelect(m->b, LLVMBuildICmp(m->b, LLVMIntEQ, div, cg_i64c(m, 0), ""), LLVMConstReal(f64, 0), q, "");
    store(k, y, yi, LLVMBuildFPTrunc(m->b, q, m->f32, ""));
  }
  cg_loop_end(m, &lw);
  cg_loop_end(m, &lh);
  cg_loop_end(m, &lp);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- Softmax over the last axis ------------------------------------------------------------ */

static qc_status emit_softmax(kx *k, const qc_node *nd, const opnd *x, const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  if (x->dt != QC_DT_F32 || x->rank < 1) return bad_dt(k, x->dt);
  int64_t axis = qc_attr_i(nd, "axis", -1);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= x->rank) return bad(k, "softmax axis");
  if (qc_shape_elems(x->rank - (int)axis - 1, x->dims + axis + 1) != 1) return bad(k, "softmax axis not last");
  int64_t len = x->dims[axis], total = qc_shape_elems(x->rank, x->dims);
  int64_t lines = len ? total / len : 0;
  kr->n_tasks = pick_tasks(lines, len * 4);
  if (lines == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(m->ctx);
  LLVMValueRef lo, hi;
  task_range(k, lines, kr->n_tasks, &lo, &hi);
  LLVMValueRef mxv = var(k, m->f32, cg_f32c(m, 0)), sum = var(k, f64, LLVMConstReal(f64, 0));
  cg_loop ll, l1, l2, l3;
  LLVMValueRef l = cg_loop_begin(m, &ll, lo, hi, 1, "l");
  LLVMValueRef b = LLVMBuildMul(m->b, l, cg_i64c(m, len), "");
  LLVMBuildStore(m->b, load(k, x, b), mxv);
  LLVMValueRef j = cg_loop_begin(m, &l1, cg_i64c(m, 1), cg_i64c(m, len), 1, "j");
  LLVMValueRef v = load(k, x, LLVMBuildAdd(m->b, b, j, "")), c = vload(k, m->f32, mxv);
  LLVMBuildStore(m->b, fsel(m, LLVMRealOGT, v, c, v, c), mxv);
  cg_loop_end(m, &l1);
  LLVMValueRef mx = vload(k, m->f32, mxv);
  LLVMBuildStore(m->b, LLVMConstReal(f64, 0), sum);
  j = cg_loop_begin(m, &l2, cg_i64c(m, 0), cg_i64c(m, len), 1, "j");
  v = LLVMBuildFSub(m->b, load(k, x, LLVMBuildAdd(m->b, b, j, "")), mx, "");
  LLVMValueRef ex = call1(m, "llvm.exp.f64", LLVMBuildFPExt(m->b, v, f64, ""));
  LLVMBuildStore(m->b, LLVMBuildFAdd(m->b, vload(k, f64, sum), ex, ""), sum);
  cg_loop_end(m, &l2);
  LLVMValueRef inv = LLVMBuildFPTrunc(m->b, LLVMBuildFDiv(m->b, LLVMConstReal(f64, 1), vload(k, f64, sum), ""), m->f32, "");
  j = cg_loop_begin(m, &l3, cg_i64c(m, 0), cg_i64c(m, len), 1, "j");
  LLVMValueRef idx = LLVMBuildAdd(m->b, b, j, "");
  v = LLVMBuildFSub(m->b, load(k, x, idx), mx, "");
  store(k, y, idx, LLVMBuildFMul(m->b, call1(m, "llvm.exp.f32", v), inv, ""));
  cg_loop_end(m, &l3);
  cg_loop_end(m, &ll);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- data movement: Concat, Transpose ----------------------------------------------------- */

static qc_status emit_concat(kx *k, const qc_node *nd, const opnd *x, int n, const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  int64_t axis = qc_attr_i(nd, "axis", 0);
  if (axis < 0) axis += y->rank;
  if (axis < 0 || axis >= y->rank) return bad(k, "concat axis");
  int64_t outer = qc_shape_elems((int)axis, y->dims);
  int64_t yrow = qc_shape_elems(y->rank - (int)axis, y->dims + axis);
  kr->n_tasks = pick_tasks(outer, yrow);
  if (outer == 0 || yrow == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMValueRef lo, hi;
  task_range(k, outer, kr->n_tasks, &lo, &hi);
  cg_loop lr;
  LLVMValueRef r = cg_loop_begin(m, &lr, lo, hi, 1, "r");
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (x[i].dt != y->dt) return bad(k, "concat of mixed dtypes");
    int64_t xrow = qc_shape_elems(x[i].rank - (int)axis, x[i].dims + axis);
    if (xrow > 0) {
      cg_loop lj;
      LLVMValueRef xb = LLVMBuildMul(m->b, r, cg_i64c(m, xrow), "");
      LLVMValueRef yb = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, r, cg_i64c(m, yrow), ""), cg_i64c(m, at), "");
      LLVMValueRef j = cg_loop_begin(m, &lj, cg_i64c(m, 0), cg_i64c(m, xrow), 1, "j");
      store(k, y, LLVMBuildAdd(m->b, yb, j, ""), load_raw(k, &x[i], LLVMBuildAdd(m->b, xb, j, "")));
      cg_loop_end(m, &lj);
    }
    at += xrow;
  }
  cg_loop_end(m, &lr);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

static qc_status emit_transpose(kx *k, const qc_node *nd, const opnd *x, const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  int R = x->rank;
  int64_t perm[QC_MAX_RANK];
  const int64_t *pa;
  int64_t np = qc_attr_ints(nd, "perm", &pa);
  for (int d = 0; d < R; d++) perm[d] = np == R ? pa[d] : R - 1 - d;
  int64_t xs[QC_MAX_RANK], s = 1;
  for (int d = R - 1; d >= 0; d--) xs[d] = s, s *= x->dims[d];
  int64_t total = qc_shape_elems(R, y->dims), inner = R ? y->dims[R - 1] : 1;
  int64_t rows = inner ? total / inner : 0;
  kr->n_tasks = pick_tasks(rows, inner);
  if (total == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMValueRef lo, hi;
  task_range(k, rows, kr->n_tasks, &lo, &hi);
  cg_loop lr, lj;
  LLVMValueRef r = cg_loop_begin(m, &lr, lo, hi, 1, "r");
  LLVMValueRef xb = cg_i64c(m, 0);
  int64_t div = 1;
  for (int d = R - 2; d >= 0; d--) {
    LLVMValueRef c = LLVMBuildURem(m->b, LLVMBuildUDiv(m->b, r, cg_i64c(m, div), ""), cg_i64c(m, y->dims[d]), "");
    xb = LLVMBuildAdd(m->b, xb, LLVMBuildMul(m->b, c, cg_i64c(m, xs[perm[d]]), ""), "");
    div *= y->dims[d];
  }
  LLVMValueRef yb = LLVMBuildMul(m->b, r, cg_i64c(m, inner), "");
  LLVMValueRef j = cg_loop_begin(m, &lj, cg_i64c(m, 0), cg_i64c(m, inner), 1, "j");
  LLVMValueRef xi = R ? LLVMBuildAdd(m->b, xb, LLVMBuildMul(m->b, j, cg_i64c(m, xs[perm[R - 1]]), ""), "") : xb;
  store(k, y, LLVMBuildAdd(m->b, yb, j, ""), load_raw(k, x, xi));
  cg_loop_end(m, &lj);
  cg_loop_end(m, &lr);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- Pad ---------------------------------------------------------------------------------- */

/* Per output axis a table maps each coordinate to the input's element offset along that axis,
   or -1 for the constant fill (reflect and edge remap, as the interpreter's k_pad). A row (all
   but the last axis) sums its axes' entries; any -1 makes it fill. */
static qc_status emit_pad(kx *k, const qc_graph *g, const qc_node *nd, const opnd *x,
                          const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  int R = x->rank;
  if (R < 1 || y->rank != R || x->dt != y->dt) return bad_dt(k, x->dt);
  qc_tinfo ti[4];
  int nt = nd->n_in < 4 ? nd->n_in : 4;
  memset(ti, 0, sizeof ti);
  for (int i = 0; i < nt; i++) {
    if (nd->in[i] < 0) continue;
    const qc_value *v = &g->values[nd->in[i]];
    ti[i].dtype = v->dtype, ti[i].rank = v->rank;
    memcpy(ti[i].dims, v->dims, sizeof ti[i].dims);
    ti[i].data = (v->flags & QC_VAL_CONST) ? v->data : NULL;
  }
  int64_t before[QC_MAX_RANK], after[QC_MAX_RANK], str[QC_MAX_RANK], tab_off[QC_MAX_RANK], n = 0;
  int mode;
  qc_status st = qc_pad_resolve(nd, ti, nt, before, after, &mode, k->e);
  if (st) return st;
  for (int d = R - 1, acc = 1; d >= 0; d--) str[d] = acc, acc *= (int)x->dims[d];
  for (int d = 0; d < R; d++) tab_off[d] = n, n += y->dims[d];
  int64_t *tab = malloc(sizeof(int64_t) * (size_t)(n + 1));
  if (!tab) return qc_err_set(k->e, QC_ERR_NOMEM, "out of memory");
  for (int d = 0; d < R; d++) {
    int64_t dim = x->dims[d];
    for (int64_t i = 0; i < y->dims[d]; i++) {
      int64_t s = i - before[d];
      if (s < 0 || s >= dim) {
        if (mode == 0 || dim == 0) {
          tab[tab_off[d] + i] = -1;
          continue;
        }
        if (mode == 1) s = s < 0 ? -s : 2 * (dim - 1) - s;
        else s = s < 0 ? 0 : dim - 1;
      }
      tab[tab_off[d] + i] = s * str[d];
    }
  }
  int64_t toff = cg_weights_add(m, tab, sizeof(int64_t) * (size_t)n, 64, k->e);
  free(tab);
  if (toff < 0) return k->e->code;
  opnd T = {k->weights, toff, QC_DT_I64, 1, {n}};
  /* The fill: input 2 when it is a constant scalar of x's dtype, else 0. */
  LLVMTypeRef et = elem_ty(m, x->dt);
  LLVMValueRef fill = x->dt == QC_DT_F32 ? cg_f32c(m, 0) : LLVMConstInt(et, 0, 0);
  if (nd->n_in > 2 && nd->in[2] >= 0) {
    const qc_value *cv = &g->values[nd->in[2]];
    if (cv->dtype == x->dt && (cv->flags & QC_VAL_CONST) && cv->data &&
        qc_shape_elems(cv->rank, cv->dims) == 1) {
      if (x->dt == QC_DT_F32) {
        fill = cg_f32c(m, *(const float *)cv->data);
      } else {
        uint64_t bits = 0;
        memcpy(&bits, cv->data, (size_t)elem_bytes(x->dt));
        fill = LLVMConstInt(et, bits, 0);
      }
    }
  }
  int64_t inner = y->dims[R - 1], total = qc_shape_elems(R, y->dims);
  int64_t rows = inner ? total / inner : 0;
  kr->n_tasks = pick_tasks(rows, inner);
  if (total == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMValueRef lo, hi;
  task_range(k, rows, kr->n_tasks, &lo, &hi);
  cg_loop lr, lj;
  LLVMValueRef r = cg_loop_begin(m, &lr, lo, hi, 1, "r");
  LLVMValueRef base = cg_i64c(m, 0), ok = LLVMConstInt(m->i1, 1, 0), zero = cg_i64c(m, 0);
  int64_t div = 1;
  for (int d = R - 2; d >= 0; d--) {
    LLVMValueRef c = LLVMBuildURem(m->b, LLVMBuildUDiv(m->b, r, cg_i64c(m, div), ""), cg_i64c(m, y->dims[d]), "");
    LLVMValueRef e = load(k, &T, LLVMBuildAdd(m->b, c, cg_i64c(m, tab_off[d]), ""));
    ok = LLVMBuildAnd(m->b, ok, LLVMBuildICmp(m->b, LLVMIntSGE, e, zero, ""), "");
    base = LLVMBuildAdd(m->b, base, e, "");
    div *= y->dims[d];
  }
  LLVMValueRef yb = LLVMBuildMul(m->b, r, cg_i64c(m, inner), "");
  LLVMValueRef j = cg_loop_begin(m, &lj, cg_i64c(m, 0), cg_i64c(m, inner), 1, "j");
  LLVMValueRef e = load(k, &T, LLVMBuildAdd(m->b, j, cg_i64c(m, tab_off[R - 1]), ""));
  LLVMValueRef v_ok = LLVMBuildAnd(m->b, ok, LLVMBuildICmp(m->b, LLVMIntSGE, e, zero, ""), "");
  LLVMValueRef idx = LLVMBuildSelect(m->b, v_ok, LLVMBuildAdd(m->b, base, e, ""), zero, "");
  LLVMValueRef v = load_raw(k, x, idx);
  store(k, y, LLVMBuildAdd(m->b, yb, j, ""), LLVMBuildSelect(m->b, v_ok, v, fill, ""));
  cg_loop_end(m, &lj);
  cg_loop_end(m, &lr);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- BatchNormalization (inference) -------------------------------------------------------- */

/* y = x * a[c] + b[c] with a = scale / sqrtf(var + eps), b = B - mean * a computed at compile
   time in float, as the interpreter folds them (one BN not absorbed by a conv, e.g. after a
   Concat in DenseNet). */
static qc_status emit_bn(kx *k, const qc_graph *g, const qc_node *nd, const opnd *x,
                         const opnd *y, cg_kernel *kr)
{
  cg_module *m = k->m;
  if (x->dt != QC_DT_F32 || y->dt != QC_DT_F32 || x->rank < 2 || nd->n_in < 5 ||
      qc_attr_i(nd, "training_mode", 0) != 0)
    return bad(k, "batch normalization in training mode or not f32");
  int64_t C = x->dims[1], N = x->dims[0], plane = qc_shape_elems(x->rank - 2, x->dims + 2);
  const float *pr[4];
  for (int i = 0; i < 4; i++) {
    const qc_value *v = nd->in[i + 1] >= 0 ? &g->values[nd->in[i + 1]] : NULL;
    if (!v || !(v->flags & QC_VAL_CONST) || !v->data || v->dtype != QC_DT_F32 ||
        qc_shape_elems(v->rank, v->dims) != C)
      return bad(k, "batch normalization parameters must be constants");
    pr[i] = v->data;
  }
  float *ab = malloc(sizeof(float) * 2 * (size_t)(C + 1));
  if (!ab) return qc_err_set(k->e, QC_ERR_NOMEM, "out of memory");
  float eps = qc_attr_f(nd, "epsilon", 1e-5f);
  for (int64_t c = 0; c < C; c++) {
    ab[c] = pr[0][c] / sqrtf(pr[3][c] + eps);
    ab[C + c] = pr[1][c] - pr[2][c] * ab[c];
  }
  int64_t off = cg_weights_add(m, ab, sizeof(float) * 2 * (size_t)C, 64, k->e);
  free(ab);
  if (off < 0) return k->e->code;
  opnd A = {k->weights, off, QC_DT_F32, 1, {2 * C}};
  int64_t planes = N * C;
  kr->n_tasks = pick_tasks(planes, plane);
  if (planes == 0 || plane == 0) {
    LLVMBuildRetVoid(m->b);
    return QC_OK;
  }
  LLVMValueRef lo, hi;
  task_range(k, planes, kr->n_tasks, &lo, &hi);
  cg_loop lp, li;
  LLVMValueRef p = cg_loop_begin(m, &lp, lo, hi, 1, "p");
  LLVMValueRef c = LLVMBuildURem(m->b, p, cg_i64c(m, C), "");
  LLVMValueRef a = load(k, &A, c), b = load(k, &A, LLVMBuildAdd(m->b, c, cg_i64c(m, C), ""));
  LLVMValueRef pb = LLVMBuildMul(m->b, p, cg_i64c(m, plane), "");
  LLVMValueRef i = cg_loop_begin(m, &li, cg_i64c(m, 0), cg_i64c(m, plane), 1, "i");
  LLVMValueRef idx = LLVMBuildAdd(m->b, pb, i, "");
  store(k, y, idx, LLVMBuildFAdd(m->b, LLVMBuildFMul(m->b, load(k, x, idx), a, ""), b, ""));
  cg_loop_end(m, &li);
  cg_loop_end(m, &lp);
  LLVMBuildRetVoid(m->b);
  return QC_OK;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static clip_b clip_of(const qc_graph *g, const qc_node *nd, bool *ok)
{
  clip_b c = {false, false, 0, 0};
  *ok = true;
  for (int i = 1; i < 3 && i < nd->n_in; i++) {
    int32_t v = nd->in[i];
    if (v < 0) continue;
    const qc_value *cv = &g->values[v];
    if (!(cv->flags & QC_VAL_CONST) || !cv->data || qc_shape_elems(cv->rank, cv->dims) != 1) {
      *ok = false;
      return c;
    }
    double d;
    switch (cv->dtype) {
    case QC_DT_F32: d = *(const float *)cv->data; break;
    case QC_DT_U8: d = *(const uint8_t *)cv->data; break;
    case QC_DT_I8: d = *(const int8_t *)cv->data; break;
    case QC_DT_I16: d = *(const int16_t *)cv->data; break;
    case QC_DT_U16: d = *(const uint16_t *)cv->data; break;
    case QC_DT_I32: d = *(const int32_t *)cv->data; break;
    default: *ok = false; return c;
    }
    if (i == 1) c.has_lo = true, c.lo = d;
    else c.has_hi = true, c.hi = d;
  }
  return c;
}

static LLVMValueRef ew_clip(kx *k, const qc_node *nd, LLVMValueRef *x, int n, qc_dtype yt)
{
  (void)nd, (void)n;
  return ew_clip_with(k, x[0], yt, &k->clip);
}

/* A flat element copy (through the transpose emitter with rank 1). */
static qc_status emit_copy(kx *k, const qc_node *nd, const opnd *x, const opnd *y, cg_kernel *kr)
{
  opnd xf = *x, yf = *y;
  xf.rank = yf.rank = 1;
  xf.dims[0] = yf.dims[0] = qc_shape_elems(x->rank, x->dims);
  return emit_transpose(k, nd, &xf, &yf, kr);
}

qc_status cg_emit_node(cg_module *m, const qc_graph *g, const qc_node *nd, const cg_buf *in,
                       int n_in, const cg_buf *out, int n_out, cg_kernel *kr, qc_err *e)
{
  if (n_out < 1 || n_in > CG_MAX_NODE_INPUTS)
    return qc_node_err(e, nd, QC_ERR_UNSUPPORTED, "not supported by compile (%d inputs)", n_in);
  LLVMValueRef prm[5];
  memset(kr, 0, sizeof *kr);
  kr->fn = cg_kernel_begin(m, nd->name, prm);
  kx k = {m, prm[0], prm[1], prm[3], prm[4], e, nd, {false, false, 0, 0}};
  opnd x[CG_MAX_NODE_INPUTS], y;
  int nx = 0;
  for (int i = 0; i < n_in; i++) {
    if (i < nd->n_in && nd->in[i] < 0) continue;
    opnd *o = &x[nx++];
    memset(o, 0, sizeof *o);
    o->dt = in[i].dt, o->rank = in[i].rank;
    memcpy(o->dims, in[i].dims, sizeof o->dims);
    if (in[i].off >= 0) {
      o->base = k.arena, o->off = in[i].off;
    } else {
      /* A constant operand: its bytes go to the weights section. */
      const qc_value *cv = i < nd->n_in ? &g->values[nd->in[i]] : NULL;
      if (!cv || !cv->data) return qc_node_err(e, nd, QC_ERR_INTERNAL, "input %d has no data", i);
      int64_t bytes = qc_dtype_bytes(cv->dtype, qc_shape_elems(cv->rank, cv->dims));
      int64_t off = cg_weights_add(m, cv->data, (size_t)bytes, 64, e);
      if (off < 0) return e->code;
      o->base = k.weights, o->off = off;
    }
  }
  memset(&y, 0, sizeof y);
  y.base = k.arena, y.off = out[0].off, y.dt = out[0].dt, y.rank = out[0].rank;
  memcpy(y.dims, out[0].dims, sizeof y.dims);
  if (!elem_ty(m, y.dt)) return bad_dt(&k, y.dt);
  for (int i = 0; i < nx; i++)
    if (!elem_ty(m, x[i].dt)) return bad_dt(&k, x[i].dt);
  bool f32in = nx >= 1 && x[0].dt == QC_DT_F32 && y.dt == QC_DT_F32;
  kr->macs = 0;
  switch (nd->op) {
  case QC_OP_QcQuantize:
    if (x[0].dt != QC_DT_F32 || !is_int_act(y.dt)) break;
    return emit_ew(&k, x, 1, &y, ew_quantize, kr);
  case QC_OP_QcDequantize:
    if (!is_int_act(x[0].dt) || y.dt != QC_DT_F32) break;
    return emit_ew(&k, x, 1, &y, ew_dequantize, kr);
  case QC_OP_QcAdd: {
    const int64_t *mu, *sh;
    if (nx != 2 || !is_int_act(x[0].dt) || !is_int_act(x[1].dt) || !is_int_act(y.dt) ||
        qc_attr_ints(nd, "mult", &mu) != 2 || qc_attr_ints(nd, "shift", &sh) != 2)
      break;
    return emit_ew(&k, x, 2, &y, ew_qcadd, kr);
  }
  case QC_OP_QcGlobalAveragePool:
    if (!is_int_act(x[0].dt) || x[0].rank < 3 || y.dt != x[0].dt) break;
    return emit_gpool(&k, &x[0], &y, kr);
  case QC_OP_GlobalAveragePool:
  case QC_OP_GlobalMaxPool:
    if (!f32in || x[0].rank < 3) break;
    return emit_gpool(&k, &x[0], &y, kr);
  case QC_OP_MaxPool:
  case QC_OP_AveragePool:
    return emit_pool(&k, nd, &x[0], &y, kr);
  case QC_OP_Relu:
    if (x[0].dt != y.dt) break;
    if (y.dt == QC_DT_F32 || y.dt == QC_DT_I8 || y.dt == QC_DT_I16 || y.dt == QC_DT_I32)
      return emit_ew(&k, x, 1, &y, ew_unary, kr);
    if (y.dt == QC_DT_U8 || y.dt == QC_DT_U16) return emit_copy(&k, nd, &x[0], &y, kr);
    break;
  case QC_OP_Clip: {
    bool ok;
    clip_b c = clip_of(g, nd, &ok);
    if (!ok || x[0].dt != y.dt || (y.dt != QC_DT_F32 && !is_int_act(y.dt))) break;
    k.clip = c;
    return emit_ew(&k, x, 1, &y, ew_clip, kr);
  }
  case QC_OP_Sigmoid: case QC_OP_Tanh: case QC_OP_HardSigmoid: case QC_OP_HardSwish:
  case QC_OP_LeakyRelu: case QC_OP_Exp: case QC_OP_Log: case QC_OP_Sqrt: case QC_OP_Abs:
  case QC_OP_Neg: case QC_OP_Floor: case QC_OP_Ceil: case QC_OP_Reciprocal:
    if (!f32in) break;
    return emit_ew(&k, x, 1, &y, ew_unary, kr);
  case QC_OP_Add: case QC_OP_Sub: case QC_OP_Mul: case QC_OP_Div: case QC_OP_PRelu:
  case QC_OP_Max: case QC_OP_Min:
    if (nx != 2 || x[0].dt != y.dt || x[1].dt != y.dt) break;
    if (y.dt != QC_DT_F32 && (nd->op == QC_OP_Div || nd->op == QC_OP_PRelu ||
                              !(is_int_act(y.dt) || y.dt == QC_DT_I64)))
      break;
    return emit_ew(&k, x, 2, &y, ew_binary, kr);
  case QC_OP_Softmax:
    return emit_softmax(&k, nd, &x[0], &y, kr);
  case QC_OP_BatchNormalization:
    return emit_bn(&k, g, nd, &x[0], &y, kr);
  case QC_OP_Pad:
    return emit_pad(&k, g, nd, &x[0], &y, kr);
  case QC_OP_Concat:
    return emit_concat(&k, nd, x, nx, &y, kr);
  case QC_OP_Transpose:
    if (x[0].dt != y.dt) break;
    return emit_transpose(&k, nd, &x[0], &y, kr);
  case QC_OP_Identity: case QC_OP_Flatten: case QC_OP_Reshape: case QC_OP_Squeeze:
  case QC_OP_Unsqueeze: case QC_OP_Dropout: {
    /* Not aliased (e.g. a graph output copied from an input): a flat copy. */
    if (x[0].dt != y.dt) break;
    return emit_copy(&k, nd, &x[0], &y, kr);
  }
  default: break;
  }
  LLVMDeleteFunction(kr->fn);
  kr->fn = NULL;
  return qc_node_err(e, nd, QC_ERR_UNSUPPORTED, "not supported by compile (dtype %s)",
                     qc_dtype_name(nx ? x[0].dt : y.dt));
}
