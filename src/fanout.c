/* fanout.c - who a push reaches: one connection, a user's connections, a tenant, a topic; resolved to Pushpin channels or API Gateway connection ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "log.h"
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
		struct push_item it = { .content = text };
		char *ch = channel_of(kind, tenant, name);

		it.target = ch;
		rc = deliver(f, &it, 1, res, why, whylen);
		free(ch);
		return rc;
	}
	if (resolve(f, kind, tenant, name, &ids, why, whylen) < 0)
		goto out;
	items = xcalloc(ids.n ? ids.n : 1, sizeof *items);
	if (pushpin)
		channels = xcalloc(ids.n ? ids.n : 1, sizeof *channels);
	for (size_t i = 0; i < ids.n; i++) {
		if (pushpin)
			channels[i] = channel_of(FANOUT_CONNECTION, NULL, ids.v[i]);
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
