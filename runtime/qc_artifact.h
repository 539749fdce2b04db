/* The binary format of an artifact's weights blob (DIR/weights.bin) and the kernel ABI.
 *
 * Shared by codegen/ (which writes it) and runtime/ (which reads it); plain C, no other
 * include of quantc's. Everything is little-endian, fixed-width and naturally aligned; every
 * offset is from the start of the file. The memory plan is done at compile time: each kernel
 * has its arena offsets and weight offsets baked in as constants, so the runtime only has to
 * map the blob, allocate the arena and the per-thread scratch once, and call kernels in order.
 *
 *   [qca_header][qca_step x n_steps][qca_tensor x (n_inputs + n_outputs + n_steps)]
 *   [strings][padding to 64][weights]
 *
 * Tensors: first the n_inputs graph inputs, then the n_outputs graph outputs, then one per step
 * (the value that step writes, for `verify` and `bench`). */
#ifndef QC_ARTIFACT_H
#define QC_ARTIFACT_H

#include <stdint.h>

#define QCA_MAGIC "QCARTIF"  /* 8 bytes with its NUL */
#define QCA_VERSION 1u
#define QCA_MAX_RANK 8
#define QCA_ALIGN 64         /* arena, scratch and the weights section are 64-byte aligned */

/* dtype codes in the blob (stable numbers, independent of ir/'s enum). */
enum {
  QCA_F32 = 1,
  QCA_U8 = 2,
  QCA_I8 = 3,
  QCA_I16 = 4,
  QCA_I32 = 5,
  QCA_I64 = 6,
  QCA_U16 = 7,
};

/* Byte size of one element of a QCA_* dtype, 0 if the code is unknown. */
static inline uint32_t qca_dtype_size(uint32_t dt)
{
  switch (dt) {
  case QCA_U8: case QCA_I8: return 1;
  case QCA_I16: case QCA_U16: return 2;
  case QCA_F32: case QCA_I32: return 4;
  case QCA_I64: return 8;
  default: return 0;
  }
}

typedef struct {
  char magic[8];            /* QCA_MAGIC */
  uint32_t version;         /* QCA_VERSION */
  uint32_t header_bytes;    /* sizeof(qca_header) */
  uint64_t file_bytes;      /* size of the whole file */
  uint32_t body_crc;        /* CRC-32 (IEEE, zlib's) of bytes [header_bytes, file_bytes) */
  uint32_t header_crc;      /* CRC-32 of the header with this field set to 0 */
  uint64_t code_hash;       /* must equal the library's <prefix>_code_hash */
  char prefix[32];          /* symbol prefix of the kernel library, NUL-terminated */
  char target[16];          /* "x86-64" or "aarch64", NUL-terminated */
  uint32_t n_kernels;       /* must equal the library's <prefix>_n_kernels */
  uint32_t n_steps;
  uint32_t n_inputs;
  uint32_t n_outputs;
  uint64_t arena_bytes;     /* one activation arena, reused across layers */
  uint64_t scratch_bytes;   /* per worker thread (im2col panels and the like) */
  uint64_t steps_off;       /* qca_step[n_steps] */
  uint64_t tensors_off;     /* qca_tensor[n_inputs + n_outputs + n_steps] */
  uint64_t strings_off;     /* NUL-terminated names, referenced by offset into this section */
  uint64_t strings_bytes;
  uint64_t weights_off;     /* kernels receive a pointer to file byte weights_off */
  uint64_t weights_bytes;
  uint64_t reserved[4];     /* 0 */
} qca_header;

typedef struct {
  uint32_t kernel;          /* index into <prefix>_kernels */
  uint32_t flags;           /* 0 */
  uint64_t n_tasks;         /* the kernel is called with [t0, t1) covering [0, n_tasks) */
  uint64_t macs;            /* multiply-accumulates of the step, for bench's GMAC/s */
  uint32_t name;            /* string offset: the layer (node) name */
  uint32_t op;              /* string offset: what the kernel does, e.g. "QcConv+QcAdd" */
} qca_step;

typedef struct {
  uint32_t name;            /* string offset: the IR value name */
  uint32_t dtype;           /* QCA_* */
  uint32_t rank;
  uint32_t reserved;
  int64_t dims[QCA_MAX_RANK];
  uint64_t arena_off;       /* where the tensor lives in the arena, NCHW row-major, dense */
  uint64_t bytes;           /* product of dims * dtype size */
  float scale;              /* quantization scale of an integer tensor, 0 for float */
  uint32_t reserved2;
} qca_tensor;

/* The one kernel signature. arena: the activation arena (arena_bytes, 64-aligned). weights:
   file byte weights_off of the blob (64-aligned in memory). scratch: this thread's
   scratch_bytes (64-aligned). The kernel does the work of tasks t0 <= t < t1; tasks of one step
   never write the same bytes, so any split over threads gives the same bits. */
typedef void (*qca_kernel_fn)(uint8_t *arena, const uint8_t *weights, uint8_t *scratch,
                              int64_t t0, int64_t t1);

/* What a kernel library (model.so / model.o) exports, for prefix P (default "qc_model"):
     const qca_kernel_fn P_kernels[];     the kernels, indexed by qca_step.kernel
     const uint32_t      P_n_kernels;
     const uint64_t      P_code_hash;     equal to the blob's code_hash                   */

#endif
