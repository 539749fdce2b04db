/* A protobuf wire-format walker: protobuf-c only says "failed", so this pass finds the byte
 * offset of the first bad tag, varint or length before unpacking. It follows the generated
 * descriptors into sub-messages, and bounds nesting (protobuf-c's unpacker recurses, so a
 * file of nested attribute graphs could otherwise exhaust the stack). */
#include <stdio.h>
#include "onnx_internal.h"

/* Real models nest model > graph > node > attribute > graph ... a few levels per subgraph. */
#define WIRE_MAX_DEPTH 64

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

typedef struct {
  const uint8_t *buf;
  size_t off;   /* where the problem starts */
  char why[200];
} walker;

/* Reads a varint at *p (< end); false if it runs past end or past 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return false;
    uint8_t b = *(*p)++;
    x |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 0);
    if (!(b & 0x80)) {
      *v = x;
      return true;
    }
  }
  return false;
}

static int wire_type_of(ProtobufCType t)
{
  switch (t) {
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
    return WT_FIXED32;
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_FIXED64:
  case PROTOBUF_C_TYPE_DOUBLE:
    return WT_FIXED64;
  case PROTOBUF_C_TYPE_STRING:
  case PROTOBUF_C_TYPE_BYTES:
  case PROTOBUF_C_TYPE_MESSAGE:
    return WT_LEN;
  default:
    return WT_VARINT;
  }
}

static bool fail(walker *w, const uint8_t *at, const char *what,
                 const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                 uint32_t field)
{
  w->off = (size_t)(at - w->buf);
  if (f)
    snprintf(w->why, sizeof w->why, "%s in field %u (%s.%s)", what, field, d->short_name,
             f->name);
  else
    snprintf(w->why, sizeof w->why, "%s in field %u of %s", what, field, d->short_name);
  return false;
}

/* Checks the packed payload [p, end) of a repeated scalar field. */
static bool walk_packed(walker *w, const uint8_t *p, const uint8_t *end, int wt,
                        const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
  size_t n = (size_t)(end - p);
  if (wt == WT_FIXED32 && n % 4)
    return fail(w, p, "packed 4-byte values with a length not a multiple of 4", d, f, f->id);
  if (wt == WT_FIXED64 && n % 8)
    return fail(w, p, "packed 8-byte values with a length not a multiple of 8", d, f, f->id);
  if (wt == WT_VARINT)
    while (p < end) {
      const uint8_t *at = p;
      uint64_t v;
      if (!read_varint(&p, end, &v)) return fail(w, at, "truncated packed varint", d, f, f->id);
    }
  return true;
}

static bool walk(walker *w, const uint8_t *p, const uint8_t *end,
                 const ProtobufCMessageDescriptor *d, int depth)
{
  if (depth > WIRE_MAX_DEPTH) {
    w->off = (size_t)(p - w->buf);
    snprintf(w->why, sizeof w->why, "messages nested more than %d deep (in %s)", WIRE_MAX_DEPTH,
             d->short_name);
    return false;
  }
  while (p < end) {
    const uint8_t *at = p;
    uint64_t tag;
    if (!read_varint(&p, end, &tag)) return fail(w, at, "truncated tag", d, NULL, 0);
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff) {
      w->off = (size_t)(at - w->buf);
      snprintf(w->why, sizeof w->why, "invalid field number %llu in %s",
               (unsigned long long)(tag >> 3), d->short_name);
      return false;
    }
    uint32_t field = (uint32_t)(tag >> 3);
    int wt = (int)(tag & 7);
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, field);
    if (f) {
      int want = wire_type_of(f->type);
      bool packed = f->label == PROTOBUF_C_LABEL_REPEATED && want != WT_LEN && wt == WT_LEN;
      if (wt != want && !packed) {
        char msg[64];
        snprintf(msg, sizeof msg, "wire type %d where %d is expected", wt, want);
        return fail(w, at, msg, d, f, field);
      }
    }
    uint64_t v;
    switch (wt) {
    case WT_VARINT:
      if (!read_varint(&p, end, &v)) return fail(w, at, "truncated varint", d, f, field);
      break;
    case WT_FIXED64:
      if (end - p < 8) return fail(w, at, "truncated 8-byte value", d, f, field);
      p += 8;
      break;
    case WT_FIXED32:
      if (end - p < 4) return fail(w, at, "truncated 4-byte value", d, f, field);
      p += 4;
      break;
    case WT_LEN: {
      if (!read_varint(&p, end, &v)) return fail(w, at, "truncated length", d, f, field);
      if (v > (uint64_t)(end - p)) {
        char msg[96];
        snprintf(msg, sizeof msg, "length %llu past the end (%llu bytes left)",
                 (unsigned long long)v, (unsigned long long)(end - p));
        return fail(w, at, msg, d, f, field);
      }
      const uint8_t *sub = p;
      p += v;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (!walk(w, sub, p, f->descriptor, depth + 1)) return false;
      } else if (f && wire_type_of(f->type) != WT_LEN) {
        if (!walk_packed(w, sub, p, wire_type_of(f->type), d, f)) return false;
      }
      break;
    }
    case WT_SGROUP:
    case WT_EGROUP:
      return fail(w, at, "group wire type (not used by ONNX)", d, f, field);
    default: {
      char msg[48];
      snprintf(msg, sizeof msg, "invalid wire type %d", wt);
      return fail(w, at, msg, d, f, field);
    }
    }
  }
  return true;
}

qc_status qc_onnx_wire_check(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *d,
                             const char *file, qc_err *e)
{
  walker w = {.buf = buf};
  if (walk(&w, buf, buf + len, d, 0)) return QC_OK;
  return qc_err_set(e, QC_ERR_FORMAT, "%s: not a valid ONNX %s: byte %zu: %s", file,
                    d->short_name, w.off, w.why);
}
