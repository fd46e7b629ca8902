/* history.h - the store interface's stream section: numbered streams (epoch, offset) and their bounded message history. */
#ifndef STREAMER_HISTORY_H
#define STREAMER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * A stream is a named, numbered sequence of pushed messages: a topic
 * ("topic:<tenant>:<topic>"), a tenant broadcast ("tenant:<tenant>") or a
 * user's direct messages ("user:<tenant>:<user>"); the store treats the name
 * as an opaque string of at most HISTORY_STREAM_MAX bytes. Each stream has an
 * epoch, HISTORY_EPOCH_LEN random lowercase hex digits chosen when its row is
 * created, and an offset: the number of the last message appended in that
 * epoch (0 before the first). A stream row that is removed (history_gc) and
 * written again starts a new epoch at offset 1, so a client holding the old
 * epoch learns that it cannot be told what it missed.
 *
 * Every function returns STORE_OK, STORE_NOTFOUND or STORE_ERROR (reason in
 * store_errmsg). Times are ms since the epoch.
 */
#define HISTORY_EPOCH_LEN 16
#define HISTORY_STREAM_MAX 400 /* "user:" + a 128-byte tenant + ":" + a 256-byte user */

/* Where a stream stands. */
struct stream_pos {
	char epoch[HISTORY_EPOCH_LEN + 1]; /* "" when the stream does not exist */
	int64_t offset;                     /* last offset assigned; 0 when none */
	int64_t updated_at;                 /* when the last message was appended; 0 when none */
};

/* How much history a stream keeps: at most size messages, none older than ttl_ms. */
struct history_limits {
	int64_t size;
	int64_t ttl_ms;
};

/* One stored message, borrowed for the callback. */
struct history_entry {
	int64_t offset;
	const char *target;  /* the connection it was addressed to, NULL = every connection of the stream */
	const char *text;    /* the message as the caller stored it */
	int64_t created_at;
};

/*
 * Appends text (the message without its position; the caller adds the
 * stream, offset and epoch when it builds what it pushes) to stream, for
 * target (NULL = every connection of the stream): creates the stream with a
 * new random epoch when it does not exist, gives the message the next
 * offset, stores it and trims the stream to lim (the oldest messages first).
 * Atomic on its own and inside the caller's store_begin transaction: two
 * processes appending to one stream never produce a gap or a duplicate
 * offset, and a message with offset n is readable by anyone who has seen
 * n (offsets below n were committed before it). *pos receives the
 * message's position.
 */
int history_append(struct store *s, const char *stream, const char *target, const char *text,
		   int64_t now, const struct history_limits *lim, struct stream_pos *pos)
	__attribute__((warn_unused_result));

/* The position of stream. STORE_NOTFOUND (pos zeroed) when it does not exist. */
int history_position(struct store *s, const char *stream, struct stream_pos *pos)
	__attribute__((warn_unused_result));

/*
 * Reads stream's messages with offset > after, ascending, at most limit of
 * them, calling fn for each (fn returning non-zero stops the walk; fn must
 * not call back into s). In the same snapshot fills *pos with the stream's
 * position and *oldest with the lowest offset still held and not skipped
 * (0 when none is). Messages older than ttl_ms at now are skipped as if
 * trimmed (now 0: none skipped). A limit of 0 or less reads no message
 * (the position and *oldest only). STORE_NOTFOUND (pos zeroed, fn never
 * called) when the stream does not exist.
 */
int history_read(struct store *s, const char *stream, int64_t after, int64_t limit, int64_t now,
		 int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
		 int (*fn)(void *arg, const struct history_entry *e), void *arg)
	__attribute__((warn_unused_result));

/* Receives one stream's name and position (borrowed); non-zero stops the walk. */
typedef int (*history_pos_fn)(void *arg, const char *stream, const struct stream_pos *pos);

/*
 * The positions of the streams a connection follows, for the hints in its
 * answers: each of names[0..n) and, for every topic connection_id is
 * subscribed to, topic_prefix followed by the topic name; only the streams
 * that exist and were appended to at or after since (0 = all). fn is
 * called once per stream, in no set order; fn must not call back into s.
 * n is at most HISTORY_POSITIONS_NAMES_MAX (STORE_ERROR beyond: one
 * statement answers, binding that many names).
 */
#define HISTORY_POSITIONS_NAMES_MAX 4

int history_positions(struct store *s, const char *connection_id, const char *const *names,
		      size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
		      void *arg) __attribute__((warn_unused_result));

/*
 * For `streamer gc`: removes messages older than ttl_ms at now from every
 * stream, and the rows of streams not appended to for idle_ms (a stream that
 * is written again then starts a new epoch). *messages and *streams (each
 * may be NULL) receive the numbers removed.
 */
int history_gc(struct store *s, int64_t now, int64_t ttl_ms, int64_t idle_ms, int64_t *messages,
	       int64_t *streams) __attribute__((warn_unused_result));

#endif
