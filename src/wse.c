/* wse.c - Pushpin's WebSocket-over-HTTP event format: parse a request body, encode a response body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "wse.h"

static const struct {
	const char *name;
	size_t len;
} names[] = {
	[WSE_OPEN] = { "OPEN", 4 },
	[WSE_TEXT] = { "TEXT", 4 },
	[WSE_BINARY] = { "BINARY", 6 },
	[WSE_PING] = { "PING", 4 },
	[WSE_PONG] = { "PONG", 4 },
	[WSE_CLOSE] = { "CLOSE", 5 },
	[WSE_DISCONNECT] = { "DISCONNECT", 10 },
};

const char *wse_type_name(enum wse_type type)
{
	if ((size_t)type < ARRAY_SIZE(names))
		return names[type].name;
	return "UNKNOWN";
}

/* Returns the type whose name is s[0..n), or -1. */
static int type_of(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].len == n && memcmp(names[i].name, s, n) == 0)
			return (int)i;
	return -1;
}

static int is_crlf(const char *body, size_t len, size_t pos)
{
	return len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n';
}

#define NAME_MAX_LEN 10  /* "DISCONNECT" */
#define HEX_MAX_DIGITS 16

static int refuse(char *why, size_t whylen, const char *reason, size_t pos)
{
	if (why && whylen)
		snprintf(why, whylen, "%s at offset %zu", reason, pos);
	return -1;
}

int wse_parse(const char *body, size_t len, struct wse_event **events,
	      size_t *count, char *why, size_t whylen)
{
	struct wse_event *ev = NULL;
	size_t n = 0, cap = 0, pos = 0;
	const char *reason = NULL;

	*events = NULL;
	*count = 0;
	if (!body && len) {
		reason = "no body";
		goto fail;
	}
	while (pos < len) {
		struct wse_event e = { 0 };
		size_t start = pos, nlen;
		int type;

		/* Every byte is looked at once or twice: the loop is O(len). */
		while (pos < len && pos - start < NAME_MAX_LEN + 1 &&
		       body[pos] >= 'A' && body[pos] <= 'Z')
			pos++;
		nlen = pos - start;
		type = type_of(body + start, nlen);
		if (type < 0) {
			pos = start;
			reason = "unknown event name";
			goto fail;
		}
		e.type = (enum wse_type)type;
		if (is_crlf(body, len, pos)) {
			pos += 2;
			e.data = body + pos;
			e.len = 0;
		} else if (pos < len && body[pos] == ' ') {
			uint64_t v = 0;
			size_t digits = 0;
			int d;

			pos++;
			while (pos < len && (d = hex_value((unsigned char)body[pos])) >= 0) {
				if (++digits > HEX_MAX_DIGITS) {
					reason = "content length has too many digits";
					goto fail;
				}
				v = v << 4 | (uint64_t)d;
				pos++;
			}
			if (digits == 0) {
				reason = "missing hex content length";
				goto fail;
			}
			if (!is_crlf(body, len, pos)) {
				reason = "expected CRLF after content length";
				goto fail;
			}
			pos += 2;
			if (len - pos < 2 || v > (uint64_t)(len - pos - 2)) {
				reason = "content length exceeds the body";
				goto fail;
			}
			e.data = body + pos;
			e.len = (size_t)v;
			e.has_content = 1;
			pos += e.len;
			if (!is_crlf(body, len, pos)) {
				reason = "expected CRLF after content";
				goto fail;
			}
			pos += 2;
		} else {
			reason = "expected CRLF or space after event name";
			goto fail;
		}
		if (n == WSE_MAX_EVENTS) {
			pos = start;
			reason = "too many events";
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if (cap > WSE_MAX_EVENTS)
				cap = WSE_MAX_EVENTS;
			ev = xrealloc(ev, cap * sizeof(*ev));
		}
		ev[n++] = e;
	}
	*events = ev;
	*count = n;
	return 0;
fail:
	free(ev);
	return refuse(why, whylen, reason, pos);
}

void wse_put(struct buf *out, enum wse_type type)
{
	buf_puts(out, wse_type_name(type));
	buf_append(out, "\r\n", 2);
}

/* Appends the "NAME <hex>\r\n" header of an event carrying len bytes. */
static void put_head(struct buf *out, enum wse_type type, size_t len)
{
	char hex[2 * sizeof(size_t) + 3], *d = hex + sizeof(hex);

	/* What "%zx\r\n" prints, without printf: every answer has a few of these. */
	*--d = '\n';
	*--d = '\r';
	do {
		*--d = "0123456789abcdef"[len & 0xf];
		len >>= 4;
	} while (len);
	*--d = ' ';
	buf_puts(out, wse_type_name(type));
	buf_append(out, d, (size_t)(hex + sizeof(hex) - d));
}

void wse_put_content(struct buf *out, enum wse_type type, const void *data,
		     size_t len)
{
	put_head(out, type, len);
	buf_append(out, data, len);
	buf_append(out, "\r\n", 2);
}

void wse_put_text2(struct buf *out, const char *prefix, const void *data,
		   size_t len)
{
	size_t plen = prefix ? strlen(prefix) : 0;

	put_head(out, WSE_TEXT, plen + len);
	buf_append(out, prefix, plen);
	buf_append(out, data, len);
	buf_append(out, "\r\n", 2);
}

void wse_put_close(struct buf *out, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	unsigned char be[2] = { (unsigned char)(code >> 8), (unsigned char)(code & 0xff) };

	put_head(out, WSE_CLOSE, sizeof(be) + rlen);
	buf_append(out, be, sizeof(be));
	buf_append(out, reason, rlen);
	buf_append(out, "\r\n", 2);
}

int wse_close_code(const struct wse_event *ev, uint16_t *code,
		   const char **reason, size_t *rlen)
{
	const unsigned char *d = (const unsigned char *)ev->data;

	if (ev->len < 2) {
		if (reason)
			*reason = NULL;
		if (rlen)
			*rlen = 0;
		return 0;
	}
	*code = (uint16_t)(d[0] << 8 | d[1]);
	if (reason)
		*reason = ev->data + 2;
	if (rlen)
		*rlen = ev->len - 2;
	return 1;
}
