/* conn.c - connection events shared by both dialects: open (authenticate + store), message (route), close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conn.h"
#include "fanout.h"
#include "job_run.h"
#include "log.h"
#include "metrics.h"
#include "protocol.h"
#include "queue.h"
#include "ratelimit.h"
#include "router.h"
#include "util.h"

#define CONN_ID_MAX 128

int conn_id_valid(const char *id)
{
	return id && str_is_token(id, strlen(id), CONN_ID_MAX, "._:-");
}

/* Counts n in family with one label, whose value comes from the program (bounded), not the client. */
static void count1(const char *family, const char *label, const char *value)
{
	char labels[160];

	snprintf(labels, sizeof labels, "%s=\"%s\"", label, value);
	metrics_add(family, labels, 1);
}

/* Records the handling time of one event ("open", "message", "close", "disconnect"). */
static void observe_event(const char *event, int64_t us)
{
	char labels[40];

	snprintf(labels, sizeof labels, "event=\"%s\"", event);
	metrics_observe("streamer_event_duration_seconds", labels, us);
}

/*
 * The token: the Authorization query parameter (browsers cannot set headers
 * on a WebSocket), else the Authorization header. A "Bearer " prefix and
 * surrounding blanks are removed. Returns a new string or NULL.
 */
static char *token_from(const struct request *req)
{
	char *t = query_param(req->query, "Authorization");
	char *start, *end, *out;

	if (!t && req->authorization)
		t = xstrdup(req->authorization);
	if (!t)
		return NULL;
	start = t;
	while (*start == ' ' || *start == '\t')
		start++;
	if (strncasecmp(start, "Bearer ", 7) == 0)
		start += 7;
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	out = end > start ? xstrndup(start, (size_t)(end - start)) : NULL;
	free(t);
	return out;
}

/*
 * The client's address: the last X-Forwarded-For entry (the one the proxy
 * appended) when present, else the peer of the web server. New string.
 */
static char *source_from(const struct request *req)
{
	if (req->forwarded_for && *req->forwarded_for) {
		const char *last = strrchr(req->forwarded_for, ',');
		last = last ? last + 1 : req->forwarded_for;
		while (*last == ' ')
			last++;
		if (*last)
			return xstrndup(last, strcspn(last, " "));
	}
	return req->remote_addr ? xstrdup(req->remote_addr) : NULL;
}

static void reject(struct conn_reject *rej, int status, const char *code, const char *message)
{
	rej->status = status;
	rej->code = code;
	snprintf(rej->message, sizeof(rej->message), "%s", message);
}

/*
 * In the connect's transaction: 1 when rec's user already holds
 * STREAMER_MAX_CONNECTIONS_PER_USER live connections (other than rec's id),
 * 0 when there is room, -1 on a store error.
 */
static int user_quota_full(struct app *app, const struct conn_record *rec, int64_t now)
{
	int64_t max = app->cfg.max_connections_per_user, n = 0;

	if (max <= 0)
		return 0;
	if (store_conn_count_user(app->store, rec->tenant_id, rec->user_id, rec->id, now, max, &n) !=
	    STORE_OK)
		return -1;
	return n >= max;
}

int conn_open(struct app *app, const struct request *req, const char *id,
	      struct conn_record *rec, struct conn_reject *rej)
{
	struct auth_identity who = {0};
	struct auth_policy policy = {
		.alg = app->cfg.jwt_alg,
		.key = app->key,
		.issuer = app->cfg.jwt_issuer,
		.audience = app->cfg.jwt_audience,
		.leeway = app->cfg.jwt_leeway,
		.now = (int64_t)time(NULL),
	};
	char *token = token_from(req);
	int64_t start = time_mono_us(), now = time_now_ms();
	enum auth_error e;
	int rc = -1, full;

	memset(rec, 0, sizeof(*rec));
	e = token ? auth_verify(&policy, token, strlen(token), &who) : AUTH_MISSING;
	free(token);
	if (e != AUTH_OK) {
		reject(rej, 401, "UNAUTHORIZED", auth_error_message(e));
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:i,s:s?}", "connection_id", id,
				    "outcome", "UNAUTHORIZED", "reason", auth_error_label(e),
				    "status", 401, "source", req->remote_addr));
		count1("streamer_auth_failures_total", "reason", auth_error_label(e));
		observe_event("open", time_mono_us() - start);
		return -1;
	}
	if (!config_tenant_allowed(&app->cfg, who.tenant)) {
		reject(rej, 403, "FORBIDDEN", "Tenant not allowed");
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "connection_id", id,
				    "user", who.sub, "tenant", who.tenant, "outcome", "FORBIDDEN",
				    "reason", "tenant_not_allowed", "status", 403));
		count1("streamer_auth_failures_total", "reason", "tenant_not_allowed");
		observe_event("open", time_mono_us() - start);
		goto out;
	}

	rec->id = xstrdup(id);
	rec->user_id = xstrdup(who.sub);
	rec->tenant_id = xstrdup(who.tenant);
	rec->permissions = json_dumps(who.permissions, JSON_COMPACT);
	if (!rec->permissions)
		rec->permissions = xstrdup("[]");
	rec->user_agent = req->user_agent ? xstrdup(req->user_agent) : NULL;
	rec->source_addr = source_from(req);
	rec->connected_at = rec->last_active_at = now;
	rec->expires_at = now + app->cfg.connection_ttl * 1000;

	full = store_begin(app->store) == STORE_OK ? user_quota_full(app, rec, now) : -1;
	if (full > 0) {
		store_rollback(app->store);
		reject(rej, 429, "RATE_LIMITED", "Too many connections for this user");
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "connection_id", id, "user", who.sub,
				    "tenant", who.tenant, "outcome", "RATE_LIMITED",
				    "reason", "connections_per_user", "status", 429));
		count1("streamer_rate_limited_total", "limit", "connections");
		conn_record_free(rec);
		observe_event("open", time_mono_us() - start);
		goto out;
	}
	if (full < 0 ||
	    store_conn_put(app->store, rec) != STORE_OK ||
	    store_commit(app->store) != STORE_OK) {
		log_event(LOG_ERROR, "connect_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "outcome", "INTERNAL_ERROR",
				    "error", store_errmsg(app->store)));
		store_rollback(app->store);
		conn_record_free(rec);
		reject(rej, 500, "INTERNAL_ERROR", "Failed to establish connection");
		goto out;
	}
	metrics_add("streamer_connections_opened_total", NULL, 1);
	observe_event("open", time_mono_us() - start);
	log_event(LOG_INFO, "connect",
		  json_pack("{s:s,s:s,s:s,s:s,s:s?,s:I}", "connection_id", id, "user", who.sub,
			    "tenant", who.tenant, "outcome", "ok", "source", rec->source_addr,
			    "duration_us", (json_int_t)(time_mono_us() - start)));
	rc = 0;
out:
	auth_identity_free(&who);
	return rc;
}

/* The reply for a message on a connection the store does not know (or that expired). */
static json_t *gone_reply(const char *request_id)
{
	struct proto_error err = {0};
	json_t *out;

	proto_error_set(&err, ERR_UNAUTHORIZED, "Connection is not authenticated or has expired");
	out = proto_error(request_id, &err);
	proto_error_clear(&err);
	return out;
}

static json_t *internal_reply(const char *request_id)
{
	struct proto_error err = {0};
	json_t *out;

	proto_error_set(&err, ERR_INTERNAL, "Internal error; please retry");
	out = proto_error(request_id, &err);
	proto_error_clear(&err);
	return out;
}

/* The error code of an outbound message, or "ok" for a response. Borrowed. */
static const char *outcome_of(json_t *reply)
{
	const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));

	return code ? code : "ok";
}

/* Makes the pushes handlers queued; a failed required one replaces the reply with an error. */
static json_t *make_pushes(struct app *app, struct call *c, const char *id, json_t *reply)
{
	for (struct call_push *p = c->pushes; p; p = p->next) {
		char why[300];
		struct proto_error err = {0};

		if (fanout_send(app->fanout, p->kind, p->tenant, p->name, p->text, NULL, why,
				sizeof why) == 0)
			continue;
		log_event(LOG_WARN, "push_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "request_id", c->msg->id,
				    "reason", why));
		if (!p->required)
			continue;
		json_decref(reply);
		proto_error_set(&err, ERR_PROCESSING_FAILED, "Could not deliver: %s", why);
		reply = proto_error(c->msg->id, &err);
		proto_error_clear(&err);
	}
	return reply;
}

void conn_message(struct app *app, const char *id, const char *text, size_t len,
		  struct conn_reply *out)
{
	struct client_msg msg = {0};
	struct proto_error err = {0};
	struct conn_record rec = {0};
	struct call c = { .app = app, .conn = &rec, .msg = &msg };
	int64_t start = time_mono_us(), now = time_now_ms();
	json_t *reply = NULL, *perms = NULL;
	int parsed, rc;

	memset(out, 0, sizeof *out);
	/* Validation needs no store: do it first so even a refusal carries the request id. */
	parsed = proto_parse(text, len, app->cfg.max_message_bytes, &msg, &err) == 0;

	/* Before the store: a flood costs no transaction, and a refused message is not routed. */
	if (app->ratelimit) {
		int64_t wait_ms = ratelimit_take(app->ratelimit, id, strlen(id), app->cfg.rate_limit,
						 app->cfg.rate_burst, time_mono_us());

		if (wait_ms > 0) {
			proto_error_rate_limited(&err, "message", wait_ms,
						 "Too many messages: at most %lld per second; retry in %lld ms",
						 (long long)app->cfg.rate_limit, (long long)wait_ms);
			reply = proto_error(msg.id, &err);
			count1("streamer_rate_limited_total", "limit", "message");
			goto out;
		}
	}

	if (store_begin(app->store) != STORE_OK) {
		reply = internal_reply(msg.id);
		goto fail;
	}
	rc = store_conn_touch(app->store, id, now, app->cfg.connection_ttl * 1000, &rec);
	if (rc == STORE_NOTFOUND) {
		store_rollback(app->store);
		out->gone = 1;
		reply = gone_reply(msg.id);
		goto out;
	}
	if (rc != STORE_OK) {
		reply = internal_reply(msg.id);
		goto fail;
	}
	if (!parsed) {
		reply = proto_error(msg.id, &err);
	} else {
		perms = json_loads(rec.permissions, 0, NULL);
		if (!json_is_array(perms)) {
			json_decref(perms);
			perms = json_array();
		}
		c.permissions = perms;
		c.now_ms = now;
		reply = router_dispatch(&c);
	}
	if (store_conn_add_sent(app->store, id, 1 + (c.also ? (int64_t)json_array_size(c.also) : 0)) ==
		    STORE_ERROR ||
	    store_commit(app->store) != STORE_OK) {
		json_decref(reply);
		reply = internal_reply(msg.id);
		call_release(&c);
		goto fail;
	}
	if (c.pushes)
		reply = make_pushes(app, &c, id, reply);
	if (c.wake)
		app->wake_pending = 1;
	goto out;
fail:
	log_event(LOG_ERROR, "store_error",
		  json_pack("{s:s,s:s}", "connection_id", id, "error", store_errmsg(app->store)));
	store_rollback(app->store);
out:
	{
		/* Only actions this process knows make a label: client input cannot grow the series. */
		const char *action = !parsed ? "invalid"
				     : router_find(msg.action) || job_handler(msg.action) ? msg.action
				     : "unknown";
		const char *outcome = outcome_of(reply);
		char labels[200];

		snprintf(labels, sizeof labels, "action=\"%s\",outcome=\"%s\"", action, outcome);
		metrics_add("streamer_messages_total", labels, 1);
		if (strcmp(outcome, "ok") != 0)
			count1("streamer_errors_total", "code", outcome);
		observe_event("message", time_mono_us() - start);
	}
	log_event(LOG_INFO, "message",
		  json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:s,s:I}", "connection_id", id,
			    "request_id", msg.id[0] ? msg.id : NULL,
			    "user", rec.user_id, "tenant", rec.tenant_id,
			    "action", parsed ? msg.action : NULL, "outcome", outcome_of(reply),
			    "duration_us", (json_int_t)(time_mono_us() - start)));
	out->messages = json_array();
	json_array_append_new(out->messages, reply);
	if (c.also)
		json_array_extend(out->messages, c.also);
	out->controls = c.controls ? json_incref(c.controls) : json_array();
	call_release(&c);
	json_decref(perms);
	conn_record_free(&rec);
	client_msg_free(&msg);
	proto_error_clear(&err);
}

void conn_reply_free(struct conn_reply *r)
{
	json_decref(r->messages);
	json_decref(r->controls);
	memset(r, 0, sizeof *r);
}

void conn_keepalive(struct app *app, const char *id)
{
	if (store_conn_keepalive(app->store, id, time_now_ms(),
				 app->cfg.connection_ttl * 1000) == STORE_ERROR)
		log_event(LOG_ERROR, "store_error",
			  json_pack("{s:s,s:s}", "connection_id", id, "error", store_errmsg(app->store)));
}

void conn_close(struct app *app, const char *id, const char *reason, int code)
{
	struct conn_record rec = {0};
	int64_t start = time_mono_us(), now = time_now_ms();
	int rc;

	int cancelled = 0;

	if (store_begin(app->store) != STORE_OK) {
		rc = STORE_ERROR;
	} else {
		rc = store_conn_delete(app->store, id, &rec);
		if (rc != STORE_ERROR &&
		    queue_cancel_connection(app->queue, id, now, app->cfg.result_ttl * 1000,
					    &cancelled) == STORE_ERROR)
			rc = STORE_ERROR;
		if (rc != STORE_ERROR && store_commit(app->store) != STORE_OK)
			rc = STORE_ERROR;
	}
	if (rc == STORE_ERROR) {
		log_event(LOG_ERROR, "disconnect_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "reason", reason,
				    "error", store_errmsg(app->store)));
		store_rollback(app->store);
		return;
	}
	json_t *fields = json_pack("{s:s,s:s,s:b,s:I}", "connection_id", id, "reason", reason,
				   "found", rc == STORE_OK,
				   "duration_us", (json_int_t)(time_mono_us() - start));
	if (code >= 0)
		json_object_set_new(fields, "close_code", json_integer(code));
	if (cancelled)
		json_object_set_new(fields, "requests_cancelled", json_integer(cancelled));
	if (rc == STORE_OK) {
		json_object_set_new(fields, "user", json_string(rec.user_id));
		json_object_set_new(fields, "tenant", json_string(rec.tenant_id));
		json_object_set_new(fields, "connected_seconds",
				    json_real((double)(now - rec.connected_at) / 1000.0));
		json_object_set_new(fields, "messages_received", json_integer(rec.messages_received));
		json_object_set_new(fields, "messages_sent", json_integer(rec.messages_sent));
	}
	count1("streamer_connections_closed_total", "reason", reason);
	observe_event(strcmp(reason, "disconnect") == 0 ? "disconnect" : "close", time_mono_us() - start);
	log_event(LOG_INFO, "disconnect", fields);
	conn_record_free(&rec);
}
