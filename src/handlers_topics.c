/* handlers_topics.c - the topic actions: subscribe, unsubscribe and publish, always inside the caller's tenant. */
#include <string.h>

#include "app.h"
#include "fanout.h"
#include "handlers.h"
#include "log.h"
#include "store.h"
#include "protocol.h"
#include "subs.h"
#include "util.h"

/* The topic of the payload, checked against the topic pattern; NULL with err set. */
static const char *topic_of(struct call *c, struct proto_error *err)
{
	const char *t = payload_string(c, "topic", SUBS_TOPIC_MAX, err);

	if (t && !subs_topic_valid(t)) {
		proto_error_set(err, ERR_VALIDATION,
				"payload.topic must match [A-Za-z0-9._:-]{1,%d}", SUBS_TOPIC_MAX);
		return NULL;
	}
	return t;
}

static int store_failed(struct call *c, struct proto_error *err)
{
	(void)c;
	proto_error_set(err, ERR_INTERNAL, "Internal error; please retry");
	return -1;
}

/*
 * What a subscribe answers about the topic's stream: its position, and with
 * since the page of what the client missed (stream_page).
 */
static int subscribe_page(struct call *c, const char *stream, const struct stream_since *since,
			  const struct stream_args *a, json_t *data, struct proto_error *err)
{
	size_t budget = STREAM_ANSWER_BYTES;
	json_t *page = NULL;

	if (since->given) {
		if (stream_page_of_call(c, a, stream, since, &budget, &page, err) < 0)
			return -1;
	} else {
		struct stream_pos pos;
		int rc = history_position(c->app->store, stream, &pos);

		if (rc == STORE_ERROR)
			return store_failed(c, err);
		page = stream_pos_json(&pos);
	}
	json_object_update(data, page);
	json_decref(page);
	return 0;
}

int action_subscribe(struct call *c, json_t **data, struct proto_error *err)
{
	const char *topic = topic_of(c, err);
	enum subs_add_result added;
	struct stream_since since;
	struct stream_args a;
	char stream[HISTORY_STREAM_MAX + 1];
	int rc;

	/* Everything the payload holds is checked before the subscription is stored. */
	if (!topic || stream_since_parse(c->msg->payload, "since", &since, err) < 0 ||
	    stream_args_of_call(c, &a, err) < 0)
		return -1;
	rc = subs_add(fanout_subs(c->app->fanout), c->conn->id, c->conn->tenant_id, topic, 0,
		      TOPICS_PER_CONNECTION, c->now_ms, &added);
	if (rc != STORE_OK)
		return store_failed(c, err);
	if (added == SUBS_LIMIT) {
		proto_error_set(err, ERR_VALIDATION,
				"A connection may subscribe to at most %d topics; unsubscribe from one first",
				TOPICS_PER_CONNECTION);
		return -1;
	}
	stream_of_topic(stream, sizeof stream, c->conn->tenant_id, topic);
	*data = json_pack("{s:s,s:b,s:s}", "topic", topic, "subscribed", 1, "stream", stream);
	if (subscribe_page(c, stream, &since, &a, *data, err) < 0) {
		json_decref(*data);
		*data = NULL;
		return -1;
	}
	/* The topic's stream name is also its Pushpin channel. */
	call_control(c, "subscribe", stream);
	return 0;
}

int action_unsubscribe(struct call *c, json_t **data, struct proto_error *err)
{
	const char *topic = topic_of(c, err);
	char stream[HISTORY_STREAM_MAX + 1];
	int rc;

	if (!topic)
		return -1;
	rc = subs_remove(fanout_subs(c->app->fanout), c->conn->id, topic);
	if (rc == STORE_ERROR)
		return store_failed(c, err);
	stream_of_topic(stream, sizeof stream, c->conn->tenant_id, topic);
	call_control(c, "unsubscribe", stream);
	*data = json_pack("{s:s,s:b,s:b}", "topic", topic, "subscribed", 0, "was_subscribed",
			  rc == STORE_OK);
	return 0;
}

int action_publish(struct call *c, json_t **data, struct proto_error *err)
{
	const char *topic = topic_of(c, err);
	char stream[HISTORY_STREAM_MAX + 1], why[300];
	struct history_limits lim;
	json_t *event;
	char *text;

	if (!topic)
		return -1;
	if (!json_object_get(c->msg->payload, "data")) {
		proto_error_set(err, ERR_VALIDATION, "payload.data is required (any JSON value)");
		return -1;
	}
	event = proto_event(topic, json_incref(json_object_get(c->msg->payload, "data")), c->now_ms);
	/* Only the publisher's own tenant: the tenant comes from its token, never the payload. */
	stream_of_topic(stream, sizeof stream, c->conn->tenant_id, topic);
	lim = stream_limits(&c->app->cfg);
	if (stream_number(c->app->store, &lim, stream, NULL, event, c->now_ms, &text, why,
			  sizeof why) < 0) {
		log_event(LOG_ERROR, "store_error",
			  json_pack("{s:s,s:s}", "connection_id", c->conn->id, "error", why));
		json_decref(event);
		return store_failed(c, err);
	}
	*data = json_pack("{s:s,s:b,s:s,s:O,s:O}", "topic", topic, "published", 1, "stream", stream,
			  "epoch", json_object_get(event, "epoch"), "offset",
			  json_object_get(event, "offset"));
	json_decref(event);
	call_push_text(c, FANOUT_TOPIC, c->conn->tenant_id, topic, text, 1);
	return 0;
}
