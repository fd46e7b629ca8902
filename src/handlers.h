/* handlers.h - the built-in client actions: echo, health, whoami (handlers.c), topics (subscribe, unsubscribe, publish), streams (history, streams.recover), requests (request.status, request.cancel, handler-ABI actions) and auth.refresh. */
#ifndef STREAMER_HANDLERS_H
#define STREAMER_HANDLERS_H

#include "call.h"
#include "streams.h"

struct streamer_handler;

/*
 * The string member key of the message's payload object, borrowed, or NULL
 * with err set (VALIDATION_ERROR naming payload.key) when the payload is not
 * an object or the member is missing, not a string, empty or longer than max
 * bytes.
 */
const char *payload_string(struct call *c, const char *key, size_t max, struct proto_error *err);

/* At most this many topics per connection: Pushpin allows 20 subscriptions, two are the connection's own and its tenant's. */
#define TOPICS_PER_CONNECTION 18

/* The built-in sync actions (action_fn contracts, call.h), listed in the registry (actions.c). */
int action_echo(struct call *c, json_t **data, struct proto_error *err);
int action_health(struct call *c, json_t **data, struct proto_error *err);
int action_whoami(struct call *c, json_t **data, struct proto_error *err);
int action_subscribe(struct call *c, json_t **data, struct proto_error *err);
int action_unsubscribe(struct call *c, json_t **data, struct proto_error *err);
int action_publish(struct call *c, json_t **data, struct proto_error *err);
int action_presence(struct call *c, json_t **data, struct proto_error *err);
int action_presence_count(struct call *c, json_t **data, struct proto_error *err);
int action_request_status(struct call *c, json_t **data, struct proto_error *err);
int action_request_cancel(struct call *c, json_t **data, struct proto_error *err);
int action_auth_refresh(struct call *c, json_t **data, struct proto_error *err); /* handlers_auth.c */
int action_history(struct call *c, json_t **data, struct proto_error *err);        /* handlers_streams.c */
int action_streams_recover(struct call *c, json_t **data, struct proto_error *err);

/*
 * STREAMER_TOPIC_POLICY=claims: 0 when the connection's token claim claim
 * ("topics" or "publish_topics") holds a name or pattern covering topic,
 * else -1 with FORBIDDEN naming the topic and the claim. Always 0 under
 * the open policy (handlers_topics.c).
 */
int topic_allowed(struct call *c, const char *claim, const char *topic, struct proto_error *err);

/* What the stream actions read from the payload: "limit" and "connections". */
#define STREAM_EARLIER_MAX 16
struct stream_args {
	int64_t limit;                       /* 0..STREAM_PAGE_MAX, STREAM_PAGE_DEFAULT when absent */
	struct stream_reader reader;         /* the caller and its earlier connections */
	const char *ids[STREAM_EARLIER_MAX]; /* the earlier ids, borrowed from the payload */
};

/*
 * Reads the payload's "limit" (0..1000, default 100) and "connections"
 * (at most 16 earlier connection ids of the same client, whose direct
 * messages the caller may read) into *a. Returns 0, or -1 with err set
 * (VALIDATION_ERROR naming the member).
 */
int stream_args_of_call(struct call *c, struct stream_args *a, struct proto_error *err);

/*
 * One page of stream (streams.h's stream_page) for the caller with a's
 * limit and reader, taking from *budget. The caller checked that the
 * stream is readable (stream_readable). Returns 0 with a new *page, or -1
 * with err set (INTERNAL_ERROR).
 */
int stream_page_of_call(struct call *c, const struct stream_args *a, const char *stream,
			const struct stream_since *since, size_t *budget, json_t **page,
			struct proto_error *err);

/*
 * Runs the message's action with its handler-ABI handler h
 * (handlers_requests.c; an action_fn contract): validates the payload with
 * h's validate (VALIDATION_ERROR), then queues an async one (the reply is
 * the acknowledgment) or runs a sync one at once.
 */
int handler_abi_call(struct call *c, const struct streamer_handler *h, json_t **data,
		     struct proto_error *err);

#endif
