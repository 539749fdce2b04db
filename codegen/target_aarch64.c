/* The AArch64 target row: triple, CPU resolution and the int8 path (sdot with FEAT_DotProd,
   widening multiply-adds otherwise). Cross-compiled only: there is no "native" here. */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Target.h>

#include "cg.h"

enum { F_NEON, F_DOTPROD, F_N };
static const cg_feature a64_features[F_N] = {
    [F_NEON] = {"neon", 1u << F_NEON},
    [F_DOTPROD] = {"dotprod", (1u << F_NEON) | (1u << F_DOTPROD)},
};

/* LLVM 14's AArch64 CPUs and whether they have dot products (ARMv8.2-A+ cores mostly do). */
static const struct {
  const char *cpu, *features;
} a64_cpus[] = {
    {"generic", "+neon"}, {"cortex-a35", "+neon"}, {"cortex-a53", "+neon"},
    {"cortex-a57", "+neon"}, {"cortex-a72", "+neon"}, {"cortex-a73", "+neon"},
    {"cyclone", "+neon"}, {"apple-a7", "+neon"}, {"apple-a8", "+neon"}, {"apple-a9", "+neon"},
    {"apple-a10", "+neon"}, {"apple-a11", "+neon"}, {"exynos-m3", "+neon"}, {"falkor", "+neon"},
    {"kryo", "+neon"}, {"thunderx", "+neon"}, {"thunderxt81", "+neon"}, {"thunderxt83", "+neon"},
    {"thunderxt88", "+neon"}, {"thunderx2t99", "+neon"}, {"saphira", "+neon"},
    {"cortex-a34", "+neon"}, {"a64fx", "+neon"}, {"tsv110", "+neon,+dotprod"},
    {"cortex-a55", "+neon,+dotprod"}, {"cortex-a65", "+neon,+dotprod"},
    {"cortex-a65ae", "+neon,+dotprod"}, {"cortex-a75", "+neon,+dotprod"},
    {"cortex-a76", "+neon,+dotprod"}, {"cortex-a76ae", "+neon,+dotprod"},
    {"cortex-a77", "+neon,+dotprod"}, {"cortex-a78", "+neon,+dotprod"},
    {"cortex-a78c", "+neon,+dotprod"}, {"cortex-a510", "+neon,+dotprod"},
    {"cortex-a710", "+neon,+dotprod"}, {"cortex-x1", "+neon,+dotprod"},
    {"cortex-x1c", "+neon,+dotprod"}, {"cortex-x2", "+neon,+dotprod"},
    {"cortex-r82", "+neon,+dotprod"}, {"neoverse-e1", "+neon,+dotprod"},
    {"neoverse-n1", "+neon,+dotprod"}, {"neoverse-n2", "+neon,+dotprod"},
    {"neoverse-v1", "+neon,+dotprod"}, {"neoverse-512tvb", "+neon,+dotprod"},
    {"exynos-m4", "+neon,+dotprod"}, {"exynos-m5", "+neon,+dotprod"},
    {"apple-a12", "+neon,+dotprod"}, {"apple-a13", "+neon,+dotprod"},
    {"apple-a14", "+neon,+dotprod"}, {"apple-m1", "+neon,+dotprod"},
    {"apple-latest", "+neon,+dotprod"}, {"apple-s4", "+neon,+dotprod"},
    {"apple-s5", "+neon,+dotprod"}, {"carmel", "+neon,+dotprod"},
    {"thunderx3t110", "+neon,+dotprod"}, {"ampere1", "+neon,+dotprod"},
};

qc_status cg_target_aarch64(const char *cpu, const char *features, int opt_level, cg_target *t,
                            qc_err *e)
{
  memset(t, 0, sizeof *t);
  t->name = "aarch64";
  t->triple = "aarch64-unknown-linux-gnu";
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64Target();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeAArch64AsmPrinter();
  if (!cpu || !*cpu) cpu = "cortex-a76";
  if (!strcmp(cpu, "native"))
    return qc_err_set(e, QC_ERR_INVALID, "--cpu native is for x86-64 only; name an AArch64 CPU");
  const char *base = NULL;
  for (size_t i = 0; i < sizeof a64_cpus / sizeof a64_cpus[0]; i++)
    if (!strcmp(cpu, a64_cpus[i].cpu)) base = a64_cpus[i].features;
  if (!base) return qc_err_set(e, QC_ERR_INVALID, "unknown aarch64 CPU '%s'", cpu);
  snprintf(t->cpu, sizeof t->cpu, "%s", cpu);
  int n = snprintf(t->features, sizeof t->features, "%s%s%s", base,
                   features && *features ? "," : "", features ? features : "");
  if (n < 0 || n >= (int)sizeof t->features)
    return qc_err_set(e, QC_ERR_INVALID, "feature string '%s' is too long", features);
  uint32_t f;
  qc_status st = cg_features_resolve(a64_features, F_N, 0, t->features, &f, e);
  if (st) return st;
  if (f & (1u << F_DOTPROD)) t->i8 = CG_I8_NEON_SDOT, t->i8_name = "neon-sdot";
  else t->i8 = CG_I8_NEON, t->i8_name = "neon";
  t->f32_lanes = 4;
  t->vec_bytes = 16;

  LLVMTargetRef tgt;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &tgt, &msg)) {
    qc_err_set(e, QC_ERR_INTERNAL, "LLVM has no aarch64 target: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return QC_ERR_INTERNAL;
  }
  t->tm = LLVMCreateTargetMachine(tgt, t->triple, t->cpu, t->features, cg_opt_level(opt_level),
                                  LLVMRelocPIC, LLVMCodeModelDefault);
  if (!t->tm) return qc_err_set(e, QC_ERR_INTERNAL, "cannot create an aarch64 target machine for '%s'", t->cpu);
  return QC_OK;
}
