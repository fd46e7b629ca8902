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

/* Most events one body may hold; a longer batch is refused as malformed. */
#define WSE_MAX_EVENTS 10000

/*
 * One event. data points into the parsed body (borrowed) and is never NULL
 * when the body was not; len may be 0. An event without content has len 0
 * and data pointing just past it.
 */
struct wse_event {
	enum wse_type type;
	const char *data;
	size_t len;
	int has_content; /* 1 when the event carried "NAME <hex>\r\n…\r\n" */
};

/*
 * Parses a whole body of concatenated events, as Pushpin documents them
 * (https://pushpin.org/docs/protocols/websocket-over-http/): "NAME\r\n" or
 * "NAME <hex>\r\n<bytes>\r\n", names case-sensitive, one space, 1 to 16 hex
 * digits of either case. body need not be NUL-terminated; nothing past
 * body[len) is read, in time linear in len. An empty body gives zero events.
 * On success returns 0, a new array in *events (caller frees; NULL when
 * *count is 0) whose data point into body. On any defect (unknown name, bad
 * or oversized hex length, missing CRLF, truncated content, trailing garbage,
 * more than WSE_MAX_EVENTS events) returns -1 with *events NULL, *count 0 and
 * a short reason with its offset in why (when why is not NULL); nothing is
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
/* Appends a TEXT event whose content is prefix (NULL = "") followed by data. */
void wse_put_text2(struct buf *out, const char *prefix, const void *data,
		   size_t len);
/* Appends a CLOSE event carrying code (big-endian) and reason (NULL = none). */
void wse_put_close(struct buf *out, uint16_t code, const char *reason);

/*
 * Reads a CLOSE event's code and reason. Returns 1 and sets *code when the
 * event carries at least two bytes, else 0 (no code; *code untouched, *reason
 * NULL, *rlen 0). reason points into the event's data (not NUL-terminated);
 * *rlen is its length. reason and rlen may be NULL.
 */
int wse_close_code(const struct wse_event *ev, uint16_t *code,
		   const char **reason, size_t *rlen);

/* "OPEN", "TEXT", … ("UNKNOWN" for a value outside the enum). */
const char *wse_type_name(enum wse_type type);

#endif
