/* streams.h - numbered streams of pushed messages: their names, the position fields a pushed message carries, who may read a stream, and recovery pages from the store's history. */
#ifndef STREAMER_STREAMS_H
#define STREAMER_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "history.h"
#include "protocol.h"

struct store;
struct conn_record;
struct config;

/* The history limits of cfg (STREAMER_HISTORY_SIZE, STREAMER_HISTORY_TTL). */
struct history_limits stream_limits(const struct config *cfg);

/*
 * Every message pushed through the callback URL belongs to one stream and
 * ends with its position: "stream", "offset" (+1 per message of the stream)
 * and "epoch" (see history.h). The streams:
 *   topic:<tenant>:<topic>  a publish, `broadcast --topic`;
 *   tenant:<tenant>         `broadcast` without a topic;
 *   user:<tenant>:<user>    `send --user` (every connection of the user),
 *                           `send --connection` and an async request's
 *                           progress, complete and error (addressed to one
 *                           connection: others of the user never get it).
 * A tenant id holds no ':', so the names cannot collide.
 */
#define STREAM_TOPIC_PREFIX "topic:"

/* The names, into out (at least HISTORY_STREAM_MAX + 1 bytes; a longer name is cut). */
void stream_of_topic(char *out, size_t outlen, const char *tenant, const char *topic);
void stream_of_tenant(char *out, size_t outlen, const char *tenant);
void stream_of_user(char *out, size_t outlen, const char *tenant, const char *user);

/* A new {"epoch": hex or null (no stream yet), "offset": n} of pos. */
json_t *stream_pos_json(const struct stream_pos *pos);

/*
 * Numbers msg (an object, borrowed): stores it in stream's history for
 * target (NULL = every connection of the stream) with the next offset, then
 * adds "stream", "offset" and "epoch" to msg. Runs inside the caller's
 * store transaction when one is open, else atomically on its own. When
 * pushed is non-NULL it becomes the text of msg as numbered (the bytes
 * proto_dump would give, made from the stored text without serialising msg
 * again; free it). Returns 0, or -1 with a one-line reason in why (msg
 * unchanged, *pushed NULL).
 */
int stream_number(struct store *s, const struct history_limits *lim, const char *stream,
		  const char *target, json_t *msg, int64_t now, char **pushed, char *why,
		  size_t whylen);

/* A client's claim of where it stands in a stream: {"epoch": hex|null, "offset": n}. */
struct stream_since {
	int given;                          /* 0: no "since" in the request */
	char epoch[HISTORY_EPOCH_LEN + 1];  /* "" = null: whatever epoch the stream is in */
	int64_t offset;
};

/*
 * Reads the "since" member of obj into *since (given = 0 when absent).
 * Returns 0, or -1 with err set (VALIDATION_ERROR naming field) when it is
 * not {"epoch": 16 hex digits or null, "offset": integer >= 0}.
 */
int stream_since_parse(json_t *obj, const char *field, struct stream_since *since,
		       struct proto_error *err);

/*
 * Whether connection conn may read stream: its own user stream, its
 * tenant's stream, a topic of its tenant. 0 when it may; -1 with err set
 * otherwise (VALIDATION_ERROR when the name is malformed, FORBIDDEN naming
 * the stream when it belongs to someone else).
 */
int stream_readable(const struct conn_record *conn, const char *stream, struct proto_error *err);

/* Who reads a page: direct messages addressed to other connections are left out. */
struct stream_reader {
	const char *connection_id;
	const char *const *earlier; /* earlier connection ids of the same client (same user) */
	size_t n_earlier;
};

/* Message limits of one page. */
#define STREAM_PAGE_DEFAULT 100
#define STREAM_PAGE_MAX 1000
/*
 * About this much message text per answer: Pushpin 1.36 can hold an answer
 * back when more than its client_buffer_size (65536 in contrib/) is on its
 * way to one client (BENCHMARKS.md, "Answer loss under a flood"); half of
 * it leaves room for the client's other answers.
 */
#define STREAM_ANSWER_BYTES (32 * 1024)

/*
 * One page of stream for reader: a new object {"epoch" (null for a stream
 * with no message yet), "offset", "messages": [...], "more", "until"} and,
 * when since->given, "recovered" (see docs/protocol.md, "Streams and recovery").
 * Without since: the newest limit messages still held. At most limit
 * messages (0: position only) and, counting the text of the messages,
 * *budget bytes, which is reduced by what the page holds. Messages older than
 * lim->ttl_ms are treated as trimmed. Returns 0, or -1 with err set
 * (INTERNAL_ERROR) when the store fails.
 */
int stream_page(struct store *s, const struct history_limits *lim, int64_t now,
		const char *stream, const struct stream_since *since, int64_t limit,
		const struct stream_reader *reader, size_t *budget, json_t **out,
		struct proto_error *err);

/*
 * The positions of conn's streams (its user stream, its tenant's, the
 * topics it is subscribed to) appended to at or after since: a new object
 * {"<stream>": {"epoch", "offset"}}, or NULL when none (or on a store
 * error, which is not the client's concern: the hint is only a hint).
 */
json_t *stream_positions(struct store *s, const struct conn_record *conn, int64_t since);

#endif
