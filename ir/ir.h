/* quantc IR: graphs of nodes over values, held in one arena per graph.
 *
 * The bottom layer: includes nothing of quantc's but ops.h. Values and nodes are ids (indices
 * into the graph's arrays), never pointers, so graphs copy, diff and serialize trivially.
 * Every public function returns a qc_status and fills a qc_err naming what went wrong where. */
#ifndef QC_IR_H
#define QC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct qc_node qc_node;
typedef struct qc_tinfo qc_tinfo;

/* ---- status and errors ------------------------------------------------------------------ */

typedef enum {
  QC_OK = 0,
  QC_ERR_USAGE,       /* bad option or argument */
  QC_ERR_IO,          /* a file cannot be opened, read or written */
  QC_ERR_FORMAT,      /* malformed bytes: protobuf, NPY, IDX, IR text, artifact */
  QC_ERR_UNSUPPORTED, /* well-formed input that quantc does not implement */
  QC_ERR_INVALID,     /* well-formed but inconsistent: shapes, missing tensors, cycles */
  QC_ERR_NOMEM,       /* allocation failed or a size limit was exceeded */
  QC_ERR_INTERNAL,    /* a broken invariant of quantc itself */
} qc_status;

typedef struct {
  qc_status code;
  char msg[1024];
} qc_err;

#if defined(__GNUC__)
#define QC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define QC_PRINTF(f, a)
#endif

/* Records an error unless one is already recorded (the first error wins). Returns the status
   now held by e, so `return qc_err_set(e, ...)` propagates it. e may be NULL. */
qc_status qc_err_set(qc_err *e, qc_status code, const char *fmt, ...) QC_PRINTF(3, 4);
void qc_err_clear(qc_err *e);
const char *qc_status_name(qc_status s);

/* ---- arena ------------------------------------------------------------------------------ */

typedef struct qc_arena qc_arena;

qc_arena *qc_arena_new(void);
void qc_arena_free(qc_arena *a);
/* Zeroed, 64-byte aligned; NULL when out of memory (or when the failure injector fires). */
void *qc_arena_alloc(qc_arena *a, size_t bytes);
char *qc_arena_strdup(qc_arena *a, const char *s);
char *qc_arena_strndup(qc_arena *a, const char *s, size_t n);
size_t qc_arena_bytes(const qc_arena *a);
/* Test hook: the n-th allocation from now on fails (n >= 1); 0 disables. */
void qc_arena_fail_after(qc_arena *a, long n);

/* ---- dtypes ----------------------------------------------------------------------------- */

#define QC_DTF_FLOAT 1u
#define QC_DTF_SIGNED 2u
#define QC_DTF_PACKED 4u   /* several elements per byte, low nibble/bits first */
#define QC_DTF_CODEBOOK 8u /* indices into a codebook tensor */

/* X(id, name, bits per element, ONNX TensorProto.DataType (0: none), flags) */
#define QC_DTYPES(X)                                        \
  X(F32, "f32", 32, 1, QC_DTF_FLOAT | QC_DTF_SIGNED)       \
  X(U8, "u8", 8, 2, 0)                                      \
  X(I8, "i8", 8, 3, QC_DTF_SIGNED)                          \
  X(U16, "u16", 16, 4, 0)                                   \
  X(I16, "i16", 16, 5, QC_DTF_SIGNED)                       \
  X(I32, "i32", 32, 6, QC_DTF_SIGNED)                       \
  X(I64, "i64", 64, 7, QC_DTF_SIGNED)                       \
  X(BOOL, "bool", 8, 9, 0)                                  \
  X(F16, "f16", 16, 10, QC_DTF_FLOAT | QC_DTF_SIGNED)      \
  X(F64, "f64", 64, 11, QC_DTF_FLOAT | QC_DTF_SIGNED)      \
  X(U32, "u32", 32, 12, 0)                                  \
  X(U64, "u64", 64, 13, 0)                                  \
  X(BF16, "bf16", 16, 16, QC_DTF_FLOAT | QC_DTF_SIGNED)    \
  X(I4, "i4", 4, 0, QC_DTF_SIGNED | QC_DTF_PACKED)          \
  X(U4, "u4", 4, 0, QC_DTF_PACKED)                          \
  X(TERNARY, "t2", 2, 0, QC_DTF_SIGNED | QC_DTF_PACKED)     \
  X(CB8, "cb8", 8, 0, QC_DTF_CODEBOOK)                      \
  X(CB16, "cb16", 16, 0, QC_DTF_CODEBOOK)

typedef enum {
  QC_DT_UNDEF = 0,
#define QC_X(id, name, bits, onnx, flags) QC_DT_##id,
  QC_DTYPES(QC_X)
#undef QC_X
  QC_DT_COUNT
} qc_dtype;

typedef struct {
  const char *name;
  int bits;
  int onnx;
  unsigned flags;
} qc_dtype_info;

extern const qc_dtype_info qc_dtypes[QC_DT_COUNT];

const char *qc_dtype_name(qc_dtype t);
qc_dtype qc_dtype_from_name(const char *name);  /* QC_DT_UNDEF if unknown */
qc_dtype qc_dtype_from_onnx(int onnx_type);     /* QC_DT_UNDEF if unknown or unsupported */
/* Bytes for elems elements, packed types rounded up to whole bytes; -1 on overflow. */
int64_t qc_dtype_bytes(qc_dtype t, int64_t elems);

/* ---- shapes and tensors ----------------------------------------------------------------- */

#define QC_MAX_RANK 8
/* A dimension is >= 0 when known, QC_DIM_UNKNOWN when not, and <= -2 when it is the symbol
   with index (-2 - d) in the graph's symbol table; copying a dim copies its symbol. */
#define QC_DIM_UNKNOWN (-1)
#define QC_DIM_SYM(k) (-2 - (int64_t)(k))
#define QC_DIM_SYM_INDEX(d) ((int32_t)(-2 - (d)))
/* Largest element count quantc accepts for one tensor (2^36), so byte sizes never overflow. */
#define QC_MAX_ELEMS ((int64_t)1 << 36)

/* A concrete tensor: all dims known, data laid out row-major, packed as its dtype. */
typedef struct {
  qc_dtype dtype;
  int rank;
  int64_t dims[QC_MAX_RANK];
  void *data;
} qc_tensor;

/* Product of dims; -1 if any is unknown or the product exceeds QC_MAX_ELEMS. */
int64_t qc_shape_elems(int rank, const int64_t *dims);
int64_t qc_tensor_elems(const qc_tensor *t);
int64_t qc_tensor_bytes(const qc_tensor *t);

/* ---- quantization parameters, carried by values ----------------------------------------- */

typedef struct {
  int bits;             /* 2..8 for stored tensors, 16/32 for accumulators */
  int axis;             /* channel axis, or -1 for per-tensor */
  int32_t n;            /* number of (scale, zero point) pairs: 1 or the channel count */
  float *scale;         /* n entries */
  int32_t *zero_point;  /* n entries */
  int32_t *mult;        /* dyadic requantization multipliers, n entries or NULL */
  int32_t *shift;       /* their right shifts */
  int32_t codebook;     /* value id of the codebook for QC_DTF_CODEBOOK dtypes, else -1 */
} qc_qparams;

/* ---- attributes ------------------------------------------------------------------------- */

/* Numbered as ONNX's AttributeProto.AttributeType. */
typedef enum {
  QC_ATTR_UNDEF = 0,
  QC_ATTR_FLOAT = 1,
  QC_ATTR_INT = 2,
  QC_ATTR_STRING = 3,
  QC_ATTR_TENSOR = 4,
  QC_ATTR_GRAPH = 5,
  QC_ATTR_FLOATS = 6,
  QC_ATTR_INTS = 7,
  QC_ATTR_STRINGS = 8,
  QC_ATTR_TENSORS = 9,
  QC_ATTR_GRAPHS = 10,
  QC_ATTR_SPARSE_TENSOR = 11,
  QC_ATTR_SPARSE_TENSORS = 12,
  QC_ATTR_TYPE_PROTO = 13,
  QC_ATTR_TYPE_PROTOS = 14,
} qc_attr_kind;

typedef struct {
  const char *name;
  qc_attr_kind kind;
  int64_t i;             /* INT */
  float f;               /* FLOAT */
  const char *s;         /* STRING (NUL-terminated; s_len bytes before it) */
  int64_t s_len;
  int64_t n;             /* element count of the list kinds */
  int64_t *ints;         /* INTS */
  float *floats;         /* FLOATS */
  const char **strings;  /* STRINGS */
  qc_tensor *tensors;    /* TENSOR (one) and TENSORS (n); data in the graph's arena */
} qc_attr;

/* ---- values, nodes, graphs -------------------------------------------------------------- */

#define QC_VAL_INPUT 1u   /* a graph input */
#define QC_VAL_OUTPUT 2u  /* a graph output */
#define QC_VAL_CONST 4u   /* data holds its contents (initializer or folded constant) */

typedef struct {
  const char *name;
  qc_dtype dtype;            /* QC_DT_UNDEF until known */
  int rank;                  /* -1 while unknown */
  int64_t dims[QC_MAX_RANK];
  void *data;                /* contents when QC_VAL_CONST (graph's arena) */
  int32_t producer;          /* node id, or -1 for inputs and constants */
  uint32_t flags;
  qc_qparams *q;             /* NULL when not quantized */
} qc_value;

#include "ops.h"

struct qc_node {
  qc_op op;
  const char *name;
  int32_t n_in, n_out;
  int32_t *in;               /* value ids; -1 for an omitted optional input */
  int32_t *out;              /* value ids; -1 for an omitted optional output */
  int32_t n_attrs;
  qc_attr *attrs;
};

typedef struct qc_graph {
  qc_arena *arena;           /* strings, attributes, constants, node in/out arrays */
  qc_value *values;          /* growable, owned by the graph */
  int32_t n_values, cap_values;
  qc_node *nodes;            /* in topological order (the verifier checks it) */
  int32_t n_nodes, cap_nodes;
  int32_t *inputs, n_inputs; /* graph inputs, in order, not counting constants */
  int32_t *outputs, n_outputs;
  const char **syms;         /* symbolic dimension names, see QC_DIM_SYM */
  int32_t n_syms, cap_syms;
  const char *name;
  int64_t opset;             /* ai.onnx opset the model was written for */
  int32_t *hash;             /* value-name index, rebuilt lazily; private to graph.c */
  int32_t hash_cap, hash_n;
} qc_graph;

qc_graph *qc_graph_new(void);
void qc_graph_free(qc_graph *g);

/* Adds a value; rank -1 for unknown shape, dims may be NULL then. Returns the id, or -1 on OOM
   (e set). Names must be unique; an empty or NULL name gets a fresh one. */
int32_t qc_graph_add_value(qc_graph *g, const char *name, qc_dtype dtype, int rank,
                           const int64_t *dims, qc_err *e);
/* Adds a constant value whose data (bytes long) is copied into the arena. */
int32_t qc_graph_add_const(qc_graph *g, const char *name, qc_dtype dtype, int rank,
                           const int64_t *dims, const void *data, qc_err *e);
int32_t qc_graph_find_value(qc_graph *g, const char *name); /* -1 if absent */
/* Appends a node and sets producer on its outputs. Returns the node id or -1 (e set). */
int32_t qc_graph_add_node(qc_graph *g, qc_op op, const char *name, int32_t n_in,
                          const int32_t *in, int32_t n_out, const int32_t *out, qc_err *e);
/* Appends an attribute to a node, returns it zeroed but for name and kind (NULL on OOM). */
qc_attr *qc_node_add_attr(qc_graph *g, int32_t node, const char *name, qc_attr_kind kind,
                          qc_err *e);
qc_status qc_graph_set_inputs(qc_graph *g, int32_t n, const int32_t *ids, qc_err *e);
qc_status qc_graph_set_outputs(qc_graph *g, int32_t n, const int32_t *ids, qc_err *e);
int32_t qc_graph_add_sym(qc_graph *g, const char *name, qc_err *e); /* existing index if known */
/* Reorders nodes topologically (stable); QC_ERR_INVALID naming a node on a cycle. */
qc_status qc_graph_toposort(qc_graph *g, qc_err *e);
/* Drops nodes whose op is QC_OP_NONE and renumbers producers. */
void qc_graph_compact(qc_graph *g);
/* Deep copy into a fresh arena. */
qc_graph *qc_graph_clone(const qc_graph *g, qc_err *e);

/* ---- attribute access with the op schema's defaults ------------------------------------- */

const qc_attr *qc_node_attr(const qc_node *n, const char *name);
/* The node's INT attribute, else the schema default, else dflt. */
int64_t qc_attr_i(const qc_node *n, const char *name, int64_t dflt);
float qc_attr_f(const qc_node *n, const char *name, float dflt);
const char *qc_attr_s(const qc_node *n, const char *name, const char *dflt);
/* INTS/FLOATS: element count and array, or -1 (and NULL) when absent. */
int64_t qc_attr_ints(const qc_node *n, const char *name, const int64_t **out);
int64_t qc_attr_floats(const qc_node *n, const char *name, const float **out);

/* Error helper that prefixes "node 'NAME' (OP): ". */
qc_status qc_node_err(qc_err *e, const qc_node *n, qc_status code, const char *fmt, ...)
    QC_PRINTF(4, 5);

/* ---- shape inference -------------------------------------------------------------------- */

/* What is known of one input or output while inferring: dtype, shape and, when constant or at
   run time, its contents. dtype QC_DT_UNDEF marks an omitted optional input; rank -1 an unknown
   shape. The same functions serve the static pass and the interpreter, which knows every
   input's contents and so gets every output shape. */
struct qc_tinfo {
  qc_dtype dtype;
  int rank;
  int64_t dims[QC_MAX_RANK];
  const void *data;
};

typedef qc_status (*qc_infer_fn)(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                                 int n_out, qc_err *e);

/* Sets an inferred output: dtype, rank and dims (NULL or past rank: unknown), no data. */
void qc_tinfo_set(qc_tinfo *o, qc_dtype dtype, int rank, const int64_t *dims);
/* Input i when present, NULL when beyond n_in or omitted (dtype QC_DT_UNDEF). */
const qc_tinfo *qc_tinfo_opt(const qc_tinfo *in, int n_in, int i);

/* Runs the op's inference on one node. */
qc_status qc_infer_node(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out,
                        int n_out, qc_err *e);

/* ---- verifier, printer, parser ---------------------------------------------------------- */

/* Checks ids, arity, attribute kinds against the schema, topological order, single producers,
   dtypes and shapes where known. */
qc_status qc_verify(const qc_graph *g, qc_err *e);
/* Text form (docs/ir-text.md); returns a malloc'd string, NULL on OOM. */
char *qc_print(const qc_graph *g, bool with_const_data);
qc_status qc_parse(const char *text, qc_graph **out, qc_err *e);

/* ---- 4-bit packing (ir/pack.c) ---------------------------------------------------------- */

/* QC_DT_I4 layout: element 2j in the low nibble of byte j, element 2j+1 in the high nibble,
   two's complement nibbles in [-8, 7]; qc_dtype_bytes(QC_DT_I4, n) = (n + 1) / 2 bytes. */
int32_t qc_i4_get(const uint8_t *p, int64_t i);
/* Stores the low 4 bits of v as element i, leaving the other nibble of its byte alone. */
void qc_i4_set(uint8_t *p, int64_t i, int32_t v);
/* Packs n values into (n + 1) / 2 bytes; an odd n leaves the last high nibble 0. Returns false
   when some value lies outside [-8, 7] (its low 4 bits are stored anyway). */
bool qc_pack_i4(const int8_t *src, int64_t n, uint8_t *dst);
void qc_unpack_i4(const uint8_t *src, int64_t n, int8_t *dst);

#endif
