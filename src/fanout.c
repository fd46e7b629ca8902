/* fanout.c - who a push reaches: one connection, a user's connections, a tenant, a topic; resolved to Pushpin channels or API Gateway connection ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "log.h"
#include "protocol.h"
#include "push.h"
#include "store.h"
#include "streams.h"
#include "subs.h"
#include "util.h"

struct fanout {
	struct push *push;
	struct store *store;
	struct subs *subs;
};

int fanout_open(struct fanout **out, const struct config *cfg, struct store *store, char *err,
		size_t errlen)
{
	struct fanout *f = xcalloc(1, sizeof *f);

	*out = NULL;
	f->store = store;
	if (push_open(&f->push, cfg, err, errlen) < 0) {
		free(f);
		return -1;
	}
	f->subs = subs_open(store);
	*out = f;
	return 0;
}

void fanout_close(struct fanout *f)
{
	if (!f)
		return;
	subs_close(f->subs);
	push_close(f->push);
	free(f);
}

struct subs *fanout_subs(struct fanout *f)
{
	return f->subs;
}

int fanout_probe(struct fanout *f, char *why, size_t whylen)
{
	return push_probe(f->push, why, whylen);
}

int fanout_configured(const struct fanout *f)
{
	return push_configured(f->push);
}

char *fanout_presence_event(struct fanout *f, const char *tenant, const char *topic,
			    const char *user, int join, int64_t now)
{
	char ts[32];
	int64_t n = 0;
	json_t *ev;
	char *text;

	if (subs_user_topic_count(f->subs, tenant, topic, user, now, &n) == STORE_ERROR)
		return NULL;
	time_rfc3339(now, ts);
	ev = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "type", "presence", "topic", topic, "event",
		       join ? "join" : "leave", "user_id", user, "connections", (json_int_t)n,
		       "timestamp", ts);
	text = proto_dump(ev);
	json_decref(ev);
	return text;
}

void fanout_presence_channel(char *out, size_t outlen, const char *tenant, const char *topic)
{
	snprintf(out, outlen, "presence:%s:%s", tenant, topic);
}

static int presence_user(void *arg, const char *user_id, int64_t connections)
{
	json_array_append_new(arg, json_pack("{s:s,s:I}", "user_id", user_id, "connections",
					     (json_int_t)connections));
	return 0;
}

json_t *fanout_presence_json(struct fanout *f, const char *tenant, const char *topic,
			     int64_t now, int count_only)
{
	int64_t users = 0, conns = 0;
	json_t *list;
	int truncated;

	if (subs_presence_count(f->subs, tenant, topic, now, &users, &conns) == STORE_ERROR)
		return NULL;
	if (count_only)
		return json_pack("{s:s,s:I,s:I}", "topic", topic, "users", (json_int_t)users,
				 "connections", (json_int_t)conns);
	list = json_array();
	if (subs_presence(f->subs, tenant, topic, now, PRESENCE_USERS_MAX, presence_user, list) ==
	    STORE_ERROR) {
		json_decref(list);
		return NULL;
	}
	truncated = users > (int64_t)json_array_size(list);
	return json_pack("{s:s,s:o,s:{s:I,s:I},s:b}", "topic", topic, "users", list, "count",
			 "users", (json_int_t)users, "connections", (json_int_t)conns, "truncated",
			 truncated);
}

static int stop_at_first(void *arg, const char *connection_id)
{
	(void)connection_id;
	*(int *)arg = 1;
	return 1;
}

int fanout_presence_add(struct fanout *f, struct presence_batch *b, const char *tenant,
			const char *topic, const char *user, int join, int64_t now)
{
	int watched = 0;
	char *text;

	if (subs_presence_watchers(f->subs, tenant, topic, now, stop_at_first, &watched) ==
	    STORE_ERROR)
		return -1;
	if (!watched)
		return 0;
	if (!(text = fanout_presence_event(f, tenant, topic, user, join, now)))
		return -1;
	if (!b->tenant)
		b->tenant = xstrdup(tenant);
	strvec_push(&b->topics, topic);
	strvec_push(&b->texts, text);
	free(text);
	return 0;
}

int fanout_presence_leaves(struct fanout *f, const struct conn_record *rec,
			   const struct strvec *topics, int64_t now, struct presence_batch *b)
{
	for (size_t i = 0; i < topics->n; i++)
		if (fanout_presence_add(f, b, rec->tenant_id, topics->v[i], rec->user_id, 0, now) < 0)
			return -1;
	return 0;
}

static int keep_exact(void *arg, const char *topic, int presence)
{
	(void)presence;
	if (subs_topic_valid(topic))
		strvec_push(arg, topic);
	return 0;
}

int fanout_connection_topics(struct fanout *f, const char *id, struct strvec *out)
{
	return subs_connection_topics(f->subs, id, keep_exact, out) == STORE_ERROR ? -1 : 0;
}

void fanout_presence_flush(struct fanout *f, struct presence_batch *b)
{
	for (size_t i = 0; i < b->topics.n; i++) {
		char why[300];

		if (fanout_send(f, FANOUT_PRESENCE, b->tenant, b->topics.v[i], b->texts.v[i], NULL, why,
				sizeof why) < 0)
			log_event(LOG_WARN, "presence_push_failed",
				  json_pack("{s:s,s:s,s:s}", "tenant", b->tenant, "topic", b->topics.v[i],
					    "error", why));
	}
	presence_batch_free(b);
}

void presence_batch_free(struct presence_batch *b)
{
	free(b->tenant);
	strvec_free(&b->topics);
	strvec_free(&b->texts);
	memset(b, 0, sizeof *b);
}

/* Removes a connection API Gateway no longer knows, with its dependent rows. */
static void drop_stale(struct fanout *f, const char *id)
{
	if (store_conn_delete(f->store, id, NULL) == STORE_ERROR)
		log_event(LOG_ERROR, "store_error",
			  json_pack("{s:s,s:s}", "connection_id", id, "error", store_errmsg(f->store)));
	else
		log_event(LOG_INFO, "push_stale", json_pack("{s:s}", "connection_id", id));
}

/* Sends items and sums up: stale rows removed, counts in res. */
static int deliver(struct fanout *f, struct push_item *items, size_t n, struct fanout_result *res,
		   char *why, size_t whylen)
{
	size_t failed = n ? push_send(f->push, items, n, why, whylen) : 0;

	res->items = n;
	res->failed = failed;
	for (size_t i = 0; i < n; i++)
		if (items[i].outcome == PUSH_STALE) {
			res->stale++;
			drop_stale(f, items[i].target);
		}
	return failed ? -1 : 0;
}

struct pattern_walk {
	const char *topic;
	struct strvec *out;
};

static int pattern_keep(void *arg, const char *pattern, int presence)
{
	struct pattern_walk *w = arg;

	(void)presence;
	if (topic_pattern_covers(pattern, w->topic))
		strvec_push(w->out, pattern);
	return 0;
}

/* The patterns with live subscribers in tenant that cover topic, into out. */
static int covering_patterns(struct fanout *f, const char *tenant, const char *topic, int64_t now,
			     struct strvec *out)
{
	struct pattern_walk w = { topic, out };

	return subs_patterns(f->subs, tenant, now, pattern_keep, &w);
}

/* The live connection ids of a target, from the store. */
static int resolve(struct fanout *f, enum fanout_kind kind, const char *tenant, const char *name,
		   struct strvec *l, char *why, size_t whylen)
{
	int64_t now = time_now_ms();
	int rc = STORE_OK;

	switch (kind) {
	case FANOUT_CONNECTION:
		strvec_push(l, name);
		break;
	case FANOUT_USER:
		rc = subs_user_connections(f->subs, tenant, name, now, subs_collect, l);
		break;
	case FANOUT_TENANT:
		rc = subs_tenant_connections(f->subs, tenant, now, subs_collect, l);
		break;
	case FANOUT_TOPIC:
		rc = subs_topic_members(f->subs, tenant, name, now, subs_collect, l);
		break;
	case FANOUT_PRESENCE:
		rc = subs_presence_watchers(f->subs, tenant, name, now, subs_collect, l);
		break;
	}
	if (rc == STORE_OK && kind == FANOUT_TOPIC) {
		struct strvec pats = { 0 };

		/* A connection subscribed by a pattern and by name gets the message once. */
		rc = covering_patterns(f, tenant, name, now, &pats);
		for (size_t i = 0; rc == STORE_OK && i < pats.n; i++)
			rc = subs_topic_members(f->subs, tenant, pats.v[i], now, subs_collect, l);
		strvec_free(&pats);
		strvec_dedup(l);
	}
	if (rc == STORE_ERROR) {
		snprintf(why, whylen, "%s", store_errmsg(f->store));
		return -1;
	}
	return 0;
}

/* The Pushpin channel of a connection, tenant or topic (a tenant's or topic's is its stream name). New string. */
static char *channel_of(enum fanout_kind kind, const char *tenant, const char *name)
{
	char ch[HISTORY_STREAM_MAX + 1];

	switch (kind) {
	case FANOUT_CONNECTION:
	case FANOUT_USER:
		snprintf(ch, sizeof ch, "conn:%s", name);
		break;
	case FANOUT_TENANT:
		stream_of_tenant(ch, sizeof ch, tenant);
		break;
	case FANOUT_TOPIC:
		stream_of_topic(ch, sizeof ch, tenant, name);
		break;
	case FANOUT_PRESENCE:
		fanout_presence_channel(ch, sizeof ch, tenant, name);
		break;
	}
	return xstrdup(ch);
}

int fanout_send(struct fanout *f, enum fanout_kind kind, const char *tenant, const char *name,
		const char *text, struct fanout_result *res, char *why, size_t whylen)
{
	struct fanout_result local = { 0 };
	struct strvec ids = { 0 };
	struct push_item *items = NULL;
	char **channels = NULL;
	int pushpin = push_style(f->push) == CALLBACK_PUSHPIN, rc = -1;

	if (!res)
		res = &local;
	memset(res, 0, sizeof *res);
	if (whylen)
		why[0] = '\0';
	if (!fanout_configured(f)) {
		snprintf(why, whylen, "no callback: STREAMER_CALLBACK_URL is not set");
		return -1;
	}
	if (pushpin && kind != FANOUT_USER) {
		/* One channel, and for a topic one more per pattern covering it. */
		strvec_push(&ids, name ? name : "");
		if (kind == FANOUT_TOPIC &&
		    covering_patterns(f, tenant, name, time_now_ms(), &ids) == STORE_ERROR) {
			snprintf(why, whylen, "%s", store_errmsg(f->store));
			goto out;
		}
	} else if (resolve(f, kind, tenant, name, &ids, why, whylen) < 0) {
		goto out;
	} else if (pushpin) {
		kind = FANOUT_CONNECTION;
	}
	items = xcalloc(ids.n ? ids.n : 1, sizeof *items);
	if (pushpin)
		channels = xcalloc(ids.n ? ids.n : 1, sizeof *channels);
	for (size_t i = 0; i < ids.n; i++) {
		if (pushpin)
			channels[i] = channel_of(kind, tenant, ids.v[i]);
		items[i].target = pushpin ? channels[i] : ids.v[i];
		items[i].content = text;
	}
	rc = deliver(f, items, ids.n, res, why, whylen);
out:
	if (channels)
		for (size_t i = 0; i < ids.n; i++)
			free(channels[i]);
	free(channels);
	free(items);
	strvec_free(&ids);
	return rc;
}

int fanout_send_json(struct fanout *f, enum fanout_kind kind, const char *tenant,
		     const char *name, json_t *msg, struct fanout_result *res, char *why,
		     size_t whylen)
{
	char *text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (!text) {
		snprintf(why, whylen, "cannot serialise the message");
		return -1;
	}
	rc = fanout_send(f, kind, tenant, name, text, res, why, whylen);
	free(text);
	return rc;
}

int fanout_close_connection(struct fanout *f, const char *id, int code, const char *reason,
			    char *why, size_t whylen)
{
	struct fanout_result res = { 0 };
	struct push_item it = { .close = 1, .code = code, .reason = reason };
	char *ch = NULL;
	int rc;

	if (!fanout_configured(f)) {
		snprintf(why, whylen, "no callback: STREAMER_CALLBACK_URL is not set");
		return -1;
	}
	if (push_style(f->push) == CALLBACK_PUSHPIN)
		it.target = ch = channel_of(FANOUT_CONNECTION, NULL, id);
	else
		it.target = id;
	rc = deliver(f, &it, 1, &res, why, whylen);
	free(ch);
	return rc;
}
