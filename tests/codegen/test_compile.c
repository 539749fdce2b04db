/* qc_compile end to end on small graphs: each graph is compiled, its artifact run by a small
 * loader written here from runtime/qc_artifact.h alone (independent of runtime/), every task
 * of every step called separately in reverse order (tasks must be independent), and the
 * outputs compared with the interpreter's: integer ops bit for bit, float ops within 1e-5
 * relative. Also: aliases, fusion choices, the memory plan, determinism, error messages. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../codegen/cg_pipeline.h"
#include "codegen.h"
#include "interp.h"
#include "testutil.h"
#include "cg_graph.h"

/* ---- a tiny loader ------------------------------------------------------------------------- */

typedef struct {
  uint8_t *blob;
  size_t blob_len;
  qca_header h;
  void *so;
  const qca_kernel_fn *kernels;
  uint8_t *arena, *scratch;
} loaded;

static uint8_t *read_all(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = aligned_alloc(64, ((size_t)n + 64) / 64 * 64);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return b;
}

static const char *blob_str(const loaded *L, uint32_t off)
{
  return (const char *)L->blob + L->h.strings_off + off;
}

static const qca_tensor *blob_tensor(const loaded *L, uint32_t i)
{
  return (const qca_tensor *)(L->blob + L->h.tensors_off) + i;
}

static const qca_step *blob_step(const loaded *L, uint32_t i)
{
  return (const qca_step *)(L->blob + L->h.steps_off) + i;
}

static bool load_dir(const char *dir, loaded *L)
{
  memset(L, 0, sizeof *L);
  char path[2048];
  snprintf(path, sizeof path, "%s/weights.bin", dir);
  L->blob = read_all(path, &L->blob_len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(L->blob);
  CU_ASSERT_FATAL(L->blob_len >= sizeof(qca_header));
  memcpy(&L->h, L->blob, sizeof L->h);
  CU_ASSERT_EQUAL(memcmp(L->h.magic, QCA_MAGIC, 8), 0);
  CU_ASSERT_EQUAL(L->h.file_bytes, L->blob_len);
  CU_ASSERT_EQUAL(L->h.body_crc, cg_crc32(0, L->blob + L->h.header_bytes, L->blob_len - L->h.header_bytes));
  qca_header h0 = L->h;
  h0.header_crc = 0;
  CU_ASSERT_EQUAL(L->h.header_crc, cg_crc32(0, &h0, sizeof h0));
  CU_ASSERT_EQUAL(L->h.weights_off % 64, 0);
  snprintf(path, sizeof path, "%s/model.so", dir);
  L->so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!L->so) fprintf(stderr, "dlopen: %s\n", dlerror());
  CU_ASSERT_PTR_NOT_NULL_FATAL(L->so);
  char sym[96];
  snprintf(sym, sizeof sym, "%s_kernels", L->h.prefix);
  L->kernels = dlsym(L->so, sym);
  snprintf(sym, sizeof sym, "%s_n_kernels", L->h.prefix);
  const uint32_t *nk = dlsym(L->so, sym);
  snprintf(sym, sizeof sym, "%s_code_hash", L->h.prefix);
  const uint64_t *ch = dlsym(L->so, sym);
  CU_ASSERT_FATAL(L->kernels && nk && ch);
  CU_ASSERT_EQUAL(*nk, L->h.n_kernels);
  CU_ASSERT_EQUAL(*ch, L->h.code_hash);
  /* Poisoned arena: a kernel that reads what nobody wrote shows up as a mismatch. */
  L->arena = aligned_alloc(64, (L->h.arena_bytes + 64) / 64 * 64);
  L->scratch = aligned_alloc(64, (L->h.scratch_bytes + 64) / 64 * 64);
  memset(L->arena, 0xA5, L->h.arena_bytes);
  return true;
}

static void unload(loaded *L)
{
  if (L->so) dlclose(L->so);
  free(L->blob);
  free(L->arena);
  free(L->scratch);
}

static void run_loaded(loaded *L, const qc_tensor *ins)
{
  for (uint32_t i = 0; i < L->h.n_inputs; i++) {
    const qca_tensor *t = blob_tensor(L, i);
    CU_ASSERT_EQUAL((int64_t)t->bytes, qc_tensor_bytes(&ins[i]));
    memcpy(L->arena + t->arena_off, ins[i].data, t->bytes);
  }
  const uint8_t *w = L->blob + L->h.weights_off;
  for (uint32_t s = 0; s < L->h.n_steps; s++) {
    const qca_step *st = blob_step(L, s);
    CU_ASSERT_FATAL(st->kernel < L->h.n_kernels);
    for (int64_t t = (int64_t)st->n_tasks - 1; t >= 0; t--) L->kernels[st->kernel](L->arena, w, L->scratch, t, t + 1);
  }
}

static const void *out_data(const loaded *L, uint32_t i)
{
  return L->arena + blob_tensor(L, L->h.n_inputs + i)->arena_off;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void out_dir(const char *name, char *buf, size_t n)
{
  snprintf(buf, n, "%s/tests/cg_%s", QC_BINARY_DIR, name);
}

static qc_status compile(const qc_graph *g, const char *name, qc_cg_report *rep, qc_err *e)
{
  char dir[1024];
  out_dir(name, dir, sizeof dir);
  qc_cg_options o;
  memset(&o, 0, sizeof o);
  o.cpu = "native";
  o.scheme = "test";
  o.source = "/some/where/model.onnx";
  return qc_compile(g, &o, dir, rep, e);
}

static void fill_input(qc_tensor *t, const qc_value *v, uint64_t *seed)
{
  memset(t, 0, sizeof *t);
  t->dtype = v->dtype, t->rank = v->rank;
  memcpy(t->dims, v->dims, sizeof t->dims);
  int64_t n = qc_tensor_elems(t);
  t->data = calloc((size_t)qc_tensor_bytes(t) + 8, 1);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_next(seed);
    switch (t->dtype) {
    case QC_DT_F32: {
      /* Mostly uniform in [-4, 4), some exact quarters (quantization ties) and zeros. */
      float f = (float)((double)(r >> 11) / 9007199254740992.0 * 8.0 - 4.0);
      if (r % 7 == 0) f = (float)((int64_t)(r % 33) - 16) * 0.25f;
      ((float *)t->data)[i] = f;
      break;
    }
    case QC_DT_U8: ((uint8_t *)t->data)[i] = (uint8_t)r; break;
    case QC_DT_I8: ((int8_t *)t->data)[i] = (int8_t)r; break;
    case QC_DT_I16: ((int16_t *)t->data)[i] = (int16_t)r; break;
    case QC_DT_I32: ((int32_t *)t->data)[i] = (int32_t)r; break;
    default: break;
    }
  }
}

static int compare(const qc_tensor *ref, const void *got, const char *what)
{
  int64_t n = qc_tensor_elems(ref), bad = 0;
  for (int64_t i = 0; i < n; i++) {
    if (ref->dtype == QC_DT_F32) {
      float a = ((const float *)ref->data)[i], b = ((const float *)got)[i];
      if (isnan(a) && isnan(b)) continue;
      if (!(fabsf(a - b) <= 1e-5f * fabsf(a) + 1e-7f)) {
        if (bad++ < 5) fprintf(stderr, "%s[%lld]: want %.9g got %.9g\n", what, (long long)i, (double)a, (double)b);
      }
    } else {
      size_t es = (size_t)qc_dtypes[ref->dtype].bits / 8;
      if (memcmp((const char *)ref->data + i * es, (const char *)got + i * es, es)) {
        if (bad++ < 5) fprintf(stderr, "%s[%lld]: bytes differ\n", what, (long long)i);
      }
    }
  }
  return (int)bad;
}

/* Compiles text, runs it on seeded inputs (or the given ones) and compares with the interpreter.
   Returns the number of steps. */
static int check_graph(const char *name, const char *text, const qc_tensor *given)
{
  qc_graph *g = parse(text);
  qc_cg_report rep;
  qc_err e = {0};
  qc_status st = compile(g, name, &rep, &e);
  if (st) fprintf(stderr, "%s: %s\n", name, e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  qc_tensor ins[8];
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < g->n_inputs; i++) {
    if (given) ins[i] = given[i];
    else fill_input(&ins[i], &g->values[g->inputs[i]], &seed);
  }
  qc_interp *it = NULL;
  CU_ASSERT_EQUAL_FATAL(qc_interp_new(g, 1, &it, &e), QC_OK);
  st = qc_interp_run(it, ins, g->n_inputs, &e);
  if (st) fprintf(stderr, "%s interp: %s\n", name, e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  char dir[1024];
  out_dir(name, dir, sizeof dir);
  loaded L;
  load_dir(dir, &L);
  run_loaded(&L, ins);
  for (int i = 0; i < g->n_outputs; i++) {
    int bad = compare(qc_interp_output(it, i), out_data(&L, (uint32_t)i), name);
    CU_ASSERT_EQUAL(bad, 0);
  }
  int steps = (int)L.h.n_steps;
  for (int i = 0; i < steps; i++) CU_ASSERT(blob_str(&L, blob_step(&L, (uint32_t)i)->name)[0] != 0);
  CU_ASSERT_EQUAL(steps, rep.n_steps);
  unload(&L);
  qc_interp_free(it);
  if (!given)
    for (int i = 0; i < g->n_inputs; i++) free(ins[i].data);
  qc_graph_free(g);
  return steps;
}

/* ---- simple ops ---------------------------------------------------------------------------- */

static void test_relu(void)
{
  CU_ASSERT_EQUAL(check_graph("relu", "graph t opset 17 {\n input %x: f32[2,3,4,5]\n"
                                      " %y: f32[2,3,4,5] = Relu(%x) @r\n output %y\n}\n", NULL), 1);
}

static void test_quantize_dequantize(void)
{
  /* Ties of x / scale at +-k.5 (to even), saturation at both ends, NaN -> 0, infinities. */
  const char *ir = "graph t opset 17 {\n input %x: f32[1,24]\n"
                   " %q: i8[1,24] = quantc.QcQuantize(%x) {scale=0.5, qmin=-100, qmax=90} @q\n"
                   " %u: u8[1,24] = quantc.QcQuantize(%x) {scale=0.25, qmin=0, qmax=15} @u\n"
                   " %d: f32[1,24] = quantc.QcDequantize(%q) {scale=0.37} @d\n"
                   " %e: f32[1,24] = quantc.QcDequantize(%u) {scale=3.0} @e\n"
                   " output %q, %u, %d, %e\n}\n";
  float xs[24] = {0.25f, 0.75f, -0.25f, -0.75f, 1.25f, -1.25f, 0.0f, -0.0f, 44.9f, 45.25f, 200.0f,
                  -200.0f, INFINITY, -INFINITY, NAN, 0.125f, 3.0f, 3.5f, 3.625f, 3.875f, -50.0f,
                  -50.25f, 1e30f, 1e-30f};
  qc_tensor in = {QC_DT_F32, 2, {1, 24}, xs};
  CU_ASSERT_EQUAL(check_graph("quant", ir, &in), 4);
  check_graph("quant_rand", ir, NULL);
}

static void test_qcadd(void)
{
  /* Broadcast b [1, 3, 1, 1]; mult/shift of HAWQ's sizes; a clamp of the sum only. */
  const char *ir =
      "graph t opset 17 {\n input %a: i8[2,3,4,5]\n input %b: u8[1,3,1,1]\n input %c: i16[2,3,4,5]\n"
      " %y: i8[2,3,4,5] = quantc.QcAdd(%a, %b) {mult=[1610612736, 1073741824], shift=[31, 32], qmin=-128, qmax=127} @add\n"
      " %z: i16[2,3,4,5] = quantc.QcAdd(%c, %y) {mult=[1319413953, 2000000000], shift=[42, 30], qmin=-30000, qmax=30000} @add2\n"
      " output %y, %z\n}\n";
  CU_ASSERT_EQUAL(check_graph("qcadd", ir, NULL), 2);
}

static void test_qc_gap(void)
{
  const char *ir = "graph t opset 17 {\n input %x: i8[2,3,5,3]\n input %u: u8[1,4,7,7]\n"
                   " %y: i8[2,3,1,1] = quantc.QcGlobalAveragePool(%x) @gap\n"
                   " %v: u8[1,4,1,1] = quantc.QcGlobalAveragePool(%u) @gap2\n"
                   " output %y, %v\n}\n";
  CU_ASSERT_EQUAL(check_graph("qcgap", ir, NULL), 2);
}

static void test_pools(void)
{
  const char *ir =
      "graph t opset 17 {\n input %x: f32[2,3,9,8]\n input %q: u8[1,2,7,7]\n input %s: i8[1,2,6,6]\n"
      " %a: f32[2,3,5,4] = MaxPool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]} @mp\n"
      " %b: f32[2,3,4,4] = MaxPool(%x) {kernel_shape=[3, 2], strides=[2, 2], ceil_mode=1, dilations=[1, 1]} @mpc\n"
      " %c: f32[2,3,5,4] = AveragePool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]} @ap\n"
      " %d: f32[2,3,5,4] = AveragePool(%x) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1} @api\n"
      " %e: f32[2,3,4,4] = AveragePool(%x) {kernel_shape=[3, 2], strides=[2, 2], ceil_mode=1} @apc\n"
      " %f: u8[1,2,4,4] = MaxPool(%q) {kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1} @mpu\n"
      " %h: i8[1,2,3,3] = MaxPool(%s) {kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]} @mpi\n"
      " %k: f32[2,3,2,2] = MaxPool(%x) {kernel_shape=[2, 2], dilations=[3, 2], strides=[3, 3]} @mpd\n"
      " %m: f32[2,3,1,1] = GlobalAveragePool(%x) @gap\n"
      " %n: f32[2,3,1,1] = GlobalMaxPool(%x) @gmp\n"
      " output %a, %b, %c, %d, %e, %f, %h, %k, %m, %n\n}\n";
  CU_ASSERT_EQUAL(check_graph("pools", ir, NULL), 10);
}

static void test_activations(void)
{
  const char *ir =
      "graph t opset 17 {\n input %x: f32[3,4,5]\n input %i: i8[3,4,5]\n"
      " const %lo: f32[] = [-1.5]\n const %hi: f32[] = [2.25]\n const %ilo: i8[] = [-7]\n"
      " %a: f32[3,4,5] = Sigmoid(%x) @sig\n %b: f32[3,4,5] = Tanh(%x) @tanh\n"
      " %c: f32[3,4,5] = HardSigmoid(%x) {alpha=0.3, beta=0.4} @hsig\n"
      " %d: f32[3,4,5] = HardSwish(%x) @hsw\n %f: f32[3,4,5] = LeakyRelu(%x) {alpha=0.1} @lr\n"
      " %g: f32[3,4,5] = Clip(%x, %lo, %hi) @clip\n %h: f32[3,4,5] = Clip(%x, _, %hi) @cliphi\n"
      " %j: i8[3,4,5] = Relu(%i) @irelu\n %k: i8[3,4,5] = Clip(%i, %ilo, _) @iclip\n"
      " %l: f32[3,4,5] = Exp(%x) @exp\n %m: f32[3,4,5] = Neg(%x) @neg\n"
      " const %bs: f32[4] = [1.5, 0.5, -1, 2]\n const %bb: f32[4] = [0.1, -0.2, 0.3, 0]\n"
      " const %bm: f32[4] = [0.5, -0.5, 0, 1]\n const %bv: f32[4] = [1, 2, 0.5, 4]\n"
      " %n: f32[3,4,5] = BatchNormalization(%x, %bs, %bb, %bm, %bv) {epsilon=0.001} @bn\n"
      " output %a, %b, %c, %d, %f, %g, %h, %j, %k, %l, %m, %n\n}\n";
  CU_ASSERT_EQUAL(check_graph("act", ir, NULL), 12);
}

static void test_binary_broadcast(void)
{
  const char *ir =
      "graph t opset 17 {\n input %x: f32[2,3,4]\n input %y: f32[3,1]\n input %z: f32[2,1,4]\n"
      " input %i: i8[2,3,4]\n input %j: i8[3,4]\n input %u: u8[2,3,4]\n input %w: u8[1]\n"
      " const %c: f32[4] = [1.5, -2, 0.25, 3]\n"
      " %a: f32[2,3,4] = Add(%x, %y) @add\n %b: f32[2,3,4] = Sub(%z, %x) @sub\n"
      " %m: f32[2,3,4] = Mul(%x, %c) @mul\n %d: f32[2,3,4] = Div(%c, %x) @div\n"
      " %e: f32[2,3,4] = Mul(%x, %x) @sq\n"
      " %p: f32[2,3,4] = PRelu(%x, %c) @prelu\n %mx: f32[2,3,4] = Max(%x, %y) @max\n"
      " %mn: f32[2,3,4] = Min(%z, %x) @min\n"
      " %ia: i8[2,3,4] = Add(%i, %j) @iadd\n %is: i8[2,3,4] = Sub(%i, %j) @isub\n"
      " %im: i8[2,3,4] = Mul(%i, %j) @imul\n %ix: i8[2,3,4] = Max(%i, %j) @imax\n"
      " %ux: u8[2,3,4] = Min(%u, %w) @umin\n %ua: u8[2,3,4] = Add(%u, %w) @uadd\n"
      " output %a, %b, %m, %d, %e, %p, %mx, %mn, %ia, %is, %im, %ix, %ux, %ua\n}\n";
  CU_ASSERT_EQUAL(check_graph("binary", ir, NULL), 14);
  /* NaN through Max and Min from either side, as numpy.maximum. */
  const char *nan_ir = "graph t opset 17 {\n input %a: f32[4]\n input %b: f32[4]\n"
                       " %x: f32[4] = Max(%a, %b) @max\n %n: f32[4] = Min(%a, %b) @min\n"
                       " output %x, %n\n}\n";
  float av[4] = {NAN, 1.0f, -2.0f, 3.0f}, bv[4] = {1.0f, NAN, 5.0f, -3.0f};
  qc_tensor ab[2] = {{QC_DT_F32, 1, {4}, av}, {QC_DT_F32, 1, {4}, bv}};
  CU_ASSERT_EQUAL(check_graph("nanmax", nan_ir, ab), 2);
}

static void test_data_movement(void)
{
  const char *ir =
      "graph t opset 17 {\n input %x: f32[2,3,4,5]\n input %y: f32[2,2,4,5]\n input %q: u8[2,3,4]\n"
      " const %c: f32[2,1,4,5] = ...\n"
      " %a: f32[2,6,4,5] = Concat(%x, %y, %c) {axis=1} @cat\n"
      " %b: f32[2,4,5,3] = Transpose(%x) {perm=[0, 2, 3, 1]} @tr\n"
      " %t: u8[4,3,2] = Transpose(%q) @trq\n"
      " %s: f32[2,3,4,5] = Softmax(%x) @sm\n"
      " %u: f32[2,3,4,5] = Softmax(%x) {axis=3} @sm3\n"
      " const %pads: i64[8] = [0, 1, 2, 0, 0, 0, 1, 3]\n const %pv: f32[] = [-1.5]\n"
      " const %qp: i64[6] = [1, 0, 1, 0, 2, 1]\n const %cp: i64[8] = [0, 0, -1, 1, 0, 0, 0, -2]\n"
      " %p: f32[2,4,7,8] = Pad(%x, %pads, %pv) @pad\n"
      " %pr: f32[2,4,7,8] = Pad(%x, %pads) {mode=\"reflect\"} @padr\n"
      " %pe: u8[3,5,6] = Pad(%q, %qp) {mode=\"edge\"} @pade\n"
      " %pc: f32[2,3,3,4] = Pad(%x, %cp) @padc\n"
      " output %a, %b, %t, %s, %u, %p, %pr, %pe, %pc\n}\n";
  CU_ASSERT_EQUAL(check_graph("move", ir, NULL), 9);
  /* Many inputs (DenseNet concatenates dozens), repeated operands. */
  char big[4096];
  int at = snprintf(big, sizeof big, "graph t opset 17 {\n input %%x: f32[1,2,3]\n input %%y: f32[1,1,3]\n"
                                     " %%c: f32[1,40,3] = Concat(");
  for (int i = 0; i < 20; i++) at += snprintf(big + at, sizeof big - (size_t)at, "%s%%%c", i ? ", " : "", i % 3 ? 'x' : 'y');
  snprintf(big + at, sizeof big - (size_t)at, ") {axis=1} @cat\n output %%c\n}\n");
  /* 7 y's (1 channel) and 13 x's (2 channels): 33 channels. */
  char *dim = strstr(big, "f32[1,40,3]");
  memcpy(dim, "f32[1,33,3]", 11);
  CU_ASSERT_EQUAL(check_graph("cat20", big, NULL), 1);
}

/* Reshape / Flatten / Squeeze / Unsqueeze / Identity are aliases: no step, shared bytes. */
static void test_aliases(void)
{
  const char *ir =
      "graph t opset 17 {\n input %x: f32[2,3,4,1]\n const %sh: i64[2] = [6, 4]\n const %ax: i64[1] = [0]\n"
      " %r: f32[2,3,4,1] = Relu(%x) @relu\n"
      " %s: f32[2,3,4] = Squeeze(%r) @sq\n %f: f32[2,12] = Flatten(%s) @fl\n"
      " %h: f32[6,4] = Reshape(%f, %sh) @rs\n %u: f32[1,6,4] = Unsqueeze(%h, %ax) @us\n"
      " %i: f32[1,6,4] = Identity(%u) @id\n %y: f32[1,6,4] = Sigmoid(%i) @sig\n"
      " output %y, %f\n}\n";
  CU_ASSERT_EQUAL(check_graph("alias", ir, NULL), 2);
  /* The plan gives the alias chain one range. */
  qc_graph *g = parse(ir);
  cg_program p;
  memset(&p, 0, sizeof p);
  p.arena = qc_arena_new();
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_lower(g, &p, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(cg_plan(g, &p, &e), QC_OK);
  int32_t r = qc_graph_find_value(g, "r"), i = qc_graph_find_value(g, "i"), f = qc_graph_find_value(g, "f");
  CU_ASSERT_EQUAL(p.off[r], p.off[i]);
  CU_ASSERT_EQUAL(p.off[r], p.off[f]);
  CU_ASSERT_EQUAL(p.root[i], r);
  /* f is an output: the relu's bytes stay live to the end, so y must not reuse them. */
  CU_ASSERT_NOT_EQUAL(p.off[qc_graph_find_value(g, "y")], p.off[r]);
  qc_arena_free(p.arena);
  qc_graph_free(g);
}

/* An output that is a graph input's alias needs a copy kernel, not an alias of an input that
   the runtime copies in (it is one range: allowed); a graph output that is an input as is. */
static void test_identity_graph(void)
{
  const char *ir = "graph t opset 17 {\n input %x: f32[3,4]\n %y: f32[12] = Flatten(%x) {axis=0} @fl\n"
                   " %z: f32[3,4] = Relu(%x) @r\n output %z, %y\n}\n";
  check_graph("identity", ir, NULL);
}

/* ---- fusion -------------------------------------------------------------------------------- */

static void lower_ops(const char *text, char ops[][64], int *n)
{
  qc_graph *g = parse(text);
  cg_program p;
  memset(&p, 0, sizeof p);
  p.arena = qc_arena_new();
  qc_err e = {0};
  qc_status st = cg_lower(g, &p, &e);
  if (st) fprintf(stderr, "lower: %s\n", e.msg);
  CU_ASSERT_EQUAL_FATAL(st, QC_OK);
  *n = 0;
  for (int i = 0; i < p.n_groups; i++)
    if (p.groups[i].kind != CG_GROUP_ALIAS) snprintf(ops[(*n)++], 64, "%s", p.groups[i].op);
  qc_arena_free(p.arena);
  qc_graph_free(g);
}

static void test_fusion_choices(void)
{
  char ops[16][64];
  int n;
  /* Conv + Add(residual computed before) + Relu: one step. */
  lower_ops("graph t opset 17 {\n input %x: f32[1,4,6,6]\n const %w: f32[4,4,3,3] = ...\n"
            " %c: f32[1,4,6,6] = Conv(%x, %w, _) {pads=[1, 1, 1, 1]} @conv\n"
            " %a: f32[1,4,6,6] = Add(%x, %c) @add\n %y: f32[1,4,6,6] = Relu(%a) @relu\n output %y\n}\n",
            ops, &n);
  CU_ASSERT_EQUAL(n, 1);
  CU_ASSERT_STRING_EQUAL(ops[0], "Conv+Add+Relu");
  /* The conv's output has two consumers: nothing fuses into it. */
  lower_ops("graph t opset 17 {\n input %x: f32[1,4,6,6]\n const %w: f32[4,4,3,3] = ...\n"
            " %c: f32[1,4,6,6] = Conv(%x, %w, _) {pads=[1, 1, 1, 1]} @conv\n"
            " %a: f32[1,4,6,6] = Add(%x, %c) @add\n %r: f32[1,4,6,6] = Relu(%c) @relu\n"
            " %y: f32[1,4,6,6] = Mul(%a, %r) @mul\n output %y\n}\n",
            ops, &n);
  CU_ASSERT_EQUAL(n, 4);
  CU_ASSERT_STRING_EQUAL(ops[0], "Conv");
  /* Residual computed after the conv: the Add is not fused (the conv runs first). */
  lower_ops("graph t opset 17 {\n input %x: f32[1,4,6,6]\n const %w: f32[4,4,3,3] = ...\n"
            " %c: f32[1,4,6,6] = Conv(%x, %w, _) {pads=[1, 1, 1, 1]} @conv\n"
            " %r: f32[1,4,6,6] = Sigmoid(%x) @sig\n"
            " %a: f32[1,4,6,6] = Add(%c, %r) @add\n output %a\n}\n",
            ops, &n);
  CU_ASSERT_EQUAL(n, 3);
  CU_ASSERT_STRING_EQUAL(ops[0], "Conv");
  /* Gemm + Relu; MatMul + Add(bias) + Clip; QcConv + QcAdd. */
  lower_ops("graph t opset 17 {\n input %x: f32[2,8]\n const %w: f32[8,3] = ...\n const %b: f32[3] = ...\n"
            " const %lo: f32[] = [0]\n const %hi: f32[] = [6]\n"
            " %g: f32[2,3] = Gemm(%x, %w, %b) @gemm\n %r: f32[2,3] = Relu(%g) @relu\n"
            " %m: f32[2,3] = MatMul(%x, %w) @mm\n %a: f32[2,3] = Add(%m, %b) @bias\n"
            " %c: f32[2,3] = Clip(%a, %lo, %hi) @clip\n output %r, %c\n}\n",
            ops, &n);
  CU_ASSERT_EQUAL(n, 2);
  CU_ASSERT_STRING_EQUAL(ops[0], "Gemm+Relu");
  CU_ASSERT_STRING_EQUAL(ops[1], "MatMul+Add+Clip");
  lower_ops("graph t opset 17 {\n input %x: i8[1,4,6,6]\n const %w: i8[4,4,1,1] = ...\n"
            " %c: i8[1,4,6,6] = quantc.QcConv(%x, %w, _) {mult=[1073741824, 1073741824, 1073741824, 1073741824], "
            "shift=[31, 31, 31, 31], qmin=-128, qmax=127} @qconv\n"
            " %a: i16[1,4,6,6] = quantc.QcAdd(%x, %c) {mult=[1073741824, 1610612736], shift=[30, 31], qmin=-1000, qmax=1000} @qadd\n"
            " output %a\n}\n",
            ops, &n);
  CU_ASSERT_EQUAL(n, 1);
  CU_ASSERT_STRING_EQUAL(ops[0], "QcConv+QcAdd");
}

/* QcAdd's pairs: the conv branch's pair goes first even when the conv is QcAdd's 2nd input. */
static void test_fusion_qcadd_order(void)
{
  qc_graph *g = parse("graph t opset 17 {\n input %x: i8[1,2,3,3]\n const %w: i8[2,2,1,1] = [1, 2, 3, 4]\n"
                      " %c: i8[1,2,3,3] = quantc.QcConv(%x, %w, _) {mult=[1073741824, 1073741824], "
                      "shift=[31, 31], qmin=-128, qmax=127} @qconv\n"
                      " %a: i16[1,2,3,3] = quantc.QcAdd(%x, %c) {mult=[1111111111, 1610612736], shift=[30, 31], qmin=-1000, qmax=999} @qadd\n"
                      " output %a\n}\n");
  cg_program p;
  memset(&p, 0, sizeof p);
  p.arena = qc_arena_new();
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_lower(g, &p, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(p.n_groups, 1);
  const cg_conv_spec *s = &p.groups[0].spec;
  CU_ASSERT(s->has_res);
  CU_ASSERT_EQUAL(s->rmult[0], 1610612736);
  CU_ASSERT_EQUAL(s->rshift[0], 31);
  CU_ASSERT_EQUAL(s->rmult[1], 1111111111);
  CU_ASSERT_EQUAL(s->rshift[1], 30);
  CU_ASSERT_EQUAL(s->rqmin, -1000);
  CU_ASSERT_EQUAL(s->rqmax, 999);
  CU_ASSERT_EQUAL(s->out_dt, QC_DT_I16);
  CU_ASSERT_EQUAL(s->res_dt, QC_DT_I8);
  qc_arena_free(p.arena);
  qc_graph_free(g);
}

/* ---- memory plan --------------------------------------------------------------------------- */

/* A ResNet-ish chain: stem, 6 residual blocks of conv-relu-conv-add-relu, pooling, gemm. */
static char *resnetish(void)
{
  static char buf[16384];
  size_t at = 0;
  at += (size_t)snprintf(buf + at, sizeof buf - at,
                         "graph r opset 17 {\n input %%x: f32[1,3,32,32]\n const %%ws: f32[16,3,3,3] = ...\n"
                         " const %%w: f32[16,16,3,3] = ...\n const %%fc: f32[10,16] = ...\n"
                         " %%h0: f32[1,16,32,32] = Conv(%%x, %%ws, _) {pads=[1, 1, 1, 1]} @stem\n");
  for (int b = 0; b < 6; b++)
    at += (size_t)snprintf(buf + at, sizeof buf - at,
                           " %%c%da: f32[1,16,32,32] = Conv(%%h%d, %%w, _) {pads=[1, 1, 1, 1]} @c%da\n"
                           " %%r%d: f32[1,16,32,32] = Relu(%%c%da) @r%d\n"
                           " %%c%db: f32[1,16,32,32] = Conv(%%r%d, %%w, _) {pads=[1, 1, 1, 1]} @c%db\n"
                           " %%s%d: f32[1,16,32,32] = Add(%%c%db, %%h%d) @s%d\n"
                           " %%h%d: f32[1,16,32,32] = Relu(%%s%d) @o%d\n",
                           b, b, b, b, b, b, b, b, b, b, b, b, b, b + 1, b, b);
  snprintf(buf + at, sizeof buf - at,
           " %%p: f32[1,16,1,1] = GlobalAveragePool(%%h6) @gap\n %%f: f32[1,16] = Flatten(%%p) @fl\n"
           " %%y: f32[1,10] = Gemm(%%f, %%fc, _) {transB=1} @fc\n output %%y\n}\n");
  return buf;
}

static void test_memory_plan(void)
{
  qc_graph *g = parse(resnetish());
  cg_program p;
  memset(&p, 0, sizeof p);
  p.arena = qc_arena_new();
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(cg_lower(g, &p, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(cg_plan(g, &p, &e), QC_OK);
  /* 1 stem + 6 * 2 fused convs + gap + alias + gemm. */
  CU_ASSERT_EQUAL(p.n_groups, 16);
  CU_ASSERT_EQUAL(cg_plan_check(g, &p, &e), QC_OK);
  /* Independent brute force: values written by steps i and read until j. */
  int64_t first[256], last[256];
  for (int32_t v = 0; v < g->n_values; v++) first[v] = INT64_MAX, last[v] = -2;
  for (int32_t i = 0; i < g->n_inputs; i++) first[g->inputs[i]] = last[g->inputs[i]] = -1;
  for (int s = 0; s < p.n_groups; s++) {
    const cg_group *gr = &p.groups[s];
    for (int i = 0; i < gr->n_in; i++) {
      int32_t r = p.root[gr->in[i]];
      if (last[r] < s) last[r] = s;
    }
    if (gr->kind != CG_GROUP_ALIAS) first[gr->out] = last[gr->out] = s;
  }
  last[p.root[g->outputs[0]]] = p.n_groups;
  int overlaps = 0;
  for (int32_t a = 0; a < g->n_values; a++)
    for (int32_t b = a + 1; b < g->n_values; b++) {
      if (first[a] == INT64_MAX || first[b] == INT64_MAX) continue;
      if (first[a] > last[b] || first[b] > last[a]) continue;
      if (p.off[a] < p.off[b] + p.bytes[b] && p.off[b] < p.off[a] + p.bytes[a]) overlaps++;
    }
  CU_ASSERT_EQUAL(overlaps, 0);
  /* Reuse: at most 3 live 64 KiB activations at once (+ the 12 KiB input, first fit puts it
     first), against 14 without reuse. */
  CU_ASSERT(p.arena_bytes * 2 <= p.no_reuse_bytes);
  if (p.arena_bytes > 3 * 65536 + 12288) fprintf(stderr, "arena %llu no-reuse %llu\n", (unsigned long long)p.arena_bytes, (unsigned long long)p.no_reuse_bytes);
  CU_ASSERT(p.arena_bytes <= 3 * 65536 + 12288);
  for (int32_t v = 0; v < g->n_values; v++)
    if (p.off[v] >= 0) CU_ASSERT_EQUAL(p.off[v] % 64, 0);
  qc_arena_free(p.arena);
  qc_graph_free(g);
}

/* ---- determinism and errors ---------------------------------------------------------------- */

static void test_determinism(void)
{
  const char *ir = "graph t opset 17 {\n input %x: f32[2,3,8,8]\n"
                   " %q: i8[2,3,8,8] = quantc.QcQuantize(%x) {scale=0.05, qmin=-127, qmax=127} @q\n"
                   " %p: i8[2,3,4,4] = MaxPool(%q) {kernel_shape=[2, 2], strides=[2, 2]} @mp\n"
                   " %d: f32[2,3,4,4] = quantc.QcDequantize(%p) {scale=0.05} @dq\n"
                   " %s: f32[2,3,4,4] = Softmax(%d) @sm\n output %s\n}\n";
  qc_graph *g = parse(ir);
  qc_cg_report r1, r2;
  qc_err e = {0};
  CU_ASSERT_EQUAL_FATAL(compile(g, "det1", &r1, &e), QC_OK);
  CU_ASSERT_EQUAL_FATAL(compile(g, "det2", &r2, &e), QC_OK);
  const char *files[] = {"model.so", "model.o", "model.h", "weights.bin", "manifest.json"};
  for (int i = 0; i < 5; i++) {
    char a[2048], b[2048], d1[1024], d2[1024];
    out_dir("det1", d1, sizeof d1);
    out_dir("det2", d2, sizeof d2);
    snprintf(a, sizeof a, "%s/%s", d1, files[i]);
    snprintf(b, sizeof b, "%s/%s", d2, files[i]);
    size_t la = 0, lb = 0;
    uint8_t *da = read_all(a, &la), *db = read_all(b, &lb);
    CU_ASSERT_PTR_NOT_NULL(da);
    CU_ASSERT_PTR_NOT_NULL(db);
    CU_ASSERT(da && db && la == lb && memcmp(da, db, la) == 0);
    if (!(da && db && la == lb && memcmp(da, db, la) == 0)) fprintf(stderr, "differs: %s\n", files[i]);
    free(da);
    free(db);
  }
  /* The manifest has no absolute path and the source's base name. */
  char m[2048], d1[1024];
  out_dir("det1", d1, sizeof d1);
  snprintf(m, sizeof m, "%s/manifest.json", d1);
  size_t lm = 0;
  char *man = (char *)read_all(m, &lm);
  CU_ASSERT_PTR_NOT_NULL_FATAL(man);
  man[lm - 1] = 0;
  CU_ASSERT_PTR_NULL(strstr(man, QC_BINARY_DIR));
  CU_ASSERT_PTR_NOT_NULL(strstr(man, "\"source\": \"model.onnx\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(man, "\"op\": \"MaxPool\""));
  free(man);
  /* Well-formed JSON with the documented keys, checked by Python's parser when present. */
  if (system("/usr/bin/python3 -c 'pass' >/dev/null 2>&1") == 0) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,sys; m=json.load(open('%s')); "
             "assert m['format']==1 and m['target']=='x86-64' and m['prefix']=='qc_model'; "
             "assert [l['op'] for l in m['layers']]==['QcQuantize','MaxPool','QcDequantize','Softmax']; "
             "assert m['layers'][1]['out']['shape']==[2,3,4,4] and m['layers'][1]['out']['dtype']=='i8'; "
             "assert m['outputs'][0]['name']=='s' and set(m['files'])=={'model.so','model.o','model.h','weights.bin'}; "
             "assert m['files']['weights.bin']['bytes']>0 and m['totals']['steps']==4\"",
             m);
    CU_ASSERT_EQUAL(system(cmd), 0);
  }
  qc_graph_free(g);
}

static void test_errors(void)
{
  qc_graph *g = parse("graph t opset 17 {\n input %x: f32[2,3]\n %y: f32[2,3] = Erf(%x) @erf1\n output %y\n}\n");
  qc_err e = {0};
  qc_cg_report r;
  CU_ASSERT_EQUAL(compile(g, "err1", &r, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'erf1' (Erf): not supported by compile (dtype f32)");
  qc_graph_free(g);
  g = parse("graph t opset 17 {\n input %x: u8[1,2,4,4]\n"
            " %y: u8[1,2,2,2] = AveragePool(%x) {kernel_shape=[2, 2], strides=[2, 2]} @ap\n output %y\n}\n");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(compile(g, "err4", &r, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "node 'ap' (AveragePool): not supported by compile (dtype u8)");
  qc_graph_free(g);
  g = parse("graph t opset 17 {\n input %x: bool[2,3]\n %y: bool[2,3] = Not(%x) @n\n output %y\n}\n");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(compile(g, "err5", &r, &e), QC_ERR_UNSUPPORTED);
  CU_ASSERT_STRING_EQUAL(e.msg, "input 'x' has dtype bool, which an artifact cannot carry");
  qc_graph_free(g);
  g = parse("graph t opset 17 {\n sym N\n input %x: f32[N,3]\n %y: f32[N,3] = Relu(%x) @r\n output %y\n}\n");
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(compile(g, "err2", &r, &e), QC_ERR_INVALID);
  CU_ASSERT_STRING_EQUAL(e.msg, "value 'x' has an unknown dtype or dimension: compile needs every "
                                "shape known (give symbolic dims a value and run infer-shapes)");
  qc_graph_free(g);
  g = parse("graph t opset 17 {\n input %x: f32[2,3]\n %y: f32[2,3] = Relu(%x) @r\n output %y\n}\n");
  qc_cg_options o;
  memset(&o, 0, sizeof o);
  o.prefix = "9bad";
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_compile(g, &o, "/nonexistent", &r, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "prefix '9bad' is not a C identifier of at most 19 characters");
  o.prefix = NULL;
  o.target = "riscv";
  qc_err_clear(&e);
  CU_ASSERT_EQUAL(qc_compile(g, &o, "/nonexistent", &r, &e), QC_ERR_USAGE);
  CU_ASSERT_STRING_EQUAL(e.msg, "unknown target 'riscv' (x86-64 or aarch64)");
  o.target = NULL;
  o.linker = "/no/such/linker";
  qc_err_clear(&e);
  char dir[1024];
  out_dir("err3", dir, sizeof dir);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
  CU_ASSERT_EQUAL(qc_compile(g, &o, dir, &r, &e), QC_ERR_IO);
  CU_ASSERT_STRING_EQUAL(e.msg, "cannot run the linker '/no/such/linker': No such file or directory");
  /* Nothing is left behind: no file is renamed into place before all five exist. */
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
  CU_ASSERT_EQUAL(system(cmd), 0);
  qc_graph_free(g);
}

static CU_TestInfo tests[] = {
    {"relu", test_relu},
    {"quantize/dequantize ties, saturation, NaN", test_quantize_dequantize},
    {"QcAdd with broadcasting", test_qcadd},
    {"QcGlobalAveragePool floors", test_qc_gap},
    {"max/average pools: pads, strides, ceil, dilation, u8/i8", test_pools},
    {"activations and clip", test_activations},
    {"binary ops broadcast", test_binary_broadcast},
    {"concat, transpose, softmax, pad (constant, reflect, edge, crop)", test_data_movement},
    {"aliases share bytes", test_aliases},
    {"output aliasing an input", test_identity_graph},
    {"fusion choices", test_fusion_choices},
    {"fused QcAdd operand order", test_fusion_qcadd_order},
    {"memory plan: no overlap, reuse", test_memory_plan},
    {"determinism", test_determinism},
    {"error messages", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"compile", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QC_TEST_MAIN(suites)
