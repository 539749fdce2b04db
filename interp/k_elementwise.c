/* Elementwise kernels: unary math and activations, binary arithmetic and comparisons with
 * numpy broadcasting, variadic Max/Min/Sum/Mean, Where, Clip, Dropout (inference), IsNaN/IsInf.
 *
 * Table-driven: each op is one row holding its per-dtype loops, generated from one expression
 * per op and type family. f32 and f64 run natively; f16 and bf16 (and Pow with mixed types) go
 * through double in chunks. Integer arithmetic wraps (computed in unsigned types, so it is never
 * undefined); integer division and modulo by zero give 0, as does INT_MIN / -1's overflow. */
#if defined(__GNUC__) && !defined(__clang__)
/* The hot loops must vectorize: -O2's very-cheap cost model skips loops whose trip count is not
   a known multiple of the vector width. */
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <string.h>
#include <tgmath.h>

#include "broadcast.h"
#include "convert.h"
#include "kernels.h"

#define GRAIN 16384 /* elements per parallel task, at least */
#define CHUNK 256   /* elements per conversion chunk */

/* X(P, ID, T, W): dtype id, C type, unsigned type wide enough for wrapping arithmetic. */
#define T_FLOAT(X, P) X(P, F32, float, float) X(P, F64, double, double)
#define T_SINT(X, P)                                                                         \
  X(P, I8, int8_t, uint32_t) X(P, I16, int16_t, uint32_t) X(P, I32, int32_t, uint32_t)      \
  X(P, I64, int64_t, uint64_t)
#define T_UINT(X, P)                                                                         \
  X(P, U8, uint8_t, uint32_t) X(P, U16, uint16_t, uint32_t) X(P, U32, uint32_t, uint32_t)   \
  X(P, U64, uint64_t, uint64_t)
#define T_BOOL(X, P) X(P, BOOL, uint8_t, uint32_t)
#define T_INT(X, P) T_SINT(X, P) T_UINT(X, P)
#define T_NUM(X, P) T_FLOAT(X, P) T_INT(X, P)

/* Table entry [QC_DT_ID] = P_ID. */
#define ENT(P, ID, T, W) [QC_DT_##ID] = P##_##ID,

static qc_status bad_dtype(qc_kctx *k, const qc_node *n, qc_dtype t)
{
  return qc_node_err(k->err, n, QC_ERR_UNSUPPORTED, "dtype %s is not supported",
                     qc_dtype_name(t));
}

/* ---- unary ------------------------------------------------------------------------------ */

typedef struct {
  float a, b; /* the op's float attributes */
} upar;

typedef void (*un_fn)(const void *x, void *y, int64_t n, const upar *p);

/* EXPR sees x, the params a and b, and the types T (element) and W (wrapping arithmetic). */
#define UN_DEF(NAME, TT, WW, EXPR)                                                            \
  static void NAME(const void *px, void *py, int64_t n, const upar *p)                      \
  {                                                                                          \
    typedef TT T;                                                                            \
    typedef WW W;                                                                            \
    (void)sizeof(W);                                                                         \
    const T *xs = px;                                                                        \
    T *ys = py;                                                                              \
    const T a = (T)p->a, b = (T)p->b;                                                        \
    (void)a;                                                                                 \
    (void)b;                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                        \
      T x = xs[i];                                                                           \
      ys[i] = (T)(EXPR);                                                                     \
    }                                                                                        \
  }

/* Float expressions (tgmath picks the float or double function from x's type). */
#define UF(NAME, EXPR)                                                                       \
  UN_DEF(NAME##_F32, float, float, EXPR)                                                     \
  UN_DEF(NAME##_F64, double, double, EXPR)

UF(abs, fabs(x))
UF(neg, -x)
UF(exp, exp(x))
UF(log, log(x))
UF(sqrt, sqrt(x))
UF(recip, 1 / x)
UF(floor, floor(x))
UF(ceil, ceil(x))
UF(round, nearbyint(x)) /* ties to even in the default rounding mode */
UF(sign, x > 0 ? 1 : x < 0 ? -1 : x)
UF(tanh, tanh(x))
UF(sin, sin(x))
UF(cos, cos(x))
UF(tan, tan(x))
UF(asin, asin(x))
UF(acos, acos(x))
UF(atan, atan(x))
UF(sinh, sinh(x))
UF(cosh, cosh(x))
UF(asinh, asinh(x))
UF(acosh, acosh(x))
UF(atanh, atanh(x))
UF(erf, erf(x))
UF(relu, x < 0 ? 0 : x)
UF(sigmoid, 1 / (1 + exp(-x)))
UF(softplus, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
UF(softsign, x / (1 + fabs(x)))
UF(hardswish, x * (x / 6 + (T)0.5 < 0 ? 0 : x / 6 + (T)0.5 > 1 ? 1 : x / 6 + (T)0.5))
UF(hardsigmoid, a * x + b < 0 ? 0 : a * x + b > 1 ? 1 : a * x + b)
/* Selects of values and an unconditional multiply: a conditional a * x would be a possibly
   trapping operation that gcc does not if-convert, and the loop would not vectorize. */
UF(leakyrelu, (x < 0 ? 0 : x) + a * (x < 0 ? x : 0))
UF(elu, x < 0 ? a * expm1(x) : x)
UF(celu, x > 0 ? x : a * expm1(x / a))
UF(selu, x > 0 ? b * x : b * (a * exp(x) - a))
UF(thresholdedrelu, x > a ? x : 0)
UF(shrink, x < -b ? x + a : x > b ? x - a : 0)

/* Integer variants: signed and unsigned families have their own expressions so that no
   comparison is vacuous for unsigned types. */
#define UI_S(P, ID, T, W) UN_DEF(P##_##ID, T, W, UI_S_EXPR_##P)
#define UI_U(P, ID, T, W) UN_DEF(P##_##ID, T, W, UI_U_EXPR_##P)
#define UI_S_EXPR_abs x < 0 ? (T)(0 - (W)x) : x
#define UI_U_EXPR_abs x
#define UI_S_EXPR_neg (T)(0 - (W)x)
#define UI_U_EXPR_neg (T)(0 - (W)x)
#define UI_S_EXPR_sign (x > 0) - (x < 0)
#define UI_U_EXPR_sign x != 0
#define UI_S_EXPR_relu x < 0 ? 0 : x
#define UI_U_EXPR_relu x
T_SINT(UI_S, abs) T_UINT(UI_U, abs)
T_SINT(UI_S, neg) T_UINT(UI_U, neg)
T_SINT(UI_S, sign) T_UINT(UI_U, sign)
T_SINT(UI_S, relu) T_UINT(UI_U, relu)
UN_DEF(not_BOOL, uint8_t, uint32_t, x == 0)

typedef struct {
  qc_op op;
  const char *pa, *pb; /* attributes read into upar a, b */
  un_fn fn[QC_DT_COUNT];
} un_row;

#define UROW_F(OP, NAME, PA, PB) {QC_OP_##OP, PA, PB, {T_FLOAT(ENT, NAME)}}
#define UROW_FI(OP, NAME) {QC_OP_##OP, NULL, NULL, {T_FLOAT(ENT, NAME) T_INT(ENT, NAME)}}

static const un_row un_rows[] = {
    UROW_FI(Abs, abs),
    UROW_FI(Neg, neg),
    UROW_F(Exp, exp, NULL, NULL),
    UROW_F(Log, log, NULL, NULL),
    UROW_F(Sqrt, sqrt, NULL, NULL),
    UROW_F(Reciprocal, recip, NULL, NULL),
    UROW_F(Floor, floor, NULL, NULL),
    UROW_F(Ceil, ceil, NULL, NULL),
    UROW_F(Round, round, NULL, NULL),
    UROW_FI(Sign, sign),
    UROW_F(Tanh, tanh, NULL, NULL),
    UROW_F(Sin, sin, NULL, NULL),
    UROW_F(Cos, cos, NULL, NULL),
    UROW_F(Tan, tan, NULL, NULL),
    UROW_F(Asin, asin, NULL, NULL),
    UROW_F(Acos, acos, NULL, NULL),
    UROW_F(Atan, atan, NULL, NULL),
    UROW_F(Sinh, sinh, NULL, NULL),
    UROW_F(Cosh, cosh, NULL, NULL),
    UROW_F(Asinh, asinh, NULL, NULL),
    UROW_F(Acosh, acosh, NULL, NULL),
    UROW_F(Atanh, atanh, NULL, NULL),
    UROW_F(Erf, erf, NULL, NULL),
    UROW_FI(Relu, relu),
    UROW_F(Sigmoid, sigmoid, NULL, NULL),
    UROW_F(Softplus, softplus, NULL, NULL),
    UROW_F(Softsign, softsign, NULL, NULL),
    UROW_F(HardSwish, hardswish, NULL, NULL),
    UROW_F(HardSigmoid, hardsigmoid, "alpha", "beta"),
    UROW_F(LeakyRelu, leakyrelu, "alpha", NULL),
    UROW_F(Elu, elu, "alpha", NULL),
    UROW_F(Celu, celu, "alpha", NULL),
    UROW_F(Selu, selu, "alpha", "gamma"),
    UROW_F(ThresholdedRelu, thresholdedrelu, "alpha", NULL),
    UROW_F(Shrink, shrink, "bias", "lambd"),
    {QC_OP_Not, NULL, NULL, {[QC_DT_BOOL] = not_BOOL}},
};

static const un_row *un_find(qc_op op)
{
  for (size_t i = 0; i < sizeof un_rows / sizeof un_rows[0]; i++)
    if (un_rows[i].op == op) return &un_rows[i];
  return NULL;
}

typedef struct {
  un_fn fn;      /* runs on dt, or on double when conv */
  qc_dtype dt;
  bool conv;     /* f16/bf16: through double chunks */
  int es;
  upar p;
  const char *x;
  char *y;
} un_job;

static void un_task(void *arg, int64_t b, int64_t e, int worker)
{
  (void)worker;
  const un_job *j = arg;
  if (!j->conv) {
    j->fn(j->x + b * j->es, j->y + b * j->es, e - b, &j->p);
    return;
  }
  double buf[CHUNK];
  for (int64_t i = b; i < e; i += CHUNK) {
    int64_t m = e - i < CHUNK ? e - i : CHUNK;
    qc_load_f64(j->dt, j->x, i, m, buf);
    j->fn(buf, buf, m, &j->p);
    qc_store_f64(j->dt, j->y, i, m, buf);
  }
}

static qc_status k_unary(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  const un_row *row = un_find(n->op);
  qc_dtype dt = in[0].dtype;
  if (!row || (unsigned)dt >= QC_DT_COUNT) return bad_dtype(k, n, dt);
  un_job j = {row->fn[dt], dt, false, qc_dtype_elem_bytes(dt), {0, 0}, in[0].data, out[0].data};
  if (!j.fn && (dt == QC_DT_F16 || dt == QC_DT_BF16) && row->fn[QC_DT_F64]) {
    j.fn = row->fn[QC_DT_F64];
    j.conv = true;
  }
  if (!j.fn) return bad_dtype(k, n, dt);
  if (row->pa) j.p.a = qc_attr_f(n, row->pa, 0);
  if (row->pb) j.p.b = qc_attr_f(n, row->pb, 0);
  qc_pool_run(k->pool, qc_tensor_elems(&out[0]), GRAIN, un_task, &j);
  return QC_OK;
}

static qc_status k_identity(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  int64_t bytes = qc_tensor_bytes(&in[0]);
  if (bytes < 0 || bytes != qc_tensor_bytes(&out[0]))
    return qc_node_err(k->err, n, QC_ERR_INTERNAL, "output size does not match the input");
  if (bytes && out[0].data != in[0].data) memcpy(out[0].data, in[0].data, (size_t)bytes);
  return QC_OK;
}

/* ---- IsNaN, IsInf ----------------------------------------------------------------------- */

static qc_status k_is_class(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  qc_dtype dt = in[0].dtype;
  if (!qc_dtype_is_float(dt)) return bad_dtype(k, n, dt);
  bool nan = n->op == QC_OP_IsNaN;
  bool pos = qc_attr_i(n, "detect_positive", 1) != 0, neg = qc_attr_i(n, "detect_negative", 1) != 0;
  int64_t total = qc_tensor_elems(&in[0]);
  uint8_t *y = out[0].data;
  double buf[CHUNK];
  for (int64_t i = 0; i < total; i += CHUNK) {
    int64_t m = total - i < CHUNK ? total - i : CHUNK;
    qc_load_f64(dt, in[0].data, i, m, buf);
    for (int64_t j = 0; j < m; j++) {
      double v = buf[j];
      y[i + j] = nan ? isnan(v) : (isinf(v) && ((v > 0 && pos) || (v < 0 && neg)));
    }
  }
  return QC_OK;
}

/* ---- binary ----------------------------------------------------------------------------- */

/* y[i] = f(a[i * sa], b[i * sb]) for i < n, with sa, sb in {0, 1}: three loops so that each
   vectorizes (a scalar operand is hoisted). */
typedef void (*bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *y, int64_t n);

#define BIN_DEF(NAME, TA, TB, TY, WW, EXPR)                                                  \
  static void NAME(const void *pa, int64_t sa, const void *pb, int64_t sb, void *py,        \
                   int64_t n)                                                                \
  {                                                                                          \
    typedef TA T;                                                                            \
    typedef WW W;                                                                            \
    (void)sizeof(T);                                                                         \
    (void)sizeof(W);                                                                         \
    const TA *as = pa;                                                                       \
    const TB *bs = pb;                                                                       \
    TY *ys = py;                                                                             \
    if (sa && sb) {                                                                          \
      for (int64_t i = 0; i < n; i++) {                                                      \
        TA x = as[i];                                                                        \
        TB z = bs[i];                                                                        \
        ys[i] = (TY)(EXPR);                                                                  \
      }                                                                                      \
    } else if (sa) {                                                                         \
      const TB z = bs[0];                                                                    \
      for (int64_t i = 0; i < n; i++) {                                                      \
        TA x = as[i];                                                                        \
        ys[i] = (TY)(EXPR);                                                                  \
      }                                                                                      \
    } else {                                                                                 \
      const TA x = as[0];                                                                    \
      for (int64_t i = 0; i < n; i++) {                                                      \
        TB z = bs[i * sb];                                                                   \
        ys[i] = (TY)(EXPR);                                                                  \
      }                                                                                      \
    }                                                                                        \
  }

/* Same-type arithmetic, one expression per family. */
#define B_F(P, ID, T, W) BIN_DEF(P##_##ID, T, T, T, W, B_F_##P)
#define B_S(P, ID, T, W) BIN_DEF(P##_##ID, T, T, T, W, B_S_##P)
#define B_U(P, ID, T, W) BIN_DEF(P##_##ID, T, T, T, W, B_U_##P)
#define B_ALL(P) T_FLOAT(B_F, P) T_SINT(B_S, P) T_UINT(B_U, P)

#define B_F_add x + z
#define B_S_add (T)((W)x + (W)z)
#define B_U_add (T)((W)x + (W)z)
#define B_F_sub x - z
#define B_S_sub (T)((W)x - (W)z)
#define B_U_sub (T)((W)x - (W)z)
#define B_F_mul x * z
#define B_S_mul (T)((W)x * (W)z)
#define B_U_mul (T)((W)x * (W)z)
#define B_F_div x / z
#define B_S_div z == 0 ? 0 : z == -1 ? (T)(0 - (W)x) : x / z
#define B_U_div z == 0 ? 0 : x / z
/* NaN propagates from either side, as numpy.maximum does. */
#define B_F_max x != x || x > z ? x : z
#define B_S_max x > z ? x : z
#define B_U_max x > z ? x : z
#define B_F_min x != x || x < z ? x : z
#define B_S_min x < z ? x : z
#define B_U_min x < z ? x : z
/* Mod, fmod = 0: the result takes the divisor's sign (Python's %). */
#define B_F_mod fmod(x, z)
#define B_S_mod z == 0 || z == -1 ? 0 : (x % z != 0 && ((x % z < 0) != (z < 0))) ? x % z + z : x % z
#define B_U_mod z == 0 ? 0 : x % z
/* Mod, fmod = 1: C's fmod, the result takes the dividend's sign. */
#define B_F_fmod fmod(x, z)
#define B_S_fmod z == 0 || z == -1 ? 0 : x % z
#define B_U_fmod z == 0 ? 0 : x % z
#define B_F_prelu x < 0 ? z * x : x
#define B_S_prelu x < 0 ? (T)((W)z * (W)x) : x
#define B_U_prelu (T)(x + (W)0 * z) /* never negative */
#define B_F_pow pow(x, z)

B_ALL(add)
B_ALL(sub)
B_ALL(mul)
B_ALL(div)
B_ALL(max)
B_ALL(min)
B_ALL(mod)
B_ALL(fmod)
B_ALL(prelu)
T_FLOAT(B_F, pow)

/* Comparisons and logic produce bool (one byte, 0 or 1). */
#define B_C(P, ID, T, W) BIN_DEF(P##_##ID, T, T, uint8_t, W, B_C_##P)
#define B_C_eq x == z
#define B_C_lt x < z
#define B_C_le x <= z
#define B_C_gt x > z
#define B_C_ge x >= z
#define B_C_and (x != 0) & (z != 0)
#define B_C_or (x != 0) | (z != 0)
#define B_C_xor (x != 0) ^ (z != 0)
#define B_CMP(P) T_NUM(B_C, P) T_BOOL(B_C, P)
B_CMP(eq)
B_CMP(lt)
B_CMP(le)
B_CMP(gt)
B_CMP(ge)
T_BOOL(B_C, and)
T_BOOL(B_C, or)
T_BOOL(B_C, xor)

typedef struct {
  qc_op op;
  bool to_bool; /* output is bool */
  bin_fn fn[QC_DT_COUNT];
} bin_row;

#define BROW(OP, NAME) {QC_OP_##OP, false, {T_NUM(ENT, NAME)}}
#define BROW_C(OP, NAME) {QC_OP_##OP, true, {T_NUM(ENT, NAME) T_BOOL(ENT, NAME)}}

static const bin_row bin_rows[] = {
    BROW(Add, add),
    BROW(Sub, sub),
    BROW(Mul, mul),
    BROW(Div, div),
    BROW(Max, max),
    BROW(Min, min),
    BROW(Sum, add),
    BROW(Mean, add),
    BROW(Mod, mod),
    BROW(PRelu, prelu),
    {QC_OP_Pow, false, {T_FLOAT(ENT, pow)}},
    BROW_C(Equal, eq),
    BROW_C(Less, lt),
    BROW_C(LessOrEqual, le),
    BROW_C(Greater, gt),
    BROW_C(GreaterOrEqual, ge),
    {QC_OP_And, true, {T_BOOL(ENT, and)}},
    {QC_OP_Or, true, {T_BOOL(ENT, or)}},
    {QC_OP_Xor, true, {T_BOOL(ENT, xor)}},
};

static const bin_fn fmod_fns[QC_DT_COUNT] = {T_NUM(ENT, fmod)};

typedef struct {
  qc_bcast b;
  bin_fn fn;
  const char *pa, *pb;
  char *py;
  int ea, eb, ey;
  bool conv;                /* through double: load, fn on f64, store */
  qc_dtype ta, tb, ty;
} bin_job;

static void bin_conv_row(const bin_job *j, const void *a, int64_t sa, const void *b,
                         int64_t sb, void *y, int64_t n)
{
  double fa[CHUNK], fb[CHUNK], fy[CHUNK];
  for (int64_t i = 0; i < n; i += CHUNK) {
    int64_t m = n - i < CHUNK ? n - i : CHUNK;
    qc_load_f64(j->ta, a, sa ? i : 0, sa ? m : 1, fa);
    qc_load_f64(j->tb, b, sb ? i : 0, sb ? m : 1, fb);
    if (j->ty == QC_DT_BOOL) {
      j->fn(fa, sa, fb, sb, (uint8_t *)y + i, m);
    } else {
      j->fn(fa, sa, fb, sb, fy, m);
      qc_store_f64(j->ty, y, i, m, fy);
    }
  }
}

static void bin_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const bin_job *j = arg;
  qc_bcast_it it;
  qc_bcast_seek(&j->b, &it, begin);
  int64_t n = j->b.inner, sa = qc_bcast_inner_stride(&j->b, 0),
          sb = qc_bcast_inner_stride(&j->b, 1);
  for (int64_t r = begin; r < end; r++) {
    const char *a = j->pa + it.off[0] * j->ea, *b = j->pb + it.off[1] * j->eb;
    char *y = j->py + r * n * j->ey;
    if (j->conv) bin_conv_row(j, a, sa, b, sb, y, n);
    else j->fn(a, sa, b, sb, y, n);
    qc_bcast_next(&j->b, &it);
  }
}

/* out = a op b with broadcasting; a may be out itself (the variadic ops fold into out). */
static qc_status bin_run(qc_kctx *k, const qc_node *n, const bin_row *row, const bin_fn *fns,
                         const qc_tensor *a, const qc_tensor *b, qc_tensor *out)
{
  bin_job j;
  memset(&j, 0, sizeof j);
  j.ta = a->dtype;
  j.tb = b->dtype;
  j.ty = out->dtype;
  if ((unsigned)j.ta >= QC_DT_COUNT || (unsigned)j.tb >= QC_DT_COUNT) return bad_dtype(k, n, j.ta);
  if (j.ta == j.tb && fns[j.ta]) {
    j.fn = fns[j.ta];
  } else if (fns[QC_DT_F64] && (j.ta != j.tb || j.ta == QC_DT_F16 || j.ta == QC_DT_BF16 ||
                                row->op == QC_OP_Pow) &&
             qc_dtype_elem_bytes(j.ta) && qc_dtype_elem_bytes(j.tb) && j.ta != QC_DT_BOOL &&
             j.tb != QC_DT_BOOL) {
    j.fn = fns[QC_DT_F64];
    j.conv = true;
  } else {
    return bad_dtype(k, n, j.ta == j.tb || fns[j.ta] ? j.ta : j.tb);
  }
  const qc_tensor *ops[2] = {a, b};
  qc_bcast_init_tensors(&j.b, out, 2, ops);
  j.pa = a->data;
  j.pb = b->data;
  j.py = out->data;
  j.ea = qc_dtype_elem_bytes(j.ta);
  j.eb = qc_dtype_elem_bytes(j.tb);
  j.ey = qc_dtype_elem_bytes(j.ty);
  if (qc_tensor_elems(out) == 0) return QC_OK;
  int64_t grain = GRAIN / j.b.inner + 1;
  qc_pool_run(k->pool, j.b.rows, grain, bin_task, &j);
  return QC_OK;
}

static const bin_row *bin_find(qc_op op)
{
  for (size_t i = 0; i < sizeof bin_rows / sizeof bin_rows[0]; i++)
    if (bin_rows[i].op == op) return &bin_rows[i];
  return NULL;
}

static qc_status k_binary(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                          qc_tensor *out, int n_out)
{
  const bin_row *row = bin_find(n->op);
  if (!row || n_in != 2) return qc_node_err(k->err, n, QC_ERR_INTERNAL, "not a binary op");
  const bin_fn *fns = row->fn;
  if (n->op == QC_OP_Mod && qc_attr_i(n, "fmod", 0) == 1) fns = fmod_fns;
  /* x^2 (LayerNorm and variance exports) as x * x: the same correctly rounded square. */
  if (n->op == QC_OP_Pow && in[0].dtype == QC_DT_F32 && in[1].dtype == QC_DT_F32 &&
      qc_tensor_elems(&in[1]) == 1 && *(const float *)in[1].data == 2.0f &&
      in[0].rank == out[0].rank)
    return bin_run(k, n, bin_find(QC_OP_Mul), bin_find(QC_OP_Mul)->fn, &in[0], &in[0], &out[0]);
  return bin_run(k, n, row, fns, &in[0], &in[1], &out[0]);
}

/* Max, Min, Sum, Mean over any number of inputs: out = in0 op in1, then out = out op in_k. */
static qc_status k_variadic(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                            qc_tensor *out, int n_out)
{
  const bin_row *row = bin_find(n->op);
  if (!row || n_in < 1) return qc_node_err(k->err, n, QC_ERR_INTERNAL, "not a variadic op");
  qc_status st;
  if (n_in == 1) {
    if ((st = k_identity(k, n, in, 1, out, 1))) return st;
  } else {
    if ((st = bin_run(k, n, row, row->fn, &in[0], &in[1], &out[0]))) return st;
    for (int i = 2; i < n_in; i++)
      if ((st = bin_run(k, n, row, row->fn, &out[0], &in[i], &out[0]))) return st;
  }
  if (n->op != QC_OP_Mean) return QC_OK;
  /* Mean = Sum / count, divided like numpy's mean of a stacked array. */
  qc_tensor cnt = {out[0].dtype, 0, {0}, NULL};
  float cf = (float)n_in;
  double cd = (double)n_in;
  uint16_t ch;
  switch (out[0].dtype) {
  case QC_DT_F32: cnt.data = &cf; break;
  case QC_DT_F64: cnt.data = &cd; break;
  case QC_DT_F16: ch = qc_f32_to_f16(cf); cnt.data = &ch; break;
  case QC_DT_BF16: ch = qc_f32_to_bf16(cf); cnt.data = &ch; break;
  default: return bad_dtype(k, n, out[0].dtype);
  }
  return bin_run(k, n, bin_find(QC_OP_Div), bin_find(QC_OP_Div)->fn, &out[0], &cnt, &out[0]);
}

/* ---- Where ------------------------------------------------------------------------------ */

typedef struct {
  qc_bcast b;
  const uint8_t *c;
  const char *x, *y;
  char *out;
  int es;
} where_job;

#define WHERE_LOOP(T)                                                                        \
  {                                                                                          \
    const T *xs = (const T *)x, *ys = (const T *)y;                                         \
    T *os = (T *)o;                                                                          \
    for (int64_t i = 0; i < n; i++) os[i] = c[i * sc] ? xs[i * sx] : ys[i * sy];            \
  }                                                                                          \
  break;

static void where_task(void *arg, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  const where_job *j = arg;
  qc_bcast_it it;
  qc_bcast_seek(&j->b, &it, begin);
  int64_t n = j->b.inner, sc = qc_bcast_inner_stride(&j->b, 0),
          sx = qc_bcast_inner_stride(&j->b, 1), sy = qc_bcast_inner_stride(&j->b, 2);
  for (int64_t r = begin; r < end; r++) {
    const uint8_t *c = j->c + it.off[0];
    const char *x = j->x + it.off[1] * j->es, *y = j->y + it.off[2] * j->es;
    char *o = j->out + r * n * j->es;
    switch (j->es) {
    case 1: WHERE_LOOP(uint8_t)
    case 2: WHERE_LOOP(uint16_t)
    case 4: WHERE_LOOP(uint32_t)
    default: WHERE_LOOP(uint64_t)
    }
    qc_bcast_next(&j->b, &it);
  }
}

static qc_status k_where(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                         qc_tensor *out, int n_out)
{
  where_job j;
  j.es = qc_dtype_elem_bytes(out[0].dtype);
  if (j.es != 1 && j.es != 2 && j.es != 4 && j.es != 8) return bad_dtype(k, n, out[0].dtype);
  const qc_tensor *ops[3] = {&in[0], &in[1], &in[2]};
  qc_bcast_init_tensors(&j.b, &out[0], 3, ops);
  j.c = in[0].data;
  j.x = in[1].data;
  j.y = in[2].data;
  j.out = out[0].data;
  if (qc_tensor_elems(&out[0]) == 0) return QC_OK;
  qc_pool_run(k->pool, j.b.rows, GRAIN / j.b.inner + 1, where_task, &j);
  return QC_OK;
}

/* ---- Clip ------------------------------------------------------------------------------- */

/* y = min(max(x, lo), hi), numpy.clip's order: lo > hi gives hi. NaN passes through. */
#define CLIP_DEF(P, ID, T, W)                                                                \
  static void clip_##ID(const void *px, void *py, int64_t n, const void *plo, const void *phi) \
  {                                                                                          \
    const T *x = px;                                                                         \
    T *y = py;                                                                               \
    if (plo && phi) {                                                                        \
      const T lo = *(const T *)plo, hi = *(const T *)phi;                                    \
      for (int64_t i = 0; i < n; i++) {                                                      \
        T v = x[i] < lo ? lo : x[i];                                                         \
        y[i] = v > hi ? hi : v;                                                              \
      }                                                                                      \
    } else if (plo) {                                                                        \
      const T lo = *(const T *)plo;                                                          \
      for (int64_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : x[i];                          \
    } else if (phi) {                                                                        \
      const T hi = *(const T *)phi;                                                          \
      for (int64_t i = 0; i < n; i++) y[i] = x[i] > hi ? hi : x[i];                          \
    } else if (x != y) {                                                                     \
      memcpy(y, x, (size_t)n * sizeof(T));                                                   \
    }                                                                                        \
  }
T_NUM(CLIP_DEF, _)

typedef void (*clip_fn)(const void *x, void *y, int64_t n, const void *lo, const void *hi);
static const clip_fn clip_fns[QC_DT_COUNT] = {
#define CLIP_ENT(P, ID, T, W) [QC_DT_##ID] = clip_##ID,
    T_NUM(CLIP_ENT, _)
#undef CLIP_ENT
};

typedef struct {
  clip_fn fn;
  qc_dtype dt;
  int es;
  const char *x;
  char *y;
  const void *lo, *hi;
} clip_job;

static void clip_task(void *arg, int64_t b, int64_t e, int worker)
{
  (void)worker;
  const clip_job *j = arg;
  if (j->dt != QC_DT_F16 && j->dt != QC_DT_BF16) {
    j->fn(j->x + b * j->es, j->y + b * j->es, e - b, j->lo, j->hi);
    return;
  }
  double buf[CHUNK];
  for (int64_t i = b; i < e; i += CHUNK) {
    int64_t m = e - i < CHUNK ? e - i : CHUNK;
    qc_load_f64(j->dt, j->x, i, m, buf);
    j->fn(buf, buf, m, j->lo, j->hi);
    qc_store_f64(j->dt, j->y, i, m, buf);
  }
}

static qc_status k_clip(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                        qc_tensor *out, int n_out)
{
  qc_dtype dt = in[0].dtype;
  bool half = dt == QC_DT_F16 || dt == QC_DT_BF16;
  if ((unsigned)dt >= QC_DT_COUNT || (!clip_fns[dt] && !half)) return bad_dtype(k, n, dt);
  clip_job j = {half ? clip_fns[QC_DT_F64] : clip_fns[dt], dt, qc_dtype_elem_bytes(dt),
                in[0].data, out[0].data, NULL, NULL};
  double lim[2];
  const void *p[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    const qc_tensor *t = 1 + i < n_in && in[1 + i].dtype != QC_DT_UNDEF ? &in[1 + i] : NULL;
    if (!t) continue;
    if (t->dtype != dt || qc_tensor_elems(t) != 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "%s must be a %s scalar",
                         i ? "max" : "min", qc_dtype_name(dt));
    p[i] = t->data;
    if (half) {
      qc_load_f64(dt, t->data, 0, 1, &lim[i]);
      p[i] = &lim[i];
    }
  }
  j.lo = p[0];
  j.hi = p[1];
  qc_pool_run(k->pool, qc_tensor_elems(&out[0]), GRAIN, clip_task, &j);
  return QC_OK;
}

/* ---- Dropout ---------------------------------------------------------------------------- */

/* splitmix64: a deterministic stream from the seed attribute (ONNX leaves the generator to the
   implementation, so training-mode outputs are reproducible here but match no other engine). */
static uint64_t splitmix64(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static qc_status k_dropout(qc_kctx *k, const qc_node *n, const qc_tensor *in, int n_in,
                           qc_tensor *out, int n_out)
{
  qc_dtype dt = in[0].dtype;
  int64_t total = qc_tensor_elems(&in[0]);
  double ratio = 0.5;
  for (int i = 1; i < n_in && i < 3; i++)
    if (in[i].dtype != QC_DT_UNDEF && qc_tensor_elems(&in[i]) != 1)
      return qc_node_err(k->err, n, QC_ERR_INVALID, "%s must be a scalar",
                         i == 1 ? "ratio" : "training_mode");
  bool train = n_in > 2 && in[2].dtype == QC_DT_BOOL && *(const uint8_t *)in[2].data;
  if (n_in > 1 && in[1].dtype != QC_DT_UNDEF) qc_load_f64(in[1].dtype, in[1].data, 0, 1, &ratio);
  if (train && !(ratio >= 0 && ratio < 1))
    return qc_node_err(k->err, n, QC_ERR_INVALID, "ratio %g is not in [0, 1)", ratio);
  uint8_t *mask = n_out > 1 && out[1].dtype == QC_DT_BOOL ? out[1].data : NULL;
  if (!train || ratio == 0) {
    qc_status st = k_identity(k, n, in, 1, out, 1);
    if (st) return st;
    if (mask) memset(mask, 1, (size_t)total);
    return QC_OK;
  }
  if (!qc_dtype_is_float(dt)) return bad_dtype(k, n, dt);
  uint64_t s = (uint64_t)qc_attr_i(n, "seed", 0);
  double scale = 1 / (1 - ratio), buf[CHUNK];
  for (int64_t i = 0; i < total; i += CHUNK) {
    int64_t m = total - i < CHUNK ? total - i : CHUNK;
    qc_load_f64(dt, in[0].data, i, m, buf);
    for (int64_t j = 0; j < m; j++) {
      bool keep = (double)(splitmix64(&s) >> 11) * 0x1p-53 >= ratio;
      buf[j] = keep ? buf[j] * scale : 0;
      if (mask) mask[i + j] = keep;
    }
    qc_store_f64(dt, out[0].data, i, m, buf);
  }
  return QC_OK;
}

const qc_kernel_row qc_kernels_elementwise[] = {
#define UN(OP) {QC_OP_##OP, k_unary},
    UN(Abs) UN(Neg) UN(Exp) UN(Log) UN(Sqrt) UN(Reciprocal) UN(Floor) UN(Ceil) UN(Round)
    UN(Sign) UN(Tanh) UN(Sin) UN(Cos) UN(Tan) UN(Asin) UN(Acos) UN(Atan) UN(Sinh) UN(Cosh)
    UN(Asinh) UN(Acosh) UN(Atanh) UN(Erf) UN(Relu) UN(Sigmoid) UN(Softplus) UN(Softsign)
    UN(HardSwish) UN(HardSigmoid) UN(LeakyRelu) UN(Elu) UN(Celu) UN(Selu) UN(ThresholdedRelu)
    UN(Shrink) UN(Not)
#undef UN
    {QC_OP_Identity, k_identity},
    {QC_OP_IsNaN, k_is_class},
    {QC_OP_IsInf, k_is_class},
    {QC_OP_Clip, k_clip},
    {QC_OP_Dropout, k_dropout},
    {QC_OP_Add, k_binary},
    {QC_OP_Sub, k_binary},
    {QC_OP_Mul, k_binary},
    {QC_OP_Div, k_binary},
    {QC_OP_Pow, k_binary},
    {QC_OP_Mod, k_binary},
    {QC_OP_PRelu, k_binary},
    {QC_OP_Equal, k_binary},
    {QC_OP_Less, k_binary},
    {QC_OP_LessOrEqual, k_binary},
    {QC_OP_Greater, k_binary},
    {QC_OP_GreaterOrEqual, k_binary},
    {QC_OP_And, k_binary},
    {QC_OP_Or, k_binary},
    {QC_OP_Xor, k_binary},
    {QC_OP_Max, k_variadic},
    {QC_OP_Min, k_variadic},
    {QC_OP_Sum, k_variadic},
    {QC_OP_Mean, k_variadic},
    {QC_OP_Where, k_where},
    {QC_OP_NONE, NULL},
};
