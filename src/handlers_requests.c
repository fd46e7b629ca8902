/* handlers_requests.c - async requests from the worker's side: queue handler-ABI actions, run sync ones, request.status and request.cancel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "request_run.h"
#include "log.h"
#include "metrics.h"
#include "protocol.h"
#include "queue.h"
#include "util.h"

#include <streamer/handler.h>

static int internal(struct proto_error *err)
{
	proto_error_set(err, ERR_INTERNAL, "Internal error; please retry");
	return -1;
}

/* How long a client refused by an async quota waits before it resends. */
#define QUOTA_RETRY_MS 1000

/*
 * The async quotas, counted by index in the event's transaction so that two
 * workers cannot both pass the last free place: live requests of the
 * connection, pending requests of the tenant. Returns 0, or -1 with err set
 * (RATE_LIMITED; nothing is queued).
 */
static int over_quota(struct call *c, struct proto_error *err)
{
	const struct config *cfg = &c->app->cfg;
	int64_t n = 0;

	if (cfg->max_requests_per_connection > 0) {
		if (queue_count_live(c->app->queue, c->conn->id, cfg->max_requests_per_connection, &n) !=
		    STORE_OK)
			return internal(err);
		if (n >= cfg->max_requests_per_connection) {
			metrics_add("streamer_rate_limited_total", "limit=\"requests\"", 1);
			proto_error_rate_limited(err, "requests", QUOTA_RETRY_MS,
						 "Too many async requests in progress on this connection (at most %lld); "
						 "retry when one has finished",
						 (long long)cfg->max_requests_per_connection);
			return -1;
		}
	}
	if (cfg->max_pending_per_tenant > 0) {
		if (queue_count_tenant_pending(c->app->queue, c->conn->tenant_id,
					       cfg->max_pending_per_tenant, &n) != STORE_OK)
			return internal(err);
		if (n >= cfg->max_pending_per_tenant) {
			metrics_add("streamer_rate_limited_total", "limit=\"tenant_pending\"", 1);
			proto_error_rate_limited(err, "tenant_pending", QUOTA_RETRY_MS,
						 "Too many async requests queued for this tenant (at most %lld); retry later",
						 (long long)cfg->max_pending_per_tenant);
			return -1;
		}
	}
	return 0;
}

/* Queues an async request (its payload validated). */
static int enqueue(struct call *c, json_t **data, struct proto_error *err)
{
	struct request_record r = { 0 };
	char *payload;
	int rc;

	if (over_quota(c, err) < 0)
		return -1;
	payload = c->msg->payload ? json_dumps(c->msg->payload, JSON_COMPACT | JSON_ENCODE_ANY)
				  : xstrdup("null");
	if (!payload)
		return internal(err);
	r.request_id = (char *)c->msg->id;
	r.connection_id = c->conn->id;
	r.user_id = c->conn->user_id;
	r.tenant_id = c->conn->tenant_id;
	r.action = (char *)c->msg->action;
	r.payload = payload;
	r.run_after = c->now_ms + APP_HOLD_MS; /* claimable once the answer is out */
	rc = queue_enqueue(c->app->queue, &r, c->now_ms);
	free(payload);
	if (rc != STORE_OK)
		free(r.id);
	if (rc == STORE_NOTFOUND) {
		proto_error_set(err, ERR_VALIDATION,
				"Request id '%s' is already in use by a live request on this connection; "
				"use a new id", c->msg->id);
		return -1;
	}
	if (rc != STORE_OK)
		return internal(err);
	log_event(LOG_INFO, "job_queued",
		  json_pack("{s:s,s:s,s:s,s:s,s:s}", "job_id", r.id, "request_id", c->msg->id,
			    "connection_id", c->conn->id, "tenant", c->conn->tenant_id,
			    "action", c->msg->action));
	app_hold_request(c->app, r.id);
	c->wake = 1;
	c->reply = proto_acknowledgment(c->msg->id, "queued", "Request queued for processing");
	*data = NULL;
	return 0;
}

/* Runs a sync handler-ABI action of h (its payload validated) while the client waits (its progress reports are ignored). */
static int run_now(struct call *c, const struct streamer_handler *h, json_t **data, struct proto_error *err)
{
	struct request_input in = {
		.id = "", .request_id = c->msg->id, .action = c->msg->action, .handler = h,
		.user_id = c->conn->user_id, .tenant_id = c->conn->tenant_id,
		.payload = c->msg->payload,
		.deadline_ms = time_now_ms() + c->app->cfg.job_timeout * 1000, .attempt = 1,
	};
	char code[32], msg[1600];

	if (request_run(&c->app->cfg, &in, NULL, data, code, msg, sizeof msg) < 0) {
		proto_error_set(err, err_code_of_sync_handler(code), "%s", msg);
		return -1;
	}
	return 0;
}

int handler_abi_call(struct call *c, const struct streamer_handler *h, json_t **data,
		     struct proto_error *err)
{
	/* the processor's very validator: what is queued will pass it again */
	const struct request_input in = {
		.action = c->msg->action, .handler = h, .payload = c->msg->payload,
	};
	char msg[1600];

	if (request_validate(&in, msg, sizeof msg) < 0) {
		proto_error_set(err, ERR_VALIDATION, "%s", msg);
		return -1;
	}
	return (h->flags & STREAMER_HANDLER_ASYNC) ? enqueue(c, data, err) : run_now(c, h, data, err);
}

/* JSON text from the store as a value (a null when it does not parse). New reference. */
static json_t *json_of(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

	return v ? v : json_null();
}

static void put_time(json_t *o, const char *key, int64_t ms)
{
	char ts[32];

	if (ms <= 0)
		return;
	time_rfc3339(ms, ts);
	json_object_set_new(o, key, json_string(ts));
}

/* What request.status and request.cancel say about a request. New reference. */
static json_t *describe(const struct request_record *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I}", "request_id", r->request_id, "action",
			      r->action, "status", r->status, "progress", (json_int_t)r->progress,
			      "attempts", (json_int_t)r->attempts);

	if (r->progress_message)
		json_object_set_new(o, "progress_message", json_string(r->progress_message));
	if (r->progress_metadata)
		json_object_set_new(o, "progress_metadata", json_of(r->progress_metadata));
	if (strcmp(r->status, QUEUE_COMPLETED) == 0)
		json_object_set_new(o, "result", json_of(r->result));
	if (r->error_code)
		json_object_set_new(o, "error", json_pack("{s:s,s:s}", "code", r->error_code,
							  "message", r->error_message ? r->error_message : ""));
	if (r->cancel_requested && strcmp(r->status, QUEUE_PROCESSING) == 0)
		json_object_set_new(o, "cancel_requested", json_true());
	put_time(o, "created_at", r->created_at);
	put_time(o, "started_at", r->started_at);
	put_time(o, "finished_at", r->finished_at);
	return o;
}

/* The caller's own request named by payload.request_id (same user and tenant); err set when none. */
static int own_request(struct call *c, struct request_record *r, struct proto_error *err)
{
	const char *rid = payload_string(c, "request_id", PROTO_ID_MAX, err);
	int rc;

	if (!rid)
		return -1;
	rc = queue_get_own(c->app->queue, c->conn->tenant_id, c->conn->user_id, rid, r);
	if (rc == STORE_NOTFOUND) {
		proto_error_set(err, ERR_NOT_FOUND, "No request %s of yours is known (results are kept "
				"%lld s)", rid, (long long)c->app->cfg.result_ttl);
		return -1;
	}
	if (rc != STORE_OK)
		return internal(err);
	return 0;
}

int action_request_status(struct call *c, json_t **data, struct proto_error *err)
{
	struct request_record r = { 0 };

	if (own_request(c, &r, err) < 0)
		return -1;
	*data = describe(&r);
	request_record_free(&r);
	return 0;
}

int action_request_cancel(struct call *c, json_t **data, struct proto_error *err)
{
	struct request_record r = { 0 }, after = { 0 };
	int was_running = 0, rc;

	if (own_request(c, &r, err) < 0)
		return -1;
	rc = queue_cancel(c->app->queue, r.id, c->now_ms, c->app->cfg.result_ttl * 1000,
			  &was_running, &after);
	if (rc == STORE_NOTFOUND) {
		/* finished already: nothing to cancel; say how it ended */
		*data = describe(&r);
		json_object_set_new(*data, "cancelled", json_false());
		request_record_free(&r);
		return 0;
	}
	if (rc != STORE_OK) {
		request_record_free(&r);
		return internal(err);
	}
	*data = describe(&after);
	json_object_set_new(*data, "cancelled", json_boolean(!was_running));
	if (!was_running) {
		/* The request itself ends with an error CANCELLED, like one stopped while running. */
		json_t *msg = proto_error_text(after.request_id, ERR_CANCELLED, "Cancelled by the client");

		if (strcmp(after.connection_id, c->conn->id) == 0)
			call_also(c, msg);
		else
			call_push_add(c, FANOUT_CONNECTION, NULL, after.connection_id, msg, 0);
		log_event(LOG_INFO, "job_cancelled",
			  json_pack("{s:s,s:s,s:s}", "job_id", after.id, "request_id",
				    after.request_id, "tenant", after.tenant_id));
	}
	request_record_free(&after);
	request_record_free(&r);
	return 0;
}
