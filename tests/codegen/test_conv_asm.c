/* Kernels for CPUs this machine may lack are still compiled and checked by disassembly:
 * AVX-512 VNNI (vpdpbusd zmm, vfmadd zmm), AVX-VNNI (vpdpbusd ymm), AVX2 (vpmaddwd, vfmadd ymm),
 * SSE2 (pmaddwd), AArch64 with and without dot products (sdot, fmla). The object comes from the
 * target machine (LLVMTargetMachineEmitToMemoryBuffer) and the LLVM-C disassembler reads its
 * .text. */
#include <stddef.h>

#include <llvm-c/Disassembler.h>
#include <llvm-c/Target.h>
#include <llvm-c/Object.h>

#include "conv_harness.h"

/* Disassembles the .text of the module's object into one string of lines (caller frees). */
static char *disassemble(cg_module *m)
{
  char *msg = NULL;
  LLVMMemoryBufferRef mb;
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef err = LLVMRunPasses(m->mod, "default<O3>", m->t->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (err) {
    char *em = LLVMGetErrorMessage(err);
    printf("\npasses: %s\n", em);
    LLVMDisposeErrorMessage(em);
    return NULL;
  }
  if (LLVMTargetMachineEmitToMemoryBuffer(m->t->tm, m->mod, LLVMObjectFile, &msg, &mb)) {
    printf("\nemit: %s\n", msg);
    LLVMDisposeMessage(msg);
    return NULL;
  }
  LLVMBinaryRef bin = LLVMCreateBinary(mb, NULL, &msg);
  if (!bin) {
    printf("\nobject: %s\n", msg);
    LLVMDisposeMessage(msg);
    LLVMDisposeMemoryBuffer(mb);
    return NULL;
  }
  LLVMDisasmContextRef dc = LLVMCreateDisasmCPUFeatures(m->t->triple, m->t->cpu, m->t->features,
                                                        NULL, 0, NULL, NULL);
  size_t cap = 1 << 20, len = 0;
  char *out = malloc(cap);
  out[0] = 0;
  LLVMSectionIteratorRef si = LLVMObjectFileCopySectionIterator(bin);
  for (; dc && !LLVMObjectFileIsSectionIteratorAtEnd(bin, si); LLVMMoveToNextSection(si)) {
    const char *name = LLVMGetSectionName(si);
    if (!name || strncmp(name, ".text", 5)) continue;
    uint8_t *p = (uint8_t *)LLVMGetSectionContents(si);
    uint64_t n = LLVMGetSectionSize(si), at = 0;
    while (at < n) {
      char line[256];
      size_t k = LLVMDisasmInstruction(dc, p + at, n - at, at, line, sizeof line);
      if (!k) k = 1, snprintf(line, sizeof line, "\t<bad>");
      at += k;
      size_t l = strlen(line);
      if (len + l + 2 > cap) out = realloc(out, cap *= 2);
      memcpy(out + len, line, l);
      len += l;
      out[len++] = '\n';
      out[len] = 0;
    }
  }
  LLVMDisposeSectionIterator(si);
  if (dc) LLVMDisasmDispose(dc);
  LLVMDisposeBinary(bin);
  LLVMDisposeMemoryBuffer(mb);
  return out;
}

/* Whether some line holds every one of the (up to two) words. */
static bool has_line(const char *text, const char *a, const char *b)
{
  for (const char *l = text; l && *l;) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)(n < 255 ? n : 255), l);
    if (strstr(buf, a) && (!b || strstr(buf, b))) return true;
    l = e ? e + 1 : NULL;
  }
  return false;
}

typedef struct {
  const char *target, *cpu, *features;
  bool is_int;
  qc_dtype x_dt;
  int kind;               /* 0 conv 3x3, 3 gemm */
  const char *want, *want2, *absent;
} asm_case;

static void check(const asm_case *a)
{
  cg_target t;
  qc_err e = {0};
  qc_status st = !strcmp(a->target, "aarch64") ? cg_target_aarch64(a->cpu, a->features, 3, &t, &e)
                                               : cg_target_x86_64(a->cpu, a->features, 3, &t, &e);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  cg_module m;
  CU_ASSERT_EQUAL_FATAL(cg_module_init(&m, &t, "asm", &e), QC_OK);
  hcase c;
  h_random(&c, 0, a->is_int);
  cg_conv_spec *s = &c.s;
  /* a fixed mid-size layer so the microkernel is the body of the loop */
  if (a->kind == 3) {
    s->n = 4, s->c_in = 64, s->c_out = 48, s->h = s->w = s->oh = s->ow = s->kh = s->kw = 1;
    s->stride_h = s->stride_w = s->dil_h = s->dil_w = s->group = 1, s->pad_t = s->pad_l = 0;
  } else {
    s->n = 1, s->c_in = 16, s->c_out = 32, s->h = s->w = s->oh = s->ow = 14, s->kh = s->kw = 3;
    s->stride_h = s->stride_w = s->dil_h = s->dil_w = s->group = 1, s->pad_t = s->pad_l = 1;
  }
  free(c.x), free(c.w), free(c.b), free(c.mult), free(c.shift), free(c.res);
  memset(&c.x, 0, sizeof c - offsetof(hcase, x));
  int64_t nw = s->c_out * s->c_in * s->kh * s->kw;
  void *w = calloc((size_t)nw, 4);
  int32_t mult[64], shift[64];
  for (int i = 0; i < 64; i++) mult[i] = 1 << 30, shift[i] = 36;
  s->wt = w, s->bias = NULL, s->has_res = false;
  if (a->is_int) {
    s->x_dt = a->x_dt, s->w_dt = QC_DT_I8, s->y_dt = s->out_dt = QC_DT_U8;
    s->mult = mult, s->shift = shift, s->qmin = 0, s->qmax = 255;
  }
  CU_ASSERT_EQUAL_FATAL(cg_emit_conv(&m, s, &c.k, &e), QC_OK);
  LLVMSetLinkage(c.k.fn, LLVMExternalLinkage); /* else O3 drops the unused kernel */
  char *text = disassemble(&m);
  if (getenv("QC_ASM_DUMP") && text) fputs(text, stderr);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  bool ok = has_line(text, a->want, a->want2) && (!a->absent || !strstr(text, a->absent));
  if (!ok)
    printf("\n%s %s %s: want '%s' '%s' absent '%s' (%s path)\n", a->target, a->cpu,
           a->is_int ? "int" : "f32", a->want, a->want2 ? a->want2 : "", a->absent ? a->absent : "",
           t.i8_name);
  CU_ASSERT_TRUE(ok);
  free(text);
  free(w);
  cg_module_dispose(&m);
  cg_target_dispose(&t);
}

static void test_x86_asm(void)
{
  const asm_case cases[] = {
      {"x86-64", "icelake-server", NULL, true, QC_DT_U8, 0, "vpdpbusd", "zmm", NULL},
      {"x86-64", "icelake-server", NULL, true, QC_DT_I8, 0, "vpdpbusd", "zmm", NULL},
      {"x86-64", "sapphirerapids", NULL, true, QC_DT_U8, 3, "vpdpbusd", "zmm", NULL},
      {"x86-64", "icelake-server", NULL, false, QC_DT_F32, 0, "vfmadd", "zmm", NULL},
      {"x86-64", "skylake-avx512", NULL, true, QC_DT_U8, 0, "vpmaddwd", "zmm", "vpdpbusd"},
      {"x86-64", "alderlake", NULL, true, QC_DT_U8, 0, "vpdpbusd", "ymm", "zmm"},
      {"x86-64", "alderlake", NULL, true, QC_DT_I8, 3, "vpdpbusd", "ymm", "zmm"},
      {"x86-64", "haswell", NULL, true, QC_DT_U8, 0, "vpmaddwd", "ymm", "vpdpbusd"},
      {"x86-64", "haswell", NULL, true, QC_DT_I8, 3, "vpmaddwd", "ymm", "vpdpbusd"},
      {"x86-64", "haswell", NULL, false, QC_DT_F32, 0, "vfmadd", "ymm", "zmm"},
      {"x86-64", "x86-64", NULL, true, QC_DT_U8, 0, "pmaddwd", "xmm", "ymm"},
      {"x86-64", "x86-64", NULL, false, QC_DT_F32, 0, "mulps", "xmm", "ymm"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

static void test_aarch64_asm(void)
{
  const asm_case cases[] = {
      {"aarch64", "cortex-a76", NULL, true, QC_DT_U8, 0, "sdot", NULL, NULL},
      {"aarch64", "cortex-a76", NULL, true, QC_DT_I8, 3, "sdot", NULL, NULL},
      {"aarch64", "cortex-a76", NULL, false, QC_DT_F32, 0, "fmla", NULL, NULL},
      {"aarch64", "cortex-a53", NULL, true, QC_DT_U8, 0, "mull", NULL, "sdot"},
      {"aarch64", "cortex-a53", NULL, false, QC_DT_F32, 3, "fmla", NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

static int init(void)
{
  LLVMInitializeX86Disassembler();
  LLVMInitializeAArch64Disassembler();
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86TargetMC();
  return 0;
}

static CU_TestInfo tests[] = {
    {"x86-64: avx512-vnni, avx-vnni, avx2, sse2", test_x86_asm},
    {"aarch64: sdot, neon", test_aarch64_asm},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"conv disassembly", init, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QC_TEST_MAIN(suites)
