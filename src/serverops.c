/* serverops.c - what the server itself does to connections (send, broadcast, close, forget), shared by the CLI and the server HTTP API. */
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "queue.h"
#include "serverops.h"
#include "store.h"
#include "streams.h"
#include "util.h"

/* Numbers msg in stream for target (NULL = everyone on it); 0, or -1 with why. */
static int number(struct serverops *o, const char *stream, const char *target, json_t *msg,
		  char *why, size_t whylen)
{
	struct history_limits lim = stream_limits(o->cfg);

	return stream_number(o->store, &lim, stream, target, msg, time_now_ms(), NULL, why, whylen);
}

static int failed_store(struct serverops *o, char *why, size_t whylen)
{
	snprintf(why, whylen, "%s", store_errmsg(o->store));
	return OPS_STORE_ERROR;
}

int ops_send_connection(struct serverops *o, const char *id, json_t *msg,
			struct fanout_result *res, char *why, size_t whylen)
{
	char stream[HISTORY_STREAM_MAX + 1];
	struct conn_record r = { 0 };
	int rc = store_conn_get(o->store, id, &r);

	if (rc == STORE_ERROR)
		return failed_store(o, why, whylen);
	if (rc == STORE_NOTFOUND || r.expires_at <= time_now_ms()) {
		snprintf(why, whylen, "no live connection %s", id);
		conn_record_free(&r);
		return OPS_NOTFOUND;
	}
	stream_of_user(stream, sizeof stream, r.tenant_id, r.user_id);
	conn_record_free(&r);
	if (number(o, stream, id, msg, why, whylen) < 0)
		return OPS_STORE_ERROR;
	if (fanout_send_json(o->fanout, FANOUT_CONNECTION, NULL, id, msg, res, why, whylen) < 0)
		return OPS_FAILED;
	return OPS_OK;
}

int ops_send_user(struct serverops *o, const char *tenant, const char *user, json_t *msg,
		  struct fanout_result *res, char *why, size_t whylen)
{
	char stream[HISTORY_STREAM_MAX + 1];

	stream_of_user(stream, sizeof stream, tenant, user);
	if (number(o, stream, NULL, msg, why, whylen) < 0)
		return OPS_STORE_ERROR;
	if (fanout_send_json(o->fanout, FANOUT_USER, tenant, user, msg, res, why, whylen) < 0)
		return OPS_FAILED;
	if (res->items == 0) {
		snprintf(why, whylen, "user %s of tenant %s has no live connection", user, tenant);
		return OPS_NOTFOUND;
	}
	return OPS_OK;
}

int ops_broadcast(struct serverops *o, const char *tenant, const char *topic, json_t *msg,
		  struct fanout_result *res, char *why, size_t whylen)
{
	char stream[HISTORY_STREAM_MAX + 1];

	if (topic)
		stream_of_topic(stream, sizeof stream, tenant, topic);
	else
		stream_of_tenant(stream, sizeof stream, tenant);
	if (number(o, stream, NULL, msg, why, whylen) < 0)
		return OPS_STORE_ERROR;
	if (fanout_send_json(o->fanout, topic ? FANOUT_TOPIC : FANOUT_TENANT, tenant, topic, msg, res,
			     why, whylen) < 0)
		return OPS_FAILED;
	return OPS_OK;
}

int ops_close_code_valid(long code)
{
	return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
	       (code >= 3000 && code <= 4999);
}

int ops_close(struct serverops *o, const char *id, int code, const char *reason, char *why,
	      size_t whylen)
{
	struct conn_record r = { 0 };
	int rc = store_conn_get(o->store, id, &r);

	conn_record_free(&r);
	if (rc == STORE_ERROR)
		return failed_store(o, why, whylen);
	if (rc == STORE_NOTFOUND) {
		snprintf(why, whylen, "no connection %s", id);
		return OPS_NOTFOUND;
	}
	if (fanout_close_connection(o->fanout, id, code, reason, why, whylen) < 0)
		return OPS_FAILED;
	if (ops_forget(o, id, time_now_ms()) == STORE_ERROR) {
		snprintf(why, whylen, "closed at the proxy, but the store failed: %s",
			 store_errmsg(o->store));
		return OPS_STORE_ERROR;
	}
	return OPS_OK;
}

int ops_remove(struct serverops *o, const char *id, int64_t now, struct conn_record *rec,
	       int *cancelled, struct presence_batch *leaves)
{
	struct strvec topics = { 0 };
	int rc;

	*cancelled = 0;
	/* The topics it was in, read before they go with the row: its leave events. */
	rc = fanout_connection_topics(o->fanout, id, &topics) < 0 ? STORE_ERROR
								  : store_conn_delete(o->store, id, rec);
	if (rc == STORE_OK && fanout_presence_leaves(o->fanout, rec, &topics, now, leaves) < 0)
		rc = STORE_ERROR;
	strvec_free(&topics);
	if (rc != STORE_ERROR && queue_cancel_connection(o->queue, id, now, o->cfg->result_ttl * 1000,
							 cancelled) == STORE_ERROR)
		rc = STORE_ERROR;
	return rc;
}

int ops_forget(struct serverops *o, const char *id, int64_t now)
{
	struct presence_batch leaves = { 0 };
	struct conn_record r = { 0 };
	int n = 0, rc;

	if (store_begin(o->store) != STORE_OK)
		return STORE_ERROR;
	rc = ops_remove(o, id, now, &r, &n, &leaves);
	if (rc != STORE_ERROR && store_commit(o->store) != STORE_OK)
		rc = STORE_ERROR;
	if (rc == STORE_ERROR) {
		store_rollback(o->store);
		presence_batch_free(&leaves);
	} else {
		fanout_presence_flush(o->fanout, &leaves);
	}
	conn_record_free(&r);
	return rc;
}
