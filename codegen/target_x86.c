/* The x86-64 target row: triple, CPU resolution, the features the kernels care about, and the
   choice of int8 path (vpdpbusd on zmm / ymm, vpmaddwd over int16, or portable vectors). */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Target.h>

#include "cg.h"

/* Bits of the features that decide the kernels; implies = transitive closure incl. itself
   (LLVM 14's X86.td: avx512f -> avx2, fma, f16c; avxvnni -> avx2; avx2 -> avx -> sse4.2 ...). */
enum { F_SSE2, F_SSE41, F_SSE42, F_AVX, F_AVX2, F_FMA, F_AVX512F, F_AVX512BW, F_AVX512VL,
       F_AVX512VNNI, F_AVXVNNI, F_N };
#define B(x) (1u << (x))
#define I_SSE42 (B(F_SSE2) | B(F_SSE41) | B(F_SSE42))
#define I_AVX (I_SSE42 | B(F_AVX))
#define I_AVX2 (I_AVX | B(F_AVX2))
#define I_512 (I_AVX2 | B(F_FMA) | B(F_AVX512F))
static const cg_feature x86_features[F_N] = {
    [F_SSE2] = {"sse2", B(F_SSE2)},
    [F_SSE41] = {"sse4.1", B(F_SSE2) | B(F_SSE41)},
    [F_SSE42] = {"sse4.2", I_SSE42},
    [F_AVX] = {"avx", I_AVX},
    [F_AVX2] = {"avx2", I_AVX2},
    [F_FMA] = {"fma", I_AVX | B(F_FMA)},
    [F_AVX512F] = {"avx512f", I_512},
    [F_AVX512BW] = {"avx512bw", I_512 | B(F_AVX512BW)},
    [F_AVX512VL] = {"avx512vl", I_512 | B(F_AVX512VL)},
    [F_AVX512VNNI] = {"avx512vnni", I_512 | B(F_AVX512VNNI)},
    [F_AVXVNNI] = {"avxvnni", I_AVX2 | B(F_AVXVNNI)},
};

/* Named CPUs LLVM 14 knows, with the features above that they have (LLVM fills the rest of a
   named CPU's features itself when the feature string leaves them out). */
#define S_AVX "+avx"
#define S_AVX2 "+avx,+avx2,+fma"
#define S_512 S_AVX2 ",+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512cd"
#define S_VNNI S_512 ",+avx512vnni"
static const struct {
  const char *cpu, *features;
} x86_cpus[] = {
    {"x86-64", ""}, {"x86-64-v2", ""}, {"x86-64-v3", S_AVX2}, {"x86-64-v4", S_512},
    {"generic", ""}, {"nehalem", ""}, {"westmere", ""}, {"corei7", ""}, {"core2", ""},
    {"penryn", ""}, {"nocona", ""}, {"k8", ""}, {"k8-sse3", ""}, {"opteron", ""},
    {"opteron-sse3", ""}, {"athlon64", ""}, {"athlon64-sse3", ""}, {"athlon-fx", ""},
    {"amdfam10", ""}, {"barcelona", ""}, {"btver1", ""}, {"bonnell", ""}, {"atom", ""},
    {"silvermont", ""}, {"slm", ""}, {"goldmont", ""}, {"goldmont-plus", ""}, {"tremont", ""},
    {"sandybridge", S_AVX}, {"corei7-avx", S_AVX}, {"ivybridge", S_AVX}, {"core-avx-i", S_AVX},
    {"btver2", S_AVX}, {"bdver1", S_AVX}, {"bdver2", S_AVX ",+fma"}, {"bdver3", S_AVX ",+fma"},
    {"bdver4", S_AVX2}, {"haswell", S_AVX2}, {"core-avx2", S_AVX2}, {"broadwell", S_AVX2},
    {"skylake", S_AVX2}, {"znver1", S_AVX2}, {"znver2", S_AVX2}, {"znver3", S_AVX2},
    {"knl", S_AVX2 ",+avx512f,+avx512cd"}, {"knm", S_AVX2 ",+avx512f,+avx512cd"},
    {"skylake-avx512", S_512}, {"skx", S_512}, {"cannonlake", S_512}, {"cascadelake", S_VNNI},
    {"cooperlake", S_VNNI}, {"icelake-client", S_VNNI}, {"icelake-server", S_VNNI},
    {"tigerlake", S_VNNI}, {"rocketlake", S_VNNI}, {"alderlake", S_AVX2 ",+avxvnni"},
    {"sapphirerapids", S_VNNI ",+avxvnni"},
};

static void init_x86(void)
{
  /* Idempotent; LLVM guards the registries itself. */
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
}

qc_status cg_target_x86_64(const char *cpu, const char *features, int opt_level, cg_target *t,
                           qc_err *e)
{
  memset(t, 0, sizeof *t);
  t->name = "x86-64";
  t->triple = "x86_64-pc-linux-gnu";
  init_x86();
  const char *base = NULL;
  if (!cpu || !*cpu || !strcmp(cpu, "native")) {
    char *hc = LLVMGetHostCPUName(), *hf = LLVMGetHostCPUFeatures();
    snprintf(t->cpu, sizeof t->cpu, "%s", hc && *hc ? hc : "x86-64");
    int n = snprintf(t->features, sizeof t->features, "%s", hf ? hf : "");
    LLVMDisposeMessage(hc);
    LLVMDisposeMessage(hf);
    if (n >= (int)sizeof t->features)
      return qc_err_set(e, QC_ERR_NOMEM, "the host's feature string is too long (%d bytes)", n);
    base = t->features;
  } else {
    for (size_t i = 0; i < sizeof x86_cpus / sizeof x86_cpus[0]; i++)
      if (!strcmp(cpu, x86_cpus[i].cpu)) base = x86_cpus[i].features;
    if (!base) return qc_err_set(e, QC_ERR_INVALID, "unknown x86-64 CPU '%s'", cpu);
    snprintf(t->cpu, sizeof t->cpu, "%s", cpu);
    snprintf(t->features, sizeof t->features, "%s", base);
  }
  if (features && *features) {
    size_t len = strlen(t->features);
    int n = snprintf(t->features + len, sizeof t->features - len, "%s%s", len ? "," : "", features);
    if (n < 0 || (size_t)n >= sizeof t->features - len)
      return qc_err_set(e, QC_ERR_INVALID, "feature string '%s' is too long", features);
  }
  uint32_t f;
  qc_status st = cg_features_resolve(x86_features, F_N, B(F_SSE2), t->features, &f, e);
  if (st) return st;
  if ((f & B(F_AVX512VNNI)) && (f & B(F_AVX512BW))) {
    t->i8 = CG_I8_AVX512_VNNI, t->i8_name = "avx512-vnni";
  } else if (f & B(F_AVXVNNI)) {
    t->i8 = CG_I8_AVX_VNNI, t->i8_name = "avx-vnni";
  } else if (f & B(F_AVX2)) {
    t->i8 = CG_I8_AVX2_S16, t->i8_name = "avx2-s16";
  } else {
    t->i8 = CG_I8_SCALAR, t->i8_name = "scalar";
  }
  t->f32_lanes = (f & B(F_AVX512F)) ? 16 : (f & B(F_AVX)) ? 8 : 4;
  t->vec_bytes = t->f32_lanes * 4;

  LLVMTargetRef tgt;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
    qc_err_set(e, QC_ERR_INTERNAL, "LLVM has no x86-64 target: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return QC_ERR_INTERNAL;
  }
  t->tm = LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features, cg_opt_level(opt_level),
                                  LLVMRelocPIC, LLVMCodeModelDefault);
  if (!t->tm) return qc_err_set(e, QC_ERR_INTERNAL, "cannot create an x86-64 target machine for '%s'", t->cpu);
  return QC_OK;
}

void cg_target_dispose(cg_target *t)
{
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  t->tm = NULL;
}
