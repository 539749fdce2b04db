/* quantc's compiler proper: lowers a graph (fp32, or the integer-only graph of
 * quantizers/uniform) to fused LLVM kernels and writes an artifact directory:
 *
 *   DIR/model.so       shared library with the kernels (<prefix>_kernels, _n_kernels, _code_hash)
 *   DIR/model.o        the same code as an object file, for static linking
 *   DIR/model.h        C header: the exported symbols, input/output names, dtypes and shapes
 *   DIR/weights.bin    the blob of runtime/qc_artifact.h: plan + packed weights, CRC-checked
 *   DIR/manifest.json  target, cpu, features, int8 path, per-layer op, shapes, bits, bytes,
 *                      MACs, BOPS, arena offsets; file sizes and CRCs
 *
 * The same graph and options give byte-identical files. Uses ir/ and LLVM-C only. */
#ifndef QC_CODEGEN_H
#define QC_CODEGEN_H

#include "ir.h"

typedef struct {
  const char *target;    /* "x86-64" (NULL: default) or "aarch64" */
  const char *cpu;       /* LLVM CPU name, or "native" (NULL: default; x86-64 only = the host;
                            for aarch64 the default is "cortex-a76", which has dot products) */
  const char *features;  /* extra LLVM features, e.g. "+avx512vnni,-avx512f"; may be NULL */
  const char *prefix;    /* C symbol prefix; NULL means "qc_model"; [A-Za-z_][A-Za-z0-9_]* */
  int opt_level;         /* LLVM optimisation 0..3; < 0 means 3 */
  const char *linker;    /* driver that links model.so; NULL: "cc" for x86-64,
                            "aarch64-linux-gnu-gcc" for aarch64 */
  const char *scheme;    /* free text recorded in the manifest ("fp32", "w8a8", ...); may be NULL */
  const char *source;    /* model file name recorded in the manifest (basename); may be NULL */
} qc_cg_options;

typedef struct {
  char target[16];
  char cpu[64];          /* resolved CPU name */
  char features[1024];   /* resolved LLVM feature string */
  char int8_path[32];    /* "avx2-s16", "avx512-vnni", "avx-vnni", "neon-sdot", "scalar", ... */
  int n_steps, n_kernels;
  uint64_t arena_bytes, scratch_bytes, weights_bytes;
  double seconds_lower, seconds_llvm, seconds_link;
} qc_cg_report;

/* Compiles g into out_dir (created if missing; each file is written under a temporary name,
   then renamed). Every value of g must have a known shape: the caller (tools/) first gives the
   symbolic dims a value (the batch) and runs infer-shapes, fold-batchnorm, fold-constants and
   dce; a value with an unknown dim is QC_ERR_INVALID naming it. QC_ERR_UNSUPPORTED names the
   first node (and op, dtype) that no lowering covers. g is not modified. */
qc_status qc_compile(const qc_graph *g, const qc_cg_options *o, const char *out_dir, qc_cg_report *rep,
                     qc_err *e);

/* The host CPU as LLVM names it, and its features (LLVMGetHostCPUName/Features). */
void qc_cg_host_cpu(char *cpu, size_t cpu_len, char *features, size_t features_len);

#endif
