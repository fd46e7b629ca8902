/* json_write.h - compact JSON text of jansson values, appended to a buffer (the hot path's json_dumps). */
#ifndef STREAMER_JSON_WRITE_H
#define STREAMER_JSON_WRITE_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* Nesting deeper than this is refused (jansson's parser stops at 2048 as well). */
#define JSONW_MAX_DEPTH 2048

/*
 * Appends the compact JSON text of v to out: byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) gives (keys in insertion
 * order, UTF-8 kept, jansson's escapes), without its loop-check table and
 * copies. v is borrowed. Returns 0, or -1 when v is NULL, nests deeper than
 * JSONW_MAX_DEPTH (a cycle included) or holds a real jansson cannot format;
 * out then holds a partial text after its old length, which the caller
 * cuts back. Strings must be valid UTF-8, as every jansson string made
 * without the *_nocheck calls is.
 */
int jsonw_value(struct buf *out, const json_t *v) __attribute__((warn_unused_result));

/* Appends s[0..n) (valid UTF-8, NULs allowed) as a JSON string literal with jansson's escapes. */
void jsonw_string(struct buf *out, const char *s, size_t n);

/* Appends the decimal digits of v, as "%lld" prints it. */
void jsonw_int(struct buf *out, long long v);

#endif
