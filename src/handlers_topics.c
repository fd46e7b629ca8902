/* handlers_topics.c - the topic actions: subscribe, unsubscribe, publish, presence and presence.count, always inside the caller's tenant. */
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

int topic_allowed(struct call *c, const char *claim, const char *topic, struct proto_error *err)
{
	json_t *claims;
	int ok;

	if (!c->app->cfg.topic_policy_claims)
		return 0;
	claims = c->conn->topic_claims ? json_loads(c->conn->topic_claims, 0, NULL) : NULL;
	ok = topic_list_covers(json_object_get(claims, claim), topic, 0);
	json_decref(claims);
	if (ok)
		return 0;
	proto_error_set(err, ERR_FORBIDDEN, "Topic '%s' is not allowed by this connection's token (%s claim)",
			topic, claim);
	return -1;
}

/* 1 when a pattern of the connection's topics claim (its server-side subscriptions) covers topic. */
static int covered_by_pattern(struct call *c, const char *topic)
{
	json_t *claims;
	int yes;

	if (!c->conn->topic_claims)
		return 0;
	claims = json_loads(c->conn->topic_claims, 0, NULL);
	yes = topic_list_covers(json_object_get(claims, "topics"), topic, 1);
	json_decref(claims);
	return yes;
}

/* Whether the caller may see topic's presence: STREAMER_PRESENCE_PERMISSION, then the topic policy. */
static int presence_allowed(struct call *c, const char *topic, struct proto_error *err)
{
	const char *perm = c->app->cfg.presence_permission;

	if (!call_permitted(c, perm)) {
		proto_error_set(err, ERR_FORBIDDEN, "Presence requires the %s permission", perm);
		return -1;
	}
	return topic_allowed(c, "topics", topic, err);
}

/* Queues the caller's join (or leave) event of topic for its presence watchers. 0, or -1 on a store error. */
static int presence_push(struct call *c, const char *topic, int join)
{
	struct presence_batch b = { 0 };
	int rc = fanout_presence_add(c->app->fanout, &b, c->conn->tenant_id, topic,
				     c->conn->user_id, join, c->now_ms);

	for (size_t i = 0; rc == 0 && i < b.topics.n; i++)
		call_push_text(c, FANOUT_PRESENCE, b.tenant, b.topics.v[i], xstrdup(b.texts.v[i]), 0);
	presence_batch_free(&b);
	return rc;
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

	json_t *want = json_object_get(c->msg->payload, "presence");
	int presence = json_is_true(want);

	/* Everything the payload holds is checked before the subscription is stored. */
	if (!topic || stream_since_parse(c->msg->payload, "since", &since, err) < 0 ||
	    stream_args_of_call(c, &a, err) < 0)
		return -1;
	if (want && !json_is_boolean(want)) {
		proto_error_set(err, ERR_VALIDATION, "payload.presence must be true or false");
		return -1;
	}
	if (topic_allowed(c, "topics", topic, err) < 0 ||
	    (presence && presence_allowed(c, topic, err) < 0))
		return -1;
	rc = subs_add(fanout_subs(c->app->fanout), c->conn->id, c->conn->tenant_id, topic, presence,
		      TOPICS_PER_CONNECTION, c->now_ms, &added);
	if (rc != STORE_OK)
		return store_failed(c, err);
	if (added == SUBS_LIMIT) {
		proto_error_set(err, ERR_VALIDATION,
				"A connection may subscribe to at most %d topics; unsubscribe from one first",
				TOPICS_PER_CONNECTION);
		return -1;
	}
	if (added == SUBS_ADDED && presence_push(c, topic, 1) < 0)
		return store_failed(c, err);
	stream_of_topic(stream, sizeof stream, c->conn->tenant_id, topic);
	*data = json_pack("{s:s,s:b,s:s,s:b}", "topic", topic, "subscribed", 1, "stream", stream,
			  "presence", presence);
	if (subscribe_page(c, stream, &since, &a, *data, err) < 0) {
		json_decref(*data);
		*data = NULL;
		return -1;
	}
	/*
	 * The topic's stream name is also its Pushpin channel, unless a pattern
	 * the connection was subscribed to at connect covers the topic: its
	 * channel brings the events already, and two channels would bring each twice.
	 */
	if (!covered_by_pattern(c, topic))
		call_control(c, "subscribe", stream);
	/* Join and leave events come on a channel of their own: on for presence, off when turned off. */
	fanout_presence_channel(stream, sizeof stream, c->conn->tenant_id, topic);
	if (presence || added == SUBS_ALREADY)
		call_control(c, presence ? "subscribe" : "unsubscribe", stream);
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
	if (rc == STORE_ERROR || (rc == STORE_OK && presence_push(c, topic, 0) < 0))
		return store_failed(c, err);
	stream_of_topic(stream, sizeof stream, c->conn->tenant_id, topic);
	call_control(c, "unsubscribe", stream);
	fanout_presence_channel(stream, sizeof stream, c->conn->tenant_id, topic);
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

	if (!topic || topic_allowed(c, "publish_topics", topic, err) < 0)
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

/* presence and presence.count: who is subscribed to the payload's topic in the caller's tenant. */
static int presence_answer(struct call *c, int count_only, json_t **data, struct proto_error *err)
{
	const char *topic = topic_of(c, err);

	if (!topic || presence_allowed(c, topic, err) < 0)
		return -1;
	*data = fanout_presence_json(c->app->fanout, c->conn->tenant_id, topic, c->now_ms, count_only);
	return *data ? 0 : store_failed(c, err);
}

int action_presence(struct call *c, json_t **data, struct proto_error *err)
{
	return presence_answer(c, 0, data, err);
}

int action_presence_count(struct call *c, json_t **data, struct proto_error *err)
{
	return presence_answer(c, 1, data, err);
}
