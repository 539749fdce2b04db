/* The IR text parser (grammar in docs/ir-text.md). A hand-written lexer with one token of
   lookahead; every error names line:column. Value references resolve by name after the whole
   text is read, so text may use a value before defining it (the verifier, not the parser,
   reports order and cycles). Never crashes on malformed text: every size is checked against
   what is left of the input before anything is allocated for it. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

typedef enum { T_EOF, T_IDENT, T_NUM, T_STR, T_VAL, T_AT, T_PUNCT, T_ELLIPSIS } tkind;

typedef struct {
  int32_t *slot; /* in the graph's arena, so it stays put */
  char *name;    /* malloc'd */
  int line, col;
} fixup;

typedef struct {
  const char *src;
  size_t pos, len;
  int line, col;
  /* current token */
  tkind k;
  char punct;
  const char *text; /* T_IDENT, T_NUM: points into src */
  size_t tlen;
  bool is_float;
  int tline, tcol;
  char *str; /* T_STR, T_VAL, T_AT: decoded, NUL-terminated */
  size_t slen, scap;

  qc_graph *g;
  qc_err *e;
  fixup *fix;
  size_t n_fix, cap_fix;
  fixup *outs; /* graph outputs by name (slot unused), resolved last */
  size_t n_out, cap_out;
  int32_t *inputs;
  size_t n_inputs, cap_inputs;
} parser;

#define TRY(x) \
  do { \
    qc_status st_ = (x); \
    if (st_ != QC_OK) return st_; \
  } while (0)

static qc_status perr_at(parser *p, int line, int col, const char *fmt, ...) QC_PRINTF(4, 5);
static qc_status perr_at(parser *p, int line, int col, const char *fmt, ...)
{
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qc_err_set(p->e, QC_ERR_FORMAT, "ir text %d:%d: %s", line, col, msg);
}

#define PERR(p, ...) perr_at((p), (p)->tline, (p)->tcol, __VA_ARGS__)

static qc_status nomem(parser *p) { return qc_err_set(p->e, QC_ERR_NOMEM, "ir text: out of memory"); }

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap) return true;
  size_t ncap = *cap ? *cap : 16;
  while (ncap < need) ncap *= 2;
  void *q = realloc(*arr, ncap * elem);
  if (!q) return false;
  *arr = q;
  *cap = ncap;
  return true;
}

/* ---- lexer ------------------------------------------------------------------------------ */

static int peekc(const parser *p, size_t ahead)
{
  return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

static void advance(parser *p)
{
  if (p->src[p->pos] == '\n') {
    p->line++;
    p->col = 1;
  } else {
    p->col++;
  }
  p->pos++;
}

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_name(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }
static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static qc_status str_push(parser *p, char c)
{
  if (!grow((void **)&p->str, &p->scap, p->slen + 2, 1)) return nomem(p);
  p->str[p->slen++] = c;
  p->str[p->slen] = 0;
  return QC_OK;
}

/* A quoted string starting at the current '"', decoded into p->str. */
static qc_status lex_string(parser *p)
{
  int line = p->line, col = p->col;
  advance(p);
  p->slen = 0;
  TRY(str_push(p, 0));
  p->slen = 0;
  for (;;) {
    int c = peekc(p, 0);
    if (c < 0 || c == '\n') return perr_at(p, line, col, "unterminated string");
    if (c == '"') {
      advance(p);
      return QC_OK;
    }
    if (c == '\\') {
      int ecol = p->col, eline = p->line;
      advance(p);
      int d = peekc(p, 0);
      char out;
      if (d == 'n') out = '\n';
      else if (d == 't') out = '\t';
      else if (d == 'r') out = '\r';
      else if (d == '"' || d == '\\') out = (char)d;
      else if (d == 'x') {
        int h1 = hexval(peekc(p, 1)), h2 = hexval(peekc(p, 2));
        if (h1 < 0 || h2 < 0) return perr_at(p, eline, ecol, "bad \\x escape");
        advance(p);
        advance(p);
        out = (char)(h1 * 16 + h2);
      } else {
        return perr_at(p, eline, ecol, "unknown escape in string");
      }
      advance(p);
      TRY(str_push(p, out));
      continue;
    }
    TRY(str_push(p, (char)c));
    advance(p);
  }
}

static qc_status next(parser *p)
{
  for (;;) {
    int c = peekc(p, 0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance(p);
    } else if (c == '#') {
      while (peekc(p, 0) >= 0 && peekc(p, 0) != '\n') advance(p);
    } else {
      break;
    }
  }
  p->tline = p->line;
  p->tcol = p->col;
  p->is_float = false;
  int c = peekc(p, 0);
  if (c < 0) {
    p->k = T_EOF;
    return QC_OK;
  }
  if (c == 0) return PERR(p, "NUL byte in text");
  if (c == '%' || c == '@') {
    p->k = c == '%' ? T_VAL : T_AT;
    advance(p);
    if (peekc(p, 0) == '"') return lex_string(p);
    p->slen = 0;
    TRY(str_push(p, 0));
    p->slen = 0;
    while (is_name(peekc(p, 0))) {
      TRY(str_push(p, p->src[p->pos]));
      advance(p);
    }
    if (!p->slen) return PERR(p, "expected a name after '%c'", c);
    return QC_OK;
  }
  if (c == '"') {
    p->k = T_STR;
    return lex_string(p);
  }
  p->text = p->src + p->pos;
  if (is_alpha(c)) {
    p->k = T_IDENT;
    while (is_name(peekc(p, 0))) advance(p);
    p->tlen = (size_t)(p->src + p->pos - p->text);
    return QC_OK;
  }
  if (is_digit(c) || (c == '-' && (is_digit(peekc(p, 1)) || is_alpha(peekc(p, 1))))) {
    p->k = T_NUM;
    if (c == '-') advance(p);
    if (is_alpha(peekc(p, 0))) { /* -inf, -nan */
      while (is_name(peekc(p, 0))) advance(p);
      p->tlen = (size_t)(p->src + p->pos - p->text);
      if ((p->tlen == 4 && memcmp(p->text, "-inf", 4) == 0) ||
          (p->tlen == 4 && memcmp(p->text, "-nan", 4) == 0)) {
        p->is_float = true;
        return QC_OK;
      }
      return PERR(p, "malformed number");
    }
    while (is_digit(peekc(p, 0))) advance(p);
    if (peekc(p, 0) == '.' && peekc(p, 1) != '.') {
      p->is_float = true;
      advance(p);
      while (is_digit(peekc(p, 0))) advance(p);
    }
    if (peekc(p, 0) == 'e' || peekc(p, 0) == 'E') {
      p->is_float = true;
      advance(p);
      if (peekc(p, 0) == '+' || peekc(p, 0) == '-') advance(p);
      if (!is_digit(peekc(p, 0))) return PERR(p, "malformed number");
      while (is_digit(peekc(p, 0))) advance(p);
    }
    if (is_name(peekc(p, 0))) return PERR(p, "malformed number");
    p->tlen = (size_t)(p->src + p->pos - p->text);
    return QC_OK;
  }
  if (c == '.' && peekc(p, 1) == '.' && peekc(p, 2) == '.') {
    p->k = T_ELLIPSIS;
    advance(p);
    advance(p);
    advance(p);
    return QC_OK;
  }
  if (strchr("{}[](),:=?*<>", c)) {
    p->k = T_PUNCT;
    p->punct = (char)c;
    advance(p);
    return QC_OK;
  }
  if (c >= 0x20 && c < 0x7f) return PERR(p, "unexpected character '%c'", c);
  return PERR(p, "unexpected byte 0x%02x", (unsigned)c);
}

static bool is_punct(const parser *p, char c) { return p->k == T_PUNCT && p->punct == c; }

static bool is_kw(const parser *p, const char *kw)
{
  return p->k == T_IDENT && p->tlen == strlen(kw) && memcmp(p->text, kw, p->tlen) == 0;
}

static qc_status expect(parser *p, char c)
{
  if (!is_punct(p, c)) return PERR(p, "expected '%c'", c);
  return next(p);
}

/* Between list elements: ',' or else the list must end with close. */
static qc_status list_sep(parser *p, char close)
{
  if (!is_punct(p, ',')) return PERR(p, "expected '%c'", close);
  return next(p);
}

static qc_status expect_kw(parser *p, const char *kw)
{
  if (!is_kw(p, kw)) return PERR(p, "expected '%s'", kw);
  return next(p);
}

/* The current identifier as a NUL-terminated copy in buf (false when too long). */
static bool ident_text(const parser *p, char *buf, size_t cap)
{
  if (p->tlen >= cap) return false;
  memcpy(buf, p->text, p->tlen);
  buf[p->tlen] = 0;
  return true;
}

/* ---- numbers ---------------------------------------------------------------------------- */

static qc_status num_int(parser *p, int64_t *out)
{
  if (p->k != T_NUM || p->is_float) return PERR(p, "expected an integer");
  char buf[64];
  if (p->tlen >= sizeof buf) return PERR(p, "integer out of range");
  memcpy(buf, p->text, p->tlen);
  buf[p->tlen] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE) return PERR(p, "integer out of range");
  *out = v;
  return next(p);
}

static qc_status num_uint64(parser *p, uint64_t *out)
{
  if (p->k != T_NUM || p->is_float || p->text[0] == '-') return PERR(p, "expected an unsigned integer");
  char buf[64];
  if (p->tlen >= sizeof buf) return PERR(p, "integer out of range");
  memcpy(buf, p->text, p->tlen);
  buf[p->tlen] = 0;
  errno = 0;
  unsigned long long v = strtoull(buf, NULL, 10);
  if (errno == ERANGE) return PERR(p, "integer out of range");
  *out = v;
  return next(p);
}

static bool at_number(const parser *p)
{
  return p->k == T_NUM || is_kw(p, "inf") || is_kw(p, "nan");
}

/* A float: any number token, inf or nan. Parsed with strtod/strtof so that the printer's
   shortest round-trip decimals read back exactly. */
static qc_status num_double(parser *p, double *d, float *f)
{
  if (!at_number(p)) return PERR(p, "expected a number");
  char buf[96];
  if (p->tlen >= sizeof buf) return PERR(p, "number too long");
  memcpy(buf, p->text, p->tlen);
  buf[p->tlen] = 0;
  const char *s = buf[0] == '-' ? buf + 1 : buf;
  if (strcmp(s, "nan") == 0 || strcmp(s, "inf") == 0) {
    double v = strcmp(s, "nan") == 0 ? (double)NAN : (double)INFINITY;
    if (buf[0] == '-') v = -v;
    if (d) *d = v;
    if (f) *f = (float)v;
  } else {
    if (d) *d = strtod(buf, NULL);
    if (f) *f = strtof(buf, NULL);
  }
  return next(p);
}

/* ---- names and values ------------------------------------------------------------------- */

/* Copy of the decoded string (p->str) in the arena. */
static qc_status str_dup(parser *p, const char **out)
{
  char *s = qc_arena_strndup(p->g->arena, p->str, p->slen);
  if (!s) return nomem(p);
  *out = s;
  return QC_OK;
}

static qc_status add_fixup(parser *p, int32_t *slot, int line, int col)
{
  if (!grow((void **)&p->fix, &p->cap_fix, p->n_fix + 1, sizeof *p->fix)) return nomem(p);
  char *name = malloc(p->slen + 1);
  if (!name) return nomem(p);
  memcpy(name, p->str, p->slen + 1);
  p->fix[p->n_fix++] = (fixup){slot, name, line, col};
  *slot = -1;
  return QC_OK;
}

/* A parsed type before its value exists. */
typedef struct {
  qc_dtype dtype;
  int rank;
  int64_t dims[QC_MAX_RANK];
  qc_qparams *q;
} ptype;

static qc_status parse_int32_list(parser *p, int32_t **out, int32_t *n)
{
  TRY(expect(p, '['));
  int32_t *arr = NULL;
  size_t cnt = 0, cap = 0;
  qc_status st = QC_OK;
  while (st == QC_OK && !is_punct(p, ']')) {
    if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
    int64_t v;
    int line = p->tline, col = p->tcol;
    if ((st = num_int(p, &v)) != QC_OK) break;
    if (v < INT32_MIN || v > INT32_MAX) {
      st = perr_at(p, line, col, "integer out of range");
      break;
    }
    if (!grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) {
      st = nomem(p);
      break;
    }
    arr[cnt++] = (int32_t)v;
  }
  if (st == QC_OK) st = next(p);
  if (st == QC_OK) {
    *out = qc_arena_alloc(p->g->arena, sizeof(int32_t) * (cnt + 1));
    if (!*out) st = nomem(p);
    else if (cnt) memcpy(*out, arr, sizeof(int32_t) * cnt);
    *n = (int32_t)cnt;
  }
  free(arr);
  return st;
}

static qc_status parse_float_list(parser *p, float **out, int32_t *n)
{
  TRY(expect(p, '['));
  float *arr = NULL;
  size_t cnt = 0, cap = 0;
  qc_status st = QC_OK;
  while (st == QC_OK && !is_punct(p, ']')) {
    if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
    float f;
    if ((st = num_double(p, NULL, &f)) != QC_OK) break;
    if (cnt >= INT32_MAX || !grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) {
      st = nomem(p);
      break;
    }
    arr[cnt++] = f;
  }
  if (st == QC_OK) st = next(p);
  if (st == QC_OK) {
    *out = qc_arena_alloc(p->g->arena, sizeof(float) * (cnt + 1));
    if (!*out) st = nomem(p);
    else if (cnt) memcpy(*out, arr, sizeof(float) * cnt);
    *n = (int32_t)cnt;
  }
  free(arr);
  return st;
}

/* q(bits=8, axis=-1, scale=[...], zp=[...], mult=[...], shift=[...], codebook=%cb) */
static qc_status parse_qparams(parser *p, qc_qparams **out)
{
  int line = p->tline, col = p->tcol;
  TRY(next(p));
  TRY(expect(p, '('));
  qc_qparams *q = qc_arena_alloc(p->g->arena, sizeof *q);
  if (!q) return nomem(p);
  q->bits = 8;
  q->axis = -1;
  q->codebook = -1;
  int32_t n_scale = -1, n_zp = -1, n_mult = -1, n_shift = -1;
  bool seen_bits = false, seen_axis = false, seen_cb = false;
  while (!is_punct(p, ')')) {
    if (n_scale >= 0 || n_zp >= 0 || n_mult >= 0 || n_shift >= 0 || seen_bits || seen_axis ||
        seen_cb)
      TRY(list_sep(p, ')'));
    if (p->k != T_IDENT) return PERR(p, "expected a qparams field");
    char key[16];
    int kline = p->tline, kcol = p->tcol;
    if (!ident_text(p, key, sizeof key)) return PERR(p, "unknown qparams field");
    TRY(next(p));
    TRY(expect(p, '='));
    bool dup = false;
    if (strcmp(key, "bits") == 0 || strcmp(key, "axis") == 0) {
      bool *seen = key[0] == 'b' ? &seen_bits : &seen_axis;
      dup = *seen;
      *seen = true;
      int64_t v;
      int vline = p->tline, vcol = p->tcol;
      TRY(num_int(p, &v));
      if (v < INT32_MIN || v > INT32_MAX) return perr_at(p, vline, vcol, "integer out of range");
      if (key[0] == 'b') q->bits = (int)v;
      else q->axis = (int)v;
    } else if (strcmp(key, "scale") == 0) {
      dup = n_scale >= 0;
      TRY(parse_float_list(p, &q->scale, &n_scale));
    } else if (strcmp(key, "zp") == 0) {
      dup = n_zp >= 0;
      TRY(parse_int32_list(p, &q->zero_point, &n_zp));
    } else if (strcmp(key, "mult") == 0) {
      dup = n_mult >= 0;
      TRY(parse_int32_list(p, &q->mult, &n_mult));
    } else if (strcmp(key, "shift") == 0) {
      dup = n_shift >= 0;
      TRY(parse_int32_list(p, &q->shift, &n_shift));
    } else if (strcmp(key, "codebook") == 0) {
      dup = seen_cb;
      seen_cb = true;
      if (p->k != T_VAL) return PERR(p, "expected a value");
      TRY(add_fixup(p, &q->codebook, p->tline, p->tcol));
      TRY(next(p));
    } else {
      return perr_at(p, kline, kcol, "unknown qparams field '%s'", key);
    }
    if (dup) return perr_at(p, kline, kcol, "duplicate qparams field '%s'", key);
  }
  TRY(next(p));
  if (n_scale < 0) return perr_at(p, line, col, "qparams need a scale");
  q->n = n_scale;
  if (n_zp < 0) {
    q->zero_point = qc_arena_alloc(p->g->arena, sizeof(int32_t) * ((size_t)n_scale + 1));
    if (!q->zero_point) return nomem(p);
  } else if (n_zp != n_scale) {
    return perr_at(p, line, col, "qparams have %d scales but %d zero points", n_scale, n_zp);
  }
  if ((n_mult >= 0) != (n_shift >= 0))
    return perr_at(p, line, col, "qparams mult and shift go together");
  if (n_mult >= 0 && (n_mult != n_scale || n_shift != n_scale))
    return perr_at(p, line, col, "qparams have %d scales but %d multipliers and %d shifts",
                   n_scale, n_mult, n_shift);
  *out = q;
  return QC_OK;
}

static qc_status parse_sym_ref(parser *p, int64_t *dim)
{
  const char *name;
  char buf[256];
  if (p->k == T_STR) {
    name = p->str;
  } else {
    if (!ident_text(p, buf, sizeof buf)) return PERR(p, "unknown dimension symbol");
    name = buf;
  }
  for (int32_t i = 0; i < p->g->n_syms; i++)
    if (strcmp(p->g->syms[i], name) == 0) {
      *dim = QC_DIM_SYM(i);
      return next(p);
    }
  return PERR(p, "unknown dimension symbol '%s'", name);
}

/* '[' dims ']' with dims: '*' (unknown rank), or a comma list of N, '?', symbol. When
   concrete, only numbers are allowed. */
static qc_status parse_dims(parser *p, int *rank, int64_t *dims, bool concrete)
{
  TRY(expect(p, '['));
  if (is_punct(p, '*') && !concrete) {
    *rank = -1;
    TRY(next(p));
    return expect(p, ']');
  }
  int r = 0;
  while (!is_punct(p, ']')) {
    if (r) TRY(list_sep(p, ']'));
    if (r == QC_MAX_RANK) return PERR(p, "rank above %d", QC_MAX_RANK);
    if (p->k == T_NUM && !p->is_float && p->text[0] != '-') {
      int line = p->tline, col = p->tcol;
      int64_t d;
      TRY(num_int(p, &d));
      if (d > QC_MAX_ELEMS) return perr_at(p, line, col, "dimension %lld too large", (long long)d);
      dims[r++] = d;
    } else if (concrete) {
      return PERR(p, "expected a dimension");
    } else if (is_punct(p, '?')) {
      dims[r++] = QC_DIM_UNKNOWN;
      TRY(next(p));
    } else if (p->k == T_IDENT || p->k == T_STR) {
      TRY(parse_sym_ref(p, &dims[r++]));
    } else {
      return PERR(p, "expected a dimension");
    }
  }
  *rank = r;
  return next(p);
}

/* dtype[dims] [q(...)], with '?' for an unknown dtype. */
static qc_status parse_type(parser *p, ptype *t)
{
  memset(t, 0, sizeof *t);
  if (is_punct(p, '?')) {
    t->dtype = QC_DT_UNDEF;
  } else if (p->k == T_IDENT) {
    char buf[16];
    t->dtype = ident_text(p, buf, sizeof buf) ? qc_dtype_from_name(buf) : QC_DT_UNDEF;
    if (t->dtype == QC_DT_UNDEF)
      return PERR(p, "unknown dtype '%.*s'", (int)(p->tlen > 64 ? 64 : p->tlen), p->text);
  } else {
    return PERR(p, "expected a dtype");
  }
  TRY(next(p));
  TRY(parse_dims(p, &t->rank, t->dims, false));
  if (is_kw(p, "q")) TRY(parse_qparams(p, &t->q));
  return QC_OK;
}

/* ---- data ------------------------------------------------------------------------------- */

static uint16_t float_to_half(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 255, man = x & 0x7fffff;
  if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) { /* subnormal: round half to even at 2^-24 */
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* may carry into the exponent: fine */
  return (uint16_t)(sign | h);
}

static uint16_t float_to_bf16(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  if (isnan(f)) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1); /* round half to even */
  return (uint16_t)(x >> 16);
}

static bool list_dtype(qc_dtype t) { return !(qc_dtypes[t].flags & QC_DTF_PACKED); }

/* One list element of dtype t, appended at dst. */
static qc_status parse_elem(parser *p, qc_dtype t, unsigned char *dst)
{
  int line = p->tline, col = p->tcol;
  if (qc_dtypes[t].flags & QC_DTF_FLOAT) {
    double d;
    float f;
    TRY(num_double(p, &d, &f));
    uint16_t h;
    switch (t) {
    case QC_DT_F64: memcpy(dst, &d, 8); break;
    case QC_DT_F16: h = float_to_half(f); memcpy(dst, &h, 2); break;
    case QC_DT_BF16: h = float_to_bf16(f); memcpy(dst, &h, 2); break;
    default: memcpy(dst, &f, 4); break;
    }
    return QC_OK;
  }
  if (t == QC_DT_U64) {
    uint64_t u = 0;
    TRY(num_uint64(p, &u));
    memcpy(dst, &u, 8);
    return QC_OK;
  }
  int64_t v;
  if (t == QC_DT_BOOL && (is_kw(p, "true") || is_kw(p, "false"))) {
    v = is_kw(p, "true");
    TRY(next(p));
  } else {
    TRY(num_int(p, &v));
  }
  int64_t lo, hi;
  switch (t) {
  case QC_DT_BOOL: lo = 0, hi = 1; break;
  case QC_DT_U8: case QC_DT_CB8: lo = 0, hi = UINT8_MAX; break;
  case QC_DT_I8: lo = INT8_MIN, hi = INT8_MAX; break;
  case QC_DT_U16: case QC_DT_CB16: lo = 0, hi = UINT16_MAX; break;
  case QC_DT_I16: lo = INT16_MIN, hi = INT16_MAX; break;
  case QC_DT_I32: lo = INT32_MIN, hi = INT32_MAX; break;
  case QC_DT_U32: lo = 0, hi = UINT32_MAX; break;
  default: lo = INT64_MIN, hi = INT64_MAX; break;
  }
  if (v < lo || v > hi) return perr_at(p, line, col, "%lld out of range for %s", (long long)v, qc_dtypes[t].name);
  int bytes = qc_dtypes[t].bits / 8;
  if (bytes == 1) dst[0] = (unsigned char)v; /* two's complement */
  else if (bytes == 2) { uint16_t x = (uint16_t)v; memcpy(dst, &x, 2); }
  else if (bytes == 4) { uint32_t x = (uint32_t)v; memcpy(dst, &x, 4); }
  else memcpy(dst, &v, 8);
  return QC_OK;
}

/* Data of a tensor of elems elements: a list, hex"..." bytes or "..." (elided: *data NULL).
   what names the tensor in messages. The buffer is malloc'd; the caller frees it. */
static qc_status parse_data(parser *p, qc_dtype t, int64_t elems, const char *what,
                            unsigned char **data)
{
  *data = NULL;
  int line = p->tline, col = p->tcol;
  int64_t bytes = qc_dtype_bytes(t, elems);
  if (bytes < 0) return PERR(p, "%s has an invalid or too large shape", what);
  if (p->k == T_ELLIPSIS) return next(p);
  if (is_kw(p, "hex")) {
    TRY(next(p));
    if (p->k != T_STR) return PERR(p, "expected a hex string");
    if (p->slen != (size_t)bytes * 2)
      return PERR(p, "%s needs %lld bytes of data, found %zu hex digits", what, (long long)bytes,
                  p->slen);
    unsigned char *buf = malloc((size_t)bytes + 1);
    if (!buf) return nomem(p);
    for (int64_t i = 0; i < bytes; i++) {
      int h1 = hexval((unsigned char)p->str[2 * i]), h2 = hexval((unsigned char)p->str[2 * i + 1]);
      if (h1 < 0 || h2 < 0) {
        free(buf);
        return PERR(p, "bad hex digit in data");
      }
      buf[i] = (unsigned char)(h1 * 16 + h2);
    }
    *data = buf;
    qc_status st = next(p);
    if (st != QC_OK) {
      free(buf);
      *data = NULL;
    }
    return st;
  }
  if (!is_punct(p, '[')) return PERR(p, "expected data ('[', hex\"...\" or '...')");
  if (!list_dtype(t)) return PERR(p, "%s data must be hex\"...\" for dtype %s", what, qc_dtypes[t].name);
  TRY(next(p));
  size_t esize = (size_t)qc_dtypes[t].bits / 8, cap = 0;
  int64_t cnt = 0;
  unsigned char *buf = NULL;
  qc_status st = QC_OK;
  while (!is_punct(p, ']')) {
    if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
    if (cnt == elems) {
      st = perr_at(p, line, col, "%s has more than %lld values", what, (long long)elems);
      break;
    }
    if (!grow((void **)&buf, &cap, ((size_t)cnt + 1) * esize, 1)) {
      st = nomem(p);
      break;
    }
    if ((st = parse_elem(p, t, buf + (size_t)cnt * esize)) != QC_OK) break;
    cnt++;
  }
  if (st == QC_OK && cnt != elems)
    st = perr_at(p, line, col, "%s has %lld values for %lld elements", what, (long long)cnt,
                 (long long)elems);
  if (st == QC_OK) st = next(p);
  if (st == QC_OK && !buf && !(buf = malloc(1))) st = nomem(p);
  if (st != QC_OK) {
    free(buf);
    return st;
  }
  *data = buf;
  return QC_OK;
}

/* dtype[dims] data, all dims known. */
static qc_status parse_tensor(parser *p, qc_tensor *t, const char *what)
{
  char buf[16];
  if (p->k != T_IDENT || !ident_text(p, buf, sizeof buf) ||
      (t->dtype = qc_dtype_from_name(buf)) == QC_DT_UNDEF)
    return PERR(p, "expected a dtype");
  TRY(next(p));
  TRY(parse_dims(p, &t->rank, t->dims, true));
  unsigned char *data;
  TRY(parse_data(p, t->dtype, qc_tensor_elems(t), what, &data));
  if (!data) return QC_OK;
  int64_t bytes = qc_tensor_bytes(t);
  t->data = qc_arena_alloc(p->g->arena, (size_t)bytes);
  if (t->data && bytes) memcpy(t->data, data, (size_t)bytes);
  free(data);
  return t->data ? QC_OK : nomem(p);
}

/* ---- attributes ------------------------------------------------------------------------- */

typedef struct {
  bool is_float;
  int64_t i;
  float f;
} numelem;

static qc_status parse_attr_list(parser *p, qc_attr *a)
{
  TRY(next(p)); /* '[' */
  qc_arena *ar = p->g->arena;
  if (is_punct(p, ']')) {
    a->kind = QC_ATTR_INTS;
    a->ints = qc_arena_alloc(ar, sizeof(int64_t));
    if (!a->ints) return nomem(p);
    return next(p);
  }
  qc_status st = QC_OK;
  size_t cnt = 0, cap = 0;
  if (p->k == T_STR) {
    const char **arr = NULL;
    a->kind = QC_ATTR_STRINGS;
    while (st == QC_OK && !is_punct(p, ']')) {
      if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
      if (p->k != T_STR) {
        st = PERR(p, "expected a string");
        break;
      }
      if (!grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) st = nomem(p);
      else if ((st = str_dup(p, &arr[cnt])) == QC_OK) cnt++, st = next(p);
    }
    if (st == QC_OK && !(a->strings = qc_arena_alloc(ar, sizeof(char *) * (cnt + 1)))) st = nomem(p);
    if (st == QC_OK) memcpy(a->strings, arr, sizeof(char *) * cnt);
    free(arr);
  } else if (p->k == T_IDENT && !at_number(p)) {
    qc_tensor *arr = NULL;
    a->kind = QC_ATTR_TENSORS;
    while (st == QC_OK && !is_punct(p, ']')) {
      if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
      if (!grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) {
        st = nomem(p);
        break;
      }
      memset(&arr[cnt], 0, sizeof arr[cnt]);
      char what[300];
      snprintf(what, sizeof what, "attribute '%s'", a->name);
      if ((st = parse_tensor(p, &arr[cnt], what)) == QC_OK) cnt++;
    }
    if (st == QC_OK && !(a->tensors = qc_arena_alloc(ar, sizeof(qc_tensor) * (cnt + 1)))) st = nomem(p);
    if (st == QC_OK) memcpy(a->tensors, arr, sizeof(qc_tensor) * cnt);
    free(arr);
  } else {
    numelem *arr = NULL;
    bool any_float = false;
    while (st == QC_OK && !is_punct(p, ']')) {
      if (cnt && (st = list_sep(p, ']')) != QC_OK) break;
      if (!grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) {
        st = nomem(p);
        break;
      }
      numelem *x = &arr[cnt];
      x->is_float = p->is_float || p->k != T_NUM;
      any_float |= x->is_float;
      st = x->is_float ? num_double(p, NULL, &x->f) : num_int(p, &x->i);
      if (st == QC_OK) cnt++;
    }
    if (st == QC_OK) {
      a->kind = any_float ? QC_ATTR_FLOATS : QC_ATTR_INTS;
      if (any_float) a->floats = qc_arena_alloc(ar, sizeof(float) * (cnt + 1));
      else a->ints = qc_arena_alloc(ar, sizeof(int64_t) * (cnt + 1));
      if (!a->floats && !a->ints) st = nomem(p);
      for (size_t k = 0; k < cnt && st == QC_OK; k++) {
        if (any_float) a->floats[k] = arr[k].is_float ? arr[k].f : (float)arr[k].i;
        else a->ints[k] = arr[k].i;
      }
    }
    free(arr);
  }
  a->n = (int64_t)cnt;
  if (st != QC_OK) return st;
  return next(p);
}

static qc_status parse_attr_value(parser *p, qc_attr *a)
{
  qc_arena *ar = p->g->arena;
  if (p->k == T_NUM && !p->is_float) {
    a->kind = QC_ATTR_INT;
    return num_int(p, &a->i);
  }
  if (at_number(p)) {
    a->kind = QC_ATTR_FLOAT;
    return num_double(p, NULL, &a->f);
  }
  if (p->k == T_STR) {
    a->kind = QC_ATTR_STRING;
    TRY(str_dup(p, &a->s));
    a->s_len = (int64_t)p->slen;
    return next(p);
  }
  if (is_punct(p, '[')) return parse_attr_list(p, a);
  if (is_punct(p, '<')) {
    static const struct { const char *name; qc_attr_kind kind; } opaque[] = {
        {"graph", QC_ATTR_GRAPH},           {"graphs", QC_ATTR_GRAPHS},
        {"sparse_tensor", QC_ATTR_SPARSE_TENSOR}, {"sparse_tensors", QC_ATTR_SPARSE_TENSORS},
        {"type_proto", QC_ATTR_TYPE_PROTO}, {"type_protos", QC_ATTR_TYPE_PROTOS}};
    TRY(next(p));
    for (size_t i = 0; i < sizeof opaque / sizeof opaque[0]; i++)
      if (is_kw(p, opaque[i].name)) {
        a->kind = opaque[i].kind;
        TRY(next(p));
        return expect(p, '>');
      }
    return PERR(p, "expected an attribute kind");
  }
  if (p->k == T_IDENT) {
    static const struct { const char *name; qc_attr_kind kind; } empty[] = {
        {"floats", QC_ATTR_FLOATS}, {"strings", QC_ATTR_STRINGS}, {"tensors", QC_ATTR_TENSORS}};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++)
      if (is_kw(p, empty[i].name)) {
        a->kind = empty[i].kind;
        TRY(next(p));
        TRY(expect(p, '['));
        TRY(expect(p, ']'));
        /* a non-NULL array keeps "present but empty" distinct from absent */
        void *arr = qc_arena_alloc(ar, 16);
        if (!arr) return nomem(p);
        if (a->kind == QC_ATTR_FLOATS) a->floats = arr;
        else if (a->kind == QC_ATTR_STRINGS) a->strings = arr;
        else a->tensors = arr;
        return QC_OK;
      }
    a->kind = QC_ATTR_TENSOR;
    a->tensors = qc_arena_alloc(ar, sizeof(qc_tensor));
    if (!a->tensors) return nomem(p);
    char what[300];
    snprintf(what, sizeof what, "attribute '%s'", a->name);
    return parse_tensor(p, a->tensors, what);
  }
  return PERR(p, "expected an attribute value");
}

/* '{' name=value, ... '}' into a fresh arena array. */
static qc_status parse_attrs(parser *p, qc_attr **out, int32_t *n_out)
{
  TRY(next(p));
  qc_attr *arr = NULL;
  size_t cnt = 0, cap = 0;
  qc_status st = QC_OK;
  while (st == QC_OK && !is_punct(p, '}')) {
    if (cnt && (st = list_sep(p, '}')) != QC_OK) break;
    if (cnt >= INT32_MAX || !grow((void **)&arr, &cap, cnt + 1, sizeof *arr)) {
      st = nomem(p);
      break;
    }
    qc_attr *a = &arr[cnt];
    memset(a, 0, sizeof *a);
    if (p->k == T_IDENT) {
      if (!(a->name = qc_arena_strndup(p->g->arena, p->text, p->tlen))) st = nomem(p);
    } else if (p->k == T_STR) {
      st = str_dup(p, &a->name);
    } else {
      st = PERR(p, "expected an attribute name");
    }
    if (st == QC_OK) st = next(p);
    if (st == QC_OK) st = expect(p, '=');
    if (st == QC_OK) st = parse_attr_value(p, a);
    if (st == QC_OK) cnt++;
  }
  if (st == QC_OK) st = next(p);
  if (st == QC_OK) {
    *out = qc_arena_alloc(p->g->arena, sizeof(qc_attr) * (cnt + 1));
    if (!*out) st = nomem(p);
    else if (cnt) memcpy(*out, arr, sizeof(qc_attr) * cnt);
    *n_out = (int32_t)cnt;
  }
  free(arr);
  return st;
}

/* ---- statements ------------------------------------------------------------------------- */

/* input %x[: type][= data] | const %w: type = data | value %v[: type] */
static qc_status parse_decl(parser *p, char kind)
{
  TRY(next(p));
  if (p->k != T_VAL) return PERR(p, "expected a value name");
  int line = p->tline, col = p->tcol;
  char *name = malloc(p->slen + 1);
  if (!name) return nomem(p);
  memcpy(name, p->str, p->slen + 1);
  qc_status st = next(p);
  ptype t = {.dtype = QC_DT_UNDEF, .rank = -1};
  bool has_type = false;
  if (st == QC_OK && is_punct(p, ':')) {
    has_type = true;
    st = next(p);
    if (st == QC_OK) st = parse_type(p, &t);
  }
  unsigned char *data = NULL;
  bool has_data = false;
  if (st == QC_OK && kind != 'v' && (kind == 'c' || is_punct(p, '='))) {
    int64_t elems = qc_shape_elems(t.rank, t.dims);
    if (!has_type || t.dtype == QC_DT_UNDEF || elems < 0)
      st = perr_at(p, line, col, "constant '%s' needs a dtype and a fully known shape", name);
    if (st == QC_OK) st = expect(p, '=');
    has_data = true;
    char what[300];
    snprintf(what, sizeof what, "constant '%s'", name);
    if (st == QC_OK) st = parse_data(p, t.dtype, elems, what, &data);
  }
  if (st == QC_OK) {
    int32_t id = qc_graph_find_value(p->g, name);
    if (id >= 0) st = perr_at(p, line, col, "value '%s' is defined twice", name);
    else if ((id = qc_graph_add_value(p->g, name, t.dtype, t.rank, t.dims, p->e)) < 0)
      st = p->e->code;
    if (st == QC_OK) {
      qc_value *v = &p->g->values[id];
      v->q = t.q;
      if (has_data) {
        v->flags |= QC_VAL_CONST;
        if (data) {
          int64_t bytes = qc_dtype_bytes(t.dtype, qc_shape_elems(t.rank, t.dims));
          v->data = qc_arena_alloc(p->g->arena, (size_t)bytes);
          if (!v->data) st = nomem(p);
          else if (bytes) memcpy(v->data, data, (size_t)bytes);
        }
      }
      if (st == QC_OK && kind == 'i') {
        if (!grow((void **)&p->inputs, &p->cap_inputs, p->n_inputs + 1, sizeof(int32_t))) st = nomem(p);
        else p->inputs[p->n_inputs++] = id;
      }
    }
  }
  free(data);
  free(name);
  return st;
}

static qc_status parse_output(parser *p)
{
  TRY(next(p));
  for (;;) {
    if (p->k != T_VAL) return PERR(p, "expected a value name");
    if (!grow((void **)&p->outs, &p->cap_out, p->n_out + 1, sizeof *p->outs)) return nomem(p);
    char *name = malloc(p->slen + 1);
    if (!name) return nomem(p);
    memcpy(name, p->str, p->slen + 1);
    p->outs[p->n_out++] = (fixup){NULL, name, p->tline, p->tcol};
    TRY(next(p));
    if (!is_punct(p, ',')) return QC_OK;
    TRY(next(p));
  }
}

typedef struct {
  int32_t *ids;
  size_t n, cap;
} idlist;

static qc_status push_id(parser *p, idlist *l, int32_t id)
{
  if (l->n >= 100000 || !grow((void **)&l->ids, &l->cap, l->n + 1, sizeof(int32_t))) return nomem(p);
  l->ids[l->n++] = id;
  return QC_OK;
}

/* A node argument by name, until the node (and so its slot) exists. */
typedef struct {
  size_t idx;
  char *name;
  int line, col;
} argref;

/* The outputs of a node statement, up to and including '='. */
static qc_status parse_node_outs(parser *p, idlist *outs)
{
  if (is_punct(p, '(')) { /* "() = Op(...)": no outputs */
    TRY(next(p));
    TRY(expect(p, ')'));
    return expect(p, '=');
  }
  for (;;) {
    if (is_kw(p, "_")) {
      TRY(push_id(p, outs, -1));
      TRY(next(p));
    } else if (p->k == T_VAL) {
      ptype t = {.dtype = QC_DT_UNDEF, .rank = -1};
      int line = p->tline, col = p->tcol;
      char *name = malloc(p->slen + 1);
      if (!name) return nomem(p);
      memcpy(name, p->str, p->slen + 1);
      qc_status st = next(p);
      if (st == QC_OK && is_punct(p, ':')) {
        st = next(p);
        if (st == QC_OK) st = parse_type(p, &t);
      }
      int32_t id = -1;
      if (st == QC_OK) {
        if (qc_graph_find_value(p->g, name) >= 0)
          st = perr_at(p, line, col, "value '%s' is defined twice", name);
        else if ((id = qc_graph_add_value(p->g, name, t.dtype, t.rank, t.dims, p->e)) < 0)
          st = p->e->code;
        else p->g->values[id].q = t.q;
      }
      free(name);
      TRY(st);
      TRY(push_id(p, outs, id));
    } else {
      return PERR(p, "expected a value name");
    }
    if (!is_punct(p, ',')) break;
    TRY(next(p));
  }
  return expect(p, '=');
}

/* (outs | '()') '=' Op '(' args ')' ['{' attrs '}'] ['@' name] */
static qc_status parse_node(parser *p)
{
  idlist outs = {0}, ins = {0};
  argref *argfix = NULL;
  size_t n_argfix = 0, cap_argfix = 0;
  qc_attr *attrs = NULL;
  int32_t n_attrs = 0;
  char *node_name = NULL;
  qc_status st = parse_node_outs(p, &outs);
  qc_op op = QC_OP_NONE;
  if (st == QC_OK) {
    char buf[128];
    if (p->k != T_IDENT) st = PERR(p, "expected an op name");
    else if (!ident_text(p, buf, sizeof buf)) st = PERR(p, "unknown op");
    else {
      char *dot = strrchr(buf, '.');
      if (dot) *dot = 0;
      op = dot ? qc_op_lookup(buf, dot + 1) : qc_op_lookup("", buf);
      if (dot) *dot = '.';
      if (op == QC_OP_NONE) st = PERR(p, "unknown op '%s'", buf);
    }
    if (st == QC_OK) st = next(p);
  }
  if (st == QC_OK) st = expect(p, '(');
  while (st == QC_OK && !is_punct(p, ')')) {
    if (ins.n && (st = list_sep(p, ')')) != QC_OK) break;
    if (is_kw(p, "_")) {
      st = push_id(p, &ins, -1);
    } else if (p->k == T_VAL) {
      if ((st = push_id(p, &ins, -1)) != QC_OK) break;
      if (!grow((void **)&argfix, &cap_argfix, n_argfix + 1, sizeof *argfix)) {
        st = nomem(p);
        break;
      }
      char *name = malloc(p->slen + 1);
      if (!name) {
        st = nomem(p);
        break;
      }
      memcpy(name, p->str, p->slen + 1);
      argfix[n_argfix++] = (argref){ins.n - 1, name, p->tline, p->tcol};
    } else {
      st = PERR(p, "expected a value or '_'");
    }
    if (st == QC_OK) st = next(p);
  }
  if (st == QC_OK) st = next(p);
  if (st == QC_OK && is_punct(p, '{')) st = parse_attrs(p, &attrs, &n_attrs);
  if (st == QC_OK && p->k == T_AT) {
    if (!(node_name = malloc(p->slen + 1))) st = nomem(p);
    else memcpy(node_name, p->str, p->slen + 1);
    if (st == QC_OK) st = next(p);
  }
  if (st == QC_OK) {
    int32_t id = qc_graph_add_node(p->g, op, node_name, (int32_t)ins.n, ins.ids,
                                   (int32_t)outs.n, outs.ids, p->e);
    if (id < 0) {
      st = p->e->code;
    } else {
      qc_node *n = &p->g->nodes[id];
      n->attrs = attrs;
      n->n_attrs = n_attrs;
      for (size_t i = 0; i < n_argfix && st == QC_OK; i++) {
        if (!grow((void **)&p->fix, &p->cap_fix, p->n_fix + 1, sizeof *p->fix)) {
          st = nomem(p);
          break;
        }
        argref *r = &argfix[i];
        p->fix[p->n_fix++] = (fixup){&n->in[r->idx], r->name, r->line, r->col};
        argfix[i].name = NULL; /* now owned by p->fix */
      }
    }
  }
  for (size_t i = 0; i < n_argfix; i++) free(argfix[i].name);
  free(argfix);
  free(outs.ids);
  free(ins.ids);
  free(node_name);
  return st;
}

static qc_status parse_graph(parser *p)
{
  TRY(next(p));
  TRY(expect_kw(p, "graph"));
  if (p->k == T_STR) {
    TRY(str_dup(p, &p->g->name));
  } else if (p->k == T_IDENT) {
    if (!(p->g->name = qc_arena_strndup(p->g->arena, p->text, p->tlen))) return nomem(p);
  } else {
    return PERR(p, "expected a graph name");
  }
  TRY(next(p));
  TRY(expect_kw(p, "opset"));
  TRY(num_int(p, &p->g->opset));
  TRY(expect(p, '{'));
  for (;;) {
    if (is_punct(p, '}')) {
      TRY(next(p));
      if (p->k != T_EOF) return PERR(p, "expected the end of the text");
      return QC_OK;
    }
    if (is_kw(p, "sym")) {
      TRY(next(p));
      const char *name = NULL;
      if (p->k == T_STR) TRY(str_dup(p, &name));
      else if (p->k == T_IDENT) {
        if (!(name = qc_arena_strndup(p->g->arena, p->text, p->tlen))) return nomem(p);
      } else return PERR(p, "expected a symbol name");
      for (int32_t i = 0; i < p->g->n_syms; i++)
        if (strcmp(p->g->syms[i], name) == 0) return PERR(p, "symbol '%s' declared twice", name);
      if (qc_graph_add_sym(p->g, name, p->e) < 0) return p->e->code;
      TRY(next(p));
    } else if (is_kw(p, "input")) {
      TRY(parse_decl(p, 'i'));
    } else if (is_kw(p, "const")) {
      TRY(parse_decl(p, 'c'));
    } else if (is_kw(p, "value")) {
      TRY(parse_decl(p, 'v'));
    } else if (is_kw(p, "output")) {
      TRY(parse_output(p));
    } else if (p->k == T_VAL || is_kw(p, "_") || is_punct(p, '(')) {
      TRY(parse_node(p));
    } else if (p->k == T_EOF) {
      return PERR(p, "expected '}'");
    } else {
      return PERR(p, "expected a statement");
    }
  }
}

static qc_status resolve(parser *p)
{
  for (size_t i = 0; i < p->n_fix; i++) {
    int32_t id = qc_graph_find_value(p->g, p->fix[i].name);
    if (id < 0)
      return perr_at(p, p->fix[i].line, p->fix[i].col, "undefined value '%s'", p->fix[i].name);
    *p->fix[i].slot = id;
  }
  int32_t *ids = malloc(sizeof(int32_t) * (p->n_out + 1));
  if (!ids) return nomem(p);
  for (size_t i = 0; i < p->n_out; i++) {
    ids[i] = qc_graph_find_value(p->g, p->outs[i].name);
    if (ids[i] < 0) {
      qc_status st = perr_at(p, p->outs[i].line, p->outs[i].col, "undefined value '%s'",
                             p->outs[i].name);
      free(ids);
      return st;
    }
  }
  qc_status st = qc_graph_set_outputs(p->g, (int32_t)p->n_out, ids, p->e);
  if (st == QC_OK) st = qc_graph_set_inputs(p->g, (int32_t)p->n_inputs, p->inputs, p->e);
  free(ids);
  return st;
}

qc_status qc_parse(const char *text, qc_graph **out, qc_err *e)
{
  *out = NULL;
  if (!text) return qc_err_set(e, QC_ERR_USAGE, "ir text: no text");
  parser p = {.src = text, .len = strlen(text), .line = 1, .col = 1, .e = e};
  qc_err local = {0};
  if (!p.e) p.e = &local;
  p.g = qc_graph_new();
  if (!p.g) return qc_err_set(e, QC_ERR_NOMEM, "ir text: out of memory");
  qc_status st = parse_graph(&p);
  if (st == QC_OK) st = resolve(&p);
  for (size_t i = 0; i < p.n_fix; i++) free(p.fix[i].name);
  for (size_t i = 0; i < p.n_out; i++) free(p.outs[i].name);
  free(p.fix);
  free(p.outs);
  free(p.inputs);
  free(p.str);
  if (st != QC_OK) {
    qc_graph_free(p.g);
    return st;
  }
  *out = p.g;
  return QC_OK;
}
