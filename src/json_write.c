/* json_write.c - compact JSON text of jansson values, appended to a buffer (the hot path's json_dumps). */
#include <stdlib.h>
#include <string.h>

#include "json_write.h"

/*
 * The escape of each byte that needs one in a JSON string (jansson's set
 * without JSON_ESCAPE_SLASH or JSON_ENSURE_ASCII): '"', '\\' and the
 * control characters; 0 for a byte copied as is. 'u' means \u00XX.
 */
static const char escape_of[256] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
	[0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
	[0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
	[0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
	['"'] = '"', ['\\'] = '\\',
};

void jsonw_string(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run;
	char *w;

	/* Room for the common case (nothing to escape); escapes reserve their own. */
	buf_reserve(out, n + 2);
	out->data[out->len++] = '"';
	while (i < n) {
		for (run = i; run < n && !escape_of[p[run]]; run++)
			;
		if (run > i) {
			memcpy(out->data + out->len, p + i, run - i);
			out->len += run - i;
			i = run;
		}
		if (i == n)
			break;
		/* 6 for \u00XX, and the rest of s plus the closing quote stays reserved. */
		buf_reserve(out, 6 + (n - i) + 1);
		w = out->data + out->len;
		w[0] = '\\';
		if (escape_of[p[i]] == 'u') {
			memcpy(w + 1, "u00", 3);
			w[4] = hex[p[i] >> 4];
			w[5] = hex[p[i] & 0xf];
			out->len += 6;
		} else {
			w[1] = escape_of[p[i]];
			out->len += 2;
		}
		i++;
	}
	out->data[out->len++] = '"';
	out->data[out->len] = '\0';
}

void jsonw_int(struct buf *out, long long v)
{
	char tmp[24], *end = tmp + sizeof(tmp), *d = end;
	/* Negated in unsigned arithmetic: LLONG_MIN has no positive twin. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--d = '-';
	buf_append(out, d, (size_t)(end - d));
}

/* jansson's own text for a value this file does not format (reals). */
static int dump_by_jansson(struct buf *out, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text)
		return -1;
	buf_puts(out, text);
	free(text);
	return 0;
}

static int write_value(struct buf *out, const json_t *v, int depth)
{
	const char *key;
	json_t *member;
	size_t i;

	if (!v)
		return -1;
	switch (json_typeof(v)) {
	case JSON_NULL:
		buf_append(out, "null", 4);
		return 0;
	case JSON_TRUE:
		buf_append(out, "true", 4);
		return 0;
	case JSON_FALSE:
		buf_append(out, "false", 5);
		return 0;
	case JSON_INTEGER:
		jsonw_int(out, (long long)json_integer_value(v));
		return 0;
	case JSON_REAL:
		return dump_by_jansson(out, v);
	case JSON_STRING:
		jsonw_string(out, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_ARRAY:
		if (depth >= JSONW_MAX_DEPTH)
			return -1;
		buf_putc(out, '[');
		json_array_foreach((json_t *)v, i, member) {
			if (i > 0)
				buf_putc(out, ',');
			if (write_value(out, member, depth + 1) < 0)
				return -1;
		}
		buf_putc(out, ']');
		return 0;
	case JSON_OBJECT: {
		void *iter;

		if (depth >= JSONW_MAX_DEPTH)
			return -1;
		buf_putc(out, '{');
		i = 0;
		for (iter = json_object_iter((json_t *)v); iter;
		     iter = json_object_iter_next((json_t *)v, iter)) {
			key = json_object_iter_key(iter);
			if (i++ > 0)
				buf_putc(out, ',');
			jsonw_string(out, key, strlen(key));
			buf_putc(out, ':');
			if (write_value(out, json_object_iter_value(iter), depth + 1) < 0)
				return -1;
		}
		buf_putc(out, '}');
		return 0;
	}
	}
	return -1;
}

int jsonw_value(struct buf *out, const json_t *v)
{
	return write_value(out, v, 0);
}
