/* Bump allocator: big chunks, freed all at once with the graph that owns them. */
#include <stdlib.h>
#include <string.h>
#include "ir.h"

#define ARENA_ALIGN 64
#define ARENA_CHUNK ((size_t)1 << 20)

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  _Alignas(ARENA_ALIGN) unsigned char mem[];
} chunk;

struct qc_arena {
  chunk *head;
  size_t bytes;
  long fail_after; /* > 0: counts down to an injected failure */
};

qc_arena *qc_arena_new(void) { return calloc(1, sizeof(qc_arena)); }

void qc_arena_free(qc_arena *a)
{
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void qc_arena_fail_after(qc_arena *a, long n) { a->fail_after = n; }

size_t qc_arena_bytes(const qc_arena *a) { return a->bytes; }

void *qc_arena_alloc(qc_arena *a, size_t bytes)
{
  if (!a) return NULL;
  if (a->fail_after > 0 && --a->fail_after == 0) return NULL;
  if (bytes > ((size_t)1 << 40)) return NULL;
  size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (need == 0) need = ARENA_ALIGN;
  chunk *c = a->head;
  if (!c || c->size - c->used < need) {
    /* Large requests get a chunk of their own, kept behind the current one so its free tail
       stays usable. */
    size_t size = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;
    chunk *n = aligned_alloc(ARENA_ALIGN, (sizeof(chunk) + size + ARENA_ALIGN - 1) &
                                              ~(size_t)(ARENA_ALIGN - 1));
    if (!n) return NULL;
    n->size = size;
    n->used = 0;
    if (c && size != ARENA_CHUNK) {
      n->next = c->next;
      c->next = n;
    } else {
      n->next = c;
      a->head = n;
    }
    c = n;
  }
  void *p = c->mem + c->used;
  c->used += need;
  a->bytes += need;
  memset(p, 0, bytes);
  return p;
}

char *qc_arena_strndup(qc_arena *a, const char *s, size_t n)
{
  char *d = qc_arena_alloc(a, n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *qc_arena_strdup(qc_arena *a, const char *s) { return qc_arena_strndup(a, s, strlen(s)); }
