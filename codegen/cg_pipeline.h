/* The compiler driver's internal stages (codegen.c): lowering into kernel groups (lower.c),
 * the arena plan (plan.c) and the artifact files (artifact.c). Private to codegen/. */
#ifndef QC_CG_PIPELINE_H
#define QC_CG_PIPELINE_H

#include "cg.h"
#include "codegen.h"

typedef enum {
  CG_GROUP_CONV,  /* a fused conv / gemm: cg_emit_conv */
  CG_GROUP_NODE,  /* one node: cg_emit_node */
  CG_GROUP_ALIAS, /* Reshape / Flatten / ...: no kernel, the output shares the input's bytes */
} cg_group_kind;

#define CG_GROUP_MAX_NODES 4
/* Most inputs of one simple node (Concat in DenseNet has dozens). */
#define CG_MAX_NODE_INPUTS 256

typedef struct {
  cg_group_kind kind;
  int32_t nodes[CG_GROUP_MAX_NODES]; /* node ids, first is the group's name */
  int n_nodes;
  int32_t out;                       /* the value the group writes (alias: the alias) */
  int32_t *in;                       /* non-constant values read (alias: its source) */
  int n_in;
  char op[64];                       /* "Conv+Add+Relu" */
  cg_conv_spec spec;                 /* CONV: geometry, weights, epilogue; offsets from the plan */
  int32_t x, res;                    /* CONV: value ids of the input and residual (-1) */
  int weight_bits, act_bits;         /* for the manifest (0 when none) */
  int64_t weight_bytes;
  /* filled by the emitter */
  int kernel;                        /* index in the kernel table, -1 for aliases */
  int64_t n_tasks, scratch_bytes;
  uint64_t macs;
} cg_group;

typedef struct {
  qc_arena *arena;       /* everything below lives here */
  cg_group *groups;
  int n_groups;
  /* memory plan, indexed by value id */
  int32_t *root;         /* the value whose bytes v shares (itself unless an alias) */
  int64_t *off;          /* arena byte offset, -1 for constants and unused values */
  int64_t *bytes;        /* value bytes */
  int64_t *first, *last; /* live range of a root in steps (inputs first = -1) */
  uint64_t arena_bytes;
  uint64_t no_reuse_bytes; /* sum over roots of their aligned sizes, for reports and tests */
} cg_program;

/* Dense byte size of v, -1 if its shape or dtype is not known. */
int64_t cg_value_bytes(const qc_value *v);

/* lower.c: forms groups in node order; QC_ERR_UNSUPPORTED names the first node no lowering
   covers. p->arena must be set. */
qc_status cg_lower(const qc_graph *g, cg_program *p, qc_err *e);
/* plan.c: liveness over the group order and first-fit placement, 64-byte aligned; fills
   root/off/bytes/first/last and arena_bytes, and the conv specs' arena offsets. */
qc_status cg_plan(const qc_graph *g, cg_program *p, qc_err *e);
/* plan.c: QC_ERR_INTERNAL when two values live at the same step overlap in the arena
   (a brute-force check over every pair; tests and debug builds call it). */
qc_status cg_plan_check(const qc_graph *g, const cg_program *p, qc_err *e);

/* artifact.c */
uint32_t cg_crc32(uint32_t crc, const void *data, size_t n);
typedef struct {
  const qc_graph *g;
  const cg_program *p;
  const qc_cg_options *o;
  const qc_cg_report *rep;
  const char *prefix;
  const cg_target *t;
  const uint8_t *weights;
  size_t weights_bytes;
  uint64_t code_hash;
  int n_kernels;
} cg_artifact_in;
/* Builds weights.bin in memory (malloc'd; *out, *out_len). */
qc_status cg_blob_build(const cg_artifact_in *a, uint8_t **out, size_t *out_len, qc_err *e);
/* model.h text (malloc'd). */
qc_status cg_header_build(const cg_artifact_in *a, char **out, qc_err *e);
/* manifest.json text (malloc'd); files[] gives the sizes and CRCs of the other files. */
typedef struct {
  const char *name;
  uint64_t bytes;
  uint32_t crc;
} cg_file_info;
qc_status cg_manifest_build(const cg_artifact_in *a, const cg_file_info *files, int n_files,
                            char **out, qc_err *e);
/* Writes dir/name.tmp; cg_commit_files renames every NAME.tmp to NAME once all are written
   (so a failed compile leaves the previous files in place), cg_discard_files removes them. */
qc_status cg_write_file(const char *dir, const char *name, const void *data, size_t len, qc_err *e);
qc_status cg_commit_files(const char *dir, const char *const *names, int n, qc_err *e);
void cg_discard_files(const char *dir, const char *const *names, int n);
/* Links dir/model.o.tmp into dir/model.so.tmp with the linker driver (posix_spawnp). */
qc_status cg_link_shared(const char *dir, const char *linker, qc_err *e);

/* QCA_* code of an IR dtype, 0 if none. */
uint32_t cg_qca_dtype(qc_dtype t);

#endif
