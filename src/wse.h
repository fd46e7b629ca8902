/* wse.h - Pushpin's WebSocket-over-HTTP event format: parse a request body, encode a response body. */
#ifndef STREAMER_WSE_H
#define STREAMER_WSE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum wse_type {
	WSE_OPEN,
	WSE_TEXT,
	WSE_BINARY,
	WSE_PING,
	WSE_PONG,
	WSE_CLOSE,
	WSE_DISCONNECT,
};

/* One event. data points into the parsed body (borrowed), len may be 0. */
struct wse_event {
	enum wse_type type;
	const char *data;
	size_t len;
	int has_content; /* 1 when the event carried "NAME <hex>\r\n…\r\n" */
};

/*
 * Parses a whole body of concatenated events (PROTOCOLS.md). An empty body
 * gives zero events. On success returns 0, a new array in *events (caller
 * frees; NULL when *count is 0) whose data point into body. On any defect
 * (unknown name, bad or oversized hex length, missing CRLF, truncated
 * content, trailing garbage) returns -1 and a short reason in why; nothing is
 * allocated then.
 */
int wse_parse(const char *body, size_t len, struct wse_event **events,
	      size_t *count, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Appends "NAME\r\n" (no content) to out. */
void wse_put(struct buf *out, enum wse_type type);
/* Appends "NAME <hex len>\r\n<data>\r\n" to out (len may be 0). */
void wse_put_content(struct buf *out, enum wse_type type, const void *data,
		     size_t len);
/* Appends a TEXT event whose content is prefix followed by data. */
void wse_put_text2(struct buf *out, const char *prefix, const void *data,
		   size_t len);
/* Appends a CLOSE event carrying code (big-endian) and reason. */
void wse_put_close(struct buf *out, uint16_t code, const char *reason);

/*
 * Reads a CLOSE event's code and reason. Returns 1 and sets *code when the
 * event carries at least two bytes, else 0 (no code). reason points into the
 * event's data; *rlen is its length.
 */
int wse_close_code(const struct wse_event *ev, uint16_t *code,
		   const char **reason, size_t *rlen);

/* "OPEN", "TEXT", … */
const char *wse_type_name(enum wse_type type);

#endif
