/* history.c - the streams section of the store interface: calls dispatched to the store's engine (see history.h). */
#include "history.h"
#include "store.h"
#include "store_engine.h"

int history_append(struct store *s, const char *stream, const char *target, const char *text,
		   int64_t now, const struct history_limits *lim, struct stream_pos *pos)
{
	return s->ops->history_append(s, stream, target, text, now, lim, pos);
}

int history_position(struct store *s, const char *stream, struct stream_pos *pos)
{
	return s->ops->history_position(s, stream, pos);
}

int history_read(struct store *s, const char *stream, int64_t after, int64_t limit, int64_t now,
		 int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
		 int (*fn)(void *arg, const struct history_entry *e), void *arg)
{
	return s->ops->history_read(s, stream, after, limit, now, ttl_ms, pos, oldest, fn, arg);
}

int history_positions(struct store *s, const char *connection_id, const char *const *names,
		      size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
		      void *arg)
{
	return s->ops->history_positions(s, connection_id, names, n, topic_prefix, since, fn, arg);
}

int history_gc(struct store *s, int64_t now, int64_t ttl_ms, int64_t idle_ms, int64_t *messages,
	       int64_t *streams)
{
	return s->ops->history_gc(s, now, ttl_ms, idle_ms, messages, streams);
}
