/* The module being built: LLVM context, builder, the weights section and the small helpers
   every emitter shares (kernel prologue, counted loops, constants, dyadic requantization). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

qc_status cg_module_init(cg_module *m, const cg_target *t, const char *module_name, qc_err *e)
{
  memset(m, 0, sizeof *m);
  m->t = t;
  m->ctx = LLVMContextCreate();
  m->mod = LLVMModuleCreateWithNameInContext(module_name, m->ctx);
  m->b = LLVMCreateBuilderInContext(m->ctx);
  if (!m->ctx || !m->mod || !m->b) return qc_err_set(e, QC_ERR_NOMEM, "cannot create an LLVM module");
  LLVMSetTarget(m->mod, t->triple);
  if (t->tm) {
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(t->tm);
    char *layout = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(m->mod, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(td);
  }
  m->i1 = LLVMInt1TypeInContext(m->ctx);
  m->i8 = LLVMInt8TypeInContext(m->ctx);
  m->i16 = LLVMInt16TypeInContext(m->ctx);
  m->i32 = LLVMInt32TypeInContext(m->ctx);
  m->i64 = LLVMInt64TypeInContext(m->ctx);
  m->f32 = LLVMFloatTypeInContext(m->ctx);
  m->ptr = LLVMPointerType(m->i8, 0);
  LLVMTypeRef args[5] = {m->ptr, m->ptr, m->ptr, m->i64, m->i64};
  m->kernel_ty = LLVMFunctionType(LLVMVoidTypeInContext(m->ctx), args, 5, 0);
  return QC_OK;
}

void cg_module_dispose(cg_module *m)
{
  if (m->b) LLVMDisposeBuilder(m->b);
  if (m->mod) LLVMDisposeModule(m->mod);
  if (m->ctx) LLVMContextDispose(m->ctx);
  free(m->weights.data);
  memset(m, 0, sizeof *m);
}

int64_t cg_weights_add(cg_module *m, const void *data, size_t bytes, size_t align, qc_err *e)
{
  cg_bytes *w = &m->weights;
  if (align < 1) align = 1;
  size_t off = (w->len + align - 1) & ~(align - 1);
  if (off + bytes < off) return qc_err_set(e, QC_ERR_NOMEM, "weights section overflows"), -1;
  if (off + bytes > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < off + bytes) cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p) return qc_err_set(e, QC_ERR_NOMEM, "out of memory for %zu bytes of weights", cap), -1;
    w->data = p;
    w->cap = cap;
  }
  memset(w->data + w->len, 0, off - w->len);
  if (bytes) memcpy(w->data + off, data, bytes);
  w->len = off + bytes;
  return (int64_t)off;
}

static void add_attr(cg_module *m, LLVMValueRef fn, unsigned idx, const char *kind, uint64_t val)
{
  unsigned k = LLVMGetEnumAttributeKindForName(kind, strlen(kind));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(m->ctx, k, val));
}

LLVMValueRef cg_kernel_begin(cg_module *m, const char *name, LLVMValueRef params[5])
{
  char fname[96];
  int n = snprintf(fname, sizeof fname, "qck_%d_", m->n_fns++);
  for (const char *s = name ? name : "k"; *s && n < (int)sizeof fname - 1; s++)
    fname[n++] = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                     ? *s
                     : '_';
  fname[n] = 0;
  LLVMValueRef fn = LLVMAddFunction(m->mod, fname, m->kernel_ty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_attr(m, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
  for (unsigned i = 1; i <= 3; i++) {
    add_attr(m, fn, i, "noalias", 0);
    add_attr(m, fn, i, "align", QCA_ALIGN);
  }
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
  LLVMPositionBuilderAtEnd(m->b, entry);
  for (unsigned i = 0; i < 5; i++) params[i] = LLVMGetParam(fn, i);
  return fn;
}

LLVMValueRef cg_ptr_at(cg_module *m, LLVMValueRef base, int64_t byte_off, LLVMTypeRef elem_ty)
{
  LLVMValueRef idx = cg_i64c(m, byte_off);
  LLVMValueRef p = LLVMBuildInBoundsGEP2(m->b, m->i8, base, &idx, 1, "");
  return LLVMBuildBitCast(m->b, p, LLVMPointerType(elem_ty, 0), "");
}

LLVMValueRef cg_loop_begin(cg_module *m, cg_loop *l, LLVMValueRef lo, LLVMValueRef hi,
                           int64_t step, const char *name)
{
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(m->b));
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(m->b);
  l->head = LLVMAppendBasicBlockInContext(m->ctx, fn, "loop.head");
  l->body = LLVMAppendBasicBlockInContext(m->ctx, fn, "loop.body");
  l->exit = LLVMAppendBasicBlockInContext(m->ctx, fn, "loop.exit");
  l->step = cg_i64c(m, step);
  LLVMBuildBr(m->b, l->head);
  LLVMPositionBuilderAtEnd(m->b, l->head);
  l->i = LLVMBuildPhi(m->b, m->i64, name ? name : "i");
  LLVMAddIncoming(l->i, &lo, &pre, 1);
  LLVMValueRef c = LLVMBuildICmp(m->b, LLVMIntSLT, l->i, hi, "");
  LLVMBuildCondBr(m->b, c, l->body, l->exit);
  LLVMPositionBuilderAtEnd(m->b, l->body);
  return l->i;
}

void cg_loop_end(cg_module *m, cg_loop *l)
{
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(m->b);
  l->next = LLVMBuildNSWAdd(m->b, l->i, l->step, "");
  LLVMBuildBr(m->b, l->head);
  LLVMAddIncoming(l->i, &l->next, &latch, 1);
  LLVMPositionBuilderAtEnd(m->b, l->exit);
}

LLVMValueRef cg_i64c(cg_module *m, int64_t v) { return LLVMConstInt(m->i64, (unsigned long long)v, 1); }
LLVMValueRef cg_i32c(cg_module *m, int32_t v) { return LLVMConstInt(m->i32, (unsigned long long)(int64_t)v, 1); }
LLVMValueRef cg_f32c(cg_module *m, float v) { return LLVMConstReal(m->f32, v); }

LLVMValueRef cg_requant(cg_module *m, LLVMValueRef v, LLVMValueRef mult, LLVMValueRef shift)
{
  LLVMTypeRef vt = LLVMTypeOf(v);
  bool vec = LLVMGetTypeKind(vt) == LLVMVectorTypeKind;
  unsigned lanes = vec ? LLVMGetVectorSize(vt) : 1;
  LLVMTypeRef t64 = vec ? LLVMVectorType(m->i64, lanes) : m->i64;
  LLVMValueRef v64 = LLVMBuildSExt(m->b, v, t64, "");
  LLVMValueRef m64 = LLVMBuildSExt(m->b, mult, t64, "");
  LLVMValueRef s64 = LLVMBuildSExt(m->b, shift, t64, "");
  LLVMValueRef c1 = LLVMConstInt(m->i64, 1, 0);
  if (vec) {
    LLVMValueRef ones[64];
    for (unsigned i = 0; i < lanes && i < 64; i++) ones[i] = c1;
    c1 = LLVMConstVector(ones, lanes);
  }
  LLVMValueRef half = LLVMBuildShl(m->b, c1, LLVMBuildSub(m->b, s64, c1, ""), "");
  LLVMValueRef p = LLVMBuildAdd(m->b, LLVMBuildMul(m->b, v64, m64, ""), half, "");
  return LLVMBuildAShr(m->b, p, s64, "");
}

qc_status cg_features_resolve(const cg_feature *tab, int n, uint32_t base, const char *features,
                              uint32_t *out, qc_err *e)
{
  uint32_t set = base;
  for (const char *p = features ? features : ""; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len) {
      if (p[0] != '+' && p[0] != '-')
        return qc_err_set(e, QC_ERR_INVALID, "feature '%.*s' must start with '+' or '-'", (int)len, p);
      for (int i = 0; i < n; i++) {
        if (strlen(tab[i].name) != len - 1 || strncmp(tab[i].name, p + 1, len - 1)) continue;
        if (p[0] == '+') {
          set |= tab[i].implies;
        } else {
          uint32_t bit = 1u << i;
          for (int j = 0; j < n; j++)
            if (tab[j].implies & bit) set &= ~(1u << j);
        }
      }
    }
    p += len + (end != NULL);
  }
  *out = set;
  return QC_OK;
}

LLVMCodeGenOptLevel cg_opt_level(int opt_level)
{
  switch (opt_level) {
  case 0: return LLVMCodeGenLevelNone;
  case 1: return LLVMCodeGenLevelLess;
  case 2: return LLVMCodeGenLevelDefault;
  default: return LLVMCodeGenLevelAggressive;
  }
}
