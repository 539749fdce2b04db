/* Per-layer bits config: `LAYER w=BITS a=BITS` lines (HAWQ's bit_config as a text file). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "q_internal.h"

void qc_bits_config_free(qc_bits_entry *v, int n)
{
  if (!v) return;
  for (int i = 0; i < n; i++) free(v[i].name);
  free(v);
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Parses "w=N" / "a=N" into *w or *a; 0 malformed, -1 bits out of range, 1 ok. */
static int parse_kv(const char *tok, size_t len, int *w, int *a, int *bits)
{
  if (len < 3 || (tok[0] != 'w' && tok[0] != 'a') || tok[1] != '=') return 0;
  int v = 0;
  for (size_t i = 2; i < len; i++) {
    if (tok[i] < '0' || tok[i] > '9' || v > 1000) return 0;
    v = v * 10 + (tok[i] - '0');
  }
  *bits = v;
  if (v < 2 || v > 8) return -1;
  if (tok[0] == 'w') *w = v;
  else *a = v;
  return 1;
}

qc_status qc_bits_config_parse(const char *text, const char *path, qc_bits_entry **out,
                               int *n_out, qc_err *e)
{
  *out = NULL;
  *n_out = 0;
  qc_bits_entry *v = NULL;
  int n = 0, cap = 0, line = 0;
  qc_status st = QC_OK;
  for (const char *p = text; *p && st == QC_OK;) {
    line++;
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    const char *hash = memchr(p, '#', len);
    size_t body = hash ? (size_t)(hash - p) : len;
    /* tokens of the line before any comment */
    const char *tok[8];
    size_t tl[8];
    int nt = 0;
    for (size_t i = 0; i < body;) {
      while (i < body && is_space(p[i])) i++;
      if (i >= body) break;
      size_t s = i;
      while (i < body && !is_space(p[i])) i++;
      if (nt < 8) tok[nt] = p + s, tl[nt] = i - s;
      nt++;
    }
    if (nt > 0) {
      int w = -1, a = -1, bits = 0;
      bool ok = nt >= 2 && nt <= 3;
      for (int k = 1; k < nt && k < 8 && ok; k++) {
        int pw = w, pa = a;
        int r = parse_kv(tok[k], tl[k], &w, &a, &bits);
        if (r == -1) {
          st = qc_err_set(e, QC_ERR_INVALID, "%s:%d: %.*s: bits must be in 2..8", path, line,
                          (int)tl[k], tok[k]);
          break;
        }
        ok = r == 1 && !(pw >= 0 && w != pw) && !(pa >= 0 && a != pa) &&
             !(tok[k][0] == 'w' && pw >= 0) && !(tok[k][0] == 'a' && pa >= 0);
      }
      if (st != QC_OK) break;
      if (!ok) {
        const char *end = p + body;
        while (end > tok[0] && is_space(end[-1])) end--;
        st = qc_err_set(e, QC_ERR_FORMAT, "%s:%d: expected 'LAYER w=BITS a=BITS', got '%.*s'",
                        path, line, (int)(end - tok[0]), tok[0]);
        break;
      }
      for (int i = 0; i < n; i++)
        if (strlen(v[i].name) == tl[0] && memcmp(v[i].name, tok[0], tl[0]) == 0) {
          st = qc_err_set(e, QC_ERR_INVALID, "%s:%d: layer '%s' already given on line %d", path,
                          line, v[i].name, v[i].line);
          break;
        }
      if (st != QC_OK) break;
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        qc_bits_entry *nv = realloc(v, sizeof *v * (size_t)cap);
        if (!nv) {
          st = qc_err_set(e, QC_ERR_NOMEM, "out of memory reading %s", path);
          break;
        }
        v = nv;
      }
      v[n].name = malloc(tl[0] + 1);
      if (!v[n].name) {
        st = qc_err_set(e, QC_ERR_NOMEM, "out of memory reading %s", path);
        break;
      }
      memcpy(v[n].name, tok[0], tl[0]);
      v[n].name[tl[0]] = 0;
      v[n].w_bits = w;
      v[n].a_bits = a;
      v[n].line = line;
      n++;
    }
    p = eol ? eol + 1 : p + len;
  }
  if (st != QC_OK) {
    qc_bits_config_free(v, n);
    return st;
  }
  *out = v;
  *n_out = n;
  return QC_OK;
}

qc_status qc_bits_config_load(const char *path, qc_bits_entry **out, int *n, qc_err *e)
{
  FILE *f = fopen(path, "rb");
  if (!f) return qc_err_set(e, QC_ERR_IO, "%s: %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  qc_status st = QC_OK;
  while (buf) {
    if (len + 1 >= cap) {
      if (cap > ((size_t)16 << 20)) {
        st = qc_err_set(e, QC_ERR_NOMEM, "%s: config larger than 16 MiB", path);
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb, cap *= 2;
    }
    size_t r = fread(buf + len, 1, cap - 1 - len, f);
    len += r;
    if (r == 0) break;
  }
  bool rerr = ferror(f);
  fclose(f);
  if (!buf) return qc_err_set(e, QC_ERR_NOMEM, "out of memory reading %s", path);
  if (st == QC_OK && rerr) st = qc_err_set(e, QC_ERR_IO, "%s: read error", path);
  if (st == QC_OK) {
    buf[len] = 0;
    if (strlen(buf) != len) st = qc_err_set(e, QC_ERR_FORMAT, "%s: contains a NUL byte", path);
  }
  if (st == QC_OK) st = qc_bits_config_parse(buf, path, out, n, e);
  free(buf);
  return st;
}
