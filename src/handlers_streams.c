/* handlers_streams.c - the recovery actions: history and streams.recover, and the stream page a subscribe with "since" answers with. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "store.h"
#include "streams.h"
#include "util.h"

/* At most this many streams in one streams.recover. */
#define RECOVER_MAX 20
#define CONNECTION_ID_MAX 128

int stream_args_of_call(struct call *c, struct stream_args *a, struct proto_error *err)
{
	json_t *list = json_object_get(c->msg->payload, "connections"), *v;
	json_t *limit = json_object_get(c->msg->payload, "limit");
	size_t i;

	memset(a, 0, sizeof *a);
	a->limit = STREAM_PAGE_DEFAULT;
	a->reader.connection_id = c->conn->id;
	a->reader.earlier = a->ids;
	if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 0 ||
		      json_integer_value(limit) > STREAM_PAGE_MAX)) {
		proto_error_set(err, ERR_VALIDATION, "payload.limit must be an integer from 0 to %d",
				STREAM_PAGE_MAX);
		return -1;
	}
	if (limit)
		a->limit = (int64_t)json_integer_value(limit);
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > STREAM_EARLIER_MAX)
		goto bad;
	json_array_foreach(list, i, v) {
		const char *id = json_string_value(v);

		if (!id || !*id || strlen(id) > CONNECTION_ID_MAX)
			goto bad;
		a->ids[a->reader.n_earlier++] = id;
	}
	return 0;
bad:
	proto_error_set(err, ERR_VALIDATION,
			"payload.connections must be an array of at most %d connection ids (strings of 1 to %d bytes)",
			STREAM_EARLIER_MAX, CONNECTION_ID_MAX);
	return -1;
}

int stream_page_of_call(struct call *c, const struct stream_args *a, const char *stream,
			const struct stream_since *since, size_t *budget, json_t **page,
			struct proto_error *err)
{
	struct history_limits lim = stream_limits(&c->app->cfg);

	return stream_page(c->app->store, &lim, c->now_ms, stream, since, a->limit, &a->reader,
			   budget, page, err);
}

/*
 * stream_readable, and under STREAMER_TOPIC_POLICY=claims a topic stream
 * only when the topics claim covers the topic: no history of a topic the
 * connection may not subscribe to.
 */
static int readable(struct call *c, const char *stream, struct proto_error *err)
{
	size_t n = strlen(STREAM_TOPIC_PREFIX) + strlen(c->conn->tenant_id) + 1;

	if (stream_readable(c->conn, stream, err) < 0)
		return -1;
	if (strncmp(stream, STREAM_TOPIC_PREFIX, strlen(STREAM_TOPIC_PREFIX)) != 0)
		return 0;
	return topic_allowed(c, "topics", stream + n, err);
}

int action_history(struct call *c, json_t **data, struct proto_error *err)
{
	const char *stream = payload_string(c, "stream", HISTORY_STREAM_MAX, err);
	struct stream_since since;
	struct stream_args a;
	size_t budget = STREAM_ANSWER_BYTES;
	json_t *page;

	if (!stream || readable(c, stream, err) < 0 ||
	    stream_since_parse(c->msg->payload, "since", &since, err) < 0 ||
	    stream_args_of_call(c, &a, err) < 0 ||
	    stream_page_of_call(c, &a, stream, &since, &budget, &page, err) < 0)
		return -1;
	*data = json_pack("{s:s}", "stream", stream);
	json_object_update(*data, page);
	json_decref(page);
	return 0;
}

int action_streams_recover(struct call *c, json_t **data, struct proto_error *err)
{
	json_t *named = json_object_get(c->msg->payload, "streams"), *v, *streams;
	struct stream_since since[RECOVER_MAX];
	size_t budget = STREAM_ANSWER_BYTES, n = 0;
	struct stream_args a;
	const char *stream;
	json_t *own;

	if (!json_is_object(c->msg->payload) || !json_is_object(named) ||
	    json_object_size(named) > RECOVER_MAX) {
		proto_error_set(err, ERR_VALIDATION,
				"payload.streams must be an object of at most %d streams, each {\"epoch\", \"offset\"}",
				RECOVER_MAX);
		return -1;
	}
	if (stream_args_of_call(c, &a, err) < 0)
		return -1;
	/* Every name is checked before anything is read: a refusal reads nothing. */
	json_object_foreach(named, stream, v) {
		if (readable(c, stream, err) < 0 ||
		    stream_since_parse(named, stream, &since[n++], err) < 0)
			return -1;
	}
	streams = json_object();
	n = 0;
	json_object_foreach(named, stream, v) {
		json_t *page;

		if (stream_page_of_call(c, &a, stream, &since[n++], &budget, &page, err) < 0) {
			json_decref(streams);
			return -1;
		}
		json_object_set_new(streams, stream, page);
	}
	/* The connection's own streams it did not name: where they stand, so it can follow them. */
	if ((own = stream_positions(c->app->store, c->conn, 0))) {
		json_object_foreach(own, stream, v)
			if (!json_object_get(streams, stream))
				json_object_set(streams, stream, v);
		json_decref(own);
	}
	*data = json_pack("{s:s,s:o}", "connection_id", c->conn->id, "streams", streams);
	return 0;
}
